//! The shapes the API and the CLI's `--json` send: dbt Cloud's field names and timestamp format
//! (`YYYY-MM-DD HH:MM:SS.ffffff+00:00`).
//!
//! Each shape is a type that derives both `Serialize` and `ToSchema`, so the OpenAPI document
//! describes exactly what is sent: the same type produces the bytes and the schema.

use latchkey_core::{AccountId, Scope, Secret, TokenId, TokenKind, UserId};
use latchkey_store::{Account, AuditEntry, Project, ServiceToken, StoredGrant};
use serde::Serialize;
use std::collections::BTreeMap;
use time::OffsetDateTime;
use utoipa::ToSchema;

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

fn opt_timestamp(t: Option<OffsetDateTime>) -> Option<String> {
    t.map(timestamp)
}

/// What every grant says, whoever holds it: the set, where, and in which environments.
#[derive(Serialize, ToSchema)]
pub struct GrantFields {
    /// The permission set's slug (`job_admin`, …; see `GET /api/v2/constants/`).
    #[schema(schema_with = crate::value_sets::permission_set)]
    pub permission_set: &'static str,
    /// True when the grant covers every project of the account.
    pub all_projects: bool,
    /// The one project the grant covers, when `all_projects` is false.
    #[schema(required = true)]
    pub project_id: Option<i64>,
    /// Environment categories (`development`, `staging`, `production`, `other`) in which job
    /// and run writes are allowed; empty means all.
    #[schema(schema_with = crate::value_sets::environment_categories)]
    pub writable_environment_categories: Vec<&'static str>,
    /// Always 1 (active): replaced grants are removed.
    #[schema(schema_with = crate::value_sets::state)]
    pub state: i64,
    /// Created.
    pub created_at: String,
}

fn grant_fields(g: &StoredGrant) -> GrantFields {
    let (all_projects, project_id) = match g.grant.scope {
        Scope::AllProjects => (true, None),
        Scope::Project(p) => (false, Some(p.0)),
    };
    GrantFields {
        permission_set: g.grant.set.slug(),
        all_projects,
        project_id,
        writable_environment_categories: g.grant.writable_envs.names(),
        state: 1,
        created_at: timestamp(g.created_at),
    }
}

/// A grant of a permission set to a service token (dbt Cloud's `ServiceTokenPermission`).
#[derive(Serialize, ToSchema)]
#[schema(as = ServiceTokenPermission)]
pub struct GrantView {
    /// Id.
    pub id: i64,
    /// Owning account.
    pub account_id: i64,
    /// The token holding the grant.
    pub service_token_id: i64,
    #[serde(flatten)]
    grant: GrantFields,
}

/// A grant as dbt Cloud's `ServiceTokenPermission`.
pub fn grant(g: &StoredGrant, token: &ServiceToken) -> GrantView {
    GrantView {
        id: g.id,
        account_id: token.account_id.0,
        service_token_id: token.id.0,
        grant: grant_fields(g),
    }
}

/// A service token (dbt Cloud's `ServiceToken`).
#[derive(Serialize, ToSchema)]
#[schema(as = ServiceToken)]
pub struct ServiceTokenView {
    /// Id.
    pub id: i64,
    /// Owning account.
    pub account_id: i64,
    /// The public part of the token, also in its text; safe to log.
    pub uid: String,
    /// Name.
    pub name: String,
    /// 1 active, 2 revoked.
    #[schema(schema_with = crate::value_sets::state)]
    pub state: i64,
    /// The secret: in the answer that creates the token (or rotates it) only, null ever after.
    #[schema(required = true)]
    pub token_string: Option<String>,
    /// The secret's last characters, to recognise it.
    pub hint: String,
    /// Created.
    pub created_at: String,
    /// Last changed.
    pub updated_at: String,
    /// When it stops working, if ever.
    #[schema(required = true)]
    pub expires_at: Option<String>,
    /// When it was last used: written in batches, at most once per token per usage window
    /// (`--usage-granularity-secs`, a minute by default), so up to that much behind.
    #[schema(required = true)]
    pub last_used: Option<String>,
    /// The client address of that use (after the node's trusted proxies), when known.
    #[schema(required = true)]
    pub last_used_ip: Option<String>,
    /// When a rotation's overlap ends and the token is revoked.
    #[schema(required = true)]
    pub revoke_at: Option<String>,
    /// True for tokens made before the deployment's legacy cutoff: rotate them.
    pub needs_rotation: bool,
    /// The token this one replaced by rotation.
    #[schema(required = true)]
    pub rotated_from_id: Option<i64>,
    /// The ranges the token may be used from, beyond the account's IP rules; empty means any.
    pub allowed_cidrs: Vec<String>,
    /// Its grants.
    pub permission_grants: Vec<GrantView>,
}

