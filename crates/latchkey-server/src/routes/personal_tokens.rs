//! A user's own personal access tokens: `/api/v3/accounts/{account_id}/personal-tokens/…`.
//! The caller is the user (their PAT, or e-mail and password); they see and revoke only their
//! own tokens. Creating one needs the password: a token never mints a PAT, so a leaked PAT
//! cannot make itself a longer-lived twin.

use crate::envelope::{Envelope, PageQuery};
use crate::error::ApiError;
use crate::extract::{parse_expiry, ApiJson, ApiPath, ApiQuery};
use crate::routes::caller::UserCaller;
use crate::state::AppState;
use axum::extract::State;
use latchkey_core::{TokenId, TokenKind};
use latchkey_store::NewServiceTokenParts;
use latchkey_wire as wire;
use serde::Deserialize;

/// A create request: a name and an optional expiry.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = PersonalTokenCreate)]
pub struct CreateBody {
    /// The token's name.
    #[schema(schema_with = latchkey_wire::value_sets::name, example = "laptop")]
    name: String,
    /// An RFC 3339 time, in the future, after which the token stops working.
    #[serde(default)]
    #[schema(schema_with = latchkey_wire::value_sets::future_time)]
    expires_at: Option<String>,
}

/// `{account_id}` and `{id}`.
#[derive(Deserialize)]
pub struct TokenPath {
    #[allow(dead_code)]
    account_id: i64,
    id: i64,
}

/// GET: the caller's own tokens in this account, newest first (never secrets).
pub async fn list(
    State(state): State<AppState>,
    caller: UserCaller,
    ApiQuery(page): ApiQuery<PageQuery>,
) -> Result<Envelope, ApiError> {
    let tokens = state
        .verifier
        .store()
        .list_personal_tokens(caller.account(), caller.user_id())
        .await?;
    let items: Vec<_> = tokens
        .iter()
        .map(|t| wire::personal_token(t, None))
        .collect();
    Envelope::slice(items, &page)
}

/// POST: a new token for the signed-in user; the secret is in `token_string`, once.
pub async fn create(
    State(state): State<AppState>,
    caller: UserCaller,
    ApiJson(body): ApiJson<CreateBody>,
) -> Result<Envelope, ApiError> {
    let expires_at = parse_expiry(body.expires_at.as_deref())?;
    let new = state
        .verifier
        .config()
        .token_format
        .generate(TokenKind::Personal);
    let token = state
        .verifier
        .store()
        .create_personal_token(
            &caller.actor(),
            caller.minter(),
            caller.account(),
            caller.user_id(),
            &body.name,
            NewServiceTokenParts {
                uid: &new.uid,
                digest: new.digest,
                hint: &new.hint,
            },
            expires_at,
        )
        .await?;
    Ok(Envelope::created(wire::personal_token(
        &token,
        Some(&new.secret),
    )))
}

/// The personal access token `id` of `user` in `account` (also when revoked); anybody else's
/// is not found. The API and the console look tokens up through here.
pub async fn own(
    state: &AppState,
    account: latchkey_core::AccountId,
    user: latchkey_core::UserId,
    id: i64,
) -> Result<latchkey_store::PersonalToken, ApiError> {
    state
        .verifier
        .store()
        .personal_token(TokenId(id))
        .await?
        .filter(|t| t.account_id == account && t.user_id == user)
        .ok_or(ApiError::NotFound)
}

/// GET one of the caller's tokens (also when revoked).
pub async fn retrieve(
    State(state): State<AppState>,
    caller: UserCaller,
    ApiPath(path): ApiPath<TokenPath>,
) -> Result<Envelope, ApiError> {
    let token = own(&state, caller.account(), caller.user_id(), path.id).await?;
    Ok(Envelope::ok(wire::personal_token(&token, None)))
}

/// DELETE one of the caller's tokens: it stops working at once (state 2).
pub async fn delete(
    State(state): State<AppState>,
    caller: UserCaller,
    ApiPath(path): ApiPath<TokenPath>,
) -> Result<Envelope, ApiError> {
    own(&state, caller.account(), caller.user_id(), path.id).await?;
    let store = state.verifier.store();
    store
        .revoke_personal_token(&caller.actor(), Some(caller.user_id()), TokenId(path.id))
        .await?;
    let token = own(&state, caller.account(), caller.user_id(), path.id).await?;
    Ok(Envelope::ok(wire::personal_token(&token, None)))
}
