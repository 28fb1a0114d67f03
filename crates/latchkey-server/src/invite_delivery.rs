//! Delivering an invitation's code through the operator's program (`--invite-delivery
//! command:PATH`): the program gets the invitation as one JSON object on standard input and
//! must exit 0 within ten seconds. Its output is discarded, never logged: it may echo the code.

use latchkey_core::Secret;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::AsyncWriteExt;

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
