//! Writing to WebSockets: `socket.send`, `socket.close`, `socket.broadcast` and
//! `sendWebSocketMessage(Filtered)`.

use std::rc::Rc;

use bytes::Bytes;
use ferry_core::ws::Message;
use rquickjs::{Ctx, Function, Object};

use super::{Host, filter_of, throw};
use crate::cluster::{Broadcast, FilterSpec};

pub(super) fn install<'js>(
    ctx: &Ctx<'js>,
    host_object: &Object<'js>,
    host: &Rc<Host>,
) -> rquickjs::Result<()> {
    let sockets = host.sockets.clone();
    let send = Function::new(
        ctx.clone(),
        move |id: f64, data: String, binary: bool| -> bool {
            sockets.send(socket_id(id), message(data, binary)).is_ok()
        },
    )?;
    host_object.set("socketSend", send)?;

    let sockets = host.sockets.clone();
    let close = Function::new(
        ctx.clone(),
        move |ctx: Ctx<'js>, id: f64, code: f64, reason: String| -> rquickjs::Result<bool> {
            let code = close_code(&ctx, code)?;
            if reason.len() > 123 {
                return Err(throw(
                    &ctx,
                    "the close reason must be at most 123 bytes (RFC 6455 section 5.5)",
                ));
            }
            Ok(sockets.close(socket_id(id), code, reason).is_ok())
        },
    )?;
    host_object.set("socketClose", close)?;

    let host = host.clone();
    let publish = Function::new(
        ctx.clone(),
        move |ctx: Ctx<'js>,
              path: String,
              data: String,
              binary: bool,
              filter: Option<String>,
              mode: Option<String>,
              except: Option<f64>|
              -> rquickjs::Result<usize> {
            let parsed = filter_of(&ctx, filter.as_deref(), mode.as_deref())?;
            let sent = host.sockets.publish(
                &path,
                &message(data.clone(), binary),
                parsed.as_ref(),
                except.map(socket_id),
            );
            host.tell_other_nodes(|| Broadcast::Socket {
                path,
                data,
                binary,
                filter: FilterSpec::of(filter.as_deref(), mode.as_deref()),
            });
            Ok(sent)
        },
    )?;
    host_object.set("socketPublish", publish)
}

/// Socket ids are whole numbers below 2^53, passed through JavaScript numbers.
#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
fn socket_id(id: f64) -> u64 {
    id as u64
}

/// The message the prelude described: text, or binary data passed as one character per
/// byte (safe to read, unlike a view of a JavaScript buffer).
pub(crate) fn message(data: String, binary: bool) -> Message {
    if !binary {
        return Message::text(data);
    }
    let bytes: Vec<u8> = data
        .chars()
        .map(|ch| u8::try_from(u32::from(ch)).unwrap_or(b'?'))
        .collect();
    Message::Binary(Bytes::from(bytes))
}

/// A close code a script may send: 1000 (normal) or 3000–4999 (for applications).
fn close_code(ctx: &Ctx<'_>, code: f64) -> rquickjs::Result<u16> {
    let valid = code == 1000.0 || (3000.0..=4999.0).contains(&code);
    if !valid || code.fract() != 0.0 {
        return Err(throw(
            ctx,
            &format!(
                "close code {code} cannot be sent by a script; use 1000 (normal) or 3000-4999"
            ),
        ));
    }
    // Checked to be a whole number in range.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    Ok(code as u16)
}
