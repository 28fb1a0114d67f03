//! Plan gating of token grants, the downgrade rule, and what each license makes of a user's groups.

use crate::common::*;
use latchkey_core::mint::check_grants;
use latchkey_core::principal::check_license_on_plan;
use latchkey_core::principal::owner_set;
use latchkey_core::{
    catalog, decide, Access, EffectivePermissions, EnvCategories, EnvCategory, Error, Grant,
    License, Permission, Plan, ProjectId, Scope, UserAccess,
};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

const SCOPES: [Scope; 2] = [Scope::AllProjects, Scope::Project(ProjectId(7))];
const ASKED: [Option<ProjectId>; 4] = [
    Some(ProjectId(7)),
    Some(ProjectId(8)),
    Some(ProjectId(12_345)),
    None,
];
const ENVS: [Option<EnvCategory>; 5] = [
    None,
    Some(EnvCategory::Development),
    Some(EnvCategory::Staging),
    Some(EnvCategory::Production),
    Some(EnvCategory::Other),
];

fn every_permission() -> impl Iterator<Item = Permission> {
    Permission::all()
}

/// True if the file says any of `sets` covers the permission (on every project: all-projects
/// grants only).
fn file_allows(sets: &[&str], p: Permission) -> bool {
    sets.iter()
        .any(|s| covers(cell(s, p.resource.slug()), p.access))
}

fn user(license: License, groups: &[&str]) -> UserAccess {
    UserAccess {
        license,
        group_grants: grants(groups),
    }
}

#[test]
fn check_grants_accepts_exactly_the_sets_each_plan_offers() {
    for plan in Plan::ALL {
        for slug in set_slugs() {
            for scope in SCOPES {
                let got = check_grants(plan, &[Grant::new(set(slug), scope)]);
                let want = if is_user_only(slug) {
                    Err(Error::UserOnlySet(slug.to_owned()))
                } else if !plan_lists(plan.as_str(), slug) {
                    Err(Error::SetNotOnPlan {
                        set: slug.to_owned(),
                        plan: plan.as_str().to_owned(),
                    })
                } else {
                    Ok(())
                };
                assert_eq!(got, want, "{plan} {slug} {scope:?}");
            }
        }
    }
}

#[test]
fn refusals_name_the_set_and_the_plan() {
    let err = check_grants(Plan::Team, &grants(&["analyst:all"])).unwrap_err();
    assert_eq!(
        err.to_string(),
        "permission set `analyst` is not available on the team plan"
    );
    let err = check_grants(Plan::Enterprise, &grants(&["fusion_admin:all"])).unwrap_err();
    assert!(err.to_string().contains("fusion_admin"), "{err}");
}

#[test]
fn the_developer_plan_offers_tokens_only_semantic_layer_only() {
    for slug in set_slugs() {
        let ok = check_grants(
            Plan::Developer,
            &[Grant::new(set(slug), Scope::AllProjects)],
        )
        .is_ok();
        assert_eq!(ok, slug == "semantic_layer_only", "{slug}");
    }
}

#[test]
fn fusion_admin_is_refused_as_user_only_on_every_plan_and_in_any_position() {
    let fusion = Grant::new(set("fusion_admin"), Scope::AllProjects);
    for plan in Plan::ALL {
        let fine = Grant::new(set("semantic_layer_only"), Scope::AllProjects);
        for list in [vec![fusion], vec![fine, fusion], vec![fusion, fine]] {
            assert_eq!(
                check_grants(plan, &list),
                Err(Error::UserOnlySet("fusion_admin".into())),
                "{plan}"
            );
        }
        for scope in SCOPES {
            assert_eq!(
                check_grants(plan, &[Grant::new(set("fusion_admin"), scope)]),
                Err(Error::UserOnlySet("fusion_admin".into()))
            );
        }
    }
}

#[test]
fn a_token_with_no_grants_is_valid_on_every_plan() {
    for plan in Plan::ALL {
        assert_eq!(check_grants(plan, &[]), Ok(()), "{plan}");
    }
}

