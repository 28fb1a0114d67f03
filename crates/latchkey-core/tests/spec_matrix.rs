//! The permission matrix, cell by cell: the compiled table against an independent reading of
//! `catalog.json`, and every decision (set × resource × access × scope × project asked) against
//! what the file says.

use latchkey_core::{
    catalog, decide, Access, Decision, EffectivePermissions, Grant, Level, Permission, Plan,
    ProjectId, Resource, Scope,
};
use serde_json::Value;

fn file() -> Value {
    serde_json::from_str(include_str!("../catalog.json")).unwrap()
}

/// The file's access word for (set, resource): "none", "read" or "write".
fn cell<'a>(doc: &'a Value, set: &str, resource: Resource) -> &'a str {
    let level = match resource.level() {
        Level::Account => "account",
        Level::Project => "project",
    };
    doc["permission_sets"][set][level][resource.slug()]
        .as_str()
        .unwrap()
}

fn covers(word: &str, access: Access) -> bool {
    matches!((word, access), ("write", _) | ("read", Access::Read))
}

#[test]
fn every_cell_of_the_catalog_file_matches_the_compiled_table() {
    let doc = file();
    let sets = doc["permission_sets"].as_object().unwrap();
    assert_eq!(sets.len(), 26);
    assert_eq!(catalog().sets().len(), 26);
    let mut cells = 0;
    for (slug, _) in sets {
        let set = catalog()
            .set(slug)
            .unwrap_or_else(|| panic!("{slug} missing from the compiled table"));
        for resource in catalog().resources() {
            let expected = match cell(&doc, slug, resource) {
                "none" => None,
                "read" => Some(Access::Read),
                "write" => Some(Access::Write),
                other => panic!("unexpected access word {other}"),
            };
            assert_eq!(set.access(resource), expected, "{slug} × {resource}");
            cells += 1;
        }
    }
    assert_eq!(cells, 26 * 31);
}

#[test]
fn resources_keep_the_files_levels_and_order() {
    let doc = file();
    let account: Vec<&str> = doc["resources"]["account"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    let project: Vec<&str> = doc["resources"]["project"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!((account.len(), project.len()), (17, 14));
    let compiled: Vec<(&str, Level)> = catalog()
        .resources()
        .map(|r| (r.slug(), r.level()))
        .collect();
    let expected: Vec<(&str, Level)> = account
        .iter()
        .map(|s| (*s, Level::Account))
        .chain(project.iter().map(|s| (*s, Level::Project)))
        .collect();
    assert_eq!(compiled, expected);
}

#[test]
fn plans_offer_exactly_the_files_sets() {
    let doc = file();
    for plan in Plan::ALL {
        let listed: Vec<&str> = doc["plans"][plan.as_str()]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        for set in catalog().sets() {
            assert_eq!(
                catalog().plan_allows(plan, set),
                listed.contains(&set.slug()),
                "{plan} × {set}"
            );
        }
    }
}

#[test]
fn user_only_and_environment_write_sets_match_the_file() {
    let doc = file();
    let list = |key: &str| -> Vec<String> {
        doc[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_owned())
            .collect()
    };
    for set in catalog().sets() {
        assert_eq!(
            set.is_user_only(),
            list("user_only_sets").contains(&set.slug().to_owned()),
            "{set}"
        );
        assert_eq!(
            set.honours_env_categories(),
            list("environment_write_capable_sets").contains(&set.slug().to_owned()),
            "{set}"
        );
        assert!(!set.label().is_empty());
    }
}

#[test]
fn a_broken_catalog_is_refused_not_panicked_on() {
    let good = include_str!("../catalog.json");
    let mut missing_cell = file();
    missing_cell["permission_sets"]["job_admin"]["project"]
        .as_object_mut()
        .unwrap()
        .remove("jobs");
    let mut bad_word = file();
    bad_word["permission_sets"]["job_admin"]["project"]["jobs"] = "admin".into();
    let mut unknown_set_in_plan = file();
    unknown_set_in_plan["plans"]["team"]
        .as_array_mut()
        .unwrap()
        .push("nobody".into());
    for doc in [
        missing_cell.to_string(),
        bad_word.to_string(),
        unknown_set_in_plan.to_string(),
        "{".into(),
        "[]".into(),
    ] {
        assert!(latchkey_core::Catalog::compile(&doc).is_err());
    }
    assert!(latchkey_core::Catalog::compile(good).is_ok());
}

/// What the file says a single grant allows when asked about `asked` (None = all projects).
fn expected(doc: &Value, grant: &Grant, permission: Permission, asked: Option<ProjectId>) -> bool {
    let allowed_by_set = covers(
        cell(doc, grant.set.slug(), permission.resource),
        permission.access,
    );
    match permission.resource.level() {
        Level::Account => allowed_by_set,
        Level::Project => {
            allowed_by_set
                && match (grant.scope, asked) {
                    (Scope::AllProjects, _) => true,
                    (Scope::Project(g), Some(a)) => g == a,
                    (Scope::Project(_), None) => false,
                }
        }
    }
}

#[test]
fn every_decision_matches_the_file_for_every_set_resource_access_and_scope() {
    let doc = file();
    let granted = ProjectId(7);
    let other = ProjectId(8);
    let mut checked = 0;
    for set in catalog().sets().filter(|s| !s.is_user_only()) {
        for scope in [Scope::AllProjects, Scope::Project(granted)] {
            let grant = Grant::new(set, scope);
            let perms = EffectivePermissions::for_service_token(&[grant], Plan::Enterprise);
            let on_plan = catalog().plan_allows(Plan::Enterprise, set);
            for permission in Permission::all() {
                for asked in [Some(granted), Some(other), None] {
                    let want = on_plan && expected(&doc, &grant, permission, asked);
                    let got = decide(&perms, permission, asked, None);
                    assert_eq!(
                        got.is_allowed(),
                        want,
                        "{set} on {scope:?}: {permission} asked on {asked:?}"
                    );
                    if let Decision::Deny(reason) = got {
                        let text = reason.to_string();
                        assert!(text.contains(&permission.to_string()), "{text}");
                        if permission.resource.level() == Level::Project {
                            let place =
                                asked.map_or("all projects".to_owned(), |p| format!("project {p}"));
                            assert!(text.ends_with(&place), "{text}");
                        }
                    }
                    checked += 1;
                }
            }
        }
    }
    assert!(checked > 8_000, "{checked}");
}

#[test]
fn user_only_sets_compile_to_nothing_for_tokens() {
    for set in catalog().sets().filter(|s| s.is_user_only()) {
        let perms = EffectivePermissions::for_service_token(
            &[Grant::new(set, Scope::AllProjects)],
            Plan::Enterprise,
        );
        assert!(perms.is_empty(), "{set}");
    }
}

#[test]
fn a_project_grant_never_leaks_to_another_project() {
    for set in catalog().sets() {
        let perms = EffectivePermissions::for_service_token(
            &[Grant::new(set, Scope::Project(ProjectId(1)))],
            Plan::Enterprise,
        );
        for permission in Permission::all().filter(|p| p.resource.level() == Level::Project) {
            assert!(
                !decide(&perms, permission, Some(ProjectId(2)), None).is_allowed(),
                "{set} {permission}"
            );
        }
    }
}
