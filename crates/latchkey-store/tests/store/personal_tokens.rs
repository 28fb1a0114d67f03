//! Personal access tokens in the store: a PAT acts with its user's license and groups and dies
//! with the seat.

use latchkey_core::{Authority, License, Minter, Plan, TokenFormat, TokenKind};
use latchkey_store::CredentialSource;
use latchkey_store::{Actor, AuditQuery, NewServiceTokenParts};

use crate::common::{grant, open};

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
            latchkey_core::Authority::Operator,
            account.id,
            "Jobs",
            &[grant(&format!("job_admin:project={}", project.id))],
        )
        .await
        .unwrap()
        .id;
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
