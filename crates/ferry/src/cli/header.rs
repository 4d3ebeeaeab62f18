//! Parsing `-H 'Name: value'`.

use http::{HeaderName, HeaderValue};

/// Parses a `Name: value` pair, as curl's `-H` takes it.
pub(super) fn parse_header(text: &str) -> Result<(HeaderName, HeaderValue), String> {
    let Some((name, value)) = text.split_once(':') else {
        return Err(format!("expected 'Name: value', got '{text}'"));
    };
    let name = HeaderName::from_bytes(name.trim().as_bytes())
        .map_err(|_| format!("'{}' is not a valid header name", name.trim()))?;
    let value = HeaderValue::from_str(value.trim())
        .map_err(|_| format!("the value of '{name}' has characters a header cannot carry"))?;
    Ok((name, value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_and_value_are_trimmed() {
        let (name, value) = parse_header("X-Frame-Options:  DENY ").unwrap();
        assert_eq!(name, "x-frame-options");
        assert_eq!(value, "DENY");
        let (_, with_colon) = parse_header("Link: <https://a.example>; rel=preload").unwrap();
        assert_eq!(with_colon, "<https://a.example>; rel=preload");
    }

    #[test]
    fn bad_headers_are_explained() {
        assert!(
            parse_header("no colon")
                .unwrap_err()
                .contains("Name: value")
        );
        assert!(
            parse_header("bad name: x")
                .unwrap_err()
                .contains("not a valid header name")
        );
        assert!(
            parse_header("X-A: line\nbreak")
                .unwrap_err()
                .contains("cannot carry")
        );
    }
}
