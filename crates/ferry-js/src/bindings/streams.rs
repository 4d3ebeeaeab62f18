//! Sending messages to Server-Sent Events streams: `sendStreamMessage`,
//! `sendStreamMessageToPath` and `routeRegistry.sendStreamMessage(Filtered)`.

use std::rc::Rc;

use rquickjs::{Ctx, Function, Object};

use super::{Host, filter_of, throw};

pub(super) fn install<'js>(
    ctx: &Ctx<'js>,
    host_object: &Object<'js>,
    host: &Rc<Host>,
) -> rquickjs::Result<()> {
    let host = host.clone();
    let send = Function::new(
        ctx.clone(),
        move |ctx: Ctx<'js>,
              path: Option<String>,
              data: String,
              filter: Option<String>,
              mode: Option<String>|
              -> rquickjs::Result<usize> {
            let filter = filter_of(&ctx, filter, mode)?;
            let streams = &host.streams;
            match path {
                None => Ok(streams.publish_everywhere(&data, filter.as_ref())),
                Some(path) => streams.publish(&path, &data, filter.as_ref()).ok_or_else(|| {
                    throw(
                        &ctx,
                        &format!(
                            "no stream is registered at {path:?}; register it with registerWebStream({path:?})"
                        ),
                    )
                }),
            }
        },
    )?;
    host_object.set("streamSend", send)
}
