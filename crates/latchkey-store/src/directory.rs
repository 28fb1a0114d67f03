//! Who and what an account holds, as the admin API manages it: groups and their grants, members
//! and their seats, projects. Every command checks, inside its transaction, that the things it
//! names belong to the account, and that a grantor never hands out more than it holds.

use crate::accounts::input::check_name;
use crate::accounts::insert::{
    insert_group, insert_group_grants, insert_group_member, insert_project,
};
use crate::accounts::read::{check_projects, fetch_account, fetch_membership};
use crate::audit::{record, AuditEvent};
use crate::changes::{append, append_group_members, ChangeKind};
use crate::grant_rows::grant_from_row;
use crate::records::{Actor, Project, State, StoredGrant};
use crate::{now, Store, StoreError};
use latchkey_core::{
    check_may_grant_to_group, AccountId, Authority, EffectivePermissions, Grant, GroupId, License,
    Plan, ProjectId, UserAccess, UserId,
};
use serde_json::json;
use sqlx::{AnyConnection, Row};
use time::OffsetDateTime;

/// A group with its grants and members.
#[derive(Clone, Debug)]
pub struct Group {
    /// Id.
    pub id: GroupId,
    /// Owning account.
    pub account_id: AccountId,
    /// Name (unique in the account).
    pub name: String,
    /// Active or deleted.
    pub state: State,
    /// Its grants.
    pub grants: Vec<StoredGrant>,
    /// Its members.
    pub members: Vec<UserId>,
    /// Created.
    pub created_at: OffsetDateTime,
    /// Last changed.
    pub updated_at: OffsetDateTime,
}

/// A user's seat in an account.
#[derive(Clone, Debug)]
pub struct Member {
    /// The user.
    pub user_id: UserId,
    /// Their e-mail.
    pub email: String,
    /// Their license.
    pub license: License,
    /// Active, or removed from the account.
    pub state: State,
    /// Their active groups in the account.
    pub groups: Vec<GroupId>,
    /// When the seat was given.
    pub created_at: OffsetDateTime,
}

async fn load_groups(
    conn: &mut AnyConnection,
    account_id: AccountId,
    only: Option<GroupId>,
) -> Result<Vec<Group>, StoreError> {
    let rows = sqlx::query(
        "SELECT id, name, state, created_at, updated_at FROM groups
         WHERE account_id = $1 AND ($2 IS NULL OR id = $2) ORDER BY id",
    )
    .bind(account_id.0)
    .bind(only.map(|g| g.0))
    .fetch_all(&mut *conn)
    .await?;
    let mut groups = Vec::with_capacity(rows.len());
    for r in &rows {
        let id = GroupId(r.try_get("id")?);
        let grants = sqlx::query(
            "SELECT id, permission_set, project_id, writable_envs, created_at FROM group_grants WHERE group_id = $1 ORDER BY id",
        )
        .bind(id.0)
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(grant_from_row)
        .collect::<Result<Vec<_>, _>>()?;
        let members: Vec<i64> = sqlx::query_scalar(
            "SELECT user_id FROM group_members WHERE group_id = $1 ORDER BY user_id",
        )
        .bind(id.0)
        .fetch_all(&mut *conn)
        .await?;
        groups.push(Group {
            id,
            account_id,
            name: r.try_get("name")?,
            state: State::from_db(r.try_get("state")?),
            grants,
            members: members.into_iter().map(UserId).collect(),
            created_at: crate::db_time::time_at(r, "created_at")?,
            updated_at: crate::db_time::time_at(r, "updated_at")?,
        });
    }
    Ok(groups)
}

async fn one_group(
    conn: &mut AnyConnection,
    account_id: AccountId,
    id: GroupId,
) -> Result<Group, StoreError> {
    load_groups(conn, account_id, Some(id))
        .await?
        .pop()
        .ok_or(StoreError::NotFound("group"))
}

async fn load_members(
    conn: &mut AnyConnection,
    account_id: AccountId,
    only: Option<UserId>,
) -> Result<Vec<Member>, StoreError> {
    let rows = sqlx::query(
        "SELECT m.user_id, u.email, m.license, m.state, m.created_at FROM memberships m
         JOIN users u ON u.id = m.user_id
         WHERE m.account_id = $1 AND ($2 IS NULL OR m.user_id = $2) ORDER BY u.email_key",
    )
    .bind(account_id.0)
    .bind(only.map(|u| u.0))
    .fetch_all(&mut *conn)
    .await?;
    let mut members = Vec::with_capacity(rows.len());
    for r in &rows {
        let user_id = UserId(r.try_get("user_id")?);
        let groups: Vec<i64> = sqlx::query_scalar(
            "SELECT g.id FROM group_members gm JOIN groups g ON g.id = gm.group_id
             WHERE gm.user_id = $1 AND g.account_id = $2 AND g.state = 1 ORDER BY g.id",
        )
        .bind(user_id.0)
        .bind(account_id.0)
        .fetch_all(&mut *conn)
        .await?;
        members.push(Member {
            user_id,
            email: r.try_get("email")?,
            license: r.try_get::<String, _>("license")?.parse()?,
            state: State::from_db(r.try_get("state")?),
            groups: groups.into_iter().map(GroupId).collect(),
            created_at: crate::db_time::time_at(r, "created_at")?,
        });
    }
    Ok(members)
}

