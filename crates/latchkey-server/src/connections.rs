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
//! Not here: what a request may do (the route table's guard), or how many requests a caller may
//! make (the throttles and budgets).

use crate::config::ServerConfig;
use crate::extract::ClientIp;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use latchkey_core::Cidr;
use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::{pin, Pin};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Notify};

/// Open files kept back from the cap for everything else the process opens (the database and its
/// journal for every pooled connection, the listener, the runtime's own descriptors).
pub const RESERVED_FILES: u64 = 128;

/// Connections that may be held above the cap for a moment, while those evicted to make room
/// for new ones close.
const EVICTION_SLACK: usize = 32;

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

/// Milliseconds since the server started, plus one, so that 0 can mean "none".
#[derive(Clone, Copy)]
struct Clock(Instant);

impl Clock {
    fn now(&self) -> u64 {
        u64::try_from(self.0.elapsed().as_millis())
            .unwrap_or(u64::MAX)
            .saturating_add(1)
    }

    fn instant(&self, at: u64) -> tokio::time::Instant {
        tokio::time::Instant::from_std(self.0 + Duration::from_millis(at.saturating_sub(1)))
    }
}

/// What one connection is doing, as its task, its socket and its requests see it (times from
/// [`Clock`]; 0 is none).
struct Activity {
    limits: ConnectionLimits,
    /// When it was accepted or last answered a request.
    quiet_since: AtomicU64,
    /// When the head of the next request began to arrive (or the connection was accepted).
    head_since: AtomicU64,
    /// When the request being handled began to arrive.
    request_since: AtomicU64,
    /// When the connection's task will look at its deadline next.
    armed: AtomicU64,
    /// Chosen to make room for a new connection.
    evicted: AtomicBool,
    /// Wakes the connection's task: to close, or to look at its deadline again.
    wake: Notify,
}

/// `since` plus `limit`, in [`Clock`] milliseconds.
fn after(since: u64, limit: Duration) -> u64 {
    since.saturating_add(u64::try_from(limit.as_millis()).unwrap_or(u64::MAX))
}

impl Activity {
    fn accepted(now: u64, limits: ConnectionLimits) -> Activity {
        Activity {
            limits,
            quiet_since: AtomicU64::new(now),
            head_since: AtomicU64::new(now),
            request_since: AtomicU64::new(0),
            armed: AtomicU64::new(0),
            evicted: AtomicBool::new(false),
            wake: Notify::new(),
        }
    }

    fn busy(&self) -> bool {
        self.request_since.load(Relaxed) != 0
    }

    /// When the connection has to be closed unless something happens first.
    fn deadline(&self) -> u64 {
        match (
            self.request_since.load(Relaxed),
            self.head_since.load(Relaxed),
        ) {
            (0, 0) => after(self.quiet_since.load(Relaxed), self.limits.idle_timeout),
            (0, head) => after(head, self.limits.header_read_timeout),
            (request, _) => after(request, self.limits.request_timeout),
        }
    }

    /// When the connection's task should look again, at `now`: its deadline, except that an
    /// idle connection is looked at once a header-read timeout after it went quiet too. The task
    /// may look early (it finds nothing due and waits again), never late; so a request head
    /// beginning soon after an answer, as on every busy kept-alive connection, need not wake it.
    fn next_look(&self, now: u64) -> u64 {
        let deadline = self.deadline();
        if self.request_since.load(Relaxed) == 0 && self.head_since.load(Relaxed) == 0 {
            let early = after(
                self.quiet_since.load(Relaxed),
                self.limits.header_read_timeout,
            );
            if early > now {
                return early.min(deadline);
            }
        }
        deadline
    }

    /// Something happened at `now`: wakes the task if it has to look sooner than it would.
    fn changed(&self, now: u64) {
        if self.next_look(now) < self.armed.load(Relaxed) {
            self.wake.notify_one();
        }
    }

    /// Bytes arrived: between requests, the head of the next one has begun.
    fn on_read(&self, clock: &Clock) {
        if self.request_since.load(Relaxed) == 0 && self.head_since.load(Relaxed) == 0 {
            let now = clock.now();
            self.head_since.store(now, Relaxed);
            self.changed(now);
        }
    }
}

/// A request being handled; answered when dropped.
struct Handling(Arc<Activity>, Clock);

