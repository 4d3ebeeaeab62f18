//! Script changes on one worker: loading a version beside the running one (the API, the
//! top level, `init()`), committing or dropping it, unloading, and rebuilding the runtime
//! after it ran out of memory.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Instant;

use rquickjs::context::EvalOptions;
use rquickjs::promise::PromiseState;
use rquickjs::{Context, Ctx, Function, Object, Persistent, Promise, Value};

use super::call::{self, ParkedPromises};
use super::sandbox::Sandbox;
use super::{ScriptInstance, Worker};
use crate::bindings::{self, ScriptHost};
use crate::deadline::Deadline;
use crate::error::ScriptError;
use crate::job::Control;
use crate::outbox::{Doing, Waiter};
use crate::response::unavailable;
use crate::script::Script;
use crate::source_lines;
use crate::thrown::Thrown;

/// The call id an async `init()` is parked under (calls count from 1).
const INIT: u64 = 0;

/// Why waiting for a parked promise stopped early.
pub(super) enum Stop {
    /// It was rejected (described as a load error).
    Rejected(ScriptError),
    /// Its deadline passed.
    TimedOut,
    /// The watchdog replaced this worker.
    Replaced,
}

impl Worker {
    /// Applies a script change.
    pub(crate) fn control(&mut self, control: Control) {
        match control {
            Control::Prepare {
                script,
                version,
                reply,
            } => {
                let name = script.name().clone();
                self.outbox
                    .begin(Doing::Loading(name.clone()), Some(Waiter::Load(reply)));
                let result = self.load(script, version);
                if let Some(Waiter::Load(reply)) = self.outbox.end() {
                    let _ = reply.send(result.map(|()| {
                        self.scripts
                            .get(&name)
                            .and_then(|slot| slot.staged.as_ref())
                            .map(|instance| instance.registrations.clone())
                            .unwrap_or_default()
                    }));
                }
            }
            Control::Commit { script, version } => {
                let name = script.name();
                let slot = self.scripts.get_mut(name);
                match slot {
                    Some(slot) if slot.staged.as_ref().is_some_and(|s| s.version == version) => {
                        slot.previous = slot.current.take();
                        slot.current = slot.staged.take();
                    }
                    Some(slot) if slot.current.as_ref().is_some_and(|s| s.version == version) => {}
                    // Prepared on the worker this one replaced: load it here now.
                    _ => self.adopt(script, version),
                }
            }
            Control::Abort { name, version } => {
                if let Some(slot) = self.scripts.get_mut(&name)
                    && slot.staged.as_ref().is_some_and(|s| s.version == version)
                {
                    slot.staged = None;
                }
            }
            Control::Test {
                script,
                version,
                filter,
                reply,
            } => {
                let began = self
                    .outbox
                    .begin(Doing::Loading(script.name().clone()), None);
                let result = self.run_tests(script, version, filter);
                if began {
                    self.outbox.end();
                }
                let _ = reply.send(result);
            }
            Control::Remove { name } => {
                self.scripts.remove(&name);
                self.host.sql.borrow_mut().forget(&name);
            }
            Control::Socket(job) => self.socket(*job),
            Control::Settle {
                script,
                version,
                id,
                result,
            } => self.settle_host_call(&script, version, id, result),
            Control::Channel { name, data, sender } => {
                self.deliver_channel(&name, &data, sender.as_deref());
            }
        }
    }

    /// Loads `script` as `version` and makes it the running version at once (a
    /// replacement worker's start, a rebuilt runtime, a commit of a version this worker
    /// never prepared).
    pub(super) fn adopt(&mut self, script: Script, version: u64) {
        let name = script.name().clone();
        match self.load(script, version) {
            Ok(()) => {
                if let Some(slot) = self.scripts.get_mut(&name) {
                    slot.previous = slot.current.take();
                    slot.current = slot.staged.take();
                }
            }
            Err(error) => {
                tracing::error!(worker = self.id, %error, "cannot load the running version of a script on this worker");
            }
        }
    }

