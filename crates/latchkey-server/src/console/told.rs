//! What a console page a redirect landed on is told: the notice or the refusal its change
//! said, read against the caller's session ([`Said`]).

use crate::console::caller::ConsoleCaller;
use crate::console::pages::Said;
use axum::extract::{FromRequestParts, Query};

/// What the page a redirect landed on is told ([`Said`], read against the caller's session):
/// its notice and its error, each only when this session's own redirect said it. A query
/// string it cannot read tells nothing.
pub struct Told {
    /// What was done.
    pub notice: Option<String>,
    /// What was refused.
    pub error: Option<String>,
}

impl<S: Send + Sync> FromRequestParts<S> for Told {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Told, Self::Rejection> {
        let said = Query::<Said>::from_request_parts(parts, state)
            .await
            .map(|Query(said)| said)
            .unwrap_or_default();
        let (notice, error) = match parts.extensions.get::<ConsoleCaller>() {
            Some(caller) => said.read(&caller.csrf),
            None => (None, None),
        };
        Ok(Told { notice, error })
    }
}
