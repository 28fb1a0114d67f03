//! Rotation: a successor token with the same name, grants and expiry, and the old one revoked now
//! or when the overlap ends.

use crate::accounts::read::fetch_account;
use crate::audit::{record, AuditEvent};
use crate::changes::{append, ChangeKind};
use crate::records::*;
use crate::tokens::checks::token_permissions;
use crate::tokens::read::{digest_of, load_service_token, reload_service_token};
use crate::tokens::service::{insert_service_token, revoke_in};
use crate::{now, Store, StoreError};
use latchkey_core::mint::check_may_mint_service_token;
use latchkey_core::{AccountId, Grant, Minter, TokenId};
use serde_json::json;

impl Store {
    /// Rotates a token: a new token with the same name, grants and expiry (the minter must be
    /// allowed to give them), and the old one revoked now (`overlap` zero) or at the end of the
    /// overlap. Both are audited; the new token records what it replaced.
    #[allow(clippy::too_many_arguments)]
    pub async fn rotate_service_token(
        &self,
        actor: &Actor,
        minter: Minter<'_>,
        account_id: AccountId,
        id: TokenId,
        overlap: time::Duration,
        parts: NewServiceTokenParts<'_>,
    ) -> Result<(ServiceToken, ServiceToken), StoreError> {
        let mut tx = self.write().await?;
        let held =
            crate::authority::current(&mut tx, actor, account_id, minter.authority()).await?;
        let minter = held.minter(minter);
        let old = load_service_token(&mut tx, id)
            .await?
            .filter(|t| t.account_id == account_id)
            .ok_or(StoreError::NotFound("service token"))?;
        if old.state != State::Active {
            return Err(StoreError::Conflict(
                "a deleted token cannot be rotated".into(),
            ));
        }
        if old.revoke_at.is_some() {
            return Err(StoreError::Conflict(
                "this token was already rotated; rotate its successor".into(),
            ));
        }
        let account = fetch_account(&mut tx, account_id)
            .await?
            .ok_or(StoreError::NotFound("account"))?;
        minter
            .authority()
            .check_existing(&token_permissions(&old))?;
        let grants: Vec<Grant> = old.grants.iter().map(|g| g.grant).collect();
        check_may_mint_service_token(minter, account.plan, &grants)?;
        let new = NewServiceToken {
            account_id,
            name: &old.name,
            grants: &grants,
            expires_at: old.expires_at,
            allowed_cidrs: &old.allowed_cidrs,
            uid: parts.uid,
            digest: parts.digest,
            hint: parts.hint,
        };
        let new_id = insert_service_token(&mut tx, actor, &new).await?;
        let at = now();
        sqlx::query("UPDATE service_tokens SET rotated_from_id = $1 WHERE id = $2")
            .bind(id.0)
            .bind(new_id.0)
            .execute(&mut *tx)
            .await?;
        let revoke_at = at + overlap;
        let ctx = json!({"new_token_id": new_id.0, "overlap_seconds": overlap.whole_seconds()});
        record(
            &mut tx,
            actor,
            AuditEvent {
                account_id: Some(account_id),
                event_type: "service_token.rotated",
                target_type: "service_token",
                target_id: Some(id.0),
                context: ctx,
                at,
            },
        )
        .await?;
        if overlap.is_zero() {
            revoke_in(&mut tx, actor, account_id, id).await?;
        } else {
            sqlx::query("UPDATE service_tokens SET revoke_at = $1, updated_at = $2 WHERE id = $3")
                .bind(crate::db_time::db_time(revoke_at))
                .bind(crate::db_time::db_time(at))
                .bind(id.0)
                .execute(&mut *tx)
                .await?;
            let digest = digest_of(&mut tx, id).await?;
            append(&mut tx, account_id, ChangeKind::token(digest)).await?;
        }
        let new_token = reload_service_token(&mut tx, new_id).await?;
        let old_token = reload_service_token(&mut tx, id).await?;
        tx.commit().await?;
        Ok((new_token, old_token))
    }

    /// Revokes every rotated-out token whose overlap has ended; returns how many. Safe to run
    /// on every node at once: each token is revoked (and audited) only once.
    pub async fn revoke_due(&self) -> Result<usize, StoreError> {
        let due: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT id, account_id FROM service_tokens WHERE state = 1 AND revoke_at IS NOT NULL AND revoke_at <= $1",
        )
        .bind(crate::db_time::db_time(now()))
        .fetch_all(&self.pool)
        .await?;
        let system = Actor {
            kind: crate::records::ActorKind::System,
            id: None,
            name: "rotation overlap ended".into(),
            ip: None,
            source: "api",
        };
        for (id, account) in &due {
            let mut tx = self.write().await?;
            revoke_in(&mut tx, &system, AccountId(*account), TokenId(*id)).await?;
            tx.commit().await?;
        }
        Ok(due.len())
    }
}
