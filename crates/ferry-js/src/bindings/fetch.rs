//! `fetch` for scripts (`fetch.js` builds the standard function on these): a request is
//! checked and sent from the worker, runs on the engine's runtime, and settles as a host
//! call with the answer's head; its body is then read a piece at a time, each read its
//! own host call, and handed over as bytes. `{{SECRET_NAME}}` in the URL and the header
//! values is replaced from `secretStorage` on the way out; the script never sees a value,
//! and no error or URL handed back contains one.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use ferry_store::SecretStore;
use http::{HeaderName, HeaderValue, Method};
use hyper::body::Incoming;
use rquickjs::{Ctx, Function, Object, TypedArray};
use serde::Deserialize;

use super::storage::with_store;
use super::{ScriptHost, throw};
use crate::job::HostCallError;
use crate::outbound::{
    FetchStyle, Outbound, OutboundRequest, OutboundResponse, RedirectMode, next_chunk,
};

/// How long a body may sit unread before the worker lets it go (its connection closes).
const IDLE_BODY: Duration = Duration::from_secs(60);
/// The most answers of one worker whose bodies are not yet read or cancelled.
const MAX_OPEN_BODIES: usize = 256;

/// The bodies of one worker's answers, by fetch id.
#[derive(Default)]
pub(crate) struct FetchBodies {
    next: u32,
    open: HashMap<u32, (Arc<Body>, Instant)>,
}

/// An answer's body on its way in, shared by the reads of it.
#[derive(Default)]
struct Body {
    incoming: tokio::sync::Mutex<Option<Incoming>>,
    /// Bytes read and not yet taken by the script.
    ready: Mutex<Vec<Bytes>>,
    received: AtomicUsize,
    /// Set when the script cancels the request or its body.
    cancel: tokio::sync::watch::Sender<bool>,
}

impl Body {
    async fn cancelled(&self) {
        let mut watch = self.cancel.subscribe();
        let _ = watch.wait_for(|cancelled| *cancelled).await;
    }
}

/// What `fetch.js` sends for one request.
#[derive(Deserialize)]
struct Spec {
    method: String,
    url: String,
    headers: Vec<(String, String)>,
    redirect: Option<String>,
    /// Milliseconds (aiwebengine's `timeout` option).
    timeout: Option<f64>,
}

/// A request ready to go, and the secrets put into it (to keep them out of what comes
/// back).
struct Prepared {
    request: OutboundRequest,
    secrets: Vec<(String, String)>,
}

