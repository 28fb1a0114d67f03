//! Writing personal access tokens: a user mints one for their seat in an account, and revokes it.

use crate::accounts::read::fetch_membership;
use crate::audit::{record, AuditEvent};
use crate::changes::{append, ChangeKind};
use crate::records::*;
use crate::tokens::checks::{check_expiry, check_token_name};
use crate::tokens::read::{digest_from, personal_token_from_row};
use crate::{now, Store, StoreError};
use latchkey_core::mint::check_may_mint_personal_token;
use latchkey_core::{AccountId, Minter, TokenId, UserId};
use serde_json::json;
use sqlx::Row;
use time::OffsetDateTime;

impl Store {
    /// Creates a personal access token for a user with an active seat in the account.
    #[allow(clippy::too_many_arguments)]
    pub async fn create_personal_token(
        &self,
        actor: &Actor,
        minter: Minter<'_>,
        account_id: AccountId,
        user_id: UserId,
        name: &str,
        parts: NewServiceTokenParts<'_>,
        expires_at: Option<OffsetDateTime>,
    ) -> Result<PersonalToken, StoreError> {
        check_token_name(name)?;
        check_expiry(expires_at)?;
        check_may_mint_personal_token(minter, user_id)?;
        let mut tx = self.write().await?;
        fetch_membership(&mut tx, account_id, user_id)
            .await?
            .ok_or(StoreError::NotFound("membership"))?;
        let at = now();
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO personal_tokens (account_id, user_id, uid, name, token_digest, hint, created_at, updated_at, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
        )
        .bind(account_id.0)
        .bind(user_id.0)
        .bind(parts.uid)
        .bind(name)
        .bind(&parts.digest.0[..])
        .bind(parts.hint)
        .bind(crate::db_time::db_time(at))
        .bind(crate::db_time::db_time(at))
        .bind(expires_at.map(crate::db_time::db_time))
        .fetch_one(&mut *tx)
        .await?;
        let ctx = json!({"name": name, "uid": parts.uid, "user_id": user_id.0});
        record(
            &mut tx,
            actor,
            AuditEvent {
                account_id: Some(account_id),
                event_type: "account_scoped_pat.created",
                target_type: "personal_access_token",
                target_id: Some(id),
                context: ctx,
                at,
            },
        )
        .await?;
        append(&mut tx, account_id, ChangeKind::Token(parts.digest)).await?;
        let row = sqlx::query("SELECT * FROM personal_tokens WHERE id = $1")
            .bind(id)
            .fetch_one(&mut *tx)
            .await?;
        let token = personal_token_from_row(&row)?;
        tx.commit().await?;
        Ok(token)
    }

    /// Revokes a personal access token (state 2), audited as `account_scoped_pat.deleted`.
    pub async fn revoke_personal_token(
        &self,
        actor: &Actor,
        user_id: Option<UserId>,
        id: TokenId,
    ) -> Result<(), StoreError> {
        let mut tx = self.write().await?;
        let row = sqlx::query("SELECT account_id, user_id, state, token_digest, name FROM personal_tokens WHERE id = $1")
            .bind(id.0)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(StoreError::NotFound("personal access token"))?;
        if user_id.is_some_and(|u| u.0 != row.try_get::<i64, _>("user_id").unwrap_or_default()) {
            return Err(StoreError::NotFound("personal access token"));
        }
        if row.try_get::<i64, _>("state")? == 1 {
            let at = now();
            let account = AccountId(row.try_get("account_id")?);
            sqlx::query("UPDATE personal_tokens SET state = 2, updated_at = $1 WHERE id = $2")
                .bind(crate::db_time::db_time(at))
                .bind(id.0)
                .execute(&mut *tx)
                .await?;
            let name: String = row.try_get("name")?;
            record(
                &mut tx,
                actor,
                AuditEvent {
                    account_id: Some(account),
                    event_type: "account_scoped_pat.deleted",
                    target_type: "personal_access_token",
                    target_id: Some(id.0),
                    context: json!({"name": name}),
                    at,
                },
            )
            .await?;
            let digest: Vec<u8> = row.try_get("token_digest")?;
            append(&mut tx, account, ChangeKind::token(digest_from(&digest))).await?;
        }
        tx.commit().await?;
        Ok(())
    }
}
