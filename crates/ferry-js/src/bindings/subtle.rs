//! The key operations behind `crypto.subtle` (`crypto_keys.js`), on ring: HMAC, PBKDF2,
//! ECDSA (P-256 with SHA-256, P-384 with SHA-384), RSA PKCS#1 v1.5 and PSS verification,
//! and Ed25519; plus the DER that key formats wrap keys in (SPKI, PKCS#8, RSAPublicKey).
//! Bytes arrive as text of one character per byte and leave as `Uint8Array`s.

use ring::rand::SystemRandom;
use ring::signature::{self, EcdsaKeyPair, Ed25519KeyPair, KeyPair, UnparsedPublicKey};
use rquickjs::{Ctx, Function, Object, TypedArray};

use super::throw;

pub(super) fn install<'js>(ctx: &Ctx<'js>, host: &Object<'js>) -> rquickjs::Result<()> {
    let hmac_sign = Function::new(
        ctx.clone(),
        |ctx: Ctx<'js>, hash: String, key: String, data: String| {
            let key = ring::hmac::Key::new(hmac_algorithm(&ctx, &hash)?, &bytes(&ctx, &key)?);
            let tag = ring::hmac::sign(&key, &bytes(&ctx, &data)?);
            TypedArray::<u8>::new(ctx.clone(), tag.as_ref().to_vec())
        },
    )?;
    host.set("hmacSign", hmac_sign)?;

    let hmac_verify = Function::new(
        ctx.clone(),
        |ctx: Ctx<'js>, hash: String, key: String, tag: String, data: String| {
            let key = ring::hmac::Key::new(hmac_algorithm(&ctx, &hash)?, &bytes(&ctx, &key)?);
            Ok::<_, rquickjs::Error>(
                ring::hmac::verify(&key, &bytes(&ctx, &data)?, &bytes(&ctx, &tag)?).is_ok(),
            )
        },
    )?;
    host.set("hmacVerify", hmac_verify)?;

    let pbkdf2 = Function::new(
        ctx.clone(),
        |ctx: Ctx<'js>,
         hash: String,
         password: String,
         salt: String,
         iterations: u32,
         length: usize| {
            let algorithm = match hash.as_str() {
                "SHA-1" => ring::pbkdf2::PBKDF2_HMAC_SHA1,
                "SHA-256" => ring::pbkdf2::PBKDF2_HMAC_SHA256,
                "SHA-384" => ring::pbkdf2::PBKDF2_HMAC_SHA384,
                "SHA-512" => ring::pbkdf2::PBKDF2_HMAC_SHA512,
                other => {
                    return Err(throw(
                        &ctx,
                        &format!("PBKDF2: {other} is not a hash it supports"),
                    ));
                }
            };
            let iterations = std::num::NonZeroU32::new(iterations)
                .ok_or_else(|| throw(&ctx, "PBKDF2: iterations must be at least 1"))?;
            let mut out = vec![0u8; length];
            ring::pbkdf2::derive(
                algorithm,
                iterations,
                &bytes(&ctx, &salt)?,
                &bytes(&ctx, &password)?,
                &mut out,
            );
            TypedArray::<u8>::new(ctx.clone(), out)
        },
    )?;
    host.set("pbkdf2", pbkdf2)?;

    let verify = Function::new(
        ctx.clone(),
        |ctx: Ctx<'js>,
         scheme: String,
         public: String,
         signature: String,
         data: String,
         exponent: String| {
            let public = bytes(&ctx, &public)?;
            let (signature, data) = (bytes(&ctx, &signature)?, bytes(&ctx, &data)?);
            let verified = match scheme.as_str() {
                "ECDSA P-256 SHA-256" => {
                    UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, &public)
                        .verify(&data, &signature)
                }
                "ECDSA P-384 SHA-384" => {
                    UnparsedPublicKey::new(&signature::ECDSA_P384_SHA384_FIXED, &public)
                        .verify(&data, &signature)
                }
                "Ed25519" => {
                    UnparsedPublicKey::new(&signature::ED25519, &public).verify(&data, &signature)
                }
                rsa => {
                    // The public key is the modulus; the exponent comes apart.
                    let parameters = rsa_parameters(&ctx, rsa)?;
                    let e = bytes(&ctx, &exponent)?;
                    signature::RsaPublicKeyComponents { n: public, e }
                        .verify(parameters, &data, &signature)
                }
            };
            Ok::<_, rquickjs::Error>(verified.is_ok())
        },
    )?;
    host.set("signatureVerify", verify)?;

    // ECDSA signing with a PKCS#8 key, or with the private scalar and public point.
    let ecdsa_sign = Function::new(
        ctx.clone(),
        |ctx: Ctx<'js>,
         curve: String,
         pkcs8: String,
         scalar: String,
         point: String,
         data: String| {
            let algorithm = ecdsa_signing(&ctx, &curve)?;
            let rng = SystemRandom::new();
            let pair = if pkcs8.is_empty() {
                EcdsaKeyPair::from_private_key_and_public_key(
                    algorithm,
                    &bytes(&ctx, &scalar)?,
                    &bytes(&ctx, &point)?,
                    &rng,
                )
            } else {
                EcdsaKeyPair::from_pkcs8(algorithm, &bytes(&ctx, &pkcs8)?, &rng)
            }
            .map_err(|error| {
                throw(
                    &ctx,
                    &format!("ECDSA: the private key is not usable ({error})"),
                )
            })?;
            let signed = pair
                .sign(&rng, &bytes(&ctx, &data)?)
                .map_err(|_| throw(&ctx, "ECDSA: signing failed"))?;
            TypedArray::<u8>::new(ctx.clone(), signed.as_ref().to_vec())
        },
    )?;
    host.set("ecdsaSign", ecdsa_sign)?;

    // A new ECDSA key: [PKCS#8 document, public point].
    let ecdsa_generate = Function::new(ctx.clone(), |ctx: Ctx<'js>, curve: String| {
        let algorithm = ecdsa_signing(&ctx, &curve)?;
        let rng = SystemRandom::new();
        let document = EcdsaKeyPair::generate_pkcs8(algorithm, &rng)
            .map_err(|_| throw(&ctx, "ECDSA: the system's random source failed"))?;
        let pair = EcdsaKeyPair::from_pkcs8(algorithm, document.as_ref(), &rng)
            .map_err(|_| throw(&ctx, "ECDSA: a generated key was refused"))?;
        Ok::<_, rquickjs::Error>(vec![
            TypedArray::<u8>::new(ctx.clone(), document.as_ref().to_vec())?,
            TypedArray::<u8>::new(ctx.clone(), pair.public_key().as_ref().to_vec())?,
        ])
    })?;
    host.set("ecdsaGenerate", ecdsa_generate)?;

    // The public point of an ECDSA PKCS#8 key.
    let ecdsa_public = Function::new(
        ctx.clone(),
        |ctx: Ctx<'js>, curve: String, pkcs8: String| {
            let pair = EcdsaKeyPair::from_pkcs8(
                ecdsa_signing(&ctx, &curve)?,
                &bytes(&ctx, &pkcs8)?,
                &SystemRandom::new(),
            )
            .map_err(|error| throw(&ctx, &format!("ECDSA: not a {curve} private key ({error})")))?;
            TypedArray::<u8>::new(ctx.clone(), pair.public_key().as_ref().to_vec())
        },
    )?;
    host.set("ecdsaPublic", ecdsa_public)?;

    let ed25519_sign = Function::new(ctx.clone(), |ctx: Ctx<'js>, seed: String, data: String| {
        let pair = ed25519_pair(&ctx, &seed)?;
        TypedArray::<u8>::new(
            ctx.clone(),
            pair.sign(&bytes(&ctx, &data)?).as_ref().to_vec(),
        )
    })?;
    host.set("ed25519Sign", ed25519_sign)?;

    let ed25519_public = Function::new(ctx.clone(), |ctx: Ctx<'js>, seed: String| {
        let pair = ed25519_pair(&ctx, &seed)?;
        TypedArray::<u8>::new(ctx.clone(), pair.public_key().as_ref().to_vec())
    })?;
    host.set("ed25519Public", ed25519_public)?;

    // SPKI → [algorithm OID, parameter OID or "", key bytes], or null; PKCS#8 likewise,
    // with the private key's bytes.
    for (name, parse) in [
        ("spkiParse", parse_spki as fn(&[u8]) -> Option<DerParts>),
        ("pkcs8Parse", parse_pkcs8),
    ] {
        let function = Function::new(ctx.clone(), move |ctx: Ctx<'js>, der: String| {
            let Some(parts) = parse(&bytes(&ctx, &der)?) else {
                return Ok(None);
            };
            parts
                .into_iter()
                .map(|part| TypedArray::<u8>::new(ctx.clone(), part))
                .collect::<rquickjs::Result<Vec<_>>>()
                .map(Some)
        })?;
        host.set(name, function)?;
    }

    // RSAPublicKey → [n, e] without leading zeros, or null; and back.
    let rsa_parse = Function::new(ctx.clone(), |ctx: Ctx<'js>, der: String| {
        let der = bytes(&ctx, &der)?;
        let Some((n, e)) = rsa_public_key(&der) else {
            return Ok(None);
        };
        Ok::<_, rquickjs::Error>(Some(vec![
            TypedArray::<u8>::new(ctx.clone(), n.to_vec())?,
            TypedArray::<u8>::new(ctx.clone(), e.to_vec())?,
        ]))
    })?;
    host.set("rsaPublicParse", rsa_parse)?;

    let rsa_spki = Function::new(ctx.clone(), |ctx: Ctx<'js>, n: String, e: String| {
        TypedArray::<u8>::new(ctx.clone(), rsa_spki(&bytes(&ctx, &n)?, &bytes(&ctx, &e)?))
    })?;
    host.set("rsaSpki", rsa_spki)
}

