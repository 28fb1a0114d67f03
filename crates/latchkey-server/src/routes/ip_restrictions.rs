//! IP restrictions, dbt Cloud v3 style: `/api/v3/accounts/{account_id}/ip-restrictions/…`, plus
//! Latchkey's explicit switch at `…/ip-restrictions/rule-set/`. The store refuses a range on both
//! lists and any change that would shut out the caller's own address.

use crate::envelope::{Envelope, PageQuery};
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::routes::caller::Caller;
use crate::state::AppState;
use axum::extract::State;
use latchkey_core::{Cidr, RuleType};
use latchkey_store::{IpRuleInput, State as RowState};
use latchkey_wire as wire;
use serde::Deserialize;

/// Parses a list of ranges; the first bad one is named as `field[i]`.
pub fn parse_cidrs(field: &str, list: &[String]) -> Result<Vec<Cidr>, ApiError> {
    list.iter()
        .enumerate()
        .map(|(i, c)| {
            c.trim().parse().map_err(|e: latchkey_core::CidrError| {
                ApiError::field(&format!("{field}[{i}]"), e.to_string())
            })
        })
        .collect()
}

/// A range as sent: a string, or dbt Cloud's object with `cidr` or `cidr_ipv6` (its schema is
/// [`latchkey_wire::value_sets::rule_cidrs`]).
#[derive(Deserialize)]
#[serde(untagged)]
pub enum CidrBody {
    /// `"203.0.113.0/24"`.
    Text(String),
    /// `{"cidr": "203.0.113.0/24"}` or `{"cidr_ipv6": "2001:db8::/32"}` (other fields ignored).
    Object {
        /// An IPv4 (or IPv6) range.
        #[serde(default)]
        cidr: Option<String>,
        /// An IPv6 range.
        #[serde(default)]
        cidr_ipv6: Option<String>,
    },
}

/// A rule as sent on create (all of `name`, `type`, `cidrs`) or update (any of them).
#[derive(Deserialize, utoipa::ToSchema)]
#[schema(as = IpRestrictionRuleWrite)]
pub struct RuleBody {
    /// The rule's name.
    #[serde(default, deserialize_with = "crate::extract::present")]
    #[schema(schema_with = latchkey_wire::value_sets::name, example = "office")]
    name: Option<String>,
    /// 1 allows the ranges, 2 blocks them.
    #[serde(default, rename = "type", deserialize_with = "crate::extract::present")]
    #[schema(nullable = false)]
    #[schema(example = 1)]
    #[schema(schema_with = latchkey_wire::value_sets::rule_type)]
    rule_type: Option<i64>,
    /// A note.
    #[serde(default, deserialize_with = "crate::extract::present")]
    #[schema(schema_with = latchkey_wire::value_sets::rule_description)]
    description: Option<String>,
    /// The ranges.
    #[serde(default, deserialize_with = "crate::extract::present")]
    #[schema(schema_with = latchkey_wire::value_sets::rule_cidrs)]
    cidrs: Option<Vec<CidrBody>>,
    /// Moves the account-wide switch in the same transaction.
    #[serde(default, deserialize_with = "crate::extract::present")]
    #[schema(nullable = false)]
    rule_set_enabled: Option<bool>,
    /// Accepted for compatibility; every token's traffic is subject to the rules, so only
    /// `true` is meaningful.
    #[serde(default, deserialize_with = "crate::extract::present")]
    #[schema(schema_with = latchkey_wire::value_sets::only_true)]
    enabled_for_service_tokens: Option<bool>,
}

/// The switch: `{"enabled": true}`.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = IpRestrictionSwitch)]
pub struct SwitchBody {
    /// True enforces the account's rules.
    enabled: bool,
}

/// `{account_id}` and `{id}`.
#[derive(Deserialize)]
pub struct RulePath {
    #[allow(dead_code)]
    account_id: i64,
    id: i64,
}

fn rule_type(code: i64) -> Result<RuleType, ApiError> {
    RuleType::from_code(code)
        .ok_or_else(|| ApiError::field("type", "type must be 1 (allow) or 2 (deny)"))
}

fn cidrs(body: &[CidrBody]) -> Result<Vec<Cidr>, ApiError> {
    let texts = body
        .iter()
        .enumerate()
        .map(|(i, c)| match c {
            CidrBody::Text(t) => Ok(t.clone()),
            CidrBody::Object {
                cidr: Some(t),
                cidr_ipv6: None,
            }
            | CidrBody::Object {
                cidr: None,
                cidr_ipv6: Some(t),
            } => Ok(t.clone()),
            CidrBody::Object { .. } => Err(ApiError::field(
                &format!("cidrs[{i}]"),
                "give one of cidr or cidr_ipv6",
            )),
        })
        .collect::<Result<Vec<_>, _>>()?;
    parse_cidrs("cidrs", &texts)
}

fn check_service_tokens_flag(body: &RuleBody) -> Result<(), ApiError> {
    if body.enabled_for_service_tokens == Some(false) {
        return Err(ApiError::field(
            "enabled_for_service_tokens",
            "IP rules apply to all token traffic; enabled_for_service_tokens cannot be false",
        ));
    }
    Ok(())
}

