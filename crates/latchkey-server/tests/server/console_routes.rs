//! The web console's rows, over the whole of its route table (`console_table()`), on the
//! suite's backend (its sessions live in the store): a stranger is sent to sign in, a cookie
//! that names no session is as good as none, another account's pages do not exist, a person
//! without a row's permission is refused, every state-changing form needs the session's CSRF
//! token, and none of these refusals changes anything.

use crate::common::{grant, spawn_app, App};
use latchkey_core::License;
use latchkey_server::routes::spec::Requirement;
use latchkey_server::routes::table::{console_table, Row};
use latchkey_store::{Actor, AuditQuery};
use reqwest::redirect::Policy;
use reqwest::{Method, StatusCode};

/// A client that shows redirects instead of following them.
fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(Policy::none())
        .build()
        .unwrap()
}

/// The value of the cookie `name` that an answer sets.
fn set_cookie(answer: &reqwest::Response, name: &str) -> Option<String> {
    answer
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix(&format!("{name}=")))
        .map(|v| v.split(';').next().unwrap_or_default().to_owned())
}

/// The value of the hidden field `name` on a page.
fn hidden(page: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = page
        .find(&marker)
        .unwrap_or_else(|| panic!("no {name} in {page}"))
        + marker.len();
    page[start..].split('"').next().unwrap().to_owned()
}

/// A signed-in person: their session cookie and their forms' CSRF token.
struct Person {
    cookie: String,
}

impl Person {
    /// A user with a Developer seat in a group holding `grants`, signed in over HTTP.
    async fn new(app: &App, email: &str, grants: &[&str]) -> Person {
        let password = "a password long enough";
        let op = Actor::operator();
        let user = app.member(email, Some(password), License::Developer).await;
        let grants: Vec<_> = grants.iter().map(|g| grant(g)).collect();
        let group = app
            .store
            .create_group(
                &op,
                latchkey_core::Authority::Operator,
                app.account,
                &format!("{email} group"),
                &grants,
            )
            .await
            .unwrap()
            .id;
        app.store.add_group_member(&op, group, user).await.unwrap();
        let signed = post_sign_in(app, email, password).await;
        Person {
            cookie: set_cookie(&signed, "latchkey_session").expect("a session cookie"),
        }
    }

    /// The CSRF token of this person's forms.
    async fn csrf(&self, app: &App) -> String {
        let page = client()
            .get(format!("{}/console/password", app.url))
            .header("cookie", format!("latchkey_session={}", self.cookie))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        hidden(&page, "csrf")
    }
}

/// Calls a console path as `cookie` (a session's secret, or none) with a form body.
async fn call(
    app: &App,
    method: &Method,
    path: &str,
    cookie: Option<&str>,
    form: &[(&str, &str)],
) -> (StatusCode, String, String) {
    let mut request = client().request(method.clone(), format!("{}{path}", app.url));
    if let Some(cookie) = cookie {
        request = request.header("cookie", format!("latchkey_session={cookie}"));
    }
    if *method == Method::POST {
        request = request.form(form);
    }
    let answer = request.send().await.unwrap();
    let status = answer.status();
    let location = answer
        .headers()
        .get("location")
        .map(|l| l.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, location, answer.text().await.unwrap_or_default())
}

/// The rows that need a session, each with its method.
fn guarded_rows() -> Vec<(Method, &'static str, Requirement)> {
    console_table()
        .into_iter()
        .filter(|Row { spec, .. }| spec.requirement.is_console())
        .map(|Row { spec, .. }| {
            (
                Method::from_bytes(spec.method.as_str().as_bytes()).unwrap(),
                spec.path,
                spec.requirement,
            )
        })
        .collect()
}

/// What a refused request must leave as it was.
async fn state(app: &App) -> (Vec<String>, i64) {
    let tokens = app
        .store
        .list_service_tokens(app.account, None)
        .await
        .unwrap()
        .iter()
        .map(|t| format!("{} {} {:?} {:?}", t.id, t.name, t.state, t.revoke_at))
        .collect();
    let audit = app
        .store
        .audit_count(&AuditQuery {
            account_id: Some(app.account),
            ..AuditQuery::default()
        })
        .await
        .unwrap();
    (tokens, audit)
}

