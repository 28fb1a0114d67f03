//! What the store returns and takes: records of accounts, projects, users, tokens and audit
//! entries, and the actor a command is done by.

use latchkey_core::{
    AccountId, EffectivePermissions, Grant, GroupId, License, Plan, ProjectId, TokenDigest,
    TokenId, UserAccess, UserId,
};
use time::OffsetDateTime;

/// Active (1) or deleted (2), as dbt Cloud numbers them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    /// In use.
    Active = 1,
    /// Deleted; the row is kept for the audit trail and never authorizes again.
    Deleted = 2,
}

impl State {
    pub(crate) fn from_db(v: i64) -> State {
        if v == 1 {
            State::Active
        } else {
            State::Deleted
        }
    }
}

/// An account (tenant).
#[derive(Clone, Debug)]
pub struct Account {
    /// Id.
    pub id: AccountId,
    /// Display name.
    pub name: String,
    /// Plan: decides which permission sets its tokens may hold.
    pub plan: Plan,
    /// Active or deleted.
    pub state: State,
    /// Created.
    pub created_at: OffsetDateTime,
}

/// A project of an account.
#[derive(Clone, Debug)]
pub struct Project {
    /// Id.
    pub id: ProjectId,
    /// Owning account.
    pub account_id: AccountId,
    /// Display name.
    pub name: String,
    /// Active or deleted.
    pub state: State,
    /// Created.
    pub created_at: OffsetDateTime,
}

/// A user.
#[derive(Clone, Debug)]
pub struct User {
    /// Id.
    pub id: UserId,
    /// The one account the user belongs to.
    pub account_id: AccountId,
    /// Sign-in e-mail (unique within the account, case-insensitive).
    pub email: String,
    /// Active or deleted.
    pub state: State,
    /// Created.
    pub created_at: OffsetDateTime,
}

/// A grant as stored, with its row id.
#[derive(Clone, Debug)]
pub struct StoredGrant {
    /// Row id.
    pub id: i64,
    /// The grant.
    pub grant: Grant,
    /// Created.
    pub created_at: OffsetDateTime,
}

/// A service token as stored: never the secret.
#[derive(Clone, Debug)]
pub struct ServiceToken {
    /// Id.
    pub id: TokenId,
    /// Owning account.
    pub account_id: AccountId,
    /// Public handle (part of the token string).
    pub uid: String,
    /// Display name.
    pub name: String,
    /// Active or deleted.
    pub state: State,
    /// `prefix_uid…last4`.
    pub hint: String,
    /// Created.
    pub created_at: OffsetDateTime,
    /// Last changed.
    pub updated_at: OffsetDateTime,
    /// When it stops working, if ever.
    pub expires_at: Option<OffsetDateTime>,
    /// Last seen authenticating (flushed in batches).
    pub last_used_at: Option<OffsetDateTime>,
    /// The client address of that use, when the node knew it.
    pub last_used_ip: Option<String>,
    /// When a rotated-out token stops working (the end of its overlap).
    pub revoke_at: Option<OffsetDateTime>,
    /// The token this one replaced, if it came from a rotation.
    pub rotated_from: Option<TokenId>,
    /// The token's own allowlist of client ranges (empty: none).
    pub allowed_cidrs: Vec<latchkey_core::Cidr>,
    /// Its grants.
    pub grants: Vec<StoredGrant>,
}

/// A personal access token as stored: never the secret.
#[derive(Clone, Debug)]
pub struct PersonalToken {
    /// Id.
    pub id: TokenId,
    /// The account it is scoped to.
    pub account_id: AccountId,
    /// Its user.
    pub user_id: UserId,
    /// Public handle.
    pub uid: String,
    /// Display name.
    pub name: String,
    /// Active or deleted.
    pub state: State,
    /// `prefix_uid…last4`.
    pub hint: String,
    /// Created.
    pub created_at: OffsetDateTime,
    /// Last changed.
    pub updated_at: OffsetDateTime,
    /// When it stops working, if ever.
    pub expires_at: Option<OffsetDateTime>,
    /// Last seen authenticating.
    pub last_used_at: Option<OffsetDateTime>,
    /// The client address of that use, when the node knew it.
    pub last_used_ip: Option<String>,
}

/// One token's use, as the verifier batches it for `last_used_at` and `last_used_ip`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TokenUse {
    /// Service or personal.
    pub kind: latchkey_core::TokenKind,
    /// The token.
    pub id: TokenId,
    /// When it was used.
    pub at: OffsetDateTime,
    /// From which client address, when known (after the node's trusted proxies).
    pub ip: Option<std::net::IpAddr>,
}

