//! Service tokens and personal access tokens: create, read, rotate and revoke.

use crate::accounts::{check_projects, fetch_account, fetch_membership};
use crate::audit::record;
use crate::changes::{append, ChangeKind};
use crate::ip_rules::{format_allowlist, parse_allowlist};
use crate::records::*;
use crate::{now, Store, StoreError};
use latchkey_core::mint::{check_may_mint_personal_token, check_may_mint_service_token};
use latchkey_core::{
    AccountId, Authority, EffectivePermissions, EnvCategories, Grant, Minter, Plan, ProjectId,
    Scope, TokenDigest, TokenId, TokenKind, UserId,
};
use serde_json::json;
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqliteConnection};
use time::OffsetDateTime;

pub(crate) fn project_of(g: &Grant) -> Option<i64> {
    match g.scope {
        Scope::AllProjects => None,
        Scope::Project(p) => Some(p.0),
    }
}

pub(crate) fn grant_from_row(r: &SqliteRow) -> Result<StoredGrant, StoreError> {
    let set: String = r.try_get("permission_set")?;
    let project: Option<i64> = r.try_get("project_id")?;
    let envs: i64 = r.try_get("writable_envs")?;
    let scope = project.map_or(Scope::AllProjects, |p| Scope::Project(ProjectId(p)));
    Ok(StoredGrant {
        id: r.try_get("id").unwrap_or_default(),
        grant: Grant::new(set.parse()?, scope)
            .with_writable_envs(EnvCategories::from_bits(envs as u8)),
        created_at: r
            .try_get("created_at")
            .unwrap_or(OffsetDateTime::UNIX_EPOCH),
    })
}

const SERVICE_TOKEN_COLUMNS: &str =
    "id, account_id, uid, name, state, hint, created_at, updated_at, expires_at, last_used_at, revoke_at, rotated_from_id, allowed_cidrs";

fn service_token_from_row(r: &SqliteRow) -> Result<ServiceToken, StoreError> {
    Ok(ServiceToken {
        id: TokenId(r.try_get("id")?),
        account_id: AccountId(r.try_get("account_id")?),
        uid: r.try_get("uid")?,
        name: r.try_get("name")?,
        state: State::from_db(r.try_get("state")?),
        hint: r.try_get("hint")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
        expires_at: r.try_get("expires_at")?,
        last_used_at: r.try_get("last_used_at")?,
        revoke_at: r.try_get("revoke_at")?,
        rotated_from: r.try_get::<Option<i64>, _>("rotated_from_id")?.map(TokenId),
        allowed_cidrs: parse_allowlist(r.try_get("allowed_cidrs")?)?,
        grants: Vec::new(),
    })
}

fn personal_token_from_row(r: &SqliteRow) -> Result<PersonalToken, StoreError> {
    Ok(PersonalToken {
        id: TokenId(r.try_get("id")?),
        account_id: AccountId(r.try_get("account_id")?),
        user_id: UserId(r.try_get("user_id")?),
        uid: r.try_get("uid")?,
        name: r.try_get("name")?,
        state: State::from_db(r.try_get("state")?),
        hint: r.try_get("hint")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
        expires_at: r.try_get("expires_at")?,
        last_used_at: r.try_get("last_used_at")?,
    })
}

pub(crate) async fn grants_of(
    conn: &mut SqliteConnection,
    token: TokenId,
) -> Result<Vec<StoredGrant>, StoreError> {
    let rows = sqlx::query(
        "SELECT id, permission_set, project_id, writable_envs, created_at FROM service_token_grants
         WHERE service_token_id = ? ORDER BY id",
    )
    .bind(token.0)
    .fetch_all(conn)
    .await?;
    rows.iter().map(grant_from_row).collect()
}

pub(crate) async fn load_service_token(
    conn: &mut SqliteConnection,
    id: TokenId,
) -> Result<Option<ServiceToken>, StoreError> {
    let row = sqlx::query(&format!(
        "SELECT {SERVICE_TOKEN_COLUMNS} FROM service_tokens WHERE id = ?"
    ))
    .bind(id.0)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let mut token = service_token_from_row(&row)?;
    token.grants = grants_of(conn, id).await?;
    Ok(Some(token))
}