#[tokio::test]
async fn every_console_row_sends_a_stranger_and_an_unknown_session_to_sign_in() {
    let app = spawn_app().await;
    let rows = guarded_rows();
    assert!(rows.len() >= 8, "{rows:?}");
    let before = state(&app).await;
    for (method, path, _) in &rows {
        let path = path
            .replace("{account_id}", &app.account.0.to_string())
            .replace("{id}", "1");
        for cookie in [None, Some("ab".repeat(32))] {
            let (status, location, _) = call(&app, method, &path, cookie.as_deref(), &[]).await;
            assert_eq!(status, StatusCode::SEE_OTHER, "{method} {path} {cookie:?}");
            assert!(
                location.starts_with("/console/sign-in"),
                "{method} {path}: {location}"
            );
            assert_eq!(
                location.contains("ended=1"),
                cookie.is_some(),
                "{method} {path}: a cookie naming no session is an ended session: {location}"
            );
        }
    }
    assert_eq!(state(&app).await, before);
}

#[tokio::test]
async fn every_console_row_hides_other_accounts_refuses_the_weaker_and_needs_csrf() {
    let app = spawn_app().await;
    let (token, _) = app
        .mint_in(app.account, &[grant("job_admin:all")], None)
        .await;
    let id = token.0.to_string();
    let admin = Person::new(&app, "admin@example.com", &["account_admin:all"]).await;
    let weak = Person::new(&app, "metadata@example.com", &["metadata_only:all"]).await;
    let (admin_csrf, weak_csrf) = (admin.csrf(&app).await, weak.csrf(&app).await);
    let before = state(&app).await;
    let other = latchkey_core::AccountId(app.account.0 + 1000);
    for (method, path, requirement) in guarded_rows() {
        let here = path
            .replace("{account_id}", &app.account.0.to_string())
            .replace("{project_id}", &app.p1.0.to_string())
            .replace("{id}", &id);
        // Another account's page does not exist, even for its account admin.
        if path.contains("{account_id}") {
            let there = path
                .replace("{account_id}", &other.0.to_string())
                .replace("{project_id}", &app.p1.0.to_string())
                .replace("{id}", &id);
            let (status, _, _) = call(
                &app,
                &method,
                &there,
                Some(&admin.cookie),
                &[("csrf", &admin_csrf)],
            )
            .await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{method} {there}");
        }
        // Without the row's permission: refused, with the reason on the page.
        if let Requirement::SessionWith(permission) | Requirement::SessionOnProject(permission) =
            requirement
        {
            let (status, _, page) = call(
                &app,
                &method,
                &here,
                Some(&weak.cookie),
                &[("csrf", &weak_csrf)],
            )
            .await;
            assert_eq!(
                status,
                StatusCode::FORBIDDEN,
                "{method} {here} needs {permission}"
            );
            assert!(page.contains("do not include this page"), "{page}");
        }
        // Every page a row serves is the console's own: HTML (or the audit log's CSV), never
        // an API handler's JSON mounted under a console path.
        if method == Method::GET {
            let answer = client()
                .get(format!("{}{here}", app.url))
                .header("cookie", format!("latchkey_session={}", admin.cookie))
                .send()
                .await
                .unwrap();
            let kind = answer
                .headers()
                .get("content-type")
                .map(|v| v.to_str().unwrap().to_owned())
                .unwrap_or_default();
            if answer.status() == StatusCode::SEE_OTHER {
                // `/console/` sends each person to their first page.
                let to = answer.headers().get("location").unwrap().to_str().unwrap();
                assert!(
                    to.starts_with("/console/accounts/"),
                    "{method} {here}: {to}"
                );
            } else {
                // (`{id}` is a service token's: another kind's page is the console's 404.)
                assert!(
                    [StatusCode::OK, StatusCode::NOT_FOUND].contains(&answer.status()),
                    "{method} {here}: {}",
                    answer.status()
                );
                let expected = if here.ends_with(".csv") {
                    "text/csv"
                } else {
                    "text/html"
                };
                assert!(kind.starts_with(expected), "{method} {here}: {kind}");
            }
        }
        // A state-changing form without this session's CSRF token changes nothing.
        if method == Method::POST {
            for form in [vec![], vec![("csrf", weak_csrf.as_str())]] {
                let (status, _, page) =
                    call(&app, &method, &here, Some(&admin.cookie), &form).await;
                assert_eq!(status, StatusCode::FORBIDDEN, "{method} {here} {form:?}");
                assert!(page.contains("This form has expired"), "{page}");
            }
        }
    }
    assert_eq!(state(&app).await, before, "a refusal changed something");
}

