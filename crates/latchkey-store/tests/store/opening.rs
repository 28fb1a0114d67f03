//! Opening a database: migrations applied on open by default, or by `Store::migrate` alone for
//! operators who migrate separately (a node told not to migrate refuses a database that is
//! behind, naming the command); URLs and their passwords.

use latchkey_store::CredentialSource;
use latchkey_store::{redact_url, Backend, Store, StoreError, StoreOptions};

use crate::common::new_database;

#[tokio::test]
async fn a_node_that_does_not_migrate_refuses_a_database_that_is_behind() {
    let dir = tempfile::tempdir().unwrap();
    let url = new_database(&dir);
    let no_migrate = StoreOptions {
        migrate: false,
        ..StoreOptions::default()
    };
    let err = Store::open_with(&url, &no_migrate).await.err().unwrap();
    let StoreError::Behind { pending } = err else {
        panic!("expected Behind, got {err:?}");
    };
    assert!(pending >= 1);
    assert!(err_text(pending).contains("latchkey migrate"));

    assert_eq!(
        Store::migrate(&url).await.unwrap(),
        pending,
        "applies them all"
    );
    assert_eq!(Store::migrate(&url).await.unwrap(), 0, "and then none");
    let store = Store::open_with(&url, &no_migrate).await.unwrap();
    assert_eq!(store.backend(), crate::BACKEND);
    store.ping().await.unwrap();
    assert_eq!(store.latest_change().await.unwrap(), 0);
}

fn err_text(pending: usize) -> String {
    StoreError::Behind { pending }.to_string()
}

#[test]
fn urls_name_their_backend_and_never_show_a_password() {
    assert_eq!(Backend::of_url("sqlite://x.db").unwrap(), Backend::Sqlite);
    assert_eq!(
        Backend::of_url("postgres://u@h/d").unwrap(),
        Backend::Postgres
    );
    assert_eq!(
        Backend::of_url("postgresql://u@h/d").unwrap(),
        Backend::Postgres
    );
    let err = Backend::of_url("mysql://root:hunter2@db/x")
        .unwrap_err()
        .to_string();
    assert!(!err.contains("hunter2"), "{err}");
    assert_eq!(
        redact_url("postgres://app:hunter2@db.internal:5432/latchkey?sslmode=require"),
        "postgres://app:***@db.internal:5432/latchkey?sslmode=require"
    );
    assert_eq!(redact_url("postgres://app@db/x"), "postgres://app@db/x");
    assert_eq!(redact_url("sqlite://latchkey.db"), "sqlite://latchkey.db");
}
