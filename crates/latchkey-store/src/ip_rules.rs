//! An account's IP restrictions: named allow/deny rules, the account-wide switch, the checks
//! every change must pass (one range never on both lists; never lock out the caller's own
//! address), and the policy the verifier enforces.

use crate::accounts::read::fetch_account;
use crate::audit::{record, AuditEvent};
use crate::changes::{append, ChangeKind};
use crate::records::{Actor, State};
use crate::{now, Store, StoreError};
use latchkey_core::rule_set::{Changer, NamedRule};
use latchkey_core::{AccountId, Cidr, IpRules, NetworkPolicy, Plan, RuleType};
use serde_json::json;
use sqlx::{AnyConnection, Row};
use std::net::IpAddr;
use time::OffsetDateTime;

/// Most ranges one rule may hold.
pub const MAX_CIDRS_PER_RULE: usize = 100;

/// Most active rules one account may hold.
pub const MAX_RULES_PER_ACCOUNT: i64 = 100;

/// One range of a rule.
#[derive(Clone, Debug)]
pub struct IpRuleCidr {
    /// Id.
    pub id: i64,
    /// The range.
    pub cidr: Cidr,
    /// Created.
    pub created_at: OffsetDateTime,
    /// Last changed.
    pub updated_at: OffsetDateTime,
}

/// A named allow or deny rule.
#[derive(Clone, Debug)]
pub struct IpRule {
    /// Id.
    pub id: i64,
    /// Owning account.
    pub account_id: AccountId,
    /// Name.
    pub name: String,
    /// Free text.
    pub description: String,
    /// Allow (1) or deny (2).
    pub rule_type: RuleType,
    /// Active, or deleted (kept for the record).
    pub state: State,
    /// The token or user that made it.
    pub created_by_id: Option<i64>,
    /// Its ranges.
    pub cidrs: Vec<IpRuleCidr>,
    /// Created.
    pub created_at: OffsetDateTime,
    /// Last changed.
    pub updated_at: OffsetDateTime,
}

/// An account's rule set: the switch and the active rules.
#[derive(Clone, Debug)]
pub struct IpRestrictions {
    /// Whether the rules are enforced.
    pub enabled: bool,
    /// Active rules, oldest first.
    pub rules: Vec<IpRule>,
}

/// What a create or a full update sets on a rule.
#[derive(Clone, Debug)]
pub struct IpRuleInput<'a> {
    /// Name (1–255 characters, no control characters).
    pub name: &'a str,
    /// Description (up to 1000 characters).
    pub description: &'a str,
    /// Allow or deny.
    pub rule_type: RuleType,
    /// 1 to [`MAX_CIDRS_PER_RULE`] distinct ranges.
    pub cidrs: &'a [Cidr],
}

fn check_input(input: &IpRuleInput<'_>) -> Result<(), StoreError> {
    crate::accounts::input::check_name("rule name", input.name)?;
    if input.description.chars().count() > 1000
        || input
            .description
            .chars()
            .any(|c| c.is_control() && c != '\n')
    {
        return Err(StoreError::field(
            "description",
            "description must be at most 1000 characters with no control characters",
        ));
    }
    if input.cidrs.is_empty() || input.cidrs.len() > MAX_CIDRS_PER_RULE {
        return Err(StoreError::field(
            "cidrs",
            format!("a rule needs 1 to {MAX_CIDRS_PER_RULE} ranges"),
        ));
    }
    let mut seen = std::collections::HashSet::new();
    if let Some(dup) = input.cidrs.iter().find(|c| !seen.insert(**c)) {
        return Err(StoreError::field("cidrs", format!("{dup} is listed twice")));
    }
    Ok(())
}

