//! One worker's QuickJS runtime with its limits and the interrupt handler that enforces
//! the [`Deadline`].

use rquickjs::Runtime;

use crate::deadline::Deadline;
use crate::limits::Limits;

/// A runtime with the memory and stack limits applied and the interrupt handler installed.
pub(crate) struct Sandbox {
    pub runtime: Runtime,
    memory_limit: usize,
    /// The files the runtime's module loader read since last asked.
    pub loaded: crate::modules::LoadedFiles,
}

impl Sandbox {
    /// A runtime with `limits` whose interrupt handler enforces `deadline`.
    pub(crate) fn new(
        limits: &Limits,
        deadline: &std::rc::Rc<Deadline>,
        files: &crate::modules::AppFiles,
    ) -> rquickjs::Result<Self> {
        let runtime = Runtime::new()?;
        let (resolver, loader, loaded) = files.for_worker();
        runtime.set_loader(resolver, loader);
        runtime.set_memory_limit(limits.memory_bytes);
        runtime.set_max_stack_size(limits.stack_bytes);
        let watched = deadline.clone();
        runtime.set_interrupt_handler(Some(Box::new(move || watched.expired())));
        Ok(Sandbox {
            runtime,
            memory_limit: limits.memory_bytes,
            loaded,
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
