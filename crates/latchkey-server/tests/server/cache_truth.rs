//! A node's caches never outlive the truth: a change evicts exactly what it touched (a token, a
//! project, a user), a load that raced an eviction is not cached, every entry ages out, a usage
//! batch the store refuses is kept for the next flush, and a token the store never issued costs
//! a cache miss what a revoked one costs.

use latchkey_core::{
    AccountId, Authority, License, Permission, Plan, ProjectId, TokenFormat, TokenKind,
};
use latchkey_server::cache::CachedPrincipal;
use latchkey_server::{ServerConfig, Verifier};
use latchkey_store::CredentialSource;
use latchkey_store::{Actor, State};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

use crate::common::{eventually, grant, spawn_app, spawn_app_with, until_status, App};

/// The node's cached entry for a token, if it has one.
fn cached(app: &App, secret: &str) -> Option<Arc<CachedPrincipal>> {
    let digest = TokenFormat::default().parse(secret).unwrap().digest;
    app.verifier.cache().get(&digest)
}

/// `jobs:write` asked on `project` by `token`: whether it is allowed.
async fn may_write_jobs(app: &App, token: &str, project: ProjectId) -> bool {
    let (status, out) = app
        .authorize(
            token,
            json!({"permission": "jobs:write", "project_id": project.0}),
        )
        .await;
    assert_eq!(status, 200, "{out}");
    out["allowed"] == true
}

/// A second account with one project.
async fn other_account(app: &App) -> (AccountId, ProjectId) {
    let op = Actor::operator();
    let account = app
        .store
        .create_account(&op, "B", Plan::Enterprise)
        .await
        .unwrap()
        .id;
    let project = app
        .store
        .create_project(&op, account, "b-one")
        .await
        .unwrap()
        .id;
    (account, project)
}

/// Waits until the node has applied every change made so far. A token minted now and revoked
/// is refused once the feed reaches a row written after all earlier ones (its creation, which
/// evicts it, or its revocation): the feed is applied in order.
async fn feed_caught_up(app: &App) {
    let (id, token) = app.mint(&[grant("job_viewer:all")]).await;
    until_status(app, &token, 200).await;
    app.store
        .revoke_service_token(
            &Actor::operator(),
            Authority::Operator,
            Some(app.account),
            id,
        )
        .await
        .unwrap();
    until_status(app, &token, 401).await;
}

