//! Account settings → Groups (Enterprise): each group with its permission sets and members;
//! making a group with its sets, replacing a group's sets, deleting a group. The store's one
//! rule decides: nobody makes or changes a group beyond what they hold themselves.

use crate::console::caller::ConsoleCaller;
use crate::console::form::ConsoleForm;
use crate::console::frame::Frame;
use crate::console::pages::{self, render, Refusal};
use crate::console::service_tokens::{form_grant_rows, DeletePage, GRANT_ROWS};
use crate::console::token_views::{grant_text, GrantText, SetOption};
use crate::console::told::Told;
use crate::error::ApiError;
use crate::state::AppState;
use askama::Template;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use latchkey_core::permissions as p;
use latchkey_core::principal::group_may_hold;
use latchkey_core::{catalog, Authority, GroupId, Plan};
use latchkey_store::{Group, Project, State as RowState};
use std::collections::HashMap;

/// One group.
pub struct GroupRow {
    id: i64,
    name: String,
    grants: Vec<GrantText>,
    members: String,
}

/// The page of groups, with the form for a new one.
#[derive(Template)]
#[template(path = "console/groups.html")]
pub struct GroupsPage {
    frame: Frame,
    groups: Vec<GroupRow>,
    may_write: bool,
    sets: Vec<SetOption>,
    projects: Vec<(i64, String)>,
    rows: Vec<usize>,
    name: String,
    grants_error: Option<String>,
    error: Option<String>,
    notice: Option<String>,
}

/// The page that replaces a group's sets.
#[derive(Template)]
#[template(path = "console/group_edit.html")]
pub struct EditPage {
    frame: Frame,
    id: i64,
    name: String,
    current: Vec<GrantText>,
    sets: Vec<SetOption>,
    projects: Vec<(i64, String)>,
    rows: Vec<usize>,
    grants_error: Option<String>,
}

fn list_path(caller: &ConsoleCaller) -> String {
    format!("/console/accounts/{}/groups", caller.account().0)
}

/// What the page needs from the store: the plan, the groups, the projects and the members'
/// e-mails.
struct Loaded {
    plan: Plan,
    groups: Vec<Group>,
    projects: Vec<Project>,
    emails: HashMap<i64, String>,
}

async fn load(state: &AppState, caller: &ConsoleCaller) -> Result<Loaded, Response> {
    let store = state.verifier.store();
    let account = caller.account();
    let found = async {
        Ok::<_, latchkey_store::StoreError>(Loaded {
            plan: store
                .account(account)
                .await?
                .map_or(Plan::Developer, |a| a.plan),
            groups: store.groups(account).await?,
            projects: store.projects(account).await?,
            emails: store
                .members(account)
                .await?
                .into_iter()
                .map(|m| (m.user_id.0, m.email))
                .collect(),
        })
    }
    .await;
    found.map_err(pages::unavailable)
}

/// The sets a group may hold on `plan`.
fn group_sets(plan: Plan) -> Vec<SetOption> {
    catalog()
        .sets()
        .filter(|s| group_may_hold(plan, *s))
        .map(|s| SetOption {
            slug: s.slug().to_owned(),
            label: s.label().to_owned(),
            envs: s.honours_env_categories(),
        })
        .collect()
}

fn project_options(projects: &[Project]) -> Vec<(i64, String)> {
    projects
        .iter()
        .filter(|p| p.state == RowState::Active)
        .map(|p| (p.id.0, p.name.clone()))
        .collect()
}

fn groups_page(caller: &ConsoleCaller, loaded: &Loaded) -> GroupsPage {
    let names: HashMap<i64, String> = loaded
        .projects
        .iter()
        .map(|p| (p.id.0, p.name.clone()))
        .collect();
    GroupsPage {
        frame: Frame::new(caller, "Groups", &list_path(caller)),
        groups: loaded
            .groups
            .iter()
            .filter(|g| g.state == RowState::Active)
            .map(|g| GroupRow {
                id: g.id.0,
                name: g.name.clone(),
                grants: g
                    .grants
                    .iter()
                    .map(|s| grant_text(&s.grant, &names))
                    .collect(),
                members: g
                    .members
                    .iter()
                    .filter_map(|u| loaded.emails.get(&u.0).cloned())
                    .collect::<Vec<_>>()
                    .join(", "),
            })
            .collect(),
        may_write: caller.holds(p::GROUPS_WRITE),
        sets: group_sets(loaded.plan),
        projects: project_options(&loaded.projects),
        rows: (0..GRANT_ROWS).collect(),
        name: String::new(),
        grants_error: None,
        error: None,
        notice: None,
    }
}

/// GET the page.
pub async fn list(
    State(state): State<AppState>,
    caller: ConsoleCaller,
    Told { notice, error }: Told,
) -> Response {
    let loaded = match load(&state, &caller).await {
        Ok(loaded) => loaded,
        Err(answer) => return answer,
    };
    let mut page = groups_page(&caller, &loaded);
    page.notice = notice;
    page.error = error;
    render(StatusCode::OK, &page)
}

/// Back to the list after a change ([`pages::after_change`]).
fn back(caller: &ConsoleCaller, done: Result<String, ApiError>) -> Response {
    pages::after_change(&list_path(caller), &caller.csrf, done)
}

