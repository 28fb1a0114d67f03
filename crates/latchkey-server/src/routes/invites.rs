//! Invitations: `/api/v3/accounts/{account_id}/invites/…` to offer a seat, and the public
//! `POST /api/v3/invites/redeem/` where the invited person takes it with the one-time code.

use crate::envelope::{Envelope, PageQuery};
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiPath, ApiQuery, ClientIp};
use crate::routes::caller::Caller;
use crate::state::AppState;
use axum::extract::State;
use latchkey_core::{GroupId, License, Secret, TokenDigest};
use latchkey_wire as wire;
use serde::Deserialize;

/// Longest an invitation may stay open: 30 days (7 by default).
pub const MAX_DAYS: i64 = 30;

/// A new invitation.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = InviteCreate)]
pub struct CreateBody {
    /// Whom to invite.
    #[schema(schema_with = latchkey_wire::value_sets::email)]
    email: String,
    /// `developer`, `read_only` or `it`.
    #[schema(example = "developer")]
    #[schema(schema_with = latchkey_wire::value_sets::license)]
    license_type: String,
    /// Groups the invited user joins on redemption.
    #[serde(default)]
    #[schema(schema_with = invite_groups)]
    group_ids: Vec<i64>,
    /// Days the invitation stays valid, 1 to 30 (default 7).
    #[serde(default)]
    #[schema(minimum = 1, maximum = 30)]
    expires_in_days: Option<i64>,
}

/// `group_ids`: at most 100 groups.
fn invite_groups() -> utoipa::openapi::schema::Array {
    latchkey_wire::value_sets::ids(
        100,
        "Groups the invited user joins on redemption, at most 100.",
    )
}

/// A redemption: the code, and a password — the new user's, or, for an address that already
/// is a user of the account (a former member), their current one, as proof.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = InviteRedeem)]
pub struct RedeemBody {
    /// The invitation's one-time code.
    #[schema(max_length = 256)]
    code: String,
    /// 12 to 1024 characters: the password to sign in with from now on, or the current one of
    /// an existing user of the account.
    #[schema(min_length = 12, max_length = 1024)]
    password: String,
}

/// `{account_id}` and `{id}`.
#[derive(Deserialize)]
pub struct InvitePath {
    #[allow(dead_code)]
    account_id: i64,
    id: i64,
}

/// GET: the account's invitations (never their codes).
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(page): ApiQuery<PageQuery>,
) -> Result<Envelope, ApiError> {
    let invites = state.verifier.store().invites(caller.account()).await?;
    let items: Vec<_> = invites.iter().map(|i| wire::invite(i, None)).collect();
    Envelope::slice(items, &page)
}

/// POST: offers a seat. The one-time code goes where the operator chose
/// (`--invite-delivery`): to the configured command, or — only when the operator said the
/// caller delivers codes — in the answer, once. Refused (409) until the operator has chosen.
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<CreateBody>,
) -> Result<Envelope, ApiError> {
    let license: License = body
        .license_type
        .parse()
        .map_err(|e: latchkey_core::Error| ApiError::field("license_type", e.to_string()))?;
    let days = body.expires_in_days.unwrap_or(7);
    if !(1..=MAX_DAYS).contains(&days) {
        return Err(ApiError::field(
            "expires_in_days",
            format!("expires_in_days must be 1 to {MAX_DAYS}"),
        ));
    }
    if body.group_ids.len() > 100 {
        return Err(ApiError::field("group_ids", "at most 100 groups"));
    }
    let groups: Vec<GroupId> = body.group_ids.iter().map(|g| GroupId(*g)).collect();
    let (invite, code) = crate::invite_delivery::send(
        &state,
        &caller.actor(),
        caller.authority(),
        caller.account(),
        &body.email,
        license,
        &groups,
        days,
    )
    .await?;
    Ok(Envelope::created(wire::invite(&invite, code.as_ref())))
}

/// DELETE: withdraws an invitation; its code stops working.
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(path): ApiPath<InvitePath>,
) -> Result<Envelope, ApiError> {
    let invite = state
        .verifier
        .store()
        .withdraw_invite(
            &caller.actor(),
            caller.authority(),
            caller.account(),
            path.id,
        )
        .await?;
    Ok(Envelope::ok(wire::invite(&invite, None)))
}

/// POST (public): takes the seat an invitation offers. Unknown, used, withdrawn and expired
/// codes get one answer (403: the code is a credential and does not open this seat), and count
/// as failed authentications for the client address.
pub async fn redeem(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    ApiJson(body): ApiJson<RedeemBody>,
) -> Result<Envelope, ApiError> {
    let now = crate::verifier::now_unix();
    if let Some(ip) = ip {
        state
            .auth_failures
            .check(ip, now)
            .map_err(ApiError::TooManyRequests)?;
    }
    // The documented bounds hold for every redemption, before the code is looked up: a new
    // user's password, and the proof of an existing one's, is 12 to 1024 characters.
    if !(12..=1024).contains(&body.password.chars().count()) {
        return Err(ApiError::field(
            "password",
            "a password needs 12 to 1024 characters",
        ));
    }
    let password = Secret::new(body.password);
    let redeemed = state
        .verifier
        .store()
        .redeem_invite(
            &TokenDigest::of(body.code.trim()),
            &password,
            ip.map(|ip| ip.to_string()),
        )
        .await?;
    let Some((invite, user)) = redeemed else {
        if let Some(ip) = ip {
            let _ = state.auth_failures.hit(ip, now);
        }
        return Err(ApiError::Forbidden(
            "this invitation code is not valid (unknown, used, withdrawn or expired), or the \
             password does not prove the existing user it is for"
                .into(),
        ));
    };
    Ok(Envelope::created(wire::RedemptionView {
        account_id: invite.account_id.0,
        user_id: user.0,
        license_type: invite.license.as_str(),
        groups: invite.groups.iter().map(|g| g.0).collect(),
    }))
}
