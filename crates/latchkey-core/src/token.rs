//! The token format: `<prefix>_<uid><secret><checksum>`.
//!
//! - `prefix`: the token type, configurable per deployment (defaults `lksvc` for service tokens and
//!   `lkpat` for personal access tokens) so secret scanners can recognise Latchkey tokens.
//! - `uid`: 7 base62 characters, a public handle that is safe to show and log.
//! - `secret`: 43 base62 characters drawn uniformly from the OS CSPRNG (256 bits).
//! - `checksum`: CRC32 of everything before it, as 6 fixed-width base62 characters, so typos and
//!   scanners' false positives are refused offline.
//!
//! A token is therefore always `prefix.len() + 57` characters (62 with the default prefixes).
//! Only the SHA-256 digest of the whole string is stored, with the uid and a display hint.

use crate::base62;
use crate::error::Error;
use rand::rngs::OsRng;
use rand::RngCore;
use sha2::{Digest, Sha256};
use std::fmt;

/// Length of the public uid.
pub const UID_LEN: usize = 7;
/// Length of the random secret part (43 base62 characters ≥ 256 bits).
pub const SECRET_LEN: usize = 43;
/// Length of the checksum.
pub const CHECKSUM_LEN: usize = 6;
/// Everything after `prefix_`.
pub const BODY_LEN: usize = UID_LEN + SECRET_LEN + CHECKSUM_LEN;

/// The two kinds of bearer token.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TokenKind {
    /// Account-owned service token.
    Service,
    /// A user's personal access token.
    Personal,
}

/// A secret value (a token or a password). It never prints, and its memory is wiped on drop.
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(value: String) -> Secret {
        Secret(value)
    }
    /// The secret itself; call only where it must leave the process (shown once, or hashed).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl Drop for Secret {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.0);
    }
}

/// SHA-256 of a whole token: what is stored and what the cache is keyed by.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct TokenDigest(pub [u8; 32]);

/// A digest is already uniformly random, so its first eight bytes are as good a hash as all 32:
/// hashing writes just those (the server's cache uses them directly as each slot's tag).
impl std::hash::Hash for TokenDigest {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        state.write_u64(self.prefix_u64());
    }
}

impl TokenDigest {
    /// The first eight bytes as a number (a uniformly distributed hash of the token).
    #[inline]
    pub fn prefix_u64(&self) -> u64 {
        let [a, b, c, d, e, f, g, h, ..] = self.0;
        u64::from_le_bytes([a, b, c, d, e, f, g, h])
    }
}

impl TokenDigest {
    /// Hashes a token string.
    #[inline]
    pub fn of(token: &str) -> TokenDigest {
        TokenDigest(Sha256::digest(token.as_bytes()).into())
    }
}

impl fmt::Debug for TokenDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TokenDigest(")?;
        for b in &self.0[..4] {
            write!(f, "{b:02x}")?;
        }
        write!(f, "…)")
    }
}

/// A token that was just generated: the secret (to show once) and what is stored.
#[derive(Debug)]
pub struct NewToken {
    /// The full token; shown to its owner once, never stored.
    pub secret: Secret,
    /// The public handle.
    pub uid: String,
    /// What is stored and looked up.
    pub digest: TokenDigest,
    /// `prefix_uid…last4`, safe to display.
    pub hint: String,
}

/// A token string that passed every offline check.
#[derive(Debug, Clone, Copy)]
pub struct ParsedToken<'a> {
    /// Which kind its prefix names.
    pub kind: TokenKind,
    /// Its public uid.
    pub uid: &'a str,
    /// Its SHA-256 digest.
    pub digest: TokenDigest,
}

/// The deployment's token prefixes; generates and parses tokens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenFormat {
    service_prefix: String,
    personal_prefix: String,
}

impl Default for TokenFormat {
    fn default() -> Self {
        TokenFormat {
            service_prefix: "lksvc".into(),
            personal_prefix: "lkpat".into(),
        }
    }
}

impl TokenFormat {
    /// A format with custom prefixes: 2–16 lowercase letters or digits each, and distinct.
    pub fn new(service_prefix: &str, personal_prefix: &str) -> Result<TokenFormat, Error> {
        for p in [service_prefix, personal_prefix] {
            let ok = (2..=16).contains(&p.len())
                && p.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
            if !ok {
                return Err(Error::BadPrefix(p.to_owned()));
            }
        }
        if service_prefix == personal_prefix {
            return Err(Error::BadPrefix(format!(
                "{personal_prefix} (same as the service-token prefix)"
            )));
        }
        Ok(TokenFormat {
            service_prefix: service_prefix.to_owned(),
            personal_prefix: personal_prefix.to_owned(),
        })
    }

