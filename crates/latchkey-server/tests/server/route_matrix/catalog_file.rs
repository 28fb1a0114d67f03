//! The permission catalog read from `catalog.json` itself, as plain JSON, so that the matrix's
//! expectation does not come from the server's compiled catalog or decision function.

use latchkey_core::{ProjectId, Scope};
use serde_json::Value;

/// `catalog.json`, parsed as plain JSON.
pub(super) struct CatalogFile(pub(super) Value);

impl CatalogFile {
    pub(super) fn load() -> CatalogFile {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../latchkey-core/catalog.json");
        let text = std::fs::read_to_string(path).expect("catalog.json is readable");
        CatalogFile(serde_json::from_str(&text).expect("catalog.json is JSON"))
    }

    /// Every permission set's slug, sorted.
    pub(super) fn sets(&self) -> Vec<String> {
        let mut sets: Vec<String> = self.0["permission_sets"]
            .as_object()
            .expect("permission_sets is an object")
            .keys()
            .cloned()
            .collect();
        sets.sort();
        sets
    }

    pub(super) fn names(&self, pointer: &str) -> Vec<&str> {
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
    pub(super) fn offered_to_service_tokens(&self, set: &str) -> bool {
        self.names("/plans/enterprise").contains(&set)
            && !self.names("/user_only_sets").contains(&set)
    }

    /// `account` or `project`.
    pub(super) fn level(&self, resource: &str) -> &'static str {
        if self.names("/resources/account").contains(&resource) {
            "account"
        } else if self.names("/resources/project").contains(&resource) {
            "project"
        } else {
            panic!("the route table names {resource}, which catalog.json does not list")
        }
    }

    /// The access `set` gives on `resource` (in its level's row), as a rank.
    pub(super) fn cell(&self, set: &str, level: &str, resource: &str) -> u8 {
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
    pub(super) fn covers(&self, set: &str, scope: Scope, permission: &str) -> bool {
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
    pub(super) fn covers_on(
        &self,
        set: &str,
        scope: Scope,
        permission: &str,
        target: ProjectId,
    ) -> bool {
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
pub(super) fn rank(access: &str) -> u8 {
    match access {
        "none" => 0,
        "read" => 1,
        "write" => 2,
        other => panic!("unknown access level {other}"),
    }
}
