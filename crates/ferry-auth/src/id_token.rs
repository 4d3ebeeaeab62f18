//! ID tokens (OpenID Connect Core §3.1.3.7): a compact JWS whose signature, issuer,
//! audience, authorized party, lifetime and nonce are all checked before a single claim is
//! believed.

use serde_json::{Map, Value};

use crate::keys::{self, Jwk, SignatureError};
use crate::secret::{base64url, same};

/// How far the provider's clock may be from ours.
pub(crate) const CLOCK_LEEWAY_SECS: i64 = 120;

/// The issuer an ID token must name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ExpectedIssuer {
    /// Exactly this string.
    Exact(String),
    /// Microsoft's multi-tenant endpoints: the template with `{tenantid}` replaced by the
    /// token's own `tid` claim.
    TenantTemplate(String),
}

impl ExpectedIssuer {
    /// The expected issuer for a provider whose discovery document says `issuer`.
    pub(crate) fn from_metadata(issuer: &str) -> Self {
        if issuer.contains("{tenantid}") {
            ExpectedIssuer::TenantTemplate(issuer.to_owned())
        } else {
            ExpectedIssuer::Exact(issuer.to_owned())
        }
    }

    fn accepts(&self, claims: &Map<String, Value>, issuer: &str) -> bool {
        match self {
            ExpectedIssuer::Exact(expected) => issuer == expected,
            ExpectedIssuer::TenantTemplate(template) => {
                let Some(tenant) = claims.get("tid").and_then(Value::as_str) else {
                    return false;
                };
                // A tenant id is a GUID: nothing that could reshape the URL.
                tenant
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-')
                    && issuer == template.replace("{tenantid}", tenant)
            }
        }
    }
}

/// What an ID token must satisfy.
#[derive(Debug, Clone)]
pub(crate) struct Expectations<'a> {
    pub issuer: &'a ExpectedIssuer,
    pub client_id: &'a str,
    pub nonce: &'a str,
    /// Now, in seconds since the Unix epoch.
    pub now: i64,
}

/// Why an ID token was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum TokenError {
    /// Not three base64url parts with JSON header and payload.
    #[error("the ID token is malformed")]
    Malformed,
    /// The signature check failed.
    #[error(transparent)]
    Signature(#[from] SignatureError),
    /// `iss` is not the provider's.
    #[error("the ID token was issued by {0:?}, not by the configured provider")]
    Issuer(String),
    /// `aud` does not include this client, or `azp` names another.
    #[error("the ID token is meant for another client")]
    Audience,
    /// `exp` has passed.
    #[error("the ID token has expired")]
    Expired,
    /// `iat` lies in the future.
    #[error("the ID token was issued in the future")]
    NotYetValid,
    /// `nonce` is not the one this sign-in sent.
    #[error("the ID token's nonce does not match this sign-in")]
    Nonce,
    /// `sub` is missing.
    #[error("the ID token names no subject")]
    Subject,
}

impl TokenError {
    /// Whether the failure may be a key the provider added after we fetched its key set.
    pub(crate) fn may_be_new_key(&self) -> bool {
        matches!(self, TokenError::Signature(SignatureError::NoKey(_)))
    }
}

/// The parts of a compact JWS, decoded but not yet checked.
#[derive(Debug)]
pub(crate) struct SignedToken<'a> {
    alg: String,
    kid: Option<String>,
    signing_input: &'a str,
    signature: Vec<u8>,
    claims: Map<String, Value>,
}

impl<'a> SignedToken<'a> {
    /// Splits and decodes `token`.
    pub(crate) fn parse(token: &'a str) -> Result<Self, TokenError> {
        let mut parts = token.split('.');
        let (Some(header), Some(payload), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(TokenError::Malformed);
        };
        let json = |part: &str| -> Result<Map<String, Value>, TokenError> {
            let bytes = base64url(part).ok_or(TokenError::Malformed)?;
            match serde_json::from_slice(&bytes) {
                Ok(Value::Object(map)) => Ok(map),
                _ => Err(TokenError::Malformed),
            }
        };
        let header_fields = json(header)?;
        let alg = header_fields
            .get("alg")
            .and_then(Value::as_str)
            .ok_or(TokenError::Malformed)?
            .to_owned();
        // A critical extension we do not understand means we cannot check the token.
        if header_fields.contains_key("crit") {
            return Err(TokenError::Malformed);
        }
        Ok(SignedToken {
            alg,
            kid: header_fields
                .get("kid")
                .and_then(Value::as_str)
                .map(str::to_owned),
            signing_input: &token[..header.len() + 1 + payload.len()],
            signature: base64url(signature).ok_or(TokenError::Malformed)?,
            claims: json(payload)?,
        })
    }

