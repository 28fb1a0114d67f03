//! Command-line grammar (clap). Every command has `--help`.

use clap::{Args, Parser, Subcommand, ValueEnum};
use latchkey_core::{Grant, Permission, Plan};
use std::net::SocketAddr;

/// Latchkey: service account tokens and personal access tokens, with least privilege.
#[derive(Parser, Debug)]
#[command(name = "latchkey", version, about)]
pub struct Cli {
    /// A settings file of `key = value` lines, keys being these long flag names (see the
    /// README's settings); a flag beats its environment variable, which beats the file.
    #[arg(long, global = true, env = "LATCHKEY_CONFIG", value_name = "FILE")]
    pub config: Option<std::path::PathBuf>,
    /// What is logged (to stderr): a level (`error`, `warn`, `info`, `debug`, `trace`, `off`)
    /// or per-module directives (`info,latchkey_server=debug`).
    #[arg(long, global = true, env = "LATCHKEY_LOG", default_value = "info",
        value_parser = parse_log_filter)]
    pub log: String,
    /// How log lines are written: `text` for people, `json` (one object a line) for log
    /// collectors.
    #[arg(long, global = true, env = "LATCHKEY_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// Database URL: `sqlite://PATH` (one node) or `postgres://USER:PASSWORD@HOST/DB` (any number
    /// of nodes on one PostgreSQL).
    #[arg(long, global = true, env = "LATCHKEY_DATABASE_URL", default_value = latchkey_store::DEFAULT_DATABASE_URL)]
    pub db: String,
    /// Most database connections this process holds.
    #[arg(long, global = true, env = "LATCHKEY_DB_MAX_CONNECTIONS", default_value_t = 8,
        value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub db_max_connections: u32,
    /// Seconds a command waits for a free database connection before failing (503).
    #[arg(long, global = true, env = "LATCHKEY_DB_ACQUIRE_TIMEOUT_SECS", default_value_t = 10,
        value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub db_acquire_timeout_secs: u64,
    /// Seconds an idle database connection is kept (above one).
    #[arg(long, global = true, env = "LATCHKEY_DB_IDLE_TIMEOUT_SECS", default_value_t = 600,
        value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub db_idle_timeout_secs: u64,
    /// Do not apply pending migrations at start; refuse to start on a database that is behind
    /// (for operators who run `latchkey migrate` separately).
    #[arg(long, global = true, env = "LATCHKEY_SKIP_MIGRATIONS")]
    pub skip_migrations: bool,
    /// Prefix of service tokens (2-16 lowercase letters or digits).
    #[arg(
        long,
        global = true,
        env = "LATCHKEY_SERVICE_TOKEN_PREFIX",
        default_value = "lksvc"
    )]
    pub service_token_prefix: String,
    /// Prefix of personal access tokens (2-16 lowercase letters or digits).
    #[arg(
        long,
        global = true,
        env = "LATCHKEY_PERSONAL_TOKEN_PREFIX",
        default_value = "lkpat"
    )]
    pub personal_token_prefix: String,
    /// Tokens created before this time are flagged needs_rotation (RFC 3339).
    #[arg(long, global = true, env = "LATCHKEY_LEGACY_CUTOFF", value_parser = parse_time, default_value = "2023-07-18T00:00:00Z")]
    pub legacy_cutoff: time::OffsetDateTime,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// How log lines are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// The commands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the HTTP server. On an empty database, first creates a demo account and prints its
    /// admin password and first Account Admin token, once.
    Serve(ServeArgs),
    /// Create an account with an admin user, a project and a first service token.
    Init(InitArgs),
    /// Apply pending database migrations and exit (safe while nodes run and when several
    /// start at once: one applies them, the others wait and find them applied).
    Migrate,
    /// Manage projects.
    #[command(subcommand)]
    Project(ProjectCommand),
    /// Manage service tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Check a token's permission, reading the token from LATCHKEY_TOKEN or stdin (never argv).
    /// Exit 0 allowed, 1 denied, 2 unauthenticated or error.
    Check(CheckArgs),
}

