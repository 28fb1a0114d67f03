//! Crash safety: `kill -9` a real `latchkey serve` while clients create, re-grant, rotate and
//! revoke service tokens, restart it on the same database (a SQLite file; again on PostgreSQL), and check that every acknowledged
//! write is there, that each write still in flight happened whole or not at all, that the
//! database, its audit trail and its change feed agree, and that the restarted server decides
//! by what was acknowledged.
//!
//! SIGKILL ends the process, not the machine: a committed transaction is in the WAL (in the page
//! cache at least), so every acknowledged write must survive. Power loss is not tested here.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests and benches stop loudly on a failed setup"
)]

mod database;
mod model;
mod server;

use model::{grant_body, menu, Model, Projects, Token, Write, MENU_LEN, PROBES};
use serde_json::{json, Value};
use server::{request, Reply, Server};
use std::collections::BTreeMap;
use std::sync::mpsc;
use std::time::Duration;

/// Acknowledged writes before each kill: early, middle, late. The rounds run on one file, each
/// on the server the previous round restarted.
const KILL_AFTER: [usize; 3] = [20, 60, 150];
/// Clients writing at once.
const CLIENTS: usize = 4;
/// Revoked tokens presented to each restarted server: well under its burst of failed
/// authentications (30 per address and minute), which would answer 429 to everything after.
const REVOKED_PROBES: usize = 12;

/// What a client tells the test as it goes.
enum Event {
    /// A write answered 2xx in full.
    Acknowledged,
    /// A write answered otherwise, with the server up: a bug, whatever the crash does.
    Refused(String),
}

/// One client: writes with the Account Admin token on its own tokens, one request at a time.
struct Client {
    port: u16,
    admin: String,
    account: i64,
    projects: Projects,
    label: String,
    tokens: Vec<Token>,
    rng: u64,
    made: usize,
}

impl Client {
    /// A small xorshift: choices differ per client and round, and repeat from run to run.
    fn roll(&mut self, below: usize) -> usize {
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        (self.rng % below as u64) as usize
    }

    fn next_write(&mut self) -> Write {
        let live: Vec<usize> = (0..self.tokens.len())
            .filter(|&i| !self.tokens[i].revoked)
            .collect();
        let roll = self.roll(100);
        if live.is_empty() || roll < 35 {
            self.made += 1;
            return Write::Create {
                name: format!("{}-{}", self.label, self.made),
                grants: self.roll(MENU_LEN),
            };
        }
        let pick = live[self.roll(live.len())];
        let (id, grants) = (self.tokens[pick].id, self.tokens[pick].grants);
        match roll {
            35..=64 => Write::Regrant {
                id,
                to: (grants + 1 + self.roll(MENU_LEN - 1)) % MENU_LEN,
            },
            65..=79 => Write::Rotate { id },
            _ => Write::Revoke {
                id,
                via_update: roll.is_multiple_of(2),
            },
        }
    }

    fn send(&self, write: &Write) -> Reply {
        let base = format!("/api/v3/accounts/{}/service-tokens/", self.account);
        let grants = |choice: usize| {
            let list: Vec<Value> = menu(choice, self.projects).iter().map(grant_body).collect();
            Value::from(list)
        };
        let (method, path, body) = match write {
            Write::Create { name, grants: g } => (
                "POST",
                base,
                json!({"name": name, "permission_grants": grants(*g)}),
            ),
            Write::Regrant { id, to } => ("POST", format!("{base}{id}/permissions/"), grants(*to)),
            Write::Revoke {
                id,
                via_update: false,
            } => ("DELETE", format!("{base}{id}/"), Value::Null),
            Write::Revoke {
                id,
                via_update: true,
            } => ("POST", format!("{base}{id}/"), json!({"state": 2})),
            Write::Rotate { id } => (
                "POST",
                format!("{base}{id}/rotate/"),
                json!({"overlap_seconds": 0}),
            ),
        };
        let body = if body.is_null() {
            String::new()
        } else {
            body.to_string()
        };
        request(self.port, method, &path, Some(&self.admin), &body)
    }

