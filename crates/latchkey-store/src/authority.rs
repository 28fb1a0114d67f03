//! Power judged on the truth: inside a write transaction, the acting token's or user's
//! permissions are read again from the database before [`Authority::check_change`] judges a
//! change. A node's cache may still hold grants that were taken away a moment ago (until its
//! change feed catches up); a change to a principal is never judged on them.

use crate::accounts::read::{fetch_account, fetch_membership};
use crate::records::{Actor, ActorKind};
use crate::StoreError;
use latchkey_core::{
    AccountId, Authority, EffectivePermissions, Grant, Minter, Plan, TokenId, UserId,
};
use sqlx::AnyConnection;

/// The actor's authority as the database holds it now.
pub(crate) enum Current {
    /// The operator.
    Operator,
    /// A principal, with what it holds now (nothing, if it no longer works).
    Holder(EffectivePermissions),
}

impl Current {
    /// As an [`Authority`] for the rule.
    pub(crate) fn authority(&self) -> Authority<'_> {
        match self {
            Current::Operator => Authority::Operator,
            Current::Holder(perms) => Authority::Holder(perms),
        }
    }

    /// `minter` with its permissions replaced by the current ones.
    pub(crate) fn minter<'a>(&'a self, minter: Minter<'a>) -> Minter<'a> {
        let Current::Holder(perms) = self else {
            return minter;
        };
        match minter {
            Minter::Operator => Minter::Operator,
            Minter::ServiceToken { .. } => Minter::ServiceToken { perms },
            Minter::PersonalToken { .. } => Minter::PersonalToken { perms },
            Minter::User { id, license, .. } => Minter::User { id, license, perms },
        }
    }
}

/// Reads the acting principal's permissions in `account_id` again. The operator stays the
/// operator; an actor the database cannot name (no id) keeps what it claimed.
pub(crate) async fn current(
    conn: &mut AnyConnection,
    actor: &Actor,
    account_id: AccountId,
    claimed: Authority<'_>,
) -> Result<Current, StoreError> {
    let Authority::Holder(claimed) = claimed else {
        return Ok(Current::Operator);
    };
    let perms = match (actor.kind, actor.id) {
        (ActorKind::ServiceToken, Some(id)) => service_token(conn, account_id, TokenId(id)).await?,
        (ActorKind::PersonalToken, Some(id)) => {
            let user: Option<i64> = sqlx::query_scalar(
                "SELECT user_id FROM personal_tokens WHERE id = $1 AND account_id = $2 AND state = 1
                 AND (expires_at IS NULL OR expires_at > $3)",
            )
            .bind(id)
            .bind(account_id.0)
            .bind(crate::db_time::db_time(crate::now()))
            .fetch_optional(&mut *conn)
            .await?;
            match user {
                Some(user) => member(conn, account_id, UserId(user)).await?,
                None => EffectivePermissions::default(),
            }
        }
        (ActorKind::User, Some(user)) => member(conn, account_id, UserId(user)).await?,
        _ => claimed.clone(),
    };
    Ok(Current::Holder(perms))
}

/// What a service token of the account holds now: nothing unless it is active, unexpired and
/// not past a rotation's end.
async fn service_token(
    conn: &mut AnyConnection,
    account_id: AccountId,
    id: TokenId,
) -> Result<EffectivePermissions, StoreError> {
    let now = crate::now();
    let working: Option<i64> = sqlx::query_scalar(
        "SELECT id FROM service_tokens WHERE id = $1 AND account_id = $2 AND state = 1
         AND (expires_at IS NULL OR expires_at > $3) AND (revoke_at IS NULL OR revoke_at > $4)",
    )
    .bind(id.0)
    .bind(account_id.0)
    .bind(crate::db_time::db_time(now))
    .bind(crate::db_time::db_time(now))
    .fetch_optional(&mut *conn)
    .await?;
    if working.is_none() {
        return Ok(EffectivePermissions::default());
    }
    let grants: Vec<Grant> = crate::tokens::read::grants_of(conn, id)
        .await?
        .into_iter()
        .map(|g| g.grant)
        .collect();
    Ok(EffectivePermissions::for_service_token(
        &grants,
        plan(conn, account_id).await?,
    ))
}

/// What a member of the account holds now (nothing without an active seat).
async fn member(
    conn: &mut AnyConnection,
    account_id: AccountId,
    user: UserId,
) -> Result<EffectivePermissions, StoreError> {
    let plan = plan(conn, account_id).await?;
    Ok(fetch_membership(conn, account_id, user)
        .await?
        .map(|m| m.access.permissions(plan))
        .unwrap_or_default())
}

async fn plan(conn: &mut AnyConnection, account_id: AccountId) -> Result<Plan, StoreError> {
    Ok(fetch_account(conn, account_id)
        .await?
        .ok_or(StoreError::NotFound("account"))?
        .plan)
}
