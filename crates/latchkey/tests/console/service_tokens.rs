//! Account settings → Service tokens, as people use it in Chromium.

use crate::browser::Browser;
use crate::people::{sign_in, Site};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

const ADMIN: &str = "admin@latchkey.local";
const NEW_PASSWORD: &str = "a new and long admin password";

/// Posts a form from the page, as the browser would (same origin, its cookies): the status
/// and the page's text.
async fn post_from_page(b: &Browser, path: &str, body: &str) -> (u64, String) {
    let answer = b
        .client
        .execute_async(
            "const [url, body, done] = arguments;
             fetch(url, {method: 'POST', body: body,
                         headers: {'Content-Type': 'application/x-www-form-urlencoded'}})
               .then(r => r.text().then(t => done([r.status, t])))
               .catch(e => done([0, String(e)]));",
            vec![json!(path), json!(body)],
        )
        .await
        .unwrap();
    (
        answer[0].as_u64().unwrap(),
        answer[1].as_str().unwrap().to_owned(),
    )
}

/// The value of a form field on the page.
async fn value(b: &Browser, css: &str) -> String {
    b.find(css)
        .await
        .prop("value")
        .await
        .unwrap()
        .unwrap_or_default()
}

/// The account's active tokens named `name`, newest first (by the API).
fn tokens_named(site: &Site, name: &str) -> Vec<Value> {
    let (status, page) = site.api(
        "GET",
        "/api/v3/accounts/1/service-tokens/?state=1&limit=1000",
        &Value::Null,
    );
    assert_eq!(status, 200, "{page}");
    let mut found: Vec<Value> = page["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["name"] == name)
        .cloned()
        .collect();
    found.sort_by_key(|t| std::cmp::Reverse(t["id"].as_i64()));
    found
}

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
    b.find(&format!("tr[data-token='{new_id}'] a.trash"))
        .await
        .click()
        .await
        .unwrap();
    let question = b.client.get_alert_text().await.unwrap();
    assert!(question.contains("“CI deploys”"), "{question}");
    b.client.accept_alert().await.unwrap();
    let notice = b.wait_for(".notice").await.text().await.unwrap();
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
    b.find("a.trash").await.click().await.unwrap();
    b.client.accept_alert().await.unwrap();
    let notice = b.wait_for(".notice").await.text().await.unwrap();
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

#[tokio::test]
async fn an_admin_changes_a_members_license_and_removes_them() {
    let Some(b) = Browser::start().await else {
        return;
    };
    let site = Site::start(&[]);
    let (admin, password) = site.user("second-admin", "developer", "account_admin");
    let (member, _) = site.user("member", "developer", "job_viewer");
    sign_in(&b, &site, &admin, &password).await;
    b.click("header nav a[href$='/users']").await;
    let row = site.api("GET", "/api/v3/accounts/1/users/", &Value::Null).1["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["email"] == member.as_str())
        .map(|u| u["id"].as_i64().unwrap())
        .unwrap();
    b.find(&format!("#license-{row}"))
        .await
        .select_by_value("read_only")
        .await
        .unwrap();
    b.click(&format!("#set-license-{row}")).await;
    let notice = b.find(".notice").await.text().await.unwrap();
    assert_eq!(notice, format!("Changed the license of {member}."));
    let chosen = b
        .find(&format!("#license-{row} option[selected]"))
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(chosen, "Read-only");
    b.screenshot("users").await;
    // The first-start admin is listed without buttons for the one signed in about themselves.
    assert!(!b.has(&format!("#remove-{}", 0)).await);
    b.find(&format!("#remove-{row}"))
        .await
        .click()
        .await
        .unwrap();
    let question = b.client.get_alert_text().await.unwrap();
    assert!(question.contains(&member), "{question}");
    b.client.accept_alert().await.unwrap();
    let notice = b.wait_for(".notice").await.text().await.unwrap();
    assert_eq!(notice, format!("Removed {member} from the account."));
    let (_, log) = site.api(
        "GET",
        "/api/v3/accounts/1/audit-logs/?limit=50",
        &Value::Null,
    );
    let by_admin: Vec<&str> = log["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["actor"] == admin.as_str() && e["source"] == "ui")
        .map(|e| e["event_type"].as_str().unwrap())
        .collect();
    assert!(by_admin.len() >= 3, "{by_admin:?}");
    b.close().await;
}

#[tokio::test]
async fn an_admin_invites_someone_shows_the_code_once_and_withdraws_another() {
    let Some(b) = Browser::start().await else {
        return;
    };
    // This site's operator lets the inviter deliver codes (`--invite-delivery caller`).
    let site = Site::start(&["--invite-delivery", "caller"]);
    let (admin, password) = site.user_by_api("second-admin", "developer", "account_admin");
    sign_in(&b, &site, &admin, &password).await;
    b.click("header nav a[href$='/invitations']").await;
    b.fill("#email", "newcomer@example.com").await;
    b.find("#license")
        .await
        .select_by_value("read_only")
        .await
        .unwrap();
    b.click("#send-invite").await;
    let code = value(&b, "#token-secret").await;
    assert!(code.starts_with("lkinv_"), "{code}");
    assert!(b.text().await.contains("you will not see it again"));
    // The code takes the seat through the API, as the invited person's client would.
    let (status, text) = crate::harness::http::request(
        "POST",
        &site.url("/api/v3/invites/redeem/"),
        None,
        &json!({"code": code, "password": "the newcomer's password"}).to_string(),
    )
    .unwrap();
    assert_eq!(status, 201, "{text}");
    b.click("a.button[href$='/invitations']").await;
    assert!(!b.source().await.contains(&code));
    // A second invitation, withdrawn behind its confirmation.
    b.fill("#email", "changed-mind@example.com").await;
    b.click("#send-invite").await;
    b.click("a.button[href$='/invitations']").await;
    let text = b.text().await;
    assert!(
        text.contains("Accepted") && text.contains("Pending"),
        "{text}"
    );
    b.find("a[id^='withdraw-']").await.click().await.unwrap();
    let question = b.client.get_alert_text().await.unwrap();
    assert!(question.contains("changed-mind@example.com"), "{question}");
    b.client.accept_alert().await.unwrap();
    let notice = b.wait_for(".notice").await.text().await.unwrap();
    assert!(
        notice.contains("Withdrew the invitation of changed-mind@example.com"),
        "{notice}"
    );
    b.screenshot("invitations").await;
    b.close().await;
}

#[tokio::test]
async fn ip_restrictions_refuse_a_change_that_would_lock_the_person_out() {
    let Some(b) = Browser::start().await else {
        return;
    };
    let site = Site::start(&[]);
    let (admin, password) = site.user("rules-admin", "developer", "account_admin");
    sign_in(&b, &site, &admin, &password).await;
    b.click("header nav a[href$='/ip-restrictions']").await;
    assert_eq!(
        b.find("#your-address").await.text().await.unwrap(),
        "127.0.0.1"
    );
    assert_eq!(b.find("#enforcement").await.text().await.unwrap(), "off");

    // A deny rule for this very address is kept while enforcement is off…
    b.fill("#rule-name", "office block").await;
    b.find("input[name=type][value=deny]")
        .await
        .click()
        .await
        .unwrap();
    b.fill("#ranges", "127.0.0.0/8").await;
    b.click("#add-rule").await;
    assert_eq!(b.find(".notice").await.text().await.unwrap(), "Rule added.");
    // …but turning enforcement on would shut the person out, and is refused, saying why.
    b.click("#toggle-enforcement").await;
    let refused = b.find("#change-error").await.text().await.unwrap();
    assert!(refused.starts_with("Not changed:"), "{refused}");
    assert_eq!(b.find("#enforcement").await.text().await.unwrap(), "off");
    b.screenshot("ip-restrictions").await;

    // Without the deny rule and with an allow rule for this address, enforcement goes on, and
    // tokens used from here still work.
    b.find("a[id^='delete-rule-']").await.click().await.unwrap();
    b.client.accept_alert().await.unwrap();
    assert_eq!(
        b.wait_for(".notice").await.text().await.unwrap(),
        "Rule deleted."
    );
    b.fill("#rule-name", "loopback").await;
    b.fill("#ranges", "127.0.0.0/8").await;
    b.click("#add-rule").await;
    b.click("#toggle-enforcement").await;
    assert_eq!(b.find("#enforcement").await.text().await.unwrap(), "on");
    assert!(site.may_write_jobs(&site.admin_token).is_some());
    b.click("#toggle-enforcement").await;
    assert_eq!(b.find("#enforcement").await.text().await.unwrap(), "off");
    b.close().await;
}

#[tokio::test]
async fn an_admin_makes_renames_and_deletes_a_project() {
    let Some(b) = Browser::start().await else {
        return;
    };
    let site = Site::start(&[]);
    let (admin, password) = site.user("projects-admin", "developer", "account_admin");
    sign_in(&b, &site, &admin, &password).await;
    b.click("header nav a[href$='/projects']").await;
    b.fill("#new-project", "Analytics").await;
    b.click("#create-project").await;
    assert_eq!(
        b.find(".notice").await.text().await.unwrap(),
        "Made the project “Analytics”."
    );
    let id = b
        .find("tr[data-project]:last-child")
        .await
        .attr("data-project")
        .await
        .unwrap()
        .unwrap();
    b.fill(&format!("#name-{id}"), "Analytics EU").await;
    b.click(&format!("#rename-{id}")).await;
    assert_eq!(
        b.find(".notice").await.text().await.unwrap(),
        "Renamed “Analytics” to “Analytics EU”."
    );
    b.screenshot("projects").await;
    b.find(&format!("#delete-project-{id}"))
        .await
        .click()
        .await
        .unwrap();
    b.client.accept_alert().await.unwrap();
    let notice = b.wait_for(".notice").await.text().await.unwrap();
    assert_eq!(notice, "Deleted the project “Analytics EU”.");
    assert!(!b.has(&format!("tr[data-project='{id}']")).await);
    b.close().await;
}

#[tokio::test]
async fn an_admin_makes_a_group_changes_its_sets_and_deletes_it() {
    let Some(b) = Browser::start().await else {
        return;
    };
    let site = Site::start(&[]);
    let (admin, password) = site.user("groups-admin", "developer", "account_admin");
    sign_in(&b, &site, &admin, &password).await;
    b.click("header nav a[href$='/groups']").await;
    b.fill("#name", "Deployers").await;
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
    b.click("#create-group").await;
    assert_eq!(
        b.find(".notice").await.text().await.unwrap(),
        "Made the group “Deployers”."
    );
    let row = b.find("tr[data-group]:last-child").await;
    assert!(row
        .text()
        .await
        .unwrap()
        .contains("Job Admin — Default project (project 1)"));
    let id = row.attr("data-group").await.unwrap().unwrap();
    b.screenshot("groups").await;
    b.click(&format!("#edit-group-{id}")).await;
    b.find("#set0")
        .await
        .select_by_value("job_runner")
        .await
        .unwrap();
    b.click("#save-group").await;
    assert_eq!(
        b.find(".notice").await.text().await.unwrap(),
        "Changed the sets of “Deployers”."
    );
    let text = b
        .find(&format!("tr[data-group='{id}']"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        text.contains("Job Runner — All projects") && !text.contains("Job Admin"),
        "{text}"
    );
    b.find(&format!("#delete-group-{id}"))
        .await
        .click()
        .await
        .unwrap();
    b.client.accept_alert().await.unwrap();
    let notice = b.wait_for(".notice").await.text().await.unwrap();
    assert_eq!(notice, "Deleted the group “Deployers”.");
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
