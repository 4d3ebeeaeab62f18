//! Calls into a script's context: a route handler, a timer callback, a pending promise.

use std::time::{Duration, Instant};

use ferry_core::Response;
use rquickjs::function::Args;
use rquickjs::promise::PromiseState;
use rquickjs::{Ctx, Function, Object, Promise, TypedArray, Value};

use super::failure::{Failure, Thrown};
use super::sandbox::Deadline;
use crate::bindings::{self, McpKind, RouteKind, context};
use crate::pool::{CallInput, SocketEvent};
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
    fn convert(self, value: &Value<'_>) -> Result<Response, Failure> {
        match self {
            Expect::Response => response::from_js(value),
            Expect::Metadata => response::metadata_from_js(value),
            Expect::Nothing => Ok(response::no_metadata()),
            Expect::Json => response::json_from_js(value),
        }
        .map_err(Failure::Invalid)
    }
}

/// What the handler of a route of `kind` must return for `input`.
pub(crate) fn expect(input: &CallInput, kind: RouteKind) -> Expect {
    match (kind, input) {
        (RouteKind::Http, _) => Expect::Response,
        (RouteKind::GraphQl(_) | RouteKind::Mcp(_), _) => Expect::Json,
        (RouteKind::Stream { .. }, _)
        | (
            RouteKind::WebSocket,
            CallInput::Socket {
                event: SocketEvent::Open(_),
                ..
            },
        ) => Expect::Metadata,
        (RouteKind::WebSocket, _) => Expect::Nothing,
    }
}

/// `context.kind` for the handlers of a route of `kind`, when it is not `"httpRoute"`.
pub(crate) fn context_kind(kind: RouteKind) -> Option<&'static str> {
    match kind {
        RouteKind::Http => None,
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
    /// The handler returned a promise that is still pending under the call's key.
    Pending,
}

/// The key a pending promise is kept under in the context's bookkeeping.
pub(crate) fn pending_key(call: u64) -> String {
    call.to_string()
}

/// Runs queued promise jobs (of every context of the runtime) until none is left or the
/// deadline has passed.
pub(crate) fn drain_microtasks(ctx: &Ctx<'_>, deadline: Instant) {
    while ctx.execute_pending_job() {
        if Instant::now() >= deadline {
            break;
        }
    }
}

/// Which handler a call runs and what it must return.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Callee {
    /// The handler's index among the script's registrations.
    pub index: usize,
    /// The kind of route it was registered for.
    pub kind: RouteKind,
}

/// Calls the handler `callee` with `input`; a returned promise that does not settle at once
/// is parked under `call`.
pub(crate) fn invoke(
    ctx: &Ctx<'_>,
    guard: &Deadline,
    callee: Callee,
    input: CallInput,
    deadline: Instant,
    limit: Duration,
    call: u64,
) -> Invocation {
    let Callee { index, kind } = callee;
    let expect = expect(&input, kind);
    let prepared = (|| -> rquickjs::Result<(Prepared<'_>, Object<'_>)> {
        let internal = bindings::internal(ctx)?;
        let call = prepare(ctx, &internal, index, kind, input)?;
        Ok((call, internal))
    })();
    let (prepared, internal) = match prepared {
        Ok(parts) => parts,
        Err(error) => {
            let thrown = Thrown::catch(ctx, &error);
            return Invocation::Finished(Err(Failure::Missing(thrown.message)));
        }
    };
    guard.arm(deadline);
    let result = prepared.call();
    if result.is_ok() {
        drain_microtasks(ctx, deadline);
    }
    let interrupted = guard.disarm();
    let value = match result {
        Ok(value) => value,
        Err(error) => {
            return Invocation::Finished(Err(Failure::from_error(ctx, &error, interrupted, limit)));
        }
    };
    match value.as_promise() {
        None => Invocation::Finished(expect.convert(&value)),
        Some(promise) if promise.state() == PromiseState::Pending => {
            let parked = internal
                .get::<_, Object>("pending")
                .and_then(|pending| pending.set(pending_key(call), promise.clone()));
            match parked {
                Ok(()) => Invocation::Pending,
                Err(error) => {
                    Invocation::Finished(Err(Failure::from_error(ctx, &error, false, limit)))
                }
            }
        }
        Some(promise) => Invocation::Finished(settled(ctx, promise, expect, limit)),
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
    internal: &Object<'js>,
    index: usize,
    kind: RouteKind,
    input: CallInput,
) -> rquickjs::Result<Prepared<'js>> {
    let (socket, event) = match input {
        CallInput::Http(request) => {
            let handler = resolve_handler(ctx, internal, index)?;
            let argument = context::create(ctx, internal, request, context_kind(kind))?;
            return Ok(Prepared::One(handler, argument));
        }
        CallInput::Socket { socket, event } => (socket, event),
        CallInput::Json { input } => {
            let handler = resolve_handler(ctx, internal, index)?;
            let context = Object::new(ctx.clone())?;
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
            args.push_arg(context::create(ctx, internal, request, context_kind(kind))?)?;
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
    internal: &Object<'js>,
    index: usize,
) -> rquickjs::Result<Function<'js>> {
    let handlers: rquickjs::Array = internal.get("handlers")?;
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

/// The response of a settled promise.
fn settled(
    ctx: &Ctx<'_>,
    promise: &Promise<'_>,
    expect: Expect,
    limit: Duration,
) -> Result<Response, Failure> {
    match promise.result::<Value>() {
        Some(Ok(value)) => expect.convert(&value),
        Some(Err(error)) => Err(Failure::from_error(ctx, &error, false, limit)),
        None => Err(Failure::Missing("the promise has not settled".into())),
    }
}

/// Looks at the promise parked under `call`: still pending (and not `expired`) gives
/// `None`; otherwise it is removed and its outcome returned.
pub(crate) fn poll_pending(
    ctx: &Ctx<'_>,
    call: u64,
    expect: Expect,
    expired: bool,
    limit: Duration,
) -> Option<Result<Response, Failure>> {
    let lookup = || -> rquickjs::Result<(Object<'_>, Value<'_>)> {
        let pending: Object = bindings::internal(ctx)?.get("pending")?;
        let value: Value = pending.get(pending_key(call))?;
        Ok((pending, value))
    };
    let (pending, value) = match lookup() {
        Ok(found) => found,
        Err(error) => return Some(Err(Failure::from_error(ctx, &error, false, limit))),
    };
    let Some(promise) = value.as_promise() else {
        return Some(Err(Failure::Missing("the pending promise was lost".into())));
    };
    if promise.state() == PromiseState::Pending && !expired {
        return None;
    }
    let _ = pending.remove(pending_key(call));
    if promise.state() == PromiseState::Pending {
        return Some(Err(Failure::Timeout(limit)));
    }
    Some(settled(ctx, promise, expect, limit))
}

/// Fires the timer `id` of this context (its callback, then the promise jobs it queued).
pub(crate) fn fire_timer(
    ctx: &Ctx<'_>,
    guard: &Deadline,
    id: u32,
    limit: Duration,
) -> Result<(), Failure> {
    let deadline = Instant::now() + limit;
    let fire = bindings::internal(ctx).and_then(|internal| internal.get::<_, Function>("fire"));
    let fire = match fire {
        Ok(fire) => fire,
        Err(error) => return Err(Failure::from_error(ctx, &error, false, limit)),
    };
    guard.arm(deadline);
    let result = fire.call::<_, ()>((id,));
    if result.is_ok() {
        drain_microtasks(ctx, deadline);
    }
    let interrupted = guard.disarm();
    result.map_err(|error| Failure::from_error(ctx, &error, interrupted, limit))
}
