//! Grants: a permission set on all projects or on one project, with the environment categories its
//! Jobs/Runs write reaches for the sets that honour them.

use crate::catalog::PermissionSet;
use crate::error::Error;
use crate::ids::ProjectId;
use std::fmt;
use std::str::FromStr;

/// Where a grant's project-level permissions apply. Its account-level permissions apply regardless.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scope {
    /// Every project of the account, including ones created later.
    AllProjects,
    /// One project.
    Project(ProjectId),
}

/// An environment's category, as dbt Cloud classifies deployment environments.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EnvCategory {
    /// Development environments.
    Development = 0,
    /// Staging environments.
    Staging = 1,
    /// Production environments.
    Production = 2,
    /// Any other deployment environment.
    Other = 3,
}

impl EnvCategory {
    /// The four categories.
    pub const ALL: [EnvCategory; 4] = [
        EnvCategory::Development,
        EnvCategory::Staging,
        EnvCategory::Production,
        EnvCategory::Other,
    ];

    /// `development`, `staging`, `production` or `other`.
    pub fn as_str(self) -> &'static str {
        match self {
            EnvCategory::Development => "development",
            EnvCategory::Staging => "staging",
            EnvCategory::Production => "production",
            EnvCategory::Other => "other",
        }
    }
}

impl FromStr for EnvCategory {
    type Err = Error;
    fn from_str(s: &str) -> Result<EnvCategory, Error> {
        EnvCategory::ALL
            .into_iter()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| Error::UnknownEnvCategory(s.to_owned()))
    }
}

/// A set of environment categories (a grant's `writable_environment_categories`). Empty means
/// read-only: write must be asked for explicitly.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EnvCategories(u8);

impl EnvCategories {
    /// No category: Jobs/Runs stay read-only.
    pub const NONE: EnvCategories = EnvCategories(0);
    /// Every category (`["all"]` on the wire).
    pub const ALL: EnvCategories = EnvCategories(0b1111);

    /// True if the category is in the set.
    pub fn contains(self, c: EnvCategory) -> bool {
        self.0 & (1 << c as u8) != 0
    }
    /// Adds a category.
    pub fn insert(&mut self, c: EnvCategory) {
        self.0 |= 1 << c as u8;
    }
    /// True if no category is in the set.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
    /// Parses wire names (`all`, `development`, …); `all` means every category.
    pub fn parse<'a>(names: impl IntoIterator<Item = &'a str>) -> Result<EnvCategories, Error> {
        let mut out = EnvCategories::NONE;
        for name in names {
            if name == "all" {
                out = EnvCategories::ALL;
            } else {
                out.insert(name.parse()?);
            }
        }
        Ok(out)
    }
    /// Wire names: `["all"]` when every category is in, else each one.
    pub fn names(self) -> Vec<&'static str> {
        if self == EnvCategories::ALL {
            return vec!["all"];
        }
        EnvCategory::ALL
            .into_iter()
            .filter(|c| self.contains(*c))
            .map(EnvCategory::as_str)
            .collect()
    }
    /// The raw 4-bit mask, for storage.
    pub fn bits(self) -> u8 {
        self.0
    }
    /// From the raw mask; bits above the four categories are dropped.
    pub fn from_bits(bits: u8) -> EnvCategories {
        EnvCategories(bits & 0b1111)
    }
}

/// A permission set granted on a scope.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Grant {
    /// What is granted.
    pub set: PermissionSet,
    /// Where its project-level permissions apply.
    pub scope: Scope,
    /// Environment categories where Jobs/Runs become writable (only for sets that honour them).
    pub writable_envs: EnvCategories,
}

impl Grant {
    /// A grant with no writable environment categories.
    pub fn new(set: PermissionSet, scope: Scope) -> Grant {
        Grant {
            set,
            scope,
            writable_envs: EnvCategories::NONE,
        }
    }

    /// The same grant with writable environment categories.
    pub fn with_writable_envs(self, writable_envs: EnvCategories) -> Grant {
        Grant {
            writable_envs,
            ..self
        }
    }

    /// Refuses categories on a set that does not honour them.
    pub fn validate(&self) -> Result<(), Error> {
        if !self.writable_envs.is_empty() && !self.set.honours_env_categories() {
            return Err(Error::EnvCategoriesNotApplicable(
                self.set.slug().to_owned(),
            ));
        }
        Ok(())
    }
}

/// `SET`, `SET:all`, `SET:project=ID`, each optionally followed by `:envs=CAT[,CAT…]`.
impl FromStr for Grant {
    type Err = Error;
    fn from_str(s: &str) -> Result<Grant, Error> {
        let bad = || Error::BadGrant(s.to_owned());
        let mut parts = s.split(':');
        let set: PermissionSet = parts.next().unwrap_or_default().parse()?;
        let mut grant = Grant::new(set, Scope::AllProjects);
        let mut seen_scope = false;
        for part in parts {
            if part == "all" && !seen_scope {
                seen_scope = true;
            } else if let Some(id) = part.strip_prefix("project=").filter(|_| !seen_scope) {
                let id: i64 = id.parse().map_err(|_| bad())?;
                if id <= 0 {
                    return Err(bad());
                }
                grant.scope = Scope::Project(ProjectId(id));
                seen_scope = true;
            } else if let Some(list) = part.strip_prefix("envs=") {
                grant.writable_envs = EnvCategories::parse(list.split(','))?;
            } else {
                return Err(bad());
            }
        }
        grant.validate()?;
        Ok(grant)
    }
}

impl fmt::Display for Grant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.scope {
            Scope::AllProjects => write!(f, "{}:all", self.set)?,
            Scope::Project(p) => write!(f, "{}:project={}", self.set, p)?,
        }
        if !self.writable_envs.is_empty() {
            write!(f, ":envs={}", self.writable_envs.names().join(","))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::catalog;

    #[test]
    fn grant_strings_round_trip() {
        for text in [
            "job_admin:all",
            "job_runner:project=7",
            "developer:project=3:envs=development,staging",
            "analyst:all:envs=all",
        ] {
            assert_eq!(text.parse::<Grant>().unwrap().to_string(), text);
        }
        let bare: Grant = "metadata_only".parse().unwrap();
        assert_eq!(bare.scope, Scope::AllProjects);
        assert_eq!(bare.set, catalog().set("metadata_only").unwrap());
    }

    #[test]
    fn bad_grant_strings_say_what_was_expected() {
        for bad in [
            "job_admin:project=x",
            "job_admin:project=0",
            "job_admin:everything",
            "job_admin:all:project=3",
            "job_admin:project=-4",
        ] {
            let err = bad.parse::<Grant>().unwrap_err();
            assert!(err.to_string().contains("SET:project=ID"), "{bad}: {err}");
        }
        assert!(matches!(
            "nobody:all".parse::<Grant>(),
            Err(Error::UnknownPermissionSet(_))
        ));
        assert!(matches!(
            "job_admin:all:envs=production".parse::<Grant>(),
            Err(Error::EnvCategoriesNotApplicable(_))
        ));
        assert!(matches!(
            "developer:all:envs=prod".parse::<Grant>(),
            Err(Error::UnknownEnvCategory(_))
        ));
    }
}
