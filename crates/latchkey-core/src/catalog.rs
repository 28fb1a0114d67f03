//! The permission catalog: `catalog.json` (a checked-in copy of the reference catalog) compiled once,
//! at first use, into an in-memory table of resources, permission sets as bitsets, and plans.
//!
//! Everything that knows which set grants what reads it from here; no other module names a set.

use crate::error::Error;
use crate::permission::{Access, Level, Permission, Resource};
use crate::plan::Plan;
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::LazyLock;

/// The catalog file, embedded at build time.
pub const CATALOG_JSON: &str = include_str!("../catalog.json");

/// Human labels for the permission sets (the catalog keys them by API slug only).
const SET_LABELS: &[(&str, &str)] = &[
    ("account_admin", "Account Admin"),
    ("account_viewer", "Account Viewer"),
    ("admin", "Admin"),
    ("analyst", "Analyst"),
    ("billing_admin", "Billing Admin"),
    ("cost_management_admin", "Cost Management Admin"),
    ("cost_management_viewer", "Cost Management Viewer"),
    ("database_admin", "Database Admin"),
    ("developer", "Developer"),
    ("fusion_admin", "Fusion Admin"),
    ("git_admin", "Git Admin"),
    ("job_admin", "Job Admin"),
    ("job_runner", "Job Runner"),
    ("job_viewer", "Job Viewer"),
    ("manage_marketplace_apps", "Manage Marketplace Apps"),
    ("member", "Member"),
    ("metadata_only", "Metadata Only"),
    ("notification_manager", "Notification Manager"),
    ("owner", "Owner"),
    ("project_creator", "Project Creator"),
    ("readonly", "Read-Only"),
    ("security_admin", "Security Admin"),
    ("semantic_layer_only", "Semantic Layer Only"),
    ("stakeholder", "Stakeholder"),
    ("team_admin", "Team Admin"),
    ("webhooks_only", "Webhooks Only"),
];

/// A permission set from the catalog (`account_admin`, `job_runner`, …), by its index there.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PermissionSet(pub(crate) u8);

impl PermissionSet {
    /// The API slug, e.g. `job_admin`.
    pub fn slug(self) -> &'static str {
        &catalog().sets[self.0 as usize].slug
    }
    /// The label people read, e.g. `Job Admin`.
    pub fn label(self) -> &'static str {
        catalog().sets[self.0 as usize].label
    }
    /// True for the sets whose Jobs/Runs read turns into write on the grant's writable environment
    /// categories (analyst, database_admin, developer, git_admin, team_admin).
    pub fn honours_env_categories(self) -> bool {
        catalog().sets[self.0 as usize].env_write_capable
    }
    /// True for sets only users may hold (fusion_admin).
    pub fn is_user_only(self) -> bool {
        catalog().sets[self.0 as usize].user_only
    }
    /// The set's permissions as a bitset over every resource (write bits imply read bits).
    pub fn bits(self) -> u64 {
        catalog().sets[self.0 as usize].bits
    }
    /// The access this set gives on one resource.
    pub fn access(self, resource: Resource) -> Option<Access> {
        let bits = self.bits();
        if bits & Permission::new(resource, Access::Write).bit() != 0 {
            Some(Access::Write)
        } else if bits & Permission::new(resource, Access::Read).bit() != 0 {
            Some(Access::Read)
        } else {
            None
        }
    }
}

impl std::fmt::Display for PermissionSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.slug())
    }
}

impl std::str::FromStr for PermissionSet {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        catalog()
            .set(s)
            .ok_or_else(|| Error::UnknownPermissionSet(s.to_owned()))
    }
}

pub(crate) struct ResourceInfo {
    pub(crate) slug: String,
    pub(crate) label: String,
    pub(crate) level: Level,
}

struct SetInfo {
    slug: String,
    label: &'static str,
    bits: u64,
    env_write_capable: bool,
    user_only: bool,
}

/// The compiled catalog. Get it with [`catalog()`].
pub struct Catalog {
    pub(crate) resources: Vec<ResourceInfo>,
    sets: Vec<SetInfo>,
    /// Per plan, a bitmask over set indices.
    plan_sets: [u64; 3],
    /// The environment-write rule applies to these resources (Jobs and Runs).
    env_write_mask: u64,
    /// Bits of every project-level resource (read and write).
    project_mask: u64,
    /// `service_tokens`, named by the minting rules.
    pub(crate) service_tokens: Resource,
    /// `connections`, named by the IT license.
    pub(crate) connections: Resource,
    /// The sets an Owner group holds: `account_admin` on Enterprise, `owner` on the others.
    owner_enterprise: PermissionSet,
    owner_self_service: PermissionSet,
}

