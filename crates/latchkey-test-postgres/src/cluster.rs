//! One throwaway PostgreSQL cluster: a private temp directory (data, socket, log), `initdb`, a
//! reaper that removes it all once the test process is gone, and `pg_ctl start` on a free
//! loopback port. Not here: finding the binaries and the user (`binaries.rs`), databases (lib).

use crate::binaries::{cluster_command, Binaries};
use std::io::Write;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{SystemTime, UNIX_EPOCH};

/// The superuser `initdb` creates; tests connect as it (trust authentication on loopback).
pub const SUPERUSER: &str = "latchkey";

/// How many free ports a start tries: a port picked free may be taken by another process before
/// the server binds it.
const START_ATTEMPTS: usize = 5;

/// A running cluster's address and where its files are.
#[derive(Debug)]
pub struct Cluster {
    /// The TCP port on 127.0.0.1.
    pub port: u16,
    /// The temp directory holding `data/`, `socket/` and `postgres.log`.
    pub dir: PathBuf,
}

impl Cluster {
    /// Creates the directory (owned by `owner` when given), hands it to a reaper, runs `initdb`
    /// and starts the server. The error says what failed, with the server log's tail.
    pub fn start(binaries: &Binaries, owner: Option<(u32, u32)>) -> Result<Cluster, String> {
        let dir = make_private_dir(owner)?;
        let data = dir.join("data");
        let socket = dir.join("socket");
        let log = dir.join("postgres.log");
        // The reaper first, so that a failure from here on leaves nothing behind either.
        spawn_reaper(&dir, &data)?;
        std::fs::create_dir(&socket).map_err(|e| format!("{}: {e}", socket.display()))?;
        if let Some((uid, gid)) = owner {
            std::os::unix::fs::chown(&socket, Some(uid), Some(gid))
                .map_err(|e| format!("chown {}: {e}", socket.display()))?;
        }

        let initdb = run(cluster_command(&binaries.initdb)
            .current_dir(&dir)
            .arg("-D")
            .arg(&data)
            .args(["-A", "trust", "-U", SUPERUSER, "--no-sync", "-E", "UTF8"])
            .arg("--locale=C"))?;
        if !initdb.status.success() {
            return Err(format!(
                "initdb failed ({}): {}",
                initdb.status,
                String::from_utf8_lossy(&initdb.stderr).trim()
            ));
        }
        configure(&data, &socket)?;

        for _ in 0..START_ATTEMPTS {
            let port = free_port()?;
            let logged_before = std::fs::metadata(&log).map_or(0, |m| m.len());
            let start = run(cluster_command(&binaries.pg_ctl)
                .current_dir(&dir)
                .arg("-D")
                .arg(&data)
                .arg("-l")
                .arg(&log)
                .args(["-w", "-t", "120", "-o"])
                .arg(format!("-p {port}"))
                .arg("start"))?;
            if start.status.success() {
                return Ok(Cluster { port, dir });
            }
            // A server that outlived pg_ctl's wait must not hold the data directory.
            let _ = run(cluster_command(&binaries.pg_ctl)
                .current_dir(&dir)
                .arg("-D")
                .arg(&data)
                .args(["-m", "immediate", "stop"]));
            if !port_was_taken(&log, logged_before) {
                return Err(failed_start(&start, &log));
            }
        }
        Err(format!(
            "every one of {START_ATTEMPTS} free ports was taken before the server bound it; {}",
            failed_start_log(&log)
        ))
    }
}

/// Test-speed settings: nothing is durable, the data directory is deleted anyway.
fn configure(data: &Path, socket: &Path) -> Result<(), String> {
    let socket = socket.to_string_lossy().replace('\'', "''");
    let settings = format!(
        "\n# latchkey-test-postgres\n\
         listen_addresses = '127.0.0.1'\n\
         unix_socket_directories = '{socket}'\n\
         fsync = off\n\
         synchronous_commit = off\n\
         full_page_writes = off\n\
         max_connections = 300\n\
         shared_buffers = 32MB\n"
    );
    let conf = data.join("postgresql.conf");
    std::fs::OpenOptions::new()
        .append(true)
        .open(&conf)
        .and_then(|mut f| f.write_all(settings.as_bytes()))
        .map_err(|e| format!("{}: {e}", conf.display()))
}

