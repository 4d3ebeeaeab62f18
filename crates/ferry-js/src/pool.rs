//! The worker pool: N threads, one bounded queue of requests they all take from, and a
//! control channel per worker for script changes, which every worker must see.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use crossbeam_channel::{Receiver, Sender, TrySendError};
use ferry_core::Response;
use ferry_core::sse::StreamHub;
use ferry_store::SqliteStore;
use tokio::sync::{mpsc, oneshot};

use crate::bindings::Registration;
use crate::error::{EngineError, ScriptError};
use crate::handoff::Completions;
use crate::limits::Limits;
use crate::request::ScriptRequest;
use crate::script::Script;
use crate::sockets::SocketHub;
use crate::worker;

/// Which handler a request is for: the script, the version of it that registered the route,
/// and the handler's position in that version's registrations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RouteKey {
    pub script: Arc<str>,
    pub version: u64,
    pub index: usize,
}

/// A call for a worker (a request, or a GraphQL resolver's arguments), and where its answer
/// goes.
pub(crate) struct HttpJob {
    pub route: RouteKey,
    pub input: CallInput,
    pub reply: oneshot::Sender<Response>,
}

/// What a call hands its handler.
#[derive(Debug)]
pub(crate) enum CallInput {
    /// A request, as `context` (route handlers and stream customizers).
    Http(ScriptRequest),
    /// An event of the WebSocket `socket`.
    Socket { socket: u64, event: SocketEvent },
    /// A JSON input as text: a GraphQL resolver's arguments, an MCP call's input.
    Json { input: String },
}

impl CallInput {
    /// The id log lines carry: the request's, or the socket's.
    pub(crate) fn log_id(&self) -> Arc<str> {
        match self {
            CallInput::Http(request)
            | CallInput::Socket {
                event: SocketEvent::Open(request),
                ..
            } => request.request_id.clone(),
            CallInput::Socket { socket, .. } => format!("ws-{socket}").into(),
            CallInput::Json { .. } => "json".into(),
        }
    }
}

/// An event of a WebSocket connection for the worker that owns the socket (a socket's
/// events all go to one worker, in order, so its JavaScript state lives in one place).
pub(crate) struct SocketJob {
    pub route: RouteKey,
    pub socket: u64,
    pub event: SocketEvent,
    pub reply: oneshot::Sender<Response>,
}

/// What happened on a WebSocket connection.
#[derive(Debug)]
pub(crate) enum SocketEvent {
    /// The connection opened, by this upgrade request.
    Open(ScriptRequest),
    /// A text message arrived.
    Text(String),
    /// A binary message arrived.
    Binary(bytes::Bytes),
    /// The connection closed, with this close code and reason.
    Close { code: u16, reason: String },
}

/// A change every worker applies, in the order sent (or, for a socket event, a message for
/// one worker).
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
    /// Run a WebSocket handler (boxed: the event carries a whole request).
    Socket(Box<SocketJob>),
    /// Settle the promise of a host call (`executeGraphQL`) of `script` `version` with its
    /// result: JSON text, or an error message.
    Settle {
        script: Arc<str>,
        version: u64,
        id: u32,
        result: Result<String, String>,
    },
}

/// How a worker's bindings send a [`Control`] to their own worker (to settle a promise
/// when work done elsewhere finishes).
pub(crate) type ToSelf = Arc<dyn Fn(Control) + Send + Sync>;

/// What every worker is configured with.
pub(crate) struct WorkerSettings {
    pub limits: Limits,
    pub dev: bool,
    pub store: Option<SqliteStore>,
    /// The engine's Server-Sent Events streams.
    pub streams: StreamHub,
    /// The engine's open WebSockets.
    pub sockets: SocketHub,
    /// The engine's GraphQL endpoint (for publishing to subscribers, and `executeGraphQL`).
    pub graphql: ferry_graphql::GraphQl,
    /// The async runtime the engine started on, for work scripts start (`executeGraphQL`).
    pub runtime: tokio::runtime::Handle,
    /// Where pool workers hand their replies over (None: reply directly).
    pub completions: Option<Arc<Completions>>,
}

/// How a worker receives script changes.
enum ControlSender {
    /// A worker on its own thread (pool model).
    Thread(Sender<Control>),
    /// A worker on a server thread (thread-per-core model).
    Local(mpsc::UnboundedSender<Control>),
}

impl ControlSender {
    /// Sends `control`; gives it back when the worker has stopped.
    fn send(&self, control: Control) -> Result<(), Control> {
        match self {
            ControlSender::Thread(sender) => sender.send(control).map_err(|error| error.0),
            ControlSender::Local(sender) => sender.send(control).map_err(|error| error.0),
        }
    }
}

/// The running workers: either a pool of threads that take requests from one queue, or
/// workers attached to server threads (thread-per-core), which run the requests of their
/// own thread inline and take jobs from other threads through a queue each.
pub(crate) struct WorkerPool {
    /// The pool's shared queue (pool model).
    jobs: Option<Sender<HttpJob>>,
    /// Each attached worker's queue (thread-per-core model).
    local_jobs: Mutex<Vec<mpsc::Sender<HttpJob>>>,
    next_local: AtomicUsize,
    controls: Mutex<Vec<ControlSender>>,
    settings: Arc<WorkerSettings>,
}

/// The queue is full: every worker is busy and the backlog is at its limit.
pub(crate) struct Saturated;

