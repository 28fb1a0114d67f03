//! The node's cache of project → owning account, which every decision on a project consults so
//! that another account's project is denied exactly like an ungranted one.
//!
//! Entries are evicted one project at a time (a project's change-feed row), count as missing once
//! older than the configured max age, and are inserted only if no eviction happened since their
//! read from the store began (the eviction epoch), so a read that raced a project's deletion
//! cannot keep the deleted project authorizing.

use crate::clock::{Micros, UnixMicros};
use latchkey_core::{AccountId, ProjectId};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{PoisonError, RwLock};

/// Most projects remembered; past it, aged entries go first, then everything.
const CAPACITY: usize = 1_000_000;

#[derive(Clone, Copy)]
struct Entry {
    /// The owner of an active project; `None` for an unknown or deleted one.
    owner: Option<AccountId>,
    loaded_at: UnixMicros,
}

/// See the module docs.
#[derive(Default)]
pub struct ProjectOwners {
    map: RwLock<HashMap<ProjectId, Entry>>,
    /// Bumped on every eviction, so a read that raced one is not cached.
    epoch: AtomicU64,
}

impl ProjectOwners {
    /// The cached owner of `project` (`Some(None)`: known to be no active project), or `None`
    /// when it must be read: never cached, evicted, or older than `max_age` at `now`.
    #[inline]
    pub fn get(
        &self,
        project: ProjectId,
        now: UnixMicros,
        max_age: Micros,
    ) -> Option<Option<AccountId>> {
        let map = self.map.read().unwrap_or_else(PoisonError::into_inner);
        let entry = map.get(&project)?;
        (!now.is_older_than(entry.loaded_at, max_age)).then_some(entry.owner)
    }

    /// The eviction epoch; read it before reading an owner from the store, and pass it to
    /// [`ProjectOwners::insert`].
    #[inline]
    pub fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::Acquire)
    }

    /// Caches an owner read (from `loaded_at` on) while the epoch was `epoch`; skipped if an
    /// eviction happened since, as the read may predate the change evicted.
    pub fn insert(
        &self,
        project: ProjectId,
        owner: Option<AccountId>,
        loaded_at: UnixMicros,
        epoch: u64,
        max_age: Micros,
    ) {
        let mut map = self.map.write().unwrap_or_else(PoisonError::into_inner);
        if self.epoch.load(Ordering::Acquire) != epoch {
            return;
        }
        if map.len() >= CAPACITY {
            map.retain(|_, e| !loaded_at.is_older_than(e.loaded_at, max_age));
            if map.len() >= CAPACITY {
                map.clear();
            }
        }
        map.insert(project, Entry { owner, loaded_at });
    }

    /// Forgets one project (it was added, renamed or deleted).
    pub fn remove(&self, project: ProjectId) {
        let mut map = self.map.write().unwrap_or_else(PoisonError::into_inner);
        self.epoch.fetch_add(1, Ordering::AcqRel);
        map.remove(&project);
    }

    /// Forgets every project (the change feed was lost).
    pub fn clear(&self) {
        let mut map = self.map.write().unwrap_or_else(PoisonError::into_inner);
        self.epoch.fetch_add(1, Ordering::AcqRel);
        map.clear();
    }
}