fn bytes(ctx: &Ctx<'_>, text: &str) -> rquickjs::Result<Vec<u8>> {
    super::encoding::latin1_bytes(text)
        .ok_or_else(|| throw(ctx, "crypto.subtle: bytes must be passed as a BufferSource"))
}

/// The Ed25519 key pair of a 32-byte private key (sent as text, one character per byte).
fn ed25519_pair(ctx: &Ctx<'_>, seed: &str) -> rquickjs::Result<Ed25519KeyPair> {
    Ed25519KeyPair::from_seed_unchecked(&bytes(ctx, seed)?)
        .map_err(|_| throw(ctx, "Ed25519: the private key must be 32 bytes"))
}

fn hmac_algorithm(ctx: &Ctx<'_>, hash: &str) -> rquickjs::Result<ring::hmac::Algorithm> {
    match hash {
        "SHA-1" => Ok(ring::hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY),
        "SHA-256" => Ok(ring::hmac::HMAC_SHA256),
        "SHA-384" => Ok(ring::hmac::HMAC_SHA384),
        "SHA-512" => Ok(ring::hmac::HMAC_SHA512),
        other => Err(throw(
            ctx,
            &format!("HMAC: {other} is not a hash it supports"),
        )),
    }
}

fn ecdsa_signing(
    ctx: &Ctx<'_>,
    curve: &str,
) -> rquickjs::Result<&'static signature::EcdsaSigningAlgorithm> {
    match curve {
        "P-256" => Ok(&signature::ECDSA_P256_SHA256_FIXED_SIGNING),
        "P-384" => Ok(&signature::ECDSA_P384_SHA384_FIXED_SIGNING),
        other => Err(throw(
            ctx,
            &format!("ECDSA: the curve {other} is not supported"),
        )),
    }
}

