//! Serving HTTP/1.1 connections so that nobody can hoard them: the accept loop, the connection
//! cap with load shedding, and the timeouts every connection lives under.
//!
//! - **Header-read timeout**: a new connection must deliver its first request head within it, and
//!   a kept-alive one within it of the first byte of its next request.
//! - **Idle timeout**: a kept-alive connection with no request arriving is closed after it.
//! - **Request timeout**: a request must be whole (its body too) and answered within it of its
//!   head beginning to arrive.
//! - **Cap**: at most [`ConnectionLimits::max_connections`] are held. At the cap, a new connection
//!   closes the one that has been idle (or stuck in a request head) longest; if every held one is
//!   busy with a request, the new one gets a 503 at once and is closed, and the held ones go on.
//!   The cap is kept below the process's open-file limit, which [`raise_open_file_limit`] lifts
//!   to its hard limit at start.
//!
//! A connection begins in the express lane ([`crate::express`]) and goes to hyper and the
//! router at the first request the lane does not take; the timeouts, the cap and a stop hold
//! the same in both (`supervise`).
//!
//! Not here: what a request may do (the route table's guard), or how many requests a caller may
//! make (the throttles and budgets).

mod activity;
mod held;

use crate::config::ServerConfig;
use crate::express::{Express, LaneEnd};
use crate::extract::ClientIp;
use activity::{Activity, Clock, Handling, Watched};
use axum::Router;
use bytes::{Bytes, BytesMut};
use held::{Admission, Held, Release};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use latchkey_core::Cidr;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::{pin, Pin};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// Open files kept back from the cap for everything else the process opens (the database and its
/// journal for every pooled connection, the listener, the runtime's own descriptors).
pub const RESERVED_FILES: u64 = 128;

/// Connections that may be held above the cap for a moment, while those evicted to make room
/// for new ones close.
pub(crate) const EVICTION_SLACK: usize = 32;

/// The longest the accept loop waits for a connection chosen to make room to close.
const CLOSING_WAIT: Duration = Duration::from_millis(100);

/// What every new connection beyond the cap is told when no held one can make room: the API's
/// error envelope, as a whole HTTP/1.1 answer.
fn shed_answer() -> Vec<u8> {
    let body = r#"{"data":null,"status":{"code":503,"is_success":false,"user_message":"Too many connections; retry later.","developer_message":null}}"#;
    format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\nretry-after: 1\r\n\
         connection: close\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// How connections are held, from [`ServerConfig`].
#[derive(Clone, Copy, Debug)]
pub struct ConnectionLimits {
    /// Most connections held at once (already kept below the open-file limit).
    pub max_connections: usize,
    /// See the module docs.
    pub header_read_timeout: Duration,
    /// See the module docs.
    pub idle_timeout: Duration,
    /// See the module docs.
    pub request_timeout: Duration,
}

impl ConnectionLimits {
    /// The limits `config` asks for, the cap lowered to fit under `open_files` (the soft
    /// open-file limit; `None`: unlimited or unknown).
    pub fn new(config: &ServerConfig, open_files: Option<u64>) -> ConnectionLimits {
        let mut max_connections = config.max_connections.max(1);
        if let Some(files) = open_files {
            let room = files.saturating_sub(RESERVED_FILES).max(files / 2).max(1);
            let room = usize::try_from(room).unwrap_or(usize::MAX);
            if room < max_connections {
                tracing::warn!(
                    wanted = max_connections,
                    held = room,
                    open_files = files,
                    "connection cap lowered to fit the open-file limit"
                );
                max_connections = room;
            }
        }
        ConnectionLimits {
            max_connections,
            header_read_timeout: config.header_read_timeout,
            idle_timeout: config.idle_timeout,
            request_timeout: config.request_timeout,
        }
    }
}

/// Raises the process's soft open-file limit to its hard limit; the soft limit it ends with
/// (`None`: unlimited, or not known on this platform).
pub fn raise_open_file_limit() -> io::Result<Option<u64>> {
    #[cfg(unix)]
    {
        use rustix::process::{getrlimit, setrlimit, Resource};
        let limit = getrlimit(Resource::Nofile);
        if limit.current != limit.maximum {
            let raised = rustix::process::Rlimit {
                current: limit.maximum,
                ..limit
            };
            setrlimit(Resource::Nofile, raised)?;
        }
        Ok(getrlimit(Resource::Nofile).current)
    }
    #[cfg(not(unix))]
    {
        Ok(None)
    }
}

/// The soft open-file limit now (`None`: unlimited, or not known on this platform).
pub fn open_file_limit() -> Option<u64> {
    #[cfg(unix)]
    {
        rustix::process::getrlimit(rustix::process::Resource::Nofile).current
    }
    #[cfg(not(unix))]
    {
        None
    }
}

/// Serves `router` on `listener` under `limits` until `shutdown` resolves, then lets every held
/// connection finish what it is doing and returns. Every request carries its client's address
/// ([`ClientIp`]), resolved from the peer and, behind a `trusted` proxy, `X-Forwarded-For`.
/// With `express`, connections begin in the express lane ([`crate::express`]).
pub async fn serve(
    listener: TcpListener,
    router: Router,
    express: Option<Express>,
    limits: ConnectionLimits,
    trusted: Arc<[Cidr]>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let clock = Clock(Instant::now());
    let held = Arc::new(Held::default());
    let shed = shed_answer();
    // Dropping `stop` tells every connection to finish; each holds a `done` receiver until it
    // ends, so `finished` closes when the last one has.
    let (stop, stopping) = watch::channel(());
    let (finished, done) = watch::channel(());
    let mut shutdown = pin!(shutdown);
    let mut next_id = 0u64;
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    accept_failed(e).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        next_id += 1;
        let activity = Arc::new(Activity::accepted(clock.now(), limits));
        if !admit(&held, next_id, &activity, limits.max_connections).await {
            // Best effort and never waiting: a fresh socket's send buffer is empty.
            let _ = stream.try_write(&shed);
            continue;
        }
        let release = Release(held.clone(), next_id);
        let connection = Connection {
            stream,
            peer,
            activity,
            clock,
            router: router.clone(),
            express: express.clone(),
            trusted: trusted.clone(),
        };
        let (stopping, done) = (stopping.clone(), done.clone());
        tokio::spawn(async move {
            let _release = release;
            connection.run(stopping).await;
            drop(done);
        });
    }
    drop((stop, stopping, done, listener));
    finished.closed().await;
}

