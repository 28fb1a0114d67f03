//! The verifier: turns a presented token into a principal and answers permission checks.
//!
//! Hot path on a cache hit, all in memory and synchronous: parse and checksum the token (no I/O
//! for malformed ones), SHA-256 it, look the digest up in the [`TokenCache`], check state and
//! expiry (to the microsecond), evaluate the bitsets. Misses do one indexed lookup in the store
//! and cache the result (unknown tokens too, briefly). Decisions on a project also need its
//! owner, cached in [`ProjectOwners`]. `last_used_at` is noted in memory and flushed in batches.

use crate::cache::{CachedPrincipal, PrincipalLoad, TokenCache};
use crate::clock::{Micros, UnixMicros};
use crate::config::ServerConfig;
use crate::metrics::{Metrics, StoreCall};
use crate::owners::ProjectOwners;
use crate::usage::UsageLog;
use latchkey_core::{
    decide_owned, AccountId, Decision, EffectivePermissions, EnvCategory, Grant, Ownership,
    Permission, Plan, ProjectId, TokenId,
};
use latchkey_store::CredentialSource;
use latchkey_store::{Store, StoreError};
use std::net::IpAddr;
use std::sync::Arc;
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

/// Seconds since the Unix epoch (for rate windows and sweeps; token lifetimes use
/// [`UnixMicros`]).
#[inline]
pub fn now_unix() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// A project's owner as read from the store, not yet cached.
#[derive(Debug)]
pub struct OwnerLoad {
    project: ProjectId,
    owner: Option<AccountId>,
    loaded_at: UnixMicros,
    epoch: u64,
}

/// See the module docs. One per node; share it behind an `Arc`.
pub struct Verifier {
    config: ServerConfig,
    store: Store,
    cache: TokenCache,
    owners: ProjectOwners,
    usage: UsageLog,
    feed: crate::feed_health::FeedHealth,
    metrics: Metrics,
    /// `config.cache_max_age`, converted once.
    max_age: Micros,
    /// `config.negative_ttl`, converted once.
    negative_ttl: Micros,
}

