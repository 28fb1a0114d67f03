//! The rows an account is made of, each written with its audit entry (and change row where a
//! cache holds it): accounts, projects, users, seats, groups and group members.

use crate::audit::{record, AuditEvent};
use crate::changes::{append, append_group_members, ChangeKind};
use crate::records::*;
use crate::{now, StoreError};
use latchkey_core::{AccountId, Email, Grant, GroupId, License, Plan, ProjectId, UserId};
use serde_json::json;
use sqlx::AnyConnection;
use time::OffsetDateTime;

/// Writes a new account, audited as `account.added`.
pub(crate) async fn insert_account(
    conn: &mut AnyConnection,
    actor: &Actor,
    name: &str,
    plan: Plan,
) -> Result<Account, StoreError> {
    let at = now();
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO accounts (name, plan, created_at, updated_at) VALUES ($1, $2, $3, $4) RETURNING id",
    )
    .bind(name)
    .bind(plan.as_str())
    .bind(crate::db_time::db_time(at))
    .bind(crate::db_time::db_time(at))
    .fetch_one(&mut *conn)
    .await?;
    let id = AccountId(id);
    record(
        conn,
        actor,
        AuditEvent {
            account_id: Some(id),
            event_type: "account.added",
            target_type: "account",
            target_id: Some(id.0),
            context: json!({"name": name, "plan": plan.as_str()}),
            at,
        },
    )
    .await?;
    Ok(Account {
        id,
        name: name.to_owned(),
        plan,
        state: State::Active,
        created_at: at,
    })
}

/// Writes a new project of the account, audited as `project.added`.
pub(crate) async fn insert_project(
    conn: &mut AnyConnection,
    actor: &Actor,
    account_id: AccountId,
    name: &str,
) -> Result<Project, StoreError> {
    let at = now();
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO projects (account_id, name, created_at, updated_at) VALUES ($1, $2, $3, $4) RETURNING id",
    )
    .bind(account_id.0)
    .bind(name)
    .bind(crate::db_time::db_time(at))
    .bind(crate::db_time::db_time(at))
    .fetch_one(&mut *conn)
    .await?;
    record(
        conn,
        actor,
        AuditEvent {
            account_id: Some(account_id),
            event_type: "project.added",
            target_type: "project",
            target_id: Some(id),
            context: json!({"name": name}),
            at,
        },
    )
    .await?;
    append(conn, account_id, ChangeKind::Project(ProjectId(id))).await?;
    Ok(Project {
        id: ProjectId(id),
        account_id,
        name: name.to_owned(),
        state: State::Active,
        created_at: at,
    })
}

