//! The client side of the issue-9 figures, run by `bench/multi_node.sh` and `bench/backends.sh`
//! against real `latchkey serve` processes (which the scripts start): it times requests one by
//! one on kept-alive connections, which wrk cannot do.
//!
//! - `lag A B C ADMIN ACCOUNT N`: N times: create a token on A, ask B and C until they allow it
//!   (so it is cached there), revoke it on A, and ask B and C back to back until each refuses;
//!   prints p50 / p90 / p99 / max of each node's lag, timed from just before the revocation is
//!   sent to the refusal's arrival.
//! - `create URL ADMIN ACCOUNT CLIENTS N OUT`: N service tokens created through the API by
//!   CLIENTS concurrent clients; prints creations per second and the latencies; writes the
//!   tokens to OUT, one a line.
//! - `miss URL TOKENS N`: the first N tokens of the file, each asked once on a fresh node (cache
//!   misses: the store lookup), then each again (cache hits), then N tokens never issued; prints
//!   p50 / p90 / p99 / max of each.
//!
//! - `warm URL TOKENS CLIENTS`: every token of the file asked once by CLIENTS concurrent
//!   clients, each answer required to allow (so all of them are cached on the node); prints how
//!   many and how fast.
//!
//! `PROBE_CSV=FILE` makes `lag` write every round's lags to FILE as well; `PROBE_POLL_US=N`
//! pauses N µs between one node's polls (default: back to back).
//!
//! Refusals are 401, or 429 once the failed-authentication throttle counts them; the probe sends
//! `X-Forwarded-For` from a rotating set of addresses (the scripts trust 127.0.0.1 as a proxy)
//! so that the throttle, which counts per address, stays out of the figures.
//!
//! Run through the scripts; `cargo bench -p latchkey` alone only prints this usage.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "a benchmark client stops loudly on a failed setup and prints its figures"
)]

use latchkey_core::{TokenFormat, TokenKind};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Barrier, Mutex};
use std::time::{Duration, Instant};

/// How long a node may take to refuse a revoked token before the round counts as a failure.
const LAG_CEILING: Duration = Duration::from_secs(10);

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match args.as_slice() {
        ["lag", a, b, c, admin, account, n] => lag([a, b, c], admin, account, n.parse().unwrap()),
        ["create", url, admin, account, clients, n, out] => create(
            url,
            admin,
            account,
            clients.parse().unwrap(),
            n.parse().unwrap(),
            out,
        ),
        ["miss", url, tokens, n] => miss(url, tokens, n.parse().unwrap()),
        ["warm", url, tokens, clients] => warm(url, tokens, clients.parse().unwrap()),
        _ => eprintln!(
            "probe: run by bench/multi_node.sh and bench/backends.sh (see the file's doc); \
             nothing to do alone"
        ),
    }
}

/// One kept-alive HTTP/1.1 connection to a node.
struct Conn {
    address: String,
    reader: BufReader<TcpStream>,
}

impl Conn {
    fn open(base: &str) -> Conn {
        let address = base.trim_start_matches("http://").trim_end_matches('/');
        let stream = TcpStream::connect(address).unwrap();
        stream.set_nodelay(true).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        Conn {
            address: address.to_owned(),
            reader: BufReader::new(stream),
        }
    }

    /// One request; the status and the body. `client` is sent as `X-Forwarded-For`.
    fn call(
        &mut self,
        method: &str,
        path: &str,
        token: &str,
        body: &str,
        client: u32,
    ) -> (u16, String) {
        let request = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nAuthorization: Token {token}\r\n\
             X-Forwarded-For: 10.{}.{}.{}\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\n\r\n{body}",
            self.address,
            (client >> 16) & 255,
            (client >> 8) & 255,
            client & 255,
            body.len()
        );
        self.reader.get_mut().write_all(request.as_bytes()).unwrap();
        let mut line = String::new();
        self.reader.read_line(&mut line).unwrap();
        let status: u16 = line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("no status line: {line:?}"));
        let mut length = 0usize;
        loop {
            line.clear();
            self.reader.read_line(&mut line).unwrap();
            if line == "\r\n" || line.is_empty() {
                break;
            }
            let (name, value) = line.split_once(':').unwrap_or((&line, ""));
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse().unwrap();
            } else if name.eq_ignore_ascii_case("transfer-encoding") {
                panic!("the probe reads only Content-Length bodies");
            }
        }
        let mut body = vec![0u8; length];
        self.reader.read_exact(&mut body).unwrap();
        (status, String::from_utf8(body).unwrap())
    }

    fn authorize(&mut self, token: &str, client: u32) -> u16 {
        self.call(
            "POST",
            "/api/v1/authorize",
            token,
            r#"{"permission":"jobs:read"}"#,
            client,
        )
        .0
    }
}

/// Whether a status refuses the token (401, or 429 from the failed-authentication throttle).
fn refused(status: u16) -> bool {
    status == 401 || status == 429
}

