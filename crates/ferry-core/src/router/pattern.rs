//! Route patterns as users write them (`/users/:id`, `/files/*`) and their translation into
//! `matchit` syntax.

/// The parameter name a bare trailing `*` is reported under.
pub(crate) const WILDCARD: &str = "*";
/// The name matchit sees for a bare trailing `*` (matchit names must be identifiers).
const WILDCARD_INTERNAL: &str = "ferry_wildcard";

/// A route pattern translated for matchit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Pattern {
    /// The pattern in matchit syntax.
    pub matchit: String,
    /// For a trailing wildcard, the prefix it hangs off (`/files/` for `/files/*`), which
    /// should match too: matchit's catch-all never matches an empty rest.
    pub wildcard_prefix: Option<String>,
}

/// Translates a user pattern, or says why it is not one.
///
/// Syntax: exact segments, `:name` for one whole segment, and a trailing `*` or `*name` that
/// matches the rest of the path. `{` and `}` are ordinary characters.
pub(crate) fn parse(pattern: &str) -> Result<Pattern, String> {
    let Some(rest) = pattern.strip_prefix('/') else {
        return Err("a route pattern must start with '/'".into());
    };
    let segments: Vec<&str> = rest.split('/').collect();
    let mut matchit = String::with_capacity(pattern.len() + 8);
    let mut wildcard_prefix = None;
    for (index, segment) in segments.iter().enumerate() {
        matchit.push('/');
        if let Some(name) = segment.strip_prefix(':') {
            check_name(name, segment)?;
            matchit.push('{');
            matchit.push_str(name);
            matchit.push('}');
        } else if let Some(name) = segment.strip_prefix('*') {
            if index + 1 != segments.len() {
                return Err(format!("the wildcard '{segment}' must be the last segment"));
            }
            let name = if name.is_empty() {
                WILDCARD_INTERNAL
            } else {
                check_name(name, segment)?;
                name
            };
            wildcard_prefix = Some(matchit.clone());
            matchit.push_str("{*");
            matchit.push_str(name);
            matchit.push('}');
        } else {
            for ch in segment.chars() {
                match ch {
                    '{' => matchit.push_str("{{"),
                    '}' => matchit.push_str("}}"),
                    _ => matchit.push(ch),
                }
            }
        }
    }
    Ok(Pattern {
        matchit,
        wildcard_prefix,
    })
}

/// The name a captured parameter is reported under.
pub(crate) fn public_name(matchit_name: &str) -> &str {
    if matchit_name == WILDCARD_INTERNAL {
        WILDCARD
    } else {
        matchit_name
    }
}

fn check_name(name: &str, segment: &str) -> Result<(), String> {
    let valid = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if valid {
        Ok(())
    } else {
        Err(format!(
            "'{segment}' is not a valid parameter: use letters, digits, '_' or '-' after ':' or '*'"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matchit(pattern: &str) -> String {
        parse(pattern).unwrap().matchit
    }

    #[test]
    fn exact_and_parameter_segments_translate() {
        assert_eq!(matchit("/"), "/");
        assert_eq!(matchit("/hello"), "/hello");
        assert_eq!(matchit("/users/:id"), "/users/{id}");
        assert_eq!(matchit("/a/:x/b/:y/"), "/a/{x}/b/{y}/");
    }

    #[test]
    fn trailing_wildcards_translate_with_their_prefix() {
        let bare = parse("/files/*").unwrap();
        assert_eq!(bare.matchit, "/files/{*ferry_wildcard}");
        assert_eq!(bare.wildcard_prefix.as_deref(), Some("/files/"));
        assert_eq!(matchit("/static/*path"), "/static/{*path}");
        assert_eq!(matchit("/*"), "/{*ferry_wildcard}");
    }

    #[test]
    fn braces_are_literal() {
        assert_eq!(matchit("/a{b}"), "/a{{b}}");
    }

    #[test]
    fn invalid_patterns_are_refused_with_a_reason() {
        assert!(parse("users").unwrap_err().contains("start with '/'"));
        assert!(parse("/files/*/more").unwrap_err().contains("last segment"));
        assert!(
            parse("/users/:")
                .unwrap_err()
                .contains("not a valid parameter")
        );
        assert!(parse("/users/:a.b").is_err());
    }
}
