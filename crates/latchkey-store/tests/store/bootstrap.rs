//! Bootstrap and the database file: bootstrap creates everything in one go (or nothing), gives a
//! developer-plan account the only set the plan offers, happens once when nodes start together,
//! and neither the secret nor the password reaches the file, which is private to its owner.

use latchkey_core::{AccountId, License, Plan, TokenFormat, TokenKind};
use latchkey_store::{Actor, Backend, NewServiceTokenParts, Store, StoreError};

use crate::common::{everything_stored, new_database, open};

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
    let stored = everything_stored(&db).await;
    assert!(!stored.is_empty());
    for (name, text) in stored {
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
async fn the_database_file_is_private_to_its_owner() {
    use std::os::unix::fs::PermissionsExt;
    if crate::BACKEND != Backend::Sqlite {
        return; // PostgreSQL keeps its files itself; there is none of ours to check.
    }
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
    let url = new_database(&dir);
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
