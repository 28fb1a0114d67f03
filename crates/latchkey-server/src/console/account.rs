//! Signing in and out of the console, and replacing one's password.
//!
//! Sign-in is the API's password sign-in ([`crate::sign_in`]): the same throttles per address
//! and per e-mail, the same bounded Argon2 work, the same one answer for every wrong credential,
//! and the account's IP rules for sign-ins. Its form carries a token matched to a cookie of its
//! own, so no other site can sign a browser in to somebody else's session.

use crate::console::caller::ConsoleCaller;
use crate::console::form::{field, read_fields, ConsoleForm};
use crate::console::frame::Frame;
use crate::console::pages::PASSWORD_PAGE;
use crate::console::pages::{self, render, see_other, Refusal};
use crate::console::session::{
    clear_session, random_hex, same_token, set_session, set_sign_in, sign_in_token, SessionSecret,
};
use crate::error::ApiError;
use crate::extract::ClientIp;
use crate::state::AppState;
use askama::Template;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, Request, State};
use axum::http::{header, StatusCode};
use axum::response::Response;
use latchkey_core::{AccountId, Secret};
use latchkey_store::{Actor, ActorKind, PasswordRefusal};
use serde::Deserialize;

/// The sign-in page.
#[derive(Template)]
#[template(path = "console/sign_in.html")]
pub struct SignInPage {
    /// The form's token (also in its cookie).
    pub token: String,
    /// Where to go after signing in.
    pub next: String,
    /// The account field, as typed.
    pub account: String,
    /// The e-mail field, as typed.
    pub email: String,
    /// What went wrong, next to the form.
    pub error: Option<String>,
    /// A notice above the form (signed out, session ended).
    pub notice: Option<String>,
}

/// `?next=&ended=1&signed_out=1&account=`.
#[derive(Deserialize, Default)]
pub struct SignInQuery {
    #[serde(default)]
    next: Option<String>,
    #[serde(default)]
    ended: Option<String>,
    #[serde(default)]
    signed_out: Option<String>,
    #[serde(default)]
    account: Option<String>,
}

/// The sign-in page, with a fresh form token in its cookie.
fn sign_in_page(state: &AppState, status: StatusCode, mut page: SignInPage) -> Response {
    page.token = random_hex();
    let mut response = render(status, &page);
    response.headers_mut().append(
        header::SET_COOKIE,
        set_sign_in(&page.token, state.verifier.config().console_secure_cookie),
    );
    response
}

/// GET `/console/sign-in`.
pub async fn sign_in_form(
    State(state): State<AppState>,
    query: Result<Query<SignInQuery>, QueryRejection>,
) -> Response {
    let q = query.map(|Query(q)| q).unwrap_or_default();
    let notice = if q.signed_out.is_some() {
        Some("You have signed out.".to_owned())
    } else if q.ended.is_some() {
        Some("Your session has ended. Sign in again to go on.".to_owned())
    } else {
        None
    };
    let account = q
        .account
        .filter(|a| a.len() <= 18 && a.bytes().all(|b| b.is_ascii_digit()))
        .unwrap_or_default();
    sign_in_page(
        &state,
        StatusCode::OK,
        SignInPage {
            token: String::new(),
            next: q.next.filter(|n| pages::safe_next(n)).unwrap_or_default(),
            account,
            email: String::new(),
            error: None,
            notice,
        },
    )
}

/// POST `/console/sign-in`: opens a session and goes on to `next` (or the console), or shows
/// the form again saying what went wrong.
pub async fn sign_in_submit(State(state): State<AppState>, request: Request) -> Response {
    let ip = ClientIp::of(request.extensions()).0;
    let cookie_token = sign_in_token(request.headers());
    let fields = match read_fields(request, &()).await {
        Ok(fields) => fields,
        Err(answer) => return answer,
    };
    let next = Some(field(&fields, "next"))
        .filter(|n| pages::safe_next(n))
        .unwrap_or("/console/")
        .to_owned();
    let account_text = field(&fields, "account").to_owned();
    let email = field(&fields, "email").to_owned();
    let again = |status: StatusCode, error: &str| {
        sign_in_page(
            &state,
            status,
            SignInPage {
                token: String::new(),
                next: next.clone(),
                account: account_text.chars().take(18).collect(),
                email: email.chars().take(254).collect(),
                error: Some(error.to_owned()),
                notice: None,
            },
        )
    };
    if !cookie_token.is_some_and(|t| same_token(&t, field(&fields, "token"))) {
        return again(
            StatusCode::FORBIDDEN,
            "This sign-in form has expired. Please sign in again.",
        );
    }
    let Some(account) = account_text
        .parse::<i64>()
        .ok()
        .filter(|a| *a > 0)
        .map(AccountId)
    else {
        return again(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Enter your account's number (the one in your console address or from your admin).",
        );
    };
    let password = fields
        .iter()
        .find(|(k, _)| k == "password")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    if email.is_empty() || password.is_empty() {
        return again(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Enter your e-mail address and your password.",
        );
    }
    let now = crate::clock::UnixMicros::now().secs();
    if let Some(ip) = ip {
        if let Err(retry) = state.auth_failures.check(ip, now) {
            return pages::refusal(Refusal::TooMany(retry));
        }
    }
    let password = Secret::new(password);
    let user = match crate::sign_in::sign_in(&state, ip, now, account, &email, password).await {
        Ok(user) => user,
        Err(ApiError::Unauthenticated | ApiError::NotFound) => {
            return again(
                StatusCode::UNAUTHORIZED,
                "The account, e-mail address or password is not right.",
            )
        }
        Err(ApiError::TooManyRequests(retry)) => return pages::refusal(Refusal::TooMany(retry)),
        Err(ApiError::IpDenied { .. }) => {
            return again(
                StatusCode::FORBIDDEN,
                "The account's IP restrictions do not allow sign-ins from your address.",
            )
        }
        Err(_) => return pages::refusal(Refusal::Unavailable),
    };
    let config = state.verifier.config();
    let secret = SessionSecret::generate();
    let ends = time::OffsetDateTime::now_utc() + config.console_absolute_timeout;
    let actor = Actor {
        kind: ActorKind::User,
        id: Some(user.user_id.0),
        name: user.email.clone(),
        ip: ip.map(|ip| ip.to_string()),
        source: "ui",
    };
    let opened = state
        .verifier
        .store()
        .open_console_session(&actor, account, user.user_id, &secret.digest(), ends)
        .await;
    if opened.is_err() {
        return pages::refusal(Refusal::Unavailable);
    }
    let mut response = see_other(&next);
    let headers = response.headers_mut();
    headers.append(
        header::SET_COOKIE,
        set_session(&secret, config.console_secure_cookie),
    );
    response
}