/// The account's plan, refusing an account that is gone.
/// What a group's grants give its members, on the widest plan: the measure of the group's power.
fn group_permissions(group: &Group) -> EffectivePermissions {
    let grants: Vec<Grant> = group.grants.iter().map(|g| g.grant).collect();
    EffectivePermissions::compile(&grants, |_| true)
}

async fn plan_of(
    conn: &mut AnyConnection,
    account_id: AccountId,
) -> Result<latchkey_core::Plan, StoreError> {
    Ok(fetch_account(conn, account_id)
        .await?
        .filter(|a| a.state == State::Active)
        .ok_or(StoreError::NotFound("account"))?
        .plan)
}

/// Writes a group's grants in place of the old ones, audited grant by grant.
async fn write_group_grants(
    conn: &mut AnyConnection,
    actor: &Actor,
    group: &Group,
    grants: &[Grant],
) -> Result<(), StoreError> {
    let at = now();
    sqlx::query("DELETE FROM group_grants WHERE group_id = $1")
        .bind(group.id.0)
        .execute(&mut *conn)
        .await?;
    for old in &group.grants {
        let ctx = json!({"group_id": group.id.0, "grant": old.grant.to_string()});
        record(
            conn,
            actor,
            AuditEvent {
                account_id: Some(group.account_id),
                event_type: "permission.removed",
                target_type: "group",
                target_id: Some(group.id.0),
                context: ctx,
                at,
            },
        )
        .await?;
    }
    insert_group_grants(conn, actor, group.account_id, group.id, grants, at).await?;
    Ok(())
}

/// A named, soft-deletable row: which table, what the audit log calls it, and how it is now.
struct Named<'a> {
    table: &'static str,
    kind: &'static str,
    id: i64,
    name: &'a str,
    state: State,
}

/// Renames a row (audited `KIND.changed`) and/or deletes it (state 2, `KIND.removed`); a name
/// or state it already has changes nothing.
async fn rename_or_delete(
    conn: &mut AnyConnection,
    actor: &Actor,
    account_id: AccountId,
    row: Named<'_>,
    name: Option<&str>,
    state: Option<State>,
) -> Result<(), StoreError> {
    let at = now();
    if let Some(name) = name.filter(|n| *n != row.name) {
        sqlx::query(&format!(
            "UPDATE {} SET name = $1, updated_at = $2 WHERE id = $3",
            row.table
        ))
        .bind(name)
        .bind(crate::db_time::db_time(at))
        .bind(row.id)
        .execute(&mut *conn)
        .await?;
        let ctx = json!({"from": row.name, "to": name});
        let event = format!("{}.changed", row.kind);
        record(
            conn,
            actor,
            AuditEvent {
                account_id: Some(account_id),
                event_type: &event,
                target_type: row.kind,
                target_id: Some(row.id),
                context: ctx,
                at,
            },
        )
        .await?;
    }
    if state == Some(State::Deleted) && row.state == State::Active {
        sqlx::query(&format!(
            "UPDATE {} SET state = 2, updated_at = $1 WHERE id = $2",
            row.table
        ))
        .bind(crate::db_time::db_time(at))
        .bind(row.id)
        .execute(&mut *conn)
        .await?;
        let event = format!("{}.removed", row.kind);
        record(
            conn,
            actor,
            AuditEvent {
                account_id: Some(account_id),
                event_type: &event,
                target_type: row.kind,
                target_id: Some(row.id),
                context: json!({"name": row.name}),
                at,
            },
        )
        .await?;
    }
    Ok(())
}