#[test]
fn one_refused_grant_refuses_the_whole_list() {
    let mut rng = StdRng::seed_from_u64(7);
    for plan in Plan::ALL {
        let offered: Vec<Grant> = catalog()
            .plan_sets(plan)
            .filter(|s| !s.is_user_only())
            .map(|s| Grant::new(s, Scope::AllProjects))
            .collect();
        assert_eq!(check_grants(plan, &offered), Ok(()), "{plan}");
        for slug in set_slugs() {
            if plan_lists(plan.as_str(), slug) || is_user_only(slug) {
                continue;
            }
            let mut list = offered.clone();
            let at = rng.gen_range(0..=list.len());
            list.insert(at, Grant::new(set(slug), Scope::Project(ProjectId(3))));
            assert!(
                matches!(check_grants(plan, &list), Err(Error::SetNotOnPlan { ref set, .. }) if set == slug),
                "{plan} {slug} at {at}"
            );
        }
    }
}

#[test]
fn writable_categories_are_refused_on_sets_that_ignore_them() {
    let mut prod = EnvCategories::NONE;
    prod.insert(EnvCategory::Production);
    for slug in set_slugs() {
        if is_user_only(slug) || !plan_lists("enterprise", slug) {
            continue;
        }
        let g = Grant::new(set(slug), Scope::AllProjects).with_writable_envs(prod);
        let got = check_grants(Plan::Enterprise, &[g]);
        if is_env_capable(slug) {
            assert_eq!(got, Ok(()), "{slug}");
        } else {
            assert_eq!(
                got,
                Err(Error::EnvCategoriesNotApplicable(slug.to_owned())),
                "{slug}"
            );
        }
    }
}

#[test]
fn service_tokens_keep_only_the_sets_their_plan_offers() {
    for plan in Plan::ALL {
        for slug in set_slugs() {
            for scope in SCOPES {
                let g = [Grant::new(set(slug), scope)];
                let got = EffectivePermissions::for_service_token(&g, plan);
                if is_user_only(slug) || !plan_lists(plan.as_str(), slug) {
                    assert!(got.is_empty(), "{plan} {slug}");
                } else {
                    assert_eq!(
                        got,
                        EffectivePermissions::compile(&g, |_| true),
                        "{plan} {slug}"
                    );
                    assert!(!got.is_empty(), "{plan} {slug}");
                }
            }
        }
    }
}

#[test]
fn an_account_admin_token_holds_nothing_after_a_downgrade_to_the_developer_plan() {
    let admin = grants(&["account_admin:all"]);
    assert!(EffectivePermissions::for_service_token(&admin, Plan::Developer).is_empty());
    let both = grants(&["account_admin:all", "semantic_layer_only:all"]);
    let developer = EffectivePermissions::for_service_token(&both, Plan::Developer);
    assert_eq!(
        developer,
        EffectivePermissions::for_service_token(
            &grants(&["semantic_layer_only:all"]),
            Plan::Developer
        )
    );
    let team = EffectivePermissions::for_service_token(&both, Plan::Team);
    assert!(decide(&team, perm("service_tokens:write"), None, None).is_allowed());
    assert!(!decide(&developer, perm("service_tokens:write"), None, None).is_allowed());
    assert!(decide(
        &developer,
        perm("semantic_layer_config:write"),
        Some(ProjectId(1)),
        None
    )
    .is_allowed());
}

/// A Developer-licensed user in one group holding `slug` on all projects gets what the file says
/// when the plan offers the set (or it is the plan's owner set), and nothing otherwise.
#[test]
fn a_developer_license_takes_each_group_set_the_plan_offers() {
    for plan in Plan::ALL {
        for slug in set_slugs() {
            let perms = user(License::Developer, &[&format!("{slug}:all")]).permissions(plan);
            // Groups: the plan's list and its owner set; on Enterprise, any set.
            let held = plan == Plan::Enterprise
                || plan_lists(plan.as_str(), slug)
                || set(slug) == owner_set(plan);
            for p in every_permission() {
                for asked in ASKED {
                    assert_eq!(
                        decide(&perms, p, asked, None).is_allowed(),
                        held && file_allows(&[slug], p),
                        "{plan} {slug} {p} {asked:?}"
                    );
                }
            }
        }
    }
}

