//! The store against a real SQLite file: every command commits with its audit entry and its
//! change-feed row, refusals change nothing, secrets never reach the file.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests and benches stop loudly on a failed setup"
)]

use latchkey_core::{
    catalog, AccountId, Authority, Grant, License, Minter, Plan, ProjectId, Scope, TokenFormat,
    TokenId, TokenKind,
};
use latchkey_store::{
    Actor, AuditQuery, ChangeKind, NewServiceToken, NewServiceTokenParts, State, Store, StoreError,
};

struct Db {
    store: Store,
    dir: tempfile::TempDir,
}

async fn open() -> Db {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&format!("sqlite://{}/store.db", dir.path().display()))
        .await
        .unwrap();
    Db { store, dir }
}

fn grant(spec: &str) -> Grant {
    spec.parse().unwrap()
}

async fn mint(
    store: &Store,
    minter: Minter<'_>,
    account: AccountId,
    grants: &[Grant],
) -> Result<(latchkey_store::ServiceToken, latchkey_core::NewToken), StoreError> {
    let new = TokenFormat::default().generate(TokenKind::Service);
    let token = store
        .create_service_token(
            &Actor::operator(),
            minter,
            &NewServiceToken {
                account_id: account,
                name: "t",
                grants,
                expires_at: None,
                allowed_cidrs: &[],
                uid: &new.uid,
                digest: new.digest,
                hint: &new.hint,
            },
        )
        .await?;
    Ok((token, new))
}

