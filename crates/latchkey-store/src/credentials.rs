//! What the verifier reads and writes on its own: a credential by digest, compiled for decisions
//! (the cache-miss path), and the batched `last_used_at` flush.

use crate::accounts::fetch_membership;
use crate::ip_rules::network_policy;
use crate::records::*;
use crate::tokens::grants_of;
use crate::{Store, StoreError};
use latchkey_core::{
    AccountId, EffectivePermissions, Grant, TokenDigest, TokenId, TokenKind, UserId,
};
use sqlx::Row;
use std::sync::atomic::Ordering;
use time::OffsetDateTime;

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
    pub async fn find_credential(
        &self,
        kind: TokenKind,
        digest: &TokenDigest,
    ) -> Result<Option<Credential>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        match kind {
            TokenKind::Service => {
                self.count_credential_query();
                let row = sqlx::query(
                    "SELECT t.id, t.account_id, t.state, t.expires_at, t.revoke_at, t.allowed_cidrs, a.plan,
                            a.state AS account_state, a.ip_restrictions_enabled
                     FROM service_tokens t JOIN accounts a ON a.id = t.account_id WHERE t.token_digest = ?",
                )
                .bind(&digest.0[..])
                .fetch_optional(&mut *conn)
                .await?;
                let Some(row) = row else { return Ok(None) };
                let id = TokenId(row.try_get("id")?);
                let plan: String = row.try_get("plan")?;
                self.count_credential_query();
                let grants: Vec<Grant> = grants_of(&mut conn, id)
                    .await?
                    .into_iter()
                    .map(|g| g.grant)
                    .collect();
                // A rotated-out token stops at the end of its overlap, whichever comes first.
                let expires_at: Option<OffsetDateTime> = row.try_get("expires_at")?;
                let revoke_at: Option<OffsetDateTime> = row.try_get("revoke_at")?;
                let expires_at = match (expires_at, revoke_at) {
                    (Some(e), Some(r)) => Some(e.min(r)),
                    (e, r) => e.or(r),
                };
                let account_id = AccountId(row.try_get("account_id")?);
                self.count_credential_query();
                let network = network_policy(
                    &mut conn,
                    account_id,
                    row.try_get::<i64, _>("ip_restrictions_enabled")? == 1,
                    row.try_get("allowed_cidrs")?,
                )
                .await?;
                Ok(Some(Credential {
                    id,
                    account_id,
                    user_id: None,
                    active: row.try_get::<i64, _>("state")? == 1
                        && row.try_get::<i64, _>("account_state")? == 1,
                    expires_at,
                    permissions: EffectivePermissions::for_service_token(&grants, plan.parse()?),
                    network,
                }))
            }
            TokenKind::Personal => {
                self.count_credential_query();
                let row = sqlx::query(
                    "SELECT t.id, t.account_id, t.user_id, t.state, t.expires_at, a.plan, a.state AS account_state,
                            a.ip_restrictions_enabled
                     FROM personal_tokens t JOIN accounts a ON a.id = t.account_id WHERE t.token_digest = ?",
                )
                .bind(&digest.0[..])
                .fetch_optional(&mut *conn)
                .await?;
                let Some(row) = row else { return Ok(None) };
                let account_id = AccountId(row.try_get("account_id")?);
                let user_id = UserId(row.try_get("user_id")?);
                let plan: latchkey_core::Plan = row.try_get::<String, _>("plan")?.parse()?;
                self.count_credential_query();
                let membership = fetch_membership(&mut conn, account_id, user_id).await?;
                let active = row.try_get::<i64, _>("state")? == 1
                    && row.try_get::<i64, _>("account_state")? == 1
                    && membership.is_some();
                self.count_credential_query();
                let network = network_policy(
                    &mut conn,
                    account_id,
                    row.try_get::<i64, _>("ip_restrictions_enabled")? == 1,
                    "",
                )
                .await?;
                Ok(Some(Credential {
                    id: TokenId(row.try_get("id")?),
                    account_id,
                    user_id: Some(user_id),
                    active,
                    expires_at: row.try_get("expires_at")?,
                    permissions: membership
                        .map(|m| m.access.permissions(plan))
                        .unwrap_or_default(),
                    network,
                }))
            }
        }
    }

    /// Writes a batch of `last_used_at` times in one transaction (the verifier batches them so
    /// no request writes to the database).
    pub async fn record_usage(
        &self,
        used: &[(TokenKind, TokenId, OffsetDateTime)],
    ) -> Result<(), StoreError> {
        if used.is_empty() {
            return Ok(());
        }
        let mut tx = self.write().await?;
        for (kind, id, at) in used {
            let sql = match kind {
                TokenKind::Service => "UPDATE service_tokens SET last_used_at = ? WHERE id = ?",
                TokenKind::Personal => "UPDATE personal_tokens SET last_used_at = ? WHERE id = ?",
            };
            sqlx::query(sql)
                .bind(at)
                .bind(id.0)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}
