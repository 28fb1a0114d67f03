//! Reading a request head for the express lane: strictly, and only the plain shape its clients
//! send. Anything else is declined and the connection goes to hyper, which answers it as it
//! answers every other request.

use std::ops::Range;

/// Longest head the lane reads; a longer one is hyper's to judge.
pub(crate) const MAX_HEAD: usize = 8 * 1024;

/// Most headers a head may have for the lane (hyper takes up to 100).
const MAX_HEADERS: usize = 32;

/// Most `X-Forwarded-For` headers the lane reads.
const MAX_FORWARDED: usize = 4;

/// The headers nginx and Traefik name the original request in, for forward auth (lower case).
pub(crate) const PROXY_HEADERS: [&str; 4] = [
    "x-original-method",
    "x-original-uri",
    "x-forwarded-method",
    "x-forwarded-uri",
];

/// A request's method, as far as the lane tells them apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Verb {
    /// `GET`.
    Get,
    /// `POST`.
    Post,
}

/// A request head the lane takes: where its parts are in the buffer it was read from.
#[derive(Debug)]
pub(crate) struct Head {
    /// The method.
    pub(crate) verb: Verb,
    /// The request target (a path: the lane takes no query string).
    pub(crate) path: Range<usize>,
    /// Bytes of the head, its blank line included: the body begins here.
    pub(crate) len: usize,
    /// The body's length (0 without `Content-Length`).
    pub(crate) content_length: usize,
    /// Whether a `Content-Length` was sent.
    pub(crate) has_content_length: bool,
    /// The `Authorization` value.
    pub(crate) authorization: Option<Range<usize>>,
    /// The `Content-Type` value.
    pub(crate) content_type: Option<Range<usize>>,
    /// The `X-Forwarded-For` values, in order (the first `forwarded_count`).
    pub(crate) forwarded: [Range<usize>; MAX_FORWARDED],
    /// How many of `forwarded` are set.
    pub(crate) forwarded_count: usize,
    /// The values of the headers a proxy names the original request in, by [`PROXY_HEADERS`].
    pub(crate) proxy: [Option<Range<usize>>; PROXY_HEADERS.len()],
    /// The client asked to close the connection after the answer (`Connection: close`).
    pub(crate) close: bool,
}

impl Head {
    /// The `X-Forwarded-For` values as text, read from `buf`.
    pub(crate) fn forwarded<'a, 'b>(
        &'a self,
        buf: &'b [u8],
    ) -> impl Iterator<Item = Option<&'b str>> + 'a
    where
        'b: 'a,
    {
        self.forwarded[..self.forwarded_count]
            .iter()
            .map(move |r| std::str::from_utf8(&buf[r.clone()]).ok())
    }
}

/// What a buffer holds.
#[derive(Debug)]
#[allow(
    clippy::large_enum_variant,
    reason = "returned once per request and kept on the stack; a box would allocate each time"
)]
pub(crate) enum Parsed {
    /// A whole head the lane takes.
    Head(Head),
    /// The beginning of a head; read more.
    Partial,
    /// A head, or bytes, the lane does not take.
    Decline,
}

