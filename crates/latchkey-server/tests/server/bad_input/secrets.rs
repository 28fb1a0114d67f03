//! Secrets: a token's secret never lands in the database file.

use latchkey_core::token::{SECRET_LEN, UID_LEN};
use reqwest::Method;
use serde_json::json;

use super::fixture::fixture;
use super::routes::{CREATE, ROTATE};
use crate::common::eventually;

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[tokio::test]
async fn the_secret_never_lands_in_the_database_file() {
    let fx = fixture().await;
    let (status, out) = fx
        .json(
            CREATE,
            &fx.path(CREATE.1),
            &json!({"name": "ci", "permission_grants": [{"permission_set": "job_admin", "all_projects": true}]}),
        )
        .await;
    assert_eq!(status, 201, "{out}");
    let id = out["data"]["id"].as_i64().unwrap();
    let uid = out["data"]["uid"].as_str().unwrap().to_owned();
    let created = out["data"]["token_string"].as_str().unwrap().to_owned();
    let (status, out) = fx
        .json(
            ROTATE,
            &fx.path_with_id(ROTATE.1, &id.to_string()),
            &json!({"overlap_seconds": 600}),
        )
        .await;
    assert_eq!(status, 201, "{out}");
    let rotated = out["data"]["token_string"].as_str().unwrap().to_owned();
    let rotated_id = out["data"]["id"].as_i64().unwrap();
    // Use both, so that last_used_at is flushed too.
    for secret in [&created, &rotated] {
        let (status, out) = fx
            .app
            .call(Method::GET, "/api/v2/whoami/", Some(secret), None)
            .await;
        assert_eq!(status, 200, "{out}");
    }
    for id in [id, rotated_id] {
        eventually("both tokens' use being flushed", async || {
            let token = fx.app.store.service_token(latchkey_core::TokenId(id)).await;
            token.unwrap().unwrap().last_used_at.map(|_| ())
        })
        .await;
    }

    // SQLite: the files as they lie on disk (free pages and the log included); PostgreSQL:
    // every row of every table, text as text and bytes as bytes.
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    match crate::BACKEND {
        latchkey_store::Backend::Sqlite => {
            for name in ["t.db", "t.db-wal", "t.db-shm"] {
                if let Ok(bytes) = std::fs::read(fx.app.dir.path().join(name)) {
                    files.push((name.to_owned(), bytes));
                }
            }
        }
        latchkey_store::Backend::Postgres => {
            for (table, text) in latchkey_test_postgres::every_row(&fx.app.database_url).await {
                files.push((table, text.into_bytes()));
            }
        }
    }
    let everything: Vec<u8> = files.iter().flat_map(|(_, b)| b.clone()).collect();
    // The search works: the public uid is in the file.
    assert!(contains(&everything, uid.as_bytes()), "uid {uid} not found");
    for secret in [&created, &rotated] {
        let (_, body) = secret.split_once('_').unwrap();
        let secret_part = &body[UID_LEN..][..SECRET_LEN];
        assert_eq!(secret_part.len(), 43);
        for (name, bytes) in &files {
            assert!(
                !contains(bytes, secret.as_bytes()),
                "the whole token is in {name}"
            );
            assert!(
                !contains(bytes, secret_part.as_bytes()),
                "the token's 43-character secret is in {name}"
            );
        }
    }
}
