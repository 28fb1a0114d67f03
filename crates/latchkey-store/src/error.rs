//! The store's one error type.

/// Why a store operation failed. The message never contains a secret.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The thing does not exist (or belongs to another account, which callers must not learn).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The request conflicts with the current state: a uniqueness rule broken (an e-mail
    /// already in use), a deleted or rotated thing changed, a group or project named that does
    /// not exist (or no longer does), a plan or quota that does not allow it.
    #[error("conflict: {0}")]
    Conflict(String),
    /// Input no single field is to blame for (the API answers 400).
    #[error("{0}")]
    Invalid(String),
    /// One named input field is refused (the API names it in its 400).
    #[error("{message}")]
    Field {
        /// The request field, as the API spells it (`name`, `expires_at`, …).
        field: &'static str,
        /// What was wrong and what was expected.
        message: String,
    },
    /// A domain rule refused the command.
    #[error(transparent)]
    Domain(#[from] latchkey_core::Error),
    /// Every permit for password hashing is taken: try again shortly.
    #[error("too many password checks at once; try again shortly")]
    Busy,
    /// Bad configuration (database URL).
    #[error("{0}")]
    Config(String),
    /// The database lacks migrations and the store was opened not to apply them.
    #[error("the database lacks {pending} migration(s): run `latchkey migrate`")]
    Behind {
        /// How many.
        pending: usize,
    },
    /// The database failed.
    #[error("database error: {0}")]
    Database(#[source] sqlx::Error),
    /// A migration failed.
    #[error("migration failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
}

impl StoreError {
    /// Whether the database was out of reach rather than wrong: no connection free in time, a
    /// connection lost or refused, the server shutting down or busy. Trying again shortly may
    /// well succeed (the API answers 503 with `Retry-After`).
    pub fn is_unavailable(&self) -> bool {
        let StoreError::Database(e) = self else {
            return false;
        };
        match e {
            sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => true,
            sqlx::Error::Database(db) => db.code().is_some_and(|code| {
                // PostgreSQL: connection exceptions (08…), operator intervention (57P…: a
                // terminated backend, a shutdown), serialization failure and deadlock (40…).
                // SQLite: busy (5) and locked (6), after the busy timeout.
                code.starts_with("08")
                    || code.starts_with("57P")
                    || code.starts_with("40")
                    || code == "5"
                    || code == "6"
            }),
            _ => false,
        }
    }

    /// A refusal of one named field.
    pub fn field(field: &'static str, message: impl Into<String>) -> StoreError {
        StoreError::Field {
            field,
            message: message.into(),
        }
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        if let sqlx::Error::Database(db) = &e {
            if db.is_unique_violation() {
                return StoreError::Conflict(db.message().to_owned());
            }
        }
        StoreError::Database(e)
    }
}
