//! The config file's `[auth]` table, laid out as aiwebengine's: providers under
//! `[auth.providers.NAME]` (`google`, `microsoft` and `apple` are presets; any other name
//! needs an `issuer`), paths kept for signed-in users under `[[auth.protect]]`, and
//! `bootstrap_admins`. A value may name an environment variable as `${NAME}`, which keeps
//! secrets out of the file.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use anyhow::{Context, anyhow, bail};
use ferry_auth::{AccessRule, AppleKey, ProviderSettings, ResponseMode, Role};
use serde::Deserialize;
use serde_json::Value;

/// What the `[auth]` table sets.
#[derive(Debug, Clone, Default)]
pub(crate) struct SignInFile {
    /// Its providers.
    pub providers: Vec<ProviderSettings>,
    /// Its protected paths.
    pub rules: Vec<AccessRule>,
    /// Its bootstrap administrators.
    pub bootstrap_admins: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AuthTable {
    #[serde(default)]
    providers: BTreeMap<String, ProviderTable>,
    #[serde(default)]
    protect: Vec<ProtectTable>,
    #[serde(default)]
    bootstrap_admins: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProviderTable {
    issuer: Option<String>,
    client_id: String,
    client_secret: Option<String>,
    label: Option<String>,
    scopes: Option<Vec<String>>,
    /// Microsoft: the tenant (`common` by default).
    tenant_id: Option<String>,
    /// Apple: the team id, key id and private key (PEM text or a file).
    team_id: Option<String>,
    key_id: Option<String>,
    private_key: Option<String>,
    private_key_file: Option<PathBuf>,
    /// `query` (default) or `form_post`.
    response_mode: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProtectTable {
    path: String,
    role: Option<String>,
    #[serde(default)]
    emails: Vec<String>,
    #[serde(default)]
    domains: Vec<String>,
}

/// Reads the `[auth]` table `value` of the file at `place` (`path:line`), whose directory
/// `dir` relative key files are read from; `env` looks variables up.
pub(crate) fn parse(
    value: &Value,
    place: &str,
    dir: &Path,
    env: &dyn Fn(&str) -> Option<OsString>,
) -> anyhow::Result<SignInFile> {
    let table: AuthTable = serde_json::from_value(value.clone())
        .map_err(|error| anyhow!("{place}: [auth]: {error}"))?;
    let mut file = SignInFile {
        bootstrap_admins: table
            .bootstrap_admins
            .iter()
            .map(|email| expand(email, env).map(|email| email.to_ascii_lowercase()))
            .collect::<anyhow::Result<_>>()
            .with_context(|| format!("{place}: auth.bootstrap_admins"))?,
        ..SignInFile::default()
    };
    for (name, provider) in table.providers {
        let settings = provider_settings(&name, provider, dir, env)
            .with_context(|| format!("{place}: [auth.providers.{name}]"))?;
        file.providers.push(settings);
    }
    for (index, rule) in table.protect.into_iter().enumerate() {
        let role = match rule.role.as_deref() {
            None => Role::Authenticated,
            Some(name) => Role::parse(name).ok_or_else(|| {
                anyhow!(
                    "{place}: auth.protect[{index}].role: `{name}` is not a role; use authenticated, editor or administrator"
                )
            })?,
        };
        if !rule.path.starts_with('/') {
            bail!(
                "{place}: auth.protect[{index}].path: `{}` must start with /",
                rule.path
            );
        }
        file.rules.push(AccessRule {
            role,
            emails: rule.emails,
            domains: rule.domains,
            ..AccessRule::signed_in(&rule.path)
        });
    }
    Ok(file)
}

fn provider_settings(
    name: &str,
    table: ProviderTable,
    dir: &Path,
    env: &dyn Fn(&str) -> Option<OsString>,
) -> anyhow::Result<ProviderSettings> {
    let text = |value: Option<&String>, key: &str| -> anyhow::Result<Option<String>> {
        value
            .map(|value| expand(value, env).with_context(|| key.to_owned()))
            .transpose()
    };
    let client_id = expand(&table.client_id, env).context("client_id")?;
    let secret = text(table.client_secret.as_ref(), "client_secret")?;
    let issuer = text(table.issuer.as_ref(), "issuer")?;
    let need_secret = || {
        secret
            .clone()
            .ok_or_else(|| anyhow!("client_secret is missing (write client_secret = \"${{VARIABLE}}\" to read it from the environment)"))
    };
    let mut settings = match (name, issuer) {
        (_, Some(issuer)) => ProviderSettings::generic(name, &issuer, &client_id, &need_secret()?),
        ("google", None) => ProviderSettings::google(&client_id, &need_secret()?),
        ("microsoft", None) => {
            let tenant =
                text(table.tenant_id.as_ref(), "tenant_id")?.unwrap_or_else(|| "common".into());
            ProviderSettings::microsoft(&tenant, &client_id, &need_secret()?)
        }
        ("apple", None) => {
            let private_key = match (&table.private_key, &table.private_key_file) {
                (Some(pem), None) => expand(pem, env).context("private_key")?,
                (None, Some(file)) => {
                    let path = dir.join(file);
                    std::fs::read_to_string(&path).with_context(|| {
                        format!("private_key_file: cannot read {}", path.display())
                    })?
                }
                _ => {
                    bail!("Apple needs team_id, key_id and one of private_key or private_key_file")
                }
            };
            let key = AppleKey {
                team_id: text(table.team_id.as_ref(), "team_id")?
                    .ok_or_else(|| anyhow!("team_id is missing"))?,
                key_id: text(table.key_id.as_ref(), "key_id")?
                    .ok_or_else(|| anyhow!("key_id is missing"))?,
                private_key_pem: private_key,
            };
            ProviderSettings::apple(&client_id, key)
        }
        (_, None) => bail!(
            "`issuer` is missing: write the provider's issuer URL (google, microsoft and apple know theirs)"
        ),
    };
    if let Some(label) = table.label {
        settings.label = label;
    }
    if let Some(scopes) = table.scopes {
        settings.scopes = scopes;
    }
    match table.response_mode.as_deref() {
        None => {}
        Some("query") => settings.response_mode = ResponseMode::Query,
        Some("form_post") => settings.response_mode = ResponseMode::FormPost,
        Some(other) => bail!("response_mode: `{other}` is not query or form_post"),
    }
    Ok(settings)
}

/// `text` with each `${NAME}` replaced by the variable NAME, which must be set.
fn expand(text: &str, env: &dyn Fn(&str) -> Option<OsString>) -> anyhow::Result<String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after
            .find('}')
            .ok_or_else(|| anyhow!("`${{` without a closing `}}`"))?;
        let name = &after[..end];
        let value = env(name)
            .ok_or_else(|| anyhow!("the environment variable {name} is not set"))?
            .into_string()
            .map_err(|_| anyhow!("the environment variable {name} is not UTF-8"))?;
        out.push_str(&value);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn env(name: &str) -> Option<OsString> {
        (name == "GOOGLE_SECRET").then(|| OsString::from("from-env"))
    }

    fn parse_json(value: Value) -> anyhow::Result<SignInFile> {
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
