//! Latchkey's persistence: one [`Store`] over SQLite (via sqlx), its migrations, the audit writer
//! and the change feed.
//!
//! Every command is one `BEGIN IMMEDIATE` transaction that writes the change, its audit entry and
//! its change-feed row together, so a crash at any moment leaves either all of it or none.
//! Domain rules (who may mint what, plan gating) come from `latchkey-core`; this crate only runs
//! them inside the transaction and persists the result.

#![forbid(unsafe_code)]

mod accounts;
mod audit;
mod authority;
mod changes;
mod credentials;
mod db_time;
mod directory;
mod error;
mod grant_rows;
mod invites;
mod ip_rules;
mod passwords;
mod records;
mod sign_in;
mod tokens;

pub use audit::AuditQuery;
pub use changes::{Change, ChangeKind};
pub use directory::{Group, Member};
pub use error::StoreError;
pub use invites::Invite;
pub use ip_rules::{
    IpRestrictions, IpRule, IpRuleCidr, IpRuleInput, MAX_CIDRS_PER_RULE, MAX_RULES_PER_ACCOUNT,
};
pub use records::*;

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Sqlite, Transaction};
use std::str::FromStr;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::Duration;

/// The default database URL: a SQLite file in the working directory.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://latchkey.db";

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// Handle to the database; cheap to clone.
#[derive(Clone)]
pub struct Store {
    pool: SqlitePool,
    passwords: passwords::PasswordGate,
    /// Queries made by credential lookups (see [`Store::credential_queries`]).
    credential_queries: Arc<AtomicU64>,
}

impl Store {
    /// Opens (creating if needed) the database at `url`, turns on WAL and foreign keys, and runs
    /// pending migrations.
    pub async fn open(url: &str) -> Result<Store, StoreError> {
        if !url.starts_with("sqlite:") {
            return Err(StoreError::Config(format!(
                "unsupported database URL `{}`: expected sqlite://PATH",
                url.split('@').next_back().unwrap_or_default()
            )));
        }
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|e| StoreError::Config(format!("bad database URL: {e}")))?;
        let file = options.get_filename().to_owned();
        let in_memory = file.as_os_str().is_empty() || file.as_os_str() == ":memory:";
        if !in_memory {
            create_private(&file)?;
        }
        let options = options
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .min_connections(1)
            .connect_with(options)
            .await?;
        // Nodes started together on one new file take turns: the second finds the migrations
        // applied instead of racing to apply them.
        let lock = if in_memory {
            None
        } else {
            let mut path = file.into_os_string();
            path.push(".lock");
            Some(lock_file(std::path::Path::new(&path)).await?)
        };
        let migrated = MIGRATOR.run(&pool).await;
        drop(lock);
        migrated?;
        Ok(Store {
            pool,
            passwords: passwords::PasswordGate::default(),
            credential_queries: Arc::default(),
        })
    }

    /// The same store with at most `permits` password hashes running at once (default: the
    /// machine's cores).
    pub fn with_password_permits(mut self, permits: usize) -> Store {
        self.passwords = passwords::PasswordGate::new(permits);
        self
    }

    /// Opens a write transaction that takes SQLite's write lock at once, so two writers (a server
    /// and a CLI) queue on the busy timeout instead of failing to upgrade a read snapshot.
    async fn write(&self) -> Result<Transaction<'static, Sqlite>, StoreError> {
        Ok(self.pool.begin_with("BEGIN IMMEDIATE").await?)
    }

    /// Closes the pool, waiting for connections to finish.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// Creates the database file readable and writable by its owner only (0600), if it does not
/// exist; SQLite gives its `-wal` and `-shm` files the same mode.
fn create_private(path: &std::path::Path) -> Result<(), StoreError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(StoreError::Config(format!(
            "cannot create the database file {}: {e}",
            path.display()
        ))),
    }
}

/// Takes an exclusive lock on `path` (created 0600 if missing), waiting for another process
/// that holds it; released when the file is dropped.
async fn lock_file(path: &std::path::Path) -> Result<std::fs::File, StoreError> {
    let path = path.to_owned();
    tokio::task::spawn_blocking(move || {
        create_private(&path)?;
        let file = std::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .and_then(|f| f.lock().map(|()| f))
            .map_err(|e| StoreError::Config(format!("cannot lock {}: {e}", path.display())))?;
        Ok(file)
    })
    .await
    .map_err(|e| StoreError::Config(format!("cannot lock the database: {e}")))?
}

/// The current time, truncated to microseconds (what the database keeps).
pub fn now() -> time::OffsetDateTime {
    let t = time::OffsetDateTime::now_utc();
    t - time::Duration::nanoseconds(i64::from(t.nanosecond() % 1000))
}
