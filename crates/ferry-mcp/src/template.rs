//! URI templates of resources (RFC 6570 level 1: `{name}` variables, each matching a run of
//! characters other than `/`), matched against the URIs clients read.

use serde_json::{Map, Value};

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Literal(String),
    Variable(String),
}

/// A parsed URI template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct UriTemplate {
    parts: Vec<Part>,
}

impl UriTemplate {
    /// Parses `template`; a fixed URI is a template without variables.
    pub(crate) fn parse(template: &str) -> Result<Self, String> {
        let mut parts = Vec::new();
        let mut rest = template;
        while let Some(open) = rest.find('{') {
            if open > 0 {
                parts.push(Part::Literal(rest[..open].to_owned()));
            }
            let close = rest[open..]
                .find('}')
                .map(|at| open + at)
                .ok_or("a \"{\" is not closed")?;
            let name = &rest[open + 1..close];
            let valid = !name.is_empty()
                && name
                    .chars()
                    .all(|ch| ch.is_ascii_alphanumeric() || ch == '_');
            if !valid {
                return Err(format!(
                    "{{{name}}} is not a variable (letters, digits and _ only)"
                ));
            }
            if matches!(parts.last(), Some(Part::Variable(_))) {
                return Err("two variables must be separated by text".into());
            }
            parts.push(Part::Variable(name.to_owned()));
            rest = &rest[close + 1..];
        }
        if rest.contains('}') {
            return Err("a \"}\" has no \"{\"".into());
        }
        if !rest.is_empty() {
            parts.push(Part::Literal(rest.to_owned()));
        }
        Ok(UriTemplate { parts })
    }

    /// The variables of `uri` when it matches.
    pub(crate) fn matches(&self, uri: &str) -> Option<Map<String, Value>> {
        let mut params = Map::new();
        let mut rest = uri;
        for (index, part) in self.parts.iter().enumerate() {
            match part {
                Part::Literal(text) => rest = rest.strip_prefix(text.as_str())?,
                Part::Variable(name) => {
                    let end = match self.parts.get(index + 1) {
                        Some(Part::Literal(next)) => rest.find(next.as_str())?,
                        _ => rest.len(),
                    };
                    let value = &rest[..end];
                    if value.is_empty() || value.contains('/') {
                        return None;
                    }
                    params.insert(name.clone(), Value::String(value.to_owned()));
                    rest = &rest[end..];
                }
            }
        }
        rest.is_empty().then_some(params)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_match_and_capture_their_variables() {
        let template = UriTemplate::parse("notes://{folder}/{id}.md").unwrap();
        let params = template.matches("notes://work/42.md").unwrap();
        assert_eq!(params["folder"], "work");
        assert_eq!(params["id"], "42");
        assert_eq!(template.matches("notes://work/a/42.md"), None);
        assert_eq!(template.matches("notes://work/42.txt"), None);
        assert_eq!(template.matches("other://work/42.md"), None);
        let fixed = UriTemplate::parse("config://app").unwrap();
        assert_eq!(fixed.matches("config://app"), Some(Map::new()));
        assert_eq!(fixed.matches("config://apps"), None);
    }

    #[test]
    fn malformed_templates_are_refused() {
        for bad in ["x://{", "x://{a b}", "x://{a}{b}", "x://}", "x://{}"] {
            assert!(UriTemplate::parse(bad).is_err(), "{bad}");
        }
    }
}
