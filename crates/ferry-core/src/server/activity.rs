//! Per-connection activity, for the header-read and keep-alive timeouts.
//!
//! hyper's own HTTP/1 header timer starts whenever a connection waits for a request, so it
//! cannot tell an idle keep-alive connection from a slow sender. Ferry tracks both itself:
//! [`ActivityIo`] notes when bytes move and when a new request head starts arriving, the
//! connection's service notes when a head is complete and when its response is finished,
//! and the connection task asks [`ConnectionActivity::check`] what is due.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// `head_started_ms` when no request head is being read.
const NO_HEAD: u64 = u64::MAX;

/// What a connection has been doing, shared by its I/O, its service and its task.
#[derive(Debug)]
pub(crate) struct ConnectionActivity {
    /// The connection's start; every other time is milliseconds since this.
    epoch: Instant,
    /// Last time bytes were read or written, or a response finished.
    last_io_ms: AtomicU64,
    /// When the current request head started arriving, or [`NO_HEAD`].
    head_started_ms: AtomicU64,
    /// Requests dispatched whose responses have not finished.
    in_flight: AtomicUsize,
    /// Set once the client spoke HTTP/2, which has no request heads to time.
    http2: AtomicBool,
    /// Whether the first read has been seen (to detect the HTTP/2 preface).
    first_read_seen: AtomicBool,
}

/// What the connection task should do now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Nothing is due; check again at this time.
    CheckAt(Instant),
    /// A request head took too long: drop the connection.
    HeaderTimeout,
    /// Idle for the keep-alive timeout: close gracefully.
    Idle,
}

impl ConnectionActivity {
    /// A new connection: it is expected to send a request head right away.
    pub(crate) fn new() -> Self {
        ConnectionActivity {
            epoch: Instant::now(),
            last_io_ms: AtomicU64::new(0),
            head_started_ms: AtomicU64::new(0),
            in_flight: AtomicUsize::new(0),
            http2: AtomicBool::new(false),
            first_read_seen: AtomicBool::new(false),
        }
    }

    fn now_ms(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64
    }

    fn instant_at(&self, ms: u64) -> Instant {
        self.epoch + Duration::from_millis(ms)
    }

    fn on_read(&self, bytes: &[u8]) {
        if !self.first_read_seen.swap(true, Ordering::Relaxed) && bytes.starts_with(b"PRI ") {
            self.http2.store(true, Ordering::Relaxed);
            self.head_started_ms.store(NO_HEAD, Ordering::Relaxed);
        }
        let now = self.now_ms();
        self.last_io_ms.store(now, Ordering::Relaxed);
        if self.in_flight.load(Ordering::Relaxed) == 0
            && !self.http2.load(Ordering::Relaxed)
            && self.head_started_ms.load(Ordering::Relaxed) == NO_HEAD
        {
            self.head_started_ms.store(now, Ordering::Relaxed);
        }
    }

    fn on_write(&self) {
        self.last_io_ms.store(self.now_ms(), Ordering::Relaxed);
    }

    /// A complete request head arrived and was dispatched.
    pub(crate) fn request_started(&self) {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        self.head_started_ms.store(NO_HEAD, Ordering::Relaxed);
    }

    /// A response finished (or was abandoned).
    pub(crate) fn request_finished(&self) {
        self.last_io_ms.store(self.now_ms(), Ordering::Relaxed);
        self.in_flight.fetch_sub(1, Ordering::Relaxed);
    }

    /// Decides what is due, given the two timeouts.
    ///
    /// Nothing wakes the connection task when a request starts or finishes, so a
    /// [`Verdict::CheckAt`] is never further away than the shorter timeout: state changes are
    /// noticed within that time.
    pub(crate) fn check(&self, header_timeout: Duration, keep_alive: Duration) -> Verdict {
        let now = self.now_ms();
        let recheck = now.saturating_add(header_timeout.min(keep_alive).as_millis() as u64);
        let head_started = self.head_started_ms.load(Ordering::Relaxed);
        if head_started != NO_HEAD {
            let deadline = head_started.saturating_add(header_timeout.as_millis() as u64);
            if now >= deadline {
                return Verdict::HeaderTimeout;
            }
            return Verdict::CheckAt(self.instant_at(deadline.min(recheck)));
        }
        if self.in_flight.load(Ordering::Relaxed) > 0 {
            return Verdict::CheckAt(self.instant_at(recheck));
        }
        let idle_deadline = self
            .last_io_ms
            .load(Ordering::Relaxed)
            .saturating_add(keep_alive.as_millis() as u64);
        if now >= idle_deadline {
            Verdict::Idle
        } else {
            Verdict::CheckAt(self.instant_at(idle_deadline.min(recheck)))
        }
    }
}

