//! A service token's permission grants: how they are written and audited, and replacing them
//! wholesale.

use crate::accounts::read::{check_projects, fetch_account};
use crate::audit::{record, AuditEvent};
use crate::changes::{append, ChangeKind};
use crate::grant_rows::project_of;
use crate::records::*;
use crate::tokens::read::{digest_from, grants_of, reload_service_token};
use crate::{now, Store, StoreError};
use latchkey_core::mint::check_may_mint_service_token;
use latchkey_core::{AccountId, EffectivePermissions, Grant, Minter, Plan, Scope, TokenId};
use serde_json::json;
use sqlx::{AnyConnection, Row};
use time::OffsetDateTime;

/// Grants as the audit log records them.
pub(crate) fn grant_json(grants: &[Grant]) -> serde_json::Value {
    grants
        .iter()
        .map(|g| {
            json!({
                "permission_set": g.set.slug(),
                "all_projects": g.scope == Scope::AllProjects,
                "project_id": project_of(g),
                "writable_environment_categories": g.writable_envs.names(),
            })
        })
        .collect()
}

/// Inserts one grant row of a service token.
pub(crate) async fn insert_grant(
    conn: &mut AnyConnection,
    token: TokenId,
    g: &Grant,
    at: OffsetDateTime,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO service_token_grants (service_token_id, permission_set, project_id, writable_envs, created_at)
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(token.0)
    .bind(g.set.slug())
    .bind(project_of(g))
    .bind(i64::from(g.writable_envs.bits()))
    .bind(crate::db_time::db_time(at))
    .execute(conn)
    .await?;
    Ok(())
}

impl Store {
    /// Replaces a token's grants wholesale, after checking inside the transaction that the
    /// minter may give a token these grants (plan, projects, and never beyond the minter).
    /// Audited as one `permission.removed` per old grant and one `permission.added` per new one.
    pub async fn replace_service_token_grants(
        &self,
        actor: &Actor,
        minter: Minter<'_>,
        account_id: AccountId,
        id: TokenId,
        grants: &[Grant],
    ) -> Result<ServiceToken, StoreError> {
        let mut tx = self.write().await?;
        let held =
            crate::authority::current(&mut tx, actor, account_id, minter.authority()).await?;
        let minter = held.minter(minter);
        let row = sqlx::query(
            "SELECT state, token_digest FROM service_tokens WHERE id = $1 AND account_id = $2",
        )
        .bind(id.0)
        .bind(account_id.0)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(StoreError::NotFound("service token"))?;
        if row.try_get::<i64, _>("state")? != 1 {
            return Err(StoreError::Conflict(
                "a deleted token's permissions cannot change".into(),
            ));
        }
        let account = fetch_account(&mut tx, account_id)
            .await?
            .ok_or(StoreError::NotFound("account"))?;
        let old = grants_of(&mut tx, id).await?;
        let old_grants: Vec<Grant> = old.iter().map(|g| g.grant).collect();
        minter
            .authority()
            .check_existing(&EffectivePermissions::for_service_token(
                &old_grants,
                Plan::Enterprise,
            ))?;
        check_projects(&mut tx, account_id, grants).await?;
        check_may_mint_service_token(minter, account.plan, grants)?;
        let at = now();
        sqlx::query("DELETE FROM service_token_grants WHERE service_token_id = $1")
            .bind(id.0)
            .execute(&mut *tx)
            .await?;
        for g in &old {
            let ctx = json!({"service_token_id": id.0, "grant": grant_json(&[g.grant])[0]});
            record(
                &mut tx,
                actor,
                AuditEvent {
                    account_id: Some(account_id),
                    event_type: "permission.removed",
                    target_type: "service_token",
                    target_id: Some(id.0),
                    context: ctx,
                    at,
                },
            )
            .await?;
        }
        for g in grants {
            insert_grant(&mut tx, id, g, at).await?;
            let ctx = json!({"service_token_id": id.0, "grant": grant_json(&[*g])[0]});
            record(
                &mut tx,
                actor,
                AuditEvent {
                    account_id: Some(account_id),
                    event_type: "permission.added",
                    target_type: "service_token",
                    target_id: Some(id.0),
                    context: ctx,
                    at,
                },
            )
            .await?;
        }
        sqlx::query("UPDATE service_tokens SET updated_at = $1 WHERE id = $2")
            .bind(crate::db_time::db_time(at))
            .bind(id.0)
            .execute(&mut *tx)
            .await?;
        let digest: Vec<u8> = row.try_get("token_digest")?;
        append(&mut tx, account_id, ChangeKind::token(digest_from(&digest))).await?;
        let token = reload_service_token(&mut tx, id).await?;
        tx.commit().await?;
        Ok(token)
    }
}
