//! What the binary's tests share: an environment (a database and a directory) to run the
//! `latchkey` binary in, a server process that is stopped when the test ends, a blocking HTTP
//! client over std (so tests need no runtime), and waits for a server to answer.

use serde_json::Value;
use std::io::Write;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub(crate) struct Env {
    /// A directory of the test's own (the SQLite file, delivered invitations, server output).
    pub(crate) dir: tempfile::TempDir,
    /// The database URL every command of this environment uses.
    pub(crate) url: String,
}

impl Env {
    /// An environment on a new SQLite file, `l.db` in its directory.
    pub(crate) fn new() -> Env {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/l.db", dir.path().display());
        Env { dir, url }
    }

    /// An environment on the database at `url`.
    pub(crate) fn on(url: &str) -> Env {
        Env {
            dir: tempfile::tempdir().unwrap(),
            url: url.to_owned(),
        }
    }

    pub(crate) fn cmd(&self) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_latchkey"));
        c.env("LATCHKEY_DATABASE_URL", &self.url)
            .env("LATCHKEY_LOG", "warn")
            .env_remove("LATCHKEY_TOKEN");
        c
    }

    pub(crate) fn run(&self, args: &[&str]) -> Output {
        self.cmd().args(args).stdin(Stdio::null()).output().unwrap()
    }

    pub(crate) fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    pub(crate) fn check(&self, token: &str, args: &[&str], via_stdin: bool) -> (i32, Value) {
        let mut c = self.cmd();
        c.arg("check")
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if via_stdin {
            c.stdin(Stdio::piped());
        } else {
            c.env("LATCHKEY_TOKEN", token).stdin(Stdio::null());
        }
        let mut child = c.spawn().unwrap();
        if via_stdin {
            child
                .stdin
                .take()
                .unwrap()
                .write_all(format!("{token}\n").as_bytes())
                .unwrap();
        }
        let out = child.wait_with_output().unwrap();
        let json = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
        (out.status.code().unwrap(), json)
    }
}

pub(crate) fn is_service_token(s: &str) -> bool {
    s.len() == 62 && s.starts_with("lksvc_") && s[6..].bytes().all(|b| b.is_ascii_alphanumeric())
}
/// Kills the server even when an assertion fails.
pub(crate) struct Server(pub(crate) Child);

