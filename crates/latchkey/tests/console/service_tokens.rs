//! Account settings → Service tokens, as people use it in Chromium: the first-start admin's
//! whole round (password, create, copy, use, rotate, delete, audit, phone width, sign-out), and
//! forms that must change nothing (no CSRF token, an ended session, a foreign sign-in form).

use crate::browser::Browser;
use crate::people::{post_from_page, sign_in, tokens_named, value, Site};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

const ADMIN: &str = "admin@latchkey.local";
const NEW_PASSWORD: &str = "a new and long admin password";

#[tokio::test]
async fn the_admin_replaces_the_first_password_then_makes_copies_uses_rotates_and_deletes_a_token()
{
    let Some(b) = Browser::start().await else {
        return;
    };
    let site = Site::start(&[]);
    let tokens_page = site.url("/console/accounts/1/service-tokens");

    // `/` is the console; nobody is signed in yet.
    b.open(&site.url("/")).await;
    assert!(
        b.url().await.contains("/console/sign-in"),
        "{}",
        b.url().await
    );
    b.screenshot("sign-in").await;

    // A wrong password is refused on the page, without saying which part was wrong.
    sign_in(&b, &site, ADMIN, "not the password").await;
    assert!(b
        .text()
        .await
        .contains("The account, e-mail address or password is not right."));

    // The printed first-start password works once, for replacing itself.
    sign_in(&b, &site, ADMIN, &site.admin_password).await;
    assert!(
        b.url().await.ends_with("/console/password"),
        "{}",
        b.url().await
    );
    assert!(b.text().await.contains("Choose a new one before going on"));
    b.open(&tokens_page).await;
    assert!(
        b.url().await.ends_with("/console/password"),
        "nothing else before the password is replaced"
    );
    // Signing out stays open meanwhile.
    b.click("header form button").await;
    assert!(b.text().await.contains("You have signed out."));
    sign_in(&b, &site, ADMIN, &site.admin_password).await;
    assert!(
        b.url().await.ends_with("/console/password"),
        "{}",
        b.url().await
    );
    b.fill("#current", &site.admin_password).await;
    b.fill("#new", "short").await;
    b.fill("#confirm", "short").await;
    // The browser's own `minlength` check would stop this form; the server's is what counts.
    b.client
        .execute(
            "document.querySelector('#new').removeAttribute('minlength')",
            vec![],
        )
        .await
        .unwrap();
    b.click("form.stack button[type=submit]").await;
    assert_eq!(
        b.find("#new-error").await.text().await.unwrap(),
        "Choose a password of at least 12 characters."
    );
    assert_eq!(
        b.find("#new")
            .await
            .attr("aria-invalid")
            .await
            .unwrap()
            .as_deref(),
        Some("true")
    );
    b.fill("#current", &site.admin_password).await;
    b.fill("#new", NEW_PASSWORD).await;
    b.fill("#confirm", NEW_PASSWORD).await;
    b.click("form.stack button[type=submit]").await;
    assert!(b.text().await.contains("Your password has been changed."));

    // Service tokens: the first start's token is listed.
    b.click("header nav a[href$='/service-tokens']").await;
    assert!(b.text().await.contains("Bootstrap admin token"));

    // + New token: a name, a set on a chosen project, and a set with an environment category.
    b.click("#new-token").await;
    let sets = b.find("#set0").await.html(false).await.unwrap();
    assert!(sets.contains("value=\"job_admin\"") && sets.contains("value=\"developer\""));
    assert!(
        !sets.contains("value=\"fusion_admin\""),
        "a user-only set is never offered for a token"
    );
    b.fill("#name", "CI deploys").await;
    b.find("#set0")
        .await
        .select_by_value("job_admin")
        .await
        .unwrap();
    b.find("input[name=scope0][value=projects]")
        .await
        .click()
        .await
        .unwrap();
    b.find("#projects0 option[value='1']")
        .await
        .click()
        .await
        .unwrap();
    b.find("#set1")
        .await
        .select_by_value("developer")
        .await
        .unwrap();
    b.find("input[name=envs1][value=production]")
        .await
        .click()
        .await
        .unwrap();
    let nonce = value(&b, "input[name=nonce]").await;
    let csrf = value(&b, "input[name=csrf]").await;
    b.screenshot("new-token").await;
    b.click("#save-token").await;

    // The secret, once, with a copy button and the warning.
    let secret = value(&b, "#token-secret").await;
    assert!(
        secret.starts_with("lksvc_") && secret.len() == 62,
        "{secret}"
    );
    assert!(b.text().await.contains("you will not see it again"));
    b.screenshot("secret-once").await;
    b.find("#copy-token").await.click().await.unwrap();
    let start = Instant::now();
    while b
        .find("#copy-status")
        .await
        .text()
        .await
        .unwrap()
        .is_empty()
    {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "the copy button did nothing"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(b.find("#copy-token").await.text().await.unwrap(), "Copied");

    // It works against the decision API: Job Admin writes jobs on project 1.
    assert_eq!(site.may_write_jobs(&secret), Some(true));

    // Sending the same form again (a reload, the history) makes nothing and shows no secret.
    let body = format!(
        "csrf={csrf}&nonce={nonce}&name=CI+deploys&set0=job_admin&scope0=projects&projects0=1\
         &set1=developer&scope1=all&envs1=production"
    );
    let (status, page) = post_from_page(&b, "/console/accounts/1/service-tokens", &body).await;
    assert_eq!(status, 409, "{page}");
    assert!(
        page.contains("Already done") && !page.contains("lksvc_"),
        "{page}"
    );
    assert_eq!(tokens_named(&site, "CI deploys").len(), 1);

    // The table shows it with both sets, by whom, and never the secret again.
    b.open(&tokens_page).await;
    let text = b.text().await;
    for expected in [
        "CI deploys",
        "Job Admin — Default project (project 1)",
        "Developer — All projects (writes to production)",
        "by admin@latchkey.local",
    ] {
        assert!(text.contains(expected), "{expected:?} not in {text}");
    }
    assert!(!b.source().await.contains(&secret));
    let shot = b.screenshot("service-tokens").await;
    if std::env::var("LATCHKEY_UPDATE_SCREENSHOTS").as_deref() == Ok("1") {
        let docs = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../docs/console-service-tokens.png");
        std::fs::copy(&shot, docs).unwrap();
    }
    let first_id = tokens_named(&site, "CI deploys")[0]["id"].as_i64().unwrap();

    // Rotate with a one-hour overlap: a new secret once; both work for now.
    b.click(&format!("tr[data-token='{first_id}'] a[href$='/rotate']"))
        .await;
    b.find("input[name=overlap][value='3600']")
        .await
        .click()
        .await
        .unwrap();
    b.click("#rotate-token").await;
    let rotated = value(&b, "#token-secret").await;
    assert!(rotated.starts_with("lksvc_") && rotated != secret);
    assert!(b.text().await.contains("keeps working for 1 hour"));
    assert_eq!(site.may_write_jobs(&secret), Some(true), "the overlap");
    assert_eq!(site.may_write_jobs(&rotated), Some(true));
    let new_id = tokens_named(&site, "CI deploys")[0]["id"].as_i64().unwrap();
    assert_ne!(new_id, first_id);

    // Delete behind the trash icon: the confirmation names the token.
    b.open(&tokens_page).await;
    let (question, notice) = b
        .confirm(&format!("tr[data-token='{new_id}'] a.trash"))
        .await;
    assert!(question.contains("“CI deploys”"), "{question}");
    assert!(notice.contains("Deleted “CI deploys”"), "{notice}");
    // The node that deleted it refuses it as soon as it reads its own change feed.
    let start = Instant::now();
    while site.may_write_jobs(&rotated).is_some() {
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "a deleted token still works"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // Every step is in the audit log, by the admin, from the console.
    let (status, log) = site.api(
        "GET",
        "/api/v3/accounts/1/audit-logs/?limit=200",
        &Value::Null,
    );
    assert_eq!(status, 200);
    let events: Vec<(String, String, String)> = log["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["event_type"].as_str().unwrap().to_owned(),
                e["actor"].as_str().unwrap().to_owned(),
                e["source"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    for event in [
        "user.signed_in",
        "user.password_changed",
        "service_token.created",
        "service_token.rotated",
        "service_token.revoked",
    ] {
        assert!(
            events
                .iter()
                .any(|(e, actor, source)| e == event && actor == ADMIN && source == "ui"),
            "{event} by {ADMIN} from the console not in {events:?}"
        );
    }

    // The same entries on the console's audit log, filtered by event and actor, and as CSV.
    b.click("header nav a[href$='/audit-log']").await;
    assert!(b.text().await.contains("user.password_changed"));
    b.fill("#event", "service_token.created").await;
    b.fill("#actor", ADMIN).await;
    b.click("#filter").await;
    let text = b.text().await;
    assert!(text.contains("Entries 1–2 of 2"), "{text}");
    assert!(!text.contains("user.signed_in"), "{text}");
    b.screenshot("audit-log").await;
    let csv_link = b
        .find("#audit-csv")
        .await
        .attr("href")
        .await
        .unwrap()
        .unwrap();
    let csv = b
        .client
        .execute_async(
            "const [url, done] = arguments;
             fetch(url).then(r => r.text().then(t => done([r.headers.get('content-type'), t])));",
            vec![json!(csv_link)],
        )
        .await
        .unwrap();
    assert_eq!(csv[0], "text/csv; charset=utf-8");
    let csv = csv[1].as_str().unwrap();
    assert_eq!(
        csv.lines().count(),
        3,
        "a header and the two entries: {csv}"
    );
    assert!(
        csv.lines()
            .skip(1)
            .all(|l| l.contains("service_token.created")),
        "{csv}"
    );

    // A phone's width: the table becomes cards, nothing scrolls sideways.
    b.client.set_window_size(390, 844).await.unwrap();
    b.open(&tokens_page).await;
    let fits = b
        .client
        .execute(
            "return document.documentElement.scrollWidth <= window.innerWidth + 1",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(fits, json!(true), "the page scrolls sideways at 390 px");
    b.screenshot("service-tokens-phone").await;

    // Signing out ends the session: its cookie opens nothing any more.
    b.click("header form button").await;
    assert!(b.text().await.contains("You have signed out."));
    b.open(&tokens_page).await;
    assert!(b.url().await.contains("/console/sign-in"));
    b.close().await;
}

#[tokio::test]
async fn a_form_without_the_sessions_csrf_token_or_after_the_session_ends_changes_nothing() {
    let Some(b) = Browser::start().await else {
        return;
    };
    let site = Site::start(&["--console-idle-secs", "2"]);
    let (admin, password) = site.user("second-admin", "developer", "account_admin");
    let count = || tokens_named(&site, "forged").len();

    sign_in(&b, &site, &admin, &password).await;
    b.open(&site.url("/console/accounts/1/service-tokens/new"))
        .await;
    let nonce = value(&b, "input[name=nonce]").await;
    let form = format!("nonce={nonce}&name=forged&set0=job_admin&scope0=all");
    for csrf in [String::new(), format!("csrf={}&", "0".repeat(64))] {
        let (status, page) = post_from_page(
            &b,
            "/console/accounts/1/service-tokens",
            &format!("{csrf}{form}"),
        )
        .await;
        assert_eq!(status, 403, "{page}");
        assert!(page.contains("This form has expired"), "{page}");
    }
    assert_eq!(count(), 0);

    // The session ends after its idle time; a form sent then goes to the sign-in page.
    tokio::time::sleep(Duration::from_secs(3)).await;
    b.fill("#name", "forged").await;
    b.find("#set0")
        .await
        .select_by_value("job_admin")
        .await
        .unwrap();
    b.click("#save-token").await;
    assert!(
        b.url().await.contains("/console/sign-in"),
        "{}",
        b.url().await
    );
    assert!(b.text().await.contains("Your session has ended"));
    assert_eq!(count(), 0);

    // A sign-in form from elsewhere (without this browser's form cookie) is refused.
    let answer = reqwest::Client::new()
        .post(site.url("/console/sign-in"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!(
            "token={}&account=1&email={admin}&password={password}",
            "a".repeat(64)
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 403);
    assert!(answer
        .text()
        .await
        .unwrap()
        .contains("This sign-in form has expired"));
    b.close().await;
}
