//! The node's cache of compiled principals, keyed by token digest.
//!
//! 64 shards, each a `RwLock` over a table of its own (`table.rs`): open addressing where each
//! slot holds the digest's first eight bytes beside the entry's pointer, so a hit reads one slot
//! and then the one entry it points to (where the whole digest is compared); bytes 8..16 pick
//! the shard. A million cached tokens cost one allocation each and about 21 bytes of table,
//! about 150 bytes a token. Readers take a shard's read lock for the few nanoseconds of a
//! lookup; nothing is held across an `.await`. Identical permission sets are interned, so a
//! million tokens with the same grants share one compiled copy.
//!
//! Evictions are as narrow as the change: one digest, one user's personal tokens (found through a
//! small index kept for personal tokens only), or one account's entries (a plan or IP-rule
//! change, the one case that scans the shards). Every eviction bumps an epoch, and an entry read
//! from the store before the bump is not inserted after it.

use crate::clock::UnixMicros;
use latchkey_core::{
    AccountId, EffectivePermissions, NetworkPolicy, TokenDigest, TokenId, TokenKind, UserId,
};
use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};

mod table;

use table::Table;

const SHARDS: usize = 64;

/// Why entries were dropped, for `/metrics`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Eviction {
    /// One token changed.
    Token,
    /// A user's seat, license or groups changed: their personal tokens.
    User,
    /// An account's plan or IP rules changed: its entries.
    Account,
    /// The change feed was lost: everything.
    All,
}

impl Eviction {
    /// Every reason, in the order they are written out.
    pub const ALL: [Eviction; 4] = [
        Eviction::Token,
        Eviction::User,
        Eviction::Account,
        Eviction::All,
    ];

    /// The label value: `token`, `user`, `account` or `all`.
    pub fn as_str(self) -> &'static str {
        match self {
            Eviction::Token => "token",
            Eviction::User => "user",
            Eviction::Account => "account",
            Eviction::All => "all",
        }
    }

    fn index(self) -> usize {
        match self {
            Eviction::Token => 0,
            Eviction::User => 1,
            Eviction::Account => 2,
            Eviction::All => 3,
        }
    }
}

type Shard = RwLock<Table>;

/// A principal as the verifier read it from the store, before it is cached.
#[derive(Debug)]
pub struct PrincipalLoad {
    /// Service or personal.
    pub kind: TokenKind,
    /// Token id (0 for an unknown token).
    pub id: TokenId,
    /// Owning account.
    pub account_id: AccountId,
    /// For PATs, the user.
    pub user_id: Option<UserId>,
    /// False for unknown, revoked, or seat-less tokens.
    pub active: bool,
    /// When it stops working (it works strictly before this instant).
    pub expires_at: Option<UnixMicros>,
    /// When it was read from the store.
    pub loaded_at: UnixMicros,
    /// Compiled permissions.
    pub permissions: Arc<EffectivePermissions>,
    /// IP fences; `None` when there are none.
    pub network: Option<Arc<NetworkPolicy>>,
}

/// `CachedPrincipal::user` of a token that acts for no user (ids are positive).
const NO_USER: i64 = i64::MIN;

/// A token as the verifier needs it, compiled. Laid out to be small (a million of them are
/// cached at once): optional ids and times are held with a sentinel, not an `Option`.
#[derive(Debug)]
pub struct CachedPrincipal {
    /// The token's digest, its key in the cache.
    digest: TokenDigest,
    /// Token id (0 for an unknown token).
    pub id: TokenId,
    /// Owning account.
    pub account_id: AccountId,
    /// For PATs, the user's id; [`NO_USER`] for service tokens.
    user: i64,
    /// When it stops working; `i64::MAX` for never.
    expires: UnixMicros,
    /// When this entry was read from the store; it is reloaded after the max age.
    pub loaded_at: UnixMicros,
    /// Compiled permissions, shared between tokens that hold the same.
    pub permissions: Arc<EffectivePermissions>,
    /// IP fences (account rules, token allowlist); `None` when there are none. Shared like
    /// the permissions, so an account's rules are held once however many tokens it has.
    pub network: Option<Arc<NetworkPolicy>>,
    /// Last second this token authenticated (for the batched `last_used_at`).
    pub last_used: AtomicI64,
    /// Service or personal.
    pub kind: TokenKind,
    /// False for unknown, revoked, or seat-less tokens.
    pub active: bool,
}

impl CachedPrincipal {
    /// The entry for `load`, keyed by `digest`.
    pub fn new(digest: TokenDigest, load: PrincipalLoad) -> CachedPrincipal {
        CachedPrincipal {
            digest,
            id: load.id,
            account_id: load.account_id,
            user: load.user_id.map_or(NO_USER, |u| u.0),
            expires: load.expires_at.unwrap_or(UnixMicros(i64::MAX)),
            loaded_at: load.loaded_at,
            permissions: load.permissions,
            network: load.network,
            last_used: AtomicI64::new(0),
            kind: load.kind,
            active: load.active,
        }
    }

