//! `GET /api/v3/accounts/{account_id}/audit-logs/`: the account's audit log, newest first,
//! filtered by event, actor, target and time (`logged_at_start` / `logged_at_end`, as dbt Cloud),
//! as the JSON envelope or, with `?format=csv`, as a CSV export.

use crate::envelope::{page_window, Envelope, DEFAULT_LIMIT, MAX_LIMIT};
use crate::error::ApiError;
use crate::extract::ApiQuery;
use crate::routes::caller::Caller;
use crate::state::AppState;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use latchkey_store::{AuditEntry, AuditQuery};
use latchkey_wire as wire;
use serde::Deserialize;
use time::OffsetDateTime;

/// Largest CSV export.
pub const MAX_EXPORT: i64 = 100_000;

/// The query string.
#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Only entries of this event (`service_token.created`, `service_token.revoked`, …).
    #[serde(default)]
    #[param(nullable = false, example = "service_token.created")]
    event_type: Option<String>,
    /// Only entries by this kind of actor: `service_token`, `personal_access_token`, `user`,
    /// `operator` or `system`.
    #[serde(default)]
    #[param(nullable = false, example = "service_token")]
    actor_type: Option<String>,
    /// Only entries by this actor.
    #[serde(default)]
    #[param(nullable = false)]
    actor_id: Option<i64>,
    /// Only entries about this kind of object.
    #[serde(default)]
    #[param(nullable = false)]
    target_type: Option<String>,
    /// Only entries about this object.
    #[serde(default)]
    #[param(nullable = false)]
    target_id: Option<i64>,
    /// `YYYY-MM-DD` (from the start of that day, UTC) or RFC 3339.
    #[serde(default)]
    #[param(schema_with = latchkey_wire::value_sets::day_or_time, example = "2026-01-01")]
    logged_at_start: Option<String>,
    /// `YYYY-MM-DD` (through the end of that day, UTC) or RFC 3339 (exclusive).
    #[serde(default)]
    #[param(schema_with = latchkey_wire::value_sets::day_or_time, example = "2026-01-31")]
    logged_at_end: Option<String>,
    /// `json` (the default) or `csv` (the whole selection as a CSV attachment).
    #[serde(default)]
    #[param(schema_with = export_format, example = "csv")]
    format: Option<String>,
    /// Entries to skip (default 0).
    #[serde(default)]
    #[param(nullable = false, minimum = 0)]
    offset: Option<i64>,
    /// Page size: 1 to 1000 for JSON (default 100), 1 to 100000 for CSV (default 10000).
    #[serde(default)]
    #[param(nullable = false, minimum = 1, maximum = 100_000)]
    limit: Option<i64>,
}

/// `format`: `json` or `csv`.
fn export_format() -> utoipa::openapi::Object {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::Type::String)
        .enum_values(Some(["json", "csv"]))
        .build()
}

/// Parses a day or an instant; a day given as an end means the end of that day.
pub fn parse_time(field: &str, text: &str, end_of_day: bool) -> Result<OffsetDateTime, ApiError> {
    use time::format_description::well_known::Rfc3339;
    if let Ok(t) = OffsetDateTime::parse(text, &Rfc3339) {
        return Ok(t);
    }
    let day = time::Date::parse(
        text,
        time::macros::format_description!("[year]-[month]-[day]"),
    )
    .map_err(|_| {
        ApiError::field(
            field,
            format!("{field} must be YYYY-MM-DD or an RFC 3339 time"),
        )
    })?;
    let day = if end_of_day {
        day.next_day().unwrap_or(day)
    } else {
        day
    };
    Ok(day.midnight().assume_utc())
}