/// A service token as dbt Cloud's `ServiceToken`; `token_string` is the secret on creation only,
/// and `needs_rotation` flags tokens created before the deployment's legacy cutoff.
pub fn service_token(
    t: &ServiceToken,
    secret: Option<&Secret>,
    legacy_cutoff: OffsetDateTime,
) -> ServiceTokenView {
    ServiceTokenView {
        id: t.id.0,
        account_id: t.account_id.0,
        uid: t.uid.clone(),
        name: t.name.clone(),
        state: t.state as i64,
        token_string: secret.map(|s| s.expose().to_owned()),
        hint: t.hint.clone(),
        created_at: timestamp(t.created_at),
        updated_at: timestamp(t.updated_at),
        expires_at: opt_timestamp(t.expires_at),
        last_used: opt_timestamp(t.last_used_at),
        last_used_ip: t.last_used_ip.clone(),
        revoke_at: opt_timestamp(t.revoke_at),
        needs_rotation: t.created_at < legacy_cutoff,
        rotated_from_id: t.rotated_from.map(|id| id.0),
        allowed_cidrs: t
            .allowed_cidrs
            .iter()
            .map(std::string::ToString::to_string)
            .collect(),
        permission_grants: t.grants.iter().map(|g| grant(g, t)).collect(),
    }
}

/// A project.
#[derive(Serialize, ToSchema)]
#[schema(as = Project)]
pub struct ProjectView {
    /// Id.
    pub id: i64,
    /// Owning account.
    pub account_id: i64,
    /// Name.
    pub name: String,
    /// 1 active, 2 deleted.
    #[schema(schema_with = crate::value_sets::state)]
    pub state: i64,
    /// Created.
    pub created_at: String,
}

/// A project.
pub fn project(p: &Project) -> ProjectView {
    ProjectView {
        id: p.id.0,
        account_id: p.account_id.0,
        name: p.name.clone(),
        state: p.state as i64,
        created_at: timestamp(p.created_at),
    }
}

/// An account.
#[derive(Serialize, ToSchema)]
#[schema(as = Account)]
pub struct AccountView {
    /// Id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// `developer`, `team` or `enterprise`.
    #[schema(schema_with = crate::value_sets::plan)]
    pub plan: &'static str,
    /// 1 active, 2 closed.
    #[schema(schema_with = crate::value_sets::state)]
    pub state: i64,
    /// Created.
    pub created_at: String,
}

/// An account.
pub fn account(a: &Account) -> AccountView {
    AccountView {
        id: a.id.0,
        name: a.name.clone(),
        plan: a.plan.as_str(),
        state: a.state as i64,
        created_at: timestamp(a.created_at),
    }
}

