//! The CIDR parser on arbitrary input. Parsing never panics; a parsed range prints as text that
//! parses back to the same range and holds its own network address; a range refused for host
//! bits suggests a canonical range that parses and holds the address given (IPv4-mapped IPv6
//! addresses are matched as IPv4, so an IPv6 range shorter than /96 never holds them).

#![no_main]

use latchkey_core::{Cidr, CidrError};
use libfuzzer_sys::fuzz_target;
use std::net::IpAddr;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match text.parse::<Cidr>() {
        Ok(cidr) => {
            let printed = cidr.to_string();
            assert_eq!(printed.parse::<Cidr>(), Ok(cidr), "{text:?} → {printed:?}");
            assert!(cidr.prefix() <= if cidr.is_v6() { 128 } else { 32 });
            assert!(
                cidr.contains(network(&printed)),
                "{printed} lacks its network"
            );
        }
        Err(CidrError::HostBits { canonical, .. }) => {
            let suggested = canonical.parse::<Cidr>();
            assert!(suggested.is_ok(), "{text:?} suggests {canonical:?}");
            let suggested = suggested.unwrap();
            let given: IpAddr = text.split('/').next().unwrap_or_default().parse().unwrap();
            let matched_as_v4 = given.to_canonical().is_ipv4() && suggested.is_v6();
            assert!(
                suggested.contains(given) || matched_as_v4,
                "{canonical} lacks {text}"
            );
        }
        Err(CidrError::Syntax(_) | CidrError::Prefix(_)) => {}
    }
});

/// The address part of a printed range.
fn network(printed: &str) -> IpAddr {
    let (addr, _prefix) = printed
        .split_once('/')
        .expect("a range prints with its prefix");
    addr.parse().expect("a range prints a valid address")
}
