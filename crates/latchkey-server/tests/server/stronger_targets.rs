//! The one rule of power over the whole route table (issue 8, findings 2 and 3): whoever writes
//! to a token, group, member or invitation must hold everything it holds before the write and
//! everything it will hold after; the leaked-credential report is the one exception.
//!
//! For every write row of `routes::table::table()` whose path names a principal, a strong target
//! is made (an `account_admin:all` token, a group holding `account_admin:all`, a member in it, an
//! invitation into it); every weaker caller that passes the row's own permission check is
//! refused (403, in the rule's words) and nothing changes — not the account's tokens, groups,
//! members, invitations or audit log, and the strong principals still authorize what they did;
//! then a caller holding everything succeeds on the same row, so refusing everyone cannot pass.
//! A write row on a principal that this file neither exercises nor exempts with a reason fails.
//! The concrete cases follow, each as its own test.

use latchkey_core::License;
use latchkey_server::routes::table::{table, Requirement, RouteSpec};
use reqwest::Method;
use serde_json::{json, Value};

use crate::common::{spawn_app, until_status, App};

/// Words that mark a path as one about principals (tokens, groups, members, seats).
const PRINCIPAL_WORDS: [&str; 8] = [
    "tokens",
    "groups",
    "group-permissions",
    "users",
    "members",
    "invites",
    "licenses",
    "credentials",
];

/// Write rows on principals the rule does not judge, and why.
const EXEMPT: [(&str, &str, &str); 4] = [
    (
        "POST",
        "/api/v1/credentials/revoke",
        "the leaked-credential report: whoever holds a secret may revoke it (tested below)",
    ),
    (
        "POST",
        "/api/v3/invites/redeem/",
        "the invited person takes the seat whose inviter the rule already judged",
    ),
    (
        "POST",
        "/api/v3/accounts/{account_id}/personal-tokens/",
        "a user acting for themselves: a PAT carries exactly its user's permissions",
    ),
    (
        "DELETE",
        "/api/v3/accounts/{account_id}/personal-tokens/{id}/",
        "a user's own token only; another's is 404 (personal_tokens.rs)",
    ),
];

/// Weaker callers tried on every row: each holds the write permissions of some rows at account
/// level but lacks what the targets hold on all projects (or at account level).
const WEAKER: [&str; 3] = [
    "account_admin:project={p1}",
    "security_admin:all",
    "admin:project={p1}",
];

/// The principal a row acts on.
#[derive(Clone, Copy, Debug)]
enum Target {
    Token,
    Group,
    Member,
    Invite,
}

/// Which half of the rule refuses the weaker caller.
#[derive(Clone, Copy, Debug)]
enum Refusal {
    /// The target holds more than the caller (`Error::StrongerTarget`).
    Before,
    /// The write would create more than the caller holds (`Error::Escalation`).
    After,
}

impl Refusal {
    fn words(self) -> &'static str {
        match self {
            Refusal::Before => "which you do not hold",
            Refusal::After => "which its creator does not hold",
        }
    }
}

/// How one row of the table is exercised.
struct Case {
    method: &'static str,
    /// The row's path pattern, as the table has it.
    path: String,
    target: Target,
    refusal: Refusal,
    /// The body sent, by the weaker callers and then by the one holding everything.
    body: fn(&World) -> Option<Value>,
}

