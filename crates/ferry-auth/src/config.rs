//! Sign-in as a config file describes it, laid out as aiwebengine's `[auth]` table:
//! providers under `providers.NAME` (`google`, `microsoft` and `apple` are presets; any
//! other name needs an `issuer`), protected paths under `protect`, and `bootstrap_admins`.
//! Any serde format reads it; [`AuthConfig::resolve`] turns it into the typed settings.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::apple::AppleKey;
use crate::identity::Role;
use crate::provider::{ProviderSettings, ResponseMode};
use crate::rules::AccessRule;

/// The `[auth]` table of a config file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthConfig {
    /// Providers by name.
    #[serde(default)]
    pub providers: BTreeMap<String, ProviderConfig>,
    /// Paths kept for signed-in users.
    #[serde(default)]
    pub protect: Vec<ProtectConfig>,
    /// Verified e-mail addresses that become administrators at sign-in.
    #[serde(default)]
    pub bootstrap_admins: Vec<String>,
}

/// One provider of [`AuthConfig::providers`].
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderConfig {
    /// The issuer URL (the presets know theirs).
    pub issuer: Option<String>,
    /// The client id.
    pub client_id: String,
    /// The client secret (not for Apple).
    pub client_secret: Option<String>,
    /// What the sign-in page calls it.
    pub label: Option<String>,
    /// The scopes asked for.
    pub scopes: Option<Vec<String>>,
    /// Microsoft: the tenant (`common` by default).
    pub tenant_id: Option<String>,
    /// Apple: the team id.
    pub team_id: Option<String>,
    /// Apple: the key id.
    pub key_id: Option<String>,
    /// Apple: the private key, PEM text…
    pub private_key: Option<String>,
    /// …or the `.p8` file holding it (relative to the config file).
    pub private_key_file: Option<PathBuf>,
    /// `query` (default) or `form_post`.
    pub response_mode: Option<ResponseMode>,
}

/// One entry of [`AuthConfig::protect`].
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProtectConfig {
    /// The path kept, with everything below it.
    pub path: String,
    /// The least role (`authenticated` by default).
    pub role: Option<String>,
    /// Only these verified addresses…
    #[serde(default)]
    pub emails: Vec<String>,
    /// …or addresses of these domains…
    #[serde(default)]
    pub domains: Vec<String>,
    /// …or members of these groups.
    #[serde(default)]
    pub groups: Vec<String>,
}

/// Why an `[auth]` table cannot be used; each names the key to fix.
#[derive(Debug, thiserror::Error)]
pub enum AuthConfigError {
    /// A provider is incomplete.
    #[error("[auth.providers.{name}] {problem}")]
    Provider {
        /// The provider.
        name: String,
        /// What is missing or wrong.
        problem: String,
    },
    /// A protected path names no role Ferry knows.
    #[error(
        "auth.protect[{index}].role: `{role}` is not a role; use authenticated, editor or administrator"
    )]
    Role {
        /// The entry.
        index: usize,
        /// The name given.
        role: String,
    },
    /// A protected path is not a path.
    #[error("auth.protect[{index}].path: `{path}` must start with /")]
    Path {
        /// The entry.
        index: usize,
        /// The path given.
        path: String,
    },
}

/// What an `[auth]` table sets, typed.
#[derive(Debug, Clone, Default)]
pub struct ResolvedAuthConfig {
    /// The providers.
    pub providers: Vec<ProviderSettings>,
    /// The protected paths.
    pub rules: Vec<AccessRule>,
    /// The bootstrap administrators, lower-case.
    pub bootstrap_admins: Vec<String>,
}

impl AuthConfig {
    /// The settings the table describes; key files are read relative to `dir`.
    pub fn resolve(self, dir: &Path) -> Result<ResolvedAuthConfig, AuthConfigError> {
        let mut resolved = ResolvedAuthConfig {
            bootstrap_admins: self
                .bootstrap_admins
                .iter()
                .map(|email| email.to_ascii_lowercase())
                .collect(),
            ..ResolvedAuthConfig::default()
        };
        for (name, provider) in self.providers {
            let settings = provider
                .settings(&name, dir)
                .map_err(|problem| AuthConfigError::Provider { name, problem })?;
            resolved.providers.push(settings);
        }
        for (index, entry) in self.protect.into_iter().enumerate() {
            let role = match entry.role {
                None => Role::Authenticated,
                Some(role) => Role::parse(&role).ok_or(AuthConfigError::Role { index, role })?,
            };
            if !entry.path.starts_with('/') {
                return Err(AuthConfigError::Path {
                    index,
                    path: entry.path,
                });
            }
            resolved.rules.push(AccessRule {
                role,
                emails: entry.emails,
                domains: entry.domains,
                groups: entry.groups,
                ..AccessRule::signed_in(&entry.path)
            });
        }
        Ok(resolved)
    }
}

impl ProviderConfig {
    /// The provider `name` as configured: a preset when the name is one and no issuer is
    /// given, else the generic provider at `issuer`.
    fn settings(self, name: &str, dir: &Path) -> Result<ProviderSettings, String> {
        let secret = || {
            self.client_secret.clone().ok_or_else(|| {
                "client_secret is missing (write client_secret = \"${VARIABLE}\" to read it from the environment)".to_owned()
            })
        };
        let mut settings = match (name, &self.issuer) {
            (_, Some(issuer)) => {
                ProviderSettings::generic(name, issuer, &self.client_id, &secret()?)
            }
            ("google", None) => ProviderSettings::google(&self.client_id, &secret()?),
            ("microsoft", None) => {
                let tenant = self.tenant_id.as_deref().unwrap_or("common");
                ProviderSettings::microsoft(tenant, &self.client_id, &secret()?)
            }
            ("apple", None) => ProviderSettings::apple(&self.client_id, self.apple_key(dir)?),
            (_, None) => {
                return Err("`issuer` is missing: write the provider's issuer URL (google, microsoft and apple know theirs)".into());
            }
        };
        if let Some(label) = self.label {
            settings.label = label;
        }
        if let Some(scopes) = self.scopes {
            settings.scopes = scopes;
        }
        if let Some(mode) = self.response_mode {
            settings.response_mode = mode;
        }
        Ok(settings)
    }

    fn apple_key(&self, dir: &Path) -> Result<AppleKey, String> {
        let private_key_pem = match (&self.private_key, &self.private_key_file) {
            (Some(pem), None) => pem.clone(),
            (None, Some(file)) => {
                let path = dir.join(file);
                std::fs::read_to_string(&path).map_err(|error| {
                    format!("private_key_file: cannot read {}: {error}", path.display())
                })?
            }
            _ => {
                return Err(
                    "Apple needs team_id, key_id and one of private_key or private_key_file".into(),
                );
            }
        };
        Ok(AppleKey {
            team_id: self.team_id.clone().ok_or("team_id is missing")?,
            key_id: self.key_id.clone().ok_or("key_id is missing")?,
            private_key_pem,
        })
    }
}