/// What the verifier needs to know about a presented token, read in one go.
#[derive(Clone, Debug)]
pub struct Credential {
    /// Token id.
    pub id: TokenId,
    /// Its account.
    pub account_id: AccountId,
    /// For PATs, the user.
    pub user_id: Option<UserId>,
    /// True only while the token, its account and (for PATs) the user's seat are all active.
    pub active: bool,
    /// When it stops working, if ever.
    pub expires_at: Option<OffsetDateTime>,
    /// Compiled permissions, plan and license applied.
    pub permissions: EffectivePermissions,
    /// The account's IP rules (when enabled) and the token's own allowlist.
    pub network: latchkey_core::NetworkPolicy,
}

/// Who does a command, for the audit log.
#[derive(Clone, Debug)]
pub struct Actor {
    /// Kind of actor.
    pub kind: ActorKind,
    /// Its id (token or user id), if it has one.
    pub id: Option<i64>,
    /// A readable name (token name, e-mail, `cli`).
    pub name: String,
    /// Client address, when known.
    pub ip: Option<String>,
    /// `api`, `ui` or `cli`.
    pub source: &'static str,
}

impl Actor {
    /// The operator at the command line, acting directly on the database.
    pub fn operator() -> Actor {
        Actor {
            kind: ActorKind::Operator,
            id: None,
            name: "operator".into(),
            ip: None,
            source: "cli",
        }
    }
}

/// The kinds of actor in the audit log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ActorKind {
    /// The deployment's operator (CLI).
    Operator,
    /// A service token.
    ServiceToken,
    /// A personal access token.
    PersonalToken,
    /// A signed-in user.
    User,
    /// Latchkey itself (automatic revocation, leak reports).
    System,
}

impl ActorKind {
    /// Stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            ActorKind::Operator => "operator",
            ActorKind::ServiceToken => "service_token",
            ActorKind::PersonalToken => "personal_access_token",
            ActorKind::User => "user",
            ActorKind::System => "system",
        }
    }
}

/// One audit-log entry. Never holds a secret.
#[derive(Clone, Debug)]
pub struct AuditEntry {
    /// Id.
    pub id: i64,
    /// The account concerned, if any.
    pub account_id: Option<AccountId>,
    /// Kind of actor (`operator`, `service_token`, …).
    pub actor_type: String,
    /// Actor id.
    pub actor_id: Option<i64>,
    /// Actor name.
    pub actor_name: String,
    /// Client address.
    pub actor_ip: Option<String>,
    /// dbt Cloud's event name where it has one (`service_token.created`, …).
    pub event_type: String,
    /// What was changed (`service_token`, `project`, …).
    pub target_type: String,
    /// Its id.
    pub target_id: Option<i64>,
    /// Event details (JSON).
    pub event_context: serde_json::Value,
    /// `api`, `ui` or `cli`.
    pub source: String,
    /// When.
    pub created_at: OffsetDateTime,
}

/// A new service token's stored parts (the secret stays with the caller).
pub struct NewServiceToken<'a> {
    /// Owning account.
    pub account_id: AccountId,
    /// Display name.
    pub name: &'a str,
    /// Grants.
    pub grants: &'a [Grant],
    /// Optional expiry.
    pub expires_at: Option<OffsetDateTime>,
    /// The token's own allowlist of client ranges (empty: none).
    pub allowed_cidrs: &'a [latchkey_core::Cidr],
    /// Public handle.
    pub uid: &'a str,
    /// SHA-256 of the whole token.
    pub digest: TokenDigest,
    /// Display hint.
    pub hint: &'a str,
}

/// What `bootstrap` made.
#[derive(Debug)]
pub struct Bootstrapped {
    /// The account.
    pub account: Account,
    /// Its first project.
    pub project: Project,
    /// The admin user.
    pub admin: User,
    /// The admin's group (holds the plan's owner set on all projects).
    pub owner_group: GroupId,
    /// The first service token.
    pub token: ServiceToken,
}

/// A user's standing in one account, as the permission rules need it.
#[derive(Clone, Debug)]
pub struct Membership {
    /// The account.
    pub account_id: AccountId,
    /// The user.
    pub user_id: UserId,
    /// The seat.
    pub license: License,
    /// Grants of the user's active groups in this account.
    pub access: UserAccess,
}

/// Maps a project id to its account, for scope checks.
#[derive(Clone, Copy, Debug)]
pub struct ProjectOwner {
    /// The project.
    pub project_id: ProjectId,
    /// Its account.
    pub account_id: AccountId,
    /// Whether it is active.
    pub active: bool,
}

/// The stored parts of a freshly generated token: uid, digest and hint (never the secret).
#[derive(Clone, Copy, Debug)]
pub struct NewServiceTokenParts<'a> {
    /// Public handle.
    pub uid: &'a str,
    /// SHA-256 of the whole token.
    pub digest: TokenDigest,
    /// Display hint.
    pub hint: &'a str,
}
