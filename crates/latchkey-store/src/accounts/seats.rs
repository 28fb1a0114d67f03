//! Seats: a user's license in an account, and taking it away with everything it carried.

use crate::accounts::insert::insert_membership;
use crate::accounts::read::{check_user_of, fetch_account, fetch_membership};
use crate::audit::{record, AuditEvent};
use crate::changes::{append, ChangeKind};
use crate::records::*;
use crate::{now, Store, StoreError};
use latchkey_core::principal::check_license_on_plan;
use latchkey_core::{AccountId, Authority, License, Plan, UserAccess, UserId};
use serde_json::json;
use sqlx::AnyConnection;

impl Store {
    /// Gives a user of the account a seat (or changes its license, or reactivates it). The
    /// license must be one the plan offers, and `authority` must hold everything the member
    /// holds before and after ([`Authority::check_change`]).
    pub async fn set_membership(
        &self,
        actor: &Actor,
        authority: Authority<'_>,
        account_id: AccountId,
        user_id: UserId,
        license: License,
    ) -> Result<(), StoreError> {
        let mut tx = self.write().await?;
        let account = fetch_account(&mut tx, account_id)
            .await?
            .ok_or(StoreError::NotFound("account"))?;
        let held = crate::authority::current_in(&mut tx, actor, &account, authority).await?;
        let authority = held.authority();
        check_user_of(&mut tx, account_id, user_id).await?;
        check_license_on_plan(account.plan, license)?;
        let before = fetch_membership(&mut tx, account_id, user_id).await?;
        let after = UserAccess {
            license,
            group_grants: before
                .as_ref()
                .map(|m| m.access.group_grants.clone())
                .unwrap_or_default(),
        };
        authority.check_change(
            before
                .as_ref()
                .map(|m| m.access.permissions(Plan::Enterprise))
                .as_ref(),
            Some(&after.permissions(account.plan)),
        )?;
        if before.as_ref().is_some_and(|m| m.license == license) {
            return Ok(());
        }
        insert_membership(&mut tx, actor, account_id, user_id, license).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Takes a user's seat away, with everything it carried: their groups in the account and
    /// their personal access tokens end for good, so a later seat starts from nothing.
    /// `authority` must hold everything the member holds.
    pub async fn remove_membership(
        &self,
        actor: &Actor,
        authority: Authority<'_>,
        account_id: AccountId,
        user_id: UserId,
    ) -> Result<(), StoreError> {
        let mut tx = self.write().await?;
        let held = crate::authority::current(&mut tx, actor, account_id, authority).await?;
        let authority = held.authority();
        if let Some(member) = fetch_membership(&mut tx, account_id, user_id).await? {
            authority.check_existing(&member.access.permissions(Plan::Enterprise))?;
        }
        let done = sqlx::query("UPDATE memberships SET state = 2, updated_at = $1 WHERE account_id = $2 AND user_id = $3 AND state = 1")
            .bind(crate::db_time::db_time(now()))
            .bind(account_id.0)
            .bind(user_id.0)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound("membership"));
        }
        let ctx = json!({"user_id": user_id.0});
        record(
            &mut tx,
            actor,
            AuditEvent {
                account_id: Some(account_id),
                event_type: "user.removed",
                target_type: "user",
                target_id: Some(user_id.0),
                context: ctx,
                at: now(),
            },
        )
        .await?;
        end_seat(&mut tx, actor, account_id, user_id).await?;
        append(&mut tx, account_id, ChangeKind::User(user_id)).await?;
        tx.commit().await?;
        Ok(())
    }
}

/// Ends what a removed seat carried: group memberships (`group.user.removed`) and personal
/// access tokens (`account_scoped_pat.deleted`), each audited.
async fn end_seat(
    conn: &mut AnyConnection,
    actor: &Actor,
    account_id: AccountId,
    user_id: UserId,
) -> Result<(), StoreError> {
    let at = now();
    let groups: Vec<i64> = sqlx::query_scalar(
        "SELECT gm.group_id FROM group_members gm JOIN groups g ON g.id = gm.group_id
         WHERE g.account_id = $1 AND gm.user_id = $2",
    )
    .bind(account_id.0)
    .bind(user_id.0)
    .fetch_all(&mut *conn)
    .await?;
    for group in groups {
        sqlx::query("DELETE FROM group_members WHERE group_id = $1 AND user_id = $2")
            .bind(group)
            .bind(user_id.0)
            .execute(&mut *conn)
            .await?;
        let ctx = json!({"group_id": group, "user_id": user_id.0});
        record(
            conn,
            actor,
            AuditEvent {
                account_id: Some(account_id),
                event_type: "group.user.removed",
                target_type: "group",
                target_id: Some(group),
                context: ctx,
                at,
            },
        )
        .await?;
    }
    let tokens: Vec<(i64, String)> = sqlx::query_as(
        "SELECT id, name FROM personal_tokens WHERE account_id = $1 AND user_id = $2 AND state = 1",
    )
    .bind(account_id.0)
    .bind(user_id.0)
    .fetch_all(&mut *conn)
    .await?;
    for (id, name) in tokens {
        sqlx::query("UPDATE personal_tokens SET state = 2, updated_at = $1 WHERE id = $2")
            .bind(crate::db_time::db_time(at))
            .bind(id)
            .execute(&mut *conn)
            .await?;
        record(
            conn,
            actor,
            AuditEvent {
                account_id: Some(account_id),
                event_type: "account_scoped_pat.deleted",
                target_type: "personal_access_token",
                target_id: Some(id),
                context: json!({"name": name}),
                at,
            },
        )
        .await?;
    }
    Ok(())
}
