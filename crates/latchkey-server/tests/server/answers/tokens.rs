//! The successful calls of the service-token and personal-access-token rows.

use serde_json::json;

use super::calls::{at, call, get, request, Auth, Payload};
use super::exercise::{variant, Variant};
use super::world::{grants_body, pat_of, rich_token, rich_token_body, World, FAR, PASSWORD};
use crate::common::App;

/// The successful calls for a token row; `None` for a row of another area.
pub(super) async fn exercise(
    app: &App,
    w: &World,
    method: &str,
    path: &str,
) -> Option<Vec<Variant>> {
    let admin = w.admin.as_str();
    Some(match (method, path) {
        // Service tokens.
        ("GET", "/api/v3/accounts/{account_id}/service-tokens/") => vec![
            variant("all", get(app, at(app, "service-tokens/"), admin).await),
            variant(
                "a page",
                get(app, at(app, "service-tokens/?offset=1&limit=2"), admin).await,
            ),
        ],
        ("POST", "/api/v3/accounts/{account_id}/service-tokens/") => vec![
            variant(
                "every optional part",
                call(
                    app,
                    "POST",
                    &at(app, "service-tokens/"),
                    admin,
                    Some(rich_token_body(app, "made")),
                )
                .await,
            ),
            variant(
                "one grant, nothing else",
                call(
                    app,
                    "POST",
                    &at(app, "service-tokens/"),
                    admin,
                    Some(json!({"name": "bare", "permission_grants": [{"permission_set": "job_viewer"}]})),
                )
                .await,
            ),
        ],
        ("GET", "/api/v3/accounts/{account_id}/service-tokens/{id}/") => vec![variant(
            "the rich token",
            get(app, at(app, &format!("service-tokens/{}/", w.rich_id)), admin).await,
        )],
        ("DELETE", "/api/v3/accounts/{account_id}/service-tokens/{id}/") => {
            let (id, _) = rich_token(app, admin, "deleted").await;
            let p = at(app, &format!("service-tokens/{id}/"));
            vec![variant(
                "a token made for it",
                call(app, "DELETE", &p, admin, None).await,
            )]
        }
        ("POST" | "PUT", "/api/v3/accounts/{account_id}/service-tokens/{id}/") => {
            let (id, _) = rich_token(app, admin, "updated").await;
            let p = at(app, &format!("service-tokens/{id}/"));
            let body = json!({"name": "renamed", "allowed_cidrs": ["127.0.0.1/32"]});
            let renamed = call(app, method, &p, admin, Some(body)).await;
            let revoked = call(app, method, &p, admin, Some(json!({"state": 2}))).await;
            vec![
                variant("renamed, new allowlist", renamed),
                variant("revoked", revoked),
            ]
        }
        ("GET", "/api/v3/accounts/{account_id}/service-tokens/{id}/permissions/") => vec![variant(
            "the rich token's grants",
            get(app,
                at(app, &format!("service-tokens/{}/permissions/", w.rich_id)),
                admin,
            )
            .await,
        )],
        ("POST", "/api/v3/accounts/{account_id}/service-tokens/{id}/permissions/") => {
            let (id, _) = rich_token(app, admin, "regranted").await;
            let p = at(app, &format!("service-tokens/{id}/permissions/"));
            vec![variant(
                "one project and all projects",
                call(app, "POST", &p, admin, Some(grants_body(app))).await,
            )]
        }
        ("POST", "/api/v3/accounts/{account_id}/service-tokens/{id}/rotate/") => {
            let (id, _) = rich_token(app, admin, "to rotate").await;
            let p = at(app, &format!("service-tokens/{id}/rotate/"));
            vec![variant(
                "with an overlap",
                call(
                    app,
                    "POST",
                    &p,
                    admin,
                    Some(json!({"overlap_seconds": 600})),
                )
                .await,
            )]
        }

        // Personal access tokens (the user's own PAT, or their e-mail and password).
        ("GET", "/api/v3/accounts/{account_id}/personal-tokens/") => {
            let p = at(app, "personal-tokens/");
            let basic = request(
                app,
                "GET",
                &p,
                Auth::Basic(&w.email, PASSWORD),
                Payload::None,
                &[],
            )
            .await;
            vec![
                variant("with the PAT", get(app, p.clone(), &w.pat).await),
                variant("signed in", basic),
            ]
        }
        ("POST", "/api/v3/accounts/{account_id}/personal-tokens/") => {
            let p = at(app, "personal-tokens/");
            let auth = Auth::Basic(&w.email, PASSWORD);
            let rich = json!({"name": "desktop", "expires_at": FAR});
            vec![
                variant(
                    "with an expiry",
                    request(app, "POST", &p, auth, Payload::Json(rich), &[]).await,
                ),
                variant(
                    "a name only",
                    request(
                        app,
                        "POST",
                        &p,
                        auth,
                        Payload::Json(json!({"name": "x"})),
                        &[],
                    )
                    .await,
                ),
            ]
        }
        ("GET", "/api/v3/accounts/{account_id}/personal-tokens/{id}/") => vec![variant(
            "the member's PAT",
            get(app, at(app, &format!("personal-tokens/{}/", w.pat_id)), &w.pat).await,
        )],
        ("DELETE", "/api/v3/accounts/{account_id}/personal-tokens/{id}/") => {
            let (id, _) = pat_of(app, &w.email, "to delete").await;
            let p = at(app, &format!("personal-tokens/{id}/"));
            vec![variant(
                "a PAT made for it",
                call(app, "DELETE", &p, &w.pat, None).await,
            )]
        }
        _ => return None,
    })
}
