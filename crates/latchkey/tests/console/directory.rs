//! The account's other pages in Chromium: users and licenses, invitations, projects, groups
//! and IP restrictions with the lockout guard.

use crate::browser::Browser;
use crate::people::{sign_in, value, Site};
use serde_json::{json, Value};

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
    let (question, notice) = b.confirm(&format!("#remove-{row}")).await;
    assert!(question.contains(&member), "{question}");
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
    let (question, notice) = b.confirm("a[id^='withdraw-']").await;
    assert!(question.contains("changed-mind@example.com"), "{question}");
    assert!(
        notice.contains("Withdrew the invitation of changed-mind@example.com"),
        "{notice}"
    );
    b.screenshot("invitations").await;
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
    let (_, notice) = b.confirm(&format!("#delete-project-{id}")).await;
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
    let (_, notice) = b.confirm(&format!("#delete-group-{id}")).await;
    assert_eq!(notice, "Deleted the group “Deployers”.");
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
    assert_eq!(b.confirm("a[id^='delete-rule-']").await.1, "Rule deleted.");
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