/// An audit-log entry, with dbt Cloud's field names. Never holds a secret.
#[derive(Serialize, ToSchema)]
#[schema(as = AuditLogEntry)]
pub struct AuditEntryView {
    /// Id; entries are numbered in the order they were written.
    pub id: i64,
    /// The account concerned, if any.
    #[schema(required = true)]
    pub account_id: Option<i64>,
    /// The actor's name (a token's name, a user's e-mail, `operator`).
    pub actor: String,
    /// The actor's id.
    #[schema(required = true)]
    pub actor_id: Option<i64>,
    /// The client address the change came from.
    #[schema(required = true)]
    pub actor_ip: Option<String>,
    /// `operator`, `service_token`, `personal_access_token`, `user` or `anonymous`.
    pub actor_type: String,
    /// dbt Cloud's event name where it has one (`service_token.created`, …).
    pub event_type: String,
    /// The event's details.
    #[schema(value_type = Object)]
    pub event_context: serde_json::Value,
    /// What was changed (`service_token`, `project`, …).
    pub target_type: String,
    /// Its id.
    #[schema(required = true)]
    pub target_id: Option<i64>,
    /// `api`, `ui` or `cli`.
    pub source: String,
    /// When.
    pub created_at: String,
}

/// An audit-log entry, with dbt Cloud's field names.
pub fn audit_entry(e: &AuditEntry) -> AuditEntryView {
    AuditEntryView {
        id: e.id,
        account_id: e.account_id.map(|a| a.0),
        actor: e.actor_name.clone(),
        actor_id: e.actor_id,
        actor_ip: e.actor_ip.clone(),
        actor_type: e.actor_type.clone(),
        event_type: e.event_type.clone(),
        event_context: e.event_context.clone(),
        target_type: e.target_type.clone(),
        target_id: e.target_id,
        source: e.source.clone(),
        created_at: timestamp(e.created_at),
    }
}

/// One range of an IP rule (dbt Cloud's `IpRestrictionCidr`): exactly one of `cidr` and
/// `cidr_ipv6` is set.
#[derive(Serialize, ToSchema)]
#[schema(as = IpRestrictionCidr)]
pub struct CidrView {
    /// Id.
    pub id: i64,
    /// The rule it belongs to.
    pub ip_restriction_rule_id: i64,
    /// An IPv4 range (`203.0.113.0/24`).
    #[schema(required = true)]
    pub cidr: Option<String>,
    /// An IPv6 range (`2001:db8::/32`).
    #[schema(required = true)]
    pub cidr_ipv6: Option<String>,
    /// The rule's state.
    #[schema(schema_with = crate::value_sets::state)]
    pub state: i64,
    /// Always true.
    pub enabled: bool,
    /// Created.
    pub created_at: String,
    /// Last changed.
    pub updated_at: String,
}

/// A named allow or deny rule (dbt Cloud's `IpRestrictionRule`).
#[derive(Serialize, ToSchema)]
#[schema(as = IpRestrictionRule)]
pub struct IpRuleView {
    /// Id.
    pub id: i64,
    /// The account's rule set (its id is the account's).
    pub ip_restriction_rule_set_id: i64,
    /// Owning account.
    pub account_id: i64,
    /// Name.
    pub name: String,
    /// 1 allow, 2 deny.
    #[serde(rename = "type")]
    #[schema(schema_with = crate::value_sets::rule_type)]
    pub rule_type: i64,
    /// Free text.
    pub description: String,
    /// Its ranges.
    pub cidrs: Vec<CidrView>,
    /// Whether the account enforces its rules.
    pub rule_set_enabled: bool,
    /// Always true: rules apply to service tokens too.
    pub enabled_for_service_tokens: bool,
    /// 1 active, 2 deleted.
    #[schema(schema_with = crate::value_sets::state)]
    pub state: i64,
    /// The token or user that made it.
    #[schema(required = true)]
    pub created_by_id: Option<i64>,
    /// Created.
    pub created_at: String,
    /// Last changed.
    pub updated_at: String,
}

