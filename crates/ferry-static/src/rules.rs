//! Header rules: extra response headers for the paths that match a glob, such as
//! `"*.wasm" = { "Cache-Control" = "max-age=31536000" }` in `ferry.toml`.
//!
//! Globs follow `.gitignore` habits: a pattern without `/` matches the last segment of the
//! path (`*.wasm` matches `/app.wasm` and `/pkg/app.wasm`); a pattern with `/` matches the
//! whole path from the root (`/assets/**` or `assets/**`). `*` matches within one segment,
//! `**` across segments, `?` one character; everything else is literal.

use http::{HeaderMap, HeaderName, HeaderValue};

/// A compiled glob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Glob {
    tokens: Vec<Token>,
    /// Matched against the whole path rather than its last segment.
    anchored: bool,
    source: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Literal(char),
    AnyChar,
    Star,
    GlobStar,
}

/// Why a glob cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the pattern is empty")]
pub struct GlobError;

impl Glob {
    /// Compiles `pattern`.
    pub fn new(pattern: &str) -> Result<Self, GlobError> {
        let anchored = pattern.contains('/');
        let body = pattern.strip_prefix('/').unwrap_or(pattern);
        if body.is_empty() {
            return Err(GlobError);
        }
        let mut tokens = Vec::with_capacity(body.len());
        let mut chars = body.chars().peekable();
        while let Some(ch) = chars.next() {
            tokens.push(match ch {
                '*' if chars.peek() == Some(&'*') => {
                    chars.next();
                    Token::GlobStar
                }
                '*' => Token::Star,
                '?' => Token::AnyChar,
                other => Token::Literal(other),
            });
        }
        Ok(Glob {
            tokens,
            anchored,
            source: pattern.to_owned(),
        })
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// Whether `path` (a decoded URL path, with or without its leading `/`) matches.
    ///
    /// ```
    /// use ferry_static::rules::Glob;
    ///
    /// assert!(Glob::new("*.wasm").unwrap().matches("/pkg/app.wasm"));
    /// assert!(Glob::new("/assets/**").unwrap().matches("/assets/img/logo.svg"));
    /// assert!(!Glob::new("/assets/*").unwrap().matches("/assets/img/logo.svg"));
    /// ```
    pub fn matches(&self, path: &str) -> bool {
        let path = path.strip_prefix('/').unwrap_or(path);
        let subject = if self.anchored {
            path
        } else {
            path.trim_end_matches('/')
                .rsplit('/')
                .next()
                .unwrap_or(path)
        };
        let subject: Vec<char> = subject.chars().collect();
        matches_from(&self.tokens, &subject)
    }
}

/// Backtracking match; patterns are short, so the worst case stays small.
fn matches_from(tokens: &[Token], subject: &[char]) -> bool {
    let Some((first, rest)) = tokens.split_first() else {
        return subject.is_empty();
    };
    match first {
        Token::Literal(ch) => subject.first() == Some(ch) && matches_from(rest, &subject[1..]),
        Token::AnyChar => {
            matches!(subject.first(), Some(c) if *c != '/') && matches_from(rest, &subject[1..])
        }
        Token::Star => {
            let segment_end = subject
                .iter()
                .position(|c| *c == '/')
                .unwrap_or(subject.len());
            (0..=segment_end).any(|taken| matches_from(rest, &subject[taken..]))
        }
        Token::GlobStar => (0..=subject.len()).any(|taken| matches_from(rest, &subject[taken..])),
    }
}

/// Headers to set on responses to paths matching a glob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderRule {
    /// The paths the rule applies to.
    pub glob: Glob,
    /// The headers it sets (replacing any the response already has).
    pub headers: Vec<(HeaderName, HeaderValue)>,
}

impl HeaderRule {
    /// Sets this rule's headers on `headers` if `path` matches.
    pub fn apply(&self, path: &str, headers: &mut HeaderMap) {
        if self.glob.matches(path) {
            for (name, value) in &self.headers {
                headers.insert(name.clone(), value.clone());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn glob(pattern: &str) -> Glob {
        Glob::new(pattern).unwrap()
    }

    #[test]
    fn patterns_without_a_slash_match_the_file_name_anywhere() {
        assert!(glob("*.wasm").matches("/app.wasm"));
        assert!(glob("*.wasm").matches("/deep/pkg/app.wasm"));
        assert!(!glob("*.wasm").matches("/app.wasm.map"));
        assert!(glob("index.html").matches("/docs/index.html"));
        assert!(glob("?.js").matches("/a.js"));
        assert!(!glob("?.js").matches("/ab.js"));
        assert!(glob("docs").matches("/docs/"));
    }

    #[test]
    fn patterns_with_a_slash_match_from_the_root() {
        assert!(glob("/assets/*").matches("/assets/app.css"));
        assert!(!glob("/assets/*").matches("/assets/img/logo.png"));
        assert!(glob("/assets/**").matches("/assets/img/logo.png"));
        assert!(glob("assets/**/*.png").matches("/assets/img/x/logo.png"));
        assert!(!glob("/assets/*").matches("/other/assets/app.css"));
        assert!(glob("/**").matches("/anything/at/all"));
    }

    #[test]
    fn literals_are_literal() {
        assert!(glob("a+b(1).txt").matches("/a+b(1).txt"));
        assert!(!glob("a.txt").matches("/abtxt"));
        assert_eq!(Glob::new("/"), Err(GlobError));
    }

    #[test]
    fn rules_set_their_headers_only_on_matches() {
        let rule = HeaderRule {
            glob: glob("*.wasm"),
            headers: vec![(
                HeaderName::from_static("cache-control"),
                HeaderValue::from_static("max-age=31536000"),
            )],
        };
        let mut headers = HeaderMap::new();
        headers.insert("cache-control", HeaderValue::from_static("no-cache"));
        rule.apply("/app.js", &mut headers);
        assert_eq!(headers["cache-control"], "no-cache");
        rule.apply("/app.wasm", &mut headers);
        assert_eq!(headers["cache-control"], "max-age=31536000");
    }
}
