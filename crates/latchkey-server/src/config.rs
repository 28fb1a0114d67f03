//! The server's typed configuration, built once at start-up.

use latchkey_core::{Cidr, TokenFormat};
use std::time::Duration;

/// How a node runs. Defaults suit one node on SQLite.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// Token prefixes.
    pub token_format: TokenFormat,
    /// How often the change feed is polled (revocation reaches this node within about this).
    pub change_poll: Duration,
    /// Safety net: a cached principal is reloaded after this long even with no change seen.
    pub cache_max_age: Duration,
    /// How long a token found in no table is remembered as unknown.
    pub negative_ttl: Duration,
    /// At most this many unknown tokens are remembered.
    pub negative_capacity: usize,
    /// How often `last_used_at` is flushed to the database.
    pub usage_flush: Duration,
    /// A token's use is written at most once per this long: `last_used_at` (and the address it
    /// came from) is the first use of each such window, at most this much behind the latest,
    /// so that tokens in constant use cost the database one write a window, not one a flush.
    pub usage_granularity: Duration,
    /// Largest request body accepted.
    pub body_limit: usize,
    /// Failed authentications allowed per window, counted per client address and per presented
    /// credential, before further failures get 429 (a token that verifies is always served).
    pub failed_auth_limit: u32,
    /// The failed-authentication window, in seconds.
    pub failed_auth_window_secs: i64,
    /// Leaked-credential reports allowed per client address per hour (GitHub allows 60).
    pub leak_reports_per_hour: u32,
    /// Tokens created before this are flagged `needs_rotation` (dbt Cloud's cutoff was
    /// 2023-07-18; move it to "now" after an incident to flag every existing token).
    pub legacy_cutoff: time::OffsetDateTime,
    /// Proxies whose `X-Forwarded-For` is believed; from anyone else the header is ignored and
    /// the client is the connection's peer.
    pub trusted_proxies: Vec<Cidr>,
    /// Admin API requests one account may make per minute over all its tokens and users (dbt
    /// Cloud allows 5,000); only calls the guard lets through count. 0 turns the ceiling off.
    pub account_requests_per_minute: u32,
    /// Admin API requests one token (or one user signed in with a password) may make per minute,
    /// refused ones included, so no single caller can spend its account's ceiling alone. 0 turns
    /// the per-token budget off.
    pub token_requests_per_minute: u32,
    /// Most connections held at once; kept below the open-file limit at start. Past it, the
    /// longest-idle connection makes room for a new one, or the new one gets 503 at once.
    pub max_connections: usize,
    /// Whether a decision listener ([`crate::serve_beside`]) is served beside the main one: the
    /// open files are then shared, three quarters for the main listener's connections and one
    /// quarter for the decision listener's, so that neither can take the other's.
    pub decision_listener: bool,
    /// A new connection must send its first request head, and a kept-alive one the rest of a
    /// head it has begun, within this long.
    pub header_read_timeout: Duration,
    /// A kept-alive connection with no request arriving is closed after this long.
    pub idle_timeout: Duration,
    /// A request must be received whole and answered within this long of its head.
    pub request_timeout: Duration,
    /// The forward-auth route map; `None` uses the built-in map for dbt Cloud's APIs.
    pub route_map: Option<crate::route_map::RouteMap>,
    /// How invitation codes reach the invited person.
    pub invite_delivery: InviteDelivery,
    /// Where `/auth/forward` reads the original request from: the headers (or, for Envoy, the
    /// request line) of the one proxy kind in front. `None`: forward auth is off and answers
    /// 501 until the deployment says which proxy it runs behind.
    pub forward_auth_headers: Option<ForwardAuthHeaders>,
    /// A console session unused this long ends (the person signs in again).
    pub console_idle_timeout: Duration,
    /// A console session ends this long after sign-in, however much it is used.
    pub console_absolute_timeout: Duration,
    /// The console's session cookie is `Secure` (`__Host-` prefixed): set when people reach
    /// the console over TLS (a proxy terminating it in front).
    pub console_secure_cookie: bool,
}

