//! An account's members and their seats: `/api/v3/accounts/{account_id}/users/…` (and dbt
//! Cloud's v2 single-user read). Removing a member or their license ends their PATs at once.

use crate::envelope::{Envelope, PageQuery};
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::routes::caller::Caller;
use crate::state::AppState;
use axum::extract::State;
use latchkey_core::{License, UserId};
use latchkey_store::State as RowState;
use latchkey_wire as wire;
use serde::Deserialize;

/// `{account_id}` and `{user_id}`.
#[derive(Deserialize)]
pub struct UserPath {
    #[allow(dead_code)]
    account_id: i64,
    user_id: i64,
}

/// `{"license_type": "developer" | "read_only" | "it"}` (other fields of a full object are
/// ignored; the member is looked up before the body is judged, so another account's user is a
/// 404 whatever the body says).
#[derive(Deserialize, utoipa::ToSchema)]
#[schema(as = UserLicense)]
pub struct LicenseBody {
    /// `developer`, `read_only` or `it` (required, though a missing one is a 400 in the envelope).
    #[serde(default)]
    #[schema(required = true, example = "developer")]
    #[schema(schema_with = latchkey_wire::value_sets::license)]
    license_type: Option<String>,
}

async fn active_member(
    state: &AppState,
    caller: &Caller,
    user: i64,
) -> Result<latchkey_store::Member, ApiError> {
    state
        .verifier
        .store()
        .member(caller.account(), UserId(user))
        .await?
        .filter(|m| m.state == RowState::Active)
        .ok_or(ApiError::NotFound)
}

/// `?state=&order_by=&offset=&limit=`, as dbt Cloud's clients list users.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UserQuery {
    /// 1 lists members with a seat, 2 removed ones; absent lists both.
    #[serde(default)]
    #[param(schema_with = latchkey_wire::value_sets::state)]
    state: Option<i64>,
    /// `email` (the default), `-email`, `id` or `-id`.
    #[serde(default)]
    #[param(nullable = false, example = "email", pattern = "^-?(email|id)$")]
    order_by: Option<String>,
    /// Members to skip (default 0).
    #[serde(default)]
    #[param(nullable = false, minimum = 0)]
    offset: Option<i64>,
    /// Page size, 1 to 1000 (default 100).
    #[serde(default)]
    #[param(nullable = false, minimum = 1, maximum = 1000)]
    limit: Option<i64>,
}

/// GET: the account's members (removed ones too, with state 2), by e-mail unless `order_by`
/// says otherwise.
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<UserQuery>,
) -> Result<Envelope, ApiError> {
    let wanted = crate::extract::parse_state(q.state)?;
    let order = q.order_by.as_deref().unwrap_or("email");
    let (key, descending) = match order.strip_prefix('-') {
        Some(key) => (key, true),
        None => (order, false),
    };
    if !["email", "id"].contains(&key) {
        return Err(ApiError::field(
            "order_by",
            "order_by must be email, -email, id or -id",
        ));
    }
    let mut members = state.verifier.store().members(caller.account()).await?;
    members.retain(|m| wanted.is_none_or(|s| m.state == s));
    if key == "id" {
        members.sort_by_key(|m| m.user_id.0);
    } else {
        members.sort_by_key(|m| m.email.to_lowercase());
    }
    if descending {
        members.reverse();
    }
    let items: Vec<_> = members.iter().map(wire::member).collect();
    Envelope::slice(
        items,
        &PageQuery {
            offset: q.offset,
            limit: q.limit,
        },
    )
}

/// GET one member.
pub async fn retrieve(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(path): ApiPath<UserPath>,
) -> Result<Envelope, ApiError> {
    let member = state
        .verifier
        .store()
        .member(caller.account(), UserId(path.user_id))
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(Envelope::ok(wire::member(&member)))
}

/// POST: changes a member's license (`user_license.added`); their PATs follow at once.
pub async fn set_license(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(path): ApiPath<UserPath>,
    ApiJson(body): ApiJson<LicenseBody>,
) -> Result<Envelope, ApiError> {
    active_member(&state, &caller, path.user_id).await?;
    let license: License = body
        .license_type
        .as_deref()
        .ok_or_else(|| ApiError::field("license_type", "license_type is required"))?
        .parse()
        .map_err(|e: latchkey_core::Error| ApiError::field("license_type", e.to_string()))?;
    let store = state.verifier.store();
    store
        .set_membership(
            &caller.actor(),
            caller.authority(),
            caller.account(),
            UserId(path.user_id),
            license,
        )
        .await?;
    let member = active_member(&state, &caller, path.user_id).await?;
    Ok(Envelope::ok(wire::member(&member)))
}

/// DELETE: removes the member from the account (`user.removed`); their PATs stop at once.
pub async fn remove(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(path): ApiPath<UserPath>,
) -> Result<Envelope, ApiError> {
    active_member(&state, &caller, path.user_id).await?;
    let store = state.verifier.store();
    store
        .remove_membership(
            &caller.actor(),
            caller.authority(),
            caller.account(),
            UserId(path.user_id),
        )
        .await?;
    let member = store
        .member(caller.account(), UserId(path.user_id))
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(Envelope::ok(wire::member(&member)))
}
