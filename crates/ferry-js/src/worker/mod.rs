//! One JavaScript worker: a thread that owns a QuickJS runtime, a context per script, and
//! an event loop of requests, promises and timers.
//!
//! The loop waits for the next of: a control message (script changes come first), a
//! request from the shared queue, or the next timer or promise deadline. After each it
//! fires due timers and settles the promises of async handlers. Nothing here blocks on
//! anything but that wait; a call that runs too long is stopped by the interrupt handler.

mod call;
mod failure;
pub(crate) mod local;
mod sandbox;
mod scripts;

use std::collections::HashMap;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Instant;

use crossbeam_channel::{Receiver, select};
use ferry_core::Response;
use rquickjs::Context;
use tokio::sync::oneshot;

use self::call::{Callee, Expect, Invocation};
use self::failure::{CallLabel, Failure};
use self::sandbox::Sandbox;
use crate::bindings::{self, Host, Registration, ScriptHost};
use crate::handoff::ReplyBatch;
use crate::pool::{CallInput, Control, HttpJob, RouteKey, SocketJob, ToSelf, WorkerSettings};
use crate::response::unavailable;
use crate::script::Script;

/// The worker thread's body: serves until the engine is dropped.
pub(crate) fn run(
    id: usize,
    settings: Arc<WorkerSettings>,
    to_self: ToSelf,
    jobs: &Receiver<HttpJob>,
    controls: &Receiver<Control>,
) {
    let mut worker = match Worker::new(id, settings, to_self) {
        Ok(worker) => worker,
        Err(error) => {
            tracing::error!(worker = id, %error, "cannot create a JavaScript runtime");
            return;
        }
    };
    worker.serve(jobs, controls);
}

/// A loaded script in this worker's runtime.
struct ScriptInstance {
    script: Script,
    version: u64,
    registrations: Vec<Registration>,
    host: Rc<ScriptHost>,
    context: Context,
}

/// The versions of one script a worker holds: the running one, the one before it (requests
/// routed before a reload finish on it) and one being prepared.
#[derive(Default)]
struct Slot {
    current: Option<ScriptInstance>,
    previous: Option<ScriptInstance>,
    staged: Option<ScriptInstance>,
}

impl Slot {
    fn find(&self, version: u64) -> Option<&ScriptInstance> {
        [&self.current, &self.previous, &self.staged]
            .into_iter()
            .flatten()
            .find(|instance| instance.version == version)
    }
}

/// A call whose handler returned a pending promise.
pub(crate) struct Waiting {
    call: u64,
    route: RouteKey,
    request_id: Arc<str>,
    deadline: Instant,
    expect: Expect,
}

/// How a call went, as far as it has.
pub(crate) enum Call {
    /// The response.
    Done(Response),
    /// The handler's promise is pending; [`Worker::park`] it with a reply channel.
    Pending(Waiting),
}

/// An async handler waiting for its promise, and where its response goes.
struct PendingCall {
    waiting: Waiting,
    reply: oneshot::Sender<Response>,
}

#[allow(
    clippy::large_enum_variant,
    reason = "returned by `wait` and matched at once; boxing the job would allocate per request"
)]
enum Event {
    Control(Control),
    Job(HttpJob),
    Tick,
    Closed,
}

/// One JavaScript runtime with its scripts, calls in progress and timers.
pub(crate) struct Worker {
    id: usize,
    settings: Arc<WorkerSettings>,
    sandbox: Sandbox,
    host: Rc<Host>,
    scripts: HashMap<Arc<str>, Slot>,
    pending: Vec<PendingCall>,
    /// Replies of the current burst (pool workers; see `handoff`).
    replies: Option<Rc<ReplyBatch>>,
    next_call: u64,
    rebuild: bool,
}

impl Worker {
    pub(crate) fn new(
        id: usize,
        settings: Arc<WorkerSettings>,
        to_self: ToSelf,
    ) -> rquickjs::Result<Self> {
        let replies = settings
            .completions
            .as_ref()
            .map(|completions| Rc::new(ReplyBatch::new(completions.clone())));
        Ok(Worker {
            id,
            sandbox: Sandbox::new(&settings.limits, replies.clone())?,
            host: Rc::new(Host::new(
                settings.store.clone(),
                settings.streams.clone(),
                settings.sockets.clone(),
                settings.graphql.clone(),
                settings.runtime.clone(),
                to_self,
            )),
            settings,
            scripts: HashMap::new(),
            pending: Vec::new(),
            replies,
            next_call: 0,
            rebuild: false,
        })
    }

