//! Scripts' secrets (`secretStorage`): values kept sealed with AES-256-GCM under a key the
//! operator gives Ferry (never stored beside them), bound to their script and name so a
//! sealed value copied to another row does not open. The store keeps only sealed bytes;
//! nothing here logs or formats a value.

use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::rand::{SecureRandom, SystemRandom};

use crate::StoreError;

/// Where scripts' secrets are kept, sealed.
pub trait SecretStore {
    /// Whether `script` has a secret `name`.
    fn secret_exists(&mut self, script: &str, name: &str) -> Result<bool, StoreError>;
    /// Keeps `sealed` (from [`SecretKey::seal`]) as `script`'s secret `name`.
    fn put_secret(&mut self, script: &str, name: &str, sealed: &[u8]) -> Result<(), StoreError>;
    /// The sealed value of `script`'s secret `name`.
    fn sealed_secret(&mut self, script: &str, name: &str) -> Result<Option<Vec<u8>>, StoreError>;
    /// Removes `script`'s secret `name`; whether it was there.
    fn remove_secret(&mut self, script: &str, name: &str) -> Result<bool, StoreError>;
    /// Removes every secret of `script`; how many there were.
    fn clear_secrets(&mut self, script: &str) -> Result<usize, StoreError>;
}

/// The SQLite schema of secrets (migration 4).
pub(crate) const SQLITE_SCHEMA: &str = "
CREATE TABLE secrets (
    script  TEXT NOT NULL,
    name    TEXT NOT NULL,
    sealed  BLOB NOT NULL,
    updated INTEGER NOT NULL,
    PRIMARY KEY (script, name)
) WITHOUT ROWID;
";

/// The key secrets are sealed with.
pub struct SecretKey {
    key: LessSafeKey,
}

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretKey(…)")
    }
}

/// Why a sealed secret did not open.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// The key given is not 32 bytes in base64 or hex.
    #[error(
        "the secret key must be 32 random bytes, in base64 (44 characters) or hex (64); make one with `openssl rand -base64 32`"
    )]
    BadKey,
    /// The value was sealed with another key, for another slot, or changed.
    #[error(
        "the secret {0} cannot be opened: it was sealed with another key (was FERRY_SECRET_KEY changed?) or altered"
    )]
    Sealed(String),
}

/// Marks the format of a sealed value: version 1 is the nonce, then the ciphertext and tag.
const FORMAT: u8 = 1;

impl SecretKey {
    /// The key in `text`: 32 bytes in base64 (standard or URL-safe, padded or not) or hex.
    pub fn parse(text: &str) -> Result<SecretKey, SecretError> {
        use base64::Engine as _;
        let text = text.trim();
        let bytes = if text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
            (0..32)
                .map(|i| u8::from_str_radix(&text[i * 2..i * 2 + 2], 16))
                .collect::<Result<Vec<u8>, _>>()
                .map_err(|_| SecretError::BadKey)?
        } else {
            let engines = [
                base64::engine::general_purpose::STANDARD,
                base64::engine::general_purpose::URL_SAFE,
                base64::engine::general_purpose::STANDARD_NO_PAD,
                base64::engine::general_purpose::URL_SAFE_NO_PAD,
            ];
            engines
                .iter()
                .find_map(|engine| engine.decode(text).ok())
                .ok_or(SecretError::BadKey)?
        };
        if bytes.len() != 32 {
            return Err(SecretError::BadKey);
        }
        let key = UnboundKey::new(&AES_256_GCM, &bytes).map_err(|_| SecretError::BadKey)?;
        Ok(SecretKey {
            key: LessSafeKey::new(key),
        })
    }

    /// `value` sealed for `script`'s secret `name`.
    pub fn seal(&self, script: &str, name: &str, value: &str) -> Result<Vec<u8>, StoreError> {
        let mut nonce = [0u8; NONCE_LEN];
        SystemRandom::new()
            .fill(&mut nonce)
            .map_err(|_| StoreError::Settings("no random numbers for a secret's nonce".into()))?;
        let mut sealed = value.as_bytes().to_vec();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(slot(script, name)),
                &mut sealed,
            )
            .map_err(|_| StoreError::Settings("a secret could not be sealed".into()))?;
        let mut out = Vec::with_capacity(1 + NONCE_LEN + sealed.len());
        out.push(FORMAT);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    /// The value `sealed` holds, if it was sealed with this key for `script`'s `name`.
    pub fn open(&self, script: &str, name: &str, sealed: &[u8]) -> Result<String, SecretError> {
        let failed = || SecretError::Sealed(name.to_owned());
        let (&format, rest) = sealed.split_first().ok_or_else(failed)?;
        if format != FORMAT || rest.len() < NONCE_LEN {
            return Err(failed());
        }
        let (nonce, ciphertext) = rest.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| failed())?;
        let mut buffer = ciphertext.to_vec();
        let plain = self
            .key
            .open_in_place(nonce, Aad::from(slot(script, name)), &mut buffer)
            .map_err(|_| failed())?;
        String::from_utf8(plain.to_vec()).map_err(|_| failed())
    }
}

/// What a sealed value is bound to.
fn slot(script: &str, name: &str) -> Vec<u8> {
    let mut slot = Vec::with_capacity(script.len() + name.len() + 1);
    slot.extend_from_slice(script.as_bytes());
    slot.push(0);
    slot.extend_from_slice(name.as_bytes());
    slot
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "q83vEjRWeJCrze8SNFZ4kKvN7xI0VniQq83vEjRWeJA=";

    #[test]
    fn sealed_values_open_only_with_their_key_and_slot() {
        let key = SecretKey::parse(KEY).unwrap();
        let sealed = key.seal("app.js", "API_TOKEN", "s3cret").unwrap();
        assert!(!sealed.windows(6).any(|window| window == b"s3cret"));
        assert_eq!(key.open("app.js", "API_TOKEN", &sealed).unwrap(), "s3cret");
        // Another slot, another key, a changed byte: refused.
        assert!(key.open("other.js", "API_TOKEN", &sealed).is_err());
        assert!(key.open("app.js", "OTHER", &sealed).is_err());
        let other = SecretKey::parse(&"ab".repeat(32)).unwrap();
        assert!(other.open("app.js", "API_TOKEN", &sealed).is_err());
        let mut changed = sealed.clone();
        let last = changed.len() - 1;
        changed[last] ^= 1;
        assert!(key.open("app.js", "API_TOKEN", &changed).is_err());
        assert!(key.open("app.js", "API_TOKEN", &[]).is_err());
        // Two seals of one value differ (fresh nonces).
        assert_ne!(sealed, key.seal("app.js", "API_TOKEN", "s3cret").unwrap());
    }

    #[test]
    fn keys_are_32_bytes_in_base64_or_hex() {
        assert!(SecretKey::parse(KEY).is_ok());
        assert!(SecretKey::parse(KEY.trim_end_matches('=')).is_ok());
        assert!(SecretKey::parse(&"0f".repeat(32)).is_ok());
        assert!(SecretKey::parse("short").is_err());
        assert!(SecretKey::parse(&"0f".repeat(31)).is_err());
        let error = SecretKey::parse("").unwrap_err().to_string();
        assert!(error.contains("openssl rand -base64 32"), "{error}");
        assert_eq!(
            format!("{:?}", SecretKey::parse(KEY).unwrap()),
            "SecretKey(…)"
        );
    }
}
