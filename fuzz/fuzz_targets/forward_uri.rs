//! The forward-auth URI normaliser on arbitrary request lines (`METHOD URI`, or a bare URI read
//! as a `GET`). Normalising never panics, and what it accepts is what its docs promise:
//! - the method is the one given, an upper-case token of 1–32 bytes;
//! - the path is already normal: normalising the accepted request again gives it back unchanged,
//!   a path without `%` is the input's own, and spelling its unreserved characters as escapes
//!   (upper- or lower-case hex) reads as the same path;
//! - the path holds only path characters and well-formed escapes in upper case, none of them an
//!   unreserved character, `/`, `\`, `%`, `;` or a control; even decoded once more (as an
//!   upstream that decodes before routing would) it has no dot segment, no empty segment but a
//!   trailing `/`, no `\`, no `;` and no control character;
//! - the query is the one sent, with at most 100 pairs, no `;`, `#` or malformed escape, no two
//!   keys the same however spelled (decoded, ASCII case, `.`/space as `_`, leading spaces
//!   dropped), and every pair's value is what `query_value` reads for its decoded key; adding a
//!   pair whose key is another spelling of one already there (escaped, other case, `.` or `+` for
//!   `_`, a leading space) is refused.

#![no_main]

use latchkey_core::forward_uri::{normalise, Refusal, MAX_QUERY_PAIRS, MAX_URI_LEN};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(line) = std::str::from_utf8(data) else {
        return;
    };
    let (method, uri) = line.split_once(' ').unwrap_or(("GET", line));
    let Ok(request) = normalise(method, uri) else {
        return;
    };

    // The method.
    assert_eq!(request.method(), method);
    assert!((1..=32).contains(&method.len()));
    assert!(method
        .bytes()
        .all(|b| b.is_ascii_uppercase() || b == b'-' || b == b'_'));

    // Already normal: normalising the result gives the same request.
    let (sent_path, sent_query) = uri.split_once('?').unwrap_or((uri, ""));
    let path = request.path();
    let query = request.query();
    assert_eq!(query, sent_query);
    let rebuilt = if query.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{query}")
    };
    assert_eq!(
        normalise(method, &rebuilt).as_ref(),
        Ok(&request),
        "{uri:?} → {rebuilt:?}"
    );
    if !sent_path.contains('%') {
        assert_eq!(path, sent_path);
    }
    assert!(path.len() <= sent_path.len());

    // The path's characters and escapes.
    let bytes = path.as_bytes();
    assert_eq!(bytes.first(), Some(&b'/'));
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let (hi, lo) = (bytes[i + 1], bytes[i + 2]);
            assert!(upper_hex(hi) && upper_hex(lo), "{path:?}");
            let v = escaped(hi, lo);
            assert!(
                !unreserved(v) && !matches!(v, b'/' | b'\\' | b'%' | b';') && !control(v),
                "{path:?} keeps %{}{}",
                char::from(hi),
                char::from(lo)
            );
            i += 3;
        } else {
            assert!(path_char(bytes[i]), "{path:?}");
            i += 1;
        }
    }

    // No dot segment, empty segment, `\`, `;` or control, even decoded once more; and nothing
    // left to decode a second time.
    let decoded = decode(bytes, false);
    assert!(!decoded.contains(&b'%'), "{path:?} decodes twice");
    for candidate in [bytes.to_vec(), decoded] {
        let segments: Vec<&[u8]> = candidate[1..].split(|&b| b == b'/').collect();
        for (n, segment) in segments.iter().enumerate() {
            assert!(
                !matches!(segment, [b'.'] | [b'.', b'.']),
                "{path:?} has a dot segment"
            );
            assert!(
                !segment.is_empty() || n == segments.len() - 1,
                "{path:?} has an empty segment"
            );
        }
        assert!(
            !candidate
                .iter()
                .any(|&b| b == b'\\' || b == b';' || control(b)),
            "{path:?}"
        );
    }

    // Spelling the path's unreserved characters as escapes changes nothing (the hex case picked
    // by the input, so that one normalisation a run covers both).
    {
        let hex = if data.len() % 2 == 0 {
            b"0123456789ABCDEF"
        } else {
            b"0123456789abcdef"
        };
        // Every other unreserved character, outside the escapes the path keeps.
        let mut spelled = String::with_capacity(3 * path.len());
        let (mut i, mut n) = (0, 0);
        while i < bytes.len() {
            let b = bytes[i];
            if b == b'%' {
                spelled.push_str(&path[i..i + 3]);
                i += 3;
                continue;
            }
            if unreserved(b) && n % 2 == 0 {
                spelled.push('%');
                spelled.push(char::from(hex[usize::from(b >> 4)]));
                spelled.push(char::from(hex[usize::from(b & 0xf)]));
            } else {
                spelled.push(char::from(b));
            }
            n += usize::from(unreserved(b));
            i += 1;
        }
        if !query.is_empty() {
            spelled.push('?');
            spelled.push_str(query);
        }
        if spelled.len() <= MAX_URI_LEN {
            let again = normalise(method, &spelled);
            assert_eq!(again.as_ref().map(|r| r.path()), Ok(path), "{spelled:?}");
        }
    }

    // The query: no `;` or `#`, well-formed escapes, at most 100 pairs, no key twice.
    assert!(!query.contains([';', '#']));
    let pairs: Vec<(&str, &str)> = query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| pair.split_once('=').unwrap_or((pair, "")))
        .collect();
    assert!(pairs.len() <= MAX_QUERY_PAIRS);
    let lenient: Vec<Vec<u8>> = pairs.iter().map(|(key, _)| lenient_key(key)).collect();
    for (n, key) in lenient.iter().enumerate() {
        assert!(!lenient[..n].contains(key), "{query:?} repeats {key:?}");
    }
    for (key, value) in &pairs {
        let name = decode(key.as_bytes(), true);
        assert!(!name.iter().any(|&b| b == b'[' || b == b']' || control(b)));
        if let Ok(name) = String::from_utf8(name) {
            let want = String::from_utf8_lossy(&decode(value.as_bytes(), true)).into_owned();
            assert_eq!(
                request.query_value(&name).as_deref(),
                Some(want.as_str()),
                "{query:?}[{name:?}]"
            );
        }
    }

    // Another spelling of a key already there (the input picks which), added as a second pair,
    // is refused.
    if !pairs.is_empty() {
        let name = decode(pairs[data.len() % pairs.len()].0.as_bytes(), true);
        for other in spellings(&name) {
            let uri = format!("{path}?{query}&{other}=1");
            let answer = normalise(method, &uri);
            assert!(
                matches!(
                    answer,
                    Err(Refusal::RepeatedParameter | Refusal::TooManyParameters | Refusal::TooLong)
                ),
                "{uri:?} gave {answer:?}, not RepeatedParameter"
            );
        }
    }
});

