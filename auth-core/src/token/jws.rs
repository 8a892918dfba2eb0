//! A presented token as a JWS in compact serialization (RFC 7515 §7.1): split into its three
//! parts, header checked, signature verified, payload decoded; the per-request half of
//! [`JwtCodec::decode`](super::JwtCodec::decode).
//!
//! Written for the request path: the header and payload are decoded into stack buffers and
//! parsed borrowed, the HMAC key schedule is computed once per key set instead of once per
//! token, and nothing is allocated for a token of ordinary size.

use std::borrow::Cow;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use jsonwebtoken::{Algorithm, DecodingKey};
use serde::de::IgnoredAny;
use serde::{Deserialize, Deserializer};
use sha2::{Sha256, Sha384, Sha512};

use super::jwt::JwtAlgorithm;

/// Decoded headers and payloads up to this size stay on the stack; ours are a few hundred
/// bytes. Larger ones (up to the codec's token cap) are decoded into a heap buffer.
const STACK_BUFFER: usize = 1024;

/// The longest signature any of our algorithms makes: 512 bytes, RS256 with a 4096-bit key.
const MAX_SIGNATURE_B64: usize = 683;

/// An HMAC key with its inner and outer pads already hashed (RFC 2104 §4: "may be
/// precomputed"): each verification clones this state instead of hashing the padded key
/// again, which saves two compression-function calls per token.
///
/// The state is as secret as the key, and is zeroed when dropped (`hmac`'s `zeroize`).
#[derive(Clone)]
pub(super) enum MacKey {
    Hs256(Hmac<Sha256>),
    Hs384(Hmac<Sha384>),
    Hs512(Hmac<Sha512>),
}

impl MacKey {
    /// The key of an HMAC algorithm; `None` for the others.
    pub(super) fn new(algorithm: JwtAlgorithm, secret: &[u8]) -> Option<Self> {
        // HMAC takes keys of any length (longer ones are hashed first), so these never fail.
        match algorithm {
            JwtAlgorithm::HS256 => Hmac::new_from_slice(secret).ok().map(Self::Hs256),
            JwtAlgorithm::HS384 => Hmac::new_from_slice(secret).ok().map(Self::Hs384),
            JwtAlgorithm::HS512 => Hmac::new_from_slice(secret).ok().map(Self::Hs512),
            JwtAlgorithm::RS256 | JwtAlgorithm::ES256 | JwtAlgorithm::EdDSA => None,
        }
    }

    /// Whether `signature` is the MAC of `message`, compared in constant time.
    fn verifies(&self, message: &[u8], signature: &[u8]) -> bool {
        fn check<M: Mac + Clone>(key: &M, message: &[u8], signature: &[u8]) -> bool {
            let mut mac = key.clone();
            mac.update(message);
            mac.verify_slice(signature).is_ok()
        }
        match self {
            Self::Hs256(key) => check(key, message, signature),
            Self::Hs384(key) => check(key, message, signature),
            Self::Hs512(key) => check(key, message, signature),
        }
    }
}

/// One key a token may be verified with: its algorithm and its verifying half.
#[derive(Clone, Copy)]
pub(super) struct VerifyingKey<'a> {
    pub(super) algorithm: JwtAlgorithm,
    /// HMAC algorithms: the key with its pads hashed.
    pub(super) mac: Option<&'a MacKey>,
    pub(super) decoding: &'a DecodingKey,
}

impl VerifyingKey<'_> {
    fn jsonwebtoken_algorithm(&self) -> Algorithm {
        self.algorithm.to_jsonwebtoken()
    }
}

/// What a token must be signed with: the key set, seen from one token.
pub(super) struct Expected<'a, F> {
    /// The encoded header of the tokens we issue: a presented header equal to it, byte for
    /// byte, passes every header check (see [`issued_header`]), names the signing key, and is
    /// not decoded again.
    pub(super) issued_header: Option<&'a str>,
    /// The key that signs (and so verifies tokens with the issued header).
    pub(super) signing: VerifyingKey<'a>,
    /// The key a header's `kid` (or its absence) selects, if the set has one.
    pub(super) select: F,
}

/// The JOSE header, as far as we judge it. Fields we do not use are skipped unread; any
/// field named twice is refused by serde.
#[derive(Deserialize)]
struct Header<'a> {
    #[serde(borrow)]
    alg: Cow<'a, str>,
    #[serde(default, borrow)]
    typ: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    kid: Option<Cow<'a, str>>,
    // Present at all, even as `null`, is refused: never fetch or trust a key named by the
    // token itself (RFC 8725 §3.10), and we understand no critical extension (RFC 7515
    // §4.1.11).
    #[serde(default, deserialize_with = "present")]
    jku: bool,
    #[serde(default, deserialize_with = "present")]
    x5u: bool,
    #[serde(default, deserialize_with = "present")]
    jwk: bool,
    #[serde(default, deserialize_with = "present")]
    x5c: bool,
    #[serde(default, deserialize_with = "present")]
    crit: bool,
}