/// `serve`.
#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "LATCHKEY_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// A second address, for the services that ask for decisions (authorize, forward auth,
    /// introspection), served by threads of its own: a flood on `--listen` (sign-ins, bad
    /// tokens) never queues a decision asked here. Same routes and state; keep it internal.
    #[arg(long, env = "LATCHKEY_DECISION_LISTEN")]
    pub decision_listen: Option<SocketAddr>,
    /// An address for the operator's scraper, serving `GET /metrics` (Prometheus's text
    /// format) and nothing else; off by default. The API listeners never serve it: it tells of
    /// every account's activity on this node, so keep this address internal.
    #[arg(long, env = "LATCHKEY_METRICS_LISTEN")]
    pub metrics_listen: Option<SocketAddr>,
    /// E-mail of the admin created on first start.
    #[arg(
        long,
        env = "LATCHKEY_ADMIN_EMAIL",
        default_value = "admin@latchkey.local"
    )]
    pub admin_email: String,
    /// How often to poll the change feed, in milliseconds (revocation delay on this node).
    #[arg(long, env = "LATCHKEY_CHANGE_POLL_MS", default_value_t = 250)]
    pub change_poll_ms: u64,
    /// How often, in seconds, the tokens' `last_used_at` noted in memory is written to the
    /// database (and once more when the server stops).
    #[arg(long, env = "LATCHKEY_USAGE_FLUSH_SECS", default_value_t = 5,
        value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub usage_flush_secs: u64,
    /// A token's `last_used_at` is written at most once per this many seconds (it is accurate
    /// to within this, plus the flush interval); tokens in constant use then cost the database
    /// one write per token per window.
    #[arg(long, env = "LATCHKEY_USAGE_GRANULARITY_SECS", default_value_t = 60,
        value_parser = clap::value_parser!(u64).range(1..=86400))]
    pub usage_granularity_secs: u64,
    /// A proxy whose X-Forwarded-For is believed (CIDR; repeat or comma-separate).
    #[arg(
        long = "trusted-proxy",
        env = "LATCHKEY_TRUSTED_PROXIES",
        value_delimiter = ','
    )]
    pub trusted_proxies: Vec<latchkey_core::Cidr>,
    /// Forward-auth route map (JSON file); the built-in map covers dbt Cloud's APIs.
    #[arg(long, env = "LATCHKEY_ROUTE_MAP")]
    pub route_map: Option<std::path::PathBuf>,
    /// The proxy in front of /auth/forward, which fixes where the original request is read:
    /// nginx (X-Original-Method, X-Original-URI), traefik (X-Forwarded-Method,
    /// X-Forwarded-Uri) or envoy (ext_authz with path_prefix /auth/forward). Unset: forward
    /// auth answers 501.
    #[arg(long, env = "LATCHKEY_FORWARD_AUTH_HEADERS", value_parser = parse_forward_auth_headers)]
    pub forward_auth_headers: Option<latchkey_server::ForwardAuthHeaders>,
    /// Admin API requests one account may make per minute over all its tokens; calls refused
    /// with 403 or 404 do not count (0: unlimited).
    #[arg(
        long,
        env = "LATCHKEY_ACCOUNT_REQUESTS_PER_MINUTE",
        default_value_t = 5000
    )]
    pub account_requests_per_minute: u32,
    /// How invitation codes reach people: `off` (invitations refused), `caller` (the inviter's
    /// API answer carries the code and the caller delivers it), or `command:PATH` (the program
    /// gets each invitation as JSON on its standard input).
    #[arg(long, env = "LATCHKEY_INVITE_DELIVERY", default_value = "off")]
    pub invite_delivery: latchkey_server::config::InviteDelivery,
    /// Admin API requests one token (or password sign-in) may make per minute, refused calls
    /// included (0: unlimited).
    #[arg(
        long,
        env = "LATCHKEY_TOKEN_REQUESTS_PER_MINUTE",
        default_value_t = 1000
    )]
    pub token_requests_per_minute: u32,
    /// Most connections held at once (kept below the open-file limit, which is raised to its
    /// hard limit at start); past it the longest-idle one is closed, or the new one gets 503.
    #[arg(long, env = "LATCHKEY_MAX_CONNECTIONS", default_value_t = 10_000,
        value_parser = clap::value_parser!(u32).range(1..))]
    pub max_connections: u32,
    /// Seconds a connection has to send a whole request head (from connecting, or from the first
    /// byte of its next request).
    #[arg(long, env = "LATCHKEY_HEADER_READ_TIMEOUT_SECS", default_value_t = 10,
        value_parser = clap::value_parser!(u64).range(1..))]
    pub header_read_timeout_secs: u64,
    /// Seconds a kept-alive connection may wait for its next request.
    #[arg(long, env = "LATCHKEY_IDLE_TIMEOUT_SECS", default_value_t = 60,
        value_parser = clap::value_parser!(u64).range(1..))]
    pub idle_timeout_secs: u64,
    /// Seconds a request has, from its head, to arrive whole and be answered.
    #[arg(long, env = "LATCHKEY_REQUEST_TIMEOUT_SECS", default_value_t = 30,
        value_parser = clap::value_parser!(u64).range(1..))]
    pub request_timeout_secs: u64,
    /// Seconds a web-console session may go unused before it ends.
    #[arg(long, env = "LATCHKEY_CONSOLE_IDLE_SECS", default_value_t = 1800,
        value_parser = clap::value_parser!(u64).range(2..=86_400))]
    pub console_idle_secs: u64,
    /// Hours a web-console session lasts from sign-in, however much it is used.
    #[arg(long, env = "LATCHKEY_CONSOLE_ABSOLUTE_HOURS", default_value_t = 12,
        value_parser = clap::value_parser!(u64).range(1..=720))]
    pub console_absolute_hours: u64,
    /// Mark the console's session cookie `Secure` (and name it `__Host-…`): set this when the
    /// console is reached over TLS.
    #[arg(long, env = "LATCHKEY_CONSOLE_SECURE_COOKIE")]
    pub console_secure_cookie: bool,
}