/// Refuses a token fencing itself out: an allowlist it sets on itself must hold the address it
/// calls from (an unknown address cannot be shown to be held).
fn check_not_fencing_itself_out(
    actor: &Actor,
    id: TokenId,
    cidrs: &[latchkey_core::Cidr],
) -> Result<(), StoreError> {
    if actor.kind != ActorKind::ServiceToken || actor.id != Some(id.0) || cidrs.is_empty() {
        return Ok(());
    }
    let ip = actor
        .ip
        .as_deref()
        .and_then(|ip| ip.parse::<std::net::IpAddr>().ok());
    if ip.is_some_and(|ip| cidrs.iter().any(|c| c.contains(ip))) {
        return Ok(());
    }
    Err(StoreError::Conflict(
        "allowed_cidrs: this allowlist would shut this token out of the address it is calling \
         from; include that address, or have another token set it"
            .into(),
    ))
}

/// What a token's grants give it on the widest plan: the measure of its power when someone
/// wants to change it.
fn token_permissions(token: &ServiceToken) -> EffectivePermissions {
    let grants: Vec<Grant> = token.grants.iter().map(|g| g.grant).collect();
    EffectivePermissions::for_service_token(&grants, Plan::Enterprise)
}

fn check_token_name(name: &str) -> Result<(), StoreError> {
    crate::accounts::check_name("token name", name)
}

fn check_expiry(expires_at: Option<OffsetDateTime>) -> Result<(), StoreError> {
    match expires_at {
        Some(t) if t <= now() => Err(StoreError::field(
            "expires_at",
            "expires_at must be in the future",
        )),
        _ => Ok(()),
    }
}

fn grant_json(grants: &[Grant]) -> serde_json::Value {
    grants
        .iter()
        .map(|g| {
            json!({
                "permission_set": g.set.slug(),
                "all_projects": g.scope == Scope::AllProjects,
                "project_id": project_of(g),
                "writable_environment_categories": g.writable_envs.names(),
            })
        })
        .collect()
}

/// Inserts one grant row of a service token.
async fn insert_grant(
    conn: &mut SqliteConnection,
    token: TokenId,
    g: &Grant,
    at: OffsetDateTime,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO service_token_grants (service_token_id, permission_set, project_id, writable_envs, created_at)
         VALUES (?, ?, ?, ?, ?)",
    )
    .bind(token.0)
    .bind(g.set.slug())
    .bind(project_of(g))
    .bind(i64::from(g.writable_envs.bits()))
    .bind(at)
    .execute(conn)
    .await?;
    Ok(())
}

/// Inserts a service token, its grants, its audit entry and its change row. The caller checked
/// who may mint it.
pub(crate) async fn insert_service_token(
    conn: &mut SqliteConnection,
    actor: &Actor,
    new: &NewServiceToken<'_>,
) -> Result<TokenId, StoreError> {
    check_token_name(new.name)?;
    let at = now();
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO service_tokens (account_id, uid, name, token_digest, hint, created_at, updated_at, expires_at, allowed_cidrs)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
    )
    .bind(new.account_id.0)
    .bind(new.uid)
    .bind(new.name)
    .bind(&new.digest.0[..])
    .bind(new.hint)
    .bind(at)
    .bind(at)
    .bind(new.expires_at)
    .bind(format_allowlist(new.allowed_cidrs)?)
    .fetch_one(&mut *conn)
    .await?;
    for g in new.grants {
        insert_grant(conn, TokenId(id), g, at).await?;
    }
    let ctx = json!({
        "name": new.name,
        "uid": new.uid,
        "permission_grants": grant_json(new.grants),
        "expires_at": new.expires_at.map(|t| t.unix_timestamp()),
        "allowed_cidrs": new.allowed_cidrs.iter().map(|c| c.to_string()).collect::<Vec<_>>(),
    });
    record(
        conn,
        actor,
        Some(new.account_id),
        "service_token.created",
        "service_token",
        Some(id),
        ctx,
        at,
    )
    .await?;
    append(conn, new.account_id, ChangeKind::Token(new.digest)).await?;
    Ok(TokenId(id))
}