/// A connection of its own to the server's database, for what no API does.
async fn raw_connection(app: &App) -> sqlx::AnyConnection {
    use sqlx::Connection;
    sqlx::any::install_default_drivers();
    sqlx::AnyConnection::connect(&app.database_url)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_project_owner_read_before_the_projects_deletion_is_not_cached_after_it() {
    let app = spawn_app().await;
    // A verifier of the test's own, so that only the test moves it, step by step.
    let verifier = Verifier::new(app.store.clone(), ServerConfig::default());
    let token = app.token(app.account, &["job_admin:all"]).await;
    let principal = verifier.authenticate(&token).await.unwrap();
    let seq = app.store.latest_change().await.unwrap();

    // A request reads p1's owner while p1 is active…
    let load = verifier.load_owner(app.p1).await.unwrap();
    // …p1 is deleted, and the deletion reaches this node…
    app.store
        .update_project(
            &Actor::operator(),
            app.account,
            app.p1,
            None,
            Some(State::Deleted),
        )
        .await
        .unwrap();
    latchkey_server::feed::apply_changes(&verifier, seq).await;
    // …and only then does the read land.
    verifier.remember_owner(load);

    let write_jobs: Permission = "jobs:write".parse().unwrap();
    let decision = verifier
        .decide(&principal, write_jobs, Some(app.p1), None)
        .await
        .unwrap();
    assert!(
        !decision.is_allowed(),
        "a deleted project still authorizes on this node"
    );
}

#[tokio::test]
async fn deleting_a_project_evicts_that_project_and_nothing_else() {
    let app = spawn_app().await;
    let (other, their_project) = other_account(&app).await;
    let admin = app.token(app.account, &["account_admin:all"]).await;
    let ours = app.token(app.account, &["job_admin:all"]).await;
    let theirs = app.token(other, &["job_admin:all"]).await;
    feed_caught_up(&app).await;
    for (token, project) in [(&ours, app.p1), (&ours, app.p2), (&theirs, their_project)] {
        assert!(may_write_jobs(&app, token, project).await);
    }
    let (ours_before, theirs_before) =
        (cached(&app, &ours).unwrap(), cached(&app, &theirs).unwrap());

    let (status, out) = app
        .call(
            reqwest::Method::DELETE,
            &format!("/api/v3/accounts/{}/projects/{}/", app.account, app.p1),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, 200, "{out}");
    eventually("p1's deletion reaching the node", async || {
        (!may_write_jobs(&app, &ours, app.p1).await).then_some(())
    })
    .await;

    // Both tokens' entries are the very ones loaded before: neither was evicted and reloaded.
    assert!(Arc::ptr_eq(&ours_before, &cached(&app, &ours).unwrap()));
    assert!(Arc::ptr_eq(&theirs_before, &cached(&app, &theirs).unwrap()));
    // The other projects' owners are still known.
    assert_eq!(app.verifier.cached_owner(app.p2), Some(Some(app.account)));
    assert_eq!(app.verifier.cached_owner(their_project), Some(Some(other)));
    assert!(may_write_jobs(&app, &ours, app.p2).await);
}

#[tokio::test]
async fn changing_a_members_groups_evicts_that_members_tokens_only() {
    let app = spawn_app().await;
    let (other, their_project) = other_account(&app).await;
    let (alice, alice_pat) = app
        .user_with_pat("alice@a.example", License::Developer, &["job_admin:all"])
        .await;
    let (_, bob_pat) = app
        .user_with_pat("bob@a.example", License::Developer, &["job_admin:all"])
        .await;
    let service = app.token(app.account, &["job_admin:all"]).await;
    let theirs = app.token(other, &["job_admin:all"]).await;
    feed_caught_up(&app).await;
    for token in [&alice_pat, &bob_pat, &service] {
        assert!(may_write_jobs(&app, token, app.p1).await);
    }
    assert!(may_write_jobs(&app, &theirs, their_project).await);
    let before: Vec<_> = [&bob_pat, &service, &theirs]
        .iter()
        .map(|t| cached(&app, t).unwrap())
        .collect();

    app.store
        .assign_groups(
            &Actor::operator(),
            Authority::Operator,
            app.account,
            alice,
            &[],
        )
        .await
        .unwrap();
    eventually("alice's lost groups reaching the node", async || {
        (!may_write_jobs(&app, &alice_pat, app.p1).await).then_some(())
    })
    .await;

    for (token, entry) in [&bob_pat, &service, &theirs].iter().zip(&before) {
        let now = cached(&app, token).expect("evicted");
        assert!(Arc::ptr_eq(entry, &now), "reloaded: {:?}", now.id);
    }
}

#[tokio::test]
async fn a_project_deleted_behind_the_feeds_back_stops_counting_within_the_max_age() {
    let app = spawn_app_with(ServerConfig {
        cache_max_age: Duration::from_secs(1),
        ..ServerConfig::default()
    })
    .await;
    let token = app.token(app.account, &["job_admin:all"]).await;
    assert!(may_write_jobs(&app, &token, app.p1).await);
    // A change the feed never carries (as if its notice were lost).
    let mut db = raw_connection(&app).await;
    sqlx::query("UPDATE projects SET state = 2 WHERE id = $1")
        .bind(app.p1.0)
        .execute(&mut db)
        .await
        .unwrap();
    eventually("the cached owner of p1 ageing out", async || {
        (!may_write_jobs(&app, &token, app.p1).await).then_some(())
    })
    .await;
}

#[tokio::test]
async fn a_usage_batch_the_store_refuses_is_kept_and_written_by_the_next_flush() {
    let app = spawn_app().await;
    // A verifier of the test's own: the server's flusher never touches its batch.
    let verifier = Verifier::new(app.store.clone(), ServerConfig::default());
    let (id, token) = app.mint(&[grant("job_viewer:all")]).await;
    verifier.authenticate(&token).await.unwrap();

    let mut db = raw_connection(&app).await;
    let (refuse, allow) = match crate::BACKEND {
        latchkey_store::Backend::Sqlite => (
            vec![
                "CREATE TRIGGER refuse_usage BEFORE UPDATE OF last_used_at ON service_tokens
                  BEGIN SELECT RAISE(ABORT, 'the disk says no'); END",
            ],
            vec!["DROP TRIGGER refuse_usage"],
        ),
        latchkey_store::Backend::Postgres => (
            vec![
                "CREATE FUNCTION refuse_usage() RETURNS trigger LANGUAGE plpgsql AS
                 $$ BEGIN RAISE EXCEPTION 'the disk says no'; END $$",
                "CREATE TRIGGER refuse_usage BEFORE UPDATE OF last_used_at ON service_tokens
                 FOR EACH ROW EXECUTE FUNCTION refuse_usage()",
            ],
            vec![
                "DROP TRIGGER refuse_usage ON service_tokens",
                "DROP FUNCTION refuse_usage()",
            ],
        ),
    };
    for sql in refuse {
        sqlx::raw_sql(sql).execute(&mut db).await.unwrap();
    }
    assert!(verifier.flush_usage().await.is_err());
    for sql in allow {
        sqlx::raw_sql(sql).execute(&mut db).await.unwrap();
    }

    verifier.flush_usage().await.unwrap();
    let stored = app.store.service_token(id).await.unwrap().unwrap();
    assert!(
        stored.last_used_at.is_some(),
        "the batch the store refused was dropped"
    );
}

#[tokio::test]
async fn a_never_issued_token_costs_a_miss_the_queries_a_revoked_one_does() {
    let app = spawn_app().await;
    let op = Actor::operator();
    let format = TokenFormat::default();
    let (revoked_id, revoked) = app.mint(&[grant("job_viewer:all")]).await;
    app.store
        .revoke_service_token(&op, Authority::Operator, Some(app.account), revoked_id)
        .await
        .unwrap();
    let (user, removed_members_pat) = app
        .user_with_pat("carol@a.example", License::Developer, &["job_viewer:all"])
        .await;
    app.store
        .remove_membership(&op, Authority::Operator, app.account, user)
        .await
        .unwrap();
    let (dan, revoked_pat) = app
        .user_with_pat("dan@a.example", License::Developer, &["job_viewer:all"])
        .await;
    let revoked_pat_id = app
        .store
        .list_personal_tokens(app.account, dan)
        .await
        .unwrap()[0]
        .id;
    app.store
        .revoke_personal_token(&op, Some(dan), revoked_pat_id)
        .await
        .unwrap();
    let never_issued_service = format.generate(TokenKind::Service);
    let never_issued_pat = format.generate(TokenKind::Personal);

    let mut queries = Vec::new();
    for (what, token) in [
        (
            "never-issued service token",
            never_issued_service.secret.expose(),
        ),
        ("revoked service token", revoked.as_str()),
        (
            "never-issued personal token",
            never_issued_pat.secret.expose(),
        ),
        ("revoked personal token", revoked_pat.as_str()),
        (
            "removed member's personal token",
            removed_members_pat.as_str(),
        ),
    ] {
        let before = app.store.credential_queries();
        let (status, out) = app
            .authorize(token, json!({"permission": "jobs:read"}))
            .await;
        assert_eq!(status, 401, "{what}: {out}");
        queries.push((what, app.store.credential_queries() - before));
    }
    let unknown = queries[0].1;
    assert!(unknown > 0, "the miss did not reach the store: {queries:?}");
    assert!(
        queries.iter().all(|(_, n)| *n == unknown),
        "the miss path differs: {queries:?}"
    );
}
