//! A real `latchkey serve` process on a SQLite file, and a tiny HTTP/1.1 client over std that
//! tells a whole answer from a lost one.

use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// A running `latchkey serve`; killed when dropped, so a failing assertion leaves no process.
pub struct Server {
    child: Child,
    /// The port it listens on (127.0.0.1).
    pub port: u16,
    stdout: mpsc::Receiver<String>,
    log: PathBuf,
}

impl Server {
    /// Starts `latchkey serve` on the database at `url` (its log in `dir`) and waits until
    /// `/healthz` answers 200.
    pub fn start(url: &str, dir: &Path) -> Server {
        let port = free_port();
        let log = dir.join(format!("serve-{port}.log"));
        let mut child = Command::new(env!("CARGO_BIN_EXE_latchkey"))
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            // Budgets are not what this test is about; a 429 would read as a refused write.
            .args(["--account-requests-per-minute", "0"])
            .env("LATCHKEY_DATABASE_URL", url)
            .env("LATCHKEY_LOG", "warn")
            .env_remove("LATCHKEY_TOKEN")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(std::fs::File::create(&log).unwrap()))
            .spawn()
            .unwrap();
        let out = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut server = Server {
            child,
            port,
            stdout: rx,
            log,
        };
        let started = Instant::now();
        loop {
            if let Reply::Whole(200, _) = request(port, "GET", "/healthz", None, "") {
                return server;
            }
            if let Some(status) = server.child.try_wait().unwrap() {
                panic!(
                    "latchkey serve exited ({status}): {}",
                    std::fs::read_to_string(&server.log).unwrap_or_default()
                );
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "latchkey serve did not answer /healthz within 30 s"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The next line the server prints on stdout, waiting at most `ceiling`.
    pub fn next_line(&self, ceiling: Duration) -> Option<String> {
        self.stdout.recv_timeout(ceiling).ok()
    }

    /// Sends SIGKILL (what `Child::kill` sends on Unix) and returns every line the process
    /// printed on stdout that was not read yet.
    pub fn kill(&mut self) -> Vec<String> {
        let _ = self.child.kill();
        let _ = self.child.wait();
        // The pipe closes with the process, which ends the reader; the ceiling is only a guard.
        let mut lines = Vec::new();
        while let Ok(line) = self.stdout.recv_timeout(Duration::from_secs(10)) {
            lines.push(line);
        }
        lines
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// What a request came to.
#[derive(Debug)]
pub enum Reply {
    /// The whole answer (every byte its `Content-Length` announced): status and JSON body
    /// (`Null` when empty, a string when not JSON).
    Whole(u16, Value),
    /// No answer, or part of one: the server may or may not have acted on the request.
    Lost,
}

/// Sends one request with `Connection: close`; `token` goes in `Authorization: Token …`.
pub fn request(port: u16, method: &str, path: &str, token: Option<&str>, body: &str) -> Reply {
    try_request(port, method, path, token, body).unwrap_or(Reply::Lost)
}

fn try_request(
    port: u16,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: &str,
) -> Option<Reply> {
    let address = SocketAddr::from(([127, 0, 0, 1], port));
    let mut stream = TcpStream::connect_timeout(&address, Duration::from_secs(10)).ok()?;
    // Ceilings far beyond any answer on a loaded machine; they only keep a hang from being silent.
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .ok()?;
    stream
        .set_write_timeout(Some(Duration::from_secs(60)))
        .ok()?;
    let auth = token
        .map(|t| format!("Authorization: Token {t}\r\n"))
        .unwrap_or_default();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).ok()?;
    stream.write_all(body.as_bytes()).ok()?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).ok()?;
    let end = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&raw[..end]).ok()?;
    let body = &raw[end + 4..];
    let status = head.split(' ').nth(1)?.parse().ok()?;
    let length: usize = head.lines().find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.eq_ignore_ascii_case("content-length")
            .then(|| value.trim().parse().ok())
            .flatten()
    })?;
    if body.len() != length {
        return None;
    }
    let json = if body.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(body)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(body).into_owned()))
    };
    Some(Reply::Whole(status, json))
}
