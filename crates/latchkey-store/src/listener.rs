//! Hearing of changes as they commit. On PostgreSQL every statement that appends to the change
//! feed also sends a notification on [`CHANNEL`] (a trigger of the table), which PostgreSQL delivers
//! at commit to every node listening; a node then reads the feed at once instead of at its next
//! poll. On SQLite (one node) there is nothing to hear and the node polls.
//!
//! A notification carries nothing: the feed table stays the one record of what changed, so a
//! node that missed notifications (its listening connection dropped) loses no change, only
//! time; it must still assume its cache is stale, and clears it.

use crate::{Backend, Store, StoreError};
use sqlx::postgres::PgListener;
use std::sync::Arc;

/// The notification channel the change feed's trigger signals on.
pub const CHANNEL: &str = "latchkey_changes";

/// A node's listening connection (PostgreSQL only).
pub struct ChangeListener {
    url: Arc<str>,
    listener: Option<PgListener>,
}

impl Store {
    /// A listener for committed changes, or `None` on SQLite, where the one node polls.
    pub fn change_listener(&self) -> Option<ChangeListener> {
        match (self.backend, &self.url) {
            (Backend::Postgres, Some(url)) => Some(ChangeListener {
                url: url.clone(),
                listener: None,
            }),
            _ => None,
        }
    }
}

impl ChangeListener {
    /// Waits until a change commits on any node, and returns. The first call (and the first
    /// after an error) connects and returns as soon as it listens, so the caller reads the feed
    /// for whatever committed while it was not listening. An error means the connection was
    /// lost or could not be made: the caller must assume it missed changes.
    pub async fn changed(&mut self) -> Result<(), StoreError> {
        let Some(listener) = self.listener.as_mut() else {
            let mut listener = PgListener::connect(&self.url).await?;
            listener.listen(CHANNEL).await?;
            self.listener = Some(listener);
            return Ok(());
        };
        match listener.try_recv().await {
            Ok(Some(_)) => Ok(()),
            Ok(None) => {
                self.listener = None;
                Err(StoreError::Database(sqlx::Error::Io(std::io::Error::new(
                    std::io::ErrorKind::ConnectionAborted,
                    "the change listener's connection was lost",
                ))))
            }
            Err(e) => {
                self.listener = None;
                Err(e.into())
            }
        }
    }

    /// Whether the listener holds a connection now.
    pub fn is_connected(&self) -> bool {
        self.listener.is_some()
    }
}