async fn counts(store: &Store) -> (usize, i64) {
    let audit = store
        .audit_entries(&AuditQuery {
            limit: 10_000,
            ..Default::default()
        })
        .await
        .unwrap()
        .len();
    (audit, store.latest_change().await.unwrap())
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
        AccountId(424242),
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
async fn a_pat_acts_with_its_users_license_and_groups_and_dies_with_the_seat() {
    let db = open().await;
    let op = Actor::operator();
    let account = db
        .store
        .create_account(&op, "A", Plan::Enterprise)
        .await
        .unwrap();
    let project = db.store.create_project(&op, account.id, "p").await.unwrap();
    let user = db
        .store
        .create_user(&op, account.id, "dev@example.com", None)
        .await
        .unwrap();
    db.store
        .set_membership(
            &op,
            Authority::Operator,
            account.id,
            user.id,
            License::Developer,
        )
        .await
        .unwrap();
    let group = db
        .store
        .create_group(
            &op,
            account.id,
            "Jobs",
            &[grant(&format!("job_admin:project={}", project.id))],
        )
        .await
        .unwrap();
    db.store
        .add_group_member(&op, group, user.id)
        .await
        .unwrap();

    let new = TokenFormat::default().generate(TokenKind::Personal);
    let parts = NewServiceTokenParts {
        uid: &new.uid,
        digest: new.digest,
        hint: &new.hint,
    };
    let pat = db
        .store
        .create_personal_token(
            &op,
            Minter::Operator,
            account.id,
            user.id,
            "laptop",
            parts,
            None,
        )
        .await
        .unwrap();
    let cred = db
        .store
        .find_credential(TokenKind::Personal, &new.digest)
        .await
        .unwrap()
        .unwrap();
    assert!(cred.active);
    assert_eq!(cred.user_id, Some(user.id));
    let jobs_write: latchkey_core::Permission = "jobs:write".parse().unwrap();
    assert!(
        latchkey_core::decide(&cred.permissions, jobs_write, Some(project.id), None).is_allowed()
    );

    // A read-only seat caps the same groups at read.
    db.store
        .set_membership(
            &op,
            Authority::Operator,
            account.id,
            user.id,
            License::ReadOnly,
        )
        .await
        .unwrap();
    let capped = db
        .store
        .find_credential(TokenKind::Personal, &new.digest)
        .await
        .unwrap()
        .unwrap();
    assert!(
        !latchkey_core::decide(&capped.permissions, jobs_write, Some(project.id), None)
            .is_allowed()
    );

    db.store
        .remove_membership(&op, Authority::Operator, account.id, user.id)
        .await
        .unwrap();
    assert!(
        !db.store
            .find_credential(TokenKind::Personal, &new.digest)
            .await
            .unwrap()
            .unwrap()
            .active
    );

    db.store
        .set_membership(
            &op,
            Authority::Operator,
            account.id,
            user.id,
            License::Developer,
        )
        .await
        .unwrap();
    db.store
        .revoke_personal_token(&op, Some(user.id), pat.id)
        .await
        .unwrap();
    assert!(
        !db.store
            .find_credential(TokenKind::Personal, &new.digest)
            .await
            .unwrap()
            .unwrap()
            .active
    );
    let events: Vec<String> = db
        .store
        .audit_entries(&AuditQuery {
            account_id: Some(account.id),
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.event_type)
        .collect();
    for expected in [
        "account_scoped_pat.created",
        "account_scoped_pat.deleted",
        "user.removed",
        "group.user.added",
        "permission.added",
    ] {
        assert!(
            events.iter().any(|e| e == expected),
            "missing {expected} in {events:?}"
        );
    }
}

#[tokio::test]
async fn bootstrap_creates_everything_in_one_go_and_the_secret_never_reaches_the_file() {
    let db = open().await;
    assert!(db.store.is_empty().await.unwrap());
    let new = TokenFormat::default().generate(TokenKind::Service);
    let password = latchkey_core::token::random_base62(24);
    let parts = NewServiceTokenParts {
        uid: &new.uid,
        digest: new.digest,
        hint: &new.hint,
    };
    let made = db
        .store
        .bootstrap(
            &Actor::operator(),
            "Demo",
            Plan::Enterprise,
            "admin@example.com",
            &password,
            parts,
        )
        .await
        .unwrap();
    assert!(!db.store.is_empty().await.unwrap());
    assert_eq!(made.token.grants[0].grant.set.slug(), "account_admin");
    let membership = db
        .store
        .membership(made.account.id, made.admin.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(membership.license, License::Developer);

    // A bootstrap that fails at its last step (a token digest already in use) is refused
    // whole: no second account, project, user or group appears.
    let parts = NewServiceTokenParts {
        uid: "zzzzzzz",
        digest: new.digest,
        hint: &new.hint,
    };
    let err = db
        .store
        .bootstrap(
            &Actor::operator(),
            "Demo 2",
            Plan::Team,
            "ADMIN@example.com",
            &password,
            parts,
        )
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    assert!(db
        .store
        .account(AccountId(made.account.id.0 + 1))
        .await
        .unwrap()
        .is_none());

    db.store.close().await;
    for name in ["store.db", "store.db-wal"] {
        let path = db.dir.path().join(name);
        let Ok(bytes) = std::fs::read(&path) else {
            continue;
        };
        let text = String::from_utf8_lossy(&bytes);
        assert!(
            !text.contains(new.secret.expose()),
            "token secret in {name}"
        );
        assert!(!text.contains(password.expose()), "password in {name}");
    }
}

#[tokio::test]
async fn a_developer_plan_bootstrap_token_holds_the_only_set_the_plan_offers() {
    let db = open().await;
    let new = TokenFormat::default().generate(TokenKind::Service);
    let parts = NewServiceTokenParts {
        uid: &new.uid,
        digest: new.digest,
        hint: &new.hint,
    };
    let password = latchkey_core::token::random_base62(24);
    let made = db
        .store
        .bootstrap(
            &Actor::operator(),
            "Solo",
            Plan::Developer,
            "me@example.com",
            &password,
            parts,
        )
        .await
        .unwrap();
    assert_eq!(made.token.grants[0].grant.set.slug(), "semantic_layer_only");
    // The owner still owns the account.
    let m = db
        .store
        .membership(made.account.id, made.admin.id)
        .await
        .unwrap()
        .unwrap();
    let perms = m.access.permissions(Plan::Developer);
    let write_tokens: latchkey_core::Permission = "service_tokens:write".parse().unwrap();
    assert!(latchkey_core::decide(&perms, write_tokens, None, None).is_allowed());
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
        .record_usage(&[
            (TokenKind::Service, a.id, at),
            (TokenKind::Service, b.id, at),
            (TokenKind::Service, TokenId(99), at),
        ])
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
}

#[tokio::test]
async fn names_with_control_characters_or_sql_are_handled_as_data() {
    let db = open().await;
    let account = db
        .store
        .create_account(&Actor::operator(), "A", Plan::Enterprise)
        .await
        .unwrap();
    let err = db
        .store
        .create_project(&Actor::operator(), account.id, "bad\0name")
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Field { field: "name", .. }));
    let sql = "x'); DROP TABLE service_tokens; --";
    let p = db
        .store
        .create_project(&Actor::operator(), account.id, sql)
        .await
        .unwrap();
    assert_eq!(p.name, sql);
    // A right-to-left override would show "exe.png" for "\u{202e}gnp.exe": refused, like every
    // invisible character that reorders or hides text. Emoji joiners are kept.
    let rtl = "\u{202e}gnp.exe";
    assert!(matches!(
        db.store
            .create_project(&Actor::operator(), account.id, rtl)
            .await,
        Err(StoreError::Field { field: "name", .. })
    ));
    let family = "team 👩\u{200d}👩\u{200d}👧";
    assert_eq!(
        db.store
            .create_project(&Actor::operator(), account.id, family)
            .await
            .unwrap()
            .name,
        family
    );
    assert!(db
        .store
        .list_service_tokens(account.id, None)
        .await
        .unwrap()
        .is_empty());
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
    let reopened = Store::open(&format!("sqlite://{}/store.db", db.dir.path().display()))
        .await
        .unwrap();
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
async fn the_database_file_is_private_to_its_owner() {
    use std::os::unix::fs::PermissionsExt;
    let db = open().await;
    for name in ["store.db", "store.db.lock"] {
        let mode = std::fs::metadata(db.dir.path().join(name))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{name}: {mode:o}");
    }
}

#[tokio::test]
async fn nodes_starting_together_on_a_new_database_bootstrap_it_once() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/shared.db", dir.path().display());
    let node = |url: String| async move {
        let store = Store::open(&url).await.unwrap();
        let new = TokenFormat::default().generate(TokenKind::Service);
        let parts = NewServiceTokenParts {
            uid: &new.uid,
            digest: new.digest,
            hint: &new.hint,
        };
        store
            .bootstrap_if_empty(
                &Actor::operator(),
                "Demo",
                Plan::Enterprise,
                "admin@example.com",
                &latchkey_core::Secret::new("a long enough password".into()),
                parts,
            )
            .await
            .unwrap()
            .is_some()
    };
    let started: Vec<_> = (0..4).map(|_| tokio::spawn(node(url.clone()))).collect();
    let mut made = 0;
    for s in started {
        made += usize::from(s.await.unwrap());
    }
    assert_eq!(made, 1, "exactly one node bootstraps");
    let store = Store::open(&url).await.unwrap();
    assert!(store.account(AccountId(1)).await.unwrap().is_some());
    assert!(store.account(AccountId(2)).await.unwrap().is_none());
}

/// A database as the previous release left it (migrations 1 to 4), with one global user who
/// held seats in two accounts, is split into one user per account by migration 5: the first
/// account keeps the id, and the second account's seat, group and PAT move to the new user.
#[tokio::test]
async fn a_user_with_seats_in_two_accounts_becomes_one_user_per_account() {
    use sqlx::sqlite::SqliteConnectOptions;
    use std::str::FromStr;
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/old.db", dir.path().display());
    let options = SqliteConnectOptions::from_str(&url)
        .unwrap()
        .create_if_missing(true)
        .foreign_keys(true);
    let pool = sqlx::SqlitePool::connect_with(options).await.unwrap();
    let mut before = sqlx::migrate::Migrator::new(std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/migrations/sqlite"
    )))
    .await
    .unwrap();
    before.migrations = before
        .migrations
        .iter()
        .filter(|m| m.version <= 4)
        .cloned()
        .collect::<Vec<_>>()
        .into();
    before.run(&pool).await.unwrap();
    let t = "2026-01-01T00:00:00Z";
    for sql in [
        format!("INSERT INTO accounts (id, name, plan, state, created_at, updated_at) VALUES (1, 'A', 'enterprise', 1, '{t}', '{t}'), (2, 'B', 'enterprise', 1, '{t}', '{t}')"),
        format!("INSERT INTO users (id, email, password_hash, state, created_at, updated_at) VALUES (7, 'both@example.com', 'hash', 1, '{t}', '{t}')"),
        format!("INSERT INTO memberships (account_id, user_id, license, state, created_at, updated_at) VALUES (1, 7, 'developer', 1, '{t}', '{t}'), (2, 7, 'read_only', 1, '{t}', '{t}')"),
        format!("INSERT INTO groups (id, account_id, name, state, created_at, updated_at) VALUES (1, 1, 'ga', 1, '{t}', '{t}'), (2, 2, 'gb', 1, '{t}', '{t}')"),
        "INSERT INTO group_members VALUES (1, 7), (2, 7)".to_owned(),
        format!("INSERT INTO personal_tokens (id, account_id, user_id, uid, name, token_digest, hint, created_at, updated_at) VALUES (1, 2, 7, 'uidpat1', 'p', x'00', 'h', '{t}', '{t}')"),
    ] {
        sqlx::query(&sql).execute(&pool).await.unwrap();
    }
    pool.close().await;

    let store = Store::open(&url).await.unwrap();
    drop(store);
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    let users: Vec<(i64, i64, String)> =
        sqlx::query_as("SELECT id, account_id, email FROM users ORDER BY id")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(users.len(), 2, "{users:?}");
    assert_eq!(users[0], (7, 1, "both@example.com".to_owned()));
    let (b_user, b_account, _) = users[1].clone();
    assert_eq!(b_account, 2);
    let seat: i64 = sqlx::query_scalar("SELECT user_id FROM memberships WHERE account_id = 2")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(seat, b_user);
    let grouped: Vec<(i64, i64)> =
        sqlx::query_as("SELECT group_id, user_id FROM group_members ORDER BY group_id")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(grouped, vec![(1, 7), (2, b_user)]);
    let pat_user: i64 = sqlx::query_scalar("SELECT user_id FROM personal_tokens WHERE id = 1")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(pat_user, b_user);
    let broken: Vec<(String,)> = sqlx::query_as("SELECT \"table\" FROM pragma_foreign_key_check")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert!(broken.is_empty(), "{broken:?}");
}