#[tokio::test]
async fn signing_out_ends_the_session_in_the_store_for_every_node() {
    let app = spawn_app().await;
    let person = Person::new(&app, "someone@example.com", &["account_admin:all"]).await;
    let csrf = person.csrf(&app).await;
    let page = format!("/console/accounts/{}/service-tokens", app.account.0);
    let (status, _, _) = call(&app, &Method::GET, &page, Some(&person.cookie), &[]).await;
    assert_eq!(status, StatusCode::OK);
    let (status, location, _) = call(
        &app,
        &Method::POST,
        "/console/sign-out",
        Some(&person.cookie),
        &[("csrf", &csrf)],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(location.contains("signed_out=1"), "{location}");
    // The cookie, kept and sent again (another node, another tab), opens nothing.
    let (status, location, _) = call(&app, &Method::GET, &page, Some(&person.cookie), &[]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(location.contains("ended=1"), "{location}");
    let events: Vec<String> = app
        .store
        .audit_entries(&AuditQuery {
            account_id: Some(app.account),
            target_type: Some("user".into()),
            limit: 100,
            ..AuditQuery::default()
        })
        .await
        .unwrap()
        .into_iter()
        .map(|e| format!("{} {}", e.event_type, e.source))
        .collect();
    for event in ["user.signed_in ui", "user.signed_out ui"] {
        assert!(
            events.iter().any(|e| e == event),
            "{event} not in {events:?}"
        );
    }
}

/// Posts the sign-in form as a browser would (its form cookie and token), with `password`.
async fn post_sign_in(app: &App, email: &str, password: &str) -> reqwest::Response {
    let http = client();
    let form = http
        .get(format!("{}/console/sign-in", app.url))
        .send()
        .await
        .unwrap();
    let token = set_cookie(&form, "latchkey_sign_in").unwrap();
    http.post(format!("{}/console/sign-in", app.url))
        .header("cookie", format!("latchkey_sign_in={token}"))
        .form(&[
            ("token", token.as_str()),
            ("account", &app.account.0.to_string()),
            ("email", email),
            ("password", password),
        ])
        .send()
        .await
        .unwrap()
}

/// [`post_sign_in`]'s status and page.
async fn try_sign_in(app: &App, email: &str, password: &str) -> (StatusCode, String) {
    let answer = post_sign_in(app, email, password).await;
    (answer.status(), answer.text().await.unwrap())
}

#[tokio::test]
async fn failed_sign_ins_are_throttled_before_any_password_is_hashed() {
    let app = crate::common::spawn_app_with(latchkey_server::ServerConfig {
        failed_auth_limit: 3,
        ..latchkey_server::ServerConfig::default()
    })
    .await;
    let person = Person::new(&app, "target@example.com", &["account_admin:all"]).await;
    for _ in 0..3 {
        let (status, page) = try_sign_in(&app, "target@example.com", "a wrong password").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{page}");
        assert!(page.contains("is not right"), "{page}");
    }
    // Past the limit, even the right password is not tried: the address waits.
    let (status, page) = try_sign_in(&app, "target@example.com", "a password long enough").await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{page}");
    assert!(page.contains("Too many failed sign-ins"), "{page}");
    // Made-up session cookies from the same address are refused as ever (never a 5xx), and a
    // real session from it is still served.
    let page = format!("/console/accounts/{}/service-tokens", app.account.0);
    for i in 0..20u8 {
        let fake = format!("{i:02x}").repeat(32);
        let (status, location, _) = call(&app, &Method::GET, &page, Some(&fake), &[]).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{location}");
    }
    let (status, _, _) = call(&app, &Method::GET, &page, Some(&person.cookie), &[]).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn a_project_is_renamed_only_by_someone_who_may_write_that_project() {
    let app = spawn_app().await;
    let (p1, p2) = (app.p1.0, app.p2.0);
    let person = Person::new(
        &app,
        "one-project@example.com",
        &[&format!("admin:project={p1}"), "job_viewer:all"],
    )
    .await;
    let csrf = person.csrf(&app).await;
    let list = format!("/console/accounts/{}/projects", app.account.0);
    let (status, _, page) = call(&app, &Method::GET, &list, Some(&person.cookie), &[]).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains(&format!("id=\"rename-{p1}\"")), "{page}");
    assert!(!page.contains(&format!("id=\"rename-{p2}\"")), "{page}");
    let rename = |id: i64| format!("/console/accounts/{}/projects/{id}/rename", app.account.0);
    let (status, _, page) = call(
        &app,
        &Method::POST,
        &rename(p2),
        Some(&person.cookie),
        &[("csrf", &csrf), ("name", "taken over")],
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{page}");
    let (status, location, _) = call(
        &app,
        &Method::POST,
        &rename(p1),
        Some(&person.cookie),
        &[("csrf", &csrf), ("name", "renamed")],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(location.contains("done="), "{location}");
    let names: Vec<String> = app
        .store
        .projects(app.account)
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.name)
        .collect();
    assert!(names.contains(&"renamed".to_owned()) && names.contains(&"two".to_owned()));
}