pub(super) fn install<'js>(
    ctx: &Ctx<'js>,
    host: &Object<'js>,
    script: &Rc<ScriptHost>,
) -> rquickjs::Result<()> {
    let style = script
        .host
        .outbound
        .as_ref()
        .map_or(FetchStyle::Standard, |outbound| outbound.options.style);
    host.set("fetchStyle", style.name())?;

    let owner = script.clone();
    let start = Function::new(
        ctx.clone(),
        move |ctx: Ctx<'js>, spec: String, body: Option<String>| -> rquickjs::Result<Vec<u32>> {
            let outbound = outbound(&ctx, &owner)?;
            let host = &owner.host;
            let in_flight = host.fetch_in_flight.clone();
            let limit = outbound.options.max_in_flight;
            if in_flight.load(Ordering::Acquire) >= limit {
                return Err(throw(
                    &ctx,
                    &format!(
                        "fetch: {limit} requests of this worker are already waiting for answers (the limit); await some of them first"
                    ),
                ));
            }
            let Prepared { request, secrets } = prepare(&ctx, &owner, &spec, body)?;
            let timeout = request_time(host, &outbound, None);
            let (fetch_id, body) = open_body(&ctx, &host.fetch_bodies)?;
            in_flight.fetch_add(1, Ordering::AcqRel);
            let call = owner.spawn_host_call(async move {
                let sent = tokio::select! {
                    sent = tokio::time::timeout(timeout, outbound.send(request)) => sent,
                    () = body.cancelled() => Ok(Err("the request was aborted".to_owned())),
                };
                in_flight.fetch_sub(1, Ordering::AcqRel);
                let response = sent
                    .map_err(|_| format!("no answer within {} ms", timeout.as_millis()))
                    .and_then(|sent| sent)
                    .map_err(|message| failure(&message, &secrets))?;
                let head = head_json(&response, &secrets);
                *body.incoming.lock().await = Some(response.body);
                Ok(head)
            });
            Ok(vec![call, fetch_id])
        },
    )?;
    host.set("fetchStart", start)?;

    let owner = script.clone();
    let read = Function::new(
        ctx.clone(),
        move |ctx: Ctx<'js>, fetch_id: u32| -> rquickjs::Result<u32> {
            let body = find_body(&ctx, &owner.host.fetch_bodies, fetch_id)?;
            let outbound = outbound(&ctx, &owner)?;
            let max = outbound.options.max_response_bytes;
            let timeout = request_time(&owner.host, &outbound, None);
            Ok(owner.spawn_host_call(async move {
                let read = async {
                    let mut incoming = body.incoming.lock().await;
                    let Some(stream) = incoming.as_mut() else {
                        return Ok("end".to_owned());
                    };
                    match next_chunk(stream).await? {
                        None => {
                            *incoming = None;
                            Ok("end".to_owned())
                        }
                        Some(chunk) => {
                            let total = body.received.fetch_add(chunk.len(), Ordering::AcqRel)
                                + chunk.len();
                            if total > max {
                                *incoming = None;
                                return Err(format!("the answer is larger than the limit of {max} bytes (--fetch-max-response)"));
                            }
                            if let Ok(mut ready) = body.ready.lock() {
                                ready.push(chunk);
                            }
                            Ok("more".to_owned())
                        }
                    }
                };
                let outcome = tokio::select! {
                    outcome = tokio::time::timeout(timeout, read) => outcome
                        .unwrap_or_else(|_| Err(format!("the body did not arrive within {} ms", timeout.as_millis()))),
                    () = body.cancelled() => Err("the body was cancelled".to_owned()),
                };
                outcome.map_err(|message| HostCallError {
                    message,
                    status: None,
                })
            }))
        },
    )?;
    host.set("fetchRead", read)?;

    let owner = script.clone();
    let take = Function::new(ctx.clone(), move |ctx: Ctx<'js>, fetch_id: u32| {
        let body = find_body(&ctx, &owner.host.fetch_bodies, fetch_id)?;
        let chunks = body
            .ready
            .lock()
            .map(|mut ready| std::mem::take(&mut *ready))
            .unwrap_or_default();
        let bytes = match chunks.as_slice() {
            [one] => one.to_vec(),
            _ => chunks.concat(),
        };
        TypedArray::<u8>::new(ctx.clone(), bytes)
    })?;
    host.set("fetchTake", take)?;

    let owner = script.clone();
    let close = Function::new(ctx.clone(), move |fetch_id: u32| {
        if let Some((body, _)) = owner.host.fetch_bodies.borrow_mut().open.remove(&fetch_id) {
            body.cancel.send_replace(true);
        }
    })?;
    host.set("fetchClose", close)?;

    let owner = script.clone();
    let sync = Function::new(
        ctx.clone(),
        move |ctx: Ctx<'js>, spec: String, body: Option<String>| -> rquickjs::Result<String> {
            fetch_now(&ctx, &owner, &spec, body)
        },
    )?;
    host.set("fetchSync", sync)
}

/// The engine's client, or the reason there is none.
fn outbound(ctx: &Ctx<'_>, script: &ScriptHost) -> rquickjs::Result<Outbound> {
    script
        .host
        .outbound
        .clone()
        .map_err(|reason| throw(ctx, &format!("fetch is not available: {reason}")))
}

/// How long a request may take: what is left of the section in progress (less a margin
/// to handle the answer), at most `explicit` and the engine's default.
fn request_time(host: &super::Host, outbound: &Outbound, explicit: Option<Duration>) -> Duration {
    let mut time = outbound.options.default_timeout;
    if let Some(left) = host.deadline.remaining() {
        let margin = (left / 10).min(Duration::from_millis(50));
        time = time.min(left.saturating_sub(margin).max(Duration::from_millis(1)));
    }
    if let Some(explicit) = explicit {
        time = time.min(explicit);
    }
    time
}

