//! Account settings → Users: the account's members with their license and groups; changing a
//! member's license and removing a member, for those whose permissions allow it. The store's one
//! rule decides who may change whom: nobody gives or takes away more than they hold themselves.

use crate::console::caller::ConsoleCaller;
use crate::console::form::ConsoleForm;
use crate::console::frame::Frame;
use crate::console::pages::{self, render};
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
use latchkey_core::{Authority, License, UserId};
use latchkey_store::State as RowState;
use std::collections::HashMap;

/// One member.
pub struct MemberRow {
    id: i64,
    email: String,
    license: &'static str,
    groups: String,
    joined: String,
    active: bool,
    me: bool,
}

/// The page.
#[derive(Template)]
#[template(path = "console/users.html")]
pub struct UsersPage {
    frame: Frame,
    members: Vec<MemberRow>,
    licenses: Vec<(&'static str, &'static str)>,
    may_license: bool,
    may_remove: bool,
    notice: Option<String>,
    error: Option<String>,
}

fn list_path(caller: &ConsoleCaller) -> String {
    format!("/console/accounts/{}/users", caller.account().0)
}

/// A license's value and how people read it.
fn license_label(license: License) -> (&'static str, &'static str) {
    match license {
        License::Developer => ("developer", "Developer"),
        License::ReadOnly => ("read_only", "Read-only"),
        License::It => ("it", "IT"),
    }
}

/// GET the page.
pub async fn list(
    State(state): State<AppState>,
    caller: ConsoleCaller,
    Told { notice, error }: Told,
) -> Response {
    let store = state.verifier.store();
    let found = async {
        Ok::<_, latchkey_store::StoreError>((
            store.members(caller.account()).await?,
            store.groups(caller.account()).await?,
        ))
    }
    .await;
    let (members, groups) = match found {
        Ok(found) => found,
        Err(e) => return pages::unavailable(e),
    };
    let names: HashMap<_, _> = groups.iter().map(|g| (g.id, g.name.clone())).collect();
    let rows: Vec<MemberRow> = members
        .iter()
        .map(|m| MemberRow {
            id: m.user_id.0,
            email: m.email.clone(),
            license: license_label(m.license).1,
            groups: m
                .groups
                .iter()
                .filter_map(|g| names.get(g).cloned())
                .collect::<Vec<_>>()
                .join(", "),
            joined: when(m.created_at),
            active: m.state == RowState::Active,
            me: m.user_id == caller.user.user_id,
        })
        .collect();
    render(
        StatusCode::OK,
        &UsersPage {
            frame: Frame::new(&caller, "Users", &list_path(&caller)),
            members: rows,
            licenses: License::ALL.iter().map(|l| license_label(*l)).collect(),
            may_license: caller.holds(p::LICENSES_WRITE),
            may_remove: caller.holds(p::MEMBERS_WRITE),
            notice,
            error,
        },
    )
}

/// Back to the list after a change ([`pages::after_change`]).
fn outcome(caller: &ConsoleCaller, done: Result<String, ApiError>) -> Response {
    pages::after_change(&list_path(caller), &caller.csrf, done)
}

/// The member named by the path, in the caller's account: their id and e-mail.
async fn member(
    state: &AppState,
    caller: &ConsoleCaller,
    path: Result<Path<(i64, i64)>, PathRejection>,
) -> Result<(UserId, String), ApiError> {
    let Ok(Path((_, id))) = path else {
        return Err(ApiError::NotFound);
    };
    state
        .verifier
        .store()
        .member(caller.account(), UserId(id))
        .await?
        .filter(|m| m.state == RowState::Active)
        .map(|m| (m.user_id, m.email))
        .ok_or(ApiError::NotFound)
}

/// POST a member's new license.
pub async fn set_license(
    State(state): State<AppState>,
    path: Result<Path<(i64, i64)>, PathRejection>,
    form: ConsoleForm,
) -> Response {
    let caller = &form.caller;
    let done = async {
        let (user, email) = member(&state, caller, path).await?;
        let license: License = form
            .get("license")
            .parse()
            .map_err(|e: latchkey_core::Error| ApiError::field("license", e.to_string()))?;
        state
            .verifier
            .store()
            .set_membership(
                &caller.actor(),
                Authority::Holder(&caller.user.permissions),
                caller.account(),
                user,
                license,
            )
            .await?;
        Ok(format!("Changed the license of {email}."))
    }
    .await;
    outcome(caller, done)
}

/// GET the removal's confirmation.
pub async fn remove_form(
    State(state): State<AppState>,
    caller: ConsoleCaller,
    path: Result<Path<(i64, i64)>, PathRejection>,
) -> Response {
    let (user, email) = match member(&state, &caller, path).await {
        Ok(found) => found,
        Err(e) => return outcome(&caller, Err(e)),
    };
    render(
        StatusCode::OK,
        &crate::console::service_tokens::DeletePage {
            frame: Frame::new(&caller, "Remove a member", &list_path(&caller)),
            verb: "Remove",
            name: email,
            consequence: "They lose their seat and their groups in this account, and their \
                          personal access tokens stop working at once.",
            action: format!("{}/{}/remove", list_path(&caller), user.0),
            back: list_path(&caller),
        },
    )
}

/// POST a member's removal from the account.
pub async fn remove(
    State(state): State<AppState>,
    path: Result<Path<(i64, i64)>, PathRejection>,
    form: ConsoleForm,
) -> Response {
    let caller = &form.caller;
    let done = async {
        let (user, email) = member(&state, caller, path).await?;
        state
            .verifier
            .store()
            .remove_membership(
                &caller.actor(),
                Authority::Holder(&caller.user.permissions),
                caller.account(),
                user,
            )
            .await?;
        Ok(format!("Removed {email} from the account."))
    }
    .await;
    outcome(caller, done)
}