    fn serve(&mut self, jobs: &Receiver<HttpJob>, controls: &Receiver<Control>) {
        loop {
            while let Ok(control) = controls.try_recv() {
                self.control(control);
            }
            let idle = jobs.is_empty();
            if idle {
                // About to wait: the burst is over, send its replies.
                self.hand_over_replies();
            }
            match self.wait(jobs, controls) {
                Event::Control(control) => self.control(control),
                Event::Job(job) => {
                    if idle {
                        // Woken by the first request of a burst: let the threads queueing
                        // the rest run first, so that one wake-up serves the whole burst.
                        std::thread::yield_now();
                    }
                    self.http(job);
                }
                Event::Tick => {}
                Event::Closed => break,
            }
            self.tick();
        }
    }

    /// Sends a response: at once, or (pool workers) with the burst's batch of replies.
    fn respond(&mut self, reply: oneshot::Sender<Response>, response: Response) {
        match &self.replies {
            Some(batch) => batch.push((reply, response)),
            None => {
                let _ = reply.send(response);
            }
        }
    }

    /// Hands the held-back replies over to the server's runtime.
    fn hand_over_replies(&mut self) {
        if let Some(batch) = &self.replies {
            batch.hand_over();
        }
    }

    /// Fires due timers, settles finished promises, and rebuilds the runtime if a failure
    /// asked for it: what follows every event.
    pub(crate) fn tick(&mut self) {
        self.fire_due_timers();
        self.settle_pending();
        if self.rebuild {
            self.rebuild_runtime();
        }
    }

    /// When the worker next has something to do without a message: a timer or a deadline.
    pub(crate) fn next_wake(&self) -> Option<Instant> {
        self.pending
            .iter()
            .map(|call| call.waiting.deadline)
            .chain(self.host.timers.borrow().next_due())
            .min()
    }

    /// Waits for the next message, or until the next timer or promise deadline.
    fn wait(&self, jobs: &Receiver<HttpJob>, controls: &Receiver<Control>) -> Event {
        let wake = self.next_wake();
        let control = |message: Result<Control, _>| message.map_or(Event::Closed, Event::Control);
        let job = |message: Result<HttpJob, _>| message.map_or(Event::Closed, Event::Job);
        match wake {
            None => select! {
                recv(controls) -> message => control(message),
                recv(jobs) -> message => job(message),
            },
            Some(at) => select! {
                recv(controls) -> message => control(message),
                recv(jobs) -> message => job(message),
                default(at.saturating_duration_since(Instant::now())) => Event::Tick,
            },
        }
    }

    fn find(&self, script: &str, version: u64) -> Option<&ScriptInstance> {
        self.scripts.get(script)?.find(version)
    }

    /// Runs a request's handler; its response goes to the job's reply channel, now or when
    /// its promise settles.
    pub(crate) fn http(&mut self, job: HttpJob) {
        let HttpJob {
            route,
            input,
            reply,
        } = job;
        if reply.is_closed() {
            // The client gave up while the request waited in the queue.
            return;
        }
        match self.call(route, input) {
            Call::Done(response) => self.respond(reply, response),
            Call::Pending(waiting) => self.park(waiting, reply),
        }
    }

    /// Runs a WebSocket handler; its answer goes to the job's reply channel, now or when its
    /// promise settles.
    pub(crate) fn socket(&mut self, job: SocketJob) {
        let SocketJob {
            route,
            socket,
            event,
            reply,
        } = job;
        match self.call(route, CallInput::Socket { socket, event }) {
            Call::Done(response) => self.respond(reply, response),
            Call::Pending(waiting) => self.park(waiting, reply),
        }
    }

    /// Runs a handler and returns its answer, or the call to [`Worker::park`] when the
    /// handler's promise is still pending.
    pub(crate) fn call(&mut self, route: RouteKey, input: CallInput) -> Call {
        let limits = &self.settings.limits;
        if self.pending.len() >= limits.pending_per_worker {
            return Call::Done(unavailable("too many requests are waiting for this worker"));
        }
        self.next_call += 1;
        let call = self.next_call;
        let Some(instance) = self.find(&route.script, route.version) else {
            return Call::Done(unavailable(
                "the script was reloaded while the request waited; retry",
            ));
        };
        let Some(registration) = instance.registrations.get(route.index) else {
            return Call::Done(unavailable("the route is no longer registered"));
        };
        let callee = Callee {
            index: route.index,
            kind: registration.kind,
        };
        let expect = call::expect(&input, registration.kind);
        let deadline = Instant::now() + limits.call_timeout;
        let request_id = input.log_id();
        *self.host.request_id.borrow_mut() = Some(request_id.clone());
        let invocation = instance.context.with(|ctx| {
            call::invoke(
                &ctx,
                &self.sandbox.deadline,
                callee,
                input,
                deadline,
                limits.call_timeout,
                call,
            )
        });
        *self.host.request_id.borrow_mut() = None;
        match invocation {
            Invocation::Finished(outcome) => {
                Call::Done(self.finish(outcome, &route, &request_id, expect))
            }
            Invocation::Pending => Call::Pending(Waiting {
                call,
                route,
                request_id,
                deadline,
                expect,
            }),
        }
    }

