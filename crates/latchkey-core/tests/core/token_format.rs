//! Property tests of the token format `<prefix>_<uid><secret><checksum>`: round trips, every
//! single-character change refused, malformed shapes refused, custom prefixes, redaction, uid
//! uniqueness and the secret's character distribution.

use latchkey_core::base62::ALPHABET;
use latchkey_core::token::{random_base62, BODY_LEN, CHECKSUM_LEN, SECRET_LEN, UID_LEN};
use latchkey_core::{Error, NewToken, Secret, TokenDigest, TokenFormat, TokenKind};
use rand::rngs::{OsRng, StdRng};
use rand::{Rng, RngCore, SeedableRng};
use std::collections::HashSet;

const KINDS: [TokenKind; 2] = [TokenKind::Service, TokenKind::Personal];

/// Characters that are not ASCII, of 2, 3 and 4 bytes, plus a few that look like ASCII.
const UNICODE: [char; 8] = ['é', 'ß', 'Ω', 'а', '０', '€', '…', '🔑'];

fn printable_ascii() -> impl Iterator<Item = char> {
    (0x20u8..=0x7e).map(char::from)
}

fn refused(format: &TokenFormat, text: &str) -> bool {
    matches!(format.parse(text), Err(Error::MalformedToken))
}

fn assert_refused(format: &TokenFormat, text: &str, what: &str) {
    match format.parse(text) {
        Err(Error::MalformedToken) => {}
        Err(e) => panic!("{what}: {text:?} refused with {e:?} instead of MalformedToken"),
        Ok(p) => panic!("{what}: {text:?} accepted as {:?}", p.kind),
    }
}

fn other(kind: TokenKind) -> TokenKind {
    match kind {
        TokenKind::Service => TokenKind::Personal,
        TokenKind::Personal => TokenKind::Service,
    }
}

fn check_round_trip(format: &TokenFormat, kind: TokenKind, t: &NewToken) {
    let text = t.secret.expose();
    let prefix = format.prefix(kind);
    assert_eq!(text.len(), format.token_len(kind));
    assert_eq!(text.len(), prefix.len() + 1 + BODY_LEN);
    assert!(text.starts_with(&format!("{prefix}_")), "{text}");
    let body = &text[prefix.len() + 1..];
    assert!(body.bytes().all(|b| ALPHABET.contains(&b)), "{text}");
    let parsed = format.parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
    assert_eq!(parsed.kind, kind);
    assert_eq!(parsed.uid, t.uid);
    assert_eq!(parsed.uid, &body[..UID_LEN]);
    assert_eq!(parsed.digest, t.digest);
    assert_eq!(t.digest, TokenDigest::of(text));
    assert_eq!(
        t.hint,
        format!("{prefix}_{}…{}", t.uid, &text[text.len() - 4..])
    );
}

#[test]
fn the_default_format_is_62_characters_with_lksvc_and_lkpat() {
    let f = TokenFormat::default();
    assert_eq!(f.prefix(TokenKind::Service), "lksvc");
    assert_eq!(f.prefix(TokenKind::Personal), "lkpat");
    assert_eq!(f.token_len(TokenKind::Service), 62);
    assert_eq!(f.token_len(TokenKind::Personal), 62);
    assert_eq!(BODY_LEN, UID_LEN + SECRET_LEN + CHECKSUM_LEN);
    assert_eq!((UID_LEN, SECRET_LEN, CHECKSUM_LEN), (7, 43, 6));
}

#[test]
fn two_thousand_tokens_of_each_kind_round_trip() {
    let f = TokenFormat::default();
    for kind in KINDS {
        for _ in 0..2_000 {
            check_round_trip(&f, kind, &f.generate(kind));
        }
    }
}

#[test]
fn every_single_character_substitution_is_refused() {
    let f = TokenFormat::default();
    let replacements: Vec<char> = printable_ascii().chain(UNICODE).collect();
    let mut tried = 0;
    for kind in KINDS {
        for _ in 0..4 {
            let t = f.generate(kind);
            let chars: Vec<char> = t.secret.expose().chars().collect();
            for pos in 0..chars.len() {
                for &c in &replacements {
                    if c == chars[pos] {
                        continue;
                    }
                    let mut changed = chars.clone();
                    changed[pos] = c;
                    let changed: String = changed.into_iter().collect();
                    assert_refused(&f, &changed, &format!("{c:?} at {pos}"));
                    tried += 1;
                }
            }
        }
    }
    assert!(tried > 8 * 62 * 95, "{tried}");
}

#[test]
fn deleting_or_inserting_any_one_character_is_refused() {
    let f = TokenFormat::default();
    for kind in KINDS {
        let t = f.generate(kind);
        let text = t.secret.expose();
        for pos in 0..text.len() {
            let mut deleted = text.to_owned();
            deleted.remove(pos);
            assert_refused(&f, &deleted, &format!("deleted at {pos}"));
            for &c in ALPHABET.iter().step_by(7).chain(b"_ -") {
                let mut inserted = text.to_owned();
                inserted.insert(pos, char::from(c));
                assert_refused(&f, &inserted, &format!("inserted {c} at {pos}"));
            }
        }
    }
}