/// How invitation codes reach the invited person. A code is a credential: it goes only where
/// the operator said, and nowhere by default.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum InviteDelivery {
    /// Invitations are refused until the operator chooses (the default).
    #[default]
    Off,
    /// The API's answer to the inviter carries the code, and the caller delivers it: for
    /// platforms that send their own mail.
    Caller,
    /// This program gets the invitation as JSON on its standard input (`account_id`,
    /// `invite_id`, `email`, `code`, `expires_at`) and delivers it; the inviter never sees the
    /// code. A failed delivery withdraws the invitation.
    Command(std::path::PathBuf),
}

impl std::str::FromStr for InviteDelivery {
    type Err = String;
    /// `off`, `caller` or `command:PATH`.
    fn from_str(s: &str) -> Result<InviteDelivery, String> {
        match s {
            "off" => Ok(InviteDelivery::Off),
            "caller" => Ok(InviteDelivery::Caller),
            _ => match s.strip_prefix("command:") {
                Some(path) if !path.is_empty() => Ok(InviteDelivery::Command(path.into())),
                _ => Err(format!(
                    "invalid invite delivery `{s}`: expected off, caller or command:PATH"
                )),
            },
        }
    }
}

/// The proxy in front of `/auth/forward`, which fixes where the original request is read from.
/// Only that proxy's headers are read; the others' are ignored, since a client can send them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ForwardAuthHeaders {
    /// nginx `auth_request`: `X-Original-Method` and `X-Original-URI`, which the README's
    /// `proxy_set_header` lines set (overwriting any copy the client sent).
    Nginx,
    /// Traefik ForwardAuth: `X-Forwarded-Method` and `X-Forwarded-Uri`, which Traefik sets
    /// itself; never `X-Original-*`, which Traefik passes on from the client untouched.
    Traefik,
    /// Envoy `ext_authz` (HTTP service): the check request's own method, and its path after
    /// `/auth/forward` (Envoy's `path_prefix`), which is the original path and query.
    Envoy,
}

impl ForwardAuthHeaders {
    /// The flag's spelling: `nginx`, `traefik` or `envoy`.
    pub fn as_str(self) -> &'static str {
        match self {
            ForwardAuthHeaders::Nginx => "nginx",
            ForwardAuthHeaders::Traefik => "traefik",
            ForwardAuthHeaders::Envoy => "envoy",
        }
    }
}

impl std::str::FromStr for ForwardAuthHeaders {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "nginx" => Ok(ForwardAuthHeaders::Nginx),
            "traefik" => Ok(ForwardAuthHeaders::Traefik),
            "envoy" => Ok(ForwardAuthHeaders::Envoy),
            other => Err(format!(
                "unknown proxy `{other}`: expected nginx, traefik or envoy"
            )),
        }
    }
}

/// dbt Cloud's legacy-token cutoff, 2023-07-18T00:00:00Z.
pub const DEFAULT_LEGACY_CUTOFF: time::OffsetDateTime =
    time::macros::datetime!(2023-07-18 00:00 UTC);

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            token_format: TokenFormat::default(),
            change_poll: Duration::from_millis(250),
            cache_max_age: Duration::from_secs(60),
            negative_ttl: Duration::from_secs(5),
            negative_capacity: 100_000,
            usage_flush: Duration::from_secs(5),
            usage_granularity: Duration::from_secs(60),
            body_limit: 64 * 1024,
            legacy_cutoff: DEFAULT_LEGACY_CUTOFF,
            failed_auth_limit: 30,
            failed_auth_window_secs: 60,
            leak_reports_per_hour: 60,
            trusted_proxies: Vec::new(),
            account_requests_per_minute: 5000,
            token_requests_per_minute: 1000,
            route_map: None,
            invite_delivery: InviteDelivery::Off,
            forward_auth_headers: None,
            console_idle_timeout: Duration::from_secs(30 * 60),
            console_absolute_timeout: Duration::from_secs(12 * 3600),
            console_secure_cookie: false,
            max_connections: 10_000,
            decision_listener: false,
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            request_timeout: Duration::from_secs(30),
        }
    }
}
