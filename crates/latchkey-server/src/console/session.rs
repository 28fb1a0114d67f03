//! The console's session cookie and the tokens derived from it: a random secret in an
//! `HttpOnly`, `SameSite=Strict` cookie (`Secure` and `__Host-` prefixed behind TLS), kept by the
//! store only as its SHA-256 digest; the CSRF token every state-changing form carries, derived
//! from the secret (so it is bound to the session and stored nowhere); and the sign-in form's
//! own pre-session cookie against login CSRF.

use axum::http::{header, HeaderMap, HeaderValue};
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The session cookie's name without TLS.
const PLAIN_NAME: &str = "latchkey_session";
/// Its name behind TLS: browsers accept a `__Host-` cookie only `Secure`, for this host alone,
/// on path `/`, so no sibling domain can plant one.
const HOST_NAME: &str = "__Host-latchkey_session";
/// The sign-in form's pre-session cookie.
const SIGN_IN_NAME: &str = "latchkey_sign_in";
/// Secrets are 32 random bytes, written as 64 hexadecimal characters.
const SECRET_HEX: usize = 64;

/// A session's secret, as the cookie carries it.
#[derive(Clone)]
pub struct SessionSecret(String);

impl SessionSecret {
    /// A fresh random secret.
    pub fn generate() -> SessionSecret {
        SessionSecret(random_hex())
    }

    /// What the store keeps: the secret's SHA-256 digest.
    pub fn digest(&self) -> [u8; 32] {
        Sha256::digest(self.0.as_bytes()).into()
    }

    /// The CSRF token of this session's forms.
    pub fn csrf(&self) -> String {
        let mut hasher = Sha256::new();
        hasher.update(b"latchkey console csrf\0");
        hasher.update(self.0.as_bytes());
        hex(&hasher.finalize())
    }
}

/// 32 random bytes as hexadecimal.
pub fn random_hex() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    hex(&bytes)
}

/// `bytes` as lowercase hexadecimal.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 15)]));
    }
    out
}

/// Whether two tokens are equal, in time that does not depend on where they differ.
pub fn same_token(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// The value of the cookie `name` in the request's `Cookie` headers, when it is a well-formed
/// secret (anything else is as good as no cookie).
fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim())
        .filter(|v| v.len() == SECRET_HEX && v.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// The session secret the request carries, under the cookie name `secure` selects.
pub fn session_secret(headers: &HeaderMap, secure: bool) -> Option<SessionSecret> {
    let name = if secure { HOST_NAME } else { PLAIN_NAME };
    cookie(headers, name).map(|v| SessionSecret(v.to_owned()))
}

/// The sign-in form's pre-session token the request carries.
pub fn sign_in_token(headers: &HeaderMap) -> Option<String> {
    cookie(headers, SIGN_IN_NAME).map(str::to_owned)
}

fn attributes(secure: bool) -> &'static str {
    if secure {
        "; Path=/; HttpOnly; SameSite=Strict; Secure"
    } else {
        "; Path=/; HttpOnly; SameSite=Strict"
    }
}

/// `Set-Cookie` for a new session (a session cookie: it goes when the browser closes, and the
/// server ends it on its own timeouts whatever the browser keeps).
pub fn set_session(secret: &SessionSecret, secure: bool) -> HeaderValue {
    let name = if secure { HOST_NAME } else { PLAIN_NAME };
    cookie_header(&format!("{name}={}{}", secret.0, attributes(secure)))
}

/// `Set-Cookie` that removes the session cookie.
pub fn clear_session(secure: bool) -> HeaderValue {
    let name = if secure { HOST_NAME } else { PLAIN_NAME };
    cookie_header(&format!("{name}={}; Max-Age=0", attributes(secure)))
}

/// `Set-Cookie` for the sign-in form's pre-session token.
pub fn set_sign_in(token: &str, secure: bool) -> HeaderValue {
    cookie_header(&format!(
        "{SIGN_IN_NAME}={token}{}; Max-Age=3600",
        attributes(secure)
    ))
}

fn cookie_header(text: &str) -> HeaderValue {
    // Every part is ASCII we wrote ourselves (names, hexadecimal, attributes).
    HeaderValue::from_str(text).unwrap_or_else(|_| HeaderValue::from_static("latchkey_invalid=1"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_is_found_only_under_its_own_name_and_well_formed() {
        let secret = SessionSecret::generate();
        let mut headers = HeaderMap::new();
        let value = format!("other=1; latchkey_session={}; x=y", secret.0);
        headers.insert(header::COOKIE, HeaderValue::from_str(&value).unwrap());
        assert_eq!(
            session_secret(&headers, false).map(|s| s.digest()),
            Some(secret.digest())
        );
        assert!(session_secret(&headers, true).is_none());
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("latchkey_session=' OR 1=1 --"),
        );
        assert!(session_secret(&headers, false).is_none());
    }

    #[test]
    fn csrf_tokens_are_per_session_and_compared_whole() {
        let (a, b) = (SessionSecret::generate(), SessionSecret::generate());
        assert_ne!(a.csrf(), b.csrf());
        assert!(same_token(&a.csrf(), &a.csrf()));
        assert!(!same_token(&a.csrf(), &b.csrf()));
        assert!(!same_token(&a.csrf(), &a.csrf()[..10]));
        assert_ne!(a.csrf(), a.0, "the form token is not the cookie's secret");
    }

    #[test]
    fn cookies_are_http_only_and_strict_and_secure_behind_tls() {
        let s = SessionSecret::generate();
        let plain = set_session(&s, false);
        let plain = plain.to_str().unwrap();
        assert!(plain.contains("HttpOnly") && plain.contains("SameSite=Strict"));
        assert!(!plain.contains("Secure"));
        let tls = set_session(&s, true);
        let tls = tls.to_str().unwrap();
        assert!(tls.starts_with("__Host-") && tls.contains("Secure") && tls.contains("Path=/"));
    }
}
