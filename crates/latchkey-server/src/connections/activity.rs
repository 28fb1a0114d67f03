//! What one connection is doing, as its task, its socket and its requests see it: the clock its
//! deadlines are read on, its [`Activity`], the [`Handling`] of a request and the [`Watched`]
//! socket that notes when bytes arrive.

use super::ConnectionLimits;
use bytes::{Buf, Bytes};
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::Notify;

/// Milliseconds since the server started, plus one, so that 0 can mean "none".
#[derive(Clone, Copy)]
pub(crate) struct Clock(pub(super) Instant);

impl Clock {
    pub(crate) fn now(&self) -> u64 {
        u64::try_from(self.0.elapsed().as_millis())
            .unwrap_or(u64::MAX)
            .saturating_add(1)
    }

    pub(super) fn instant(&self, at: u64) -> tokio::time::Instant {
        tokio::time::Instant::from_std(self.0 + Duration::from_millis(at.saturating_sub(1)))
    }
}

/// What one connection is doing, as its task, its socket and its requests see it (times from
/// [`Clock`]; 0 is none).
pub(crate) struct Activity {
    pub(super) limits: ConnectionLimits,
    /// When it was accepted or last answered a request.
    pub(super) quiet_since: AtomicU64,
    /// When the head of the next request began to arrive (or the connection was accepted).
    pub(super) head_since: AtomicU64,
    /// When the request being handled began to arrive.
    pub(super) request_since: AtomicU64,
    /// When the connection's task will look at its deadline next.
    pub(super) armed: AtomicU64,
    /// Chosen to make room for a new connection.
    pub(super) evicted: AtomicBool,
    /// Wakes the connection's task: to close, or to look at its deadline again.
    pub(super) wake: Notify,
    /// Asked to answer the request in hand and close (the express lane reads it).
    pub(crate) finishing: AtomicBool,
}

/// `since` plus `limit`, in [`Clock`] milliseconds.
fn after(since: u64, limit: Duration) -> u64 {
    since.saturating_add(u64::try_from(limit.as_millis()).unwrap_or(u64::MAX))
}

impl Activity {
    pub(super) fn accepted(now: u64, limits: ConnectionLimits) -> Activity {
        Activity {
            limits,
            quiet_since: AtomicU64::new(now),
            head_since: AtomicU64::new(now),
            request_since: AtomicU64::new(0),
            armed: AtomicU64::new(0),
            evicted: AtomicBool::new(false),
            wake: Notify::new(),
            finishing: AtomicBool::new(false),
        }
    }

    pub(crate) fn busy(&self) -> bool {
        self.request_since.load(Relaxed) != 0
    }

    /// When the connection has to be closed unless something happens first.
    pub(super) fn deadline(&self) -> u64 {
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
    pub(super) fn next_look(&self, now: u64) -> u64 {
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
pub(crate) struct Handling(Arc<Activity>, Clock);

impl Handling {
    /// The request counts from when its head began to arrive (saving a clock read per request);
    /// one read from the buffer without a new read from the socket counts from now.
    pub(crate) fn start(activity: &Arc<Activity>, clock: Clock) -> Handling {
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

/// The socket, noting when bytes arrive; what the express lane read and handed over with the
/// connection is read again first.
pub(crate) struct Watched {
    pub(super) stream: TcpStream,
    pub(super) activity: Arc<Activity>,
    pub(super) clock: Clock,
    /// Bytes already read from the socket, to be read again before it.
    pub(super) replay: Bytes,
}

/// Moves what `replay` holds (as much as fits) into `buf`; whether there was any.
fn replayed(replay: &mut Bytes, buf: &mut ReadBuf<'_>) -> bool {
    if replay.is_empty() {
        return false;
    }
    let n = replay.len().min(buf.remaining());
    buf.put_slice(&replay[..n]);
    replay.advance(n);
    true
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if replayed(&mut self.replay, buf) {
            return Poll::Ready(Ok(()));
        }
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

#[cfg(test)]
mod tests {
    use super::replayed;
    use bytes::Bytes;
    use tokio::io::ReadBuf;

    #[test]
    fn what_was_read_is_replayed_as_far_as_it_fits_then_nothing() {
        let mut replay = Bytes::from_static(b"hello");
        let mut small = [0u8; 3];
        let mut buf = ReadBuf::new(&mut small);
        assert!(replayed(&mut replay, &mut buf));
        assert_eq!(buf.filled(), b"hel");
        let mut rest = [0u8; 8];
        let mut buf = ReadBuf::new(&mut rest);
        assert!(replayed(&mut replay, &mut buf));
        assert_eq!(buf.filled(), b"lo");
        assert!(!replayed(&mut replay, &mut buf));
    }
}