    /// Evaluates `script` as `version` into a new context, staged beside the running
    /// version: the script API, the top level, then `init()` (awaited if it is async).
    fn load(&mut self, script: Script, version: u64) -> Result<(), ScriptError> {
        let name = script.name().clone();
        let began = self.outbox.begin(Doing::Loading(name.clone()), None);
        // The top level and init() are one call for database transactions.
        let scope = self.next_call();
        let outer = self.host.enter_scope(scope);
        let result = self.load_staged(script, version, None);
        self.host.enter_scope(outer);
        self.host.end_scope(scope, result.is_ok());
        if began {
            self.outbox.end();
        }
        if result.is_err() {
            self.discard_staged(&name, version);
        }
        result
    }

    /// Evaluates `script` as the staged `version`; for a test run, with the test prelude
    /// and its database work pinned to `test_scope`.
    pub(super) fn load_staged(
        &mut self,
        script: Script,
        version: u64,
        test_scope: Option<u64>,
    ) -> Result<(), ScriptError> {
        let name = script.name().clone();
        let context = Context::full(&self.sandbox.runtime).map_err(|error| {
            ScriptError::new(
                &name,
                format!("cannot create a JavaScript context: {error}"),
            )
        })?;
        let host = Rc::new(ScriptHost {
            name: name.clone(),
            version,
            registrations: RefCell::new(Some(Vec::new())),
            host: self.host.clone(),
            test_scope,
        });
        let (internal, entries) = context.with(|ctx| {
            let installed = bindings::install(&ctx, &host).and_then(|internal| {
                let entries = call::SavedEntries::save(&ctx, &internal)?;
                Ok((Persistent::save(&ctx, internal), entries))
            });
            installed.map_err(|error| {
                let thrown = Thrown::catch(&ctx, &error);
                ScriptError::new(
                    &name,
                    format!("cannot install the script API: {}", thrown.message),
                )
            })
        })?;
        let instance = ScriptInstance {
            script,
            version,
            registrations: Vec::new(),
            host,
            internal,
            entries,
            parked: ParkedPromises::default(),
            context,
        };
        let deadline = Instant::now() + self.settings.limits.call_timeout;
        let started = self.evaluate(&instance, deadline);
        // Which files its modules read: a change to one of them reloads it.
        self.settings
            .files
            .record(&name, self.sandbox.loaded.take());
        self.scripts.entry(name.clone()).or_default().staged = Some(instance);
        if started? {
            let waited = self.await_parked(&name, version, INIT, deadline);
            if let Some(instance) = self.find(&name, version) {
                instance.parked.forget(INIT);
            }
            waited.map_err(|stop| match stop {
                Stop::Rejected(error) => error,
                Stop::Replaced => {
                    ScriptError::new(&name, "the worker was replaced while init() ran")
                }
                Stop::TimedOut => ScriptError::new(
                    &name,
                    format!(
                        "init() did not finish within {} ms",
                        self.settings.limits.call_timeout.as_millis()
                    ),
                ),
            })?;
        }
        if let Some(instance) = self
            .scripts
            .get_mut(&name)
            .and_then(|slot| slot.staged.as_mut())
        {
            instance.registrations = instance
                .host
                .registrations
                .borrow_mut()
                .take()
                .unwrap_or_default();
        }
        Ok(())
    }

    pub(super) fn discard_staged(&mut self, name: &Arc<str>, version: u64) {
        if let Some(slot) = self.scripts.get_mut(name) {
            if slot.staged.as_ref().is_some_and(|s| s.version == version) {
                slot.staged = None;
            }
            if slot.current.is_none() && slot.previous.is_none() && slot.staged.is_none() {
                self.scripts.remove(name);
            }
        }
    }

