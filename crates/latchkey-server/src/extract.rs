//! Request parsing shared by every route: the `Authorization` header's secret, and JSON bodies
//! whose rejections use the error envelope. (Authentication itself is the route table's guard.)

use crate::error::ApiError;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use serde::de::DeserializeOwned;

/// The secret from an `Authorization` header value, if it has a known scheme (`Token` or
/// `Bearer`, any case).
pub fn bearer_secret(value: &str) -> Option<&str> {
    let (scheme, secret) = value.split_once(' ')?;
    (scheme.eq_ignore_ascii_case("token") || scheme.eq_ignore_ascii_case("bearer"))
        .then(|| secret.trim())
}

/// An optional `expires_at` as sent: an RFC 3339 time, or a 400 naming the field.
pub fn parse_expiry(text: Option<&str>) -> Result<Option<time::OffsetDateTime>, ApiError> {
    text.map(|t| time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339))
        .transpose()
        .map_err(|_| {
            ApiError::field(
                "expires_at",
                "expires_at must be an RFC 3339 time, e.g. 2027-01-01T00:00:00Z",
            )
        })
}

/// For optional body fields that may be left out but never sent as `null`: absent is `None`
/// (with `#[serde(default)]`), a value is `Some`, and `null` is refused like any other wrong
/// type.
pub fn present<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    T::deserialize(d).map(Some)
}

/// A `state` field as sent: 1 active, 2 deleted.
pub fn parse_state(state: Option<i64>) -> Result<Option<latchkey_store::State>, ApiError> {
    match state {
        None => Ok(None),
        Some(1) => Ok(Some(latchkey_store::State::Active)),
        Some(2) => Ok(Some(latchkey_store::State::Deleted)),
        Some(_) => Err(ApiError::field(
            "state",
            "state must be 1 (active) or 2 (deleted)",
        )),
    }
}

/// E-mail and password from an `Authorization: Basic base64(email:password)` header value.
pub fn basic_credentials(value: &str) -> Option<(String, latchkey_core::Secret)> {
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = String::from_utf8(base64_decode(encoded.trim())?).ok()?;
    let (email, password) = decoded.split_once(':')?;
    (!email.is_empty() && !password.is_empty()).then(|| {
        (
            email.to_owned(),
            latchkey_core::Secret::new(password.to_owned()),
        )
    })
}

/// Standard base64 (RFC 4648 §4), padding optional; `None` on any other byte.
fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let text = text.trim_end_matches('=');
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for b in text.bytes() {
        let v = match b {
            b'A'..=b'Z' => b - b'A',
            b'a'..=b'z' => b - b'a' + 26,
            b'0'..=b'9' => b - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

/// A JSON object body; malformed JSON, wrong types, a body that is not an object, a wrong
/// content type and oversized bodies become 400, 400, 400, 415 and 413 in the envelope.
///
/// The body must be an object: serde would otherwise take `["name", 2]` for a struct's fields
/// in order, so a request could change things without naming a single field.
pub struct ApiJson<T>(pub T);

/// A JSON array body (e.g. a token's full list of grants), under the same rules.
pub struct ApiJsonList<T>(pub Vec<T>);

/// Whether a `Content-Type` header value (absent: `None`) says JSON: `application/json` or any
/// `…/…+json`, parameters aside.
pub(crate) fn is_json_content_type(value: Option<&str>) -> bool {
    let Some(value) = value else {
        return false;
    };
    let essence = value.split(';').next().unwrap_or_default().trim();
    essence.eq_ignore_ascii_case("application/json")
        || (essence.len() > 5
            && essence[..essence.len() - 5].contains('/')
            && essence[essence.len() - 5..].eq_ignore_ascii_case("+json"))
}

/// Reads a JSON body whose first significant byte must be `open` (`{` or `[`).
async fn json_body<T: DeserializeOwned, S: Send + Sync>(
    req: Request,
    state: &S,
    open: u8,
) -> Result<T, ApiError> {
    let content_type = req
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    if !is_json_content_type(content_type) {
        return Err(ApiError::UnsupportedMediaType);
    }
    let (mut parts, body) = req.into_parts();
    let path_account = axum::extract::RawPathParams::from_request_parts(&mut parts, state)
        .await
        .ok()
        .and_then(|params| {
            params
                .iter()
                .find(|(k, _)| *k == "account_id")
                .and_then(|(_, v)| v.parse::<i64>().ok())
        });
    let req = Request::from_parts(parts, body);
    let bytes = axum::body::Bytes::from_request(req, state)
        .await
        .map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::PayloadTooLarge
            } else {
                ApiError::BadRequest {
                    field: None,
                    message: rejection.body_text(),
                }
            }
        })?;
    json_from_bytes(bytes, path_account, open)
}

