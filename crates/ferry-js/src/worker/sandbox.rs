//! One worker's QuickJS runtime with its limits, and the deadline its interrupt handler
//! enforces.

use std::cell::Cell;
use std::rc::Rc;
use std::time::Instant;

use rquickjs::Runtime;

use crate::limits::Limits;

/// The deadline of the call in progress. The interpreter polls the interrupt handler while
/// it runs bytecode; once the deadline has passed the handler stops the script with an
/// uncatchable exception, and `fired` records that this is why it stopped.
#[derive(Debug, Default)]
pub(crate) struct Deadline {
    at: Cell<Option<Instant>>,
    fired: Cell<bool>,
}

impl Deadline {
    /// Arms the deadline for a call that must end by `at`.
    pub(crate) fn arm(&self, at: Instant) {
        self.at.set(Some(at));
        self.fired.set(false);
    }

    /// Disarms it; returns whether it stopped the script since it was armed.
    pub(crate) fn disarm(&self) -> bool {
        self.at.set(None);
        self.fired.replace(false)
    }

    fn expired(&self) -> bool {
        let expired = self.at.get().is_some_and(|at| Instant::now() >= at);
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
    pub(crate) fn new(limits: &Limits) -> rquickjs::Result<Self> {
        let runtime = Runtime::new()?;
        runtime.set_memory_limit(limits.memory_bytes);
        runtime.set_max_stack_size(limits.stack_bytes);
        let deadline = Rc::new(Deadline::default());
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