/// Reads the head at the start of `buf`.
///
/// Declined: anything but HTTP/1.1 `GET` or `POST`; a target with a query string; a head over
/// [`MAX_HEAD`] or with more than [`MAX_HEADERS`] headers; `Transfer-Encoding`, `Expect` or
/// `Upgrade` (or `Connection: upgrade`); a `Content-Length` that is not plain digits or is sent
/// twice; `Authorization`, `Content-Type` or one of [`PROXY_HEADERS`] sent twice (the router
/// says what is wrong with it); any value the lane reads that is not
/// visible ASCII; more than [`MAX_FORWARDED`] `X-Forwarded-For` headers; and whatever httparse
/// finds malformed.
pub(crate) fn parse(buf: &[u8]) -> Parsed {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut request = httparse::Request::new(&mut headers);
    let len = match request.parse(buf) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) if buf.len() < MAX_HEAD => return Parsed::Partial,
        _ => return Parsed::Decline,
    };
    if len > MAX_HEAD || request.version != Some(1) {
        return Parsed::Decline;
    }
    let verb = match request.method {
        Some("GET") => Verb::Get,
        Some("POST") => Verb::Post,
        _ => return Parsed::Decline,
    };
    let Some(path) = request
        .path
        .filter(|p| p.starts_with('/') && !p.contains('?'))
    else {
        return Parsed::Decline;
    };
    let at = |part: &[u8]| {
        let start = part.as_ptr() as usize - buf.as_ptr() as usize;
        start..start + part.len()
    };
    let mut head = Head {
        verb,
        path: at(path.as_bytes()),
        len,
        content_length: 0,
        has_content_length: false,
        authorization: None,
        content_type: None,
        forwarded: std::array::from_fn(|_| 0..0),
        forwarded_count: 0,
        proxy: std::array::from_fn(|_| None),
        close: false,
    };
    for header in request.headers.iter() {
        let value = header.value;
        match Name::of(header.name) {
            Name::Other => {}
            Name::Refused => return Parsed::Decline,
            Name::ContentLength => {
                if head.has_content_length {
                    return Parsed::Decline;
                }
                match content_length(value) {
                    Some(n) => head.content_length = n,
                    None => return Parsed::Decline,
                }
                head.has_content_length = true;
            }
            name @ (Name::Authorization | Name::ContentType | Name::Proxy(_)) => {
                let read = match name {
                    Name::Authorization => &mut head.authorization,
                    Name::ContentType => &mut head.content_type,
                    Name::Proxy(i) => &mut head.proxy[i],
                    _ => return Parsed::Decline,
                };
                if read.is_some() || !visible(value) {
                    return Parsed::Decline;
                }
                *read = Some(at(value));
            }
            Name::Connection => {
                if !visible(value) {
                    return Parsed::Decline;
                }
                for option in value.split(|&b| b == b',').map(<[u8]>::trim_ascii) {
                    if option.eq_ignore_ascii_case(b"close") {
                        head.close = true;
                    } else if option.eq_ignore_ascii_case(b"upgrade") {
                        return Parsed::Decline;
                    }
                }
            }
            Name::ForwardedFor => {
                if head.forwarded_count == MAX_FORWARDED || !visible(value) {
                    return Parsed::Decline;
                }
                head.forwarded[head.forwarded_count] = at(value);
                head.forwarded_count += 1;
            }
        }
    }
    Parsed::Head(head)
}

/// The headers the lane reads or refuses, told apart by length first.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Name {
    ContentLength,
    Authorization,
    ContentType,
    Connection,
    ForwardedFor,
    /// One of [`PROXY_HEADERS`], by its place there.
    Proxy(usize),
    /// `Transfer-Encoding`, `Expect`, `Upgrade`: hyper's business.
    Refused,
    Other,
}

impl Name {
    fn of(name: &str) -> Name {
        let is = |n: &str| name.eq_ignore_ascii_case(n);
        match name.len() {
            14 if is("content-length") => Name::ContentLength,
            13 if is("authorization") => Name::Authorization,
            12 if is("content-type") => Name::ContentType,
            10 if is("connection") => Name::Connection,
            15 if is("x-forwarded-for") => Name::ForwardedFor,
            17 if is(PROXY_HEADERS[0]) => Name::Proxy(0),
            14 if is(PROXY_HEADERS[1]) => Name::Proxy(1),
            18 if is(PROXY_HEADERS[2]) => Name::Proxy(2),
            15 if is(PROXY_HEADERS[3]) => Name::Proxy(3),
            17 if is("transfer-encoding") => Name::Refused,
            6 if is("expect") => Name::Refused,
            7 if is("upgrade") => Name::Refused,
            _ => Name::Other,
        }
    }
}

/// Whether a header value is text as `http::HeaderValue::to_str` has it: visible ASCII, spaces
/// and tabs.
fn visible(value: &[u8]) -> bool {
    value
        .iter()
        .all(|&b| b == b'\t' || (0x20..0x7f).contains(&b))
}

/// A `Content-Length` of plain digits that fits comfortably.
fn content_length(value: &[u8]) -> Option<usize> {
    if value.is_empty() || value.len() > 12 {
        return None;
    }
    value.iter().try_fold(0usize, |n, &b| {
        let digit = b.is_ascii_digit().then(|| usize::from(b - b'0'))?;
        n.checked_mul(10)?.checked_add(digit)
    })
}

#[cfg(test)]
mod tests {
    use super::{parse, Parsed, Verb, MAX_HEAD};

    fn head(text: &str) -> super::Head {
        match parse(text.as_bytes()) {
            Parsed::Head(h) => h,
            other => panic!("{text:?}: {other:?}"),
        }
    }

    fn declined(text: &str) -> bool {
        matches!(parse(text.as_bytes()), Parsed::Decline)
    }

    #[test]
    fn a_plain_post_is_read_with_its_parts_where_they_are() {
        let text = "POST /api/v1/authorize HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer abc\r\n\
                    Content-Type: application/json\r\nContent-Length: 12\r\n\r\n{\"a\":1}";
        let h = head(text);
        assert_eq!(h.verb, Verb::Post);
        assert_eq!(&text[h.path.clone()], "/api/v1/authorize");
        assert_eq!(&text[h.authorization.clone().unwrap()], "Bearer abc");
        assert_eq!(&text[h.content_type.clone().unwrap()], "application/json");
        assert_eq!((h.content_length, h.has_content_length), (12, true));
        assert_eq!(&text[h.len..], "{\"a\":1}");
        assert!(!h.close);
    }

