//! Wire shapes shared by the API and the CLI's `--json`: dbt Cloud's field names and timestamp
//! format (`YYYY-MM-DD HH:MM:SS.ffffff+00:00`).

use latchkey_core::{Scope, Secret};
use latchkey_store::{Account, AuditEntry, Project, ServiceToken, StoredGrant};
use serde_json::{json, Value};
use time::OffsetDateTime;

/// dbt Cloud's timestamp format.
pub fn timestamp(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}.{:06}+00:00",
        t.year(),
        t.month() as u8,
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.microsecond()
    )
}

fn opt_timestamp(t: Option<OffsetDateTime>) -> Value {
    t.map_or(Value::Null, |t| Value::String(timestamp(t)))
}

/// A grant as dbt Cloud's `ServiceTokenPermission`.
pub fn grant(g: &StoredGrant, token: &ServiceToken) -> Value {
    let (all_projects, project_id) = match g.grant.scope {
        Scope::AllProjects => (true, Value::Null),
        Scope::Project(p) => (false, json!(p.0)),
    };
    json!({
        "id": g.id,
        "account_id": token.account_id.0,
        "service_token_id": token.id.0,
        "permission_set": g.grant.set.slug(),
        "all_projects": all_projects,
        "project_id": project_id,
        "writable_environment_categories": g.grant.writable_envs.names(),
        "state": 1,
        "created_at": timestamp(g.created_at),
    })
}

/// A service token as dbt Cloud's `ServiceToken`; `token_string` is the secret on creation only,
/// and `needs_rotation` flags tokens created before the deployment's legacy cutoff.
pub fn service_token(
    t: &ServiceToken,
    secret: Option<&Secret>,
    legacy_cutoff: OffsetDateTime,
) -> Value {
    json!({
        "id": t.id.0,
        "account_id": t.account_id.0,
        "uid": t.uid,
        "name": t.name,
        "state": t.state as i64,
        "token_string": secret.map(|s| s.expose()),
        "hint": t.hint,
        "created_at": timestamp(t.created_at),
        "updated_at": timestamp(t.updated_at),
        "expires_at": opt_timestamp(t.expires_at),
        "last_used": opt_timestamp(t.last_used_at),
        "revoke_at": opt_timestamp(t.revoke_at),
        "needs_rotation": t.created_at < legacy_cutoff,
        "rotated_from_id": t.rotated_from.map(|id| id.0),
        "allowed_cidrs": t.allowed_cidrs.iter().map(|c| c.to_string()).collect::<Vec<_>>(),
        "permission_grants": t.grants.iter().map(|g| grant(g, t)).collect::<Vec<_>>(),
    })
}

/// A project.
pub fn project(p: &Project) -> Value {
    json!({
        "id": p.id.0,
        "account_id": p.account_id.0,
        "name": p.name,
        "state": p.state as i64,
        "created_at": timestamp(p.created_at),
    })
}

/// An account.
pub fn account(a: &Account) -> Value {
    json!({
        "id": a.id.0,
        "name": a.name,
        "plan": a.plan.as_str(),
        "state": a.state as i64,
        "created_at": timestamp(a.created_at),
    })
}

/// An audit-log entry, with dbt Cloud's field names.
pub fn audit_entry(e: &AuditEntry) -> Value {
    json!({
        "id": e.id,
        "account_id": e.account_id.map(|a| a.0),
        "actor": e.actor_name,
        "actor_id": e.actor_id,
        "actor_ip": e.actor_ip,
        "actor_type": e.actor_type,
        "event_type": e.event_type,
        "event_context": e.event_context,
        "target_type": e.target_type,
        "target_id": e.target_id,
        "source": e.source,
        "created_at": timestamp(e.created_at),
    })
}