    /// The prefix of a kind.
    pub fn prefix(&self, kind: TokenKind) -> &str {
        match kind {
            TokenKind::Service => &self.service_prefix,
            TokenKind::Personal => &self.personal_prefix,
        }
    }

    /// The fixed length of a kind's tokens.
    pub fn token_len(&self, kind: TokenKind) -> usize {
        self.prefix(kind).len() + 1 + BODY_LEN
    }

    /// Generates a token of a kind from the OS CSPRNG.
    pub fn generate(&self, kind: TokenKind) -> NewToken {
        let prefix = self.prefix(kind);
        let mut token = String::with_capacity(self.token_len(kind));
        token.push_str(prefix);
        token.push('_');
        push_base62(&mut token, UID_LEN + SECRET_LEN);
        let mut checksum = [0u8; CHECKSUM_LEN];
        base62::encode_fixed(u64::from(crc32fast::hash(token.as_bytes())), &mut checksum);
        token.extend(checksum.iter().map(|&b| char::from(b)));

        let uid_start = prefix.len() + 1;
        let uid = token[uid_start..uid_start + UID_LEN].to_owned();
        let hint = format!("{prefix}_{uid}…{}", &token[token.len() - 4..]);
        NewToken {
            digest: TokenDigest::of(&token),
            secret: Secret::new(token),
            uid,
            hint,
        }
    }

    /// Checks a presented token offline — prefix, length, alphabet, checksum — and hashes it.
    /// Every failure is the same [`Error::MalformedToken`]. No I/O, no allocation.
    #[inline]
    pub fn parse<'a>(&self, token: &'a str) -> Result<ParsedToken<'a>, Error> {
        let kind = if self.has_prefix(token, TokenKind::Service) {
            TokenKind::Service
        } else if self.has_prefix(token, TokenKind::Personal) {
            TokenKind::Personal
        } else {
            return Err(Error::MalformedToken);
        };
        let body_start = self.prefix(kind).len() + 1;
        let bytes = token.as_bytes();
        if bytes.len() != body_start + BODY_LEN {
            return Err(Error::MalformedToken);
        }
        let checksum_start = bytes.len() - CHECKSUM_LEN;
        // Base62 is exactly the ASCII letters and digits.
        if !bytes[body_start..checksum_start]
            .iter()
            .all(u8::is_ascii_alphanumeric)
        {
            return Err(Error::MalformedToken);
        }
        let expected =
            base62::decode_fixed(&bytes[checksum_start..]).ok_or(Error::MalformedToken)?;
        if expected != u64::from(crc32fast::hash(&bytes[..checksum_start])) {
            return Err(Error::MalformedToken);
        }
        Ok(ParsedToken {
            kind,
            // The body is ASCII, so these are character boundaries.
            uid: &token[body_start..body_start + UID_LEN],
            digest: TokenDigest::of(token),
        })
    }

    #[inline]
    fn has_prefix(&self, token: &str, kind: TokenKind) -> bool {
        let prefix = self.prefix(kind).as_bytes();
        let bytes = token.as_bytes();
        bytes.len() > prefix.len() && bytes.starts_with(prefix) && bytes[prefix.len()] == b'_'
    }
}

/// Appends `len` base62 characters drawn uniformly from the OS CSPRNG (rejection sampling).
fn push_base62(out: &mut String, len: usize) {
    let mut pool = [0u8; 64];
    let mut filled = 0;
    while filled < len {
        OsRng.fill_bytes(&mut pool);
        for &b in &pool {
            // 248 = 4 × 62: accepting only bytes below it keeps every character equally likely.
            if b < 248 && filled < len {
                out.push(char::from(base62::ALPHABET[(b % 62) as usize]));
                filled += 1;
            }
        }
    }
    pool.fill(0);
}

/// Generates a random base62 string (for one-time passwords and the like).
pub fn random_base62(len: usize) -> Secret {
    let mut out = String::with_capacity(len);
    push_base62(&mut out, len);
    Secret::new(out)
}
