//! What the verifier reads and writes on its own: a credential by digest, compiled for decisions
//! (the cache-miss path), and the batched `last_used_at` flush.

use crate::accounts::read::fetch_membership;
use crate::ip_rules::network_policy;
use crate::records::*;
use crate::tokens::read::grants_of;
use crate::{Store, StoreError};
use latchkey_core::{
    AccountId, EffectivePermissions, Grant, NetworkPolicy, Plan, TokenDigest, TokenId, TokenKind,
    UserId,
};
use sqlx::Row;
use std::sync::atomic::Ordering;
use time::OffsetDateTime;

/// A service token by digest. Always exactly one row (all NULL for a digest no token has), so a
/// never-issued token and one that does not work (`alive` 0) take the same query and the same
/// decoding. Expiry is not decided here (stored times keep their offsets, so SQL cannot compare
/// them); see [`crate::CredentialSource::find_credential`].
const SERVICE_HEAD: &str = "
    SELECT t.id, t.account_id, CAST(NULL AS BIGINT) AS user_id,
           CASE WHEN t.state = 1 AND a.state = 1 THEN 1 ELSE 0 END AS alive,
           t.expires_at, t.revoke_at, t.allowed_cidrs, a.plan, a.ip_restrictions_enabled
    FROM (SELECT $1 AS digest) asked
    LEFT JOIN service_tokens t ON t.token_digest = asked.digest
    LEFT JOIN accounts a ON a.id = t.account_id";

/// A personal token by digest, like [`SERVICE_HEAD`] (the same columns); it is `alive` only
/// while its user holds an active seat in the account.
const PERSONAL_HEAD: &str = "
    SELECT t.id, t.account_id, t.user_id,
           CASE WHEN t.state = 1 AND a.state = 1
                     AND EXISTS (SELECT 1 FROM memberships m JOIN users u ON u.id = m.user_id
                                 WHERE m.account_id = t.account_id AND m.user_id = t.user_id
                                   AND m.state = 1 AND u.state = 1) THEN 1 ELSE 0 END AS alive,
           t.expires_at, CAST(NULL AS TEXT) AS revoke_at, '' AS allowed_cidrs, a.plan,
           a.ip_restrictions_enabled
    FROM (SELECT $1 AS digest) asked
    LEFT JOIN personal_tokens t ON t.token_digest = asked.digest
    LEFT JOIN accounts a ON a.id = t.account_id";

impl Store {
    /// How many queries credential lookups have made on this store (its clones share the count):
    /// the cost of the verifier's miss path, which must not depend on whether a token exists.
    pub fn credential_queries(&self) -> u64 {
        self.credential_queries.load(Ordering::Relaxed)
    }

    fn count_credential_query(&self) {
        self.credential_queries.fetch_add(1, Ordering::Relaxed);
    }

