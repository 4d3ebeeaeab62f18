//! `BroadcastChannel.postMessage` and aiwebengine's `dispatcher`: messages leave through
//! the engine's message bus (`crate::messages`), which delivers them on every node.

use std::rc::Rc;

use rquickjs::{Ctx, Function, Object};

use super::{ScriptHost, throw};
use crate::messages::Message;

/// The largest message, as JSON text (the same as a stream message's).
const MAX_MESSAGE_BYTES: usize = 1 << 20;

pub(super) fn install<'js>(
    ctx: &Ctx<'js>,
    host: &Object<'js>,
    script: &Rc<ScriptHost>,
) -> rquickjs::Result<()> {
    let owner = script.clone();
    let post = Function::new(
        ctx.clone(),
        move |ctx: Ctx<'js>, name: String, data: String, sender: String| {
            check_size(&ctx, &data, "BroadcastChannel.postMessage")?;
            owner.host.messages.send(Message::Channel {
                name: name.into(),
                data: data.into(),
                sender: Some(sender.into()),
            });
            Ok::<_, rquickjs::Error>(())
        },
    )?;
    host.set("channelPost", post)?;

    let owner = script.clone();
    let send = Function::new(
        ctx.clone(),
        move |ctx: Ctx<'js>, kind: String, data: String| {
            check_size(&ctx, &data, "dispatcher.sendMessage")?;
            owner.host.messages.send(Message::Dispatch { kind, data });
            Ok::<_, rquickjs::Error>(())
        },
    )?;
    host.set("dispatchSend", send)?;

    let owner = script.clone();
    let listen = Function::new(
        ctx.clone(),
        move |ctx: Ctx<'js>, kind: String, handler: String| {
            if kind.is_empty() || kind.len() > 200 {
                return Err(throw(
                    &ctx,
                    "dispatcher.registerListener: the message type must be 1 to 200 characters",
                ));
            }
            super::routes::record_listener(&ctx, &owner, kind, handler)
        },
    )?;
    host.set("registerListener", listen)
}

fn check_size(ctx: &Ctx<'_>, data: &str, what: &str) -> rquickjs::Result<()> {
    if data.len() > MAX_MESSAGE_BYTES {
        return Err(throw(
            ctx,
            &format!(
                "{what}: the message is {} bytes as JSON; the limit is {MAX_MESSAGE_BYTES}",
                data.len()
            ),
        ));
    }
    Ok(())
}
