//! Network fences: CIDR ranges, an account's IP rules, and a token's own allowlist.
//!
//! An account's rules follow dbt Cloud: with the rule set enabled, an address is allowed when
//! the most specific range that contains it is on the allow list. With only deny rules, every
//! address outside them is allowed; as soon as one allow rule exists, every address outside the
//! allow ranges is denied. A token may also carry its own allowlist, which must pass as well.

use ipnet::IpNet;
use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

/// An IPv4 or IPv6 range in canonical form (no host bits set). IPv4-mapped IPv6 ranges
/// (`::ffff:10.1.1.0/120`) are stored as the IPv4 range they mean (`10.1.1.0/24`), since
/// IPv4-mapped client addresses are matched as IPv4. The range arithmetic is `ipnet`'s.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Cidr(IpNet);

/// Why a CIDR string was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CidrError {
    /// Not an address, or not `ADDRESS/PREFIX`.
    #[error("`{0}` is not an IPv4 or IPv6 range: expected e.g. 203.0.113.0/24 or 2001:db8::/32")]
    Syntax(String),
    /// The prefix is longer than the address.
    #[error("`{0}` has a prefix longer than its address")]
    Prefix(String),
    /// Bits are set after the prefix.
    #[error("`{given}` has host bits set; the range is {canonical}")]
    HostBits {
        /// What was given.
        given: String,
        /// The range it most likely means.
        canonical: String,
    },
}

/// `::ffff:0:0/96`, where IPv6 carries IPv4 addresses.
const MAPPED_PREFIX: u8 = 96;

impl Cidr {
    /// The range holding exactly one address.
    pub fn host(ip: IpAddr) -> Cidr {
        let ip = ip.to_canonical();
        let prefix = if ip.is_ipv6() { 128 } else { 32 };
        Cidr(IpNet::new_assert(ip, prefix))
    }

    /// The prefix length.
    pub fn prefix(&self) -> u8 {
        self.0.prefix_len()
    }

    /// Whether this is an IPv6 range.
    pub fn is_v6(&self) -> bool {
        matches!(self.0, IpNet::V6(_))
    }

    /// Whether the range holds `ip` (IPv4-mapped IPv6 addresses count as IPv4).
    #[inline]
    pub fn contains(&self, ip: IpAddr) -> bool {
        self.0.contains(&ip.to_canonical())
    }
}

/// An IPv6 range inside `::ffff:0:0/96`, as the IPv4 range it stands for.
fn unmapped(net: IpNet) -> IpNet {
    match net {
        IpNet::V6(v6) if v6.prefix_len() >= MAPPED_PREFIX => match v6.network().to_ipv4_mapped() {
            Some(v4) => IpNet::new_assert(IpAddr::V4(v4), v6.prefix_len() - MAPPED_PREFIX),
            None => net,
        },
        _ => net,
    }
}

impl FromStr for Cidr {
    type Err = CidrError;

    /// `ADDRESS/PREFIX`, or a bare address for one host. The prefix is 1 to 3 decimal digits.
    fn from_str(s: &str) -> Result<Cidr, CidrError> {
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let ip: IpAddr = addr.parse().map_err(|_| CidrError::Syntax(s.into()))?;
        let width = if ip.is_ipv6() { 128 } else { 32 };
        let prefix = match prefix {
            None => width,
            Some(p) if !p.is_empty() && p.len() <= 3 && p.bytes().all(|b| b.is_ascii_digit()) => {
                p.parse::<u8>().map_err(|_| CidrError::Prefix(s.into()))?
            }
            Some(_) => return Err(CidrError::Syntax(s.into())),
        };
        let net = IpNet::new(ip, prefix).map_err(|_| CidrError::Prefix(s.into()))?;
        let canonical = Cidr(unmapped(net.trunc()));
        if net.trunc() != net {
            return Err(CidrError::HostBits {
                given: s.into(),
                canonical: canonical.to_string(),
            });
        }
        Ok(canonical)
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

/// Whether an account rule allows or denies its ranges (dbt Cloud's `type` 1 and 2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RuleType {
    /// Type 1.
    Allow,
    /// Type 2.
    Deny,
}

impl RuleType {
    /// dbt Cloud's number for it.
    pub fn code(self) -> i64 {
        match self {
            RuleType::Allow => 1,
            RuleType::Deny => 2,
        }
    }

    /// From dbt Cloud's number.
    pub fn from_code(code: i64) -> Option<RuleType> {
        match code {
            1 => Some(RuleType::Allow),
            2 => Some(RuleType::Deny),
            _ => None,
        }
    }
}

/// An account's enabled IP rules, flattened into two lists of ranges.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct IpRules {
    allow: Vec<Cidr>,
    deny: Vec<Cidr>,
}

impl IpRules {
    /// The rules from `(type, range)` pairs.
    pub fn new(ranges: impl IntoIterator<Item = (RuleType, Cidr)>) -> IpRules {
        let mut rules = IpRules::default();
        for (t, c) in ranges {
            match t {
                RuleType::Allow => rules.allow.push(c),
                RuleType::Deny => rules.deny.push(c),
            }
        }
        rules
    }

