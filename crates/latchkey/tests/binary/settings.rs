//! Settings from a file (`--config`), beaten by environment variables, beaten by flags; and a
//! bad key or value, from the file or the environment, stops the start with one line naming it.

use super::{free_port, http, Env, Server};
use serde_json::Value;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// `latchkey [global] serve [own]` with `vars`, logging at info to `<name>.log`; waits until
/// it answers on `port`.
fn serve(
    env: &Env,
    name: &str,
    (global, own): (&[&str], &[&str]),
    vars: &[(&str, &str)],
    port: u16,
) -> Server {
    let log = env.dir.path().join(format!("{name}.log"));
    let mut command = env.cmd();
    command
        .args(global)
        .arg("serve")
        .args(own)
        .envs(vars.iter().copied())
        .env("LATCHKEY_LOG", "info")
        .stdout(std::fs::File::create(env.dir.path().join(format!("{name}.out"))).unwrap())
        .stderr(std::fs::File::create(&log).unwrap())
        .stdin(Stdio::null());
    let server = Server(command.spawn().unwrap());
    let start = Instant::now();
    while http::request("GET", &format!("http://127.0.0.1:{port}/livez"), None, "").is_none() {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "{name} did not start: {}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    server
}

/// The fields of the `latchkey serving` log line.
fn serving_line(env: &Env, name: &str) -> Value {
    let log = std::fs::read_to_string(env.dir.path().join(format!("{name}.log"))).unwrap();
    log.lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .find(|v| v["message"] == "latchkey serving")
        .unwrap_or_else(|| panic!("no start line in {log}"))
}

fn write(path: &Path, text: &str) -> String {
    std::fs::write(path, text).unwrap();
    path.display().to_string()
}

#[test]
fn a_settings_file_sets_serve_and_the_environment_and_flags_beat_it() {
    let env = Env::new();
    let (from_file, from_env) = (free_port(), free_port());
    let config = write(
        &env.dir.path().join("latchkey.conf"),
        &format!(
            "# Written by the test.\n\
             listen = \"127.0.0.1:{from_file}\"\n\
             change-poll-ms = 123   # how often the change feed is read\n\
             forward-auth-headers = \"envoy\"\n\
             log-format = \"json\"\n\
             trusted-proxy = [\"10.0.0.0/8\", \"192.168.0.0/16\"]\n"
        ),
    );
    let server = serve(&env, "file", (&["--config", &config], &[]), &[], from_file);
    let line = serving_line(&env, "file");
    assert_eq!(line["address"], format!("127.0.0.1:{from_file}"));
    assert_eq!(line["change_poll_ms"], 123);
    assert_eq!(line["config"], config.as_str());
    // Forward auth reads Envoy's path, as the file says (without it: 501).
    let out = std::fs::read_to_string(env.dir.path().join("file.out")).unwrap();
    let token = out.lines().find(|l| l.starts_with("lksvc_")).unwrap();
    let forward = format!("http://127.0.0.1:{from_file}/auth/forward/api/v2/accounts/1/jobs/");
    let (status, body) = http::request("GET", &forward, Some(token), "").unwrap();
    assert_eq!(status, 200, "{body}");
    server.stop();

    // The environment beats the file; a flag beats the environment.
    let server = serve(
        &env,
        "env",
        (&["--config", &config], &[]),
        &[
            ("LATCHKEY_LISTEN", &format!("127.0.0.1:{from_env}")),
            ("LATCHKEY_CHANGE_POLL_MS", "77"),
        ],
        from_env,
    );
    let line = serving_line(&env, "env");
    assert_eq!(line["address"], format!("127.0.0.1:{from_env}"));
    assert_eq!(line["change_poll_ms"], 77);
    server.stop();
    let server = serve(
        &env,
        "flag",
        (&["--config", &config], &["--change-poll-ms", "55"]),
        &[
            ("LATCHKEY_LISTEN", &format!("127.0.0.1:{from_env}")),
            ("LATCHKEY_CHANGE_POLL_MS", "77"),
        ],
        from_env,
    );
    assert_eq!(serving_line(&env, "flag")["change_poll_ms"], 55);
    server.stop();
}

#[test]
fn a_bad_setting_stops_the_start_with_one_line_naming_it() {
    let env = Env::new();
    let port = free_port();
    let file = env.dir.path().join("bad.conf");
    let run = |args: &[&str], vars: &[(&str, &str)]| {
        let mut command: Command = env.cmd();
        command
            .args(args)
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .envs(vars.iter().copied())
            .stdin(Stdio::null());
        let out = command.output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?} {vars:?}");
        assert!(out.stdout.is_empty(), "{args:?}: started and printed");
        String::from_utf8(out.stderr).unwrap()
    };
    let path = file.display().to_string();
    let cases = [
        (
            "listen = \"127.0.0.1:1\"\nlisen = \"127.0.0.1:2\"\n",
            "line 2: unknown key `lisen`",
        ),
        (
            "# pool\ndb-max-connections = 100000\n",
            "line 2: `db-max-connections`: 100000 is not in 1..=1000",
        ),
        (
            "change-poll-ms = \"often\"\n",
            "line 1: `change-poll-ms`: invalid digit",
        ),
        ("skip-migrations = yes\n", "line 1: `skip-migrations`:"),
    ];
    for (text, expected) in cases {
        write(&file, text);
        let stderr = run(&["--config", &path], &[]);
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(
            stderr.starts_with(&format!("error: {path} ")) && stderr.contains(expected),
            "{text:?}: {stderr}"
        );
    }
    // From the environment: the variable is named (its value is not repeated).
    let stderr = run(&[], &[("LATCHKEY_IDLE_TIMEOUT_SECS", "soon")]);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("environment variable LATCHKEY_IDLE_TIMEOUT_SECS (--idle-timeout-secs)"),
        "{stderr}"
    );
    let stderr = run(&[], &[("LATCHKEY_CONFIG", "/nonexistent/latchkey.conf")]);
    assert!(
        stderr.contains("cannot read the config file /nonexistent/latchkey.conf"),
        "{stderr}"
    );
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
        "a server started"
    );
}
