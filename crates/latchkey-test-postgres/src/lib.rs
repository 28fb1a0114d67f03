//! Tests' throwaway PostgreSQL: one cluster per test process, started on first use from the
//! machine's PostgreSQL (`initdb` + `pg_ctl`, a temp directory, a free loopback port, as the
//! unprivileged `postgres` user when the tests run as root), and a fresh empty database for each
//! test. The cluster is stopped and deleted by a reaper once the test process has exited, even
//! after a panic or a kill.
//!
//! Without PostgreSQL binaries [`TestPostgres::shared`] says loudly that the PostgreSQL tests are
//! skipped and returns `None`, unless `LATCHKEY_REQUIRE_PG=1` (CI), where it panics. A test reads:
//!
//! ```no_run
//! # async fn example() {
//! let Some(pg) = latchkey_test_postgres::TestPostgres::shared() else { return };
//! let pool = sqlx::PgPool::connect(&pg.new_database()).await.unwrap();
//! # }
//! ```
//!
//! Not here: the store's schema or any Latchkey type; this crate only provides a place to put them.

mod binaries;
mod cluster;
pub mod inspect;

pub use inspect::every_row;

use std::io::Write;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;

/// The environment variable that makes a missing or broken PostgreSQL a test failure.
const REQUIRE_VAR: &str = "LATCHKEY_REQUIRE_PG";

/// A throwaway PostgreSQL cluster started for this test process (initdb + pg_ctl from the
/// machine's PostgreSQL).
#[derive(Debug)]
pub struct TestPostgres {
    cluster: cluster::Cluster,
    databases: AtomicU32,
}

static SHARED: OnceLock<Result<Option<TestPostgres>, String>> = OnceLock::new();

impl TestPostgres {
    /// The process-wide cluster, started on first use, or `None` when the PostgreSQL binaries are
    /// missing and [`required`] is false: then one line on stderr says that the PostgreSQL tests
    /// are SKIPPED and how to enable them. When required, a missing binary panics; a cluster
    /// that fails to start panics either way, with the end of its log.
    pub fn shared() -> Option<&'static TestPostgres> {
        match SHARED.get_or_init(start) {
            Ok(pg) => pg.as_ref(),
            Err(why) => panic!("{why}"),
        }
    }

    /// A new empty database in the cluster with a unique name; returns its URL, e.g.
    /// `postgres://latchkey@127.0.0.1:PORT/t_12_3`. Blocks; works from sync code and from
    /// inside a tokio runtime alike (the statement runs on a thread of its own). Panics if the
    /// cluster refuses, which fails the calling test.
    pub fn new_database(&self) -> String {
        let name = format!(
            "t_{}_{}",
            std::process::id(),
            self.databases.fetch_add(1, Ordering::Relaxed)
        );
        let admin = format!("{}/postgres", self.base_url());
        let create = format!("CREATE DATABASE {name}");
        let created = std::thread::spawn(move || execute(&admin, &create)).join();
        match created {
            Ok(Ok(())) => format!("{}/{name}", self.base_url()),
            Ok(Err(e)) => panic!("CREATE DATABASE {name} failed: {e}"),
            Err(_) => panic!("CREATE DATABASE {name}: its thread panicked"),
        }
    }

    /// The cluster's URL without a database name, `postgres://latchkey@127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        format!(
            "postgres://{}@127.0.0.1:{}",
            cluster::SUPERUSER,
            self.cluster.port
        )
    }

    /// The cluster's TCP port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.cluster.port
    }

    /// The cluster's temp directory (`data/`, `socket/`, `postgres.log`), removed once this
    /// process has exited.
    pub fn directory(&self) -> &std::path::Path {
        &self.cluster.dir
    }
}

/// The URL of a new empty database for a suite that runs on PostgreSQL. Without PostgreSQL
/// (and without [`required`]) there is nothing such a suite can do: after the SKIPPED line of
/// [`TestPostgres::shared`], the whole test process ends here, passing, so that a suite of a
/// hundred tests skips as one rather than each test returning early on its own.
pub fn database_or_skip() -> String {
    match TestPostgres::shared() {
        Some(pg) => pg.new_database(),
        None => std::process::exit(0),
    }
}

/// Whether the PostgreSQL tests must run (`LATCHKEY_REQUIRE_PG=1`): a missing PostgreSQL fails
/// them instead of skipping them.
pub fn required() -> bool {
    std::env::var(REQUIRE_VAR).as_deref() == Ok("1")
}

/// Finds the binaries and the user to run them as, and starts the cluster; `Ok(None)` is a skip.
fn start() -> Result<Option<TestPostgres>, String> {
    let prerequisites = binaries::Binaries::find()
        .and_then(|found| binaries::cluster_owner().map(|owner| (found, owner)));
    let (found, owner) = match prerequisites {
        Ok(ok) => ok,
        Err(why) if required() => return Err(format!("{REQUIRE_VAR}=1 but {why}")),
        Err(why) => {
            // Straight to the process's stderr: the test harness captures `eprintln!`, and this
            // must be seen when the tests pass.
            let _ = writeln!(
                std::io::stderr(),
                "*** The PostgreSQL tests are SKIPPED: {why}. To run them, install PostgreSQL's \
                 server binaries (Debian: apt-get install postgresql) or point {} at their \
                 directory; {REQUIRE_VAR}=1 makes this a failure. ***",
                binaries::BIN_DIR_VAR
            );
            return Ok(None);
        }
    };
    let cluster = cluster::Cluster::start(&found, owner)
        .map_err(|why| format!("the test PostgreSQL did not start: {why}"))?;
    Ok(Some(TestPostgres {
        cluster,
        databases: AtomicU32::new(0),
    }))
}

/// Runs one statement on a fresh connection, with a runtime of its own (the caller's thread may
/// already be inside one).
fn execute(url: &str, statement: &str) -> Result<(), String> {
    use sqlx::{Connection, Executor};
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime
        .block_on(async {
            let mut connection = sqlx::PgConnection::connect(url).await?;
            connection.execute(statement).await?;
            connection.close().await
        })
        .map_err(|e| e.to_string())
}
