//! `decide` against the catalog file, exhaustively: every set × resource × access × scope × project
//! asked, then environment categories, unions of grants and project isolation.

use crate::common::*;
use latchkey_core::{
    catalog, decide, Access, Decision, DenyReason, EffectivePermissions, EnvCategories,
    EnvCategory, Grant, Permission, Plan, ProjectId, Scope,
};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

const P7: ProjectId = ProjectId(7);
const P8: ProjectId = ProjectId(8);
const SCOPES: [Scope; 2] = [Scope::AllProjects, Scope::Project(P7)];
const ASKED: [Option<ProjectId>; 3] = [Some(P7), Some(P8), None];
const ENVS: [Option<EnvCategory>; 5] = [
    None,
    Some(EnvCategory::Development),
    Some(EnvCategory::Staging),
    Some(EnvCategory::Production),
    Some(EnvCategory::Other),
];

/// A plan whose token list offers the set, per the file: enterprise, else team (owner, member),
/// else developer.
fn plan_for(slug: &str) -> Plan {
    for (name, plan) in [
        ("enterprise", Plan::Enterprise),
        ("team", Plan::Team),
        ("developer", Plan::Developer),
    ] {
        if plan_lists(name, slug) {
            return plan;
        }
    }
    panic!("no plan offers {slug}")
}

/// Sets a token may hold somewhere (every set but the user-only ones).
fn token_sets() -> Vec<&'static str> {
    set_slugs()
        .into_iter()
        .filter(|s| !is_user_only(s))
        .collect()
}

fn token(grants: &[Grant], plan: Plan) -> EffectivePermissions {
    EffectivePermissions::for_service_token(grants, plan)
}

/// What the file says about one check of a single grant with no writable categories.
fn expected(slug: &str, res: &str, access: Access, scope: Scope, asked: Option<ProjectId>) -> bool {
    if !covers(cell(slug, res), access) {
        return false;
    }
    if !is_project_level(res) {
        return true;
    }
    match scope {
        Scope::AllProjects => true,
        Scope::Project(p) => asked == Some(p),
    }
}

fn no_grant_text(res: &str, access: Access, asked: Option<ProjectId>) -> String {
    let base = format!("no grant covers {res}:{}", access.as_str());
    if !is_project_level(res) {
        return base;
    }
    match asked {
        Some(p) => format!("{base} on project {p}"),
        None => format!("{base} on all projects"),
    }
}

fn deny_reason(d: Decision) -> DenyReason {
    match d {
        Decision::Deny(r) => r,
        Decision::Allow => panic!("expected a denial"),
    }
}

#[test]
fn every_set_resource_access_scope_and_project_decides_as_the_catalog_file_says() {
    let mut checks = 0;
    for slug in token_sets() {
        let plan = plan_for(slug);
        for scope in SCOPES {
            let perms = token(&[Grant::new(set(slug), scope)], plan);
            for (res, _) in resources() {
                for access in [Access::Read, Access::Write] {
                    let permission = Permission::new(resource(res), access);
                    for asked in ASKED {
                        let want = expected(slug, res, access, scope, asked);
                        // With no writable categories the environment never matters.
                        for env in ENVS {
                            let got = decide(&perms, permission, asked, env);
                            let ctx = format!(
                                "{slug} granted on {scope:?}, asked {permission} on {asked:?} in {env:?}"
                            );
                            assert_eq!(got.is_allowed(), want, "{ctx}");
                            if !want {
                                let reason = deny_reason(got);
                                let project = if is_project_level(res) { asked } else { None };
                                assert_eq!(
                                    reason,
                                    DenyReason::NoGrant {
                                        permission,
                                        project
                                    },
                                    "{ctx}"
                                );
                                assert_eq!(reason.code(), "no_grant", "{ctx}");
                                assert_eq!(
                                    reason.to_string(),
                                    no_grant_text(res, access, asked),
                                    "{ctx}"
                                );
                            }
                            checks += 1;
                        }
                    }
                }
            }
        }
    }
    assert_eq!(checks, 25 * 2 * 31 * 2 * 3 * 5);
}

#[test]
fn write_implies_read_for_every_set_and_scope() {
    for slug in token_sets() {
        for scope in SCOPES {
            let perms = token(&[Grant::new(set(slug), scope)], plan_for(slug));
            for r in catalog().resources() {
                for asked in ASKED {
                    let write = decide(&perms, Permission::new(r, Access::Write), asked, None);
                    let read = decide(&perms, Permission::new(r, Access::Read), asked, None);
                    if write.is_allowed() {
                        assert!(read.is_allowed(), "{slug} {scope:?} {r} {asked:?}");
                    }
                }
            }
        }
    }
}