/// An IP rule as dbt Cloud's `IpRestrictionRule`, with its ranges as `IpRestrictionCidr`s.
pub fn ip_rule(r: &latchkey_store::IpRule, rule_set_enabled: bool) -> IpRuleView {
    let cidrs = r
        .cidrs
        .iter()
        .map(|c| {
            let text = c.cidr.to_string();
            let (cidr, cidr_ipv6) = if c.cidr.is_v6() {
                (None, Some(text))
            } else {
                (Some(text), None)
            };
            CidrView {
                id: c.id,
                ip_restriction_rule_id: r.id,
                cidr,
                cidr_ipv6,
                state: r.state as i64,
                enabled: true,
                created_at: timestamp(c.created_at),
                updated_at: timestamp(c.updated_at),
            }
        })
        .collect();
    IpRuleView {
        id: r.id,
        ip_restriction_rule_set_id: r.account_id.0,
        account_id: r.account_id.0,
        name: r.name.clone(),
        rule_type: r.rule_type.code(),
        description: r.description.clone(),
        cidrs,
        rule_set_enabled,
        enabled_for_service_tokens: true,
        state: r.state as i64,
        created_by_id: r.created_by_id,
        created_at: timestamp(r.created_at),
        updated_at: timestamp(r.updated_at),
    }
}

/// The account's rule set: the switch and the number of active rules.
#[derive(Serialize, ToSchema)]
#[schema(as = IpRestrictionRuleSet)]
pub struct IpRuleSetView {
    /// The account's id.
    pub id: i64,
    /// The account.
    pub account_id: i64,
    /// Whether the rules are enforced.
    pub enabled: bool,
    /// How many active rules there are.
    pub rule_count: usize,
}

/// The account's rule set: the switch and the number of active rules.
pub fn ip_rule_set(
    account: latchkey_core::AccountId,
    set: &latchkey_store::IpRestrictions,
) -> IpRuleSetView {
    IpRuleSetView {
        id: account.0,
        account_id: account.0,
        enabled: set.enabled,
        rule_count: set.rules.len(),
    }
}

/// A user's personal access token.
#[derive(Serialize, ToSchema)]
#[schema(as = PersonalAccessToken)]
pub struct PersonalTokenView {
    /// Id.
    pub id: i64,
    /// The account it acts in.
    pub account_id: i64,
    /// The user it acts for.
    pub user_id: i64,
    /// The public part of the token, also in its text; safe to log.
    pub uid: String,
    /// Name.
    pub name: String,
    /// 1 active, 2 revoked.
    #[schema(schema_with = crate::value_sets::state)]
    pub state: i64,
    /// The secret: in the answer that creates the token only, null ever after.
    #[schema(required = true)]
    pub token_string: Option<String>,
    /// The secret's last characters, to recognise it.
    pub hint: String,
    /// Created.
    pub created_at: String,
    /// Last changed.
    pub updated_at: String,
    /// When it stops working, if ever.
    #[schema(required = true)]
    pub expires_at: Option<String>,
    /// When it was last used (written like a service token's, at most once a usage window).
    #[schema(required = true)]
    pub last_used: Option<String>,
    /// The client address of that use (after the node's trusted proxies), when known.
    #[schema(required = true)]
    pub last_used_ip: Option<String>,
}

/// A personal access token; `token_string` is the secret on creation only.
pub fn personal_token(
    t: &latchkey_store::PersonalToken,
    secret: Option<&Secret>,
) -> PersonalTokenView {
    PersonalTokenView {
        id: t.id.0,
        account_id: t.account_id.0,
        user_id: t.user_id.0,
        uid: t.uid.clone(),
        name: t.name.clone(),
        state: t.state as i64,
        token_string: secret.map(|s| s.expose().to_owned()),
        hint: t.hint.clone(),
        created_at: timestamp(t.created_at),
        updated_at: timestamp(t.updated_at),
        expires_at: opt_timestamp(t.expires_at),
        last_used: opt_timestamp(t.last_used_at),
        last_used_ip: t.last_used_ip.clone(),
    }
}

/// A grant of a permission set to a group (dbt Cloud's `GroupPermission`).
#[derive(Serialize, ToSchema)]
#[schema(as = GroupPermission)]
pub struct GroupPermissionView {
    /// Id.
    pub id: i64,
    /// Owning account.
    pub account_id: i64,
    /// The group holding the grant.
    pub group_id: i64,
    #[serde(flatten)]
    grant: GrantFields,
}

