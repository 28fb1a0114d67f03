//! The successful calls of the IP-restriction rows: the rules and the account's switch.

use serde_json::json;

use super::calls::{at, call, get};
use super::exercise::{variant, Variant};
use super::world::{allow_rule_body, ip_rule, World};
use crate::common::App;

/// The successful calls for an IP-restriction row; `None` for a row of another area.
pub(super) async fn exercise(
    app: &App,
    w: &World,
    method: &str,
    path: &str,
) -> Option<Vec<Variant>> {
    let admin = w.admin.as_str();
    Some(match (method, path) {
        // IP restrictions.
        ("GET", "/api/v3/accounts/{account_id}/ip-restrictions/") => {
            vec![variant(
                "allow and block rules",
                get(app, at(app, "ip-restrictions/"), admin).await,
            )]
        }
        ("POST", "/api/v3/accounts/{account_id}/ip-restrictions/") => {
            let mut body = allow_rule_body();
            body["name"] = json!("made");
            vec![variant(
                "IPv4 and IPv6 ranges",
                call(app, "POST", &at(app, "ip-restrictions/"), admin, Some(body)).await,
            )]
        }
        ("GET", "/api/v3/accounts/{account_id}/ip-restrictions/rule-set/") => {
            vec![variant(
                "the switch",
                get(app, at(app, "ip-restrictions/rule-set/"), admin).await,
            )]
        }
        ("PUT", "/api/v3/accounts/{account_id}/ip-restrictions/rule-set/") => {
            // On (the allow rule covers 127.0.0.1, where the calls come from), then off again.
            let p = at(app, "ip-restrictions/rule-set/");
            let on = call(app, "PUT", &p, admin, Some(json!({"enabled": true}))).await;
            let off = call(app, "PUT", &p, admin, Some(json!({"enabled": false}))).await;
            assert_eq!(on.json()["data"]["enabled"], true, "{}", on.text);
            assert_eq!(off.json()["data"]["enabled"], false, "{}", off.text);
            vec![variant("enabled", on), variant("disabled", off)]
        }
        ("GET", "/api/v3/accounts/{account_id}/ip-restrictions/{id}/") => vec![variant(
            "the allow rule",
            get(app, at(app, &format!("ip-restrictions/{}/", w.rule)), admin).await,
        )],
        ("PUT" | "POST", "/api/v3/accounts/{account_id}/ip-restrictions/{id}/") => {
            let id = ip_rule(app, admin, "to change", allow_rule_body()).await;
            let p = at(app, &format!("ip-restrictions/{id}/"));
            let body =
                json!({"name": "changed", "cidrs": ["127.0.0.0/8", {"cidr_ipv6": "::1/128"}]});
            vec![variant(
                "new name and ranges",
                call(app, method, &p, admin, Some(body)).await,
            )]
        }
        ("DELETE", "/api/v3/accounts/{account_id}/ip-restrictions/{id}/") => {
            let id = ip_rule(app, admin, "to delete", allow_rule_body()).await;
            let p = at(app, &format!("ip-restrictions/{id}/"));
            vec![variant(
                "a rule made for it",
                call(app, "DELETE", &p, admin, None).await,
            )]
        }
        _ => return None,
    })
}