async fn load_rules(
    conn: &mut AnyConnection,
    account_id: AccountId,
    only: Option<i64>,
) -> Result<Vec<IpRule>, StoreError> {
    let rows = sqlx::query(
        "SELECT id, account_id, name, description, rule_type, state, created_by_id, created_at, updated_at
         FROM ip_rules WHERE account_id = $1 AND ($2 IS NULL AND state = 1 OR id = $2) ORDER BY id",
    )
    .bind(account_id.0)
    .bind(only)
    .fetch_all(&mut *conn)
    .await?;
    let mut rules = Vec::with_capacity(rows.len());
    for r in &rows {
        rules.push(IpRule {
            id: r.try_get("id")?,
            account_id,
            name: r.try_get("name")?,
            description: r.try_get("description")?,
            rule_type: RuleType::from_code(r.try_get("rule_type")?)
                .ok_or_else(|| StoreError::Invalid("stored rule type is not 1 or 2".into()))?,
            state: State::from_db(r.try_get("state")?),
            created_by_id: r.try_get("created_by_id")?,
            cidrs: Vec::new(),
            created_at: crate::db_time::time_at(r, "created_at")?,
            updated_at: crate::db_time::time_at(r, "updated_at")?,
        });
    }
    if rules.is_empty() {
        return Ok(rules);
    }
    let cidr_rows = sqlx::query(
        "SELECT c.id, c.ip_rule_id, c.cidr, c.created_at, c.updated_at FROM ip_rule_cidrs c
         JOIN ip_rules r ON r.id = c.ip_rule_id
         WHERE r.account_id = $1 AND ($2 IS NULL AND r.state = 1 OR r.id = $2) ORDER BY c.id",
    )
    .bind(account_id.0)
    .bind(only)
    .fetch_all(&mut *conn)
    .await?;
    for r in &cidr_rows {
        let rule_id: i64 = r.try_get("ip_rule_id")?;
        let text: String = r.try_get("cidr")?;
        let cidr = text
            .parse()
            .map_err(|e: latchkey_core::CidrError| StoreError::Invalid(e.to_string()))?;
        if let Some(rule) = rules.iter_mut().find(|x| x.id == rule_id) {
            rule.cidrs.push(IpRuleCidr {
                id: r.try_get("id")?,
                cidr,
                created_at: crate::db_time::time_at(r, "created_at")?,
                updated_at: crate::db_time::time_at(r, "updated_at")?,
            });
        }
    }
    Ok(rules)
}

/// One rule of the account (any state), or not found.
async fn one_rule(
    conn: &mut AnyConnection,
    account_id: AccountId,
    id: i64,
) -> Result<IpRule, StoreError> {
    load_rules(conn, account_id, Some(id))
        .await?
        .pop()
        .ok_or(StoreError::NotFound("ip restriction rule"))
}

/// The rule if it is active; a deleted rule is not found for changes.
fn active_rule(rule: IpRule) -> Result<IpRule, StoreError> {
    if rule.state == State::Active {
        Ok(rule)
    } else {
        Err(StoreError::NotFound("ip restriction rule"))
    }
}

pub(crate) async fn enabled(
    conn: &mut AnyConnection,
    account_id: AccountId,
) -> Result<bool, StoreError> {
    let on: Option<i64> =
        sqlx::query_scalar("SELECT ip_restrictions_enabled FROM accounts WHERE id = $1")
            .bind(account_id.0)
            .fetch_optional(conn)
            .await?;
    Ok(on.ok_or(StoreError::NotFound("account"))? == 1)
}

fn flatten(rules: &[IpRule]) -> IpRules {
    IpRules::new(
        rules
            .iter()
            .flat_map(|r| r.cidrs.iter().map(move |c| (r.rule_type, c.cidr))),
    )
}

/// The account's rules as the verifier enforces them: `None` while the switch is off.
pub(crate) async fn account_policy(
    conn: &mut AnyConnection,
    account_id: AccountId,
    switch_on: bool,
) -> Result<Option<IpRules>, StoreError> {
    if !switch_on {
        return Ok(None);
    }
    Ok(Some(flatten(&load_rules(conn, account_id, None).await?)))
}

/// A token's own allowlist from its stored column (space-separated ranges).
pub(crate) fn parse_allowlist(text: &str) -> Result<Vec<Cidr>, StoreError> {
    text.split_whitespace()
        .map(|c| {
            c.parse()
                .map_err(|e: latchkey_core::CidrError| StoreError::Invalid(e.to_string()))
        })
        .collect()
}

