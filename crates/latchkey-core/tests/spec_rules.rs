//! The rules around the matrix: plan gating, license caps, environment categories, who may mint,
//! and that no principal can mint a token stronger than itself.

use latchkey_core::mint::check_grants;
use latchkey_core::{
    catalog, check_may_mint_personal_token, check_may_mint_service_token, decide,
    EffectivePermissions, EnvCategories, EnvCategory, Error, Grant, License, Minter, Permission,
    Plan, ProjectId, Scope, UserAccess, UserId,
};

fn g(spec: &str) -> Grant {
    spec.parse().unwrap()
}

fn p(spec: &str) -> Permission {
    spec.parse().unwrap()
}

fn token(grants: &[&str]) -> EffectivePermissions {
    let grants: Vec<Grant> = grants.iter().map(|s| g(s)).collect();
    EffectivePermissions::for_service_token(&grants, Plan::Enterprise)
}

#[test]
fn each_plan_accepts_exactly_its_sets_for_tokens() {
    for plan in Plan::ALL {
        for set in catalog().sets() {
            let result = check_grants(plan, &[Grant::new(set, Scope::AllProjects)]);
            match result {
                Ok(()) => assert!(
                    catalog().plan_allows(plan, set) && !set.is_user_only(),
                    "{plan} {set}"
                ),
                Err(Error::UserOnlySet(_)) => assert!(set.is_user_only()),
                Err(Error::SetNotOnPlan { .. }) => assert!(!catalog().plan_allows(plan, set)),
                Err(e) => panic!("{plan} {set}: {e}"),
            }
        }
    }
    assert_eq!(check_grants(Plan::Enterprise, &[]), Err(Error::NoGrants));
}

#[test]
fn the_developer_plan_offers_tokens_only_semantic_layer_only() {
    let offered: Vec<_> = catalog()
        .plan_sets(Plan::Developer)
        .map(|s| s.slug())
        .collect();
    assert_eq!(offered, ["semantic_layer_only"]);
}

#[test]
fn a_downgrade_takes_effect_at_verification() {
    let grants = [g("account_admin:all"), g("semantic_layer_only:all")];
    let enterprise = EffectivePermissions::for_service_token(&grants, Plan::Enterprise);
    let developer = EffectivePermissions::for_service_token(&grants, Plan::Developer);
    assert!(decide(&enterprise, p("service_tokens:write"), None, None).is_allowed());
    assert!(!decide(&developer, p("service_tokens:write"), None, None).is_allowed());
    assert!(decide(
        &developer,
        p("semantic_layer_config:write"),
        Some(ProjectId(3)),
        None
    )
    .is_allowed());
}

#[test]
fn environment_capable_sets_write_jobs_and_runs_only_in_their_categories() {
    for slug in [
        "analyst",
        "database_admin",
        "developer",
        "git_admin",
        "team_admin",
    ] {
        let grant = g(&format!("{slug}:project=7:envs=production"));
        let perms = EffectivePermissions::for_service_token(&[grant], Plan::Enterprise);
        for perm in ["jobs:write", "runs:write"] {
            let at = |env| decide(&perms, p(perm), Some(ProjectId(7)), env);
            assert!(
                at(Some(EnvCategory::Production)).is_allowed(),
                "{slug} {perm}"
            );
            for denied in [at(Some(EnvCategory::Development)), at(None)] {
                match denied {
                    latchkey_core::Decision::Deny(r) => {
                        assert_eq!(r.code(), "environment_not_writable", "{slug}")
                    }
                    other => panic!("{slug} {perm}: {other:?}"),
                }
            }
            assert!(!decide(
                &perms,
                p(perm),
                Some(ProjectId(8)),
                Some(EnvCategory::Production)
            )
            .is_allowed());
        }
        let all = EffectivePermissions::for_service_token(
            &[g(&format!("{slug}:all:envs=all"))],
            Plan::Enterprise,
        );
        for env in EnvCategory::ALL {
            assert!(
                decide(&all, p("jobs:write"), Some(ProjectId(1)), Some(env)).is_allowed(),
                "{slug} {env:?}"
            );
        }
    }
}

