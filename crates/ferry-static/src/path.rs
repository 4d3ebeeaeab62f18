//! From a request path to a relative path that is safe to join onto the root.
//!
//! The path is percent-decoded exactly once, then split on `/` (so an encoded slash, `%2f`,
//! separates segments like a plain one), and its dot segments are resolved the way a browser
//! resolves them in a URL. Nothing here touches the file system: a path that would climb
//! above the root, or that holds bytes no file name should (NUL, backslash), is refused
//! before any I/O happens.

use std::borrow::Cow;
use std::path::PathBuf;

use percent_encoding::{AsciiSet, CONTROLS, percent_decode_str, utf8_percent_encode};

/// Why a request path is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathRejection {
    /// The path climbs above the root, or holds a NUL byte or a backslash: 403.
    Forbidden,
    /// The path names a hidden file or directory (a segment starting with `.`): 404.
    Hidden,
}

/// A request path, decoded and normalised: no empty, `.` or `..` segments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestPath {
    /// Normalised segments joined by `/`, without a leading slash; empty for the root.
    relative: Vec<u8>,
    /// Whether the request path ended with `/` (it asks for a directory).
    trailing_slash: bool,
}

impl RequestPath {
    /// Checks and normalises `raw`, the path of a request URI (still percent-encoded).
    ///
    /// Hidden segments are refused unless `allow_hidden`.
    pub fn parse(raw: &str, allow_hidden: bool) -> Result<RequestPath, PathRejection> {
        let decoded: Cow<'_, [u8]> = percent_decode_str(raw).into();
        if decoded.iter().any(|&b| b == 0 || b == b'\\') {
            return Err(PathRejection::Forbidden);
        }
        let mut relative: Vec<u8> = Vec::with_capacity(decoded.len());
        let mut last_was_dir_marker = true;
        for segment in decoded.split(|&b| b == b'/') {
            match segment {
                b"" | b"." => last_was_dir_marker = true,
                b".." => {
                    if relative.is_empty() {
                        return Err(PathRejection::Forbidden);
                    }
                    // Segments hold no `/`: the last one starts after the last `/`.
                    let parent = relative.iter().rposition(|&b| b == b'/').unwrap_or(0);
                    relative.truncate(parent);
                    last_was_dir_marker = true;
                }
                _ => {
                    if segment[0] == b'.' && !allow_hidden {
                        return Err(PathRejection::Hidden);
                    }
                    if !relative.is_empty() {
                        relative.push(b'/');
                    }
                    relative.extend_from_slice(segment);
                    last_was_dir_marker = false;
                }
            }
        }
        Ok(RequestPath {
            relative,
            trailing_slash: last_was_dir_marker,
        })
    }

    /// Whether this is the root itself.
    pub fn is_root(&self) -> bool {
        self.relative.is_empty()
    }

    /// Whether the request asked for a directory (its path ended with `/`).
    pub fn has_trailing_slash(&self) -> bool {
        self.trailing_slash
    }

    /// The normalised relative path as bytes (`a/b/c.txt`).
    pub fn as_bytes(&self) -> &[u8] {
        &self.relative
    }

    /// The normalised relative path as a file-system path.
    pub fn to_path(&self) -> PathBuf {
        bytes_to_path(&self.relative)
    }

    /// The canonical URL path of this resource: `/` + segments, percent-encoded, with a
    /// trailing slash when `directory`. Built from the normalised segments, never from the
    /// raw request, so it cannot become `//host` (an open redirect).
    pub fn url_path(&self, directory: bool) -> String {
        let mut url = String::with_capacity(self.relative.len() + 2);
        for segment in self
            .relative
            .split(|&b| b == b'/')
            .filter(|s| !s.is_empty())
        {
            url.push('/');
            url.push_str(&encode_segment(segment));
        }
        if directory || url.is_empty() {
            url.push('/');
        }
        url
    }
}

/// Characters escaped in a URL path segment: controls, space, and everything with a meaning
/// in URLs or HTML attributes (`%`, `/`, `?`, `#`, quotes, ...). `:` is escaped too, so a
/// relative link to `a:b` is not read as a URL with scheme `a`. Non-ASCII bytes are always
/// escaped.
pub const PATH_SEGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'/')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'`')
    .add(b'{')
    .add(b'}')
    .add(b'\\')
    .add(b'^')
    .add(b'|')
    .add(b'[')
    .add(b']')
    .add(b'\'')
    .add(b':');

