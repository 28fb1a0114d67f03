//! Groups and their permissions (dbt Cloud v3): `/api/v3/accounts/{account_id}/groups/…`,
//! `…/group-permissions/{group_id}/` and `…/assign-groups/`. Nobody gives a group, or puts a
//! user in a group, with more than they hold themselves.

use crate::envelope::{Envelope, PageQuery};
use crate::error::ApiError;
use crate::extract::{parse_state, ApiJson, ApiJsonList, ApiPath, ApiQuery};
use crate::routes::caller::Caller;
use crate::routes::service_tokens::{parse_grants, GrantBody};
use crate::state::AppState;
use axum::extract::State;
use latchkey_core::{GroupId, UserId};
use latchkey_wire as wire;
use serde::Deserialize;

/// A new group: a name and, optionally, its permissions.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = GroupCreate)]
pub struct CreateBody {
    /// The group's name.
    #[schema(schema_with = latchkey_wire::value_sets::name, example = "Analysts")]
    name: String,
    /// What the group's members may do.
    #[serde(default)]
    group_permissions: Vec<GrantBody>,
    /// The account (dbt Cloud's clients send it); must be the account in the path.
    #[serde(default)]
    #[schema(nullable = false, minimum = 1)]
    #[allow(dead_code)]
    account_id: Option<i64>,
    /// dbt Cloud's "every new member joins"; Latchkey adds members only through invitations and
    /// `assign-groups/`, so only `false` is accepted.
    #[serde(default, deserialize_with = "crate::extract::present")]
    #[schema(schema_with = only_false)]
    assign_by_default: Option<bool>,
    /// dbt Cloud's SSO group names; Latchkey has no SSO, so only `[]` is accepted.
    #[serde(default, deserialize_with = "crate::extract::present")]
    #[schema(schema_with = no_sso_groups)]
    sso_mapping_groups: Option<Vec<String>>,
}

/// `assign_by_default`: only `false`.
fn only_false() -> utoipa::openapi::Object {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::Type::Boolean)
        .enum_values(Some([false]))
        .description(Some(
            "dbt Cloud's \"every new member joins\"; Latchkey adds members only through \
             invitations and `assign-groups/`, so only `false` is accepted.",
        ))
        .build()
}

/// `sso_mapping_groups`: only `[]`.
fn no_sso_groups() -> utoipa::openapi::schema::Array {
    utoipa::openapi::schema::ArrayBuilder::new()
        .items(utoipa::openapi::ObjectBuilder::new().schema_type(utoipa::openapi::Type::String))
        .max_items(Some(0))
        .description(Some(
            "dbt Cloud's SSO group names; Latchkey has no SSO, so only `[]` is accepted.",
        ))
        .build()
}

/// A group update: `name` and/or `state` (2 deletes); other fields of a full object are ignored.
#[derive(Deserialize, utoipa::ToSchema)]
#[schema(as = GroupUpdate)]
pub struct UpdateBody {
    /// A new name.
    #[serde(default)]
    #[schema(schema_with = latchkey_wire::value_sets::name_or_null)]
    name: Option<String>,
    /// 2 deletes the group.
    #[serde(default)]
    #[schema(schema_with = latchkey_wire::value_sets::state_or_null)]
    state: Option<i64>,
}

/// `{"user_id", "desired_group_ids": [...]}`.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = GroupAssign)]
pub struct AssignBody {
    /// The member.
    #[schema(minimum = 1)]
    user_id: i64,
    /// Every group the member is to be in afterwards (the others are left).
    #[schema(schema_with = desired_groups)]
    desired_group_ids: Vec<i64>,
}

/// `desired_group_ids`: at most 1000 groups.
fn desired_groups() -> utoipa::openapi::schema::Array {
    latchkey_wire::value_sets::ids(
        1000,
        "Every group the member is to be in afterwards (the others are left), at most 1000.",
    )
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
    ApiQuery(q): ApiQuery<GroupQuery>,
) -> Result<Envelope, ApiError> {
    let wanted = parse_state(q.state)?;
    let needle = q.name_icontains.as_deref().map(str::to_lowercase);
    let groups = state.verifier.store().groups(caller.account()).await?;
    let items: Vec<_> = groups
        .iter()
        .filter(|g| q.name.as_deref().is_none_or(|n| g.name == n))
        .filter(|g| {
            needle
                .as_deref()
                .is_none_or(|n| g.name.to_lowercase().contains(n))
        })
        .filter(|g| wanted.is_none_or(|s| g.state == s))
        .map(wire::group)
        .collect();
    Envelope::slice(
        items,
        &PageQuery {
            offset: q.offset,
            limit: q.limit,
        },
    )
}

/// `?name=&name__icontains=&state=&offset=&limit=`, dbt Cloud's group filters.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct GroupQuery {
    /// Only the group with exactly this name.
    #[serde(default)]
    #[param(nullable = false)]
    name: Option<String>,
    /// Only groups whose name contains this, ignoring case.
    #[serde(default, rename = "name__icontains")]
    #[param(nullable = false, rename = "name__icontains")]
    name_icontains: Option<String>,
    /// 1 lists active groups, 2 deleted ones; absent lists both.
    #[serde(default)]
    #[param(schema_with = latchkey_wire::value_sets::state)]
    state: Option<i64>,
    /// Groups to skip (default 0).
    #[serde(default)]
    #[param(nullable = false, minimum = 0)]
    offset: Option<i64>,
    /// Page size, 1 to 1000 (default 100).
    #[serde(default)]
    #[param(nullable = false, minimum = 1, maximum = 1000)]
    limit: Option<i64>,
}

/// POST: a new group.
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<CreateBody>,
) -> Result<Envelope, ApiError> {
    if body.assign_by_default == Some(true) {
        return Err(ApiError::field(
            "assign_by_default",
            "assign_by_default: true is not supported; add members by invitation or assign-groups/",
        ));
    }
    if body
        .sso_mapping_groups
        .as_ref()
        .is_some_and(|g| !g.is_empty())
    {
        return Err(ApiError::field(
            "sso_mapping_groups",
            "SSO group mapping is not supported; send [] or leave it out",
        ));
    }
    let grants = parse_grants("group_permissions", &body.group_permissions)?;
    let group = state
        .verifier
        .store()
        .create_group(
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
