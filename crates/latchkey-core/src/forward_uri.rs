//! The original request of a forward-auth check, read the way the upstream behind the proxy will
//! read it, before the route map is consulted. Pure: strings in, a normalised request or a
//! refusal out, no HTTP types, so it can be tested and fuzzed on its own.
//!
//! The rule: normalise where every upstream agrees, refuse (403) where upstreams disagree,
//! never guess.
//! - Percent-encoded unreserved characters (`%41` → `A`, `%5F` → `_`, `%2E` → `.`) are
//!   decoded: RFC 3986 §6.2.2.2 makes them the same URI. Other escapes stay as they are (hex
//!   in upper case); an escape of `/`, `\`, `%`, `;` or a control character is refused, since
//!   some upstreams decode it before routing and others after.
//! - Dot segments (`.`, `..`, also encoded), empty segments (`//`), backslashes and `;` (Tomcat
//!   and Spring read `/..;/` as `/../`) are refused: upstreams resolve them differently.
//! - A query that names a parameter twice is refused, however the names are spelled: keys are
//!   compared decoded, ignoring ASCII case, without leading spaces and with `.` and other
//!   spaces read as `_` (as PHP does). So is a `;` in the query (a pair separator to some
//!   parsers) and a key holding `[`, `]` or a control character (arrays to Rails and PHP).
//! - The method must be an upper-case token; the target must be a path (origin form) of at most
//!   [`MAX_URI_LEN`] bytes with at most [`MAX_QUERY_PAIRS`] query pairs, and no fragment.
//!
//! The common request (no escapes) is judged without allocating.

use std::borrow::Cow;

/// The longest request target judged (nginx refuses longer request lines by default).
pub const MAX_URI_LEN: usize = 8192;

/// The most query pairs judged (duplicates are looked for pairwise).
pub const MAX_QUERY_PAIRS: usize = 100;

/// The longest method accepted.
const MAX_METHOD_LEN: usize = 32;

/// An original request as the upstream will see it: built only by [`normalise`], so its path
/// is normalised and its query unambiguous.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OriginalRequest<'a> {
    method: &'a str,
    path: Cow<'a, str>,
    query: &'a str,
}

/// Why an original request was refused rather than guessed at.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// Not an upper-case method token.
    #[error("the original method is not an upper-case HTTP method")]
    Method,
    /// Longer than [`MAX_URI_LEN`].
    #[error("the original URI is longer than 8192 bytes")]
    TooLong,
    /// Not origin form (`/path?query`).
    #[error("the original URI is not a path starting with `/`")]
    NotAPath,
    /// A character a URI may not carry unencoded.
    #[error("the original URI holds a character that must be percent-encoded")]
    Character,
    /// A `#`.
    #[error("the original URI holds a fragment (`#`)")]
    Fragment,
    /// `%` not followed by two hex digits.
    #[error("the original URI holds a malformed percent-escape")]
    BadEscape,
    /// `\` in the path.
    #[error("the path holds a backslash, a separator to some upstreams and a character to others")]
    Backslash,
    /// `;` in the path, raw or encoded.
    #[error(
        "the path holds `;`, which Tomcat and Spring read as a path parameter (`..;` as `..`)"
    )]
    PathParameter,
    /// `%2F` or `%5C`.
    #[error("the path holds an encoded `/` or `\\`, which some upstreams decode before routing")]
    EncodedSeparator,
    /// `%25`.
    #[error("the path holds an encoded `%`, which some upstreams decode twice")]
    DoubleEncoding,
    /// An encoded control character.
    #[error("the path holds an encoded control character")]
    EncodedControl,
    /// `//`.
    #[error("the path holds an empty segment (`//`), which some upstreams merge and others keep")]
    EmptySegment,
    /// `.` or `..`, raw or encoded.
    #[error("the path holds a dot segment (`.` or `..`), which upstreams resolve differently")]
    DotSegment,
    /// More than [`MAX_QUERY_PAIRS`] pairs.
    #[error("the query holds more than 100 parameters")]
    TooManyParameters,
    /// One parameter named twice.
    #[error("the query names a parameter twice (perhaps spelled differently), so upstreams may read either value")]
    RepeatedParameter,
    /// `;` in the query.
    #[error("the query holds `;`, which some parsers read as a separator")]
    QuerySemicolon,
    /// A key with `[`, `]` or a control character.
    #[error("a query parameter's name holds `[`, `]` or a control character, which some parsers read as another name")]
    ParameterName,
}