    /// Whether the rules let `ip` in: the most specific range containing it decides (a tie
    /// cannot happen, since one range may not be on both lists, but would deny); an address in
    /// no range is allowed only when there are no allow rules.
    pub fn permits(&self, ip: IpAddr) -> bool {
        let best = |list: &[Cidr]| {
            list.iter()
                .filter(|c| c.contains(ip))
                .map(Cidr::prefix)
                .max()
        };
        match (best(&self.allow), best(&self.deny)) {
            (Some(a), Some(d)) => a > d,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (None, None) => self.allow.is_empty(),
        }
    }
}

/// Which fence refused an address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NetworkDenial {
    /// The account's IP rules.
    Account,
    /// The token's own allowlist.
    Token,
}

/// Every fence a principal's requests must pass; empty means none.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct NetworkPolicy {
    /// The account's rules, when its rule set is enabled.
    pub account: Option<IpRules>,
    /// The token's own allowlist, when it has one.
    pub token: Option<Box<[Cidr]>>,
}

impl NetworkPolicy {
    /// Whether there is any fence at all.
    pub fn is_open(&self) -> bool {
        self.account.is_none() && self.token.is_none()
    }

    /// Checks a client address against both fences. With a fence in place, an unknown address
    /// is refused.
    pub fn check(&self, ip: Option<IpAddr>) -> Result<(), NetworkDenial> {
        if let Some(rules) = &self.account {
            if !ip.is_some_and(|ip| rules.permits(ip)) {
                return Err(NetworkDenial::Account);
            }
        }
        if let Some(list) = &self.token {
            if !ip.is_some_and(|ip| list.iter().any(|c| c.contains(ip))) {
                return Err(NetworkDenial::Token);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(s: &str) -> Cidr {
        s.parse().unwrap()
    }
    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn cidrs_parse_canonically_and_refuse_host_bits() {
        assert_eq!(c("10.0.0.0/8").to_string(), "10.0.0.0/8");
        assert_eq!(c("203.0.113.7").to_string(), "203.0.113.7/32");
        assert_eq!(c("2001:db8::/32").to_string(), "2001:db8::/32");
        assert_eq!(c("0.0.0.0/0").to_string(), "0.0.0.0/0");
        assert!(matches!(
            "10.1.0.0/8".parse::<Cidr>(),
            Err(CidrError::HostBits { canonical, .. }) if canonical == "10.0.0.0/8"
        ));
        for bad in [
            "10.0.0.0/33",
            "::/129",
            "10.0.0/8",
            "x",
            "10.0.0.0/",
            "10.0.0.0/+8",
            "",
        ] {
            assert!(bad.parse::<Cidr>().is_err(), "{bad}");
        }
    }

    #[test]
    fn ipv4_mapped_ipv6_ranges_are_the_ipv4_ranges_they_mean() {
        let mapped = c("::ffff:10.1.1.0/120");
        assert_eq!(mapped, c("10.1.1.0/24"));
        assert_eq!(mapped.to_string(), "10.1.1.0/24");
        assert!(mapped.contains(ip("10.1.1.9")));
        assert!(mapped.contains(ip("::ffff:10.1.1.9")));
        assert!(!mapped.contains(ip("10.1.2.9")));
        assert_eq!(c("::ffff:192.0.2.7").to_string(), "192.0.2.7/32");
        assert!(matches!(
            "::ffff:10.1.1.1/120".parse::<Cidr>(),
            Err(CidrError::HostBits { canonical, .. }) if canonical == "10.1.1.0/24"
        ));
    }

    #[test]
    fn ipv4_mapped_ipv6_peers_match_ipv4_ranges() {
        assert!(c("127.0.0.0/8").contains(ip("::ffff:127.0.0.1")));
        assert!(!c("::/0").contains(ip("127.0.0.1")));
        assert!(c("0.0.0.0/0").contains(ip("192.0.2.1")));
    }

    #[test]
    fn the_most_specific_range_wins() {
        let r = IpRules::new([
            (RuleType::Deny, c("10.0.0.0/8")),
            (RuleType::Allow, c("10.1.0.0/16")),
            (RuleType::Deny, c("10.1.2.0/24")),
        ]);
        assert!(!r.permits(ip("10.9.9.9")));
        assert!(r.permits(ip("10.1.9.9")));
        assert!(!r.permits(ip("10.1.2.3")));
        // Allow rules exist, so an address in no range is denied.
        assert!(!r.permits(ip("192.0.2.1")));
        let deny_only = IpRules::new([(RuleType::Deny, c("10.0.0.0/8"))]);
        assert!(deny_only.permits(ip("192.0.2.1")));
        assert!(IpRules::default().permits(ip("192.0.2.1")));
    }

    #[test]
    fn a_policy_needs_both_fences_and_a_known_address() {
        let p = NetworkPolicy {
            account: Some(IpRules::new([(RuleType::Allow, c("10.0.0.0/8"))])),
            token: Some(vec![c("10.1.0.0/16")].into()),
        };
        assert_eq!(p.check(Some(ip("10.1.1.1"))), Ok(()));
        assert_eq!(p.check(Some(ip("10.2.1.1"))), Err(NetworkDenial::Token));
        assert_eq!(p.check(Some(ip("11.0.0.1"))), Err(NetworkDenial::Account));
        assert_eq!(p.check(None), Err(NetworkDenial::Account));
        assert_eq!(NetworkPolicy::default().check(None), Ok(()));
    }
}
