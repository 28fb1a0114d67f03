//! The verifier: turns a presented token into a principal and answers permission checks.
//!
//! Hot path on a cache hit, all in memory and synchronous: parse and checksum the token (no I/O
//! for malformed ones), SHA-256 it, look the digest up in the [`TokenCache`], check state and
//! expiry, evaluate the bitsets. Misses do one indexed lookup in the store and cache the result
//! (unknown tokens too, briefly). `last_used_at` is noted in memory and flushed in batches.

use crate::cache::{CachedPrincipal, TokenCache};
use crate::config::ServerConfig;
use latchkey_core::{
    decide, AccountId, Decision, DenyReason, EffectivePermissions, EnvCategory, Permission,
    ProjectId, TokenId, TokenKind,
};
use latchkey_store::{Store, StoreError};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{SystemTime, UNIX_EPOCH};

/// An authenticated caller.
pub type Principal = Arc<CachedPrincipal>;

/// Why authentication failed. Unknown, malformed, revoked and expired tokens are all the one
/// `Unauthenticated`, so nobody can tell them apart.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// The token is not a working token.
    #[error("unauthenticated")]
    Unauthenticated,
    /// The store failed while looking the token up.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Seconds since the Unix epoch.
#[inline]
pub fn now_unix() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// A project's owner as read from the store, not yet cached.
#[derive(Debug)]
pub struct OwnerLoad {
    project: ProjectId,
    owner: Option<AccountId>,
}

/// See the module docs. One per node; share it behind an `Arc`.
pub struct Verifier {
    config: ServerConfig,
    store: Store,
    cache: TokenCache,
    /// Project → owning account, for active projects; `None` remembers an unknown project.
    projects: RwLock<HashMap<ProjectId, Option<AccountId>>>,
    usage: Mutex<Vec<Principal>>,
}

