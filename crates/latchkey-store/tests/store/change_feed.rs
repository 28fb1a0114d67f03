//! The change feed: each row names exactly what changed (a project, a user, every member of a
//! group, the whole account for a plan).

use latchkey_core::{Authority, License, Plan};
use latchkey_store::CredentialSource;
use latchkey_store::{Actor, ChangeKind, State};

use crate::common::{grant, open};

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
        .create_group(
            &op,
            latchkey_core::Authority::Operator,
            account,
            "g",
            &[grant("job_viewer:all")],
        )
        .await
        .unwrap()
        .id;
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

#[tokio::test]
async fn old_feed_rows_are_pruned_but_the_position_never_goes_back() {
    use sqlx::Connection;
    let db = open().await;
    let op = Actor::operator();
    let account = db
        .store
        .create_account(&op, "Acme", Plan::Enterprise)
        .await
        .unwrap()
        .id;
    for name in ["one", "two", "three"] {
        db.store.create_project(&op, account, name).await.unwrap();
    }
    let end = db.store.latest_change().await.unwrap();
    let rows = db.store.changes_since(0, 100).await.unwrap().len();
    assert!(rows >= 3);
    assert_eq!(db.store.prune_changes().await.unwrap(), 0, "all are recent");

    // Every row older than the retention, as if written long ago.
    sqlx::any::install_default_drivers();
    let mut raw = sqlx::AnyConnection::connect(&db.url).await.unwrap();
    let long_ago: time::OffsetDateTime =
        time::OffsetDateTime::now_utc() - latchkey_store::FEED_RETENTION * 2_i32;
    let stamp = format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.000000Z",
        long_ago.year(),
        u8::from(long_ago.month()),
        long_ago.day(),
        long_ago.hour(),
        long_ago.minute(),
        long_ago.second()
    );
    sqlx::query("UPDATE changes SET created_at = $1")
        .bind(stamp)
        .execute(&mut raw)
        .await
        .unwrap();
    raw.close().await.unwrap();

    let pruned = db.store.prune_changes().await.unwrap();
    assert_eq!(pruned, rows as u64 - 1);
    assert_eq!(
        db.store.latest_change().await.unwrap(),
        end,
        "the newest row is kept"
    );
    assert!(db.store.changes_since(0, 100).await.unwrap().len() == 1);
    let project = db
        .store
        .create_project(&op, account, "four")
        .await
        .unwrap()
        .id;
    let after = db.store.changes_since(end, 100).await.unwrap();
    assert_eq!(after.len(), 1);
    assert!(after[0].seq > end);
    assert_eq!(after[0].kind, ChangeKind::Project(project));
}