/// Times stored by earlier releases as RFC 3339 was written (a fraction only as long as needed,
/// a client's own offset) are rewritten by migration 7 into the one fixed-width UTC form, so
/// that the store's SQL compares them as instants; each keeps the instant it named.
#[tokio::test]
async fn stored_times_of_earlier_releases_become_fixed_width_utc() {
    use sqlx::sqlite::SqliteConnectOptions;
    use std::str::FromStr;
    use time::format_description::well_known::Rfc3339;
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/old.db", dir.path().display());
    let options = SqliteConnectOptions::from_str(&url)
        .unwrap()
        .create_if_missing(true)
        .foreign_keys(true);
    let pool = sqlx::SqlitePool::connect_with(options).await.unwrap();
    let mut before = sqlx::migrate::Migrator::new(std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/migrations/sqlite"
    )))
    .await
    .unwrap();
    before.migrations = before
        .migrations
        .iter()
        .filter(|m| m.version <= 6)
        .cloned()
        .collect::<Vec<_>>()
        .into();
    before.run(&pool).await.unwrap();
    let written = [
        "2026-01-01T00:00:00Z",
        "2026-01-01T00:00:00.5Z",
        "2026-01-01T00:00:00.55Z",
        "2026-11-30T16:47:00.123456789-12:00",
        "2030-01-01T00:00:00+05:00",
    ];
    sqlx::query(
        "INSERT INTO accounts (id, name, plan, state, created_at, updated_at)
         VALUES (1, 'A', 'enterprise', 1, ?, ?)",
    )
    .bind(written[0])
    .bind(written[1])
    .execute(&pool)
    .await
    .unwrap();
    for (id, (created, expires)) in [(written[2], written[3]), (written[0], written[4])]
        .into_iter()
        .enumerate()
    {
        sqlx::query(
            "INSERT INTO service_tokens (id, account_id, uid, name, token_digest, hint, state,
                                         created_at, updated_at, expires_at)
             VALUES (?, 1, ?, 't', ?, 'h', 1, ?, ?, ?)",
        )
        .bind(id as i64 + 1)
        .bind(format!("uid{id}"))
        .bind(vec![id as u8; 32])
        .bind(created)
        .bind(created)
        .bind(expires)
        .execute(&pool)
        .await
        .unwrap();
    }
    pool.close().await;

    let store = Store::open(&url).await.unwrap();
    drop(store);
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    let mut stored: Vec<String> = sqlx::query_scalar(
        "SELECT created_at FROM accounts UNION ALL SELECT updated_at FROM accounts",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let tokens: Vec<(String, String)> =
        sqlx::query_as("SELECT created_at, expires_at FROM service_tokens ORDER BY id")
            .fetch_all(&pool)
            .await
            .unwrap();
    for (created, expires) in tokens {
        stored.push(created);
        stored.push(expires);
    }
    assert_eq!(
        stored,
        [
            "2026-01-01T00:00:00.000000Z",
            "2026-01-01T00:00:00.500000Z",
            "2026-01-01T00:00:00.550000Z",
            "2026-12-01T04:47:00.123456Z",
            "2026-01-01T00:00:00.000000Z",
            "2029-12-31T19:00:00.000000Z",
        ]
    );
    for (before, after) in [
        (written[0], &stored[0]),
        (written[1], &stored[1]),
        (written[2], &stored[2]),
        (written[4], &stored[5]),
    ] {
        assert_eq!(
            time::OffsetDateTime::parse(before, &Rfc3339).unwrap(),
            time::OffsetDateTime::parse(after, &Rfc3339).unwrap()
        );
    }
}

