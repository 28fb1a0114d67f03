//! Accounts, projects, users, memberships and groups, and the first-start bootstrap.

use crate::audit::record;
use crate::changes::{append, append_group_members, ChangeKind};
use crate::records::*;
use crate::tokens::{insert_service_token, load_service_token};
use crate::{now, Store, StoreError};
use latchkey_core::principal::{check_license_on_plan, owner_set};
use latchkey_core::{
    catalog, AccountId, Authority, Email, Grant, GroupId, License, Plan, ProjectId, Scope, Secret,
    UserAccess, UserId,
};
use serde_json::json;
use sqlx::{Row, SqliteConnection};

/// The one rule for passwords people choose: 12 to 1024 characters.
pub(crate) fn check_password(password: &Secret) -> Result<(), StoreError> {
    let n = password.expose().chars().count();
    if !(12..=1024).contains(&n) {
        return Err(StoreError::field(
            "password",
            "a password needs 12 to 1024 characters",
        ));
    }
    Ok(())
}

/// Parses an e-mail address, refusing it as the `email` field.
pub(crate) fn parse_email(text: &str) -> Result<Email, StoreError> {
    Email::parse(text).map_err(|e| StoreError::field("email", e.to_string()))
}

/// Invisible characters that reorder or hide text (bidirectional controls, zero-width space,
/// word joiners, BOM, soft hyphen): a name holding one can show as something it is not.
fn is_deceptive(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{061C}' | '\u{180E}' | '\u{200B}' | '\u{200E}' | '\u{200F}'
        | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{2069}'
        | '\u{FEFF}' | '\u{FFF9}'..='\u{FFFB}')
}

/// The one rule for names (accounts, projects, groups, tokens, IP rules): 1 to 255
/// characters, something visible in them, no control characters and no characters that reorder
/// or hide text. (Zero-width joiners stay allowed for emoji and scripts that need them.)
pub(crate) fn check_name(what: &str, name: &str) -> Result<(), StoreError> {
    let visible = name
        .chars()
        .any(|c| !c.is_whitespace() && c != '\u{200C}' && c != '\u{200D}');
    if !visible
        || name.chars().count() > 255
        || name.chars().any(|c| c.is_control() || is_deceptive(c))
    {
        return Err(StoreError::field("name", format!(
            "{what} must be 1 to 255 characters, not all blank, with no control characters and no invisible characters that reorder or hide text"
        )));
    }
    Ok(())
}

