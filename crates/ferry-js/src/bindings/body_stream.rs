//! Response bodies a script produces as it goes (a `ReadableStream` given to `new
//! Response` in `export default { fetch }`): the client gets each chunk when the script
//! writes it. A body is a bounded channel: `host.bodyOpen()` makes one, `bodyWrite` hands a
//! chunk over (or, when the client reads slower than the script writes, a host call whose
//! promise settles once the chunk is taken), `bodyEnd` finishes it or breaks it off. The
//! response picks the channel's receiving end up by id (`bodyStream` in what the handler
//! answered), on the same worker thread.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body::Frame;
use rquickjs::{Ctx, Function, IntoJs, Object, Value};
use tokio::sync::mpsc;

use super::{ScriptHost, throw};

/// Chunks in flight to one client before the script waits.
const CHUNKS_IN_FLIGHT: usize = 8;
/// How long a body's receiving end waits for its response (which takes it at once, unless
/// the call failed after opening it): past this it is dropped, and the script's writes end.
const UNCLAIMED: Duration = Duration::from_secs(30);

type Chunk = Result<Bytes, std::io::Error>;

thread_local! {
    /// The receiving ends not yet taken by a response, by id.
    static WAITING: RefCell<HashMap<u32, (Instant, mpsc::Receiver<Chunk>)>> = RefCell::new(HashMap::new());
    static NEXT_ID: Cell<u32> = const { Cell::new(0) };
}

/// The streamed body `id`, for the response that announced it (once).
pub(crate) fn take(id: u32) -> Option<ferry_core::Body> {
    let (_, receiver) = WAITING.with(|waiting| waiting.borrow_mut().remove(&id))?;
    Some(ferry_core::Body::new(ChannelBody { receiver }))
}

/// A body fed by a channel.
struct ChannelBody {
    receiver: mpsc::Receiver<Chunk>,
}

impl http_body::Body for ChannelBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        self.receiver
            .poll_recv(cx)
            .map(|chunk| chunk.map(|chunk| chunk.map(Frame::data)))
    }
}

/// Defines `host.bodyOpen`, `host.bodyWrite` and `host.bodyEnd`.
pub(super) fn install<'js>(
    ctx: &Ctx<'js>,
    host: &Object<'js>,
    script: &Rc<ScriptHost>,
) -> rquickjs::Result<()> {
    let senders: Rc<RefCell<HashMap<u32, mpsc::Sender<Chunk>>>> = Rc::default();

    let open_senders = senders.clone();
    let open = Function::new(ctx.clone(), move || {
        let id = NEXT_ID.with(|next| {
            let id = next.get().wrapping_add(1).max(1);
            next.set(id);
            id
        });
        let (sender, receiver) = mpsc::channel(CHUNKS_IN_FLIGHT);
        open_senders.borrow_mut().insert(id, sender);
        let now = Instant::now();
        WAITING.with(|waiting| {
            let mut waiting = waiting.borrow_mut();
            waiting.retain(|_, (opened, _)| now.duration_since(*opened) < UNCLAIMED);
            waiting.insert(id, (now, receiver));
        });
        id
    })?;
    host.set("bodyOpen", open)?;

    // `true`: taken; `false`: the client has gone (stop writing); a number: the host call
    // to await before the next chunk.
    let write_senders = senders.clone();
    let owner = script.clone();
    let write = Function::new(
        ctx.clone(),
        move |ctx: Ctx<'js>, id: u32, text: String| -> rquickjs::Result<Value<'js>> {
            let bytes = super::encoding::latin1_bytes(&text)
                .ok_or_else(|| throw(&ctx, "a body chunk must be bytes"))?;
            let Some(sender) = write_senders.borrow().get(&id).cloned() else {
                return false.into_js(&ctx);
            };
            match sender.try_send(Ok(Bytes::from(bytes))) {
                Ok(()) => true.into_js(&ctx),
                Err(mpsc::error::TrySendError::Closed(_)) => {
                    write_senders.borrow_mut().remove(&id);
                    false.into_js(&ctx)
                }
                Err(mpsc::error::TrySendError::Full(chunk)) => {
                    let call = owner.spawn_host_call(async move {
                        match sender.send(chunk).await {
                            Ok(()) => Ok("sent".to_owned()),
                            Err(_) => Ok("closed".to_owned()),
                        }
                    });
                    call.into_js(&ctx)
                }
            }
        },
    )?;
    host.set("bodyWrite", write)?;

    let end_senders = senders;
    let runtime = script.host.runtime.clone();
    let end = Function::new(ctx.clone(), move |id: u32, error: Option<String>| {
        let Some(sender) = end_senders.borrow_mut().remove(&id) else {
            return;
        };
        if let Some(error) = error {
            // The client sees the body broken off, not a complete one.
            let broken = Err(std::io::Error::other(error));
            if let Err(mpsc::error::TrySendError::Full(broken)) = sender.try_send(broken) {
                runtime.spawn(async move {
                    let _ = sender.send(broken).await;
                });
            }
        }
    })?;
    host.set("bodyEnd", end)?;
    Ok(())
}
