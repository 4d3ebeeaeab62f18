//! The handler's argument, `context`, whose `request` keeps the request's data in Rust and
//! builds each field (`headers`, `query`, `body`, ...) on the handler's first read of it:
//! a handler pays only for what it looks at.
//!
//! The prototypes are written in the prelude (`internal.context`); a field's getter calls
//! the builder made here, which stores the value as an own property of the request, so
//! later reads (and changes a script makes) see the same value, as with a plain object.

use rquickjs::object::Property;
use rquickjs::{Ctx, Function, Object, Value};

use crate::request::{RequestField, ScriptRequest};

/// The `context` object for `request`, in `ctx`, made by the prelude's `make_context`
/// (`internal.context`); its `kind` is `"httpRoute"` unless `kind` says otherwise.
pub(crate) fn create<'js>(
    ctx: &Ctx<'js>,
    make_context: &Function<'js>,
    request: ScriptRequest,
    kind: Option<&'static str>,
) -> rquickjs::Result<Object<'js>> {
    let invocation_id = request.request_id.clone();
    let build = Function::new(
        ctx.clone(),
        move |ctx: Ctx<'js>, target: Object<'js>, index: u32| -> rquickjs::Result<Value<'js>> {
            let Some(field) = RequestField::from_index(index) else {
                return Err(rquickjs::Exception::throw_range(
                    &ctx,
                    "no such request field",
                ));
            };
            let value = request.field_to_js(&ctx, field)?;
            if field == RequestField::Auth {
                // The prelude wraps the data and keeps the result itself.
                return Ok(value);
            }
            let property = Property::from(value.clone())
                .writable()
                .enumerable()
                .configurable();
            target.prop(field.name(), property)?;
            Ok(value)
        },
    )?;
    match kind {
        None => make_context.call((build, &*invocation_id)),
        Some(kind) => make_context.call((build, &*invocation_id, kind)),
    }
}
