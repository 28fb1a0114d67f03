//! Account settings → Invitations: who has been offered a seat, with which license and groups,
//! and what became of it; inviting someone (the code goes where the operator chose: shown here
//! once, or sent by the operator's program), and withdrawing an invitation.

use crate::console::caller::ConsoleCaller;
use crate::console::form::ConsoleForm;
use crate::console::frame::Frame;
use crate::console::pages::{self, render, see_other, Refusal};
use crate::console::service_tokens::{already_sent_to, spend, DeletePage};
use crate::console::session::random_hex;
use crate::console::token_views::when;
use crate::error::ApiError;
use crate::routes::invites::MAX_DAYS;
use crate::state::AppState;
use askama::Template;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use latchkey_core::permissions as p;
use latchkey_core::{Authority, GroupId, License};
use latchkey_store::{Invite, State as RowState};
use std::collections::HashMap;
use time::OffsetDateTime;

/// One invitation.
pub struct InviteRow {
    id: i64,
    email: String,
    license: &'static str,
    groups: String,
    status: &'static str,
    pending: bool,
    expires: String,
}

/// The page.
#[derive(Template)]
#[template(path = "console/invites.html")]
pub struct InvitesPage {
    frame: Frame,
    invites: Vec<InviteRow>,
    may_invite: bool,
    nonce: String,
    groups: Vec<(i64, String)>,
    email: String,
    error: Option<String>,
    notice: Option<String>,
}

/// The code, once.
#[derive(Template)]
#[template(path = "console/invite_code.html")]
pub struct CodePage {
    frame: Frame,
    email: String,
    code: String,
    back: String,
}

/// `?withdrawn=ID&sent=ID`.
#[derive(serde::Deserialize, Default)]
pub struct Outcome {
    withdrawn: Option<i64>,
    sent: Option<i64>,
}

fn list_path(caller: &ConsoleCaller) -> String {
    format!("/console/accounts/{}/invitations", caller.account().0)
}

fn license_text(license: License) -> &'static str {
    match license {
        License::Developer => "Developer",
        License::ReadOnly => "Read-only",
        License::It => "IT",
    }
}

fn row(invite: &Invite, names: &HashMap<GroupId, String>, now: OffsetDateTime) -> InviteRow {
    let (status, pending) = if invite.redeemed_at.is_some() {
        ("Accepted", false)
    } else if invite.state != RowState::Active {
        ("Withdrawn", false)
    } else if invite.expires_at <= now {
        ("Expired", false)
    } else {
        ("Pending", true)
    };
    InviteRow {
        id: invite.id,
        email: invite.email.clone(),
        license: license_text(invite.license),
        groups: invite
            .groups
            .iter()
            .filter_map(|g| names.get(g).cloned())
            .collect::<Vec<_>>()
            .join(", "),
        status,
        pending,
        expires: when(invite.expires_at),
    }
}

