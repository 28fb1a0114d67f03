//! Account settings → Service tokens: the table, **+ New token**, the secret shown once, rotate
//! with an overlap, and delete behind a confirmation that names the token.
//!
//! A form that makes a secret carries a one-time nonce: a reload or a resubmission from the
//! browser's history finds it spent, creates nothing and shows no secret. Pages are never cached.

use crate::console::caller::ConsoleCaller;
use crate::console::form::ConsoleForm;
use crate::console::frame::Frame;
use crate::console::pages::{self, render, see_other, Refusal};
use crate::console::session::random_hex;
use crate::console::token_views::{grantable_sets, token_rows, SetOption, TokenRow};
use crate::error::ApiError;
use crate::routes::ip_restrictions::parse_cidrs;
use crate::state::AppState;
use askama::Template;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use latchkey_core::permissions as p;
use latchkey_core::{
    EnvCategories, Grant, Minter, PermissionSet, Plan, ProjectId, Scope, TokenKind,
};
use latchkey_store::{AuditQuery, NewServiceToken, NewServiceTokenParts, Project, ServiceToken};
use time::OffsetDateTime;

/// What deleting a token does.
pub const TOKEN_GOES: &str =
    "The token stops working at once, on every node. Its record stays in the audit log.";

/// How many permission-set rows the new-token form offers.
pub const GRANT_ROWS: usize = 3;

/// The overlaps a rotation offers: (seconds, label).
pub const OVERLAPS: [(i64, &str); 4] = [
    (0, "None: the old token stops now"),
    (3600, "1 hour"),
    (86_400, "24 hours"),
    (604_800, "7 days"),
];

/// The service tokens page.
#[derive(Template)]
#[template(path = "console/tokens.html")]
pub struct TokensPage {
    frame: Frame,
    tokens: Vec<TokenRow>,
    may_write: bool,
    notice: Option<String>,
}

/// The new-token form.
#[derive(Template)]
#[template(path = "console/token_new.html")]
pub struct NewTokenPage {
    frame: Frame,
    nonce: String,
    sets: Vec<SetOption>,
    projects: Vec<(i64, String)>,
    rows: Vec<usize>,
    name: String,
    name_error: Option<String>,
    grants_error: Option<String>,
    expiry_error: Option<String>,
    cidrs: String,
    cidrs_error: Option<String>,
    error: Option<String>,
}

/// The secret, once.
#[derive(Template)]
#[template(path = "console/token_secret.html")]
pub struct SecretPage {
    /// The frame.
    pub frame: Frame,
    /// The token's name.
    pub name: String,
    /// Its secret.
    pub secret: String,
    /// What became of the token it replaced, after a rotation.
    pub rotated: Option<String>,
    /// The list to go back to.
    pub back: String,
}