/// A whole JSON body as [`ApiJson`] reads it, once its content type was found to be JSON:
/// its first significant byte must be `open` (`{` or `[`); with `path_account`, an
/// `account_id` in it must be that account.
pub(crate) fn json_from_bytes<T: DeserializeOwned>(
    bytes: axum::body::Bytes,
    path_account: Option<i64>,
    open: u8,
) -> Result<T, ApiError> {
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
    if first != Some(&open) {
        let what = if open == b'{' { "object" } else { "array" };
        return Err(ApiError::BadRequest {
            field: None,
            message: format!("the request body must be a JSON {what}"),
        });
    }
    // The whole body must be valid, not only the fields a handler reads: serde skips unknown
    // fields without checking their text, so invalid UTF-8 and lone surrogates are looked for
    // here, and the body is read once more as a JSON value when it could hold either.
    if std::str::from_utf8(&bytes).is_err() {
        return Err(ApiError::BadRequest {
            field: None,
            message: "the request body is not valid UTF-8".into(),
        });
    }
    let bytes = whole_numbers_as_integers(bytes);
    if path_account.is_some() || may_hold_surrogate(&bytes) {
        let value: serde_json::Value =
            serde_json::from_slice(&bytes).map_err(|_| ApiError::BadRequest {
                field: None,
                message: "malformed JSON in request body (or an unpaired UTF-16 surrogate)".into(),
            })?;
        if let (Some(path), Some(sent)) = (path_account, value.get("account_id")) {
            if sent.as_i64() != Some(path) {
                return Err(ApiError::field(
                    "account_id",
                    "account_id in the body must be the account in the path",
                ));
            }
        }
    }
    // The common case in one pass; a body that fails is read again for the error's wording
    // (which names the field's path).
    if let Ok(v) = serde_json::from_slice::<T>(&bytes) {
        return Ok(v);
    }
    match axum::Json::<T>::from_bytes(&bytes) {
        Ok(axum::Json(v)) => Ok(v),
        Err(JsonRejection::JsonDataError(e)) => Err(ApiError::BadRequest {
            field: None,
            message: format!("invalid request body: {}", e.body_text()),
        }),
        Err(_) => Err(ApiError::BadRequest {
            field: None,
            message: "malformed JSON in request body".into(),
        }),
    }
}

/// The body with every number that has a zero fraction or an exponent and is whole (`2.0`,
/// `3e2`) written as the integer it is, byte for byte otherwise. JSON Schema's `integer` (the
/// document's type for every id and count) is any number with a zero fraction, so
/// `{"user_id": 2.0}` is a valid body; serde reads such a number only into a float. Numbers
/// in strings, fractional numbers and anything malformed are left as they are (the reader
/// below judges them).
fn whole_numbers_as_integers(bytes: axum::body::Bytes) -> axum::body::Bytes {
    // Most bodies have no digit followed by a fraction or an exponent: nothing to rewrite.
    let may_have = bytes
        .iter()
        .zip(bytes.iter().skip(1))
        .any(|(a, b)| a.is_ascii_digit() & matches!(b, b'.' | b'e' | b'E'));
    if !may_have {
        return bytes;
    }
    let mut out: Option<Vec<u8>> = None;
    let (mut i, mut copied, mut in_string) = (0, 0, false);
    while i < bytes.len() {
        let b = bytes[i];
        if in_string {
            match b {
                b'\\' => i += 1,
                b'"' => in_string = false,
                _ => {}
            }
            i += 1;
        } else if b == b'-' || b.is_ascii_digit() {
            let start = i;
            while i < bytes.len()
                && matches!(bytes[i], b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E')
            {
                i += 1;
            }
            if let Some(n) = whole_number(&bytes[start..i]) {
                let out = out.get_or_insert_with(|| Vec::with_capacity(bytes.len()));
                out.extend_from_slice(&bytes[copied..start]);
                out.extend_from_slice(n.to_string().as_bytes());
                copied = i;
            }
        } else {
            in_string = b == b'"';
            i += 1;
        }
    }
    match out {
        None => bytes,
        Some(mut out) => {
            out.extend_from_slice(&bytes[copied..]);
            out.into()
        }
    }
}

/// The integer a JSON number token with a fraction or an exponent spells, when it is whole and
/// fits an `i64`; `None` for plain integers, fractional numbers and anything but a JSON number.
fn whole_number(token: &[u8]) -> Option<i64> {
    let digits = |s: &[u8]| s.iter().take_while(|b| b.is_ascii_digit()).count();
    let (negative, rest) = match token.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, token),
    };
    let (int, rest) = rest.split_at(digits(rest));
    if int.is_empty() || (int.len() > 1 && int[0] == b'0') {
        return None;
    }
    let (frac, rest) = match rest.split_first() {
        Some((b'.', rest)) if digits(rest) > 0 => rest.split_at(digits(rest)),
        Some((b'.', _)) => return None,
        _ => (&rest[..0], rest),
    };
    let exponent: i64 = match rest.split_first() {
        None if frac.is_empty() => return None,
        None => 0,
        Some((b'e' | b'E', rest)) => {
            let (sign, rest) = match rest.split_first() {
                Some((b'-', rest)) => (-1, rest),
                Some((b'+', rest)) => (1, rest),
                _ => (1, rest),
            };
            if rest.is_empty() || rest.len() > 4 || digits(rest) != rest.len() {
                return None;
            }
            sign * std::str::from_utf8(rest).ok()?.parse::<i64>().ok()?
        }
        Some(_) => return None,
    };
    let mut mantissa: Vec<u8> = int.iter().chain(frac).copied().collect();
    let mut scale = exponent - frac.len() as i64;
    while scale < 0 && !mantissa.is_empty() {
        if mantissa.pop() != Some(b'0') {
            return None;
        }
        scale += 1;
    }
    let start = mantissa.iter().take_while(|b| **b == b'0').count();
    let mantissa = &mantissa[start..];
    if mantissa.is_empty() {
        return Some(0);
    }
    if mantissa.len() > 19 || scale > 18 {
        return None;
    }
    let value = std::str::from_utf8(mantissa)
        .ok()?
        .parse::<i128>()
        .ok()?
        .checked_mul(10i128.pow(u32::try_from(scale).ok()?))?;
    i64::try_from(if negative { -value } else { value }).ok()
}

