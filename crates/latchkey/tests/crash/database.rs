//! The database read directly with sqlx (no server in between): SQLite's own checks (PostgreSQL
//! keeps its own files and foreign keys sound), and every service token with its grant rows, its
//! audit trail and its change-feed row, checked against each other.

use serde_json::Value;
use sqlx::{AnyConnection, Connection, Row};
use std::collections::BTreeMap;

/// One grant as the test compares them: permission set, project (`None`: all projects) and
/// writable environment categories by name.
pub type Grant = (String, Option<i64>, Vec<String>);

/// A service token row with what hangs off it.
#[derive(Debug)]
pub struct StoredToken {
    /// Its name.
    pub name: String,
    /// State 1.
    pub active: bool,
    /// `rotated_from_id`.
    pub rotated_from: Option<i64>,
    /// Its grant rows, sorted.
    pub grants: Vec<Grant>,
    /// Change-feed rows with its digest (how other nodes hear of it).
    pub announced: i64,
}

/// One audit entry about a service token.
#[derive(Debug)]
pub struct AuditEvent {
    /// `service_token.created`, `permission.added`, …
    pub event: String,
    /// The token it is about.
    pub target: Option<i64>,
    /// Its context.
    pub context: Value,
}

/// What the file holds, read in one go.
pub struct Snapshot {
    /// `PRAGMA integrity_check`: `["ok"]` when sound.
    pub integrity: Vec<String>,
    /// Rows of `PRAGMA foreign_key_check`.
    pub foreign_key_violations: usize,
    /// Accounts and users: a second bootstrap would add to both.
    pub accounts: i64,
    /// See `accounts`.
    pub users: i64,
    /// Every service token by id.
    pub tokens: BTreeMap<i64, StoredToken>,
    /// Token ids of grant rows whose token does not exist.
    pub stray_grants: Vec<i64>,
    /// Every audit entry about a service token, in order.
    pub audit: Vec<AuditEvent>,
}

/// Reads the database at `db` (the server may be running on it: WAL lets us read beside it).
pub fn read(url: &str) -> Snapshot {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(read_async(url))
}