/// The rotation form.
#[derive(Template)]
#[template(path = "console/token_rotate.html")]
pub struct RotatePage {
    frame: Frame,
    id: i64,
    name: String,
    nonce: String,
    overlaps: Vec<(i64, &'static str)>,
    error: Option<String>,
}

/// The deletion's confirmation.
#[derive(Template)]
#[template(path = "console/token_delete.html")]
pub struct DeletePage {
    /// The frame.
    pub frame: Frame,
    /// `Delete`, `Remove`, …
    pub verb: &'static str,
    /// The token's name (or the member's e-mail).
    pub name: String,
    /// What follows.
    pub consequence: &'static str,
    /// Where the confirmation posts.
    pub action: String,
    /// The list to go back to.
    pub back: String,
}

fn list_path(caller: &ConsoleCaller) -> String {
    format!("/console/accounts/{}/service-tokens", caller.account().0)
}

/// GET the table.
pub async fn list(
    State(state): State<AppState>,
    caller: ConsoleCaller,
    query: Result<axum::extract::Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let store = state.verifier.store();
    let account = caller.account();
    let loaded = async {
        let tokens = store.list_service_tokens(account, None).await?;
        let projects = store.projects(account).await?;
        let created = store
            .audit_entries(&AuditQuery {
                account_id: Some(account),
                event_type: Some("service_token.created".into()),
                target_type: Some("service_token".into()),
                offset: 0,
                limit: 10_000,
                ..AuditQuery::default()
            })
            .await?;
        Ok::<_, latchkey_store::StoreError>((tokens, projects, created))
    }
    .await;
    let (tokens, projects, created) = match loaded {
        Ok(loaded) => loaded,
        Err(e) => return pages::unavailable(e),
    };
    let now = OffsetDateTime::now_utc();
    let rows = token_rows(
        &tokens,
        &projects,
        &created,
        state.verifier.config().legacy_cutoff,
        now,
    );
    let notice = query.ok().and_then(|q| {
        let id = q.0.deleted?;
        let name = tokens.iter().find(|t| t.id.0 == id)?.name.clone();
        Some(format!("Deleted “{name}”. It no longer works."))
    });
    render(
        StatusCode::OK,
        &TokensPage {
            frame: Frame::new(&caller, "Service tokens", &list_path(&caller)),
            tokens: rows,
            may_write: caller.holds(p::SERVICE_TOKENS_WRITE),
            notice,
        },
    )
}

/// `?deleted=ID` after a deletion.
#[derive(serde::Deserialize)]
pub struct ListQuery {
    deleted: Option<i64>,
}

/// The caller as a minter (a signed-in user acts as themselves).
fn minter(caller: &ConsoleCaller) -> Minter<'_> {
    Minter::User {
        id: caller.user.user_id,
        license: caller.user.license,
        perms: &caller.user.permissions,
    }
}

async fn plan_and_projects(
    state: &AppState,
    caller: &ConsoleCaller,
) -> Result<(Plan, Vec<Project>), latchkey_store::StoreError> {
    let store = state.verifier.store();
    let plan = store
        .account(caller.account())
        .await?
        .map_or(Plan::Developer, |a| a.plan);
    Ok((plan, store.projects(caller.account()).await?))
}

fn new_token_page(caller: &ConsoleCaller, plan: Plan, projects: &[Project]) -> NewTokenPage {
    NewTokenPage {
        frame: Frame::new(caller, "New service token", &list_path(caller)),
        nonce: random_hex(),
        sets: grantable_sets(minter(caller), plan, projects),
        projects: projects
            .iter()
            .filter(|p| p.state == latchkey_store::State::Active)
            .map(|p| (p.id.0, p.name.clone()))
            .collect(),
        rows: (0..GRANT_ROWS).collect(),
        name: String::new(),
        name_error: None,
        grants_error: None,
        expiry_error: None,
        cidrs: String::new(),
        cidrs_error: None,
        error: None,
    }
}

/// GET the new-token form.
pub async fn new_form(State(state): State<AppState>, caller: ConsoleCaller) -> Response {
    match plan_and_projects(&state, &caller).await {
        Ok((plan, projects)) => render(StatusCode::OK, &new_token_page(&caller, plan, &projects)),
        Err(e) => pages::unavailable(e),
    }
}

/// Where a refusal belongs on the new-token form.
pub enum Field {
    Name,
    Grants,
    Expiry,
    Cidrs,
    Form,
}

fn refused(field: Field, message: impl Into<String>) -> (Field, String) {
    (field, message.into())
}