    #[test]
    fn the_headers_a_proxy_names_the_original_request_in_are_read_once() {
        let text = "GET /auth/forward HTTP/1.1\r\nX-Original-Method: GET\r\n\
                    x-original-uri: /api/v2/accounts/1/runs/\r\nX-Forwarded-Method: POST\r\n\
                    X-Forwarded-Uri: /x\r\n\r\n";
        let h = head(text);
        let values: Vec<_> = h.proxy.iter().map(|r| &text[r.clone().unwrap()]).collect();
        assert_eq!(values, ["GET", "/api/v2/accounts/1/runs/", "POST", "/x"]);
        assert!(declined(
            "GET /auth/forward HTTP/1.1\r\nX-Original-URI: /a\r\nX-Original-URI: /b\r\n\r\n"
        ));
    }

    #[test]
    fn connection_close_and_forwarded_hops_are_read() {
        let text = "GET /livez HTTP/1.1\r\nConnection: keep-alive, Close\r\n\
                    X-Forwarded-For: 1.2.3.4\r\nx-forwarded-for: 5.6.7.8, 9.9.9.9\r\n\r\n";
        let h = head(text);
        assert!(h.close);
        let hops: Vec<_> = h.forwarded(text.as_bytes()).collect();
        assert_eq!(hops, [Some("1.2.3.4"), Some("5.6.7.8, 9.9.9.9")]);
    }

    #[test]
    fn a_partial_head_asks_for_more_until_it_is_too_long() {
        assert!(matches!(parse(b"POST /api/v1/auth"), Parsed::Partial));
        assert!(matches!(parse(b""), Parsed::Partial));
        let long = format!("GET / HTTP/1.1\r\nX-Long: {}", "a".repeat(MAX_HEAD));
        assert!(declined(&long));
        let long = format!("GET / HTTP/1.1\r\nX-Long: {}\r\n\r\n", "a".repeat(MAX_HEAD));
        assert!(declined(&long));
    }

    #[test]
    fn anything_out_of_the_plain_shape_is_declined() {
        for text in [
            "GET /livez HTTP/1.0\r\n\r\n",
            "HEAD /livez HTTP/1.1\r\n\r\n",
            "DELETE /livez HTTP/1.1\r\n\r\n",
            "GET /livez?x=1 HTTP/1.1\r\n\r\n",
            "GET * HTTP/1.1\r\n\r\n",
            "POST /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
            "POST /a HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n",
            "GET /a HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
            "GET /a HTTP/1.1\r\nConnection: upgrade\r\n\r\n",
            "POST /a HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n",
            "POST /a HTTP/1.1\r\nContent-Length: +1\r\n\r\n",
            "POST /a HTTP/1.1\r\nContent-Length: 1 1\r\n\r\n",
            "POST /a HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n",
            "POST /a HTTP/1.1\r\nContent-Length: \r\n\r\n",
            "POST /a HTTP/1.1\r\nAuthorization: a\r\nAuthorization: b\r\n\r\n",
            "POST /a HTTP/1.1\r\nContent-Type: a\r\ncontent-type: b\r\n\r\n",
            "GET /a HTTP/1.1\r\nX-Forwarded-For: 1.1.1.1\r\nX-Forwarded-For: 1.1.1.1\r\n\
             X-Forwarded-For: 1.1.1.1\r\nX-Forwarded-For: 1.1.1.1\r\nX-Forwarded-For: 1.1.1.1\r\n\r\n",
            "GET /a HTTP/1.1\r\nBad Header: x\r\n\r\n",
        ] {
            assert!(declined(text), "{text:?}");
        }
        let headers: String = (0..40).map(|i| format!("X-{i}: y\r\n")).collect();
        let many = format!("GET /a HTTP/1.1\r\n{headers}\r\n");
        assert!(declined(&many));
    }

    #[test]
    fn values_the_lane_reads_must_be_visible_ascii() {
        let mut text = b"POST /a HTTP/1.1\r\nAuthorization: Bearer \xc3\xa9\r\n\r\n".to_vec();
        assert!(matches!(parse(&text), Parsed::Decline));
        // The same byte in a header the lane does not read is no business of the lane's.
        text = b"POST /a HTTP/1.1\r\nX-Name: \xc3\xa9\r\n\r\n".to_vec();
        assert!(matches!(parse(&text), Parsed::Head(_)));
    }
}
