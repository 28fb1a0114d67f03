//! The connections held: admitting a new one at the cap by choosing the longest-quiet one to
//! close, and forgetting one when its task ends.

use super::activity::Activity;
use super::EVICTION_SLACK;
use std::collections::HashMap;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use tokio::sync::Notify;

/// The connections held, and how many of them were chosen to make room and are closing.
#[derive(Default)]
pub(super) struct Held {
    state: Mutex<HeldState>,
    /// Notified whenever a connection is let go.
    pub(super) released: Notify,
}

#[derive(Default)]
struct HeldState {
    connections: HashMap<u64, Arc<Activity>>,
    evicting: usize,
}

/// What becomes of a new connection.
pub(super) enum Admission {
    Admitted,
    /// Every held connection is busy with a request.
    Shed,
    /// Too many are still closing to make room; ask again when one has.
    Wait,
}

impl Held {
    fn lock(&self) -> MutexGuard<'_, HeldState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Admits a new connection, choosing the longest-quiet held one that is not busy to close
    /// if the cap is reached. At most `max` are held that are not closing, and at most
    /// [`EVICTION_SLACK`] more that are.
    pub(super) fn admit(&self, id: u64, activity: &Arc<Activity>, max: usize) -> Admission {
        let mut held = self.lock();
        let held = &mut *held;
        if held.connections.len() - held.evicting >= max {
            let victim = held
                .connections
                .values()
                .filter(|a| !a.busy() && !a.evicted.load(Relaxed))
                .min_by_key(|a| a.quiet_since.load(Relaxed));
            let Some(victim) = victim else {
                return Admission::Shed;
            };
            victim.evicted.store(true, Relaxed);
            victim.wake.notify_one();
            held.evicting += 1;
        }
        if held.connections.len() >= max + EVICTION_SLACK {
            return Admission::Wait;
        }
        held.connections.insert(id, activity.clone());
        Admission::Admitted
    }

    pub(super) fn release(&self, id: u64) {
        let mut held = self.lock();
        if let Some(gone) = held.connections.remove(&id) {
            if gone.evicted.load(Relaxed) {
                held.evicting -= 1;
            }
        }
        drop(held);
        self.released.notify_one();
    }
}

/// Forgets a connection when its task ends, however it ends.
pub(super) struct Release(pub(super) Arc<Held>, pub(super) u64);

impl Drop for Release {
    fn drop(&mut self) {
        self.0.release(self.1);
    }
}