impl Store {
    /// True if no account exists yet (a first start).
    pub async fn is_empty(&self) -> Result<bool, StoreError> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM accounts")
            .fetch_one(&self.pool)
            .await?;
        Ok(n == 0)
    }

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
        let token = load_service_token(&mut tx, id)
            .await?
            .ok_or(StoreError::NotFound("service token"))?;
        tx.commit().await?;
        Ok(Some(Bootstrapped {
            account,
            project,
            admin,
            owner_group,
            token,
        }))
    }

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
        sqlx::query("UPDATE accounts SET plan = ?, updated_at = ? WHERE id = ?")
            .bind(plan.as_str())
            .bind(now())
            .bind(account_id.0)
            .execute(&mut *tx)
            .await?;
        let ctx = json!({"from": before.plan.as_str(), "to": plan.as_str()});
        record(
            &mut tx,
            actor,
            Some(account_id),
            "account.plan.changed",
            "account",
            Some(account_id.0),
            ctx,
            now(),
        )
        .await?;
        append(&mut tx, account_id, ChangeKind::Account).await?;
        let account = fetch_account(&mut tx, account_id)
            .await?
            .ok_or(StoreError::NotFound("account"))?;
        tx.commit().await?;
        Ok(account)
    }

    /// One account.
    pub async fn account(&self, id: AccountId) -> Result<Option<Account>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        fetch_account(&mut conn, id).await
    }

    /// Creates a project in an account.
    pub async fn create_project(
        &self,
        actor: &Actor,
        account_id: AccountId,
        name: &str,
    ) -> Result<Project, StoreError> {
        check_name("project name", name)?;
        let mut tx = self.write().await?;
        let account = fetch_account(&mut tx, account_id).await?;
        if !matches!(
            account,
            Some(Account {
                state: State::Active,
                ..
            })
        ) {
            return Err(StoreError::NotFound("account"));
        }
        let project = insert_project(&mut tx, actor, account_id, name).await?;
        tx.commit().await?;
        Ok(project)
    }

    /// Which account a project belongs to (deleted projects included, marked inactive).
    pub async fn project_owner(
        &self,
        project_id: ProjectId,
    ) -> Result<Option<ProjectOwner>, StoreError> {
        let row = sqlx::query("SELECT account_id, state FROM projects WHERE id = ?")
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
        let held = crate::authority::current(&mut tx, actor, account_id, authority).await?;
        let authority = held.authority();
        let account = fetch_account(&mut tx, account_id)
            .await?
            .ok_or(StoreError::NotFound("account"))?;
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
        let done = sqlx::query("UPDATE memberships SET state = 2, updated_at = ? WHERE account_id = ? AND user_id = ? AND state = 1")
            .bind(now())
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
            Some(account_id),
            "user.removed",
            "user",
            Some(user_id.0),
            ctx,
            now(),
        )
        .await?;
        end_seat(&mut tx, actor, account_id, user_id).await?;
        append(&mut tx, account_id, ChangeKind::User(user_id)).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Creates a group with grants.
    pub async fn create_group(
        &self,
        actor: &Actor,
        account_id: AccountId,
        name: &str,
        grants: &[Grant],
    ) -> Result<GroupId, StoreError> {
        check_name("group name", name)?;
        let mut tx = self.write().await?;
        let account = fetch_account(&mut tx, account_id)
            .await?
            .ok_or(StoreError::NotFound("account"))?;
        latchkey_core::mint::check_group_grants(account.plan, grants)?;
        check_projects(&mut tx, account_id, grants).await?;
        let id = insert_group(&mut tx, actor, account_id, name, grants).await?;
        tx.commit().await?;
        Ok(id)
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
            sqlx::query_scalar("SELECT account_id FROM groups WHERE id = ? AND state = 1")
                .bind(group_id.0)
                .fetch_optional(&mut *tx)
                .await?
                .ok_or(StoreError::NotFound("group"))?;
        check_user_of(&mut tx, AccountId(account_id), user_id).await?;
        insert_group_member(&mut tx, actor, AccountId(account_id), group_id, user_id).await?;
        tx.commit().await?;
        Ok(())
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

/// Ends what a removed seat carried: group memberships (`group.user.removed`) and personal
/// access tokens (`account_scoped_pat.deleted`), each audited.
async fn end_seat(
    conn: &mut SqliteConnection,
    actor: &Actor,
    account_id: AccountId,
    user_id: UserId,
) -> Result<(), StoreError> {
    let at = now();
    let groups: Vec<i64> = sqlx::query_scalar(
        "SELECT gm.group_id FROM group_members gm JOIN groups g ON g.id = gm.group_id
         WHERE g.account_id = ? AND gm.user_id = ?",
    )
    .bind(account_id.0)
    .bind(user_id.0)
    .fetch_all(&mut *conn)
    .await?;
    for group in groups {
        sqlx::query("DELETE FROM group_members WHERE group_id = ? AND user_id = ?")
            .bind(group)
            .bind(user_id.0)
            .execute(&mut *conn)
            .await?;
        let ctx = json!({"group_id": group, "user_id": user_id.0});
        record(
            conn,
            actor,
            Some(account_id),
            "group.user.removed",
            "group",
            Some(group),
            ctx,
            at,
        )
        .await?;
    }
    let tokens: Vec<(i64, String)> = sqlx::query_as(
        "SELECT id, name FROM personal_tokens WHERE account_id = ? AND user_id = ? AND state = 1",
    )
    .bind(account_id.0)
    .bind(user_id.0)
    .fetch_all(&mut *conn)
    .await?;
    for (id, name) in tokens {
        sqlx::query("UPDATE personal_tokens SET state = 2, updated_at = ? WHERE id = ?")
            .bind(at)
            .bind(id)
            .execute(&mut *conn)
            .await?;
        record(
            conn,
            actor,
            Some(account_id),
            "account_scoped_pat.deleted",
            "personal_access_token",
            Some(id),
            json!({"name": name}),
            at,
        )
        .await?;
    }
    Ok(())
}

pub(crate) async fn fetch_account(
    conn: &mut SqliteConnection,
    id: AccountId,
) -> Result<Option<Account>, StoreError> {
    let row = sqlx::query("SELECT id, name, plan, state, created_at FROM accounts WHERE id = ?")
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
            created_at: r.try_get("created_at")?,
        })
    })
    .transpose()
}