/// Marks a dispatched request as finished when dropped (with its response body, or with
/// the request's future if the client went away first).
#[derive(Debug)]
pub(crate) struct InFlightGuard(Arc<ConnectionActivity>);

impl InFlightGuard {
    pub(crate) fn new(activity: Arc<ConnectionActivity>) -> Self {
        activity.request_started();
        InFlightGuard(activity)
    }
}

impl Drop for InFlightGuard {
    fn drop(&mut self) {
        self.0.request_finished();
    }
}

/// A socket that reports its reads and writes to a [`ConnectionActivity`].
#[derive(Debug)]
pub(crate) struct ActivityIo<T> {
    inner: T,
    activity: Arc<ConnectionActivity>,
}

impl<T> ActivityIo<T> {
    pub(crate) fn new(inner: T, activity: Arc<ConnectionActivity>) -> Self {
        ActivityIo { inner, activity }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for ActivityIo<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let this = &mut *self;
        let result = Pin::new(&mut this.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = result {
            let read = &buf.filled()[before..];
            if !read.is_empty() {
                this.activity.on_read(read);
            }
        }
        result
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for ActivityIo<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        let result = Pin::new(&mut this.inner).poll_write(cx, buf);
        if let Poll::Ready(Ok(written)) = result
            && written > 0
        {
            this.activity.on_write();
        }
        result
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        let result = Pin::new(&mut this.inner).poll_write_vectored(cx, bufs);
        if let Poll::Ready(Ok(written)) = result
            && written > 0
        {
            this.activity.on_write();
        }
        result
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: Duration = Duration::from_secs(10);
    const IDLE: Duration = Duration::from_secs(60);

    #[test]
    fn a_new_connection_must_send_a_head_in_time() {
        let activity = ConnectionActivity::new();
        match activity.check(HEADER, IDLE) {
            Verdict::CheckAt(at) => assert!(at <= activity.epoch + HEADER),
            other => panic!("{other:?}"),
        }
        assert_eq!(activity.check(Duration::ZERO, IDLE), Verdict::HeaderTimeout);
    }

    #[test]
    fn after_a_response_the_connection_is_idle_not_reading_a_head() {
        let activity = Arc::new(ConnectionActivity::new());
        activity.on_read(b"GET / HTTP/1.1\r\n\r\n");
        drop(InFlightGuard::new(activity.clone()));
        // No head in progress: only the keep-alive timeout applies.
        assert_eq!(
            activity.check(Duration::ZERO, Duration::ZERO),
            Verdict::Idle
        );
        assert!(matches!(
            activity.check(Duration::ZERO, IDLE),
            Verdict::CheckAt(_)
        ));
    }

    #[test]
    fn bytes_of_a_new_request_start_the_header_timer() {
        let activity = Arc::new(ConnectionActivity::new());
        activity.on_read(b"GET / HTTP/1.1\r\n\r\n");
        drop(InFlightGuard::new(activity.clone()));
        activity.on_read(b"GET /next HT");
        assert_eq!(activity.check(Duration::ZERO, IDLE), Verdict::HeaderTimeout);
    }

    #[test]
    fn a_running_request_is_never_idle() {
        let activity = Arc::new(ConnectionActivity::new());
        activity.on_read(b"GET / HTTP/1.1\r\n\r\n");
        let _guard = InFlightGuard::new(activity.clone());
        assert!(matches!(
            activity.check(Duration::ZERO, Duration::ZERO),
            Verdict::CheckAt(_)
        ));
    }

    #[test]
    fn http2_connections_have_no_header_timer() {
        let activity = ConnectionActivity::new();
        activity.on_read(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
        activity.on_read(b"\x00\x00\x00\x04\x01\x00\x00\x00\x00");
        assert_eq!(
            activity.check(Duration::ZERO, Duration::ZERO),
            Verdict::Idle
        );
    }
}