    /// For PATs, the user.
    #[inline]
    pub fn user_id(&self) -> Option<UserId> {
        (self.user != NO_USER).then_some(UserId(self.user))
    }

    /// Who it is, as the API's answers show it.
    pub fn view(&self) -> latchkey_wire::PrincipalView {
        latchkey_wire::PrincipalView::new(self.kind, self.id, self.account_id, self.user_id())
    }

    /// When it stops working (it works strictly before this instant); `None` for never.
    #[inline]
    pub fn expires_at(&self) -> Option<UnixMicros> {
        (self.expires.0 != i64::MAX).then_some(self.expires)
    }

    /// Whether it works at `now`: active, and strictly before its expiry.
    #[inline]
    pub fn works_at(&self, now: UnixMicros) -> bool {
        self.active && now < self.expires
    }
}

#[cfg(test)]
impl CachedPrincipal {
    /// An active service token of account 1 that may do nothing, for unit tests.
    pub(crate) fn test_service(digest: TokenDigest, id: i64) -> Arc<CachedPrincipal> {
        Arc::new(CachedPrincipal::new(
            digest,
            PrincipalLoad {
                kind: TokenKind::Service,
                id: TokenId(id),
                account_id: AccountId(1),
                user_id: None,
                active: true,
                expires_at: None,
                loaded_at: UnixMicros(0),
                permissions: Arc::default(),
                network: None,
            },
        ))
    }
}

/// The one shared copy of `value` (bounded: unshared copies are dropped past 100,000).
fn intern<T: Clone + Eq + std::hash::Hash>(
    table: &Mutex<HashMap<T, Arc<T>>>,
    value: &Arc<T>,
) -> Arc<T> {
    let mut interned = table.lock().unwrap_or_else(PoisonError::into_inner);
    if interned.len() > 100_000 {
        interned.retain(|_, v| Arc::strong_count(v) > 1);
    }
    interned
        .entry((**value).clone())
        .or_insert_with(|| value.clone())
        .clone()
}

/// The cache. See the module docs.
pub struct TokenCache {
    shards: Box<[Shard]>,
    interned: Mutex<HashMap<EffectivePermissions, Arc<EffectivePermissions>>>,
    interned_networks: Mutex<HashMap<NetworkPolicy, Arc<NetworkPolicy>>>,
    negative: AtomicI64,
    /// Bumped on every eviction, so a load that raced an eviction is not cached.
    epoch: AtomicU64,
    /// Each user's cached personal tokens, so a change to one user evicts theirs without a scan.
    /// Taken after a shard's lock, never before it.
    by_user: Mutex<HashMap<UserId, Vec<TokenDigest>>>,
    /// Entries dropped, by [`Eviction`] reason.
    evicted: [AtomicU64; 4],
}

impl Default for TokenCache {
    fn default() -> Self {
        TokenCache {
            shards: (0..SHARDS).map(|_| Shard::default()).collect(),
            interned: Mutex::default(),
            interned_networks: Mutex::default(),
            negative: AtomicI64::new(0),
            epoch: AtomicU64::new(0),
            by_user: Mutex::default(),
            evicted: Default::default(),
        }
    }
}

impl TokenCache {
    #[inline]
    fn shard(&self, digest: &TokenDigest) -> &Shard {
        &self.shards[digest.0[8] as usize % SHARDS]
    }

    /// Looks a digest up.
    #[inline]
    pub fn get(&self, digest: &TokenDigest) -> Option<Arc<CachedPrincipal>> {
        self.shard(digest)
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(digest)
            .cloned()
    }

    /// Runs `f` on the entry under the shard's read lock, without touching its reference count.
    #[inline]
    pub fn with<R>(
        &self,
        digest: &TokenDigest,
        f: impl FnOnce(&Arc<CachedPrincipal>) -> R,
    ) -> Option<R> {
        self.shard(digest)
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(digest)
            .map(f)
    }

