//! Service tokens in the store: creating commits the row, grants, audit entry and change together;
//! a refusal writes nothing; revoking keeps the row and stops the credential; a plan downgrade
//! narrows the credential; usage is written in one batch; expiry and rotation are kept, even
//! across a restart.

use latchkey_core::{
    catalog, AccountId, Authority, Grant, Minter, Plan, ProjectId, Scope, TokenFormat, TokenId,
    TokenKind,
};
use latchkey_store::CredentialSource;
use latchkey_store::{
    Actor, AuditQuery, ChangeKind, NewServiceToken, NewServiceTokenParts, State, Store, StoreError,
    TokenUse,
};

use crate::common::{counts, grant, mint, open};

/// A service token's use at `at`, from no known address.
fn used(id: TokenId, at: time::OffsetDateTime) -> TokenUse {
    TokenUse {
        kind: TokenKind::Service,
        id,
        at,
        ip: None,
    }
}

#[tokio::test]
async fn creating_a_token_commits_row_grants_audit_entry_and_change_together() {
    let db = open().await;
    let account = db
        .store
        .create_account(&Actor::operator(), "A", Plan::Enterprise)
        .await
        .unwrap();
    let project = db
        .store
        .create_project(&Actor::operator(), account.id, "p")
        .await
        .unwrap();
    let before = counts(&db.store).await;
    let grants = [
        grant(&format!("job_admin:project={}", project.id)),
        grant("metadata_only:all"),
    ];
    let (token, new) = mint(&db.store, Minter::Operator, account.id, &grants)
        .await
        .unwrap();
    assert_eq!(token.grants.len(), 2);
    assert_eq!(token.state, State::Active);
    assert_eq!(token.uid, new.uid);
    let after = counts(&db.store).await;
    assert_eq!(after.0, before.0 + 1, "one audit entry");
    assert!(after.1 > before.1, "a change-feed row");

    let entry = &db
        .store
        .audit_entries(&AuditQuery {
            limit: 1,
            ..Default::default()
        })
        .await
        .unwrap()[0];
    assert_eq!(entry.event_type, "service_token.created");
    assert_eq!(entry.target_id, Some(token.id.0));
    assert_eq!(entry.account_id, Some(account.id));
    assert!(!entry
        .event_context
        .to_string()
        .contains(new.secret.expose()));

    let changes = db.store.changes_since(before.1, 100).await.unwrap();
    assert!(changes
        .iter()
        .any(|c| c.kind == ChangeKind::Token(new.digest) && c.account_id == Some(account.id)));
}

/// Writers queue in the process for the database's one writer: many creations started at once
/// on a two-thread runtime all commit (none meets SQLite's busy timeout or PostgreSQL's lock as
/// an error), each with its own audit entry and change.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn creations_started_together_all_commit_each_with_its_audit_entry() {
    let db = open().await;
    let account = db
        .store
        .create_account(&Actor::operator(), "A", Plan::Enterprise)
        .await
        .unwrap();
    let before = counts(&db.store).await;
    let writers: Vec<_> = (0..24)
        .map(|_| {
            let store = db.store.clone();
            tokio::spawn(async move {
                mint(
                    &store,
                    Minter::Operator,
                    account.id,
                    &[grant("job_admin:all")],
                )
                .await
                .map(|(token, _)| token.id)
            })
        })
        .collect();
    let mut ids = Vec::new();
    for writer in writers {
        ids.push(writer.await.unwrap().unwrap());
    }
    ids.sort_unstable_by_key(|id| id.0);
    ids.dedup();
    assert_eq!(ids.len(), 24, "24 distinct tokens");
    let after = counts(&db.store).await;
    assert_eq!(after.0, before.0 + 24, "one audit entry each");
    assert!(after.1 >= before.1 + 24, "a change-feed row each");
}

