//! A form posted to the console: its fields as sent (names may repeat, as a multi-select's do),
//! read only after its CSRF token has been checked against the session's.

use crate::console::caller::ConsoleCaller;
use crate::console::pages::{self, Refusal};
use crate::console::session::same_token;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Form;

/// The fields of a form posted by a signed-in person, CSRF-checked.
pub struct ConsoleForm {
    /// Who posted it.
    pub caller: ConsoleCaller,
    /// Its fields, in order.
    pub fields: Vec<(String, String)>,
}

impl ConsoleForm {
    /// The first value of `name`, trimmed (`""` when absent).
    pub fn get(&self, name: &str) -> &str {
        field(&self.fields, name)
    }

    /// Every value of `name`.
    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.fields
            .iter()
            .filter(move |(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// The first value of `name` in `fields`, trimmed (`""` when absent).
pub fn field<'a>(fields: &'a [(String, String)], name: &str) -> &'a str {
    fields
        .iter()
        .find(|(k, _)| k == name)
        .map_or("", |(_, v)| v.trim())
}

/// Reads a form's fields (`application/x-www-form-urlencoded`, within the body limit).
pub async fn read_fields<S: Send + Sync>(
    request: Request,
    state: &S,
) -> Result<Vec<(String, String)>, Response> {
    Form::<Vec<(String, String)>>::from_request(request, state)
        .await
        .map(|Form(fields)| fields)
        .map_err(|_| {
            pages::render(
                StatusCode::BAD_REQUEST,
                &pages::MessagePage {
                    title: "This form could not be read".into(),
                    message: "The form arrived incomplete or in a shape this console does not \
                              send. Nothing was changed."
                        .into(),
                    link: "/console/".into(),
                    link_label: "Back to the console".into(),
                },
            )
        })
}

impl<S: Send + Sync> FromRequest<S> for ConsoleForm {
    type Rejection = Response;

    async fn from_request(request: Request, state: &S) -> Result<Self, Response> {
        let Some(caller) = request.extensions().get::<ConsoleCaller>().cloned() else {
            return Err(pages::refusal(Refusal::SignIn {
                next: None,
                ended: false,
            }));
        };
        let fields = read_fields(request, state).await?;
        if !same_token(field(&fields, "csrf"), &caller.csrf) {
            return Err(pages::refusal(Refusal::StaleForm));
        }
        Ok(ConsoleForm { caller, fields })
    }
}
