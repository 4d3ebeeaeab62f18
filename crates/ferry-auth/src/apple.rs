//! Sign in with Apple's client secret: instead of a shared secret, the client sends a JWT
//! it signs itself with ES256 — issuer the team id, subject the Services ID, audience
//! Apple — made fresh for each token request and valid for five minutes.

use ring::rand::SystemRandom;
use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};

use crate::secret::to_base64url;

/// How long a generated client secret is valid (Apple allows up to six months; a token
/// request needs seconds).
const SECRET_LIFETIME_SECS: i64 = 300;

/// The key Apple issued to a team for Sign in with Apple.
#[derive(Clone)]
pub struct AppleKey {
    /// The team id (10 characters).
    pub team_id: String,
    /// The key id Apple shows next to the key.
    pub key_id: String,
    /// The private key, as the `.p8` file Apple gives (PKCS#8 PEM).
    pub private_key_pem: String,
}

impl std::fmt::Debug for AppleKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppleKey")
            .field("team_id", &self.team_id)
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

/// Why an Apple client secret could not be made.
#[derive(Debug, thiserror::Error)]
pub enum AppleKeyError {
    /// The PEM holds no PKCS#8 private key.
    #[error("the Apple private key is not a PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`)")]
    NotPem,
    /// The key is not a P-256 key.
    #[error("the Apple private key is not an ES256 (P-256) key")]
    NotP256,
}

impl AppleKey {
    /// Checks that the key can sign.
    pub fn validate(&self) -> Result<(), AppleKeyError> {
        self.key_pair().map(|_| ())
    }

    fn key_pair(&self) -> Result<EcdsaKeyPair, AppleKeyError> {
        let body: String = self
            .private_key_pem
            .lines()
            .map(str::trim)
            .skip_while(|line| *line != "-----BEGIN PRIVATE KEY-----")
            .skip(1)
            .take_while(|line| !line.starts_with("-----END"))
            .collect();
        let der = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, body)
            .map_err(|_| AppleKeyError::NotPem)?;
        if der.is_empty() {
            return Err(AppleKeyError::NotPem);
        }
        EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &der, &SystemRandom::new())
            .map_err(|_| AppleKeyError::NotP256)
    }

    /// A client secret for `client_id`, issued at `now` (seconds since the Unix epoch).
    pub(crate) fn client_secret(&self, client_id: &str, now: i64) -> Result<String, AppleKeyError> {
        let pair = self.key_pair()?;
        let header = serde_json::json!({ "alg": "ES256", "kid": self.key_id });
        let claims = serde_json::json!({
            "iss": self.team_id,
            "iat": now,
            "exp": now + SECRET_LIFETIME_SECS,
            "aud": "https://appleid.apple.com",
            "sub": client_id,
        });
        let input = format!(
            "{}.{}",
            to_base64url(header.to_string().as_bytes()),
            to_base64url(claims.to_string().as_bytes())
        );
        let signature = pair
            .sign(&SystemRandom::new(), input.as_bytes())
            .map_err(|_| AppleKeyError::NotP256)?;
        Ok(format!("{input}.{}", to_base64url(signature.as_ref())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::id_token::{Expectations, ExpectedIssuer, SignedToken};
    use crate::keys::KeySet;
    use ring::signature::KeyPair;

    #[test]
    fn the_client_secret_is_an_es256_jwt_apple_can_verify() {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
        let pem = format!(
            "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
            base64::Engine::encode(&base64::engine::general_purpose::STANDARD, pkcs8.as_ref())
        );
        let key = AppleKey {
            team_id: "TEAM123456".into(),
            key_id: "KEY1".into(),
            private_key_pem: pem,
        };
        key.validate().unwrap();
        let secret = key.client_secret("com.example.web", 1_000).unwrap();
        let public = key.key_pair().unwrap().public_key().as_ref().to_vec();
        let jwk = serde_json::json!({ "keys": [{
            "kty": "EC", "crv": "P-256", "kid": "KEY1",
            "x": to_base64url(&public[1..33]), "y": to_base64url(&public[33..65]),
        }]});
        let keys = serde_json::from_value::<KeySet>(jwk)
            .unwrap()
            .signing_keys();
        // Checked as an ID token would be, with Apple's view of the fields.
        let issuer = ExpectedIssuer::Exact("TEAM123456".into());
        let token = SignedToken::parse(&secret).unwrap();
        let error = token
            .verify(
                &keys,
                &Expectations {
                    issuer: &issuer,
                    client_id: "https://appleid.apple.com",
                    nonce: "",
                    now: 1_010,
                },
            )
            .unwrap_err();
        // Everything but the nonce (a client secret has none) holds.
        assert_eq!(error, crate::id_token::TokenError::Nonce);
    }

    #[test]
    fn a_key_that_is_not_pkcs8_p256_is_a_clear_error() {
        let key = |pem: &str| AppleKey {
            team_id: "T".into(),
            key_id: "K".into(),
            private_key_pem: pem.into(),
        };
        assert!(matches!(
            key("not a key").validate(),
            Err(AppleKeyError::NotPem)
        ));
        assert!(matches!(
            key("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----").validate(),
            Err(AppleKeyError::NotP256)
        ));
    }
}