/// The grants of the form's rows: each row a set, on all projects or on each chosen project,
/// with the environment categories ticked (for the sets that have them); none when every row is
/// left empty.
pub fn form_grant_rows(form: &ConsoleForm) -> Result<Vec<Grant>, (Field, String)> {
    let mut grants = Vec::new();
    for row in 0..GRANT_ROWS {
        let slug = form.get(&format!("set{row}"));
        if slug.is_empty() {
            continue;
        }
        let n = row + 1;
        let set: PermissionSet = slug
            .parse()
            .map_err(|_| refused(Field::Grants, format!("Row {n}: choose a permission set.")))?;
        let envs_field = format!("envs{row}");
        let envs = if set.honours_env_categories() {
            EnvCategories::parse(form.all(&envs_field))
                .map_err(|e| refused(Field::Grants, format!("Row {n}: {e}")))?
        } else {
            EnvCategories::default()
        };
        let scopes: Vec<Scope> = if form.get(&format!("scope{row}")) == "projects" {
            let chosen = form
                .all(&format!("projects{row}"))
                .map(|id| id.parse::<i64>().ok().filter(|id| *id > 0))
                .collect::<Option<Vec<i64>>>()
                .ok_or_else(|| refused(Field::Grants, format!("Row {n}: unknown project.")))?;
            if chosen.is_empty() {
                return Err(refused(
                    Field::Grants,
                    format!("Row {n}: choose at least one project, or all projects."),
                ));
            }
            chosen
                .into_iter()
                .map(|id| Scope::Project(ProjectId(id)))
                .collect()
        } else {
            vec![Scope::AllProjects]
        };
        for scope in scopes {
            let grant = Grant::new(set, scope).with_writable_envs(envs);
            grant
                .validate()
                .map_err(|e| refused(Field::Grants, format!("Row {n}: {e}")))?;
            grants.push(grant);
        }
    }
    Ok(grants)
}

/// [`form_grant_rows`], refusing none: a token without a permission set can do nothing.
fn form_grants(form: &ConsoleForm) -> Result<Vec<Grant>, (Field, String)> {
    let grants = form_grant_rows(form)?;
    if grants.is_empty() {
        return Err(refused(
            Field::Grants,
            "Choose at least one permission set: a token without one can do nothing.",
        ));
    }
    Ok(grants)
}

/// The form's expiry: none, a number of days from now, or a date (end of that day, UTC).
pub fn form_expiry(
    form: &ConsoleForm,
    now: OffsetDateTime,
) -> Result<Option<OffsetDateTime>, (Field, String)> {
    let date = form.get("expires_on");
    if !date.is_empty() {
        let format = time::macros::format_description!("[year]-[month]-[day]");
        let day = time::Date::parse(date, &format)
            .map_err(|_| refused(Field::Expiry, "Give the date as YYYY-MM-DD."))?;
        let at = day
            .with_hms(23, 59, 59)
            .map_or(now, time::PrimitiveDateTime::assume_utc);
        if at <= now {
            return Err(refused(Field::Expiry, "Choose a date in the future."));
        }
        return Ok(Some(at));
    }
    match form.get("expires_in") {
        "" => Ok(None),
        days => {
            let days: i64 = days
                .parse()
                .ok()
                .filter(|d| (1..=3650).contains(d))
                .ok_or_else(|| refused(Field::Expiry, "Choose when the token expires."))?;
            Ok(Some(now + time::Duration::days(days)))
        }
    }
}

/// Where an API error from the store belongs on the form.
fn place(e: ApiError) -> (Field, String) {
    let message = e.to_string();
    match &e {
        ApiError::BadRequest { field: Some(f), .. } if f == "name" => (Field::Name, message),
        ApiError::BadRequest { field: Some(f), .. } if f.starts_with("expires") => {
            (Field::Expiry, message)
        }
        ApiError::BadRequest { field: Some(f), .. } if f.starts_with("allowed_cidrs") => {
            (Field::Cidrs, message)
        }
        ApiError::BadRequest { .. } | ApiError::Forbidden(_) | ApiError::Conflict(_) => {
            (Field::Grants, message)
        }
        _ => (Field::Form, message),
    }
}

