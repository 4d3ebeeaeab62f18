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
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use metrics::Counter;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::Notify;

/// `head_started_ms` when no request head is being read.
const NO_HEAD: u64 = u64::MAX;

/// `write_blocked_ms` when writes go through.
const NOT_BLOCKED: u64 = u64::MAX;

/// How long a parkable connection stays idle, with hyper's state and buffers, before it is
/// parked. Short, so a burst of connections that each make one request does not hold a
/// buffer each; long enough that a client sending requests back to back is not parked
/// between them.
pub(crate) const PARK_AFTER: Duration = Duration::from_millis(25);

/// [`PARK_AFTER`] in the milliseconds the activity record counts in.
const PARK_AFTER_MS: u64 = PARK_AFTER.as_millis() as u64;

/// What a connection has been doing, shared by its I/O, its service and its task.
#[derive(Debug)]
pub(crate) struct ConnectionActivity {
    /// The connection's start; every other time is milliseconds since this.
    epoch: Instant,
    /// Last time bytes were read or written, or a response finished.
    last_io_ms: AtomicU64,
    /// Since when a write has been waiting for the client to read, or [`NOT_BLOCKED`].
    write_blocked_ms: AtomicU64,
    /// When the current request head started arriving, or [`NO_HEAD`].
    head_started_ms: AtomicU64,
    /// Requests dispatched whose responses have not finished.
    in_flight: AtomicUsize,
    /// Set once the client spoke HTTP/2, which has no request heads to time.
    http2: AtomicBool,
    /// Whether the first read has been seen (to detect the HTTP/2 preface).
    first_read_seen: AtomicBool,
    /// Set when a request head took too long: the next read answers 408 and fails.
    expired: AtomicBool,
    /// Whether the connection may be parked when idle (plain-TCP HTTP/1).
    parkable: bool,
    /// When the connection task checks next (milliseconds since `epoch`).
    next_check_ms: AtomicU64,
    /// Signalled when a response finishes, so a parkable connection's task looks at once.
    finished: Notify,
    /// The body framings ([`CONTENT_LENGTH`], [`TRANSFER_ENCODING`]) the current request
    /// head names. hyper drops `Content-Length` when both are present, so this is the only
    /// place that still knows.
    framing: AtomicU8,
}

/// A request head with a `Content-Length` line.
pub(crate) const CONTENT_LENGTH: u8 = 1;
/// A request head with a `Transfer-Encoding` line.
pub(crate) const TRANSFER_ENCODING: u8 = 2;

/// The framing header lines in `head` (bytes of a request head, possibly followed by
/// body bytes, which are not looked at).
fn framing_in(head: &[u8]) -> u8 {
    let starts = |line: &[u8], name: &[u8]| {
        line.len() > name.len() && line[..name.len()].eq_ignore_ascii_case(name)
    };
    let mut found = 0;
    // One pass over the header lines, after the request line, up to the empty line; the
    // line ends are found with SIMD (a browser's head is half a kilobyte).
    let mut rest = head;
    while let Some(end) = memchr::memchr(b'\n', rest) {
        rest = &rest[end + 1..];
        match rest.first() {
            None | Some(b'\r' | b'\n') => break,
            Some(b'c' | b'C') if starts(rest, b"content-length:") => found |= CONTENT_LENGTH,
            Some(b't' | b'T') if starts(rest, b"transfer-encoding:") => {
                found |= TRANSFER_ENCODING;
            }
            _ => {}
        }
    }
    found
}

/// What the connection task should do now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Nothing is due; check again at this time.
    CheckAt(Instant),
    /// A request head took too long: drop the connection.
    HeaderTimeout,
    /// Idle for a moment on a parkable connection: drop hyper's state and wait for the
    /// socket.
    Park,
    /// Idle for the keep-alive timeout: close gracefully.
    Idle,
    /// The client has not read what the server sent for the send timeout: drop the
    /// connection.
    SendTimeout,
}

/// The timeouts [`ConnectionActivity::check`] applies.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Timeouts {
    pub header: Duration,
    pub keep_alive: Duration,
    pub send: Duration,
}

