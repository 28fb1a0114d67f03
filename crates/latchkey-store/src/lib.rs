//! Latchkey's persistence: one [`Store`] over SQLite or PostgreSQL (via sqlx's `Any` driver, so
//! both run the very same queries), their migrations, the audit writer and the change feed.
//!
//! Every command is one write transaction (see `Store::write`) that writes the change, its audit
//! entry and its change-feed row together, so a crash at any moment leaves either all of it or
//! none.
//! Domain rules (who may mint what, plan gating) come from `latchkey-core`; this crate only runs
//! them inside the transaction and persists the result.

#![forbid(unsafe_code)]

mod accounts;
mod audit;
mod authority;
mod changes;
mod console;
mod credentials;
mod db_time;
mod directory;
mod error;
mod grant_rows;
mod invites;
mod ip_rules;
mod listener;
mod passwords;
mod records;
mod sign_in;
mod source;
mod tokens;
mod write_turn;

pub use audit::AuditQuery;
pub use changes::{Change, ChangeKind, FEED_RETENTION};
pub use console::{
    check_new_password, ConsoleSession, PasswordRefusal, MAX_PASSWORD_BYTES, MIN_PASSWORD_CHARS,
};
pub use directory::{Group, Member};
pub use error::StoreError;
pub use invites::Invite;
pub use ip_rules::{
    IpRestrictions, IpRule, IpRuleCidr, IpRuleInput, MAX_CIDRS_PER_RULE, MAX_RULES_PER_ACCOUNT,
};
pub use listener::{ChangeListener, CHANNEL};
pub use records::*;
pub use source::CredentialSource;

use sqlx::any::AnyPoolOptions;
use sqlx::AnyPool;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::Duration;

/// The default database URL: a SQLite file in the working directory.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://latchkey.db";

static SQLITE_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// The key of the PostgreSQL advisory lock every write transaction takes (see [`Store::write`]).
const WRITE_LOCK: i64 = 0x4c61_7463_686b_6579; // "Latchkey"

/// Which database a store runs on. Both keep the same schema, answer the same queries and
/// behave the same; only how a writer takes its turn and how nodes hear of changes differ.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// One SQLite file (the default): one node, or a server beside a CLI on one machine.
    Sqlite,
    /// One PostgreSQL database shared by any number of stateless nodes.
    Postgres,
}

impl Backend {
    /// The backend a database URL names: `sqlite:` or `postgres:` / `postgresql:`.
    pub fn of_url(url: &str) -> Result<Backend, StoreError> {
        if url.starts_with("sqlite:") {
            Ok(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Backend::Postgres)
        } else {
            Err(StoreError::Config(format!(
                "unsupported database URL `{}`: expected sqlite://PATH or postgres://USER@HOST/DB",
                redact_url(url)
            )))
        }
    }
}

/// `url` with any password replaced by `***`, fit for logs and error messages.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    match authority.rsplit_once('@') {
        Some((user, host)) if user.contains(':') => {
            let name = user.split_once(':').map_or(user, |(name, _)| name);
            format!("{scheme}://{name}:***@{host}{path}")
        }
        _ => url.to_owned(),
    }
}

/// How a store opens its database: the pool's size and timeouts, and whether it applies pending
/// migrations itself.
#[derive(Clone, Debug)]
pub struct StoreOptions {
    /// Most connections the pool holds (SQLite: readers beside the one writer).
    pub max_connections: u32,
    /// Connections the pool keeps open when idle.
    pub min_connections: u32,
    /// How long a command waits for a free connection before failing.
    pub acquire_timeout: Duration,
    /// How long an idle connection above `min_connections` is kept.
    pub idle_timeout: Duration,
    /// Apply pending migrations on open (the default). When false, opening fails with a message
    /// naming `latchkey migrate` if the database is behind, for operators who migrate separately.
    pub migrate: bool,
}

impl Default for StoreOptions {
    fn default() -> StoreOptions {
        StoreOptions {
            max_connections: 8,
            min_connections: 1,
            acquire_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(600),
            migrate: true,
        }
    }
}