impl Handling {
    /// The request counts from when its head began to arrive (saving a clock read per request);
    /// one read from the buffer without a new read from the socket counts from now.
    fn start(activity: &Arc<Activity>, clock: Clock) -> Handling {
        let since = match activity.head_since.swap(0, Relaxed) {
            0 => clock.now(),
            head => head,
        };
        activity.request_since.store(since, Relaxed);
        activity.changed(since);
        Handling(activity.clone(), clock)
    }
}

impl Drop for Handling {
    fn drop(&mut self) {
        let now = self.1.now();
        self.0.quiet_since.store(now, Relaxed);
        self.0.request_since.store(0, Relaxed);
        self.0.changed(now);
    }
}

/// The socket, noting when bytes arrive.
struct Watched {
    stream: TcpStream,
    activity: Arc<Activity>,
    clock: Clock,
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.stream).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.on_read(&self.clock);
        }
        polled
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

/// The connections held, and how many of them were chosen to make room and are closing.
#[derive(Default)]
struct Held {
    state: Mutex<HeldState>,
    /// Notified whenever a connection is let go.
    released: Notify,
}

#[derive(Default)]
struct HeldState {
    connections: HashMap<u64, Arc<Activity>>,
    evicting: usize,
}

/// What becomes of a new connection.
enum Admission {
    Admitted,
    /// Every held connection is busy with a request.
    Shed,
    /// Too many are still closing to make room; ask again when one has.
    Wait,
}

impl Held {
    fn lock(&self) -> MutexGuard<'_, HeldState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Admits a new connection, choosing the longest-quiet held one that is not busy to close
    /// if the cap is reached. At most `max` are held that are not closing, and at most
    /// [`EVICTION_SLACK`] more that are.
    fn admit(&self, id: u64, activity: &Arc<Activity>, max: usize) -> Admission {
        let mut held = self.lock();
        let held = &mut *held;
        if held.connections.len() - held.evicting >= max {
            let victim = held
                .connections
                .values()
                .filter(|a| !a.busy() && !a.evicted.load(Relaxed))
                .min_by_key(|a| a.quiet_since.load(Relaxed));
            let Some(victim) = victim else {
                return Admission::Shed;
            };
            victim.evicted.store(true, Relaxed);
            victim.wake.notify_one();
            held.evicting += 1;
        }
        if held.connections.len() >= max + EVICTION_SLACK {
            return Admission::Wait;
        }
        held.connections.insert(id, activity.clone());
        Admission::Admitted
    }

    fn release(&self, id: u64) {
        let mut held = self.lock();
        if let Some(gone) = held.connections.remove(&id) {
            if gone.evicted.load(Relaxed) {
                held.evicting -= 1;
            }
        }
        drop(held);
        self.released.notify_one();
    }
}

/// Forgets a connection when its task ends, however it ends.
struct Release(Arc<Held>, u64);

impl Drop for Release {
    fn drop(&mut self) {
        self.0.release(self.1);
    }
}

/// Serves `router` on `listener` under `limits` until `shutdown` resolves, then lets every held
/// connection finish what it is doing and returns. Every request carries its client's address
/// ([`ClientIp`]), resolved from the peer and, behind a `trusted` proxy, `X-Forwarded-For`.
pub async fn serve(
    listener: TcpListener,
    router: Router,
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
    trusted: Arc<[Cidr]>,
}

impl Connection {
    /// Serves the connection until it closes, times out, is evicted, or the server stops.
    async fn run(self, mut stopping: watch::Receiver<()>) {
        let Connection {
            stream,
            peer,
            activity,
            clock,
            router,
            trusted,
        } = self;
        let io = TokioIo::new(Watched {
            stream,
            activity: activity.clone(),
            clock,
        });
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
        let mut connection =
            pin!(hyper::server::conn::http1::Builder::new().serve_connection(io, service));
        let mut finishing = false;
        loop {
            let look = activity.next_look(clock.now());
            activity.armed.store(look, Relaxed);
            tokio::select! {
                biased;
                _ = connection.as_mut() => return,
                () = activity.wake.notified() => {
                    if activity.evicted.load(Relaxed) {
                        if !activity.busy() {
                            return;
                        }
                        // A request began since it was chosen: answer it, then close.
                        finishing = true;
                        connection.as_mut().graceful_shutdown();
                    }
                }
                () = tokio::time::sleep_until(clock.instant(look)) => {
                    if clock.now() >= activity.deadline() {
                        return;
                    }
                }
                _ = stopping.changed(), if !finishing => {
                    finishing = true;
                    connection.as_mut().graceful_shutdown();
                }
            }
        }
    }
}
