//! How the suite calls the server: one request with a chosen authentication and payload, and
//! the answer as received.

use reqwest::header::HeaderMap;
use reqwest::Method;
use serde_json::Value;

use crate::common::App;

/// How a call authenticates.
#[derive(Clone, Copy)]
pub(super) enum Auth<'a> {
    None,
    /// `Authorization: Token <secret>`.
    Token(&'a str),
    /// HTTP Basic e-mail and password.
    Basic(&'a str, &'a str),
}

/// What a call sends.
pub(super) enum Payload {
    None,
    Json(Value),
    Form(String),
}

/// An answer as received.
pub(super) struct Answer {
    pub(super) status: u16,
    pub(super) headers: HeaderMap,
    /// The text of the body.
    pub(super) text: String,
}

impl Answer {
    /// The body as JSON (`Null` when it is not JSON).
    pub(super) fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or(Value::Null)
    }

    pub(super) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// Sends one request.
pub(super) async fn request(
    app: &App,
    method: &str,
    path: &str,
    auth: Auth<'_>,
    payload: Payload,
    headers: &[(&str, String)],
) -> Answer {
    let method = Method::from_bytes(method.as_bytes()).unwrap();
    let mut req = app.http.request(method, format!("{}{path}", app.url));
    req = match auth {
        Auth::None => req,
        Auth::Token(t) => req.header("Authorization", format!("Token {t}")),
        Auth::Basic(email, password) => req.basic_auth(email, Some(password)),
    };
    req = match payload {
        Payload::None => req,
        Payload::Json(body) => req.json(&body),
        Payload::Form(form) => req
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(form),
    };
    for (name, value) in headers {
        req = req.header(*name, value);
    }
    let resp = req.send().await.unwrap();
    Answer {
        status: resp.status().as_u16(),
        headers: resp.headers().clone(),
        text: resp.text().await.unwrap(),
    }
}

/// A call with a token and an optional JSON body.
pub(super) async fn call(
    app: &App,
    method: &str,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> Answer {
    let payload = body.map_or(Payload::None, Payload::Json);
    request(app, method, path, Auth::Token(token), payload, &[]).await
}

/// A call that must succeed, for setting things up; its JSON answer.
pub(super) async fn setup(app: &App, method: &str, path: &str, token: &str, body: Value) -> Value {
    let answer = call(app, method, path, token, Some(body)).await;
    assert!(
        (200..300).contains(&answer.status),
        "setup {method} {path}: {} {}",
        answer.status,
        answer.text
    );
    answer.json()
}

/// `/api/v3/accounts/<account>/<rest>`.
pub(super) fn at(app: &App, rest: &str) -> String {
    format!("/api/v3/accounts/{}/{rest}", app.account)
}

/// A GET with a token.
pub(super) async fn get(app: &App, path: String, token: &str) -> Answer {
    call(app, "GET", &path, token, None).await
}
