//! Names as data: control characters and invisible reordering characters are refused, SQL-looking
//! text and emoji are stored as given.

use latchkey_core::Plan;
use latchkey_store::{Actor, StoreError};

use crate::common::open;

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
