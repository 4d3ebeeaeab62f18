//! What the web platform's APIs (`web.js`) need from Rust: random bytes from the operating
//! system, digests, UTF-8 both ways, and a monotonic clock. Bytes come from JavaScript as
//! text of one character per byte (as the WebSocket binding takes them) and go back as a
//! `Uint8Array`.

use std::sync::OnceLock;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use ring::rand::{SecureRandom, SystemRandom};
use rquickjs::{Ctx, Function, Object, TypedArray};

use super::throw;

/// The most bytes `crypto.getRandomValues` fills at once (the Web Crypto limit).
const MAX_RANDOM_BYTES: usize = 65_536;

pub(super) fn install<'js>(ctx: &Ctx<'js>, host: &Object<'js>) -> rquickjs::Result<()> {
    // The clock starts before any script runs.
    origin();
    let random = Function::new(ctx.clone(), |ctx: Ctx<'js>, count: usize| {
        if count > MAX_RANDOM_BYTES {
            return Err(throw(
                &ctx,
                &format!(
                    "crypto.getRandomValues: {count} bytes asked for; at most {MAX_RANDOM_BYTES} at once"
                ),
            ));
        }
        let mut bytes = vec![0u8; count];
        SystemRandom::new()
            .fill(&mut bytes)
            .map_err(|_| throw(&ctx, "crypto: the system's random source failed"))?;
        TypedArray::<u8>::new(ctx.clone(), bytes)
    })?;
    host.set("randomBytes", random)?;

    let digest = Function::new(
        ctx.clone(),
        |ctx: Ctx<'js>, algorithm: String, data: String| {
            let algorithm = digest_algorithm(&algorithm).ok_or_else(|| {
                throw(
                    &ctx,
                    &format!("crypto.subtle.digest: {algorithm:?} is not a digest (SHA-1, SHA-256, SHA-384, SHA-512)"),
                )
            })?;
            let bytes = text_to_bytes(&data).map_err(|message| throw(&ctx, &message))?;
            let digest = ring::digest::digest(algorithm, &bytes);
            TypedArray::<u8>::new(ctx.clone(), digest.as_ref().to_vec())
        },
    )?;
    host.set("digest", digest)?;

    let encode = Function::new(ctx.clone(), |ctx: Ctx<'js>, text: String| {
        TypedArray::<u8>::new(ctx.clone(), text.into_bytes())
    })?;
    host.set("utf8Encode", encode)?;

    let decode = Function::new(
        ctx.clone(),
        |ctx: Ctx<'js>, data: String, fatal: bool, ignore_bom: bool| {
            let bytes = text_to_bytes(&data).map_err(|message| throw(&ctx, &message))?;
            Ok::<_, rquickjs::Error>(decode_utf8(&bytes, fatal, ignore_bom))
        },
    )?;
    host.set("utf8Decode", decode)?;

    let now = Function::new(ctx.clone(), || origin().0.elapsed().as_secs_f64() * 1000.0)?;
    host.set("now", now)?;
    let time_origin = Function::new(ctx.clone(), || origin().1)?;
    host.set("timeOrigin", time_origin)
}

/// When this process's clock started: as an instant, and in milliseconds since the Unix
/// epoch (`performance.timeOrigin`).
fn origin() -> &'static (Instant, f64) {
    static ORIGIN: OnceLock<(Instant, f64)> = OnceLock::new();
    ORIGIN.get_or_init(|| {
        let wall = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0.0, |since| since.as_secs_f64() * 1000.0);
        (Instant::now(), wall)
    })
}

/// The digest named `name` as Web Crypto spells it (case-insensitive).
fn digest_algorithm(name: &str) -> Option<&'static ring::digest::Algorithm> {
    match name.to_ascii_uppercase().as_str() {
        "SHA-1" => Some(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY),
        "SHA-256" => Some(&ring::digest::SHA256),
        "SHA-384" => Some(&ring::digest::SHA384),
        "SHA-512" => Some(&ring::digest::SHA512),
        _ => None,
    }
}

/// Bytes sent as text of one character (U+0000 to U+00FF) per byte.
fn text_to_bytes(text: &str) -> Result<Vec<u8>, String> {
    super::encoding::latin1_bytes(text)
        .ok_or_else(|| "bytes must be passed as a BufferSource".to_owned())
}

/// UTF-8 `bytes` as text, as `TextDecoder` decodes them: a byte order mark dropped unless
/// `ignore_bom`; malformed sequences replaced by U+FFFD, or `None` when `fatal`.
fn decode_utf8(bytes: &[u8], fatal: bool, ignore_bom: bool) -> Option<String> {
    let bytes = match bytes.strip_prefix(b"\xEF\xBB\xBF") {
        Some(rest) if !ignore_bom => rest,
        _ => bytes,
    };
    if fatal {
        return std::str::from_utf8(bytes).ok().map(str::to_owned);
    }
    Some(String::from_utf8_lossy(bytes).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf8_decodes_as_text_decoder_does() {
        assert_eq!(
            decode_utf8(b"\xEF\xBB\xBFh\xC3\xA9", false, false).unwrap(),
            "hé"
        );
        assert_eq!(
            decode_utf8(b"\xEF\xBB\xBFh", false, true).unwrap(),
            "\u{FEFF}h"
        );
        assert_eq!(decode_utf8(b"a\xFFb", false, false).unwrap(), "a\u{FFFD}b");
        assert_eq!(decode_utf8(b"a\xFFb", true, false), None);
        // An incomplete sequence at the end is one replacement character.
        assert_eq!(
            decode_utf8(b"a\xE2\x82", false, false).unwrap(),
            "a\u{FFFD}"
        );
    }

    #[test]
    fn digests_are_named_as_web_crypto_names_them() {
        assert!(digest_algorithm("sha-256").is_some());
        assert!(digest_algorithm("SHA-512").is_some());
        assert!(digest_algorithm("MD5").is_none());
        assert_eq!(text_to_bytes("a\u{ff}").unwrap(), vec![b'a', 0xff]);
        assert!(text_to_bytes("\u{100}").is_err());
    }
}
