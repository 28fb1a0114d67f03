//! Reading tokens: rows into records, a service token with its grants, pages of an account's
//! service tokens, a user's personal access tokens, and a token's digest.

use crate::grant_rows::grant_from_row;
use crate::ip_rules::parse_allowlist;
use crate::records::*;
use crate::{Store, StoreError};
use latchkey_core::{AccountId, TokenDigest, TokenId, UserId};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

/// The columns [`service_token_from_row`] reads.
const SERVICE_TOKEN_COLUMNS: &str =
    "id, account_id, uid, name, state, hint, created_at, updated_at, expires_at, last_used_at, last_used_ip, revoke_at, rotated_from_id, allowed_cidrs";

/// A `service_tokens` row, without its grants.
fn service_token_from_row(r: &AnyRow) -> Result<ServiceToken, StoreError> {
    Ok(ServiceToken {
        id: TokenId(r.try_get("id")?),
        account_id: AccountId(r.try_get("account_id")?),
        uid: r.try_get("uid")?,
        name: r.try_get("name")?,
        state: State::from_db(r.try_get("state")?),
        hint: r.try_get("hint")?,
        created_at: crate::db_time::time_at(r, "created_at")?,
        updated_at: crate::db_time::time_at(r, "updated_at")?,
        expires_at: crate::db_time::maybe_time_at(r, "expires_at")?,
        last_used_at: crate::db_time::maybe_time_at(r, "last_used_at")?,
        last_used_ip: r.try_get("last_used_ip")?,
        revoke_at: crate::db_time::maybe_time_at(r, "revoke_at")?,
        rotated_from: r.try_get::<Option<i64>, _>("rotated_from_id")?.map(TokenId),
        allowed_cidrs: parse_allowlist(r.try_get("allowed_cidrs")?)?,
        grants: Vec::new(),
    })
}

/// A `personal_tokens` row.
pub(crate) fn personal_token_from_row(r: &AnyRow) -> Result<PersonalToken, StoreError> {
    Ok(PersonalToken {
        id: TokenId(r.try_get("id")?),
        account_id: AccountId(r.try_get("account_id")?),
        user_id: UserId(r.try_get("user_id")?),
        uid: r.try_get("uid")?,
        name: r.try_get("name")?,
        state: State::from_db(r.try_get("state")?),
        hint: r.try_get("hint")?,
        created_at: crate::db_time::time_at(r, "created_at")?,
        updated_at: crate::db_time::time_at(r, "updated_at")?,
        expires_at: crate::db_time::maybe_time_at(r, "expires_at")?,
        last_used_at: crate::db_time::maybe_time_at(r, "last_used_at")?,
        last_used_ip: r.try_get("last_used_ip")?,
    })
}

/// A service token's grants, oldest first.
pub(crate) async fn grants_of(
    conn: &mut AnyConnection,
    token: TokenId,
) -> Result<Vec<StoredGrant>, StoreError> {
    let rows = sqlx::query(
        "SELECT id, permission_set, project_id, writable_envs, created_at FROM service_token_grants
         WHERE service_token_id = $1 ORDER BY id",
    )
    .bind(token.0)
    .fetch_all(conn)
    .await?;
    rows.iter().map(grant_from_row).collect()
}

/// One service token (also when deleted) with its grants, if it exists.
pub(crate) async fn load_service_token(
    conn: &mut AnyConnection,
    id: TokenId,
) -> Result<Option<ServiceToken>, StoreError> {
    let row = sqlx::query(&format!(
        "SELECT {SERVICE_TOKEN_COLUMNS} FROM service_tokens WHERE id = $1"
    ))
    .bind(id.0)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let mut token = service_token_from_row(&row)?;
    token.grants = grants_of(conn, id).await?;
    Ok(Some(token))
}

/// A token the transaction has just written or changed, read back with its grants; one that is
/// not there is reported as not found.
pub(crate) async fn reload_service_token(
    conn: &mut AnyConnection,
    id: TokenId,
) -> Result<ServiceToken, StoreError> {
    load_service_token(conn, id)
        .await?
        .ok_or(StoreError::NotFound("service token"))
}

/// The digest of a service token that exists.
pub(crate) async fn digest_of(
    conn: &mut AnyConnection,
    id: TokenId,
) -> Result<Option<TokenDigest>, StoreError> {
    let bytes: Vec<u8> =
        sqlx::query_scalar("SELECT token_digest FROM service_tokens WHERE id = $1")
            .bind(id.0)
            .fetch_one(conn)
            .await?;
    Ok(digest_from(&bytes))
}

