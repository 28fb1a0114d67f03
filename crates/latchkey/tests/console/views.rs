//! What weaker people see (an Account Viewer, a Read-only license, a Job Viewer, their own
//! personal access tokens), and what every page owes everyone (labels, one h1, a language,
//! mistakes explained beside their field, the keyboard's first stop).

use crate::browser::Browser;
use crate::people::{sign_in, value, Site};
use serde_json::json;
use std::time::{Duration, Instant};

#[tokio::test]
async fn viewers_read_only_users_and_job_viewers_see_only_what_they_may_use() {
    let Some(b) = Browser::start().await else {
        return;
    };
    let site = Site::start(&[]);
    let (auditor, auditor_password) = site.user("auditor", "developer", "account_viewer");
    let (reader, reader_password) = site.user("reader", "read_only", "account_viewer");
    let (viewer, viewer_password) = site.user("viewer", "developer", "job_viewer");

    // An Account Viewer may read service tokens: the table, and no button that would fail.
    sign_in(&b, &site, &auditor, &auditor_password).await;
    assert!(
        b.url()
            .await
            .ends_with("/console/accounts/1/service-tokens"),
        "{}",
        b.url().await
    );
    assert!(b.text().await.contains("Bootstrap admin token"));
    for button in ["#new-token", "a[href$='/rotate']", "a.trash"] {
        assert!(!b.has(button).await, "{button} shown to a viewer");
    }
    b.screenshot("account-viewer-view").await;
    b.open(&site.url("/console/accounts/1/service-tokens/new"))
        .await;
    assert!(b.text().await.contains("do not include this page"));
    b.open(&site.url("/console/")).await;
    b.click("header form button").await;

    // A Read-only license holds `readonly` whatever its groups say: no service tokens; and a
    // Job Viewer neither.
    for (who, password, shot) in [
        (&reader, &reader_password, "read-only-view"),
        (&viewer, &viewer_password, "job-viewer-view"),
    ] {
        sign_in(&b, &site, who, password).await;
        // Their first page is their own personal access tokens.
        assert!(
            b.url().await.ends_with("/personal-tokens"),
            "{who}: {}",
            b.url().await
        );
        assert!(
            !b.has("header nav a[href$='/service-tokens']").await,
            "{who}"
        );
        b.screenshot(shot).await;
        b.open(&site.url("/console/accounts/1/service-tokens"))
            .await;
        assert!(b.text().await.contains("do not include this page"), "{who}");
        // Another account's pages do not exist for them.
        b.open(&site.url("/console/accounts/2/service-tokens"))
            .await;
        assert!(b.text().await.contains("Not found"), "{who}");
        b.open(&site.url("/console/")).await;
        b.click("header form button").await;
    }

    // Anyone signed in has their own personal access tokens, which act with exactly their
    // permissions: the Job Viewer's reads jobs and writes none.
    sign_in(&b, &site, &viewer, &viewer_password).await;
    b.click("header nav a[href$='/personal-tokens']").await;
    b.fill("#name", "my laptop").await;
    b.click("#create-pat").await;
    let pat = value(&b, "#token-secret").await;
    assert!(pat.starts_with("lkpat_"), "{pat}");
    assert_eq!(
        site.may_write_jobs(&pat),
        Some(false),
        "a viewer's token writes nothing"
    );
    let (status, read) = crate::harness::http::request(
        "POST",
        &site.url("/api/v1/authorize"),
        Some(&pat),
        r#"{"permission":"jobs:read","project_id":1}"#,
    )
    .unwrap();
    assert_eq!(status, 200);
    assert!(read.contains(r#""allowed":true"#), "{read}");
    b.click("a.button[href$='/personal-tokens']").await;
    assert!(b.text().await.contains("my laptop"));
    assert!(!b.source().await.contains(&pat));
    b.screenshot("personal-tokens").await;
    let (_, notice) = b.confirm("a.trash").await;
    assert!(notice.contains("Deleted “my laptop”"), "{notice}");
    let start = Instant::now();
    while site.may_write_jobs(&pat).is_some() {
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "a deleted token still works"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    b.close().await;
}

#[tokio::test]
async fn every_page_labels_its_fields_and_explains_a_mistake_beside_the_field() {
    let Some(b) = Browser::start().await else {
        return;
    };
    // Every token here is older than this site's legacy cutoff.
    let site = Site::start(&[
        "--invite-delivery",
        "caller",
        "--legacy-cutoff",
        "2099-01-01T00:00:00Z",
    ]);
    let (admin, password) = site.user_by_api("a11y-admin", "developer", "account_admin");
    sign_in(&b, &site, &admin, &password).await;
    let pages = [
        "service-tokens",
        "service-tokens/new",
        "personal-tokens",
        "projects",
        "users",
        "groups",
        "invitations",
        "ip-restrictions",
        "audit-log",
    ];
    for page in pages {
        b.open(&site.url(&format!("/console/accounts/1/{page}")))
            .await;
        // Every visible field has a label a screen reader announces; the page has one h1 and
        // a language.
        let unlabelled = b
            .client
            .execute(
                "return [...document.querySelectorAll('input, select, textarea')]
                   .filter(e => e.type !== 'hidden' && e.labels.length === 0
                                && !e.getAttribute('aria-label'))
                   .map(e => e.outerHTML);",
                vec![],
            )
            .await
            .unwrap();
        assert_eq!(unlabelled, json!([]), "{page}: fields without a label");
        let shape = b
            .client
            .execute(
                "return [document.querySelectorAll('h1').length, document.documentElement.lang];",
                vec![],
            )
            .await
            .unwrap();
        assert_eq!(shape, json!([1, "en"]), "{page}");
    }
    // A token older than the legacy cutoff wears the "rotate me" badge.
    b.open(&site.url("/console/accounts/1/service-tokens"))
        .await;
    assert_eq!(
        b.find(".badge.warn").await.text().await.unwrap(),
        "rotate me"
    );
    // A token without a permission set: the reason beside the sets, the name kept.
    b.open(&site.url("/console/accounts/1/service-tokens/new"))
        .await;
    b.fill("#name", "nothing granted").await;
    b.click("#save-token").await;
    assert_eq!(
        b.find("#grants-error").await.text().await.unwrap(),
        "Choose at least one permission set: a token without one can do nothing."
    );
    assert_eq!(
        b.find("#set0")
            .await
            .attr("aria-describedby")
            .await
            .unwrap()
            .as_deref(),
        Some("grants-error")
    );
    assert_eq!(value(&b, "#name").await, "nothing granted");
    // Keyboard: the skip link is the first thing Tab reaches, and it leads to the page.
    b.open(&site.url("/console/accounts/1/service-tokens"))
        .await;
    b.find("body").await.send_keys("\u{E004}").await.unwrap();
    let first = b
        .client
        .execute(
            "return document.activeElement.getAttribute('href');",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(first, json!("#main"), "Tab reaches the skip link first");
    b.close().await;
}