#[test]
fn users_may_hold_fusion_admin_where_the_plan_offers_it() {
    let u = user(License::Developer, &["fusion_admin:project=7"]);
    let enterprise = u.permissions(Plan::Enterprise);
    assert!(decide(
        &enterprise,
        perm("fusion_upgrade:write"),
        Some(ProjectId(7)),
        None
    )
    .is_allowed());
    assert!(!decide(
        &enterprise,
        perm("fusion_upgrade:write"),
        Some(ProjectId(8)),
        None
    )
    .is_allowed());
    assert!(u.permissions(Plan::Team).is_empty());
}

#[test]
fn the_owner_group_keeps_the_owner_set_on_every_plan() {
    for plan in Plan::ALL {
        let owner = owner_set(plan);
        let u = UserAccess {
            license: License::Developer,
            group_grants: vec![Grant::new(owner, Scope::AllProjects)],
        };
        let perms = u.permissions(plan);
        assert!(
            decide(&perms, perm("service_tokens:write"), None, None).is_allowed(),
            "{plan}"
        );
        assert!(
            decide(&perms, perm("jobs:write"), Some(ProjectId(3)), None).is_allowed(),
            "{plan}"
        );
    }
    assert_eq!(owner_set(Plan::Enterprise).slug(), "account_admin");
    assert_eq!(owner_set(Plan::Team).slug(), "owner");
}

#[test]
fn a_developer_license_unions_its_groups() {
    let perms = user(
        License::Developer,
        &["job_viewer:all", "job_admin:project=7"],
    )
    .permissions(Plan::Enterprise);
    assert!(decide(&perms, perm("jobs:write"), Some(ProjectId(7)), None).is_allowed());
    assert!(!decide(&perms, perm("jobs:write"), Some(ProjectId(8)), None).is_allowed());
    for asked in ASKED {
        assert!(decide(&perms, perm("jobs:read"), asked, None).is_allowed());
    }
    // A set the plan does not offer adds nothing to the union.
    let team = user(
        License::Developer,
        &["job_admin:project=7", "analyst:all:envs=all"],
    )
    .permissions(Plan::Team);
    assert_eq!(
        team,
        user(License::Developer, &["job_admin:project=7"]).permissions(Plan::Team)
    );
}

#[test]
fn random_group_unions_match_the_catalog_file() {
    let seeds: Vec<u64> = (0..6).chain([os_seed(), os_seed()]).collect();
    for seed in seeds {
        let mut rng = StdRng::seed_from_u64(seed);
        for _ in 0..40 {
            let plan = *Plan::ALL.choose(&mut rng).unwrap();
            let n = rng.gen_range(0..5);
            let picked: Vec<&str> = (0..n)
                .map(|_| *set_slugs().choose(&mut rng).unwrap())
                .collect();
            let texts: Vec<String> = picked.iter().map(|s| format!("{s}:all")).collect();
            let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
            let perms = user(License::Developer, &refs).permissions(plan);
            let held: Vec<&str> = picked
                .iter()
                .copied()
                .filter(|s| {
                    plan == Plan::Enterprise
                        || plan_lists(plan.as_str(), s)
                        || set(s) == owner_set(plan)
                })
                .collect();
            for p in every_permission() {
                assert_eq!(
                    decide(&perms, p, Some(ProjectId(4)), None).is_allowed(),
                    file_allows(&held, p),
                    "seed {seed}: {plan} {picked:?} {p}"
                );
            }
        }
    }
}

