//! "A failed request changes nothing": a fingerprint of the database, and the test that it sees
//! every kind of write.

use latchkey_store::AuditQuery;
use latchkey_store::CredentialSource;

use super::fixture::fixture;
use super::routes::{valid_body, CREATE, IP_UPDATE, UPDATE};
use crate::common::App;

/// What a refused request must leave as it was. `last_used_at` is left out: the usage flusher
/// writes it after every authenticated request, refused or not.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Fingerprint {
    /// `table|rows|largest id` for every table, read behind the store's back.
    tables: Vec<String>,
    audit_entries: i64,
    feed_position: i64,
    tokens: Vec<String>,
    ip_rules: String,
}

pub(super) async fn fingerprint(app: &App) -> Fingerprint {
    let tokens = app
        .store
        .list_service_tokens(app.account, None)
        .await
        .unwrap()
        .iter()
        .map(|t| {
            format!(
                "{} {:?} {:?} {} {:?} {:?} {:?} {:?}",
                t.id,
                t.name,
                t.state,
                t.updated_at,
                t.expires_at,
                t.revoke_at,
                t.rotated_from,
                t.grants
            )
        })
        .collect();
    Fingerprint {
        tables: latchkey_test_postgres::inspect::table_fingerprint(&app.database_url).await,
        audit_entries: app.store.audit_count(&AuditQuery::default()).await.unwrap(),
        feed_position: app.store.latest_change().await.unwrap(),
        tokens,
        ip_rules: format!(
            "{:?}",
            app.store.ip_restrictions(app.account).await.unwrap()
        ),
    }
}

/// The tables of the app's database.
pub(super) async fn table_names(app: &App) -> Vec<String> {
    latchkey_test_postgres::inspect::tables(&app.database_url).await
}

#[tokio::test]
async fn the_fingerprint_sees_every_kind_of_write() {
    let fx = fixture().await;
    // A create adds rows; a rename adds an audit entry and changes a row in place.
    let writes = [
        (CREATE, valid_body(CREATE)),
        (UPDATE, r#"{"name": "renamed once"}"#),
        (IP_UPDATE, r#"{"description": "changed"}"#),
    ];
    for (route, body) in writes {
        let before = fingerprint(&fx.app).await;
        let (status, out) = fx
            .json(
                route,
                &fx.path(route.1),
                &serde_json::from_str(body).unwrap(),
            )
            .await;
        assert!(status < 300, "{} {} {body}: {out}", route.0, route.1);
        let after = fingerprint(&fx.app).await;
        assert_ne!(after, before, "{} {} {body}", route.0, route.1);
        assert_ne!(
            after.tables, before.tables,
            "{} {} {body}",
            route.0, route.1
        );
    }
}
