//! Invitations: an account offers a seat (license and groups) to an e-mail address through a
//! one-time code, kept only as its SHA-256. Redeeming it makes the user if needed and gives the
//! seat, in one transaction. Nobody invites into groups beyond what they hold.

use crate::accounts::{
    fetch_account, hash_password, insert_group_member, insert_membership, insert_user,
};
use crate::audit::record;
use crate::changes::{append, ChangeKind};
use crate::records::{Actor, ActorKind, State};
use crate::{now, Store, StoreError};
use latchkey_core::{
    check_may_grant_to_group, AccountId, EffectivePermissions, Grant, GroupId, License, Secret,
    TokenDigest, UserId,
};
use serde_json::json;
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqliteConnection};
use time::OffsetDateTime;

/// An invitation as stored (never its code).
#[derive(Clone, Debug)]
pub struct Invite {
    /// Id.
    pub id: i64,
    /// The inviting account.
    pub account_id: AccountId,
    /// Who is invited.
    pub email: String,
    /// The seat offered.
    pub license: License,
    /// Groups joined on redemption.
    pub groups: Vec<GroupId>,
    /// Pending, or withdrawn/used.
    pub state: State,
    /// Created.
    pub created_at: OffsetDateTime,
    /// The code stops working then.
    pub expires_at: OffsetDateTime,
    /// When it was used, if it was.
    pub redeemed_at: Option<OffsetDateTime>,
    /// Who used it.
    pub redeemed_user_id: Option<UserId>,
}

fn invite_from_row(r: &SqliteRow) -> Result<Invite, StoreError> {
    let groups: String = r.try_get("group_ids")?;
    Ok(Invite {
        id: r.try_get("id")?,
        account_id: AccountId(r.try_get("account_id")?),
        email: r.try_get("email")?,
        license: r.try_get::<String, _>("license")?.parse()?,
        groups: groups
            .split_whitespace()
            .filter_map(|g| g.parse().ok().map(GroupId))
            .collect(),
        state: State::from_db(r.try_get("state")?),
        created_at: r.try_get("created_at")?,
        expires_at: r.try_get("expires_at")?,
        redeemed_at: r.try_get("redeemed_at")?,
        redeemed_user_id: r.try_get::<Option<i64>, _>("redeemed_user_id")?.map(UserId),
    })
}

async fn group_grants(
    conn: &mut SqliteConnection,
    account_id: AccountId,
    groups: &[GroupId],
) -> Result<Vec<Grant>, StoreError> {
    let mut grants = Vec::new();
    for g in groups {
        let active: Option<i64> = sqlx::query_scalar(
            "SELECT id FROM groups WHERE id = ? AND account_id = ? AND state = 1",
        )
        .bind(g.0)
        .bind(account_id.0)
        .fetch_optional(&mut *conn)
        .await?;
        if active.is_none() {
            return Err(StoreError::Invalid(format!(
                "group {} does not exist in account {account_id}",
                g.0
            )));
        }
        let rows = sqlx::query(
            "SELECT id, permission_set, project_id, writable_envs, created_at FROM group_grants WHERE group_id = ?",
        )
        .bind(g.0)
        .fetch_all(&mut *conn)
        .await?;
        for r in &rows {
            grants.push(crate::tokens::grant_from_row(r)?.grant);
        }
    }
    Ok(grants)
}

impl Store {
    /// Offers `license` and `groups` in the account to `email` until `expires_at`; the caller
    /// keeps the code (only its digest is stored). Groups may hold no more than `grantor` does.
    #[allow(clippy::too_many_arguments)]
    pub async fn create_invite(
        &self,
        actor: &Actor,
        grantor: Option<&EffectivePermissions>,
        account_id: AccountId,
        email: &str,
        license: License,
        groups: &[GroupId],
        code: &TokenDigest,
        expires_at: OffsetDateTime,
    ) -> Result<Invite, StoreError> {
        let email = email.trim();
        if email.len() > 254
            || !email
                .split_once('@')
                .is_some_and(|(l, d)| !l.is_empty() && d.contains('.'))
            || email.chars().any(|c| c.is_whitespace() || c.is_control())
        {
            return Err(StoreError::field(
                "email",
                format!("`{email}` is not an e-mail address"),
            ));
        }
        if expires_at <= now() {
            return Err(StoreError::Invalid(
                "expires_at must be in the future".into(),
            ));
        }
        let mut tx = self.write().await?;
        let account = fetch_account(&mut tx, account_id)
            .await?
            .filter(|a| a.state == State::Active)
            .ok_or(StoreError::NotFound("account"))?;
        let grants = group_grants(&mut tx, account_id, groups).await?;
        check_may_grant_to_group(grantor, account.plan, &grants)?;
        let at = now();
        let group_text = groups
            .iter()
            .map(|g| g.0.to_string())
            .collect::<Vec<_>>()
            .join(" ");
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO invites (account_id, email, license, group_ids, code_digest, created_at, expires_at)
             VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(account_id.0)
        .bind(email)
        .bind(license.as_str())
        .bind(&group_text)
        .bind(&code.0[..])
        .bind(at)
        .bind(expires_at)
        .fetch_one(&mut *tx)
        .await?;
        let ctx = json!({"email": email, "license": license.as_str(), "group_ids": groups.iter().map(|g| g.0).collect::<Vec<_>>()});
        record(
            &mut tx,
            actor,
            Some(account_id),
            "user.invite.added",
            "invite",
            Some(id),
            ctx,
            at,
        )
        .await?;
        let row = sqlx::query("SELECT * FROM invites WHERE id = ?")
            .bind(id)
            .fetch_one(&mut *tx)
            .await?;
        let invite = invite_from_row(&row)?;
        tx.commit().await?;
        Ok(invite)
    }

