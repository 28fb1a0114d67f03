//! Service tokens, dbt Cloud v3 style: `/api/v3/accounts/{account_id}/service-tokens/…`.
//! The route table has already checked the caller's account and permission.

use crate::envelope::{page_window, Envelope, DEFAULT_LIMIT, MAX_LIMIT};
use crate::error::ApiError;
use crate::extract::{parse_expiry, parse_state, ApiJson, ApiJsonList, ApiPath, ApiQuery};
use crate::routes::caller::Caller;
use crate::routes::ip_restrictions::parse_cidrs;
use crate::state::AppState;
use axum::extract::State;
use latchkey_core::{AccountId, EnvCategories, Grant, ProjectId, Scope, TokenId, TokenKind};
use latchkey_store::NewServiceToken;
use latchkey_wire as wire;
use serde::Deserialize;

/// `?state=1|2&pk__in=1,2&offset=&limit=`, as dbt Cloud's clients send them.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// 1 lists active tokens, 2 revoked ones; absent lists both.
    #[serde(default)]
    #[param(schema_with = latchkey_wire::value_sets::state)]
    state: Option<i64>,
    /// Only these token ids: 1 to 1000 comma-separated ids, each 1 or more, written without
    /// leading zeros or spaces (at most 18 digits).
    #[serde(default, rename = "pk__in")]
    #[param(
        nullable = false,
        rename = "pk__in",
        example = "1,2,3",
        pattern = r"^[1-9][0-9]{0,17}(,[1-9][0-9]{0,17}){0,999}$"
    )]
    pk_in: Option<String>,
    /// Tokens to skip (default 0).
    #[serde(default)]
    #[param(nullable = false, minimum = 0)]
    offset: Option<i64>,
    /// Page size, 1 to 1000 (default 100).
    #[serde(default)]
    #[param(nullable = false, minimum = 1, maximum = 1000)]
    limit: Option<i64>,
}

/// A grant as sent: `permission_set`, `all_projects` / `project_id`, `writable_environment_categories`.
#[derive(Deserialize, utoipa::ToSchema)]
#[schema(as = PermissionGrant)]
pub struct GrantBody {
    /// A permission set of the catalog (`account_admin`, `job_runner`, …).
    #[schema(example = "job_runner")]
    #[schema(schema_with = latchkey_wire::value_sets::permission_set)]
    permission_set: String,
    /// `true` (or absent, without `project_id`) for every project.
    #[serde(default)]
    all_projects: Option<bool>,
    /// One project instead of all of them (then `all_projects` is `false` or left out).
    #[serde(default)]
    #[schema(minimum = 1)]
    project_id: Option<i64>,
    /// `development`, `staging`, `production`, `other` or `all`.
    #[serde(default)]
    #[schema(example = json!(["production"]))]
    #[schema(schema_with = latchkey_wire::value_sets::environment_categories)]
    writable_environment_categories: Vec<String>,
}

/// A create request.
#[derive(Deserialize, utoipa::ToSchema)]
#[schema(as = ServiceTokenCreate)]
pub struct CreateBody {
    /// The token's name.
    #[schema(schema_with = latchkey_wire::value_sets::name, example = "CI deploys")]
    name: String,
    /// What the token may do.
    #[serde(default)]
    permission_grants: Vec<GrantBody>,
    /// An RFC 3339 time, in the future, after which the token stops working.
    #[serde(default)]
    #[schema(schema_with = latchkey_wire::value_sets::future_time)]
    expires_at: Option<String>,
    /// The token's own allowlist of client ranges (beyond dbt Cloud).
    #[serde(default)]
    #[schema(schema_with = latchkey_wire::value_sets::allowlist)]
    allowed_cidrs: Vec<String>,
}

/// An update: `name` and/or `state` (2 revokes); other fields of a full object are ignored.
#[derive(Deserialize, utoipa::ToSchema)]
#[schema(as = ServiceTokenUpdate)]
pub struct UpdateBody {
    /// A new name.
    #[serde(default)]
    #[schema(schema_with = latchkey_wire::value_sets::name_or_null)]
    name: Option<String>,
    /// 2 revokes the token.
    #[serde(default)]
    #[schema(schema_with = latchkey_wire::value_sets::state_or_null)]
    state: Option<i64>,
    /// Replaces the token's own allowlist (`[]` removes it).
    #[serde(default)]
    #[schema(schema_with = latchkey_wire::value_sets::allowlist_or_null)]
    allowed_cidrs: Option<Vec<String>>,
}

