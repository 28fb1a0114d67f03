//! The express lane: the requests other services send on every request of their own
//! (`POST /api/v1/authorize`, forward auth's `GET`/`POST /auth/forward`, and the probes
//! `GET /livez` and `GET /healthz`) answered straight off the connection, without the router's
//! per-request machinery (a request object, header maps, boxed middleware, the body as a
//! stream).
//!
//! It is a lane, not a second server: a connection begins in it, and the first request it does
//! not take (`head::parse` declines anything but plain HTTP/1.1 `GET`/`POST` with a
//! `Content-Length`; any other route, or a body over [`MAX_BODY`], is not its business either)
//! hands the connection, with every byte already read, to hyper and the router for good. What
//! it takes it answers as the router would, with the same parts in the same order: the rows
//! the route table ([`crate::routes::table`]) marks for the lane, each with its requirement
//! and its one guard
//! (`routes::guard::check`, as soon as the head is in), the same body reader
//! (`extract::json_from_bytes`) and the same handlers (`routes::authorize::respond`,
//! `routes::forward::respond`); `tests/server/express.rs` holds each answer to the router's,
//! byte for byte but the date. The connection's timeouts, cap and graceful stop are
//! [`crate::connections`]'s, as for every connection.

pub(crate) mod answer;
pub(crate) mod head;

use crate::error::ApiError;
use crate::extract::ClientIp;
use crate::routes::caller::Caller;
use crate::routes::guard::{Admitted, Presented, RowGuard};
use crate::routes::spec::{Lane, Requirement, RouteSpec};
use crate::state::AppState;
use answer::Headers;
use axum::body::Bytes;
use axum::http::{Method, StatusCode};
use axum::response::IntoResponse;
use bytes::BytesMut;
use head::{Head, Parsed, Verb};
use latchkey_core::Cidr;
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// The longest body the lane reads. It reads the body of a refused request too, to keep the
/// connection in step, so what an anonymous connection can make it hold is kept small: a head
/// of at most 8 KiB and this. A batch of 100 checks fits; a longer body goes to
/// the router.
pub const MAX_BODY: usize = 16 * 1024;

/// A route the lane takes, with its row's guard.
#[derive(Clone, Copy)]
struct Route {
    verb: Verb,
    path: &'static str,
    handler: Lane,
    guard: RowGuard,
}

/// The lane, for the connections of one listener.
#[derive(Clone)]
pub struct Express {
    state: AppState,
    routes: Arc<[Route]>,
    body_limit: usize,
}

/// How a connection left the lane.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum LaneEnd {
    /// It closed, or is to be closed.
    Closed,
    /// A request the lane does not take is at the front of the buffer: hyper's from here.
    HandOver,
}

impl Express {
    /// The lane over `state`: the route table's rows that say how the lane answers them
    /// ([`crate::routes::row::Row::in_lane`]), each while its requirement is one the lane
    /// enforces through the one guard (a probe: none; otherwise a token, without path
    /// parameters or a session) and its method one the lane reads.
    pub fn new(state: AppState) -> Express {
        let routes = crate::routes::table::table()
            .iter()
            .filter_map(|row| lane_route(&row.spec))
            .collect();
        let body_limit = state.verifier.config().body_limit.min(MAX_BODY);
        Express {
            state,
            routes,
            body_limit,
        }
    }

    /// The lane's route for a head, if it takes it.
    fn route(&self, head: &Head, buf: &[u8]) -> Option<Route> {
        let path = &buf[head.path.clone()];
        let route = self
            .routes
            .iter()
            .find(|r| r.verb == head.verb && r.path.as_bytes() == path)?;
        let body_fits = match route.handler {
            Lane::Probe => head.content_length == 0,
            Lane::Authorize => head.has_content_length && head.content_length <= self.body_limit,
            Lane::Forward => head.content_length <= self.body_limit,
        };
        body_fits.then_some(*route)
    }

