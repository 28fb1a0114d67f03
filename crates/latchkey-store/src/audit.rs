//! The one audit writer (called inside every command's transaction) and the audit-log reader.

use crate::records::{Actor, AuditEntry};
use crate::{Store, StoreError};
use latchkey_core::AccountId;
use sqlx::{AnyConnection, Row};
use time::OffsetDateTime;

/// The WHERE clause shared by reading and counting; parameters ?1-?9 in `bind_all!` order.
const FILTERS: &str = "($1 IS NULL OR account_id = $1) AND ($2 IS NULL OR event_type = $2)
     AND ($3 IS NULL OR actor_type = $3) AND ($4 IS NULL OR actor_id = $4)
     AND ($5 IS NULL OR target_type = $5) AND ($6 IS NULL OR target_id = $6)
     AND ($7 IS NULL OR created_at >= $7) AND ($8 IS NULL OR created_at < $8)
     AND ($9 IS NULL OR actor_name = $9)";

/// Binds the filters of [`FILTERS`], in order; works for both `query` and `query_scalar`.
macro_rules! bind_all {
    ($query:expr, $q:expr) => {
        $query
            .bind($q.account_id.map(|a| a.0))
            .bind(&$q.event_type)
            .bind(&$q.actor_type)
            .bind($q.actor_id)
            .bind(&$q.target_type)
            .bind($q.target_id)
            .bind($q.since.map(crate::db_time::db_time))
            .bind($q.until.map(crate::db_time::db_time))
            .bind(&$q.actor_name)
    };
}

/// One audit entry as a command writes it: what happened, to what, in which account, when; the
/// actor is the command's own.
pub(crate) struct AuditEvent<'a> {
    /// The account concerned (none for an operator's action outside any account).
    pub account_id: Option<AccountId>,
    /// What happened, as dbt Cloud names it (`service_token.created`, `group.user.removed`, …).
    pub event_type: &'a str,
    /// The kind of thing it happened to (`service_token`, `group`, `invite`, …).
    pub target_type: &'a str,
    /// Which one.
    pub target_id: Option<i64>,
    /// The details (what changed from and to).
    pub context: serde_json::Value,
    /// When: the command's own time, the same for every row it writes.
    pub at: OffsetDateTime,
}

/// Appends `event`, done by `actor`, on the command's own connection, inside its transaction.
pub(crate) async fn record(
    conn: &mut AnyConnection,
    actor: &Actor,
    event: AuditEvent<'_>,
) -> Result<(), StoreError> {
    let AuditEvent {
        account_id,
        event_type,
        target_type,
        target_id,
        context,
        at,
    } = event;
    sqlx::query(
        "INSERT INTO audit_log (account_id, actor_type, actor_id, actor_name, actor_ip, event_type,
                                target_type, target_id, event_context, source, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(account_id.map(|a| a.0))
    .bind(actor.kind.as_str())
    .bind(actor.id)
    .bind(&actor.name)
    .bind(&actor.ip)
    .bind(event_type)
    .bind(target_type)
    .bind(target_id)
    .bind(context.to_string())
    .bind(actor.source)
    .bind(crate::db_time::db_time(at))
    .execute(conn)
    .await?;
    Ok(())
}

/// Filters for reading the audit log.
#[derive(Clone, Debug, Default)]
pub struct AuditQuery {
    /// Only this account's entries.
    pub account_id: Option<AccountId>,
    /// Only this event type.
    pub event_type: Option<String>,
    /// Only this kind of actor (`service_token`, `operator`, …).
    pub actor_type: Option<String>,
    /// Only this actor id.
    pub actor_id: Option<i64>,
    /// Only this kind of target (`service_token`, `group`, …).
    pub target_type: Option<String>,
    /// Only this target id.
    pub target_id: Option<i64>,
    /// Only entries at or after this time.
    pub since: Option<OffsetDateTime>,
    /// Only entries before this time.
    pub until: Option<OffsetDateTime>,
    /// Only this actor, by name (a token's name, a user's e-mail, `operator`).
    pub actor_name: Option<String>,
    /// Skip this many (newest first).
    pub offset: i64,
    /// At most this many.
    pub limit: i64,
}

impl Store {
    /// How many entries match the filters (ignoring offset and limit).
    pub async fn audit_count(&self, q: &AuditQuery) -> Result<i64, StoreError> {
        let sql = format!("SELECT COUNT(*) FROM audit_log WHERE {FILTERS}");
        Ok(bind_all!(sqlx::query_scalar(&sql), q)
            .fetch_one(&self.pool)
            .await?)
    }

    /// Reads audit entries, newest first.
    pub async fn audit_entries(&self, q: &AuditQuery) -> Result<Vec<AuditEntry>, StoreError> {
        let sql = format!(
            "SELECT id, account_id, actor_type, actor_id, actor_name, actor_ip, event_type, target_type,
                    target_id, event_context, source, created_at
             FROM audit_log WHERE {FILTERS} ORDER BY id DESC LIMIT $10 OFFSET $11"
        );
        let rows = bind_all!(sqlx::query(&sql), q)
            .bind(if q.limit > 0 { q.limit } else { 100 })
            .bind(q.offset.max(0))
            .fetch_all(&self.pool)
            .await?;
        rows.into_iter()
            .map(|r| {
                let context: String = r.try_get("event_context")?;
                Ok(AuditEntry {
                    id: r.try_get("id")?,
                    account_id: r.try_get::<Option<i64>, _>("account_id")?.map(AccountId),
                    actor_type: r.try_get("actor_type")?,
                    actor_id: r.try_get("actor_id")?,
                    actor_name: r.try_get("actor_name")?,
                    actor_ip: r.try_get("actor_ip")?,
                    event_type: r.try_get("event_type")?,
                    target_type: r.try_get("target_type")?,
                    target_id: r.try_get("target_id")?,
                    event_context: serde_json::from_str(&context)
                        .unwrap_or(serde_json::Value::Null),
                    source: r.try_get("source")?,
                    created_at: crate::db_time::time_at(&r, "created_at")?,
                })
            })
            .collect()
    }
}
