//! Password sign-in: the user behind an e-mail and password in one account, and the account
//! fence a sign-in must pass. Users belong to one account, so a sign-in never looks beyond it.

use crate::records::{State, User};
use crate::{Store, StoreError};
use latchkey_core::{AccountId, IpRules, Secret, UserId};
use sqlx::Row;

impl Store {
    /// The active user of `account_id` with this e-mail and password, or `None` — the same
    /// answer, after the same work (one bounded Argon2 verification), for an unknown e-mail, a
    /// wrong password, a deleted user and a user without a password. [`StoreError::Busy`] when
    /// too many password checks run at once.
    pub async fn sign_in(
        &self,
        account_id: AccountId,
        email: &str,
        password: &Secret,
    ) -> Result<Option<User>, StoreError> {
        let row = sqlx::query(
            "SELECT id, email, state, created_at, password_hash FROM users
             WHERE account_id = $1 AND email_key = $2",
        )
        .bind(account_id.0)
        .bind(email.trim().to_ascii_lowercase())
        .fetch_optional(&self.pool)
        .await?;
        let hash: Option<String> = match &row {
            Some(r) => r.try_get("password_hash")?,
            None => None,
        };
        let ok = self.passwords.verify(hash, password).await?;
        let Some(row) = row.filter(|_| ok) else {
            return Ok(None);
        };
        let user = User {
            id: UserId(row.try_get("id")?),
            account_id,
            email: row.try_get("email")?,
            state: State::from_db(row.try_get("state")?),
            created_at: crate::db_time::time_at(&row, "created_at")?,
        };
        Ok((user.state == State::Active).then_some(user))
    }

    /// The account's IP rules as a sign-in must pass them (`None` while the switch is off).
    pub async fn sign_in_fence(
        &self,
        account_id: AccountId,
    ) -> Result<Option<IpRules>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        let on = crate::ip_rules::enabled(&mut conn, account_id).await?;
        crate::ip_rules::account_policy(&mut conn, account_id, on).await
    }
}
