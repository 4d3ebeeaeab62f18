//! A provider's signing keys (a JSON Web Key Set, RFC 7517) and signature checks with them
//! (RFC 7518 algorithms: RS256/384/512, PS256/384/512, ES256, ES384, EdDSA). Symmetric and
//! `none` algorithms are refused: an ID token must be signed by the provider's own key.

use ring::signature::{self, RsaPublicKeyComponents, UnparsedPublicKey, VerificationAlgorithm};
use serde::Deserialize;

use crate::secret::base64url;

/// One key of a JWK set, as published.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Jwk {
    kty: String,
    #[serde(default)]
    kid: Option<String>,
    #[serde(default)]
    alg: Option<String>,
    #[serde(default, rename = "use")]
    usage: Option<String>,
    #[serde(default)]
    n: Option<String>,
    #[serde(default)]
    e: Option<String>,
    #[serde(default)]
    crv: Option<String>,
    #[serde(default)]
    x: Option<String>,
    #[serde(default)]
    y: Option<String>,
}

/// A published JWK set.
#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct KeySet {
    keys: Vec<serde_json::Value>,
}

impl KeySet {
    /// The keys Ferry can use for signatures (unknown kinds are skipped, not errors: a
    /// provider may publish encryption keys or types added after this was written).
    pub(crate) fn signing_keys(&self) -> Vec<Jwk> {
        self.keys
            .iter()
            .filter_map(|key| serde_json::from_value::<Jwk>(key.clone()).ok())
            .filter(|key| key.usage.as_deref().is_none_or(|usage| usage == "sig"))
            .collect()
    }
}

/// Why a signature was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum SignatureError {
    /// The algorithm is not one an ID token may use.
    #[error("the token is signed with {0}, which Ferry does not accept")]
    Algorithm(String),
    /// No key of the set fits the token's `kid` and algorithm.
    #[error("no key of the provider's key set matches the token (kid {0:?})")]
    NoKey(Option<String>),
    /// The signature does not verify.
    #[error("the token's signature does not verify")]
    Invalid,
}

/// Checks `signature` over `message` with the key of `keys` that `kid` and `alg` select.
pub(crate) fn verify(
    keys: &[Jwk],
    kid: Option<&str>,
    alg: &str,
    message: &[u8],
    signature: &[u8],
) -> Result<(), SignatureError> {
    let family = family(alg).ok_or_else(|| SignatureError::Algorithm(alg.to_owned()))?;
    let mut candidates = keys
        .iter()
        .filter(|key| kid.is_none() || key.kid.as_deref() == kid)
        .filter(|key| key.alg.as_deref().is_none_or(|key_alg| key_alg == alg))
        .filter(|key| key.kty == family.kty())
        .peekable();
    if candidates.peek().is_none() {
        return Err(SignatureError::NoKey(kid.map(str::to_owned)));
    }
    // Without a `kid`, any matching key may be the one; with one, it names exactly one.
    if candidates.any(|key| check(key, family, message, signature)) {
        Ok(())
    } else {
        Err(SignatureError::Invalid)
    }
}

#[derive(Debug, Clone, Copy)]
enum Family {
    Rsa(&'static signature::RsaParameters),
    Ec(
        &'static signature::EcdsaVerificationAlgorithm,
        &'static str,
        usize,
    ),
    Ed25519,
}

impl Family {
    fn kty(self) -> &'static str {
        match self {
            Family::Rsa(_) => "RSA",
            Family::Ec(..) => "EC",
            Family::Ed25519 => "OKP",
        }
    }
}

fn family(alg: &str) -> Option<Family> {
    Some(match alg {
        "RS256" => Family::Rsa(&signature::RSA_PKCS1_2048_8192_SHA256),
        "RS384" => Family::Rsa(&signature::RSA_PKCS1_2048_8192_SHA384),
        "RS512" => Family::Rsa(&signature::RSA_PKCS1_2048_8192_SHA512),
        "PS256" => Family::Rsa(&signature::RSA_PSS_2048_8192_SHA256),
        "PS384" => Family::Rsa(&signature::RSA_PSS_2048_8192_SHA384),
        "PS512" => Family::Rsa(&signature::RSA_PSS_2048_8192_SHA512),
        "ES256" => Family::Ec(&signature::ECDSA_P256_SHA256_FIXED, "P-256", 32),
        "ES384" => Family::Ec(&signature::ECDSA_P384_SHA384_FIXED, "P-384", 48),
        "EdDSA" | "Ed25519" => Family::Ed25519,
        _ => return None,
    })
}

