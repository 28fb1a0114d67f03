//! Account settings → IP restrictions (Enterprise): the account's allow and deny rules, adding
//! and deleting them, and switching enforcement on and off. The store refuses any change that
//! would shut out the address the person is using now (the lockout guard), and the page says so
//! beside the address it sees.

use crate::console::caller::ConsoleCaller;
use crate::console::form::ConsoleForm;
use crate::console::frame::Frame;
use crate::console::pages::{self, render};
use crate::console::service_tokens::DeletePage;
use crate::console::told::Told;
use crate::error::ApiError;
use crate::routes::ip_restrictions::parse_cidrs;
use crate::state::AppState;
use askama::Template;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use latchkey_core::permissions as p;
use latchkey_core::RuleType;
use latchkey_store::{IpRule, IpRuleInput, State as RowState};

/// One rule.
pub struct RuleRow {
    id: i64,
    name: String,
    allow: bool,
    ranges: String,
    description: String,
}

/// The page.
#[derive(Template)]
#[template(path = "console/ip_restrictions.html")]
pub struct RulesPage {
    frame: Frame,
    enabled: bool,
    your_address: String,
    rules: Vec<RuleRow>,
    may_write: bool,
    name: String,
    ranges: String,
    description: String,
    form_error: Option<String>,
    error: Option<String>,
    notice: Option<String>,
}

fn list_path(caller: &ConsoleCaller) -> String {
    format!("/console/accounts/{}/ip-restrictions", caller.account().0)
}

fn row(rule: &IpRule) -> RuleRow {
    RuleRow {
        id: rule.id,
        name: rule.name.clone(),
        allow: rule.rule_type == RuleType::Allow,
        ranges: rule
            .cidrs
            .iter()
            .map(|c| c.cidr.to_string())
            .collect::<Vec<_>>()
            .join(", "),
        description: rule.description.clone(),
    }
}

async fn page(
    state: &AppState,
    caller: &ConsoleCaller,
    status: StatusCode,
    edit: impl FnOnce(&mut RulesPage),
) -> Response {
    let restrictions = match state
        .verifier
        .store()
        .ip_restrictions(caller.account())
        .await
    {
        Ok(found) => found,
        Err(e) => return pages::unavailable(e),
    };
    let mut page = RulesPage {
        frame: Frame::new(caller, "IP restrictions", &list_path(caller)),
        enabled: restrictions.enabled,
        your_address: caller
            .user
            .ip
            .map_or_else(|| "unknown".to_owned(), |ip| ip.to_string()),
        rules: restrictions
            .rules
            .iter()
            .filter(|r| r.state == RowState::Active)
            .map(row)
            .collect(),
        may_write: caller.holds(p::IP_RESTRICTIONS_WRITE),
        name: String::new(),
        ranges: String::new(),
        description: String::new(),
        form_error: None,
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
fn back(caller: &ConsoleCaller, done: Result<&str, ApiError>) -> Response {
    pages::after_change(&list_path(caller), &caller.csrf, done.map(str::to_owned))
}

/// POST a new rule; the page again with the reason beside the form when it is refused.
pub async fn create(State(state): State<AppState>, form: ConsoleForm) -> Response {
    let caller = form.caller.clone();
    let name = form.get("name").to_owned();
    let description = form.get("description").to_owned();
    let lines: Vec<String> = form
        .get("ranges")
        .split([',', '\n'])
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect();
    let rule_type = if form.get("type") == "deny" {
        RuleType::Deny
    } else {
        RuleType::Allow
    };
    let made = async {
        if name.is_empty() {
            return Err(ApiError::field("name", "Give the rule a name."));
        }
        if lines.is_empty() {
            return Err(ApiError::field("cidrs", "Give at least one address range."));
        }
        let cidrs = parse_cidrs("cidrs", &lines)?;
        state
            .verifier
            .store()
            .create_ip_rule(
                &caller.actor(),
                caller.account(),
                &IpRuleInput {
                    name: &name,
                    description: &description,
                    rule_type,
                    cidrs: &cidrs,
                },
                None,
            )
            .await?;
        Ok(())
    }
    .await;
    match made {
        Ok(()) => back(&caller, Ok("Rule added.")),
        Err(e @ (ApiError::Unavailable(_) | ApiError::Internal(_))) => back(&caller, Err(e)),
        Err(e) => {
            let why = e.to_string();
            page(&state, &caller, StatusCode::UNPROCESSABLE_ENTITY, |p| {
                p.name = name.chars().take(255).collect();
                p.ranges = lines.join("\n");
                p.description = description.chars().take(1000).collect();
                p.form_error = Some(why);
            })
            .await
        }
    }
}

/// POST enforcement on (`enabled=1`) or off.
pub async fn enforce(State(state): State<AppState>, form: ConsoleForm) -> Response {
    let caller = &form.caller;
    let on = form.get("enabled") == "1";
    let done = state
        .verifier
        .store()
        .set_ip_restrictions_enabled(&caller.actor(), caller.account(), on)
        .await
        .map_err(ApiError::from)
        .map(|_| {
            if on {
                "Enforcement is on."
            } else {
                "Enforcement is off."
            }
        });
    back(caller, done)
}

/// The active rule named by the path.
async fn rule(
    state: &AppState,
    caller: &ConsoleCaller,
    path: Result<Path<(i64, i64)>, PathRejection>,
) -> Result<IpRule, ApiError> {
    let Ok(Path((_, id))) = path else {
        return Err(ApiError::NotFound);
    };
    state
        .verifier
        .store()
        .ip_rule(caller.account(), id)
        .await?
        .filter(|r| r.state == RowState::Active)
        .ok_or(ApiError::NotFound)
}

/// GET the deletion's confirmation.
pub async fn delete_form(
    State(state): State<AppState>,
    caller: ConsoleCaller,
    path: Result<Path<(i64, i64)>, PathRejection>,
) -> Response {
    match rule(&state, &caller, path).await {
        Ok(rule) => render(
            StatusCode::OK,
            &DeletePage {
                frame: Frame::new(&caller, "Delete an IP rule", &list_path(&caller)),
                verb: "Delete the rule",
                name: rule.name,
                consequence: "The account's addresses are judged without it from now on, on \
                              every node (refused if that would shut out your own address).",
                action: format!("{}/{}/delete", list_path(&caller), rule.id),
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
        let found = rule(&state, caller, path).await?;
        state
            .verifier
            .store()
            .delete_ip_rule(&caller.actor(), caller.account(), found.id)
            .await?;
        Ok("Rule deleted.")
    }
    .await;
    back(caller, done)
}