/// Reads `method` and `uri` (the request target: path and query) as the upstream will, or says
/// why it will not guess.
///
/// ```
/// use latchkey_core::forward_uri::{normalise, Refusal};
/// let r = normalise("GET", "/api/v2/accounts/7/%72uns/?project%5Fid=3").unwrap();
/// assert_eq!(r.path(), "/api/v2/accounts/7/runs/");
/// assert_eq!(r.query_value("project_id").as_deref(), Some("3"));
/// assert_eq!(normalise("GET", "/a/..;/b"), Err(Refusal::PathParameter));
/// assert_eq!(normalise("GET", "/a?id=1&i%64=2"), Err(Refusal::RepeatedParameter));
/// ```
pub fn normalise<'a>(method: &'a str, uri: &'a str) -> Result<OriginalRequest<'a>, Refusal> {
    if method.is_empty()
        || method.len() > MAX_METHOD_LEN
        || !method
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b == b'-' || b == b'_')
    {
        return Err(Refusal::Method);
    }
    if uri.len() > MAX_URI_LEN {
        return Err(Refusal::TooLong);
    }
    if !uri.starts_with('/') {
        return Err(Refusal::NotAPath);
    }
    let (path, query) = uri.split_once('?').unwrap_or((uri, ""));
    let path = normalise_path(path)?;
    check_query(query)?;
    Ok(OriginalRequest {
        method,
        path,
        query,
    })
}

impl<'a> OriginalRequest<'a> {
    /// The method, upper case.
    pub fn method(&self) -> &str {
        self.method
    }

    /// The normalised path (starts with `/`; a trailing `/` is kept).
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The query string as sent, without the `?` (empty when there is none).
    pub fn query(&self) -> &'a str {
        self.query
    }

    /// The decoded value of the query parameter whose decoded name is exactly `name` (`""` for
    /// a bare `name` or `name=`); `None` when it is absent. There is at most one: [`normalise`]
    /// refuses a query naming a parameter twice.
    pub fn query_value(&self, name: &str) -> Option<Cow<'a, str>> {
        pairs(self.query).find_map(|(key, value)| {
            let same = if encoded(key) {
                decoded(key).eq(name.bytes())
            } else {
                key == name
            };
            same.then(|| decode_form(value))
        })
    }
}

/// Unreserved characters (RFC 3986 §2.3): the escapes that are decoded.
const fn unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

/// Characters a path may hold unencoded here: pchar and `/`, without `;` (refused apart).
const fn path_char(b: u8) -> bool {
    unreserved(b)
        || matches!(
            b,
            b'!' | b'$'
                | b'&'
                | b'\''
                | b'('
                | b')'
                | b'*'
                | b'+'
                | b','
                | b'='
                | b':'
                | b'@'
                | b'/'
        )
}

/// Characters a query may hold unencoded here: those of a path, and `?`.
const fn query_char(b: u8) -> bool {
    path_char(b) || b == b'?'
}

/// Class bits of [`CLASSES`].
const UNRESERVED: u8 = 1;
const PATH: u8 = 2;
const QUERY: u8 = 4;

/// The classes of every byte, so the hot loop looks each byte up once.
static CLASSES: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        let mut class = 0;
        if unreserved(b) {
            class |= UNRESERVED;
        }
        if path_char(b) {
            class |= PATH;
        }
        if query_char(b) {
            class |= QUERY;
        }
        table[i] = class;
        i += 1;
    }
    table
};

