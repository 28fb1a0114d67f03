//! IP rules in the store: while the switch is on, a rule change from an unknown address is refused
//! and the operator, at the database, is the way back in.

use latchkey_core::Plan;
use latchkey_store::{Actor, StoreError};

use crate::common::open;

#[tokio::test]
async fn a_rule_change_from_an_unknown_address_is_refused_while_the_switch_is_on() {
    use latchkey_core::{Cidr, RuleType};
    use latchkey_store::{ActorKind, IpRuleInput};
    let db = open().await;
    let op = Actor::operator();
    let account = db
        .store
        .create_account(&op, "A", Plan::Enterprise)
        .await
        .unwrap();
    let office: Vec<Cidr> = vec!["203.0.113.0/24".parse().unwrap()];
    let input = IpRuleInput {
        name: "office",
        description: "",
        rule_type: RuleType::Allow,
        cidrs: &office,
    };
    db.store
        .create_ip_rule(&op, account.id, &input, Some(true))
        .await
        .unwrap();
    let unknown = Actor {
        kind: ActorKind::ServiceToken,
        id: Some(1),
        name: "service token 1".into(),
        ip: None,
        source: "api",
    };
    let more: Vec<Cidr> = vec!["198.51.100.0/24".parse().unwrap()];
    let err = db
        .store
        .create_ip_rule(
            &unknown,
            account.id,
            &IpRuleInput {
                name: "lab",
                cidrs: &more,
                ..input
            },
            None,
        )
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    assert_eq!(
        db.store
            .ip_restrictions(account.id)
            .await
            .unwrap()
            .rules
            .len(),
        1,
        "nothing was added"
    );
    // The operator, at the database, is the way back in.
    db.store
        .create_ip_rule(
            &op,
            account.id,
            &IpRuleInput {
                name: "lab",
                cidrs: &more,
                ..input
            },
            None,
        )
        .await
        .unwrap();
}
