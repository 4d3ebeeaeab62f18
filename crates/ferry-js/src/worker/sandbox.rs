//! One worker's QuickJS runtime with its limits, and the deadline its interrupt handler
//! enforces.

use std::cell::Cell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use rquickjs::Runtime;

use crate::handoff::ReplyBatch;
use crate::limits::Limits;

/// The deadline of the call in progress. The interpreter polls the interrupt handler while
/// it runs bytecode; once the deadline has passed the handler stops the script with an
/// uncatchable exception, and `fired` records that this is why it stopped.
#[derive(Default)]
pub(crate) struct Deadline {
    at: Cell<Option<Instant>>,
    armed: Cell<Option<Instant>>,
    fired: Cell<bool>,
    /// A pool worker's held-back replies, handed over once a call runs long.
    replies: Option<Rc<ReplyBatch>>,
}

/// How long a call may run before the replies held back for the burst are handed over.
const HOLD_REPLIES: Duration = Duration::from_micros(100);

impl Deadline {
    /// Arms the deadline for a call that must end by `at`.
    pub(crate) fn arm(&self, at: Instant) {
        self.at.set(Some(at));
        self.armed.set(Some(Instant::now()));
        self.fired.set(false);
    }

    /// Disarms it; returns whether it stopped the script since it was armed.
    pub(crate) fn disarm(&self) -> bool {
        self.at.set(None);
        self.armed.set(None);
        self.fired.replace(false)
    }

    fn expired(&self) -> bool {
        let now = Instant::now();
        if let (Some(replies), Some(armed)) = (&self.replies, self.armed.get())
            && now.duration_since(armed) >= HOLD_REPLIES
        {
            replies.hand_over();
        }
        let expired = self.at.get().is_some_and(|at| now >= at);
        if expired {
            self.fired.set(true);
        }
        expired
    }
}

/// A runtime with the memory and stack limits applied and the interrupt handler installed.
pub(crate) struct Sandbox {
    pub runtime: Runtime,
    pub deadline: Rc<Deadline>,
    memory_limit: usize,
}

impl Sandbox {
    /// A runtime with `limits`; `replies` are the worker's held-back replies, if it holds
    /// any back.
    pub(crate) fn new(limits: &Limits, replies: Option<Rc<ReplyBatch>>) -> rquickjs::Result<Self> {
        let runtime = Runtime::new()?;
        runtime.set_memory_limit(limits.memory_bytes);
        runtime.set_max_stack_size(limits.stack_bytes);
        let deadline = Rc::new(Deadline {
            replies,
            ..Deadline::default()
        });
        let watched = deadline.clone();
        runtime.set_interrupt_handler(Some(Box::new(move || watched.expired())));
        Ok(Sandbox {
            runtime,
            deadline,
            memory_limit: limits.memory_bytes,
        })
    }

    /// Whether the runtime is so close to its memory limit, after a full collection, that it
    /// should be rebuilt rather than trusted with the next request.
    pub(crate) fn exhausted(&self) -> bool {
        self.runtime.run_gc();
        let used = self.runtime.memory_usage().malloc_size;
        let used = usize::try_from(used).unwrap_or(usize::MAX);
        used > self.memory_limit / 10 * 9
    }
}
