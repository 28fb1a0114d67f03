//! The web console's sessions: opened at sign-in, read on every page, moved along while in use,
//! closed at sign-out or when the password changes. The store keeps a session's SHA-256 digest,
//! never the secret in the person's cookie. Also the one-time nonces of the forms that create
//! something, and the password change that a first-start admin must make.

use crate::audit::{record, AuditEvent};
use crate::db_time::{db_time, time_at};
use crate::records::Actor;
use crate::{Store, StoreError};
use latchkey_core::{AccountId, Secret, UserId};
use serde_json::json;
use sqlx::Row;
use time::OffsetDateTime;

/// Shortest password the console accepts.
pub const MIN_PASSWORD_CHARS: usize = 12;
/// Longest password the console accepts, in bytes (as invitations do): hashing is bounded, and
/// so is its input.
pub const MAX_PASSWORD_BYTES: usize = 1024;

/// A console session as the store keeps it, with what its user is now.
#[derive(Clone, Debug)]
pub struct ConsoleSession {
    /// The account it is signed in to.
    pub account_id: AccountId,
    /// Who.
    pub user_id: UserId,
    /// Their e-mail.
    pub email: String,
    /// When it was opened.
    pub created_at: OffsetDateTime,
    /// When it was last used (moved at most once a minute).
    pub last_seen_at: OffsetDateTime,
    /// Its absolute end.
    pub expires_at: OffsetDateTime,
    /// The user must replace their password before anything else.
    pub password_change_required: bool,
}

/// Why a password change was refused.
#[derive(Debug, PartialEq, Eq)]
pub enum PasswordRefusal {
    /// The current password given is not the user's.
    WrongCurrent,
    /// The new one is too short, too long, or the same as the current one.
    Weak(String),
}

/// Checks a new password's shape: [`MIN_PASSWORD_CHARS`] characters or more, at most
/// [`MAX_PASSWORD_BYTES`] bytes.
pub fn check_new_password(password: &str) -> Result<(), String> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(format!(
            "Choose a password of at least {MIN_PASSWORD_CHARS} characters."
        ));
    }
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(format!(
            "Choose a password of at most {MAX_PASSWORD_BYTES} bytes."
        ));
    }
    Ok(())
}