#[test]
fn fusion_admin_compiles_to_nothing_for_tokens() {
    let fusion = set("fusion_admin");
    for plan in Plan::ALL {
        for scope in SCOPES {
            for envs in [EnvCategories::NONE, EnvCategories::ALL] {
                let g = Grant::new(fusion, scope).with_writable_envs(envs);
                assert!(token(&[g], plan).is_empty(), "{plan} {scope:?}");
                let viewer = Grant::new(set("job_viewer"), scope);
                assert_eq!(token(&[g, viewer], plan), token(&[viewer], plan));
            }
        }
    }
    let perms = token(&[grant("fusion_admin:all")], Plan::Enterprise);
    for asked in ASKED {
        assert!(!decide(&perms, perm("fusion_upgrade:write"), asked, None).is_allowed());
        assert!(!decide(&perms, perm("fusion_upgrade:read"), asked, None).is_allowed());
    }
}

#[test]
fn deny_reasons_name_the_permission_and_where() {
    let perms = token(&grants(&["job_viewer:project=7"]), Plan::Enterprise);
    let d = decide(&perms, perm("jobs:write"), Some(P8), None);
    assert_eq!(
        d.to_string_reason(),
        "no grant covers jobs:write on project 8"
    );
    let d = decide(&perms, perm("jobs:read"), None, None);
    assert_eq!(
        d.to_string_reason(),
        "no grant covers jobs:read on all projects"
    );
    let d = decide(&perms, perm("jobs:write"), Some(P7), None);
    assert_eq!(
        d.to_string_reason(),
        "no grant covers jobs:write on project 7"
    );
    // Account-level: no project suffix, and the reason carries no project.
    let d = decide(&perms, perm("billing:read"), Some(P8), None);
    assert_eq!(d.to_string_reason(), "no grant covers billing:read");
    assert_eq!(
        deny_reason(d),
        DenyReason::NoGrant {
            permission: perm("billing:read"),
            project: None
        }
    );
    assert!(decide(&perms, perm("jobs:read"), Some(P7), None).is_allowed());
}

trait ReasonText {
    fn to_string_reason(&self) -> String;
}

impl ReasonText for Decision {
    fn to_string_reason(&self) -> String {
        let reason = deny_reason(*self);
        assert_eq!(reason.code(), "no_grant");
        reason.to_string()
    }
}

#[test]
fn job_runner_cannot_edit_environments() {
    let perms = token(&grants(&["job_runner:all"]), Plan::Enterprise);
    assert!(!decide(&perms, perm("environments:write"), Some(P7), None).is_allowed());
    assert!(!decide(&perms, perm("jobs:write"), Some(P7), None).is_allowed());
    assert!(decide(&perms, perm("runs:write"), Some(P7), None).is_allowed());
    assert!(decide(&perms, perm("jobs:read"), Some(P7), None).is_allowed());
}

#[test]
fn environment_capable_sets_write_jobs_and_runs_only_in_their_writable_categories() {
    let mut production = EnvCategories::NONE;
    production.insert(EnvCategory::Production);
    for slug in [
        "analyst",
        "database_admin",
        "developer",
        "git_admin",
        "team_admin",
    ] {
        assert!(is_env_capable(slug));
        for scope in SCOPES {
            let g = Grant::new(set(slug), scope).with_writable_envs(production);
            assert_eq!(g.validate(), Ok(()));
            let perms = token(&[g], Plan::Enterprise);
            let asked = match scope {
                Scope::AllProjects => None,
                Scope::Project(p) => Some(p),
            };
            for res in ["jobs", "runs"] {
                let write = perm(&format!("{res}:write"));
                let read = perm(&format!("{res}:read"));
                assert_eq!(cell(slug, res), "read", "{slug} {res}");
                let ctx = format!("{slug} {scope:?} {write}");
                assert!(
                    decide(&perms, write, Some(P7), Some(EnvCategory::Production)).is_allowed(),
                    "{ctx}"
                );
                assert!(
                    decide(&perms, write, asked, Some(EnvCategory::Production)).is_allowed(),
                    "{ctx}"
                );
                for env in [
                    None,
                    Some(EnvCategory::Development),
                    Some(EnvCategory::Staging),
                    Some(EnvCategory::Other),
                ] {
                    let d = decide(&perms, write, Some(P7), env);
                    let reason = deny_reason(d);
                    assert_eq!(reason.code(), "environment_not_writable", "{ctx} {env:?}");
                    assert_eq!(
                        reason,
                        DenyReason::EnvironmentNotWritable {
                            permission: write,
                            project: Some(P7),
                            environment: env
                        }
                    );
                    let text = reason.to_string();
                    assert!(text.starts_with(&format!("{write} ")), "{text}");
                    assert!(text.ends_with(" on project 7"), "{text}");
                    match env {
                        Some(c) => assert!(text.contains(c.as_str()), "{text}"),
                        None => assert!(text.contains("name the environment category"), "{text}"),
                    }
                }
                // Read holds in every environment.
                for env in ENVS {
                    assert!(decide(&perms, read, Some(P7), env).is_allowed(), "{ctx}");
                }
                // A project grant's categories reach nowhere else: plain no_grant there.
                if scope == Scope::Project(P7) {
                    for env in ENVS {
                        let reason = deny_reason(decide(&perms, write, Some(P8), env));
                        assert_eq!(reason.code(), "no_grant", "{ctx} {env:?}");
                        let reason = deny_reason(decide(&perms, write, None, env));
                        assert_eq!(reason.code(), "no_grant", "{ctx} {env:?}");
                    }
                } else {
                    let reason = deny_reason(decide(&perms, write, None, None));
                    assert_eq!(reason.code(), "environment_not_writable");
                    assert!(reason.to_string().ends_with(" on all projects"));
                }
            }
        }
    }
}

