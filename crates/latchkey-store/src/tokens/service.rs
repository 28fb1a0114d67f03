//! A service token's life: minting one, renaming, fencing and revoking it.

use crate::accounts::read::{check_projects, fetch_account};
use crate::audit::{record, AuditEvent};
use crate::changes::{append, ChangeKind};
use crate::ip_rules::format_allowlist;
use crate::records::*;
use crate::tokens::checks::{
    check_expiry, check_not_fencing_itself_out, check_token_name, token_permissions,
};
use crate::tokens::grants::{grant_json, insert_grant};
use crate::tokens::read::{digest_from, digest_of, load_service_token, reload_service_token};
use crate::{now, Store, StoreError};
use latchkey_core::mint::check_may_mint_service_token;
use latchkey_core::{AccountId, Authority, Minter, TokenId};
use serde_json::json;
use sqlx::{AnyConnection, Row};

/// Inserts a service token, its grants, its audit entry and its change row. The caller checked
/// who may mint it.
pub(crate) async fn insert_service_token(
    conn: &mut AnyConnection,
    actor: &Actor,
    new: &NewServiceToken<'_>,
) -> Result<TokenId, StoreError> {
    check_token_name(new.name)?;
    let at = now();
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO service_tokens (account_id, uid, name, token_digest, hint, created_at, updated_at, expires_at, allowed_cidrs)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
    )
    .bind(new.account_id.0)
    .bind(new.uid)
    .bind(new.name)
    .bind(&new.digest.0[..])
    .bind(new.hint)
    .bind(crate::db_time::db_time(at))
    .bind(crate::db_time::db_time(at))
    .bind(new.expires_at.map(crate::db_time::db_time))
    .bind(format_allowlist(new.allowed_cidrs)?)
    .fetch_one(&mut *conn)
    .await?;
    for g in new.grants {
        insert_grant(conn, TokenId(id), g, at).await?;
    }
    let ctx = json!({
        "name": new.name,
        "uid": new.uid,
        "permission_grants": grant_json(new.grants),
        "expires_at": new.expires_at.map(time::OffsetDateTime::unix_timestamp),
        "allowed_cidrs": new.allowed_cidrs.iter().map(std::string::ToString::to_string).collect::<Vec<_>>(),
    });
    record(
        conn,
        actor,
        AuditEvent {
            account_id: Some(new.account_id),
            event_type: "service_token.created",
            target_type: "service_token",
            target_id: Some(id),
            context: ctx,
            at,
        },
    )
    .await?;
    append(conn, new.account_id, ChangeKind::Token(new.digest)).await?;
    Ok(TokenId(id))
}

impl Store {
    /// Creates a service token after checking, inside the transaction, that the account is
    /// active, every granted project is one of its active projects, the plan offers every set,
    /// and `minter` may create a token this strong.
    pub async fn create_service_token(
        &self,
        actor: &Actor,
        minter: Minter<'_>,
        new: &NewServiceToken<'_>,
    ) -> Result<ServiceToken, StoreError> {
        check_token_name(new.name)?;
        check_expiry(new.expires_at)?;
        let mut tx = self.write().await?;
        let account = fetch_account(&mut tx, new.account_id)
            .await?
            .filter(|a| a.state == State::Active)
            .ok_or(StoreError::NotFound("account"))?;
        let held =
            crate::authority::current_in(&mut tx, actor, &account, minter.authority()).await?;
        let minter = held.minter(minter);
        check_projects(&mut tx, account.id, new.grants).await?;
        check_may_mint_service_token(minter, account.plan, new.grants)?;
        let id = insert_service_token(&mut tx, actor, new).await?;
        let token = reload_service_token(&mut tx, id).await?;
        tx.commit().await?;
        Ok(token)
    }

    /// Revokes a service token: state 2, row kept; audited as `service_token.revoked`. Revoking
    /// a deleted token changes nothing. With `account_id`, a token of another account is
    /// reported as not found. `authority` must hold everything the token holds.
    pub async fn revoke_service_token(
        &self,
        actor: &Actor,
        authority: Authority<'_>,
        account_id: Option<AccountId>,
        id: TokenId,
    ) -> Result<ServiceToken, StoreError> {
        let mut tx = self.write().await?;
        let current = load_service_token(&mut tx, id)
            .await?
            .filter(|t| account_id.is_none_or(|a| a == t.account_id))
            .ok_or(StoreError::NotFound("service token"))?;
        let held = crate::authority::current(&mut tx, actor, current.account_id, authority).await?;
        held.authority()
            .check_existing(&token_permissions(&current))?;
        revoke_in(&mut tx, actor, current.account_id, id).await?;
        let token = reload_service_token(&mut tx, id).await?;
        tx.commit().await?;
        Ok(token)
    }

