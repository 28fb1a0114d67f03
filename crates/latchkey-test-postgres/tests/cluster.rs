//! The harness against the machine's real PostgreSQL: databases are separate, can be made from
//! sync and async code and from many threads at once, the server never runs as root, and nothing
//! of the cluster outlives the test process. Skipped without PostgreSQL unless
//! `LATCHKEY_REQUIRE_PG=1`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests stop loudly on a failed setup"
)]

use latchkey_test_postgres::TestPostgres;
use sqlx::PgPool;
use std::collections::HashSet;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

#[tokio::test]
async fn a_row_written_in_one_database_is_absent_from_another() {
    let Some(pg) = TestPostgres::shared() else {
        return;
    };
    let first = PgPool::connect(&pg.new_database()).await.unwrap();
    let second = PgPool::connect(&pg.new_database()).await.unwrap();
    for pool in [&first, &second] {
        sqlx::query("CREATE TABLE notes (body TEXT NOT NULL)")
            .execute(pool)
            .await
            .unwrap();
    }
    sqlx::query("INSERT INTO notes (body) VALUES ('only in the first')")
        .execute(&first)
        .await
        .unwrap();

    let count = |pool| async move {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM notes")
            .fetch_one(pool)
            .await
            .unwrap()
    };
    assert_eq!(count(&first).await, 1);
    assert_eq!(count(&second).await, 0);
}

#[test]
fn databases_made_from_many_threads_at_once_are_all_distinct_and_empty() {
    let Some(pg) = TestPostgres::shared() else {
        return;
    };
    let urls: Vec<String> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..8).map(|_| s.spawn(|| pg.new_database())).collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let distinct: HashSet<&String> = urls.iter().collect();
    assert_eq!(distinct.len(), urls.len(), "{urls:?}");

    let runtime = tokio::runtime::Runtime::new().unwrap();
    for url in &urls {
        assert!(url.starts_with(&format!("{}/t_", pg.base_url())), "{url}");
        let tables: i64 = runtime.block_on(async {
            let pool = PgPool::connect(url).await.unwrap();
            sqlx::query_scalar("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")
                .fetch_one(&pool)
                .await
                .unwrap()
        });
        assert_eq!(tables, 0, "{url}");
    }
}

#[tokio::test]
async fn the_server_runs_as_an_unprivileged_user_when_the_tests_run_as_root() {
    let Some(pg) = TestPostgres::shared() else {
        return;
    };
    let pool = PgPool::connect(&pg.new_database()).await.unwrap();
    let backend: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
        .fetch_one(&pool)
        .await
        .unwrap();
    let postmaster = postmaster_pid(pg.directory());

    let ours = rustix::process::geteuid().as_raw();
    for pid in [backend.unsigned_abs(), postmaster] {
        let uid = effective_uid(pid);
        if ours == 0 {
            assert_ne!(uid, 0, "PostgreSQL process {pid} runs as root");
        } else {
            assert_eq!(uid, ours, "PostgreSQL process {pid} runs as another user");
        }
    }
}

/// Run by [`the_cluster_is_gone_soon_after_the_test_process_exits`] in a child process: starts
/// the cluster, says where it is, and exits.
#[test]
#[ignore = "the child half of the_cluster_is_gone_soon_after_the_test_process_exits"]
fn start_a_cluster_and_exit() {
    let pg = TestPostgres::shared().expect("PostgreSQL is missing");
    let postmaster = postmaster_pid(pg.directory());
    assert!(Path::new(&format!("/proc/{postmaster}")).exists());
    println!("DIRECTORY={}", pg.directory().display());
    println!("POSTMASTER={postmaster}");
}

#[test]
fn the_cluster_is_gone_soon_after_the_test_process_exits() {
    if TestPostgres::shared().is_none() {
        return;
    }
    let child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "start_a_cluster_and_exit",
            "--ignored",
            "--nocapture",
        ])
        .args(["--test-threads", "1"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&child.stdout);
    assert!(
        child.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&child.stderr)
    );
    let said = |key: &str| {
        stdout
            .lines()
            .find_map(|l| l.split_once(key).map(|(_, value)| value))
            .unwrap_or_else(|| panic!("the child did not say {key}: {stdout}"))
            .to_owned()
    };
    let directory = said("DIRECTORY=");
    let postmaster: u32 = said("POSTMASTER=").parse().unwrap();

    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let left = leftovers(&directory, postmaster);
        let exists = Path::new(&directory).exists();
        if left.is_empty() && !exists {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "60 s after the test process exited: processes {left:?}, directory exists: {exists}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn postmaster_pid(directory: &Path) -> u32 {
    let pid_file = std::fs::read_to_string(directory.join("data/postmaster.pid")).unwrap();
    pid_file.lines().next().unwrap().trim().parse().unwrap()
}

/// The effective uid of a process, from `/proc/PID/status`.
fn effective_uid(pid: u32) -> u32 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let uids = status.lines().find_map(|l| l.strip_prefix("Uid:")).unwrap();
    uids.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// The live processes whose command line names the directory (the postmaster, the reaper) or
/// whose parent is the postmaster (its backends): what `pgrep -f DIR` finds, and more.
fn leftovers(directory: &str, postmaster: u32) -> Vec<u32> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
        let stat = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
        // `pid (comm) state ppid …`; comm may hold spaces, so read after its closing parenthesis.
        let ppid = stat
            .rsplit_once(") ")
            .and_then(|(_, rest)| rest.split_whitespace().nth(1))
            .and_then(|p| p.parse::<u32>().ok());
        let mentions = String::from_utf8_lossy(&cmdline).contains(directory);
        let zombie = stat
            .rsplit_once(") ")
            .is_some_and(|(_, rest)| rest.starts_with('Z'));
        if !zombie && (mentions || pid == postmaster || ppid == Some(postmaster)) {
            found.push(pid);
        }
    }
    found
}