fn rsa_parameters(
    ctx: &Ctx<'_>,
    scheme: &str,
) -> rquickjs::Result<&'static signature::RsaParameters> {
    Ok(match scheme {
        "RSASSA-PKCS1-v1_5 SHA-1" => &signature::RSA_PKCS1_2048_8192_SHA1_FOR_LEGACY_USE_ONLY,
        "RSASSA-PKCS1-v1_5 SHA-256" => &signature::RSA_PKCS1_2048_8192_SHA256,
        "RSASSA-PKCS1-v1_5 SHA-384" => &signature::RSA_PKCS1_2048_8192_SHA384,
        "RSASSA-PKCS1-v1_5 SHA-512" => &signature::RSA_PKCS1_2048_8192_SHA512,
        "RSA-PSS SHA-256" => &signature::RSA_PSS_2048_8192_SHA256,
        "RSA-PSS SHA-384" => &signature::RSA_PSS_2048_8192_SHA384,
        "RSA-PSS SHA-512" => &signature::RSA_PSS_2048_8192_SHA512,
        other => {
            return Err(throw(
                ctx,
                &format!("crypto.subtle: {other} is not supported"),
            ));
        }
    })
}

/// One DER element: its tag, its contents, and what follows it.
fn element(der: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = der.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (length, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let count = usize::from(first & 0x7f);
        if count == 0 || count > 4 || rest.len() < count {
            return None;
        }
        let length = rest[..count]
            .iter()
            .fold(0usize, |length, &byte| (length << 8) | usize::from(byte));
        (length, &rest[count..])
    };
    if rest.len() < length {
        return None;
    }
    Some((tag, &rest[..length], &rest[length..]))
}

