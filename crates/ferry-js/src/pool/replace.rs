//! Replacing a worker stuck in host code: what the watchdog asks the pool to do.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use crossbeam_channel::Receiver;
use ferry_core::ws::CloseCode;

use super::{ControlSender, WorkerPool, WorkerSlot, lock, owner};
use crate::job::Control;
use crate::outbox::Doing;
use crate::response::unavailable;
use crate::script::Script;

impl WorkerPool {
    /// The workers the watchdog should look at now: those in a section overdue by more
    /// than the grace period.
    pub(crate) fn overdue(&self, now: Instant) -> Vec<usize> {
        let grace = self.settings.limits.stuck_grace;
        lock(&self.workers)
            .iter()
            .enumerate()
            .filter(|(_, worker)| worker.pulse.overdue(now, grace).is_some())
            .map(|(index, _)| index)
            .collect()
    }

    /// Replaces worker `index` if it is still stuck in the section that made it overdue: its
    /// waiting clients are answered, its sockets closed (their state lived in its runtime),
    /// and a fresh worker loads every running script and takes its place and its queue. A
    /// server thread's worker cannot be replaced (its thread is the server's): it is
    /// reported instead.
    pub(crate) fn replace_if_stuck(&self, index: usize, now: Instant) {
        let grace = self.settings.limits.stuck_grace;
        let limit = self.settings.limits.call_timeout;
        // The script set first, then the workers: the lock order of commits.
        let scripts = self.settings.scripts.lock();
        let mut workers = lock(&self.workers);
        let count = workers.len();
        let owners = self.socket_owners(&workers);
        let Some(slot) = workers.get_mut(index) else {
            return;
        };
        if slot.leftovers.is_none() {
            report_stuck_server_thread(slot, index, now, grace);
            return;
        }
        let ceiling = 2 * count;
        if self.stuck_threads.load(Ordering::Relaxed) >= ceiling {
            if slot
                .reported
                .is_none_or(|at| now.duration_since(at) > REPORT_EVERY)
            {
                slot.reported = Some(now);
                tracing::error!(
                    worker = index,
                    "a JavaScript worker is stuck in host code, but {ceiling} replaced workers are still stuck too; not replacing it, so as not to pile up threads"
                );
            }
            return;
        }
        let Some(late) = slot.pulse.abandon_if_overdue(now, grace) else {
            return;
        };
        self.stuck_threads.fetch_add(1, Ordering::Relaxed);
        let reason = format!(
            "the JavaScript worker was stuck in host code {} ms past its {} ms deadline and was replaced",
            late.as_millis(),
            limit.as_millis()
        );
        let doing = slot.outbox.abandon(&reason);
        let running: Vec<(Script, u64)> = scripts
            .values()
            .map(|loaded| (loaded.script.clone(), loaded.version))
            .collect();
        let generation = self.replacements.fetch_add(1, Ordering::Relaxed) + 1;
        let fresh = match self.spawn(index, generation, running) {
            Ok(fresh) => fresh,
            Err(error) => {
                tracing::error!(worker = index, %error, "cannot start a worker to replace a stuck one");
                return;
            }
        };
        let old = std::mem::replace(slot, fresh);
        if let Some(leftovers) = old.leftovers {
            forward_leftovers(&leftovers, &slot.control);
        }
        drop(workers);
        drop(scripts);
        let closed = self.settings.sockets.close_where(
            |socket| owner(socket, owners) == index,
            CloseCode::Error.into(),
            "the server replaced the worker of this socket; reconnect",
        );
        metrics::counter!("ferry_js_worker_replacements_total").increment(1);
        let doing = doing.map_or_else(|| "in host code".to_owned(), |doing| self.describe(&doing));
        tracing::error!(
            target: crate::SCRIPT_LOG_TARGET,
            worker = index,
            "a JavaScript worker was stuck {} ms past its {} ms deadline ({doing}), in host code the interrupt handler cannot stop (a blocking call?); a fresh worker replaces it, its waiting requests got 503/504 and {closed} of its WebSockets were closed",
            late.as_millis(),
            limit.as_millis(),
        );
    }

    /// Says what a worker was doing, for log lines.
    fn describe(&self, doing: &Doing) -> String {
        match doing {
            Doing::Call(key) => self.settings.scripts.describe_handler(key),
            Doing::Loading(script) => format!("loading {script}"),
            Doing::Timer(script) => format!("a timer callback of {script}"),
            Doing::Settling(script) => format!("an executeGraphQL continuation of {script}"),
        }
    }
}

/// How often a stuck worker that cannot be replaced is reported.
const REPORT_EVERY: Duration = Duration::from_secs(10);

/// Logs (now and then) that a server thread's worker is stuck: the watchdog cannot replace
/// it, since its thread is the server's.
fn report_stuck_server_thread(slot: &mut WorkerSlot, index: usize, now: Instant, grace: Duration) {
    let Some(late) = slot.pulse.overdue(now, grace) else {
        return;
    };
    if slot
        .reported
        .is_some_and(|at| now.duration_since(at) <= REPORT_EVERY)
    {
        return;
    }
    slot.reported = Some(now);
    metrics::counter!("ferry_js_worker_stuck_total").increment(1);
    tracing::error!(
        target: crate::SCRIPT_LOG_TARGET,
        worker = index,
        "a thread-per-core JavaScript worker has been stuck in host code for {} ms past its deadline; its server thread's connections wait until it returns (the pool model replaces stuck workers)",
        late.as_millis()
    );
}

/// Moves what is left in a replaced worker's control queue to its replacement: script
/// changes go on (in order); a socket event is answered 503 (the socket's state went with
/// the old runtime) and a host call's result dropped (its promise did too).
fn forward_leftovers(leftovers: &Receiver<Control>, to: &ControlSender) {
    while let Ok(message) = leftovers.try_recv() {
        match message {
            Control::Socket(job) => {
                let _ = job
                    .reply
                    .send(unavailable("the socket's worker was replaced"));
            }
            Control::Settle { .. } => {}
            change => {
                let _ = to.send(change);
            }
        }
    }
}