/// Admits a new connection ([`Held::admit`]), waiting a moment for connections chosen to make
/// room to close if too many still are; `false`: shed it.
async fn admit(held: &Held, id: u64, activity: &Arc<Activity>, max: usize) -> bool {
    loop {
        match held.admit(id, activity, max) {
            Admission::Admitted => return true,
            Admission::Shed => return false,
            Admission::Wait => {
                // Closing takes microseconds; one that became busy first finishes its request.
                let closed = tokio::time::timeout(CLOSING_WAIT, held.released.notified());
                if closed.await.is_err() {
                    return false;
                }
            }
        }
    }
}

/// An accept failed: a connection that went away before it was taken is nothing; anything else
/// (out of file descriptors) is logged and waited out briefly instead of spinning.
async fn accept_failed(e: io::Error) {
    use io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset, Interrupted};
    if matches!(
        e.kind(),
        ConnectionAborted | ConnectionRefused | ConnectionReset | Interrupted
    ) {
        return;
    }
    tracing::warn!(error = %e, "cannot accept a connection");
    tokio::time::sleep(Duration::from_millis(100)).await;
}

/// One accepted connection and what it needs to be served.
struct Connection {
    stream: TcpStream,
    peer: SocketAddr,
    activity: Arc<Activity>,
    clock: Clock,
    router: Router,
    express: Option<Express>,
    trusted: Arc<[Cidr]>,
}

impl Connection {
    /// Serves the connection until it closes, times out, is evicted, or the server stops: in
    /// the express lane while its requests are the lane's, then with hyper and the router.
    async fn run(self, mut stopping: watch::Receiver<()>) {
        let Connection {
            stream,
            peer,
            activity,
            clock,
            router,
            express,
            trusted,
        } = self;
        let mut io = Watched {
            stream,
            activity: activity.clone(),
            clock,
            replay: Bytes::new(),
        };
        let mut read = BytesMut::new();
        if let Some(express) = express {
            let lane = express.serve(
                &mut io,
                &mut read,
                peer.ip(),
                &trusted,
                || Handling::start(&activity, clock),
                &activity.finishing,
            );
            let finish = |_: Pin<&mut _>| {
                activity.finishing.store(true, Relaxed);
                !activity.busy()
            };
            match supervise(pin!(lane), finish, &activity, clock, &mut stopping).await {
                Some(LaneEnd::HandOver) => {}
                Some(LaneEnd::Closed) | None => return,
            }
        }
        io.replay = read.freeze();
        let io = TokioIo::new(io);
        let routes = TowerToHyperService::new(router);
        let requests = activity.clone();
        let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
            // Resolved once, here, for the guard, the IP fences and the handlers alike.
            let client = ClientIp::resolve(Some(peer.ip()), request.headers(), &trusted);
            request.extensions_mut().insert(client);
            let handling = Handling::start(&requests, clock);
            let answer = hyper::service::Service::call(&routes, request);
            async move {
                let answer = answer.await;
                drop(handling);
                answer
            }
        });
        let connection = hyper::server::conn::http1::Builder::new().serve_connection(io, service);
        let finish = |connection: Pin<&mut _>| {
            hyper::server::conn::http1::Connection::graceful_shutdown(connection);
            false
        };
        supervise(pin!(connection), finish, &activity, clock, &mut stopping).await;
    }
}

/// Drives `served` under the connection's deadlines, its eviction and the server's stop: its
/// output, or `None` when it was cut off. `finish` asks it to answer the request in hand and
/// end; `true` from it: nothing is in hand, end now.
async fn supervise<F: Future>(
    mut served: Pin<&mut F>,
    finish: impl Fn(Pin<&mut F>) -> bool,
    activity: &Activity,
    clock: Clock,
    stopping: &mut watch::Receiver<()>,
) -> Option<F::Output> {
    let mut finishing = false;
    loop {
        let look = activity.next_look(clock.now());
        activity.armed.store(look, Relaxed);
        tokio::select! {
            biased;
            out = served.as_mut() => return Some(out),
            () = activity.wake.notified() => {
                if activity.evicted.load(Relaxed) {
                    if !activity.busy() {
                        return None;
                    }
                    // A request began since it was chosen: answer it, then close.
                    finishing = true;
                    if finish(served.as_mut()) {
                        return None;
                    }
                }
            }
            () = tokio::time::sleep_until(clock.instant(look)) => {
                if clock.now() >= activity.deadline() {
                    return None;
                }
            }
            _ = stopping.changed(), if !finishing => {
                finishing = true;
                if finish(served.as_mut()) {
                    return None;
                }
            }
        }
    }
}
