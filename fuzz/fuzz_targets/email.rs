//! The e-mail parser on arbitrary input. Parsing never panics, and an accepted address is the
//! trimmed input, at most 254 bytes, and parses back to itself.

#![no_main]

use latchkey_core::Email;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(email) = Email::parse(text) {
        assert_eq!(email.as_str(), text.trim());
        assert!(!email.as_str().is_empty() && email.as_str().len() <= 254);
        assert_eq!(email.to_string().parse::<Email>().ok(), Some(email));
    }
});
