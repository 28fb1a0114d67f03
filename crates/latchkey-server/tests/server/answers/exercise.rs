//! One successful call (or several variants) per row of the route table: the rows that belong to
//! no area of their own here, and the dispatch to the areas that do.

use serde_json::json;

use super::calls::{at, get, request, Answer, Auth, Payload};
use super::decisions::{authorize_variants, introspect_variants};
use super::world::{rich_token, World};
use super::{directory, ip_restrictions, tokens};
use crate::common::App;

/// A labelled answer to validate.
pub(super) type Variant = (String, Answer);

pub(super) fn variant(label: &str, answer: Answer) -> Variant {
    (label.to_owned(), answer)
}

/// The successful calls for a row, in as many variants as make its answer differ; `None` for a
/// row this suite does not know (it then fails, naming it).
pub(super) async fn exercise(
    app: &App,
    w: &World,
    method: &str,
    path: &str,
) -> Option<Vec<Variant>> {
    if let Some(variants) = tokens::exercise(app, w, method, path).await {
        return Some(variants);
    }
    if let Some(variants) = directory::exercise(app, w, method, path).await {
        return Some(variants);
    }
    if let Some(variants) = ip_restrictions::exercise(app, w, method, path).await {
        return Some(variants);
    }
    let admin = w.admin.as_str();
    Some(match (method, path) {
        ("GET", "/healthz" | "/livez" | "/readyz") => vec![variant(
            "probe",
            request(app, "GET", path, Auth::None, Payload::None, &[]).await,
        )],
        ("POST", "/api/v1/authorize") => authorize_variants(app, w).await,
        ("POST", "/oauth/introspect") => introspect_variants(app, w).await,
        ("POST", "/api/v1/credentials/revoke") => {
            let (_, leaked) = rich_token(app, admin, "leaked").await;
            let body = json!({"credentials": [leaked, "lksvc_not_a_real_one", "garbage"]});
            vec![variant(
                "a real, a fake and a garbled credential",
                request(app, "POST", path, Auth::None, Payload::Json(body), &[]).await,
            )]
        }
        ("GET", "/api/v2/whoami/") => vec![
            variant("service token", get(app, path.into(), admin).await),
            variant("personal access token", get(app, path.into(), &w.pat).await),
        ],
        ("GET", "/api/v2/constants/") => {
            vec![variant("constants", get(app, path.into(), admin).await)]
        }
        ("GET", "/api/v2/accounts/" | "/api/v3/accounts/") => vec![
            variant("service token", get(app, path.into(), admin).await),
            variant("personal access token", get(app, path.into(), &w.pat).await),
        ],

        ("GET", "/api/v3/accounts/{account_id}/audit-logs/") => vec![
            variant(
                "all",
                get(app, at(app, "audit-logs/?limit=1000"), admin).await,
            ),
            variant(
                "filtered",
                get(
                    app,
                    at(app, "audit-logs/?event_type=service_token.created&limit=3"),
                    admin,
                )
                .await,
            ),
        ],

        _ => return None,
    })
}
