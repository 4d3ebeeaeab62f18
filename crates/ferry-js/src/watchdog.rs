//! The watchdog: a thread that looks at every worker's [`Pulse`](crate::pulse::Pulse) a
//! few times a second and has the pool replace a worker stuck in host code past its
//! deadline plus [`Limits::stuck_grace`](crate::Limits::stuck_grace). JavaScript that runs
//! too long is stopped by the interrupt handler; this catches what it cannot stop: a
//! binding that blocks.

use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use crate::pool::WorkerPool;

/// Starts the watchdog of `pool`; it ends when the pool is dropped.
pub(crate) fn start(pool: &Arc<WorkerPool>) -> std::io::Result<()> {
    let grace = pool.settings().limits.stuck_grace;
    let every = (grace / 4).clamp(Duration::from_millis(10), Duration::from_millis(250));
    let pool: Weak<WorkerPool> = Arc::downgrade(pool);
    std::thread::Builder::new()
        .name("ferry-js-watchdog".into())
        .spawn(move || {
            loop {
                std::thread::sleep(every);
                let Some(pool) = pool.upgrade() else {
                    return;
                };
                let now = Instant::now();
                for worker in pool.overdue(now) {
                    pool.replace_if_stuck(worker, now);
                }
            }
        })
        .map(|_| ())
}
