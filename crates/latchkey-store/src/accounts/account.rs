//! Making an account and what it is made of: its plan, projects, users and groups.

use crate::accounts::input::{check_name, check_password, parse_email};
use crate::accounts::insert::{insert_account, insert_group_member, insert_user};
use crate::accounts::read::{check_user_of, fetch_account};
use crate::audit::{record, AuditEvent};
use crate::changes::{append, ChangeKind};
use crate::records::*;
use crate::{now, Store, StoreError};
use latchkey_core::{AccountId, GroupId, Plan, Secret, UserId};
use serde_json::json;

impl Store {
    /// Creates an account.
    pub async fn create_account(
        &self,
        actor: &Actor,
        name: &str,
        plan: Plan,
    ) -> Result<Account, StoreError> {
        check_name("account name", name)?;
        let mut tx = self.write().await?;
        let account = insert_account(&mut tx, actor, name, plan).await?;
        tx.commit().await?;
        Ok(account)
    }

    /// Changes an account's plan; tokens holding sets the new plan lacks lose them at once.
    pub async fn set_plan(
        &self,
        actor: &Actor,
        account_id: AccountId,
        plan: Plan,
    ) -> Result<Account, StoreError> {
        let mut tx = self.write().await?;
        let before = fetch_account(&mut tx, account_id)
            .await?
            .ok_or(StoreError::NotFound("account"))?;
        sqlx::query("UPDATE accounts SET plan = $1, updated_at = $2 WHERE id = $3")
            .bind(plan.as_str())
            .bind(crate::db_time::db_time(now()))
            .bind(account_id.0)
            .execute(&mut *tx)
            .await?;
        let ctx = json!({"from": before.plan.as_str(), "to": plan.as_str()});
        record(
            &mut tx,
            actor,
            AuditEvent {
                account_id: Some(account_id),
                event_type: "account.plan.changed",
                target_type: "account",
                target_id: Some(account_id.0),
                context: ctx,
                at: now(),
            },
        )
        .await?;
        append(&mut tx, account_id, ChangeKind::Account).await?;
        let account = fetch_account(&mut tx, account_id)
            .await?
            .ok_or(StoreError::NotFound("account"))?;
        tx.commit().await?;
        Ok(account)
    }

    /// Creates a user of one account (with a password, or none for token-only users). The same
    /// e-mail in another account is another user.
    pub async fn create_user(
        &self,
        actor: &Actor,
        account_id: AccountId,
        email: &str,
        password: Option<&Secret>,
    ) -> Result<User, StoreError> {
        let email = parse_email(email)?;
        let hash = match password {
            Some(p) => {
                check_password(p)?;
                Some(self.passwords.hash(p).await?)
            }
            None => None,
        };
        let mut tx = self.write().await?;
        fetch_account(&mut tx, account_id)
            .await?
            .ok_or(StoreError::NotFound("account"))?;
        let user = insert_user(&mut tx, actor, account_id, &email, hash.as_deref()).await?;
        tx.commit().await?;
        Ok(user)
    }

    /// Adds a user to a group.
    pub async fn add_group_member(
        &self,
        actor: &Actor,
        group_id: GroupId,
        user_id: UserId,
    ) -> Result<(), StoreError> {
        let mut tx = self.write().await?;
        let account_id: i64 =
            sqlx::query_scalar("SELECT account_id FROM groups WHERE id = $1 AND state = 1")
                .bind(group_id.0)
                .fetch_optional(&mut *tx)
                .await?
                .ok_or(StoreError::NotFound("group"))?;
        check_user_of(&mut tx, AccountId(account_id), user_id).await?;
        insert_group_member(&mut tx, actor, AccountId(account_id), group_id, user_id).await?;
        tx.commit().await?;
        Ok(())
    }
}
