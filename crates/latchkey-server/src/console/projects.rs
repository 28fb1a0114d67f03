//! Account settings → Projects: the account's projects, making one, renaming and deleting one.
//! Renaming and deleting are decided on the project itself (`projects:write` there), so a person
//! who may write only some projects sees the buttons on those alone.

use crate::console::caller::ConsoleCaller;
use crate::console::form::ConsoleForm;
use crate::console::frame::Frame;
use crate::console::pages::{self, render};
use crate::console::service_tokens::DeletePage;
use crate::console::token_views::when;
use crate::console::told::Told;
use crate::error::ApiError;
use crate::state::AppState;
use askama::Template;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use latchkey_core::permissions as p;
use latchkey_core::ProjectId;
use latchkey_store::{Project, State as RowState};

/// One project.
pub struct ProjectRow {
    id: i64,
    name: String,
    created: String,
    may_write: bool,
}

/// The page.
#[derive(Template)]
#[template(path = "console/projects.html")]
pub struct ProjectsPage {
    frame: Frame,
    projects: Vec<ProjectRow>,
    may_create: bool,
    name: String,
    error: Option<String>,
    notice: Option<String>,
}

fn list_path(caller: &ConsoleCaller) -> String {
    format!("/console/accounts/{}/projects", caller.account().0)
}

async fn page(
    state: &AppState,
    caller: &ConsoleCaller,
    status: StatusCode,
    edit: impl FnOnce(&mut ProjectsPage),
) -> Response {
    let projects = match state.verifier.store().projects(caller.account()).await {
        Ok(found) => found,
        Err(e) => return pages::unavailable(e),
    };
    let mut page = ProjectsPage {
        frame: Frame::new(caller, "Projects", &list_path(caller)),
        projects: projects
            .iter()
            .filter(|p| p.state == RowState::Active)
            .map(|p| ProjectRow {
                id: p.id.0,
                name: p.name.clone(),
                created: when(p.created_at),
                may_write: caller.holds_on(p::PROJECTS_WRITE, p.id),
            })
            .collect(),
        may_create: caller.holds(p::PROJECT_CREATE_WRITE),
        name: String::new(),
        error: None,
        notice: None,
    };
    edit(&mut page);
    render(status, &page)
}

/// GET the page.
pub async fn list(
    State(state): State<AppState>,
    caller: ConsoleCaller,
    Told { notice, error }: Told,
) -> Response {
    page(&state, &caller, StatusCode::OK, |p| {
        p.notice = notice;
        p.error = error;
    })
    .await
}

/// Back to the list after a change ([`pages::after_change`]).
fn back(caller: &ConsoleCaller, done: Result<String, ApiError>) -> Response {
    pages::after_change(&list_path(caller), &caller.csrf, done)
}

/// POST a new project.
pub async fn create(State(state): State<AppState>, form: ConsoleForm) -> Response {
    let caller = form.caller.clone();
    let name = form.get("name").to_owned();
    let made = state
        .verifier
        .store()
        .create_project(&caller.actor(), caller.account(), &name)
        .await
        .map_err(ApiError::from);
    match made {
        Ok(project) => back(&caller, Ok(format!("Made the project “{}”.", project.name))),
        Err(e @ (ApiError::Unavailable(_) | ApiError::Internal(_))) => back(&caller, Err(e)),
        Err(e) => {
            let why = e.to_string();
            page(&state, &caller, StatusCode::UNPROCESSABLE_ENTITY, |p| {
                p.name = name.chars().take(255).collect();
                p.error = Some(why);
            })
            .await
        }
    }
}

/// The active project named by the path.
async fn project(
    state: &AppState,
    caller: &ConsoleCaller,
    path: Result<Path<(i64, i64)>, PathRejection>,
) -> Result<Project, ApiError> {
    let Ok(Path((_, id))) = path else {
        return Err(ApiError::NotFound);
    };
    state
        .verifier
        .store()
        .project(caller.account(), ProjectId(id))
        .await?
        .filter(|p| p.state == RowState::Active)
        .ok_or(ApiError::NotFound)
}

/// POST a project's new name.
pub async fn rename(
    State(state): State<AppState>,
    path: Result<Path<(i64, i64)>, PathRejection>,
    form: ConsoleForm,
) -> Response {
    let caller = &form.caller;
    let done = async {
        let found = project(&state, caller, path).await?;
        let renamed = state
            .verifier
            .store()
            .update_project(
                &caller.actor(),
                caller.account(),
                found.id,
                Some(form.get("name")),
                None,
            )
            .await?;
        Ok(format!("Renamed “{}” to “{}”.", found.name, renamed.name))
    }
    .await;
    back(caller, done)
}

/// GET the deletion's confirmation.
pub async fn delete_form(
    State(state): State<AppState>,
    caller: ConsoleCaller,
    path: Result<Path<(i64, i64)>, PathRejection>,
) -> Response {
    match project(&state, &caller, path).await {
        Ok(found) => render(
            StatusCode::OK,
            &DeletePage {
                frame: Frame::new(&caller, "Delete a project", &list_path(&caller)),
                verb: "Delete the project",
                name: found.name,
                consequence: "Every grant on it stops counting at once, on every node. It cannot \
                              be restored.",
                action: format!("{}/{}/delete", list_path(&caller), found.id.0),
                back: list_path(&caller),
            },
        ),
        Err(e) => back(&caller, Err(e)),
    }
}

/// POST the deletion.
pub async fn delete(
    State(state): State<AppState>,
    path: Result<Path<(i64, i64)>, PathRejection>,
    form: ConsoleForm,
) -> Response {
    let caller = &form.caller;
    let done = async {
        let found = project(&state, caller, path).await?;
        state
            .verifier
            .store()
            .update_project(
                &caller.actor(),
                caller.account(),
                found.id,
                None,
                Some(RowState::Deleted),
            )
            .await?;
        Ok(format!("Deleted the project “{}”.", found.name))
    }
    .await;
    back(caller, done)
}
