//! Writing the express lane's answers as HTTP/1.1, header for header as hyper writes the
//! router's: the response's own headers, then `content-length`, `connection: close` when the
//! connection ends with it, and `date`.

use axum::http::{HeaderMap, StatusCode};
use std::cell::RefCell;
use std::io::Write;
use std::time::{SystemTime, UNIX_EPOCH};

/// Writes an answer with `status`, the `headers` given and `body` into `out`.
pub(crate) fn write(
    out: &mut Vec<u8>,
    status: StatusCode,
    headers: Headers<'_>,
    body: &[u8],
    close: bool,
) {
    out.extend_from_slice(b"HTTP/1.1 ");
    out.extend_from_slice(status.as_str().as_bytes());
    out.push(b' ');
    out.extend_from_slice(status.canonical_reason().unwrap_or("").as_bytes());
    out.extend_from_slice(b"\r\n");
    match headers {
        Headers::Json => out.extend_from_slice(b"content-type: application/json\r\n"),
        Headers::Map(map) => {
            for (name, value) in map {
                out.extend_from_slice(name.as_str().as_bytes());
                out.extend_from_slice(b": ");
                out.extend_from_slice(value.as_bytes());
                out.extend_from_slice(b"\r\n");
            }
        }
    }
    // Writing into a Vec cannot fail.
    let _ = write!(out, "content-length: {}\r\n", body.len());
    if close {
        out.extend_from_slice(b"connection: close\r\n");
    }
    out.extend_from_slice(b"date: ");
    with_date(|date| out.extend_from_slice(date));
    out.extend_from_slice(b"\r\n\r\n");
    out.extend_from_slice(body);
}

/// The headers of an answer, before `content-length`.
pub(crate) enum Headers<'a> {
    /// `content-type: application/json` alone, as `axum::Json` sets it.
    Json,
    /// A response's own.
    Map(&'a HeaderMap),
}

thread_local! {
    /// The `date` value, written once a second per thread.
    static DATE: RefCell<(u64, Vec<u8>)> = const { RefCell::new((u64::MAX, Vec::new())) };
}

/// Calls `f` with the current `date` header value (IMF-fixdate, to the second).
fn with_date(f: impl FnOnce(&[u8])) {
    let now = SystemTime::now();
    let secs = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    DATE.with(|date| {
        let mut date = date.borrow_mut();
        if date.0 != secs {
            date.1.clear();
            let _ = write!(date.1, "{}", httpdate::HttpDate::from(now));
            date.0 = secs;
        }
        f(&date.1);
    });
}

#[cfg(test)]
mod tests {
    use super::{write, Headers};
    use axum::http::{HeaderMap, HeaderValue, StatusCode};

    fn text(out: &[u8]) -> String {
        String::from_utf8(out.to_vec()).unwrap()
    }

    #[test]
    fn a_json_answer_is_written_as_hyper_writes_it() {
        let mut out = Vec::new();
        write(
            &mut out,
            StatusCode::OK,
            Headers::Json,
            br#"{"status":"ok"}"#,
            false,
        );
        let out = text(&out);
        let (head, body) = out.split_once("\r\n\r\n").unwrap();
        let lines: Vec<&str> = head.split("\r\n").collect();
        assert_eq!(
            lines[..3],
            [
                "HTTP/1.1 200 OK",
                "content-type: application/json",
                "content-length: 15"
            ]
        );
        assert!(
            lines[3].starts_with("date: ") && lines[3].ends_with(" GMT"),
            "{}",
            lines[3]
        );
        assert_eq!(lines[3].len(), "date: Wed, 02 Dec 2026 08:03:56 GMT".len());
        assert_eq!(body, r#"{"status":"ok"}"#);
    }

    #[test]
    fn a_response_s_own_headers_come_first_and_close_is_said() {
        let mut headers = HeaderMap::new();
        headers.insert("content-type", HeaderValue::from_static("application/json"));
        headers.insert("www-authenticate", HeaderValue::from_static("Bearer"));
        let mut out = Vec::new();
        write(
            &mut out,
            StatusCode::UNAUTHORIZED,
            Headers::Map(&headers),
            b"{}",
            true,
        );
        let out = text(&out);
        let lines: Vec<&str> = out.split("\r\n").collect();
        assert_eq!(
            lines[..5],
            [
                "HTTP/1.1 401 Unauthorized",
                "content-type: application/json",
                "www-authenticate: Bearer",
                "content-length: 2",
                "connection: close"
            ]
        );
        assert!(out.ends_with("\r\n\r\n{}"));
    }
}
