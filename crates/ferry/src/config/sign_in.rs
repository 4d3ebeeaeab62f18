//! The config file's `[auth]` table (sign-in providers, protected paths, bootstrap
//! administrators; `ferry_auth::AuthConfig` says its layout). A string in it may name an
//! environment variable as `${NAME}`, which keeps secrets out of the file.

use std::ffi::OsString;
use std::path::Path;

use anyhow::anyhow;
use ferry_auth::{AuthConfig, ResolvedAuthConfig};
use serde_json::Value;

/// Reads the `[auth]` table `value` of the file at `place` (`path:line`), whose directory
/// `dir` relative key files are read from; `env` looks variables up.
pub(crate) fn parse(
    value: &Value,
    place: &str,
    dir: &Path,
    env: &dyn Fn(&str) -> Option<OsString>,
) -> anyhow::Result<ResolvedAuthConfig> {
    let expanded = expand_all(value, &mut vec!["auth".to_owned()], env)
        .map_err(|error| anyhow!("{place}: {error}"))?;
    let config: AuthConfig =
        serde_json::from_value(expanded).map_err(|error| anyhow!("{place}: [auth]: {error}"))?;
    config
        .resolve(dir)
        .map_err(|error| anyhow!("{place}: {error}"))
}

/// `value` with `${NAME}` replaced in every string; an error names the key, as
/// `[auth.providers.google] client_secret: …`.
fn expand_all(
    value: &Value,
    key: &mut Vec<String>,
    env: &dyn Fn(&str) -> Option<OsString>,
) -> Result<Value, String> {
    Ok(match value {
        Value::String(text) => Value::String(expand(text, env).map_err(|error| {
            let (last, table) = key.split_last().expect("the key starts with auth");
            format!("[{}] {last}: {error}", table.join("."))
        })?),
        Value::Array(items) => Value::Array(
            items
                .iter()
                .enumerate()
                .map(|(index, item)| {
                    let last = key.pop().unwrap_or_default();
                    key.push(format!("{last}[{index}]"));
                    let expanded = expand_all(item, key, env);
                    key.pop();
                    key.push(last);
                    expanded
                })
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(table) => Value::Object(
            table
                .iter()
                .map(|(name, item)| {
                    key.push(name.clone());
                    let expanded = expand_all(item, key, env);
                    key.pop();
                    Ok((name.clone(), expanded?))
                })
                .collect::<Result<_, String>>()?,
        ),
        other => other.clone(),
    })
}

/// `text` with each `${NAME}` replaced by the variable NAME, which must be set.
fn expand(text: &str, env: &dyn Fn(&str) -> Option<OsString>) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after
            .find('}')
            .ok_or_else(|| "`${` without a closing `}`".to_owned())?;
        let name = &after[..end];
        let value = env(name)
            .ok_or_else(|| format!("the environment variable {name} is not set"))?
            .into_string()
            .map_err(|_| format!("the environment variable {name} is not UTF-8"))?;
        out.push_str(&value);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferry_auth::Role;
    use serde_json::json;

    fn env(name: &str) -> Option<OsString> {
        (name == "GOOGLE_SECRET").then(|| OsString::from("from-env"))
    }

    fn parse_json(value: Value) -> anyhow::Result<ResolvedAuthConfig> {
        parse(&value, "ferry.toml:3", Path::new("."), &env)
    }

    #[test]
    fn presets_generic_providers_rules_and_admins_are_read() {
        let file = parse_json(json!({
            "bootstrap_admins": ["Ann@Example.com"],
            "providers": {
                "google": { "client_id": "g", "client_secret": "${GOOGLE_SECRET}" },
                "microsoft": { "client_id": "m", "client_secret": "s", "tenant_id": "organizations" },
                "corp": { "issuer": "https://id.corp.example/", "client_id": "c", "client_secret": "s", "label": "Corp" },
            },
            "protect": [{ "path": "/admin", "role": "admin", "domains": ["example.com"] }],
        }))
        .unwrap();
        let names: Vec<_> = file.providers.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["corp", "google", "microsoft"]);
        assert_eq!(file.providers[0].issuer, "https://id.corp.example");
        assert_eq!(file.providers[0].label, "Corp");
        assert!(
            matches!(&file.providers[1].client_secret, ferry_auth::ClientSecret::Shared(s) if s == "from-env")
        );
        assert_eq!(
            file.providers[2].issuer,
            "https://login.microsoftonline.com/organizations/v2.0"
        );
        assert_eq!(file.rules[0].role, Role::Administrator);
        assert_eq!(file.bootstrap_admins, ["ann@example.com"]);
    }

    #[test]
    fn mistakes_name_the_place_and_the_fix() {
        let message = |value: Value| format!("{:#}", parse_json(value).unwrap_err());
        let unset = message(
            json!({ "providers": { "google": { "client_id": "g", "client_secret": "${NOPE}" } } }),
        );
        assert!(
            unset.contains("ferry.toml:3: [auth.providers.google]")
                && unset.contains("NOPE is not set"),
            "{unset}"
        );
        let no_issuer =
            message(json!({ "providers": { "corp": { "client_id": "c", "client_secret": "s" } } }));
        assert!(no_issuer.contains("`issuer` is missing"), "{no_issuer}");
        let typo = message(
            json!({ "providers": { "google": { "client_id": "g", "clientsecret": "s" } } }),
        );
        assert!(typo.contains("unknown field `clientsecret`"), "{typo}");
        let role = message(json!({ "protect": [{ "path": "/", "role": "root" }] }));
        assert!(
            role.contains("auth.protect[0].role: `root` is not a role"),
            "{role}"
        );
        let apple = message(json!({ "providers": { "apple": { "client_id": "a" } } }));
        assert!(apple.contains("Apple needs team_id"), "{apple}");
    }
}
