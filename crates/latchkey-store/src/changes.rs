//! The change feed: each command appends what it changed — one token, one project, one user, or
//! something account-wide — in its own transaction, so caches anywhere evict exactly that.

use crate::{Store, StoreError};
use latchkey_core::{AccountId, GroupId, ProjectId, TokenDigest, UserId};
use sqlx::{AnyConnection, Row};

/// What changed, and so what a cache must forget.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChangeKind {
    /// One token (created, re-granted, fenced, rotated or revoked): evict it.
    Token(TokenDigest),
    /// One project (added, renamed or deleted): forget its owner.
    Project(ProjectId),
    /// One user's seat, license or groups in the account: evict their personal tokens.
    User(UserId),
    /// Something that touches every token of the account (its plan, its IP rules): evict them
    /// all. A row of this kind with no account means "everything".
    Account,
}

impl ChangeKind {
    /// A change to the token with this digest (account-wide if the digest could not be read).
    pub(crate) fn token(digest: Option<TokenDigest>) -> ChangeKind {
        digest.map_or(ChangeKind::Account, ChangeKind::Token)
    }
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
}

/// Appends one change, inside the caller's transaction.
pub(crate) async fn append(
    conn: &mut AnyConnection,
    account_id: AccountId,
    kind: ChangeKind,
) -> Result<(), StoreError> {
    let (name, digest, project, user) = match kind {
        ChangeKind::Token(d) => ("token", Some(d.0.to_vec()), None, None),
        ChangeKind::Project(p) => ("project", None, Some(p.0), None),
        ChangeKind::User(u) => ("user", None, None, Some(u.0)),
        ChangeKind::Account => ("account", None, None, None),
    };
    sqlx::query(
        "INSERT INTO changes (kind, account_id, digest, project_id, user_id, created_at)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(name)
    .bind(account_id.0)
    .bind(digest)
    .bind(project)
    .bind(user)
    .bind(crate::db_time::db_time(crate::now()))
    .execute(&mut *conn)
    .await?;
    // PostgreSQL: the insert's trigger signals the listening nodes (migration 0003).
    Ok(())
}

/// A change to a group is a change to each of its members: appends one user change per member,
/// inside the caller's transaction (none for a group nobody is in: nothing cached holds it).
pub(crate) async fn append_group_members(
    conn: &mut AnyConnection,
    account_id: AccountId,
    group: GroupId,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO changes (kind, account_id, user_id, created_at)
         SELECT 'user', $1, user_id, $2 FROM group_members WHERE group_id = $3 ORDER BY user_id",
    )
    .bind(account_id.0)
    .bind(crate::db_time::db_time(crate::now()))
    .bind(group.0)
    .execute(&mut *conn)
    .await?;
    // PostgreSQL: the insert's trigger signals the listening nodes (migration 0003).
    Ok(())
}

/// How long change-feed rows are kept. A node reads the feed every poll (and on every
/// notification), so only a node that could not read it for this long would miss rows; its
/// cached entries are older than their bounded age by then, and are read afresh.
pub const FEED_RETENTION: time::Duration = time::Duration::hours(1);

impl Store {
    /// Deletes change-feed rows older than [`FEED_RETENTION`], keeping the newest (so the feed's
    /// position never goes back); returns how many. Any node may run it at any time: it checks
    /// nothing and removes only rows no node still needs, so it does not wait for the writers'
    /// turn.
    pub async fn prune_changes(&self) -> Result<u64, StoreError> {
        let before = crate::db_time::db_time(crate::now() - FEED_RETENTION);
        let mut tx = self.write_unordered().await?;
        let done = sqlx::query(
            "DELETE FROM changes WHERE created_at < $1
             AND seq < (SELECT MAX(seq) FROM changes)",
        )
        .bind(before)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(done.rows_affected())
    }

    /// The newest position in the feed (0 when empty).
    pub(crate) async fn feed_end(&self) -> Result<i64, StoreError> {
        let seq: Option<i64> = sqlx::query_scalar("SELECT MAX(seq) FROM changes")
            .fetch_one(&self.pool)
            .await?;
        Ok(seq.unwrap_or(0))
    }

    /// Changes after `seq`, oldest first, at most `limit`. A row naming nothing this version
    /// knows reads as account-wide, the safe side.
    pub(crate) async fn feed_after(&self, seq: i64, limit: i64) -> Result<Vec<Change>, StoreError> {
        let rows = sqlx::query(
            "SELECT seq, kind, account_id, digest, project_id, user_id FROM changes
             WHERE seq > $1 ORDER BY seq LIMIT $2",
        )
        .bind(seq)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|r| {
                let kind: String = r.try_get("kind")?;
                let digest: Option<Vec<u8>> = r.try_get("digest")?;
                let project: Option<i64> = r.try_get("project_id")?;
                let user: Option<i64> = r.try_get("user_id")?;
                let kind = match (kind.as_str(), digest, project, user) {
                    ("token", Some(d), _, _) => {
                        ChangeKind::token(<[u8; 32]>::try_from(d.as_slice()).ok().map(TokenDigest))
                    }
                    ("project", _, Some(p), _) => ChangeKind::Project(ProjectId(p)),
                    ("user", _, _, Some(u)) => ChangeKind::User(UserId(u)),
                    _ => ChangeKind::Account,
                };
                Ok(Change {
                    seq: r.try_get("seq")?,
                    kind,
                    account_id: r.try_get::<Option<i64>, _>("account_id")?.map(AccountId),
                })
            })
            .collect()
    }
}
