//! Thread-per-core workers: a worker that lives on a server thread, so that a request
//! handled on that thread runs its script right there, with no hand-off to another thread.
//!
//! The server thread runs a current-thread tokio runtime. [`attach`] puts a worker in the
//! thread's local slot and returns the future that drives its event loop (script changes,
//! timers, promise deadlines, and jobs sent from other threads); a route handler polled on
//! the thread finds the worker through [`dispatch`].

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;

use ferry_core::Response;
use tokio::sync::{Notify, mpsc, oneshot};

use super::WorkerLink;
use super::{Call, Worker};
use crate::job::{HttpJob, RouteKey};
use crate::request::ScriptRequest;
use crate::settings::WorkerSettings;

struct LocalWorker {
    worker: Rc<RefCell<Worker>>,
    /// Wakes the driver when a call left a promise pending (its deadline is new).
    changed: Rc<Notify>,
}

thread_local! {
    static LOCAL: RefCell<Option<LocalWorker>> = const { RefCell::new(None) };
}

/// Where a request went.
pub(crate) enum Dispatch {
    /// This thread's worker answered at once.
    Done(Response),
    /// This thread's worker is waiting for the handler's promise.
    Waiting(oneshot::Receiver<Response>),
    /// This thread has no worker (or it is busy in a nested call): use the queue.
    Elsewhere(RouteKey, Box<ScriptRequest>),
}

/// Runs the request on this thread's worker, if the thread has one.
pub(crate) fn dispatch(route: RouteKey, request: ScriptRequest) -> Dispatch {
    LOCAL.with(|slot| {
        let slot = slot.borrow();
        let Some(local) = slot.as_ref() else {
            return Dispatch::Elsewhere(route, Box::new(request));
        };
        let Ok(mut worker) = local.worker.try_borrow_mut() else {
            return Dispatch::Elsewhere(route, Box::new(request));
        };
        let wake = worker.next_wake();
        let call = worker.next_call();
        let dispatched = match worker.call(call, route, crate::job::CallInput::Http(request)) {
            Call::Done(response) => Dispatch::Done(response),
            Call::Pending(waiting) => {
                let (reply, answer) = oneshot::channel();
                worker.park(waiting, reply);
                Dispatch::Waiting(answer)
            }
        };
        if worker.rebuild {
            worker.tick();
        }
        // A new timer or pending promise: the driver must wait for a new deadline.
        if worker.next_wake() != wake {
            local.changed.notify_one();
        }
        dispatched
    })
}

/// Makes the current thread a JavaScript worker. Returns the future that drives its event
/// loop, to be spawned on the thread's `LocalSet`; it ends when the engine is dropped.
/// `controlled` is notified after each message put in the worker's control queue.
pub(crate) fn attach(
    link: WorkerLink,
    settings: Arc<WorkerSettings>,
    controlled: Arc<Notify>,
    jobs: mpsc::Receiver<HttpJob>,
) -> rquickjs::Result<impl Future<Output = ()>> {
    let worker = Rc::new(RefCell::new(Worker::new(link, settings)?));
    let changed = Rc::new(Notify::new());
    LOCAL.with(|slot| {
        *slot.borrow_mut() = Some(LocalWorker {
            worker: worker.clone(),
            changed: changed.clone(),
        });
    });
    Ok(drive(worker, changed, controlled, jobs))
}

async fn drive(
    worker: Rc<RefCell<Worker>>,
    changed: Rc<Notify>,
    controlled: Arc<Notify>,
    mut jobs: mpsc::Receiver<HttpJob>,
) {
    loop {
        let wake = worker.borrow().next_wake();
        let timer = async {
            match wake {
                Some(at) => tokio::time::sleep_until(at.into()).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            biased;
            () = controlled.notified() => {
                worker.borrow_mut().apply_controls();
            }
            job = jobs.recv() => match job {
                Some(job) => worker.borrow_mut().http(job),
                None => break,
            },
            () = timer => {}
            () = changed.notified() => {}
        }
        worker.borrow_mut().tick();
    }
    LOCAL.with(|slot| slot.borrow_mut().take());
}