impl Verifier {
    /// A verifier over a store.
    pub fn new(store: Store, config: ServerConfig) -> Verifier {
        Verifier {
            usage: UsageLog::new(config.usage_granularity),
            max_age: config.cache_max_age.into(),
            negative_ttl: config.negative_ttl.into(),
            config,
            store,
            cache: TokenCache::default(),
            owners: ProjectOwners::default(),
            feed: crate::feed_health::FeedHealth::default(),
            metrics: Metrics::default(),
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

    /// How the change feed is doing.
    pub fn feed(&self) -> &crate::feed_health::FeedHealth {
        &self.feed
    }

    /// The node's counters.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// Tokens whose `last_used_at` waits to be written.
    pub fn usage_backlog(&self) -> usize {
        self.usage.backlog()
    }

    /// The project-owner cache.
    pub fn owners(&self) -> &ProjectOwners {
        &self.owners
    }

    /// The in-memory part of authentication at `now`. `Ok(None)` means the store must be asked.
    /// A working principal found here is not counted as a cache hit: the caller counts it with
    /// its decision ([`Metrics::decided`]), so that the hit path costs one counter.
    /// `ip` is the client's address, recorded as the token's `last_used_ip` with its use.
    #[inline]
    pub fn authenticate_cached(
        &self,
        token: &str,
        now: UnixMicros,
        ip: Option<IpAddr>,
    ) -> Result<Option<Principal>, AuthError> {
        let found = self.lookup_cached(token, now)?;
        if let Some(p) = &found {
            self.usage.note(p, now.secs(), ip);
        }
        Ok(found)
    }

    /// [`Verifier::authenticate_cached`] without noting usage.
    #[inline]
    fn lookup_cached(&self, token: &str, now: UnixMicros) -> Result<Option<Principal>, AuthError> {
        let parsed = self
            .config
            .token_format
            .parse(token)
            .map_err(|_| AuthError::Unauthenticated)?;
        let Some(entry) = self.cache.get(&parsed.digest) else {
            return Ok(None);
        };
        let max_age = if entry.id.0 == 0 {
            self.negative_ttl
        } else {
            self.max_age
        };
        if now.is_older_than(entry.loaded_at, max_age) {
            return Ok(None);
        }
        let live = Self::live(entry, now);
        if live.is_err() {
            // Answered from memory all the same; the failure path can afford its own count.
            self.metrics.cache_hit();
        }
        live.map(Some)
    }

    /// Authenticates a token (cache, or store on a miss) and notes its use for `last_used_at`.
    pub async fn authenticate(&self, token: &str) -> Result<Principal, AuthError> {
        self.authenticate_at(token, UnixMicros::now()).await
    }

    /// [`Verifier::authenticate`] at a time the caller already read.
    pub async fn authenticate_at(
        &self,
        token: &str,
        now: UnixMicros,
    ) -> Result<Principal, AuthError> {
        self.authenticate_from(token, now, None).await
    }

    /// [`Verifier::authenticate_at`] for a client at `ip`, recorded as the token's
    /// `last_used_ip` with its use.
    pub async fn authenticate_from(
        &self,
        token: &str,
        now: UnixMicros,
        ip: Option<IpAddr>,
    ) -> Result<Principal, AuthError> {
        let principal = self.lookup_at(token, now).await?;
        self.usage.note(&principal, now.secs(), ip);
        Ok(principal)
    }

    /// Looks a token up like [`Verifier::authenticate`] without counting it as used (for
    /// introspection by someone else).
    pub async fn lookup(&self, token: &str) -> Result<Principal, AuthError> {
        self.lookup_at(token, UnixMicros::now()).await
    }

    async fn lookup_at(&self, token: &str, now: UnixMicros) -> Result<Principal, AuthError> {
        if let Some(principal) = self.lookup_cached(token, now)? {
            self.metrics.cache_hit();
            return Ok(principal);
        }
        let parsed = self
            .config
            .token_format
            .parse(token)
            .map_err(|_| AuthError::Unauthenticated)?;
        self.metrics.cache_miss();
        let epoch = self.cache.epoch();
        let found = self
            .metrics
            .timed(
                StoreCall::FindCredential,
                self.store.find_credential(parsed.kind, &parsed.digest),
            )
            .await?;
        // Unknown and found-but-dead tokens take the same steps from here on: one entry built,
        // one insert, one refusal.
        let (id, account_id, user_id, active, expires_at, permissions, network) = match found {
            Some(c) => (
                c.id,
                c.account_id,
                c.user_id,
                c.active,
                c.expires_at.map(UnixMicros::of),
                c.permissions,
                (!c.network.is_open()).then(|| Arc::new(c.network)),
            ),
            None => (
                TokenId(0),
                AccountId(0),
                None,
                false,
                None,
                EffectivePermissions::default(),
                None,
            ),
        };
        let entry = PrincipalLoad {
            kind: parsed.kind,
            id,
            account_id,
            user_id,
            active,
            expires_at,
            loaded_at: now,
            permissions: Arc::new(permissions),
            network,
        };
        let entry = self
            .cache
            .insert(parsed.digest, entry, epoch, self.config.negative_capacity);
        Self::live(entry, now)
    }

    /// The entry if its token works at `now`: active, and strictly before its expiry.
    #[inline]
    fn live(entry: Principal, now: UnixMicros) -> Result<Principal, AuthError> {
        if entry.works_at(now) {
            Ok(entry)
        } else {
            Err(AuthError::Unauthenticated)
        }
    }

    /// Writes the pending `last_used_at` batch; a batch the store refuses is kept for the next
    /// call (see [`UsageLog`]).
    pub async fn flush_usage(&self) -> Result<(), StoreError> {
        self.usage.flush(&self.store, &self.metrics).await
    }

    /// Whether `project` is the principal's account's, from the cache at `now`; `None` when its
    /// owner must be read from the store.
    #[inline]
    fn ownership_cached(
        &self,
        principal: &CachedPrincipal,
        project: Option<ProjectId>,
        now: UnixMicros,
    ) -> Option<Ownership> {
        let Some(p) = project else {
            return Some(Ownership::Own);
        };
        let owner = self.owners.get(p, now, self.max_age)?;
        Some(Self::ownership_of(principal, owner))
    }

    fn ownership_of(principal: &CachedPrincipal, owner: Option<AccountId>) -> Ownership {
        if owner == Some(principal.account_id) {
            Ownership::Own
        } else {
            Ownership::Foreign
        }
    }

    /// Whether `project` is the principal's account's: from the cache, or read from the store
    /// (and cached) on a miss.
    pub async fn ownership(
        &self,
        principal: &CachedPrincipal,
        project: Option<ProjectId>,
    ) -> Result<Ownership, StoreError> {
        let Some(p) = project else {
            return Ok(Ownership::Own);
        };
        if let Some(owner) = self.owners.get(p, UnixMicros::now(), self.max_age) {
            return Ok(Self::ownership_of(principal, owner));
        }
        let load = self.load_owner(p).await?;
        let owner = load.owner;
        self.remember_owner(load);
        Ok(Self::ownership_of(principal, owner))
    }

    /// The in-memory part of a decision at `now`. `None` means the project's owner must be read.
    #[inline]
    pub fn decide_cached(
        &self,
        principal: &CachedPrincipal,
        permission: Permission,
        project: Option<ProjectId>,
        env: Option<EnvCategory>,
        now: UnixMicros,
    ) -> Option<Decision> {
        let ownership = self.ownership_cached(principal, project, now)?;
        Some(decide_owned(
            &principal.permissions,
            permission,
            project,
            ownership,
            env,
        ))
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
        let ownership = self.ownership(principal, project).await?;
        Ok(decide_owned(
            &principal.permissions,
            permission,
            project,
            ownership,
            env,
        ))
    }

    /// Decides one check from a service token's `grants` under `plan` (as read from the store
    /// for an explanation), and says which grants cover it. The decision and every grant's
    /// answer go through the one decision function with the one ownership answer, so the
    /// explanation cannot contradict the decision.
    pub async fn explain(
        &self,
        principal: &CachedPrincipal,
        grants: &[Grant],
        plan: Plan,
        permission: Permission,
        project: Option<ProjectId>,
        env: Option<EnvCategory>,
    ) -> Result<(Decision, Vec<(Grant, bool)>), StoreError> {
        let ownership = self.ownership(principal, project).await?;
        let perms = EffectivePermissions::for_service_token(grants, plan);
        let decision = decide_owned(&perms, permission, project, ownership, env);
        let why = latchkey_core::explain(grants, plan, permission, project, ownership, env);
        Ok((decision, why))
    }

    /// The first half of a project-owner miss: reads the owner from the store. The second half
    /// is [`Verifier::remember_owner`]; they are apart so that an eviction can come between.
    pub async fn load_owner(&self, project: ProjectId) -> Result<OwnerLoad, StoreError> {
        let epoch = self.owners.epoch();
        let loaded_at = UnixMicros::now();
        let owner = self
            .metrics
            .timed(StoreCall::ProjectOwner, self.store.project_owner(project))
            .await?
            .filter(|o| o.active)
            .map(|o| o.account_id);
        Ok(OwnerLoad {
            project,
            owner,
            loaded_at,
            epoch,
        })
    }

    /// Caches what [`Verifier::load_owner`] read, unless the project cache saw an eviction
    /// since the read began.
    pub fn remember_owner(&self, load: OwnerLoad) {
        self.owners.insert(
            load.project,
            load.owner,
            load.loaded_at,
            load.epoch,
            self.max_age,
        );
    }

    /// The cached owner of a project (`Some(None)`: remembered as unknown or deleted).
    pub fn cached_owner(&self, project: ProjectId) -> Option<Option<AccountId>> {
        self.owners.get(project, UnixMicros::now(), self.max_age)
    }
}
