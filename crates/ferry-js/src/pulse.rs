//! A worker's pulse: the deadline of the JavaScript section it is in, readable from other
//! threads, so the pool's watchdog can tell a worker that is merely busy from one stuck in
//! host code past its deadline (which the interpreter's interrupt handler cannot stop).
//!
//! One atomic word per worker, written by the worker when it enters and leaves a section
//! and read by the watchdog a few times a second: idle, armed with a deadline, or
//! abandoned. Abandoning is a compare-and-swap on the armed deadline, so a worker that
//! leaves its section at the same moment either finishes normally or learns it was
//! replaced: never both.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

const IDLE: u64 = 0;
const ABANDONED: u64 = u64::MAX;

/// The instant deadlines are counted from (microseconds, plus one so none is `IDLE`).
fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

fn encode(at: Instant) -> u64 {
    let micros = at.saturating_duration_since(epoch()).as_micros();
    u64::try_from(micros)
        .unwrap_or(ABANDONED - 2)
        .min(ABANDONED - 2)
        + 1
}

fn decode(word: u64) -> Instant {
    epoch() + Duration::from_micros(word - 1)
}

/// The section a worker is in, as the watchdog sees it.
#[derive(Debug, Default)]
pub(crate) struct Pulse {
    word: AtomicU64,
}

impl Pulse {
    /// A new pulse, idle. Counting starts no later than here.
    pub(crate) fn new() -> Self {
        epoch();
        Pulse::default()
    }

    /// The worker entered a section that must end by `deadline` (an abandoned worker stays
    /// abandoned).
    pub(crate) fn arm(&self, deadline: Instant) {
        let word = encode(deadline);
        let _ = self
            .word
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |current| {
                (current != ABANDONED).then_some(word)
            });
    }

    /// The worker left its section. Returns `false` when the worker was abandoned (a
    /// replacement took its place; it must stop).
    pub(crate) fn disarm(&self) -> bool {
        self.word
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |current| {
                (current != ABANDONED).then_some(IDLE)
            })
            .is_ok()
    }

    /// Whether the worker was abandoned.
    pub(crate) fn abandoned(&self) -> bool {
        self.word.load(Ordering::Acquire) == ABANDONED
    }

    /// How long past its deadline the worker's section runs, when that is more than
    /// `grace` (`None` when idle, within its time, or already abandoned).
    pub(crate) fn overdue(&self, now: Instant, grace: Duration) -> Option<Duration> {
        let word = self.word.load(Ordering::Acquire);
        if word == IDLE || word == ABANDONED {
            return None;
        }
        let late = now.saturating_duration_since(decode(word));
        (late > grace).then_some(late)
    }

    /// Marks the worker abandoned if it is still in the section that is overdue by more
    /// than `grace`; returns by how much.
    pub(crate) fn abandon_if_overdue(&self, now: Instant, grace: Duration) -> Option<Duration> {
        let word = self.word.load(Ordering::Acquire);
        let late = self.overdue(now, grace)?;
        self.word
            .compare_exchange(word, ABANDONED, Ordering::AcqRel, Ordering::Acquire)
            .ok()
            .map(|_| late)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_overdue_section_is_abandoned() {
        let pulse = Pulse::new();
        let now = Instant::now();
        let grace = Duration::from_millis(100);
        assert_eq!(pulse.abandon_if_overdue(now, grace), None);
        pulse.arm(now + Duration::from_secs(1));
        assert_eq!(pulse.abandon_if_overdue(now, grace), None);
        assert!(pulse.disarm());
        pulse.arm(now);
        let later = now + Duration::from_millis(500);
        let late = pulse.abandon_if_overdue(later, grace).unwrap();
        assert!(late >= Duration::from_millis(499), "{late:?}");
        assert!(pulse.abandoned());
        // The worker learns it when it leaves the section, and stays abandoned.
        pulse.arm(later);
        assert!(!pulse.disarm());
        assert!(pulse.abandoned());
        assert_eq!(pulse.abandon_if_overdue(later, grace), None);
    }

    #[test]
    fn a_worker_that_leaves_first_is_not_abandoned() {
        let pulse = Pulse::new();
        let now = Instant::now();
        pulse.arm(now);
        assert!(pulse.disarm());
        assert_eq!(
            pulse.abandon_if_overdue(now + Duration::from_secs(5), Duration::ZERO),
            None
        );
        assert!(!pulse.abandoned());
    }
}