impl Store {
    /// Creates a service token after checking, inside the transaction, that the account is
    /// active, every granted project is one of its active projects, the plan offers every set,
    /// and `minter` may create a token this strong.
    pub async fn create_service_token(
        &self,
        actor: &Actor,
        minter: Minter<'_>,
        new: &NewServiceToken<'_>,
    ) -> Result<ServiceToken, StoreError> {
        check_token_name(new.name)?;
        check_expiry(new.expires_at)?;
        let mut tx = self.write().await?;
        let held =
            crate::authority::current(&mut tx, actor, new.account_id, minter.authority()).await?;
        let minter = held.minter(minter);
        let account = fetch_account(&mut tx, new.account_id)
            .await?
            .filter(|a| a.state == State::Active)
            .ok_or(StoreError::NotFound("account"))?;
        check_projects(&mut tx, account.id, new.grants).await?;
        check_may_mint_service_token(minter, account.plan, new.grants)?;
        let id = insert_service_token(&mut tx, actor, new).await?;
        let token = load_service_token(&mut tx, id)
            .await?
            .ok_or(StoreError::NotFound("service token"))?;
        tx.commit().await?;
        Ok(token)
    }

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
        // Only these ids (dbt Cloud's `pk__in`), passed as one JSON array.
        let ids = ids.map(|ids| json!(ids).to_string());
        let total: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM service_tokens WHERE account_id = ? AND (? IS NULL OR state = ?)
             AND (? IS NULL OR id IN (SELECT value FROM json_each(?)))",
        )
        .bind(account_id.0)
        .bind(state)
        .bind(state)
        .bind(&ids)
        .bind(&ids)
        .fetch_one(&mut *conn)
        .await?;
        let rows = sqlx::query(&format!(
            "SELECT {SERVICE_TOKEN_COLUMNS} FROM service_tokens WHERE account_id = ? AND (? IS NULL OR state = ?)
             AND (? IS NULL OR id IN (SELECT value FROM json_each(?)))
             ORDER BY id DESC LIMIT ? OFFSET ?"
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
                 WHERE t.account_id = ? AND t.id BETWEEN ? AND ? ORDER BY g.id",
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

    /// Revokes a service token: state 2, row kept; audited as `service_token.revoked`. Revoking
    /// a deleted token changes nothing. With `account_id`, a token of another account is
    /// reported as not found. `authority` must hold everything the token holds.
    pub async fn revoke_service_token(
        &self,
        actor: &Actor,
        authority: Authority<'_>,
        account_id: Option<AccountId>,
        id: TokenId,
    ) -> Result<ServiceToken, StoreError> {
        let mut tx = self.write().await?;
        let current = load_service_token(&mut tx, id)
            .await?
            .filter(|t| account_id.is_none_or(|a| a == t.account_id))
            .ok_or(StoreError::NotFound("service token"))?;
        let held = crate::authority::current(&mut tx, actor, current.account_id, authority).await?;
        held.authority()
            .check_existing(&token_permissions(&current))?;
        revoke_in(&mut tx, actor, current.account_id, id).await?;
        let token = load_service_token(&mut tx, id)
            .await?
            .ok_or(StoreError::NotFound("service token"))?;
        tx.commit().await?;
        Ok(token)
    }

    /// Renames a token, fences it (`allowed_cidrs`) and/or revokes it (state 2). A deleted
    /// token cannot be brought back: revocation is final. `authority` must hold everything the
    /// token holds.
    #[allow(clippy::too_many_arguments)]
    pub async fn update_service_token(
        &self,
        actor: &Actor,
        authority: Authority<'_>,
        account_id: AccountId,
        id: TokenId,
        name: Option<&str>,
        state: Option<State>,
        allowed_cidrs: Option<&[latchkey_core::Cidr]>,
    ) -> Result<ServiceToken, StoreError> {
        if let Some(name) = name {
            check_token_name(name)?;
        }
        let allowlist = allowed_cidrs.map(format_allowlist).transpose()?;
        let mut tx = self.write().await?;
        let held = crate::authority::current(&mut tx, actor, account_id, authority).await?;
        let authority = held.authority();
        let current = load_service_token(&mut tx, id)
            .await?
            .filter(|t| t.account_id == account_id)
            .ok_or(StoreError::NotFound("service token"))?;
        authority.check_existing(&token_permissions(&current))?;
        if current.state == State::Deleted && state == Some(State::Active) {
            return Err(StoreError::Conflict(
                "a deleted token cannot be reactivated; create a new one".into(),
            ));
        }
        if let Some(name) = name.filter(|n| *n != current.name) {
            let at = now();
            sqlx::query("UPDATE service_tokens SET name = ?, updated_at = ? WHERE id = ?")
                .bind(name)
                .bind(at)
                .bind(id.0)
                .execute(&mut *tx)
                .await?;
            let ctx = json!({"from": current.name, "to": name});
            record(
                &mut tx,
                actor,
                Some(account_id),
                "service_token.changed",
                "service_token",
                Some(id.0),
                ctx,
                at,
            )
            .await?;
        }
        if let Some(cidrs) = allowed_cidrs.filter(|c| *c != current.allowed_cidrs.as_slice()) {
            if current.state != State::Active {
                return Err(StoreError::Conflict(
                    "a deleted token's allowed_cidrs cannot change".into(),
                ));
            }
            check_not_fencing_itself_out(actor, id, cidrs)?;
            let at = now();
            sqlx::query("UPDATE service_tokens SET allowed_cidrs = ?, updated_at = ? WHERE id = ?")
                .bind(allowlist.as_deref().unwrap_or_default())
                .bind(at)
                .bind(id.0)
                .execute(&mut *tx)
                .await?;
            let names =
                |c: &[latchkey_core::Cidr]| c.iter().map(|c| c.to_string()).collect::<Vec<_>>();
            let ctx = json!({"allowed_cidrs": {"from": names(&current.allowed_cidrs), "to": names(cidrs)}});
            record(
                &mut tx,
                actor,
                Some(account_id),
                "service_token.changed",
                "service_token",
                Some(id.0),
                ctx,
                at,
            )
            .await?;
            let digest = digest_of(&mut tx, id).await?;
            append(&mut tx, account_id, ChangeKind::token(digest)).await?;
        }
        if state == Some(State::Deleted) {
            revoke_in(&mut tx, actor, account_id, id).await?;
        }
        let token = load_service_token(&mut tx, id)
            .await?
            .ok_or(StoreError::NotFound("service token"))?;
        tx.commit().await?;
        Ok(token)
    }

    /// Replaces a token's grants wholesale, after checking inside the transaction that the
    /// minter may give a token these grants (plan, projects, and never beyond the minter).
    /// Audited as one `permission.removed` per old grant and one `permission.added` per new one.
    pub async fn replace_service_token_grants(
        &self,
        actor: &Actor,
        minter: Minter<'_>,
        account_id: AccountId,
        id: TokenId,
        grants: &[Grant],
    ) -> Result<ServiceToken, StoreError> {
        let mut tx = self.write().await?;
        let held =
            crate::authority::current(&mut tx, actor, account_id, minter.authority()).await?;
        let minter = held.minter(minter);
        let row = sqlx::query(
            "SELECT state, token_digest FROM service_tokens WHERE id = ? AND account_id = ?",
        )
        .bind(id.0)
        .bind(account_id.0)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(StoreError::NotFound("service token"))?;
        if row.try_get::<i64, _>("state")? != 1 {
            return Err(StoreError::Conflict(
                "a deleted token's permissions cannot change".into(),
            ));
        }
        let account = fetch_account(&mut tx, account_id)
            .await?
            .ok_or(StoreError::NotFound("account"))?;
        let old = grants_of(&mut tx, id).await?;
        let old_grants: Vec<Grant> = old.iter().map(|g| g.grant).collect();
        minter
            .authority()
            .check_existing(&EffectivePermissions::for_service_token(
                &old_grants,
                Plan::Enterprise,
            ))?;
        check_projects(&mut tx, account_id, grants).await?;
        check_may_mint_service_token(minter, account.plan, grants)?;
        let at = now();
        sqlx::query("DELETE FROM service_token_grants WHERE service_token_id = ?")
            .bind(id.0)
            .execute(&mut *tx)
            .await?;
        for g in &old {
            let ctx = json!({"service_token_id": id.0, "grant": grant_json(&[g.grant])[0]});
            record(
                &mut tx,
                actor,
                Some(account_id),
                "permission.removed",
                "service_token",
                Some(id.0),
                ctx,
                at,
            )
            .await?;
        }
        for g in grants {
            insert_grant(&mut tx, id, g, at).await?;
            let ctx = json!({"service_token_id": id.0, "grant": grant_json(&[*g])[0]});
            record(
                &mut tx,
                actor,
                Some(account_id),
                "permission.added",
                "service_token",
                Some(id.0),
                ctx,
                at,
            )
            .await?;
        }
        sqlx::query("UPDATE service_tokens SET updated_at = ? WHERE id = ?")
            .bind(at)
            .bind(id.0)
            .execute(&mut *tx)
            .await?;
        let digest: Vec<u8> = row.try_get("token_digest")?;
        append(&mut tx, account_id, ChangeKind::token(digest_from(&digest))).await?;
        let token = load_service_token(&mut tx, id)
            .await?
            .ok_or(StoreError::NotFound("service token"))?;
        tx.commit().await?;
        Ok(token)
    }

    /// Rotates a token: a new token with the same name, grants and expiry (the minter must be
    /// allowed to give them), and the old one revoked now (`overlap` zero) or at the end of the
    /// overlap. Both are audited; the new token records what it replaced.
    #[allow(clippy::too_many_arguments)]
    pub async fn rotate_service_token(
        &self,
        actor: &Actor,
        minter: Minter<'_>,
        account_id: AccountId,
        id: TokenId,
        overlap: time::Duration,
        parts: NewServiceTokenParts<'_>,
    ) -> Result<(ServiceToken, ServiceToken), StoreError> {
        let mut tx = self.write().await?;
        let held =
            crate::authority::current(&mut tx, actor, account_id, minter.authority()).await?;
        let minter = held.minter(minter);
        let old = load_service_token(&mut tx, id)
            .await?
            .filter(|t| t.account_id == account_id)
            .ok_or(StoreError::NotFound("service token"))?;
        if old.state != State::Active {
            return Err(StoreError::Conflict(
                "a deleted token cannot be rotated".into(),
            ));
        }
        if old.revoke_at.is_some() {
            return Err(StoreError::Conflict(
                "this token was already rotated; rotate its successor".into(),
            ));
        }
        let account = fetch_account(&mut tx, account_id)
            .await?
            .ok_or(StoreError::NotFound("account"))?;
        minter
            .authority()
            .check_existing(&token_permissions(&old))?;
        let grants: Vec<Grant> = old.grants.iter().map(|g| g.grant).collect();
        check_may_mint_service_token(minter, account.plan, &grants)?;
        let new = NewServiceToken {
            account_id,
            name: &old.name,
            grants: &grants,
            expires_at: old.expires_at,
            allowed_cidrs: &old.allowed_cidrs,
            uid: parts.uid,
            digest: parts.digest,
            hint: parts.hint,
        };
        let new_id = insert_service_token(&mut tx, actor, &new).await?;
        let at = now();
        sqlx::query("UPDATE service_tokens SET rotated_from_id = ? WHERE id = ?")
            .bind(id.0)
            .bind(new_id.0)
            .execute(&mut *tx)
            .await?;
        let revoke_at = at + overlap;
        let ctx = json!({"new_token_id": new_id.0, "overlap_seconds": overlap.whole_seconds()});
        record(
            &mut tx,
            actor,
            Some(account_id),
            "service_token.rotated",
            "service_token",
            Some(id.0),
            ctx,
            at,
        )
        .await?;
        if overlap.is_zero() {
            revoke_in(&mut tx, actor, account_id, id).await?;
        } else {
            sqlx::query("UPDATE service_tokens SET revoke_at = ?, updated_at = ? WHERE id = ?")
                .bind(revoke_at)
                .bind(at)
                .bind(id.0)
                .execute(&mut *tx)
                .await?;
            let digest = self::digest_of(&mut tx, id).await?;
            append(&mut tx, account_id, ChangeKind::token(digest)).await?;
        }
        let new_token = load_service_token(&mut tx, new_id)
            .await?
            .ok_or(StoreError::NotFound("service token"))?;
        let old_token = load_service_token(&mut tx, id)
            .await?
            .ok_or(StoreError::NotFound("service token"))?;
        tx.commit().await?;
        Ok((new_token, old_token))
    }

    /// Revokes every rotated-out token whose overlap has ended; returns how many. Safe to run
    /// on every node at once: each token is revoked (and audited) only once.
    pub async fn revoke_due(&self) -> Result<usize, StoreError> {
        let due: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT id, account_id FROM service_tokens WHERE state = 1 AND revoke_at IS NOT NULL AND revoke_at <= ?",
        )
        .bind(now())
        .fetch_all(&self.pool)
        .await?;
        let system = Actor {
            kind: crate::records::ActorKind::System,
            id: None,
            name: "rotation overlap ended".into(),
            ip: None,
            source: "api",
        };
        for (id, account) in &due {
            let mut tx = self.write().await?;
            revoke_in(&mut tx, &system, AccountId(*account), TokenId(*id)).await?;
            tx.commit().await?;
        }
        Ok(due.len())
    }

    /// Revokes every active token among reported digests (a leaked-credential report), audited
    /// in each token's account with the reason and the reporter's address; returns how many were
    /// revoked (for the log, never for the reporter). One transaction for the whole report.
    pub async fn revoke_reported(
        &self,
        reporter_ip: Option<String>,
        reported: &[(TokenKind, TokenDigest)],
    ) -> Result<usize, StoreError> {
        let actor = Actor {
            kind: crate::records::ActorKind::System,
            id: None,
            name: "leaked-credential report".into(),
            ip: reporter_ip,
            source: "api",
        };
        let mut tx = self.write().await?;
        let mut revoked = 0;
        for (kind, digest) in reported {
            let table = match kind {
                TokenKind::Service => "service_tokens",
                TokenKind::Personal => "personal_tokens",
            };
            let found: Option<(i64, i64)> = sqlx::query_as(&format!(
                "SELECT id, account_id FROM {table} WHERE token_digest = ? AND state = 1"
            ))
            .bind(&digest.0[..])
            .fetch_optional(&mut *tx)
            .await?;
            let Some((id, account)) = found else { continue };
            let account = AccountId(account);
            match kind {
                TokenKind::Service => revoke_in(&mut tx, &actor, account, TokenId(id)).await?,
                TokenKind::Personal => {
                    let at = now();
                    sqlx::query(
                        "UPDATE personal_tokens SET state = 2, updated_at = ? WHERE id = ?",
                    )
                    .bind(at)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                    let ctx = json!({"reason": "reported as leaked"});
                    record(
                        &mut tx,
                        &actor,
                        Some(account),
                        "account_scoped_pat.deleted",
                        "personal_access_token",
                        Some(id),
                        ctx,
                        at,
                    )
                    .await?;
                    append(&mut tx, account, ChangeKind::Token(*digest)).await?;
                }
            }
            revoked += 1;
        }
        let ctx = json!({"received": reported.len(), "revoked": revoked});
        record(
            &mut tx,
            &actor,
            None,
            "credentials.revoke_reported",
            "credential_report",
            None,
            ctx,
            now(),
        )
        .await?;
        tx.commit().await?;
        Ok(revoked)
    }

    /// Creates a personal access token for a user with an active seat in the account.
    #[allow(clippy::too_many_arguments)]
    pub async fn create_personal_token(
        &self,
        actor: &Actor,
        minter: Minter<'_>,
        account_id: AccountId,
        user_id: UserId,
        name: &str,
        parts: NewServiceTokenParts<'_>,
        expires_at: Option<OffsetDateTime>,
    ) -> Result<PersonalToken, StoreError> {
        check_token_name(name)?;
        check_expiry(expires_at)?;
        check_may_mint_personal_token(minter, user_id)?;
        let mut tx = self.write().await?;
        fetch_membership(&mut tx, account_id, user_id)
            .await?
            .ok_or(StoreError::NotFound("membership"))?;
        let at = now();
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO personal_tokens (account_id, user_id, uid, name, token_digest, hint, created_at, updated_at, expires_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(account_id.0)
        .bind(user_id.0)
        .bind(parts.uid)
        .bind(name)
        .bind(&parts.digest.0[..])
        .bind(parts.hint)
        .bind(at)
        .bind(at)
        .bind(expires_at)
        .fetch_one(&mut *tx)
        .await?;
        let ctx = json!({"name": name, "uid": parts.uid, "user_id": user_id.0});
        record(
            &mut tx,
            actor,
            Some(account_id),
            "account_scoped_pat.created",
            "personal_access_token",
            Some(id),
            ctx,
            at,
        )
        .await?;
        append(&mut tx, account_id, ChangeKind::Token(parts.digest)).await?;
        let row = sqlx::query("SELECT * FROM personal_tokens WHERE id = ?")
            .bind(id)
            .fetch_one(&mut *tx)
            .await?;
        let token = personal_token_from_row(&row)?;
        tx.commit().await?;
        Ok(token)
    }

    /// Revokes a personal access token (state 2), audited as `account_scoped_pat.deleted`.
    pub async fn revoke_personal_token(
        &self,
        actor: &Actor,
        user_id: Option<UserId>,
        id: TokenId,
    ) -> Result<(), StoreError> {
        let mut tx = self.write().await?;
        let row = sqlx::query("SELECT account_id, user_id, state, token_digest, name FROM personal_tokens WHERE id = ?")
            .bind(id.0)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(StoreError::NotFound("personal access token"))?;
        if user_id.is_some_and(|u| u.0 != row.try_get::<i64, _>("user_id").unwrap_or_default()) {
            return Err(StoreError::NotFound("personal access token"));
        }
        if row.try_get::<i64, _>("state")? == 1 {
            let at = now();
            let account = AccountId(row.try_get("account_id")?);
            sqlx::query("UPDATE personal_tokens SET state = 2, updated_at = ? WHERE id = ?")
                .bind(at)
                .bind(id.0)
                .execute(&mut *tx)
                .await?;
            let name: String = row.try_get("name")?;
            record(
                &mut tx,
                actor,
                Some(account),
                "account_scoped_pat.deleted",
                "personal_access_token",
                Some(id.0),
                json!({"name": name}),
                at,
            )
            .await?;
            let digest: Vec<u8> = row.try_get("token_digest")?;
            append(&mut tx, account, ChangeKind::token(digest_from(&digest))).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// One personal access token (also when deleted).
    pub async fn personal_token(&self, id: TokenId) -> Result<Option<PersonalToken>, StoreError> {
        let row = sqlx::query("SELECT * FROM personal_tokens WHERE id = ?")
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
            "SELECT * FROM personal_tokens WHERE account_id = ? AND user_id = ? ORDER BY id DESC",
        )
        .bind(account_id.0)
        .bind(user_id.0)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(personal_token_from_row).collect()
    }
}

/// Sets an active token to state 2 with its audit entry and change row; a deleted one is left
/// as it is.
async fn revoke_in(
    conn: &mut SqliteConnection,
    actor: &Actor,
    owner: AccountId,
    id: TokenId,
) -> Result<(), StoreError> {
    let row = sqlx::query("SELECT state, token_digest, name, uid FROM service_tokens WHERE id = ?")
        .bind(id.0)
        .fetch_one(&mut *conn)
        .await?;
    if row.try_get::<i64, _>("state")? != 1 {
        return Ok(());
    }
    let at = now();
    sqlx::query("UPDATE service_tokens SET state = 2, updated_at = ? WHERE id = ?")
        .bind(at)
        .bind(id.0)
        .execute(&mut *conn)
        .await?;
    let name: String = row.try_get("name")?;
    let uid: String = row.try_get("uid")?;
    let ctx = json!({"name": name, "uid": uid});
    record(
        conn,
        actor,
        Some(owner),
        "service_token.revoked",
        "service_token",
        Some(id.0),
        ctx,
        at,
    )
    .await?;
    let digest: Vec<u8> = row.try_get("token_digest")?;
    append(conn, owner, ChangeKind::token(digest_from(&digest))).await
}

async fn digest_of(
    conn: &mut SqliteConnection,
    id: TokenId,
) -> Result<Option<TokenDigest>, StoreError> {
    let bytes: Vec<u8> = sqlx::query_scalar("SELECT token_digest FROM service_tokens WHERE id = ?")
        .bind(id.0)
        .fetch_one(conn)
        .await?;
    Ok(digest_from(&bytes))
}

fn digest_from(bytes: &[u8]) -> Option<TokenDigest> {
    <[u8; 32]>::try_from(bytes).ok().map(TokenDigest)
}
