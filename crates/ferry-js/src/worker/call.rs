//! Calls into a script's context: a route handler, a timer callback, a pending promise, a
//! host call's settlement.
//!
//! Each runs as one section under the deadline (see [`Deadline`]): the call itself, the
//! promise jobs it queued, reading what it returned and describing what it threw all run
//! script code, so none of them happens with the deadline disarmed.

use std::cell::RefCell;
use std::collections::HashMap;
use std::time::{Duration, Instant};

use ferry_core::Response;
use rquickjs::function::Args;
use rquickjs::promise::PromiseState;
use rquickjs::{Ctx, Function, Object, Persistent, Promise, TypedArray, Value};

use super::failure::{Failure, Stage};
use crate::bindings::context;
use crate::deadline::Deadline;
use crate::job::{CallInput, SocketEvent};
use crate::registration::{McpKind, RouteKind};
use crate::response;
use ferry_graphql::RootKind;

/// What a handler's return value is turned into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Expect {
    /// An HTTP response (a route handler).
    Response,
    /// A connection's metadata (a stream's customizer, a WebSocket's `open`), carried in a
    /// response.
    Metadata,
    /// Nothing (a WebSocket's `message` and `close`): any value is ignored.
    Nothing,
    /// Any value, as JSON text in a 200 (a GraphQL resolver).
    Json,
}

impl Expect {
    fn convert(self, value: &Value<'_>) -> Result<Response, response::InvalidResponse> {
        match self {
            Expect::Response => response::from_js(value),
            Expect::Metadata => response::metadata_from_js(value),
            Expect::Nothing => Ok(response::no_metadata()),
            Expect::Json => response::json_from_js(value),
        }
    }
}

/// What the handler of a route of `kind` must return for `input`.
pub(crate) fn expect(input: &CallInput, kind: RouteKind) -> Expect {
    match (kind, input) {
        (RouteKind::Http, _) => Expect::Response,
        (RouteKind::GraphQl(_) | RouteKind::Mcp(_) | RouteKind::Job | RouteKind::Listener, _) => {
            Expect::Json
        }
        (RouteKind::Stream { .. }, _)
        | (
            RouteKind::WebSocket,
            CallInput::Socket {
                event: SocketEvent::Open(_),
                ..
            },
        ) => Expect::Metadata,
        // Asset routes run no JavaScript.
        (RouteKind::WebSocket | RouteKind::Asset, _) => Expect::Nothing,
    }
}

/// `context.kind` for the handlers of a route of `kind`, when it is not `"httpRoute"`.
pub(crate) fn context_kind(kind: RouteKind) -> Option<&'static str> {
    match kind {
        RouteKind::Http | RouteKind::Asset => None,
        RouteKind::Job => Some("scheduledJob"),
        RouteKind::Listener => Some("dispatcherMessage"),
        RouteKind::Stream { .. } => Some("streamCustomization"),
        RouteKind::WebSocket => Some("webSocket"),
        RouteKind::GraphQl(RootKind::Query) => Some("graphqlQuery"),
        RouteKind::GraphQl(RootKind::Mutation) => Some("graphqlMutation"),
        RouteKind::GraphQl(RootKind::Subscription) => Some("graphqlSubscription"),
        RouteKind::Mcp(McpKind::Tool) => Some("mcpTool"),
        RouteKind::Mcp(McpKind::Resource) => Some("mcpResource"),
        RouteKind::Mcp(McpKind::Prompt) => Some("mcpPrompt"),
    }
}

/// How a call ended, as far as it has.
pub(crate) enum Invocation {
    /// With a response or a failure.
    Finished(Result<Response, Failure>),
    /// The handler returned a promise that is still pending, parked under the call's id.
    Pending,
}

/// The promises of calls waiting for them, by call id, held in Rust where the script
/// cannot reach or replace them.
#[derive(Default)]
pub(crate) struct ParkedPromises(RefCell<HashMap<u64, Persistent<Promise<'static>>>>);

impl ParkedPromises {
    pub(crate) fn park<'js>(&self, ctx: &Ctx<'js>, call: u64, promise: Promise<'js>) {
        self.0
            .borrow_mut()
            .insert(call, Persistent::save(ctx, promise));
    }

    pub(crate) fn get<'js>(&self, ctx: &Ctx<'js>, call: u64) -> Option<Promise<'js>> {
        let promise = self.0.borrow().get(&call).cloned()?;
        promise.restore(ctx).ok()
    }

    pub(crate) fn forget(&self, call: u64) {
        self.0.borrow_mut().remove(&call);
    }
}