    /// Runs the top level and calls `init()`, as one section under `deadline`. Returns
    /// whether `init()` returned a promise that is still pending (parked under `INIT`).
    fn evaluate(&self, instance: &ScriptInstance, deadline: Instant) -> Result<bool, ScriptError> {
        let name = instance.script.name();
        let limit = self.settings.limits.call_timeout;
        let guard = &self.deadline;
        let files = &self.settings.files;
        instance.context.with(|ctx| {
            let mut options = EvalOptions::default();
            options.global = true;
            options.strict = false;
            options.backtrace_barrier = true;
            options.filename = Some(name.to_string());
            call::guarded(guard, deadline, || {
                let result = if instance.script.is_module() {
                    instance
                        .internal
                        .clone()
                        .restore(&ctx)
                        .and_then(|internal| {
                            evaluate_module(&ctx, &instance.script, files, &internal)
                        })
                } else {
                    if let Some(lines) = instance.script.line_map() {
                        source_lines::remember(&ctx, name, lines.clone());
                    }
                    ctx.eval_with_options::<(), _>(instance.script.code().as_bytes(), options)
                        .and_then(|()| call_init(&ctx))
                };
                if result.is_ok() {
                    call::drain_microtasks(&ctx, guard, deadline);
                }
                let promise =
                    result.map_err(|error| load_error(&ctx, guard, &error, name, limit))?;
                let Some(promise) = promise else {
                    return Ok(false);
                };
                match promise.state() {
                    PromiseState::Pending => {
                        instance.parked.park(&ctx, INIT, promise);
                        Ok(true)
                    }
                    PromiseState::Resolved => Ok(false),
                    PromiseState::Rejected => {
                        Err(rejected_init(&ctx, guard, &promise, name, limit))
                    }
                }
            })
        })
    }

    /// Runs this worker's event loop (timers) until the promise parked under `key` in
    /// `name`'s `version` settles, or `deadline`. The promise stays parked.
    pub(super) fn await_parked(
        &mut self,
        name: &Arc<str>,
        version: u64,
        key: u64,
        deadline: Instant,
    ) -> Result<(), Stop> {
        let limit = self.settings.limits.call_timeout;
        loop {
            if self.abandoned() {
                break Err(Stop::Replaced);
            }
            let guard = &self.deadline;
            let state = self.find(name, version).map(|instance| {
                instance.context.with(|ctx| {
                    let Some(promise) = instance.parked.get(&ctx, key) else {
                        return Ok(true);
                    };
                    match promise.state() {
                        PromiseState::Pending => Ok(false),
                        PromiseState::Resolved => Ok(true),
                        PromiseState::Rejected => Err(call::guarded(guard, deadline, || {
                            rejected_init(&ctx, guard, &promise, name, limit)
                        })),
                    }
                })
            });
            match state {
                None | Some(Ok(true)) => break Ok(()),
                Some(Err(error)) => break Err(Stop::Rejected(error)),
                Some(Ok(false)) => {}
            }
            let now = Instant::now();
            if now >= deadline {
                break Err(Stop::TimedOut);
            }
            let next = self
                .host
                .timers
                .borrow()
                .next_due()
                .map_or(deadline, |due| due.min(deadline));
            // Host calls (fetch, executeGraphQL, a statement on PostgreSQL) settle through
            // the control queue: take their results while waiting.
            if let Ok(control) = self
                .controls
                .recv_timeout(next.saturating_duration_since(now))
            {
                self.control_while_waiting(control);
            }
            self.fire_due_timers();
        }
    }

    /// Applies what settles promises (a host call's result, a channel's message) at once,
    /// while the worker waits for a promise of its own; keeps other control messages for
    /// after (a script change must not land in the middle of a test run or a load).
    fn control_while_waiting(&mut self, control: Control) {
        match control {
            Control::Settle { .. } | Control::Channel { .. } => self.control(control),
            other => self.deferred.push_back(other),
        }
    }

    /// Replaces a runtime that ran out of memory: every running script is evaluated again
    /// in a fresh one. Requests still waiting on the old runtime get 503 (retry at once).
    pub(super) fn rebuild_runtime(&mut self) {
        self.rebuild = false;
        tracing::warn!(
            worker = self.id,
            "rebuilding the JavaScript runtime after it ran out of memory"
        );
        for call in self.pending.drain(..) {
            self.outbox.answer(
                call.call,
                unavailable("the script's runtime was rebuilt; retry"),
            );
        }
        self.host.timers.borrow_mut().clear();
        let running: Vec<(Script, u64)> = self
            .scripts
            .values()
            .filter_map(|slot| slot.current.as_ref())
            .map(|instance| (instance.script.clone(), instance.version))
            .collect();
        self.scripts.clear();
        match Sandbox::new(&self.settings.limits, &self.deadline, &self.settings.files) {
            Ok(sandbox) => self.sandbox = sandbox,
            Err(error) => {
                tracing::error!(worker = self.id, %error, "cannot create a JavaScript runtime; keeping the old one");
            }
        }
        for (script, version) in running {
            self.adopt(script, version);
        }
    }
}

