//! A worker's outbox: where the answers of its calls wait to be sent, kept where another
//! thread can reach them. A worker stuck in host code cannot answer anyone; the pool's
//! watchdog then answers its calls from here (504 for the one it is stuck in, 503 for
//! those waiting on promises) and hands over the replies it held back, so no client waits
//! on a worker that may never come back.
//!
//! Pool workers also hold back the replies of a burst here and hand them over together
//! (see [`crate::handoff`]); a worker on a server thread sends each reply at once.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use ferry_core::{IntoResponse, Response};
use http::StatusCode;
use tokio::sync::oneshot;

use crate::error::ScriptError;
use crate::handoff::{Completions, Reply};
use crate::job::RouteKey;
use crate::registration::Registration;
use crate::response::unavailable;

/// Most replies a worker holds back before handing them over.
const MAX_BATCH: usize = 32;

/// What a worker is doing in its current JavaScript section, for the watchdog's log line.
#[derive(Debug, Clone)]
pub(crate) enum Doing {
    /// Running the handler a route points at (or reading what it returned).
    Call(RouteKey),
    /// Evaluating a script's top level and `init()`.
    Loading(Arc<str>),
    /// Running a timer callback of a script.
    Timer(Arc<str>),
    /// Settling a promise of a script's host call (`executeGraphQL`).
    Settling(Arc<str>),
}

/// Who waits for the current section's outcome.
pub(crate) enum Waiter {
    /// A client, for the response of call `call`.
    Call {
        call: u64,
        reply: oneshot::Sender<Response>,
    },
    /// The engine, for a script version's registrations (or why it failed to load).
    Load(oneshot::Sender<Result<Vec<Registration>, ScriptError>>),
}

struct Current {
    doing: Doing,
    waiter: Option<Waiter>,
}

#[derive(Default)]
struct State {
    current: Option<Current>,
    /// Calls waiting for their handler's promise, by call id.
    parked: HashMap<u64, oneshot::Sender<Response>>,
    /// Replies held back for the burst's hand-over.
    held: Vec<Reply>,
    abandoned: bool,
}

/// One worker's calls in progress and replies not yet sent.
pub(crate) struct Outbox {
    state: Mutex<State>,
    /// Where held-back replies go (pool workers); `None` sends each reply at once.
    completions: Option<Arc<Completions>>,
}

