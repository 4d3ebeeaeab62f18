//! Giving memory back to the system after a wave of connections has closed.
//!
//! glibc's allocator keeps freed memory in its free lists: after ten thousand connections
//! close, the process stays as large as it was at their peak, though the memory is free.
//! `malloc_trim` hands the free pages back. It walks the heap under the allocator's locks,
//! so Ferry calls it rarely: once a count it follows (open connections; connections busy
//! with hyper's buffers rather than parked) has fallen to a quarter of a peak of at least
//! [`TRIM_AFTER_PEAK`], on a blocking thread. Other platforms and allocators return memory
//! by themselves or not at all; there this does nothing.

use std::sync::atomic::{AtomicUsize, Ordering};

/// The smallest peak worth trimming after.
const TRIM_AFTER_PEAK: usize = 1000;

/// Follows one count and trims when it has fallen far enough. Shared between threads.
#[derive(Debug, Default)]
pub(crate) struct FreedMemory {
    peak: AtomicUsize,
}

impl FreedMemory {
    /// Notes the current `count`; trims when it has fallen to a quarter of the peak since
    /// the last trim. Returns whether it trimmed.
    pub(crate) fn note(&self, count: usize) -> bool {
        let peak = self.peak.load(Ordering::Relaxed);
        if count > peak {
            self.peak.fetch_max(count, Ordering::Relaxed);
            return false;
        }
        if peak < TRIM_AFTER_PEAK || count > peak / 4 {
            return false;
        }
        // One caller wins the right to trim for this peak.
        if self
            .peak
            .compare_exchange(peak, count, Ordering::Relaxed, Ordering::Relaxed)
            .is_err()
        {
            return false;
        }
        release_free_memory();
        true
    }
}

/// Connections that hold hyper's state (not parked), for [`FreedMemory`].
#[derive(Debug, Default)]
pub(crate) struct BusyConnections {
    count: AtomicUsize,
    freed: FreedMemory,
}

/// One busy connection; no longer busy when dropped.
pub(crate) struct Busy<'a>(&'a BusyConnections);

impl BusyConnections {
    pub(crate) fn enter(&self) -> Busy<'_> {
        let count = self.count.fetch_add(1, Ordering::Relaxed) + 1;
        self.freed.note(count);
        Busy(self)
    }
}

impl Drop for Busy<'_> {
    fn drop(&mut self) {
        let count = self.0.count.fetch_sub(1, Ordering::Relaxed) - 1;
        self.0.freed.note(count);
    }
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(
    unsafe_code,
    reason = "glibc's malloc_trim has no safe binding; measured need: docs/benchmarks/2026-11-22-soak.md"
)]
fn release_free_memory() {
    unsafe extern "C" {
        /// glibc: releases free memory from the heap to the system; returns 1 if any was.
        fn malloc_trim(pad: usize) -> std::ffi::c_int;
    }
    let trim = || {
        // SAFETY: malloc_trim takes no pointers and has no preconditions; glibc documents
        // it as thread-safe (it locks each arena while it walks it).
        let released = unsafe { malloc_trim(0) };
        tracing::debug!(
            released = released == 1,
            "returned free memory to the system"
        );
    };
    match tokio::runtime::Handle::try_current() {
        Ok(runtime) => drop(runtime.spawn_blocking(trim)),
        Err(_) => trim(),
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn release_free_memory() {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_once_after_a_large_peak_has_mostly_closed() {
        let memory = FreedMemory::default();
        assert!(!memory.note(10));
        assert!(!memory.note(2000));
        assert!(!memory.note(1000));
        assert!(memory.note(500));
        // The next trim needs a new large peak.
        assert!(!memory.note(10));
        assert!(!memory.note(0));
    }

    #[test]
    fn small_peaks_never_trim() {
        let memory = FreedMemory::default();
        assert!(!memory.note(999));
        assert!(!memory.note(0));
    }
}