/// An IP rule as dbt Cloud's `IpRestrictionRule`, with its ranges as `IpRestrictionCidr`s.
pub fn ip_rule(r: &latchkey_store::IpRule, rule_set_enabled: bool) -> Value {
    let cidrs: Vec<Value> = r
        .cidrs
        .iter()
        .map(|c| {
            let text = c.cidr.to_string();
            let (v4, v6) = if c.cidr.is_v6() {
                (Value::Null, Value::String(text))
            } else {
                (Value::String(text), Value::Null)
            };
            json!({
                "id": c.id,
                "ip_restriction_rule_id": r.id,
                "cidr": v4,
                "cidr_ipv6": v6,
                "state": r.state as i64,
                "enabled": true,
                "created_at": timestamp(c.created_at),
                "updated_at": timestamp(c.updated_at),
            })
        })
        .collect();
    json!({
        "id": r.id,
        "ip_restriction_rule_set_id": r.account_id.0,
        "account_id": r.account_id.0,
        "name": r.name,
        "type": r.rule_type.code(),
        "description": r.description,
        "cidrs": cidrs,
        "rule_set_enabled": rule_set_enabled,
        "enabled_for_service_tokens": true,
        "state": r.state as i64,
        "created_by_id": r.created_by_id,
        "created_at": timestamp(r.created_at),
        "updated_at": timestamp(r.updated_at),
    })
}

/// The account's rule set: the switch and the number of active rules.
pub fn ip_rule_set(
    account: latchkey_core::AccountId,
    set: &latchkey_store::IpRestrictions,
) -> Value {
    json!({
        "id": account.0,
        "account_id": account.0,
        "enabled": set.enabled,
        "rule_count": set.rules.len(),
    })
}

/// A personal access token; `token_string` is the secret on creation only.
pub fn personal_token(t: &latchkey_store::PersonalToken, secret: Option<&Secret>) -> Value {
    json!({
        "id": t.id.0,
        "account_id": t.account_id.0,
        "user_id": t.user_id.0,
        "uid": t.uid,
        "name": t.name,
        "state": t.state as i64,
        "token_string": secret.map(|s| s.expose()),
        "hint": t.hint,
        "created_at": timestamp(t.created_at),
        "updated_at": timestamp(t.updated_at),
        "expires_at": opt_timestamp(t.expires_at),
        "last_used": opt_timestamp(t.last_used_at),
    })
}

/// A group as dbt Cloud's `Group`, with its `group_permissions` and member ids.
pub fn group(g: &latchkey_store::Group) -> Value {
    let permissions: Vec<Value> = g
        .grants
        .iter()
        .map(|s| {
            let (all_projects, project_id) = match s.grant.scope {
                Scope::AllProjects => (true, Value::Null),
                Scope::Project(p) => (false, json!(p.0)),
            };
            json!({
                "id": s.id,
                "account_id": g.account_id.0,
                "group_id": g.id.0,
                "permission_set": s.grant.set.slug(),
                "all_projects": all_projects,
                "project_id": project_id,
                "writable_environment_categories": s.grant.writable_envs.names(),
                "state": 1,
                "created_at": timestamp(s.created_at),
            })
        })
        .collect();
    json!({
        "id": g.id.0,
        "account_id": g.account_id.0,
        "name": g.name,
        "state": g.state as i64,
        "assign_by_default": false,
        "sso_mapping_groups": [],
        "scim_managed": false,
        "group_permissions": permissions,
        "members": g.members.iter().map(|u| u.0).collect::<Vec<_>>(),
        "created_at": timestamp(g.created_at),
        "updated_at": timestamp(g.updated_at),
    })
}

/// A member of an account: the user, their license and their groups there.
pub fn member(m: &latchkey_store::Member) -> Value {
    json!({
        "id": m.user_id.0,
        "email": m.email,
        "state": m.state as i64,
        "license_type": m.license.as_str(),
        "groups": m.groups.iter().map(|g| g.0).collect::<Vec<_>>(),
        "created_at": timestamp(m.created_at),
    })
}

/// An invitation; `code` is the one-time code on creation only.
pub fn invite(i: &latchkey_store::Invite, code: Option<&Secret>) -> Value {
    let status = match (i.state, i.redeemed_at) {
        (latchkey_store::State::Active, _) => "pending",
        (_, Some(_)) => "redeemed",
        _ => "withdrawn",
    };
    json!({
        "id": i.id,
        "account_id": i.account_id.0,
        "email": i.email,
        "license_type": i.license.as_str(),
        "group_ids": i.groups.iter().map(|g| g.0).collect::<Vec<_>>(),
        "state": i.state as i64,
        "status": status,
        "code": code.map(|c| c.expose()),
        "created_at": timestamp(i.created_at),
        "expires_at": timestamp(i.expires_at),
        "redeemed_at": opt_timestamp(i.redeemed_at),
        "redeemed_user_id": i.redeemed_user_id.map(|u| u.0),
    })
}