/// POST `/console/sign-out`: ends the session in the store (so every node refuses the cookie)
/// and removes the cookie.
pub async fn sign_out(State(state): State<AppState>, form: ConsoleForm) -> Response {
    let caller = &form.caller;
    let closed = state
        .verifier
        .store()
        .close_console_session(Some(&caller.actor()), &caller.secret.digest())
        .await;
    if closed.is_err() {
        return pages::refusal(Refusal::Unavailable);
    }
    let mut response = see_other(&format!(
        "/console/sign-in?signed_out=1&account={}",
        caller.account().0
    ));
    response.headers_mut().append(
        header::SET_COOKIE,
        clear_session(state.verifier.config().console_secure_cookie),
    );
    response
}

/// GET `/console/`: the first page the person may see (their own personal access tokens at
/// least; the password page while it must be replaced).
pub async fn home(caller: ConsoleCaller) -> Response {
    let frame = Frame::new(&caller, "Console", "");
    match frame.nav.first() {
        Some(first) if !caller.password_change_required => see_other(&first.href),
        _ => see_other(PASSWORD_PAGE),
    }
}

/// The password page.
#[derive(Template)]
#[template(path = "console/password.html")]
pub struct PasswordPage {
    /// The frame.
    pub frame: Frame,
    /// The password must be replaced before anything else.
    pub required: bool,
    /// What went wrong with the current password.
    pub current_error: Option<String>,
    /// What went wrong with the new one.
    pub new_error: Option<String>,
    /// The password was changed.
    pub done: bool,
}

/// GET `/console/password`.
pub async fn password_form(caller: ConsoleCaller) -> Response {
    let frame = Frame::new(&caller, "Password", PASSWORD_PAGE);
    render(
        StatusCode::OK,
        &PasswordPage {
            frame,
            required: caller.password_change_required,
            current_error: None,
            new_error: None,
            done: false,
        },
    )
}

/// POST `/console/password`: replaces the password (ending the user's other sessions).
pub async fn password_submit(State(state): State<AppState>, form: ConsoleForm) -> Response {
    let caller = form.caller.clone();
    let raw = |name: &str| {
        form.fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let (current, new, confirm) = (raw("current"), raw("new"), raw("confirm"));
    let page = |status, current_error: Option<&str>, new_error: Option<&str>, done: bool| {
        render(
            status,
            &PasswordPage {
                frame: Frame::new(&caller, "Password", PASSWORD_PAGE),
                required: caller.password_change_required && !done,
                current_error: current_error.map(str::to_owned),
                new_error: new_error.map(str::to_owned),
                done,
            },
        )
    };
    if new != confirm {
        return page(
            StatusCode::UNPROCESSABLE_ENTITY,
            None,
            Some("The two new passwords differ."),
            false,
        );
    }
    let changed = state
        .verifier
        .store()
        .change_password(
            &caller.actor(),
            caller.account(),
            caller.user.user_id,
            &Secret::new(current),
            &Secret::new(new),
            &caller.secret.digest(),
        )
        .await;
    match changed {
        Ok(Ok(())) => {
            let mut caller = caller.clone();
            caller.password_change_required = false;
            render(
                StatusCode::OK,
                &PasswordPage {
                    frame: Frame::new(&caller, "Password", PASSWORD_PAGE),
                    required: false,
                    current_error: None,
                    new_error: None,
                    done: true,
                },
            )
        }
        Ok(Err(PasswordRefusal::WrongCurrent)) => page(
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("This is not your current password."),
            None,
            false,
        ),
        Ok(Err(PasswordRefusal::Weak(why))) => {
            page(StatusCode::UNPROCESSABLE_ENTITY, None, Some(&why), false)
        }
        Err(latchkey_store::StoreError::Busy) => pages::refusal(Refusal::TooMany(1)),
        Err(_) => pages::refusal(Refusal::Unavailable),
    }
}