    /// Settles the promise of host call `id` of `script` `version` (the script's prelude
    /// resolves or rejects it); its continuations run at the next tick.
    pub(crate) fn settle_host_call(
        &mut self,
        script: &str,
        version: u64,
        id: u32,
        result: Result<String, String>,
    ) {
        let Some(instance) = self.find(script, version) else {
            return;
        };
        let deadline = Instant::now() + self.settings.limits.call_timeout;
        let guard = &self.sandbox.deadline;
        let outcome = instance.context.with(|ctx| {
            let settle = bindings::internal(&ctx)?.get::<_, rquickjs::Function>("settle")?;
            guard.arm(deadline);
            let (ok, text) = match result {
                Ok(text) => (true, text),
                Err(text) => (false, text),
            };
            let called = settle.call::<_, ()>((id, ok, text));
            if called.is_ok() {
                call::drain_microtasks(&ctx, deadline);
            }
            guard.disarm();
            called
        });
        if let Err(error) = outcome {
            tracing::warn!(target: crate::SCRIPT_LOG_TARGET, script, %error, "settling an executeGraphQL promise failed");
        }
    }

    /// Keeps a call whose promise is pending until it settles (or its deadline passes); the
    /// response then goes to `reply`.
    pub(crate) fn park(&mut self, waiting: Waiting, reply: oneshot::Sender<Response>) {
        self.pending.push(PendingCall { waiting, reply });
    }

    /// Names the handler `route` points at, for log lines.
    fn label(&self, route: &RouteKey) -> CallLabel {
        let registration = self
            .find(&route.script, route.version)
            .and_then(|instance| instance.registrations.get(route.index));
        match registration {
            Some(registration) => CallLabel::new(&route.script, registration),
            None => CallLabel {
                script: route.script.clone(),
                handler: "(unloaded)".into(),
                route: "(unloaded)".into(),
            },
        }
    }

    /// The client's response for an outcome; failures are logged and may schedule a rebuild.
    fn finish(
        &mut self,
        outcome: Result<Response, Failure>,
        route: &RouteKey,
        request_id: &str,
        expect: Expect,
    ) -> Response {
        match outcome {
            Ok(response) => response,
            Err(failure) => {
                failure.log(&self.label(route), request_id);
                if failure.poisons_runtime() || self.sandbox.exhausted() {
                    self.rebuild = true;
                }
                if expect == Expect::Json {
                    // A GraphQL resolver's error goes to the client as a GraphQL error.
                    return failure.resolver_error();
                }
                failure.response(self.settings.dev)
            }
        }
    }

    fn settle_pending(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        let now = Instant::now();
        let limit = self.settings.limits.call_timeout;
        let mut waiting = Vec::with_capacity(self.pending.len());
        for pending in std::mem::take(&mut self.pending) {
            let call = &pending.waiting;
            let outcome = match self.find(&call.route.script, call.route.version) {
                Some(instance) => {
                    let expect = call.expect;
                    let expired = now >= call.deadline;
                    instance
                        .context
                        .with(|ctx| call::poll_pending(&ctx, call.call, expect, expired, limit))
                }
                None => {
                    let response = unavailable("the script was unloaded while the request waited");
                    self.respond(pending.reply, response);
                    continue;
                }
            };
            match outcome {
                None => waiting.push(pending),
                Some(outcome) => {
                    let call = &pending.waiting;
                    let response = self.finish(outcome, &call.route, &call.request_id, call.expect);
                    self.respond(pending.reply, response);
                }
            }
        }
        waiting.append(&mut self.pending);
        self.pending = waiting;
    }

    fn fire_due_timers(&mut self) {
        let now = Instant::now();
        let limit = self.settings.limits.call_timeout;
        loop {
            let Some(timer) = self.host.timers.borrow_mut().pop_due(now) else {
                break;
            };
            let Some(instance) = self.find(&timer.script, timer.version) else {
                continue;
            };
            let fired = instance
                .context
                .with(|ctx| call::fire_timer(&ctx, &self.sandbox.deadline, timer.id, limit));
            if let Err(failure) = fired {
                let label = CallLabel {
                    script: timer.script.clone(),
                    handler: "timer callback".into(),
                    route: "setTimeout/setInterval".into(),
                };
                failure.log(&label, "-");
                if failure.poisons_runtime() {
                    self.rebuild = true;
                }
            }
        }
    }
}
