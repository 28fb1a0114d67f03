//! The route table against the permission catalog, row by row, over real HTTP.
//!
//! What this file proves, for every row of `routes::table::table()` as it stands when it runs:
//!
//! 1. A row that needs a permission answers 403 to exactly the (permission set, scope) pairs that
//!    `catalog.json` says lack it, and lets every other pair through (never 401/403/5xx). The
//!    expectation is computed from the catalog file itself, read here with `serde_json`, not from
//!    the server's compiled catalog or decision function, so a wrong bit anywhere between the two
//!    shows up as a failure.
//! 2. An account-scoped row never reaches another account: an account admin of A gets 404 (or 403)
//!    at paths naming account B or B's objects, never sees B's data, and B is unchanged after.
//! 3. A row without a permission is one this file knows is public or identity-only: a route added
//!    without a permission fails until someone decides, here, that it needs none.
//! 4. Every non-public row answers 401 with one and the same body to a missing, malformed, unknown
//!    or revoked token.

use latchkey_core::{
    AccountId, Cidr, Grant, Minter, Plan, ProjectId, RuleType, Scope, TokenFormat, TokenId,
    TokenKind,
};
use latchkey_server::routes::table::{table, Requirement, RouteSpec};
use latchkey_server::ServerConfig;
use latchkey_store::{Actor, AuditQuery, IpRuleInput, NewServiceToken, StoreError};
use reqwest::Method;
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::time::Instant;

use crate::common::{grant, spawn_app, spawn_app_with, App};

// ---------------------------------------------------------------------------------------------
// The catalog, read from the file.
// ---------------------------------------------------------------------------------------------

/// `catalog.json`, parsed as plain JSON.
struct CatalogFile(Value);

impl CatalogFile {
    fn load() -> CatalogFile {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../latchkey-core/catalog.json");
        let text = std::fs::read_to_string(path).expect("catalog.json is readable");
        CatalogFile(serde_json::from_str(&text).expect("catalog.json is JSON"))
    }

    /// Every permission set's slug, sorted.
    fn sets(&self) -> Vec<String> {
        let mut sets: Vec<String> = self.0["permission_sets"]
            .as_object()
            .expect("permission_sets is an object")
            .keys()
            .cloned()
            .collect();
        sets.sort();
        sets
    }

    fn names(&self, pointer: &str) -> Vec<&str> {
        self.0
            .pointer(pointer)
            .and_then(Value::as_array)
            .unwrap_or_else(|| panic!("catalog.json has no list at {pointer}"))
            .iter()
            .map(|v| v.as_str().expect("a string"))
            .collect()
    }

    /// True when a service token on an Enterprise account may hold `set`: the plan offers it and
    /// it is not user-only. Minting anything else is refused.
    fn offered_to_service_tokens(&self, set: &str) -> bool {
        self.names("/plans/enterprise").contains(&set)
            && !self.names("/user_only_sets").contains(&set)
    }