/// GET: the account's active rules.
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(page): ApiQuery<PageQuery>,
) -> Result<Envelope, ApiError> {
    let set = state
        .verifier
        .store()
        .ip_restrictions(caller.account())
        .await?;
    let items: Vec<_> = set
        .rules
        .iter()
        .map(|r| wire::ip_rule(r, set.enabled))
        .collect();
    Envelope::slice(items, &page)
}

/// POST: adds a rule (`name`, `type`, `cidrs`; optional `description`, `rule_set_enabled`).
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<RuleBody>,
) -> Result<Envelope, ApiError> {
    check_service_tokens_flag(&body)?;
    let name = body
        .name
        .as_deref()
        .ok_or_else(|| ApiError::field("name", "name is required"))?;
    let rule_type = rule_type(
        body.rule_type
            .ok_or_else(|| ApiError::field("type", "type is required: 1 (allow) or 2 (deny)"))?,
    )?;
    let cidrs = cidrs(
        body.cidrs
            .as_deref()
            .ok_or_else(|| ApiError::field("cidrs", "cidrs is required"))?,
    )?;
    let store = state.verifier.store();
    let rule = store
        .create_ip_rule(
            &caller.actor(),
            caller.account(),
            &IpRuleInput {
                name,
                description: body.description.as_deref().unwrap_or_default(),
                rule_type,
                cidrs: &cidrs,
            },
            body.rule_set_enabled,
        )
        .await?;
    let enabled = store.ip_restrictions_enabled(caller.account()).await?;
    Ok(Envelope::created(wire::ip_rule(&rule, enabled)))
}

/// GET one rule (also when deleted).
pub async fn retrieve(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(path): ApiPath<RulePath>,
) -> Result<Envelope, ApiError> {
    let store = state.verifier.store();
    let rule = store
        .ip_rule(caller.account(), path.id)
        .await?
        .ok_or(ApiError::NotFound)?;
    let enabled = store.ip_restrictions_enabled(caller.account()).await?;
    Ok(Envelope::ok(wire::ip_rule(&rule, enabled)))
}

/// PUT/POST one rule: changes the fields given; `"state": 2` is not taken here (use DELETE).
pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(path): ApiPath<RulePath>,
    ApiJson(body): ApiJson<RuleBody>,
) -> Result<Envelope, ApiError> {
    check_service_tokens_flag(&body)?;
    let store = state.verifier.store();
    let current = store
        .ip_rule(caller.account(), path.id)
        .await?
        .filter(|r| r.state == RowState::Active)
        .ok_or(ApiError::NotFound)?;
    let rule_type = body
        .rule_type
        .map(rule_type)
        .transpose()?
        .unwrap_or(current.rule_type);
    let cidrs = match body.cidrs.as_deref() {
        Some(c) => cidrs(c)?,
        None => current.cidrs.iter().map(|c| c.cidr).collect(),
    };
    let rule = store
        .update_ip_rule(
            &caller.actor(),
            caller.account(),
            path.id,
            &IpRuleInput {
                name: body.name.as_deref().unwrap_or(&current.name),
                description: body.description.as_deref().unwrap_or(&current.description),
                rule_type,
                cidrs: &cidrs,
            },
            body.rule_set_enabled,
        )
        .await?;
    let enabled = store.ip_restrictions_enabled(caller.account()).await?;
    Ok(Envelope::ok(wire::ip_rule(&rule, enabled)))
}

/// DELETE one rule (state 2; refused if it would shut the caller out).
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(path): ApiPath<RulePath>,
) -> Result<Envelope, ApiError> {
    let store = state.verifier.store();
    let rule = store
        .delete_ip_rule(&caller.actor(), caller.account(), path.id)
        .await?;
    let enabled = store.ip_restrictions_enabled(caller.account()).await?;
    Ok(Envelope::ok(wire::ip_rule(&rule, enabled)))
}

/// GET the switch and the number of active rules.
pub async fn rule_set(State(state): State<AppState>, caller: Caller) -> Result<Envelope, ApiError> {
    let set = state
        .verifier
        .store()
        .ip_restrictions(caller.account())
        .await?;
    Ok(Envelope::ok(wire::ip_rule_set(caller.account(), &set)))
}

/// PUT the switch: `{"enabled": bool}`; turning it on is refused if it would shut the caller out.
pub async fn set_rule_set(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<SwitchBody>,
) -> Result<Envelope, ApiError> {
    let set = state
        .verifier
        .store()
        .set_ip_restrictions_enabled(&caller.actor(), caller.account(), body.enabled)
        .await?;
    Ok(Envelope::ok(wire::ip_rule_set(caller.account(), &set)))
}

/// The schema of the body of `POST …/ip-restrictions/`: the rule's type, with `name`, `type`
/// and `cidrs` required (an update takes any of them).
pub fn create_body_schema() -> crate::routes::spec::BodySchema {
    use utoipa::openapi::{RefOr, Schema};
    let mut body = crate::routes::spec::one::<RuleBody>();
    let own = body.schemas.iter().find(|(name, _)| *name == body.name);
    if let Some((_, RefOr::T(Schema::Object(object)))) = own {
        let mut object = object.clone();
        object.required = vec!["cidrs".into(), "name".into(), "type".into()];
        object.description = Some("A new rule: `name`, `type` and `cidrs` are required.".into());
        body.name = "IpRestrictionRuleCreate".into();
        body.schemas.push((body.name.clone(), object.into()));
    }
    body
}