/// The stored form of a token's allowlist.
pub(crate) fn format_allowlist(cidrs: &[Cidr]) -> Result<String, StoreError> {
    if cidrs.len() > MAX_CIDRS_PER_RULE {
        return Err(StoreError::field(
            "allowed_cidrs",
            format!("allowed_cidrs holds at most {MAX_CIDRS_PER_RULE} ranges"),
        ));
    }
    Ok(cidrs
        .iter()
        .map(Cidr::to_string)
        .collect::<Vec<_>>()
        .join(" "))
}

/// A verifier's policy from the account's switch and rules and a token's allowlist.
pub(crate) async fn network_policy(
    conn: &mut AnyConnection,
    account_id: AccountId,
    switch_on: bool,
    allowlist: &str,
) -> Result<NetworkPolicy, StoreError> {
    let token = parse_allowlist(allowlist)?;
    Ok(NetworkPolicy {
        account: account_policy(conn, account_id, switch_on).await?,
        token: (!token.is_empty()).then(|| token.into_boxed_slice()),
    })
}

/// The end of every change to one rule, inside its transaction: the audit entry, the rule-set
/// checks (which refuse a change that shuts the caller out, rolling it back), and the change-feed
/// entry that makes every node reload the account's policy.
async fn rule_changed(
    conn: &mut AnyConnection,
    actor: &Actor,
    account_id: AccountId,
    event: &str,
    id: i64,
    context: serde_json::Value,
    at: OffsetDateTime,
) -> Result<(), StoreError> {
    record(
        conn,
        actor,
        AuditEvent {
            account_id: Some(account_id),
            event_type: event,
            target_type: "ip_restriction_rule",
            target_id: Some(id),
            context,
            at,
        },
    )
    .await?;
    check_rule_set(conn, actor, account_id).await?;
    append(conn, account_id, ChangeKind::Account).await?;
    Ok(())
}

/// The rule-set checks of `latchkey_core::rule_set`, on the rules as the change leaves them,
/// inside its transaction.
async fn check_rule_set(
    conn: &mut AnyConnection,
    actor: &Actor,
    account_id: AccountId,
) -> Result<(), StoreError> {
    let rules = load_rules(conn, account_id, None).await?;
    let cidrs: Vec<Vec<Cidr>> = rules
        .iter()
        .map(|r| r.cidrs.iter().map(|c| c.cidr).collect())
        .collect();
    let named: Vec<NamedRule<'_>> = rules
        .iter()
        .zip(&cidrs)
        .map(|(r, cidrs)| NamedRule {
            name: &r.name,
            rule_type: r.rule_type,
            cidrs,
        })
        .collect();
    let changer = if actor.kind == crate::records::ActorKind::Operator {
        Changer::Operator
    } else {
        Changer::Caller(actor.ip.as_deref().and_then(|ip| ip.parse::<IpAddr>().ok()))
    };
    latchkey_core::rule_set::check_rule_set(&named, enabled(conn, account_id).await?, changer)
        .map_err(|e| StoreError::Conflict(e.to_string()))
}

fn rule_json(rule: &IpRule) -> serde_json::Value {
    json!({
        "name": rule.name,
        "type": rule.rule_type.code(),
        "description": rule.description,
        "cidrs": rule.cidrs.iter().map(|c| c.cidr.to_string()).collect::<Vec<_>>(),
    })
}