#[test]
fn truncated_extended_padded_and_case_flipped_tokens_are_refused() {
    let f = TokenFormat::default();
    for kind in KINDS {
        for _ in 0..20 {
            let t = f.generate(kind);
            let text = t.secret.expose();
            for len in 0..text.len() {
                assert_refused(&f, &text[..len], "truncated");
                assert_refused(&f, &text[len + 1..], "front cut");
            }
            for c in printable_ascii().chain(UNICODE) {
                assert_refused(&f, &format!("{text}{c}"), "extended");
                assert_refused(&f, &format!("{c}{text}"), "prefixed");
            }
            for pad in [" ", "\t", "\n", "\r\n", "\u{a0}", "\0"] {
                assert_refused(&f, &format!("{pad}{text}"), "leading pad");
                assert_refused(&f, &format!("{text}{pad}"), "trailing pad");
                assert_refused(&f, &format!("{pad}{text}{pad}"), "both pads");
            }
            assert_refused(&f, &text.to_uppercase(), "uppercase");
            assert_refused(&f, &text.to_lowercase(), "lowercase");
            let swapped: String = text
                .chars()
                .map(|c| {
                    if c.is_ascii_uppercase() {
                        c.to_ascii_lowercase()
                    } else {
                        c.to_ascii_uppercase()
                    }
                })
                .collect();
            assert_refused(&f, &swapped, "case swapped");
            // The body behind the other kind's prefix.
            let body = &text[f.prefix(kind).len() + 1..];
            let other_prefix = f.prefix(other(kind));
            assert_refused(&f, &format!("{other_prefix}_{body}"), "swapped prefix");
            assert_refused(&f, &format!("{other_prefix}{body}"), "no separator");
            assert_refused(&f, &format!("{}-{body}", f.prefix(kind)), "dash separator");
            assert_refused(
                &f,
                &format!("{}_{body}", f.prefix(kind).to_uppercase()),
                "loud prefix",
            );
            assert_refused(&f, body, "bare body");
            assert_refused(&f, &format!("{text}{text}"), "doubled");
        }
    }
    for junk in [
        "",
        "_",
        "lksvc",
        "lksvc_",
        "lkpat_",
        "Bearer",
        "lksvc_\u{0}",
    ] {
        assert_refused(&f, junk, "junk");
    }
}

#[test]
fn random_strings_of_the_right_shape_but_a_wrong_checksum_are_refused() {
    let f = TokenFormat::default();
    let mut rng = StdRng::seed_from_u64(0x1a7c_4e11);
    let mut accepted = 0;
    for _ in 0..20_000 {
        let body: String = (0..BODY_LEN)
            .map(|_| char::from(ALPHABET[rng.gen_range(0..62)]))
            .collect();
        if !refused(&f, &format!("lksvc_{body}")) {
            accepted += 1;
        }
    }
    // A CRC32 collision by chance is about one in 4 billion per string.
    assert_eq!(accepted, 0);
}

#[test]
fn custom_prefixes_generate_and_parse_their_own_tokens() {
    let default = TokenFormat::default();
    for (svc, pat) in [
        ("ab", "ac"),
        ("acme", "acmepat"),
        ("0123456789abcdef", "fedcba9876543210"),
        ("s1", "p2"),
        ("lksvc", "lkusr"),
        ("lkpat", "lksvc"),
    ] {
        let f = TokenFormat::new(svc, pat).unwrap_or_else(|e| panic!("{svc}/{pat}: {e}"));
        assert_eq!(f.prefix(TokenKind::Service), svc);
        assert_eq!(f.prefix(TokenKind::Personal), pat);
        for kind in KINDS {
            for _ in 0..200 {
                let t = f.generate(kind);
                check_round_trip(&f, kind, &t);
                let text = t.secret.expose();
                // Swapping in the other prefix keeps the body but breaks the checksum.
                let body = &text[f.prefix(kind).len() + 1..];
                assert_refused(&f, &format!("{}_{body}", f.prefix(other(kind))), "swapped");
                // The default format refuses it unless it happens to use the same prefix for
                // the same kind; then its own kind is read.
                match default.parse(text) {
                    Ok(p) => assert_eq!(default.prefix(p.kind), f.prefix(kind), "{text}"),
                    Err(e) => assert_eq!(e, Error::MalformedToken),
                }
            }
        }
    }
    // Distinct prefixes from the default: every custom token is refused by it, and vice versa.
    let custom = TokenFormat::new("acme", "acmeu").unwrap();
    for kind in KINDS {
        for _ in 0..200 {
            let c = custom.generate(kind);
            assert_refused(&default, c.secret.expose(), "custom token, default format");
            let d = default.generate(kind);
            assert_refused(&custom, d.secret.expose(), "default token, custom format");
        }
    }
}