/// Other spellings of the key whose decoded bytes are `name`: every byte escaped (lower-case
/// hex), the ASCII case swapped, `_` written as `.`, `_` written as `+` (but not where only spaces
/// come before it: PHP drops leading spaces, so ` x` is `x` to it, not `_x`), and a leading space.
fn spellings(name: &[u8]) -> [String; 5] {
    let escaped = name.iter().map(|b| format!("%{b:02x}")).collect();
    let swapped = spell(name.iter().map(|&b| {
        if b.is_ascii_lowercase() {
            b.to_ascii_uppercase()
        } else {
            b.to_ascii_lowercase()
        }
    }));
    let dotted = spell(name.iter().map(|&b| if b == b'_' { b'.' } else { b }));
    let spaced = spell(name.iter().enumerate().map(|(i, &b)| {
        let leading = name[..i].iter().all(|&c| c == b' ');
        if b == b'_' && !leading {
            b' '
        } else {
            b
        }
    }));
    let indented = format!("+{}", spell(name.iter().copied()));
    [escaped, swapped, dotted, spaced, indented]
}

/// `bytes` as a query key: unreserved characters as they are, space as `+`, the others escaped.
fn spell(bytes: impl Iterator<Item = u8>) -> String {
    let mut out = String::new();
    for b in bytes {
        if unreserved(b) {
            out.push(char::from(b));
        } else if b == b' ' {
            out.push('+');
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The bytes of `s` with every escape decoded (and, in a query, `+` read as a space).
fn decode(s: &[u8], form: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        match s[i] {
            b'%' if i + 2 < s.len() => {
                out.push(escaped(s[i + 1], s[i + 2]));
                i += 3;
            }
            b'+' if form => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    out
}

/// A key as the most lenient parser reads it: decoded, leading spaces dropped, ASCII lower case,
/// `.` and space as `_`.
fn lenient_key(key: &str) -> Vec<u8> {
    decode(key.as_bytes(), true)
        .into_iter()
        .skip_while(|&b| b == b' ')
        .map(|b| match b {
            b'.' | b' ' => b'_',
            b => b.to_ascii_lowercase(),
        })
        .collect()
}

/// The byte `%HL` stands for (both digits already known to be hex).
fn escaped(hi: u8, lo: u8) -> u8 {
    let digit = |d: u8| char::from(d).to_digit(16).map_or(0, |v| v as u8);
    (digit(hi) << 4) | digit(lo)
}

fn upper_hex(b: u8) -> bool {
    b.is_ascii_digit() || (b'A'..=b'F').contains(&b)
}

fn control(b: u8) -> bool {
    b < 0x20 || b == 0x7f
}

/// RFC 3986 §2.3.
fn unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

/// RFC 3986's pchar and `/`, without `;` and `%` (escapes are checked apart).
fn path_char(b: u8) -> bool {
    unreserved(b) || b"!$&'()*+,=:@/".contains(&b)
}