/// The entries, as JSON or CSV.
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Response, ApiError> {
    let csv = match q.format.as_deref() {
        None | Some("json") => false,
        Some("csv") => true,
        Some(_) => return Err(ApiError::field("format", "format must be json or csv")),
    };
    let (default_limit, max) = if csv {
        (10_000, MAX_EXPORT)
    } else {
        (DEFAULT_LIMIT, MAX_LIMIT)
    };
    let (offset, limit) = page_window(q.offset, q.limit, default_limit, max)?;
    let query = AuditQuery {
        account_id: Some(caller.account()),
        event_type: q.event_type,
        actor_type: q.actor_type,
        actor_id: q.actor_id,
        target_type: q.target_type,
        target_id: q.target_id,
        since: q
            .logged_at_start
            .as_deref()
            .map(|t| parse_time("logged_at_start", t, false))
            .transpose()?,
        until: q
            .logged_at_end
            .as_deref()
            .map(|t| parse_time("logged_at_end", t, true))
            .transpose()?,
        actor_name: None,
        offset,
        limit,
    };
    let store = state.verifier.store();
    let entries = store.audit_entries(&query).await?;
    if csv {
        let body = to_csv(&entries)?;
        return Ok((
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
                (
                    header::CONTENT_DISPOSITION,
                    "attachment; filename=\"audit-log.csv\"",
                ),
            ],
            body,
        )
            .into_response());
    }
    let total = store.audit_count(&query).await?;
    Ok(Envelope::page(
        entries.iter().map(wire::audit_entry).collect(),
        offset,
        limit,
        total,
    )
    .into_response())
}

/// One CSV cell's text, never read as a formula by a spreadsheet (OWASP's CSV injection
/// advice: a leading `=`, `+`, `-`, `@`, tab or carriage return gets a `'`). Quoting is the
/// `csv` writer's.
fn defused(text: &str) -> std::borrow::Cow<'_, str> {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}").into()
    } else {
        text.into()
    }
}

/// The entries as CSV (RFC 4180, a header row first).
pub fn to_csv(entries: &[AuditEntry]) -> Result<String, ApiError> {
    let mut out = csv::Writer::from_writer(Vec::new());
    let failed = |e: csv::Error| ApiError::Internal(format!("writing CSV: {e}"));
    out.write_record([
        "id",
        "created_at",
        "account_id",
        "actor_type",
        "actor_id",
        "actor",
        "actor_ip",
        "event_type",
        "target_type",
        "target_id",
        "source",
        "event_context",
    ])
    .map_err(failed)?;
    let opt = |v: Option<i64>| v.map(|v| v.to_string()).unwrap_or_default();
    for e in entries {
        let row = [
            e.id.to_string(),
            wire::timestamp(e.created_at),
            opt(e.account_id.map(|a| a.0)),
            e.actor_type.clone(),
            opt(e.actor_id),
            e.actor_name.clone(),
            e.actor_ip.clone().unwrap_or_default(),
            e.event_type.clone(),
            e.target_type.clone(),
            opt(e.target_id),
            e.source.clone(),
            e.event_context.to_string(),
        ];
        out.write_record(row.iter().map(|c| defused(c).into_owned()))
            .map_err(failed)?;
    }
    let bytes = out
        .into_inner()
        .map_err(|e| ApiError::Internal(format!("writing CSV: {e}")))?;
    String::from_utf8(bytes).map_err(|e| ApiError::Internal(format!("writing CSV: {e}")))
}

#[cfg(test)]
mod tests {
    use super::to_csv;
    use latchkey_store::AuditEntry;

    fn entry(actor_name: &str) -> AuditEntry {
        AuditEntry {
            id: 1,
            created_at: time::OffsetDateTime::UNIX_EPOCH,
            account_id: None,
            actor_type: "operator".into(),
            actor_id: None,
            actor_name: actor_name.into(),
            actor_ip: None,
            event_type: "e".into(),
            target_type: "t".into(),
            target_id: None,
            source: "cli".into(),
            event_context: serde_json::json!({}),
        }
    }

    /// The actor cell of a one-entry export.
    fn actor_cell(name: &str) -> String {
        let text = to_csv(&[entry(name)]).unwrap();
        let row = text.lines().skip(1).collect::<Vec<_>>().join("\n");
        row.split_once(",,operator,,")
            .unwrap()
            .1
            .rsplit_once(",,e,t,,cli,")
            .unwrap()
            .0
            .to_owned()
    }

    #[test]
    fn csv_cells_are_quoted_and_never_formulas() {
        assert_eq!(actor_cell("plain"), "plain");
        assert_eq!(actor_cell("a,b"), "\"a,b\"");
        assert_eq!(actor_cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(
            actor_cell("=HYPERLINK(\"x\")"),
            "\"'=HYPERLINK(\"\"x\"\")\""
        );
        assert_eq!(actor_cell("+1"), "'+1");
        assert_eq!(actor_cell("line\nbreak"), "\"line\nbreak\"");
    }
}
