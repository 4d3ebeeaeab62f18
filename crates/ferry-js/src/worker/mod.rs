//! One JavaScript worker: a thread that owns a QuickJS runtime, a context per script, and
//! an event loop of requests, promises and timers.
//!
//! The loop waits for the next of: a control message (script changes come first), a
//! request from the shared queue, or the next timer or promise deadline. After each it
//! fires due timers and settles the promises of async handlers. Nothing here blocks on
//! anything but that wait; JavaScript that runs too long is stopped by the interrupt
//! handler, and a worker stuck in host code past its deadline is replaced by the pool's
//! watchdog (this worker then stops as soon as it comes back).

mod call;
mod failure;
pub(crate) mod local;
mod sandbox;
mod scripts;
mod testing;

use std::collections::{HashMap, VecDeque};
use std::rc::Rc;
use std::sync::Arc;
use std::time::Instant;

use crossbeam_channel::{Receiver, select};
use ferry_core::Response;
use rquickjs::{Context, Object, Persistent};
use tokio::sync::oneshot;

use self::call::{Budget, Callee, Expect, Invocation, ParkedPromises, Target};
use self::failure::{CallLabel, Failure};
use self::sandbox::Sandbox;
use crate::bindings::{Host, ScriptHost};
use crate::deadline::Deadline;
use crate::job::{CallInput, Control, HttpJob, RouteKey, SocketJob, ToSelf};
use crate::outbox::{Doing, Outbox, Waiter};
use crate::pulse::Pulse;
use crate::registration::Registration;
use crate::response::unavailable;
use crate::script::Script;
use crate::settings::WorkerSettings;

/// What a worker is started with besides the settings: how it reports to the pool.
pub(crate) struct WorkerLink {
    pub id: usize,
    pub to_self: ToSelf,
    /// Its control queue (script changes, host calls' results), which `to_self` feeds.
    pub controls: Receiver<Control>,
    pub pulse: Arc<Pulse>,
    pub outbox: Arc<Outbox>,
}

/// The worker thread's body: creates the runtime (telling `started` whether it could),
/// loads `scripts` (a replacement's start), then serves until the engine is dropped or the
/// watchdog replaces it.
pub(crate) fn run(
    link: WorkerLink,
    settings: Arc<WorkerSettings>,
    scripts: Vec<(Script, u64)>,
    jobs: &Receiver<HttpJob>,
    started: impl FnOnce(Result<(), rquickjs::Error>),
) {
    let mut worker = match Worker::new(link, settings) {
        Ok(worker) => {
            started(Ok(()));
            worker
        }
        Err(error) => {
            started(Err(error));
            return;
        }
    };
    for (script, version) in scripts {
        worker.adopt(script, version);
    }
    worker.serve(jobs);
}

/// A loaded script in this worker's runtime.
struct ScriptInstance {
    script: Script,
    version: u64,
    registrations: Vec<Registration>,
    host: Rc<ScriptHost>,
    /// The engine's bookkeeping object in the context (handlers, the context builder, the
    /// socket dispatcher, timer callbacks), held here: no script can reach it.
    internal: Persistent<Object<'static>>,
    /// The prelude's functions every call uses.
    entries: call::SavedEntries,
    parked: ParkedPromises,
    /// Last: the values above belong to this context and must be dropped before it.
    context: Context,
}

impl Drop for ScriptInstance {
    fn drop(&mut self) {
        crate::source_lines::forget(&self.context);
    }
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

/// A call whose handler returned a pending promise (its client waits in the outbox).
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
    deadline: Rc<Deadline>,
    outbox: Arc<Outbox>,
    /// Script changes and host calls' results.
    controls: Receiver<Control>,
    /// Control messages that came while the worker waited for a promise of its own (a
    /// test run, an async `init()`), to apply once it is done.
    deferred: VecDeque<Control>,
    host: Rc<Host>,
    scripts: HashMap<Arc<str>, Slot>,
    /// After the scripts: their values must go before the runtime does.
    sandbox: Sandbox,
    pending: Vec<Waiting>,
    next_call: u64,
    rebuild: bool,
}

impl Worker {
    pub(crate) fn new(link: WorkerLink, settings: Arc<WorkerSettings>) -> rquickjs::Result<Self> {
        let WorkerLink {
            id,
            to_self,
            controls,
            pulse,
            outbox,
        } = link;
        let deadline = Rc::new(Deadline::new(pulse, outbox.clone()));
        Ok(Worker {
            id,
            sandbox: Sandbox::new(&settings.limits, &deadline, &settings.files)?,
            host: Rc::new(Host::new(&settings, to_self, deadline.clone())),
            deadline,
            outbox,
            controls,
            deferred: VecDeque::new(),
            settings,
            scripts: HashMap::new(),
            pending: Vec::new(),
            next_call: 0,
            rebuild: false,
        })
    }