/// A rotation: how long the old token keeps working (0 to 7 days, default 0).
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = ServiceTokenRotate)]
pub struct RotateBody {
    /// Seconds the old token keeps working, 0 to 604800.
    #[serde(default)]
    #[schema(minimum = 0, maximum = 604_800)]
    overlap_seconds: i64,
}

/// Longest rotation overlap: 7 days.
pub const MAX_OVERLAP_SECONDS: i64 = 604_800;

/// `{account_id}` and `{id}` path parameters.
#[derive(Deserialize)]
pub struct TokenPath {
    #[allow(dead_code)]
    account_id: i64,
    id: i64,
}

/// A token's grants as a (single) page.
fn grants_page(token: &latchkey_store::ServiceToken) -> Envelope {
    let items: Vec<_> = token.grants.iter().map(|g| wire::grant(g, token)).collect();
    Envelope::all(items)
}

/// Reads grant objects; a bad one is named as `{field}[i].…`.
pub fn parse_grants(field_name: &str, body: &[GrantBody]) -> Result<Vec<Grant>, ApiError> {
    body.iter()
        .enumerate()
        .map(|(i, g)| {
            let field = |f: &str| format!("{field_name}[{i}].{f}");
            let set = g
                .permission_set
                .parse()
                .map_err(|e: latchkey_core::Error| {
                    ApiError::field(&field("permission_set"), e.to_string())
                })?;
            let scope = match (g.all_projects, g.project_id) {
                (Some(true) | None, None) => Scope::AllProjects,
                (Some(false) | None, Some(p)) if p > 0 => Scope::Project(ProjectId(p)),
                _ => {
                    return Err(ApiError::field(
                        &field("project_id"),
                        "give a positive project_id, or all_projects: true without one",
                    ))
                }
            };
            let envs =
                EnvCategories::parse(g.writable_environment_categories.iter().map(String::as_str))
                    .map_err(|e| {
                        ApiError::field(&field("writable_environment_categories"), e.to_string())
                    })?;
            let grant = Grant::new(set, scope).with_writable_envs(envs);
            grant.validate().map_err(|e| {
                ApiError::field(&field("writable_environment_categories"), e.to_string())
            })?;
            Ok(grant)
        })
        .collect()
}

/// `pk__in`: 1 to 1000 comma-separated ids, each 1 to 18 digits without a leading zero (the
/// pattern the document gives).
fn parse_ids(text: &str) -> Result<Vec<i64>, ApiError> {
    let refused = || {
        ApiError::field(
            "pk__in",
            "pk__in must be 1 to 1000 comma-separated ids, each 1 or more, with no spaces or \
             leading zeros",
        )
    };
    let id = |text: &str| {
        let digits = (1..=18).contains(&text.len())
            && !text.starts_with('0')
            && text.bytes().all(|b| b.is_ascii_digit());
        digits.then(|| text.parse::<i64>().ok()).flatten()
    };
    let ids = text
        .split(',')
        .map(id)
        .collect::<Option<Vec<i64>>>()
        .ok_or_else(refused)?;
    if ids.is_empty() || ids.len() > 1000 {
        return Err(refused());
    }
    Ok(ids)
}

/// GET: a page of the account's tokens (never secrets).
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Envelope, ApiError> {
    let filter = parse_state(q.state)?;
    let ids = q.pk_in.as_deref().map(parse_ids).transpose()?;
    let (offset, limit) = page_window(q.offset, q.limit, DEFAULT_LIMIT, MAX_LIMIT)?;
    let (tokens, total) = state
        .verifier
        .store()
        .page_service_tokens(caller.account(), filter, ids.as_deref(), offset, limit)
        .await?;
    let items = tokens
        .iter()
        .map(|t| wire::service_token(t, None, state.verifier.config().legacy_cutoff))
        .collect();
    Ok(Envelope::page(items, offset, limit, total))
}

/// POST: creates a token (with its grants) and returns the secret in `token_string`, once.
/// A personal access token may not (400, as in dbt Cloud); a token may not mint beyond itself (403).
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<CreateBody>,
) -> Result<Envelope, ApiError> {
    let grants = parse_grants("permission_grants", &body.permission_grants)?;
    let allowed_cidrs = parse_cidrs("allowed_cidrs", &body.allowed_cidrs)?;
    let expires_at = parse_expiry(body.expires_at.as_deref())?;
    let new = state
        .verifier
        .config()
        .token_format
        .generate(TokenKind::Service);
    let token = state
        .verifier
        .store()
        .create_service_token(
            &caller.actor(),
            caller.minter(),
            &NewServiceToken {
                account_id: caller.account(),
                name: &body.name,
                grants: &grants,
                expires_at,
                allowed_cidrs: &allowed_cidrs,
                uid: &new.uid,
                digest: new.digest,
                hint: &new.hint,
            },
        )
        .await?;
    Ok(Envelope::created(wire::service_token(
        &token,
        Some(&new.secret),
        state.verifier.config().legacy_cutoff,
    )))
}