    /// Serves requests from `io` (whose bytes already read are in `buf`) until the connection
    /// closes or a request the lane does not take arrives, which is left at the front of `buf`.
    /// `begin` is called as each request's head is read and what it returns is dropped once the
    /// answer is written; with `finishing` set, the lane ends after the answer in hand.
    pub(crate) async fn serve<IO, G>(
        &self,
        io: &mut IO,
        buf: &mut BytesMut,
        peer: IpAddr,
        trusted: &[Cidr],
        begin: impl Fn() -> G,
        finishing: &AtomicBool,
    ) -> LaneEnd
    where
        IO: AsyncRead + AsyncWrite + Unpin,
    {
        let mut out = Vec::with_capacity(1024);
        loop {
            let head = loop {
                match head::parse(buf) {
                    Parsed::Head(head) => break head,
                    Parsed::Decline => return self.hand_over(),
                    Parsed::Partial => {
                        if finishing.load(Relaxed) {
                            return LaneEnd::Closed;
                        }
                        buf.reserve(4096);
                        match io.read_buf(buf).await {
                            Ok(0) | Err(_) => return LaneEnd::Closed,
                            Ok(_) => {}
                        }
                    }
                }
            };
            let Some(route) = self.route(&head, buf) else {
                return self.hand_over();
            };
            let handling = begin();
            let client = ClientIp::resolve_forwarded(Some(peer), head.forwarded(buf), trusted).0;
            // The guard first, as the router runs it: the caller is known (or refused) before
            // the body is read.
            let admitted = match route.handler {
                Lane::Probe => None,
                Lane::Authorize | Lane::Forward => {
                    Some(self.admit(route, &head, buf, client).await)
                }
            };
            let whole = head.len + head.content_length;
            while buf.len() < whole {
                buf.reserve(whole - buf.len());
                match io.read_buf(buf).await {
                    Ok(0) | Err(_) => return LaneEnd::Closed,
                    Ok(_) => {}
                }
            }
            let request = buf.split_to(whole).freeze();
            let close = head.close || finishing.load(Relaxed);
            out.clear();
            self.answer(route, &head, request, admitted, close, &mut out)
                .await;
            if io.write_all(&out).await.is_err() {
                return LaneEnd::Closed;
            }
            drop(handling);
            self.state.verifier.metrics().express_answered();
            if close {
                return LaneEnd::Closed;
            }
        }
    }

    /// Counts a connection handed to the router, and hands it over.
    fn hand_over(&self) -> LaneEnd {
        self.state.verifier.metrics().express_handed_over();
        LaneEnd::HandOver
    }

    /// Answers one request the lane took into `out`; `admitted`: what the row's guard said.
    async fn answer(
        &self,
        route: Route,
        head: &Head,
        request: Bytes,
        admitted: Option<Result<Caller, ApiError>>,
        close: bool,
        out: &mut Vec<u8>,
    ) {
        let mut body = Vec::with_capacity(512);
        let written = match (route.handler, admitted) {
            (Lane::Authorize, Some(caller)) => match self.authorize(caller, head, request).await {
                Ok(answer) => answer.write_json(&mut body),
                Err(e) => return write_response(e.into_response(), close, out).await,
            },
            (Lane::Forward, Some(caller)) => {
                let answer = match caller {
                    Ok(caller) => self.forward(&caller, head, &request).await,
                    Err(e) => Err(e),
                };
                let response = answer.unwrap_or_else(IntoResponse::into_response);
                return write_response(response, close, out).await;
            }
            _ => serde_json::to_writer(&mut body, &crate::routes::health::OK),
        };
        match written {
            Ok(()) => answer::write(out, StatusCode::OK, Headers::Json, &body, close),
            Err(e) => {
                let failed = ApiError::Internal(e.to_string()).into_response();
                write_response(failed, close, out).await;
            }
        }
    }

    /// The row's guard ([`crate::routes::guard::check`]) on what the head presents.
    async fn admit(
        &self,
        route: Route,
        head: &Head,
        buf: &[u8],
        client: Option<IpAddr>,
    ) -> Result<Caller, ApiError> {
        let presented = Presented {
            ip: client,
            authorization: text(buf, &head.authorization),
            path_account: None,
            path_project: None,
        };
        match crate::routes::guard::check(&self.state, route.guard, presented).await? {
            Admitted::Token(caller) => Ok(caller),
            // Not for a row the lane takes ([`Express::new`]).
            Admitted::User(_) => Err(ApiError::Unauthenticated),
        }
    }