/// Every write row on a principal, with the write tried on it. Bodies of changes ask for
/// nothing beyond the weaker callers, so their refusal comes from what the target holds.
fn cases() -> Vec<Case> {
    use Refusal::{After, Before};
    use Target::{Group, Invite, Member, Token};
    type Body = fn(&World) -> Option<Value>;
    let rows: [(&'static str, &str, Target, Refusal, Body); 14] = [
        ("POST", "service-tokens/", Token, After, |_| {
            Some(json!({"name": "stronger", "permission_grants": [all_admin()]}))
        }),
        ("DELETE", "service-tokens/{id}/", Token, Before, |_| None),
        ("POST", "service-tokens/{id}/", Token, Before, |_| {
            Some(json!({"allowed_cidrs": []}))
        }),
        ("PUT", "service-tokens/{id}/", Token, Before, |_| {
            Some(json!({"name": "mine now", "state": 2}))
        }),
        (
            "POST",
            "service-tokens/{id}/permissions/",
            Token,
            Before,
            |w| Some(json!([{"permission_set": "job_viewer", "project_id": w.app.p1.0}])),
        ),
        ("POST", "service-tokens/{id}/rotate/", Token, Before, |_| {
            Some(json!({}))
        }),
        ("POST", "groups/", Group, After, |_| {
            Some(json!({"name": "Owners too", "group_permissions": [all_admin()]}))
        }),
        ("POST", "groups/{id}/", Group, Before, |_| {
            Some(json!({"name": "Renamed", "state": 2}))
        }),
        ("POST", "group-permissions/{id}/", Group, Before, |_| {
            Some(json!([]))
        }),
        ("POST", "assign-groups/", Member, Before, |w| {
            Some(json!({"user_id": w.owner, "desired_group_ids": []}))
        }),
        ("DELETE", "users/{user_id}/", Member, Before, |_| None),
        ("POST", "users/{user_id}/license/", Member, Before, |_| {
            Some(json!({"license_type": "read_only"}))
        }),
        ("POST", "invites/", Invite, After, |w| {
            Some(
                json!({"email": "second@example.com", "license_type": "developer", "group_ids": [w.owners]}),
            )
        }),
        ("DELETE", "invites/{id}/", Invite, Before, |_| None),
    ];
    rows.into_iter()
        .map(|(method, rest, target, refusal, body)| Case {
            method,
            path: format!("/api/v3/accounts/{{account_id}}/{rest}"),
            target,
            refusal,
            body,
        })
        .collect()
}

/// An `account_admin` grant on all projects, as the API takes it.
fn all_admin() -> Value {
    json!({"permission_set": "account_admin", "all_projects": true})
}

/// An account with a strong principal of every kind, and a caller holding everything they hold.
struct World {
    app: App,
    /// An `account_admin:all` token: holds everything every target holds.
    admin: String,
    /// An `account_admin:all` token fenced to loopback.
    strong: i64,
    strong_secret: String,
    /// A group holding `account_admin:all` (the Owner group of a bootstrapped account).
    owners: i64,
    /// A developer in `owners`, and their personal access token.
    owner: i64,
    owner_pat: String,
    /// A pending developer invitation into `owners`.
    invite: i64,
}

impl World {
    async fn new() -> World {
        let app = spawn_app().await;
        let admin = app.token(app.account, &["account_admin:all"]).await;
        let body = json!({"name": "strong", "permission_grants": [all_admin()],
                          "allowed_cidrs": ["127.0.0.0/8"]});
        let (status, made) = app
            .call(Method::POST, &app.tokens(), Some(&admin), Some(body))
            .await;
        assert_eq!(status, 201, "{made}");
        let (owner, owner_pat) = app
            .user_with_pat(
                "owner@example.com",
                License::Developer,
                &["account_admin:all"],
            )
            .await;
        let owners = app.store.groups(app.account).await.unwrap();
        let owners = owners.iter().find(|g| g.members.contains(&owner)).unwrap();
        let body = json!({"email": "invitee@example.com", "license_type": "developer",
                          "group_ids": [owners.id.0]});
        let invites = format!("/api/v3/accounts/{}/invites/", app.account);
        let (status, invited) = app
            .call(Method::POST, &invites, Some(&admin), Some(body))
            .await;
        assert_eq!(status, 201, "{invited}");
        World {
            admin,
            strong: made["data"]["id"].as_i64().unwrap(),
            strong_secret: made["data"]["token_string"].as_str().unwrap().to_owned(),
            owners: owners.id.0,
            owner: owner.0,
            owner_pat,
            invite: invited["data"]["id"].as_i64().unwrap(),
            app,
        }
    }

    /// `/api/v3/accounts/{account}/{rest}`.
    fn at(&self, rest: &str) -> String {
        format!("/api/v3/accounts/{}/{rest}", self.app.account)
    }

    /// A row's path with this world's account and the case's target in it.
    fn path(&self, case: &Case) -> String {
        let id = match case.target {
            Target::Token => self.strong,
            Target::Group => self.owners,
            Target::Member => self.owner,
            Target::Invite => self.invite,
        };
        case.path
            .replace("{account_id}", &self.app.account.to_string())
            .replace("{id}", &id.to_string())
            .replace("{user_id}", &self.owner.to_string())
    }

    /// A new service token holding `spec` (`{p1}` stands for the first project).
    async fn token(&self, spec: &str) -> String {
        let spec = spec.replace("{p1}", &self.app.p1.to_string());
        self.app.token(self.app.account, &[spec.as_str()]).await
    }

    /// Everything a refused write could have touched, as the admin reads it: the account's
    /// tokens (grants and allowlists included), groups, members and invitations, and how many
    /// audit entries it has. `last_used` moves with every call, so it is left out.
    async fn state(&self) -> Value {
        let mut seen = json!({});
        for list in [
            "service-tokens/?limit=1000",
            "groups/",
            "users/",
            "invites/",
        ] {
            let (status, answer) = self.get(list).await;
            assert_eq!(status, 200, "{list}: {answer}");
            seen[list] = answer["data"].clone();
        }
        let (status, log) = self.get("audit-logs/?limit=1").await;
        assert_eq!(status, 200, "{log}");
        seen["audit entries"] = log["extra"]["pagination"]["total_count"].clone();
        forget_last_use(&mut seen);
        seen
    }

    /// `GET` of `rest` under the account, as the admin.
    async fn get(&self, rest: &str) -> (u16, Value) {
        self.app
            .call(Method::GET, &self.at(rest), Some(&self.admin), None)
            .await
    }

    /// Whether `secret` is allowed `permission` on the account.
    async fn allows(&self, secret: &str, permission: &str) -> bool {
        let (status, answer) = self
            .app
            .authorize(secret, json!({"permission": permission}))
            .await;
        status == 200 && answer["allowed"] == true
    }

    /// Whether the strong token and the Owner group's member still hold what they held.
    async fn strong_still_stand(&self) -> bool {
        self.allows(&self.strong_secret, "service_tokens:write")
            .await
            && self.allows(&self.owner_pat, "service_tokens:write").await
    }
}

/// Drops every `last_used` field, at any depth.
fn forget_last_use(value: &mut Value) {
    match value {
        Value::Object(fields) => {
            fields.remove("last_used");
            fields.values_mut().for_each(forget_last_use);
        }
        Value::Array(items) => items.iter_mut().for_each(forget_last_use),
        _ => {}
    }
}

/// The human message of an error answer.
fn message(answer: &Value) -> &str {
    answer["status"]["user_message"]
        .as_str()
        .unwrap_or_default()
}

fn is_write(method: &Method) -> bool {
    [Method::POST, Method::PUT, Method::PATCH, Method::DELETE].contains(method)
}

/// A write row whose path is about a principal.
fn on_a_principal(spec: &RouteSpec) -> bool {
    is_write(&spec.method) && PRINCIPAL_WORDS.iter().any(|w| spec.path.contains(w))
}

fn same_row(spec: &RouteSpec, method: &str, path: &str) -> bool {
    spec.method.as_str() == method && spec.path == path
}

/// Tries one row: every weaker caller passing its permission is refused and changes nothing;
/// the admin then succeeds and changes something. Returns what went wrong.
async fn prove(case: &Case, spec: &RouteSpec) -> Vec<String> {
    let row = format!("{} {}", spec.method, spec.path);
    let Requirement::Permission(permission) = spec.requirement else {
        return vec![format!(
            "{row}: not a permission row ({:?})",
            spec.requirement
        )];
    };
    let w = World::new().await;
    let path = w.path(case);
    let body = (case.body)(&w);
    let mut problems = Vec::new();
    let mut tried = 0;
    for weaker in WEAKER {
        let secret = w.token(weaker).await;
        if !w.allows(&secret, permission).await {
            continue;
        }
        tried += 1;
        let before = w.state().await;
        let (status, answer) = w
            .app
            .call(spec.method.clone(), &path, Some(&secret), body.clone())
            .await;
        if status != 403 || !message(&answer).contains(case.refusal.words()) {
            problems.push(format!(
                "{row}: {weaker} got {status} {answer}, not 403 \"…{}\"",
                case.refusal.words()
            ));
        }
        if w.state().await != before {
            problems.push(format!(
                "{row}: {weaker}'s refused write changed the account"
            ));
        }
        if !w.strong_still_stand().await {
            problems.push(format!(
                "{row}: after {weaker}, a strong principal lost power"
            ));
        }
    }
    if tried == 0 {
        problems.push(format!("{row}: none of {WEAKER:?} passes {permission}"));
    }
    let before = w.state().await;
    let (status, answer) = w
        .app
        .call(spec.method.clone(), &path, Some(&w.admin), body)
        .await;
    if !(200..300).contains(&status) {
        problems.push(format!("{row}: account_admin:all got {status} {answer}"));
    } else if w.state().await == before {
        problems.push(format!("{row}: account_admin:all's write changed nothing"));
    }
    problems
}

#[tokio::test]
async fn every_write_on_a_principal_is_refused_to_a_weaker_caller_and_done_for_one_holding_everything(
) {
    let cases = cases();
    let rows: Vec<RouteSpec> = table()
        .into_iter()
        .map(|(spec, _)| spec)
        .filter(on_a_principal)
        .collect();
    let unexercised: Vec<String> = rows
        .iter()
        .filter(|r| !cases.iter().any(|c| same_row(r, c.method, &c.path)))
        .filter(|r| !EXEMPT.iter().any(|(m, p, _)| same_row(r, m, p)))
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    assert!(
        unexercised.is_empty(),
        "write rows on principals that this file neither exercises nor exempts: {unexercised:#?}"
    );
    for (method, path) in cases
        .iter()
        .map(|c| (c.method, c.path.as_str()))
        .chain(EXEMPT.iter().map(|(m, p, _)| (*m, *p)))
    {
        assert!(
            rows.iter().any(|r| same_row(r, method, path)),
            "{method} {path} is no write row on a principal any more: update this file"
        );
    }
    let mut problems = Vec::new();
    for case in &cases {
        let spec = rows
            .iter()
            .find(|r| same_row(r, case.method, &case.path))
            .unwrap();
        problems.extend(prove(case, spec).await);
    }
    assert!(problems.is_empty(), "{problems:#?}");
}

/// Calls `attempts` as `secret`; each must be 403 in the rule's words (either half).
async fn all_refused(w: &World, secret: &str, attempts: &[(Method, String, Option<Value>)]) {
    for (method, path, body) in attempts {
        let (status, answer) = w
            .app
            .call(method.clone(), path, Some(secret), body.clone())
            .await;
        let said = message(&answer);
        assert_eq!(status, 403, "{method} {path}: {answer}");
        assert!(
            said.contains(Refusal::Before.words()) || said.contains(Refusal::After.words()),
            "{method} {path}: refused, but not by the rule: {said}"
        );
    }
}

#[tokio::test]
async fn an_account_admin_of_one_project_can_neither_unfence_regrant_rotate_nor_revoke_one_of_all_projects(
) {
    let w = World::new().await;
    let weak_id = w
        .app
        .mint(&[crate::common::grant(&format!(
            "account_admin:project={}",
            w.app.p1
        ))])
        .await;
    let (weak_id, weak) = weak_id;
    let strong = w.at(&format!("service-tokens/{}/", w.strong));
    let before = w.state().await;
    let attempts = [
        (
            Method::POST,
            strong.clone(),
            Some(json!({"allowed_cidrs": []})),
        ),
        (
            Method::POST,
            strong.clone(),
            Some(json!({"allowed_cidrs": ["192.0.2.0/24"]})),
        ),
        (
            Method::POST,
            format!("{strong}permissions/"),
            Some(json!([])),
        ),
        (
            Method::POST,
            format!("{strong}permissions/"),
            Some(json!([{"permission_set": "job_viewer", "project_id": w.app.p1.0}])),
        ),
        (
            Method::POST,
            format!("{strong}rotate/"),
            Some(json!({"overlap_seconds": 60})),
        ),
        (Method::PUT, strong.clone(), Some(json!({"state": 2}))),
        (Method::DELETE, strong.clone(), None),
    ];
    all_refused(&w, &weak, &attempts).await;
    assert_eq!(
        w.state().await,
        before,
        "a refused write changed the account"
    );
    let (_, held) = w.get(&format!("service-tokens/{}/", w.strong)).await;
    assert_eq!(held["data"]["allowed_cidrs"], json!(["127.0.0.0/8"]));
    assert_eq!(held["data"]["state"], 1);
    assert_eq!(
        held["data"]["permission_grants"].as_array().unwrap().len(),
        1
    );
    assert!(w.allows(&w.strong_secret, "service_tokens:write").await);

    // The rule runs one way: the all-projects admin fences and revokes the one-project admin.
    let weak_path = w.at(&format!("service-tokens/{}/", weak_id.0));
    let fence = json!({"allowed_cidrs": ["192.0.2.0/24"]});
    let (status, answer) = w
        .app
        .call(
            Method::POST,
            &weak_path,
            Some(&w.strong_secret),
            Some(fence),
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    let (status, answer) = w
        .app
        .call(Method::DELETE, &weak_path, Some(&w.strong_secret), None)
        .await;
    assert_eq!(
        (status, &answer["data"]["state"]),
        (200, &json!(2)),
        "{answer}"
    );
}

#[tokio::test]
async fn a_security_admin_cannot_replace_rename_or_delete_the_owner_group() {
    let w = World::new().await;
    let security = w.token("security_admin:all").await;
    let group = w.at(&format!("groups/{}/", w.owners));
    let grants = w.at(&format!("group-permissions/{}/", w.owners));
    let before = w.state().await;
    let attempts = [
        (Method::POST, grants.clone(), Some(json!([]))),
        (
            Method::POST,
            grants.clone(),
            Some(json!([{"permission_set": "security_admin", "all_projects": true}])),
        ),
        (Method::POST, group.clone(), Some(json!({"name": "Mine"}))),
        (Method::POST, group.clone(), Some(json!({"state": 2}))),
    ];
    all_refused(&w, &security, &attempts).await;
    assert_eq!(
        w.state().await,
        before,
        "a refused write changed the account"
    );
    assert!(w.allows(&w.owner_pat, "service_tokens:write").await);

    // What counts is what the group holds: a group within the security admin is theirs to edit.
    let body = json!({"name": "Security", "group_permissions":
                      [{"permission_set": "security_admin", "all_projects": true}]});
    let (status, made) = w
        .app
        .call(Method::POST, &w.at("groups/"), Some(&w.admin), Some(body))
        .await;
    assert_eq!(status, 201, "{made}");
    let theirs = w.at(&format!("group-permissions/{}/", made["data"]["id"]));
    let (status, answer) = w
        .app
        .call(Method::POST, &theirs, Some(&security), Some(json!([])))
        .await;
    assert_eq!(status, 200, "{answer}");
}

#[tokio::test]
async fn a_security_admin_can_neither_make_a_member_it_nor_a_read_only_owner_a_developer() {
    let w = World::new().await;
    let security = w.token("security_admin:all").await;
    let plain = w
        .app
        .member("plain@example.com", None, License::Developer)
        .await;
    let (reader, reader_pat) = w
        .app
        .user_with_pat(
            "reader@example.com",
            License::ReadOnly,
            &["account_admin:all"],
        )
        .await;
    let license = |user: latchkey_core::UserId| w.at(&format!("users/{}/license/", user.0));
    let attempts = [
        (
            Method::POST,
            license(plain),
            Some(json!({"license_type": "it"})),
        ),
        (
            Method::POST,
            license(reader),
            Some(json!({"license_type": "developer"})),
        ),
        (
            Method::POST,
            w.at("assign-groups/"),
            Some(json!({"user_id": plain.0, "desired_group_ids": [w.owners]})),
        ),
    ];
    let before = w.state().await;
    all_refused(&w, &security, &attempts).await;
    assert_eq!(
        w.state().await,
        before,
        "a refused write changed the account"
    );
    assert!(!w.allows(&reader_pat, "service_tokens:write").await);

    // Someone holding everything the new seat gives may give it.
    for (method, path, body) in attempts {
        let (status, answer) = w.app.call(method, &path, Some(&w.admin), body).await;
        assert_eq!(status, 200, "{path}: {answer}");
    }
    crate::common::eventually("the reader's promotion reaching the verifier", async || {
        w.allows(&reader_pat, "service_tokens:write")
            .await
            .then_some(())
    })
    .await;
}

#[tokio::test]
async fn an_admin_of_one_project_cannot_offer_or_give_an_it_or_read_only_seat() {
    let w = World::new().await;
    let admin_of_p1 = w.token("admin:project={p1}").await;
    let plain = w
        .app
        .member("plain@example.com", None, License::Developer)
        .await;
    let invite = |license: &str| {
        let body = json!({"email": "new@example.com", "license_type": license});
        (Method::POST, w.at("invites/"), Some(body))
    };
    let give = |license: &str| {
        let path = w.at(&format!("users/{}/license/", plain.0));
        (Method::POST, path, Some(json!({"license_type": license})))
    };
    let before = w.state().await;
    let attempts = [
        invite("it"),
        invite("read_only"),
        give("it"),
        give("read_only"),
    ];
    all_refused(&w, &admin_of_p1, &attempts).await;
    assert_eq!(
        w.state().await,
        before,
        "a refused write changed the account"
    );

    // A developer seat in no group holds nothing: within anyone, so offered.
    let (method, path, body) = invite("developer");
    let (status, answer) = w.app.call(method, &path, Some(&admin_of_p1), body).await;
    assert_eq!(status, 201, "{answer}");
}

#[tokio::test]
async fn the_it_license_is_refused_on_a_plan_without_security_admin() {
    let app = spawn_app().await;
    let team = app
        .store
        .create_account(
            &latchkey_store::Actor::operator(),
            "T",
            latchkey_core::Plan::Team,
        )
        .await
        .unwrap();
    let admin = app.token(team.id, &["account_admin:all"]).await;
    let invites = format!("/api/v3/accounts/{}/invites/", team.id);
    let body = json!({"email": "it@example.com", "license_type": "it"});
    let (status, answer) = app
        .call(Method::POST, &invites, Some(&admin), Some(body))
        .await;
    assert_eq!(
        (status, &answer["data"]["field"]),
        (400, &json!("license_type")),
        "{answer}"
    );
    let (_, listed) = app.call(Method::GET, &invites, Some(&admin), None).await;
    assert_eq!(listed["data"], json!([]));

    let body = json!({"email": "ro@example.com", "license_type": "read_only"});
    let (status, answer) = app
        .call(Method::POST, &invites, Some(&admin), Some(body))
        .await;
    assert_eq!(
        status, 201,
        "the Team plan offers read-only seats: {answer}"
    );
}

#[tokio::test]
async fn an_anonymous_leak_report_revokes_even_an_all_projects_account_admin() {
    let w = World::new().await;
    let body = json!({"credentials": [w.strong_secret]});
    let (status, answer) = w
        .app
        .call(Method::POST, "/api/v1/credentials/revoke", None, Some(body))
        .await;
    assert_eq!(status, 202, "{answer}");
    until_status(&w.app, &w.strong_secret, 401).await;
    let (_, held) = w.get(&format!("service-tokens/{}/", w.strong)).await;
    assert_eq!(held["data"]["state"], 2);
}
