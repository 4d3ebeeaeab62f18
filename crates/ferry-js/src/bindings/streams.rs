//! Sending messages to Server-Sent Events streams (`sendStreamMessage`,
//! `sendStreamMessageToPath`, `routeRegistry.sendStreamMessage(Filtered)`) and to GraphQL
//! subscribers (`sendSubscriptionMessage(Filtered)`).

use std::rc::Rc;

use rquickjs::{Ctx, Function, Object};

use super::{Host, throw};

pub(super) fn install<'js>(
    ctx: &Ctx<'js>,
    host_object: &Object<'js>,
    host: &Rc<Host>,
) -> rquickjs::Result<()> {
    let graphql = host.graphql.clone();
    let host = host.clone();
    let send = Function::new(
        ctx.clone(),
        move |ctx: Ctx<'js>,
              path: Option<String>,
              data: String,
              filter: Option<String>,
              mode: Option<String>|
              -> rquickjs::Result<usize> {
            let filter = match filter {
                Some(json) => Some(super::sockets::parse_filter(&ctx, &json, mode.as_deref())?),
                None => None,
            };
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
    host_object.set("streamSend", send)?;

    let publish = Function::new(
        ctx.clone(),
        move |ctx: Ctx<'js>,
              name: String,
              json: String,
              filter: Option<String>,
              mode: Option<String>|
              -> rquickjs::Result<usize> {
            let value: serde_json::Value = serde_json::from_str(&json)
                .map_err(|_| throw(&ctx, "the subscription message must be JSON-serialisable"))?;
            let filter = match filter {
                Some(json) => Some(super::sockets::parse_filter(&ctx, &json, mode.as_deref())?),
                None => None,
            };
            Ok(graphql.publish(&name, value, filter))
        },
    )?;
    host_object.set("graphqlPublish", publish)
}
