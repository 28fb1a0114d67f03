//! The matrix (point 1 of the suite): a row that needs a permission answers 403 to exactly the
//! (permission set, scope) pairs that `catalog.json` says lack it, and lets every other pair
//! through.

use latchkey_core::{Grant, Scope, TokenId};
use latchkey_server::routes::table::{api_table, Requirement, Row};
use latchkey_store::Actor;
use reqwest::Method;
use std::time::Instant;

use super::catalog_file::CatalogFile;
use super::tokens_and_paths::{
    directory_objects, fill, grant_on, ip_rule, junk_body, method_of, mint, params, wanted, Ids,
    Param, EVERYTHING, NO_SUCH_ID,
};
use crate::common::{grant, spawn_app, App};

#[tokio::test]
async fn every_account_scoped_route_answers_each_set_and_scope_as_the_matrix_says() {
    let started = Instant::now();
    let cat = CatalogFile::load();
    let app = spawn_app().await;
    // (method, path, permission, whether the permission is asked on the path's project)
    let rows: Vec<(Method, &'static str, String, bool)> = api_table()
        .into_iter()
        .filter_map(|Row { spec, .. }| match spec.requirement {
            Requirement::Permission(p) => Some((method_of(&spec), spec.path, p.to_string(), false)),
            Requirement::OnProject(p) => Some((method_of(&spec), spec.path, p.to_string(), true)),
            _ => None,
        })
        .collect();
    assert!(
        !rows.is_empty(),
        "the table has rows that need a permission"
    );
    // GETs read one shared token; every other call gets objects of its own (below).
    let shared = mint(
        &app,
        app.account,
        "matrix shared",
        &[grant("job_viewer:all")],
    )
    .await
    .unwrap();
    let (user, group, invite) =
        directory_objects(&app, app.account, "matrix-shared", EVERYTHING).await;
    let shared_ids = Ids {
        account: app.account,
        token: shared.id,
        project: app.p1,
        ip_rule: ip_rule(&app, app.account, "matrix shared").await,
        user,
        group,
        invite,
    };

    let (mut cases, mut denied, mut unknown_params) = (0usize, 0usize, 0usize);
    let mut refused: Vec<String> = Vec::new();
    for set in cat.sets() {
        for scope in [Scope::AllProjects, Scope::Project(app.p1)] {
            let g = grant_on(&set, scope);
            // One token per (set, scope), reused across rows.
            let caller = match mint(&app, app.account, "matrix caller", &[g]).await {
                Ok(m) => m,
                Err(e) => {
                    assert!(
                        !cat.offered_to_service_tokens(&set),
                        "{g}: minting refused ({e}) though catalog.json offers {set} on Enterprise"
                    );
                    refused.push(g.to_string());
                    continue;
                }
            };
            assert!(
                cat.offered_to_service_tokens(&set),
                "{g}: minted though catalog.json does not offer {set} to Enterprise service tokens"
            );
            for (method, path, permission, on_project) in &rows {
                let ids = if *method == Method::GET {
                    shared_ids
                } else {
                    fresh_targets(&app, path, g).await
                };
                assert_ne!(ids.token, caller.id, "never aim a call at its own token");
                unknown_params += params(path)
                    .iter()
                    .filter(|p| **p == Param::Unknown)
                    .count();
                let target = fill(path, ids);
                let (status, body) = app
                    .call(
                        method.clone(),
                        &target,
                        Some(&caller.secret),
                        junk_body(method),
                    )
                    .await;
                if *method != Method::GET {
                    drop_fresh_ip_rule(&app, ids).await;
                }
                let what = format!("{g} → {method} {target} (needs {permission})");
                let covered = if *on_project {
                    cat.covers_on(&set, scope, permission, ids.project)
                } else {
                    cat.covers(&set, scope, permission)
                };
                if covered {
                    assert!(
                        status != 401 && status != 403 && status < 500,
                        "{what}: catalog.json allows it, got {status}: {body}"
                    );
                } else {
                    denied += 1;
                    assert_eq!(status, 403, "{what}: catalog.json denies it: {body}");
                    let message = body["status"]["user_message"].as_str().unwrap_or("");
                    assert!(message.contains(permission), "{what}: {body}");
                }
                cases += 1;
            }
        }
    }

    // The refusals are exactly the catalog's: sets Enterprise does not offer, and user-only ones.
    let expected_refusals = 2 * cat
        .sets()
        .iter()
        .filter(|s| !cat.offered_to_service_tokens(s))
        .count();
    assert_eq!(refused.len(), expected_refusals, "refused: {refused:?}");
    assert!(
        denied > 0 && denied < cases,
        "a matrix of one outcome proves nothing"
    );
    // Rows needing a project-level permission are where the one-project rule above matters.
    let project_level_rows = rows
        .iter()
        .filter(|(_, _, p, _)| cat.level(p.split(':').next().unwrap()) == "project")
        .count();
    println!(
        "route matrix: {} rows ({project_level_rows} project-level) × {} sets × 2 scopes: \
         {cases} calls ({denied} denied), \
         {} (set, scope) pairs refused at minting ({}), {unknown_params} params without a real \
         object, {:.1?}",
        rows.len(),
        cat.sets().len(),
        refused.len(),
        refused.join(", "),
        started.elapsed()
    );
}

/// Objects of its own for a call that may change them: a new token holding the caller's own grant
/// (so that rotating or re-granting it never asks for more than the caller holds) and a new
/// project or IP rule, each made only when the path names one.
async fn fresh_targets(app: &App, path: &str, callers_grant: Grant) -> Ids {
    let kinds = params(path);
    let token = if kinds.contains(&Param::Token) {
        mint(app, app.account, "matrix target", &[callers_grant])
            .await
            .unwrap()
            .id
    } else {
        TokenId(NO_SUCH_ID)
    };
    let project = if kinds.contains(&Param::Project) {
        app.store
            .create_project(&Actor::operator(), app.account, "matrix target")
            .await
            .unwrap()
            .id
    } else {
        app.p1
    };
    let ip_rule = if kinds.contains(&Param::IpRule) {
        ip_rule(app, app.account, "matrix target").await
    } else {
        NO_SUCH_ID
    };
    let (user, group, invite) =
        directory_objects(app, app.account, "matrix-target", wanted(path)).await;
    Ids {
        account: app.account,
        token,
        project,
        ip_rule,
        user,
        group,
        invite,
    }
}

/// Deletes the call's own IP rule, if it had one (an account holds at most 100 active rules).
/// Deleting a rule the call already deleted changes nothing.
async fn drop_fresh_ip_rule(app: &App, ids: Ids) {
    if ids.ip_rule != NO_SUCH_ID {
        app.store
            .delete_ip_rule(&Actor::operator(), app.account, ids.ip_rule)
            .await
            .unwrap();
    }
}
