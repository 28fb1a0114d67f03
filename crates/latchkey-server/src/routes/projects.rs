//! Projects (dbt Cloud v3): `/api/v3/accounts/{account_id}/projects/…`. Reading or changing one
//! project needs the permission on that project (the route table takes it from the path).

use crate::envelope::{Envelope, PageQuery};
use crate::error::ApiError;
use crate::extract::{parse_state, ApiJson, ApiPath, ApiQuery};
use crate::routes::caller::Caller;
use crate::state::AppState;
use axum::extract::State;
use latchkey_core::ProjectId;
use latchkey_store::State as RowState;
use latchkey_wire as wire;
use serde::Deserialize;

/// A new project.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = ProjectCreate)]
pub struct CreateBody {
    /// The project's name.
    #[schema(schema_with = latchkey_wire::value_sets::name, example = "Analytics")]
    name: String,
}

/// An update: `name` and/or `state` (2 deletes); other fields of a full object are ignored.
#[derive(Deserialize, utoipa::ToSchema)]
#[schema(as = ProjectUpdate)]
pub struct UpdateBody {
    /// A new name.
    #[serde(default)]
    #[schema(schema_with = latchkey_wire::value_sets::name_or_null)]
    name: Option<String>,
    /// 2 deletes the project.
    #[serde(default)]
    #[schema(schema_with = latchkey_wire::value_sets::state_or_null)]
    state: Option<i64>,
}

/// `{account_id}` and `{project_id}`.
#[derive(Deserialize)]
pub struct ProjectPath {
    #[allow(dead_code)]
    account_id: i64,
    project_id: i64,
}

/// GET: the account's projects.
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(page): ApiQuery<PageQuery>,
) -> Result<Envelope, ApiError> {
    let projects = state.verifier.store().projects(caller.account()).await?;
    let items: Vec<_> = projects.iter().map(wire::project).collect();
    Envelope::slice(items, &page)
}

/// POST: a new project.
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<CreateBody>,
) -> Result<Envelope, ApiError> {
    let project = state
        .verifier
        .store()
        .create_project(&caller.actor(), caller.account(), &body.name)
        .await?;
    Ok(Envelope::created(wire::project(&project)))
}

/// GET one project.
pub async fn retrieve(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(path): ApiPath<ProjectPath>,
) -> Result<Envelope, ApiError> {
    let project = state
        .verifier
        .store()
        .project(caller.account(), ProjectId(path.project_id))
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(Envelope::ok(wire::project(&project)))
}

/// POST one project: rename, or delete with `"state": 2`.
pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(path): ApiPath<ProjectPath>,
    ApiJson(body): ApiJson<UpdateBody>,
) -> Result<Envelope, ApiError> {
    let new_state = parse_state(body.state)?;
    let project = state
        .verifier
        .store()
        .update_project(
            &caller.actor(),
            caller.account(),
            ProjectId(path.project_id),
            body.name.as_deref(),
            new_state,
        )
        .await?;
    Ok(Envelope::ok(wire::project(&project)))
}

/// DELETE one project (state 2).
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(path): ApiPath<ProjectPath>,
) -> Result<Envelope, ApiError> {
    let project = state
        .verifier
        .store()
        .update_project(
            &caller.actor(),
            caller.account(),
            ProjectId(path.project_id),
            None,
            Some(RowState::Deleted),
        )
        .await?;
    Ok(Envelope::ok(wire::project(&project)))
}
