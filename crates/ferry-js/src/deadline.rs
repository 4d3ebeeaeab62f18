//! The deadline of the JavaScript section a worker is in, which the interpreter's
//! interrupt handler enforces and long work in bindings asks about.

use std::cell::Cell;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::outbox::Outbox;
use crate::pulse::Pulse;

/// The deadline of the JavaScript section in progress. The interpreter polls the interrupt
/// handler while it runs bytecode; once the deadline has passed the handler stops the
/// script with an uncatchable exception, and `fired` records that this is why it stopped.
///
/// A section is everything JavaScript does for one event: calling a handler and reading
/// what it returned (getters, `toJSON`, proxies run script code too), describing what it
/// threw, a timer callback, a script's top level. The deadline is also published in the
/// worker's [`Pulse`], where the watchdog sees a section that host code keeps running past
/// it.
pub(crate) struct Deadline {
    at: Cell<Option<Instant>>,
    armed: Cell<Option<Instant>>,
    fired: Cell<bool>,
    abandoned: Cell<bool>,
    pulse: Arc<Pulse>,
    /// The worker's replies, handed over once a section runs long.
    outbox: Arc<Outbox>,
}

/// How long a section may run before the replies held back for the burst are handed over.
const HOLD_REPLIES: Duration = Duration::from_micros(100);

impl Deadline {
    pub(crate) fn new(pulse: Arc<Pulse>, outbox: Arc<Outbox>) -> Self {
        Deadline {
            at: Cell::new(None),
            armed: Cell::new(None),
            fired: Cell::new(false),
            abandoned: Cell::new(false),
            pulse,
            outbox,
        }
    }

    /// Arms the deadline for a section that must end by `at`.
    pub(crate) fn arm(&self, at: Instant) {
        self.at.set(Some(at));
        self.armed.set(Some(Instant::now()));
        self.fired.set(false);
        self.pulse.arm(at);
    }

    /// Disarms it; returns whether it stopped the script since it was armed.
    pub(crate) fn disarm(&self) -> bool {
        self.at.set(None);
        self.armed.set(None);
        if !self.pulse.disarm() {
            self.abandoned.set(true);
        }
        self.fired.replace(false)
    }

    /// Whether it stopped the script since it was armed (it stays armed).
    pub(crate) fn fired(&self) -> bool {
        self.fired.get()
    }

    /// Forgets that it stopped the script (it stays armed, and stops the next script code
    /// at once if the deadline has passed): for a stop that was not the section's doing.
    pub(crate) fn forget_fired(&self) {
        self.fired.set(false);
    }

    /// Whether host code may go on: false once the armed deadline has passed. Long work
    /// in Rust bindings asks this between steps, so it ends with the section.
    pub(crate) fn allows_more(&self) -> bool {
        self.at.get().is_none_or(|at| Instant::now() < at)
    }

    /// How long until the armed deadline, if one is armed.
    pub(crate) fn remaining(&self) -> Option<Duration> {
        self.at
            .get()
            .map(|at| at.saturating_duration_since(Instant::now()))
    }

    /// Whether the watchdog gave up on this worker while it was stuck (it must stop).
    pub(crate) fn abandoned(&self) -> bool {
        self.abandoned.get()
    }

    /// The interrupt handler's question: whether the script must stop now.
    pub(crate) fn expired(&self) -> bool {
        let now = Instant::now();
        if let Some(armed) = self.armed.get()
            && now.duration_since(armed) >= HOLD_REPLIES
        {
            self.outbox.try_hand_over();
        }
        let expired = self.at.get().is_some_and(|at| now >= at);
        if expired {
            self.fired.set(true);
        }
        expired
    }
}
