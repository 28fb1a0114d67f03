//! The compiled catalog against an independent reading of `catalog.json` with `serde_json::Value`:
//! every cell of the 26 × 31 matrix, resource levels, plans, the user-only and
//! environment-write-capable lists, labels, and `Catalog::validate` refusing broken documents.

use latchkey_core::catalog::CATALOG_JSON;
use latchkey_core::{catalog, Access, Catalog, Level, Permission, Plan};
use serde_json::Value;
use std::collections::BTreeSet;

const FILE: &str = include_str!("../../catalog.json");

fn doc() -> Value {
    serde_json::from_str(FILE).expect("catalog.json is JSON")
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .expect("a JSON array")
        .iter()
        .map(|s| s.as_str().expect("a JSON string").to_owned())
        .collect()
}

fn account_resources(d: &Value) -> Vec<String> {
    strings(&d["resources"]["account"])
}

fn project_resources(d: &Value) -> Vec<String> {
    strings(&d["resources"]["project"])
}

/// Every (level key, resource slug) of the file, account-level first, in file order.
fn all_resources(d: &Value) -> Vec<(&'static str, String)> {
    account_resources(d)
        .into_iter()
        .map(|r| ("account", r))
        .chain(project_resources(d).into_iter().map(|r| ("project", r)))
        .collect()
}

fn set_slugs(d: &Value) -> Vec<String> {
    d["permission_sets"]
        .as_object()
        .expect("permission_sets is an object")
        .keys()
        .cloned()
        .collect()
}

fn expected_access(word: &str) -> Option<Access> {
    match word {
        "none" => None,
        "read" => Some(Access::Read),
        "write" => Some(Access::Write),
        other => panic!("catalog.json has access word {other:?}"),
    }
}

/// Compiles a mutated document, turning a panic into a test failure with the case's name.
fn compile_must_fail(case: &str, json: &str) {
    let result = std::panic::catch_unwind(|| Catalog::validate(json));
    match result {
        Ok(Err(msg)) => assert!(!msg.is_empty(), "{case}: empty error message"),
        Ok(Ok(())) => panic!("{case}: Catalog::validate accepted a broken document"),
        Err(_) => panic!("{case}: Catalog::validate panicked instead of returning Err"),
    }
}

fn compile_mutated(case: &str, mutate: impl FnOnce(&mut Value)) {
    let mut d = doc();
    mutate(&mut d);
    compile_must_fail(case, &serde_json::to_string(&d).unwrap());
}

#[test]
fn the_embedded_catalog_is_the_checked_in_file() {
    assert_eq!(CATALOG_JSON, FILE);
}

#[test]
fn every_cell_of_every_set_matches_the_compiled_table() {
    let d = doc();
    let mut cells = 0;
    for slug in set_slugs(&d) {
        let set = catalog()
            .set(&slug)
            .unwrap_or_else(|| panic!("set {slug} missing from the compiled catalog"));
        for (level, res) in all_resources(&d) {
            let word = d["permission_sets"][&slug][level][&res]
                .as_str()
                .unwrap_or_else(|| panic!("{slug}.{level}.{res} missing from the file"));
            let resource = catalog()
                .resource(&res)
                .unwrap_or_else(|| panic!("resource {res} missing from the compiled catalog"));
            assert_eq!(
                set.access(resource),
                expected_access(word),
                "{slug} on {res}: the file says {word}"
            );
            cells += 1;
        }
    }
    assert_eq!(cells, 26 * 31);
}

#[test]
fn every_set_row_in_the_file_has_exactly_one_cell_per_resource_of_its_level() {
    let d = doc();
    for slug in set_slugs(&d) {
        for (level, list) in [
            ("account", account_resources(&d)),
            ("project", project_resources(&d)),
        ] {
            let row = d["permission_sets"][&slug][level].as_object().unwrap();
            let keys: BTreeSet<&str> = row.keys().map(String::as_str).collect();
            let want: BTreeSet<&str> = list.iter().map(String::as_str).collect();
            assert_eq!(keys, want, "{slug} {level} row");
        }
    }
}

