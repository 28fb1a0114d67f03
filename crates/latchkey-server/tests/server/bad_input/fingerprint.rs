//! "A failed request changes nothing": a fingerprint of the database, and the test that it sees
//! every kind of write.

use latchkey_store::AuditQuery;
use std::path::Path;

use super::fixture::fixture;
use super::routes::{valid_body, CREATE, IP_UPDATE, UPDATE};
use crate::common::App;

/// What a refused request must leave as it was. `last_used_at` is left out: the usage flusher
/// writes it after every authenticated request, refused or not.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Fingerprint {
    /// `table|rows|max rowid` for every table, from the file itself (`None` without `sqlite3`).
    tables: Option<Vec<String>>,
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
        tables: table_fingerprint(&app.dir.path().join("t.db")),
        audit_entries: app.store.audit_count(&AuditQuery::default()).await.unwrap(),
        feed_position: app.store.latest_change().await.unwrap(),
        tokens,
        ip_rules: format!(
            "{:?}",
            app.store.ip_restrictions(app.account).await.unwrap()
        ),
    }
}

/// Every table's name, row count and largest rowid, read from the file by the `sqlite3` shell
/// (read-only). `None` when no `sqlite3` is installed: latchkey-server's dev-dependencies do not
/// include sqlx, so the store-level half of [`Fingerprint`] is all that runs then.
pub(super) fn table_fingerprint(db: &Path) -> Option<Vec<String>> {
    let run = |sql: &str| -> Option<String> {
        let out = std::process::Command::new("sqlite3")
            .args(["-readonly", "-cmd", ".timeout 5000"])
            .arg(db)
            .arg(sql)
            .output()
            .ok()?;
        assert!(
            out.status.success(),
            "sqlite3 {sql}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Some(String::from_utf8(out.stdout).unwrap())
    };
    let names = run("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")?;
    let counts = names
        .lines()
        .map(|t| format!("SELECT '{t}', count(*), coalesce(max(rowid), 0) FROM \"{t}\""))
        .collect::<Vec<_>>()
        .join(" UNION ALL ");
    Some(run(&counts)?.lines().map(str::to_owned).collect())
}

/// The tables in the file, when `sqlite3` is installed.
pub(super) fn table_names(app: &App) -> Option<Vec<String>> {
    table_fingerprint(&app.dir.path().join("t.db")).map(|rows| {
        rows.iter()
            .map(|r| r.split('|').next().unwrap().to_owned())
            .collect()
    })
}

#[tokio::test]
async fn the_fingerprint_sees_every_kind_of_write() {
    let fx = fixture().await;
    let tables = table_fingerprint(&fx.app.dir.path().join("t.db"));
    eprintln!("table fingerprint: {tables:?}");
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
        if tables.is_some() {
            assert_ne!(
                after.tables, before.tables,
                "{} {} {body}",
                route.0, route.1
            );
        }
    }
}
