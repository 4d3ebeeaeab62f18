//! Reading a config file (TOML, YAML or JSON) into settings that remember their line.

use std::path::{Path, PathBuf};

use ferry_static::rules::{Glob, HeaderRule};
use http::{HeaderName, HeaderValue};
use serde_json::Value;

/// The names Ferry looks for in the served directory, in this order.
pub(crate) const CONFIG_NAMES: [&str; 4] = ferry_static::CONFIG_FILE_NAMES;

/// One top-level setting of a config file.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Setting {
    /// The key as written.
    pub key: String,
    /// Its value.
    pub value: Value,
    /// The 1-based line it is on, when it could be found.
    pub line: Option<usize>,
}

/// A parsed config file.
#[derive(Debug)]
pub(crate) struct ConfigFile {
    /// Where it was read from.
    pub path: PathBuf,
    /// The top-level settings, except `headers`.
    pub settings: Vec<Setting>,
    /// The `headers` table: per-glob header rules.
    pub header_rules: Vec<HeaderRule>,
    /// The `[auth]` table (sign-in providers and protected paths) and its line, read by
    /// `config::sign_in`. (`auth = "user:password"` is `ferry serve --auth`, a setting.)
    pub auth_table: Option<(Value, Option<usize>)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Toml,
    Yaml,
    Json,
}

impl ConfigFile {
    /// Reads and parses `path`; the format comes from its extension.
    pub(crate) fn load(path: &Path) -> anyhow::Result<ConfigFile> {
        let text = std::fs::read_to_string(path).map_err(|error| {
            anyhow::anyhow!("cannot read the config file {}: {error}", path.display())
        })?;
        ConfigFile::from_text(path, &text)
    }

    /// Parses `text` as the contents of `path` (whose extension gives the format).
    pub(crate) fn from_text(path: &Path, text: &str) -> anyhow::Result<ConfigFile> {
        let format = match path.extension().and_then(|e| e.to_str()) {
            Some("toml") => Format::Toml,
            Some("yaml" | "yml") => Format::Yaml,
            Some("json") => Format::Json,
            _ => anyhow::bail!(
                "{}: unknown config format; name it .toml, .yaml or .json",
                path.display()
            ),
        };
        ConfigFile::parse(path, text, format)
    }

    fn parse(path: &Path, text: &str, format: Format) -> anyhow::Result<ConfigFile> {
        let parsed: Result<Value, String> = match format {
            Format::Toml => toml::from_str(text).map_err(|e| e.to_string()),
            Format::Yaml => serde_saphyr::from_str(text).map_err(|e| e.to_string()),
            Format::Json => serde_json::from_str(text).map_err(|e| e.to_string()),
        };
        let value =
            parsed.map_err(|error| anyhow::anyhow!("{}: {}", path.display(), error.trim_end()))?;
        let table = match value {
            Value::Object(table) => table,
            Value::Null => serde_json::Map::new(),
            _ => anyhow::bail!(
                "{}: expected a table of settings at the top level",
                path.display()
            ),
        };
        let mut settings = Vec::new();
        let mut header_rules = Vec::new();
        let mut auth_table = None;
        for (key, value) in table {
            let line = locate(text, &key).or_else(|| locate_table(text, &key));
            if key == "headers" {
                header_rules = parse_header_rules(path, text, value)?;
            } else if key == "auth" && value.is_object() {
                auth_table = Some((value, line));
            } else {
                settings.push(Setting { key, value, line });
            }
        }
        settings.sort_by_key(|setting| setting.line.unwrap_or(usize::MAX));
        Ok(ConfigFile {
            path: path.to_path_buf(),
            settings,
            header_rules,
            auth_table,
        })
    }

    /// `path:line` for messages about a setting.
    pub(crate) fn position(&self, line: Option<usize>) -> String {
        match line {
            Some(line) => format!("{}:{line}", self.path.display()),
            None => self.path.display().to_string(),
        }
    }
}

/// The `headers` table: `{ "GLOB": { "Header-Name": "value", ... }, ... }`.
fn parse_header_rules(path: &Path, text: &str, value: Value) -> anyhow::Result<Vec<HeaderRule>> {
    // The line of the first of `keys` that can be found (a header name on its own line in
    // YAML, else its glob's line as in TOML inline tables).
    let here_any = |keys: &[&str]| match keys.iter().find_map(|key| locate(text, key)) {
        Some(line) => format!("{}:{line}", path.display()),
        None => path.display().to_string(),
    };
    let here = |key: &str| here_any(&[key]);
    let Value::Object(rules) = value else {
        anyhow::bail!(
            "{}: `headers` must be a table of glob = {{ Header-Name = \"value\" }}",
            here("headers")
        );
    };
    let mut parsed = Vec::new();
    for (pattern, headers) in rules {
        let glob = Glob::new(&pattern).map_err(|error| {
            anyhow::anyhow!("{}: headers.\"{pattern}\": {error}", here(&pattern))
        })?;
        let Value::Object(headers) = headers else {
            anyhow::bail!(
                "{}: headers.\"{pattern}\" must be a table of Header-Name = \"value\"",
                here(&pattern)
            );
        };
        let mut list = Vec::new();
        for (name, value) in headers {
            let header_name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
                anyhow::anyhow!(
                    "{}: headers.\"{pattern}\": '{name}' is not a valid header name",
                    here_any(&[&name, &pattern])
                )
            })?;
            let text_value = match &value {
                Value::String(text) => text.clone(),
                Value::Number(number) => number.to_string(),
                _ => anyhow::bail!(
                    "{}: headers.\"{pattern}\".{name}: expected a string",
                    here_any(&[&name, &pattern])
                ),
            };
            let header_value = HeaderValue::from_str(&text_value).map_err(|_| {
                anyhow::anyhow!(
                    "{}: headers.\"{pattern}\".{name}: the value has characters a header cannot carry",
                    here_any(&[&name, &pattern])
                )
            })?;
            list.push((header_name, header_value));
        }
        parsed.push(HeaderRule {
            glob,
            headers: list,
        });
    }
    Ok(parsed)
}

