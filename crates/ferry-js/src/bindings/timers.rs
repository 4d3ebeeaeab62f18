//! `setTimeout` and `setInterval`: the schedule, kept in Rust per worker. The callbacks stay
//! in the script's context; the worker calls `internal.fire(id)` when one is due.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rquickjs::{Ctx, Function, Object};

use super::{ScriptHost, throw};

/// Most timers one worker may have scheduled at once.
const MAX_TIMERS: usize = 10_000;

/// A timer that is due at `due`, in the context of the script `script` at `version`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct DueTimer {
    pub due: Instant,
    sequence: u64,
    pub script: Arc<str>,
    pub version: u64,
    pub id: u32,
}

/// One worker's timers, earliest first.
#[derive(Debug, Default)]
pub(crate) struct TimerQueue {
    heap: BinaryHeap<Reverse<DueTimer>>,
    sequence: u64,
}

impl TimerQueue {
    fn schedule(&mut self, script: &Arc<str>, version: u64, id: u32, delay: Duration) -> bool {
        if self.heap.len() >= MAX_TIMERS {
            return false;
        }
        self.sequence += 1;
        self.heap.push(Reverse(DueTimer {
            due: Instant::now() + delay,
            sequence: self.sequence,
            script: script.clone(),
            version,
            id,
        }));
        true
    }

    /// When the next timer is due.
    pub(crate) fn next_due(&self) -> Option<Instant> {
        self.heap.peek().map(|Reverse(timer)| timer.due)
    }

    /// Takes the next timer if it is due by `now`.
    pub(crate) fn pop_due(&mut self, now: Instant) -> Option<DueTimer> {
        if self.next_due()? <= now {
            self.heap.pop().map(|Reverse(timer)| timer)
        } else {
            None
        }
    }

    /// Forgets every timer (the runtime they belong to is being replaced).
    pub(crate) fn clear(&mut self) {
        self.heap.clear();
    }
}

pub(super) fn install<'js>(
    ctx: &Ctx<'js>,
    host: &Object<'js>,
    script: &Rc<ScriptHost>,
) -> rquickjs::Result<()> {
    let script = script.clone();
    let schedule = Function::new(ctx.clone(), move |ctx: Ctx<'js>, id: u32, delay_ms: f64| {
        // Browsers clamp to a signed 32-bit millisecond count; so do we.
        let delay = Duration::from_millis(delay_ms.clamp(0.0, f64::from(i32::MAX)) as u64);
        let scheduled =
            script
                .host
                .timers
                .borrow_mut()
                .schedule(&script.name, script.version, id, delay);
        if scheduled {
            Ok(())
        } else {
            Err(throw(
                &ctx,
                &format!("too many timers: at most {MAX_TIMERS} per worker"),
            ))
        }
    })?;
    host.set("schedule", schedule)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timers_come_out_earliest_first_and_only_when_due() {
        let mut queue = TimerQueue::default();
        let script: Arc<str> = Arc::from("a.js");
        queue.schedule(&script, 1, 1, Duration::from_secs(60));
        queue.schedule(&script, 1, 2, Duration::ZERO);
        let now = Instant::now();
        assert_eq!(queue.pop_due(now).map(|t| t.id), Some(2));
        assert_eq!(queue.pop_due(now), None);
        assert!(queue.next_due().is_some());
        queue.clear();
        assert_eq!(queue.next_due(), None);
    }
}