const SEQUENCE: u8 = 0x30;
const INTEGER: u8 = 0x02;
const BIT_STRING: u8 = 0x03;
const OCTET_STRING: u8 = 0x04;
const OID: u8 = 0x06;

/// The algorithm identifier's OID and its parameter OID (empty when there is none).
fn algorithm_identifier(der: &[u8]) -> Option<(Vec<u8>, Vec<u8>)> {
    let (tag, inner, _) = element(der)?;
    if tag != SEQUENCE {
        return None;
    }
    let (tag, algorithm, rest) = element(inner)?;
    if tag != OID {
        return None;
    }
    let parameter = match element(rest) {
        Some((OID, parameter, _)) => parameter.to_vec(),
        _ => Vec::new(),
    };
    Some((algorithm.to_vec(), parameter))
}

/// What a key's DER wrapping holds: the algorithm's OID, its parameter's OID (empty when
/// there is none), and the key's bytes.
type DerParts = [Vec<u8>; 3];

/// SubjectPublicKeyInfo: the algorithm, its parameter, and the key's bytes.
fn parse_spki(der: &[u8]) -> Option<DerParts> {
    let (tag, inner, trailing) = element(der)?;
    if tag != SEQUENCE || !trailing.is_empty() {
        return None;
    }
    let (_, _, after_algorithm) = element(inner)?;
    let (algorithm, parameter) = algorithm_identifier(inner)?;
    let (tag, key, _) = element(after_algorithm)?;
    // A BIT STRING whose first byte counts the unused bits (none, for keys).
    if tag != BIT_STRING || key.first() != Some(&0) {
        return None;
    }
    Some([algorithm, parameter, key[1..].to_vec()])
}

/// PrivateKeyInfo (PKCS#8): the algorithm, its parameter, and the private key's bytes.
fn parse_pkcs8(der: &[u8]) -> Option<DerParts> {
    let (tag, inner, _) = element(der)?;
    if tag != SEQUENCE {
        return None;
    }
    let (tag, _, rest) = element(inner)?;
    if tag != INTEGER {
        return None;
    }
    let (_, _, after_algorithm) = element(rest)?;
    let (algorithm, parameter) = algorithm_identifier(rest)?;
    let (tag, key, _) = element(after_algorithm)?;
    if tag != OCTET_STRING {
        return None;
    }
    Some([algorithm, parameter, key.to_vec()])
}

