//! Leaked-credential reports: every active token among the reported digests is revoked at once.

use crate::audit::{record, AuditEvent};
use crate::changes::{append, ChangeKind};
use crate::records::*;
use crate::tokens::service::revoke_in;
use crate::{now, Store, StoreError};
use latchkey_core::{AccountId, TokenDigest, TokenId, TokenKind};
use serde_json::json;

impl Store {
    /// Revokes every active token among reported digests (a leaked-credential report), audited
    /// in each token's account with the reason and the reporter's address; returns how many were
    /// revoked (for the log, never for the reporter). One transaction for the whole report.
    pub async fn revoke_reported(
        &self,
        reporter_ip: Option<String>,
        reported: &[(TokenKind, TokenDigest)],
    ) -> Result<usize, StoreError> {
        let actor = Actor {
            kind: crate::records::ActorKind::System,
            id: None,
            name: "leaked-credential report".into(),
            ip: reporter_ip,
            source: "api",
        };
        let mut tx = self.write().await?;
        let mut revoked = 0;
        for (kind, digest) in reported {
            let table = match kind {
                TokenKind::Service => "service_tokens",
                TokenKind::Personal => "personal_tokens",
            };
            let found: Option<(i64, i64)> = sqlx::query_as(&format!(
                "SELECT id, account_id FROM {table} WHERE token_digest = $1 AND state = 1"
            ))
            .bind(&digest.0[..])
            .fetch_optional(&mut *tx)
            .await?;
            let Some((id, account)) = found else { continue };
            let account = AccountId(account);
            match kind {
                TokenKind::Service => revoke_in(&mut tx, &actor, account, TokenId(id)).await?,
                TokenKind::Personal => {
                    let at = now();
                    sqlx::query(
                        "UPDATE personal_tokens SET state = 2, updated_at = $1 WHERE id = $2",
                    )
                    .bind(crate::db_time::db_time(at))
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                    let ctx = json!({"reason": "reported as leaked"});
                    record(
                        &mut tx,
                        &actor,
                        AuditEvent {
                            account_id: Some(account),
                            event_type: "account_scoped_pat.deleted",
                            target_type: "personal_access_token",
                            target_id: Some(id),
                            context: ctx,
                            at,
                        },
                    )
                    .await?;
                    append(&mut tx, account, ChangeKind::Token(*digest)).await?;
                }
            }
            revoked += 1;
        }
        let ctx = json!({"received": reported.len(), "revoked": revoked});
        record(
            &mut tx,
            &actor,
            AuditEvent {
                account_id: None,
                event_type: "credentials.revoke_reported",
                target_type: "credential_report",
                target_id: None,
                context: ctx,
                at: now(),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(revoked)
    }
}