async fn read_async(url: &str) -> Snapshot {
    sqlx::any::install_default_drivers();
    let sqlite = url.starts_with("sqlite:");
    let url = if sqlite {
        format!("{url}?mode=ro")
    } else {
        url.to_owned()
    };
    let mut conn = AnyConnection::connect(&url).await.unwrap();
    let (integrity, foreign_key_violations) = if sqlite {
        let integrity: Vec<String> = sqlx::query_scalar("PRAGMA integrity_check")
            .fetch_all(&mut conn)
            .await
            .unwrap();
        let violations = sqlx::query("PRAGMA foreign_key_check")
            .fetch_all(&mut conn)
            .await
            .unwrap()
            .len();
        (integrity, violations)
    } else {
        (vec!["ok".to_owned()], 0)
    };
    let count = |table: &str| format!("SELECT COUNT(*) FROM {table}");
    let accounts: i64 = sqlx::query_scalar(&count("accounts"))
        .fetch_one(&mut conn)
        .await
        .unwrap();
    let users: i64 = sqlx::query_scalar(&count("users"))
        .fetch_one(&mut conn)
        .await
        .unwrap();
    let mut tokens = BTreeMap::new();
    for r in sqlx::query(
        "SELECT id, name, state, rotated_from_id,
                (SELECT COUNT(*) FROM changes c WHERE c.digest = t.token_digest) AS announced
         FROM service_tokens t",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap()
    {
        let token = StoredToken {
            name: r.get("name"),
            active: r.get::<i64, _>("state") == 1,
            rotated_from: r.get("rotated_from_id"),
            grants: Vec::new(),
            announced: r.get("announced"),
        };
        tokens.insert(r.get::<i64, _>("id"), token);
    }
    let mut stray_grants = Vec::new();
    for r in sqlx::query(
        "SELECT service_token_id, permission_set, project_id, writable_envs FROM service_token_grants",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap()
    {
        let owner: i64 = r.get("service_token_id");
        let envs = latchkey_core::EnvCategories::from_bits(r.get::<i64, _>("writable_envs") as u8);
        let grant = (
            r.get("permission_set"),
            r.get("project_id"),
            envs.names().into_iter().map(String::from).collect(),
        );
        match tokens.get_mut(&owner) {
            Some(t) => t.grants.push(grant),
            None => stray_grants.push(owner),
        }
    }
    for t in tokens.values_mut() {
        t.grants.sort();
    }
    let audit = sqlx::query(
        "SELECT event_type, target_id, event_context FROM audit_log
         WHERE target_type = 'service_token' ORDER BY id",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap()
    .iter()
    .map(|r| AuditEvent {
        event: r.get("event_type"),
        target: r.get("target_id"),
        context: serde_json::from_str(&r.get::<String, _>("event_context")).unwrap_or(Value::Null),
    })
    .collect();
    conn.close().await.unwrap();
    Snapshot {
        integrity,
        foreign_key_violations,
        accounts,
        users,
        tokens,
        stray_grants,
        audit,
    }
}

/// A grant as the audit log writes it (`permission_set`, `project_id`,
/// `writable_environment_categories`).
pub fn grant_of_audit(g: &Value) -> Grant {
    (
        g["permission_set"].as_str().unwrap_or("?").to_owned(),
        g["project_id"].as_i64(),
        g["writable_environment_categories"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|n| n.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default(),
    )
}

impl Snapshot {
    /// Everything in the file that disagrees with itself: SQLite's own checks, grant rows
    /// without their token, and any token whose grant rows, state or rotation differ from what
    /// its audit trail says happened to it, or whose creation or revocation the change feed
    /// never announced.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if self.integrity != ["ok"] {
            problems.push(format!("integrity_check: {:?}", self.integrity));
        }
        if self.foreign_key_violations > 0 {
            let n = self.foreign_key_violations;
            problems.push(format!("foreign_key_check: {n} violations"));
        }
        if !self.stray_grants.is_empty() {
            let stray = &self.stray_grants;
            problems.push(format!("grant rows of missing tokens {stray:?}"));
        }
        for (id, token) in &self.tokens {
            problems.extend(self.trail_problems(*id, token));
        }
        for e in &self.audit {
            if e.target.is_none_or(|t| !self.tokens.contains_key(&t)) {
                problems.push(format!(
                    "audit entry {} about a missing token: {e:?}",
                    e.event
                ));
            }
            if e.event == "service_token.rotated" {
                let new = e.context["new_token_id"].as_i64();
                let successor = new.and_then(|n| self.tokens.get(&n));
                if successor.is_none_or(|s| s.rotated_from != e.target) {
                    problems.push(format!("rotation without its successor: {e:?}"));
                }
            }
        }
        problems
    }

    /// What one token's audit trail says it holds and is, against its rows.
    fn trail_problems(&self, id: i64, token: &StoredToken) -> Vec<String> {
        let mut problems = Vec::new();
        let trail: Vec<&AuditEvent> = self.audit.iter().filter(|e| e.target == Some(id)).collect();
        let count = |event: &str| trail.iter().filter(|e| e.event == event).count();
        if count("service_token.created") != 1 {
            let n = count("service_token.created");
            problems.push(format!("token {id}: {n} service_token.created entries"));
            return problems;
        }
        let mut held: Vec<Grant> = Vec::new();
        for e in &trail {
            match e.event.as_str() {
                "service_token.created" => {
                    let grants = e.context["permission_grants"].as_array();
                    held = grants.into_iter().flatten().map(grant_of_audit).collect();
                }
                "permission.removed" => {
                    let gone = grant_of_audit(&e.context["grant"]);
                    match held.iter().position(|g| *g == gone) {
                        Some(i) => {
                            held.remove(i);
                        }
                        None => problems.push(format!(
                            "token {id}: audit removes {gone:?}, which it did not hold"
                        )),
                    }
                }
                "permission.added" => held.push(grant_of_audit(&e.context["grant"])),
                _ => {}
            }
        }
        held.sort();
        if held != token.grants {
            problems.push(format!(
                "token {id}: grant rows {:?}, audit trail says {held:?}",
                token.grants
            ));
        }
        let revocations = count("service_token.revoked");
        if revocations != usize::from(!token.active) {
            problems.push(format!(
                "token {id}: active {} with {revocations} service_token.revoked entries",
                token.active
            ));
        }
        if let Some(old) = token.rotated_from {
            let rotations = self
                .audit
                .iter()
                .filter(|e| e.event == "service_token.rotated" && e.target == Some(old))
                .filter(|e| e.context["new_token_id"].as_i64() == Some(id))
                .count();
            if rotations != 1 {
                problems.push(format!(
                    "token {id}: rotated from {old} with {rotations} service_token.rotated entries"
                ));
            }
        }
        // Its creation, and its revocation if revoked, each told other nodes.
        if token.announced < 1 + i64::from(!token.active) {
            problems.push(format!(
                "token {id}: active {}, {} change-feed rows",
                token.active, token.announced
            ));
        }
        problems
    }
}