    /// `account` or `project`.
    fn level(&self, resource: &str) -> &'static str {
        if self.names("/resources/account").contains(&resource) {
            "account"
        } else if self.names("/resources/project").contains(&resource) {
            "project"
        } else {
            panic!("the route table names {resource}, which catalog.json does not list")
        }
    }

    /// The access `set` gives on `resource` (in its level's row), as a rank.
    fn cell(&self, set: &str, level: &str, resource: &str) -> u8 {
        let cell = self.0["permission_sets"][set][level][resource]
            .as_str()
            .unwrap_or_else(|| panic!("catalog.json: {set} has no {level} cell for {resource}"));
        rank(cell)
    }

    /// Whether a service token holding only `set` on `scope` passes the route guard's check of
    /// `permission` (`resource:access`).
    ///
    /// The guard asks the decision function about the account as a whole: no project. In
    /// `effective.rs` a grant's account-level cells count whatever its scope, while its
    /// project-level cells go to "all projects" only for an all-projects grant (a one-project
    /// grant puts them on that project alone); with no project named, `decide` reads the
    /// account-level bits for an account-level resource and the all-projects bits for a
    /// project-level one. So:
    /// - account-level resource: the set's account cell, on either scope;
    /// - project-level resource: the set's project cell on an all-projects grant, nothing on a
    ///   one-project grant.
    ///
    /// Write implies read: `write` covers both, `read` only read (`permission.rs`).
    fn covers(&self, set: &str, scope: Scope, permission: &str) -> bool {
        let (resource, access) = permission
            .split_once(':')
            .unwrap_or_else(|| panic!("{permission} is not resource:access"));
        let needed = rank(access);
        assert!(needed > 0, "{permission}: a route needs read or write");
        let level = self.level(resource);
        let held = match (level, scope) {
            ("account", _) => self.cell(set, "account", resource),
            (_, Scope::AllProjects) => self.cell(set, "project", resource),
            (_, Scope::Project(_)) => 0,
        };
        held >= needed
    }

    /// Whether a single grant of `set` at `scope` covers `permission` on project `target` (the
    /// route table's `OnProject` rows): an all-projects grant covers every project, a
    /// one-project grant only its own.
    fn covers_on(&self, set: &str, scope: Scope, permission: &str, target: ProjectId) -> bool {
        let (resource, access) = permission.split_once(':').unwrap();
        let held = match (self.level(resource), scope) {
            ("account", _) => self.cell(set, "account", resource),
            (_, Scope::AllProjects) => self.cell(set, "project", resource),
            (_, Scope::Project(p)) if p == target => self.cell(set, "project", resource),
            (_, Scope::Project(_)) => 0,
        };
        held >= rank(access)
    }
}

/// `none` < `read` < `write`.
fn rank(access: &str) -> u8 {
    match access {
        "none" => 0,
        "read" => 1,
        "write" => 2,
        other => panic!("unknown access level {other}"),
    }
}

// ---------------------------------------------------------------------------------------------
// Tokens and paths.
// ---------------------------------------------------------------------------------------------

/// A service token made for a test.
struct Minted {
    id: TokenId,
    uid: String,
    secret: String,
}

