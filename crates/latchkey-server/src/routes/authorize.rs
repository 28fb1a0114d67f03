//! `POST /api/v1/authorize`: may the presented token do this?
//!
//! Body: `{"permission": "jobs:write", "project_id": 7, "environment": "production"}` (project and
//! environment optional), or `{"checks": [ … up to 100 of those … ]}`. With `"explain": true` a
//! caller that may read service tokens also learns which of its grants decided each check.

use crate::error::ApiError;
use crate::extract::ApiJson;
use crate::metrics::{DecisionKind, Outcome};
use crate::routes::caller::Caller;
use crate::state::AppState;
use crate::verifier::Principal;
use axum::extract::State;
use axum::Json;
use latchkey_core::{Decision, EnvCategory, Permission, ProjectId};
use latchkey_wire::PrincipalView;
use serde::{Deserialize, Serialize};

/// Most checks in one batch.
pub const MAX_CHECKS: usize = 100;

/// One check as sent.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = AuthorizeCheck)]
pub struct CheckRequest {
    /// The permission asked about, `resource:access`.
    #[schema(example = "jobs:write")]
    #[schema(schema_with = latchkey_wire::value_sets::permission)]
    permission: String,
    /// The project it is asked about (account-wide when absent).
    #[serde(default)]
    #[schema(minimum = 1)]
    project_id: Option<i64>,
    /// The environment category written to (`development`, `staging`, `production`, `other`).
    #[serde(default)]
    #[schema(schema_with = latchkey_wire::value_sets::environment_category_or_null)]
    environment: Option<String>,
    /// True to have the answer say why.
    #[serde(default)]
    explain: bool,
}

/// `{"checks": [...], "explain"?}`; any other field beside them is refused (serde cannot
/// put `deny_unknown_fields` on an untagged variant, hence this struct).
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = AuthorizeBatch)]
pub struct BatchRequest {
    /// The checks, answered in order: 1 to 100, none with its own `explain`.
    #[schema(schema_with = latchkey_wire::value_sets::batch_checks)]
    checks: Vec<CheckRequest>,
    /// True to have every answer say why.
    #[serde(default)]
    explain: bool,
}

// Read as one object with every field optional and then told apart ([`RequestFields`]), not
// as serde's untagged enum, which buffers the body and reads it twice, failing the first time
// (the schema is the same `oneOf`).
/// A single check or a batch.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(untagged, try_from = "RequestFields")]
pub enum AuthorizeRequest {
    /// `{"checks": [...]}`.
    Batch(BatchRequest),
    /// One check.
    Single(CheckRequest),
}

/// Every field either shape of [`AuthorizeRequest`] has.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RequestFields {
    #[serde(default)]
    permission: Option<String>,
    #[serde(default)]
    project_id: Option<i64>,
    #[serde(default)]
    environment: Option<String>,
    #[serde(default)]
    explain: bool,
    #[serde(default)]
    checks: Option<Vec<CheckRequest>>,
}

impl TryFrom<RequestFields> for AuthorizeRequest {
    type Error = String;

    fn try_from(f: RequestFields) -> Result<AuthorizeRequest, String> {
        match (f.checks, f.permission) {
            (Some(checks), None) if f.project_id.is_none() && f.environment.is_none() => {
                Ok(AuthorizeRequest::Batch(BatchRequest {
                    checks,
                    explain: f.explain,
                }))
            }
            (Some(_), _) => Err(
                "a batch has only `checks` and `explain`: permission, project_id and \
                 environment go inside each check"
                    .into(),
            ),
            (None, Some(permission)) => Ok(AuthorizeRequest::Single(CheckRequest {
                permission,
                project_id: f.project_id,
                environment: f.environment,
                explain: f.explain,
            })),
            (None, None) => Err("missing field `permission` (or `checks` for a batch)".into()),
        }
    }
}

/// A denial's reason.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = DenialReason)]
pub struct ReasonView {
    /// A stable code: `no_grant`, or `environment_not_writable`.
    code: &'static str,
    /// The same in words.
    message: String,
}

