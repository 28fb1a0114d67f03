//! Offering a seat ([`send`]): the invitation is made with a fresh one-time code, and the code
//! goes where the operator chose (`--invite-delivery`) — back to the inviter once, or through
//! the operator's program (`command:PATH`), which gets the invitation as one JSON object on
//! standard input and must exit 0 within ten seconds. Its output is discarded, never logged: it
//! may echo the code. The API and the console invite through here alike.

use latchkey_core::Secret;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::AsyncWriteExt;

/// Offers `email` a `license` seat in `account` (in `groups`), valid `days`, as `actor` with
/// `authority`; the invitation, and its code when the inviter is the one to deliver it.
/// Refused (409) while the operator has not chosen a delivery; a failed delivery withdraws the
/// invitation (503).
#[allow(clippy::too_many_arguments)]
pub async fn send(
    state: &crate::state::AppState,
    actor: &latchkey_store::Actor,
    authority: latchkey_core::Authority<'_>,
    account: latchkey_core::AccountId,
    email: &str,
    license: latchkey_core::License,
    groups: &[latchkey_core::GroupId],
    days: i64,
) -> Result<(latchkey_store::Invite, Option<Secret>), crate::error::ApiError> {
    use crate::config::InviteDelivery;
    use crate::error::ApiError;
    let delivery = state.verifier.config().invite_delivery.clone();
    if delivery == InviteDelivery::Off {
        return Err(ApiError::Conflict(
            "invitations are off on this server: the operator chooses how codes reach people \
             (latchkey serve --invite-delivery caller|command:PATH)"
                .into(),
        ));
    }
    let code = Secret::new(format!(
        "lkinv_{}",
        latchkey_core::token::random_base62(32).expose()
    ));
    let invite = state
        .verifier
        .store()
        .create_invite(
            actor,
            authority,
            account,
            email,
            license,
            groups,
            &latchkey_core::TokenDigest::of(code.expose()),
            latchkey_store::now() + time::Duration::days(days),
        )
        .await?;
    match delivery {
        InviteDelivery::Caller => Ok((invite, Some(code))),
        InviteDelivery::Command(program) => {
            if let Err(why) = run(&program, &invite, &code).await {
                tracing::warn!(invite = invite.id, %why, "invitation code not delivered");
                state
                    .verifier
                    .store()
                    .withdraw_invite(
                        &latchkey_store::Actor::operator(),
                        latchkey_core::Authority::Operator,
                        account,
                        invite.id,
                    )
                    .await?;
                return Err(ApiError::Unavailable(
                    "the invitation could not be delivered; it was withdrawn".into(),
                ));
            }
            Ok((invite, None))
        }
        InviteDelivery::Off => Err(ApiError::NotFound),
    }
}

/// How long the program has.
const DEADLINE: Duration = Duration::from_secs(10);

/// Runs `program` with the invitation on its standard input; `Err` says why delivery failed
/// (never with the code in it).
pub async fn run(
    program: &Path,
    invite: &latchkey_store::Invite,
    code: &Secret,
) -> Result<(), String> {
    let message = Secret::new(
        serde_json::json!({
            "account_id": invite.account_id.0,
            "invite_id": invite.id,
            "email": invite.email,
            "license_type": invite.license.as_str(),
            "code": code.expose(),
            "expires_at": latchkey_wire::timestamp(invite.expires_at),
        })
        .to_string(),
    );
    let mut child = tokio::process::Command::new(program)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", program.display()))?;
    let outcome = tokio::time::timeout(DEADLINE, async {
        if let Some(mut stdin) = child.stdin.take() {
            stdin
                .write_all(message.expose().as_bytes())
                .await
                .map_err(|e| format!("cannot write to {}: {e}", program.display()))?;
        }
        child
            .wait()
            .await
            .map_err(|e| format!("{} failed: {e}", program.display()))
    })
    .await;
    match outcome {
        Err(_) => Err(format!(
            "{} took longer than {DEADLINE:?}",
            program.display()
        )),
        Ok(Err(e)) => Err(e),
        Ok(Ok(status)) if status.success() => Ok(()),
        Ok(Ok(status)) => Err(format!("{} exited with {status}", program.display())),
    }
}
