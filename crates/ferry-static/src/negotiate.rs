//! Reading the `Accept` header: which of HTML and JSON a client prefers, and whether it
//! asks for HTML at all (a browser navigation).

use http::HeaderValue;

/// Whether `accept` gives `application/json` a higher weight than `text/html`.
///
/// `Accept: application/json` prefers JSON; a browser's `text/html,...,*/*;q=0.8` and a bare
/// `*/*` do not (ties go to HTML).
pub fn prefers_json(accept: Option<&HeaderValue>) -> bool {
    let Some(accept) = accept.and_then(|v| v.to_str().ok()) else {
        return false;
    };
    weight(accept, "application", "json") > weight(accept, "text", "html")
}

/// Whether `accept` names `text/html` explicitly with a weight above zero, as browsers do
/// for page navigations (but not for scripts, images or `fetch()`).
pub fn accepts_html_explicitly(accept: Option<&HeaderValue>) -> bool {
    let Some(accept) = accept.and_then(|v| v.to_str().ok()) else {
        return false;
    };
    media_ranges(accept).any(|(kind, subtype, q)| {
        kind.eq_ignore_ascii_case("text") && subtype.eq_ignore_ascii_case("html") && q > 0.0
    })
}

/// The weight `accept` gives `kind/subtype`: the most specific matching range's `q`.
fn weight(accept: &str, kind: &str, subtype: &str) -> f32 {
    let mut best: Option<(u8, f32)> = None;
    for (range_kind, range_subtype, q) in media_ranges(accept) {
        let specificity = match (range_kind, range_subtype) {
            ("*", "*") => 0,
            (k, "*") if k.eq_ignore_ascii_case(kind) => 1,
            (k, s) if k.eq_ignore_ascii_case(kind) && s.eq_ignore_ascii_case(subtype) => 2,
            _ => continue,
        };
        if best.is_none_or(|(current, _)| specificity > current) {
            best = Some((specificity, q));
        }
    }
    best.map_or(0.0, |(_, q)| q)
}

/// `(type, subtype, q)` for each media range of an `Accept` value; malformed ones skipped.
fn media_ranges(accept: &str) -> impl Iterator<Item = (&str, &str, f32)> {
    accept.split(',').filter_map(|range| {
        let mut parts = range.split(';');
        let (kind, subtype) = parts.next()?.trim().split_once('/')?;
        let mut q = 1.0;
        for parameter in parts {
            if let Some((name, value)) = parameter.split_once('=')
                && name.trim().eq_ignore_ascii_case("q")
            {
                q = value
                    .trim()
                    .parse::<f32>()
                    .ok()
                    .filter(|q| (0.0..=1.0).contains(q))?;
            }
        }
        Some((kind.trim(), subtype.trim(), q))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(accept: &'static str) -> bool {
        prefers_json(Some(&HeaderValue::from_static(accept)))
    }

    fn html(accept: &'static str) -> bool {
        accepts_html_explicitly(Some(&HeaderValue::from_static(accept)))
    }

    const BROWSER: &str =
        "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,*/*;q=0.8";

    #[test]
    fn json_is_chosen_only_when_preferred() {
        assert!(json("application/json"));
        assert!(json("application/json, text/html;q=0.5"));
        assert!(json("application/*"));
        assert!(!json(BROWSER));
        assert!(!json("*/*"));
        assert!(!json("text/html, application/json"));
        assert!(!json("application/json;q=0"));
        assert!(!prefers_json(None));
    }

    #[test]
    fn navigations_accept_html_but_fetches_and_assets_do_not() {
        assert!(html(BROWSER));
        assert!(!html("*/*"));
        assert!(!html("image/avif,image/webp,*/*;q=0.8"));
        assert!(!html("text/html;q=0"));
        assert!(!accepts_html_explicitly(None));
    }

    #[test]
    fn malformed_ranges_are_skipped() {
        assert!(json("garbage, application/json"));
        assert!(!json("application/json;q=2"));
    }
}
