//! Where a user may be sent after signing in or out: a path on this site, never another
//! origin (an open redirect would let anyone dress a phishing link in this site's name).

use ferry_core::{Body, Response};
use http::header::{CACHE_CONTROL, LOCATION};
use http::{HeaderValue, StatusCode};

/// The longest target kept.
const MAX_TARGET: usize = 2048;

/// `target` if it is a path on this site, else `/`.
///
/// A same-origin target starts with one `/`, not `//` (another host) or `/\` (which
/// browsers read as `//`); it holds no backslash, control character or whitespace.
pub fn same_origin_target(target: Option<&str>) -> String {
    match target {
        Some(target) if is_local_path(target) => target.to_owned(),
        _ => "/".to_owned(),
    }
}

/// `303` to the sign-in page, which comes back to `here` (a path and query of this site);
/// never cached.
pub(crate) fn to_sign_in(here: &str) -> Response {
    let back: String = form_urlencoded::byte_serialize(here.as_bytes()).collect();
    let mut response = Response::new(Body::empty());
    *response.status_mut() = StatusCode::SEE_OTHER;
    if let Ok(location) = HeaderValue::from_str(&format!("/auth/login?redirect={back}")) {
        response.headers_mut().insert(LOCATION, location);
    }
    response
        .headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn is_local_path(target: &str) -> bool {
    target.len() <= MAX_TARGET
        && target.starts_with('/')
        && !target.starts_with("//")
        && !target
            .chars()
            .any(|c| c == '\\' || c.is_control() || c.is_whitespace())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn local_paths_are_kept_and_everything_else_is_home() {
        for good in ["/", "/app?x=1#top", "/a/b%2Fc"] {
            assert_eq!(same_origin_target(Some(good)), good);
        }
        for bad in [
            "https://evil.example/",
            "//evil.example",
            "/\\evil.example",
            "\\\\evil.example",
            "javascript:alert(1)",
            "/\tx",
            "/ /evil",
            "",
            "evil",
        ] {
            assert_eq!(same_origin_target(Some(bad)), "/", "{bad:?}");
        }
        assert_eq!(same_origin_target(None), "/");
    }

    proptest! {
        #[test]
        fn a_kept_target_never_leaves_the_origin(target in "\\PC{0,40}") {
            let kept = same_origin_target(Some(&target));
            prop_assert!(kept.starts_with('/') && !kept.starts_with("//"));
            prop_assert!(!kept.contains('\\'));
            // Read as a URI reference, the target has neither scheme nor host.
            if let Ok(uri) = kept.parse::<http::Uri>() {
                prop_assert!(uri.scheme().is_none() && uri.authority().is_none());
            }
        }
    }
}