#[test]
fn invalid_prefixes_are_refused() {
    let long = "a".repeat(17);
    let bad: [&str; 12] = [
        "", "a", &long, "LKSVC", "Lksvc", "lk_svc", "lk-svc", "lk svc", "lksvé", "lk.svc", " lk",
        "lk\n",
    ];
    for b in bad {
        for (svc, pat) in [(b, "lkpat"), ("lksvc", b)] {
            assert!(
                matches!(TokenFormat::new(svc, pat), Err(Error::BadPrefix(_))),
                "{svc:?}/{pat:?}"
            );
        }
    }
    for same in ["lksvc", "ab", "x1"] {
        let err = TokenFormat::new(same, same).unwrap_err();
        assert!(matches!(err, Error::BadPrefix(_)), "{same}");
        assert!(err.to_string().contains(same), "{err}");
    }
    // The length limits are inclusive.
    assert!(TokenFormat::new("ab", "cd").is_ok());
    assert!(TokenFormat::new(&"a".repeat(16), &"b".repeat(16)).is_ok());
    assert!(TokenFormat::new("lksvc", &"b".repeat(17)).is_err());
}

#[test]
fn secrets_print_as_redacted() {
    let s = Secret::new("hunter2-super-secret".to_owned());
    assert_eq!(format!("{s:?}"), "[redacted]");
    assert_eq!(format!("{s}"), "[redacted]");
    assert_eq!(format!("{s:#?}"), "[redacted]");
    assert_eq!(s.expose(), "hunter2-super-secret");
    let f = TokenFormat::default();
    for kind in KINDS {
        for _ in 0..200 {
            let t = f.generate(kind);
            let text = t.secret.expose();
            assert_eq!(format!("{:?}", t.secret), "[redacted]");
            assert_eq!(format!("{}", t.secret), "[redacted]");
            for debug in [format!("{t:?}"), format!("{t:#?}")] {
                assert!(!debug.contains(text), "{debug}");
                assert!(debug.contains("[redacted]"), "{debug}");
                // No run of eight characters of the random secret part shows.
                let start = f.prefix(kind).len() + 1 + UID_LEN;
                let secret = &text[start..start + SECRET_LEN];
                for i in 0..=SECRET_LEN - 8 {
                    assert!(!debug.contains(&secret[i..i + 8]), "{debug}");
                }
            }
            let parsed = f.parse(text).unwrap();
            let debug = format!("{parsed:?}");
            assert!(
                !debug.contains(&text[f.prefix(kind).len() + 1 + UID_LEN..]),
                "{debug}"
            );
        }
    }
}

#[test]
fn uids_do_not_repeat_over_ten_thousand_tokens() {
    let f = TokenFormat::default();
    let mut uids = HashSet::new();
    let mut digests = HashSet::new();
    for i in 0..10_000 {
        let kind = KINDS[i % 2];
        let t = f.generate(kind);
        assert!(uids.insert(t.uid.clone()), "uid {} repeated", t.uid);
        assert!(digests.insert(t.digest), "digest repeated");
    }
}

fn assert_roughly_uniform(counts: &[usize; 62], total: usize, what: &str) {
    let expected = total as f64 / 62.0;
    for (i, &n) in counts.iter().enumerate() {
        let c = char::from(ALPHABET[i]);
        assert!(
            (n as f64) > 0.5 * expected && (n as f64) < 1.5 * expected,
            "{what}: {c:?} appeared {n} times, expected about {expected:.0}"
        );
    }
}

#[test]
fn secret_characters_are_roughly_uniform_over_the_alphabet() {
    let f = TokenFormat::default();
    let mut counts = [0usize; 62];
    let mut total = 0;
    while total < 200_000 {
        let t = f.generate(TokenKind::Service);
        let text = t.secret.expose();
        let start = f.prefix(TokenKind::Service).len() + 1 + UID_LEN;
        for b in text[start..start + SECRET_LEN].bytes() {
            counts[ALPHABET.iter().position(|&a| a == b).unwrap()] += 1;
            total += 1;
        }
    }
    assert_roughly_uniform(&counts, total, "token secrets");

    let mut counts = [0usize; 62];
    let s = random_base62(200_000);
    assert_eq!(s.expose().len(), 200_000);
    for b in s.expose().bytes() {
        counts[ALPHABET.iter().position(|&a| a == b).expect("base62 only")] += 1;
    }
    assert_roughly_uniform(&counts, 200_000, "random_base62");
}

#[test]
fn random_texts_never_parse_and_never_panic() {
    let f = TokenFormat::default();
    let mut seeds = vec![1u64, 2, 3];
    seeds.push(OsRng.next_u64());
    for seed in seeds {
        let mut rng = StdRng::seed_from_u64(seed);
        for _ in 0..5_000 {
            let len = rng.gen_range(0..80);
            let text: String = (0..len)
                .map(|_| {
                    if rng.gen_bool(0.05) {
                        UNICODE[rng.gen_range(0..UNICODE.len())]
                    } else {
                        char::from(rng.gen_range(0x20u8..=0x7e))
                    }
                })
                .collect();
            let with_prefix = format!("lksvc_{text}");
            for t in [&text, &with_prefix] {
                assert!(refused(&f, t), "seed {seed}: {t:?} parsed");
            }
        }
    }
}
