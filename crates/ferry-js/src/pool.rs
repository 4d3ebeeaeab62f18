//! The worker pool: N threads, one bounded queue of requests they all take from, and a
//! control channel per worker for script changes, which every worker must see.

use std::sync::Arc;

use crossbeam_channel::{Receiver, Sender, TrySendError};
use ferry_core::Response;
use ferry_store::SqliteStore;
use tokio::sync::oneshot;

use crate::bindings::Registration;
use crate::error::{EngineError, ScriptError};
use crate::limits::Limits;
use crate::request::ScriptRequest;
use crate::script::Script;
use crate::worker;

/// Which handler a request is for: the script, the version of it that registered the route,
/// and the handler's position in that version's registrations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RouteKey {
    pub script: Arc<str>,
    pub version: u64,
    pub index: usize,
}

/// A request for a worker, and where its response goes.
pub(crate) struct HttpJob {
    pub route: RouteKey,
    pub request: ScriptRequest,
    pub reply: oneshot::Sender<Response>,
}

/// A change every worker applies, in the order sent.
pub(crate) enum Control {
    /// Evaluate `script` as `version` beside the running version and report its routes.
    Prepare {
        script: Script,
        version: u64,
        reply: oneshot::Sender<Result<Vec<Registration>, ScriptError>>,
    },
    /// Make the prepared `version` of `name` the running one.
    Commit { name: Arc<str>, version: u64 },
    /// Drop the prepared `version` of `name`.
    Abort { name: Arc<str>, version: u64 },
    /// Unload the script `name`.
    Remove { name: Arc<str> },
}

/// What every worker is configured with.
pub(crate) struct WorkerSettings {
    pub limits: Limits,
    pub dev: bool,
    pub store: Option<SqliteStore>,
}

/// The running workers.
pub(crate) struct WorkerPool {
    jobs: Sender<HttpJob>,
    controls: Vec<Sender<Control>>,
    settings: Arc<WorkerSettings>,
}

/// The queue is full: every worker is busy and the backlog is at its limit.
pub(crate) struct Saturated;

impl WorkerPool {
    /// Starts `count` workers.
    pub(crate) fn start(count: usize, settings: Arc<WorkerSettings>) -> Result<Self, EngineError> {
        let count = count.max(1);
        let capacity = settings.limits.queue_per_worker.max(1) * count;
        let (jobs, job_queue) = crossbeam_channel::bounded(capacity);
        let mut controls = Vec::with_capacity(count);
        for id in 0..count {
            let (control, control_queue) = crossbeam_channel::unbounded();
            spawn(id, settings.clone(), job_queue.clone(), control_queue)?;
            controls.push(control);
        }
        Ok(WorkerPool {
            jobs,
            controls,
            settings,
        })
    }

    /// What the workers are configured with.
    pub(crate) fn settings(&self) -> &WorkerSettings {
        &self.settings
    }

    /// Queues `job` for the first free worker; refuses it when the queue is full.
    pub(crate) fn submit(&self, job: HttpJob) -> Result<(), Saturated> {
        self.jobs.try_send(job).map_err(|error| match error {
            TrySendError::Full(_) | TrySendError::Disconnected(_) => Saturated,
        })
    }

    /// Sends a control message to every worker, built by `message` from a reply channel, and
    /// collects the replies in worker order.
    pub(crate) async fn broadcast<R>(
        &self,
        message: impl Fn(oneshot::Sender<R>) -> Control,
    ) -> Result<Vec<R>, EngineError> {
        let mut replies = Vec::with_capacity(self.controls.len());
        for control in &self.controls {
            let (reply, answer) = oneshot::channel();
            control
                .send(message(reply))
                .map_err(|_| EngineError::Stopped)?;
            replies.push(answer);
        }
        let mut results = Vec::with_capacity(replies.len());
        for answer in replies {
            results.push(answer.await.map_err(|_| EngineError::Stopped)?);
        }
        Ok(results)
    }

    /// Sends a control message that needs no reply to every worker.
    pub(crate) fn notify(&self, message: impl Fn() -> Control) {
        for control in &self.controls {
            // A worker that has stopped has nothing left to change.
            let _ = control.send(message());
        }
    }

    /// The number of workers.
    pub(crate) fn len(&self) -> usize {
        self.controls.len()
    }
}

fn spawn(
    id: usize,
    settings: Arc<WorkerSettings>,
    jobs: Receiver<HttpJob>,
    controls: Receiver<Control>,
) -> Result<(), EngineError> {
    std::thread::Builder::new()
        .name(format!("ferry-js-{id}"))
        .stack_size(settings.limits.thread_stack_bytes())
        .spawn(move || worker::run(id, &settings, &jobs, &controls))
        .map(|_| ())
        .map_err(EngineError::Spawn)
}
