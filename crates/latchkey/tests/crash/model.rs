//! What the clients were told: every token they made as last acknowledged, and the write each
//! client still had in flight when the server died. From it, the states the database may
//! legally be in after a restart, and how to settle the model on the one it is in.

use crate::database::{Grant, Snapshot};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};

/// The account's two projects.
#[derive(Clone, Copy, Debug)]
pub struct Projects {
    /// The project the first start made.
    pub first: i64,
    /// One the test adds.
    pub second: i64,
}

/// How many grant lists tokens choose from.
pub const MENU_LEN: usize = 4;

/// The grant lists tokens are given, by index (the probes below tell them all apart).
pub fn menu(choice: usize, p: Projects) -> Vec<Grant> {
    let grant = |set: &str, project: Option<i64>| (set.to_owned(), project, Vec::new());
    let mut grants = match choice {
        0 => vec![grant("job_runner", None)],
        1 => vec![grant("job_admin", Some(p.second))],
        2 => vec![
            grant("job_viewer", Some(p.first)),
            grant("metadata_only", Some(p.second)),
        ],
        _ => Vec::new(),
    };
    grants.sort();
    grants
}

/// A grant as the API takes it.
pub fn grant_body(g: &Grant) -> Value {
    match g.1 {
        Some(project) => json!({"permission_set": g.0, "project_id": project}),
        None => json!({"permission_set": g.0, "all_projects": true}),
    }
}

/// A check asked of every live token after a restart: the permission, whether it is asked on
/// the second project (else the first), and which menu entries allow it.
pub struct Probe {
    pub permission: &'static str,
    pub on_second: bool,
    pub allowed_by: [bool; MENU_LEN],
}

/// From the catalog: job_runner runs and reads jobs everywhere, job_admin writes jobs and reads
/// metadata on the second project, job_viewer reads jobs on the first, metadata_only reads
/// metadata on the second.
pub const PROBES: [Probe; 4] = [
    Probe {
        permission: "runs:write",
        on_second: false,
        allowed_by: [true, false, false, false],
    },
    Probe {
        permission: "jobs:write",
        on_second: true,
        allowed_by: [false, true, false, false],
    },
    Probe {
        permission: "jobs:read",
        on_second: false,
        allowed_by: [true, false, true, false],
    },
    Probe {
        permission: "metadata:read",
        on_second: true,
        allowed_by: [false, true, true, false],
    },
];

/// A token as acknowledged to its client.
#[derive(Clone)]
pub struct Token {
    /// Its id.
    pub id: i64,
    /// Its name (unique per create; a rotation's successor keeps it).
    pub name: String,
    /// The secret, when the answer that made it arrived (not for in-flight writes that happened).
    pub secret: Option<String>,
    /// Index into [`menu`].
    pub grants: usize,
    /// Revoked (directly or by a rotation).
    pub revoked: bool,
    /// The token a rotation replaced with this one.
    pub rotated_from: Option<i64>,
}

/// One write a client sends.
#[derive(Clone, Debug)]
pub enum Write {
    /// A new token with these grants.
    Create { name: String, grants: usize },
    /// A token's grants replaced by another menu entry.
    Regrant { id: i64, to: usize },
    /// `DELETE` (or, with `via_update`, `POST {"state": 2}`).
    Revoke { id: i64, via_update: bool },
    /// A rotation with no overlap: a successor, and the token revoked at once.
    Rotate { id: i64 },
}

impl Write {
    fn target(&self) -> Option<i64> {
        match self {
            Write::Create { .. } => None,
            Write::Regrant { id, .. } | Write::Revoke { id, .. } | Write::Rotate { id } => {
                Some(*id)
            }
        }
    }
}

/// Everything acknowledged so far, and the writes whose fate is unknown.
pub struct Model {
    /// The first start's Account Admin token, which the clients act with.
    pub admin: i64,
    /// The account's projects.
    pub projects: Projects,
    /// Every token the clients made, by id.
    pub tokens: BTreeMap<i64, Token>,
    /// Writes sent without a whole answer (at most one per client).
    pub in_flight: Vec<Write>,
}