/// A group (dbt Cloud's `Group`).
#[derive(Serialize, ToSchema)]
#[schema(as = Group)]
pub struct GroupView {
    /// Id.
    pub id: i64,
    /// Owning account.
    pub account_id: i64,
    /// Name (unique in the account).
    pub name: String,
    /// 1 active, 2 deleted.
    #[schema(schema_with = crate::value_sets::state)]
    pub state: i64,
    /// Always false: new members join no group by default.
    pub assign_by_default: bool,
    /// Always empty: Latchkey has no SSO group mapping.
    pub sso_mapping_groups: Vec<String>,
    /// Always false.
    pub scim_managed: bool,
    /// Its grants.
    pub group_permissions: Vec<GroupPermissionView>,
    /// Its members' user ids.
    pub members: Vec<i64>,
    /// Created.
    pub created_at: String,
    /// Last changed.
    pub updated_at: String,
}

/// A group as dbt Cloud's `Group`, with its `group_permissions` and member ids.
pub fn group(g: &latchkey_store::Group) -> GroupView {
    let group_permissions = g
        .grants
        .iter()
        .map(|s| GroupPermissionView {
            id: s.id,
            account_id: g.account_id.0,
            group_id: g.id.0,
            grant: grant_fields(s),
        })
        .collect();
    GroupView {
        id: g.id.0,
        account_id: g.account_id.0,
        name: g.name.clone(),
        state: g.state as i64,
        assign_by_default: false,
        sso_mapping_groups: Vec::new(),
        scim_managed: false,
        group_permissions,
        members: g.members.iter().map(|u| u.0).collect(),
        created_at: timestamp(g.created_at),
        updated_at: timestamp(g.updated_at),
    }
}

/// A member of an account: the user, their license and their groups there.
#[derive(Serialize, ToSchema)]
#[schema(as = Member)]
pub struct MemberView {
    /// The user's id.
    pub id: i64,
    /// Their e-mail.
    pub email: String,
    /// 1 active, 2 removed from the account.
    #[schema(schema_with = crate::value_sets::state)]
    pub state: i64,
    /// `developer`, `read_only`, `analyst`, … (their seat).
    #[schema(schema_with = crate::value_sets::license)]
    pub license_type: &'static str,
    /// Their active groups in the account.
    pub groups: Vec<i64>,
    /// When the seat was given.
    pub created_at: String,
}

/// A member of an account: the user, their license and their groups there.
pub fn member(m: &latchkey_store::Member) -> MemberView {
    MemberView {
        id: m.user_id.0,
        email: m.email.clone(),
        state: m.state as i64,
        license_type: m.license.as_str(),
        groups: m.groups.iter().map(|g| g.0).collect(),
        created_at: timestamp(m.created_at),
    }
}

/// An invitation to join an account.
#[derive(Serialize, ToSchema)]
#[schema(as = Invite)]
pub struct InviteView {
    /// Id.
    pub id: i64,
    /// The inviting account.
    pub account_id: i64,
    /// Who is invited.
    pub email: String,
    /// The seat offered.
    #[schema(schema_with = crate::value_sets::license)]
    pub license_type: &'static str,
    /// Groups joined on redemption.
    pub group_ids: Vec<i64>,
    /// 1 pending, 2 withdrawn or redeemed.
    #[schema(schema_with = crate::value_sets::state)]
    pub state: i64,
    /// `pending`, `redeemed` or `withdrawn`.
    #[schema(schema_with = crate::value_sets::invite_status)]
    pub status: &'static str,
    /// The one-time code: in the answer that creates the invitation only, null ever after.
    #[schema(required = true)]
    pub code: Option<String>,
    /// Created.
    pub created_at: String,
    /// When the code stops working.
    pub expires_at: String,
    /// When it was redeemed.
    #[schema(required = true)]
    pub redeemed_at: Option<String>,
    /// The user it made or joined.
    #[schema(required = true)]
    pub redeemed_user_id: Option<i64>,
}