    /// Checks the signature with `keys`, then the claims against `expect`; returns the
    /// claims.
    pub(crate) fn verify(
        self,
        keys: &[Jwk],
        expect: &Expectations<'_>,
    ) -> Result<Map<String, Value>, TokenError> {
        keys::verify(
            keys,
            self.kid.as_deref(),
            &self.alg,
            self.signing_input.as_bytes(),
            &self.signature,
        )?;
        check_claims(&self.claims, expect)?;
        Ok(self.claims)
    }
}

fn check_claims(claims: &Map<String, Value>, expect: &Expectations<'_>) -> Result<(), TokenError> {
    let text = |name: &str| claims.get(name).and_then(Value::as_str);
    let issuer = text("iss").unwrap_or_default();
    if !expect.issuer.accepts(claims, issuer) {
        return Err(TokenError::Issuer(issuer.to_owned()));
    }
    let audiences: Vec<&str> = match claims.get("aud") {
        Some(Value::String(one)) => vec![one.as_str()],
        Some(Value::Array(many)) => many.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    if !audiences.contains(&expect.client_id) {
        return Err(TokenError::Audience);
    }
    match text("azp") {
        Some(azp) if azp != expect.client_id => return Err(TokenError::Audience),
        None if audiences.len() > 1 => return Err(TokenError::Audience),
        _ => {}
    }
    let seconds = |name: &str| claims.get(name).and_then(Value::as_f64);
    match seconds("exp") {
        #[allow(clippy::cast_precision_loss)]
        Some(exp) if exp + CLOCK_LEEWAY_SECS as f64 > expect.now as f64 => {}
        _ => return Err(TokenError::Expired),
    }
    #[allow(clippy::cast_precision_loss)]
    if seconds("iat").is_some_and(|iat| iat > (expect.now + CLOCK_LEEWAY_SECS) as f64) {
        return Err(TokenError::NotYetValid);
    }
    if !text("nonce").is_some_and(|nonce| same(nonce, expect.nonce)) {
        return Err(TokenError::Nonce);
    }
    if text("sub").is_none_or(str::is_empty) {
        return Err(TokenError::Subject);
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::keys::KeySet;
    use crate::keys::tests::es256_key;
    use crate::secret::to_base64url;
    use ring::rand::SystemRandom;
    use ring::signature::EcdsaKeyPair;
    use serde_json::json;

    /// A compact ES256 JWS of `claims` signed by `pair` with `kid`.
    pub(crate) fn sign(pair: &EcdsaKeyPair, kid: &str, claims: &Value) -> String {
        let header = to_base64url(json!({ "alg": "ES256", "kid": kid }).to_string().as_bytes());
        let payload = to_base64url(claims.to_string().as_bytes());
        let input = format!("{header}.{payload}");
        let signature = pair.sign(&SystemRandom::new(), input.as_bytes()).unwrap();
        format!("{input}.{}", to_base64url(signature.as_ref()))
    }

    const NOW: i64 = 1_800_000_000;

    fn good_claims() -> Value {
        json!({
            "iss": "https://id.example", "aud": "ferry", "sub": "alice",
            "exp": NOW + 300, "iat": NOW, "nonce": "n-1",
        })
    }

    fn check(claims: Value) -> Result<Map<String, Value>, TokenError> {
        check_as(claims, &ExpectedIssuer::Exact("https://id.example".into()))
    }

    fn check_as(claims: Value, issuer: &ExpectedIssuer) -> Result<Map<String, Value>, TokenError> {
        let (pair, jwk) = es256_key("k1");
        let keys = serde_json::from_value::<KeySet>(json!({ "keys": [jwk] }))
            .unwrap()
            .signing_keys();
        let token = sign(&pair, "k1", &claims);
        SignedToken::parse(&token)?.verify(
            &keys,
            &Expectations {
                issuer,
                client_id: "ferry",
                nonce: "n-1",
                now: NOW,
            },
        )
    }

    fn with(field: &str, value: Value) -> Value {
        let mut claims = good_claims();
        claims[field] = value;
        claims
    }

    #[test]
    fn a_good_token_gives_its_claims() {
        assert_eq!(check(good_claims()).unwrap()["sub"], "alice");
    }

    #[test]
    fn each_claim_rule_refuses_its_violation() {
        assert_eq!(
            check(with("iss", json!("https://evil.example"))),
            Err(TokenError::Issuer("https://evil.example".into()))
        );
        assert_eq!(
            check(with("aud", json!("other"))),
            Err(TokenError::Audience)
        );
        assert_eq!(
            check(with("aud", json!(["ferry", "other"]))),
            Err(TokenError::Audience),
            "several audiences need azp"
        );
        let mut with_azp = with("aud", json!(["ferry", "other"]));
        with_azp["azp"] = json!("ferry");
        assert!(check(with_azp).is_ok());
        assert_eq!(
            check(with("azp", json!("other"))),
            Err(TokenError::Audience)
        );
        assert_eq!(
            check(with("exp", json!(NOW - CLOCK_LEEWAY_SECS - 1))),
            Err(TokenError::Expired)
        );
        assert!(
            check(with("exp", json!(NOW - 10))).is_ok(),
            "within the leeway"
        );
        assert_eq!(
            check(with("iat", json!(NOW + CLOCK_LEEWAY_SECS + 60))),
            Err(TokenError::NotYetValid)
        );
        assert_eq!(
            check(with("nonce", json!("replayed"))),
            Err(TokenError::Nonce)
        );
        let mut no_nonce = good_claims();
        no_nonce.as_object_mut().unwrap().remove("nonce");
        assert_eq!(check(no_nonce), Err(TokenError::Nonce));
        assert_eq!(check(with("sub", json!(""))), Err(TokenError::Subject));
    }

    #[test]
    fn microsofts_tenant_template_takes_the_tokens_tenant() {
        let template =
            ExpectedIssuer::from_metadata("https://login.microsoftonline.com/{tenantid}/v2.0");
        let mut claims = with(
            "iss",
            json!("https://login.microsoftonline.com/9188040d-6c67-4c5b-b112-36a304b66dad/v2.0"),
        );
        claims["tid"] = json!("9188040d-6c67-4c5b-b112-36a304b66dad");
        assert!(check_as(claims.clone(), &template).is_ok());
        claims["tid"] = json!("another-tenant");
        assert!(matches!(
            check_as(claims.clone(), &template),
            Err(TokenError::Issuer(_))
        ));
        claims["tid"] = json!("x/../evil");
        assert!(matches!(
            check_as(claims, &template),
            Err(TokenError::Issuer(_))
        ));
    }

    #[test]
    fn tampered_and_malformed_tokens_are_refused() {
        let (pair, jwk) = es256_key("k1");
        let keys = serde_json::from_value::<KeySet>(json!({ "keys": [jwk] }))
            .unwrap()
            .signing_keys();
        let token = sign(&pair, "k1", &good_claims());
        let (head, rest) = token.split_once('.').unwrap();
        let (_, signature) = rest.split_once('.').unwrap();
        let forged_payload = to_base64url(with("sub", json!("mallory")).to_string().as_bytes());
        let forged = format!("{head}.{forged_payload}.{signature}");
        let issuer = ExpectedIssuer::Exact("https://id.example".into());
        let expect = Expectations {
            issuer: &issuer,
            client_id: "ferry",
            nonce: "n-1",
            now: NOW,
        };
        assert_eq!(
            SignedToken::parse(&forged).unwrap().verify(&keys, &expect),
            Err(TokenError::Signature(SignatureError::Invalid))
        );
        for bad in ["", "a.b", "a.b.c.d", "!!.!!.!!", &format!("{head}.{head}")] {
            assert!(SignedToken::parse(bad).is_err(), "{bad:?}");
        }
        let unsigned = format!(
            "{}.{}.",
            to_base64url(br#"{"alg":"none"}"#),
            to_base64url(good_claims().to_string().as_bytes())
        );
        assert!(matches!(
            SignedToken::parse(&unsigned)
                .unwrap()
                .verify(&keys, &expect),
            Err(TokenError::Signature(SignatureError::Algorithm(_)))
        ));
    }
}