/// The load error for `error` of the top level or `init()` (read under the deadline).
pub(super) fn load_error(
    ctx: &Ctx<'_>,
    guard: &Deadline,
    error: &rquickjs::Error,
    name: &Arc<str>,
    limit: std::time::Duration,
) -> ScriptError {
    let too_long = || {
        ScriptError::new(
            name,
            format!(
                "loading took longer than {} ms and was stopped (an endless loop at top level or in init()?)",
                limit.as_millis()
            ),
        )
    };
    if guard.fired() {
        if error.is_exception() {
            ctx.catch();
        }
        return too_long();
    }
    // Describing what was thrown may run script code (a getter, a `toJSON`) that the
    // deadline stops too.
    let thrown = Thrown::catch(ctx, error);
    if guard.fired() {
        return too_long();
    }
    thrown.into_script_error(name)
}

/// The load error of an `init()` whose promise was rejected (read under the deadline).
fn rejected_init(
    ctx: &Ctx<'_>,
    guard: &Deadline,
    promise: &Promise<'_>,
    name: &Arc<str>,
    limit: std::time::Duration,
) -> ScriptError {
    match promise.result::<Value>().and_then(Result::err) {
        Some(error) => load_error(ctx, guard, &error, name, limit),
        None => ScriptError::new(name, "init() was rejected"),
    }
}

/// Calls the script's `init()`, if it defines one, with `{ kind: "init" }`; returns the
/// promise when it is async.
/// Evaluates `script` as an ES module (its imports read by the worker's loader, from its
/// app's files) and calls its `init()`: the one it exports, or a global one.
fn evaluate_module<'js>(
    ctx: &Ctx<'js>,
    script: &Script,
    files: &crate::modules::AppFiles,
    internal: &Object<'js>,
) -> rquickjs::Result<Option<Promise<'js>>> {
    let name = match script.origin() {
        Some(origin) => {
            files.allow(&origin.root);
            origin.file.to_string_lossy().into_owned()
        }
        None => script.name().to_string(),
    };
    if let Some(lines) = script.line_map() {
        source_lines::remember(ctx, &name, lines.clone());
    }
    let (module, evaluated) =
        rquickjs::Module::declare(ctx.clone(), name, script.code().as_bytes())?.eval()?;
    match evaluated.finish::<()>() {
        Err(rquickjs::Error::WouldBlock) => {
            return Err(rquickjs::Exception::throw_message(
                ctx,
                "the module's top-level await waits for something that does not settle while the script loads (a timer, a request): do that in init()",
            ));
        }
        other => other?,
    }
    let namespace = module.namespace()?;
    // `export default { fetch(request, env, ctx) }`, as Deno and Workers take it.
    let default: Value = namespace.get("default")?;
    if let Some(object) = default.as_object()
        && object.get::<_, Value>("fetch")?.is_function()
    {
        internal
            .get::<_, Function>("serveFetchExport")?
            .call::<_, ()>((default.clone(),))?;
    }
    // `export default { scheduled(controller, env, ctx), crons: [...] }`: cron jobs.
    if let Some(object) = default.as_object()
        && object.get::<_, Value>("scheduled")?.is_function()
    {
        internal
            .get::<_, Function>("serveScheduledExport")?
            .call::<_, ()>((default.clone(),))?;
    }
    let exported: Value = namespace.get("init")?;
    call_init_with(ctx, exported)
}

fn call_init<'js>(ctx: &Ctx<'js>) -> rquickjs::Result<Option<Promise<'js>>> {
    call_init_with(ctx, Value::new_undefined(ctx.clone()))
}

/// Calls `init` if it is a function, else the global `init()` if there is one.
fn call_init_with<'js>(ctx: &Ctx<'js>, init: Value<'js>) -> rquickjs::Result<Option<Promise<'js>>> {
    let init: Value = if init.is_function() {
        init
    } else {
        ctx.globals().get("init")?
    };
    let Some(init) = init.as_function() else {
        return Ok(None);
    };
    let context = Object::new(ctx.clone())?;
    context.set("kind", "init")?;
    let result: Value = Function::call(init, (context,))?;
    Ok(result.into_promise())
}
