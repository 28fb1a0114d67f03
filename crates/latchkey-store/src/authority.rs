//! Power judged on the truth: inside a write transaction, the acting token's or user's
//! permissions are read again from the database before [`Authority::check_change`] judges a
//! change. A node's cache may still hold grants that were taken away a moment ago (until its
//! change feed catches up); a change to a principal is never judged on them.

use crate::accounts::read::{fetch_account, fetch_membership};
use crate::records::{Account, Actor, ActorKind};
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
    current_with(conn, actor, account_id, None, claimed).await
}

/// [`current`] for a command that has read the account in its transaction already: its plan is
/// not read a second time.
pub(crate) async fn current_in(
    conn: &mut AnyConnection,
    actor: &Actor,
    account: &Account,
    claimed: Authority<'_>,
) -> Result<Current, StoreError> {
    current_with(conn, actor, account.id, Some(account.plan), claimed).await
}

/// [`current`], with the account's plan when the caller knows it.
async fn current_with(
    conn: &mut AnyConnection,
    actor: &Actor,
    account_id: AccountId,
    plan: Option<Plan>,
    claimed: Authority<'_>,
) -> Result<Current, StoreError> {
    let Authority::Holder(claimed) = claimed else {
        return Ok(Current::Operator);
    };
    let perms = match (actor.kind, actor.id) {
        (ActorKind::ServiceToken, Some(id)) => {
            service_token(conn, account_id, plan, TokenId(id)).await?
        }
        (ActorKind::PersonalToken, Some(id)) => {
            let now = crate::db_time::db_time(crate::now());
            let row: Option<(i64, i64, i64, Option<String>)> = sqlx::query_as(
                "SELECT user_id, account_id, state, expires_at FROM personal_tokens WHERE id = $1",
            )
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?;
            let user = row
                .filter(|(_, account, state, expires)| {
                    *account == account_id.0 && *state == 1 && before(&now, expires.as_deref())
                })
                .map(|(user, ..)| user);
            match user {
                Some(user) => member(conn, account_id, plan, UserId(user)).await?,
                None => EffectivePermissions::default(),
            }
        }
        (ActorKind::User, Some(user)) => member(conn, account_id, plan, UserId(user)).await?,
        _ => claimed.clone(),
    };
    Ok(Current::Holder(perms))
}

/// What a service token of the account holds now: nothing unless it is active, unexpired and
/// not past a rotation's end.
async fn service_token(
    conn: &mut AnyConnection,
    account_id: AccountId,
    plan: Option<Plan>,
    id: TokenId,
) -> Result<EffectivePermissions, StoreError> {
    let now = crate::db_time::db_time(crate::now());
    let row: Option<(i64, i64, Option<String>, Option<String>)> = sqlx::query_as(
        "SELECT account_id, state, expires_at, revoke_at FROM service_tokens WHERE id = $1",
    )
    .bind(id.0)
    .fetch_optional(&mut *conn)
    .await?;
    let working = row.is_some_and(|(account, state, expires, revoke)| {
        account == account_id.0
            && state == 1
            && before(&now, expires.as_deref())
            && before(&now, revoke.as_deref())
    });
    if !working {
        return Ok(EffectivePermissions::default());
    }
    let grants: Vec<Grant> = crate::tokens::read::grants_of(conn, id)
        .await?
        .into_iter()
        .map(|g| g.grant)
        .collect();
    Ok(EffectivePermissions::for_service_token(
        &grants,
        plan_of(conn, account_id, plan).await?,
    ))
}

/// Whether `now` is before the stored time `end` (none: no end). Both are [`db_time`] texts,
/// which compare as the instants they name.
///
/// The rows above are read by primary key alone and judged here, so that PostgreSQL cannot plan
/// the lookup (once, on a table still empty) as a scan of every token of the account.
///
/// [`db_time`]: crate::db_time::db_time
fn before(now: &str, end: Option<&str>) -> bool {
    end.is_none_or(|end| now < end)
}

/// What a member of the account holds now (nothing without an active seat).
async fn member(
    conn: &mut AnyConnection,
    account_id: AccountId,
    plan: Option<Plan>,
    user: UserId,
) -> Result<EffectivePermissions, StoreError> {
    let plan = plan_of(conn, account_id, plan).await?;
    Ok(fetch_membership(conn, account_id, user)
        .await?
        .map(|m| m.access.permissions(plan))
        .unwrap_or_default())
}

async fn plan_of(
    conn: &mut AnyConnection,
    account_id: AccountId,
    known: Option<Plan>,
) -> Result<Plan, StoreError> {
    if let Some(plan) = known {
        return Ok(plan);
    }
    Ok(fetch_account(conn, account_id)
        .await?
        .ok_or(StoreError::NotFound("account"))?
        .plan)
}
