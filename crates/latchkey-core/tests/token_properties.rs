//! Property tests of the token format: generated tokens round-trip, and any single-character
//! change, truncation or extension is refused offline.

use latchkey_core::{Error, TokenFormat, TokenKind};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::HashSet;

#[test]
fn generated_tokens_round_trip_with_a_fixed_length() {
    let format = TokenFormat::default();
    for kind in [TokenKind::Service, TokenKind::Personal] {
        for _ in 0..2_000 {
            let new = format.generate(kind);
            let text = new.secret.expose();
            assert_eq!(text.len(), format.token_len(kind));
            assert!(text.starts_with(&format!("{}_", format.prefix(kind))));
            let parsed = format.parse(text).unwrap();
            assert_eq!(parsed.kind, kind);
            assert_eq!(parsed.uid, new.uid);
            assert_eq!(parsed.digest, new.digest);
            assert!(new
                .hint
                .starts_with(&format!("{}_{}", format.prefix(kind), new.uid)));
            assert!(!new.hint.contains(&text[20..40]));
        }
    }
    assert_eq!(format.token_len(TokenKind::Service), 62);
}

#[test]
fn every_single_character_change_is_refused() {
    let format = TokenFormat::default();
    let replacements: Vec<char> = (0x20u8..0x7f)
        .map(char::from)
        .chain(['é', '中', '\u{202e}', '\0'])
        .collect();
    for kind in [TokenKind::Service, TokenKind::Personal] {
        for _ in 0..3 {
            let new = format.generate(kind);
            let text: Vec<char> = new.secret.expose().chars().collect();
            for i in 0..text.len() {
                for &r in &replacements {
                    if r == text[i] {
                        continue;
                    }
                    let mut changed = text.clone();
                    changed[i] = r;
                    let changed: String = changed.into_iter().collect();
                    let result = format.parse(&changed);
                    // Swapping the prefix for the other kind's would still fail the checksum.
                    assert_eq!(
                        result.map(|p| p.kind).unwrap_err(),
                        Error::MalformedToken,
                        "{i} → {r:?}"
                    );
                }
            }
        }
    }
}

#[test]
fn truncated_extended_padded_or_case_flipped_tokens_are_refused() {
    let format = TokenFormat::default();
    let mut rng = StdRng::seed_from_u64(7);
    for _ in 0..500 {
        let new = format.generate(if rng.gen() {
            TokenKind::Service
        } else {
            TokenKind::Personal
        });
        let t = new.secret.expose();
        let cut = rng.gen_range(0..t.len());
        for bad in [
            t[..cut].to_owned(),
            format!("{t}0"),
            format!(" {t}"),
            format!("{t}\n"),
            t.to_uppercase(),
            t.replacen("lksvc_", "lkpat_", 1).replacen(
                "lkpat_",
                "lksvc_",
                usize::from(!t.starts_with("lksvc_")),
            ),
        ] {
            if bad != t {
                assert!(format.parse(&bad).is_err(), "{bad:?}");
            }
        }
    }
    assert!(format.parse("").is_err());
    assert!(format.parse("lksvc_").is_err());
}

#[test]
fn custom_prefixes_are_validated_and_kept_apart() {
    let custom = TokenFormat::new("acme", "acmeu").unwrap();
    let new = custom.generate(TokenKind::Personal);
    assert!(new.secret.expose().starts_with("acmeu_"));
    assert_eq!(
        custom.parse(new.secret.expose()).unwrap().kind,
        TokenKind::Personal
    );
    assert!(TokenFormat::default().parse(new.secret.expose()).is_err());
    for (s, u) in [
        ("", "ab"),
        ("a", "ab"),
        ("ABC", "ab"),
        ("a_b", "ab"),
        ("same", "same"),
        ("seventeenchars123", "ab"),
    ] {
        assert!(
            matches!(TokenFormat::new(s, u), Err(Error::BadPrefix(_))),
            "{s} {u}"
        );
    }
}

#[test]
fn secrets_never_print() {
    let new = TokenFormat::default().generate(TokenKind::Service);
    assert_eq!(format!("{:?}", new.secret), "[redacted]");
    assert_eq!(format!("{}", new.secret), "[redacted]");
    assert!(!format!("{new:?}").contains(new.secret.expose()));
}

#[test]
fn uids_do_not_repeat_and_secret_characters_are_uniform() {
    let format = TokenFormat::default();
    let mut uids = HashSet::new();
    let mut counts = [0usize; 128];
    let mut total = 0;
    for _ in 0..10_000 {
        let new = format.generate(TokenKind::Service);
        assert!(uids.insert(new.uid.clone()));
        for b in new.secret.expose().as_bytes()[6 + 7..6 + 7 + 43].iter() {
            counts[*b as usize] += 1;
            total += 1;
        }
    }
    let expected = total as f64 / 62.0;
    for c in latchkey_core::base62::ALPHABET {
        let n = counts[*c as usize] as f64;
        assert!(
            n > expected * 0.8 && n < expected * 1.2,
            "{} appears {n} times, expected ~{expected}",
            *c as char
        );
    }
}