/// A new body slot, after letting go of the ones left unread too long.
fn open_body(ctx: &Ctx<'_>, bodies: &RefCell<FetchBodies>) -> rquickjs::Result<(u32, Arc<Body>)> {
    let mut bodies = bodies.borrow_mut();
    let now = Instant::now();
    bodies.open.retain(|_, (body, touched)| {
        let keep = now.duration_since(*touched) < IDLE_BODY;
        if !keep {
            body.cancel.send_replace(true);
        }
        keep
    });
    if bodies.open.len() >= MAX_OPEN_BODIES {
        return Err(throw(
            ctx,
            &format!(
                "fetch: {MAX_OPEN_BODIES} answers of this worker have bodies not yet read; read or cancel them (response.body.cancel()) first"
            ),
        ));
    }
    bodies.next = bodies.next.wrapping_add(1);
    let id = bodies.next;
    let body = Arc::new(Body::default());
    bodies.open.insert(id, (body.clone(), now));
    Ok((id, body))
}

fn find_body(
    ctx: &Ctx<'_>,
    bodies: &RefCell<FetchBodies>,
    fetch_id: u32,
) -> rquickjs::Result<Arc<Body>> {
    let mut bodies = bodies.borrow_mut();
    match bodies.open.get_mut(&fetch_id) {
        Some((body, touched)) => {
            *touched = Instant::now();
            Ok(body.clone())
        }
        None => Err(throw(
            ctx,
            "fetch: the body is gone (cancelled, or left unread for more than a minute)",
        )),
    }
}

/// The request `spec` describes, with the secrets it names put in.
fn prepare(
    ctx: &Ctx<'_>,
    script: &ScriptHost,
    spec: &str,
    body: Option<String>,
) -> rquickjs::Result<Prepared> {
    let spec: Spec =
        serde_json::from_str(spec).map_err(|error| throw(ctx, &format!("fetch: {error}")))?;
    let mut secrets = Vec::new();
    let url_text = fill_secrets(ctx, script, &spec.url, &mut secrets)?;
    let url = url::Url::parse(&url_text)
        .map_err(|_| throw(ctx, &format!("fetch: {:?} is not a URL", spec.url)))?;
    let method = Method::from_bytes(spec.method.as_bytes())
        .map_err(|_| throw(ctx, &format!("fetch: {:?} is not a method", spec.method)))?;
    let mut headers = Vec::with_capacity(spec.headers.len() + 2);
    for (name, value) in &spec.headers {
        let filled = fill_secrets(ctx, script, value, &mut secrets)?;
        let header = HeaderName::from_bytes(name.as_bytes()).ok().zip(
            super::encoding::latin1_bytes(&filled).map_or_else(
                || HeaderValue::from_str(&filled).ok(),
                |bytes| HeaderValue::from_bytes(&bytes).ok(),
            ),
        );
        let Some(header) = header else {
            return Err(throw(
                ctx,
                &format!("fetch: the header {name:?} is not valid"),
            ));
        };
        headers.push(header);
    }
    for (name, value) in [
        (http::header::ACCEPT, "*/*"),
        (
            http::header::USER_AGENT,
            concat!("Ferry/", env!("CARGO_PKG_VERSION")),
        ),
    ] {
        if !headers.iter().any(|(present, _)| *present == name) {
            headers.push((name, HeaderValue::from_static(value)));
        }
    }
    let body = body
        .map(|text| {
            super::encoding::latin1_bytes(&text)
                .map(Bytes::from)
                .ok_or_else(|| throw(ctx, "fetch: the body must be bytes"))
        })
        .transpose()?;
    let redirect = match spec.redirect.as_deref() {
        None | Some("follow") => RedirectMode::Follow,
        Some("error") => RedirectMode::Error,
        Some("manual") => RedirectMode::Manual,
        Some(other) => {
            return Err(throw(
                ctx,
                &format!("fetch: {other:?} is not a redirect mode"),
            ));
        }
    };
    Ok(Prepared {
        request: OutboundRequest {
            method,
            url,
            headers,
            body,
            redirect,
        },
        secrets,
    })
}

