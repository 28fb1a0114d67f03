//! What the service-token pages show: a token as a row of the table (its grants in words, who
//! made it, its last use and from where, its state and whether it is due for rotation), and the
//! permission sets a person may put on a new token.

use latchkey_core::{
    catalog, check_may_mint_service_token, EnvCategories, EnvCategory, Grant, Minter,
    PermissionSet, Plan, ProjectId, Scope,
};
use latchkey_store::{AuditEntry, Project, ServiceToken, State};
use std::collections::HashMap;
use time::OffsetDateTime;

/// One grant in words.
pub struct GrantText {
    /// The set's label (`Job Admin`).
    pub set: String,
    /// `All projects`, or the project's name.
    pub scope: String,
    /// The environment categories it may write to, for the sets that have them.
    pub envs: Option<String>,
}

/// One token as a row of the table.
pub struct TokenRow {
    /// Its id.
    pub id: i64,
    /// Its name.
    pub name: String,
    /// Its grants.
    pub grants: Vec<GrantText>,
    /// When it was made.
    pub created: String,
    /// Who made it, when the audit log says.
    pub created_by: String,
    /// When it was last used.
    pub last_used: String,
    /// From where.
    pub last_used_from: String,
    /// When it stops working.
    pub expires: String,
    /// `Active`, `Rotated out at …`, `Expired` or `Deleted`.
    pub state: String,
    /// It still works.
    pub active: bool,
    /// Made before the legacy cutoff: show "rotate me".
    pub rotate_me: bool,
    /// The hint of its secret (`prefix_uid…last4`).
    pub hint: String,
}

/// `2026-12-02 14:05 UTC`.
pub fn when(t: OffsetDateTime) -> String {
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02} UTC",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute()
    )
}

/// A grant in words, with project names from `projects`.
pub fn grant_text(grant: &Grant, projects: &HashMap<i64, String>) -> GrantText {
    let scope = match grant.scope {
        Scope::AllProjects => "All projects".to_owned(),
        Scope::Project(ProjectId(id)) => projects.get(&id).map_or_else(
            || format!("Project {id}"),
            |name| format!("{name} (project {id})"),
        ),
    };
    let envs = grant.set.honours_env_categories().then(|| {
        let names: Vec<&str> = EnvCategory::ALL
            .iter()
            .filter(|c| grant.writable_envs.contains(**c))
            .map(|c| c.as_str())
            .collect();
        if names.is_empty() {
            "read-only in every environment".to_owned()
        } else {
            format!("writes to {}", names.join(", "))
        }
    });
    GrantText {
        set: grant.set.label().to_owned(),
        scope,
        envs,
    }
}

/// The rows of `tokens`, with who made each from the account's `created` audit entries.
pub fn token_rows(
    tokens: &[ServiceToken],
    projects: &[Project],
    created: &[AuditEntry],
    legacy_cutoff: OffsetDateTime,
    now: OffsetDateTime,
) -> Vec<TokenRow> {
    let names: HashMap<i64, String> = projects.iter().map(|p| (p.id.0, p.name.clone())).collect();
    let makers: HashMap<i64, &str> = created
        .iter()
        .filter_map(|e| Some((e.target_id?, e.actor_name.as_str())))
        .collect();
    tokens
        .iter()
        .map(|t| {
            let expired = t.expires_at.is_some_and(|e| e <= now);
            let rotated_out = t.revoke_at.is_some_and(|r| r <= now);
            let active = t.state == State::Active && !expired && !rotated_out;
            let state = if t.state != State::Active {
                "Deleted".to_owned()
            } else if expired {
                "Expired".to_owned()
            } else if rotated_out {
                "Rotated out".to_owned()
            } else if let Some(at) = t.revoke_at {
                format!("Active until {} (rotated)", when(at))
            } else {
                "Active".to_owned()
            };
            TokenRow {
                id: t.id.0,
                name: t.name.clone(),
                grants: t
                    .grants
                    .iter()
                    .map(|g| grant_text(&g.grant, &names))
                    .collect(),
                created: when(t.created_at),
                created_by: makers.get(&t.id.0).copied().unwrap_or("—").to_owned(),
                last_used: t.last_used_at.map_or_else(|| "Never".to_owned(), when),
                last_used_from: t.last_used_ip.clone().unwrap_or_default(),
                expires: t.expires_at.map_or_else(|| "Never".to_owned(), when),
                state,
                active,
                rotate_me: active && t.created_at < legacy_cutoff,
                hint: t.hint.clone(),
            }
        })
        .collect()
}

/// A permission set a person may put on a new token.
pub struct SetOption {
    /// Its slug (the form's value).
    pub slug: String,
    /// Its label.
    pub label: String,
    /// It has environment categories.
    pub envs: bool,
}

/// The sets `minter` may put on a new token on `plan`: the plan offers them, they are not
/// user-only, and the minter holds what they give on all projects or on one of `projects`.
pub fn grantable_sets(minter: Minter<'_>, plan: Plan, projects: &[Project]) -> Vec<SetOption> {
    let may = |set: PermissionSet, scope: Scope| {
        let mut grant = Grant::new(set, scope);
        if set.honours_env_categories() {
            grant = grant.with_writable_envs(EnvCategories::ALL);
        }
        let plain = Grant::new(set, scope);
        check_may_mint_service_token(minter, plan, &[grant]).is_ok()
            || check_may_mint_service_token(minter, plan, &[plain]).is_ok()
    };
    catalog()
        .plan_sets(plan)
        .filter(|s| !s.is_user_only())
        .filter(|s| {
            may(*s, Scope::AllProjects)
                || projects
                    .iter()
                    .any(|p| p.state == State::Active && may(*s, Scope::Project(p.id)))
        })
        .map(|s| SetOption {
            slug: s.slug().to_owned(),
            label: s.label().to_owned(),
            envs: s.honours_env_categories(),
        })
        .collect()
}
