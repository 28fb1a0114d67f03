//! What every change to an account's IP rule set must leave true, decided from the rules alone:
//! no range on both the allow and the deny list, and — while the rules are enforced — the address
//! of whoever made the change still let in, so that no one shuts themselves out by mistake. The
//! store runs these checks inside the change's transaction and rolls it back when one fails.

use crate::network::{Cidr, IpRules, RuleType};
use std::net::IpAddr;

/// One rule, as the checks read it.
#[derive(Clone, Copy, Debug)]
pub struct NamedRule<'a> {
    /// Its name (the refusal names it).
    pub name: &'a str,
    /// Allow or deny.
    pub rule_type: RuleType,
    /// Its ranges.
    pub cidrs: &'a [Cidr],
}

/// Who made the change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Changer {
    /// The operator at the command line: no address, and the way back in.
    Operator,
    /// A caller over the network, from this address if it is known.
    Caller(Option<IpAddr>),
}

/// Why a rule set is refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RuleSetError {
    /// A range is on both lists.
    #[error(
        "{cidr} is on the allow list (rule \"{allow}\") and the deny list (rule \"{deny}\"); a \
         range may be on one list only"
    )]
    OnBothLists {
        /// The range.
        cidr: Cidr,
        /// The allow rule holding it.
        allow: String,
        /// The deny rule holding it.
        deny: String,
    },
    /// The rules are enforced and the caller's address is unknown: the change cannot be shown to
    /// leave them a way in.
    #[error(
        "your client address is unknown, so this change could lock you out; make it from an \
         address the rules let in, or as the operator"
    )]
    UnknownAddress,
    /// The rules are enforced and would refuse the caller's own address.
    #[error("this change would lock out your own address {0}; allow it first")]
    LocksOut(IpAddr),
}

/// The rules' ranges, as the verifier enforces them.
pub fn enforced(rules: &[NamedRule<'_>]) -> IpRules {
    IpRules::new(
        rules
            .iter()
            .flat_map(|r| r.cidrs.iter().map(move |c| (r.rule_type, *c))),
    )
}

/// Checks the rule set a change leaves: `rules` (active ones), whether they are `enforced`, and
/// who made the change.
pub fn check_rule_set(
    rules: &[NamedRule<'_>],
    is_enforced: bool,
    changer: Changer,
) -> Result<(), RuleSetError> {
    for allow in rules.iter().filter(|r| r.rule_type == RuleType::Allow) {
        for deny in rules.iter().filter(|r| r.rule_type == RuleType::Deny) {
            if let Some(cidr) = allow.cidrs.iter().find(|c| deny.cidrs.contains(c)) {
                return Err(RuleSetError::OnBothLists {
                    cidr: *cidr,
                    allow: allow.name.to_owned(),
                    deny: deny.name.to_owned(),
                });
            }
        }
    }
    match changer {
        _ if !is_enforced => Ok(()),
        Changer::Operator => Ok(()),
        Changer::Caller(None) => Err(RuleSetError::UnknownAddress),
        Changer::Caller(Some(ip)) if !enforced(rules).permits(ip) => {
            Err(RuleSetError::LocksOut(ip))
        }
        Changer::Caller(Some(_)) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cidrs(text: &[&str]) -> Vec<Cidr> {
        text.iter().map(|c| c.parse().unwrap()).collect()
    }

    #[test]
    fn a_range_on_both_lists_is_refused_naming_both_rules() {
        let office = cidrs(&["10.0.0.0/8"]);
        let banned = cidrs(&["192.0.2.0/24", "10.0.0.0/8"]);
        let rules = [
            NamedRule {
                name: "office",
                rule_type: RuleType::Allow,
                cidrs: &office,
            },
            NamedRule {
                name: "banned",
                rule_type: RuleType::Deny,
                cidrs: &banned,
            },
        ];
        let err = check_rule_set(&rules, false, Changer::Operator).unwrap_err();
        assert_eq!(
            err,
            RuleSetError::OnBothLists {
                cidr: office[0],
                allow: "office".into(),
                deny: "banned".into()
            }
        );
    }

    #[test]
    fn while_enforced_the_changer_must_stay_let_in_unless_operator() {
        let office = cidrs(&["10.0.0.0/8"]);
        let rules = [NamedRule {
            name: "office",
            rule_type: RuleType::Allow,
            cidrs: &office,
        }];
        let inside: IpAddr = "10.1.2.3".parse().unwrap();
        let outside: IpAddr = "192.0.2.7".parse().unwrap();
        assert_eq!(
            check_rule_set(&rules, true, Changer::Caller(Some(inside))),
            Ok(())
        );
        assert_eq!(
            check_rule_set(&rules, true, Changer::Caller(Some(outside))),
            Err(RuleSetError::LocksOut(outside))
        );
        assert_eq!(
            check_rule_set(&rules, true, Changer::Caller(None)),
            Err(RuleSetError::UnknownAddress)
        );
        assert_eq!(check_rule_set(&rules, true, Changer::Operator), Ok(()));
        assert_eq!(
            check_rule_set(&rules, false, Changer::Caller(Some(outside))),
            Ok(())
        );
    }
}
