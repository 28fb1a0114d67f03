//! Your personal access tokens: each signed-in person's own page. A personal access token acts
//! for its user with exactly the user's permissions (license and groups); here a person lists
//! theirs, makes one (the secret once) and deletes one. Nobody sees or touches another's.

use crate::console::caller::ConsoleCaller;
use crate::console::form::ConsoleForm;
use crate::console::frame::Frame;
use crate::console::pages::{self, render, see_other, Refusal};
use crate::console::service_tokens::{already_sent_to, form_expiry, spend, DeletePage, SecretPage};
use crate::console::session::random_hex;
use crate::console::token_views::when;
use crate::error::ApiError;
use crate::state::AppState;
use askama::Template;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use latchkey_core::{Minter, TokenKind};
use latchkey_store::{NewServiceTokenParts, PersonalToken, State as RowState};
use time::OffsetDateTime;

/// One of the person's tokens.
pub struct PatRow {
    id: i64,
    name: String,
    hint: String,
    created: String,
    last_used: String,
    last_used_from: String,
    expires: String,
    active: bool,
    state: String,
}

/// The page.
#[derive(Template)]
#[template(path = "console/personal_tokens.html")]
pub struct PatsPage {
    frame: Frame,
    tokens: Vec<PatRow>,
    nonce: String,
    name: String,
    name_error: Option<String>,
    expiry_error: Option<String>,
    notice: Option<String>,
}

fn list_path(caller: &ConsoleCaller) -> String {
    format!("/console/accounts/{}/personal-tokens", caller.account().0)
}

fn rows(tokens: &[PersonalToken], now: OffsetDateTime) -> Vec<PatRow> {
    tokens
        .iter()
        .map(|t| {
            let expired = t.expires_at.is_some_and(|e| e <= now);
            let active = t.state == RowState::Active && !expired;
            PatRow {
                id: t.id.0,
                name: t.name.clone(),
                hint: t.hint.clone(),
                created: when(t.created_at),
                last_used: t.last_used_at.map_or_else(|| "Never".to_owned(), when),
                last_used_from: t.last_used_ip.clone().unwrap_or_default(),
                expires: t.expires_at.map_or_else(|| "Never".to_owned(), when),
                active,
                state: if t.state != RowState::Active {
                    "Deleted".into()
                } else if expired {
                    "Expired".into()
                } else {
                    "Active".into()
                },
            }
        })
        .collect()
}

async fn page(
    state: &AppState,
    caller: &ConsoleCaller,
    status: StatusCode,
    edit: impl FnOnce(&mut PatsPage),
) -> Response {
    let tokens = match state
        .verifier
        .store()
        .list_personal_tokens(caller.account(), caller.user.user_id)
        .await
    {
        Ok(tokens) => tokens,
        Err(e) => return pages::unavailable(e),
    };
    let mut page = PatsPage {
        frame: Frame::new(caller, "Personal access tokens", &list_path(caller)),
        tokens: rows(&tokens, OffsetDateTime::now_utc()),
        nonce: random_hex(),
        name: String::new(),
        name_error: None,
        expiry_error: None,
        notice: None,
    };
    edit(&mut page);
    render(status, &page)
}

/// `?deleted=ID`.
#[derive(serde::Deserialize)]
pub struct ListQuery {
    deleted: Option<i64>,
}

/// GET the page.
pub async fn list(
    State(state): State<AppState>,
    caller: ConsoleCaller,
    query: Result<axum::extract::Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let deleted = query.ok().and_then(|q| q.0.deleted);
    page(&state, &caller, StatusCode::OK, |p| {
        if let Some(t) = deleted.and_then(|id| p.tokens.iter().find(|t| t.id == id)) {
            p.notice = Some(format!("Deleted “{}”. It no longer works.", t.name));
        }
    })
    .await
}