#[test]
fn writable_categories_change_only_jobs_and_runs_write() {
    for slug in token_sets().into_iter().filter(|s| is_env_capable(s)) {
        let plain = token(
            &[Grant::new(set(slug), Scope::AllProjects)],
            Plan::Enterprise,
        );
        let all = token(
            &[Grant::new(set(slug), Scope::AllProjects).with_writable_envs(EnvCategories::ALL)],
            Plan::Enterprise,
        );
        for p in Permission::all() {
            let env_scoped =
                matches!(p.resource.slug(), "jobs" | "runs") && p.access == Access::Write;
            for env in ENVS {
                for asked in ASKED {
                    let a = decide(&plain, p, asked, env).is_allowed();
                    let b = decide(&all, p, asked, env).is_allowed();
                    if env_scoped && env.is_some() {
                        assert!(b, "{slug} {p} {env:?}");
                    } else {
                        assert_eq!(a, b, "{slug} {p} {asked:?} {env:?}");
                    }
                }
            }
        }
    }
}

#[test]
fn job_admin_writes_jobs_whatever_the_environment() {
    assert!(!is_env_capable("job_admin"));
    assert_eq!(cell("job_admin", "jobs"), "write");
    for scope in SCOPES {
        let perms = token(&[Grant::new(set("job_admin"), scope)], Plan::Enterprise);
        for env in ENVS {
            assert!(
                decide(&perms, perm("jobs:write"), Some(P7), env).is_allowed(),
                "{scope:?} {env:?}"
            );
        }
    }
}

#[test]
fn sets_that_ignore_categories_gain_nothing_from_them_even_unvalidated() {
    for slug in token_sets().into_iter().filter(|s| !is_env_capable(s)) {
        let plan = plan_for(slug);
        for scope in SCOPES {
            let bare = Grant::new(set(slug), scope);
            let with = bare.with_writable_envs(EnvCategories::ALL);
            assert!(with.validate().is_err(), "{slug}");
            assert_eq!(
                token(&[with], plan),
                token(&[bare], plan),
                "{slug} {scope:?}"
            );
        }
    }
}

#[test]
fn all_environment_categories_allow_jobs_and_runs_write_in_every_category() {
    for slug in token_sets().into_iter().filter(|s| is_env_capable(s)) {
        for scope in SCOPES {
            let g = Grant::new(set(slug), scope).with_writable_envs(EnvCategories::ALL);
            let perms = token(&[g], Plan::Enterprise);
            for res in ["jobs:write", "runs:write"] {
                for c in EnvCategory::ALL {
                    assert!(
                        decide(&perms, perm(res), Some(P7), Some(c)).is_allowed(),
                        "{slug} {scope:?} {res} {c:?}"
                    );
                }
                // Naming no environment still is not a write "in" one.
                let reason = deny_reason(decide(&perms, perm(res), Some(P7), None));
                assert_eq!(reason.code(), "environment_not_writable");
            }
        }
    }
}

#[test]
fn job_viewer_everywhere_plus_job_admin_on_project_7_writes_jobs_only_on_7() {
    let perms = token(
        &grants(&["job_viewer:all", "job_admin:project=7"]),
        Plan::Enterprise,
    );
    assert!(decide(&perms, perm("jobs:write"), Some(P7), None).is_allowed());
    for asked in [Some(P8), Some(ProjectId(1)), None] {
        let d = decide(&perms, perm("jobs:write"), asked, None);
        assert_eq!(deny_reason(d).code(), "no_grant", "{asked:?}");
    }
    for asked in ASKED {
        assert!(decide(&perms, perm("jobs:read"), asked, None).is_allowed());
    }
}

