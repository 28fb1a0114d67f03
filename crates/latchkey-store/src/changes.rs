//! The change feed: each command appends what it changed, so caches anywhere can evict it.

use crate::{Store, StoreError};
use latchkey_core::{AccountId, TokenDigest};
use sqlx::{Row, SqliteConnection};

/// What changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChangeKind {
    /// One token (its digest is in the change): evict it.
    Token,
    /// Something account-wide (plan, project, user, group, membership): evict the account's entries.
    Account,
}

/// One change-feed entry.
#[derive(Clone, Debug)]
pub struct Change {
    /// Position in the feed (strictly increasing).
    pub seq: i64,
    /// What changed.
    pub kind: ChangeKind,
    /// The account concerned.
    pub account_id: Option<AccountId>,
    /// For token changes, the token's digest.
    pub digest: Option<TokenDigest>,
}

pub(crate) async fn append(
    conn: &mut SqliteConnection,
    kind: ChangeKind,
    account_id: Option<AccountId>,
    digest: Option<TokenDigest>,
) -> Result<(), StoreError> {
    let kind = match kind {
        ChangeKind::Token => "token",
        ChangeKind::Account => "account",
    };
    sqlx::query("INSERT INTO changes (kind, account_id, digest, created_at) VALUES (?, ?, ?, ?)")
        .bind(kind)
        .bind(account_id.map(|a| a.0))
        .bind(digest.map(|d| d.0.to_vec()))
        .bind(crate::now())
        .execute(conn)
        .await?;
    Ok(())
}

impl Store {
    /// The newest position in the feed (0 when empty).
    pub async fn latest_change(&self) -> Result<i64, StoreError> {
        let seq: Option<i64> = sqlx::query_scalar("SELECT MAX(seq) FROM changes")
            .fetch_one(&self.pool)
            .await?;
        Ok(seq.unwrap_or(0))
    }

    /// Changes after `seq`, oldest first, at most `limit`.
    pub async fn changes_since(&self, seq: i64, limit: i64) -> Result<Vec<Change>, StoreError> {
        let rows = sqlx::query(
            "SELECT seq, kind, account_id, digest FROM changes WHERE seq > ? ORDER BY seq LIMIT ?",
        )
        .bind(seq)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|r| {
                let kind: String = r.try_get("kind")?;
                let digest: Option<Vec<u8>> = r.try_get("digest")?;
                Ok(Change {
                    seq: r.try_get("seq")?,
                    kind: if kind == "token" {
                        ChangeKind::Token
                    } else {
                        ChangeKind::Account
                    },
                    account_id: r.try_get::<Option<i64>, _>("account_id")?.map(AccountId),
                    digest: digest
                        .and_then(|d| <[u8; 32]>::try_from(d.as_slice()).ok())
                        .map(TokenDigest),
                })
            })
            .collect()
    }
}