impl Server {
    /// Stops the server as an operator would (SIGTERM) and waits until it has exited, so that
    /// everything it wrote (logs, the database) is on disk; kills it if it has not exited
    /// within a generous bound.
    pub(crate) fn stop(mut self) {
        let pid = self.0.id().to_string();
        let sent = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(sent.success(), "kill -TERM {pid}");
        let start = Instant::now();
        while self.0.try_wait().unwrap().is_none() {
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "the server did not stop on SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub(crate) fn start_server(env: &Env, port: u16) -> (Server, Vec<String>) {
    start_server_logging(env, port, Stdio::null(), "warn")
}

pub(crate) fn start_server_logging(
    env: &Env,
    port: u16,
    stderr: Stdio,
    level: &str,
) -> (Server, Vec<String>) {
    start_server_with(env, port, stderr, level, &[])
}

/// [`start_server_logging`] with more arguments for `serve`.
pub(crate) fn start_server_with(
    env: &Env,
    port: u16,
    stderr: Stdio,
    level: &str,
    extra: &[&str],
) -> (Server, Vec<String>) {
    start_server_under(env, port, stderr, level, extra, None)
}

/// [`start_server_with`], under `ulimit OPTIONS` (a shell's) when `ulimit` is given.
pub(crate) fn start_server_under(
    env: &Env,
    port: u16,
    stderr: Stdio,
    level: &str,
    extra: &[&str],
    ulimit: Option<&str>,
) -> (Server, Vec<String>) {
    // Invitation codes go to a delivery program that files them beside the database.
    let deliver = env.dir.path().join("deliver.sh");
    std::fs::write(
        &deliver,
        "#!/bin/sh\ncat > \"$(dirname \"$0\")/delivered.json\"\n",
    )
    .unwrap();
    std::fs::set_permissions(
        &deliver,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let mut command = match ulimit {
        None => env.cmd(),
        Some(options) => {
            let mut sh = Command::new("sh");
            sh.arg("-c")
                .arg(format!("ulimit {options} && exec \"$0\" \"$@\""))
                .arg(env!("CARGO_BIN_EXE_latchkey"));
            for (key, value) in env.cmd().get_envs() {
                match value {
                    Some(v) => sh.env(key, v),
                    None => sh.env_remove(key),
                };
            }
            sh
        }
    };
    let stdout = env.dir.path().join(format!("serve-{port}.out"));
    let child = command
        .env(
            "LATCHKEY_INVITE_DELIVERY",
            format!("command:{}", deliver.display()),
        )
        .args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--change-poll-ms",
            "100",
        ])
        .args(extra)
        .env("LATCHKEY_LOG", level)
        .stdout(std::fs::File::create(&stdout).unwrap())
        .stderr(stderr)
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    let server = Server(child);
    let start = Instant::now();
    loop {
        if http::request("GET", &format!("http://127.0.0.1:{port}/healthz"), None, "").map(|r| r.0)
            == Some(200)
        {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "server did not start"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // What the first start prints (line by line, to a file) is written before it listens, so
    // it is all in the file once the server answers.
    let printed = std::fs::read_to_string(&stdout).unwrap();
    (server, printed.lines().map(str::to_owned).collect())
}

/// A tiny blocking HTTP/1.1 client over std, so the test needs no runtime.
/// Standard base64, for an HTTP Basic credential.
pub(crate) fn base64(text: &str) -> String {
    const ABC: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in text.as_bytes().chunks(3) {
        let n =
            chunk.iter().fold(0u32, |acc, b| acc << 8 | u32::from(*b)) << (8 * (3 - chunk.len()));
        for i in 0..4 {
            out.push(if i <= chunk.len() {
                ABC[(n >> (18 - 6 * i) & 63) as usize] as char
            } else {
                '='
            });
        }
    }
    out
}

pub(crate) mod http {
    use std::io::{Read, Write};
    use std::time::Duration;

    /// Sends one request; `None` if the server cannot be reached.
    pub fn request(
        method: &str,
        url: &str,
        token: Option<&str>,
        body: &str,
    ) -> Option<(u16, String)> {
        let rest = url.strip_prefix("http://")?;
        let (host, path) = rest.split_once('/').map(|(h, p)| (h, format!("/{p}")))?;
        let address = std::net::ToSocketAddrs::to_socket_addrs(host)
            .ok()?
            .next()?;
        let mut stream =
            std::net::TcpStream::connect_timeout(&address, Duration::from_secs(10)).ok()?;
        // A server that never answers fails the test instead of hanging it.
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .ok()?;
        // A token, or a whole `Basic …` credential.
        let auth = token
            .map(|t| match t.strip_prefix("Basic ") {
                Some(_) => format!("Authorization: {t}\r\n"),
                None => format!("Authorization: Token {t}\r\n"),
            })
            .unwrap_or_default();
        let req = format!(
            "{method} {path} HTTP/1.1\r\nHost: {host}\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        stream.write_all(req.as_bytes()).ok()?;
        let mut text = String::new();
        stream.read_to_string(&mut text).ok()?;
        let status = text.split(' ').nth(1)?.parse().ok()?;
        let body = text
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_owned())
            .unwrap_or_default();
        Some((status, body))
    }
}
/// The bootstrap token among the first start's lines.
pub(crate) fn bootstrap_token(lines: &[String]) -> String {
    lines
        .iter()
        .find(|l| l.starts_with("lksvc_"))
        .cloned()
        .unwrap_or_else(|| panic!("no token in {lines:?}"))
}

/// Waits, up to a generous ceiling, for `GET /livez` and `POST /api/v1/authorize` both to be
/// answered 200.
pub(crate) fn until_served(port: u16, token: &str) {
    let start = Instant::now();
    loop {
        let livez = http::request("GET", &format!("http://127.0.0.1:{port}/livez"), None, "");
        let authorize = http::request(
            "POST",
            &format!("http://127.0.0.1:{port}/api/v1/authorize"),
            Some(token),
            r#"{"permission":"jobs:read"}"#,
        );
        if livez.map(|r| r.0) == Some(200) && authorize.map(|r| r.0) == Some(200) {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "not served while idle sockets are held"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}