fn present<'de, D: Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
    IgnoredAny::deserialize(deserializer).map(|_| true)
}

impl Header<'_> {
    /// The key this header selects, if it passes every check against it.
    fn check<'k>(
        &self,
        select: impl FnOnce(Option<&str>) -> Option<VerifyingKey<'k>>,
    ) -> Result<VerifyingKey<'k>, &'static str> {
        // `kid` only selects among configured keys: one we do not have is refused. It is
        // compared with the configured ids, never used as a path or a URL (RFC 8725 §3.10).
        let key = select(self.kid.as_deref()).ok_or("unknown kid")?;
        // One algorithm per key: `none`, another HMAC strength, a public key used as an HMAC
        // secret, and the algorithm of another key in the set are all refused before the
        // signature is looked at (RFC 8725 §3.1).
        if self.alg != key.algorithm.name() {
            return Err("algorithm not allowed");
        }
        if self.jku || self.x5u || self.jwk || self.x5c {
            return Err("key-bearing header");
        }
        if self.crit {
            return Err("critical header");
        }
        if self
            .typ
            .as_deref()
            .is_some_and(|typ| !typ.eq_ignore_ascii_case("JWT"))
        {
            return Err("wrong typ");
        }
        Ok(key)
    }
}

/// Checks `token`'s header and signature and returns its payload, still base64url-encoded.
/// The error is the reason, for the debug log.
pub(super) fn verify<'t, 'k, F>(
    token: &'t str,
    expected: Expected<'k, F>,
) -> Result<&'t str, &'static str>
where
    F: FnOnce(Option<&str>) -> Option<VerifyingKey<'k>>,
{
    // Three parts. A payload holding another `.` (a token of four parts or more) is refused
    // when it is decoded: `.` is not base64url. Splitting at the first and the last dot reads
    // only the short header and signature, not the whole token.
    let (Some(first), Some(last)) = (token.find('.'), token.rfind('.')) else {
        return Err("malformed token");
    };
    let (Some(header), Some(payload), Some(signature)) = (
        token.get(..first),
        token.get(first + 1..last),
        token.get(last + 1..),
    ) else {
        return Err("malformed token");
    };
    if first == last {
        return Err("malformed token");
    }
    let key = if expected.issued_header == Some(header) {
        expected.signing
    } else {
        let select = expected.select;
        decoded(header, |json| {
            std::str::from_utf8(json)
                .ok()
                .and_then(|json| serde_json::from_str::<Header<'_>>(json).ok())
                .ok_or("malformed header")
                .and_then(|header| header.check(select))
        })
        .ok_or("malformed header")??
    };

    // Signature before any claim is read: nothing reads a claim of a token that is not ours.
    let message = &token.as_bytes()[..header.len() + 1 + payload.len()];
    let verified = match key.mac {
        Some(mac) => {
            let mut buffer = [0u8; 64];
            match URL_SAFE_NO_PAD.decode_slice(signature, &mut buffer) {
                Ok(len) => buffer
                    .get(..len)
                    .is_some_and(|signature| mac.verifies(message, signature)),
                Err(_) => false,
            }
        }
        None => {
            signature.len() <= MAX_SIGNATURE_B64
                && jsonwebtoken::crypto::verify(
                    signature,
                    message,
                    key.decoding,
                    key.jsonwebtoken_algorithm(),
                )
                .unwrap_or(false)
        }
    };
    if !verified {
        return Err("bad signature");
    }
    Ok(payload)
}

/// The encoded header of the tokens signed with `header` by `signing`, if it passes every
/// check a presented header must pass and names `signing` (it always should: we write it).
pub(super) fn issued_header(
    header: &jsonwebtoken::Header,
    signing: VerifyingKey<'_>,
) -> Option<String> {
    let encoded = URL_SAFE_NO_PAD.encode(serde_json::to_vec(header).ok()?);
    let passes = decoded(&encoded, |json| {
        std::str::from_utf8(json)
            .ok()
            .and_then(|json| serde_json::from_str::<Header<'_>>(json).ok())
            .is_some_and(|presented| {
                presented.kid.as_deref() == header.kid.as_deref()
                    && presented.check(|_| Some(signing)).is_ok()
            })
    });
    passes.unwrap_or(false).then_some(encoded)
}

/// Base64url-decodes `encoded` (unpadded, canonical) and hands the bytes to `read`; `None`
/// when it is not valid base64url.
pub(super) fn decoded<R>(encoded: &str, read: impl FnOnce(&[u8]) -> R) -> Option<R> {
    let needed = base64::decoded_len_estimate(encoded.len());
    if needed <= STACK_BUFFER {
        let mut buffer = [0u8; STACK_BUFFER];
        let len = URL_SAFE_NO_PAD.decode_slice(encoded, &mut buffer).ok()?;
        Some(read(buffer.get(..len)?))
    } else {
        let bytes = URL_SAFE_NO_PAD.decode(encoded).ok()?;
        Some(read(&bytes))
    }
}