/// RSAPublicKey: the modulus and exponent without leading zeros.
fn rsa_public_key(der: &[u8]) -> Option<(&[u8], &[u8])> {
    let (tag, inner, _) = element(der)?;
    if tag != SEQUENCE {
        return None;
    }
    let (tag, n, rest) = element(inner)?;
    let (tag_e, e, _) = element(rest)?;
    if tag != INTEGER || tag_e != INTEGER {
        return None;
    }
    let strip = |value: &[u8]| -> usize { value.iter().take_while(|&&byte| byte == 0).count() };
    Some((&n[strip(n)..], &e[strip(e)..]))
}

fn der_length(length: usize) -> Vec<u8> {
    if length < 0x80 {
        return vec![length as u8];
    }
    let bytes: Vec<u8> = length
        .to_be_bytes()
        .into_iter()
        .skip_while(|&byte| byte == 0)
        .collect();
    let mut out = vec![0x80 | bytes.len() as u8];
    out.extend(bytes);
    out
}

fn der(tag: u8, contents: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    out.extend(der_length(contents.len()));
    out.extend_from_slice(contents);
    out
}

fn der_integer(value: &[u8]) -> Vec<u8> {
    let start = value.iter().take_while(|&&byte| byte == 0).count();
    let value = &value[start..];
    let mut contents = Vec::with_capacity(value.len() + 1);
    if value.first().is_none_or(|&byte| byte >= 0x80) {
        contents.push(0);
    }
    contents.extend_from_slice(value);
    der(INTEGER, &contents)
}

/// The SubjectPublicKeyInfo of the RSA key (`n`, `e`).
fn rsa_spki(n: &[u8], e: &[u8]) -> Vec<u8> {
    // rsaEncryption (1.2.840.113549.1.1.1) with NULL parameters.
    const ALGORITHM: [u8; 15] = [
        0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00,
    ];
    let key = der(SEQUENCE, &[der_integer(n), der_integer(e)].concat());
    let mut bits = vec![0];
    bits.extend(key);
    der(
        SEQUENCE,
        &[ALGORITHM.to_vec(), der(BIT_STRING, &bits)].concat(),
    )
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn any_bytes_parse_or_are_refused_without_panicking(der in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = parse_spki(&der);
            let _ = parse_pkcs8(&der);
            let _ = rsa_public_key(&der);
        }
    }

    #[test]
    fn rsa_keys_survive_a_round_trip_through_spki() {
        let n = [0xc1u8; 256];
        let e = [0x01, 0x00, 0x01];
        let spki = rsa_spki(&n, &e);
        let [algorithm, parameter, key] = parse_spki(&spki).unwrap();
        assert_eq!(
            algorithm,
            [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01]
        );
        assert!(parameter.is_empty());
        let (back_n, back_e) = rsa_public_key(&key).unwrap();
        assert_eq!((back_n, back_e), (&n[..], &e[..]));
    }

    #[test]
    fn broken_der_is_refused_not_trusted() {
        assert!(parse_spki(&[]).is_none());
        assert!(parse_spki(&[0x30, 0x05, 0x30]).is_none());
        assert!(parse_spki(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff]).is_none());
        assert!(parse_pkcs8(&[0x30, 0x00]).is_none());
        assert!(rsa_public_key(&[0x30, 0x03, 0x02, 0x01, 0x01]).is_none());
        let ed25519 = [
            0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22,
            0x04, 0x20,
        ];
        let mut pkcs8 = ed25519.to_vec();
        pkcs8.extend([7u8; 32]);
        let [algorithm, parameter, key] = parse_pkcs8(&pkcs8).unwrap();
        assert_eq!(algorithm, [0x2b, 0x65, 0x70]);
        assert!(parameter.is_empty());
        assert_eq!(key.len(), 34, "the seed, still wrapped in its OCTET STRING");
    }
}