/// `text` with every `{{NAME}}` (also percent-encoded, as a URL's path has it) replaced by
/// the script's secret NAME; the values used are added to `used`.
fn fill_secrets(
    ctx: &Ctx<'_>,
    script: &ScriptHost,
    text: &str,
    used: &mut Vec<(String, String)>,
) -> rquickjs::Result<String> {
    let mut filled = String::with_capacity(text.len());
    let mut rest = text;
    while let Some((before, name, after)) = next_placeholder(rest) {
        filled.push_str(before);
        let value = match used.iter().find(|(known, _)| known == name) {
            Some((_, value)) => value.clone(),
            None => {
                let value = secret(ctx, script, name)?;
                used.push((name.to_owned(), value.clone()));
                value
            }
        };
        filled.push_str(&value);
        rest = after;
    }
    filled.push_str(rest);
    Ok(filled)
}

/// The first `{{NAME}}` (or `%7B%7BNAME%7D%7D`) of `text`: what comes before, the name,
/// and what comes after.
fn next_placeholder(text: &str) -> Option<(&str, &str, &str)> {
    const FORMS: [(&str, &str); 2] = [("{{", "}}"), ("%7B%7B", "%7D%7D")];
    let upper = text.to_ascii_uppercase();
    let mut best: Option<(usize, &str, &str)> = None;
    for (open, close) in FORMS {
        let mut from = 0;
        while let Some(found) = upper[from..].find(open) {
            let start = from + found;
            let name_start = start + open.len();
            let Some(length) = upper[name_start..].find(close) else {
                break;
            };
            let name = &text[name_start..name_start + length];
            if is_secret_name(name) {
                if best.is_none_or(|(at, _, _)| start < at) {
                    best = Some((start, open, name));
                }
                break;
            }
            from = name_start;
        }
    }
    let (start, open, name) = best?;
    let close_length = if open == "{{" { 2 } else { 6 };
    let end = start + open.len() + name.len() + close_length;
    Some((&text[..start], name, &text[end..]))
}

fn is_secret_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
        && name.len() <= 128
}

/// The value of the script's secret `name`, opened with the engine's key.
fn secret(ctx: &Ctx<'_>, script: &ScriptHost, name: &str) -> rquickjs::Result<String> {
    let Some(key) = script.host.secret_key.clone() else {
        return Err(throw(
            ctx,
            &format!(
                "fetch: {{{{{name}}}}} names a secret, but Ferry has no secret key (FERRY_SECRET_KEY) to open secrets with"
            ),
        ));
    };
    let sealed = with_store(ctx, script, "fetch", |store, owner| {
        store.sealed_secret(owner, name)
    })?;
    let Some(sealed) = sealed else {
        return Err(throw(
            ctx,
            &format!(
                "fetch: the secret {name} is not set (secretStorage.setSecret({name:?}, value))"
            ),
        ));
    };
    key.open(&script.name, name, &sealed).map_err(|error| {
        throw(
            ctx,
            &format!("fetch: the secret {name} cannot be opened: {error}"),
        )
    })
}

/// `text` with every secret value in it replaced by its placeholder.
fn redact(text: &str, secrets: &[(String, String)]) -> String {
    let mut text = text.to_owned();
    for (name, value) in secrets {
        if !value.is_empty() {
            text = text.replace(value.as_str(), &format!("{{{{{name}}}}}"));
            let form: String = url::form_urlencoded::byte_serialize(value.as_bytes()).collect();
            let percent =
                percent_encoding::utf8_percent_encode(value, percent_encoding::NON_ALPHANUMERIC)
                    .to_string();
            for encoded in [form, percent] {
                if encoded != *value {
                    text = text.replace(&encoded, &format!("{{{{{name}}}}}"));
                }
            }
        }
    }
    text
}

/// `url` as a script may see it: secret values replaced by their placeholders, and the
/// path, query and fragment dropped if a value is still in there in some other spelling.
fn redact_url(url: &url::Url, secrets: &[(String, String)]) -> String {
    let text = redact(url.as_str(), secrets);
    let decoded = percent_encoding::percent_decode_str(&text).decode_utf8_lossy();
    let leaks = secrets
        .iter()
        .any(|(_, value)| !value.is_empty() && decoded.contains(value.as_str()));
    if leaks {
        format!("{}/", url.origin().ascii_serialization())
    } else {
        text
    }
}

fn failure(message: &str, secrets: &[(String, String)]) -> HostCallError {
    HostCallError {
        message: redact(message, secrets),
        status: None,
    }
}

