//! How long a route's calls hold a server thread, for the `auto` worker model. A route
//! starts on the worker pool; once [`TRIALS`] of its calls there were answered within
//! [`QUICK_CALL`] (queue wait included), it runs on the server thread that accepted the
//! request (no hand-off between threads); once its calls hold that thread longer than
//! [`QUICK_CALL`] on average, it goes back to the pool for good, where a long call delays
//! no other request.
//!
//! The average weighs the latest calls most (each call counts for an eighth), so one call
//! of eight times the limit is enough to move a route, while a rare pause of a few
//! milliseconds (a garbage collection) on a quick route is forgotten again. Only the time a
//! call holds the thread counts: a handler that awaits a `fetch` or a query gives the
//! thread back while it waits. Every route's pace is learned anew when the scripts change.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

/// The longest a route's calls may hold a server thread on average and still run there.
pub(crate) const QUICK_CALL: Duration = Duration::from_millis(1);

/// Quick calls on the pool a route needs before it runs on the server threads: a handler
/// that is slow, or blocks in host code, never holds a server thread on its first call.
pub(crate) const TRIALS: u32 = 8;

/// Calls shorter than this leave a quick route's average alone (no write to memory the
/// server threads share).
const NEGLIGIBLE_MICROS: u32 = 100;

/// [`Pace::average`] of a route that has moved to the pool.
const MOVED: u32 = u32::MAX;

/// One route's pace.
#[derive(Debug, Default)]
pub(crate) struct Pace {
    /// Its calls on the pool answered within [`QUICK_CALL`], up to [`TRIALS`].
    trials: AtomicU32,
    /// The moving average of the time its calls held a server thread, in microseconds;
    /// [`MOVED`] once the route runs on the pool for good.
    average: AtomicU32,
}

impl Pace {
    /// Whether the route's next call may run on the thread that accepted it.
    pub(crate) fn quick(&self) -> bool {
        self.trials.load(Ordering::Relaxed) >= TRIALS
            && self.average.load(Ordering::Relaxed) != MOVED
    }

    /// Notes that a call on the pool was answered after `took` (queue wait included): a
    /// trial passed when that is within [`QUICK_CALL`].
    pub(crate) fn answered_on_pool(&self, took: Duration) {
        if took <= QUICK_CALL && self.trials.load(Ordering::Relaxed) < TRIALS {
            self.trials.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Notes that a call held the server thread for `held`; returns `true` when that moved
    /// the route to the pool (once). Calls on several threads may race here: an update may
    /// be lost, which only makes the average a little less exact.
    pub(crate) fn held_thread(&self, held: Duration) -> bool {
        let micros = match u32::try_from(held.as_micros()) {
            Ok(micros) if micros < NEGLIGIBLE_MICROS => 0,
            Ok(micros) => micros,
            Err(_) => MOVED - 1,
        };
        let old = self.average.load(Ordering::Relaxed);
        if old == MOVED || (old == 0 && micros == 0) {
            return false;
        }
        let new = match old - old / 8 + micros / 8 {
            // Decayed back to quick: no more writes until the next slow call.
            new if new < NEGLIGIBLE_MICROS => 0,
            new => new,
        };
        if u128::from(new) <= QUICK_CALL.as_micros() {
            self.average.store(new, Ordering::Relaxed);
            return false;
        }
        self.average.swap(MOVED, Ordering::Relaxed) != MOVED
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn millis(ms: f64) -> Duration {
        Duration::from_secs_f64(ms / 1000.0)
    }

    /// A route past its trials.
    fn tried() -> Pace {
        let pace = Pace::default();
        for _ in 0..TRIALS {
            assert!(!pace.quick());
            pace.answered_on_pool(millis(0.05));
        }
        assert!(pace.quick());
        pace
    }

    #[test]
    fn a_route_starts_on_the_pool_and_slow_answers_there_are_no_trial() {
        let pace = Pace::default();
        for _ in 0..100 {
            pace.answered_on_pool(millis(5.0));
        }
        assert!(!pace.quick());
        for _ in 0..TRIALS - 1 {
            pace.answered_on_pool(QUICK_CALL);
        }
        assert!(!pace.quick());
        pace.answered_on_pool(millis(0.01));
        assert!(pace.quick());
        // More trials change nothing.
        pace.answered_on_pool(millis(0.01));
        assert_eq!(pace.trials.load(Ordering::Relaxed), TRIALS);
    }

    #[test]
    fn a_route_of_quick_calls_stays_on_the_server_thread() {
        let pace = tried();
        for _ in 0..10_000 {
            assert!(!pace.held_thread(millis(0.02)));
        }
        assert!(pace.quick());
        assert_eq!(pace.average.load(Ordering::Relaxed), 0, "nothing written");
    }

    #[test]
    fn one_long_call_moves_a_route_once() {
        let pace = tried();
        assert!(pace.held_thread(millis(200.0)));
        assert!(!pace.quick());
        // Moved once: later calls neither report it again nor bring it back.
        assert!(!pace.held_thread(millis(200.0)));
        assert!(!pace.held_thread(Duration::ZERO));
        pace.answered_on_pool(millis(0.01));
        assert!(!pace.quick());
    }

    #[test]
    fn a_rare_pause_is_forgotten_but_steady_slowness_moves_the_route() {
        let pace = tried();
        // A 6 ms pause among quick calls: the average rises below the limit and decays.
        assert!(!pace.held_thread(millis(6.0)));
        for _ in 0..100 {
            assert!(!pace.held_thread(millis(0.02)));
        }
        assert!(pace.quick());
        assert_eq!(pace.average.load(Ordering::Relaxed), 0, "decayed");
        // Calls of 2 ms each: moved after a few.
        let moved_after = (1..=20).find(|_| pace.held_thread(millis(2.0)));
        assert!(matches!(moved_after, Some(2..=8)), "{moved_after:?}");
        assert!(!pace.quick());
    }

    #[test]
    fn calls_just_under_the_limit_stay() {
        let pace = tried();
        for _ in 0..1_000 {
            assert!(!pace.held_thread(millis(0.9)));
        }
        assert!(pace.quick());
    }
}
