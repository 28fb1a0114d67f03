//! Expiry is kept to the microsecond the store keeps: a token works until its `expires_at` (or a
//! rotated-out token until its `revoke_at`), not a moment after and not a moment before.

use latchkey_server::clock::UnixMicros;
use latchkey_server::{ServerConfig, Verifier};
use serde_json::json;
use std::time::Duration;
use time::OffsetDateTime;

use crate::common::{eventually, grant, spawn_app};

/// Waits until the wall clock has passed `instant`.
async fn wait_until(instant: OffsetDateTime) {
    eventually(&format!("the clock passing {instant}"), async || {
        (OffsetDateTime::now_utc() > instant).then_some(())
    })
    .await;
}

#[tokio::test]
async fn a_token_works_until_its_sub_second_expiry_over_http_and_not_after() {
    let app = spawn_app().await;
    let read_jobs = json!({"permission": "jobs:read"});
    // Each attempt: a token expiring at .900 of a second two seconds ahead, asked about once
    // that whole second has begun. An attempt whose answer comes back only after the expiry (a
    // machine too slow this time) proves nothing and is tried again.
    let mut proved = None;
    for _ in 0..10 {
        let now = OffsetDateTime::now_utc();
        let whole_second = (now + Duration::from_secs(2))
            .replace_nanosecond(0)
            .unwrap();
        let expiry = whole_second + Duration::from_millis(900);
        let (_, token) = app
            .mint_in(app.account, &[grant("job_viewer:all")], Some(expiry))
            .await;
        wait_until(whole_second + Duration::from_millis(50)).await;
        let (status, out) = app.authorize(&token, read_jobs.clone()).await;
        if OffsetDateTime::now_utc() < expiry {
            assert_eq!(
                status, 200,
                "refused before its expiry {expiry} (the whole second had begun): {out}"
            );
            proved = Some((token, expiry));
            break;
        }
    }
    let (token, expiry) = proved.expect("no attempt was answered before its expiry");
    wait_until(expiry).await;
    let (status, out) = app.authorize(&token, read_jobs).await;
    assert_eq!(status, 401, "still works after its expiry {expiry}: {out}");
}

#[tokio::test]
async fn a_token_works_until_the_microsecond_of_its_expiry_and_not_at_it() {
    let app = spawn_app().await;
    let verifier = Verifier::new(app.store.clone(), ServerConfig::default());
    let expiry = (OffsetDateTime::now_utc() + Duration::from_secs(3600))
        .replace_nanosecond(250_000_000)
        .unwrap();
    let (_, token) = app
        .mint_in(app.account, &[grant("job_viewer:all")], Some(expiry))
        .await;
    let at = UnixMicros::of(expiry);
    // Both instants fall in the expiry's whole second.
    let just_before = UnixMicros(at.0 - 1);
    assert_eq!(just_before.secs(), at.secs());
    assert!(
        verifier.authenticate_at(&token, just_before).await.is_ok(),
        "refused a microsecond before its expiry"
    );
    for after in [at, UnixMicros(at.0 + 1)] {
        assert!(
            verifier.authenticate_at(&token, after).await.is_err(),
            "works at {after:?}, at or after its expiry"
        );
    }
}

#[tokio::test]
async fn a_rotated_out_token_works_until_revoke_at_to_the_microsecond() {
    let app = spawn_app().await;
    let verifier = Verifier::new(app.store.clone(), ServerConfig::default());
    let (old, secret) = app.mint(&[grant("job_viewer:all")]).await;
    let new = latchkey_core::TokenFormat::default().generate(latchkey_core::TokenKind::Service);
    let (_, rotated) = app
        .store
        .rotate_service_token(
            &latchkey_store::Actor::operator(),
            latchkey_core::Minter::Operator,
            app.account,
            old,
            time::Duration::hours(1),
            latchkey_store::NewServiceTokenParts {
                uid: &new.uid,
                digest: new.digest,
                hint: &new.hint,
            },
        )
        .await
        .unwrap();
    let revoke_at = UnixMicros::of(rotated.revoke_at.expect("an overlap end"));
    assert!(verifier
        .authenticate_at(&secret, UnixMicros(revoke_at.0 - 1))
        .await
        .is_ok());
    assert!(verifier.authenticate_at(&secret, revoke_at).await.is_err());
}