#[tokio::test]
async fn a_refused_token_leaves_no_row_no_audit_entry_and_no_change() {
    let db = open().await;
    let account = db
        .store
        .create_account(&Actor::operator(), "A", Plan::Team)
        .await
        .unwrap();
    let other = db
        .store
        .create_account(&Actor::operator(), "B", Plan::Enterprise)
        .await
        .unwrap();
    let foreign = db
        .store
        .create_project(&Actor::operator(), other.id, "theirs")
        .await
        .unwrap();
    let before = counts(&db.store).await;

    let refusals: Vec<Vec<Grant>> = vec![
        vec![grant("job_runner:all")], // not on the team plan
        vec![grant(&format!("job_admin:project={}", foreign.id))], // another account's project
        vec![grant("job_admin:project=987654")], // no such project
        vec![Grant::new(
            catalog().set("fusion_admin").unwrap(),
            Scope::AllProjects,
        )], // user-only
    ];
    for grants in refusals {
        let err = mint(&db.store, Minter::Operator, account.id, &grants)
            .await
            .unwrap_err();
        assert!(
            matches!(err, StoreError::Domain(_) | StoreError::Conflict(_)),
            "{err:?}"
        );
    }
    let pat_perms = latchkey_core::EffectivePermissions::default();
    let pat = mint(
        &db.store,
        Minter::PersonalToken { perms: &pat_perms },
        account.id,
        &[grant("job_admin:all")],
    )
    .await
    .unwrap_err();
    assert!(matches!(
        pat,
        StoreError::Domain(latchkey_core::Error::MayNotMint(_))
    ));
    let missing = mint(
        &db.store,
        Minter::Operator,
        AccountId(424_242),
        &[grant("job_admin:all")],
    )
    .await
    .unwrap_err();
    assert!(matches!(missing, StoreError::NotFound(_)));

    assert_eq!(counts(&db.store).await, before, "nothing was written");
    assert!(db
        .store
        .list_service_tokens(account.id, None)
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn revoking_keeps_the_row_in_state_2_audits_once_and_stops_the_credential() {
    let db = open().await;
    let account = db
        .store
        .create_account(&Actor::operator(), "A", Plan::Enterprise)
        .await
        .unwrap();
    let (token, new) = mint(
        &db.store,
        Minter::Operator,
        account.id,
        &[grant("job_admin:all")],
    )
    .await
    .unwrap();
    let live = db
        .store
        .find_credential(TokenKind::Service, &new.digest)
        .await
        .unwrap()
        .unwrap();
    assert!(live.active);

    let revoked = db
        .store
        .revoke_service_token(
            &Actor::operator(),
            Authority::Operator,
            Some(account.id),
            token.id,
        )
        .await
        .unwrap();
    assert_eq!(revoked.state, State::Deleted);
    let again = db
        .store
        .revoke_service_token(
            &Actor::operator(),
            Authority::Operator,
            Some(account.id),
            token.id,
        )
        .await
        .unwrap();
    assert_eq!(again.state, State::Deleted);
    let revocations = db
        .store
        .audit_entries(&AuditQuery {
            event_type: Some("service_token.revoked".into()),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(revocations.len(), 1, "a second revoke changes nothing");

    assert_eq!(
        db.store
            .service_token(token.id)
            .await
            .unwrap()
            .unwrap()
            .state,
        State::Deleted
    );
    let dead = db
        .store
        .find_credential(TokenKind::Service, &new.digest)
        .await
        .unwrap()
        .unwrap();
    assert!(!dead.active);
    assert_eq!(
        db.store
            .list_service_tokens(account.id, Some(State::Active))
            .await
            .unwrap()
            .len(),
        0
    );
    assert_eq!(
        db.store
            .list_service_tokens(account.id, None)
            .await
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn a_token_of_another_account_is_not_found_when_revoked_through_that_account() {
    let db = open().await;
    let a = db
        .store
        .create_account(&Actor::operator(), "A", Plan::Enterprise)
        .await
        .unwrap();
    let b = db
        .store
        .create_account(&Actor::operator(), "B", Plan::Enterprise)
        .await
        .unwrap();
    let (token, _) = mint(&db.store, Minter::Operator, a.id, &[grant("job_admin:all")])
        .await
        .unwrap();
    let err = db
        .store
        .revoke_service_token(
            &Actor::operator(),
            Authority::Operator,
            Some(b.id),
            token.id,
        )
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound(_)));
    assert_eq!(
        db.store
            .service_token(token.id)
            .await
            .unwrap()
            .unwrap()
            .state,
        State::Active
    );
}

#[tokio::test]
async fn a_plan_downgrade_drops_sets_the_new_plan_lacks_from_the_credential() {
    let db = open().await;
    let account = db
        .store
        .create_account(&Actor::operator(), "A", Plan::Enterprise)
        .await
        .unwrap();
    let (_, new) = mint(
        &db.store,
        Minter::Operator,
        account.id,
        &[grant("job_admin:all"), grant("semantic_layer_only:all")],
    )
    .await
    .unwrap();
    let jobs_write: latchkey_core::Permission = "jobs:write".parse().unwrap();
    let decide = |c: &latchkey_store::Credential| {
        latchkey_core::decide(&c.permissions, jobs_write, Some(ProjectId(1)), None).is_allowed()
    };
    assert!(decide(
        &db.store
            .find_credential(TokenKind::Service, &new.digest)
            .await
            .unwrap()
            .unwrap()
    ));
    db.store
        .set_plan(&Actor::operator(), account.id, Plan::Developer)
        .await
        .unwrap();
    let after = db
        .store
        .find_credential(TokenKind::Service, &new.digest)
        .await
        .unwrap()
        .unwrap();
    assert!(!decide(&after));
    assert!(
        !after.permissions.is_empty(),
        "semantic_layer_only survives on the developer plan"
    );
}

#[tokio::test]
async fn last_used_is_written_in_one_batch() {
    let db = open().await;
    let account = db
        .store
        .create_account(&Actor::operator(), "A", Plan::Enterprise)
        .await
        .unwrap();
    let (a, _) = mint(
        &db.store,
        Minter::Operator,
        account.id,
        &[grant("job_admin:all")],
    )
    .await
    .unwrap();
    let (b, _) = mint(
        &db.store,
        Minter::Operator,
        account.id,
        &[grant("job_admin:all")],
    )
    .await
    .unwrap();
    let at = latchkey_store::now();
    db.store
        .record_usage(&[used(a.id, at), used(b.id, at), used(TokenId(99), at)])
        .await
        .unwrap();
    for id in [a.id, b.id] {
        assert_eq!(
            db.store
                .service_token(id)
                .await
                .unwrap()
                .unwrap()
                .last_used_at,
            Some(at)
        );
    }
    // Nodes flush in any order: an older use arriving later never moves the time back, and
    // two nodes flushing the same tokens at once both commit.
    let earlier = at - time::Duration::seconds(5);
    let later = at + time::Duration::seconds(5);
    db.store.record_usage(&[used(a.id, earlier)]).await.unwrap();
    let last_used = async |id| {
        db.store
            .service_token(id)
            .await
            .unwrap()
            .unwrap()
            .last_used_at
    };
    assert_eq!(last_used(a.id).await, Some(at), "moved back");
    let other_node = Store::open(&db.url).await.unwrap();
    let here = [used(b.id, later), used(a.id, later)];
    let there = [used(a.id, at), used(b.id, at)];
    let (one, two) = tokio::join!(
        db.store.record_usage(&here),
        other_node.record_usage(&there)
    );
    one.unwrap();
    two.unwrap();
    assert_eq!(last_used(a.id).await, Some(later));
    assert_eq!(last_used(b.id).await, Some(later));

    // The client address moves with its time: a newer use brings its address, an older one
    // from elsewhere changes nothing, and a newer one from an unknown address keeps the last.
    let ip_of = async |id| {
        db.store
            .service_token(id)
            .await
            .unwrap()
            .unwrap()
            .last_used_ip
    };
    let from = |at, ip: &str| TokenUse {
        ip: Some(ip.parse().unwrap()),
        ..used(a.id, at)
    };
    let latest = later + time::Duration::seconds(5);
    db.store
        .record_usage(&[from(latest, "2001:db8::7")])
        .await
        .unwrap();
    assert_eq!(ip_of(a.id).await.as_deref(), Some("2001:db8::7"));
    db.store
        .record_usage(&[from(later, "192.0.2.9")])
        .await
        .unwrap();
    assert_eq!(
        ip_of(a.id).await.as_deref(),
        Some("2001:db8::7"),
        "older use won"
    );
    db.store
        .record_usage(&[used(a.id, latest + time::Duration::seconds(5))])
        .await
        .unwrap();
    assert_eq!(ip_of(a.id).await.as_deref(), Some("2001:db8::7"));
    assert_eq!(ip_of(b.id).await, None);
}

#[tokio::test]
async fn a_token_cannot_be_created_already_expired() {
    let db = open().await;
    let account = db
        .store
        .create_account(&Actor::operator(), "A", Plan::Enterprise)
        .await
        .unwrap();
    let new = TokenFormat::default().generate(TokenKind::Service);
    let grants = [grant("job_admin:all")];
    let mut token = NewServiceToken {
        account_id: account.id,
        name: "t",
        grants: &grants,
        expires_at: Some(latchkey_store::now() - time::Duration::seconds(1)),
        allowed_cidrs: &[],
        uid: &new.uid,
        digest: new.digest,
        hint: &new.hint,
    };
    let err = db
        .store
        .create_service_token(&Actor::operator(), Minter::Operator, &token)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("expires_at"), "{err}");
    token.expires_at = Some(latchkey_store::now() + time::Duration::hours(1));
    let made = db
        .store
        .create_service_token(&Actor::operator(), Minter::Operator, &token)
        .await
        .unwrap();
    assert!(made.expires_at.is_some());
}

#[tokio::test]
async fn a_rotated_out_token_is_revoked_after_its_overlap_even_across_a_restart() {
    let db = open().await;
    let account = db
        .store
        .create_account(&Actor::operator(), "A", Plan::Enterprise)
        .await
        .unwrap();
    let (old, old_secret) = mint(
        &db.store,
        Minter::Operator,
        account.id,
        &[grant("job_admin:all")],
    )
    .await
    .unwrap();
    let new = TokenFormat::default().generate(TokenKind::Service);
    let parts = NewServiceTokenParts {
        uid: &new.uid,
        digest: new.digest,
        hint: &new.hint,
    };
    let (successor, before) = db
        .store
        .rotate_service_token(
            &Actor::operator(),
            Minter::Operator,
            account.id,
            old.id,
            time::Duration::milliseconds(200),
            parts,
        )
        .await
        .unwrap();
    assert_eq!(successor.rotated_from, Some(old.id));
    assert_eq!(before.state, State::Active);
    let cred = db
        .store
        .find_credential(TokenKind::Service, &old_secret.digest)
        .await
        .unwrap()
        .unwrap();
    assert!(
        cred.active && cred.expires_at.is_some(),
        "the overlap end acts as an expiry at once"
    );

    // "Restart": a new handle on the same file, after the overlap.
    db.store.close().await;
    let overlap_end = cred.expires_at.unwrap();
    while latchkey_store::now() <= overlap_end {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let reopened = Store::open(&db.url).await.unwrap();
    assert_eq!(reopened.revoke_due().await.unwrap(), 1);
    assert_eq!(reopened.revoke_due().await.unwrap(), 0, "revoked once");
    assert_eq!(
        reopened.service_token(old.id).await.unwrap().unwrap().state,
        State::Deleted
    );
    assert_eq!(
        reopened
            .service_token(successor.id)
            .await
            .unwrap()
            .unwrap()
            .state,
        State::Active
    );
}

#[tokio::test]
async fn a_usage_batch_larger_than_one_statement_is_written_whole() {
    let db = open().await;
    let account = db
        .store
        .create_account(&Actor::operator(), "A", Plan::Enterprise)
        .await
        .unwrap();
    let mut ids = Vec::new();
    for _ in 0..1_100 {
        let (t, _) = mint(&db.store, Minter::Operator, account.id, &[])
            .await
            .unwrap();
        ids.push(t.id);
    }
    let at = latchkey_store::now();
    let batch: Vec<_> = ids.iter().map(|id| used(*id, at)).collect();
    db.store.record_usage(&batch).await.unwrap();
    let listed = db
        .store
        .list_service_tokens(account.id, None)
        .await
        .unwrap();
    assert_eq!(listed.len(), 1_100);
    assert!(listed.iter().all(|t| t.last_used_at == Some(at)));
}
