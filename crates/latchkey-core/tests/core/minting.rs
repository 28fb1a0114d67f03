//! Who may mint which token: the minter rules, and the escalation rule (a new token never holds a
//! permission, on any scope or environment category, that its creator lacks).

use crate::common::*;
use latchkey_core::principal::owner_set;
use latchkey_core::{
    check_may_mint_personal_token, check_may_mint_service_token, decide, Access,
    EffectivePermissions, EnvCategories, EnvCategory, Error, Grant, Level, License, Minter,
    Permission, Plan, ProjectId, Scope, ScopeBits, UserAccess, UserId,
};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

const P7: ProjectId = ProjectId(7);
const ENVS: [Option<EnvCategory>; 5] = [
    None,
    Some(EnvCategory::Development),
    Some(EnvCategory::Staging),
    Some(EnvCategory::Production),
    Some(EnvCategory::Other),
];

fn token(texts: &[&str]) -> EffectivePermissions {
    EffectivePermissions::for_service_token(&grants(texts), Plan::Enterprise)
}

fn mint(
    minter: &EffectivePermissions,
    plan: Plan,
    new: &[Grant],
) -> Result<EffectivePermissions, Error> {
    check_may_mint_service_token(Minter::ServiceToken { perms: minter }, plan, new)
}

fn mint_texts(minter: &EffectivePermissions, new: &[&str]) -> Result<EffectivePermissions, Error> {
    mint(minter, Plan::Enterprise, &grants(new))
}

fn escalation_scope(result: Result<EffectivePermissions, Error>) -> (Permission, String) {
    match result {
        Err(Error::Escalation { permission, scope }) => (permission, scope),
        other => panic!("expected an escalation, got {other:?}"),
    }
}

fn is_may_not_mint(result: &Result<EffectivePermissions, Error>) -> bool {
    matches!(result, Err(Error::MayNotMint(_)))
}

/// Sets a plan offers tokens, per the file.
fn token_sets_on(plan: Plan) -> Vec<&'static str> {
    set_slugs()
        .into_iter()
        .filter(|s| plan_lists(plan.as_str(), s) && !is_user_only(s))
        .collect()
}

fn bits_of(res: &str) -> u64 {
    let r = resource(res);
    Permission::new(r, Access::Read).bit() | Permission::new(r, Access::Write).bit()
}

fn write_bit(res: &str) -> u64 {
    Permission::new(resource(res), Access::Write).bit()
}

#[test]
fn the_operator_may_mint_anything_the_plan_offers() {
    for plan in Plan::ALL {
        for slug in set_slugs() {
            for scope in [Scope::AllProjects, Scope::Project(P7)] {
                let envs = if is_env_capable(slug) {
                    EnvCategories::ALL
                } else {
                    EnvCategories::NONE
                };
                let g = [Grant::new(set(slug), scope).with_writable_envs(envs)];
                let got = check_may_mint_service_token(Minter::Operator, plan, &g);
                if is_user_only(slug) {
                    assert_eq!(got, Err(Error::UserOnlySet(slug.into())), "{plan} {slug}");
                } else if plan_lists(plan.as_str(), slug) {
                    assert_eq!(
                        got,
                        Ok(EffectivePermissions::for_service_token(&g, plan)),
                        "{plan} {slug}"
                    );
                } else {
                    assert!(
                        matches!(got, Err(Error::SetNotOnPlan { .. })),
                        "{plan} {slug}"
                    );
                }
            }
        }
    }
    // A token with no grants is valid and holds nothing (dbt Cloud's clients add grants after).
    let empty = check_may_mint_service_token(Minter::Operator, Plan::Enterprise, &[]).unwrap();
    assert!(empty.is_empty());
}