/// An invitation; `code` is the one-time code on creation only.
pub fn invite(i: &latchkey_store::Invite, code: Option<&Secret>) -> InviteView {
    let status = match (i.state, i.redeemed_at) {
        (latchkey_store::State::Active, _) => "pending",
        (_, Some(_)) => "redeemed",
        _ => "withdrawn",
    };
    InviteView {
        id: i.id,
        account_id: i.account_id.0,
        email: i.email.clone(),
        license_type: i.license.as_str(),
        group_ids: i.groups.iter().map(|g| g.0).collect(),
        state: i.state as i64,
        status,
        code: code.map(|c| c.expose().to_owned()),
        created_at: timestamp(i.created_at),
        expires_at: timestamp(i.expires_at),
        redeemed_at: opt_timestamp(i.redeemed_at),
        redeemed_user_id: i.redeemed_user_id.map(|u| u.0),
    }
}

/// What redeeming an invitation made: the seat in the account.
#[derive(Serialize, ToSchema)]
#[schema(as = InviteRedemption)]
pub struct RedemptionView {
    /// The account joined.
    pub account_id: i64,
    /// The user made or joined.
    pub user_id: i64,
    /// The seat given.
    #[schema(schema_with = crate::value_sets::license)]
    pub license_type: &'static str,
    /// Groups joined.
    pub groups: Vec<i64>,
}

/// The answer to a leaked-credential report: how many were received, never which were real.
#[derive(Serialize, ToSchema)]
#[schema(as = CredentialReportReceipt)]
pub struct ReportReceiptView {
    /// How many credentials the report held.
    pub received: usize,
}

/// dbt Cloud's constants: every permission set's slug and label.
#[derive(Serialize, ToSchema)]
#[schema(as = Constants)]
pub struct ConstantsView {
    /// Permission-set label by slug.
    pub permissions_sets: BTreeMap<&'static str, &'static str>,
}

/// Writes an integer as JSON does.
pub fn write_integer(out: &mut Vec<u8>, n: i64) {
    // Writing into a Vec cannot fail.
    let _ = serde_json::to_writer(out, &n);
}

/// Who a token is: in the answers of authorize, `whoami` and `latchkey check`.
#[derive(Serialize, ToSchema)]
#[schema(as = Principal)]
pub struct PrincipalView {
    /// `service_token` or `personal_access_token`.
    #[schema(schema_with = crate::value_sets::token_kind)]
    kind: &'static str,
    /// The token's id.
    id: i64,
    /// Its account.
    account_id: i64,
    /// For personal access tokens, the user it acts for.
    #[serde(skip_serializing_if = "Option::is_none")]
    user_id: Option<i64>,
}

impl PrincipalView {
    /// Writes it as `serde_json` does, without serde's per-key escaping (the hot path of
    /// authorize answers; every key and `kind` is a fixed ASCII word).
    pub fn write_json(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"{\"kind\":\"");
        out.extend_from_slice(self.kind.as_bytes());
        out.extend_from_slice(b"\",\"id\":");
        write_integer(out, self.id);
        out.extend_from_slice(b",\"account_id\":");
        write_integer(out, self.account_id);
        if let Some(user) = self.user_id {
            out.extend_from_slice(b",\"user_id\":");
            write_integer(out, user);
        }
        out.push(b'}');
    }

    /// A token of `kind` with its id and account, and for a personal access token its user.
    pub fn new(
        kind: TokenKind,
        id: TokenId,
        account: AccountId,
        user: Option<UserId>,
    ) -> PrincipalView {
        let kind = match kind {
            TokenKind::Service => "service_token",
            TokenKind::Personal => "personal_access_token",
        };
        PrincipalView {
            kind,
            id: id.0,
            account_id: account.0,
            user_id: user.map(|u| u.0),
        }
    }
}
