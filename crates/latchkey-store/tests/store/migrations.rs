//! Migrations over databases as earlier releases left them: a user with seats in two accounts
//! becomes one user per account (migration 5), and stored times become fixed-width UTC
//! (migration 7).

use latchkey_store::Store;
use sqlx::sqlite::SqliteConnectOptions;
use std::str::FromStr;

/// A new database file as a release whose last migration was `version` left it: its directory
/// (kept alive by the caller), its URL, and a pool on it.
async fn database_at(version: i64) -> (tempfile::TempDir, String, sqlx::SqlitePool) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/old.db", dir.path().display());
    let options = SqliteConnectOptions::from_str(&url)
        .unwrap()
        .create_if_missing(true)
        .foreign_keys(true);
    let pool = sqlx::SqlitePool::connect_with(options).await.unwrap();
    let mut before = sqlx::migrate::Migrator::new(std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/migrations/sqlite"
    )))
    .await
    .unwrap();
    before.migrations = before
        .migrations
        .iter()
        .filter(|m| m.version <= version)
        .cloned()
        .collect::<Vec<_>>()
        .into();
    before.run(&pool).await.unwrap();
    (dir, url, pool)
}

/// A database as the previous release left it (migrations 1 to 4), with one global user who
/// held seats in two accounts, is split into one user per account by migration 5: the first
/// account keeps the id, and the second account's seat, group and PAT move to the new user.
#[tokio::test]
async fn a_user_with_seats_in_two_accounts_becomes_one_user_per_account() {
    let (_dir, url, pool) = database_at(4).await;
    let t = "2026-01-01T00:00:00Z";
    for sql in [
        format!("INSERT INTO accounts (id, name, plan, state, created_at, updated_at) VALUES (1, 'A', 'enterprise', 1, '{t}', '{t}'), (2, 'B', 'enterprise', 1, '{t}', '{t}')"),
        format!("INSERT INTO users (id, email, password_hash, state, created_at, updated_at) VALUES (7, 'both@example.com', 'hash', 1, '{t}', '{t}')"),
        format!("INSERT INTO memberships (account_id, user_id, license, state, created_at, updated_at) VALUES (1, 7, 'developer', 1, '{t}', '{t}'), (2, 7, 'read_only', 1, '{t}', '{t}')"),
        format!("INSERT INTO groups (id, account_id, name, state, created_at, updated_at) VALUES (1, 1, 'ga', 1, '{t}', '{t}'), (2, 2, 'gb', 1, '{t}', '{t}')"),
        "INSERT INTO group_members VALUES (1, 7), (2, 7)".to_owned(),
        format!("INSERT INTO personal_tokens (id, account_id, user_id, uid, name, token_digest, hint, created_at, updated_at) VALUES (1, 2, 7, 'uidpat1', 'p', x'00', 'h', '{t}', '{t}')"),
    ] {
        sqlx::query(&sql).execute(&pool).await.unwrap();
    }
    pool.close().await;

    let store = Store::open(&url).await.unwrap();
    drop(store);
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    let users: Vec<(i64, i64, String)> =
        sqlx::query_as("SELECT id, account_id, email FROM users ORDER BY id")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(users.len(), 2, "{users:?}");
    assert_eq!(users[0], (7, 1, "both@example.com".to_owned()));
    let (b_user, b_account, _) = users[1].clone();
    assert_eq!(b_account, 2);
    let seat: i64 = sqlx::query_scalar("SELECT user_id FROM memberships WHERE account_id = 2")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(seat, b_user);
    let grouped: Vec<(i64, i64)> =
        sqlx::query_as("SELECT group_id, user_id FROM group_members ORDER BY group_id")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(grouped, vec![(1, 7), (2, b_user)]);
    let pat_user: i64 = sqlx::query_scalar("SELECT user_id FROM personal_tokens WHERE id = 1")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(pat_user, b_user);
    let broken: Vec<(String,)> = sqlx::query_as("SELECT \"table\" FROM pragma_foreign_key_check")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert!(broken.is_empty(), "{broken:?}");
}

/// Times stored by earlier releases as RFC 3339 was written (a fraction only as long as needed,
/// a client's own offset) are rewritten by migration 7 into the one fixed-width UTC form, so
/// that the store's SQL compares them as instants; each keeps the instant it named.
#[tokio::test]
async fn stored_times_of_earlier_releases_become_fixed_width_utc() {
    use time::format_description::well_known::Rfc3339;
    let (_dir, url, pool) = database_at(6).await;
    let written = [
        "2026-01-01T00:00:00Z",
        "2026-01-01T00:00:00.5Z",
        "2026-01-01T00:00:00.55Z",
        "2026-11-30T16:47:00.123456789-12:00",
        "2030-01-01T00:00:00+05:00",
    ];
    sqlx::query(
        "INSERT INTO accounts (id, name, plan, state, created_at, updated_at)
         VALUES (1, 'A', 'enterprise', 1, ?, ?)",
    )
    .bind(written[0])
    .bind(written[1])
    .execute(&pool)
    .await
    .unwrap();
    for (id, (created, expires)) in [(written[2], written[3]), (written[0], written[4])]
        .into_iter()
        .enumerate()
    {
        sqlx::query(
            "INSERT INTO service_tokens (id, account_id, uid, name, token_digest, hint, state,
                                         created_at, updated_at, expires_at)
             VALUES (?, 1, ?, 't', ?, 'h', 1, ?, ?, ?)",
        )
        .bind(id as i64 + 1)
        .bind(format!("uid{id}"))
        .bind(vec![id as u8; 32])
        .bind(created)
        .bind(created)
        .bind(expires)
        .execute(&pool)
        .await
        .unwrap();
    }
    pool.close().await;

    let store = Store::open(&url).await.unwrap();
    drop(store);
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    let mut stored: Vec<String> = sqlx::query_scalar(
        "SELECT created_at FROM accounts UNION ALL SELECT updated_at FROM accounts",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let tokens: Vec<(String, String)> =
        sqlx::query_as("SELECT created_at, expires_at FROM service_tokens ORDER BY id")
            .fetch_all(&pool)
            .await
            .unwrap();
    for (created, expires) in tokens {
        stored.push(created);
        stored.push(expires);
    }
    assert_eq!(
        stored,
        [
            "2026-01-01T00:00:00.000000Z",
            "2026-01-01T00:00:00.500000Z",
            "2026-01-01T00:00:00.550000Z",
            "2026-12-01T04:47:00.123456Z",
            "2026-01-01T00:00:00.000000Z",
            "2029-12-31T19:00:00.000000Z",
        ]
    );
    for (before, after) in [
        (written[0], &stored[0]),
        (written[1], &stored[1]),
        (written[2], &stored[2]),
        (written[4], &stored[5]),
    ] {
        assert_eq!(
            time::OffsetDateTime::parse(before, &Rfc3339).unwrap(),
            time::OffsetDateTime::parse(after, &Rfc3339).unwrap()
        );
    }
}