/// Percent-encodes one path segment given as raw bytes (file names need not be UTF-8).
pub fn encode_segment(segment: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(segment) {
        Ok(text) => utf8_percent_encode(text, PATH_SEGMENT).into(),
        Err(_) => Cow::Owned(percent_encoding::percent_encode(segment, PATH_SEGMENT).to_string()),
    }
}

#[cfg(unix)]
fn bytes_to_path(bytes: &[u8]) -> PathBuf {
    use std::os::unix::ffi::OsStrExt;
    PathBuf::from(std::ffi::OsStr::from_bytes(bytes))
}

#[cfg(not(unix))]
fn bytes_to_path(bytes: &[u8]) -> PathBuf {
    PathBuf::from(String::from_utf8_lossy(bytes).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(raw: &str) -> Result<RequestPath, PathRejection> {
        RequestPath::parse(raw, false)
    }

    fn relative(raw: &str) -> String {
        String::from_utf8(parse(raw).unwrap().relative).unwrap()
    }

    #[test]
    fn plain_paths_normalise() {
        assert_eq!(relative("/"), "");
        assert_eq!(relative("/index.html"), "index.html");
        assert_eq!(relative("//a///b/./c"), "a/b/c");
        assert_eq!(relative("/a/b/../c"), "a/c");
        assert!(parse("/a/").unwrap().has_trailing_slash());
        assert!(parse("/a/.").unwrap().has_trailing_slash());
        assert!(!parse("/a").unwrap().has_trailing_slash());
    }

    #[test]
    fn traversal_above_the_root_is_forbidden() {
        for raw in [
            "/..",
            "/../etc/passwd",
            "/a/../../b",
            "/%2e%2e/x",
            "/%2E%2E%2Fetc",
        ] {
            assert_eq!(parse(raw), Err(PathRejection::Forbidden), "{raw}");
        }
    }

    #[test]
    fn encoded_slash_separates_segments() {
        assert_eq!(relative("/a%2fb"), "a/b");
        assert_eq!(
            parse("/a%2f..%2f..%2fsecret"),
            Err(PathRejection::Forbidden)
        );
    }

    #[test]
    fn nul_and_backslash_are_forbidden() {
        assert_eq!(parse("/a%00b"), Err(PathRejection::Forbidden));
        assert_eq!(parse("/..%5c..%5cwindows"), Err(PathRejection::Forbidden));
        assert_eq!(parse("/a%5cb"), Err(PathRejection::Forbidden));
    }

    #[test]
    fn hidden_segments_are_refused_unless_allowed() {
        assert_eq!(parse("/.env"), Err(PathRejection::Hidden));
        assert_eq!(parse("/.git/config"), Err(PathRejection::Hidden));
        assert_eq!(parse("/a/%2egit"), Err(PathRejection::Hidden));
        assert_eq!(
            RequestPath::parse("/.well-known/x", true)
                .unwrap()
                .as_bytes(),
            b".well-known/x"
        );
    }

    #[test]
    fn special_characters_survive_decoding() {
        assert_eq!(relative("/100%25%20done%3F%23.txt"), "100% done?#.txt");
        assert_eq!(parse("/caf%C3%A9").unwrap().as_bytes(), "café".as_bytes());
        // Not UTF-8: kept as raw bytes.
        assert_eq!(parse("/%FF%FE").unwrap().as_bytes(), &[0xff, 0xfe]);
    }

    #[test]
    fn url_path_is_re_encoded_and_never_protocol_relative() {
        let path = parse("//evil.example/%2e%2e/x%20y").unwrap();
        assert_eq!(path.url_path(true), "/x%20y/");
        assert_eq!(
            parse("//evil.example").unwrap().url_path(true),
            "/evil.example/"
        );
        assert_eq!(parse("/").unwrap().url_path(true), "/");
        assert_eq!(parse("/%FF").unwrap().url_path(false), "/%FF");
    }
}