/// The 1-based line of the TOML table header `[key]` or `[key.…]`.
fn locate_table(text: &str, key: &str) -> Option<usize> {
    text.lines()
        .position(|line| {
            let line = line.trim_start().trim_start_matches('[');
            line.strip_prefix(key)
                .is_some_and(|rest| rest.starts_with(']') || rest.starts_with('.'))
        })
        .map(|index| index + 1)
}

/// The 1-based line where `key` is defined: the first line that starts (after indentation)
/// with the key, bare or quoted, followed by `=` or `:`. Config files define each top-level
/// key once, so the first such line is the one.
fn locate(text: &str, key: &str) -> Option<usize> {
    text.lines()
        .position(|line| {
            let line = line.trim_start();
            let rest = if let Some(rest) = line.strip_prefix(key) {
                rest
            } else if let Some(rest) = line
                .strip_prefix('"')
                .and_then(|l| l.strip_prefix(key))
                .and_then(|l| l.strip_prefix('"'))
            {
                rest
            } else if let Some(rest) = line
                .strip_prefix('\'')
                .and_then(|l| l.strip_prefix(key))
                .and_then(|l| l.strip_prefix('\''))
            {
                rest
            } else {
                return false;
            };
            let rest = rest.trim_start();
            rest.starts_with('=') || rest.starts_with(':')
        })
        .map(|index| index + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(name: &str, text: &str) -> ConfigFile {
        let format = match Path::new(name).extension().and_then(|e| e.to_str()) {
            Some("toml") => Format::Toml,
            Some("json") => Format::Json,
            _ => Format::Yaml,
        };
        ConfigFile::parse(Path::new(name), text, format).unwrap()
    }

    fn keys_and_lines(file: &ConfigFile) -> Vec<(String, Option<usize>)> {
        file.settings
            .iter()
            .map(|s| (s.key.clone(), s.line))
            .collect()
    }

    #[test]
    fn toml_settings_keep_their_lines() {
        let file = parse(
            "ferry.toml",
            "# comment\nport = 9000\nspa = true\n\n[headers]\n\"*.wasm\" = { \"Cache-Control\" = \"max-age=31536000\" }\n",
        );
        assert_eq!(
            keys_and_lines(&file),
            [("port".to_owned(), Some(2)), ("spa".to_owned(), Some(3))]
        );
        assert_eq!(file.settings[0].value, Value::from(9000));
        assert_eq!(file.header_rules.len(), 1);
        assert!(file.header_rules[0].glob.matches("/a.wasm"));
    }

    #[test]
    fn yaml_and_json_read_the_same_way() {
        let yaml = parse(
            "ferry.yaml",
            "port: 9000\nheader:\n  - 'X-A: 1'\nheaders:\n  '*.js':\n    X-B: two\n",
        );
        assert_eq!(keys_and_lines(&yaml)[0], ("port".to_owned(), Some(1)));
        assert_eq!(yaml.settings[1].value, serde_json::json!(["X-A: 1"]));
        assert_eq!(yaml.header_rules[0].headers[0].1, "two");
        let json = parse("ferry.json", "{\n  \"port\": 9000,\n  \"cors\": true\n}\n");
        assert_eq!(
            keys_and_lines(&json),
            [("port".to_owned(), Some(2)), ("cors".to_owned(), Some(3))]
        );
    }

    #[test]
    fn syntax_errors_name_the_file_and_position() {
        let error =
            ConfigFile::parse(Path::new("ferry.toml"), "port = \n", Format::Toml).unwrap_err();
        let text = error.to_string();
        assert!(text.starts_with("ferry.toml: "), "{text}");
        assert!(text.contains("line 1"), "{text}");
        let error =
            ConfigFile::parse(Path::new("c.json"), "{\n \"a\": }", Format::Json).unwrap_err();
        assert!(error.to_string().contains("line 2"), "{error}");
    }

    #[test]
    fn bad_header_rules_name_the_line() {
        let error = ConfigFile::parse(
            Path::new("ferry.toml"),
            "port = 1\n[headers]\n\"*.js\" = { \"Bad Name\" = \"x\" }\n",
            Format::Toml,
        )
        .unwrap_err()
        .to_string();
        assert!(error.contains("ferry.toml:3"), "{error}");
        assert!(
            error.contains("'Bad Name' is not a valid header name"),
            "{error}"
        );
    }

    #[test]
    fn an_empty_file_has_no_settings() {
        assert!(parse("ferry.yaml", "").settings.is_empty());
    }
}
