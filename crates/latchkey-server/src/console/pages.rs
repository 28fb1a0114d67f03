//! The console's pages: what each template is given, the frame every signed-in page shares, the
//! headers every page is sent with, and the pages of refusals (sign in again, replace your
//! password, not allowed, not found, try later).

use askama::Template;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

/// The page a person who must replace their password is sent to (and may reach).
pub const PASSWORD_PAGE: &str = "/console/password";

/// What the console's pages may load and do: only this server's own stylesheet and script, no
/// inline script, no framing, forms posting only here.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'self'; script-src 'self'; \
     img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; \
     base-uri 'none'";

/// A page as an answer: HTML with `status`, never cached (a page may hold a secret shown once),
/// never framed, with the content security policy above.
pub fn html(status: StatusCode, body: String) -> Response {
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    response
}

/// Renders `page` with `status`.
pub fn render(status: StatusCode, page: &impl Template) -> Response {
    match page.render() {
        Ok(body) => html(status, body),
        Err(e) => {
            tracing::error!(error = %e, "console: a page did not render");
            html(
                StatusCode::INTERNAL_SERVER_ERROR,
                "<!doctype html><title>Error</title><p>This page could not be shown.</p>".into(),
            )
        }
    }
}

/// A redirect after a form (303: the browser follows it with GET).
pub fn see_other(location: &str) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Why the console refused a request.
#[derive(Debug)]
pub enum Refusal {
    /// Nobody is signed in (`ended`: a session was, and has ended); `next` is where to go back
    /// to after signing in.
    SignIn {
        /// The page asked for.
        next: Option<String>,
        /// A session ended (timed out, signed out elsewhere).
        ended: bool,
    },
    /// The user must replace their password first.
    ChangePassword,
    /// Not allowed; the text says why.
    Forbidden(String),
    /// A form without this session's CSRF token.
    StaleForm,
    /// Nothing here (also another account's pages).
    NotFound,
    /// Too many failed sign-ins; try again after this many seconds.
    TooMany(u64),
    /// The store did not answer.
    Unavailable,
}

/// A page that says one thing, with a way on.
#[derive(Template)]
#[template(path = "console/message.html")]
pub struct MessagePage {
    /// The title.
    pub title: String,
    /// The message.
    pub message: String,
    /// Where to go on.
    pub link: String,
    /// What the link says.
    pub link_label: String,
}

/// The answer to a refusal.
pub fn refusal(refusal: Refusal) -> Response {
    let message = |status, title: &str, message: &str, link: &str, label: &str| {
        render(
            status,
            &MessagePage {
                title: title.into(),
                message: message.into(),
                link: link.into(),
                link_label: label.into(),
            },
        )
    };
    match refusal {
        Refusal::SignIn { next, ended } => {
            let mut query = Vec::new();
            if let Some(next) = next.filter(|n| safe_next(n)) {
                query.push(format!("next={}", percent(&next)));
            }
            if ended {
                query.push("ended=1".to_owned());
            }
            if query.is_empty() {
                see_other("/console/sign-in")
            } else {
                see_other(&format!("/console/sign-in?{}", query.join("&")))
            }
        }
        Refusal::ChangePassword => see_other(PASSWORD_PAGE),
        Refusal::Forbidden(why) => message(
            StatusCode::FORBIDDEN,
            "Not allowed",
            &why,
            "/console/",
            "Back to the console",
        ),
        Refusal::StaleForm => message(
            StatusCode::FORBIDDEN,
            "This form has expired",
            "The form was not sent from this console session (it may be from before you signed \
             in again). Nothing was changed. Go back, reload the page and try again.",
            "/console/",
            "Back to the console",
        ),
        Refusal::NotFound => message(
            StatusCode::NOT_FOUND,
            "Not found",
            "There is nothing here, or it belongs to another account.",
            "/console/",
            "Back to the console",
        ),
        Refusal::TooMany(secs) => message(
            StatusCode::TOO_MANY_REQUESTS,
            "Too many attempts",
            &format!("Too many failed sign-ins. Try again in {secs} seconds."),
            "/console/sign-in",
            "Sign in",
        ),
        Refusal::Unavailable => message(
            StatusCode::SERVICE_UNAVAILABLE,
            "Try again shortly",
            "The console cannot reach its database just now. Nothing was changed.",
            "/console/",
            "Try again",
        ),
    }
}

/// Whether `next` is a page of this console to return to (never another site).
pub fn safe_next(next: &str) -> bool {
    next.starts_with("/console/")
        && !next.starts_with("/console//")
        && !next.contains('\\')
        && next.bytes().all(|b| b.is_ascii_graphic())
}

