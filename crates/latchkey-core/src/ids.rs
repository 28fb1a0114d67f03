//! Typed identifiers, so an account id can never be passed where a project id belongs.

use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

id_type!(
    /// An account (tenant): owns projects, users' memberships and service tokens.
    AccountId
);
id_type!(
    /// A project inside one account.
    ProjectId
);
id_type!(
    /// A person who signs in to the console and may hold personal access tokens.
    UserId
);
id_type!(
    /// A group of users inside one account, carrying permission grants.
    GroupId
);
id_type!(
    /// A service token or a personal access token row.
    TokenId
);
