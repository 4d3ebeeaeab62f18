//! `btoa` and `atob`, with the browser's Latin-1 semantics.

use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use rquickjs::{Ctx, Function, Object};

use super::throw;

/// Standard alphabet; decoding accepts input with or without padding, as `atob` does.
const FORGIVING: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

pub(super) fn install<'js>(ctx: &Ctx<'js>, host: &Object<'js>) -> rquickjs::Result<()> {
    let btoa = Function::new(ctx.clone(), |ctx: Ctx<'js>, text: String| {
        encode_latin1(&text).map_err(|message| throw(&ctx, &message))
    })?;
    host.set("btoa", btoa)?;
    let atob = Function::new(ctx.clone(), |ctx: Ctx<'js>, text: String| {
        decode_to_latin1(&text).map_err(|message| throw(&ctx, &message))
    })?;
    host.set("atob", atob)
}

/// `btoa`: each character is one byte; characters above U+00FF cannot be encoded.
pub(crate) fn encode_latin1(text: &str) -> Result<String, String> {
    let bytes = latin1_bytes(text).ok_or_else(|| {
        "btoa: the string contains characters outside Latin-1; encode it as UTF-8 first".to_owned()
    })?;
    Ok(base64::engine::general_purpose::STANDARD.encode(bytes))
}

/// The bytes of `text` when each character is one byte (U+0000 to U+00FF): how binary
/// data crosses from JavaScript to the bindings.
pub(crate) fn latin1_bytes(text: &str) -> Option<Vec<u8>> {
    text.chars()
        .map(|ch| u8::try_from(u32::from(ch)).ok())
        .collect()
}

/// `atob`: ASCII whitespace is ignored; each decoded byte becomes one character.
pub(crate) fn decode_to_latin1(text: &str) -> Result<String, String> {
    let compact: String = text
        .chars()
        .filter(|ch| !ch.is_ascii_whitespace())
        .collect();
    let bytes = FORGIVING
        .decode(compact)
        .map_err(|error| format!("atob: the string is not valid base64 ({error})"))?;
    Ok(bytes.into_iter().map(char::from).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_latin1() {
        assert_eq!(encode_latin1("Hello, ÿ").unwrap(), "SGVsbG8sIP8=");
        assert_eq!(decode_to_latin1("SGVsbG8sIP8=").unwrap(), "Hello, ÿ");
        assert_eq!(decode_to_latin1(" SGVs\nbG8 ").unwrap(), "Hello");
    }

    #[test]
    fn rejects_what_browsers_reject() {
        assert!(encode_latin1("€").is_err());
        assert!(decode_to_latin1("@@").is_err());
    }
}