/// Whether the body has a `\uD800`–`\uDFFF` escape (half of a surrogate pair, or a lone one).
fn may_hold_surrogate(bytes: &[u8]) -> bool {
    bytes.contains(&b'\\')
        && bytes.windows(4).any(|w| {
            w[0] == b'\\'
                && w[1] == b'u'
                && matches!(w[2], b'd' | b'D')
                && matches!(w[3], b'8'..=b'9' | b'a'..=b'f' | b'A'..=b'F')
        })
}

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        json_body(req, state, b'{').await.map(ApiJson)
    }
}

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJsonList<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        json_body(req, state, b'[').await.map(ApiJsonList)
    }
}

/// Path parameters; a value of the wrong type (`/service-tokens/abc/`) is a 404 in the
/// envelope, like an id that does not exist.
pub struct ApiPath<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> axum::extract::FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, ApiError> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| ApiPath(p.0))
            .map_err(|_| ApiError::NotFound)
    }
}

/// A query string; a malformed one becomes a 400 in the envelope.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> axum::extract::FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, ApiError> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| ApiQuery(q.0))
            .map_err(|e| ApiError::BadRequest {
                field: None,
                message: format!("invalid query string: {}", e.body_text()),
            })
    }
}

/// The client's address, resolved once per request as it arrives ([`crate::connections`]): the connection's
/// peer, or — when the peer is a trusted proxy — the nearest untrusted hop of
/// `X-Forwarded-For`. `None` when it cannot be told (then IP fences refuse the request).
#[derive(Clone, Copy, Debug)]
pub struct ClientIp(pub Option<std::net::IpAddr>);

impl ClientIp {
    /// Reads it from a request's extensions (unknown for a request that did not arrive on a
    /// connection).
    pub fn of(extensions: &axum::http::Extensions) -> ClientIp {
        extensions
            .get::<ClientIp>()
            .copied()
            .unwrap_or(ClientIp(None))
    }

    /// The client behind `peer`, believing `X-Forwarded-For` only from a trusted proxy: hops
    /// are read right to left, skipping trusted proxies; the first other address is the client.
    /// An unreadable hop makes the client unknown.
    pub fn resolve(
        peer: Option<std::net::IpAddr>,
        headers: &axum::http::HeaderMap,
        trusted: &[latchkey_core::Cidr],
    ) -> ClientIp {
        let forwarded = headers
            .get_all("x-forwarded-for")
            .into_iter()
            .map(|v| v.to_str().ok());
        ClientIp::resolve_forwarded(peer, forwarded, trusted)
    }