    fn apply(&mut self, write: &Write, answer: &Value) {
        let data = &answer["data"];
        let made = |name: String, grants: usize, rotated_from: Option<i64>| Token {
            id: data["id"].as_i64().expect("the new token's id"),
            name,
            secret: Some(
                data["token_string"]
                    .as_str()
                    .expect("its secret")
                    .to_owned(),
            ),
            grants,
            revoked: false,
            rotated_from,
        };
        let index = |id: i64| self.tokens.iter().position(|t| t.id == id).unwrap();
        match write {
            Write::Create { name, grants } => self.tokens.push(made(name.clone(), *grants, None)),
            Write::Regrant { id, to } => {
                let i = index(*id);
                self.tokens[i].grants = *to;
            }
            Write::Revoke { id, .. } => {
                let i = index(*id);
                self.tokens[i].revoked = true;
            }
            Write::Rotate { id } => {
                let i = index(*id);
                self.tokens[i].revoked = true;
                let (name, grants) = (self.tokens[i].name.clone(), self.tokens[i].grants);
                self.tokens.push(made(name, grants, Some(*id)));
            }
        }
    }

    /// Writes until a request gets no whole answer (the server died); returns its tokens and
    /// that last write, whose fate is unknown.
    fn run(mut self, events: mpsc::Sender<Event>) -> (Vec<Token>, Option<Write>) {
        loop {
            let write = self.next_write();
            match self.send(&write) {
                Reply::Whole(status, answer) if (200..300).contains(&status) => {
                    self.apply(&write, &answer);
                    let _ = events.send(Event::Acknowledged);
                }
                Reply::Whole(status, answer) => {
                    let _ = events.send(Event::Refused(format!("{write:?}: {status} {answer}")));
                    return (self.tokens, None);
                }
                Reply::Lost => return (self.tokens, Some(write)),
            }
        }
    }
}

/// A request that must be answered in full with `status`; returns the body.
fn must(port: u16, method: &str, path: &str, token: &str, body: Value, status: u16) -> Value {
    let body = if body.is_null() {
        String::new()
    } else {
        body.to_string()
    };
    match request(port, method, path, Some(token), &body) {
        Reply::Whole(s, answer) if s == status => answer,
        other => panic!("{method} {path}: expected {status}, got {other:?}"),
    }
}

/// Runs the clients on `server` until `kill_after` writes are acknowledged, SIGKILLs it while
/// they are still sending, and folds what they were told into `model`. Returns what the server
/// printed on stdout that was not read before.
fn write_until_killed(
    server: &mut Server,
    model: &mut Model,
    admin: &str,
    account: i64,
    round: usize,
    kill_after: usize,
) -> Vec<String> {
    let (events, heard) = mpsc::channel();
    let mut owned: BTreeMap<usize, Vec<Token>> = BTreeMap::new();
    for t in std::mem::take(&mut model.tokens).into_values() {
        owned.entry(t.id as usize % CLIENTS).or_default().push(t);
    }
    let clients: Vec<_> = (0..CLIENTS)
        .map(|i| {
            let client = Client {
                port: server.port,
                admin: admin.to_owned(),
                account,
                projects: model.projects,
                label: format!("crash-r{round}-c{i}"),
                tokens: owned.remove(&i).unwrap_or_default(),
                rng: 0x9E37_79B9_7F4A_7C15 ^ ((round * CLIENTS + i + 1) as u64 * 0x1000_0001),
                made: 0,
            };
            let events = events.clone();
            std::thread::spawn(move || client.run(events))
        })
        .collect();
    drop(events);
    for n in 0..kill_after {
        // A generous ceiling: it only turns a stuck server into a failure instead of a hang.
        match heard.recv_timeout(Duration::from_secs(60)) {
            Ok(Event::Acknowledged) => {}
            Ok(Event::Refused(why)) => panic!("round {round}: a write was refused: {why}"),
            Err(e) => panic!("round {round}: {n} writes acknowledged, then {e:?}"),
        }
    }
    let printed = server.kill();
    for client in clients {
        let (tokens, in_flight) = client.join().unwrap();
        model.tokens.extend(tokens.into_iter().map(|t| (t.id, t)));
        model.in_flight.extend(in_flight);
    }
    for event in heard.try_iter() {
        if let Event::Refused(why) = event {
            panic!("round {round}: a write was refused: {why}");
        }
    }
    printed
}