impl ConnectionActivity {
    /// A new connection: it is expected to send a request head right away.
    pub(crate) fn new(parkable: bool) -> Self {
        ConnectionActivity {
            parkable,
            next_check_ms: AtomicU64::new(0),
            finished: Notify::new(),
            epoch: Instant::now(),
            last_io_ms: AtomicU64::new(0),
            write_blocked_ms: AtomicU64::new(NOT_BLOCKED),
            head_started_ms: AtomicU64::new(0),
            in_flight: AtomicUsize::new(0),
            http2: AtomicBool::new(false),
            first_read_seen: AtomicBool::new(false),
            expired: AtomicBool::new(false),
            framing: AtomicU8::new(0),
        }
    }

    /// The framings the request head just dispatched named (see [`framing_in`]); reset for
    /// the next head.
    pub(crate) fn take_framing(&self) -> u8 {
        self.framing.swap(0, Ordering::Relaxed)
    }

    /// Whether the connection may be parked when idle.
    pub(crate) fn parkable(&self) -> bool {
        self.parkable
    }

    /// Completes when a response has finished (since the last call).
    pub(crate) async fn wait_request_finished(&self) {
        self.finished.notified().await;
    }

    /// When the connection, idle since its last I/O, reaches the keep-alive timeout.
    pub(crate) fn idle_deadline(&self, keep_alive: Duration) -> Instant {
        let last_io = self.last_io_ms.load(Ordering::Relaxed);
        self.instant_at(last_io.saturating_add(keep_alive.as_millis() as u64))
    }

    /// Whether part of a request head has arrived (as opposed to a connection that never
    /// sent anything, which is closed without an answer).
    pub(crate) fn head_bytes_seen(&self) -> bool {
        self.first_read_seen.load(Ordering::Relaxed)
            && !self.http2.load(Ordering::Relaxed)
            && self.head_started_ms.load(Ordering::Relaxed) != NO_HEAD
    }

    /// Marks the request head as timed out; true the first time.
    pub(crate) fn expire(&self) -> bool {
        !self.expired.swap(true, Ordering::Relaxed)
    }

    /// Whether the request head timed out.
    pub(crate) fn is_expired(&self) -> bool {
        self.expired.load(Ordering::Relaxed)
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
        if self.in_flight.load(Ordering::Relaxed) == 0 && !self.http2.load(Ordering::Relaxed) {
            if self.head_started_ms.load(Ordering::Relaxed) == NO_HEAD {
                self.head_started_ms.store(now, Ordering::Relaxed);
            }
            let framing = framing_in(bytes);
            if framing != 0 {
                self.framing.fetch_or(framing, Ordering::Relaxed);
            }
        }
    }

    fn on_write(&self) {
        self.last_io_ms.store(self.now_ms(), Ordering::Relaxed);
        if self.write_blocked_ms.load(Ordering::Relaxed) != NOT_BLOCKED {
            self.write_blocked_ms.store(NOT_BLOCKED, Ordering::Relaxed);
        }
    }

    /// A write could not proceed: the client's receive window is full.
    fn on_write_blocked(&self) {
        if self.write_blocked_ms.load(Ordering::Relaxed) == NOT_BLOCKED {
            self.write_blocked_ms
                .store(self.now_ms(), Ordering::Relaxed);
        }
    }

    /// A complete request head arrived and was dispatched.
    pub(crate) fn request_started(&self) {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        self.head_started_ms.store(NO_HEAD, Ordering::Relaxed);
    }

    /// A response finished (or was abandoned).
    pub(crate) fn request_finished(&self) {
        let now = self.now_ms();
        self.last_io_ms.store(now, Ordering::Relaxed);
        self.in_flight.fetch_sub(1, Ordering::Relaxed);
        // Wake the task only if its next check is too far off to park in time: while
        // requests keep coming, checks already come every PARK_AFTER_MS, and a wake per
        // request would cost a busy connection measurably.
        if self.parkable
            && self.next_check_ms.load(Ordering::Relaxed) > now.saturating_add(2 * PARK_AFTER_MS)
        {
            self.finished.notify_one();
        }
    }

    /// Notes when the connection task will next call [`check`](Self::check).
    pub(crate) fn checks_at(&self, at: Instant) {
        let ms = at.saturating_duration_since(self.epoch).as_millis() as u64;
        self.next_check_ms.store(ms, Ordering::Relaxed);
    }

