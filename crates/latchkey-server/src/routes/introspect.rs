//! `POST /oauth/introspect` (RFC 7662): gateways ask whether a token is active and what it may
//! do. The caller must hold `service_tokens:read` (see the route table), so nobody can use the
//! endpoint to fish for tokens; a token of another account is simply inactive to it.

use crate::error::ApiError;
use crate::extract::ApiForm;
use crate::routes::caller::Caller;
use crate::state::AppState;
use axum::extract::State;
use axum::Json;
use latchkey_core::TokenKind;
use serde::{Deserialize, Serialize};

/// `token=…&token_type_hint=…` (the hint is accepted and not needed: prefixes say the kind).
#[derive(Deserialize, utoipa::ToSchema)]
pub struct IntrospectForm {
    /// The token to describe.
    token: String,
    /// `access_token` or the like; accepted and not needed.
    #[serde(default)]
    #[allow(dead_code)]
    token_type_hint: Option<String>,
}

/// RFC 7662's answer. For an inactive token (unknown, revoked, expired, of another account) it
/// is `{"active": false}` and nothing else.
#[derive(Serialize, Default, utoipa::ToSchema)]
pub struct Introspection {
    /// Whether the token is active.
    active: bool,
    /// Its grants (`set:all`, `set:project`) or, for a personal access token, its user's license
    /// and group grants, space-separated.
    #[serde(skip_serializing_if = "Option::is_none")]
    scope: Option<String>,
    /// The token's public uid.
    #[serde(skip_serializing_if = "Option::is_none")]
    client_id: Option<String>,
    /// `service_token:<id>` or `user:<id>`.
    #[serde(skip_serializing_if = "Option::is_none")]
    sub: Option<String>,
    /// `service_token` or `personal_access_token`.
    #[serde(skip_serializing_if = "Option::is_none")]
    token_type: Option<&'static str>,
    /// Created, in seconds since the epoch.
    #[serde(skip_serializing_if = "Option::is_none")]
    iat: Option<i64>,
    /// When it expires, in seconds since the epoch; absent when it does not.
    #[serde(skip_serializing_if = "Option::is_none")]
    exp: Option<i64>,
    /// Latchkey's own details.
    #[serde(skip_serializing_if = "Option::is_none")]
    latchkey: Option<IntrospectionDetails>,
}

/// Latchkey's details of an active token.
#[derive(Serialize, utoipa::ToSchema)]
pub struct IntrospectionDetails {
    /// Its account.
    account_id: i64,
    /// Its id.
    token_id: i64,
    /// For personal access tokens, the user.
    #[schema(required = true)]
    user_id: Option<i64>,
    /// A service token's grants; empty for a personal access token.
    permission_grants: Vec<latchkey_wire::GrantView>,
}

fn inactive() -> Json<Introspection> {
    Json(Introspection::default())
}

/// The RFC 7662 answer, with Latchkey's grants under `latchkey`.
pub async fn introspect(
    State(state): State<AppState>,
    caller: Caller,
    ApiForm(form): ApiForm<IntrospectForm>,
) -> Result<Json<Introspection>, ApiError> {
    let Ok(principal) = state.verifier.lookup(form.token.trim()).await else {
        return Ok(inactive());
    };
    if principal.account_id != caller.account() {
        return Ok(inactive());
    }
    let store = state.verifier.store();
    let (iat, client_id, sub, scope, grants) = match principal.kind {
        TokenKind::Service => {
            let Some(t) = store.service_token(principal.id).await? else {
                return Ok(inactive());
            };
            let scope: Vec<String> = t.grants.iter().map(|g| g.grant.to_string()).collect();
            let grants: Vec<_> = t
                .grants
                .iter()
                .map(|g| latchkey_wire::grant(g, &t))
                .collect();
            (
                t.created_at,
                t.uid,
                format!("service_token:{}", t.id),
                scope,
                grants,
            )
        }
        TokenKind::Personal => {
            let Some(t) = store.personal_token(principal.id).await? else {
                return Ok(inactive());
            };
            let Some(m) = store.membership(t.account_id, t.user_id).await? else {
                return Ok(inactive());
            };
            let mut scope = vec![format!("license:{}", m.license)];
            scope.extend(
                m.access
                    .group_grants
                    .iter()
                    .map(std::string::ToString::to_string),
            );
            (
                t.created_at,
                t.uid,
                format!("user:{}", t.user_id),
                scope,
                Vec::new(),
            )
        }
    };
    let token_type = match principal.kind {
        TokenKind::Service => "service_token",
        TokenKind::Personal => "personal_access_token",
    };
    Ok(Json(Introspection {
        active: true,
        scope: Some(scope.join(" ")),
        client_id: Some(client_id),
        sub: Some(sub),
        token_type: Some(token_type),
        iat: Some(iat.unix_timestamp()),
        exp: principal.expires_at().map(crate::clock::UnixMicros::secs),
        latchkey: Some(IntrospectionDetails {
            account_id: principal.account_id.0,
            token_id: principal.id.0,
            user_id: principal.user_id().map(|u| u.0),
            permission_grants: grants,
        }),
    }))
}
