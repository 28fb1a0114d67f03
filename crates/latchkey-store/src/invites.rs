//! Invitations: an account offers a seat (license and groups) to an e-mail address through a
//! one-time code, kept only as its SHA-256. Redeeming it makes the account's user if needed and
//! gives the seat, in one transaction. Nobody invites anyone to more than they hold.
//!
//! Users belong to one account, so an invitation never reaches another account's user: the
//! same address elsewhere is another person's login as far as this account knows. An address
//! that already is a user of *this* account (say, a removed member) is seated only on proof of
//! their current password; a password is never silently ignored or overwritten.

use crate::accounts::input::{check_password, parse_email};
use crate::accounts::insert::{insert_group_member, insert_membership, insert_user};
use crate::accounts::read::fetch_account;
use crate::audit::{record, AuditEvent};
use crate::changes::{append, ChangeKind};
use crate::records::{Actor, ActorKind, State};
use crate::{now, Store, StoreError};
use latchkey_core::principal::check_license_on_plan;
use latchkey_core::{
    check_may_grant_to_group, AccountId, Authority, EffectivePermissions, Grant, GroupId, License,
    Plan, Secret, TokenDigest, UserAccess, UserId,
};
use serde_json::json;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};
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

fn invite_from_row(r: &AnyRow) -> Result<Invite, StoreError> {
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
        created_at: crate::db_time::time_at(r, "created_at")?,
        expires_at: crate::db_time::time_at(r, "expires_at")?,
        redeemed_at: crate::db_time::maybe_time_at(r, "redeemed_at")?,
        redeemed_user_id: r.try_get::<Option<i64>, _>("redeemed_user_id")?.map(UserId),
    })
}

async fn group_grants(
    conn: &mut AnyConnection,
    account_id: AccountId,
    groups: &[GroupId],
) -> Result<Vec<Grant>, StoreError> {
    for g in groups {
        let active: Option<i64> = sqlx::query_scalar(
            "SELECT id FROM groups WHERE id = $1 AND account_id = $2 AND state = 1",
        )
        .bind(g.0)
        .bind(account_id.0)
        .fetch_optional(&mut *conn)
        .await?;
        if active.is_none() {
            return Err(StoreError::Conflict(format!(
                "group {} does not exist in account {account_id}",
                g.0
            )));
        }
    }
    live_group_grants(conn, account_id, groups).await
}

/// What a seat gives: its license over the grants of its groups.
fn seat_permissions(
    license: License,
    group_grants: Vec<Grant>,
    plan: Plan,
) -> EffectivePermissions {
    UserAccess {
        license,
        group_grants,
    }
    .permissions(plan)
}

/// The grants of those of `groups` still active in the account (others are passed over; see
/// [`group_grants`] to refuse them).
async fn live_group_grants(
    conn: &mut AnyConnection,
    account_id: AccountId,
    groups: &[GroupId],
) -> Result<Vec<Grant>, StoreError> {
    let mut grants = Vec::new();
    for g in groups {
        let rows = sqlx::query(
            "SELECT gg.permission_set, gg.project_id, gg.writable_envs FROM group_grants gg
             JOIN groups g ON g.id = gg.group_id
             WHERE g.id = $1 AND g.account_id = $2 AND g.state = 1",
        )
        .bind(g.0)
        .bind(account_id.0)
        .fetch_all(&mut *conn)
        .await?;
        for r in &rows {
            grants.push(crate::grant_rows::grant_from_row(r)?.grant);
        }
    }
    Ok(grants)
}