    /// `POST /api/v1/authorize` once the guard has spoken: the handler, with the body as the
    /// router reads it.
    async fn authorize(
        &self,
        caller: Result<Caller, ApiError>,
        head: &Head,
        request: Bytes,
    ) -> Result<crate::routes::authorize::AuthorizeAnswer, ApiError> {
        let caller = caller?;
        let body = if crate::extract::is_json_content_type(text(&request, &head.content_type)) {
            crate::extract::json_from_bytes(request.slice(head.len..), None, b'{')
        } else {
            Err(ApiError::UnsupportedMediaType)
        };
        crate::routes::authorize::respond(&self.state, &caller, body).await
    }
}

impl Express {
    /// `/auth/forward` once the guard has let the caller in: the handler, with the original
    /// request read from the head as the router reads it from its header map.
    async fn forward(
        &self,
        caller: &Caller,
        head: &Head,
        request: &[u8],
    ) -> Result<axum::response::Response, ApiError> {
        let path = text(request, &Some(head.path.clone())).unwrap_or_default();
        let proxied = crate::routes::forward::Proxied {
            method: match head.verb {
                Verb::Get => "GET",
                Verb::Post => "POST",
            },
            path,
            target: path,
            header: |name: &axum::http::HeaderName| {
                let at = head::PROXY_HEADERS.iter().position(|h| *h == name.as_str());
                let value = at.and_then(|i| head.proxy[i].clone());
                // The head parser declines a repeated one or one that is not text.
                (value.map(|r| text(request, &Some(r))), false)
            },
        };
        crate::routes::forward::respond(&self.state, caller, &proxied).await
    }
}

/// The text of a header value the head parser found visible ASCII.
fn text<'b>(buf: &'b [u8], range: &Option<std::ops::Range<usize>>) -> Option<&'b str> {
    range
        .clone()
        .and_then(|r| std::str::from_utf8(&buf[r]).ok())
}

/// The lane's route for a row of the table, if the row asks for the lane and the lane can
/// serve it.
fn lane_route(spec: &RouteSpec) -> Option<Route> {
    let handler = spec.lane?;
    let verb = match spec.method {
        Method::GET => Verb::Get,
        Method::POST => Verb::Post,
        _ => return None,
    };
    let r = spec.requirement;
    let served = match handler {
        Lane::Probe => r == Requirement::Public,
        Lane::Authorize | Lane::Forward => {
            r != Requirement::Public && r != Requirement::User && !r.is_console() && !r.on_project()
        }
    };
    (served && !spec.path.contains('{')).then(|| Route {
        verb,
        path: spec.path,
        handler,
        guard: RowGuard::of(spec),
    })
}

/// Writes a response the router's parts made (an error in the envelope, forward auth's answer)
/// as hyper writes it.
async fn write_response(response: axum::response::Response, close: bool, out: &mut Vec<u8>) {
    let (parts, body) = response.into_parts();
    let body = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    answer::write(
        out,
        parts.status,
        Headers::Map(&parts.headers),
        &body,
        close,
    );
}

#[cfg(test)]
mod tests {
    use super::lane_route;

    /// A row the table puts in the lane is served there: marking one the lane cannot serve
    /// would only send it to the router, so it is refused here instead.
    #[test]
    fn every_row_marked_for_the_lane_is_taken_by_it() {
        let marked: Vec<_> = crate::routes::table::table()
            .into_iter()
            .filter(|row| row.spec.lane.is_some())
            .collect();
        assert_eq!(
            marked.len(),
            5,
            "healthz, livez, authorize, forward GET and POST"
        );
        for row in marked {
            assert!(
                lane_route(&row.spec).is_some(),
                "{} {}",
                row.spec.method,
                row.spec.path
            );
        }
    }
}
