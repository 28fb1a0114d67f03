//! The grant, permission and environment-category parsers on arbitrary input. Parsing never
//! panics, and whatever parses prints as text that parses back to the same value.

#![no_main]

use latchkey_core::{EnvCategories, Grant, Permission};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(grant) = text.parse::<Grant>() {
        let printed = grant.to_string();
        assert_eq!(
            printed.parse::<Grant>().ok(),
            Some(grant),
            "{text:?} → {printed:?}"
        );
    }
    if let Ok(permission) = text.parse::<Permission>() {
        let printed = permission.to_string();
        assert_eq!(printed, text, "a permission has one spelling");
        assert_eq!(printed.parse::<Permission>().ok(), Some(permission));
    }
    if let Ok(envs) = EnvCategories::parse(text.split(',')) {
        assert!(!envs.is_empty());
        assert_eq!(
            EnvCategories::parse(envs.names()).ok(),
            Some(envs),
            "{text:?}"
        );
        assert_eq!(EnvCategories::from_bits(envs.bits()), envs);
    }
});