impl Outbox {
    pub(crate) fn new(completions: Option<Arc<Completions>>) -> Self {
        Outbox {
            state: Mutex::new(State::default()),
            completions,
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // Every change below is a single push, insert or take: a panic cannot leave the
        // state half-changed.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The worker starts `doing` something, for `waiter` if someone waits for it. Work
    /// nobody waits for, done inside another section (a timer fired while a script loads),
    /// leaves that section in place: returns whether this one began (then [`Outbox::end`]
    /// it).
    pub(crate) fn begin(&self, doing: Doing, waiter: Option<Waiter>) -> bool {
        let mut state = self.state();
        if state.abandoned || (state.current.is_some() && waiter.is_none()) {
            return false;
        }
        state.current = Some(Current { doing, waiter });
        true
    }

    /// The worker is done with its section; who waited for it, unless the watchdog
    /// answered them already.
    pub(crate) fn end(&self) -> Option<Waiter> {
        self.state()
            .current
            .take()
            .and_then(|current| current.waiter)
    }

    /// The current call ended with `response`.
    pub(crate) fn answer_current(&self, response: Response) {
        let mut state = self.state();
        if let Some(Waiter::Call { reply, .. }) = state.current.take().and_then(|c| c.waiter) {
            self.deliver(&mut state, reply, response);
        }
    }

    /// The current call waits for its handler's promise: its client waits in `parked`.
    pub(crate) fn park_current(&self) {
        let mut state = self.state();
        if let Some(Waiter::Call { call, reply }) = state.current.take().and_then(|c| c.waiter) {
            state.parked.insert(call, reply);
        }
    }

    /// Call `call`, begun elsewhere, waits for its handler's promise; its client for `reply`.
    pub(crate) fn park(&self, call: u64, reply: oneshot::Sender<Response>) {
        let mut state = self.state();
        if !state.abandoned {
            state.parked.insert(call, reply);
        }
    }

    /// The parked call `call` ended with `response`.
    pub(crate) fn answer(&self, call: u64, response: Response) {
        let mut state = self.state();
        if let Some(reply) = state.parked.remove(&call) {
            self.deliver(&mut state, reply, response);
        }
    }

    /// Hands the held-back replies over, if any.
    pub(crate) fn hand_over(&self) {
        if let Some(completions) = &self.completions {
            let mut state = self.state();
            completions.hand_over(&mut state.held);
        }
    }

    /// Hands the held-back replies over unless the outbox is busy right now (the
    /// interrupt handler's way: it must never wait).
    pub(crate) fn try_hand_over(&self) {
        if let Some(completions) = &self.completions
            && let Ok(mut state) = self.state.try_lock()
        {
            completions.hand_over(&mut state.held);
        }
    }

    fn deliver(&self, state: &mut State, reply: oneshot::Sender<Response>, response: Response) {
        if state.abandoned {
            return;
        }
        match &self.completions {
            Some(completions) => {
                state.held.push((reply, response));
                if state.held.len() >= MAX_BATCH {
                    completions.hand_over(&mut state.held);
                }
            }
            None => {
                let _ = reply.send(response);
            }
        }
    }

    /// The worker is stuck and replaced: answers everyone still waiting on it — 504 for the
    /// section it is stuck in, 503 (retry) for calls waiting on promises — and hands over
    /// what it held back. Later answers from the worker, should it come back, are dropped.
    /// Returns what the worker was stuck doing.
    pub(crate) fn abandon(&self, reason: &str) -> Option<Doing> {
        let mut state = self.state();
        state.abandoned = true;
        if let Some(completions) = &self.completions {
            completions.hand_over(&mut state.held);
        }
        for (_, reply) in state.parked.drain() {
            let _ = reply.send(unavailable(
                "the JavaScript worker this request waited on was replaced; retry",
            ));
        }
        let current = state.current.take()?;
        match current.waiter {
            Some(Waiter::Call { reply, .. }) => {
                let text = format!("504 Gateway Timeout\n\n{reason}\n");
                let _ = reply.send((StatusCode::GATEWAY_TIMEOUT, text).into_response());
            }
            Some(Waiter::Load(reply)) => {
                let script = match &current.doing {
                    Doing::Loading(script) => script.clone(),
                    _ => Arc::from("(script)"),
                };
                let _ = reply.send(Err(ScriptError::new(&script, reason)));
            }
            None => {}
        }
        Some(current.doing)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> RouteKey {
        RouteKey {
            script: Arc::from("a.js"),
            version: 1,
            index: 0,
        }
    }

    #[tokio::test]
    async fn abandoning_answers_the_current_and_the_parked_calls() {
        let outbox = Outbox::new(None);
        let (parked, parked_answer) = oneshot::channel();
        outbox.park(7, parked);
        let (current, current_answer) = oneshot::channel();
        outbox.begin(
            Doing::Call(key()),
            Some(Waiter::Call {
                call: 8,
                reply: current,
            }),
        );
        let doing = outbox.abandon("stuck").unwrap();
        assert!(matches!(doing, Doing::Call(_)));
        assert_eq!(current_answer.await.unwrap().status(), 504);
        assert_eq!(parked_answer.await.unwrap().status(), 503);
        // The worker coming back finds nothing left to answer.
        assert!(outbox.end().is_none());
        let (late, late_answer) = oneshot::channel();
        outbox.park(9, late);
        outbox.answer(9, Response::new(ferry_core::Body::empty()));
        assert!(late_answer.await.is_err());
    }

    #[tokio::test]
    async fn answers_go_out_at_once_without_a_batch() {
        let outbox = Outbox::new(None);
        let (reply, answer) = oneshot::channel();
        outbox.begin(Doing::Call(key()), Some(Waiter::Call { call: 1, reply }));
        outbox.answer_current(Response::new(ferry_core::Body::empty()));
        assert_eq!(answer.await.unwrap().status(), 200);
    }
}