/// POST a new token: the secret once, or the form again with what went wrong next to its field.
pub async fn create(State(state): State<AppState>, form: ConsoleForm) -> Response {
    let caller = form.caller.clone();
    let (plan, projects) = match plan_and_projects(&state, &caller).await {
        Ok(found) => found,
        Err(e) => return pages::unavailable(e),
    };
    let name = form.get("name").to_owned();
    let cidr_lines: Vec<String> = form
        .get("cidrs")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect();
    let again = |(field, message): (Field, String)| {
        let mut page = new_token_page(&caller, plan, &projects);
        page.name = name.chars().take(255).collect();
        page.cidrs = cidr_lines.join("\n");
        match field {
            Field::Name => page.name_error = Some(message),
            Field::Grants => page.grants_error = Some(message),
            Field::Expiry => page.expiry_error = Some(message),
            Field::Cidrs => page.cidrs_error = Some(message),
            Field::Form => page.error = Some(message),
        }
        render(StatusCode::UNPROCESSABLE_ENTITY, &page)
    };
    if name.is_empty() {
        return again(refused(Field::Name, "Give the token a name."));
    }
    let now = OffsetDateTime::now_utc();
    let checked = (|| {
        let grants = form_grants(&form)?;
        let expires_at = form_expiry(&form, now)?;
        let cidrs = parse_cidrs("allowed_cidrs", &cidr_lines).map_err(place)?;
        Ok((grants, expires_at, cidrs))
    })();
    let (grants, expires_at, cidrs) = match checked {
        Ok(checked) => checked,
        Err(refusal) => return again(refusal),
    };
    match spend(&state, &form).await {
        Ok(true) => {}
        Ok(false) => return already_sent(&caller),
        Err(answer) => return answer,
    }
    let new = state
        .verifier
        .config()
        .token_format
        .generate(TokenKind::Service);
    let created = state
        .verifier
        .store()
        .create_service_token(
            &caller.actor(),
            minter(&caller),
            &NewServiceToken {
                account_id: caller.account(),
                name: &name,
                grants: &grants,
                expires_at,
                allowed_cidrs: &cidrs,
                uid: &new.uid,
                digest: new.digest,
                hint: &new.hint,
            },
        )
        .await;
    match created {
        Ok(token) => secret_page(&caller, &token, new.secret.expose(), None),
        Err(e) => match ApiError::from(e) {
            e @ (ApiError::Unavailable(_) | ApiError::Internal(_)) => pages::unavailable(e),
            e => again(place(e)),
        },
    }
}

/// Spends the form's nonce: `Ok(false)` when it was spent before (a resubmission).
pub async fn spend(state: &AppState, form: &ConsoleForm) -> Result<bool, Response> {
    let nonce = form.get("nonce");
    if nonce.len() != 64 || !nonce.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(pages::refusal(Refusal::StaleForm));
    }
    state
        .verifier
        .store()
        .spend_console_form(&form.caller.secret.digest(), nonce)
        .await
        .map_err(pages::unavailable)
}

/// The answer to a resubmitted form: nothing made, no secret shown; back to `list`.
pub fn already_sent_to(list: String) -> Response {
    render(
        StatusCode::CONFLICT,
        &pages::MessagePage {
            title: "Already done".into(),
            message: "This form was already sent, and its token was made then. A secret is \
                      shown only once: if you did not save it, rotate or delete the token."
                .into(),
            link: list,
            link_label: "Back to the list".into(),
        },
    )
}

fn already_sent(caller: &ConsoleCaller) -> Response {
    already_sent_to(list_path(caller))
}

fn secret_page(
    caller: &ConsoleCaller,
    token: &ServiceToken,
    secret: &str,
    rotated: Option<String>,
) -> Response {
    render(
        StatusCode::OK,
        &SecretPage {
            frame: Frame::new(caller, "Save your token", &list_path(caller)),
            name: token.name.clone(),
            secret: secret.to_owned(),
            rotated,
            back: list_path(caller),
        },
    )
}

/// `{account_id}` and `{id}`.
type TokenPath = Result<Path<(i64, i64)>, PathRejection>;

/// The account's token named by the path (also when deleted), as the API finds it.
async fn owned_token(
    state: &AppState,
    caller: &ConsoleCaller,
    path: TokenPath,
) -> Result<ServiceToken, Response> {
    let Ok(Path((_, id))) = path else {
        return Err(pages::refusal(Refusal::NotFound));
    };
    crate::routes::service_tokens::owned_token(state, caller.account(), id)
        .await
        .map_err(pages::api_refusal)
}

