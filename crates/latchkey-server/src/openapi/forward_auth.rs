//! Forward auth as the document tells it, for the proxy the server was started for: the headers
//! it reads the original request from, and what its rows do.

use crate::config::ForwardAuthHeaders;

/// A header forward auth reads the original request from: name, what it holds, an example.
type ForwardHeader = (&'static str, &'static str, &'static str);

/// The headers a forward-auth row without a path reads the original request from, for the proxy
/// the server was started for. None for Envoy (the path holds it) and none while forward auth is
/// off.
pub(super) fn forward_headers(forward: Option<ForwardAuthHeaders>) -> &'static [ForwardHeader] {
    const METHOD: &str = "GET";
    const URI: &str = "/api/v2/accounts/1/runs/?project_id=1";
    match forward {
        Some(ForwardAuthHeaders::Nginx) => &[
            ("X-Original-Method", "method", METHOD),
            ("X-Original-URI", "path and query", URI),
        ],
        Some(ForwardAuthHeaders::Traefik) => &[
            ("X-Forwarded-Method", "method", METHOD),
            ("X-Forwarded-Uri", "path and query", URI),
        ],
        Some(ForwardAuthHeaders::Envoy) | None => &[],
    }
}

/// What a forward-auth row does on a server started for `forward`, said in its description.
pub(super) fn forward_text(
    path: &str,
    forward: Option<ForwardAuthHeaders>,
) -> Option<&'static str> {
    let bare = path == "/auth/forward";
    Some(match forward {
        None => "Forward auth is off on this server (started without `--forward-auth-headers`): \
                 the answer is 501.",
        Some(ForwardAuthHeaders::Envoy) if bare => {
            "This server reads the original request from the path (`--forward-auth-headers \
             envoy`): without one the answer is 400."
        }
        Some(ForwardAuthHeaders::Envoy) => {
            "This server reads the original request from the path after `/auth/forward` \
             (`--forward-auth-headers envoy`)."
        }
        Some(_) if bare => {
            "This server reads the original request from the headers below (`--forward-auth-headers`)."
        }
        Some(_) => "Envoy's path: this server reads the original request from headers, so the \
                    answer is 404.",
    })
    .filter(|_| path.starts_with("/auth/forward"))
}