impl Store {
    /// Offers `license` and `groups` in the account to `email` until `expires_at`; the caller
    /// keeps the code (only its digest is stored). The seat — license and groups together —
    /// may hold no more than `authority` does, and the license must be one the plan offers.
    #[allow(clippy::too_many_arguments)]
    pub async fn create_invite(
        &self,
        actor: &Actor,
        authority: Authority<'_>,
        account_id: AccountId,
        email: &str,
        license: License,
        groups: &[GroupId],
        code: &TokenDigest,
        expires_at: OffsetDateTime,
    ) -> Result<Invite, StoreError> {
        let email = parse_email(email)?;
        let email = email.as_str();
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
        let held = crate::authority::current_in(&mut tx, actor, &account, authority).await?;
        let authority = held.authority();
        let grants = group_grants(&mut tx, account_id, groups).await?;
        check_license_on_plan(account.plan, license)?;
        check_may_grant_to_group(authority, account.plan, &grants)?;
        authority.check_new(&seat_permissions(license, grants, account.plan))?;
        let at = now();
        let group_text = groups
            .iter()
            .map(|g| g.0.to_string())
            .collect::<Vec<_>>()
            .join(" ");
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO invites (account_id, email, license, group_ids, code_digest, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(account_id.0)
        .bind(email)
        .bind(license.as_str())
        .bind(&group_text)
        .bind(&code.0[..])
        .bind(crate::db_time::db_time(at))
        .bind(crate::db_time::db_time(expires_at))
        .fetch_one(&mut *tx)
        .await?;
        let ctx = json!({"email": email, "license": license.as_str(), "group_ids": groups.iter().map(|g| g.0).collect::<Vec<_>>()});
        record(
            &mut tx,
            actor,
            AuditEvent {
                account_id: Some(account_id),
                event_type: "user.invite.added",
                target_type: "invite",
                target_id: Some(id),
                context: ctx,
                at,
            },
        )
        .await?;
        let row = sqlx::query("SELECT * FROM invites WHERE id = $1")
            .bind(id)
            .fetch_one(&mut *tx)
            .await?;
        let invite = invite_from_row(&row)?;
        tx.commit().await?;
        Ok(invite)
    }

    /// The account's invitations, newest first.
    pub async fn invites(&self, account_id: AccountId) -> Result<Vec<Invite>, StoreError> {
        let rows = sqlx::query("SELECT * FROM invites WHERE account_id = $1 ORDER BY id DESC")
            .bind(account_id.0)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(invite_from_row).collect()
    }

    /// Withdraws a pending invitation (its code stops working). `authority` must hold
    /// everything the seat offers, as it would to make the invitation.
    pub async fn withdraw_invite(
        &self,
        actor: &Actor,
        authority: Authority<'_>,
        account_id: AccountId,
        id: i64,
    ) -> Result<Invite, StoreError> {
        let mut tx = self.write().await?;
        let held = crate::authority::current(&mut tx, actor, account_id, authority).await?;
        let authority = held.authority();
        let row = sqlx::query("SELECT * FROM invites WHERE id = $1 AND account_id = $2")
            .bind(id)
            .bind(account_id.0)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(StoreError::NotFound("invite"))?;
        let pending = invite_from_row(&row)?;
        if pending.state == State::Active {
            let grants = live_group_grants(&mut tx, account_id, &pending.groups).await?;
            authority.check_existing(&seat_permissions(
                pending.license,
                grants,
                Plan::Enterprise,
            ))?;
            let at = now();
            sqlx::query("UPDATE invites SET state = 2 WHERE id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
            record(
                &mut tx,
                actor,
                AuditEvent {
                    account_id: Some(account_id),
                    event_type: "user.invite.removed",
                    target_type: "invite",
                    target_id: Some(id),
                    context: json!({}),
                    at,
                },
            )
            .await?;
        }
        let row = sqlx::query("SELECT * FROM invites WHERE id = $1")
            .bind(id)
            .fetch_one(&mut *tx)
            .await?;
        let invite = invite_from_row(&row)?;
        tx.commit().await?;
        Ok(invite)
    }

    /// Redeems a code: `None` when no pending, unexpired invitation has it (one answer for
    /// unknown, used, withdrawn and expired codes), looked up before any password work. A new
    /// user of the account is made with `password`; an existing user of the account (a former
    /// member) is seated only if `password` is their current one (`None` again otherwise, the
    /// same answer as a bad code; a user without a password is never claimed). Seat, groups, the used invitation and the audit entry commit
    /// together.
    pub async fn redeem_invite(
        &self,
        code: &TokenDigest,
        password: &Secret,
        ip: Option<String>,
    ) -> Result<Option<(Invite, UserId)>, StoreError> {
        const PENDING: &str =
            "SELECT * FROM invites WHERE code_digest = $1 AND state = 1 AND expires_at > $2";
        let row = sqlx::query(PENDING)
            .bind(&code.0[..])
            .bind(crate::db_time::db_time(now()))
            .fetch_optional(&self.pool)
            .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let invite = invite_from_row(&row)?;
        let existing = sqlx::query(
            "SELECT id, password_hash FROM users WHERE account_id = $1 AND email_key = $2",
        )
        .bind(invite.account_id.0)
        .bind(invite.email.to_ascii_lowercase())
        .fetch_optional(&self.pool)
        .await?;
        let (existing, new_hash) = if let Some(row) = existing {
            // A user without a password cannot prove themselves, so no invitation can
            // claim them (the decoy is verified, and the answer is a bad code's).
            let hash: Option<String> = row.try_get("password_hash")?;
            if !self.passwords.verify(hash, password).await? {
                return Ok(None);
            }
            (Some(UserId(row.try_get("id")?)), None)
        } else {
            check_password(password)?;
            (None, Some(self.passwords.hash(password).await?))
        };
        let mut tx = self.write().await?;
        // Taken again under the write lock: a code is used once, whoever races for it.
        let row = sqlx::query(PENDING)
            .bind(&code.0[..])
            .bind(crate::db_time::db_time(now()))
            .fetch_optional(&mut *tx)
            .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let invite = invite_from_row(&row)?;
        let actor = |user: Option<i64>| Actor {
            kind: ActorKind::User,
            id: user,
            name: invite.email.clone(),
            ip: ip.clone(),
            source: "api",
        };
        let user_id = if let Some(id) = existing {
            id
        } else {
            let email = parse_email(&invite.email)?;
            insert_user(
                &mut tx,
                &actor(None),
                invite.account_id,
                &email,
                new_hash.as_deref(),
            )
            .await?
            .id
        };
        let actor = actor(Some(user_id.0));
        let seated: Option<i64> = sqlx::query_scalar(
            "SELECT state FROM memberships WHERE account_id = $1 AND user_id = $2 AND state = 1",
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
                sqlx::query_scalar("SELECT id FROM groups WHERE id = $1 AND state = 1")
                    .bind(g.0)
                    .fetch_optional(&mut *tx)
                    .await?;
            if active.is_some() {
                insert_group_member(&mut tx, &actor, invite.account_id, *g, user_id).await?;
            }
        }
        let at = now();
        sqlx::query(
            "UPDATE invites SET state = 2, redeemed_at = $1, redeemed_user_id = $2 WHERE id = $3",
        )
        .bind(crate::db_time::db_time(at))
        .bind(user_id.0)
        .bind(invite.id)
        .execute(&mut *tx)
        .await?;
        record(
            &mut tx,
            &actor,
            AuditEvent {
                account_id: Some(invite.account_id),
                event_type: "user.invite.redeemed",
                target_type: "invite",
                target_id: Some(invite.id),
                context: json!({"user_id": user_id.0}),
                at,
            },
        )
        .await?;
        append(&mut tx, invite.account_id, ChangeKind::User(user_id)).await?;
        let row = sqlx::query("SELECT * FROM invites WHERE id = $1")
            .bind(invite.id)
            .fetch_one(&mut *tx)
            .await?;
        let invite = invite_from_row(&row)?;
        tx.commit().await?;
        Ok(Some((invite, user_id)))
    }
}
