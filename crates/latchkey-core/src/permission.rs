//! Resources, access levels and permissions: the values, and each permission's bit. What they
//! are called, and how `resource:access` (`jobs:write`) reads, is the catalog's
//! ([`crate::permission_names`]).

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
}