/// POST a new token: the secret once, or the page again saying what went wrong.
pub async fn create(State(state): State<AppState>, form: ConsoleForm) -> Response {
    let caller = form.caller.clone();
    let name = form.get("name").to_owned();
    let shown: String = name.chars().take(255).collect();
    if name.is_empty() {
        return page(&state, &caller, StatusCode::UNPROCESSABLE_ENTITY, |p| {
            p.name = shown;
            p.name_error = Some("Give the token a name.".into());
        })
        .await;
    }
    let expires_at = match form_expiry(&form, OffsetDateTime::now_utc()) {
        Ok(at) => at,
        Err((_, why)) => {
            return page(&state, &caller, StatusCode::UNPROCESSABLE_ENTITY, |p| {
                p.name = shown;
                p.expiry_error = Some(why);
            })
            .await
        }
    };
    match spend(&state, &form).await {
        Ok(true) => {}
        Ok(false) => return already_sent_to(list_path(&caller)),
        Err(answer) => return answer,
    }
    let new = state
        .verifier
        .config()
        .token_format
        .generate(TokenKind::Personal);
    let made = state
        .verifier
        .store()
        .create_personal_token(
            &caller.actor(),
            Minter::User {
                id: caller.user.user_id,
                license: caller.user.license,
                perms: &caller.user.permissions,
            },
            caller.account(),
            caller.user.user_id,
            &name,
            NewServiceTokenParts {
                uid: &new.uid,
                digest: new.digest,
                hint: &new.hint,
            },
            expires_at,
        )
        .await;
    match made.map_err(ApiError::from) {
        Ok(token) => render(
            StatusCode::OK,
            &SecretPage {
                frame: Frame::new(&caller, "Save your token", &list_path(&caller)),
                name: token.name,
                secret: new.secret.expose().to_owned(),
                rotated: None,
                back: list_path(&caller),
            },
        ),
        Err(e @ (ApiError::Unavailable(_) | ApiError::Internal(_))) => pages::unavailable(e),
        Err(e) => {
            let why = e.to_string();
            page(&state, &caller, StatusCode::UNPROCESSABLE_ENTITY, |p| {
                p.name = shown;
                p.name_error = Some(why);
            })
            .await
        }
    }
}

/// The person's own token named by the path.
async fn own(
    state: &AppState,
    caller: &ConsoleCaller,
    path: Result<Path<(i64, i64)>, PathRejection>,
) -> Result<PersonalToken, Response> {
    let Ok(Path((_, id))) = path else {
        return Err(pages::refusal(Refusal::NotFound));
    };
    crate::routes::personal_tokens::own(state, caller.account(), caller.user.user_id, id)
        .await
        .map_err(pages::api_refusal)
}

/// GET the deletion's confirmation.
pub async fn delete_form(
    State(state): State<AppState>,
    caller: ConsoleCaller,
    path: Result<Path<(i64, i64)>, PathRejection>,
) -> Response {
    match own(&state, &caller, path).await {
        Ok(token) => render(
            StatusCode::OK,
            &DeletePage {
                frame: Frame::new(
                    &caller,
                    "Delete a personal access token",
                    &list_path(&caller),
                ),
                verb: "Delete",
                name: token.name.clone(),
                consequence: crate::console::service_tokens::TOKEN_GOES,
                action: format!("{}/{}/delete", list_path(&caller), token.id.0),
                back: list_path(&caller),
            },
        ),
        Err(answer) => answer,
    }
}

/// POST the deletion: the token stops working at once; back to the list.
pub async fn delete(
    State(state): State<AppState>,
    path: Result<Path<(i64, i64)>, PathRejection>,
    form: ConsoleForm,
) -> Response {
    let caller = form.caller.clone();
    let token = match own(&state, &caller, path).await {
        Ok(token) => token,
        Err(answer) => return answer,
    };
    let revoked = state
        .verifier
        .store()
        .revoke_personal_token(&caller.actor(), Some(caller.user.user_id), token.id)
        .await;
    match revoked {
        Ok(_) => see_other(&format!("{}?deleted={}", list_path(&caller), token.id.0)),
        Err(e) => pages::unavailable(e),
    }
}