#[test]
fn project_level_permissions_of_a_project_grant_never_leak_to_another_project() {
    for slug in token_sets() {
        let plan = plan_for(slug);
        let envs = if is_env_capable(slug) {
            EnvCategories::ALL
        } else {
            EnvCategories::NONE
        };
        let on7 = token(
            &[Grant::new(set(slug), Scope::Project(P7)).with_writable_envs(envs)],
            plan,
        );
        let everywhere = token(
            &[Grant::new(set(slug), Scope::AllProjects).with_writable_envs(envs)],
            plan,
        );
        // Account-level bits come with the grant wherever it is scoped.
        assert_eq!(on7.account, everywhere.account, "{slug}");
        assert!(
            on7.all_projects.base == 0 && on7.all_projects.env == [0; 4],
            "{slug}"
        );
        for p in Permission::all().filter(|p| is_project_level(p.resource.slug())) {
            for env in ENVS {
                for asked in [Some(P8), Some(ProjectId(6)), Some(ProjectId(70)), None] {
                    let d = decide(&on7, p, asked, env);
                    assert_eq!(
                        deny_reason(d),
                        DenyReason::NoGrant {
                            permission: p,
                            project: asked
                        },
                        "{slug} {p} {asked:?} {env:?}"
                    );
                }
                assert_eq!(
                    decide(&on7, p, Some(P7), env),
                    decide(&everywhere, p, Some(P7), env),
                    "{slug} {p} {env:?}"
                );
            }
        }
    }
}

/// A random grant among the sets Enterprise offers tokens, on all projects or one of projects
/// 1..=5, with random categories for the sets that honour them.
fn random_grant(rng: &mut StdRng) -> Grant {
    let sets: Vec<_> = catalog()
        .plan_sets(Plan::Enterprise)
        .filter(|s| !s.is_user_only())
        .collect();
    let s = *sets.choose(rng).unwrap();
    let scope = if rng.gen_bool(0.3) {
        Scope::AllProjects
    } else {
        Scope::Project(ProjectId(rng.gen_range(1..=5)))
    };
    let mut g = Grant::new(s, scope);
    if s.honours_env_categories() {
        g = g.with_writable_envs(EnvCategories::from_bits(rng.gen()));
    }
    g
}