    /// The account's invitations, newest first.
    pub async fn invites(&self, account_id: AccountId) -> Result<Vec<Invite>, StoreError> {
        let rows = sqlx::query("SELECT * FROM invites WHERE account_id = ? ORDER BY id DESC")
            .bind(account_id.0)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(invite_from_row).collect()
    }

    /// Withdraws a pending invitation (its code stops working).
    pub async fn withdraw_invite(
        &self,
        actor: &Actor,
        account_id: AccountId,
        id: i64,
    ) -> Result<Invite, StoreError> {
        let mut tx = self.write().await?;
        let row = sqlx::query("SELECT * FROM invites WHERE id = ? AND account_id = ?")
            .bind(id)
            .bind(account_id.0)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(StoreError::NotFound("invite"))?;
        if invite_from_row(&row)?.state == State::Active {
            let at = now();
            sqlx::query("UPDATE invites SET state = 2 WHERE id = ?")
                .bind(id)
                .execute(&mut *tx)
                .await?;
            record(
                &mut tx,
                actor,
                Some(account_id),
                "user.invite.removed",
                "invite",
                Some(id),
                json!({}),
                at,
            )
            .await?;
        }
        let row = sqlx::query("SELECT * FROM invites WHERE id = ?")
            .bind(id)
            .fetch_one(&mut *tx)
            .await?;
        let invite = invite_from_row(&row)?;
        tx.commit().await?;
        Ok(invite)
    }

    /// Redeems a code: `None` when no pending, unexpired invitation has it (one answer for
    /// unknown, used, withdrawn and expired codes). A new user is made with `password`; an
    /// existing one joins as they are. Seat, groups, the used invitation and the audit entry
    /// commit together.
    pub async fn redeem_invite(
        &self,
        code: &TokenDigest,
        password: Option<&Secret>,
        ip: Option<String>,
    ) -> Result<Option<(Invite, UserId)>, StoreError> {
        let hash = password.map(hash_password).transpose()?;
        let mut tx = self.write().await?;
        let row = sqlx::query(
            "SELECT * FROM invites WHERE code_digest = ? AND state = 1 AND expires_at > ?",
        )
        .bind(&code.0[..])
        .bind(now())
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let invite = invite_from_row(&row)?;
        let existing: Option<i64> = sqlx::query_scalar("SELECT id FROM users WHERE email = ?")
            .bind(&invite.email)
            .fetch_optional(&mut *tx)
            .await?;
        let actor = |user: Option<i64>| Actor {
            kind: ActorKind::User,
            id: user,
            name: invite.email.clone(),
            ip: ip.clone(),
            source: "api",
        };
        let user_id = match existing {
            Some(id) => UserId(id),
            None => {
                let hash = hash.as_deref().ok_or_else(|| {
                    StoreError::field(
                        "password",
                        "a new user needs a password (12 characters or more)",
                    )
                })?;
                insert_user(&mut tx, &actor(None), &invite.email, Some(hash))
                    .await?
                    .id
            }
        };
        let actor = actor(Some(user_id.0));
        let seated: Option<i64> = sqlx::query_scalar(
            "SELECT state FROM memberships WHERE account_id = ? AND user_id = ? AND state = 1",
        )
        .bind(invite.account_id.0)
        .bind(user_id.0)
        .fetch_optional(&mut *tx)
        .await?;
        if seated.is_some() {
            return Err(StoreError::Conflict(
                "this user already has a seat in the account".into(),
            ));
        }
        insert_membership(&mut tx, &actor, invite.account_id, user_id, invite.license).await?;
        for g in &invite.groups {
            let active: Option<i64> =
                sqlx::query_scalar("SELECT id FROM groups WHERE id = ? AND state = 1")
                    .bind(g.0)
                    .fetch_optional(&mut *tx)
                    .await?;
            if active.is_some() {
                insert_group_member(&mut tx, &actor, invite.account_id, *g, user_id).await?;
            }
        }
        let at = now();
        sqlx::query(
            "UPDATE invites SET state = 2, redeemed_at = ?, redeemed_user_id = ? WHERE id = ?",
        )
        .bind(at)
        .bind(user_id.0)
        .bind(invite.id)
        .execute(&mut *tx)
        .await?;
        record(
            &mut tx,
            &actor,
            Some(invite.account_id),
            "user.invite.redeemed",
            "invite",
            Some(invite.id),
            json!({"user_id": user_id.0}),
            at,
        )
        .await?;
        append(&mut tx, ChangeKind::Account, Some(invite.account_id), None).await?;
        let row = sqlx::query("SELECT * FROM invites WHERE id = ?")
            .bind(invite.id)
            .fetch_one(&mut *tx)
            .await?;
        let invite = invite_from_row(&row)?;
        tx.commit().await?;
        Ok(Some((invite, user_id)))
    }
}