/// `text` percent-encoded for a query value.
pub fn percent(text: &str) -> String {
    let mut out = String::new();
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~/".contains(&b) {
            out.push(char::from(b));
        } else {
            const HEX: &[u8; 16] = b"0123456789ABCDEF";
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 15)]));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{safe_next, seal, Said};

    #[test]
    fn only_a_sessions_own_redirect_puts_words_on_its_page() {
        let said = |done: &str, with: Option<String>| Said {
            done: Some(done.to_owned()),
            refused: None,
            seal: with,
        };
        let mine = seal("csrf-a", "done", "Rule added.");
        assert_eq!(
            said("Rule added.", Some(mine.clone()))
                .read("csrf-a")
                .0
                .as_deref(),
            Some("Rule added.")
        );
        // No seal, another session's seal, a seal of other words, or of the other kind: nothing.
        assert_eq!(said("Call 555-0100 now", None).read("csrf-a"), (None, None));
        assert_eq!(
            said("Rule added.", Some(mine.clone())).read("csrf-b"),
            (None, None)
        );
        assert_eq!(said("Rule added!", Some(mine)).read("csrf-a"), (None, None));
        let refused = Said {
            done: None,
            refused: Some("Rule added.".into()),
            seal: Some(seal("csrf-a", "done", "Rule added.")),
        };
        assert_eq!(refused.read("csrf-a"), (None, None));
    }

    #[test]
    fn only_console_pages_are_returned_to() {
        assert!(safe_next("/console/accounts/1/service-tokens"));
        for bad in [
            "https://evil.example/",
            "//evil.example/console/",
            "/console//evil.example",
            "/console/\\evil",
            "/api/v3/",
            "/console/a b",
        ] {
            assert!(!safe_next(bad), "{bad}");
        }
    }
}

/// The answer when the store did not answer (logged, never shown): try again shortly.
pub fn unavailable(e: impl std::fmt::Display) -> Response {
    tracing::warn!(error = %e, "console: the store did not answer");
    refusal(Refusal::Unavailable)
}

/// The page for an API error the console met looking something up: not found, the store not
/// answering, or refused (with the reason).
pub fn api_refusal(e: crate::error::ApiError) -> Response {
    use crate::error::ApiError;
    match e {
        ApiError::NotFound => refusal(Refusal::NotFound),
        e @ (ApiError::Unavailable(_) | ApiError::Internal(_)) => unavailable(e),
        e => refusal(Refusal::Forbidden(e.to_string())),
    }
}

/// Back to the list `page` after a change, saying what became of it: what was done, or the
/// store's reason for refusing it; a store that did not answer, or a thing that is not there,
/// gets its own page.
pub fn after_change(
    page: &str,
    csrf: &str,
    done: Result<String, crate::error::ApiError>,
) -> Response {
    use crate::error::ApiError;
    match done {
        Ok(what) => say(page, csrf, Ok(&what)),
        Err(e @ (ApiError::Unavailable(_) | ApiError::Internal(_))) => unavailable(e),
        Err(ApiError::NotFound) => refusal(Refusal::NotFound),
        Err(e) => say(page, csrf, Err(&e.to_string())),
    }
}

/// What a change's redirect tells the page it returns to: what was `done`, or why it was
/// `refused` — sealed with the session's CSRF token, so that a link made anywhere else cannot
/// put words of its choosing on a console page.
#[derive(serde::Deserialize, Default)]
pub struct Said {
    #[serde(default)]
    done: Option<String>,
    #[serde(default)]
    refused: Option<String>,
    #[serde(default)]
    seal: Option<String>,
}

/// The seal of `text` said as `kind` in the session whose forms carry `csrf`.
fn seal(csrf: &str, kind: &str, text: &str) -> String {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    for part in ["latchkey console said", csrf, kind, text] {
        hasher.update(part.len().to_le_bytes());
        hasher.update(part.as_bytes());
    }
    crate::console::session::hex(&hasher.finalize())
}

/// Back to `page` after a change, saying what became of it (a refusal's text, or what was done).
pub fn say(page: &str, csrf: &str, outcome: Result<&str, &str>) -> Response {
    let (kind, text) = match outcome {
        Ok(text) => ("done", text),
        Err(text) => ("refused", text),
    };
    see_other(&format!(
        "{page}?{kind}={}&seal={}",
        percent(text),
        seal(csrf, kind, text)
    ))
}

impl Said {
    /// The notice and the error to show: only what this session's own redirect said.
    pub fn read(self, csrf: &str) -> (Option<String>, Option<String>) {
        let sealed = |kind: &str, text: Option<String>| {
            text.filter(|t| {
                t.len() <= 300
                    && self.seal.as_deref().is_some_and(|s| {
                        crate::console::session::same_token(s, &seal(csrf, kind, t))
                    })
            })
        };
        let done = sealed("done", self.done.clone());
        let refused = sealed("refused", self.refused.clone()).map(|r| format!("Not changed: {r}"));
        (done, refused)
    }
}