#[test]
fn set_bits_are_exactly_the_file_cells_with_write_implying_read() {
    let d = doc();
    for slug in set_slugs(&d) {
        let set = catalog().set(&slug).unwrap();
        let mut want = 0u64;
        for (level, res) in all_resources(&d) {
            let r = catalog().resource(&res).unwrap();
            let read = Permission::new(r, Access::Read).bit();
            let write = Permission::new(r, Access::Write).bit();
            want |= match d["permission_sets"][&slug][level][&res].as_str().unwrap() {
                "none" => 0,
                "read" => read,
                "write" => read | write,
                other => panic!("{other}"),
            };
        }
        assert_eq!(set.bits(), want, "{slug}");
    }
}

#[test]
fn resource_levels_follow_the_account_and_project_lists() {
    let d = doc();
    for res in account_resources(&d) {
        let r = catalog().resource(&res).unwrap();
        assert_eq!(r.level(), Level::Account, "{res}");
        assert_eq!(r.slug(), res);
    }
    for res in project_resources(&d) {
        let r = catalog().resource(&res).unwrap();
        assert_eq!(r.level(), Level::Project, "{res}");
        assert_eq!(r.slug(), res);
    }
}

#[test]
fn the_catalog_has_26_sets_and_17_account_plus_14_project_resources() {
    let d = doc();
    assert_eq!(set_slugs(&d).len(), 26);
    assert_eq!(account_resources(&d).len(), 17);
    assert_eq!(project_resources(&d).len(), 14);
    assert_eq!(catalog().sets().len(), 26);
    assert_eq!(catalog().resources().len(), 31);
    let account = catalog()
        .resources()
        .filter(|r| r.level() == Level::Account)
        .count();
    assert_eq!(account, 17);
    assert_eq!(catalog().resources().len() - account, 14);
}

#[test]
fn resources_iterate_account_level_first_in_file_order() {
    let d = doc();
    let compiled: Vec<&str> = catalog()
        .resources()
        .map(latchkey_core::Resource::slug)
        .collect();
    let file: Vec<String> = all_resources(&d).into_iter().map(|(_, r)| r).collect();
    assert_eq!(compiled, file);
}

#[test]
fn sets_iterate_in_slug_order_and_round_trip_through_their_slug() {
    let compiled: Vec<&str> = catalog()
        .sets()
        .map(latchkey_core::PermissionSet::slug)
        .collect();
    let mut sorted = compiled.clone();
    sorted.sort_unstable();
    assert_eq!(compiled, sorted);
    for set in catalog().sets() {
        assert_eq!(catalog().set(set.slug()), Some(set));
        assert_eq!(set.slug().parse::<latchkey_core::PermissionSet>(), Ok(set));
        assert_eq!(set.to_string(), set.slug());
    }
}

#[test]
fn resource_labels_match_the_file() {
    let d = doc();
    for (_, res) in all_resources(&d) {
        let r = catalog().resource(&res).unwrap();
        assert_eq!(
            r.label(),
            d["resource_labels"][&res].as_str().unwrap(),
            "{res}"
        );
    }
}

#[test]
fn unknown_sets_and_resources_are_not_found() {
    for slug in [
        "",
        "Account_Admin",
        "account admin",
        "superuser",
        "analyst_read",
        "job_creator",
    ] {
        assert!(catalog().set(slug).is_none(), "{slug:?}");
    }
    for slug in ["", "Jobs", "job", "jobs ", "project_cost", "service-tokens"] {
        assert!(catalog().resource(slug).is_none(), "{slug:?}");
    }
}

