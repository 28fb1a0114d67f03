//! The web console's sessions in the store: only a digest is kept, a session names its user
//! while they hold a seat, sign-out and a password change end sessions for every node, a form
//! nonce is spent once, and the first-start admin must replace their password.

use crate::common::{everything_stored, open};
use latchkey_core::{AccountId, Plan, Secret, TokenFormat, TokenKind, UserId};
use latchkey_store::{Actor, AuditQuery, NewServiceTokenParts, PasswordRefusal};
use time::{Duration, OffsetDateTime};

/// A user with a Developer seat in a new Enterprise account, made by the operator.
async fn seated_user(db: &crate::common::Db, email: &str) -> (AccountId, UserId) {
    let op = Actor::operator();
    let account = db
        .store
        .create_account(&op, "A", Plan::Enterprise)
        .await
        .unwrap()
        .id;
    let user = db
        .store
        .create_user(&op, account, email, Some(&Secret::new("x".repeat(12))))
        .await
        .unwrap()
        .id;
    db.store
        .set_membership(
            &op,
            latchkey_core::Authority::Operator,
            account,
            user,
            latchkey_core::License::Developer,
        )
        .await
        .unwrap();
    (account, user)
}

/// A digest as the server makes one (SHA-256 of the cookie's secret); here, any 32 bytes.
fn digest(n: u8) -> [u8; 32] {
    [n; 32]
}

#[tokio::test]
async fn sessions_open_read_move_and_close_and_a_password_change_ends_the_others() {
    let db = open().await;
    let new = TokenFormat::default().generate(TokenKind::Service);
    let password = Secret::new("the first-start password".into());
    let made = db
        .store
        .bootstrap(
            &Actor::operator(),
            "Demo",
            Plan::Enterprise,
            "admin@example.com",
            &password,
            NewServiceTokenParts {
                uid: &new.uid,
                digest: new.digest,
                hint: &new.hint,
            },
        )
        .await
        .unwrap();
    let (account, user) = (made.account.id, made.admin.id);
    let actor = Actor {
        kind: latchkey_store::ActorKind::User,
        id: Some(user.0),
        name: "admin@example.com".into(),
        ip: None,
        source: "ui",
    };
    let ends = OffsetDateTime::now_utc() + Duration::hours(12);
    for n in [1, 2] {
        db.store
            .open_console_session(&actor, account, user, &digest(n), ends)
            .await
            .unwrap();
    }
    let session = db.store.console_session(&digest(1)).await.unwrap().unwrap();
    assert_eq!((session.account_id, session.user_id), (account, user));
    assert!(
        session.password_change_required,
        "the first-start admin must replace the printed password"
    );
    assert!(db
        .store
        .console_session(&digest(9))
        .await
        .unwrap()
        .is_none());

    // Moving the last use forward, never back.
    let later = session.last_seen_at + Duration::minutes(5);
    db.store
        .touch_console_session(&digest(1), later)
        .await
        .unwrap();
    db.store
        .touch_console_session(&digest(1), later - Duration::minutes(10))
        .await
        .unwrap();
    let moved = db.store.console_session(&digest(1)).await.unwrap().unwrap();
    assert_eq!(moved.last_seen_at, later);

    // A nonce is spent once per session.
    let nonce = "ab".repeat(32);
    assert!(db
        .store
        .spend_console_form(&digest(1), &nonce)
        .await
        .unwrap());
    assert!(!db
        .store
        .spend_console_form(&digest(1), &nonce)
        .await
        .unwrap());
    assert!(db
        .store
        .spend_console_form(&digest(2), &nonce)
        .await
        .unwrap());

    // A password change checks the current one, clears the flag, ends the other session.
    let wrong = db
        .store
        .change_password(
            &actor,
            account,
            user,
            &Secret::new("not it".into()),
            &Secret::new("a brand new password".into()),
            &digest(1),
        )
        .await
        .unwrap();
    assert_eq!(wrong, Err(PasswordRefusal::WrongCurrent));
    let short = db
        .store
        .change_password(
            &actor,
            account,
            user,
            &password,
            &Secret::new("short".into()),
            &digest(1),
        )
        .await
        .unwrap();
    assert!(matches!(short, Err(PasswordRefusal::Weak(_))));
    db.store
        .change_password(
            &actor,
            account,
            user,
            &password,
            &Secret::new("a brand new password".into()),
            &digest(1),
        )
        .await
        .unwrap()
        .unwrap();
    let kept = db.store.console_session(&digest(1)).await.unwrap().unwrap();
    assert!(!kept.password_change_required);
    assert!(
        db.store
            .console_session(&digest(2))
            .await
            .unwrap()
            .is_none(),
        "the other session ended with the old password"
    );
    assert!(db
        .store
        .sign_in(
            account,
            "admin@example.com",
            &Secret::new("a brand new password".into())
        )
        .await
        .unwrap()
        .is_some());

    // Signing out ends it; it is audited, and the new password is nowhere in plain text.
    db.store
        .close_console_session(Some(&actor), &digest(1))
        .await
        .unwrap();
    assert!(db
        .store
        .console_session(&digest(1))
        .await
        .unwrap()
        .is_none());
    let events: Vec<String> = db
        .store
        .audit_entries(&AuditQuery {
            account_id: Some(account),
            target_type: Some("user".into()),
            limit: 100,
            ..AuditQuery::default()
        })
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.event_type)
        .collect();
    for event in ["user.signed_in", "user.password_changed", "user.signed_out"] {
        assert!(
            events.iter().any(|e| e == event),
            "{event} not in {events:?}"
        );
    }
    for (place, text) in everything_stored(&db).await {
        assert!(!text.contains("a brand new password"), "in {place}");
        assert!(!text.contains("the first-start password"), "in {place}");
    }
}

#[tokio::test]
async fn a_session_names_nobody_once_its_user_loses_their_seat() {
    let db = open().await;
    let op = Actor::operator();
    let (account, user) = seated_user(&db, "someone@example.com").await;
    let ends = OffsetDateTime::now_utc() + Duration::hours(1);
    db.store
        .open_console_session(&op, account, user, &digest(3), ends)
        .await
        .unwrap();
    let session = db.store.console_session(&digest(3)).await.unwrap().unwrap();
    assert!(!session.password_change_required);
    db.store
        .remove_membership(&op, latchkey_core::Authority::Operator, account, user)
        .await
        .unwrap();
    assert!(db
        .store
        .console_session(&digest(3))
        .await
        .unwrap()
        .is_none());
}

#[tokio::test]
async fn a_sign_in_forgets_ended_sessions_and_their_spent_forms() {
    let db = open().await;
    let op = Actor::operator();
    let (account, user) = seated_user(&db, "a@example.com").await;
    let past = OffsetDateTime::now_utc() - Duration::seconds(1);
    db.store
        .open_console_session(&op, account, user, &digest(5), past)
        .await
        .unwrap();
    assert!(db
        .store
        .spend_console_form(&digest(5), &"cd".repeat(32))
        .await
        .unwrap());
    let ends = OffsetDateTime::now_utc() + Duration::hours(1);
    db.store
        .open_console_session(&op, account, user, &digest(6), ends)
        .await
        .unwrap();
    assert!(db
        .store
        .console_session(&digest(5))
        .await
        .unwrap()
        .is_none());
    // Its nonce is gone with it: spending it again counts as the first time.
    assert!(db
        .store
        .spend_console_form(&digest(5), &"cd".repeat(32))
        .await
        .unwrap());
    assert!(db
        .store
        .console_session(&digest(6))
        .await
        .unwrap()
        .is_some());
}