#[tokio::test]
async fn a_rule_change_from_an_unknown_address_is_refused_while_the_switch_is_on() {
    use latchkey_core::{Cidr, RuleType};
    use latchkey_store::{ActorKind, IpRuleInput};
    let db = open().await;
    let op = Actor::operator();
    let account = db
        .store
        .create_account(&op, "A", Plan::Enterprise)
        .await
        .unwrap();
    let office: Vec<Cidr> = vec!["203.0.113.0/24".parse().unwrap()];
    let input = IpRuleInput {
        name: "office",
        description: "",
        rule_type: RuleType::Allow,
        cidrs: &office,
    };
    db.store
        .create_ip_rule(&op, account.id, &input, Some(true))
        .await
        .unwrap();
    let unknown = Actor {
        kind: ActorKind::ServiceToken,
        id: Some(1),
        name: "service token 1".into(),
        ip: None,
        source: "api",
    };
    let more: Vec<Cidr> = vec!["198.51.100.0/24".parse().unwrap()];
    let err = db
        .store
        .create_ip_rule(
            &unknown,
            account.id,
            &IpRuleInput {
                name: "lab",
                cidrs: &more,
                ..input
            },
            None,
        )
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    assert_eq!(
        db.store
            .ip_restrictions(account.id)
            .await
            .unwrap()
            .rules
            .len(),
        1,
        "nothing was added"
    );
    // The operator, at the database, is the way back in.
    db.store
        .create_ip_rule(
            &op,
            account.id,
            &IpRuleInput {
                name: "lab",
                cidrs: &more,
                ..input
            },
            None,
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn each_change_feed_row_names_exactly_what_changed() {
    let db = open().await;
    let op = Actor::operator();
    let account = db
        .store
        .create_account(&op, "Acme", Plan::Enterprise)
        .await
        .unwrap()
        .id;
    let rows_of = async |since: i64| -> Vec<ChangeKind> {
        let changes = db.store.changes_since(since, 100).await.unwrap();
        assert!(changes.iter().all(|c| c.account_id == Some(account)));
        changes.into_iter().map(|c| c.kind).collect()
    };

    let at = db.store.latest_change().await.unwrap();
    let project = db.store.create_project(&op, account, "p").await.unwrap().id;
    assert_eq!(rows_of(at).await, [ChangeKind::Project(project)]);

    let at = db.store.latest_change().await.unwrap();
    db.store
        .update_project(&op, account, project, None, Some(State::Deleted))
        .await
        .unwrap();
    assert_eq!(rows_of(at).await, [ChangeKind::Project(project)]);

    let mut users = Vec::new();
    for email in ["a@acme.example", "b@acme.example"] {
        let user = db
            .store
            .create_user(&op, account, email, None)
            .await
            .unwrap()
            .id;
        let at = db.store.latest_change().await.unwrap();
        db.store
            .set_membership(&op, Authority::Operator, account, user, License::Developer)
            .await
            .unwrap();
        assert_eq!(rows_of(at).await, [ChangeKind::User(user)]);
        users.push(user);
    }
    let group = db
        .store
        .create_group(&op, account, "g", &[grant("job_viewer:all")])
        .await
        .unwrap();
    for user in &users {
        db.store.add_group_member(&op, group, *user).await.unwrap();
    }
    // A group's change is a change to each of its members.
    let at = db.store.latest_change().await.unwrap();
    db.store
        .replace_group_grants(
            &op,
            Authority::Operator,
            account,
            group,
            &[grant("job_admin:all")],
        )
        .await
        .unwrap();
    assert_eq!(
        rows_of(at).await,
        users
            .iter()
            .map(|u| ChangeKind::User(*u))
            .collect::<Vec<_>>()
    );

    let at = db.store.latest_change().await.unwrap();
    db.store
        .remove_membership(&op, Authority::Operator, account, users[0])
        .await
        .unwrap();
    assert_eq!(rows_of(at).await, [ChangeKind::User(users[0])]);

    // A plan reaches every token of the account.
    let at = db.store.latest_change().await.unwrap();
    db.store.set_plan(&op, account, Plan::Team).await.unwrap();
    assert_eq!(rows_of(at).await, [ChangeKind::Account]);
}
