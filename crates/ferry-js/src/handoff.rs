//! Batched replies from pool workers to the async side.
//!
//! A reply sent straight from a worker thread wakes its request's task on the server's
//! runtime; when that runtime is asleep, each such wake-up is a context switch, and on a
//! busy core the scheduler switches at once, so a burst of replies turns into a ping-pong of
//! one reply per switch. Instead, a worker collects the replies of a burst (in its
//! [`Outbox`](crate::outbox::Outbox)) and hands them over together with one wake-up of a
//! dispatcher task on the server's runtime, which delivers them from there (cheap,
//! thread-local wake-ups).
//!
//! Replies are held back only while the worker has more work queued, up to 32 of them, and
//! never behind a long call: the interrupt handler hands them over once a call has run for
//! 100 µs.

use std::sync::{Arc, Mutex, PoisonError};

use ferry_core::Response;
use tokio::sync::{Notify, oneshot};

/// A reply and where it goes.
pub(crate) type Reply = (oneshot::Sender<Response>, Response);

/// Replies handed over by workers, waiting for the dispatcher.
#[derive(Default)]
pub(crate) struct Completions {
    ready: Mutex<Vec<Reply>>,
    wake: Notify,
}

impl Completions {
    /// Starts the dispatcher on the current tokio runtime; it runs as long as the runtime.
    pub(crate) fn start(completions: Arc<Completions>) {
        tokio::spawn(async move {
            loop {
                let notified = completions.wake.notified();
                let batch = std::mem::take(
                    &mut *completions
                        .ready
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner),
                );
                if batch.is_empty() {
                    notified.await;
                    continue;
                }
                for (reply, response) in batch {
                    let _ = reply.send(response);
                }
            }
        });
    }

    /// Hands over `batch` (emptying it) with one wake-up.
    pub(crate) fn hand_over(&self, batch: &mut Vec<Reply>) {
        if batch.is_empty() {
            return;
        }
        self.ready
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .append(batch);
        self.wake.notify_one();
    }
}
