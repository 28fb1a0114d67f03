//! Tokens and paths: service tokens minted for a test, the objects a path names (members, groups,
//! invitations, IP rules), a row's path filled with their ids, and a request sent with an exact
//! `Authorization` header.

use latchkey_core::{
    AccountId, Cidr, Grant, Minter, ProjectId, RuleType, Scope, TokenFormat, TokenId, TokenKind,
};
use latchkey_server::routes::table::RouteSpec;
use latchkey_store::{Actor, IpRuleInput, NewServiceToken, StoreError};
use reqwest::Method;
use serde_json::{json, Value};

use crate::common::{grant, App};

/// A service token made for a test.
pub(super) struct Minted {
    pub(super) id: TokenId,
    pub(super) uid: String,
    pub(super) secret: String,
}

/// Mints a service token as the operator, passing refusals back (the harness's `mint` unwraps).
pub(super) async fn mint(
    app: &App,
    account: AccountId,
    name: &str,
    grants: &[Grant],
) -> Result<Minted, StoreError> {
    let new = TokenFormat::default().generate(TokenKind::Service);
    let token = app
        .store
        .create_service_token(
            &Actor::operator(),
            Minter::Operator,
            &NewServiceToken {
                account_id: account,
                name,
                grants,
                expires_at: None,
                allowed_cidrs: &[],
                uid: &new.uid,
                digest: new.digest,
                hint: &new.hint,
            },
        )
        .await?;
    Ok(Minted {
        id: token.id,
        uid: token.uid,
        secret: new.secret.expose().to_owned(),
    })
}

/// `SET:all` or `SET:project=ID`.
pub(super) fn grant_on(set: &str, scope: Scope) -> Grant {
    match scope {
        Scope::AllProjects => grant(&format!("{set}:all")),
        Scope::Project(p) => grant(&format!("{set}:project={p}")),
    }
}

/// Makes a deny rule for a documentation range (so it never fences out 127.0.0.1, whatever the
/// switch), leaving the account's switch as it is; returns its id.
pub(super) async fn ip_rule(app: &App, account: AccountId, name: &str) -> i64 {
    let cidrs: Vec<Cidr> = vec!["198.51.100.0/24".parse().unwrap()];
    let input = IpRuleInput {
        name,
        description: "",
        rule_type: RuleType::Deny,
        cidrs: &cidrs,
    };
    app.store
        .create_ip_rule(&Actor::operator(), account, &input, None)
        .await
        .unwrap()
        .id
}

/// What a `{param}` in a route path names, judged by its name or the collection before it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Param {
    Account,
    Token,
    Project,
    IpRule,
    User,
    Group,
    Invite,
    /// Nothing this suite knows how to make: filled with [`NO_SUCH_ID`], so a permitted call gets
    /// 404 from its handler (still not 401/403). Teach [`param_kind`] about new collections.
    Unknown,
}

/// The id put where this suite has no real object to name.
pub(super) const NO_SUCH_ID: i64 = 999_999;

pub(super) fn param_kind(name: &str, collection: &str) -> Param {
    match (name, collection) {
        ("account_id", _) => Param::Account,
        ("token_id", _) | ("id", "service-tokens") => Param::Token,
        ("project_id", _) | ("id", "projects") => Param::Project,
        ("id", "ip-restrictions") => Param::IpRule,
        ("user_id", _) => Param::User,
        ("id", "groups" | "group-permissions") => Param::Group,
        ("id", "invites") => Param::Invite,
        _ => Param::Unknown,
    }
}

/// The kinds of the path's parameters, in order.
pub(super) fn params(path: &str) -> Vec<Param> {
    let segments: Vec<&str> = path.split('/').collect();
    (0..segments.len())
        .filter_map(|i| {
            let name = segments[i].strip_prefix('{')?.strip_suffix('}')?;
            let collection = if i > 0 { segments[i - 1] } else { "" };
            Some(param_kind(name, collection))
        })
        .collect()
}

/// The ids to put in a path.
#[derive(Clone, Copy)]
pub(super) struct Ids {
    pub(super) account: AccountId,
    pub(super) token: TokenId,
    pub(super) project: ProjectId,
    pub(super) ip_rule: i64,
    pub(super) user: i64,
    pub(super) group: i64,
    pub(super) invite: i64,
}

