//! Names: refused when they hold control characters, are blank or are too long; otherwise stored
//! and read back byte for byte.

use serde_json::json;

use super::cases::{assert_refused, case};
use super::fingerprint::table_names;
use super::fixture::fixture;
use super::routes::{
    CREATE, IP_CREATE, IP_RETRIEVE, IP_UPDATE, IP_UPDATE_POST, LIST, RETRIEVE, UPDATE, UPDATE_PUT,
};

/// Names the store refuses: control characters (`char::is_control`, i.e. Unicode Cc: C0, DEL,
/// C1), invisible characters that reorder or hide text, blank after trimming Unicode white
/// space, or more than 255 characters. The refusal is a
/// 400 whose message names the token name (the store's check sets no `data.field`).
fn refused_names() -> Vec<String> {
    let mut names: Vec<String> = [
        "bad\u{0}name",
        "\u{0}",
        "tab\there",
        "line\nbreak",
        "carriage\rreturn",
        "bell\u{7}",
        "esc\u{1b}[31mred",
        "del\u{7f}",
        "next line\u{85}",
        "csi\u{9b}",
        "",
        "   ",
        "\u{a0}",
        "\u{3000}\u{2003}",
        // Invisible characters that reorder or hide text (Trojan Source), or a name of nothing
        // but joiners.
        "invoice\u{202e}fdp.exe",
        "a\u{200b}d",
        "\u{200d}",
        "\u{feff}bom",
        "\u{2066}isolate\u{2069}",
        "soft\u{ad}hyphen",
    ]
    .map(str::to_owned)
    .to_vec();
    names.push("x".repeat(256));
    names.push("x".repeat(10_000));
    names.push("🔑".repeat(256));
    names
}

/// Names the store keeps as given; each must read back byte for byte.
fn kept_names() -> Vec<String> {
    let mut names: Vec<String> = [
        "'; DROP TABLE service_tokens; --",
        "1 OR 1=1",
        "Robert'); DROP TABLE audit_log;--",
        "\" OR \"\"=\"",
        "%' OR name LIKE '%",
        "x'; SELECT sqlite_version(); --",
        "?1 ?2 :name @p $x",
        "%s%n%x",
        "<script>alert(1)</script>",
        "../../etc/passwd",
        "🔑 deploy 👩‍👩‍👧‍👦",
        "e\u{301}te\u{301}",
        // Joiners that emoji and some scripts need are kept.
        "a\u{200d}b\u{200c}c",
        " padded ",
    ]
    .map(str::to_owned)
    .to_vec();
    names.push("x".repeat(255));
    names.push("🔑".repeat(255));
    names.push("é".repeat(255));
    names
}

#[tokio::test]
async fn names_with_control_characters_blank_or_too_long_are_refused() {
    let fx = fixture().await;
    let mut n = 0;
    for name in refused_names() {
        let bodies = [
            (
                CREATE,
                json!({"name": name, "permission_grants": [{"permission_set": "job_viewer"}]}),
            ),
            (UPDATE, json!({ "name": name })),
            (UPDATE_PUT, json!({ "name": name })),
            (
                IP_CREATE,
                json!({"name": name, "type": 2, "cidrs": ["198.51.100.0/24"]}),
            ),
            (IP_UPDATE, json!({ "name": name })),
        ];
        for (route, body) in bodies {
            let c = case(route, body.to_string());
            let out = assert_refused(&fx, &c).await;
            let label = c.label(&fx.path(route.1));
            let message = out["status"]["developer_message"].as_str().unwrap_or("");
            assert!(
                message.contains("name"),
                "{label}: the refusal does not name the field: {out}"
            );
            assert!(
                out["data"]["field"].is_null() || out["data"]["field"] == "name",
                "{label}: {out}"
            );
            n += 1;
        }
    }
    eprintln!("{n} refused-name cases");
}

#[tokio::test]
async fn unusual_names_are_stored_and_read_back_byte_identical() {
    let fx = fixture().await;
    let tables_before = table_names(&fx.app).await;
    let names = kept_names();
    for name in &names {
        let label = format!("name {name:?}");
        // Created with it.
        let (status, out) = fx
            .json(
                CREATE,
                &fx.path(CREATE.1),
                &json!({"name": name, "permission_grants": [{"permission_set": "job_viewer"}]}),
            )
            .await;
        assert_eq!(status, 201, "{label}: {out}");
        assert_eq!(out["data"]["name"].as_str(), Some(name.as_str()), "{label}");
        let id = out["data"]["id"].as_i64().unwrap();
        let path = fx.path_with_id(RETRIEVE.1, &id.to_string());
        let (status, out) = fx.json(RETRIEVE, &path, &json!({})).await;
        assert_eq!(status, 200, "{label}: {out}");
        assert_eq!(out["data"]["name"].as_str(), Some(name.as_str()), "{label}");
        let stored = fx
            .app
            .store
            .service_token(latchkey_core::TokenId(id))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(stored.name.as_bytes(), name.as_bytes(), "{label}");
        // The victim token and the victim IP rule renamed to it.
        for (route, read) in [
            (UPDATE, RETRIEVE),
            (UPDATE_PUT, RETRIEVE),
            (IP_UPDATE, IP_RETRIEVE),
            (IP_UPDATE_POST, IP_RETRIEVE),
        ] {
            let (status, out) = fx
                .json(route, &fx.path(route.1), &json!({ "name": name }))
                .await;
            assert_eq!(status, 200, "{} {} {label}: {out}", route.0, route.1);
            assert_eq!(out["data"]["name"].as_str(), Some(name.as_str()), "{label}");
            let (_, out) = fx.json(read, &fx.path(read.1), &json!({})).await;
            assert_eq!(
                out["data"]["name"].as_str(),
                Some(name.as_str()),
                "{} {} {label}",
                read.0,
                read.1
            );
        }
    }
    // The SQL-looking names were data, not statements: every table is still there, and the
    // tokens are all listed.
    assert_eq!(table_names(&fx.app).await, tables_before);
    for t in [
        "service_tokens",
        "audit_log",
        "service_token_grants",
        "ip_rules",
    ] {
        assert!(
            tables_before.iter().any(|x| x == t),
            "{t} missing: {tables_before:?}"
        );
    }
    let (status, out) = fx
        .json(LIST, &format!("{}?limit=1000", fx.path(LIST.1)), &json!({}))
        .await;
    assert_eq!(status, 200, "{out}");
    assert_eq!(
        out["extra"]["pagination"]["total_count"],
        2 + names.len(),
        "{out}"
    );
    eprintln!("{} kept names", names.len());
}
