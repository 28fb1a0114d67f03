//! Plans (which permission sets an account may use) and licenses (what a user's seat caps).

use crate::error::Error;
use std::fmt;
use std::str::FromStr;

/// An account's plan; the catalog says which permission sets each offers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Plan {
    /// Semantic Layer Only, nothing else.
    Developer = 0,
    /// The self-service list: Account Admin/Owner, Billing Admin, Job Admin, Metadata Only, Member,
    /// Read-only, Semantic Layer Only.
    Team = 1,
    /// Every set but the user-only ones for tokens.
    Enterprise = 2,
}

impl Plan {
    /// All plans, cheapest first.
    pub const ALL: [Plan; 3] = [Plan::Developer, Plan::Team, Plan::Enterprise];

    /// `developer`, `team` or `enterprise`.
    pub fn as_str(self) -> &'static str {
        match self {
            Plan::Developer => "developer",
            Plan::Team => "team",
            Plan::Enterprise => "enterprise",
        }
    }
}

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Plan {
    type Err = Error;
    fn from_str(s: &str) -> Result<Plan, Error> {
        Plan::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| Error::UnknownPlan(s.to_owned()))
    }
}

/// A user's seat in an account. The license caps what the user's groups can give them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum License {
    /// Permissions come from the user's groups; may create service tokens (with write on them).
    Developer,
    /// The `readonly` set on all projects, whatever the groups say; may create PATs only.
    ReadOnly,
    /// Fixed: Security Admin + Billing Admin + write on connections; may create PATs only.
    It,
}

impl License {
    /// All licenses.
    pub const ALL: [License; 3] = [License::Developer, License::ReadOnly, License::It];

    /// `developer`, `read_only` or `it`.
    pub fn as_str(self) -> &'static str {
        match self {
            License::Developer => "developer",
            License::ReadOnly => "read_only",
            License::It => "it",
        }
    }
}

impl fmt::Display for License {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for License {
    type Err = Error;
    fn from_str(s: &str) -> Result<License, Error> {
        License::ALL
            .into_iter()
            .find(|l| l.as_str() == s)
            .ok_or_else(|| Error::UnknownLicense(s.to_owned()))
    }
}