/// `init`.
#[derive(Args, Debug)]
pub struct InitArgs {
    /// Account name.
    #[arg(long)]
    pub account: String,
    /// Plan: developer, team or enterprise.
    #[arg(long, value_parser = parse_plan)]
    pub plan: Plan,
    /// Admin user's e-mail.
    #[arg(long)]
    pub admin_email: String,
    /// Print one JSON object with account_id, project_id, admin_user_id, admin_password, token.
    #[arg(long)]
    pub json: bool,
}

/// `project …`.
#[derive(Subcommand, Debug)]
pub enum ProjectCommand {
    /// Create a project.
    Create {
        /// Account id.
        #[arg(long)]
        account: i64,
        /// Project name.
        #[arg(long)]
        name: String,
        /// Print the project as JSON.
        #[arg(long)]
        json: bool,
    },
}

/// `token …`.
#[derive(Subcommand, Debug)]
pub enum TokenCommand {
    /// Create a service token; prints the secret once, alone on stdout.
    Create {
        /// Account id.
        #[arg(long)]
        account: i64,
        /// Token name.
        #[arg(long)]
        name: String,
        /// A grant: SET, SET:all or SET:project=ID, optionally :envs=CAT[,CAT…]. Repeatable.
        #[arg(long = "grant", required = true, value_parser = parse_grant)]
        grants: Vec<Grant>,
        /// Expiry, RFC 3339 (e.g. 2027-01-01T00:00:00Z).
        #[arg(long, value_parser = parse_time)]
        expires_at: Option<time::OffsetDateTime>,
        /// Print the created token (with token_string) as JSON.
        #[arg(long)]
        json: bool,
    },
    /// List an account's service tokens (never their secrets).
    List {
        /// Account id.
        #[arg(long)]
        account: i64,
        /// Only active tokens.
        #[arg(long)]
        active: bool,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show one service token.
    Show {
        /// Token id.
        id: i64,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Revoke a service token (state 2; kept for the audit log).
    Revoke {
        /// Token id.
        id: i64,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// `check`.
#[derive(Args, Debug)]
pub struct CheckArgs {
    /// The permission, RESOURCE:ACCESS (e.g. jobs:write).
    #[arg(long, value_parser = parse_permission)]
    pub permission: Permission,
    /// The project, for project-level permissions.
    #[arg(long)]
    pub project: Option<i64>,
    /// The environment category, for environment-scoped writes.
    #[arg(long)]
    pub environment: Option<String>,
}

fn parse_log_filter(s: &str) -> Result<String, String> {
    tracing_subscriber::EnvFilter::builder()
        .parse(s)
        .map(|_| s.to_owned())
        .map_err(|e| format!("not a log filter: {e}"))
}

fn parse_plan(s: &str) -> Result<Plan, String> {
    s.parse().map_err(|e: latchkey_core::Error| e.to_string())
}

fn parse_grant(s: &str) -> Result<Grant, String> {
    s.parse().map_err(|e: latchkey_core::Error| e.to_string())
}

fn parse_forward_auth_headers(s: &str) -> Result<latchkey_server::ForwardAuthHeaders, String> {
    s.parse()
}

fn parse_permission(s: &str) -> Result<Permission, String> {
    s.parse().map_err(|e: latchkey_core::Error| e.to_string())
}

fn parse_time(s: &str) -> Result<time::OffsetDateTime, String> {
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .map_err(|e| format!("expected an RFC 3339 time like 2027-01-01T00:00:00Z: {e}"))
}