fn check_union_is_the_most_permissive(seed: u64) {
    let mut rng = StdRng::seed_from_u64(seed);
    for _ in 0..60 {
        let n = rng.gen_range(1..=5);
        let gs: Vec<Grant> = (0..n).map(|_| random_grant(&mut rng)).collect();
        let union = token(&gs, Plan::Enterprise);
        let singles: Vec<EffectivePermissions> = gs
            .iter()
            .map(|g| token(std::slice::from_ref(g), Plan::Enterprise))
            .collect();
        // Order and duplicates do not matter.
        let mut shuffled = gs.clone();
        shuffled.shuffle(&mut rng);
        shuffled.push(gs[0]);
        assert_eq!(
            token(&shuffled, Plan::Enterprise),
            union,
            "seed {seed}: {gs:?}"
        );
        for p in Permission::all() {
            for asked in [
                None,
                Some(ProjectId(1)),
                Some(ProjectId(3)),
                Some(ProjectId(6)),
            ] {
                for env in ENVS {
                    let got = decide(&union, p, asked, env);
                    let each: Vec<Decision> =
                        singles.iter().map(|s| decide(s, p, asked, env)).collect();
                    let ctx = format!("seed {seed}: {gs:?} {p} {asked:?} {env:?}");
                    assert_eq!(
                        got.is_allowed(),
                        each.iter().any(Decision::is_allowed),
                        "{ctx}"
                    );
                    if let Decision::Deny(reason) = got {
                        let env_denied = each.iter().any(|d| {
                            matches!(d, Decision::Deny(DenyReason::EnvironmentNotWritable { .. }))
                        });
                        assert_eq!(
                            reason.code() == "environment_not_writable",
                            env_denied,
                            "{ctx}"
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn a_union_of_grants_allows_exactly_what_some_grant_allows() {
    for seed in 0..8 {
        check_union_is_the_most_permissive(seed);
    }
    for _ in 0..4 {
        check_union_is_the_most_permissive(os_seed());
    }
}

fn check_many_projects(seed: u64) {
    let mut rng = StdRng::seed_from_u64(seed);
    let slugs = token_sets()
        .into_iter()
        .filter(|s| plan_lists("enterprise", s))
        .collect::<Vec<_>>();
    let n = rng.gen_range(9..40);
    let mut ids: Vec<i64> = (1..200).collect();
    ids.shuffle(&mut rng);
    let ids = &ids[..n];
    let chosen: Vec<(i64, &str)> = ids
        .iter()
        .map(|id| (*id, *slugs.choose(&mut rng).unwrap()))
        .collect();
    let gs: Vec<Grant> = chosen
        .iter()
        .map(|(id, s)| Grant::new(set(s), Scope::Project(ProjectId(*id))))
        .collect();
    let perms = token(&gs, Plan::Enterprise);
    for (res, project_level) in resources() {
        if !project_level {
            continue;
        }
        for access in [Access::Read, Access::Write] {
            let p = Permission::new(resource(res), access);
            for asked in 0..=200 {
                let want = chosen
                    .iter()
                    .any(|(id, s)| *id == asked && covers(cell(s, res), access));
                assert_eq!(
                    decide(&perms, p, Some(ProjectId(asked)), None).is_allowed(),
                    want,
                    "seed {seed}: {p} on {asked} with {chosen:?}"
                );
            }
        }
    }
}

#[test]
fn many_single_project_grants_are_each_found_on_their_own_project() {
    // More than eight projects switches the lookup to a binary search.
    for seed in 100..110 {
        check_many_projects(seed);
    }
    check_many_projects(os_seed());
}

#[test]
fn explain_names_exactly_the_grants_that_cover_a_check_and_agrees_with_decide() {
    use latchkey_core::{explain, Grant, Ownership::Own, Plan};
    let grants: Vec<Grant> = [
        "job_viewer:all",
        "job_admin:project=7",
        "developer:project=9:envs=production",
        "job_runner:project=7",
    ]
    .iter()
    .map(|g| g.parse().unwrap())
    .collect();
    for permission in latchkey_core::Permission::all() {
        for project in [
            None,
            Some(latchkey_core::ProjectId(7)),
            Some(latchkey_core::ProjectId(9)),
        ] {
            let why = explain(&grants, Plan::Enterprise, permission, project, Own, None);
            let perms =
                latchkey_core::EffectivePermissions::for_service_token(&grants, Plan::Enterprise);
            let allowed = latchkey_core::decide(&perms, permission, project, None).is_allowed();
            assert_eq!(
                why.iter().any(|(_, covers)| *covers),
                allowed,
                "{permission} {project:?}"
            );
        }
    }
    let why = explain(
        &grants,
        Plan::Enterprise,
        "jobs:write".parse().unwrap(),
        Some(latchkey_core::ProjectId(7)),
        Own,
        None,
    );
    let covering: Vec<String> = why
        .iter()
        .filter(|(_, c)| *c)
        .map(|(g, _)| g.to_string())
        .collect();
    assert_eq!(covering, ["job_admin:project=7"]);
    // On the team plan job_admin still covers; developer (not offered) covers nothing.
    let why = explain(
        &grants,
        Plan::Team,
        "jobs:write".parse().unwrap(),
        Some(latchkey_core::ProjectId(9)),
        Own,
        Some(latchkey_core::EnvCategory::Production),
    );
    assert!(why.iter().all(|(_, c)| !c));
}

#[test]
fn on_another_accounts_project_no_grant_covers_and_the_answer_is_a_missing_grant() {
    use latchkey_core::{
        decide_owned, explain, Decision, DenyReason, EffectivePermissions, Grant,
        Ownership::{Foreign, Own},
        Plan, ProjectId,
    };
    let grants: Vec<Grant> = ["account_admin:all", "job_admin:all", "job_admin:project=7"]
        .iter()
        .map(|g| g.parse().unwrap())
        .collect();
    let perms = EffectivePermissions::for_service_token(&grants, Plan::Enterprise);
    let project = Some(ProjectId(7));
    for permission in latchkey_core::Permission::all() {
        let why = explain(
            &grants,
            Plan::Enterprise,
            permission,
            project,
            Foreign,
            None,
        );
        assert!(why.iter().all(|(_, c)| !c), "{permission}: {why:?}");
        assert_eq!(
            decide_owned(&perms, permission, project, Foreign, None),
            Decision::Deny(DenyReason::NoGrant {
                permission,
                project
            })
        );
        // The same grants on the account's own project 7 do cover it.
        let own = explain(&grants, Plan::Enterprise, permission, project, Own, None);
        assert_eq!(
            own.iter().any(|(_, c)| *c),
            decide_owned(&perms, permission, project, Own, None).is_allowed()
        );
    }
}
