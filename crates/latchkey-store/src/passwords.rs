//! Password hashing, bounded: Argon2 costs memory (19 MiB) and CPU per attempt, so at most a
//! few run at once, and a request that finds every permit taken is refused at once
//! ([`StoreError::Busy`]) instead of queueing. Each runs on a thread of its own at the lowest
//! scheduling priority (nice 19), off the async workers: a flood of sign-ins gets the CPU that
//! token verification leaves, and never slows verification down by more than the scheduler's
//! share for a nice-19 thread. Nothing else in the store hashes or verifies a password.

use crate::StoreError;
use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, SaltString};
use argon2::{Argon2, PasswordVerifier};
use latchkey_core::Secret;
use std::sync::Arc;
use tokio::sync::Semaphore;

/// A fixed Argon2 hash verified when there is no real one (unknown e-mail, user without a
/// password), so every sign-in costs the same and none can be told apart by timing.
pub(crate) const DECOY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c2lnbi1pbi1kZWNveQ$Q0f6Vd2M7y2i3Xo9Qm6hQe0b5i0rN8wM2nK9xZ1aBcE";

/// The permits for password work; cheap to clone.
#[derive(Clone)]
pub(crate) struct PasswordGate(Arc<Semaphore>);

impl Default for PasswordGate {
    /// One permit per core.
    fn default() -> Self {
        PasswordGate::new(std::thread::available_parallelism().map_or(2, std::num::NonZero::get))
    }
}

impl PasswordGate {
    pub(crate) fn new(permits: usize) -> PasswordGate {
        PasswordGate(Arc::new(Semaphore::new(permits.max(1))))
    }

    /// Runs `work` on a background-priority thread under a permit, or refuses at once when none
    /// is free.
    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, StoreError> {
        let permit = self
            .0
            .clone()
            .try_acquire_owned()
            .map_err(|_| StoreError::Busy)?;
        let (done, result) = tokio::sync::oneshot::channel();
        std::thread::Builder::new()
            .name("latchkey-password".into())
            .spawn(move || {
                background_priority();
                let value = work();
                // Free before answering, so that the caller's next call finds the permit.
                drop(permit);
                let _ = done.send(value);
            })
            .map_err(|_| StoreError::Busy)?;
        result.await.map_err(|_| StoreError::Busy)
    }

    /// An Argon2id hash of the password, in PHC form.
    pub(crate) async fn hash(&self, password: &Secret) -> Result<String, StoreError> {
        let password = Secret::new(password.expose().to_owned());
        self.run(move || {
            let salt = SaltString::generate(&mut OsRng);
            Argon2::default()
                .hash_password(password.expose().as_bytes(), &salt)
                .map(|h| h.to_string())
                .map_err(|e| StoreError::Invalid(format!("cannot hash password: {e}")))
        })
        .await?
    }

    /// Whether the password matches the hash (`None`: verified against the decoy, and false).
    pub(crate) async fn verify(
        &self,
        hash: Option<String>,
        password: &Secret,
    ) -> Result<bool, StoreError> {
        let password = Secret::new(password.expose().to_owned());
        self.run(move || {
            let real = hash.is_some();
            let hash = hash.unwrap_or_else(|| DECOY_HASH.to_owned());
            let ok = PasswordHash::new(&hash).is_ok_and(|h| {
                Argon2::default()
                    .verify_password(password.expose().as_bytes(), &h)
                    .is_ok()
            });
            ok && real
        })
        .await
    }
}

/// Lowers the calling thread to the lowest scheduling priority (nice 19; on Linux the nice
/// value is a thread's own). Best effort: where it cannot, the thread keeps its priority, and
/// the permits still bound the work.
fn background_priority() {
    #[cfg(target_os = "linux")]
    let _ = rustix::process::setpriority_process(Some(rustix::thread::gettid()), 19);
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::PasswordGate;

    #[tokio::test]
    async fn password_work_runs_at_the_lowest_priority_off_the_async_workers() {
        let gate = PasswordGate::new(1);
        let here = rustix::thread::gettid();
        let ours = rustix::process::getpriority_process(Some(here)).unwrap();
        let (thread, nice) = gate
            .run(|| {
                let me = rustix::thread::gettid();
                (me, rustix::process::getpriority_process(Some(me)).unwrap())
            })
            .await
            .unwrap();
        assert_ne!(thread, here, "hashed on the caller's thread");
        assert_eq!(nice, 19);
        assert_eq!(
            rustix::process::getpriority_process(Some(here)).unwrap(),
            ours,
            "the caller's own priority is untouched"
        );
    }

    #[tokio::test]
    async fn a_full_gate_refuses_at_once() {
        let gate = PasswordGate::new(1);
        let (hold, held) = std::sync::mpsc::channel::<()>();
        let (started, running) = tokio::sync::oneshot::channel();
        let holder = gate.clone();
        let busy = tokio::spawn(async move {
            holder
                .run(move || {
                    let _ = started.send(());
                    let _ = held.recv();
                })
                .await
        });
        running.await.unwrap();
        assert!(matches!(
            gate.run(|| ()).await,
            Err(crate::StoreError::Busy)
        ));
        hold.send(()).unwrap();
        busy.await.unwrap().unwrap();
        gate.run(|| ()).await.unwrap();
    }
}