#[derive(Deserialize)]
struct RawCatalog {
    resources: RawResources,
    resource_labels: HashMap<String, String>,
    permission_sets: HashMap<String, RawSet>,
    plans: HashMap<String, Vec<String>>,
    user_only_sets: Vec<String>,
    environment_write_capable_sets: Vec<String>,
}

#[derive(Deserialize)]
struct RawResources {
    account: Vec<String>,
    project: Vec<String>,
}

#[derive(Deserialize)]
struct RawSet {
    account: HashMap<String, String>,
    project: HashMap<String, String>,
}

/// The embedded catalog is an input of the build, not of a request: tests/core/catalog.rs
/// compiles it, so a build whose catalog does not compile never passes its tests, and no request
/// can reach this panic.
#[allow(
    clippy::expect_used,
    reason = "the embedded catalog is a build input checked by the tests"
)]
static CATALOG: LazyLock<Catalog> = LazyLock::new(|| {
    Catalog::compile(CATALOG_JSON).expect("the embedded catalog.json is valid (checked by tests)")
});

/// The process-wide compiled catalog.
pub fn catalog() -> &'static Catalog {
    &CATALOG
}

impl Catalog {
    /// Checks a catalog document without installing it: `Err` names the first inconsistency.
    /// (Latchkey has one catalog, the embedded one; [`PermissionSet`] and [`Resource`] handles
    /// always refer to it, so a second compiled catalog is never handed out.)
    pub fn validate(json: &str) -> Result<(), String> {
        Catalog::compile(json).map(|_| ())
    }

    fn compile(json: &str) -> Result<Catalog, String> {
        let raw: RawCatalog = serde_json::from_str(json).map_err(|e| e.to_string())?;
        let mut resources = Vec::new();
        for (list, level) in [
            (&raw.resources.account, Level::Account),
            (&raw.resources.project, Level::Project),
        ] {
            for slug in list {
                let label = raw
                    .resource_labels
                    .get(slug)
                    .ok_or_else(|| format!("resource {slug} has no label"))?;
                resources.push(ResourceInfo {
                    slug: slug.clone(),
                    label: label.clone(),
                    level,
                });
            }
        }
        if resources.len() > 32 {
            return Err("more than 32 resources do not fit a 64-bit permission set".into());
        }
        let resource_index = |slug: &str| {
            resources
                .iter()
                .position(|r| r.slug == slug)
                .map(|i| Resource(i as u8))
        };

        let mut slugs: Vec<&String> = raw.permission_sets.keys().collect();
        slugs.sort();
        if slugs.len() > 64 {
            return Err("more than 64 permission sets".into());
        }
        let mut sets = Vec::new();
        for slug in &slugs {
            let raw_set = &raw.permission_sets[*slug];
            let mut bits = 0u64;
            for (cells, level) in [
                (&raw_set.account, Level::Account),
                (&raw_set.project, Level::Project),
            ] {
                let expected = resources.iter().filter(|r| r.level == level).count();
                if cells.len() != expected {
                    return Err(format!(
                        "set {slug}: {level:?} row has {} cells, expected {expected}",
                        cells.len()
                    ));
                }
                for (res, access) in cells {
                    let r = resource_index(res)
                        .filter(|r| resources[r.0 as usize].level == level)
                        .ok_or_else(|| format!("set {slug}: unknown {level:?} resource {res}"))?;
                    bits |= match access.as_str() {
                        "none" => 0,
                        "read" => Permission::new(r, Access::Read).bit(),
                        "write" => {
                            Permission::new(r, Access::Write).bit()
                                | Permission::new(r, Access::Read).bit()
                        }
                        other => return Err(format!("set {slug}: access {other} on {res}")),
                    };
                }
            }
            let label = SET_LABELS
                .iter()
                .find(|(s, _)| s == slug)
                .map(|(_, l)| *l)
                .ok_or_else(|| format!("set {slug} has no label"))?;
            sets.push(SetInfo {
                slug: (*slug).clone(),
                label,
                bits,
                env_write_capable: raw.environment_write_capable_sets.contains(slug),
                user_only: raw.user_only_sets.contains(slug),
            });
        }
        let set_index = |slug: &str| sets.iter().position(|s| s.slug == slug);
        for slug in raw
            .user_only_sets
            .iter()
            .chain(&raw.environment_write_capable_sets)
        {
            set_index(slug).ok_or_else(|| format!("unknown set {slug} in set lists"))?;
        }

        let mut plan_sets = [0u64; 3];
        for plan in Plan::ALL {
            let list = raw
                .plans
                .get(plan.as_str())
                .ok_or_else(|| format!("plan {} missing", plan.as_str()))?;
            for slug in list {
                let i = set_index(slug)
                    .ok_or_else(|| format!("plan {}: unknown set {slug}", plan.as_str()))?;
                plan_sets[plan as usize] |= 1 << i;
            }
        }
        if raw.plans.len() != Plan::ALL.len() {
            return Err("the catalog names a plan Latchkey does not know".into());
        }

        let need =
            |slug: &str| resource_index(slug).ok_or_else(|| format!("resource {slug} missing"));
        let mut env_write_mask = 0;
        for slug in ["jobs", "runs"] {
            env_write_mask |= Permission::new(need(slug)?, Access::Write).bit();
        }
        let mut project_mask = 0;
        for (i, r) in resources.iter().enumerate() {
            if r.level == Level::Project {
                project_mask |= 0b11 << (2 * i);
            }
        }
        let need_set = |slug: &str| {
            set_index(slug)
                .map(|i| PermissionSet(i as u8))
                .ok_or_else(|| format!("permission set {slug} missing"))
        };
        Ok(Catalog {
            owner_enterprise: need_set("account_admin")?,
            owner_self_service: need_set("owner")?,
            service_tokens: need("service_tokens")?,
            connections: need("connections")?,
            resources,
            sets,
            plan_sets,
            env_write_mask,
            project_mask,
        })
    }