/// Asks the restarted server about every token whose secret the clients hold: live ones are
/// allowed exactly what their grants allow, revoked ones (a sample) are not recognised.
fn probe(server: &Server, model: &Model, admin: &str) -> Vec<String> {
    let mut problems = Vec::new();
    let p = model.projects;
    let checks: Vec<Value> = PROBES
        .iter()
        .map(|c| {
            let project = if c.on_second { p.second } else { p.first };
            json!({"permission": c.permission, "project_id": project})
        })
        .collect();
    let checks = json!({ "checks": checks }).to_string();
    let mut revoked_left = REVOKED_PROBES;
    for t in model.tokens.values().rev() {
        let Some(secret) = &t.secret else { continue };
        let answer = if t.revoked {
            if revoked_left == 0 {
                continue;
            }
            revoked_left -= 1;
            let ask = json!({"permission": "jobs:read", "project_id": p.first}).to_string();
            match request(server.port, "POST", "/api/v1/authorize", Some(secret), &ask) {
                Reply::Whole(401, _) => continue,
                other => other,
            }
        } else {
            let reply = request(
                server.port,
                "POST",
                "/api/v1/authorize",
                Some(secret),
                &checks,
            );
            if let Reply::Whole(200, answer) = &reply {
                let allowed: Vec<bool> = (0..PROBES.len())
                    .map(|i| answer["results"][i]["allowed"] == true)
                    .collect();
                let expected: Vec<bool> = PROBES.iter().map(|c| c.allowed_by[t.grants]).collect();
                if allowed == expected {
                    continue;
                }
            }
            reply
        };
        problems.push(format!(
            "token {} (revoked {}, grants {:?}): {answer:?}",
            t.id,
            t.revoked,
            menu(t.grants, p)
        ));
    }
    let ask = json!({"permission": "service_tokens:write"}).to_string();
    match request(server.port, "POST", "/api/v1/authorize", Some(admin), &ask) {
        Reply::Whole(200, answer) if answer["allowed"] == true => {}
        other => problems.push(format!("the Account Admin token: {other:?}")),
    }
    problems
}

#[test]
fn kill_9_while_tokens_change_loses_no_acknowledged_write_and_leaves_nothing_half_made() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("l.db").display());
    crash_rounds(&url, dir.path());
}

/// The same on PostgreSQL: the server killed mid-transaction leaves PostgreSQL to roll back
/// what it had not committed.
#[test]
fn kill_9_on_postgresql_loses_no_acknowledged_write_and_leaves_nothing_half_made() {
    let Some(pg) = latchkey_test_postgres::TestPostgres::shared() else {
        return; // said loudly by `shared`
    };
    let dir = tempfile::tempdir().unwrap();
    crash_rounds(&pg.new_database(), dir.path());
}

/// Rounds of writes, each ended by `kill -9`, on the database at `url`, checked after each
/// restart.
fn crash_rounds(url: &str, dir: &std::path::Path) {
    let mut server = Server::start(url, dir);
    let admin = std::iter::from_fn(|| server.next_line(Duration::from_secs(20)))
        .find(|line| line.starts_with("lksvc_"))
        .expect("the first start prints the Account Admin token");
    let me = must(
        server.port,
        "POST",
        "/api/v1/authorize",
        &admin,
        json!({"permission": "service_tokens:write"}),
        200,
    );
    let account = me["principal"]["account_id"].as_i64().unwrap();
    let projects_path = format!("/api/v3/accounts/{account}/projects/");
    let listed = must(server.port, "GET", &projects_path, &admin, Value::Null, 200);
    let second = must(
        server.port,
        "POST",
        &projects_path,
        &admin,
        json!({"name": "Second"}),
        201,
    );
    let mut model = Model {
        admin: me["principal"]["id"].as_i64().unwrap(),
        projects: Projects {
            first: listed["data"][0]["id"].as_i64().unwrap(),
            second: second["data"]["id"].as_i64().unwrap(),
        },
        tokens: BTreeMap::new(),
        in_flight: Vec::new(),
    };

    for (round, &kill_after) in KILL_AFTER.iter().enumerate() {
        let printed =
            write_until_killed(&mut server, &mut model, &admin, account, round, kill_after);
        if round > 0 {
            assert!(printed.is_empty(), "a restart printed {printed:?}");
        }
        server = Server::start(url, dir);
        let snapshot = database::read(url);
        let mut problems = snapshot.problems();
        problems.extend(model.problems(&snapshot));
        assert!(
            problems.is_empty(),
            "after the kill at {kill_after} acknowledged writes ({} in flight): {problems:#?}",
            model.in_flight.len()
        );
        assert_eq!(
            (snapshot.accounts, snapshot.users),
            (1, 1),
            "a restart bootstrapped again"
        );
        eprintln!(
            "round {round}: killed after {kill_after} acknowledged writes; {} tokens; in flight {:?}",
            snapshot.tokens.len(),
            model.in_flight
        );
        model.settle(&snapshot);
        let problems = probe(&server, &model, &admin);
        assert!(
            problems.is_empty(),
            "the server restarted after the kill at {kill_after} decides otherwise: {problems:#?}"
        );
    }
    let printed = server.kill();
    assert!(printed.is_empty(), "a restart printed {printed:?}");
}