/// POST a new group with its sets; the page again with the reason when refused.
pub async fn create(State(state): State<AppState>, form: ConsoleForm) -> Response {
    let caller = form.caller.clone();
    let name = form.get("name").to_owned();
    let loaded = match load(&state, &caller).await {
        Ok(loaded) => loaded,
        Err(answer) => return answer,
    };
    let again = |why: String| {
        let mut page = groups_page(&caller, &loaded);
        page.name = name.chars().take(255).collect();
        page.grants_error = Some(why);
        render(StatusCode::UNPROCESSABLE_ENTITY, &page)
    };
    let grants = match form_grant_rows(&form) {
        Ok(grants) => grants,
        Err((_, why)) => return again(why),
    };
    let made = state
        .verifier
        .store()
        .create_group(
            &caller.actor(),
            Authority::Holder(&caller.user.permissions),
            caller.account(),
            &name,
            &grants,
        )
        .await
        .map_err(ApiError::from);
    match made {
        Ok(group) => back(&caller, Ok(format!("Made the group “{}”.", group.name))),
        Err(e @ (ApiError::Unavailable(_) | ApiError::Internal(_))) => back(&caller, Err(e)),
        Err(e) => again(e.to_string()),
    }
}

/// The page's data and the active group named by the path (not found: its page).
async fn load_group(
    state: &AppState,
    caller: &ConsoleCaller,
    path: Result<Path<(i64, i64)>, PathRejection>,
) -> Result<(Loaded, Group), Response> {
    let loaded = load(state, caller).await?;
    let id = path.ok().map(|Path((_, id))| GroupId(id));
    let found = loaded
        .groups
        .iter()
        .find(|g| Some(g.id) == id && g.state == RowState::Active)
        .cloned()
        .ok_or_else(|| pages::refusal(Refusal::NotFound))?;
    Ok((loaded, found))
}

fn edit_page(caller: &ConsoleCaller, loaded: &Loaded, group: &Group) -> EditPage {
    let names: HashMap<i64, String> = loaded
        .projects
        .iter()
        .map(|p| (p.id.0, p.name.clone()))
        .collect();
    EditPage {
        frame: Frame::new(caller, "Edit a group", &list_path(caller)),
        id: group.id.0,
        name: group.name.clone(),
        current: group
            .grants
            .iter()
            .map(|s| grant_text(&s.grant, &names))
            .collect(),
        sets: group_sets(loaded.plan),
        projects: project_options(&loaded.projects),
        rows: (0..GRANT_ROWS).collect(),
        grants_error: None,
    }
}

/// GET the page that replaces a group's sets.
pub async fn edit_form(
    State(state): State<AppState>,
    caller: ConsoleCaller,
    path: Result<Path<(i64, i64)>, PathRejection>,
) -> Response {
    let (loaded, found) = match load_group(&state, &caller, path).await {
        Ok(both) => both,
        Err(answer) => return answer,
    };
    render(StatusCode::OK, &edit_page(&caller, &loaded, &found))
}

/// POST a group's new sets (they replace the old ones).
pub async fn edit(
    State(state): State<AppState>,
    path: Result<Path<(i64, i64)>, PathRejection>,
    form: ConsoleForm,
) -> Response {
    let caller = form.caller.clone();
    let (loaded, found) = match load_group(&state, &caller, path).await {
        Ok(both) => both,
        Err(answer) => return answer,
    };
    let again = |why: String| {
        let mut page = edit_page(&caller, &loaded, &found);
        page.grants_error = Some(why);
        render(StatusCode::UNPROCESSABLE_ENTITY, &page)
    };
    let grants = match form_grant_rows(&form) {
        Ok(grants) => grants,
        Err((_, why)) => return again(why),
    };
    let replaced = state
        .verifier
        .store()
        .replace_group_grants(
            &caller.actor(),
            Authority::Holder(&caller.user.permissions),
            caller.account(),
            found.id,
            &grants,
        )
        .await
        .map_err(ApiError::from);
    match replaced {
        Ok(_) => back(
            &caller,
            Ok(format!("Changed the sets of “{}”.", found.name)),
        ),
        Err(e @ (ApiError::Unavailable(_) | ApiError::Internal(_))) => back(&caller, Err(e)),
        Err(e) => again(e.to_string()),
    }
}

/// GET the deletion's confirmation.
pub async fn delete_form(
    State(state): State<AppState>,
    caller: ConsoleCaller,
    path: Result<Path<(i64, i64)>, PathRejection>,
) -> Response {
    let (_, found) = match load_group(&state, &caller, path).await {
        Ok(both) => both,
        Err(answer) => return answer,
    };
    render(
        StatusCode::OK,
        &DeletePage {
            frame: Frame::new(&caller, "Delete a group", &list_path(&caller)),
            verb: "Delete the group",
            name: found.name,
            consequence: "Its members lose what it gave them, at once, on every node.",
            action: format!("{}/{}/delete", list_path(&caller), found.id.0),
            back: list_path(&caller),
        },
    )
}

/// POST the deletion.
pub async fn delete(
    State(state): State<AppState>,
    path: Result<Path<(i64, i64)>, PathRejection>,
    form: ConsoleForm,
) -> Response {
    let caller = &form.caller;
    let (_, found) = match load_group(&state, caller, path).await {
        Ok(both) => both,
        Err(answer) => return answer,
    };
    let done = state
        .verifier
        .store()
        .update_group(
            &caller.actor(),
            Authority::Holder(&caller.user.permissions),
            caller.account(),
            found.id,
            None,
            Some(RowState::Deleted),
        )
        .await
        .map_err(ApiError::from)
        .map(|_| format!("Deleted the group “{}”.", found.name));
    back(caller, done)
}