    fn serve(&mut self, jobs: &Receiver<HttpJob>) {
        let controls = self.controls.clone();
        loop {
            let controlled = self.apply_controls();
            if controlled && !self.abandoned() {
                // A settled host call may have finished a pending call: answer it before
                // waiting, not at its deadline.
                self.tick();
            }
            if self.abandoned() {
                break;
            }
            let idle = jobs.is_empty();
            if idle {
                // About to wait: the burst is over, send its replies.
                self.outbox.hand_over();
            }
            match self.wait(jobs, &controls) {
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
            if self.abandoned() {
                break;
            }
            self.tick();
        }
        if self.abandoned() {
            tracing::warn!(
                worker = self.id,
                "a JavaScript worker that was replaced while stuck came back and stops"
            );
        }
    }

    /// Applies the control messages waiting in its queue; whether there were any.
    pub(crate) fn apply_controls(&mut self) -> bool {
        let mut controlled = false;
        while !self.abandoned()
            && let Ok(control) = self.controls.try_recv()
        {
            self.control(control);
            controlled = true;
        }
        controlled
    }

    /// Whether the watchdog replaced this worker while it was stuck: it must stop, and
    /// take nothing more from the queues.
    fn abandoned(&self) -> bool {
        self.deadline.abandoned()
    }

    /// Fires due timers, settles finished promises, and rebuilds the runtime if a failure
    /// asked for it: what follows every event.
    pub(crate) fn tick(&mut self) {
        while !self.abandoned()
            && let Some(control) = self.deferred.pop_front()
        {
            self.control(control);
        }
        self.host.sql.borrow_mut().expire(Instant::now());
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
            .map(|call| call.deadline)
            .chain(self.host.timers.borrow().next_due())
            .chain(self.host.sql.borrow().next_expiry())
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
        self.call_for(route, input, reply);
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
        self.call_for(route, CallInput::Socket { socket, event }, reply);
    }

    /// Runs a call whose client waits on `reply`, kept in the outbox while it runs.
    fn call_for(&mut self, route: RouteKey, input: CallInput, reply: oneshot::Sender<Response>) {
        let call = self.next_call();
        self.outbox.begin(
            Doing::Call(route.clone()),
            Some(Waiter::Call { call, reply }),
        );
        match self.call(call, route, input) {
            Call::Done(response) => self.outbox.answer_current(response),
            Call::Pending(waiting) => {
                self.outbox.park_current();
                self.pending.push(waiting);
            }
        }
    }

    /// A fresh call id (ids start at 1).
    pub(crate) fn next_call(&mut self) -> u64 {
        self.next_call += 1;
        self.next_call
    }

    /// Runs a handler as call `call` and returns its answer, or the call to
    /// [`Worker::park`] when the handler's promise is still pending.
    pub(crate) fn call(&mut self, call: u64, route: RouteKey, input: CallInput) -> Call {
        let limits = &self.settings.limits;
        if self.pending.len() >= limits.pending_per_worker {
            return Call::Done(unavailable("too many requests are waiting for this worker"));
        }
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
        let budget = Budget {
            guard: &self.deadline,
            deadline: Instant::now() + limits.call_timeout,
            limit: limits.call_timeout,
        };
        let request_id = input.log_id();
        *self.host.request_id.borrow_mut() = Some(request_id.clone());
        let outer = self.host.enter_scope(call);
        let invocation = instance.context.with(|ctx| {
            let restored = instance
                .internal
                .clone()
                .restore(&ctx)
                .and_then(|internal| Ok((internal, instance.entries.restore(&ctx)?)));
            match restored {
                Ok((internal, entries)) => {
                    let target = Target {
                        internal: &internal,
                        entries: &entries,
                        parked: &instance.parked,
                    };
                    call::invoke(&ctx, &target, budget, callee, input, call)
                }
                Err(error) => Invocation::Finished(Err(Failure::Missing(error.to_string()))),
            }
        });
        *self.host.request_id.borrow_mut() = None;
        self.host.enter_scope(outer);
        let deadline = budget.deadline;
        match invocation {
            Invocation::Finished(outcome) => {
                self.host.end_scope(call, outcome.is_ok());
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
    /// resolves or rejects it); its continuations run at once.
    pub(crate) fn settle_host_call(
        &mut self,
        script: &Arc<str>,
        version: u64,
        id: u32,
        result: Result<String, crate::job::HostCallError>,
    ) {
        let (ok, text, status) = match result {
            Ok(text) => (true, text, None),
            Err(error) => (false, error.message, error.status),
        };
        let _ = self.run_internal(
            script,
            Some(version),
            Doing::Settling(script.clone()),
            "settle",
            (id, ok, text, status),
            || CallLabel {
                script: script.clone(),
                handler: "executeGraphQL continuation".into(),
                route: "graphQLRegistry.executeGraphQL".into(),
            },
        );
    }

    /// Hands a `BroadcastChannel` message to the running version of every script: each of
    /// its channels called `name` receives it, except the one that sent it.
    pub(crate) fn deliver_channel(&mut self, name: &str, data: &str, sender: Option<&str>) {
        let scripts: Vec<Arc<str>> = self.scripts.keys().cloned().collect();
        for script in &scripts {
            let _ = self.run_internal(
                script,
                None,
                Doing::Settling(script.clone()),
                "channel",
                (name, data, sender),
                || CallLabel {
                    script: script.clone(),
                    handler: "a BroadcastChannel message handler".into(),
                    route: format!("BroadcastChannel {name}"),
                },
            );
        }
    }

    /// Runs the prelude's `internal[name](...args)` in `script`'s instance of `version` (its
    /// running one when `None`) as a section of its own: a call scope, the call limit, the
    /// outbox told it is `doing`. A failure is logged as `label` names it, and returned.
    fn run_internal<A>(
        &mut self,
        script: &Arc<str>,
        version: Option<u64>,
        doing: Doing,
        name: &str,
        args: A,
        label: impl FnOnce() -> CallLabel,
    ) -> Result<(), Failure>
    where
        A: for<'js> rquickjs::function::IntoArgs<'js>,
    {
        let scope = self.next_call();
        let found = match version {
            Some(version) => self.find(script, version),
            None => self
                .scripts
                .get(script)
                .and_then(|versions| versions.current.as_ref()),
        };
        let Some(instance) = found else {
            return Ok(());
        };
        let limit = self.settings.limits.call_timeout;
        let budget = Budget {
            guard: &self.deadline,
            deadline: Instant::now() + limit,
            limit,
        };
        let began = self.outbox.begin(doing, None);
        let outer = self.host.enter_scope(scope);
        let outcome = instance.context.with(|ctx| {
            let (internal, leave) = instance
                .internal
                .clone()
                .restore(&ctx)
                .and_then(|internal| Ok((internal, instance.entries.leave(&ctx)?)))
                .map_err(|error| Failure::Missing(error.to_string()))?;
            call::call_internal(&ctx, (&internal, &leave), budget, name, args)
        });
        self.host.enter_scope(outer);
        self.host.end_scope(scope, outcome.is_ok());
        if began {
            self.outbox.end();
        }
        if let Err(failure) = &outcome {
            failure.log(&label(), "-");
        }
        outcome
    }

    /// Keeps a call whose promise is pending until it settles (or its deadline passes); the
    /// response then goes to `reply`.
    pub(crate) fn park(&mut self, waiting: Waiting, reply: oneshot::Sender<Response>) {
        self.outbox.park(waiting.call, reply);
        self.pending.push(waiting);
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
        let limit = self.settings.limits.call_timeout;
        let mut waiting = Vec::with_capacity(self.pending.len());
        for call in std::mem::take(&mut self.pending) {
            if self.abandoned() {
                break;
            }
            let Some(instance) = self.find(&call.route.script, call.route.version) else {
                let response = unavailable("the script was unloaded while the request waited");
                self.host.end_scope(call.call, false);
                self.outbox.answer(call.call, response);
                continue;
            };
            let budget = Budget {
                guard: &self.deadline,
                deadline: call.deadline,
                limit,
            };
            let outcome = instance.context.with(|ctx| {
                call::poll_pending(&ctx, &instance.parked, budget, call.call, call.expect)
            });
            match outcome {
                None => waiting.push(call),
                Some(outcome) => {
                    self.host.end_scope(call.call, outcome.is_ok());
                    let response = self.finish(outcome, &call.route, &call.request_id, call.expect);
                    self.outbox.answer(call.call, response);
                }
            }
        }
        waiting.append(&mut self.pending);
        self.pending = waiting;
    }

    fn fire_due_timers(&mut self) {
        let now = Instant::now();
        loop {
            if self.abandoned() {
                break;
            }
            let Some(timer) = self.host.timers.borrow_mut().pop_due(now) else {
                break;
            };
            let fired = self.run_internal(
                &timer.script,
                Some(timer.version),
                Doing::Timer(timer.script.clone()),
                "fire",
                (timer.id,),
                || CallLabel {
                    script: timer.script.clone(),
                    handler: "timer callback".into(),
                    route: "setTimeout/setInterval".into(),
                },
            );
            if fired.is_err_and(|failure| failure.poisons_runtime()) {
                self.rebuild = true;
            }
        }
    }
}