impl Verifier {
    /// A verifier over a store.
    pub fn new(store: Store, config: ServerConfig) -> Verifier {
        Verifier {
            config,
            store,
            cache: TokenCache::default(),
            projects: RwLock::default(),
            usage: Mutex::default(),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &ServerConfig {
        &self.config
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The principal cache.
    pub fn cache(&self) -> &TokenCache {
        &self.cache
    }

    /// The in-memory part of authentication. `Ok(None)` means the store must be asked.
    #[inline]
    pub fn authenticate_cached(
        &self,
        token: &str,
        now: i64,
    ) -> Result<Option<Principal>, AuthError> {
        let found = self.lookup_cached(token, now)?;
        if let Some(p) = &found {
            self.note_usage(p, now);
        }
        Ok(found)
    }

    /// [`Verifier::authenticate_cached`] without noting usage.
    #[inline]
    fn lookup_cached(&self, token: &str, now: i64) -> Result<Option<Principal>, AuthError> {
        let parsed = self
            .config
            .token_format
            .parse(token)
            .map_err(|_| AuthError::Unauthenticated)?;
        let Some(entry) = self.cache.get(&parsed.digest) else {
            return Ok(None);
        };
        let max_age = if entry.id.0 == 0 {
            self.config.negative_ttl.as_secs() as i64
        } else {
            self.config.cache_max_age.as_secs() as i64
        };
        if now - entry.loaded_at > max_age {
            return Ok(None);
        }
        Self::live(entry, now).map(Some)
    }

    /// Authenticates a token (cache, or store on a miss) and notes its use for `last_used_at`.
    pub async fn authenticate(&self, token: &str) -> Result<Principal, AuthError> {
        self.authenticate_at(token, now_unix()).await
    }

    /// [`Verifier::authenticate`] at a time the caller already read (Unix seconds).
    pub async fn authenticate_at(&self, token: &str, now: i64) -> Result<Principal, AuthError> {
        let principal = self.lookup_at(token, now).await?;
        self.note_usage(&principal, now);
        Ok(principal)
    }

    /// Looks a token up like [`Verifier::authenticate`] without counting it as used (for
    /// introspection by someone else).
    pub async fn lookup(&self, token: &str) -> Result<Principal, AuthError> {
        self.lookup_at(token, now_unix()).await
    }

    async fn lookup_at(&self, token: &str, now: i64) -> Result<Principal, AuthError> {
        if let Some(principal) = self.lookup_cached(token, now)? {
            return Ok(principal);
        }
        // A miss: the token parsed, so this cannot fail.
        let parsed = self
            .config
            .token_format
            .parse(token)
            .map_err(|_| AuthError::Unauthenticated)?;
        let epoch = self.cache.epoch();
        let found = self
            .store
            .find_credential(parsed.kind, &parsed.digest)
            .await?;
        let entry = match found {
            Some(c) => CachedPrincipal {
                kind: parsed.kind,
                id: c.id,
                account_id: c.account_id,
                user_id: c.user_id,
                active: c.active,
                expires_at: c.expires_at.map(|t| t.unix_timestamp()),
                loaded_at: now,
                permissions: Arc::new(c.permissions),
                network: (!c.network.is_open()).then(|| Arc::new(c.network)),
                last_used: Default::default(),
                usage_pending: Default::default(),
            },
            None => CachedPrincipal {
                kind: parsed.kind,
                id: TokenId(0),
                account_id: AccountId(0),
                user_id: None,
                active: false,
                expires_at: None,
                loaded_at: now,
                permissions: Arc::new(EffectivePermissions::default()),
                network: None,
                last_used: Default::default(),
                usage_pending: Default::default(),
            },
        };
        let entry = self
            .cache
            .insert(parsed.digest, entry, epoch, self.config.negative_capacity);
        Self::live(entry, now)
    }

    /// The entry if its token works now: active, and not expired.
    #[inline]
    fn live(entry: Principal, now: i64) -> Result<Principal, AuthError> {
        if !entry.active || entry.expires_at.is_some_and(|e| e <= now) {
            return Err(AuthError::Unauthenticated);
        }
        Ok(entry)
    }

    /// Notes that a principal authenticated now: at most one store per second per token, and
    /// one push into the batch per flush interval.
    #[inline]
    fn note_usage(&self, entry: &Principal, now: i64) {
        use std::sync::atomic::Ordering::Relaxed;
        if entry.last_used.load(Relaxed) != now {
            entry.last_used.store(now, Relaxed);
            if !entry.usage_pending.swap(true, Relaxed) {
                self.usage.lock().expect("usage lock").push(entry.clone());
            }
        }
    }

    /// Takes the pending `last_used_at` batch.
    pub fn take_usage(&self) -> Vec<(TokenKind, TokenId, time::OffsetDateTime)> {
        use std::sync::atomic::Ordering::Relaxed;
        let pending = std::mem::take(&mut *self.usage.lock().expect("usage lock"));
        pending
            .into_iter()
            .filter_map(|p| {
                p.usage_pending.store(false, Relaxed);
                let at =
                    time::OffsetDateTime::from_unix_timestamp(p.last_used.load(Relaxed)).ok()?;
                Some((p.kind, p.id, at))
            })
            .collect()
    }

    /// Writes the pending `last_used_at` batch.
    pub async fn flush_usage(&self) -> Result<(), StoreError> {
        let batch = self.take_usage();
        self.store.record_usage(&batch).await
    }

    /// The in-memory part of a decision. `None` means the project's owner must be looked up.
    #[inline]
    pub fn decide_cached(
        &self,
        principal: &CachedPrincipal,
        permission: Permission,
        project: Option<ProjectId>,
        env: Option<EnvCategory>,
    ) -> Option<Decision> {
        if let Some(p) = project {
            let owner = *self.projects.read().expect("project lock").get(&p)?;
            if owner != Some(principal.account_id) {
                // Another account's project, or none: the same answer as a missing grant.
                return Some(Decision::Deny(DenyReason::NoGrant {
                    permission,
                    project,
                }));
            }
        }
        Some(decide(&principal.permissions, permission, project, env))
    }

    /// Decides one check for an authenticated principal. A project of another account is
    /// denied exactly like a project the principal has no grant on.
    pub async fn decide(
        &self,
        principal: &CachedPrincipal,
        permission: Permission,
        project: Option<ProjectId>,
        env: Option<EnvCategory>,
    ) -> Result<Decision, StoreError> {
        if let Some(decision) = self.decide_cached(principal, permission, project, env) {
            return Ok(decision);
        }
        let p = project.expect("only a project lookup can miss");
        let load = self.load_owner(p).await?;
        self.remember_owner(load);
        Ok(self
            .decide_cached(principal, permission, project, env)
            .unwrap_or(Decision::Deny(DenyReason::NoGrant {
                permission,
                project,
            })))
    }

    /// The first half of a project-owner miss: reads the owner from the store. The second half
    /// is [`Verifier::remember_owner`]; they are apart so that an eviction can come between.
    pub async fn load_owner(&self, project: ProjectId) -> Result<OwnerLoad, StoreError> {
        let owner = self
            .store
            .project_owner(project)
            .await?
            .filter(|o| o.active)
            .map(|o| o.account_id);
        Ok(OwnerLoad { project, owner })
    }

    /// Caches what [`Verifier::load_owner`] read.
    pub fn remember_owner(&self, load: OwnerLoad) {
        let mut projects = self.projects.write().expect("project lock");
        if projects.len() >= 1_000_000 {
            projects.clear();
        }
        projects.insert(load.project, load.owner);
    }

    /// The cached owner of a project (`Some(None)`: remembered as unknown or deleted).
    pub fn cached_owner(&self, project: ProjectId) -> Option<Option<AccountId>> {
        self.projects
            .read()
            .expect("project lock")
            .get(&project)
            .copied()
    }

    /// Forgets every cached project owner (after an account-wide change).
    pub fn forget_projects(&self) {
        self.projects.write().expect("project lock").clear();
    }
}