/// A digest as the database keeps it (32 bytes); anything else is none.
pub(crate) fn digest_from(bytes: &[u8]) -> Option<TokenDigest> {
    <[u8; 32]>::try_from(bytes).ok().map(TokenDigest)
}

impl Store {
    /// One service token (also when deleted), with its grants.
    pub async fn service_token(&self, id: TokenId) -> Result<Option<ServiceToken>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        load_service_token(&mut conn, id).await
    }

    /// An account's service tokens, newest first, optionally only those in one state.
    pub async fn list_service_tokens(
        &self,
        account_id: AccountId,
        state: Option<State>,
    ) -> Result<Vec<ServiceToken>, StoreError> {
        Ok(self
            .page_service_tokens(account_id, state, None, 0, i64::MAX)
            .await?
            .0)
    }

    /// One page of an account's service tokens, newest first, and how many there are in all.
    pub async fn page_service_tokens(
        &self,
        account_id: AccountId,
        state: Option<State>,
        ids: Option<&[i64]>,
        offset: i64,
        limit: i64,
    ) -> Result<(Vec<ServiceToken>, i64), StoreError> {
        let mut conn = self.pool.acquire().await?;
        let state = state.map(|s| s as i64);
        // Only these ids (dbt Cloud's `pk__in`), passed as one text: `,1,2,3,`.
        let ids = ids.map(|ids| {
            let mut list = String::from(",");
            for id in ids {
                list.push_str(&id.to_string());
                list.push(',');
            }
            list
        });
        let total: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM service_tokens WHERE account_id = $1 AND ($2 IS NULL OR state = $3)
             AND ($4 IS NULL OR ($5 LIKE '%,' || id || ',%'))",
        )
        .bind(account_id.0)
        .bind(state)
        .bind(state)
        .bind(&ids)
        .bind(&ids)
        .fetch_one(&mut *conn)
        .await?;
        let rows = sqlx::query(&format!(
            "SELECT {SERVICE_TOKEN_COLUMNS} FROM service_tokens WHERE account_id = $1 AND ($2 IS NULL OR state = $3)
             AND ($4 IS NULL OR ($5 LIKE '%,' || id || ',%'))
             ORDER BY id DESC LIMIT $6 OFFSET $7"
        ))
        .bind(account_id.0)
        .bind(state)
        .bind(state)
        .bind(&ids)
        .bind(&ids)
        .bind(limit.max(0))
        .bind(offset.max(0))
        .fetch_all(&mut *conn)
        .await?;
        let mut tokens = rows
            .iter()
            .map(service_token_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        if let (Some(newest), Some(oldest)) = (tokens.first(), tokens.last()) {
            let grant_rows = sqlx::query(
                "SELECT g.service_token_id, g.id, g.permission_set, g.project_id, g.writable_envs, g.created_at
                 FROM service_token_grants g JOIN service_tokens t ON t.id = g.service_token_id
                 WHERE t.account_id = $1 AND t.id BETWEEN $2 AND $3 ORDER BY g.id",
            )
            .bind(account_id.0)
            .bind(oldest.id.0)
            .bind(newest.id.0)
            .fetch_all(&mut *conn)
            .await?;
            for r in &grant_rows {
                let token_id: i64 = r.try_get("service_token_id")?;
                if let Some(t) = tokens.iter_mut().find(|t| t.id.0 == token_id) {
                    t.grants.push(grant_from_row(r)?);
                }
            }
        }
        Ok((tokens, total))
    }

    /// One personal access token (also when deleted).
    pub async fn personal_token(&self, id: TokenId) -> Result<Option<PersonalToken>, StoreError> {
        let row = sqlx::query("SELECT * FROM personal_tokens WHERE id = $1")
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(personal_token_from_row).transpose()
    }

    /// A user's personal access tokens in an account, newest first.
    pub async fn list_personal_tokens(
        &self,
        account_id: AccountId,
        user_id: UserId,
    ) -> Result<Vec<PersonalToken>, StoreError> {
        let rows = sqlx::query(
            "SELECT * FROM personal_tokens WHERE account_id = $1 AND user_id = $2 ORDER BY id DESC",
        )
        .bind(account_id.0)
        .bind(user_id.0)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(personal_token_from_row).collect()
    }
}
