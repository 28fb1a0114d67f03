//! Fixed-width base62 (`0-9A-Za-z`), used for the token's random part and its checksum.

/// The alphabet, in value order.
pub const ALPHABET: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// The value of one base62 character, or `None` if it is not in the alphabet.
#[inline]
pub fn value(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'A'..=b'Z' => Some(c - b'A' + 10),
        b'a'..=b'z' => Some(c - b'a' + 36),
        _ => None,
    }
}

/// Writes `n` as exactly `out.len()` base62 digits, most significant first.
/// The caller picks a width large enough for `n` (6 digits hold any `u32`).
pub fn encode_fixed(mut n: u64, out: &mut [u8]) {
    for slot in out.iter_mut().rev() {
        *slot = ALPHABET[(n % 62) as usize];
        n /= 62;
    }
    debug_assert_eq!(n, 0, "width too small for value");
}

/// Reads fixed-width base62 digits; `None` on a character outside the alphabet or overflow.
#[inline]
pub fn decode_fixed(digits: &[u8]) -> Option<u64> {
    let mut n: u64 = 0;
    for &c in digits {
        n = n.checked_mul(62)?.checked_add(u64::from(value(c)?))?;
    }
    Some(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_u32_extremes_in_six_digits() {
        for n in [0u64, 1, 61, 62, 3_843, u64::from(u32::MAX)] {
            let mut buf = [0u8; 6];
            encode_fixed(n, &mut buf);
            assert_eq!(decode_fixed(&buf), Some(n));
        }
    }

    #[test]
    fn rejects_characters_outside_the_alphabet() {
        assert_eq!(decode_fixed(b"abc-12"), None);
        assert_eq!(decode_fixed(b"abc_12"), None);
        assert_eq!(decode_fixed("abcé1".as_bytes()), None);
    }

    #[test]
    fn every_alphabet_character_maps_to_its_position() {
        for (i, &c) in ALPHABET.iter().enumerate() {
            assert_eq!(value(c), Some(i as u8));
        }
    }
}