    /// [`ClientIp::resolve`] from the `X-Forwarded-For` values in the order they came (`None`
    /// for one that is not text).
    pub fn resolve_forwarded<'a>(
        peer: Option<std::net::IpAddr>,
        forwarded: impl IntoIterator<Item = Option<&'a str>>,
        trusted: &[latchkey_core::Cidr],
    ) -> ClientIp {
        let is_trusted = |ip: std::net::IpAddr| trusted.iter().any(|c| c.contains(ip));
        let Some(peer) = peer else {
            return ClientIp(None);
        };
        if !is_trusted(peer) {
            return ClientIp(Some(peer));
        }
        let mut hops: Vec<&str> = Vec::new();
        for value in forwarded {
            let Some(value) = value else {
                return ClientIp(None);
            };
            hops.extend(value.split(',').map(str::trim));
        }
        let mut client = peer;
        for hop in hops.iter().rev() {
            let Ok(ip) = hop.parse::<std::net::IpAddr>() else {
                return ClientIp(None);
            };
            client = ip;
            if !is_trusted(ip) {
                break;
            }
        }
        ClientIp(Some(client))
    }
}

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Self, Self::Rejection> {
        Ok(ClientIp::of(&parts.extensions))
    }
}

/// An `application/x-www-form-urlencoded` body; rejections become 415 or 400 in the envelope.
pub struct ApiForm<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiForm<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        use axum::extract::rejection::FormRejection;
        match axum::Form::<T>::from_request(req, state).await {
            Ok(axum::Form(v)) => Ok(ApiForm(v)),
            Err(FormRejection::InvalidFormContentType(_)) => Err(ApiError::UnsupportedMediaType),
            Err(other) if other.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                Err(ApiError::PayloadTooLarge)
            }
            Err(other) => Err(ApiError::BadRequest {
                field: None,
                message: format!("invalid form body: {}", other.body_text()),
            }),
        }
    }
}

/// A numeric parameter of the request's path (`{account_id}`, `{project_id}`), if it has one by
/// that name: read by the guards before the handler, leaving the request as it was.
pub async fn path_param(request: &mut Request, name: &str) -> Option<i64> {
    let (mut parts, body) = std::mem::take(request).into_parts();
    let params = axum::extract::RawPathParams::from_request_parts(&mut parts, &()).await;
    let value = params.ok().and_then(|params| {
        params
            .iter()
            .find(|(k, _)| *k == name)
            .and_then(|(_, v)| v.parse::<i64>().ok())
    });
    *request = Request::from_parts(parts, body);
    value
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_credentials_decode() {
        // base64("dev@example.com:pa:ss") — the password may hold colons.
        let (email, password) = basic_credentials("Basic ZGV2QGV4YW1wbGUuY29tOnBhOnNz").unwrap();
        assert_eq!(
            (email.as_str(), password.expose()),
            ("dev@example.com", "pa:ss")
        );
        assert_eq!(base64_decode("YQ").unwrap(), b"a");
        assert_eq!(base64_decode("YWI=").unwrap(), b"ab");
        assert!(basic_credentials("Basic !!!").is_none());
        assert!(
            basic_credentials("Basic Og==").is_none(),
            "empty e-mail and password"
        );
        assert!(basic_credentials("Token abc").is_none());
    }

    #[test]
    fn whole_numbers_are_read_as_the_integers_they_are() {
        for (token, n) in [
            ("2.0", Some(2)),
            ("-562257.0", Some(-562_257)),
            ("3e2", Some(300)),
            ("1.5E1", Some(15)),
            ("0.0", Some(0)),
            ("-0.0", Some(0)),
            ("1000e-3", Some(1)),
            ("9223372036854775807.0", Some(i64::MAX)),
            ("9223372036854775808.0", None),
            ("2", None),
            ("2.5", None),
            ("1e-1", None),
            ("1.", None),
            ("01.0", None),
            ("1.0e", None),
            ("1e99999", None),
            ("--1.0", None),
        ] {
            assert_eq!(whole_number(token.as_bytes()), n, "{token}");
        }
        let body = |s: &str| whole_numbers_as_integers(axum::body::Bytes::from(s.to_owned()));
        assert_eq!(
            body(r#"{"a": 2.0, "b": "3.0", "c": [1e1, 2.5], "d\"": 4.00}"#),
            r#"{"a": 2, "b": "3.0", "c": [10, 2.5], "d\"": 4}"#
        );
        assert_eq!(body(r#"{"a": 1.}"#), r#"{"a": 1.}"#, "malformed stays so");
    }
}