fn check(key: &Jwk, family: Family, message: &[u8], signature: &[u8]) -> bool {
    let decode = |part: &Option<String>| part.as_deref().and_then(base64url);
    match family {
        Family::Rsa(parameters) => {
            let (Some(n), Some(e)) = (decode(&key.n), decode(&key.e)) else {
                return false;
            };
            RsaPublicKeyComponents { n: &n, e: &e }
                .verify(parameters, message, signature)
                .is_ok()
        }
        Family::Ec(algorithm, curve, size) => {
            let (Some(x), Some(y)) = (decode(&key.x), decode(&key.y)) else {
                return false;
            };
            if key.crv.as_deref() != Some(curve) || x.len() != size || y.len() != size {
                return false;
            }
            let mut point = Vec::with_capacity(1 + 2 * size);
            point.push(0x04);
            point.extend_from_slice(&x);
            point.extend_from_slice(&y);
            unparsed(algorithm, &point, message, signature)
        }
        Family::Ed25519 => match (key.crv.as_deref(), decode(&key.x)) {
            (Some("Ed25519"), Some(x)) => unparsed(&signature::ED25519, &x, message, signature),
            _ => false,
        },
    }
}

fn unparsed(
    algorithm: &'static dyn VerificationAlgorithm,
    key: &[u8],
    message: &[u8],
    signature: &[u8],
) -> bool {
    UnparsedPublicKey::new(algorithm, key)
        .verify(message, signature)
        .is_ok()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::secret::to_base64url;
    use ring::rand::SystemRandom;
    use ring::signature::{EcdsaKeyPair, KeyPair};

    /// A fresh P-256 key pair and its public JWK with `kid`.
    pub(crate) fn es256_key(kid: &str) -> (EcdsaKeyPair, serde_json::Value) {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
            .unwrap();
        let pair = EcdsaKeyPair::from_pkcs8(
            &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
            pkcs8.as_ref(),
            &rng,
        )
        .unwrap();
        let public = pair.public_key().as_ref();
        let jwk = serde_json::json!({
            "kty": "EC", "crv": "P-256", "kid": kid, "alg": "ES256", "use": "sig",
            "x": to_base64url(&public[1..33]), "y": to_base64url(&public[33..65]),
        });
        (pair, jwk)
    }

    fn keys(jwks: &[serde_json::Value]) -> Vec<Jwk> {
        serde_json::from_value::<KeySet>(serde_json::json!({ "keys": jwks }))
            .unwrap()
            .signing_keys()
    }

    #[test]
    fn es256_signatures_verify_with_their_key_only() {
        let (pair, jwk) = es256_key("one");
        let (_, other) = es256_key("two");
        let rng = SystemRandom::new();
        let signature = pair.sign(&rng, b"message").unwrap();
        let set = keys(&[jwk, other]);
        assert_eq!(
            verify(&set, Some("one"), "ES256", b"message", signature.as_ref()),
            Ok(())
        );
        assert_eq!(
            verify(&set, Some("two"), "ES256", b"message", signature.as_ref()),
            Err(SignatureError::Invalid)
        );
        assert_eq!(
            verify(&set, None, "ES256", b"message", signature.as_ref()),
            Ok(())
        );
        assert_eq!(
            verify(&set, Some("one"), "ES256", b"tampered", signature.as_ref()),
            Err(SignatureError::Invalid)
        );
        assert_eq!(
            verify(&set, Some("three"), "ES256", b"message", signature.as_ref()),
            Err(SignatureError::NoKey(Some("three".into())))
        );
    }

    #[test]
    fn symmetric_and_unsigned_algorithms_are_refused() {
        let (_, jwk) = es256_key("one");
        let set = keys(&[jwk]);
        for alg in ["none", "HS256", ""] {
            assert_eq!(
                verify(&set, None, alg, b"m", b""),
                Err(SignatureError::Algorithm(alg.into()))
            );
        }
    }

    #[test]
    fn encryption_keys_and_unknown_kinds_are_skipped() {
        let (_, mut jwk) = es256_key("enc");
        jwk["use"] = "enc".into();
        let set = keys(&[jwk, serde_json::json!({ "kty": "oct", "k": "c2VjcmV0" })]);
        assert_eq!(
            set.len(),
            1,
            "the octet key parses but the encryption key is skipped"
        );
        assert!(matches!(
            verify(&set, None, "ES256", b"m", b"s"),
            Err(SignatureError::NoKey(None))
        ));
    }
}
