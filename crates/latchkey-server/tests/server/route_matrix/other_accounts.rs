//! Other accounts (point 2 of the suite): an account-scoped row never reaches another account; an
//! account admin of A gets 404 (or 403) at paths naming account B or B's objects, and B is
//! unchanged after.

use latchkey_core::{AccountId, Plan};
use latchkey_server::routes::table::{api_table, Row};
use latchkey_store::{Actor, AuditQuery};
use reqwest::Method;
use serde_json::{json, Value};

use super::tokens_and_paths::{
    directory_objects, fill, ip_rule, method_of, mint, params, send, Ids, EVERYTHING,
};
use crate::common::{grant, spawn_app, App};

/// A body that would change something if the handler accepted it for this row.
fn harmful_body(method: &Method, path: &str) -> Option<Value> {
    if *method == Method::GET || *method == Method::DELETE {
        return None;
    }
    let widen = json!([{"permission_set": "account_admin", "all_projects": true}]);
    Some(if path.ends_with("/rule-set/") {
        json!({"enabled": false})
    } else if path.ends_with("/rotate/") {
        json!({"overlap_seconds": 0})
    } else if path.ends_with("/permissions/") || path.contains("/group-permissions/") {
        widen
    } else if path.ends_with("/license/") {
        json!({"license_type": "developer"})
    } else if path.ends_with("{id}/") || path.ends_with("{project_id}/") {
        json!({"name": "taken over", "state": 2})
    } else {
        json!({"name": "taken over", "permission_grants": widen})
    })
}

/// Everything about account B that a call from A must not change (never `last_used_at`).
async fn snapshot(app: &App, account: AccountId) -> Vec<String> {
    let mut out = vec![format!("{:?}", app.store.account(account).await.unwrap())];
    for t in app.store.list_service_tokens(account, None).await.unwrap() {
        let grants: Vec<String> = t.grants.iter().map(|g| g.grant.to_string()).collect();
        out.push(format!(
            "{} {} {:?} {} {:?} {:?} {:?} {grants:?}",
            t.id, t.name, t.state, t.updated_at, t.expires_at, t.revoke_at, t.rotated_from
        ));
    }
    out.push(format!(
        "{:?}",
        app.store.ip_restrictions(account).await.unwrap()
    ));
    out.push(format!("{:?}", app.store.groups(account).await.unwrap()));
    out.push(format!("{:?}", app.store.members(account).await.unwrap()));
    out.push(format!("{:?}", app.store.projects(account).await.unwrap()));
    out.push(format!("{:?}", app.store.invites(account).await.unwrap()));
    let audit = AuditQuery {
        account_id: Some(account),
        ..AuditQuery::default()
    };
    out.push(format!(
        "audit {}",
        app.store.audit_count(&audit).await.unwrap()
    ));
    out
}

#[tokio::test]
async fn every_account_scoped_route_hides_other_accounts() {
    let app = spawn_app().await;
    let op = Actor::operator();
    let b = app
        .store
        .create_account(&op, "Bravo Hidden Holdings", Plan::Enterprise)
        .await
        .unwrap()
        .id;
    let b_project = app
        .store
        .create_project(&op, b, "bravo-hidden-project")
        .await
        .unwrap()
        .id;
    let b_admin = mint(&app, b, "bravo-admin-token", &[grant("account_admin:all")])
        .await
        .unwrap();
    let b_target = mint(
        &app,
        b,
        "bravo-hidden-target",
        &[grant(&format!("job_admin:project={b_project}"))],
    )
    .await
    .unwrap();
    let b_rule = ip_rule(&app, b, "bravo-hidden-rule").await;
    let (b_user, b_group, b_invite) = directory_objects(&app, b, "bravo-hidden", EVERYTHING).await;
    let a_admin = app.token(app.account, &["account_admin:all"]).await;
    // Strings only B's data contains.
    let b_data = [
        "Bravo Hidden Holdings",
        "bravo-hidden-rule",
        "198.51.100.0/24",
        "bravo-hidden-project",
        "bravo-admin-token",
        "bravo-hidden-target",
        "bravo-hidden-group",
        "bravo-hidden-invitee",
        &b_admin.uid,
        &b_target.uid,
        &b_admin.secret,
        &b_target.secret,
    ];
    let before = snapshot(&app, b).await;

    let mut calls = 0;
    for Row { spec, .. } in api_table() {
        if !spec.path.contains("{account_id}") {
            continue;
        }
        let method = method_of(&spec);
        let b_ids = Ids {
            account: b,
            token: b_target.id,
            project: b_project,
            ip_rule: b_rule,
            user: b_user,
            group: b_group,
            invite: b_invite,
        };
        let names_an_object = params(spec.path).len() > 1;
        // B's account in the path; and A's account with B's objects in it.
        let mut targets = vec![fill(spec.path, b_ids)];
        targets.push(fill(
            spec.path,
            Ids {
                account: app.account,
                ..b_ids
            },
        ));
        for (i, target) in targets.iter().enumerate() {
            let own_collection = i == 1 && !names_an_object;
            let (status, _, text) = send(
                &app,
                method.clone(),
                target,
                Some(&format!("Token {a_admin}")),
                harmful_body(&method, spec.path),
            )
            .await;
            calls += 1;
            let what = format!("{method} {target} as A's account admin");
            if own_collection {
                // A's own collection (list, create, audit log): A's business, minus B's data.
                assert!(status < 500, "{what}: {status} {text}");
            } else {
                assert!(
                    status == 404 || status == 403,
                    "{what}: B's things must be absent: {status} {text}"
                );
            }
            for secret in b_data {
                assert!(!text.contains(secret), "{what} shows B's {secret}: {text}");
            }
        }
    }
    assert!(calls > 0, "the table has account-scoped rows");

    assert_eq!(
        snapshot(&app, b).await,
        before,
        "calls from A changed account B"
    );
    // B's own admin still sees B's target as it was.
    let (status, body) = app
        .call(
            Method::GET,
            &format!("/api/v3/accounts/{b}/service-tokens/{}/", b_target.id),
            Some(&b_admin.secret),
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["name"], "bravo-hidden-target", "{body}");
    assert_eq!(body["data"]["state"], 1, "{body}");
}
