//! Groups and their permissions (dbt Cloud v3): `/api/v3/accounts/{account_id}/groups/…`,
//! `…/group-permissions/{group_id}/` and `…/assign-groups/`. Nobody gives a group, or puts a
//! user in a group, with more than they hold themselves.

use crate::app::AppState;
use crate::envelope::{Envelope, PageQuery};
use crate::error::ApiError;
use crate::extract::{parse_state, ApiJson, ApiJsonList, ApiPath, ApiQuery};
use crate::routes::service_tokens::{parse_grants, GrantBody};
use crate::routes::table::Caller;
use crate::wire;
use axum::extract::State;
use latchkey_core::{GroupId, UserId};
use serde::Deserialize;

/// A new group: a name and, optionally, its permissions.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = GroupCreate)]
pub struct CreateBody {
    /// The group's name.
    #[schema(example = "Analysts")]
    name: String,
    /// What the group's members may do.
    #[serde(default)]
    group_permissions: Vec<GrantBody>,
}

/// A group update: `name` and/or `state` (2 deletes); other fields of a full object are ignored.
#[derive(Deserialize, utoipa::ToSchema)]
#[schema(as = GroupUpdate)]
pub struct UpdateBody {
    /// A new name.
    #[serde(default)]
    name: Option<String>,
    /// 2 deletes the group.
    #[serde(default)]
    state: Option<i64>,
}

/// `{"user_id", "desired_group_ids": [...]}`.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = GroupAssign)]
pub struct AssignBody {
    /// The member.
    user_id: i64,
    /// Every group the member is to be in afterwards (the others are left).
    desired_group_ids: Vec<i64>,
}

/// `{account_id}` and `{id}`.
#[derive(Deserialize)]
pub struct GroupPath {
    #[allow(dead_code)]
    account_id: i64,
    id: i64,
}

/// GET: the account's groups.
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(page): ApiQuery<PageQuery>,
) -> Result<Envelope, ApiError> {
    let groups = state.verifier.store().groups(caller.account()).await?;
    let items: Vec<_> = groups.iter().map(wire::group).collect();
    Envelope::slice(items, &page)
}

/// POST: a new group.
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<CreateBody>,
) -> Result<Envelope, ApiError> {
    let grants = parse_grants("group_permissions", &body.group_permissions)?;
    let group = state
        .verifier
        .store()
        .add_group(
            &caller.actor(),
            caller.authority(),
            caller.account(),
            &body.name,
            &grants,
        )
        .await?;
    Ok(Envelope::created(wire::group(&group)))
}

/// GET one group.
pub async fn retrieve(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(path): ApiPath<GroupPath>,
) -> Result<Envelope, ApiError> {
    let group = state
        .verifier
        .store()
        .group(caller.account(), GroupId(path.id))
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(Envelope::ok(wire::group(&group)))
}

/// POST one group: rename, or delete with `"state": 2`.
pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(path): ApiPath<GroupPath>,
    ApiJson(body): ApiJson<UpdateBody>,
) -> Result<Envelope, ApiError> {
    let new_state = parse_state(body.state)?;
    let group = state
        .verifier
        .store()
        .update_group(
            &caller.actor(),
            caller.authority(),
            caller.account(),
            GroupId(path.id),
            body.name.as_deref(),
            new_state,
        )
        .await?;
    Ok(Envelope::ok(wire::group(&group)))
}

/// POST a group's full list of permissions, replacing the old ones.
pub async fn replace_permissions(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(path): ApiPath<GroupPath>,
    ApiJsonList(body): ApiJsonList<GrantBody>,
) -> Result<Envelope, ApiError> {
    let grants = parse_grants("permissions", &body)?;
    let group = state
        .verifier
        .store()
        .replace_group_grants(
            &caller.actor(),
            caller.authority(),
            caller.account(),
            GroupId(path.id),
            &grants,
        )
        .await?;
    Ok(Envelope::ok(wire::group(&group)))
}

/// POST: sets a member's groups to exactly `desired_group_ids`.
pub async fn assign(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<AssignBody>,
) -> Result<Envelope, ApiError> {
    if body.desired_group_ids.len() > 1000 {
        return Err(ApiError::field("desired_group_ids", "at most 1000 groups"));
    }
    let desired: Vec<GroupId> = body.desired_group_ids.iter().map(|g| GroupId(*g)).collect();
    let member = state
        .verifier
        .store()
        .assign_groups(
            &caller.actor(),
            caller.authority(),
            caller.account(),
            UserId(body.user_id),
            &desired,
        )
        .await?;
    Ok(Envelope::ok(wire::member(&member)))
}
