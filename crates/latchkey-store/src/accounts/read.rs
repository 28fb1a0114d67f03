//! Reading accounts: an account, a project's owner, a user's seat with their group grants, and
//! the checks that what a command names belongs to the account.

use crate::records::*;
use crate::{Store, StoreError};
use latchkey_core::{AccountId, Grant, License, ProjectId, Scope, UserAccess, UserId};
use sqlx::{AnyConnection, Row};

impl Store {
    /// True if no account exists yet (a first start).
    pub async fn is_empty(&self) -> Result<bool, StoreError> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM accounts")
            .fetch_one(&self.pool)
            .await?;
        Ok(n == 0)
    }

    /// One account.
    pub async fn account(&self, id: AccountId) -> Result<Option<Account>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        fetch_account(&mut conn, id).await
    }

    /// Which account a project belongs to (deleted projects included, marked inactive).
    pub(crate) async fn owner_of(
        &self,
        project_id: ProjectId,
    ) -> Result<Option<ProjectOwner>, StoreError> {
        let row = sqlx::query("SELECT account_id, state FROM projects WHERE id = $1")
            .bind(project_id.0)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| {
            Ok(ProjectOwner {
                project_id,
                account_id: AccountId(r.try_get("account_id")?),
                active: r.try_get::<i64, _>("state")? == 1,
            })
        })
        .transpose()
    }

    /// A user's active membership in an account, with their group grants.
    pub async fn membership(
        &self,
        account_id: AccountId,
        user_id: UserId,
    ) -> Result<Option<Membership>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        fetch_membership(&mut conn, account_id, user_id).await
    }
}

/// One account (also when deleted).
pub(crate) async fn fetch_account(
    conn: &mut AnyConnection,
    id: AccountId,
) -> Result<Option<Account>, StoreError> {
    let row = sqlx::query("SELECT id, name, plan, state, created_at FROM accounts WHERE id = $1")
        .bind(id.0)
        .fetch_optional(conn)
        .await?;
    row.map(|r| {
        let plan: String = r.try_get("plan")?;
        Ok(Account {
            id: AccountId(r.try_get("id")?),
            name: r.try_get("name")?,
            plan: plan.parse().map_err(StoreError::Domain)?,
            state: State::from_db(r.try_get("state")?),
            created_at: crate::db_time::time_at(&r, "created_at")?,
        })
    })
    .transpose()
}

/// A user's active seat in an account with the grants of their active groups there.
pub(crate) async fn fetch_membership(
    conn: &mut AnyConnection,
    account_id: AccountId,
    user_id: UserId,
) -> Result<Option<Membership>, StoreError> {
    let license: Option<String> = sqlx::query_scalar(
        "SELECT m.license FROM memberships m JOIN users u ON u.id = m.user_id
         WHERE m.account_id = $1 AND m.user_id = $2 AND m.state = 1 AND u.state = 1",
    )
    .bind(account_id.0)
    .bind(user_id.0)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(license) = license else {
        return Ok(None);
    };
    let license: License = license.parse()?;
    let rows = sqlx::query(
        "SELECT gg.permission_set, gg.project_id, gg.writable_envs
         FROM group_grants gg JOIN groups g ON g.id = gg.group_id
         JOIN group_members gm ON gm.group_id = g.id
         WHERE g.account_id = $1 AND g.state = 1 AND gm.user_id = $2",
    )
    .bind(account_id.0)
    .bind(user_id.0)
    .fetch_all(&mut *conn)
    .await?;
    let group_grants = rows
        .iter()
        .map(crate::grant_rows::grant_from_row)
        .collect::<Result<Vec<_>, _>>()?
        .into_iter()
        .map(|g| g.grant)
        .collect();
    Ok(Some(Membership {
        account_id,
        user_id,
        license,
        access: UserAccess {
            license,
            group_grants,
        },
    }))
}

/// Refuses grants on projects that are not active projects of the account.
pub(crate) async fn check_projects(
    conn: &mut AnyConnection,
    account_id: AccountId,
    grants: &[Grant],
) -> Result<(), StoreError> {
    for g in grants {
        if let Scope::Project(p) = g.scope {
            let ok: Option<i64> = sqlx::query_scalar(
                "SELECT id FROM projects WHERE id = $1 AND account_id = $2 AND state = 1",
            )
            .bind(p.0)
            .bind(account_id.0)
            .fetch_optional(&mut *conn)
            .await?;
            if ok.is_none() {
                return Err(StoreError::Conflict(format!(
                    "project_id: project {p} does not exist in account {account_id}"
                )));
            }
        }
    }
    Ok(())
}

/// Refuses a user who is not the account's own (as not found: other accounts' users are not
/// there to be seen).
pub(crate) async fn check_user_of(
    conn: &mut AnyConnection,
    account_id: AccountId,
    user_id: UserId,
) -> Result<(), StoreError> {
    let owner: Option<i64> = sqlx::query_scalar("SELECT account_id FROM users WHERE id = $1")
        .bind(user_id.0)
        .fetch_optional(&mut *conn)
        .await?;
    match owner {
        Some(a) if a == account_id.0 => Ok(()),
        _ => Err(StoreError::NotFound("user")),
    }
}