/// One of the caller's grants, and whether it covers the check.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ExplainedGrant {
    /// The grant, `set:all` or `set:project`.
    grant: String,
    /// True when this grant allows what was asked.
    covers: bool,
}

/// Why a check was answered as it was: every grant of the caller, and which cover it.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Explanation {
    /// The caller's grants.
    grants: Vec<ExplainedGrant>,
}

/// One answer.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = AuthorizeResult)]
pub struct CheckResult {
    /// The permission asked about.
    #[schema(schema_with = latchkey_wire::value_sets::permission)]
    #[serde(serialize_with = "written_out")]
    permission: Permission,
    /// The project asked about.
    #[schema(required = true)]
    project_id: Option<i64>,
    /// The answer.
    allowed: bool,
    /// Why not, when denied.
    #[schema(required = true)]
    reason: Option<ReasonView>,
    /// With `explain`, why.
    #[serde(skip_serializing_if = "Option::is_none")]
    explanation: Option<Explanation>,
}

/// Serializes a permission as its name, written straight into the output.
fn written_out<S: serde::Serializer>(p: &Permission, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(p)
}

// Written out by hand as one flat object (serde's `flatten` would go through a map
// serializer on every answer).
/// The answer to one check: the result and who asked.
#[derive(utoipa::ToSchema)]
#[schema(as = AuthorizeSingleAnswer)]
pub struct SingleAnswer {
    #[serde(flatten)]
    result: CheckResult,
    /// The token checked.
    principal: PrincipalView,
}

impl Serialize for SingleAnswer {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let r = &self.result;
        let fields = if r.explanation.is_some() { 6 } else { 5 };
        let mut out = serializer.serialize_struct("SingleAnswer", fields)?;
        out.serialize_field("permission", &format_args!("{}", r.permission))?;
        out.serialize_field("project_id", &r.project_id)?;
        out.serialize_field("allowed", &r.allowed)?;
        out.serialize_field("reason", &r.reason)?;
        if let Some(explanation) = &r.explanation {
            out.serialize_field("explanation", explanation)?;
        }
        out.serialize_field("principal", &self.principal)?;
        out.end()
    }
}

/// The answer to a batch: every result in order, and whether all were allowed.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = AuthorizeBatchAnswer)]
pub struct BatchAnswer {
    /// True when every check was allowed.
    allowed: bool,
    /// The results, in the order of the checks.
    results: Vec<CheckResult>,
    /// The token checked.
    principal: PrincipalView,
}

/// The answer: to one check, or to a batch.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum AuthorizeAnswer {
    /// To a batch.
    Batch(BatchAnswer),
    /// To one check.
    Single(SingleAnswer),
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

/// Answers one check; with `explaining` (the caller's grants and plan), also says which grants
/// cover it, decided together so the two cannot disagree.
async fn run(
    state: &AppState,
    principal: &Principal,
    check: Check,
    explaining: Option<&(Vec<latchkey_core::Grant>, latchkey_core::Plan)>,
) -> Result<CheckResult, ApiError> {
    let verifier = &state.verifier;
    let (decision, explanation) = match explaining {
        None => (
            verifier
                .decide(principal, check.permission, check.project, check.env)
                .await?,
            None,
        ),
        Some((grants, plan)) => {
            let (decision, why) = verifier
                .explain(
                    principal,
                    grants,
                    *plan,
                    check.permission,
                    check.project,
                    check.env,
                )
                .await?;
            let grants = why
                .into_iter()
                .map(|(g, covers)| ExplainedGrant {
                    grant: g.to_string(),
                    covers,
                })
                .collect();
            (decision, Some(Explanation { grants }))
        }
    };
    let reason = match decision {
        Decision::Allow => None,
        Decision::Deny(r) => Some(ReasonView {
            code: r.code(),
            message: r.to_string(),
        }),
    };
    Ok(CheckResult {
        permission: check.permission,
        project_id: check.project.map(|p| p.0),
        allowed: decision.is_allowed(),
        reason,
        explanation,
    })
}