/// The service token `id` of `account` (also when deleted); another account's is not found.
/// The API and the console look tokens up through here.
pub async fn owned_token(
    state: &AppState,
    account: AccountId,
    id: i64,
) -> Result<latchkey_store::ServiceToken, ApiError> {
    state
        .verifier
        .store()
        .service_token(TokenId(id))
        .await?
        .filter(|t| t.account_id == account)
        .ok_or(ApiError::NotFound)
}

/// GET one token (also when deleted).
pub async fn retrieve(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(path): ApiPath<TokenPath>,
) -> Result<Envelope, ApiError> {
    let token = owned_token(&state, caller.account(), path.id).await?;
    Ok(Envelope::ok(wire::service_token(
        &token,
        None,
        state.verifier.config().legacy_cutoff,
    )))
}

/// DELETE: revokes (state 2); the row stays for the audit log.
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(path): ApiPath<TokenPath>,
) -> Result<Envelope, ApiError> {
    let token = state
        .verifier
        .store()
        .revoke_service_token(
            &caller.actor(),
            caller.authority(),
            Some(caller.account()),
            TokenId(path.id),
        )
        .await?;
    Ok(Envelope::ok(wire::service_token(
        &token,
        None,
        state.verifier.config().legacy_cutoff,
    )))
}

/// GET a token's grants.
pub async fn grants(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(path): ApiPath<TokenPath>,
) -> Result<Envelope, ApiError> {
    let token = owned_token(&state, caller.account(), path.id).await?;
    Ok(grants_page(&token))
}

/// POST/PUT one token: rename, or revoke with `"state": 2`.
pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(path): ApiPath<TokenPath>,
    ApiJson(body): ApiJson<UpdateBody>,
) -> Result<Envelope, ApiError> {
    let new_state = parse_state(body.state)?;
    let allowed_cidrs = body
        .allowed_cidrs
        .as_deref()
        .map(|c| parse_cidrs("allowed_cidrs", c))
        .transpose()?;
    let token = state
        .verifier
        .store()
        .update_service_token(
            &caller.actor(),
            caller.authority(),
            caller.account(),
            TokenId(path.id),
            body.name.as_deref(),
            new_state,
            allowed_cidrs.as_deref(),
        )
        .await?;
    Ok(Envelope::ok(wire::service_token(
        &token,
        None,
        state.verifier.config().legacy_cutoff,
    )))
}

/// POST a token's full list of grants, replacing the old ones. Never beyond the caller's own.
pub async fn replace_grants(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(path): ApiPath<TokenPath>,
    ApiJsonList(body): ApiJsonList<GrantBody>,
) -> Result<Envelope, ApiError> {
    let grants = parse_grants("permission_grants", &body)?;
    let token = state
        .verifier
        .store()
        .replace_service_token_grants(
            &caller.actor(),
            caller.minter(),
            caller.account(),
            TokenId(path.id),
            &grants,
        )
        .await?;
    Ok(grants_page(&token))
}

/// POST …/rotate/: a new token with the same name, grants and expiry (secret shown once); the
/// old one works until the overlap ends, then is revoked automatically.
pub async fn rotate(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(path): ApiPath<TokenPath>,
    ApiJson(body): ApiJson<RotateBody>,
) -> Result<Envelope, ApiError> {
    if !(0..=MAX_OVERLAP_SECONDS).contains(&body.overlap_seconds) {
        return Err(ApiError::field(
            "overlap_seconds",
            format!("overlap_seconds must be 0 to {MAX_OVERLAP_SECONDS}"),
        ));
    }
    let new = state
        .verifier
        .config()
        .token_format
        .generate(TokenKind::Service);
    let parts = latchkey_store::NewServiceTokenParts {
        uid: &new.uid,
        digest: new.digest,
        hint: &new.hint,
    };
    let (token, _old) = state
        .verifier
        .store()
        .rotate_service_token(
            &caller.actor(),
            caller.minter(),
            caller.account(),
            TokenId(path.id),
            time::Duration::seconds(body.overlap_seconds),
            parts,
        )
        .await?;
    Ok(Envelope::created(wire::service_token(
        &token,
        Some(&new.secret),
        state.verifier.config().legacy_cutoff,
    )))
}