/// Whether `b` is of `class`.
fn is(b: u8, class: u8) -> bool {
    CLASSES[usize::from(b)] & class != 0
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// The byte `%XY` at `bytes[i]` stands for, if `bytes[i..i + 3]` is a well-formed escape.
fn escape_at(bytes: &[u8], i: usize) -> Option<u8> {
    let hi = hex(*bytes.get(i + 1)?)?;
    let lo = hex(*bytes.get(i + 2)?)?;
    Some((hi << 4) | lo)
}

/// Decodes unreserved escapes, upper-cases the hex of the others, and refuses what upstreams
/// disagree on. Borrows `path` unless something changed.
fn normalise_path(path: &str) -> Result<Cow<'_, str>, Refusal> {
    let bytes = path.as_bytes();
    // Built only once something differs from the input; `copied` is how much of the input is
    // already in it.
    let mut out: Option<String> = None;
    let mut copied = 0;
    // Where the current segment starts (after the leading `/`).
    let mut segment = 1;
    let mut i = 1;
    while i < bytes.len() {
        let b = bytes[i];
        if is(b, PATH) {
            if b == b'/' {
                check_segment(&bytes[segment..i], false)?;
                segment = i + 1;
            }
            i += 1;
            continue;
        }
        match b {
            b'%' => {
                let v = escape_at(bytes, i).ok_or(Refusal::BadEscape)?;
                let replacement = match v {
                    b'/' | b'\\' => return Err(Refusal::EncodedSeparator),
                    b'%' => return Err(Refusal::DoubleEncoding),
                    b';' => return Err(Refusal::PathParameter),
                    0..=0x1f | 0x7f => return Err(Refusal::EncodedControl),
                    v if is(v, UNRESERVED) => Some(Replacement::Byte(v)),
                    _ if bytes[i + 1..i + 3].iter().any(u8::is_ascii_lowercase) => {
                        Some(Replacement::Upper(v))
                    }
                    _ => None,
                };
                if let Some(replacement) = replacement {
                    let s = out.get_or_insert_with(|| String::with_capacity(path.len()));
                    s.push_str(&path[copied..i]);
                    replacement.push_to(s);
                    copied = i + 3;
                }
                i += 3;
            }
            b'\\' => return Err(Refusal::Backslash),
            b';' => return Err(Refusal::PathParameter),
            b'#' => return Err(Refusal::Fragment),
            _ => return Err(Refusal::Character),
        }
    }
    check_segment(&bytes[segment.min(bytes.len())..], true)?;
    match out {
        Some(mut s) => {
            s.push_str(&path[copied..]);
            // Decoding may have made dot segments (`%2e%2e`); it cannot make empty ones.
            for decoded in s[1..].split('/') {
                check_segment(decoded.as_bytes(), true)?;
            }
            Ok(Cow::Owned(s))
        }
        None => Ok(Cow::Borrowed(path)),
    }
}

/// What an escape becomes in the normalised path.
enum Replacement {
    /// The decoded character.
    Byte(u8),
    /// The same escape with upper-case hex.
    Upper(u8),
}

impl Replacement {
    fn push_to(self, s: &mut String) {
        const HEX: &[u8; 16] = b"0123456789ABCDEF";
        match self {
            Replacement::Byte(b) => s.push(char::from(b)),
            Replacement::Upper(v) => {
                s.push('%');
                s.push(char::from(HEX[usize::from(v >> 4)]));
                s.push(char::from(HEX[usize::from(v & 0xf)]));
            }
        }
    }
}

/// Refuses a dot segment, and an empty one unless it is the `last` (a trailing `/`).
fn check_segment(segment: &[u8], last: bool) -> Result<(), Refusal> {
    match segment {
        [] if !last => Err(Refusal::EmptySegment),
        [b'.'] | [b'.', b'.'] => Err(Refusal::DotSegment),
        _ => Ok(()),
    }
}

/// The `key=value` pairs of a query (empty pairs skipped; a bare key has the value `""`).
fn pairs(query: &str) -> impl Iterator<Item = (&str, &str)> {
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| pair.split_once('=').unwrap_or((pair, "")))
}

/// The bytes of a form-encoded string, decoded (`+` is a space). Only for strings
/// [`check_query`] passed, so every `%` starts a well-formed escape.
fn decoded(s: &str) -> impl Iterator<Item = u8> + '_ {
    let bytes = s.as_bytes();
    let mut i = 0;
    std::iter::from_fn(move || {
        let b = *bytes.get(i)?;
        match b {
            b'%' => {
                let v = escape_at(bytes, i).unwrap_or(b'%');
                i += 3;
                Some(v)
            }
            b'+' => {
                i += 1;
                Some(b' ')
            }
            _ => {
                i += 1;
                Some(b)
            }
        }
    })
}

/// Whether a form-encoded string has anything to decode.
fn encoded(s: &str) -> bool {
    s.bytes().any(|b| b == b'%' || b == b'+')
}

/// A form-encoded value, decoded; borrowed when there was nothing to decode.
fn decode_form(value: &str) -> Cow<'_, str> {
    if encoded(value) {
        let bytes: Vec<u8> = decoded(value).collect();
        Cow::Owned(String::from_utf8_lossy(&bytes).into_owned())
    } else {
        Cow::Borrowed(value)
    }
}

/// A key as the most lenient parser reads it, to find the same parameter spelled twice: PHP
/// drops leading spaces, then reads `.` and space as `_`; some frameworks ignore ASCII case.
fn lenient_key(key: &str) -> impl Iterator<Item = u8> + '_ {
    decoded(key).skip_while(|&b| b == b' ').map(|b| match b {
        b'.' | b' ' => b'_',
        b => b.to_ascii_lowercase(),
    })
}