    /// Renames a token, fences it (`allowed_cidrs`) and/or revokes it (state 2). A deleted
    /// token cannot be brought back: revocation is final. `authority` must hold everything the
    /// token holds.
    #[allow(clippy::too_many_arguments)]
    pub async fn update_service_token(
        &self,
        actor: &Actor,
        authority: Authority<'_>,
        account_id: AccountId,
        id: TokenId,
        name: Option<&str>,
        state: Option<State>,
        allowed_cidrs: Option<&[latchkey_core::Cidr]>,
    ) -> Result<ServiceToken, StoreError> {
        if let Some(name) = name {
            check_token_name(name)?;
        }
        let allowlist = allowed_cidrs.map(format_allowlist).transpose()?;
        let mut tx = self.write().await?;
        let held = crate::authority::current(&mut tx, actor, account_id, authority).await?;
        let authority = held.authority();
        let current = load_service_token(&mut tx, id)
            .await?
            .filter(|t| t.account_id == account_id)
            .ok_or(StoreError::NotFound("service token"))?;
        authority.check_existing(&token_permissions(&current))?;
        if current.state == State::Deleted && state == Some(State::Active) {
            return Err(StoreError::Conflict(
                "a deleted token cannot be reactivated; create a new one".into(),
            ));
        }
        if let Some(name) = name.filter(|n| *n != current.name) {
            let at = now();
            sqlx::query("UPDATE service_tokens SET name = $1, updated_at = $2 WHERE id = $3")
                .bind(name)
                .bind(crate::db_time::db_time(at))
                .bind(id.0)
                .execute(&mut *tx)
                .await?;
            let ctx = json!({"from": current.name, "to": name});
            record(
                &mut tx,
                actor,
                AuditEvent {
                    account_id: Some(account_id),
                    event_type: "service_token.changed",
                    target_type: "service_token",
                    target_id: Some(id.0),
                    context: ctx,
                    at,
                },
            )
            .await?;
        }
        if let Some(cidrs) = allowed_cidrs.filter(|c| *c != current.allowed_cidrs.as_slice()) {
            if current.state != State::Active {
                return Err(StoreError::Conflict(
                    "a deleted token's allowed_cidrs cannot change".into(),
                ));
            }
            check_not_fencing_itself_out(actor, id, cidrs)?;
            let at = now();
            sqlx::query(
                "UPDATE service_tokens SET allowed_cidrs = $1, updated_at = $2 WHERE id = $3",
            )
            .bind(allowlist.as_deref().unwrap_or_default())
            .bind(crate::db_time::db_time(at))
            .bind(id.0)
            .execute(&mut *tx)
            .await?;
            let names = |c: &[latchkey_core::Cidr]| {
                c.iter()
                    .map(std::string::ToString::to_string)
                    .collect::<Vec<_>>()
            };
            let ctx = json!({"allowed_cidrs": {"from": names(&current.allowed_cidrs), "to": names(cidrs)}});
            record(
                &mut tx,
                actor,
                AuditEvent {
                    account_id: Some(account_id),
                    event_type: "service_token.changed",
                    target_type: "service_token",
                    target_id: Some(id.0),
                    context: ctx,
                    at,
                },
            )
            .await?;
            let digest = digest_of(&mut tx, id).await?;
            append(&mut tx, account_id, ChangeKind::token(digest)).await?;
        }
        if state == Some(State::Deleted) {
            revoke_in(&mut tx, actor, account_id, id).await?;
        }
        let token = reload_service_token(&mut tx, id).await?;
        tx.commit().await?;
        Ok(token)
    }
}

/// Sets an active token to state 2 with its audit entry and change row; a deleted one is left
/// as it is.
pub(crate) async fn revoke_in(
    conn: &mut AnyConnection,
    actor: &Actor,
    owner: AccountId,
    id: TokenId,
) -> Result<(), StoreError> {
    let row =
        sqlx::query("SELECT state, token_digest, name, uid FROM service_tokens WHERE id = $1")
            .bind(id.0)
            .fetch_one(&mut *conn)
            .await?;
    if row.try_get::<i64, _>("state")? != 1 {
        return Ok(());
    }
    let at = now();
    sqlx::query("UPDATE service_tokens SET state = 2, updated_at = $1 WHERE id = $2")
        .bind(crate::db_time::db_time(at))
        .bind(id.0)
        .execute(&mut *conn)
        .await?;
    let name: String = row.try_get("name")?;
    let uid: String = row.try_get("uid")?;
    let ctx = json!({"name": name, "uid": uid});
    record(
        conn,
        actor,
        AuditEvent {
            account_id: Some(owner),
            event_type: "service_token.revoked",
            target_type: "service_token",
            target_id: Some(id.0),
            context: ctx,
            at,
        },
    )
    .await?;
    let digest: Vec<u8> = row.try_get("token_digest")?;
    append(conn, owner, ChangeKind::token(digest_from(&digest))).await
}
