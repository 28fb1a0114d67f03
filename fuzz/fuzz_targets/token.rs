//! The token parser on arbitrary input, with the default prefixes, with custom prefixes where
//! one is a prefix of the other, and with prefixes taken from the input itself. Parsing never
//! panics, and whatever it accepts is a token of exactly the shape the format describes.

#![no_main]

use latchkey_core::{TokenDigest, TokenFormat};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    check(&TokenFormat::default(), text);
    if let Ok(overlapping) = TokenFormat::new("lk", "lkp") {
        check(&overlapping, text);
    }
    // `SERVICE,PERSONAL\nTOKEN`: the fuzzer also picks the deployment's prefixes.
    if let Some((prefixes, token)) = text.split_once('\n') {
        if let Some((service, personal)) = prefixes.split_once(',') {
            if let Ok(format) = TokenFormat::new(service, personal) {
                check(&format, token);
            }
        }
    }
});

/// Parses `text` and checks what an accepted token must be.
fn check(format: &TokenFormat, text: &str) {
    let Ok(parsed) = format.parse(text) else {
        return;
    };
    let prefix = format.prefix(parsed.kind);
    assert_eq!(text.len(), format.token_len(parsed.kind));
    assert!(text.starts_with(prefix) && text[prefix.len()..].starts_with('_'));
    assert_eq!(&text[prefix.len() + 1..prefix.len() + 8], parsed.uid);
    assert!(text[prefix.len() + 1..]
        .bytes()
        .all(|b| b.is_ascii_alphanumeric()));
    assert_eq!(parsed.digest, TokenDigest::of(text));
}