/// Handle to the database; cheap to clone.
#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    /// The PostgreSQL URL, for the change listener's own connection (never logged: it may
    /// hold a password).
    url: Option<Arc<str>>,
    passwords: passwords::PasswordGate,
    /// Queries made by credential lookups (see [`Store::credential_queries`]).
    credential_queries: Arc<AtomicU64>,
    /// This process's writers, queued for the database's one writer (see [`Store::write`]).
    turn: write_turn::WriteTurn,
}

impl Store {
    /// Opens the database at `url` with the default options: creating a SQLite file if needed,
    /// and running pending migrations.
    pub async fn open(url: &str) -> Result<Store, StoreError> {
        Store::open_with(url, &StoreOptions::default()).await
    }

    /// Opens the database at `url` (`sqlite://PATH` or `postgres://…`). SQLite runs in WAL mode
    /// with foreign keys on, in a file only its owner may read.
    pub async fn open_with(url: &str, options: &StoreOptions) -> Result<Store, StoreError> {
        let (pool, backend, lock) = connect(url, options).await?;
        let migrator = migrator(backend);
        let migrated = if options.migrate {
            migrator.run(&pool).await.map_err(StoreError::from)
        } else {
            match pending(&pool, migrator).await {
                Ok(0) => Ok(()),
                Ok(pending) => Err(StoreError::Behind { pending }),
                Err(e) => Err(e),
            }
        };
        drop(lock);
        if let Err(e) = migrated {
            pool.close().await;
            return Err(e);
        }
        Ok(Store {
            pool,
            backend,
            url: (backend == Backend::Postgres).then(|| Arc::from(url)),
            passwords: passwords::PasswordGate::default(),
            credential_queries: Arc::default(),
            turn: write_turn::WriteTurn::new(options.acquire_timeout),
        })
    }

    /// Applies the migrations the database at `url` lacks, and says how many that was
    /// (`latchkey migrate`, for operators who migrate separately from starting nodes).
    pub async fn migrate(url: &str) -> Result<usize, StoreError> {
        let (pool, backend, lock) = connect(url, &StoreOptions::default()).await?;
        let migrator = migrator(backend);
        let result = match pending(&pool, migrator).await {
            Ok(n) => migrator
                .run(&pool)
                .await
                .map(|()| n)
                .map_err(StoreError::from),
            Err(e) => Err(e),
        };
        drop(lock);
        pool.close().await;
        result
    }

    /// Which database this store runs on.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// One round trip to the database (`/readyz`).
    pub async fn ping(&self) -> Result<(), StoreError> {
        let one: i64 = sqlx::query_scalar("SELECT 1").fetch_one(&self.pool).await?;
        debug_assert_eq!(one, 1);
        Ok(())
    }

    /// Connections open in the pool, and how many of them are idle.
    pub fn pool_use(&self) -> (u32, usize) {
        (self.pool.size(), self.pool.num_idle())
    }

    /// The same store with at most `permits` password hashes running at once (default: the
    /// machine's cores).
    pub fn with_password_permits(mut self, permits: usize) -> Store {
        self.passwords = passwords::PasswordGate::new(permits);
        self
    }

    /// Opens a write transaction that has the database's one writer's turn from its first
    /// statement. The process's writers queue in order for it first ([`write_turn`]); then
    /// SQLite's write lock (`BEGIN IMMEDIATE`, so a writer of another process waits on the busy
    /// timeout instead of failing to upgrade a read snapshot); on PostgreSQL, a transaction
    /// advisory lock every writer on every node takes. Commands read, check and write inside it
    /// exactly as on SQLite, so no check is ever decided on a state another node is changing,
    /// and change-feed positions are handed out in commit order.
    async fn write(&self) -> Result<write_turn::WriteTx, StoreError> {
        let turn = self.turn.wait().await?;
        let tx = match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => {
                let mut tx = self.pool.begin().await?;
                sqlx::query("SELECT 1 FROM pg_advisory_xact_lock($1)")
                    .bind(WRITE_LOCK)
                    .execute(&mut *tx)
                    .await?;
                tx
            }
        };
        Ok(write_turn::WriteTx::new(tx, Some(turn)))
    }

    /// A write transaction for writes that check nothing and only move a time forward (the
    /// batched `last_used_at`): on PostgreSQL it takes no turn, so a usage flush on one node
    /// never queues every node's commands. SQLite has one writer whatever, so there it queues.
    async fn write_unordered(&self) -> Result<write_turn::WriteTx, StoreError> {
        match self.backend {
            Backend::Sqlite => self.write().await,
            Backend::Postgres => Ok(write_turn::WriteTx::new(self.pool.begin().await?, None)),
        }
    }

    /// Closes the pool, waiting for connections to finish.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// A pool on `url`, with SQLite's settings on every connection, and (for a SQLite file) the lock