/// Creates a job-admin service token through `conn`: its id and secret.
fn mint(conn: &mut Conn, admin: &str, account: &str, client: u32) -> Option<(i64, String)> {
    let body = json!({
        "name": "bench",
        "permission_grants": [{"permission_set": "job_admin", "all_projects": true}],
    })
    .to_string();
    let (status, text) = conn.call(
        "POST",
        &format!("/api/v3/accounts/{account}/service-tokens/"),
        admin,
        &body,
        client,
    );
    if status != 201 {
        eprintln!("create answered {status}: {text}");
        return None;
    }
    let out: Value = serde_json::from_str(&text).unwrap();
    Some((
        out["data"]["id"].as_i64()?,
        out["data"]["token_string"].as_str()?.to_owned(),
    ))
}

/// Percentiles of `v` (sorted here), in milliseconds, as one line.
fn summary(v: &mut [Duration]) -> String {
    v.sort_unstable();
    if v.is_empty() {
        return "no samples".to_owned();
    }
    let at = |p: f64| v[((v.len() as f64 * p) as usize).min(v.len() - 1)];
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    format!(
        "n={:<6} min {:8.3}  p50 {:8.3}  p90 {:8.3}  p99 {:8.3}  max {:8.3} ms",
        v.len(),
        ms(v[0]),
        ms(at(0.50)),
        ms(at(0.90)),
        ms(at(0.99)),
        ms(v[v.len() - 1])
    )
}

fn lag(nodes: [&str; 3], admin: &str, account: &str, rounds: usize) {
    let [a, b, c] = nodes;
    let mut on_a = Conn::open(a);
    let mut watchers = [Conn::open(b), Conn::open(c)];
    let mut lags: [Vec<Duration>; 2] = [Vec::new(), Vec::new()];
    let mut revoke_rtt = Vec::new();
    let mut polls = [0usize; 2];
    let mut failures = 0;
    // PROBE_POLL_US: a pause between one node's polls (0: back to back), to take the pollers'
    // own load off a small machine at the price of that much resolution.
    let pause =
        Duration::from_micros(std::env::var("PROBE_POLL_US").map_or(0, |v| v.parse().unwrap()));
    // Each lag less the DELETE's own round trip: the time after A answered (negative when a
    // node refused before A's answer arrived).
    let mut after_answer: Vec<f64> = Vec::new();
    // PROBE_CSV=FILE: every round's lags too (round, node, lag ms, polls, DELETE round trip ms).
    let mut csv = std::env::var_os("PROBE_CSV")
        .filter(|f| !f.is_empty())
        .map(|f| std::fs::File::create(f).unwrap());
    for round in 0..rounds {
        // One forwarded address per round and node: never throttled.
        let client = round as u32 * 2;
        let (id, token) = mint(&mut on_a, admin, account, client).unwrap();
        for (w, conn) in watchers.iter_mut().enumerate() {
            let status = conn.authorize(&token, client + w as u32);
            assert_eq!(
                status, 200,
                "a token made on A must work on the others at once"
            );
        }
        let mut answered = Duration::ZERO;
        let start = Barrier::new(3);
        let t0 = Mutex::new(None::<Instant>);
        let results: Vec<(Option<Duration>, usize)> = std::thread::scope(|s| {
            let pollers: Vec<_> = watchers
                .iter_mut()
                .enumerate()
                .map(|(w, conn)| {
                    let (start, t0, token) = (&start, &t0, &token);
                    s.spawn(move || {
                        start.wait();
                        let mut n = 0;
                        loop {
                            let status = conn.authorize(token, client + w as u32);
                            let now = Instant::now();
                            n += 1;
                            let began = t0.lock().unwrap().unwrap_or(now);
                            if refused(status) {
                                return (Some(now.saturating_duration_since(began)), n);
                            }
                            assert_eq!(status, 200);
                            if now.saturating_duration_since(began) > LAG_CEILING {
                                return (None, n);
                            }
                            if !pause.is_zero() {
                                std::thread::sleep(pause);
                            }
                        }
                    })
                })
                .collect();
            start.wait();
            // Let both pollers see the token allowed at least once before revoking.
            std::thread::sleep(Duration::from_millis(2));
            let sent = Instant::now();
            *t0.lock().unwrap() = Some(sent);
            let (status, text) = on_a.call(
                "DELETE",
                &format!("/api/v3/accounts/{account}/service-tokens/{id}/"),
                admin,
                "",
                client,
            );
            assert_eq!(status, 200, "{text}");
            revoke_rtt.push(sent.elapsed());
            answered = sent.elapsed();
            pollers.into_iter().map(|p| p.join().unwrap()).collect()
        });
        for (w, (lag, n)) in results.into_iter().enumerate() {
            polls[w] += n;
            if let Some(csv) = csv.as_mut() {
                let ms = lag.map_or(f64::NAN, |l| l.as_secs_f64() * 1e3);
                writeln!(
                    csv,
                    "{round},{},{ms:.3},{n},{:.3}",
                    ["B", "C"][w],
                    answered.as_secs_f64() * 1e3
                )
                .unwrap();
            }
            match lag {
                Some(l) => {
                    lags[w].push(l);
                    after_answer.push(l.as_secs_f64() - answered.as_secs_f64());
                }
                None => failures += 1,
            }
        }
    }
    println!("revocation lag over {rounds} revocations (from sending DELETE on A to the refusal)");
    for (w, name) in ["B", "C"].iter().enumerate() {
        println!(
            "  node {name}: {}  ({} polls)",
            summary(&mut lags[w]),
            polls[w]
        );
    }
    let mut both: Vec<Duration> = lags.iter().flatten().copied().collect();
    println!("  B and C : {}", summary(&mut both));
    println!("  DELETE on A, round trip: {}", summary(&mut revoke_rtt));
    after_answer.sort_by(f64::total_cmp);
    let at = |p: f64| {
        after_answer[((after_answer.len() as f64 * p) as usize).min(after_answer.len() - 1)] * 1e3
    };
    if !after_answer.is_empty() {
        println!(
            "  lag after A answered (B and C): p50 {:.3}  p90 {:.3}  p99 {:.3}  max {:.3} ms",
            at(0.5),
            at(0.9),
            at(0.99),
            at(1.0)
        );
    }
    println!("  not refused within {LAG_CEILING:?}: {failures}");
}