/// GET the rotation form.
pub async fn rotate_form(
    State(state): State<AppState>,
    caller: ConsoleCaller,
    path: TokenPath,
) -> Response {
    match owned_token(&state, &caller, path).await {
        Ok(token) => render(StatusCode::OK, &rotate_page(&caller, &token, None)),
        Err(answer) => answer,
    }
}

fn rotate_page(caller: &ConsoleCaller, token: &ServiceToken, error: Option<String>) -> RotatePage {
    RotatePage {
        frame: Frame::new(caller, "Rotate a service token", &list_path(caller)),
        id: token.id.0,
        name: token.name.clone(),
        nonce: random_hex(),
        overlaps: OVERLAPS.to_vec(),
        error,
    }
}

/// POST a rotation: a new secret once; the old token works for the overlap chosen.
pub async fn rotate(State(state): State<AppState>, path: TokenPath, form: ConsoleForm) -> Response {
    let caller = form.caller.clone();
    let token = match owned_token(&state, &caller, path).await {
        Ok(token) => token,
        Err(answer) => return answer,
    };
    let Some((overlap, label)) = OVERLAPS
        .iter()
        .find(|(secs, _)| form.get("overlap") == secs.to_string())
        .copied()
    else {
        return render(
            StatusCode::UNPROCESSABLE_ENTITY,
            &rotate_page(
                &caller,
                &token,
                Some("Choose how long the old token keeps working.".into()),
            ),
        );
    };
    match spend(&state, &form).await {
        Ok(true) => {}
        Ok(false) => return already_sent(&caller),
        Err(answer) => return answer,
    }
    let new = state
        .verifier
        .config()
        .token_format
        .generate(TokenKind::Service);
    let rotated = state
        .verifier
        .store()
        .rotate_service_token(
            &caller.actor(),
            minter(&caller),
            caller.account(),
            token.id,
            time::Duration::seconds(overlap),
            NewServiceTokenParts {
                uid: &new.uid,
                digest: new.digest,
                hint: &new.hint,
            },
        )
        .await;
    match rotated {
        Ok((fresh, _old)) => {
            let note = if overlap == 0 {
                "The old token stopped working now.".to_owned()
            } else {
                format!("The old token keeps working for {label}, then stops.")
            };
            secret_page(&caller, &fresh, new.secret.expose(), Some(note))
        }
        Err(e) => match ApiError::from(e) {
            e @ (ApiError::Unavailable(_) | ApiError::Internal(_)) => pages::unavailable(e),
            e => render(
                StatusCode::UNPROCESSABLE_ENTITY,
                &rotate_page(&caller, &token, Some(e.to_string())),
            ),
        },
    }
}

/// GET the deletion's confirmation.
pub async fn delete_form(
    State(state): State<AppState>,
    caller: ConsoleCaller,
    path: TokenPath,
) -> Response {
    match owned_token(&state, &caller, path).await {
        Ok(token) => render(
            StatusCode::OK,
            &DeletePage {
                frame: Frame::new(&caller, "Delete a service token", &list_path(&caller)),
                verb: "Delete",
                name: token.name.clone(),
                consequence: TOKEN_GOES,
                action: format!("{}/{}/delete", list_path(&caller), token.id.0),
                back: list_path(&caller),
            },
        ),
        Err(answer) => answer,
    }
}

/// POST the deletion: the token stops working at once on every node; back to the table.
pub async fn delete(State(state): State<AppState>, path: TokenPath, form: ConsoleForm) -> Response {
    let caller = form.caller.clone();
    let token = match owned_token(&state, &caller, path).await {
        Ok(token) => token,
        Err(answer) => return answer,
    };
    let revoked = state
        .verifier
        .store()
        .revoke_service_token(
            &caller.actor(),
            latchkey_core::Authority::Holder(&caller.user.permissions),
            Some(caller.account()),
            token.id,
        )
        .await;
    match revoked.map_err(ApiError::from) {
        Ok(_) => see_other(&format!("{}?deleted={}", list_path(&caller), token.id.0)),
        Err(e) => pages::api_refusal(e),
    }
}