/// that makes nodes starting together on one new file migrate in turn.
async fn connect(
    url: &str,
    options: &StoreOptions,
) -> Result<(AnyPool, Backend, Option<std::fs::File>), StoreError> {
    let backend = Backend::of_url(url)?;
    sqlx::any::install_default_drivers();
    let mut lock = None;
    // sqlx pings every connection as it returns to the pool (which also flushes an interrupted
    // transaction's rollback), and by default once more as it is taken out. A SQLite connection
    // cannot die in between, so there the second ping, a round trip to the connection's thread
    // for every statement run from the pool, is skipped. A PostgreSQL connection can (a
    // restarted or failed-over server, a terminated backend), so there it is kept: a node whose
    // connections were all cut answers its next request on new ones, not with an error.
    let pool_options = AnyPoolOptions::new()
        .max_connections(options.max_connections.max(1))
        .min_connections(options.min_connections.min(options.max_connections))
        .acquire_timeout(options.acquire_timeout)
        .idle_timeout(options.idle_timeout);
    let pool = match backend {
        Backend::Sqlite => {
            if let Some(file) = sqlite_file(url)? {
                create_private(&file)?;
                let mut path = file.into_os_string();
                path.push(".lock");
                lock = Some(lock_file(std::path::Path::new(&path)).await?);
            }
            pool_options
                .test_before_acquire(false)
                .after_connect(|conn, _| {
                    Box::pin(async move {
                        sqlx::Executor::execute(
                            conn,
                            "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;
                             PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000;",
                        )
                        .await
                        .map(|_| ())
                    })
                })
                .connect(url)
                .await
        }
        // PostgreSQL's migrator takes an advisory lock of its own, so nodes started together
        // take turns there.
        Backend::Postgres => pool_options.connect(url).await,
    }
    .map_err(|e| connect_error(url, &e))?;
    Ok((pool, backend, lock))
}

/// The migrations of `backend`.
fn migrator(backend: Backend) -> &'static sqlx::migrate::Migrator {
    match backend {
        Backend::Sqlite => &SQLITE_MIGRATOR,
        Backend::Postgres => &POSTGRES_MIGRATOR,
    }
}

/// The file a SQLite URL names, or `None` for an in-memory database.
fn sqlite_file(url: &str) -> Result<Option<std::path::PathBuf>, StoreError> {
    use std::str::FromStr;
    let options = sqlx::sqlite::SqliteConnectOptions::from_str(url)
        .map_err(|e| StoreError::Config(format!("bad database URL: {e}")))?;
    let file = options.get_filename();
    let in_memory = file.as_os_str().is_empty() || file.as_os_str() == ":memory:";
    Ok((!in_memory).then(|| file.to_owned()))
}

/// A failed first connection, told without the URL's password.
fn connect_error(url: &str, e: &sqlx::Error) -> StoreError {
    StoreError::Config(format!("cannot open the database {}: {e}", redact_url(url)))
}

/// How many of `migrator`'s migrations `pool`'s database lacks; a configuration error when it
/// has one this build does not know (a newer release's).
async fn pending(pool: &AnyPool, migrator: &sqlx::migrate::Migrator) -> Result<usize, StoreError> {
    use sqlx::migrate::Migrate;
    let mut conn = pool.acquire().await?;
    conn.ensure_migrations_table().await?;
    let applied = conn.list_applied_migrations().await?;
    if let Some(newer) = applied
        .iter()
        .find(|a| !migrator.iter().any(|m| m.version == a.version))
    {
        return Err(StoreError::Config(format!(
            "the database has migration {} which this release does not know: upgrade Latchkey",
            newer.version
        )));
    }
    Ok(migrator
        .iter()
        .filter(|m| !applied.iter().any(|a| a.version == m.version))
        .count())
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