/// A service token's grants and plan, for explanations; only for callers that may read tokens.
async fn grants_for_explaining(
    state: &AppState,
    principal: &Principal,
) -> Result<(Vec<latchkey_core::Grant>, latchkey_core::Plan), ApiError> {
    let read_tokens = latchkey_core::catalog().read_service_tokens();
    if let Decision::Deny(_) = state
        .verifier
        .decide(principal, read_tokens, None, None)
        .await?
    {
        return Err(ApiError::Forbidden(
            "explain needs service_tokens:read".into(),
        ));
    }
    if principal.kind != latchkey_core::TokenKind::Service {
        return Err(ApiError::field(
            "explain",
            "explanations are for service tokens; a personal access token acts with its user's license and groups",
        ));
    }
    let store = state.verifier.store();
    let token = store
        .service_token(principal.id)
        .await?
        .ok_or(ApiError::Unauthenticated)?;
    let account = store
        .account(principal.account_id)
        .await?
        .ok_or(ApiError::Unauthenticated)?;
    Ok((
        token.grants.into_iter().map(|g| g.grant).collect(),
        account.plan,
    ))
}

impl AuthorizeAnswer {
    /// Writes the answer into `out` byte for byte as `serde_json` writes it: one check without
    /// an explanation by hand (the express lane's hot path: no per-key escaping; every key,
    /// permission name and principal kind is a fixed ASCII word), anything else through serde.
    pub(crate) fn write_json(&self, out: &mut Vec<u8>) -> serde_json::Result<()> {
        let AuthorizeAnswer::Single(SingleAnswer { result, principal }) = self else {
            return serde_json::to_writer(out, self);
        };
        if result.explanation.is_some() {
            return serde_json::to_writer(out, self);
        }
        out.extend_from_slice(b"{\"permission\":\"");
        out.extend_from_slice(result.permission.resource.slug().as_bytes());
        out.push(b':');
        out.extend_from_slice(result.permission.access.as_str().as_bytes());
        out.extend_from_slice(b"\",\"project_id\":");
        match result.project_id {
            Some(id) => latchkey_wire::write_integer(out, id),
            None => out.extend_from_slice(b"null"),
        }
        out.extend_from_slice(if result.allowed {
            b",\"allowed\":true,\"reason\":"
        } else {
            b",\"allowed\":false,\"reason\":"
        });
        match &result.reason {
            Some(reason) => serde_json::to_writer(&mut *out, reason)?,
            None => out.extend_from_slice(b"null"),
        }
        out.extend_from_slice(b",\"principal\":");
        principal.write_json(out);
        out.push(b'}');
        Ok(())
    }

    /// Whether it allows: the one check, or every check of the batch.
    fn allowed(&self) -> bool {
        match self {
            AuthorizeAnswer::Batch(b) => b.allowed,
            AuthorizeAnswer::Single(s) => s.result.allowed,
        }
    }
}

/// The handler (`respond`).
pub async fn authorize(
    State(state): State<AppState>,
    caller: Caller,
    body: Result<ApiJson<AuthorizeRequest>, ApiError>,
) -> Result<Json<AuthorizeAnswer>, ApiError> {
    respond(&state, &caller, body.map(|ApiJson(body)| body))
        .await
        .map(Json)
}

/// Answers a request's body for `caller`, and counts the answer as one decision (a batch allows
/// when every check does; a body it cannot read is no decision). Served by the router and by
/// the express lane ([`crate::express`]) alike.
pub(crate) async fn respond(
    state: &AppState,
    caller: &Caller,
    body: Result<AuthorizeRequest, ApiError>,
) -> Result<AuthorizeAnswer, ApiError> {
    let answer = match body {
        Ok(body) => answer(state, &caller.principal, body).await,
        Err(e) => Err(e),
    };
    let outcome = match &answer {
        Ok(a) if a.allowed() => Outcome::Allow,
        Ok(_) => Outcome::Deny,
        Err(_) => Outcome::Undecided,
    };
    state
        .verifier
        .metrics()
        .decided(DecisionKind::Authorize, outcome, caller.from_cache);
    answer
}