#[test]
fn a_personal_access_token_never_mints_service_tokens() {
    for plan in Plan::ALL {
        for slug in token_sets_on(plan) {
            let got = check_may_mint_service_token(
                Minter::PersonalToken {
                    perms: &EffectivePermissions::for_service_token(
                        &[Grant::new(set("account_admin"), Scope::AllProjects)],
                        Plan::Enterprise,
                    ),
                },
                plan,
                &[Grant::new(set(slug), Scope::AllProjects)],
            );
            assert!(is_may_not_mint(&got), "{plan} {slug}: {got:?}");
            assert!(got
                .unwrap_err()
                .to_string()
                .contains("personal access token"));
        }
    }
}

#[test]
fn users_with_a_read_only_or_it_license_may_not_mint_service_tokens() {
    let strongest = token(&["account_admin:all"]);
    for license in [License::ReadOnly, License::It] {
        let own = UserAccess {
            license,
            group_grants: grants(&["account_admin:all"]),
        }
        .permissions(Plan::Enterprise);
        for perms in [&strongest, &own] {
            let minter = Minter::User {
                id: UserId(1),
                license,
                perms,
            };
            let got = check_may_mint_service_token(
                minter,
                Plan::Enterprise,
                &grants(&["job_viewer:all"]),
            );
            assert!(is_may_not_mint(&got), "{license}: {got:?}");
        }
    }
    // The same permissions with a developer license may.
    let minter = Minter::User {
        id: UserId(1),
        license: License::Developer,
        perms: &strongest,
    };
    assert!(
        check_may_mint_service_token(minter, Plan::Enterprise, &grants(&["job_viewer:all"]))
            .is_ok()
    );
}

#[test]
fn a_minter_without_service_tokens_write_is_refused() {
    let mut refused = 0;
    for plan in [Plan::Enterprise, Plan::Team] {
        for slug in token_sets_on(plan) {
            if cell(slug, "service_tokens") == "write" {
                continue;
            }
            let perms = EffectivePermissions::for_service_token(
                &[Grant::new(set(slug), Scope::AllProjects)],
                plan,
            );
            // Even minting a copy of itself, or the weakest set.
            for new in [slug, "semantic_layer_only"] {
                let g = [Grant::new(set(new), Scope::AllProjects)];
                let as_token = mint(&perms, plan, &g);
                assert!(
                    is_may_not_mint(&as_token),
                    "{plan} {slug} → {new}: {as_token:?}"
                );
                let as_user = check_may_mint_service_token(
                    Minter::User {
                        id: UserId(2),
                        license: License::Developer,
                        perms: &perms,
                    },
                    plan,
                    &g,
                );
                assert!(
                    is_may_not_mint(&as_user),
                    "{plan} {slug} → {new}: {as_user:?}"
                );
                refused += 1;
            }
        }
    }
    assert!(refused > 40);
    // Read on service tokens is not enough.
    assert_eq!(cell("security_admin", "service_tokens"), "read");
    let got = mint_texts(&token(&["security_admin:all"]), &["metadata_only:all"]);
    assert!(is_may_not_mint(&got), "{got:?}");
}

#[test]
fn only_account_admin_and_owner_write_service_tokens() {
    let writers: Vec<&str> = set_slugs()
        .into_iter()
        .filter(|s| cell(s, "service_tokens") == "write")
        .collect();
    assert_eq!(writers, ["account_admin", "owner"]);
}

#[test]
fn an_account_admin_token_on_all_projects_may_mint_job_admin() {
    let admin = token(&["account_admin:all"]);
    for new in [
        "job_admin:all",
        "job_admin:project=7",
        "job_admin:project=8",
    ] {
        let got = mint_texts(&admin, &[new]).unwrap_or_else(|e| panic!("{new}: {e}"));
        assert_eq!(got, token(&[new]));
    }
}

