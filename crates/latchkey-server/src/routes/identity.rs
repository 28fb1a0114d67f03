//! Who am I, and the constants a client needs (`GET /api/v2/whoami/`, `GET /api/v2/constants/`).

use crate::envelope::Envelope;
use crate::routes::authorize::PrincipalView;
use crate::routes::table::Caller;
use latchkey_core::catalog;
use serde_json::{json, Map, Value};

/// The calling principal.
pub async fn whoami(Caller(principal): Caller) -> Envelope {
    Envelope::ok(json!({ "principal": PrincipalView::of(&principal) }))
}

/// `permissions_sets`: every permission set's slug and label, as dbt Cloud's constants endpoint.
pub async fn constants(_: Caller) -> Envelope {
    let sets: Map<String, Value> = catalog()
        .sets()
        .map(|s| (s.slug().to_owned(), Value::String(s.label().to_owned())))
        .collect();
    Envelope::ok(json!({ "permissions_sets": sets }))
}