/// Refuses a query upstreams could read differently.
fn check_query(query: &str) -> Result<(), Refusal> {
    let bytes = query.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                escape_at(bytes, i).ok_or(Refusal::BadEscape)?;
                i += 3;
            }
            b if is(b, QUERY) => i += 1,
            b';' => return Err(Refusal::QuerySemicolon),
            b'#' => return Err(Refusal::Fragment),
            _ => return Err(Refusal::Character),
        }
    }
    for (n, (key, _)) in pairs(query).enumerate() {
        if n == MAX_QUERY_PAIRS {
            return Err(Refusal::TooManyParameters);
        }
        // Unencoded, those bytes were refused above.
        if encoded(key) && decoded(key).any(|b| b == b'[' || b == b']' || b < 0x20 || b == 0x7f) {
            return Err(Refusal::ParameterName);
        }
        if pairs(query)
            .take(n)
            .any(|(earlier, _)| lenient_key(earlier).eq(lenient_key(key)))
        {
            return Err(Refusal::RepeatedParameter);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(uri: &str) -> Result<String, Refusal> {
        normalise("GET", uri).map(|r| r.path().to_owned())
    }

    #[test]
    fn plain_paths_pass_unchanged_and_unallocated() {
        for uri in [
            "/",
            "/api/v2/accounts/1/runs/",
            "/a/b",
            "/a-b/c_d/e.f/~g/h:i@j/k!$&'()*+,=",
        ] {
            let r = normalise("GET", uri).unwrap();
            assert_eq!(r.path(), uri);
            assert!(matches!(r.path, Cow::Borrowed(_)), "{uri}");
        }
        let r = normalise("POST", "/api/v2/accounts/1/runs/?project_id=1&limit=5").unwrap();
        assert_eq!(
            (r.method(), r.path(), r.query()),
            ("POST", "/api/v2/accounts/1/runs/", "project_id=1&limit=5")
        );
        assert!(matches!(r.path, Cow::Borrowed(_)));
        assert!(matches!(
            r.query_value("project_id"),
            Some(Cow::Borrowed("1"))
        ));
    }

    #[test]
    fn unreserved_escapes_are_decoded_and_the_others_kept_in_upper_case() {
        for (uri, want) in [
            ("/%41%42c", "/ABc"),
            ("/project%5Fid/%7e/%2D", "/project_id/~/-"),
            ("/runs/5/manifest%2ejson", "/runs/5/manifest.json"),
            ("/a%20b/%c3%a9", "/a%20b/%C3%A9"),
            ("/a%3Fb%3a", "/a%3Fb%3A"),
            ("/%31%32/", "/12/"),
        ] {
            assert_eq!(path(uri).as_deref(), Ok(want), "{uri}");
        }
    }

    #[test]
    fn what_upstreams_read_differently_is_refused() {
        use Refusal::*;
        for (uri, why) in [
            ("/a/./b", DotSegment),
            ("/a/../b", DotSegment),
            ("/a/..", DotSegment),
            ("/..", DotSegment),
            ("/a/%2e%2e/b", DotSegment),
            ("/a/%2E./b", DotSegment),
            ("/a/.%2e", DotSegment),
            ("/a/%2e/b", DotSegment),
            ("/a/..;/b", PathParameter),
            ("/a;jsessionid=1/b", PathParameter),
            ("/a/%3B/b", PathParameter),
            ("/a//b", EmptySegment),
            ("//a", EmptySegment),
            ("/a/b//", EmptySegment),
            ("/a\\..\\b", Backslash),
            ("/a%5c..%5cb", EncodedSeparator),
            ("/a%2Fb", EncodedSeparator),
            ("/a%2f..%2fb", EncodedSeparator),
            ("/a/%252e%252e/b", DoubleEncoding),
            ("/a%00b", EncodedControl),
            ("/a%0Ab", EncodedControl),
            ("/a%7f", EncodedControl),
            ("/a%zz", BadEscape),
            ("/a%4", BadEscape),
            ("/a%", BadEscape),
            ("/a#b", Fragment),
            ("/a?b#c", Fragment),
            ("/a b", Character),
            ("/a\"b", Character),
            ("/a<b>", Character),
            ("/a|b", Character),
            ("/a{b}", Character),
            ("/a[0]", Character),
            ("/é", Character),
            ("/a\tb", Character),
            ("http://host/a", NotAPath),
            ("a/b", NotAPath),
            ("*", NotAPath),
            ("", NotAPath),
        ] {
            assert_eq!(path(uri), Err(why), "{uri}");
        }
        assert_eq!(path(&format!("/{}", "a".repeat(MAX_URI_LEN))), Err(TooLong));
        assert!(path(&format!("/{}", "a".repeat(MAX_URI_LEN - 1))).is_ok());
    }

    #[test]
    fn methods_are_upper_case_tokens() {
        for ok in ["GET", "POST", "DELETE", "VERSION-CONTROL", "M_SEARCH"] {
            assert!(normalise(ok, "/").is_ok(), "{ok}");
        }
        for bad in [
            "",
            "get",
            "Get",
            "GET ",
            " GET",
            "G\u{e9}T",
            "GET,POST",
            &"A".repeat(33),
        ] {
            assert_eq!(normalise(bad, "/"), Err(Refusal::Method), "{bad:?}");
        }
    }

    #[test]
    fn ambiguous_queries_are_refused() {
        use Refusal::*;
        for (query, why) in [
            ("project_id=2&project_id=6", RepeatedParameter),
            ("project_id=2&project%5Fid=6", RepeatedParameter),
            ("project%5fid=6&project_id=2", RepeatedParameter),
            ("project_id=2&PROJECT_ID=6", RepeatedParameter),
            ("project_id=2&project.id=6", RepeatedParameter),
            ("project_id=2&project+id=6", RepeatedParameter),
            ("project_id=2&project%20id=6", RepeatedParameter),
            ("a=1&b=2&a", RepeatedParameter),
            ("a&a", RepeatedParameter),
            ("project_id=2;project_id=6", QuerySemicolon),
            ("project_id[]=6", Character),
            ("project_id%5B%5D=6", ParameterName),
            ("project_id%00=6", ParameterName),
            ("a=%zz", BadEscape),
            ("a=%", BadEscape),
            ("a=b c", Character),
            ("a=\"", Character),
        ] {
            let uri = format!("/x?{query}");
            assert_eq!(normalise("GET", &uri), Err(why), "{query}");
        }
        let many: Vec<String> = (0..=MAX_QUERY_PAIRS).map(|n| format!("k{n}=1")).collect();
        assert_eq!(
            normalise("GET", &format!("/x?{}", many.join("&"))),
            Err(TooManyParameters)
        );
        let enough = &many[..MAX_QUERY_PAIRS];
        assert!(normalise("GET", &format!("/x?{}", enough.join("&"))).is_ok());
    }

    /// PHP drops leading spaces from a parameter's name, so ` project_id` is `project_id` to it
    /// (found by the `forward_uri` fuzz target).
    #[test]
    fn a_leading_space_does_not_make_another_name() {
        for query in [
            "project_id=2&+project_id=6",
            "project_id=2&%20project_id=6",
            "project_id=2&++%20project.id=6",
            "+project_id=6&project_id=2",
        ] {
            let uri = format!("/x?{query}");
            assert_eq!(
                normalise("GET", &uri),
                Err(Refusal::RepeatedParameter),
                "{query}"
            );
        }
        // Spaces elsewhere in a name stay underscores, and a name may still start with `_`.
        assert!(normalise("GET", "/x?project_id=2&project_id_=6").is_ok());
        assert!(normalise("GET", "/x?project_id=2&_project_id=6").is_ok());
    }

    #[test]
    fn query_values_are_read_decoded_by_exact_decoded_name() {
        let r = normalise("GET", "/x?project%5Fid=%33&b=a+b%2Bc&flag&e=&q=%3F?/").unwrap();
        assert_eq!(r.query_value("project_id").as_deref(), Some("3"));
        assert_eq!(r.query_value("b").as_deref(), Some("a b+c"));
        assert_eq!(r.query_value("flag").as_deref(), Some(""));
        assert_eq!(r.query_value("e").as_deref(), Some(""));
        assert_eq!(r.query_value("q").as_deref(), Some("??/"));
        assert_eq!(r.query_value("PROJECT_ID"), None);
        assert_eq!(r.query_value("missing"), None);
        // Empty pairs are no pairs.
        let r = normalise("GET", "/x?&&project_id=4&").unwrap();
        assert_eq!(r.query_value("project_id").as_deref(), Some("4"));
        // A decoded value need not be UTF-8; it then reads as no number.
        let r = normalise("GET", "/x?project_id=%FF").unwrap();
        assert_eq!(r.query_value("project_id").as_deref(), Some("\u{fffd}"));
    }
}