impl Store {
    /// The account's groups (active and deleted), oldest first.
    pub async fn groups(&self, account_id: AccountId) -> Result<Vec<Group>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        load_groups(&mut conn, account_id, None).await
    }

    /// One group of the account.
    pub async fn group(
        &self,
        account_id: AccountId,
        id: GroupId,
    ) -> Result<Option<Group>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        Ok(load_groups(&mut conn, account_id, Some(id)).await?.pop())
    }

    /// Creates a group with grants no wider than `authority` holds.
    pub async fn create_group(
        &self,
        actor: &Actor,
        authority: Authority<'_>,
        account_id: AccountId,
        name: &str,
        grants: &[Grant],
    ) -> Result<Group, StoreError> {
        check_name("group name", name)?;
        let mut tx = self.write().await?;
        let held = crate::authority::current(&mut tx, actor, account_id, authority).await?;
        let authority = held.authority();
        let plan = plan_of(&mut tx, account_id).await?;
        check_may_grant_to_group(authority, plan, grants)?;
        check_projects(&mut tx, account_id, grants).await?;
        let id = insert_group(&mut tx, actor, account_id, name, grants)
            .await
            .map_err(|e| match e {
                StoreError::Conflict(_) => {
                    StoreError::Conflict(format!("a group named \"{name}\" exists already"))
                }
                e => e,
            })?;
        let group = one_group(&mut tx, account_id, id).await?;
        tx.commit().await?;
        Ok(group)
    }

    /// Renames a group and/or deletes it (state 2: its members lose its grants at once).
    /// `authority` must hold everything the group holds.
    pub async fn update_group(
        &self,
        actor: &Actor,
        authority: Authority<'_>,
        account_id: AccountId,
        id: GroupId,
        name: Option<&str>,
        state: Option<State>,
    ) -> Result<Group, StoreError> {
        if let Some(name) = name {
            check_name("group name", name)?;
        }
        let mut tx = self.write().await?;
        let held = crate::authority::current(&mut tx, actor, account_id, authority).await?;
        let authority = held.authority();
        let before = one_group(&mut tx, account_id, id).await?;
        authority.check_existing(&group_permissions(&before))?;
        if before.state == State::Deleted && state == Some(State::Active) {
            return Err(StoreError::Conflict(
                "a deleted group cannot be restored; create a new one".into(),
            ));
        }
        rename_or_delete(
            &mut tx,
            actor,
            account_id,
            Named {
                table: "groups",
                kind: "group",
                id: id.0,
                name: &before.name,
                state: before.state,
            },
            name,
            state,
        )
        .await?;
        append_group_members(&mut tx, account_id, id).await?;
        let group = one_group(&mut tx, account_id, id).await?;
        tx.commit().await?;
        Ok(group)
    }

    /// Replaces a group's grants wholesale: `authority` must hold everything the group holds
    /// now and everything it will hold.
    pub async fn replace_group_grants(
        &self,
        actor: &Actor,
        authority: Authority<'_>,
        account_id: AccountId,
        id: GroupId,
        grants: &[Grant],
    ) -> Result<Group, StoreError> {
        let mut tx = self.write().await?;
        let held = crate::authority::current(&mut tx, actor, account_id, authority).await?;
        let authority = held.authority();
        let plan = plan_of(&mut tx, account_id).await?;
        let group = one_group(&mut tx, account_id, id).await?;
        if group.state != State::Active {
            return Err(StoreError::Conflict(
                "a deleted group's permissions cannot change".into(),
            ));
        }
        authority.check_existing(&group_permissions(&group))?;
        check_may_grant_to_group(authority, plan, grants)?;
        check_projects(&mut tx, account_id, grants).await?;
        write_group_grants(&mut tx, actor, &group, grants).await?;
        append_group_members(&mut tx, account_id, id).await?;
        let group = one_group(&mut tx, account_id, id).await?;
        tx.commit().await?;
        Ok(group)
    }

    /// Makes a member's groups exactly `desired`. `authority` must hold everything the member
    /// holds before and after, and every group the member joins.
    pub async fn assign_groups(
        &self,
        actor: &Actor,
        authority: Authority<'_>,
        account_id: AccountId,
        user_id: UserId,
        desired: &[GroupId],
    ) -> Result<Member, StoreError> {
        let mut tx = self.write().await?;
        let held = crate::authority::current(&mut tx, actor, account_id, authority).await?;
        let authority = held.authority();
        let plan = plan_of(&mut tx, account_id).await?;
        let member = load_members(&mut tx, account_id, Some(user_id))
            .await?
            .pop()
            .filter(|m| m.state == State::Active)
            .ok_or(StoreError::NotFound("user"))?;
        let mut joining = Vec::new();
        for id in desired {
            let group = load_groups(&mut tx, account_id, Some(*id))
                .await?
                .pop()
                .filter(|g| g.state == State::Active)
                .ok_or_else(|| {
                    StoreError::Conflict(format!(
                        "group {} does not exist in account {account_id}",
                        id.0
                    ))
                })?;
            if !member.groups.contains(id) {
                joining.push(group);
            }
        }
        let new_grants: Vec<Grant> = joining
            .iter()
            .flat_map(|g| g.grants.iter().map(|s| s.grant))
            .collect();
        check_may_grant_to_group(authority, plan, &new_grants)?;
        let current = fetch_membership(&mut tx, account_id, user_id)
            .await?
            .ok_or(StoreError::NotFound("user"))?;
        let mut kept: Vec<Grant> = Vec::new();
        for id in desired {
            if let Some(g) = load_groups(&mut tx, account_id, Some(*id)).await?.pop() {
                kept.extend(g.grants.iter().map(|s| s.grant));
            }
        }
        let after = UserAccess {
            license: current.license,
            group_grants: kept,
        };
        authority.check_change(
            Some(&current.access.permissions(Plan::Enterprise)),
            Some(&after.permissions(plan)),
        )?;
        for group in &joining {
            insert_group_member(&mut tx, actor, account_id, group.id, user_id).await?;
        }
        let at = now();
        for left in member.groups.iter().filter(|g| !desired.contains(g)) {
            sqlx::query("DELETE FROM group_members WHERE group_id = $1 AND user_id = $2")
                .bind(left.0)
                .bind(user_id.0)
                .execute(&mut *tx)
                .await?;
            let ctx = json!({"group_id": left.0, "user_id": user_id.0});
            record(
                &mut tx,
                actor,
                AuditEvent {
                    account_id: Some(account_id),
                    event_type: "group.user.removed",
                    target_type: "group",
                    target_id: Some(left.0),
                    context: ctx,
                    at,
                },
            )
            .await?;
        }
        append(&mut tx, account_id, ChangeKind::User(user_id)).await?;
        let member = load_members(&mut tx, account_id, Some(user_id))
            .await?
            .pop()
            .ok_or(StoreError::NotFound("user"))?;
        tx.commit().await?;
        Ok(member)
    }

    /// The account's members (active and removed), by e-mail.
    pub async fn members(&self, account_id: AccountId) -> Result<Vec<Member>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        load_members(&mut conn, account_id, None).await
    }

    /// One member of the account.
    pub async fn member(
        &self,
        account_id: AccountId,
        user_id: UserId,
    ) -> Result<Option<Member>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        Ok(load_members(&mut conn, account_id, Some(user_id))
            .await?
            .pop())
    }

    /// The account's projects (active and deleted), oldest first.
    pub async fn projects(&self, account_id: AccountId) -> Result<Vec<Project>, StoreError> {
        self.load_projects(account_id, None).await
    }

    /// One project of the account.
    pub async fn project(
        &self,
        account_id: AccountId,
        id: ProjectId,
    ) -> Result<Option<Project>, StoreError> {
        Ok(self.load_projects(account_id, Some(id)).await?.pop())
    }

    async fn load_projects(
        &self,
        account_id: AccountId,
        only: Option<ProjectId>,
    ) -> Result<Vec<Project>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, name, state, created_at FROM projects
             WHERE account_id = $1 AND ($2 IS NULL OR id = $2) ORDER BY id",
        )
        .bind(account_id.0)
        .bind(only.map(|p| p.0))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Project {
                    id: ProjectId(r.try_get("id")?),
                    account_id,
                    name: r.try_get("name")?,
                    state: State::from_db(r.try_get("state")?),
                    created_at: crate::db_time::time_at(r, "created_at")?,
                })
            })
            .collect()
    }

    /// Creates a project (checked like every name), audited as `project.added`.
    pub async fn create_project(
        &self,
        actor: &Actor,
        account_id: AccountId,
        name: &str,
    ) -> Result<Project, StoreError> {
        check_name("project name", name)?;
        let mut tx = self.write().await?;
        plan_of(&mut tx, account_id).await?;
        let project = insert_project(&mut tx, actor, account_id, name).await?;
        tx.commit().await?;
        Ok(project)
    }

    /// Renames a project and/or deletes it (state 2: grants on it stop counting at once).
    pub async fn update_project(
        &self,
        actor: &Actor,
        account_id: AccountId,
        id: ProjectId,
        name: Option<&str>,
        state: Option<State>,
    ) -> Result<Project, StoreError> {
        if let Some(name) = name {
            check_name("project name", name)?;
        }
        let before = self
            .project(account_id, id)
            .await?
            .ok_or(StoreError::NotFound("project"))?;
        if before.state == State::Deleted && state == Some(State::Active) {
            return Err(StoreError::Conflict(
                "a deleted project cannot be restored".into(),
            ));
        }
        let mut tx = self.write().await?;
        rename_or_delete(
            &mut tx,
            actor,
            account_id,
            Named {
                table: "projects",
                kind: "project",
                id: id.0,
                name: &before.name,
                state: before.state,
            },
            name,
            state,
        )
        .await?;
        append(&mut tx, account_id, ChangeKind::Project(id)).await?;
        tx.commit().await?;
        self.project(account_id, id)
            .await?
            .ok_or(StoreError::NotFound("project"))
    }
}