#[test]
fn other_sets_ignore_environment_categories() {
    let admin = token(&["job_admin:project=7"]);
    for env in [
        None,
        Some(EnvCategory::Development),
        Some(EnvCategory::Production),
    ] {
        assert!(decide(&admin, p("jobs:write"), Some(ProjectId(7)), env).is_allowed());
    }
    assert_eq!(
        Grant::new(catalog().set("job_admin").unwrap(), Scope::AllProjects)
            .with_writable_envs(EnvCategories::ALL)
            .validate(),
        Err(Error::EnvCategoriesNotApplicable("job_admin".into()))
    );
}

#[test]
fn grants_union_and_the_most_permissive_wins() {
    let perms = token(&["job_viewer:all", "job_admin:project=7"]);
    assert!(decide(&perms, p("jobs:write"), Some(ProjectId(7)), None).is_allowed());
    assert!(!decide(&perms, p("jobs:write"), Some(ProjectId(8)), None).is_allowed());
    assert!(decide(&perms, p("jobs:read"), Some(ProjectId(8)), None).is_allowed());
}

#[test]
fn a_developer_license_gets_its_groups_on_the_plan() {
    let access = UserAccess {
        license: License::Developer,
        group_grants: vec![g("job_admin:project=7"), g("job_runner:all")],
    };
    let perms = access.permissions(Plan::Enterprise);
    assert!(decide(&perms, p("jobs:write"), Some(ProjectId(7)), None).is_allowed());
    assert!(decide(&perms, p("runs:write"), Some(ProjectId(9)), None).is_allowed());
    // On the team plan job_runner is not offered; job_admin is.
    let team = access.permissions(Plan::Team);
    assert!(!decide(&team, p("runs:write"), Some(ProjectId(9)), None).is_allowed());
    assert!(decide(&team, p("jobs:write"), Some(ProjectId(7)), None).is_allowed());
}

#[test]
fn a_read_only_license_ignores_groups_and_never_writes() {
    let access = UserAccess {
        license: License::ReadOnly,
        group_grants: vec![g("account_admin:all")],
    };
    let perms = access.permissions(Plan::Enterprise);
    for permission in Permission::all().filter(|p| p.access == latchkey_core::Access::Write) {
        assert!(
            !decide(&perms, permission, Some(ProjectId(3)), None).is_allowed(),
            "{permission}"
        );
    }
    assert!(decide(&perms, p("jobs:read"), Some(ProjectId(3)), None).is_allowed());
    assert!(decide(&perms, p("runs:read"), Some(ProjectId(99)), None).is_allowed());
    assert!(!decide(&perms, p("audit_logs:read"), None, None).is_allowed());
}

#[test]
fn an_it_license_is_security_admin_billing_admin_and_connections_write_whatever_the_groups() {
    let access = UserAccess {
        license: License::It,
        group_grants: vec![g("job_admin:all")],
    };
    let perms = access.permissions(Plan::Team);
    let expected = token(&["security_admin:all", "billing_admin:all"]);
    for permission in Permission::all() {
        let want = decide(&expected, permission, Some(ProjectId(1)), None).is_allowed()
            || permission.resource.slug() == "connections";
        assert_eq!(
            decide(&perms, permission, Some(ProjectId(1)), None).is_allowed(),
            want,
            "{permission}"
        );
    }
    assert!(!decide(&perms, p("jobs:write"), Some(ProjectId(1)), None).is_allowed());
}

#[test]
fn only_the_allowed_principals_may_mint_service_tokens() {
    let grants = [g("job_admin:all")];
    assert!(check_may_mint_service_token(Minter::Operator, Plan::Enterprise, &grants).is_ok());
    assert!(matches!(
        check_may_mint_service_token(Minter::PersonalToken, Plan::Enterprise, &grants),
        Err(Error::MayNotMint(_))
    ));
    let admin = token(&["account_admin:all"]);
    assert!(check_may_mint_service_token(
        Minter::ServiceToken { perms: &admin },
        Plan::Enterprise,
        &grants
    )
    .is_ok());
    for license in [License::ReadOnly, License::It] {
        let minter = Minter::User {
            id: UserId(1),
            license,
            perms: &admin,
        };
        assert!(matches!(
            check_may_mint_service_token(minter, Plan::Enterprise, &grants),
            Err(Error::MayNotMint(_))
        ));
    }
    let dev = Minter::User {
        id: UserId(1),
        license: License::Developer,
        perms: &admin,
    };
    assert!(check_may_mint_service_token(dev, Plan::Enterprise, &grants).is_ok());
    // Reading service tokens is not enough.
    let security = token(&["security_admin:all", "job_admin:all"]);
    assert!(matches!(
        check_may_mint_service_token(
            Minter::ServiceToken { perms: &security },
            Plan::Enterprise,
            &grants
        ),
        Err(Error::MayNotMint(_))
    ));
}

