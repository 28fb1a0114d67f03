//! Who am I, which accounts can I see, and the constants a client needs.

use crate::envelope::Envelope;
use crate::error::ApiError;
use crate::routes::caller::Caller;
use crate::state::AppState;
use axum::extract::State;
use latchkey_core::catalog;
use latchkey_wire::ConstantsView;
use latchkey_wire::PrincipalView;
use serde::Serialize;

/// Who is calling.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = WhoAmI)]
pub struct WhoAmIView {
    /// The calling token.
    principal: PrincipalView,
}

/// The calling principal.
pub async fn whoami(Caller { principal, .. }: Caller) -> Envelope {
    Envelope::ok(WhoAmIView {
        principal: principal.view(),
    })
}

/// `permissions_sets`: every permission set's slug and label, as dbt Cloud's constants endpoint.
pub async fn constants(_: Caller) -> Envelope {
    Envelope::ok(ConstantsView {
        permissions_sets: catalog().sets().map(|s| (s.slug(), s.label())).collect(),
    })
}

/// `GET /api/v2/accounts/` and `/api/v3/accounts/`: a token sees only its own account.
pub async fn accounts(State(state): State<AppState>, caller: Caller) -> Result<Envelope, ApiError> {
    let account = state
        .verifier
        .store()
        .account(caller.account())
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(Envelope::page(
        vec![latchkey_wire::account(&account)],
        0,
        1,
        1,
    ))
}
