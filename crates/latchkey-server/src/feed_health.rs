//! How a node's change feed is doing, for `/readyz` and `/metrics`: whether it hears changes
//! as they commit (PostgreSQL's notifications) or only polls, how often it lost its listening
//! connection, and when it last read the feed.

use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};

/// Shared by the feed's tasks (which write it) and the probes (which read it).
#[derive(Debug, Default)]
pub struct FeedHealth {
    /// The node has a listener at all (PostgreSQL).
    listens: AtomicBool,
    /// The listener holds a live connection now.
    listening: AtomicBool,
    /// Times the listening connection was lost (each one cleared the caches).
    losses: AtomicU64,
    /// When the feed was last read without error (Unix seconds; 0 never).
    last_read: AtomicI64,
    /// Feed reads that failed (each one cleared the caches).
    read_errors: AtomicU64,
    /// Changes applied (evictions asked for).
    applied: AtomicU64,
}

/// The feed's state in one word, as `/readyz` reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FeedState {
    /// Hears changes as they commit (and polls as a safety net).
    Listening,
    /// Polls the feed (SQLite, a single node).
    Polling,
    /// Has a listener but lost its connection: the caches were cleared, and it reconnects.
    Reconnecting,
}

impl FeedState {
    /// `listening`, `polling` or `reconnecting`.
    pub fn as_str(self) -> &'static str {
        match self {
            FeedState::Listening => "listening",
            FeedState::Polling => "polling",
            FeedState::Reconnecting => "reconnecting",
        }
    }
}

impl FeedHealth {
    /// The node has a listener (set once at start).
    pub fn set_listens(&self) {
        self.listens.store(true, Ordering::Relaxed);
    }

    /// The listener holds (or lost) its connection.
    pub fn set_listening(&self, on: bool) {
        if !on && self.listening.swap(false, Ordering::Relaxed) {
            self.losses.fetch_add(1, Ordering::Relaxed);
        } else if on {
            self.listening.store(true, Ordering::Relaxed);
        }
    }

    /// The feed was read at `now` (Unix seconds), applying `changes`.
    pub fn read_ok(&self, now: i64, changes: u64) {
        self.last_read.store(now, Ordering::Relaxed);
        self.applied.fetch_add(changes, Ordering::Relaxed);
    }

    /// A read of the feed failed.
    pub fn read_failed(&self) {
        self.read_errors.fetch_add(1, Ordering::Relaxed);
    }

    /// The state in one word.
    pub fn state(&self) -> FeedState {
        match (
            self.listens.load(Ordering::Relaxed),
            self.listening.load(Ordering::Relaxed),
        ) {
            (false, _) => FeedState::Polling,
            (true, true) => FeedState::Listening,
            (true, false) => FeedState::Reconnecting,
        }
    }

    /// When the feed was last read without error (Unix seconds; 0 never).
    pub fn last_read(&self) -> i64 {
        self.last_read.load(Ordering::Relaxed)
    }

    /// Times the listening connection was lost.
    pub fn losses(&self) -> u64 {
        self.losses.load(Ordering::Relaxed)
    }

    /// Feed reads that failed.
    pub fn read_errors(&self) -> u64 {
        self.read_errors.load(Ordering::Relaxed)
    }

    /// Changes applied.
    pub fn applied(&self) -> u64 {
        self.applied.load(Ordering::Relaxed)
    }
}