    /// The verifier's lookup: the token with this digest, compiled for decisions. `None` when no
    /// token has this digest. Plan, license and seat are applied here.
    ///
    /// Every lookup starts with one query by digest that answers one row of the same shape for
    /// every token. A token that does not work — revoked, rotated out, of a closed account or a
    /// removed member, or expired — stops there, where a never-issued token stops, so the miss
    /// path does not tell them apart by its cost. Only a working token goes on to read its
    /// grants (or seat) and its IP fences.
    pub(crate) async fn credential_by_digest(
        &self,
        kind: TokenKind,
        digest: &TokenDigest,
    ) -> Result<Option<Credential>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        let head = match kind {
            TokenKind::Service => SERVICE_HEAD,
            TokenKind::Personal => PERSONAL_HEAD,
        };
        self.count_credential_query();
        let row = sqlx::query(head)
            .bind(&digest.0[..])
            .fetch_one(&mut *conn)
            .await?;
        // The same four columns, decoded the same way, for every token asked about.
        let id: Option<i64> = row.try_get("id")?;
        let account_id: Option<i64> = row.try_get("account_id")?;
        let user_id: Option<i64> = row.try_get("user_id")?;
        let alive: i64 = row.try_get("alive")?;
        let (Some(id), Some(account_id)) = (id, account_id) else {
            return Ok(None);
        };
        let mut credential = Credential {
            id: TokenId(id),
            account_id: AccountId(account_id),
            user_id: user_id.map(UserId),
            active: false,
            expires_at: None,
            permissions: EffectivePermissions::default(),
            network: NetworkPolicy::default(),
        };
        if alive != 1 {
            return Ok(Some(credential));
        }
        // A rotated-out token stops at the end of its overlap, or at its expiry if sooner. An
        // expired token stops here too, having decoded only these two times more.
        let expires_at: Option<OffsetDateTime> = crate::db_time::maybe_time_at(&row, "expires_at")?;
        let revoke_at: Option<OffsetDateTime> = crate::db_time::maybe_time_at(&row, "revoke_at")?;
        credential.expires_at = match (expires_at, revoke_at) {
            (Some(e), Some(r)) => Some(e.min(r)),
            (e, r) => e.or(r),
        };
        if credential.expires_at.is_some_and(|e| e <= crate::now()) {
            return Ok(Some(credential));
        }
        let plan: Plan = row.try_get::<String, _>("plan")?.parse()?;
        credential.permissions = match credential.user_id {
            None => {
                self.count_credential_query();
                let grants: Vec<Grant> = grants_of(&mut conn, credential.id)
                    .await?
                    .into_iter()
                    .map(|g| g.grant)
                    .collect();
                EffectivePermissions::for_service_token(&grants, plan)
            }
            Some(user) => {
                self.count_credential_query();
                match fetch_membership(&mut conn, credential.account_id, user).await? {
                    Some(m) => m.access.permissions(plan),
                    // The seat went between the two reads.
                    None => return Ok(Some(credential)),
                }
            }
        };
        self.count_credential_query();
        credential.network = network_policy(
            &mut conn,
            credential.account_id,
            row.try_get::<i64, _>("ip_restrictions_enabled")? == 1,
            row.try_get("allowed_cidrs")?,
        )
        .await?;
        credential.active = true;
        Ok(Some(credential))
    }

    /// Writes a batch of uses in one transaction (the verifier batches them so no request
    /// writes to the database). A time never moves back: of nodes flushing the same token's use
    /// in any order, the latest use stays, and its client address with it.
    pub(crate) async fn write_usage(&self, used: &[TokenUse]) -> Result<(), StoreError> {
        if used.is_empty() {
            return Ok(());
        }
        // In one order on every node, so that two nodes flushing the same tokens at once wait
        // for each other's row locks instead of deadlocking.
        let mut used = used.to_vec();
        used.sort_by_key(|u| (u.kind == TokenKind::Personal, u.id.0));
        let mut tx = self.write_unordered().await?;
        for kind in [TokenKind::Service, TokenKind::Personal] {
            let of_kind: Vec<_> = used.iter().filter(|u| u.kind == kind).collect();
            for chunk in of_kind.chunks(USAGE_ROWS_PER_STATEMENT) {
                let sql = usage_update(kind, chunk.len());
                let mut update = sqlx::query(&sql);
                for u in chunk {
                    update = update
                        .bind(u.id.0)
                        .bind(crate::db_time::db_time(u.at))
                        .bind(u.ip.map(|ip| ip.to_string()));
                }
                update.execute(&mut *tx).await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }
}

/// Tokens whose use one statement writes (three parameters each: far below both backends'
/// limits).
const USAGE_ROWS_PER_STATEMENT: usize = 500;

/// One statement writing `rows` tokens' `last_used_at` and `last_used_ip` (a batch is one round
/// trip per 500 tokens, not one per token), never moving a time back; a use without a known
/// address keeps the one stored. `UPDATE … FROM (VALUES …)` with the values' default column
/// names reads the same on SQLite and PostgreSQL.
fn usage_update(kind: TokenKind, rows: usize) -> String {
    let table = match kind {
        TokenKind::Service => "service_tokens",
        TokenKind::Personal => "personal_tokens",
    };
    let values = (0..rows)
        .map(|i| format!("(${}, ${}, ${})", 3 * i + 1, 3 * i + 2, 3 * i + 3))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "UPDATE {table} SET last_used_at = v.column2,
                last_used_ip = COALESCE(v.column3, {table}.last_used_ip)
         FROM (VALUES {values}) AS v
         WHERE {table}.id = v.column1
           AND ({table}.last_used_at IS NULL OR {table}.last_used_at < v.column2)"
    )
}