#[test]
fn an_account_admin_on_project_7_mints_job_admin_on_project_7_only() {
    let minter = token(&["account_admin:project=7"]);
    assert!(decide(&minter, perm("service_tokens:write"), None, None).is_allowed());
    assert!(mint_texts(&minter, &["job_admin:project=7"]).is_ok());

    let (p, scope) = escalation_scope(mint_texts(&minter, &["job_admin:all"]));
    assert_eq!(scope, " on all projects");
    assert_eq!(p.resource.level(), Level::Project);
    assert!(covers(cell("job_admin", p.resource.slug()), p.access));

    let err = mint_texts(&minter, &["job_admin:project=8"]).unwrap_err();
    let text = err.to_string();
    let (p, scope) = escalation_scope(Err(err));
    assert_eq!(scope, " on project 8");
    assert_eq!(
        text,
        format!("this would give {p} on project 8, which you do not hold yourself; nobody gives more than they hold")
    );
    // Both together are refused too, and so is a project grant listed after an allowed one.
    assert!(mint_texts(&minter, &["job_admin:project=7", "job_admin:project=8"]).is_err());
    // Account-level sets are fine wherever the minter's grant is scoped.
    assert!(mint_texts(&minter, &["billing_admin:all"]).is_ok());
}

#[test]
fn a_developer_on_development_cannot_mint_a_developer_on_production() {
    // account_admin on an unrelated project supplies service_tokens:write and the account bits.
    let minter = token(&[
        "account_admin:project=99",
        "developer:project=7:envs=development",
    ]);
    assert!(mint_texts(&minter, &["developer:project=7:envs=development"]).is_ok());
    assert!(mint_texts(&minter, &["developer:project=7"]).is_ok());
    let (p, scope) = escalation_scope(mint_texts(
        &minter,
        &["developer:project=7:envs=production"],
    ));
    assert_eq!((p, scope.as_str()), (perm("jobs:write"), " on project 7"));
    assert!(mint_texts(
        &minter,
        &["developer:project=7:envs=development,production"]
    )
    .is_err());
    assert!(mint_texts(&minter, &["developer:project=7:envs=all"]).is_err());
    assert!(mint_texts(&minter, &["developer:project=8:envs=development"]).is_err());
    assert!(mint_texts(&minter, &["developer:all"]).is_err());
    // A job_admin writes jobs in every environment, which the minter cannot.
    let (p, _) = escalation_scope(mint_texts(&minter, &["job_admin:project=7"]));
    assert_eq!(p.resource.level(), Level::Project);
}

#[test]
fn an_account_admin_mints_exactly_the_sets_it_covers() {
    let admin = token(&["account_admin:all"]);
    let admin_user = UserAccess {
        license: License::Developer,
        group_grants: grants(&["account_admin:all"]),
    }
    .permissions(Plan::Enterprise);
    let mut refused = Vec::new();
    for slug in token_sets_on(Plan::Enterprise) {
        let want = file_subset(slug, "account_admin");
        if !want {
            refused.push(slug);
        }
        let envs = if is_env_capable(slug) {
            EnvCategories::ALL
        } else {
            EnvCategories::NONE
        };
        for scope in [Scope::AllProjects, Scope::Project(P7)] {
            for envs in [EnvCategories::NONE, envs] {
                let g = [Grant::new(set(slug), scope).with_writable_envs(envs)];
                let as_token = mint(&admin, Plan::Enterprise, &g);
                assert_eq!(as_token.is_ok(), want, "{slug} {scope:?}: {as_token:?}");
                let as_user = check_may_mint_service_token(
                    Minter::User {
                        id: UserId(1),
                        license: License::Developer,
                        perms: &admin_user,
                    },
                    Plan::Enterprise,
                    &g,
                );
                assert_eq!(as_user, as_token, "{slug} {scope:?}");
                if let Err(e) = as_token {
                    let (p, _) = escalation_scope(Err(e));
                    assert!(
                        covers(cell(slug, p.resource.slug()), p.access),
                        "{slug} {p}"
                    );
                    assert!(
                        !covers(cell("account_admin", p.resource.slug()), p.access),
                        "{slug} {p}"
                    );
                }
            }
        }
    }
    assert_eq!(refused, ["manage_marketplace_apps"]);
}

