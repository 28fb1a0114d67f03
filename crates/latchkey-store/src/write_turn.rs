//! The writers' turn inside one process. The database has one writer at a time (SQLite's write
//! lock; on PostgreSQL the advisory lock of [`crate::Store::write`]), and writers that wait for
//! it inside the database wait badly: SQLite's busy handler sleeps 1, 2, 5 … 100 ms between
//! retries while the lock is mostly free, and every PostgreSQL backend queued on the advisory
//! lock is one more process to wake at each hand-off. So a process's writers first queue here, in
//! order, and only the head of the queue asks the database; other processes (a CLI beside the
//! server, other nodes) still meet it at the database's own lock.

use crate::StoreError;
use sqlx::{Any, AnyConnection, Transaction};
use std::ops::{Deref, DerefMut};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The queue of one store's writers (shared by its clones).
#[derive(Clone)]
pub(crate) struct WriteTurn {
    gate: Arc<Semaphore>,
    /// How long a writer waits for its turn before it gives up, as for a pool connection.
    patience: Duration,
}

impl WriteTurn {
    /// A queue whose writers wait at most `patience`.
    pub(crate) fn new(patience: Duration) -> WriteTurn {
        WriteTurn {
            gate: Arc::new(Semaphore::new(1)),
            patience,
        }
    }

    /// Waits (first come, first served) until no other writer of this process is in a
    /// transaction; the turn lasts as long as the permit.
    pub(crate) async fn wait(&self) -> Result<OwnedSemaphorePermit, StoreError> {
        match tokio::time::timeout(self.patience, self.gate.clone().acquire_owned()).await {
            Ok(Ok(permit)) => Ok(permit),
            // The semaphore is never closed; a writer that waited too long is told what a
            // writer with no pool connection is told.
            Ok(Err(_)) | Err(_) => Err(sqlx::Error::PoolTimedOut.into()),
        }
    }
}

/// A write transaction that holds its writer's turn until it commits or is dropped. Used as the
/// connection it runs on (`&mut tx`, `&mut *tx`).
pub(crate) struct WriteTx {
    tx: Transaction<'static, Any>,
    /// Released after the transaction ends (fields drop in order).
    _turn: Option<OwnedSemaphorePermit>,
}

impl WriteTx {
    /// `tx`, holding `turn` (if it took one) until it ends.
    pub(crate) fn new(tx: Transaction<'static, Any>, turn: Option<OwnedSemaphorePermit>) -> Self {
        WriteTx { tx, _turn: turn }
    }

    /// Commits the transaction, then gives up the turn.
    pub(crate) async fn commit(self) -> Result<(), sqlx::Error> {
        self.tx.commit().await
    }
}

impl Deref for WriteTx {
    type Target = AnyConnection;

    fn deref(&self) -> &AnyConnection {
        &self.tx
    }
}

impl DerefMut for WriteTx {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        &mut self.tx
    }
}

#[cfg(test)]
mod tests {
    use super::WriteTurn;
    use std::time::Duration;

    #[tokio::test]
    async fn writers_take_turns_in_order_and_a_writer_that_waits_too_long_is_told_so() {
        let turn = WriteTurn::new(Duration::from_millis(200));
        let first = turn.wait().await.unwrap();
        // While the first holds the turn, a second cannot have it: it gives up after its
        // patience with the pool's timeout (a transient error, answered 503 by the server).
        let refused = turn.wait().await.err().unwrap();
        assert!(refused.is_unavailable(), "{refused:?}");
        // Writers queued behind the first are served in the order they came.
        let (tx, mut order) = tokio::sync::mpsc::unbounded_channel();
        let mut queued = Vec::new();
        for n in 0..4 {
            let (turn, tx) = (turn.clone(), tx.clone());
            queued.push(tokio::spawn(async move {
                let _mine = turn.wait().await.unwrap();
                tx.send(n).unwrap();
            }));
            // Let this one reach the queue before the next one starts.
            tokio::task::yield_now().await;
        }
        drop(first);
        for task in queued {
            task.await.unwrap();
        }
        drop(tx);
        let mut served = Vec::new();
        while let Some(n) = order.recv().await {
            served.push(n);
        }
        assert_eq!(served, vec![0, 1, 2, 3]);
    }
}
