//! Sending messages to Server-Sent Events streams: `sendStreamMessage`,
//! `sendStreamMessageToPath` and `routeRegistry.sendStreamMessage(Filtered)`.

use std::rc::Rc;

use rquickjs::{Ctx, Function, Object};

use super::{Host, filter_of, throw};
use crate::cluster::{Broadcast, FilterSpec};

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
            let parsed = filter_of(&ctx, filter.as_deref(), mode.as_deref())?;
            let streams = &host.streams;
            let sent = match &path {
                None => streams.publish_everywhere(&data, parsed.as_ref()),
                Some(path) => streams.publish(path, &data, parsed.as_ref()).ok_or_else(|| {
                    throw(
                        &ctx,
                        &format!(
                            "no stream is registered at {path:?}; register it with registerWebStream({path:?})"
                        ),
                    )
                })?,
            };
            host.tell_other_nodes(|| Broadcast::Stream {
                filter: FilterSpec::of(filter.as_deref(), mode.as_deref()),
                path,
                data,
            });
            Ok(sent)
        },
    )?;
    host_object.set("streamSend", send)
}
