//! `POST /api/v1/credentials/revoke`: anyone who finds a leaked Latchkey token may report it,
//! as with GitHub's credential-revocation API. Up to 1000 secrets per request, rate limited per
//! address; the answer never says which secrets were real.

use crate::envelope::Envelope;
use crate::error::ApiError;
use crate::extract::{ApiJson, ClientIp};
use crate::state::AppState;
use axum::extract::State;
use serde::Deserialize;

/// Most secrets in one report.
pub const MAX_CREDENTIALS: usize = 1000;

/// `{"credentials": ["lksvc_…", …]}`.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = CredentialReport)]
pub struct ReportBody {
    /// The leaked tokens, 1 to 1000 of them.
    #[schema(example = json!(["lksvc_…"]), min_items = 1, max_items = 1000)]
    credentials: Vec<String>,
}

/// Revokes the real, active tokens among the reported ones; answers 202 whatever they were.
pub async fn revoke(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    ApiJson(body): ApiJson<ReportBody>,
) -> Result<Envelope, ApiError> {
    if let Some(ip) = ip {
        state
            .leak_reports
            .hit(ip, crate::verifier::now_unix())
            .map_err(ApiError::TooManyRequests)?;
    }
    if body.credentials.is_empty() || body.credentials.len() > MAX_CREDENTIALS {
        return Err(ApiError::field(
            "credentials",
            format!("credentials must hold 1 to {MAX_CREDENTIALS} tokens"),
        ));
    }
    let format = &state.verifier.config().token_format;
    let reported: Vec<_> = body
        .credentials
        .iter()
        .filter_map(|c| format.parse(c.trim()).ok())
        .map(|p| (p.kind, p.digest))
        .collect();
    let revoked = state
        .verifier
        .store()
        .revoke_reported(ip.map(|i| i.to_string()), &reported)
        .await?;
    tracing::info!(
        received = body.credentials.len(),
        revoked,
        "leaked-credential report"
    );
    Ok(Envelope::accepted(latchkey_wire::ReportReceiptView {
        received: body.credentials.len(),
    }))
}