impl Model {
    /// The ids of tokens an in-flight create or rotation may have made (by name, by
    /// `rotated_from_id`).
    fn maybe_made<'a>(&'a self, db: &'a Snapshot, w: &Write) -> Vec<(i64, &'a str)> {
        let made = |f: &dyn Fn(&crate::database::StoredToken) -> bool| {
            db.tokens
                .iter()
                .filter(|(id, t)| !self.tokens.contains_key(id) && f(t))
                .map(|(id, t)| (*id, t.name.as_str()))
                .collect()
        };
        match w {
            Write::Create { name, .. } => made(&|t| t.name == *name),
            Write::Rotate { id } => made(&|t| t.rotated_from == Some(*id)),
            _ => Vec::new(),
        }
    }

    /// Every way the database differs from the states the acknowledged writes and the
    /// in-flight ones allow: a lost acknowledged write, a write applied in part, a token nobody
    /// asked for.
    pub fn problems(&self, db: &Snapshot) -> Vec<String> {
        let mut problems = Vec::new();
        let mut explained: BTreeSet<i64> = self.tokens.keys().copied().collect();
        explained.insert(self.admin);
        if db.tokens.get(&self.admin).is_none_or(|t| !t.active) {
            problems.push("the Account Admin token is gone or revoked".to_owned());
        }
        let grants_of = |choice: usize| menu(choice, self.projects);
        for w in &self.in_flight {
            let made = self.maybe_made(db, w);
            if made.len() > 1 {
                problems.push(format!("{w:?} made {} tokens: {made:?}", made.len()));
            }
            let expected = match w {
                Write::Create { grants, .. } => Some((*grants, None)),
                Write::Rotate { id } => Some((self.tokens[id].grants, Some(*id))),
                _ => None,
            };
            for (id, _) in &made {
                explained.insert(*id);
                let t = &db.tokens[id];
                let Some((grants, rotated_from)) = expected else {
                    continue;
                };
                if !t.active || t.grants != grants_of(grants) || t.rotated_from != rotated_from {
                    problems.push(format!("{w:?} made token {id} half: {t:?}"));
                }
            }
        }
        for (id, token) in &self.tokens {
            let Some(row) = db.tokens.get(id) else {
                problems.push(format!("acknowledged token {id} is gone"));
                continue;
            };
            let pending = self.in_flight.iter().find(|w| w.target() == Some(*id));
            let mut legal_grants = vec![token.grants];
            if let Some(Write::Regrant { to, .. }) = pending {
                legal_grants.push(*to);
            }
            if !legal_grants.iter().any(|&g| grants_of(g) == row.grants) {
                problems.push(format!(
                    "token {id} holds {:?}; legal: {:?} (in flight: {pending:?})",
                    row.grants,
                    legal_grants
                        .iter()
                        .map(|&g| grants_of(g))
                        .collect::<Vec<_>>()
                ));
            }
            let active_ok = match pending {
                _ if token.revoked => !row.active,
                Some(Write::Revoke { .. }) => true,
                Some(w @ Write::Rotate { .. }) => row.active == self.maybe_made(db, w).is_empty(),
                _ => row.active,
            };
            if !active_ok {
                problems.push(format!(
                    "token {id}: active {} but acknowledged revoked {} (in flight: {pending:?})",
                    row.active, token.revoked
                ));
            }
            if row.name != token.name || row.rotated_from != token.rotated_from {
                problems.push(format!("token {id}: name or rotation changed: {row:?}"));
            }
        }
        for (id, t) in &db.tokens {
            if !explained.contains(id) {
                problems.push(format!("token {id} that no write asked for: {t:?}"));
            }
        }
        problems
    }

    /// Takes the outcome of every in-flight write from the database (after [`Model::problems`]
    /// found it legal), so the next round starts from an exact model again.
    pub fn settle(&mut self, db: &Snapshot) {
        for w in std::mem::take(&mut self.in_flight) {
            let made = self.maybe_made(db, &w).first().map(|(id, _)| *id);
            match w {
                Write::Create { name, grants } => {
                    if let Some(id) = made {
                        self.tokens.insert(
                            id,
                            Token {
                                id,
                                name,
                                secret: None,
                                grants,
                                revoked: false,
                                rotated_from: None,
                            },
                        );
                    }
                }
                Write::Regrant { id, to } => {
                    if db.tokens[&id].grants == menu(to, self.projects) {
                        self.tokens.get_mut(&id).unwrap().grants = to;
                    }
                }
                Write::Revoke { id, .. } => {
                    self.tokens.get_mut(&id).unwrap().revoked = !db.tokens[&id].active;
                }
                Write::Rotate { id } => {
                    if let Some(new) = made {
                        let old = self.tokens.get_mut(&id).unwrap();
                        old.revoked = true;
                        let successor = Token {
                            id: new,
                            name: old.name.clone(),
                            secret: None,
                            grants: old.grants,
                            revoked: false,
                            rotated_from: Some(id),
                        };
                        self.tokens.insert(new, successor);
                    }
                }
            }
        }
    }
}