/// Which of a member, a group and an invitation the path names.
#[derive(Clone, Copy)]
pub(super) struct Wanted {
    pub(super) user: bool,
    pub(super) group: bool,
    pub(super) invite: bool,
}

/// Makes the member, group and invitation `want` asks for in `account` (named after `tag`);
/// [`NO_SUCH_ID`] for the others.
pub(super) async fn directory_objects(
    app: &App,
    account: AccountId,
    tag: &str,
    want: Wanted,
) -> (i64, i64, i64) {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    let op = Actor::operator();
    let user = if want.user {
        let u = app
            .store
            .create_user(&op, account, &format!("{tag}-{n}@example.com"), None)
            .await
            .unwrap();
        app.store
            .set_membership(
                &op,
                latchkey_core::Authority::Operator,
                account,
                u.id,
                latchkey_core::License::Developer,
            )
            .await
            .unwrap();
        u.id.0
    } else {
        NO_SUCH_ID
    };
    let group = if want.group {
        app.store
            .create_group(
                &op,
                latchkey_core::Authority::Operator,
                account,
                &format!("{tag}-group-{n}"),
                &[],
            )
            .await
            .unwrap()
            .id
            .0
    } else {
        NO_SUCH_ID
    };
    let invite = if want.invite {
        app.store
            .create_invite(
                &op,
                latchkey_core::Authority::Operator,
                account,
                &format!("{tag}-invitee-{n}@example.com"),
                latchkey_core::License::Developer,
                &[],
                &latchkey_core::TokenDigest::of(&format!("lkinv_{tag}_{n}")),
                latchkey_store::now() + time::Duration::days(1),
            )
            .await
            .unwrap()
            .id
    } else {
        NO_SUCH_ID
    };
    (user, group, invite)
}

pub(super) fn wanted(path: &str) -> Wanted {
    let kinds = params(path);
    Wanted {
        user: kinds.contains(&Param::User),
        group: kinds.contains(&Param::Group),
        invite: kinds.contains(&Param::Invite),
    }
}

pub(super) const EVERYTHING: Wanted = Wanted {
    user: true,
    group: true,
    invite: true,
};

/// `path` with each `{param}` replaced by the id of its kind.
pub(super) fn fill(path: &str, ids: Ids) -> String {
    let segments: Vec<&str> = path.split('/').collect();
    let filled: Vec<String> = (0..segments.len())
        .map(|i| {
            let Some(name) = segments[i]
                .strip_prefix('{')
                .and_then(|s| s.strip_suffix('}'))
            else {
                return segments[i].to_owned();
            };
            let collection = if i > 0 { segments[i - 1] } else { "" };
            match param_kind(name, collection) {
                Param::Account => ids.account.0.to_string(),
                Param::Token => ids.token.0.to_string(),
                Param::Project => ids.project.0.to_string(),
                Param::IpRule => ids.ip_rule.to_string(),
                Param::User => ids.user.to_string(),
                Param::Group => ids.group.to_string(),
                Param::Invite => ids.invite.to_string(),
                Param::Unknown => NO_SUCH_ID.to_string(),
            }
        })
        .collect();
    filled.join("/")
}

/// The row's method as the client spells it.
pub(super) fn method_of(spec: &RouteSpec) -> Method {
    Method::from_bytes(spec.method.as_str().as_bytes()).unwrap()
}

/// Junk-but-JSON: `{}` for methods that carry a body, nothing otherwise.
pub(super) fn junk_body(method: &Method) -> Option<Value> {
    (*method == Method::POST || *method == Method::PUT).then(|| json!({}))
}

/// Sends a request with an exact `Authorization` header value (or none); status, the
/// `WWW-Authenticate` header and the body text.
pub(super) async fn send(
    app: &App,
    method: Method,
    path: &str,
    authorization: Option<&str>,
    body: Option<Value>,
) -> (u16, Option<String>, String) {
    let mut req = app.http.request(method, format!("{}{path}", app.url));
    if let Some(a) = authorization {
        req = req.header("Authorization", a);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let challenge = resp
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_owned());
    (status, challenge, resp.text().await.unwrap())
}
