//! The store as a verifier sees it: the narrow contract a node's cache reads through, and all it
//! may do to the database. On a cache miss, a credential by its digest (compiled for decisions)
//! and a project's owner; for keeping caches honest, the change feed; and the batched
//! `last_used_at` write. Nothing here changes what a token may do: the admin commands (tokens,
//! grants, users, groups, projects, invitations, IP rules, audit) are [`Store`]'s own methods,
//! each one transaction with its audit entry and its change event.
//!
//! Both backends implement it through the one [`Store`]; an embedder may put something of its
//! own behind it (a read replica, a fixture).

use crate::{Change, Credential, ProjectOwner, Store, StoreError, TokenUse};
use latchkey_core::{ProjectId, TokenDigest, TokenKind};
use std::future::Future;

/// See the module docs.
pub trait CredentialSource: Send + Sync + 'static {
    /// The token with this digest, compiled for decisions (plan, license, seat and IP fences
    /// applied); `None` when no token has it. A token that does not work costs the same lookup
    /// as one never issued.
    fn find_credential(
        &self,
        kind: TokenKind,
        digest: &TokenDigest,
    ) -> impl Future<Output = Result<Option<Credential>, StoreError>> + Send;

    /// Which account a project belongs to (deleted projects included, marked inactive).
    fn project_owner(
        &self,
        project: ProjectId,
    ) -> impl Future<Output = Result<Option<ProjectOwner>, StoreError>> + Send;

    /// The newest position in the change feed (0 when empty).
    fn latest_change(&self) -> impl Future<Output = Result<i64, StoreError>> + Send;

    /// Changes after `seq`, oldest first, at most `limit`.
    fn changes_since(
        &self,
        seq: i64,
        limit: i64,
    ) -> impl Future<Output = Result<Vec<Change>, StoreError>> + Send;

    /// Writes a batch of uses (`last_used_at` and the client address) in one transaction; a
    /// time never moves back, and the address moves only with its time.
    fn record_usage(
        &self,
        used: &[TokenUse],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

impl CredentialSource for Store {
    fn find_credential(
        &self,
        kind: TokenKind,
        digest: &TokenDigest,
    ) -> impl Future<Output = Result<Option<Credential>, StoreError>> + Send {
        self.credential_by_digest(kind, digest)
    }

    fn project_owner(
        &self,
        project: ProjectId,
    ) -> impl Future<Output = Result<Option<ProjectOwner>, StoreError>> + Send {
        self.owner_of(project)
    }

    fn latest_change(&self) -> impl Future<Output = Result<i64, StoreError>> + Send {
        self.feed_end()
    }

    fn changes_since(
        &self,
        seq: i64,
        limit: i64,
    ) -> impl Future<Output = Result<Vec<Change>, StoreError>> + Send {
        self.feed_after(seq, limit)
    }

    fn record_usage(
        &self,
        used: &[TokenUse],
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        self.write_usage(used)
    }
}
