//! What resources and permissions are called, read through the catalog: a [`Resource`] is an
//! index into it, so its slug, label and level are the catalog's, and so is how a permission
//! prints and parses (`resource:access`, e.g. `jobs:write`) and which permissions there are.

use crate::catalog::catalog;
use crate::error::Error;
use crate::permission::{Access, Level, Permission, Resource};
use std::fmt;
use std::str::FromStr;

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

impl Permission {
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
