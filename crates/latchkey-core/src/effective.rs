//! Effective permissions: a principal's grants compiled into bitsets, so that a decision is a couple
//! of bit tests. Account-level bits come with every grant; project-level bits go to the all-projects
//! scope or to the granted project only.

use crate::catalog::catalog;
use crate::grant::{EnvCategory, Grant, Scope};
use crate::ids::ProjectId;
use crate::permission::Permission;
use crate::plan::Plan;

/// Project-level bits of one scope: what holds in every environment, and what each environment
/// category adds (Jobs/Runs write for the sets that honour writable environment categories).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct ScopeBits {
    /// Permissions that hold whatever the environment.
    pub base: u64,
    /// Extra permissions per [`EnvCategory`] (indexed by its discriminant).
    pub env: [u64; 4],
}

impl ScopeBits {
    /// The bits that hold in an environment of this category (or with no environment named).
    #[inline]
    pub fn in_env(&self, env: Option<EnvCategory>) -> u64 {
        match env {
            Some(c) => self.base | self.env[c as usize],
            None => self.base,
        }
    }

    fn union(&self, other: &ScopeBits) -> ScopeBits {
        let mut env = self.env;
        for (mine, theirs) in env.iter_mut().zip(other.env) {
            *mine |= theirs;
        }
        ScopeBits {
            base: self.base | other.base,
            env,
        }
    }

    /// The first permission `other` has (in some environment) that `self` lacks.
    fn first_missing(&self, other: &ScopeBits) -> Option<u64> {
        let lacking = other.base & !self.base;
        if lacking != 0 {
            return Some(lacking);
        }
        EnvCategory::ALL.into_iter().find_map(|c| {
            let lacking = other.in_env(Some(c)) & !self.in_env(Some(c));
            (lacking != 0).then_some(lacking)
        })
    }

    fn is_empty(&self) -> bool {
        self.base == 0 && self.env.iter().all(|b| *b == 0)
    }
}

/// A principal's compiled permissions.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct EffectivePermissions {
    /// Account-level permissions.
    pub account: u64,
    /// Project-level permissions on every project of the account.
    pub all_projects: ScopeBits,
    /// Project-level permissions on single projects, sorted by project id.
    pub projects: Box<[(ProjectId, ScopeBits)]>,
}

impl EffectivePermissions {
    /// Compiles grants, keeping only those `keep` accepts. Grants are unioned: the most
    /// permissive grant wins.
    pub fn compile<'a>(
        grants: impl IntoIterator<Item = &'a Grant>,
        mut keep: impl FnMut(&Grant) -> bool,
    ) -> Self {
        let cat = catalog();
        let project_mask = cat.project_mask();
        let env_write = cat.env_write_mask();
        let mut out = EffectivePermissions::default();
        let mut projects: Vec<(ProjectId, ScopeBits)> = Vec::new();
        for grant in grants.into_iter().filter(|g| keep(g)) {
            let bits = grant.set.bits();
            out.account |= bits & !project_mask;
            let mut scope = ScopeBits {
                base: bits & project_mask,
                env: [0; 4],
            };
            if grant.set.honours_env_categories() {
                // Jobs/Runs read becomes write on the grant's writable categories.
                let upgrade = ((bits & (env_write >> 1)) << 1) & env_write;
                for c in EnvCategory::ALL {
                    if grant.writable_envs.contains(c) {
                        scope.env[c as usize] |= upgrade;
                    }
                }
            }
            match grant.scope {
                Scope::AllProjects => out.all_projects = out.all_projects.union(&scope),
                Scope::Project(p) => match projects.iter_mut().find(|(id, _)| *id == p) {
                    Some((_, existing)) => *existing = existing.union(&scope),
                    None => projects.push((p, scope)),
                },
            }
        }
        projects.retain(|(_, s)| !s.is_empty());
        projects.sort_by_key(|(p, _)| *p);
        out.projects = projects.into_boxed_slice();
        out
    }

    /// A service token's permissions: its grants, less any set the plan does not offer and any
    /// user-only set (checked again here so a plan downgrade takes effect at once).
    pub fn for_service_token(grants: &[Grant], plan: Plan) -> Self {
        let cat = catalog();
        Self::compile(grants, |g| {
            cat.plan_allows(plan, g.set) && !g.set.is_user_only()
        })
    }

    /// Project-level bits on one project (or on every project when `project` is `None`).
    #[inline]
    pub fn project_scope(&self, project: Option<ProjectId>) -> ScopeBits {
        match project.and_then(|p| self.project(p)) {
            Some(extra) => self.all_projects.union(extra),
            None => self.all_projects,
        }
    }

    /// The bits granted on one project alone (not counting all-projects grants).
    #[inline]
    pub fn project(&self, project: ProjectId) -> Option<&ScopeBits> {
        if self.projects.len() <= 8 {
            self.projects
                .iter()
                .find(|(p, _)| *p == project)
                .map(|(_, s)| s)
        } else {
            self.projects
                .binary_search_by_key(&project, |(p, _)| *p)
                .ok()
                .map(|i| &self.projects[i].1)
        }
    }

    /// True if the principal holds nothing at all.
    pub fn is_empty(&self) -> bool {
        self.account == 0 && self.all_projects.is_empty() && self.projects.is_empty()
    }

    /// The first permission (and where) that `other` holds and `self` does not, or `None` when
    /// `self` covers `other` everywhere: on the account, on all projects, on each project and in
    /// each environment category.
    pub fn first_not_covered(
        &self,
        other: &EffectivePermissions,
    ) -> Option<(Permission, Option<Scope>)> {
        // Every bit names a permission, so bits are missing exactly when one of them is found.
        let first = |bits: u64| Permission::in_bits(bits).next();
        if let Some(p) = first(other.account & !self.account) {
            return Some((p, None));
        }
        let all = self.all_projects.first_missing(&other.all_projects);
        if let Some(p) = all.and_then(first) {
            return Some((p, Some(Scope::AllProjects)));
        }
        other.projects.iter().find_map(|(p, theirs)| {
            let missing = self.project_scope(Some(*p)).first_missing(theirs);
            missing
                .and_then(first)
                .map(|perm| (perm, Some(Scope::Project(*p))))
        })
    }
}