#[test]
fn each_plans_owner_mints_exactly_the_token_sets_it_covers() {
    for plan in Plan::ALL {
        let owner = owner_set(plan);
        let perms = UserAccess {
            license: License::Developer,
            group_grants: vec![Grant::new(owner, Scope::AllProjects)],
        }
        .permissions(plan);
        for slug in token_sets_on(plan) {
            let got = check_may_mint_service_token(
                Minter::User {
                    id: UserId(1),
                    license: License::Developer,
                    perms: &perms,
                },
                plan,
                &[Grant::new(set(slug), Scope::AllProjects)],
            );
            assert_eq!(
                got.is_ok(),
                file_subset(slug, owner.slug()),
                "{plan} {slug}: {got:?}"
            );
        }
    }
}

#[test]
fn a_hand_built_minter_with_only_service_tokens_write_mints_nothing_else() {
    let st = bits_of("service_tokens");
    for account in [st, write_bit("service_tokens")] {
        let minter = EffectivePermissions {
            account,
            ..Default::default()
        };
        for plan in Plan::ALL {
            for slug in token_sets_on(plan) {
                for scope in [Scope::AllProjects, Scope::Project(P7)] {
                    let g = [Grant::new(set(slug), scope)];
                    let new = EffectivePermissions::for_service_token(&g, plan);
                    let only_tokens = new.account & !account == 0
                        && new.all_projects == ScopeBits::default()
                        && new.projects.is_empty();
                    let got = mint(&minter, plan, &g);
                    if only_tokens {
                        assert_eq!(got, Ok(new), "{plan} {slug} {scope:?}");
                    } else {
                        assert!(
                            matches!(got, Err(Error::Escalation { .. })),
                            "{plan} {slug} {scope:?}: {got:?}"
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn a_hand_built_minter_with_env_bits_but_no_base_bits_cannot_mint_environment_free_writes() {
    // jobs:write in every category is still not jobs:write with no category named.
    let jobs = write_bit("jobs") | Permission::new(resource("jobs"), Access::Read).bit();
    let mut minter = EffectivePermissions {
        account: bits_of("service_tokens"),
        ..Default::default()
    };
    minter.all_projects.base = Permission::new(resource("jobs"), Access::Read).bit();
    minter.all_projects.env = [jobs; 4];
    let mut new = EffectivePermissions::default();
    new.all_projects.base = jobs;
    assert_eq!(
        minter.first_not_covered(&new),
        Some((perm("jobs:write"), Some(Scope::AllProjects)))
    );
    new.all_projects.base = Permission::new(resource("jobs"), Access::Read).bit();
    new.all_projects.env = [jobs, 0, jobs, 0];
    assert_eq!(minter.first_not_covered(&new), None);
    new.projects = vec![(ProjectId(3), new.all_projects)].into_boxed_slice();
    assert_eq!(minter.first_not_covered(&new), None);
    new.projects = vec![(
        ProjectId(3),
        ScopeBits {
            base: jobs,
            env: [0; 4],
        },
    )]
    .into_boxed_slice();
    assert_eq!(
        minter.first_not_covered(&new),
        Some((perm("jobs:write"), Some(Scope::Project(ProjectId(3)))))
    );
}

// --- property: minting succeeds exactly when no decision the new token would win is one its
// --- minter would lose.

fn account_mask() -> u64 {
    Permission::all()
        .filter(|p| p.resource.level() == Level::Account)
        .fold(0, |m, p| m | p.bit())
}

fn project_mask() -> u64 {
    Permission::all()
        .filter(|p| p.resource.level() == Level::Project)
        .fold(0, |m, p| m | p.bit())
}

fn random_bits(rng: &mut StdRng, mask: u64, density: f64) -> u64 {
    (0..64)
        .filter(|i| mask & (1 << i) != 0 && rng.gen_bool(density))
        .fold(0, |b, i| b | (1 << i))
}

fn random_scope_bits(rng: &mut StdRng, density: f64) -> ScopeBits {
    let pm = project_mask();
    let env_mask = write_bit("jobs") | write_bit("runs");
    let mut env = [0; 4];
    for e in &mut env {
        *e = random_bits(rng, env_mask, density);
    }
    ScopeBits {
        base: random_bits(rng, pm, density),
        env,
    }
}

const PROJECTS: [i64; 4] = [1, 2, 3, 4];

fn random_grant(rng: &mut StdRng) -> Grant {
    let sets = token_sets_on(Plan::Enterprise);
    let slug = sets.choose(rng).unwrap();
    let scope = if rng.gen_bool(0.3) {
        Scope::AllProjects
    } else {
        Scope::Project(ProjectId(*PROJECTS.choose(rng).unwrap()))
    };
    let g = Grant::new(set(slug), scope);
    if is_env_capable(slug) {
        g.with_writable_envs(EnvCategories::from_bits(rng.gen()))
    } else {
        g
    }
}

fn random_minter(rng: &mut StdRng) -> EffectivePermissions {
    if rng.gen_bool(0.5) {
        // Compiled from grants, plus account_admin somewhere for service_tokens:write.
        let n = rng.gen_range(0..4);
        let mut gs: Vec<Grant> = (0..n).map(|_| random_grant(rng)).collect();
        let where_ = if rng.gen_bool(0.3) {
            Scope::AllProjects
        } else {
            Scope::Project(ProjectId(*PROJECTS.choose(rng).unwrap()))
        };
        gs.push(Grant::new(set("account_admin"), where_));
        EffectivePermissions::for_service_token(&gs, Plan::Enterprise)
    } else {
        // Hand-built bitsets: dense enough to cover a set now and then.
        let density = *[0.5, 0.9, 0.97, 1.0].choose(rng).unwrap();
        let account = random_bits(rng, account_mask(), density) | bits_of("service_tokens");
        let all_projects = random_scope_bits(rng, density);
        let mut projects: Vec<(ProjectId, ScopeBits)> = Vec::new();
        for p in PROJECTS {
            if rng.gen_bool(0.5) {
                projects.push((ProjectId(p), random_scope_bits(rng, density)));
            }
        }
        projects.sort_by_key(|(p, _)| *p);
        EffectivePermissions {
            account,
            all_projects,
            projects: projects.into_boxed_slice(),
        }
    }
}

/// Every (permission, project asked, environment) the new token wins and the minter loses.
fn escalations(
    minter: &EffectivePermissions,
    new: &EffectivePermissions,
) -> Vec<(Permission, Option<ProjectId>, Option<EnvCategory>)> {
    let mut asked: Vec<Option<ProjectId>> = vec![None, Some(ProjectId(999))];
    asked.extend(PROJECTS.iter().map(|p| Some(ProjectId(*p))));
    let mut out = Vec::new();
    for p in Permission::all() {
        for project in &asked {
            for env in ENVS {
                if decide(new, p, *project, env).is_allowed()
                    && !decide(minter, p, *project, env).is_allowed()
                {
                    out.push((p, *project, env));
                }
            }
        }
    }
    out
}

fn check_escalation_rule(seed: u64) -> (usize, usize) {
    let mut rng = StdRng::seed_from_u64(seed);
    let (mut ok, mut refused) = (0, 0);
    for _ in 0..300 {
        let minter = random_minter(&mut rng);
        let n = rng.gen_range(1..=3);
        let gs: Vec<Grant> = (0..n).map(|_| random_grant(&mut rng)).collect();
        let new = EffectivePermissions::for_service_token(&gs, Plan::Enterprise);
        let bad = escalations(&minter, &new);
        let got = mint(&minter, Plan::Enterprise, &gs);
        let ctx = format!("seed {seed}: minter {minter:?} grants {gs:?}");
        match got {
            Ok(perms) => {
                assert!(bad.is_empty(), "{ctx}: minted although {:?}", bad[0]);
                assert_eq!(perms, new, "{ctx}");
                ok += 1;
            }
            Err(Error::Escalation { permission, scope }) => {
                assert!(
                    !bad.is_empty(),
                    "{ctx}: refused {permission}{scope} for nothing"
                );
                // The named permission and scope are a real counterexample.
                let named = bad.iter().any(|(p, project, _)| {
                    *p == permission
                        && match project {
                            _ if scope.is_empty() => p.resource.level() == Level::Account,
                            None => scope == " on all projects",
                            Some(id) => scope == format!(" on project {id}"),
                        }
                });
                assert!(
                    named,
                    "{ctx}: named {permission}{scope}, counterexamples {bad:?}"
                );
                refused += 1;
            }
            Err(e) => panic!("{ctx}: {e:?}"),
        }
    }
    (ok, refused)
}

#[test]
fn minting_succeeds_exactly_when_the_new_token_wins_no_decision_its_minter_loses() {
    let (mut ok, mut refused) = (0, 0);
    let seeds: Vec<u64> = (0..10).chain([os_seed(), os_seed()]).collect();
    for seed in seeds {
        let (o, r) = check_escalation_rule(seed);
        ok += o;
        refused += r;
    }
    // Both outcomes were exercised.
    assert!(ok > 100 && refused > 100, "ok {ok}, refused {refused}");
}

#[test]
fn personal_access_tokens_are_minted_only_by_their_owner_or_the_operator() {
    let owner = UserId(42);
    let admin = token(&["account_admin:all"]);
    assert_eq!(
        check_may_mint_personal_token(Minter::Operator, owner),
        Ok(())
    );
    for license in License::ALL {
        let own = Minter::User {
            id: owner,
            license,
            perms: &admin,
        };
        assert_eq!(
            check_may_mint_personal_token(own, owner),
            Ok(()),
            "{license}"
        );
        let other = Minter::User {
            id: UserId(43),
            license,
            perms: &admin,
        };
        assert!(matches!(
            check_may_mint_personal_token(other, owner),
            Err(Error::MayNotMint(_))
        ));
    }
    for minter in [
        Minter::ServiceToken { perms: &admin },
        Minter::PersonalToken { perms: &admin },
    ] {
        assert!(matches!(
            check_may_mint_personal_token(minter, owner),
            Err(Error::MayNotMint(_))
        ));
    }
}

#[test]
fn a_group_never_gets_more_than_its_grantor_holds() {
    use latchkey_core::{check_may_grant_to_group, Authority};
    let grant = |s: &str| -> Grant { s.parse().unwrap() };
    let security_admin =
        EffectivePermissions::for_service_token(&[grant("security_admin:all")], Plan::Enterprise);
    // A security admin may hand out what it holds (member management) ...
    assert_eq!(
        check_may_grant_to_group(
            Authority::Holder(&security_admin),
            Plan::Enterprise,
            &[grant("security_admin:all")]
        ),
        Ok(())
    );
    // ... but not Account Admin, nor Job Admin on a project.
    for g in ["account_admin:all", "job_admin:project=3"] {
        assert!(
            matches!(
                check_may_grant_to_group(
                    Authority::Holder(&security_admin),
                    Plan::Enterprise,
                    &[grant(g)]
                ),
                Err(latchkey_core::Error::Escalation { .. })
            ),
            "{g}"
        );
    }
    // The operator is bound by the plan only; groups on Enterprise may hold any set.
    assert_eq!(
        check_may_grant_to_group(Authority::Operator, Plan::Enterprise, &[grant("owner:all")]),
        Ok(())
    );
    assert!(check_may_grant_to_group(
        Authority::Operator,
        Plan::Team,
        &[grant("security_admin:all")]
    )
    .is_err());
}