impl Store {
    /// Opens a session for a user who has just signed in: keeps `digest` (of the cookie's
    /// secret) until `expires_at`, with the sign-in in the audit log, and forgets every session
    /// past its end (and the spent form nonces of sessions that are gone).
    pub async fn open_console_session(
        &self,
        actor: &Actor,
        account_id: AccountId,
        user_id: UserId,
        digest: &[u8; 32],
        expires_at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let now = OffsetDateTime::now_utc();
        let mut tx = self.write().await?;
        // Housekeeping at each sign-in (which Argon2 already makes rare): every session past its
        // absolute end, and the spent form nonces of sessions that are gone.
        sqlx::query("DELETE FROM console_sessions WHERE expires_at <= $1")
            .bind(db_time(now))
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "DELETE FROM console_spent_forms WHERE session_digest NOT IN
                 (SELECT session_digest FROM console_sessions)",
        )
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO console_sessions
                 (session_digest, account_id, user_id, created_at, last_seen_at, expires_at)
             VALUES ($1, $2, $3, $4, $4, $5)",
        )
        .bind(&digest[..])
        .bind(account_id.0)
        .bind(user_id.0)
        .bind(db_time(now))
        .bind(db_time(expires_at))
        .execute(&mut *tx)
        .await?;
        record(
            &mut tx,
            actor,
            AuditEvent {
                account_id: Some(account_id),
                event_type: "user.signed_in",
                target_type: "user",
                target_id: Some(user_id.0),
                context: json!({"source": "console"}),
                at: now,
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The session whose cookie secret has this digest, while its user is active and still
    /// holds a seat in its account (ended or not: the caller judges the timeouts).
    pub async fn console_session(
        &self,
        digest: &[u8; 32],
    ) -> Result<Option<ConsoleSession>, StoreError> {
        let row = sqlx::query(
            "SELECT s.account_id, s.user_id, s.created_at, s.last_seen_at, s.expires_at,
                    u.email, u.password_change_required
             FROM console_sessions s
             JOIN users u ON u.id = s.user_id AND u.state = 1
             JOIN memberships m ON m.account_id = s.account_id AND m.user_id = s.user_id
                                AND m.state = 1
             WHERE s.session_digest = $1",
        )
        .bind(&digest[..])
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            let required: i64 = r.try_get("password_change_required")?;
            Ok(ConsoleSession {
                account_id: AccountId(r.try_get("account_id")?),
                user_id: UserId(r.try_get("user_id")?),
                email: r.try_get("email")?,
                created_at: time_at(&r, "created_at")?,
                last_seen_at: time_at(&r, "last_seen_at")?,
                expires_at: time_at(&r, "expires_at")?,
                password_change_required: required != 0,
            })
        })
        .transpose()
    }

    /// Moves a session's last use to `now` (never backwards).
    pub async fn touch_console_session(
        &self,
        digest: &[u8; 32],
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let mut tx = self.write().await?;
        sqlx::query(
            "UPDATE console_sessions SET last_seen_at = $2
             WHERE session_digest = $1 AND last_seen_at < $2",
        )
        .bind(&digest[..])
        .bind(db_time(now))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Ends a session (sign-out, or a timeout found): every node refuses its cookie from now
    /// on. A sign-out is audited; `actor` is `None` for a session that simply ran out.
    pub async fn close_console_session(
        &self,
        actor: Option<&Actor>,
        digest: &[u8; 32],
    ) -> Result<(), StoreError> {
        let mut tx = self.write().await?;
        let row = sqlx::query(
            "DELETE FROM console_sessions WHERE session_digest = $1
             RETURNING account_id, user_id",
        )
        .bind(&digest[..])
        .fetch_optional(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM console_spent_forms WHERE session_digest = $1")
            .bind(&digest[..])
            .execute(&mut *tx)
            .await?;
        if let (Some(actor), Some(row)) = (actor, row) {
            record(
                &mut tx,
                actor,
                AuditEvent {
                    account_id: Some(AccountId(row.try_get("account_id")?)),
                    event_type: "user.signed_out",
                    target_type: "user",
                    target_id: Some(row.try_get("user_id")?),
                    context: json!({"source": "console"}),
                    at: OffsetDateTime::now_utc(),
                },
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Spends a form's one-time nonce within a session: true the first time, false for a
    /// resubmission.
    pub async fn spend_console_form(
        &self,
        digest: &[u8; 32],
        nonce: &str,
    ) -> Result<bool, StoreError> {
        let mut tx = self.write().await?;
        let spent = sqlx::query(
            "INSERT INTO console_spent_forms (session_digest, nonce, spent_at) VALUES ($1, $2, $3)
             ON CONFLICT DO NOTHING",
        )
        .bind(&digest[..])
        .bind(nonce)
        .bind(db_time(OffsetDateTime::now_utc()))
        .execute(&mut *tx)
        .await?
        .rows_affected();
        tx.commit().await?;
        Ok(spent == 1)
    }

    /// Replaces a user's password after checking their current one (one bounded Argon2
    /// verification and one hash), clears a required change, and ends every other session of
    /// theirs (`keep`: the one that asked), with the change in the audit log.
    pub async fn change_password(
        &self,
        actor: &Actor,
        account_id: AccountId,
        user_id: UserId,
        current: &Secret,
        new: &Secret,
        keep: &[u8; 32],
    ) -> Result<Result<(), PasswordRefusal>, StoreError> {
        if let Err(why) = check_new_password(new.expose()) {
            return Ok(Err(PasswordRefusal::Weak(why)));
        }
        if current.expose() == new.expose() {
            return Ok(Err(PasswordRefusal::Weak(
                "Choose a password other than the current one.".into(),
            )));
        }
        let hash: Option<String> = sqlx::query_scalar(
            "SELECT password_hash FROM users WHERE id = $1 AND account_id = $2 AND state = 1",
        )
        .bind(user_id.0)
        .bind(account_id.0)
        .fetch_optional(&self.pool)
        .await?
        .flatten();
        if !self.passwords.verify(hash, current).await? {
            return Ok(Err(PasswordRefusal::WrongCurrent));
        }
        let new_hash = self.passwords.hash(new).await?;
        let now = OffsetDateTime::now_utc();
        let mut tx = self.write().await?;
        sqlx::query(
            "UPDATE users SET password_hash = $1, password_change_required = 0, updated_at = $2
             WHERE id = $3",
        )
        .bind(&new_hash)
        .bind(db_time(now))
        .bind(user_id.0)
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM console_sessions WHERE user_id = $1 AND session_digest <> $2")
            .bind(user_id.0)
            .bind(&keep[..])
            .execute(&mut *tx)
            .await?;
        record(
            &mut tx,
            actor,
            AuditEvent {
                account_id: Some(account_id),
                event_type: "user.password_changed",
                target_type: "user",
                target_id: Some(user_id.0),
                context: json!({"source": "console"}),
                at: now,
            },
        )
        .await?;
        tx.commit().await?;
        Ok(Ok(()))
    }
}
