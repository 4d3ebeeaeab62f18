//! The sandbox limits every script runs under.

use std::time::Duration;

/// Limits applied to every script and every call into it. The defaults are safe for a
/// public server; raise them deliberately.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Memory one worker's runtime may allocate (all its scripts together). Default 64 MiB.
    pub memory_bytes: usize,
    /// Time one call into a script may run, including the promises and timers an async
    /// handler waits for. The client gets 504 when it is exceeded. Default 1 s.
    pub call_timeout: Duration,
    /// JavaScript stack per runtime; deeper recursion throws a `RangeError`. Default 512 KiB.
    pub stack_bytes: usize,
    /// Largest script source accepted. Default 1 MiB.
    pub script_bytes: usize,
    /// Largest request body handed to a script; longer bodies get 413. Default 1 MiB.
    pub body_bytes: usize,
    /// Requests that may wait for a worker, per worker; past that, 503. Default 256.
    pub queue_per_worker: usize,
    /// Async handlers one worker may have waiting at once; past that, 503. Default 1,024.
    pub pending_per_worker: usize,
    /// How long past its deadline a worker may stay in host code that the interpreter
    /// cannot interrupt (a blocking call in a binding) before a fresh worker replaces it
    /// and its waiting clients get 503/504. Default 1 s.
    pub stuck_grace: Duration,
    /// What scripts' SQL may return and store (`db`, `database`); statements run for at
    /// most what is left of their call's time.
    pub sql: ferry_store::SqlLimits,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            memory_bytes: 64 * 1024 * 1024,
            call_timeout: Duration::from_millis(1000),
            stack_bytes: 512 * 1024,
            script_bytes: 1024 * 1024,
            body_bytes: 1024 * 1024,
            queue_per_worker: 256,
            pending_per_worker: 1024,
            stuck_grace: Duration::from_secs(1),
            sql: ferry_store::SqlLimits::default(),
        }
    }
}

impl Limits {
    /// The native stack a worker thread needs to run JavaScript with `stack_bytes` of script
    /// stack: the interpreter's own frames and the Rust bindings come on top.
    pub(crate) fn thread_stack_bytes(&self) -> usize {
        (self.stack_bytes * 4).max(8 * 1024 * 1024)
    }
}