/// Mints a service token as the operator, passing refusals back (the harness's `mint` unwraps).
async fn mint(
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
fn grant_on(set: &str, scope: Scope) -> Grant {
    match scope {
        Scope::AllProjects => grant(&format!("{set}:all")),
        Scope::Project(p) => grant(&format!("{set}:project={p}")),
    }
}

/// Makes a deny rule for a documentation range (so it never fences out 127.0.0.1, whatever the
/// switch), leaving the account's switch as it is; returns its id.
async fn ip_rule(app: &App, account: AccountId, name: &str) -> i64 {
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
enum Param {
    Account,
    Token,
    Project,
    IpRule,
    User,
    Group,
    Invite,
    /// Nothing this file knows how to make: filled with [`NO_SUCH_ID`], so a permitted call gets
    /// 404 from its handler (still not 401/403). Teach [`param_kind`] about new collections.
    Unknown,
}

/// The id put where this file has no real object to name.
const NO_SUCH_ID: i64 = 999_999;

fn param_kind(name: &str, collection: &str) -> Param {
    match (name, collection) {
        ("account_id", _) => Param::Account,
        ("token_id", _) | ("id", "service-tokens") => Param::Token,
        ("project_id", _) | ("id", "projects") => Param::Project,
        ("id", "ip-restrictions") => Param::IpRule,
        ("user_id", _) => Param::User,
        ("id", "groups") | ("id", "group-permissions") => Param::Group,
        ("id", "invites") => Param::Invite,
        _ => Param::Unknown,
    }
}

/// The kinds of the path's parameters, in order.
fn params(path: &str) -> Vec<Param> {
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
struct Ids {
    account: AccountId,
    token: TokenId,
    project: ProjectId,
    ip_rule: i64,
    user: i64,
    group: i64,
    invite: i64,
}

/// Which of a member, a group and an invitation the path names.
#[derive(Clone, Copy)]
struct Wanted {
    user: bool,
    group: bool,
    invite: bool,
}

/// Makes the member, group and invitation `want` asks for in `account` (named after `tag`);
/// [`NO_SUCH_ID`] for the others.
async fn directory_objects(
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
            .add_group(
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

fn wanted(path: &str) -> Wanted {
    let kinds = params(path);
    Wanted {
        user: kinds.contains(&Param::User),
        group: kinds.contains(&Param::Group),
        invite: kinds.contains(&Param::Invite),
    }
}

const EVERYTHING: Wanted = Wanted {
    user: true,
    group: true,
    invite: true,
};

/// `path` with each `{param}` replaced by the id of its kind.
fn fill(path: &str, ids: Ids) -> String {
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
fn method_of(spec: &RouteSpec) -> Method {
    Method::from_bytes(spec.method.as_str().as_bytes()).unwrap()
}

/// Junk-but-JSON: `{}` for methods that carry a body, nothing otherwise.
fn junk_body(method: &Method) -> Option<Value> {
    (*method == Method::POST || *method == Method::PUT).then(|| json!({}))
}

/// Sends a request with an exact `Authorization` header value (or none); status, the
/// `WWW-Authenticate` header and the body text.
async fn send(
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

// ---------------------------------------------------------------------------------------------
// 1. The matrix.
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn every_account_scoped_route_answers_each_set_and_scope_as_the_matrix_says() {
    let started = Instant::now();
    let cat = CatalogFile::load();
    let app = spawn_app().await;
    // (method, path, permission, whether the permission is asked on the path's project)
    let rows: Vec<(Method, &'static str, &'static str, bool)> = table()
        .into_iter()
        .filter_map(|(spec, _)| match spec.requirement {
            Requirement::Permission(p) => Some((method_of(&spec), spec.path, p, false)),
            Requirement::OnProject(p) => Some((method_of(&spec), spec.path, p, true)),
            _ => None,
        })
        .collect();
    assert!(
        !rows.is_empty(),
        "the table has rows that need a permission"
    );
    // GETs read one shared token; every other call gets objects of its own (below).
    let shared = mint(
        &app,
        app.account,
        "matrix shared",
        &[grant("job_viewer:all")],
    )
    .await
    .unwrap();
    let (user, group, invite) =
        directory_objects(&app, app.account, "matrix-shared", EVERYTHING).await;
    let shared_ids = Ids {
        account: app.account,
        token: shared.id,
        project: app.p1,
        ip_rule: ip_rule(&app, app.account, "matrix shared").await,
        user,
        group,
        invite,
    };

    let (mut cases, mut denied, mut unknown_params) = (0usize, 0usize, 0usize);
    let mut refused: Vec<String> = Vec::new();
    for set in cat.sets() {
        for scope in [Scope::AllProjects, Scope::Project(app.p1)] {
            let g = grant_on(&set, scope);
            // One token per (set, scope), reused across rows.
            let caller = match mint(&app, app.account, "matrix caller", &[g]).await {
                Ok(m) => m,
                Err(e) => {
                    assert!(
                        !cat.offered_to_service_tokens(&set),
                        "{g}: minting refused ({e}) though catalog.json offers {set} on Enterprise"
                    );
                    refused.push(g.to_string());
                    continue;
                }
            };
            assert!(
                cat.offered_to_service_tokens(&set),
                "{g}: minted though catalog.json does not offer {set} to Enterprise service tokens"
            );
            for (method, path, permission, on_project) in &rows {
                let ids = if *method == Method::GET {
                    shared_ids
                } else {
                    fresh_targets(&app, path, g).await
                };
                assert_ne!(ids.token, caller.id, "never aim a call at its own token");
                unknown_params += params(path)
                    .iter()
                    .filter(|p| **p == Param::Unknown)
                    .count();
                let target = fill(path, ids);
                let (status, body) = app
                    .call(
                        method.clone(),
                        &target,
                        Some(&caller.secret),
                        junk_body(method),
                    )
                    .await;
                if *method != Method::GET {
                    drop_fresh_ip_rule(&app, ids).await;
                }
                let what = format!("{g} → {method} {target} (needs {permission})");
                let covered = if *on_project {
                    cat.covers_on(&set, scope, permission, ids.project)
                } else {
                    cat.covers(&set, scope, permission)
                };
                if covered {
                    assert!(
                        status != 401 && status != 403 && status < 500,
                        "{what}: catalog.json allows it, got {status}: {body}"
                    );
                } else {
                    denied += 1;
                    assert_eq!(status, 403, "{what}: catalog.json denies it: {body}");
                    let message = body["status"]["user_message"].as_str().unwrap_or("");
                    assert!(message.contains(permission), "{what}: {body}");
                }
                cases += 1;
            }
        }
    }

    // The refusals are exactly the catalog's: sets Enterprise does not offer, and user-only ones.
    let expected_refusals = 2 * cat
        .sets()
        .iter()
        .filter(|s| !cat.offered_to_service_tokens(s))
        .count();
    assert_eq!(refused.len(), expected_refusals, "refused: {refused:?}");
    assert!(
        denied > 0 && denied < cases,
        "a matrix of one outcome proves nothing"
    );
    // Rows needing a project-level permission are where the one-project rule above matters.
    let project_level_rows = rows
        .iter()
        .filter(|(_, _, p, _)| cat.level(p.split(':').next().unwrap()) == "project")
        .count();
    println!(
        "route matrix: {} rows ({project_level_rows} project-level) × {} sets × 2 scopes: \
         {cases} calls ({denied} denied), \
         {} (set, scope) pairs refused at minting ({}), {unknown_params} params without a real \
         object, {:.1?}",
        rows.len(),
        cat.sets().len(),
        refused.len(),
        refused.join(", "),
        started.elapsed()
    );
}

/// Objects of its own for a call that may change them: a new token holding the caller's own grant
/// (so that rotating or re-granting it never asks for more than the caller holds) and a new
/// project or IP rule, each made only when the path names one.
async fn fresh_targets(app: &App, path: &str, callers_grant: Grant) -> Ids {
    let kinds = params(path);
    let token = if kinds.contains(&Param::Token) {
        mint(app, app.account, "matrix target", &[callers_grant])
            .await
            .unwrap()
            .id
    } else {
        TokenId(NO_SUCH_ID)
    };
    let project = if kinds.contains(&Param::Project) {
        app.store
            .create_project(&Actor::operator(), app.account, "matrix target")
            .await
            .unwrap()
            .id
    } else {
        app.p1
    };
    let ip_rule = if kinds.contains(&Param::IpRule) {
        ip_rule(app, app.account, "matrix target").await
    } else {
        NO_SUCH_ID
    };
    let (user, group, invite) =
        directory_objects(app, app.account, "matrix-target", wanted(path)).await;
    Ids {
        account: app.account,
        token,
        project,
        ip_rule,
        user,
        group,
        invite,
    }
}

/// Deletes the call's own IP rule, if it had one (an account holds at most 100 active rules).
/// Deleting a rule the call already deleted changes nothing.
async fn drop_fresh_ip_rule(app: &App, ids: Ids) {
    if ids.ip_rule != NO_SUCH_ID {
        app.store
            .delete_ip_rule(&Actor::operator(), app.account, ids.ip_rule)
            .await
            .unwrap();
    }
}

// ---------------------------------------------------------------------------------------------
// 2. Other accounts.
// ---------------------------------------------------------------------------------------------

/// A body that would change something if the handler accepted it for this row.
fn harmful_body(method: &Method, path: &str) -> Option<Value> {
    if *method == Method::GET || *method == Method::DELETE {
        return None;
    }
    let widen = json!([{"permission_set": "account_admin", "all_projects": true}]);
    Some(if path.ends_with("/rule-set/") {
        json!({"enabled": false})
    } else if path.ends_with("/rotate/") {
        json!({"overlap_seconds": 0})
    } else if path.ends_with("/permissions/") || path.contains("/group-permissions/") {
        widen
    } else if path.ends_with("/license/") {
        json!({"license_type": "developer"})
    } else if path.ends_with("{id}/") || path.ends_with("{project_id}/") {
        json!({"name": "taken over", "state": 2})
    } else {
        json!({"name": "taken over", "permission_grants": widen})
    })
}

/// Everything about account B that a call from A must not change (never `last_used_at`).
async fn snapshot(app: &App, account: AccountId) -> Vec<String> {
    let mut out = vec![format!("{:?}", app.store.account(account).await.unwrap())];
    for t in app.store.list_service_tokens(account, None).await.unwrap() {
        let grants: Vec<String> = t.grants.iter().map(|g| g.grant.to_string()).collect();
        out.push(format!(
            "{} {} {:?} {} {:?} {:?} {:?} {grants:?}",
            t.id, t.name, t.state, t.updated_at, t.expires_at, t.revoke_at, t.rotated_from
        ));
    }
    out.push(format!(
        "{:?}",
        app.store.ip_restrictions(account).await.unwrap()
    ));
    out.push(format!("{:?}", app.store.groups(account).await.unwrap()));
    out.push(format!("{:?}", app.store.members(account).await.unwrap()));
    out.push(format!("{:?}", app.store.projects(account).await.unwrap()));
    out.push(format!("{:?}", app.store.invites(account).await.unwrap()));
    let audit = AuditQuery {
        account_id: Some(account),
        ..AuditQuery::default()
    };
    out.push(format!(
        "audit {}",
        app.store.audit_count(&audit).await.unwrap()
    ));
    out
}

#[tokio::test]
async fn every_account_scoped_route_hides_other_accounts() {
    let app = spawn_app().await;
    let op = Actor::operator();
    let b = app
        .store
        .create_account(&op, "Bravo Hidden Holdings", Plan::Enterprise)
        .await
        .unwrap()
        .id;
    let b_project = app
        .store
        .create_project(&op, b, "bravo-hidden-project")
        .await
        .unwrap()
        .id;
    let b_admin = mint(&app, b, "bravo-admin-token", &[grant("account_admin:all")])
        .await
        .unwrap();
    let b_target = mint(
        &app,
        b,
        "bravo-hidden-target",
        &[grant(&format!("job_admin:project={b_project}"))],
    )
    .await
    .unwrap();
    let b_rule = ip_rule(&app, b, "bravo-hidden-rule").await;
    let (b_user, b_group, b_invite) = directory_objects(&app, b, "bravo-hidden", EVERYTHING).await;
    let a_admin = app.token(app.account, &["account_admin:all"]).await;
    // Strings only B's data contains.
    let b_data = [
        "Bravo Hidden Holdings",
        "bravo-hidden-rule",
        "198.51.100.0/24",
        "bravo-hidden-project",
        "bravo-admin-token",
        "bravo-hidden-target",
        "bravo-hidden-group",
        "bravo-hidden-invitee",
        &b_admin.uid,
        &b_target.uid,
        &b_admin.secret,
        &b_target.secret,
    ];
    let before = snapshot(&app, b).await;

    let mut calls = 0;
    for (spec, _) in table() {
        if !spec.path.contains("{account_id}") {
            continue;
        }
        let method = method_of(&spec);
        let b_ids = Ids {
            account: b,
            token: b_target.id,
            project: b_project,
            ip_rule: b_rule,
            user: b_user,
            group: b_group,
            invite: b_invite,
        };
        let names_an_object = params(spec.path).len() > 1;
        // B's account in the path; and A's account with B's objects in it.
        let mut targets = vec![fill(spec.path, b_ids)];
        targets.push(fill(
            spec.path,
            Ids {
                account: app.account,
                ..b_ids
            },
        ));
        for (i, target) in targets.iter().enumerate() {
            let own_collection = i == 1 && !names_an_object;
            let (status, _, text) = send(
                &app,
                method.clone(),
                target,
                Some(&format!("Token {a_admin}")),
                harmful_body(&method, spec.path),
            )
            .await;
            calls += 1;
            let what = format!("{method} {target} as A's account admin");
            if !own_collection {
                assert!(
                    status == 404 || status == 403,
                    "{what}: B's things must be absent: {status} {text}"
                );
            } else {
                // A's own collection (list, create, audit log): A's business, minus B's data.
                assert!(status < 500, "{what}: {status} {text}");
            }
            for secret in b_data {
                assert!(!text.contains(secret), "{what} shows B's {secret}: {text}");
            }
        }
    }
    assert!(calls > 0, "the table has account-scoped rows");

    assert_eq!(
        snapshot(&app, b).await,
        before,
        "calls from A changed account B"
    );
    // B's own admin still sees B's target as it was.
    let (status, body) = app
        .call(
            Method::GET,
            &format!("/api/v3/accounts/{b}/service-tokens/{}/", b_target.id),
            Some(&b_admin.secret),
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["name"], "bravo-hidden-target", "{body}");
    assert_eq!(body["data"]["state"], 1, "{body}");
}

// ---------------------------------------------------------------------------------------------
// 3. Rows without a permission.
// ---------------------------------------------------------------------------------------------

/// Every row that checks no permission, and why that is right. A new row without a permission
/// fails the test below until it is added here, deliberately.
const WITHOUT_PERMISSION: &[(&str, &str, Requirement)] = &[
    // Liveness and readiness probes.
    ("GET", "/healthz", Requirement::Public),
    ("GET", "/livez", Requirement::Public),
    // The OpenAPI document describes the API, not any account's data.
    ("GET", "/api/openapi.json", Requirement::Public),
    // Whoever finds a leaked token may report it (GitHub-style), with no token of their own.
    ("POST", "/api/v1/credentials/revoke", Requirement::Public),
    // The invited person has no token yet: the one-time code is the credential (throttled).
    ("POST", "/api/v3/invites/redeem/", Requirement::Public),
    // Asks about the caller's own permissions only.
    ("POST", "/api/v1/authorize", Requirement::Authenticated),
    // The caller itself, the catalog's constants, and the caller's own account.
    ("GET", "/api/v2/whoami/", Requirement::Authenticated),
    ("GET", "/api/v2/constants/", Requirement::Authenticated),
    ("GET", "/api/v2/accounts/", Requirement::Authenticated),
    ("GET", "/api/v3/accounts/", Requirement::Authenticated),
    // Forward-auth: the permission comes from the route map entry for the proxied request, and
    // the handler asks the decision function for it (tested against nginx in forward_auth.rs).
    ("GET", "/auth/forward", Requirement::Authenticated),
    ("POST", "/auth/forward", Requirement::Authenticated),
    ("PUT", "/auth/forward", Requirement::Authenticated),
    ("PATCH", "/auth/forward", Requirement::Authenticated),
    ("DELETE", "/auth/forward", Requirement::Authenticated),
    // The same for Envoy's ext_authz, which appends the original path to `/auth/forward`.
    ("GET", "/auth/forward/{*path}", Requirement::Authenticated),
    ("POST", "/auth/forward/{*path}", Requirement::Authenticated),
    ("PUT", "/auth/forward/{*path}", Requirement::Authenticated),
    ("PATCH", "/auth/forward/{*path}", Requirement::Authenticated),
    (
        "DELETE",
        "/auth/forward/{*path}",
        Requirement::Authenticated,
    ),
];

#[tokio::test]
async fn a_route_table_row_without_a_permission_is_public_or_identity_only() {
    let cat = CatalogFile::load();
    // Forward auth on: with no proxy named it answers 501 to everyone.
    let app = spawn_app_with(ServerConfig {
        forward_auth_headers: Some(latchkey_server::ForwardAuthHeaders::Nginx),
        ..ServerConfig::default()
    })
    .await;
    // The weakest token there is: the offered set granting the fewest cells, on one project.
    let weakest = cat
        .sets()
        .into_iter()
        .filter(|s| cat.offered_to_service_tokens(s))
        .min_by_key(|s| {
            ["account", "project"]
                .iter()
                .flat_map(|level| {
                    cat.0["permission_sets"][s][level]
                        .as_object()
                        .unwrap()
                        .values()
                })
                .map(|v| rank(v.as_str().unwrap()) as usize)
                .sum::<usize>()
        })
        .unwrap();
    let weak = mint(
        &app,
        app.account,
        "weakest",
        &[grant_on(&weakest, Scope::Project(app.p1))],
    )
    .await
    .unwrap();

    let mut checked = 0;
    for (spec, _) in table() {
        // OnProject rows check a permission on the project in the path (directory.rs); User rows
        // act for the calling user on their own tokens only (personal_tokens.rs), and refuse
        // service tokens outright.
        if matches!(
            spec.requirement,
            Requirement::Permission(_) | Requirement::OnProject(_) | Requirement::User
        ) {
            continue;
        }
        let listed = WITHOUT_PERMISSION
            .iter()
            .find(|(m, p, _)| *m == spec.method.as_str() && *p == spec.path);
        let Some((_, _, requirement)) = listed else {
            panic!(
                "{} {} requires {:?} but no permission: give it one, or add it to \
                 WITHOUT_PERMISSION with the reason it needs none",
                spec.method, spec.path, spec.requirement
            );
        };
        assert_eq!(
            *requirement, spec.requirement,
            "{} {}",
            spec.method, spec.path
        );
        // `{*path}` is the proxied request's path (forward auth), not an object.
        assert!(
            !spec.path.replace("{*path}", "").contains('{'),
            "{} {} names an object but checks no permission",
            spec.method,
            spec.path
        );
        // And it really needs nothing more: no token for a public row, the weakest for the rest.
        let method = method_of(&spec);
        let token = (spec.requirement == Requirement::Authenticated).then_some(&weak.secret);
        let (status, body) = app
            .call(
                method.clone(),
                spec.path,
                token.map(String::as_str),
                junk_body(&method),
            )
            .await;
        assert!(
            status != 401 && status != 403 && status < 500,
            "{method} {} with {}: {status} {body}",
            spec.path,
            if token.is_some() {
                &weakest
            } else {
                "no token"
            }
        );
        checked += 1;
    }
    assert!(checked > 0);
}

// ---------------------------------------------------------------------------------------------
// 4. Unauthenticated calls.
// ---------------------------------------------------------------------------------------------

/// `secret` with its last character swapped for a different base62 character.
fn with_last_char_changed(secret: &str) -> String {
    let (head, last) = secret.split_at(secret.len() - 1);
    let other = if last == "x" { "y" } else { "x" };
    format!("{head}{other}")
}

#[tokio::test]
async fn unauthenticated_calls_to_every_non_public_route_get_one_401() {
    // Every one of these calls is a failed authentication from 127.0.0.1; lift the per-address
    // limit so the 429 guard (tested elsewhere) does not answer instead.
    let app = spawn_app_with(ServerConfig {
        failed_auth_limit: 1_000_000,
        ..ServerConfig::default()
    })
    .await;
    let unknown = TokenFormat::default().generate(TokenKind::Service);
    let revoked = mint(&app, app.account, "revoked", &[grant("account_admin:all")])
        .await
        .unwrap();
    app.store
        .revoke_service_token(
            &Actor::operator(),
            latchkey_core::Authority::Operator,
            None,
            revoked.id,
        )
        .await
        .unwrap();
    let live = mint(&app, app.account, "live", &[grant("job_viewer:all")])
        .await
        .unwrap();
    let headers: Vec<Option<String>> = vec![
        None,
        Some("Token".into()),
        Some("Token ".into()),
        Some("Basic dXNlcjpwYXNz".into()),
        Some("Tokenabc".into()),
        Some("Token not-a-latchkey-token".into()),
        Some(format!("Token {}", unknown.secret.expose())),
        Some(format!("Bearer {}", unknown.secret.expose())),
        Some(format!("Token {}", revoked.secret)),
        // A live token's id part with a wrong secret part: its last character changed to one it
        // is not (a fixed `x` would be the live token itself one time in 62).
        Some(format!("Token {}", with_last_char_changed(&live.secret))),
    ];

    let ids = Ids {
        account: app.account,
        token: live.id,
        project: app.p1,
        ip_rule: ip_rule(&app, app.account, "unauthenticated").await,
        user: NO_SUCH_ID,
        group: NO_SUCH_ID,
        invite: NO_SUCH_ID,
    };
    let mut bodies = BTreeSet::new();
    let mut calls = 0;
    for (spec, _) in table() {
        if spec.requirement == Requirement::Public {
            continue;
        }
        let method = method_of(&spec);
        let path = fill(spec.path, ids);
        for header in &headers {
            let (status, challenge, text) = send(
                &app,
                method.clone(),
                &path,
                header.as_deref(),
                junk_body(&method),
            )
            .await;
            let what = format!("{method} {path} with {header:?}");
            assert_eq!(status, 401, "{what}: {text}");
            assert_eq!(challenge.as_deref(), Some("Bearer"), "{what}");
            bodies.insert(text);
            calls += 1;
        }
    }
    assert!(calls > 0);
    assert_eq!(
        bodies.len(),
        1,
        "every 401 must look the same, whatever was wrong: {bodies:#?}"
    );
    // The live token was never touched by all that.
    let (status, _) = app
        .call(Method::GET, "/api/v2/whoami/", Some(&live.secret), None)
        .await;
    assert_eq!(status, 200);
}
