//! What a token is told about itself and the catalog: whoami, the constants, and the accounts
//! list (its own account only).

use latchkey_core::{catalog, Plan};
use latchkey_store::Actor;
use reqwest::Method;

use crate::common::spawn_app;

#[tokio::test]
async fn whoami_and_constants_describe_the_caller_and_the_catalog() {
    let app = spawn_app().await;
    let token = app.token(app.account, &["job_viewer:all"]).await;
    let (status, me) = app
        .call(Method::GET, "/api/v2/whoami/", Some(&token), None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(me["data"]["principal"]["account_id"], app.account.0);
    let (_, constants) = app
        .call(Method::GET, "/api/v2/constants/", Some(&token), None)
        .await;
    let sets = constants["data"]["permissions_sets"].as_object().unwrap();
    assert_eq!(sets.len(), catalog().sets().len());
    assert_eq!(sets["job_admin"], "Job Admin");
}

#[tokio::test]
async fn a_token_sees_only_its_own_account_in_the_accounts_list() {
    let app = spawn_app().await;
    app.store
        .create_account(&Actor::operator(), "Someone else", Plan::Team)
        .await
        .unwrap();
    let token = app.token(app.account, &["job_viewer:all"]).await;
    for path in ["/api/v2/accounts/", "/api/v3/accounts/"] {
        let (status, out) = app.call(Method::GET, path, Some(&token), None).await;
        assert_eq!(status, 200);
        let accounts = out["data"].as_array().unwrap();
        assert_eq!(accounts.len(), 1);
        assert_eq!(accounts[0]["id"], app.account.0);
    }
}