/// Runs `work` as one section that must end by `deadline`.
pub(crate) fn guarded<T>(guard: &Deadline, deadline: Instant, work: impl FnOnce() -> T) -> T {
    guard.arm(deadline);
    let result = work();
    guard.disarm();
    result
}

/// Runs queued promise jobs (of every context of the runtime) until none is left or the
/// deadline has passed. A job the deadline stopped is not the current call's fault (the
/// queue is shared), so the stop is forgotten: the call's own value is still read, and any
/// script code that reading runs is stopped at once.
pub(crate) fn drain_microtasks(ctx: &Ctx<'_>, guard: &Deadline, deadline: Instant) {
    while ctx.execute_pending_job() {
        if Instant::now() >= deadline {
            break;
        }
    }
    guard.forget_fired();
}

/// Which handler a call runs and what it must return.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Callee {
    /// The handler's index among the script's registrations.
    pub index: usize,
    /// The kind of route it was registered for.
    pub kind: RouteKind,
}

/// What a call needs of the script's instance: its bookkeeping object, the prelude's entry
/// points and where its pending promises are parked.
pub(crate) struct Target<'a, 'js> {
    pub internal: &'a Object<'js>,
    pub entries: &'a Entries<'js>,
    pub parked: &'a ParkedPromises,
}

/// The prelude's functions every call uses, looked up once per script instance rather than
/// by name at every call.
pub(crate) struct Entries<'js> {
    /// `internal.context`: makes a handler's `context`.
    pub make_context: Function<'js>,
    /// `internal.leave`: the entry into the script has ended.
    pub leave: Function<'js>,
    /// `internal.handlers`: the registered handlers, by index.
    pub handlers: rquickjs::Array<'js>,
}

/// [`Entries`], kept with the script instance.
pub(crate) struct SavedEntries {
    make_context: Persistent<Function<'static>>,
    leave: Persistent<Function<'static>>,
    handlers: Persistent<rquickjs::Array<'static>>,
}

impl SavedEntries {
    /// The entry points of the prelude whose bookkeeping object is `internal`.
    pub(crate) fn save<'js>(ctx: &Ctx<'js>, internal: &Object<'js>) -> rquickjs::Result<Self> {
        Ok(SavedEntries {
            make_context: Persistent::save(ctx, internal.get::<_, Function>("context")?),
            leave: Persistent::save(ctx, internal.get::<_, Function>("leave")?),
            handlers: Persistent::save(ctx, internal.get::<_, rquickjs::Array>("handlers")?),
        })
    }

    /// All of them, in `ctx`.
    pub(crate) fn restore<'js>(&self, ctx: &Ctx<'js>) -> rquickjs::Result<Entries<'js>> {
        Ok(Entries {
            make_context: self.make_context.clone().restore(ctx)?,
            leave: self.leave(ctx)?,
            handlers: self.handlers.clone().restore(ctx)?,
        })
    }

    /// `leave` alone, in `ctx`.
    pub(crate) fn leave<'js>(&self, ctx: &Ctx<'js>) -> rquickjs::Result<Function<'js>> {
        self.leave.clone().restore(ctx)
    }
}

/// The deadline a section runs under and the limit it came from (for messages).
#[derive(Clone, Copy)]
pub(crate) struct Budget<'a> {
    pub guard: &'a Deadline,
    pub deadline: Instant,
    pub limit: Duration,
}

/// Calls the handler `callee` with `input`; a returned promise that does not settle at once
/// is parked under `call`.
pub(crate) fn invoke<'js>(
    ctx: &Ctx<'js>,
    target: &Target<'_, 'js>,
    budget: Budget<'_>,
    callee: Callee,
    input: CallInput,
    call: u64,
) -> Invocation {
    guarded(budget.guard, budget.deadline, || {
        let invocation = run(ctx, target, budget, callee, input, call);
        leave(&target.entries.leave);
        invocation
    })
}

/// Tells the prelude that the entry into the script has ended, with the promise jobs it
/// queued: the request it was for is no longer kept alive on that account (see
/// `currentRequest` in the prelude).
fn leave(leave: &Function<'_>) {
    if let Err(error) = leave.call::<_, ()>(()) {
        tracing::debug!(%error, "cannot clear the request being handled");
    }
}

/// `context.request` of a GraphQL resolver or an MCP handler: its caller's `auth`.
fn caller_request<'js>(
    ctx: &Ctx<'js>,
    internal: &Object<'js>,
    caller: Option<&ferry_auth::User>,
) -> rquickjs::Result<Object<'js>> {
    let make: Function = internal.get("caller")?;
    make.call((crate::request::user_to_js(ctx, caller)?,))
}