#[test]
fn each_plan_offers_exactly_the_sets_the_file_lists() {
    let d = doc();
    let plans = d["plans"].as_object().unwrap();
    assert_eq!(plans.len(), Plan::ALL.len());
    for (name, list) in plans {
        let plan: Plan = name.parse().unwrap_or_else(|e| panic!("{name}: {e}"));
        let listed: BTreeSet<String> = strings(list).into_iter().collect();
        for slug in set_slugs(&d) {
            let set = catalog().set(&slug).unwrap();
            assert_eq!(
                catalog().plan_allows(plan, set),
                listed.contains(&slug),
                "{plan} / {slug}"
            );
        }
        let offered: BTreeSet<String> = catalog()
            .plan_sets(plan)
            .map(|s| s.slug().to_owned())
            .collect();
        assert_eq!(offered, listed, "{plan}");
    }
}

#[test]
fn user_only_and_environment_write_capable_sets_match_the_file() {
    let d = doc();
    let user_only: BTreeSet<String> = strings(&d["user_only_sets"]).into_iter().collect();
    let env_capable: BTreeSet<String> = strings(&d["environment_write_capable_sets"])
        .into_iter()
        .collect();
    for slug in set_slugs(&d) {
        let set = catalog().set(&slug).unwrap();
        assert_eq!(set.is_user_only(), user_only.contains(&slug), "{slug}");
        assert_eq!(
            set.honours_env_categories(),
            env_capable.contains(&slug),
            "{slug}"
        );
    }
    assert_eq!(
        user_only.into_iter().collect::<Vec<_>>(),
        ["fusion_admin"],
        "the reference names fusion_admin as the only user-only set"
    );
    assert_eq!(
        env_capable.into_iter().collect::<Vec<_>>(),
        [
            "analyst",
            "database_admin",
            "developer",
            "git_admin",
            "team_admin"
        ]
    );
}

#[test]
fn every_set_has_a_distinct_non_empty_label() {
    let mut seen = BTreeSet::new();
    for set in catalog().sets() {
        let label = set.label();
        assert!(!label.trim().is_empty(), "{set} has no label");
        assert!(seen.insert(label), "{set} shares the label {label:?}");
    }
}

#[test]
fn the_reference_catalog_and_its_reserialised_copy_both_validate() {
    assert_eq!(Catalog::validate(FILE), Ok(()));
    let reserialised = serde_json::to_string_pretty(&doc()).unwrap();
    assert_eq!(Catalog::validate(&reserialised), Ok(()));
}

#[test]
fn compile_refuses_a_set_missing_any_one_cell() {
    let d = doc();
    for slug in set_slugs(&d) {
        for (level, res) in all_resources(&d) {
            compile_mutated(&format!("{slug} without {res}"), |d| {
                d["permission_sets"][&slug][level]
                    .as_object_mut()
                    .unwrap()
                    .remove(&res);
            });
        }
    }
}

#[test]
fn compile_refuses_unknown_access_words() {
    for word in ["admin", "Write", "READ", "", "rw", "read,write", "None"] {
        compile_mutated(&format!("jobs = {word:?}"), |d| {
            d["permission_sets"]["job_admin"]["project"]["jobs"] = Value::from(word);
        });
        compile_mutated(&format!("billing = {word:?}"), |d| {
            d["permission_sets"]["billing_admin"]["account"]["billing"] = Value::from(word);
        });
    }
    for not_a_string in [
        Value::Null,
        Value::from(2),
        Value::Bool(true),
        Value::Array(vec![]),
    ] {
        compile_mutated(&format!("jobs = {not_a_string}"), |d| {
            d["permission_sets"]["job_admin"]["project"]["jobs"] = not_a_string;
        });
    }
}