/// A user's active seat in an account with the grants of their active groups there.
pub(crate) async fn fetch_membership(
    conn: &mut SqliteConnection,
    account_id: AccountId,
    user_id: UserId,
) -> Result<Option<Membership>, StoreError> {
    let license: Option<String> = sqlx::query_scalar(
        "SELECT m.license FROM memberships m JOIN users u ON u.id = m.user_id
         WHERE m.account_id = ? AND m.user_id = ? AND m.state = 1 AND u.state = 1",
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
         WHERE g.account_id = ? AND g.state = 1 AND gm.user_id = ?",
    )
    .bind(account_id.0)
    .bind(user_id.0)
    .fetch_all(&mut *conn)
    .await?;
    let group_grants = rows
        .iter()
        .map(crate::tokens::grant_from_row)
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
    conn: &mut SqliteConnection,
    account_id: AccountId,
    grants: &[Grant],
) -> Result<(), StoreError> {
    for g in grants {
        if let Scope::Project(p) = g.scope {
            let ok: Option<i64> = sqlx::query_scalar(
                "SELECT id FROM projects WHERE id = ? AND account_id = ? AND state = 1",
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

async fn insert_account(
    conn: &mut SqliteConnection,
    actor: &Actor,
    name: &str,
    plan: Plan,
) -> Result<Account, StoreError> {
    let at = now();
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO accounts (name, plan, created_at, updated_at) VALUES (?, ?, ?, ?) RETURNING id",
    )
    .bind(name)
    .bind(plan.as_str())
    .bind(at)
    .bind(at)
    .fetch_one(&mut *conn)
    .await?;
    let id = AccountId(id);
    record(
        conn,
        actor,
        Some(id),
        "account.added",
        "account",
        Some(id.0),
        json!({"name": name, "plan": plan.as_str()}),
        at,
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

pub(crate) async fn insert_project(
    conn: &mut SqliteConnection,
    actor: &Actor,
    account_id: AccountId,
    name: &str,
) -> Result<Project, StoreError> {
    let at = now();
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO projects (account_id, name, created_at, updated_at) VALUES (?, ?, ?, ?) RETURNING id",
    )
    .bind(account_id.0)
    .bind(name)
    .bind(at)
    .bind(at)
    .fetch_one(&mut *conn)
    .await?;
    record(
        conn,
        actor,
        Some(account_id),
        "project.added",
        "project",
        Some(id),
        json!({"name": name}),
        at,
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

/// Refuses a user who is not the account's own (as not found: other accounts' users are not
/// there to be seen).
pub(crate) async fn check_user_of(
    conn: &mut SqliteConnection,
    account_id: AccountId,
    user_id: UserId,
) -> Result<(), StoreError> {
    let owner: Option<i64> = sqlx::query_scalar("SELECT account_id FROM users WHERE id = ?")
        .bind(user_id.0)
        .fetch_optional(&mut *conn)
        .await?;
    match owner {
        Some(a) if a == account_id.0 => Ok(()),
        _ => Err(StoreError::NotFound("user")),
    }
}

pub(crate) async fn insert_user(
    conn: &mut SqliteConnection,
    actor: &Actor,
    account_id: AccountId,
    email: &Email,
    password_hash: Option<&str>,
) -> Result<User, StoreError> {
    let email = email.as_str();
    let at = now();
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO users (account_id, email, password_hash, created_at, updated_at) VALUES (?, ?, ?, ?, ?) RETURNING id",
    )
    .bind(account_id.0)
    .bind(email)
    .bind(password_hash)
    .bind(at)
    .bind(at)
    .fetch_one(&mut *conn)
    .await?;
    record(
        conn,
        actor,
        Some(account_id),
        "user.created",
        "user",
        Some(id),
        json!({"email": email}),
        at,
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

pub(crate) async fn insert_membership(
    conn: &mut SqliteConnection,
    actor: &Actor,
    account_id: AccountId,
    user_id: UserId,
    license: License,
) -> Result<(), StoreError> {
    let at = now();
    sqlx::query(
        "INSERT INTO memberships (account_id, user_id, license, state, created_at, updated_at) VALUES (?, ?, ?, 1, ?, ?)
         ON CONFLICT (account_id, user_id) DO UPDATE SET license = excluded.license, state = 1, updated_at = excluded.updated_at",
    )
    .bind(account_id.0)
    .bind(user_id.0)
    .bind(license.as_str())
    .bind(at)
    .bind(at)
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
        Some(account_id),
        "user_license.added",
        "user",
        Some(user_id.0),
        ctx,
        at,
    )
    .await?;
    append(conn, account_id, ChangeKind::User(user_id)).await?;
    Ok(())
}

pub(crate) async fn insert_group(
    conn: &mut SqliteConnection,
    actor: &Actor,
    account_id: AccountId,
    name: &str,
    grants: &[Grant],
) -> Result<GroupId, StoreError> {
    let at = now();
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO groups (account_id, name, created_at, updated_at) VALUES (?, ?, ?, ?) RETURNING id",
    )
    .bind(account_id.0)
    .bind(name)
    .bind(at)
    .bind(at)
    .fetch_one(&mut *conn)
    .await?;
    record(
        conn,
        actor,
        Some(account_id),
        "group.added",
        "group",
        Some(id),
        json!({"name": name}),
        at,
    )
    .await?;
    for g in grants {
        sqlx::query(
            "INSERT INTO group_grants (group_id, permission_set, project_id, writable_envs, created_at) VALUES (?, ?, ?, ?, ?)",
        )
        .bind(id)
        .bind(g.set.slug())
        .bind(crate::tokens::project_of(g))
        .bind(i64::from(g.writable_envs.bits()))
        .bind(at)
        .execute(&mut *conn)
        .await?;
        let ctx = json!({"group_id": id, "grant": g.to_string()});
        record(
            conn,
            actor,
            Some(account_id),
            "permission.added",
            "group",
            Some(id),
            ctx,
            at,
        )
        .await?;
    }
    append_group_members(conn, account_id, GroupId(id)).await?;
    Ok(GroupId(id))
}

pub(crate) async fn insert_group_member(
    conn: &mut SqliteConnection,
    actor: &Actor,
    account_id: AccountId,
    group_id: GroupId,
    user_id: UserId,
) -> Result<(), StoreError> {
    sqlx::query("INSERT OR IGNORE INTO group_members (group_id, user_id) VALUES (?, ?)")
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
        Some(account_id),
        "group.user.added",
        "group",
        Some(group_id.0),
        ctx,
        now(),
    )
    .await?;
    append(conn, account_id, ChangeKind::User(user_id)).await?;
    Ok(())
}