#[test]
fn an_account_admin_on_one_project_cannot_mint_beyond_that_project() {
    let minter = token(&["account_admin:project=7"]);
    let mint = |spec: &str| {
        check_may_mint_service_token(
            Minter::ServiceToken { perms: &minter },
            Plan::Enterprise,
            &[g(spec)],
        )
    };
    assert!(mint("job_admin:project=7").is_ok());
    assert!(matches!(
        mint("job_admin:all"),
        Err(Error::Escalation { .. })
    ));
    assert!(matches!(
        mint("job_admin:project=8"),
        Err(Error::Escalation { .. })
    ));
    let msg = mint("job_admin:project=8").unwrap_err().to_string();
    assert!(msg.contains("on project 8"), "{msg}");
    // Account-level sets come with the grant whatever its scope.
    assert!(mint("billing_admin:project=7").is_ok());
}

#[test]
fn a_token_cannot_widen_its_environment_categories() {
    let mut minter = token(&["developer:project=7:envs=development"]);
    minter.account |= Permission::new(
        catalog().resource("service_tokens").unwrap(),
        latchkey_core::Access::Write,
    )
    .bit();
    let mint = |spec: &str| {
        check_may_mint_service_token(
            Minter::ServiceToken { perms: &minter },
            Plan::Enterprise,
            &[g(spec)],
        )
    };
    assert!(mint("developer:project=7:envs=development").is_ok());
    assert!(matches!(
        mint("developer:project=7:envs=production"),
        Err(Error::Escalation { .. })
    ));
    assert!(matches!(
        mint("developer:project=7:envs=all"),
        Err(Error::Escalation { .. })
    ));
}

#[test]
fn an_account_admin_may_mint_a_set_exactly_when_it_holds_everything_the_set_holds() {
    let admin_set = catalog().set("account_admin").unwrap();
    let admin = token(&["account_admin:all"]);
    for set in catalog()
        .plan_sets(Plan::Enterprise)
        .filter(|s| !s.is_user_only())
    {
        let result = check_may_mint_service_token(
            Minter::ServiceToken { perms: &admin },
            Plan::Enterprise,
            &[Grant::new(set, Scope::AllProjects)],
        );
        let subset = set.bits() & !admin_set.bits() == 0;
        assert_eq!(result.is_ok(), subset, "{set}: {result:?}");
    }
}

#[test]
fn a_minter_holding_only_service_tokens_write_can_mint_nothing_else() {
    let only = EffectivePermissions {
        account: Permission::new(
            catalog().resource("service_tokens").unwrap(),
            latchkey_core::Access::Write,
        )
        .bit()
            | Permission::new(
                catalog().resource("service_tokens").unwrap(),
                latchkey_core::Access::Read,
            )
            .bit(),
        ..Default::default()
    };
    for set in catalog()
        .plan_sets(Plan::Enterprise)
        .filter(|s| !s.is_user_only())
    {
        let result = check_may_mint_service_token(
            Minter::ServiceToken { perms: &only },
            Plan::Enterprise,
            &[Grant::new(set, Scope::Project(ProjectId(1)))],
        );
        assert!(
            matches!(result, Err(Error::Escalation { .. })),
            "{set}: {result:?}"
        );
    }
}

#[test]
fn personal_tokens_are_minted_only_by_their_owner_or_the_operator() {
    let perms = token(&["account_admin:all"]);
    let owner = UserId(5);
    assert!(check_may_mint_personal_token(Minter::Operator, owner).is_ok());
    let me = Minter::User {
        id: owner,
        license: License::ReadOnly,
        perms: &perms,
    };
    assert!(check_may_mint_personal_token(me, owner).is_ok());
    let someone = Minter::User {
        id: UserId(6),
        license: License::Developer,
        perms: &perms,
    };
    assert!(check_may_mint_personal_token(someone, owner).is_err());
    assert!(check_may_mint_personal_token(Minter::PersonalToken, owner).is_err());
    assert!(check_may_mint_personal_token(Minter::ServiceToken { perms: &perms }, owner).is_err());
}
