//! Where the machine's PostgreSQL server binaries are, and as whom they run: PostgreSQL refuses
//! to run as root, so under root (CI) every server command runs as the unprivileged `postgres`
//! user. Not here: starting or stopping anything (that is `cluster.rs`).

use std::path::{Path, PathBuf};
use std::process::Command;

/// The environment variable naming a directory that holds `initdb` and `pg_ctl`.
pub const BIN_DIR_VAR: &str = "LATCHKEY_PG_BIN";

/// The unprivileged account the cluster runs as when the test process is root.
pub const CLUSTER_USER: &str = "postgres";

/// The server programs the harness runs.
#[derive(Debug, Clone)]
pub struct Binaries {
    /// `initdb`, which creates a cluster's data directory.
    pub initdb: PathBuf,
    /// `pg_ctl`, which starts and stops the server.
    pub pg_ctl: PathBuf,
}

impl Binaries {
    /// `LATCHKEY_PG_BIN` when set, else `initdb` and `pg_ctl` on `PATH`, else the highest
    /// `/usr/lib/postgresql/*/bin` (Debian's layout, which keeps them off `PATH`). The error
    /// says where it looked.
    pub fn find() -> Result<Binaries, String> {
        if let Some(dir) = std::env::var_os(BIN_DIR_VAR) {
            let dir = PathBuf::from(dir);
            return in_dir(&dir).ok_or_else(|| {
                format!(
                    "{BIN_DIR_VAR}={} holds no executable initdb and pg_ctl",
                    dir.display()
                )
            });
        }
        if let (Some(initdb), Some(pg_ctl)) = (on_path("initdb"), on_path("pg_ctl")) {
            return Ok(Binaries { initdb, pg_ctl });
        }
        let mut versions: Vec<(Vec<u32>, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|entry| {
                let name = entry.file_name().to_string_lossy().into_owned();
                let version = name
                    .split('.')
                    .map(str::parse)
                    .collect::<Result<Vec<u32>, _>>()
                    .ok()?;
                Some((version, entry.path().join("bin")))
            })
            .collect();
        versions.sort();
        versions
            .iter()
            .rev()
            .find_map(|(_, dir)| in_dir(dir))
            .ok_or_else(|| {
                "no initdb and pg_ctl on PATH nor in /usr/lib/postgresql/*/bin".to_owned()
            })
    }
}

fn in_dir(dir: &Path) -> Option<Binaries> {
    let initdb = dir.join("initdb");
    let pg_ctl = dir.join("pg_ctl");
    (is_executable(&initdb) && is_executable(&pg_ctl)).then_some(Binaries { initdb, pg_ctl })
}

fn on_path(program: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(program))
        .find(|path| is_executable(path))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Whether this process runs as root, where PostgreSQL must be run as [`CLUSTER_USER`].
pub fn running_as_root() -> bool {
    rustix::process::geteuid().is_root()
}

/// The owner the cluster's files need: `None` when the cluster runs as ourselves, else the uid
/// and gid of [`CLUSTER_USER`] (an error when the account does not exist).
pub fn cluster_owner() -> Result<Option<(u32, u32)>, String> {
    if !running_as_root() {
        return Ok(None);
    }
    let id = |flag: &str| -> Result<u32, String> {
        let out = Command::new("id")
            .args([flag, CLUSTER_USER])
            .output()
            .map_err(|e| format!("could not run `id`: {e}"))?;
        String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse()
            .map_err(|_| {
                format!(
                    "running as root, but there is no `{CLUSTER_USER}` user to run PostgreSQL as \
                     (PostgreSQL refuses root; Debian's `postgresql` package creates the user)"
                )
            })
    };
    Ok(Some((id("-u")?, id("-g")?)))
}

/// `program`, to be run as the cluster's user: directly when we are not root, else through
/// `runuser -u postgres --` (or `setpriv` where there is no `runuser`).
pub fn cluster_command(program: &Path) -> Command {
    if !running_as_root() {
        return Command::new(program);
    }
    let runuser = ["/usr/sbin/runuser", "/sbin/runuser"]
        .into_iter()
        .map(PathBuf::from)
        .chain(on_path("runuser"))
        .find(|p| is_executable(p));
    let mut command = if let Some(runuser) = runuser {
        let mut command = Command::new(runuser);
        command.args(["-u", CLUSTER_USER, "--"]);
        command
    } else {
        let mut command = Command::new("setpriv");
        let user = ["--reuid", CLUSTER_USER, "--regid", CLUSTER_USER];
        command.args(user).args(["--init-groups", "--"]);
        command
    };
    command.arg(program);
    command
}
