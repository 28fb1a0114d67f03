//! Every permission of the catalog as a constant, generated from `catalog.json` when the crate is
//! built: `permissions::SERVICE_TOKENS_WRITE` is `service_tokens:write`. Code that names a
//! permission through these (the route table does) is checked against the catalog by the
//! compiler, not at start-up.

use crate::permission::{Access, Permission, Resource};

include!(concat!(env!("OUT_DIR"), "/permissions.rs"));

#[cfg(test)]
mod tests {
    use super::ALL;
    use crate::Permission;

    #[test]
    fn each_constant_is_the_permission_it_is_named_after() {
        assert_eq!(ALL.len(), Permission::all().count());
        for (name, permission) in ALL {
            assert_eq!(permission.to_string(), *name);
            assert_eq!(name.parse::<Permission>().ok(), Some(*permission));
        }
    }
}
