//! `POST /api/v1/authorize`: may the presented token do this?
//!
//! Body: `{"permission": "jobs:write", "project_id": 7, "environment": "production"}` (project and
//! environment optional), or `{"checks": [ … up to 100 of those … ]}`.

use crate::app::AppState;
use crate::error::ApiError;
use crate::extract::ApiJson;
use crate::routes::table::Caller;
use crate::verifier::Principal;
use axum::extract::State;
use axum::Json;
use latchkey_core::{Decision, EnvCategory, Permission, ProjectId};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Most checks in one batch.
pub const MAX_CHECKS: usize = 100;

/// One check as sent.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckRequest {
    permission: String,
    #[serde(default)]
    project_id: Option<i64>,
    #[serde(default)]
    environment: Option<String>,
}

/// A single check or a batch.
#[derive(Deserialize)]
#[serde(untagged)]
pub enum AuthorizeRequest {
    /// `{"checks": [...]}`.
    Batch {
        /// The checks.
        checks: Vec<CheckRequest>,
    },
    /// One check.
    Single(CheckRequest),
}

/// Who was checked.
#[derive(Serialize)]
pub struct PrincipalView {
    kind: &'static str,
    id: i64,
    account_id: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    user_id: Option<i64>,
}

impl PrincipalView {
    /// From an authenticated principal.
    pub fn of(p: &Principal) -> PrincipalView {
        let kind = match p.kind {
            latchkey_core::TokenKind::Service => "service_token",
            latchkey_core::TokenKind::Personal => "personal_access_token",
        };
        PrincipalView {
            kind,
            id: p.id.0,
            account_id: p.account_id.0,
            user_id: p.user_id.map(|u| u.0),
        }
    }
}

/// A denial's reason.
#[derive(Serialize)]
pub struct ReasonView {
    code: &'static str,
    message: String,
}

/// One answer.
#[derive(Serialize)]
pub struct CheckResult {
    permission: String,
    project_id: Option<i64>,
    allowed: bool,
    reason: Option<ReasonView>,
}

struct Check {
    permission: Permission,
    project: Option<ProjectId>,
    env: Option<EnvCategory>,
}

fn parse_check(c: CheckRequest, at: &str) -> Result<Check, ApiError> {
    let field = |name: &str| {
        if at.is_empty() {
            name.to_owned()
        } else {
            format!("{at}.{name}")
        }
    };
    let permission = c
        .permission
        .parse::<Permission>()
        .map_err(|e| ApiError::field(&field("permission"), e.to_string()))?;
    let project = match c.project_id {
        Some(id) if id <= 0 => {
            return Err(ApiError::field(
                &field("project_id"),
                "project_id must be a positive integer",
            ))
        }
        other => other.map(ProjectId),
    };
    let env = c
        .environment
        .map(|e| e.parse::<EnvCategory>())
        .transpose()
        .map_err(|e| ApiError::field(&field("environment"), e.to_string()))?;
    Ok(Check {
        permission,
        project,
        env,
    })
}

async fn run(
    state: &AppState,
    principal: &Principal,
    check: Check,
) -> Result<CheckResult, ApiError> {
    let decision = state
        .verifier
        .decide(principal, check.permission, check.project, check.env)
        .await?;
    let reason = match decision {
        Decision::Allow => None,
        Decision::Deny(r) => Some(ReasonView {
            code: r.code(),
            message: r.to_string(),
        }),
    };
    Ok(CheckResult {
        permission: check.permission.to_string(),
        project_id: check.project.map(|p| p.0),
        allowed: decision.is_allowed(),
        reason,
    })
}

/// The handler.
pub async fn authorize(
    State(state): State<AppState>,
    Caller(principal, _): Caller,
    ApiJson(body): ApiJson<AuthorizeRequest>,
) -> Result<Json<Value>, ApiError> {
    let principal_view = serde_json::to_value(PrincipalView::of(&principal)).expect("serializable");
    match body {
        AuthorizeRequest::Single(c) => {
            let result = run(&state, &principal, parse_check(c, "")?).await?;
            let mut out = serde_json::to_value(result).expect("serializable");
            out["principal"] = principal_view;
            Ok(Json(out))
        }
        AuthorizeRequest::Batch { checks } => {
            if checks.is_empty() || checks.len() > MAX_CHECKS {
                return Err(ApiError::field(
                    "checks",
                    format!("checks must hold 1 to {MAX_CHECKS} checks"),
                ));
            }
            let parsed = checks
                .into_iter()
                .enumerate()
                .map(|(i, c)| parse_check(c, &format!("checks[{i}]")))
                .collect::<Result<Vec<_>, _>>()?;
            let mut results = Vec::with_capacity(parsed.len());
            for check in parsed {
                results.push(run(&state, &principal, check).await?);
            }
            let allowed = results.iter().all(|r| r.allowed);
            Ok(Json(serde_json::json!({
                "allowed": allowed,
                "results": results,
                "principal": principal_view,
            })))
        }
    }
}