fn run<'js>(
    ctx: &Ctx<'js>,
    target: &Target<'_, 'js>,
    budget: Budget<'_>,
    callee: Callee,
    input: CallInput,
    call: u64,
) -> Invocation {
    let Budget {
        guard,
        deadline,
        limit,
    } = budget;
    let Callee { index, kind } = callee;
    let expect = expect(&input, kind);
    let prepared = match prepare(ctx, target, index, kind, input) {
        Ok(prepared) => prepared,
        Err(error) => {
            let failure = match Failure::from_error(ctx, &error, guard, limit, Stage::Running) {
                Failure::Thrown(thrown) => Failure::Missing(thrown.message),
                other => other,
            };
            return Invocation::Finished(Err(failure));
        }
    };
    let value = match prepared.call() {
        Ok(value) => value,
        Err(error) => {
            let failure = Failure::from_error(ctx, &error, guard, limit, Stage::Running);
            return Invocation::Finished(Err(failure));
        }
    };
    drain_microtasks(ctx, guard, deadline);
    match value.as_promise() {
        None => Invocation::Finished(
            expect
                .convert(&value)
                .map_err(|invalid| Failure::invalid(invalid, guard, limit)),
        ),
        Some(promise) if promise.state() == PromiseState::Pending => {
            target.parked.park(ctx, call, promise.clone());
            Invocation::Pending
        }
        Some(promise) => Invocation::Finished(settled(ctx, promise, expect, guard, limit)),
    }
}

/// What to call: a handler with its one argument (a route handler's or a stream
/// customizer's `context`, a resolver's `{ args, kind }`), or the prelude's socket event
/// dispatcher with its arguments.
enum Prepared<'js> {
    /// The common case, called without building an argument list.
    One(Function<'js>, Object<'js>),
    Many(Function<'js>, Args<'js>),
}

impl<'js> Prepared<'js> {
    fn call(self) -> rquickjs::Result<Value<'js>> {
        match self {
            Prepared::One(function, argument) => function.call((argument,)),
            Prepared::Many(function, args) => args.apply(&function),
        }
    }
}

/// The call for `input`: a route handler gets `context`; a WebSocket event goes to the
/// prelude's `internal.socketEvent(index, socket, event, payload, extra)`, which finds the
/// socket's object and the handler.
fn prepare<'js>(
    ctx: &Ctx<'js>,
    target: &Target<'_, 'js>,
    index: usize,
    kind: RouteKind,
    input: CallInput,
) -> rquickjs::Result<Prepared<'js>> {
    let internal = target.internal;
    let make_context = &target.entries.make_context;
    let (socket, event) = match input {
        CallInput::Http(request) => {
            let handler = resolve_handler(ctx, &target.entries.handlers, index)?;
            let argument = context::create(ctx, make_context, request, context_kind(kind))?;
            return Ok(Prepared::One(handler, argument));
        }
        CallInput::Socket { socket, event } => (socket, event),
        CallInput::Json { input, caller } => {
            let handler = resolve_handler(ctx, &target.entries.handlers, index)?;
            let context = Object::new(ctx.clone())?;
            context.set("request", caller_request(ctx, internal, caller.as_deref())?)?;
            let input: Value = ctx.json_parse(input)?;
            if kind == RouteKind::Mcp(McpKind::Resource) {
                // `{ uri, params }`: the template's variables are the arguments.
                let input = input.into_object().unwrap_or(Object::new(ctx.clone())?);
                context.set("args", input.get::<_, Value>("params")?)?;
                context.set("uri", input.get::<_, Value>("uri")?)?;
            } else {
                context.set("args", input)?;
            }
            context.set("kind", context_kind(kind).unwrap_or("json"))?;
            return Ok(Prepared::One(handler, context));
        }
        CallInput::Completion { input, caller } => {
            // aiwebengine's shape: the prompt's handler, told it is completing an argument.
            let handler = resolve_handler(ctx, &target.entries.handlers, index)?;
            let request = caller_request(ctx, internal, caller.as_deref())?;
            let input: Object = ctx.json_parse(input)?.into_object().ok_or_else(|| {
                rquickjs::Exception::throw_type(ctx, "a completion request is an object")
            })?;
            let context = Object::new(ctx.clone())?;
            let arguments: Value = input.get("arguments")?;
            context.set("request", request)?;
            context.set("kind", context_kind(kind).unwrap_or("json"))?;
            context.set("mode", "completion")?;
            context.set("completingArgument", input.get::<_, Value>("argument")?)?;
            context.set("partialValue", input.get::<_, Value>("partial")?)?;
            context.set("args", arguments.clone())?;
            context.set("arguments", arguments)?;
            return Ok(Prepared::One(handler, context));
        }
    };
    let dispatch: Function = internal.get("socketEvent")?;
    let mut args = Args::new(ctx.clone(), 5);
    args.push_arg(index)?;
    // Socket ids count up from 1 and stay far below 2^53.
    #[allow(clippy::cast_precision_loss)]
    args.push_arg(socket as f64)?;
    match event {
        SocketEvent::Open(request) => {
            args.push_arg("open")?;
            args.push_arg(context::create(
                ctx,
                make_context,
                *request,
                context_kind(kind),
            )?)?;
        }
        SocketEvent::Text(text) => {
            args.push_arg("message")?;
            args.push_arg(text)?;
        }
        SocketEvent::Binary(bytes) => {
            args.push_arg("message")?;
            args.push_arg(TypedArray::<u8>::new(ctx.clone(), bytes.to_vec())?)?;
        }
        SocketEvent::Close { code, reason } => {
            args.push_arg("close")?;
            args.push_arg(code)?;
            args.push_arg(reason)?;
        }
    }
    Ok(Prepared::Many(dispatch, args))
}