#[test]
fn a_read_only_user_in_an_account_admin_group_cannot_write_anything() {
    for plan in Plan::ALL {
        let perms = user(
            License::ReadOnly,
            &[
                "account_admin:all",
                "owner:all",
                "developer:all:envs=all",
                "job_admin:project=7",
            ],
        )
        .permissions(plan);
        for p in every_permission().filter(|p| p.access == Access::Write) {
            for asked in ASKED {
                for env in ENVS {
                    assert!(
                        !decide(&perms, p, asked, env).is_allowed(),
                        "{plan}: read-only user may {p} on {asked:?} in {env:?}"
                    );
                }
            }
        }
        if plan == Plan::Developer {
            // The Developer plan offers no Read-only seat: it reads nothing either.
            assert!(perms.is_empty());
            continue;
        }
        for asked in ASKED {
            assert!(
                decide(&perms, perm("jobs:read"), asked, None).is_allowed(),
                "{plan} {asked:?}"
            );
            assert!(
                decide(&perms, perm("runs:read"), asked, None).is_allowed(),
                "{plan} {asked:?}"
            );
        }
    }
}

#[test]
fn a_read_only_license_ignores_groups_and_reads_what_readonly_reads() {
    let group_sets: Vec<Vec<&str>> = vec![
        vec![],
        vec!["account_admin:all"],
        vec!["job_viewer:project=2"],
        vec!["security_admin:all", "billing_admin:all"],
    ];
    for plan in Plan::ALL {
        let reference = user(License::ReadOnly, &[]).permissions(plan);
        for groups in &group_sets {
            let perms = user(License::ReadOnly, groups).permissions(plan);
            assert_eq!(perms, reference, "{plan} {groups:?}");
        }
        let offered = check_license_on_plan(plan, License::ReadOnly).is_ok();
        assert_eq!(offered, plan != Plan::Developer, "{plan}");
        for p in every_permission() {
            for asked in ASKED {
                assert_eq!(
                    decide(&reference, p, asked, None).is_allowed(),
                    offered && file_allows(&["readonly"], p),
                    "{plan} {p} {asked:?}"
                );
            }
        }
    }
}

#[test]
fn a_license_is_offered_only_where_the_plan_offers_the_sets_it_carries() {
    for plan in Plan::ALL {
        assert_eq!(
            check_license_on_plan(plan, License::Developer),
            Ok(()),
            "{plan}"
        );
        assert_eq!(
            check_license_on_plan(plan, License::It).is_ok(),
            plan == Plan::Enterprise,
            "IT carries Security Admin, an Enterprise set: {plan}"
        );
    }
}

#[test]
fn an_it_license_is_security_admin_and_billing_admin_and_connections_write_whatever_the_groups() {
    for plan in Plan::ALL {
        let reference = user(License::It, &[]).permissions(plan);
        for groups in [
            vec![],
            vec!["account_admin:all"],
            vec!["job_admin:all", "developer:project=3:envs=all"],
        ] {
            assert_eq!(
                user(License::It, &groups).permissions(plan),
                reference,
                "{plan}"
            );
        }
        if plan != Plan::Enterprise {
            // The plan does not offer the license: a seat left over from a downgrade holds
            // nothing until the account is Enterprise again.
            assert!(reference.is_empty(), "{plan}");
            continue;
        }
        for p in every_permission() {
            let want = file_allows(&["security_admin", "billing_admin"], p)
                || p.resource.slug() == "connections";
            for asked in ASKED {
                assert_eq!(
                    decide(&reference, p, asked, None).is_allowed(),
                    want,
                    "{plan} {p} {asked:?}"
                );
            }
        }
        assert!(decide(&reference, perm("connections:write"), None, None).is_allowed());
        assert!(!decide(&reference, perm("service_tokens:write"), None, None).is_allowed());
        assert!(!decide(&reference, perm("jobs:read"), Some(ProjectId(7)), None).is_allowed());
    }
}

/// The reference (dbt-cloud.md §a): on Enterprise "any permission set, for groups and service
/// tokens", and the Enterprise Member default group holds the `member` set. The catalog's
/// `plans.enterprise` list (which `UserAccess::permissions` uses to gate group grants) leaves out
/// `member` and `owner`, so an Enterprise user in the Member group gets nothing from it.
#[test]
fn an_enterprise_member_group_gives_the_member_set() {
    let perms = user(License::Developer, &["member:all"]).permissions(Plan::Enterprise);
    assert!(decide(&perms, perm("jobs:write"), Some(ProjectId(1)), None).is_allowed());
}