/// A new directory under the temp dir, mode 0700, owned by `owner`. `/tmp` instead when the
/// temp dir's path is too long for the server's Unix socket path (about 100 bytes) or, under
/// root, when the cluster's user could not reach into it.
fn make_private_dir(owner: Option<(u32, u32)>) -> Result<PathBuf, String> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    let mut parent = std::env::temp_dir();
    if parent.as_os_str().len() > 50 || owner.is_some() && !traversable_by_others(&parent) {
        parent = PathBuf::from("/tmp");
    }
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let dir = parent.join(format!("latchkey-pg-{}-{nanos}", std::process::id()));
    std::fs::DirBuilder::new()
        .mode(0o700)
        .create(&dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?;
    // The mode above is masked by the umask; say it again.
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))
        .map_err(|e| format!("{}: {e}", dir.display()))?;
    if let Some((uid, gid)) = owner {
        std::os::unix::fs::chown(&dir, Some(uid), Some(gid))
            .map_err(|e| format!("chown {}: {e}", dir.display()))?;
    }
    Ok(dir)
}

fn traversable_by_others(dir: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    dir.ancestors()
        .all(|d| std::fs::metadata(d).is_ok_and(|m| m.permissions().mode() & 0o001 != 0))
}

/// A shell that waits for this process to exit, then stops the server at once (SIGQUIT, what
/// `pg_ctl stop -m immediate` sends; SIGKILL if it lingers) and deletes the directory: the
/// cluster lives in a static, whose `Drop` never runs, and a test binary may panic or be
/// killed. Signalling the postmaster itself needs neither `pg_ctl` nor the cluster's user, so
/// nothing can leave a server running on a deleted directory. Its own process group, so that a
/// Ctrl-C to the tests does not end it before it has cleaned up.
fn spawn_reaper(dir: &Path, data: &Path) -> Result<(), String> {
    const SCRIPT: &str = r#"pid=$1 data=$2 dir=$3
while kill -0 "$pid" 2>/dev/null; do sleep 0.5; done
postmaster=$(head -n 1 "$data/postmaster.pid" 2>/dev/null)
if [ -n "$postmaster" ] && kill -QUIT "$postmaster" 2>/dev/null; then
    n=0
    while kill -0 "$postmaster" 2>/dev/null && [ "$n" -lt 100 ]; do sleep 0.1; n=$((n + 1)); done
    if kill -0 "$postmaster" 2>/dev/null; then kill -KILL "$postmaster"; fi
fi
rm -rf "$dir""#;
    Command::new("sh")
        .current_dir("/")
        .args(["-c", SCRIPT, "latchkey-pg-reaper"])
        .arg(std::process::id().to_string())
        .arg(data)
        .arg(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .map(drop)
        .map_err(|e| format!("could not start the reaper shell: {e}"))
}

fn free_port() -> Result<u16, String> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("no free port on 127.0.0.1: {e}"))
}

fn run(command: &mut Command) -> Result<Output, String> {
    command
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("could not run {:?}: {e}", command.get_program()))
}

/// Whether the server's log since `offset` says its port was in use (the locale is C).
fn port_was_taken(log: &Path, offset: u64) -> bool {
    std::fs::read(log).is_ok_and(|text| {
        let since = usize::try_from(offset).map_or(&[][..], |o| text.get(o..).unwrap_or_default());
        String::from_utf8_lossy(since).contains("Address already in use")
    })
}

fn failed_start(pg_ctl: &Output, log: &Path) -> String {
    format!(
        "pg_ctl start failed ({}): {}; {}",
        pg_ctl.status,
        String::from_utf8_lossy(&pg_ctl.stderr).trim(),
        failed_start_log(log)
    )
}

fn failed_start_log(log: &Path) -> String {
    format!("the end of {}:\n{}", log.display(), tail(log, 20))
}

/// The last `lines` lines of a file, or why it could not be read.
fn tail(path: &Path, lines: usize) -> String {
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let all: Vec<&str> = text.lines().collect();
            all[all.len().saturating_sub(lines)..].join("\n")
        }
        Err(e) => format!("(unreadable: {e})"),
    }
}