/// The answer to a request's body.
async fn answer(
    state: &AppState,
    principal: &Principal,
    body: AuthorizeRequest,
) -> Result<AuthorizeAnswer, ApiError> {
    let principal_view = principal.view();
    match body {
        AuthorizeRequest::Single(c) => {
            let explain = c.explain;
            let check = parse_check(c, "")?;
            let grants = if explain {
                Some(grants_for_explaining(state, principal).await?)
            } else {
                None
            };
            let result = run(state, principal, check, grants.as_ref()).await?;
            Ok(AuthorizeAnswer::Single(SingleAnswer {
                result,
                principal: principal_view,
            }))
        }
        AuthorizeRequest::Batch(BatchRequest { checks, explain }) => {
            if let Some(i) = checks.iter().position(|c| c.explain) {
                return Err(ApiError::field(
                    &format!("checks[{i}].explain"),
                    "in a batch, explain goes beside checks, not inside one",
                ));
            }
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
            let grants = if explain {
                Some(grants_for_explaining(state, principal).await?)
            } else {
                None
            };
            let mut results = Vec::with_capacity(parsed.len());
            for check in parsed {
                results.push(run(state, principal, check, grants.as_ref()).await?);
            }
            let allowed = results.iter().all(|r| r.allowed);
            Ok(AuthorizeAnswer::Batch(BatchAnswer {
                allowed,
                results,
                principal: principal_view,
            }))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{
        AuthorizeAnswer, CheckResult, ExplainedGrant, Explanation, ReasonView, SingleAnswer,
    };
    use latchkey_core::{AccountId, Permission, TokenId, TokenKind, UserId};
    use latchkey_wire::PrincipalView;

    fn single(
        permission: Permission,
        project_id: Option<i64>,
        reason: Option<&str>,
    ) -> CheckResult {
        CheckResult {
            permission,
            project_id,
            allowed: reason.is_none(),
            reason: reason.map(|message| ReasonView {
                code: "no_grant",
                message: message.to_owned(),
            }),
            explanation: None,
        }
    }

    fn principals() -> [PrincipalView; 2] {
        [
            PrincipalView::new(TokenKind::Service, TokenId(7), AccountId(1), None),
            PrincipalView::new(
                TokenKind::Personal,
                TokenId(i64::MAX),
                AccountId(-3),
                Some(UserId(42)),
            ),
        ]
    }

    /// The hand-written answer is serde's, byte for byte, for every permission of the catalog,
    /// with and without a project, allowed and denied (with a reason that needs escaping), for
    /// both kinds of principal; answers it does not write by hand are serde's by definition.
    #[test]
    fn the_written_answer_is_serde_s() {
        let reasons = [None, Some("no grant gives \"jobs:write\" \\ é \u{1}\n")];
        let mut answers = 0;
        for permission in Permission::all() {
            for project in [None, Some(1), Some(i64::MAX)] {
                for reason in reasons {
                    for principal in principals() {
                        let answer = AuthorizeAnswer::Single(SingleAnswer {
                            result: single(permission, project, reason),
                            principal,
                        });
                        let mut written = Vec::new();
                        answer.write_json(&mut written).unwrap();
                        let serde = serde_json::to_vec(&answer).unwrap();
                        assert_eq!(
                            String::from_utf8(written).unwrap(),
                            String::from_utf8(serde).unwrap()
                        );
                        answers += 1;
                    }
                }
            }
        }
        assert!(answers > 100, "{answers}");
        let mut explained = single(Permission::all().next().unwrap(), None, None);
        explained.explanation = Some(Explanation {
            grants: vec![ExplainedGrant {
                grant: "job_admin:all".into(),
                covers: true,
            }],
        });
        let [principal, _] = principals();
        let answer = AuthorizeAnswer::Single(SingleAnswer {
            result: explained,
            principal,
        });
        let mut written = Vec::new();
        answer.write_json(&mut written).unwrap();
        assert_eq!(written, serde_json::to_vec(&answer).unwrap());
    }
}
