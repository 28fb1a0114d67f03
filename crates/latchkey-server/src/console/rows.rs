//! The console's rows of the one route table ([`crate::routes::table`]): each page behind a
//! session, with the permission it shows or changes. Written here, among the console's own
//! modules, so that a handler's name (`users::list`, `invites::create`) can only mean the
//! console's page, never the API's handler of the same name.

use crate::console::{
    account, assets, audit, groups, invites, ip_restrictions as rules, personal_tokens as pats,
    projects, service_tokens as tokens, users,
};
use crate::routes::row::{get, post, Row};
use crate::routes::spec::Requirement::{Public, Session, SessionOnProject, SessionWith};
use latchkey_core::permissions as p;

/// The web console's pages ([`crate::console`]): each behind a session, with the permission its
/// page shows or changes.
pub fn rows() -> Vec<Row> {
    const INVITES: &str = "/console/accounts/{account_id}/invitations";
    const WITHDRAW: &str = "/console/accounts/{account_id}/invitations/{id}/withdraw";
    const PATS: &str = "/console/accounts/{account_id}/personal-tokens";
    const PAT_DELETE: &str = "/console/accounts/{account_id}/personal-tokens/{id}/delete";
    const TOKENS: &str = "/console/accounts/{account_id}/service-tokens";
    const ROTATE: &str = "/console/accounts/{account_id}/service-tokens/{id}/rotate";
    const DELETE: &str = "/console/accounts/{account_id}/service-tokens/{id}/delete";
    let (read, write) = (
        SessionWith(p::SERVICE_TOKENS_READ),
        SessionWith(p::SERVICE_TOKENS_WRITE),
    );
    const RULES: &str = "/console/accounts/{account_id}/ip-restrictions";
    const RULE_DELETE: &str = "/console/accounts/{account_id}/ip-restrictions/{id}/delete";
    let (rules_read, rules_write) = (
        SessionWith(p::IP_RESTRICTIONS_READ),
        SessionWith(p::IP_RESTRICTIONS_WRITE),
    );
    const PROJECTS: &str = "/console/accounts/{account_id}/projects";
    const PROJECT_DELETE: &str = "/console/accounts/{account_id}/projects/{project_id}/delete";
    let project_write = SessionOnProject(p::PROJECTS_WRITE);
    const GROUPS: &str = "/console/accounts/{account_id}/groups";
    const GROUP_EDIT: &str = "/console/accounts/{account_id}/groups/{id}/edit";
    const GROUP_DELETE: &str = "/console/accounts/{account_id}/groups/{id}/delete";
    let groups_write = SessionWith(p::GROUPS_WRITE);
    vec![
        get(GROUPS, SessionWith(p::GROUPS_READ), groups::list).html(),
        post(GROUPS, groups_write, groups::create).html(),
        get(GROUP_EDIT, groups_write, groups::edit_form).html(),
        post(GROUP_EDIT, groups_write, groups::edit).html(),
        get(GROUP_DELETE, groups_write, groups::delete_form).html(),
        post(GROUP_DELETE, groups_write, groups::delete).html(),
        get(PROJECTS, SessionWith(p::PROJECTS_READ), projects::list).html(),
        post(
            PROJECTS,
            SessionWith(p::PROJECT_CREATE_WRITE),
            projects::create,
        )
        .html(),
        post(
            "/console/accounts/{account_id}/projects/{project_id}/rename",
            project_write,
            projects::rename,
        )
        .html(),
        get(PROJECT_DELETE, project_write, projects::delete_form).html(),
        post(PROJECT_DELETE, project_write, projects::delete).html(),
        get(RULES, rules_read, rules::list).html(),
        post(RULES, rules_write, rules::create).html(),
        post(
            "/console/accounts/{account_id}/ip-restrictions/enforcement",
            rules_write,
            rules::enforce,
        )
        .html(),
        get(RULE_DELETE, rules_write, rules::delete_form).html(),
        post(RULE_DELETE, rules_write, rules::delete).html(),
        get("/", Public, assets::root).html(),
        get("/console/assets/console.css", Public, assets::stylesheet).html(),
        get("/console/assets/console.js", Public, assets::script).html(),
        get("/console/sign-in", Public, account::sign_in_form).html(),
        post("/console/sign-in", Public, account::sign_in_submit).html(),
        post("/console/sign-out", Session, account::sign_out).html(),
        get("/console/", Session, account::home).html(),
        get("/console/password", Session, account::password_form).html(),
        post("/console/password", Session, account::password_submit).html(),
        get(TOKENS, read, tokens::list).html(),
        post(TOKENS, write, tokens::create).html(),
        get(
            "/console/accounts/{account_id}/service-tokens/new",
            write,
            tokens::new_form,
        )
        .html(),
        get(ROTATE, write, tokens::rotate_form).html(),
        post(ROTATE, write, tokens::rotate).html(),
        get(DELETE, write, tokens::delete_form).html(),
        post(DELETE, write, tokens::delete).html(),
        get(
            "/console/accounts/{account_id}/users",
            SessionWith(p::MEMBERS_READ),
            users::list,
        )
        .html(),
        post(
            "/console/accounts/{account_id}/users/{id}/license",
            SessionWith(p::LICENSES_WRITE),
            users::set_license,
        )
        .html(),
        get(
            "/console/accounts/{account_id}/users/{id}/remove",
            SessionWith(p::MEMBERS_WRITE),
            users::remove_form,
        )
        .html(),
        post(
            "/console/accounts/{account_id}/users/{id}/remove",
            SessionWith(p::MEMBERS_WRITE),
            users::remove,
        )
        .html(),
        get(INVITES, SessionWith(p::INVITATIONS_READ), invites::list).html(),
        post(INVITES, SessionWith(p::INVITATIONS_WRITE), invites::create).html(),
        get(
            WITHDRAW,
            SessionWith(p::INVITATIONS_WRITE),
            invites::withdraw_form,
        )
        .html(),
        post(
            WITHDRAW,
            SessionWith(p::INVITATIONS_WRITE),
            invites::withdraw,
        )
        .html(),
        get(PATS, Session, pats::list).html(),
        post(PATS, Session, pats::create).html(),
        get(PAT_DELETE, Session, pats::delete_form).html(),
        post(PAT_DELETE, Session, pats::delete).html(),
        get(
            "/console/accounts/{account_id}/audit-log",
            SessionWith(p::AUDIT_LOGS_READ),
            audit::page,
        )
        .html(),
        get(
            "/console/accounts/{account_id}/audit-log.csv",
            SessionWith(p::AUDIT_LOGS_READ),
            audit::csv,
        )
        .html(),
    ]
}