async fn page(
    state: &AppState,
    caller: &ConsoleCaller,
    status: StatusCode,
    edit: impl FnOnce(&mut InvitesPage),
) -> Response {
    let store = state.verifier.store();
    let found = async {
        Ok::<_, latchkey_store::StoreError>((
            store.invites(caller.account()).await?,
            store.groups(caller.account()).await?,
        ))
    }
    .await;
    let (invites, groups) = match found {
        Ok(found) => found,
        Err(e) => return pages::unavailable(e),
    };
    let names: HashMap<GroupId, String> = groups.iter().map(|g| (g.id, g.name.clone())).collect();
    let now = OffsetDateTime::now_utc();
    let mut page = InvitesPage {
        frame: Frame::new(caller, "Invitations", &list_path(caller)),
        invites: invites.iter().map(|i| row(i, &names, now)).collect(),
        may_invite: caller.holds(p::INVITATIONS_WRITE),
        nonce: random_hex(),
        groups: groups
            .iter()
            .filter(|g| g.state == RowState::Active)
            .map(|g| (g.id.0, g.name.clone()))
            .collect(),
        email: String::new(),
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
    outcome: Result<Query<Outcome>, QueryRejection>,
) -> Response {
    let Query(outcome) = outcome.unwrap_or_default();
    page(&state, &caller, StatusCode::OK, |p| {
        let named = |id: Option<i64>| {
            id.and_then(|id| p.invites.iter().find(|i| i.id == id))
                .map(|i| i.email.clone())
        };
        p.notice = named(outcome.withdrawn)
            .map(|e| format!("Withdrew the invitation of {e}; its code no longer works."))
            .or_else(|| named(outcome.sent).map(|e| format!("Sent an invitation to {e}.")));
    })
    .await
}

/// POST an invitation: its code once (when the inviter delivers codes), or back to the list.
pub async fn create(State(state): State<AppState>, form: ConsoleForm) -> Response {
    let caller = form.caller.clone();
    let email = form.get("email").to_owned();
    let again = |why: String| {
        let shown: String = email.chars().take(254).collect();
        let state = state.clone();
        let caller = caller.clone();
        async move {
            page(&state, &caller, StatusCode::UNPROCESSABLE_ENTITY, |p| {
                p.email = shown;
                p.error = Some(why);
            })
            .await
        }
    };
    let Ok(license) = form.get("license").parse::<License>() else {
        return again("Choose a license.".into()).await;
    };
    let groups: Option<Vec<GroupId>> = form
        .all("groups")
        .map(|g| g.parse::<i64>().ok().map(GroupId))
        .collect();
    let Some(groups) = groups.filter(|g| g.len() <= 100) else {
        return again("Choose groups from the list.".into()).await;
    };
    let days = form
        .get("days")
        .parse::<i64>()
        .ok()
        .filter(|d| (1..=MAX_DAYS).contains(d));
    let Some(days) = days else {
        return again(format!(
            "Choose how long the invitation lasts (1 to {MAX_DAYS} days)."
        ))
        .await;
    };
    match spend(&state, &form).await {
        Ok(true) => {}
        Ok(false) => return already_sent_to(list_path(&caller)),
        Err(answer) => return answer,
    }
    let sent = crate::invite_delivery::send(
        &state,
        &caller.actor(),
        Authority::Holder(&caller.user.permissions),
        caller.account(),
        &email,
        license,
        &groups,
        days,
    )
    .await;
    match sent {
        Ok((invite, Some(code))) => render(
            StatusCode::OK,
            &CodePage {
                frame: Frame::new(&caller, "Send the invitation code", &list_path(&caller)),
                email: invite.email,
                code: code.expose().to_owned(),
                back: list_path(&caller),
            },
        ),
        Ok((invite, None)) => see_other(&format!("{}?sent={}", list_path(&caller), invite.id)),
        Err(e @ ApiError::Internal(_)) => pages::unavailable(e),
        Err(e) => again(e.to_string()).await,
    }
}

/// The pending invitation named by the path.
async fn pending(
    state: &AppState,
    caller: &ConsoleCaller,
    path: Result<Path<(i64, i64)>, PathRejection>,
) -> Result<Invite, Response> {
    let Ok(Path((_, id))) = path else {
        return Err(pages::refusal(Refusal::NotFound));
    };
    match state.verifier.store().invites(caller.account()).await {
        Ok(invites) => invites
            .into_iter()
            .find(|i| i.id == id && i.state == RowState::Active && i.redeemed_at.is_none())
            .ok_or_else(|| pages::refusal(Refusal::NotFound)),
        Err(e) => Err(pages::unavailable(e)),
    }
}

/// GET the withdrawal's confirmation.
pub async fn withdraw_form(
    State(state): State<AppState>,
    caller: ConsoleCaller,
    path: Result<Path<(i64, i64)>, PathRejection>,
) -> Response {
    match pending(&state, &caller, path).await {
        Ok(invite) => render(
            StatusCode::OK,
            &DeletePage {
                frame: Frame::new(&caller, "Withdraw an invitation", &list_path(&caller)),
                verb: "Withdraw the invitation of",
                name: invite.email,
                consequence: "Its code stops working at once.",
                action: format!("{}/{}/withdraw", list_path(&caller), invite.id),
                back: list_path(&caller),
            },
        ),
        Err(answer) => answer,
    }
}

/// POST the withdrawal.
pub async fn withdraw(
    State(state): State<AppState>,
    path: Result<Path<(i64, i64)>, PathRejection>,
    form: ConsoleForm,
) -> Response {
    let caller = form.caller.clone();
    let invite = match pending(&state, &caller, path).await {
        Ok(invite) => invite,
        Err(answer) => return answer,
    };
    let done = state
        .verifier
        .store()
        .withdraw_invite(
            &caller.actor(),
            Authority::Holder(&caller.user.permissions),
            caller.account(),
            invite.id,
        )
        .await;
    match done.map_err(ApiError::from) {
        Ok(_) => see_other(&format!("{}?withdrawn={}", list_path(&caller), invite.id)),
        Err(e) => pages::api_refusal(e),
    }
}
