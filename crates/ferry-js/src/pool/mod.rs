//! The worker pool: N threads, one bounded queue of requests they all take from, and a
//! control channel per worker for script changes, which every worker must see. A worker
//! the watchdog finds stuck in host code past its deadline is replaced here by a fresh one
//! that loads every running script (see [`WorkerPool::replace_if_stuck`]).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use crossbeam_channel::{Receiver, Sender, TrySendError};
use tokio::sync::{Notify, mpsc, oneshot};

use crate::error::EngineError;
use crate::job::{Control, HttpJob, SocketJob};
use crate::outbox::Outbox;
use crate::pulse::Pulse;
use crate::script::Script;
use crate::settings::WorkerSettings;
use crate::worker::{self, WorkerLink};

mod replace;

/// How a worker receives script changes.
enum ControlSender {
    /// A worker on its own thread (pool model).
    Thread(Sender<Control>),
    /// A worker on a server thread (thread-per-core model), and the wake-up of the task
    /// that drives it.
    Local(Sender<Control>, Arc<Notify>),
}

impl ControlSender {
    /// Sends `control`; gives it back when the worker has stopped.
    fn send(&self, control: Control) -> Result<(), Control> {
        match self {
            ControlSender::Thread(sender) => sender.send(control).map_err(|error| error.0),
            ControlSender::Local(sender, controlled) => {
                sender.send(control).map_err(|error| error.0)?;
                controlled.notify_one();
                Ok(())
            }
        }
    }
}

/// One worker as the pool sees it.
struct WorkerSlot {
    control: ControlSender,
    /// Pool model: the control queue's receiving end, whose leftovers go to a replacement.
    leftovers: Option<Receiver<Control>>,
    pulse: Arc<Pulse>,
    outbox: Arc<Outbox>,
    /// When the watchdog last reported this worker stuck (server-thread workers, which it
    /// cannot replace: their thread is the server's).
    reported: Option<Instant>,
}

/// The running workers: either a pool of threads that take requests from one queue, or
/// workers attached to server threads (thread-per-core), which run the requests of their
/// own thread inline and take jobs from other threads through a queue each.
pub(crate) struct WorkerPool {
    /// The pool's shared queue (pool model).
    jobs: Option<Sender<HttpJob>>,
    /// Its receiving end, for replacement workers (pool model).
    job_queue: Option<Receiver<HttpJob>>,
    /// Each attached worker's queue (thread-per-core model).
    local_jobs: Mutex<Vec<mpsc::Sender<HttpJob>>>,
    next_local: AtomicUsize,
    workers: Mutex<Vec<WorkerSlot>>,
    settings: Arc<WorkerSettings>,
    /// Threads of replaced workers still stuck; past a limit no more are replaced, so a
    /// script cannot pile up threads (and their memory) without end.
    stuck_threads: Arc<AtomicUsize>,
    /// Workers replaced so far (names the replacements' threads).
    replacements: std::sync::atomic::AtomicU64,
}

/// The queue is full: every worker is busy and the backlog is at its limit.
pub(crate) struct Saturated;

impl WorkerPool {
    /// Starts `count` worker threads that share one queue.
    pub(crate) fn start(count: usize, settings: Arc<WorkerSettings>) -> Result<Self, EngineError> {
        let count = count.max(1);
        let capacity = settings.limits.queue_per_worker.max(1) * count;
        let (jobs, job_queue) = crossbeam_channel::bounded(capacity);
        let pool = WorkerPool {
            jobs: Some(jobs),
            job_queue: Some(job_queue),
            local_jobs: Mutex::new(Vec::new()),
            next_local: AtomicUsize::new(0),
            workers: Mutex::new(Vec::with_capacity(count)),
            settings,
            stuck_threads: Arc::new(AtomicUsize::new(0)),
            replacements: std::sync::atomic::AtomicU64::new(0),
        };
        for id in 0..count {
            let slot = pool.spawn(id, 0, Vec::new())?;
            lock(&pool.workers).push(slot);
        }
        Ok(pool)
    }

