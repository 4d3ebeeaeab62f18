//! Script changes on one worker: loading a version beside the running one (the API, the
//! top level, `init()`), committing or dropping it, unloading, and rebuilding the runtime
//! after it ran out of memory.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Instant;

use rquickjs::context::EvalOptions;
use rquickjs::promise::PromiseState;
use rquickjs::{Context, Function, Object, Value};

use super::failure::Thrown;
use super::sandbox::Sandbox;
use super::{ScriptInstance, Worker, call};
use crate::bindings::{self, ScriptHost};
use crate::error::ScriptError;
use crate::pool::Control;
use crate::response::unavailable;
use crate::script::Script;

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
                let result = self.load(script, version);
                let _ = reply.send(result.map(|()| {
                    self.scripts
                        .get(&name)
                        .and_then(|slot| slot.staged.as_ref())
                        .map(|instance| instance.registrations.clone())
                        .unwrap_or_default()
                }));
            }
            Control::Commit { name, version } => {
                if let Some(slot) = self.scripts.get_mut(&name)
                    && slot.staged.as_ref().is_some_and(|s| s.version == version)
                {
                    slot.previous = slot.current.take();
                    slot.current = slot.staged.take();
                }
            }
            Control::Abort { name, version } => {
                if let Some(slot) = self.scripts.get_mut(&name)
                    && slot.staged.as_ref().is_some_and(|s| s.version == version)
                {
                    slot.staged = None;
                }
            }
            Control::Remove { name } => {
                self.scripts.remove(&name);
            }
            Control::Socket(job) => self.socket(*job),
            Control::Settle {
                script,
                version,
                id,
                result,
            } => self.settle_host_call(&script, version, id, result),
        }
    }

    /// Evaluates `script` as `version` into a new context, staged beside the running
    /// version: the script API, the top level, then `init()` (awaited if it is async).
    fn load(&mut self, script: Script, version: u64) -> Result<(), ScriptError> {
        let name = script.name().clone();
        let limits = &self.settings.limits;
        if script.source().len() > limits.script_bytes {
            return Err(ScriptError::new(
                &name,
                format!(
                    "the script is {} bytes; the limit is {} (raise it with --max-script-size)",
                    script.source().len(),
                    limits.script_bytes
                ),
            ));
        }
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
        });
        let instance = ScriptInstance {
            script,
            version,
            registrations: Vec::new(),
            host,
            context,
        };
        let deadline = Instant::now() + limits.call_timeout;
        let started = self.evaluate(&instance, deadline);
        let slot = self.scripts.entry(name.clone()).or_default();
        slot.staged = Some(instance);
        let init_pending = match started {
            Ok(pending) => pending,
            Err(error) => {
                self.discard_staged(&name, version);
                return Err(error);
            }
        };
        if init_pending && let Err(error) = self.await_init(&name, version, deadline) {
            self.discard_staged(&name, version);
            return Err(error);
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

    fn discard_staged(&mut self, name: &Arc<str>, version: u64) {
        if let Some(slot) = self.scripts.get_mut(name) {
            if slot.staged.as_ref().is_some_and(|s| s.version == version) {
                slot.staged = None;
            }
            if slot.current.is_none() && slot.previous.is_none() && slot.staged.is_none() {
                self.scripts.remove(name);
            }
        }
    }

    /// Installs the API, runs the top level and calls `init()`. Returns whether `init()`
    /// returned a promise that is still pending (parked under the key `init`).
    fn evaluate(&self, instance: &ScriptInstance, deadline: Instant) -> Result<bool, ScriptError> {
        let name = instance.script.name();
        let limit = self.settings.limits.call_timeout;
        let guard = &self.sandbox.deadline;
        instance.context.with(|ctx| {
            bindings::install(&ctx, &instance.host).map_err(|error| {
                ScriptError::new(name, format!("cannot install the script API: {error}"))
            })?;
            let mut options = EvalOptions::default();
            options.global = true;
            options.strict = false;
            options.backtrace_barrier = true;
            options.filename = Some(name.to_string());
            guard.arm(deadline);
            let result = ctx
                .eval_with_options::<(), _>(instance.script.source().as_bytes(), options)
                .and_then(|()| call_init(&ctx));
            if result.is_ok() {
                call::drain_microtasks(&ctx, deadline);
            }
            let interrupted = guard.disarm();
            let failed = |error: rquickjs::Error| {
                if interrupted {
                    ScriptError::new(
                        name,
                        format!(
                            "loading took longer than {} ms and was stopped (an endless loop at top level or in init()?)",
                            limit.as_millis()
                        ),
                    )
                } else {
                    Thrown::catch(&ctx, &error).into_script_error(name)
                }
            };
            let Some(promise) = result.map_err(failed)? else {
                return Ok(false);
            };
            match promise.state() {
                PromiseState::Pending => {
                    let parked = bindings::internal(&ctx)
                        .and_then(|internal| internal.get::<_, Object>("pending"))
                        .and_then(|pending| pending.set("init", promise));
                    parked.map_err(failed)?;
                    Ok(true)
                }
                PromiseState::Resolved => Ok(false),
                PromiseState::Rejected => {
                    let error = promise.result::<Value>().and_then(Result::err);
                    Err(match error {
                        Some(error) => Thrown::catch(&ctx, &error).into_script_error(name),
                        None => ScriptError::new(name, "init() was rejected"),
                    })
                }
            }
        })
    }

    /// Runs this worker's event loop until the async `init()` of the staged version settles.
    fn await_init(
        &mut self,
        name: &Arc<str>,
        version: u64,
        deadline: Instant,
    ) -> Result<(), ScriptError> {
        loop {
            let state = self.find(name, version).map(|instance| {
                instance.context.with(|ctx| {
                    let lookup = bindings::internal(&ctx)
                        .and_then(|internal| internal.get::<_, Object>("pending"))
                        .and_then(|pending| pending.get::<_, Value>("init"));
                    match lookup.ok().and_then(|value| value.into_promise()) {
                        None => Ok(true),
                        Some(promise) => match promise.state() {
                            PromiseState::Pending => Ok(false),
                            PromiseState::Resolved => Ok(true),
                            PromiseState::Rejected => {
                                Err(promise.result::<Value>().and_then(Result::err).map_or_else(
                                    || ScriptError::new(name, "init() was rejected"),
                                    |error| Thrown::catch(&ctx, &error).into_script_error(name),
                                ))
                            }
                        },
                    }
                })
            });
            match state {
                None | Some(Ok(true)) => return Ok(()),
                Some(Err(error)) => return Err(error),
                Some(Ok(false)) => {}
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(ScriptError::new(
                    name,
                    format!(
                        "init() did not finish within {} ms",
                        self.settings.limits.call_timeout.as_millis()
                    ),
                ));
            }
            let next = self
                .host
                .timers
                .borrow()
                .next_due()
                .map_or(deadline, |due| due.min(deadline));
            std::thread::sleep(next.saturating_duration_since(now));
            self.fire_due_timers();
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
            let _ = call
                .reply
                .send(unavailable("the script's runtime was rebuilt; retry"));
        }
        self.host.timers.borrow_mut().clear();
        let running: Vec<(Script, u64)> = self
            .scripts
            .values()
            .filter_map(|slot| slot.current.as_ref())
            .map(|instance| (instance.script.clone(), instance.version))
            .collect();
        self.scripts.clear();
        match Sandbox::new(&self.settings.limits, self.replies.clone()) {
            Ok(sandbox) => self.sandbox = sandbox,
            Err(error) => {
                tracing::error!(worker = self.id, %error, "cannot create a JavaScript runtime; keeping the old one");
            }
        }
        for (script, version) in running {
            let name = script.name().clone();
            match self.load(script, version) {
                Ok(()) => {
                    if let Some(slot) = self.scripts.get_mut(&name) {
                        slot.current = slot.staged.take();
                    }
                }
                Err(error) => {
                    tracing::error!(worker = self.id, %error, "cannot reload the script after a rebuild")
                }
            }
        }
    }
}

/// Calls the script's `init()`, if it defines one, with `{ kind: "init" }`; returns the
/// promise when it is async.
fn call_init<'js>(ctx: &rquickjs::Ctx<'js>) -> rquickjs::Result<Option<rquickjs::Promise<'js>>> {
    let init: Value = ctx.globals().get("init")?;
    let Some(init) = init.as_function() else {
        return Ok(None);
    };
    let context = Object::new(ctx.clone())?;
    context.set("kind", "init")?;
    let result: Value = Function::call(init, (context,))?;
    Ok(result.into_promise())
}
