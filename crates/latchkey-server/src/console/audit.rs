//! Account settings → Audit log: the account's entries, newest first, filtered by actor, event
//! and dates, a page of 100 at a time, and the same selection as a CSV file.

use crate::console::caller::ConsoleCaller;
use crate::console::frame::Frame;
use crate::console::pages::{self, percent, render, Refusal};
use crate::console::token_views::when;
use crate::routes::audit::{parse_time, to_csv, MAX_EXPORT};
use crate::state::AppState;
use askama::Template;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use latchkey_store::{AuditEntry, AuditQuery};
use serde::Deserialize;

/// Entries on one page.
const PAGE: i64 = 100;

/// `?actor=&event=&from=&to=&offset=`, as the filter form sends them.
#[derive(Deserialize, Default)]
pub struct Filters {
    #[serde(default)]
    actor: String,
    #[serde(default)]
    event: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    offset: Option<i64>,
}

/// One entry in words.
pub struct EntryRow {
    when: String,
    actor: String,
    actor_kind: String,
    from: String,
    event: String,
    target: String,
    source: String,
    details: String,
}

/// The audit log page.
#[derive(Template)]
#[template(path = "console/audit.html")]
pub struct AuditPage {
    frame: Frame,
    actor: String,
    event: String,
    from: String,
    to: String,
    error: Option<String>,
    entries: Vec<EntryRow>,
    total: i64,
    first: i64,
    last: i64,
    newer: Option<String>,
    older: Option<String>,
    csv: String,
}

fn path(caller: &ConsoleCaller) -> String {
    format!("/console/accounts/{}/audit-log", caller.account().0)
}

/// The store's query for the filters; `Err` names the date that does not read.
fn query(caller: &ConsoleCaller, f: &Filters) -> Result<AuditQuery, String> {
    let day = |name: &str, text: &str, end| {
        (!text.trim().is_empty())
            .then(|| {
                parse_time(name, text.trim(), end)
                    .map_err(|_| format!("Give the “{name}” date as YYYY-MM-DD."))
            })
            .transpose()
    };
    let text = |t: &str| Some(t.trim().to_owned()).filter(|t| !t.is_empty());
    Ok(AuditQuery {
        account_id: Some(caller.account()),
        event_type: text(&f.event),
        actor_name: text(&f.actor),
        since: day("from", &f.from, false)?,
        until: day("to", &f.to, true)?,
        offset: f.offset.unwrap_or(0).max(0),
        limit: PAGE,
        ..AuditQuery::default()
    })
}

/// The filters as a query string (without the offset), for links.
fn filter_query(f: &Filters) -> String {
    format!(
        "actor={}&event={}&from={}&to={}",
        percent(f.actor.trim()),
        percent(f.event.trim()),
        percent(f.from.trim()),
        percent(f.to.trim())
    )
}

fn row(e: &AuditEntry) -> EntryRow {
    let target = match e.target_id {
        Some(id) => format!("{} {id}", e.target_type),
        None => e.target_type.clone(),
    };
    let details = match &e.event_context {
        serde_json::Value::Object(map) if map.is_empty() => String::new(),
        other => other.to_string(),
    };
    EntryRow {
        when: when(e.created_at),
        actor: e.actor_name.clone(),
        actor_kind: e.actor_type.replace('_', " "),
        from: e.actor_ip.clone().unwrap_or_default(),
        event: e.event_type.clone(),
        target,
        source: e.source.clone(),
        details,
    }
}

/// GET the page.
pub async fn page(
    State(state): State<AppState>,
    caller: ConsoleCaller,
    filters: Result<Query<Filters>, QueryRejection>,
) -> Response {
    let f = filters.map(|Query(f)| f).unwrap_or_default();
    let base = path(&caller);
    let filter_text = filter_query(&f);
    let mut page = AuditPage {
        frame: Frame::new(&caller, "Audit log", &base),
        actor: f.actor.trim().to_owned(),
        event: f.event.trim().to_owned(),
        from: f.from.trim().to_owned(),
        to: f.to.trim().to_owned(),
        error: None,
        entries: Vec::new(),
        total: 0,
        first: 0,
        last: 0,
        newer: None,
        older: None,
        csv: format!("{base}.csv?{filter_text}"),
    };
    let q = match query(&caller, &f) {
        Ok(q) => q,
        Err(why) => {
            page.error = Some(why);
            return render(StatusCode::UNPROCESSABLE_ENTITY, &page);
        }
    };
    let store = state.verifier.store();
    let found = async {
        Ok::<_, latchkey_store::StoreError>((
            store.audit_entries(&q).await?,
            store.audit_count(&q).await?,
        ))
    }
    .await;
    let (entries, total) = match found {
        Ok(found) => found,
        Err(e) => return pages::unavailable(e),
    };
    let shown = i64::try_from(entries.len()).unwrap_or(PAGE);
    page.entries = entries.iter().map(row).collect();
    page.total = total;
    page.first = if shown > 0 { q.offset + 1 } else { 0 };
    page.last = q.offset + shown;
    page.newer =
        (q.offset > 0).then(|| format!("{base}?{filter_text}&offset={}", (q.offset - PAGE).max(0)));
    page.older = (q.offset + shown < total)
        .then(|| format!("{base}?{filter_text}&offset={}", q.offset + PAGE));
    render(StatusCode::OK, &page)
}

/// GET the selection as CSV (up to the API's largest export).
pub async fn csv(
    State(state): State<AppState>,
    caller: ConsoleCaller,
    filters: Result<Query<Filters>, QueryRejection>,
) -> Response {
    let f = filters.map(|Query(f)| f).unwrap_or_default();
    let Ok(mut q) = query(&caller, &f) else {
        return pages::refusal(Refusal::Forbidden(
            "The filter's dates do not read; fix them on the audit log page.".into(),
        ));
    };
    q.offset = 0;
    q.limit = MAX_EXPORT;
    let entries = match state.verifier.store().audit_entries(&q).await {
        Ok(entries) => entries,
        Err(e) => return pages::unavailable(e),
    };
    let Ok(body) = to_csv(&entries) else {
        return pages::refusal(Refusal::Unavailable);
    };
    let mut response = (StatusCode::OK, body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    headers.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("attachment; filename=\"audit-log.csv\""),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
