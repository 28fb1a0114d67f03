//! Password sign-in: the user behind an e-mail and password, and the account fence a sign-in
//! must pass. Argon2 verification is slow on purpose; callers run it off the async workers.

use crate::records::{State, User};
use crate::{Store, StoreError};
use argon2::password_hash::{PasswordHash, PasswordVerifier};
use argon2::Argon2;
use latchkey_core::{AccountId, IpRules, Secret, UserId};
use sqlx::Row;

/// A fixed Argon2 hash verified when the e-mail is unknown, so an unknown e-mail costs the same
/// time as a wrong password and cannot be told apart by timing.
const DECOY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c2lnbi1pbi1kZWNveQ$Q0f6Vd2M7y2i3Xo9Qm6hQe0b5i0rN8wM2nK9xZ1aBcE";

fn verify(hash: &str, password: &Secret) -> bool {
    PasswordHash::new(hash).is_ok_and(|h| {
        Argon2::default()
            .verify_password(password.expose().as_bytes(), &h)
            .is_ok()
    })
}

impl Store {
    /// The active user with this e-mail and password, or `None` — the same answer, after the
    /// same work, for an unknown e-mail, a wrong password, a deleted user and a user without a
    /// password. Blocks on Argon2: call it from `spawn_blocking` or a blocking context.
    pub async fn sign_in(
        &self,
        email: &str,
        password: &Secret,
    ) -> Result<Option<User>, StoreError> {
        let row = sqlx::query(
            "SELECT id, email, state, created_at, password_hash FROM users WHERE email = ?",
        )
        .bind(email)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else {
            let password = Secret::new(password.expose().to_owned());
            tokio::task::spawn_blocking(move || verify(DECOY_HASH, &password))
                .await
                .ok();
            return Ok(None);
        };
        let hash: Option<String> = row.try_get("password_hash")?;
        let hash = hash.unwrap_or_else(|| DECOY_HASH.to_owned());
        let password = Secret::new(password.expose().to_owned());
        let ok = tokio::task::spawn_blocking(move || verify(&hash, &password))
            .await
            .unwrap_or(false);
        let user = User {
            id: UserId(row.try_get("id")?),
            email: row.try_get("email")?,
            state: State::from_db(row.try_get("state")?),
            created_at: row.try_get("created_at")?,
        };
        Ok((ok && user.state == State::Active).then_some(user))
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
