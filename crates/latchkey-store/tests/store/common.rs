//! What every store test shares: a store on a fresh SQLite file in a temporary directory, grants
//! from their text, a service token minted as a given minter, and the audit-log and change-feed
//! counts that show whether a command wrote anything.

use latchkey_core::{AccountId, Grant, Minter, TokenFormat, TokenKind};
use latchkey_store::{Actor, AuditQuery, NewServiceToken, Store, StoreError};

/// A store and the temporary directory its file lives in (removed when dropped).
pub struct Db {
    /// The store on `store.db`.
    pub store: Store,
    /// The directory holding `store.db` (and its lock file).
    pub dir: tempfile::TempDir,
}

/// A store on a new file, `store.db`, in a new temporary directory.
pub async fn open() -> Db {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&format!("sqlite://{}/store.db", dir.path().display()))
        .await
        .unwrap();
    Db { store, dir }
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