/// Writes a new user of the account, audited as `user.created`.
pub(crate) async fn insert_user(
    conn: &mut AnyConnection,
    actor: &Actor,
    account_id: AccountId,
    email: &Email,
    password_hash: Option<&str>,
) -> Result<User, StoreError> {
    let email = email.as_str();
    let at = now();
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO users (account_id, email, password_hash, created_at, updated_at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(account_id.0)
    .bind(email)
    .bind(password_hash)
    .bind(crate::db_time::db_time(at))
    .bind(crate::db_time::db_time(at))
    .fetch_one(&mut *conn)
    .await?;
    record(
        conn,
        actor,
        AuditEvent {
            account_id: Some(account_id),
            event_type: "user.created",
            target_type: "user",
            target_id: Some(id),
            context: json!({"email": email}),
            at,
        },
    )
    .await?;
    Ok(User {
        id: UserId(id),
        account_id,
        email: email.to_owned(),
        state: State::Active,
        created_at: at,
    })
}

/// Gives a user a seat with a license (or changes it, or reactivates it), audited as
/// `user_license.added`.
pub(crate) async fn insert_membership(
    conn: &mut AnyConnection,
    actor: &Actor,
    account_id: AccountId,
    user_id: UserId,
    license: License,
) -> Result<(), StoreError> {
    let at = now();
    sqlx::query(
        "INSERT INTO memberships (account_id, user_id, license, state, created_at, updated_at) VALUES ($1, $2, $3, 1, $4, $5)
         ON CONFLICT (account_id, user_id) DO UPDATE SET license = excluded.license, state = 1, updated_at = excluded.updated_at",
    )
    .bind(account_id.0)
    .bind(user_id.0)
    .bind(license.as_str())
    .bind(crate::db_time::db_time(at))
    .bind(crate::db_time::db_time(at))
    .execute(&mut *conn)
    .await
    .map_err(|e| match e {
        sqlx::Error::Database(ref db) if db.is_foreign_key_violation() => StoreError::NotFound("account or user"),
        e => e.into(),
    })?;
    let ctx = json!({"user_id": user_id.0, "license": license.as_str()});
    record(
        conn,
        actor,
        AuditEvent {
            account_id: Some(account_id),
            event_type: "user_license.added",
            target_type: "user",
            target_id: Some(user_id.0),
            context: ctx,
            at,
        },
    )
    .await?;
    append(conn, account_id, ChangeKind::User(user_id)).await?;
    Ok(())
}

/// Writes a new group with its grants, audited as `group.added`.
pub(crate) async fn insert_group(
    conn: &mut AnyConnection,
    actor: &Actor,
    account_id: AccountId,
    name: &str,
    grants: &[Grant],
) -> Result<GroupId, StoreError> {
    let at = now();
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO groups (account_id, name, created_at, updated_at) VALUES ($1, $2, $3, $4) RETURNING id",
    )
    .bind(account_id.0)
    .bind(name)
    .bind(crate::db_time::db_time(at))
    .bind(crate::db_time::db_time(at))
    .fetch_one(&mut *conn)
    .await?;
    record(
        conn,
        actor,
        AuditEvent {
            account_id: Some(account_id),
            event_type: "group.added",
            target_type: "group",
            target_id: Some(id),
            context: json!({"name": name}),
            at,
        },
    )
    .await?;
    insert_group_grants(conn, actor, account_id, GroupId(id), grants, at).await?;
    append_group_members(conn, account_id, GroupId(id)).await?;
    Ok(GroupId(id))
}

/// Writes grant rows of a group, each audited as `permission.added`.
pub(crate) async fn insert_group_grants(
    conn: &mut AnyConnection,
    actor: &Actor,
    account_id: AccountId,
    group_id: GroupId,
    grants: &[Grant],
    at: OffsetDateTime,
) -> Result<(), StoreError> {
    for g in grants {
        sqlx::query(
            "INSERT INTO group_grants (group_id, permission_set, project_id, writable_envs, created_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(group_id.0)
        .bind(g.set.slug())
        .bind(crate::grant_rows::project_of(g))
        .bind(i64::from(g.writable_envs.bits()))
        .bind(crate::db_time::db_time(at))
        .execute(&mut *conn)
        .await?;
        let ctx = json!({"group_id": group_id.0, "grant": g.to_string()});
        record(
            conn,
            actor,
            AuditEvent {
                account_id: Some(account_id),
                event_type: "permission.added",
                target_type: "group",
                target_id: Some(group_id.0),
                context: ctx,
                at,
            },
        )
        .await?;
    }
    Ok(())
}

/// Puts a user in a group (once), audited as `group.user.added`.
pub(crate) async fn insert_group_member(
    conn: &mut AnyConnection,
    actor: &Actor,
    account_id: AccountId,
    group_id: GroupId,
    user_id: UserId,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO group_members (group_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
    )
    .bind(group_id.0)
    .bind(user_id.0)
    .execute(&mut *conn)
    .await
    .map_err(|e| match e {
        sqlx::Error::Database(ref db) if db.is_foreign_key_violation() => {
            StoreError::NotFound("user")
        }
        e => e.into(),
    })?;
    let ctx = json!({"group_id": group_id.0, "user_id": user_id.0});
    record(
        conn,
        actor,
        AuditEvent {
            account_id: Some(account_id),
            event_type: "group.user.added",
            target_type: "group",
            target_id: Some(group_id.0),
            context: ctx,
            at: now(),
        },
    )
    .await?;
    append(conn, account_id, ChangeKind::User(user_id)).await?;
    Ok(())
}