/// The answer's head as `fetch.js` reads it.
fn head_json(response: &OutboundResponse, secrets: &[(String, String)]) -> String {
    serde_json::json!({
        "status": response.status,
        "statusText": response.status_text,
        "headers": response.headers,
        "url": redact_url(&response.url, secrets),
        "redirected": response.redirected,
    })
    .to_string()
}

/// aiwebengine's `fetch(url, options)`: the whole exchange on this worker, answered as
/// the JSON text of `{ status, ok, statusText, headers, body }`.
fn fetch_now(
    ctx: &Ctx<'_>,
    script: &ScriptHost,
    spec: &str,
    body: Option<String>,
) -> rquickjs::Result<String> {
    let outbound = outbound(ctx, script)?;
    let explicit = serde_json::from_str::<Spec>(spec)
        .ok()
        .and_then(|spec| spec.timeout)
        .filter(|ms| ms.is_finite() && *ms > 0.0)
        .map(|ms| Duration::from_millis(ms as u64));
    let Prepared { request, secrets } = prepare(ctx, script, spec, body)?;
    let timeout = request_time(&script.host, &outbound, explicit);
    let max = outbound.options.max_response_bytes;
    let (sender, receiver) = std::sync::mpsc::channel();
    script.host.runtime.spawn(async move {
        let exchange = async {
            let mut response = outbound.send(request).await?;
            let mut body = Vec::new();
            while let Some(chunk) = next_chunk(&mut response.body).await? {
                if body.len() + chunk.len() > max {
                    return Err(format!(
                        "the answer is larger than the limit of {max} bytes (--fetch-max-response)"
                    ));
                }
                body.extend_from_slice(&chunk);
            }
            Ok((response, body))
        };
        let outcome = tokio::time::timeout(timeout, exchange)
            .await
            .unwrap_or_else(|_| Err(format!("no answer within {} ms", timeout.as_millis())));
        let _ = sender.send(outcome);
    });
    let outcome = receiver
        .recv_timeout(timeout + Duration::from_millis(100))
        .unwrap_or_else(|_| Err(format!("no answer within {} ms", timeout.as_millis())));
    let (response, body) =
        outcome.map_err(|message| throw(ctx, &format!("fetch: {}", redact(&message, &secrets))))?;
    let mut headers = serde_json::Map::new();
    for (name, value) in &response.headers {
        let joined = match headers.get(name).and_then(|known| known.as_str()) {
            Some(known) => format!("{known}, {value}"),
            None => value.clone(),
        };
        headers.insert(name.clone(), joined.into());
    }
    Ok(serde_json::json!({
        "status": response.status,
        "ok": (200..300).contains(&response.status),
        "statusText": response.status_text,
        "headers": headers,
        "body": String::from_utf8_lossy(&body),
    })
    .to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_found_in_both_spellings() {
        assert_eq!(next_placeholder("a {{KEY}} b"), Some(("a ", "KEY", " b")));
        assert_eq!(
            next_placeholder("/x/%7b%7bapi.key%7D%7D/y"),
            Some(("/x/", "api.key", "/y"))
        );
        assert_eq!(
            next_placeholder("%7B%7BB%7D%7D {{A}}"),
            Some(("", "B", " {{A}}"))
        );
        // Not names: left alone.
        assert_eq!(next_placeholder("{{ spaced }} {{1x}}"), None);
        assert_eq!(next_placeholder("{{unclosed"), None);
        assert_eq!(
            next_placeholder("{{a b}} {{ok}}"),
            Some(("{{a b}} ", "ok", ""))
        );
    }

    #[test]
    fn secrets_never_come_back() {
        let secrets = vec![("TOKEN".to_owned(), "s3cr3t value".to_owned())];
        assert_eq!(
            redact("https://x.test/?k=s3cr3t+value and s3cr3t value", &secrets),
            "https://x.test/?k={{TOKEN}} and {{TOKEN}}"
        );
        let url = url::Url::parse("https://x.test/a/s3cr3t%20value?q=1").unwrap();
        assert_eq!(redact_url(&url, &secrets), "https://x.test/a/{{TOKEN}}?q=1");
        let url = url::Url::parse("https://x.test/a/s3cr3t%20val%75e").unwrap();
        assert_eq!(redact_url(&url, &secrets), "https://x.test/");
    }
}