#[test]
fn compile_refuses_unknown_resources_and_cells_at_the_wrong_level() {
    // A cell renamed to an unknown resource (the row keeps its size).
    compile_mutated("unknown project resource", |d| {
        let row = d["permission_sets"]["job_admin"]["project"]
            .as_object_mut()
            .unwrap();
        let v = row.remove("jobs").unwrap();
        row.insert("pipelines".into(), v);
    });
    compile_mutated("unknown account resource", |d| {
        let row = d["permission_sets"]["owner"]["account"]
            .as_object_mut()
            .unwrap();
        let v = row.remove("billing").unwrap();
        row.insert("payroll".into(), v);
    });
    // An account resource in a project row, and the other way round.
    compile_mutated("account resource in a project row", |d| {
        let row = d["permission_sets"]["job_admin"]["project"]
            .as_object_mut()
            .unwrap();
        let v = row.remove("jobs").unwrap();
        row.insert("billing".into(), v);
    });
    compile_mutated("project resource in an account row", |d| {
        let row = d["permission_sets"]["job_admin"]["account"]
            .as_object_mut()
            .unwrap();
        let v = row.remove("billing").unwrap();
        row.insert("jobs".into(), v);
    });
    // An extra cell.
    compile_mutated("extra cell", |d| {
        d["permission_sets"]["job_admin"]["project"]["pipelines"] = Value::from("read");
    });
    // A resource without a label, and the resources the rules name.
    compile_mutated("resource without label", |d| {
        d["resource_labels"].as_object_mut().unwrap().remove("jobs");
    });
    for needed in ["jobs", "runs", "service_tokens", "connections"] {
        compile_mutated(&format!("no {needed} resource"), |d| {
            for level in ["account", "project"] {
                d["resources"][level]
                    .as_array_mut()
                    .unwrap()
                    .retain(|r| r != needed);
                for (_, set) in d["permission_sets"].as_object_mut().unwrap() {
                    set[level].as_object_mut().unwrap().remove(needed);
                }
            }
        });
    }
}

#[test]
fn compile_refuses_plans_naming_unknown_sets_and_unknown_or_missing_plans() {
    for plan in ["developer", "team", "enterprise"] {
        compile_mutated(&format!("{plan} names an unknown set"), |d| {
            d["plans"][plan]
                .as_array_mut()
                .unwrap()
                .push(Value::from("superuser"));
        });
        compile_mutated(&format!("{plan} missing"), |d| {
            d["plans"].as_object_mut().unwrap().remove(plan);
        });
    }
    compile_mutated("unknown plan", |d| {
        d["plans"]["platinum"] = Value::Array(vec![Value::from("job_admin")]);
    });
    compile_mutated("user_only_sets names an unknown set", |d| {
        d["user_only_sets"]
            .as_array_mut()
            .unwrap()
            .push(Value::from("superuser"));
    });
    compile_mutated("environment_write_capable_sets names an unknown set", |d| {
        d["environment_write_capable_sets"]
            .as_array_mut()
            .unwrap()
            .push(Value::from("superuser"));
    });
    compile_mutated("a set the label table does not know", |d| {
        let sets = d["permission_sets"].as_object_mut().unwrap();
        let row = sets["job_admin"].clone();
        sets.insert("job_creator".into(), row);
    });
}

#[test]
fn compile_refuses_invalid_json_and_wrong_shapes() {
    for bad in [
        "",
        " ",
        "{",
        "}",
        "[]",
        "null",
        "42",
        "\"catalog\"",
        "{}",
        "{\"resources\": []}",
    ] {
        compile_must_fail(&format!("{bad:?}"), bad);
    }
    // Every truncation of the file (sampled every 97 bytes) is invalid JSON.
    let mut cut = 0;
    while cut < FILE.len() {
        if FILE.is_char_boundary(cut) {
            compile_must_fail(&format!("truncated at {cut}"), &FILE[..cut]);
        }
        cut += 97;
    }
    compile_must_fail("trailing garbage", &format!("{FILE},"));
    compile_mutated("permission_sets as an array", |d| {
        d["permission_sets"] = Value::Array(vec![]);
    });
    compile_mutated("a row as an array", |d| {
        d["permission_sets"]["job_admin"]["project"] = Value::Array(vec![]);
    });
    compile_mutated("plans as a string", |d| {
        d["plans"] = Value::from("enterprise");
    });
}
