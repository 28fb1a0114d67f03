//! What every store test shares: a store on a new database of the suite's backend (a SQLite file
//! in a temporary directory, or a new database in the throwaway PostgreSQL cluster), grants from
//! their text, a service token minted as a given minter, and the audit-log and change-feed counts
//! that show whether a command wrote anything.

use latchkey_core::{AccountId, Grant, Minter, TokenFormat, TokenKind};
use latchkey_store::CredentialSource;
use latchkey_store::{Actor, AuditQuery, Backend, NewServiceToken, Store, StoreError};

/// A store and where its database lives.
pub struct Db {
    /// The store.
    pub store: Store,
    /// Its database URL.
    pub url: String,
    /// The temporary directory (SQLite: holding `store.db` and its lock file; removed when
    /// dropped).
    pub dir: tempfile::TempDir,
}

/// A store on a new empty database of the suite's backend ([`crate::BACKEND`]).
pub async fn open() -> Db {
    let dir = tempfile::tempdir().unwrap();
    let url = new_database(&dir);
    let store = Store::open(&url).await.unwrap();
    Db { store, url, dir }
}

/// The URL of a new empty database of the suite's backend: `store.db` in `dir`, or a new
/// database in the test process's PostgreSQL cluster. Without PostgreSQL (and without
/// `LATCHKEY_REQUIRE_PG=1`), the PostgreSQL suite says so and ends here, passing.
pub fn new_database(dir: &tempfile::TempDir) -> String {
    match crate::BACKEND {
        Backend::Sqlite => format!("sqlite://{}/store.db", dir.path().display()),
        Backend::Postgres => latchkey_test_postgres::database_or_skip(),
    }
}

/// Everything the database keeps, as text to search for secrets: SQLite's files as they lie on
/// disk (free pages and the write-ahead log included), or every row of every PostgreSQL table.
pub async fn everything_stored(db: &Db) -> Vec<(String, String)> {
    match crate::BACKEND {
        Backend::Sqlite => ["store.db", "store.db-wal"]
            .into_iter()
            .filter_map(|name| {
                let bytes = std::fs::read(db.dir.path().join(name)).ok()?;
                Some((
                    name.to_owned(),
                    String::from_utf8_lossy(&bytes).into_owned(),
                ))
            })
            .collect(),
        Backend::Postgres => latchkey_test_postgres::every_row(&db.url).await,
    }
}

/// A grant from its text (`SET:all` or `SET:project=ID`).
pub fn grant(spec: &str) -> Grant {
    spec.parse().unwrap()
}

/// Creates a service token named `t` with `grants` as `minter`, passing refusals back; the
/// token and its new secret.
pub async fn mint(
    store: &Store,
    minter: Minter<'_>,
    account: AccountId,
    grants: &[Grant],
) -> Result<(latchkey_store::ServiceToken, latchkey_core::NewToken), StoreError> {
    let new = TokenFormat::default().generate(TokenKind::Service);
    let token = store
        .create_service_token(
            &Actor::operator(),
            minter,
            &NewServiceToken {
                account_id: account,
                name: "t",
                grants,
                expires_at: None,
                allowed_cidrs: &[],
                uid: &new.uid,
                digest: new.digest,
                hint: &new.hint,
            },
        )
        .await?;
    Ok((token, new))
}

/// The audit log's size and the change feed's latest position.
pub async fn counts(store: &Store) -> (usize, i64) {
    let audit = store
        .audit_entries(&AuditQuery {
            limit: 10_000,
            ..Default::default()
        })
        .await
        .unwrap()
        .len();
    (audit, store.latest_change().await.unwrap())
}