/// The handler function at `index`: registered as a function, or by the name of a global
/// function looked up now (as aiwebengine does).
fn resolve_handler<'js>(
    ctx: &Ctx<'js>,
    handlers: &rquickjs::Array<'js>,
    index: usize,
) -> rquickjs::Result<Function<'js>> {
    let entry: Value = handlers.get(index)?;
    if let Some(function) = entry.as_function() {
        return Ok(function.clone());
    }
    let name = entry
        .as_string()
        .and_then(|name| name.to_string().ok())
        .unwrap_or_default();
    let global: Value = ctx.globals().get(name.as_str())?;
    global.into_function().ok_or_else(|| {
        rquickjs::Exception::throw_reference(
            ctx,
            &format!("the handler {name:?} is not a global function"),
        )
    })
}

/// The response of a settled promise (read under the section's deadline).
fn settled(
    ctx: &Ctx<'_>,
    promise: &Promise<'_>,
    expect: Expect,
    guard: &Deadline,
    limit: Duration,
) -> Result<Response, Failure> {
    match promise.result::<Value>() {
        Some(Ok(value)) => expect
            .convert(&value)
            .map_err(|invalid| Failure::invalid(invalid, guard, limit)),
        Some(Err(error)) => Err(Failure::from_error(
            ctx,
            &error,
            guard,
            limit,
            Stage::Running,
        )),
        None => Err(Failure::Missing("the promise has not settled".into())),
    }
}

/// Looks at the promise parked under `call`: still pending (and not past the deadline)
/// gives `None`; otherwise it is forgotten and its outcome, read under the deadline,
/// returned.
pub(crate) fn poll_pending(
    ctx: &Ctx<'_>,
    parked: &ParkedPromises,
    budget: Budget<'_>,
    call: u64,
    expect: Expect,
) -> Option<Result<Response, Failure>> {
    let Budget {
        guard,
        deadline,
        limit,
    } = budget;
    let Some(promise) = parked.get(ctx, call) else {
        return Some(Err(Failure::Missing("the pending promise was lost".into())));
    };
    let pending = promise.state() == PromiseState::Pending;
    if pending && Instant::now() < deadline {
        return None;
    }
    parked.forget(call);
    if pending {
        return Some(Err(Failure::Timeout {
            limit,
            during: Stage::Waiting,
        }));
    }
    Some(guarded(guard, deadline, || {
        settled(ctx, &promise, expect, guard, limit)
    }))
}

/// Calls the prelude's `internal[name](...args)` — a timer's callback (`fire`), the
/// settling of a host call (`settle`), a `BroadcastChannel` delivery (`channel`) — and runs
/// the promise jobs it queued.
pub(crate) fn call_internal<'js, A>(
    ctx: &Ctx<'js>,
    (internal, leave_fn): (&Object<'js>, &Function<'js>),
    budget: Budget<'_>,
    name: &str,
    args: A,
) -> Result<(), Failure>
where
    A: rquickjs::function::IntoArgs<'js>,
{
    let Budget {
        guard,
        deadline,
        limit,
    } = budget;
    guarded(guard, deadline, || {
        let called = internal
            .get::<_, Function>(name)
            .and_then(|function| function.call::<_, ()>(args));
        let outcome = match called {
            Ok(()) => {
                drain_microtasks(ctx, guard, deadline);
                Ok(())
            }
            Err(error) => Err(Failure::from_error(
                ctx,
                &error,
                guard,
                limit,
                Stage::Running,
            )),
        };
        leave(leave_fn);
        outcome
    })
}