    /// A pool with no threads of its own: workers join with [`WorkerPool::attach`].
    pub(crate) fn per_thread(settings: Arc<WorkerSettings>) -> Self {
        WorkerPool {
            jobs: None,
            job_queue: None,
            local_jobs: Mutex::new(Vec::new()),
            next_local: AtomicUsize::new(0),
            workers: Mutex::new(Vec::new()),
            settings,
            stuck_threads: Arc::new(AtomicUsize::new(0)),
            replacements: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// Makes the current thread a worker (thread-per-core model); returns the future that
    /// drives it, to be spawned on the thread's `LocalSet`.
    pub(crate) fn attach(&self) -> Result<impl Future<Output = ()> + use<>, EngineError> {
        let (control, controls) = crossbeam_channel::unbounded();
        let controlled = Arc::new(Notify::new());
        let (job, jobs) = mpsc::channel(self.settings.limits.queue_per_worker.max(1));
        let mut workers = lock(&self.workers);
        let own = ControlSender::Local(control.clone(), controlled.clone());
        let pulse = Arc::new(Pulse::new());
        let outbox = Arc::new(Outbox::new(None));
        let link = WorkerLink {
            id: workers.len(),
            to_self: Arc::new(move |message| {
                let _ = own.send(message);
            }),
            controls,
            pulse: pulse.clone(),
            outbox: outbox.clone(),
        };
        let driver = worker::local::attach(link, self.settings.clone(), controlled.clone(), jobs)
            .map_err(|error| EngineError::Runtime(error.to_string()))?;
        workers.push(WorkerSlot {
            control: ControlSender::Local(control, controlled),
            leftovers: None,
            pulse,
            outbox,
            reported: None,
        });
        lock(&self.local_jobs).push(job);
        Ok(driver)
    }

    /// Starts worker thread `id` (its `generation`-th incarnation) with `scripts` running.
    fn spawn(
        &self,
        id: usize,
        generation: u64,
        scripts: Vec<(Script, u64)>,
    ) -> Result<WorkerSlot, EngineError> {
        let Some(jobs) = self.job_queue.clone() else {
            return Err(EngineError::Runtime(
                "a thread-per-core engine has no worker threads of its own".into(),
            ));
        };
        let (control, controls) = crossbeam_channel::unbounded();
        let own = control.clone();
        let pulse = Arc::new(Pulse::new());
        let outbox = Arc::new(Outbox::new(self.settings.completions.clone()));
        let link = WorkerLink {
            id,
            to_self: Arc::new(move |message| {
                let _ = own.send(message);
            }),
            controls: controls.clone(),
            pulse: pulse.clone(),
            outbox: outbox.clone(),
        };
        let leftovers = controls;
        let settings = self.settings.clone();
        let stuck_threads = self.stuck_threads.clone();
        let name = match generation {
            0 => format!("ferry-js-{id}"),
            _ => format!("ferry-js-{id}.{generation}"),
        };
        let thread_pulse = pulse.clone();
        let (ready, created) = std::sync::mpsc::sync_channel(1);
        std::thread::Builder::new()
            .name(name)
            .stack_size(settings.limits.thread_stack_bytes())
            .spawn(move || {
                let started = move |result| {
                    let _ = ready.send(result);
                };
                worker::run(link, settings, scripts, &jobs, started);
                if thread_pulse.abandoned() {
                    stuck_threads.fetch_sub(1, Ordering::Relaxed);
                }
            })
            .map_err(EngineError::Spawn)?;
        // A worker exists once its runtime does; only then may messages wait for it.
        match created.recv() {
            Ok(Ok(())) => {}
            Ok(Err(error)) => return Err(EngineError::Runtime(error.to_string())),
            Err(_) => return Err(EngineError::Stopped),
        }
        Ok(WorkerSlot {
            control: ControlSender::Thread(control),
            leftovers: Some(leftovers),
            pulse,
            outbox,
            reported: None,
        })
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
            let workers = lock(&self.workers);
            let mut replies = Vec::with_capacity(workers.len());
            for worker in workers.iter() {
                let (reply, answer) = oneshot::channel();
                worker
                    .control
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
        let workers = lock(&self.workers);
        let owners = self.socket_owners(&workers);
        if owners == 0 {
            return;
        }
        let owner = owner(job.socket, owners);
        let _ = workers[owner].control.send(Control::Socket(Box::new(job)));
    }

    /// How many workers, from the first, own sockets: the pool's own threads where there
    /// are some (so that a slow socket handler never holds a server thread), else every
    /// worker (thread-per-core).
    fn socket_owners(&self, workers: &[WorkerSlot]) -> usize {
        if self.jobs.is_none() {
            return workers.len();
        }
        // The pool's threads are started before any server thread attaches.
        workers
            .iter()
            .take_while(|worker| worker.leftovers.is_some())
            .count()
    }

    /// Sends a control message to one worker (the first) and waits for its reply.
    pub(crate) async fn ask_one<R>(
        &self,
        message: impl FnOnce(oneshot::Sender<R>) -> Control,
    ) -> Result<R, EngineError> {
        let (reply, answer) = oneshot::channel();
        {
            let workers = lock(&self.workers);
            let worker = workers.first().ok_or(EngineError::Stopped)?;
            worker
                .control
                .send(message(reply))
                .map_err(|_| EngineError::Stopped)?;
        }
        answer.await.map_err(|_| EngineError::Stopped)
    }

    /// Sends a control message that needs no reply to every worker.
    pub(crate) fn notify(&self, message: impl Fn() -> Control) {
        for worker in lock(&self.workers).iter() {
            // A worker that has stopped has nothing left to change.
            let _ = worker.control.send(message());
        }
    }

    /// The number of workers.
    pub(crate) fn len(&self) -> usize {
        lock(&self.workers).len()
    }
}

/// The worker (of `count`) that owns socket `socket`: sockets are spread by id, which
/// never changes.
fn owner(socket: u64, count: usize) -> usize {
    usize::try_from(socket % count.max(1) as u64).unwrap_or(0)
}

/// Locks `mutex`; the lists it guards change only by a push or a whole-slot swap, so a
/// panic elsewhere cannot leave them inconsistent.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}