    /// The set an account's Owner group holds on a plan: `account_admin` on Enterprise, `owner`
    /// on the self-service plans.
    pub fn owner_set(&self, plan: Plan) -> PermissionSet {
        match plan {
            Plan::Enterprise => self.owner_enterprise,
            Plan::Team | Plan::Developer => self.owner_self_service,
        }
    }

    /// `service_tokens:read`: what reading tokens (and explaining their decisions) needs.
    pub fn read_service_tokens(&self) -> Permission {
        Permission::new(self.service_tokens, Access::Read)
    }

    /// Looks a permission set up by API slug.
    pub fn set(&self, slug: &str) -> Option<PermissionSet> {
        self.sets
            .iter()
            .position(|s| s.slug == slug)
            .map(|i| PermissionSet(i as u8))
    }

    /// Every permission set, in slug order.
    pub fn sets(&self) -> impl ExactSizeIterator<Item = PermissionSet> + '_ {
        (0..self.sets.len()).map(|i| PermissionSet(i as u8))
    }

    /// Looks a resource up by slug.
    pub fn resource(&self, slug: &str) -> Option<Resource> {
        self.resources
            .iter()
            .position(|r| r.slug == slug)
            .map(|i| Resource(i as u8))
    }

    /// Every resource: the account-level ones first, then the project-level ones.
    pub fn resources(&self) -> impl ExactSizeIterator<Item = Resource> + '_ {
        (0..self.resources.len()).map(|i| Resource(i as u8))
    }

    /// True if the plan offers the set.
    pub fn plan_allows(&self, plan: Plan, set: PermissionSet) -> bool {
        self.plan_sets[plan as usize] & (1 << set.0) != 0
    }

    /// The sets a plan offers.
    pub fn plan_sets(&self, plan: Plan) -> impl Iterator<Item = PermissionSet> + '_ {
        self.sets().filter(move |s| self.plan_allows(plan, *s))
    }

    /// Bits that an environment category can turn on for env-write-capable sets (jobs and runs write).
    pub(crate) fn env_write_mask(&self) -> u64 {
        self.env_write_mask
    }

    /// Bits of every project-level resource.
    pub(crate) fn project_mask(&self) -> u64 {
        self.project_mask
    }
}
