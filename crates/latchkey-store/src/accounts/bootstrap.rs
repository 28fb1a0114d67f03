//! The first start: an account with its first project, an admin user in an Owner group, and a
//! first service token, in one transaction.

use crate::accounts::input::{check_name, parse_email};
use crate::accounts::insert::{
    insert_account, insert_group, insert_group_member, insert_membership, insert_project,
    insert_user,
};
use crate::records::*;
use crate::tokens::read::reload_service_token;
use crate::tokens::service::insert_service_token;
use crate::{Store, StoreError};
use latchkey_core::principal::owner_set;
use latchkey_core::{catalog, Grant, License, Plan, Scope, Secret};

impl Store {
    /// Creates, in one transaction: an account, its first project, an admin user with a
    /// developer license in an Owner group (the plan's owner set on all projects), and a first
    /// service token holding the strongest set the plan offers tokens (Account Admin where it may).
    pub async fn bootstrap(
        &self,
        actor: &Actor,
        account_name: &str,
        plan: Plan,
        admin_email: &str,
        admin_password: &Secret,
        token: crate::records::NewServiceTokenParts<'_>,
    ) -> Result<Bootstrapped, StoreError> {
        self.bootstrap_inner(
            actor,
            account_name,
            plan,
            admin_email,
            admin_password,
            token,
            false,
        )
        .await?
        .ok_or(StoreError::NotFound("account"))
    }

    /// [`Store::bootstrap`] only if no account exists yet, decided inside the write
    /// transaction: of several nodes starting together on a new database, exactly one
    /// bootstraps and the others get `None`.
    pub async fn bootstrap_if_empty(
        &self,
        actor: &Actor,
        account_name: &str,
        plan: Plan,
        admin_email: &str,
        admin_password: &Secret,
        token: crate::records::NewServiceTokenParts<'_>,
    ) -> Result<Option<Bootstrapped>, StoreError> {
        self.bootstrap_inner(
            actor,
            account_name,
            plan,
            admin_email,
            admin_password,
            token,
            true,
        )
        .await
    }

    #[allow(clippy::too_many_arguments)]
    async fn bootstrap_inner(
        &self,
        actor: &Actor,
        account_name: &str,
        plan: Plan,
        admin_email: &str,
        admin_password: &Secret,
        token: crate::records::NewServiceTokenParts<'_>,
        only_if_empty: bool,
    ) -> Result<Option<Bootstrapped>, StoreError> {
        check_name("account name", account_name)?;
        let email = parse_email(admin_email)?;
        let password_hash = self.passwords.hash(admin_password).await?;
        let mut tx = self.write().await?;
        if only_if_empty {
            let accounts: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM accounts")
                .fetch_one(&mut *tx)
                .await?;
            if accounts > 0 {
                return Ok(None);
            }
        }
        let account = insert_account(&mut tx, actor, account_name, plan).await?;
        let project = insert_project(&mut tx, actor, account.id, "Default project").await?;
        let admin = insert_user(&mut tx, actor, account.id, &email, Some(&password_hash)).await?;
        // The password was printed on the starter's terminal: the admin replaces it at their
        // first sign-in to the console.
        sqlx::query("UPDATE users SET password_change_required = 1 WHERE id = $1")
            .bind(admin.id.0)
            .execute(&mut *tx)
            .await?;
        insert_membership(&mut tx, actor, account.id, admin.id, License::Developer).await?;
        let owner_grant = Grant::new(owner_set(plan), Scope::AllProjects);
        let owner_group = insert_group(&mut tx, actor, account.id, "Owner", &[owner_grant]).await?;
        insert_group_member(&mut tx, actor, account.id, owner_group, admin.id).await?;
        let cat = catalog();
        let set = cat
            .set("account_admin")
            .filter(|s| cat.plan_allows(plan, *s))
            .or_else(|| cat.plan_sets(plan).find(|s| !s.is_user_only()))
            .ok_or_else(|| {
                StoreError::Invalid(format!("the {plan} plan offers tokens no permission set"))
            })?;
        let grants = [Grant::new(set, Scope::AllProjects)];
        let new = NewServiceToken {
            account_id: account.id,
            name: "Bootstrap admin token",
            grants: &grants,
            expires_at: None,
            allowed_cidrs: &[],
            uid: token.uid,
            digest: token.digest,
            hint: token.hint,
        };
        let id = insert_service_token(&mut tx, actor, &new).await?;
        let token = reload_service_token(&mut tx, id).await?;
        tx.commit().await?;
        Ok(Some(Bootstrapped {
            account,
            project,
            admin,
            owner_group,
            token,
        }))
    }
}
