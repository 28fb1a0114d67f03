//! One bad request (a [`Case`]) and the checks every refused one gets: a 4xx in the error
//! envelope, the status and field it must name, and a database left as it was.

use serde_json::Value;

use super::fingerprint::fingerprint;
use super::fixture::Fixture;
use super::routes::{Route, JSON};

/// One bad request: where it goes, what it carries, and the refusal it must get.
pub(super) struct Case {
    pub(super) route: Route,
    /// The path when it is not the route's pattern filled in (a query string, an unknown id).
    pub(super) path: Option<String>,
    pub(super) content_type: Option<&'static str>,
    pub(super) body: Vec<u8>,
    pub(super) want: u16,
    /// `data.field` the refusal must name, when it names one.
    pub(super) field: Option<&'static str>,
}

/// A JSON body the route must refuse with a 400.
pub(super) fn case(route: Route, body: impl Into<Vec<u8>>) -> Case {
    Case {
        route,
        path: None,
        content_type: JSON,
        body: body.into(),
        want: 400,
        field: None,
    }
}

impl Case {
    pub(super) fn field(self, field: &'static str) -> Case {
        Case {
            field: Some(field),
            ..self
        }
    }

    pub(super) fn want(self, want: u16) -> Case {
        Case { want, ..self }
    }

    pub(super) fn content_type(self, content_type: Option<&'static str>) -> Case {
        Case {
            content_type,
            ..self
        }
    }

    pub(super) fn label(&self, path: &str) -> String {
        let shown = String::from_utf8_lossy(&self.body[..self.body.len().min(80)]);
        let more = if self.body.len() > 80 {
            format!("… ({} bytes)", self.body.len())
        } else {
            String::new()
        };
        format!(
            "{} {path} [{}] {shown:?}{more}",
            self.route.0,
            self.content_type.unwrap_or("no Content-Type")
        )
    }
}

/// Checks that an answer is a 4xx (never a 500) in the error envelope; returns the envelope.
pub(super) fn assert_error_envelope(label: &str, status: u16, text: &str) -> Value {
    error_envelope(status, text).unwrap_or_else(|e| panic!("{label}: {e}"))
}

/// The envelope of a 4xx answer, or what is wrong with the answer.
pub(super) fn error_envelope(status: u16, text: &str) -> Result<Value, String> {
    if status == 500 {
        return Err(format!("server error: {text}"));
    }
    if !(400..500).contains(&status) {
        return Err(format!("expected a 4xx, got {status}: {text}"));
    }
    let out: Value = serde_json::from_str(text).map_err(|e| {
        format!("the {status} answer is not the JSON error envelope ({e}): {text:?}")
    })?;
    let status_ok = out["status"]["is_success"] == false
        && out["status"]["code"] == status
        && out["status"]["user_message"].is_string()
        && out.get("data").is_some();
    if !status_ok {
        return Err(format!("not the error envelope for a {status}: {text}"));
    }
    Ok(out)
}

/// Sends a case and checks its refusal, and that the database is as it was; returns the envelope.
pub(super) async fn assert_refused(fx: &Fixture, c: &Case) -> Value {
    check_refused(fx, c).await.unwrap_or_else(|e| panic!("{e}"))
}

/// [`assert_refused`] without the panic: what went wrong, labelled with the route and input.
pub(super) async fn check_refused(fx: &Fixture, c: &Case) -> Result<Value, String> {
    let path = c.path.clone().unwrap_or_else(|| fx.path(c.route.1));
    let label = c.label(&path);
    let before = fingerprint(&fx.app).await;
    let (status, text) = fx
        .send(c.route.0, &path, c.content_type, c.body.clone())
        .await;
    let changed = fingerprint(&fx.app).await != before;
    let out = error_envelope(status, &text).map_err(|e| {
        let changed = if changed {
            " (and it changed the database)"
        } else {
            ""
        };
        format!("{label}: {e}{changed}")
    })?;
    if status != c.want {
        return Err(format!("{label}: want {}, got {status}: {text}", c.want));
    }
    if let Some(field) = c.field {
        if out["data"]["field"] != field {
            return Err(format!("{label}: want data.field {field:?}: {text}"));
        }
    }
    if changed {
        return Err(format!("{label}: a refused request changed the database"));
    }
    Ok(out)
}