fn create(url: &str, admin: &str, account: &str, clients: usize, n: usize, out: &str) {
    let next = AtomicUsize::new(0);
    let made = Mutex::new(Vec::with_capacity(n));
    let latencies = Mutex::new(Vec::with_capacity(n));
    let errors = AtomicUsize::new(0);
    let start = Instant::now();
    std::thread::scope(|s| {
        for c in 0..clients {
            let (next, made, latencies, errors) = (&next, &made, &latencies, &errors);
            s.spawn(move || {
                let mut conn = Conn::open(url);
                let mut mine = Vec::new();
                let mut times = Vec::new();
                while next.fetch_add(1, Ordering::Relaxed) < n {
                    let t = Instant::now();
                    match mint(&mut conn, admin, account, c as u32) {
                        Some((_, token)) => {
                            times.push(t.elapsed());
                            mine.push(token);
                        }
                        None => {
                            errors.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
                made.lock().unwrap().extend(mine);
                latencies.lock().unwrap().extend(times);
            });
        }
    });
    let took = start.elapsed();
    let made = made.into_inner().unwrap();
    let mut latencies = latencies.into_inner().unwrap();
    println!(
        "created {} tokens with {clients} clients in {:.2} s: {:.0} creations/s ({} errors)",
        made.len(),
        took.as_secs_f64(),
        made.len() as f64 / took.as_secs_f64(),
        errors.into_inner()
    );
    println!("  per creation: {}", summary(&mut latencies));
    let mut file = std::fs::File::create(out).unwrap();
    for token in &made {
        writeln!(file, "{token}").unwrap();
    }
}

fn miss(url: &str, tokens: &str, n: usize) {
    let tokens: Vec<String> = std::fs::read_to_string(tokens)
        .unwrap()
        .lines()
        .take(n)
        .map(str::to_owned)
        .collect();
    let mut conn = Conn::open(url);
    let time = |conn: &mut Conn, token: &str, client: u32, want: fn(u16) -> bool| {
        let t = Instant::now();
        let status = conn.authorize(token, client);
        let took = t.elapsed();
        assert!(want(status), "unexpected {status}");
        took
    };
    let allowed = |s: u16| s == 200;
    // Warm the connection and the node's pool with one token, left out of the figures.
    time(&mut conn, &tokens[0], 0, allowed);
    let rest = &tokens[1..];
    let mut first: Vec<Duration> = rest
        .iter()
        .map(|t| time(&mut conn, t, 0, allowed))
        .collect();
    let mut again: Vec<Duration> = rest
        .iter()
        .map(|t| time(&mut conn, t, 0, allowed))
        .collect();
    // Never issued: one forwarded address per token, so the throttle never counts twice.
    let format = TokenFormat::default();
    let mut unknown: Vec<Duration> = (0..rest.len())
        .map(|i| {
            let t = format.generate(TokenKind::Service);
            time(&mut conn, t.secret.expose(), 1 + i as u32, refused)
        })
        .collect();
    println!("authorize over one kept-alive connection, each token asked once per pass");
    println!("  first ask (cache miss)    : {}", summary(&mut first));
    println!("  second ask (cache hit)    : {}", summary(&mut again));
    println!("  never-issued (store miss) : {}", summary(&mut unknown));
}

fn warm(url: &str, tokens: &str, clients: usize) {
    let tokens: Vec<String> = std::fs::read_to_string(tokens)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    let next = AtomicUsize::new(0);
    let start = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..clients {
            let (next, tokens) = (&next, &tokens);
            s.spawn(move || {
                let mut conn = Conn::open(url);
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(token) = tokens.get(i) else { break };
                    let status = conn.authorize(token, 0);
                    assert_eq!(status, 200, "token {i} refused");
                }
            });
        }
    });
    let took = start.elapsed();
    println!(
        "warmed {} tokens with {clients} clients in {:.1} s: {:.0} authorizations/s",
        tokens.len(),
        took.as_secs_f64(),
        tokens.len() as f64 / took.as_secs_f64()
    );
}
