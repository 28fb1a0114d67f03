//! Resources, access levels and permissions, written `resource:access` (`jobs:write`).

use crate::catalog::catalog;
use crate::error::Error;
use std::fmt;
use std::str::FromStr;

/// Whether a resource belongs to the account as a whole or to each project.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Level {
    /// Account settings, billing, members, service tokens, …: no project applies.
    Account,
    /// Jobs, runs, environments, metadata, …: granted per project or on all projects.
    Project,
}

/// A resource of the catalog (`jobs`, `service_tokens`, …), by its index there.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Resource(pub(crate) u8);

impl Resource {
    /// The slug, e.g. `service_tokens`.
    pub fn slug(self) -> &'static str {
        &catalog().resources[self.0 as usize].slug
    }
    /// The label people read, e.g. `Service tokens`.
    pub fn label(self) -> &'static str {
        &catalog().resources[self.0 as usize].label
    }
    /// Account- or project-level.
    pub fn level(self) -> Level {
        catalog().resources[self.0 as usize].level
    }
}

impl fmt::Display for Resource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.slug())
    }
}

/// Read or write; write implies read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Access {
    /// View only.
    Read,
    /// Create, modify, delete (and read).
    Write,
}

impl Access {
    /// `read` or `write`.
    pub fn as_str(self) -> &'static str {
        match self {
            Access::Read => "read",
            Access::Write => "write",
        }
    }
}

/// One permission: a resource and an access level.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Permission {
    /// What is accessed.
    pub resource: Resource,
    /// How.
    pub access: Access,
}

impl Permission {
    /// Builds a permission from its parts.
    pub fn new(resource: Resource, access: Access) -> Permission {
        Permission { resource, access }
    }

    /// This permission's single bit in a permission bitset (two bits per resource).
    #[inline]
    pub fn bit(self) -> u64 {
        1u64 << (2 * u32::from(self.resource.0) + u32::from(self.access == Access::Write))
    }

    /// Every permission in the catalog: each resource with read, then write.
    pub fn all() -> impl Iterator<Item = Permission> {
        catalog().resources().flat_map(|r| {
            [
                Permission::new(r, Access::Read),
                Permission::new(r, Access::Write),
            ]
        })
    }

    /// Every permission whose bit is set in `bits`.
    pub fn in_bits(bits: u64) -> impl Iterator<Item = Permission> {
        Permission::all().filter(move |p| bits & p.bit() != 0)
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.resource.slug(), self.access.as_str())
    }
}

impl FromStr for Permission {
    type Err = Error;
    fn from_str(s: &str) -> Result<Permission, Error> {
        let (res, access) = s
            .split_once(':')
            .ok_or_else(|| Error::BadPermission(s.to_owned()))?;
        let access = match access {
            "read" => Access::Read,
            "write" => Access::Write,
            _ => return Err(Error::BadPermission(s.to_owned())),
        };
        let resource = catalog()
            .resource(res)
            .ok_or_else(|| Error::UnknownResource(res.to_owned()))?;
        Ok(Permission::new(resource, access))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permissions_parse_and_print_as_resource_colon_access() {
        for p in Permission::all() {
            let text = p.to_string();
            assert_eq!(text.parse::<Permission>().unwrap(), p);
        }
        assert_eq!(
            "jobs:write".parse::<Permission>().unwrap().to_string(),
            "jobs:write"
        );
    }

    #[test]
    fn malformed_permissions_name_what_was_expected() {
        for bad in [
            "jobs",
            "jobs:admin",
            ":read",
            "jobs:",
            "jobs:write:x",
            "JOBS:write",
        ] {
            let err = bad.parse::<Permission>().unwrap_err();
            assert!(
                matches!(err, Error::BadPermission(_) | Error::UnknownResource(_)),
                "{bad}: {err:?}"
            );
        }
        let msg = "jobs".parse::<Permission>().unwrap_err().to_string();
        assert!(msg.contains("RESOURCE:ACCESS"), "{msg}");
    }

    #[test]
    fn every_permission_has_its_own_bit() {
        let mut seen = 0u64;
        for p in Permission::all() {
            assert_eq!(seen & p.bit(), 0, "{p} shares a bit");
            seen |= p.bit();
        }
        assert_eq!(seen.count_ones() as usize, 2 * catalog().resources().len());
    }
}