    /// The eviction epoch; read it before loading from the store and pass it to [`insert`].
    ///
    /// [`insert`]: TokenCache::insert
    pub fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::Acquire)
    }

    /// Caches a principal loaded while the epoch was `epoch`; skipped if an eviction happened
    /// since (the load may predate a revocation), or if it is unknown and the negative budget is
    /// spent.
    pub fn insert(
        &self,
        digest: TokenDigest,
        load: PrincipalLoad,
        epoch: u64,
        negative_capacity: usize,
    ) -> Arc<CachedPrincipal> {
        let load = PrincipalLoad {
            permissions: intern(&self.interned, &load.permissions),
            network: load
                .network
                .as_ref()
                .map(|n| intern(&self.interned_networks, n)),
            ..load
        };
        let entry = Arc::new(CachedPrincipal::new(digest, load));
        let unknown = entry.id.0 == 0;
        if unknown && self.negative.load(Ordering::Relaxed) >= negative_capacity as i64 {
            return entry;
        }
        let mut shard = self
            .shard(&digest)
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        if self.epoch.load(Ordering::Acquire) != epoch {
            return entry;
        }
        if let Some(old) = shard.replace(entry.clone()) {
            if old.id.0 == 0 {
                self.negative.fetch_sub(1, Ordering::Relaxed);
            }
        }
        if unknown {
            self.negative.fetch_add(1, Ordering::Relaxed);
        }
        if let Some(user) = entry.user_id() {
            let mut by_user = self.by_user.lock().unwrap_or_else(PoisonError::into_inner);
            let digests = by_user.entry(user).or_default();
            if !digests.contains(&digest) {
                digests.push(digest);
            }
        }
        entry
    }

    /// Takes `digest` out of its user's index entry (called under the digest's shard lock).
    fn unindex(&self, user: UserId, digest: &TokenDigest) {
        let mut by_user = self.by_user.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(digests) = by_user.get_mut(&user) {
            digests.retain(|d| d != digest);
            if digests.is_empty() {
                by_user.remove(&user);
            }
        }
    }

    /// Drops one digest.
    pub fn remove(&self, digest: &TokenDigest) {
        self.epoch.fetch_add(1, Ordering::AcqRel);
        let mut shard = self
            .shard(digest)
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(old) = shard.take(digest) {
            self.count(Eviction::Token, 1);
            if old.id.0 == 0 {
                self.negative.fetch_sub(1, Ordering::Relaxed);
            }
            if let Some(user) = old.user_id() {
                self.unindex(user, digest);
            }
        }
    }

    fn count(&self, reason: Eviction, entries: usize) {
        self.evicted[reason.index()].fetch_add(entries as u64, Ordering::Relaxed);
    }

    /// Entries dropped so far for `reason`.
    pub fn evictions(&self, reason: Eviction) -> u64 {
        self.evicted[reason.index()].load(Ordering::Relaxed)
    }

    /// Unknown tokens remembered now.
    pub fn negative_len(&self) -> usize {
        usize::try_from(self.negative.load(Ordering::Relaxed)).unwrap_or(0)
    }

    /// Drops a user's personal tokens (their seat, license or groups changed), in any account.
    pub fn remove_user(&self, user: UserId) {
        self.epoch.fetch_add(1, Ordering::AcqRel);
        let digests = self
            .by_user
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&user)
            .unwrap_or_default();
        for digest in &digests {
            let mut shard = self
                .shard(digest)
                .write()
                .unwrap_or_else(PoisonError::into_inner);
            if shard.get(digest).is_some_and(|e| e.user_id() == Some(user)) {
                shard.take(digest);
                self.count(Eviction::User, 1);
            }
        }
    }

    /// Drops every entry of an account (its plan or IP rules changed). This one scans.
    pub fn remove_account(&self, account: AccountId) {
        self.epoch.fetch_add(1, Ordering::AcqRel);
        for shard in &self.shards {
            let mut shard = shard.write().unwrap_or_else(PoisonError::into_inner);
            let mut personal = Vec::new();
            let before = shard.len();
            shard.retain(|e| {
                if e.account_id != account {
                    return true;
                }
                if let Some(user) = e.user_id() {
                    personal.push((user, e.digest));
                }
                false
            });
            self.count(Eviction::Account, before - shard.len());
            for (user, digest) in &personal {
                self.unindex(*user, digest);
            }
        }
    }

    /// Drops every unknown-token entry loaded before `before`. Free when there are none, so a
    /// large cache of known tokens is not scanned for nothing.
    pub fn expire_negative(&self, before: UnixMicros) {
        if self.negative.load(Ordering::Relaxed) <= 0 {
            return;
        }
        for shard in &self.shards {
            let mut shard = shard.write().unwrap_or_else(PoisonError::into_inner);
            let len = shard.len();
            shard.retain(|e| e.id.0 != 0 || e.loaded_at >= before);
            self.negative
                .fetch_sub((len - shard.len()) as i64, Ordering::Relaxed);
        }
    }

    /// Drops everything (the change feed was lost).
    pub fn clear(&self) {
        self.epoch.fetch_add(1, Ordering::AcqRel);
        // The index first: a digest indexed after this and dropped from its shard below is
        // harmless, while the reverse would leave a cached token no user eviction can find.
        self.by_user
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
        for shard in &self.shards {
            let mut shard = shard.write().unwrap_or_else(PoisonError::into_inner);
            self.count(Eviction::All, shard.len());
            shard.clear();
        }
        self.negative.store(0, Ordering::Relaxed);
    }

    /// Number of cached entries (known and unknown).
    pub fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.read().unwrap_or_else(PoisonError::into_inner).len())
            .sum()
    }

    /// True when nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