impl WorkerPool {
    /// Starts `count` worker threads that share one queue.
    pub(crate) fn start(count: usize, settings: Arc<WorkerSettings>) -> Result<Self, EngineError> {
        let count = count.max(1);
        let capacity = settings.limits.queue_per_worker.max(1) * count;
        let (jobs, job_queue) = crossbeam_channel::bounded(capacity);
        let mut controls = Vec::with_capacity(count);
        for id in 0..count {
            let (control, control_queue) = crossbeam_channel::unbounded();
            let own = control.clone();
            let to_self: ToSelf = Arc::new(move |message| {
                let _ = own.send(message);
            });
            spawn(
                id,
                settings.clone(),
                job_queue.clone(),
                control_queue,
                to_self,
            )?;
            controls.push(ControlSender::Thread(control));
        }
        Ok(WorkerPool {
            jobs: Some(jobs),
            local_jobs: Mutex::new(Vec::new()),
            next_local: AtomicUsize::new(0),
            controls: Mutex::new(controls),
            settings,
        })
    }

    /// A pool with no threads of its own: workers join with [`WorkerPool::attach`].
    pub(crate) fn per_thread(settings: Arc<WorkerSettings>) -> Self {
        WorkerPool {
            jobs: None,
            local_jobs: Mutex::new(Vec::new()),
            next_local: AtomicUsize::new(0),
            controls: Mutex::new(Vec::new()),
            settings,
        }
    }

    /// Makes the current thread a worker (thread-per-core model); returns the future that
    /// drives it, to be spawned on the thread's `LocalSet`.
    pub(crate) fn attach(&self) -> Result<impl Future<Output = ()> + use<>, EngineError> {
        let (control, controls) = mpsc::unbounded_channel();
        let (job, jobs) = mpsc::channel(self.settings.limits.queue_per_worker.max(1));
        let mut senders = lock(&self.controls);
        let own = control.clone();
        let to_self: ToSelf = Arc::new(move |message| {
            let _ = own.send(message);
        });
        let driver = worker::local::attach(
            senders.len(),
            self.settings.clone(),
            to_self,
            controls,
            jobs,
        )
        .map_err(|error| EngineError::Runtime(error.to_string()))?;
        senders.push(ControlSender::Local(control));
        lock(&self.local_jobs).push(job);
        Ok(driver)
    }

    /// What the workers are configured with.
    pub(crate) fn settings(&self) -> &WorkerSettings {
        &self.settings
    }

    /// Queues `job` for a worker; refuses it when the queue is full.
    pub(crate) fn submit(&self, job: HttpJob) -> Result<(), Saturated> {
        if let Some(jobs) = &self.jobs {
            let sent = jobs.try_send(job).map_err(|error| match error {
                TrySendError::Full(_) | TrySendError::Disconnected(_) => Saturated,
            });
            metrics::gauge!("ferry_js_queue_depth").set(jobs.len() as f64);
            return sent;
        }
        let queues = lock(&self.local_jobs);
        let start = self.next_local.fetch_add(1, Ordering::Relaxed);
        let mut job = job;
        for offset in 0..queues.len() {
            match queues[(start + offset) % queues.len()].try_send(job) {
                Ok(()) => return Ok(()),
                Err(
                    mpsc::error::TrySendError::Full(back) | mpsc::error::TrySendError::Closed(back),
                ) => {
                    job = back;
                }
            }
        }
        Err(Saturated)
    }

    /// Sends a control message to every worker, built by `message` from a reply channel, and
    /// collects the replies in worker order.
    pub(crate) async fn broadcast<R>(
        &self,
        message: impl Fn(oneshot::Sender<R>) -> Control,
    ) -> Result<Vec<R>, EngineError> {
        let replies = {
            let controls = lock(&self.controls);
            let mut replies = Vec::with_capacity(controls.len());
            for control in controls.iter() {
                let (reply, answer) = oneshot::channel();
                control
                    .send(message(reply))
                    .map_err(|_| EngineError::Stopped)?;
                replies.push(answer);
            }
            replies
        };
        let mut results = Vec::with_capacity(replies.len());
        for answer in replies {
            results.push(answer.await.map_err(|_| EngineError::Stopped)?);
        }
        Ok(results)
    }

    /// Sends `job` to the worker that owns its socket (when that worker has stopped, the
    /// job's reply channel closes unanswered).
    pub(crate) fn send_socket_event(&self, job: SocketJob) {
        let controls = lock(&self.controls);
        if controls.is_empty() {
            return;
        }
        // Sockets are spread over the workers by id; the id never changes.
        let owner = usize::try_from(job.socket % controls.len() as u64).unwrap_or(0);
        let _ = controls[owner].send(Control::Socket(Box::new(job)));
    }

    /// Sends a control message that needs no reply to every worker.
    pub(crate) fn notify(&self, message: impl Fn() -> Control) {
        for control in lock(&self.controls).iter() {
            // A worker that has stopped has nothing left to change.
            let _ = control.send(message());
        }
    }

    /// The number of workers.
    pub(crate) fn len(&self) -> usize {
        lock(&self.controls).len()
    }
}

/// Locks `mutex`; the lists it guards are only ever pushed to, so a panic elsewhere cannot
/// leave them inconsistent.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn spawn(
    id: usize,
    settings: Arc<WorkerSettings>,
    jobs: Receiver<HttpJob>,
    controls: Receiver<Control>,
    to_self: ToSelf,
) -> Result<(), EngineError> {
    std::thread::Builder::new()
        .name(format!("ferry-js-{id}"))
        .stack_size(settings.limits.thread_stack_bytes())
        .spawn(move || worker::run(id, settings, to_self, &jobs, &controls))
        .map(|_| ())
        .map_err(EngineError::Spawn)
}