async fn insert_cidrs(
    conn: &mut AnyConnection,
    rule_id: i64,
    cidrs: &[Cidr],
    at: OffsetDateTime,
) -> Result<(), StoreError> {
    for c in cidrs {
        sqlx::query(
            "INSERT INTO ip_rule_cidrs (ip_rule_id, cidr, created_at, updated_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(rule_id)
        .bind(c.to_string())
        .bind(crate::db_time::db_time(at))
        .bind(crate::db_time::db_time(at))
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Turns the switch on or off (audited as `ip_restrictions.toggled` when it moves).
async fn set_switch(
    conn: &mut AnyConnection,
    actor: &Actor,
    account_id: AccountId,
    on: bool,
) -> Result<(), StoreError> {
    if enabled(conn, account_id).await? == on {
        return Ok(());
    }
    let plan = fetch_account(conn, account_id)
        .await?
        .ok_or(StoreError::NotFound("account"))?
        .plan;
    if on && plan != Plan::Enterprise {
        return Err(StoreError::Conflict(
            "IP restrictions need the Enterprise plan".into(),
        ));
    }
    let at = now();
    sqlx::query("UPDATE accounts SET ip_restrictions_enabled = $1, updated_at = $2 WHERE id = $3")
        .bind(i64::from(on))
        .bind(crate::db_time::db_time(at))
        .bind(account_id.0)
        .execute(&mut *conn)
        .await?;
    record(
        conn,
        actor,
        AuditEvent {
            account_id: Some(account_id),
            event_type: "ip_restrictions.toggled",
            target_type: "account",
            target_id: Some(account_id.0),
            context: json!({"enabled": on}),
            at,
        },
    )
    .await
}

impl Store {
    /// The account's switch and active rules.
    pub async fn ip_restrictions(
        &self,
        account_id: AccountId,
    ) -> Result<IpRestrictions, StoreError> {
        let mut conn = self.pool.acquire().await?;
        Ok(IpRestrictions {
            enabled: enabled(&mut conn, account_id).await?,
            rules: load_rules(&mut conn, account_id, None).await?,
        })
    }

    /// Whether the account's rule set is switched on.
    pub async fn ip_restrictions_enabled(&self, account_id: AccountId) -> Result<bool, StoreError> {
        let mut conn = self.pool.acquire().await?;
        enabled(&mut conn, account_id).await
    }

    /// One rule of the account (also when deleted).
    pub async fn ip_rule(
        &self,
        account_id: AccountId,
        id: i64,
    ) -> Result<Option<IpRule>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        Ok(load_rules(&mut conn, account_id, Some(id)).await?.pop())
    }

    /// Adds a rule, optionally moving the switch in the same transaction. Refused when a range
    /// would be on both lists, or the switch is on and the caller's address would be shut out.
    pub async fn create_ip_rule(
        &self,
        actor: &Actor,
        account_id: AccountId,
        input: &IpRuleInput<'_>,
        switch: Option<bool>,
    ) -> Result<IpRule, StoreError> {
        check_input(input)?;
        let mut tx = self.write().await?;
        let account = fetch_account(&mut tx, account_id)
            .await?
            .filter(|a| a.state == State::Active)
            .ok_or(StoreError::NotFound("account"))?;
        if account.plan != Plan::Enterprise {
            return Err(StoreError::Conflict(
                "IP restrictions need the Enterprise plan".into(),
            ));
        }
        let count: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM ip_rules WHERE account_id = $1 AND state = 1")
                .bind(account_id.0)
                .fetch_one(&mut *tx)
                .await?;
        if count >= MAX_RULES_PER_ACCOUNT {
            return Err(StoreError::Conflict(format!(
                "an account holds at most {MAX_RULES_PER_ACCOUNT} rules"
            )));
        }
        let at = now();
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO ip_rules (account_id, name, description, rule_type, created_by_id, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(account_id.0)
        .bind(input.name)
        .bind(input.description)
        .bind(input.rule_type.code())
        .bind(actor.id)
        .bind(crate::db_time::db_time(at))
        .bind(crate::db_time::db_time(at))
        .fetch_one(&mut *tx)
        .await?;
        insert_cidrs(&mut tx, id, input.cidrs, at).await?;
        if let Some(on) = switch {
            set_switch(&mut tx, actor, account_id, on).await?;
        }
        let rule = one_rule(&mut tx, account_id, id).await?;
        rule_changed(
            &mut tx,
            actor,
            account_id,
            "ip_restrictions.rule.added",
            id,
            rule_json(&rule),
            at,
        )
        .await?;
        tx.commit().await?;
        Ok(rule)
    }

    /// Replaces a rule's name, description, type and ranges, optionally moving the switch, under
    /// the same checks as [`Store::create_ip_rule`].
    pub async fn update_ip_rule(
        &self,
        actor: &Actor,
        account_id: AccountId,
        id: i64,
        input: &IpRuleInput<'_>,
        switch: Option<bool>,
    ) -> Result<IpRule, StoreError> {
        check_input(input)?;
        let mut tx = self.write().await?;
        let before = one_rule(&mut tx, account_id, id)
            .await
            .and_then(active_rule)?;
        let old: Vec<Cidr> = before.cidrs.iter().map(|c| c.cidr).collect();
        let switch = match switch {
            Some(on) if enabled(&mut tx, account_id).await? != on => Some(on),
            _ => None,
        };
        let unchanged = before.name == input.name
            && before.description == input.description
            && before.rule_type == input.rule_type
            && old == input.cidrs;
        if unchanged && switch.is_none() {
            // No write without a change: no row touched, no audit entry, no change-feed row.
            return Ok(before);
        }
        let at = now();
        sqlx::query(
            "UPDATE ip_rules SET name = $1, description = $2, rule_type = $3, updated_at = $4 WHERE id = $5",
        )
        .bind(input.name)
        .bind(input.description)
        .bind(input.rule_type.code())
        .bind(crate::db_time::db_time(at))
        .bind(id)
        .execute(&mut *tx)
        .await?;
        if old != input.cidrs {
            sqlx::query("DELETE FROM ip_rule_cidrs WHERE ip_rule_id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
            insert_cidrs(&mut tx, id, input.cidrs, at).await?;
        }
        if let Some(on) = switch {
            set_switch(&mut tx, actor, account_id, on).await?;
        }
        let rule = one_rule(&mut tx, account_id, id).await?;
        rule_changed(
            &mut tx,
            actor,
            account_id,
            "ip_restrictions.rule.changed",
            id,
            json!({"from": rule_json(&before), "to": rule_json(&rule)}),
            at,
        )
        .await?;
        tx.commit().await?;
        Ok(rule)
    }

    /// Deletes a rule (state 2, kept for the record), under the lockout check: removing the
    /// allow rule that lets the caller in is refused while the switch is on.
    pub async fn delete_ip_rule(
        &self,
        actor: &Actor,
        account_id: AccountId,
        id: i64,
    ) -> Result<IpRule, StoreError> {
        let mut tx = self.write().await?;
        let before = one_rule(&mut tx, account_id, id).await?;
        if before.state == State::Active {
            let at = now();
            sqlx::query("UPDATE ip_rules SET state = 2, updated_at = $1 WHERE id = $2")
                .bind(crate::db_time::db_time(at))
                .bind(id)
                .execute(&mut *tx)
                .await?;
            rule_changed(
                &mut tx,
                actor,
                account_id,
                "ip_restrictions.rule.removed",
                id,
                rule_json(&before),
                at,
            )
            .await?;
        }
        let rule = one_rule(&mut tx, account_id, id).await?;
        tx.commit().await?;
        Ok(rule)
    }

    /// Turns the account's rule set on or off. Turning it on is refused when the caller's own
    /// address would be shut out, and outside the Enterprise plan.
    pub async fn set_ip_restrictions_enabled(
        &self,
        actor: &Actor,
        account_id: AccountId,
        on: bool,
    ) -> Result<IpRestrictions, StoreError> {
        let mut tx = self.write().await?;
        set_switch(&mut tx, actor, account_id, on).await?;
        check_rule_set(&mut tx, actor, account_id).await?;
        append(&mut tx, account_id, ChangeKind::Account).await?;
        let restrictions = IpRestrictions {
            enabled: enabled(&mut tx, account_id).await?,
            rules: load_rules(&mut tx, account_id, None).await?,
        };
        tx.commit().await?;
        Ok(restrictions)
    }
}