    /// Decides what is due, given the timeouts.
    ///
    /// Nothing wakes the connection task when a request starts or finishes, so a
    /// [`Verdict::CheckAt`] is never further away than the shortest timeout: state changes
    /// are noticed within that time.
    pub(crate) fn check(&self, timeouts: Timeouts) -> Verdict {
        let Timeouts {
            header: header_timeout,
            keep_alive,
            send,
        } = timeouts;
        let now = self.now_ms();
        let shortest = header_timeout.min(keep_alive).min(send);
        let recheck = now.saturating_add(shortest.as_millis() as u64);
        let blocked = self.write_blocked_ms.load(Ordering::Relaxed);
        if blocked != NOT_BLOCKED && now >= blocked.saturating_add(send.as_millis() as u64) {
            return Verdict::SendTimeout;
        }
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
        let last_io = self.last_io_ms.load(Ordering::Relaxed);
        let idle_deadline = last_io.saturating_add(keep_alive.as_millis() as u64);
        if now >= idle_deadline {
            return Verdict::Idle;
        }
        if self.parkable && blocked == NOT_BLOCKED {
            let park_at = last_io.saturating_add(PARK_AFTER_MS);
            if now >= park_at {
                return Verdict::Park;
            }
            return Verdict::CheckAt(self.instant_at(park_at.min(idle_deadline).min(recheck)));
        }
        Verdict::CheckAt(self.instant_at(idle_deadline.min(recheck)))
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

/// Where a connection's byte counts go (metrics counters; no-ops without a recorder).
pub(crate) struct ByteCounters {
    pub received: Counter,
    pub sent: Counter,
}

/// The answer to a request head that did not arrive in time.
const REQUEST_TIMEOUT: &[u8] =
    b"HTTP/1.1 408 Request Timeout\r\ncontent-type: text/plain; charset=utf-8\r\n\
connection: close\r\ncontent-length: 39\r\n\r\nThe request was not received in time.\r\n";

/// A socket that reports its reads and writes to a [`ConnectionActivity`], and answers 408
/// once the activity has expired.
pub(crate) struct ActivityIo<T> {
    inner: T,
    activity: Arc<ConnectionActivity>,
    counters: ByteCounters,
    /// Bytes read before the connection was parked that no request has used yet; read
    /// again first.
    unread: Bytes,
}

impl<T> ActivityIo<T> {
    pub(crate) fn new(inner: T, activity: Arc<ConnectionActivity>, counters: ByteCounters) -> Self {
        ActivityIo {
            inner,
            activity,
            counters,
            unread: Bytes::new(),
        }
    }

    /// The socket.
    pub(crate) fn get_ref(&self) -> &T {
        &self.inner
    }

    /// Puts `bytes` back, to be read before anything else.
    pub(crate) fn unread(&mut self, bytes: Bytes) {
        self.unread = bytes;
    }
}

impl<T: AsyncRead + AsyncWrite + Unpin> AsyncRead for ActivityIo<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        if this.activity.is_expired() {
            // Best effort: hyper has not answered anything on this connection since the
            // head began, so these are the next bytes the client sees.
            let _ = Pin::new(&mut this.inner).poll_write(cx, REQUEST_TIMEOUT);
            let _ = Pin::new(&mut this.inner).poll_flush(cx);
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "request head not received in time",
            )));
        }
        if !this.unread.is_empty() {
            let take = this.unread.len().min(buf.remaining());
            let bytes = this.unread.split_to(take);
            buf.put_slice(&bytes);
            this.activity.on_read(&bytes);
            return Poll::Ready(Ok(()));
        }
        let before = buf.filled().len();
        let result = Pin::new(&mut this.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = result {
            let read = &buf.filled()[before..];
            if !read.is_empty() {
                this.counters.received.increment(read.len() as u64);
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
        match result {
            Poll::Ready(Ok(written)) if written > 0 => {
                this.counters.sent.increment(written as u64);
                this.activity.on_write();
            }
            Poll::Pending => this.activity.on_write_blocked(),
            _ => {}
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
        match result {
            Poll::Ready(Ok(written)) if written > 0 => {
                this.counters.sent.increment(written as u64);
                this.activity.on_write();
            }
            Poll::Pending => this.activity.on_write_blocked(),
            _ => {}
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
    const SEND: Duration = Duration::from_secs(60);

    fn timeouts(header: Duration, keep_alive: Duration) -> Timeouts {
        Timeouts {
            header,
            keep_alive,
            send: SEND,
        }
    }

    #[test]
    fn a_new_connection_must_send_a_head_in_time() {
        let activity = ConnectionActivity::new(false);
        match activity.check(timeouts(HEADER, IDLE)) {
            Verdict::CheckAt(at) => assert!(at <= activity.epoch + HEADER),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            activity.check(timeouts(Duration::ZERO, IDLE)),
            Verdict::HeaderTimeout
        );
    }

    #[test]
    fn after_a_response_the_connection_is_idle_not_reading_a_head() {
        let activity = Arc::new(ConnectionActivity::new(false));
        activity.on_read(b"GET / HTTP/1.1\r\n\r\n");
        drop(InFlightGuard::new(activity.clone()));
        // No head in progress: only the keep-alive timeout applies.
        assert_eq!(
            activity.check(timeouts(Duration::ZERO, Duration::ZERO)),
            Verdict::Idle
        );
        assert!(matches!(
            activity.check(timeouts(Duration::ZERO, IDLE)),
            Verdict::CheckAt(_)
        ));
    }

    #[test]
    fn bytes_of_a_new_request_start_the_header_timer() {
        let activity = Arc::new(ConnectionActivity::new(false));
        activity.on_read(b"GET / HTTP/1.1\r\n\r\n");
        drop(InFlightGuard::new(activity.clone()));
        activity.on_read(b"GET /next HT");
        assert_eq!(
            activity.check(timeouts(Duration::ZERO, IDLE)),
            Verdict::HeaderTimeout
        );
    }

    #[test]
    fn a_running_request_is_never_idle() {
        let activity = Arc::new(ConnectionActivity::new(false));
        activity.on_read(b"GET / HTTP/1.1\r\n\r\n");
        let _guard = InFlightGuard::new(activity.clone());
        assert!(matches!(
            activity.check(timeouts(Duration::ZERO, Duration::ZERO)),
            Verdict::CheckAt(_)
        ));
    }

    #[test]
    fn framing_lines_of_the_head_are_found_and_the_body_is_not_read() {
        assert_eq!(framing_in(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"), 0);
        assert_eq!(
            framing_in(
                b"POST / HTTP/1.1\r\nContent-Length: 5\r\nTRANSFER-ENCODING: chunked\r\n\r\n"
            ),
            CONTENT_LENGTH | TRANSFER_ENCODING
        );
        assert_eq!(
            framing_in(b"POST / HTTP/1.1\r\ncontent-length: 40\r\n\r\ntransfer-encoding: x\r\n"),
            CONTENT_LENGTH
        );
        // A header whose name merely starts alike is not a framing header.
        assert_eq!(
            framing_in(b"GET / HTTP/1.1\r\nContent-Lengthy: 1\r\n\r\n"),
            0
        );
    }

    #[test]
    fn a_client_that_stops_reading_hits_the_send_timeout() {
        let activity = Arc::new(ConnectionActivity::new(false));
        activity.on_read(b"GET /big HTTP/1.1\r\n\r\n");
        let _guard = InFlightGuard::new(activity.clone());
        activity.on_write_blocked();
        let zero_send = Timeouts {
            header: HEADER,
            keep_alive: IDLE,
            send: Duration::ZERO,
        };
        assert_eq!(activity.check(zero_send), Verdict::SendTimeout);
        activity.on_write();
        assert!(matches!(activity.check(zero_send), Verdict::CheckAt(_)));
    }

    #[test]
    fn an_idle_parkable_connection_is_parked_before_the_keep_alive_ends() {
        let activity = Arc::new(ConnectionActivity::new(true));
        activity.on_read(b"GET / HTTP/1.1\r\n\r\n");
        drop(InFlightGuard::new(activity.clone()));
        // Just finished: not yet.
        assert!(matches!(
            activity.check(timeouts(HEADER, IDLE)),
            Verdict::CheckAt(_)
        ));
        std::thread::sleep(Duration::from_millis(PARK_AFTER_MS + 20));
        assert_eq!(activity.check(timeouts(HEADER, IDLE)), Verdict::Park);
        // A blocked write (the client is not reading) keeps the connection as it is.
        activity.on_write_blocked();
        assert!(matches!(
            activity.check(timeouts(HEADER, IDLE)),
            Verdict::CheckAt(_)
        ));
    }

    #[test]
    fn http2_connections_have_no_header_timer() {
        let activity = ConnectionActivity::new(false);
        activity.on_read(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
        activity.on_read(b"\x00\x00\x00\x04\x01\x00\x00\x00\x00");
        assert_eq!(
            activity.check(timeouts(Duration::ZERO, Duration::ZERO)),
            Verdict::Idle
        );
    }
}
