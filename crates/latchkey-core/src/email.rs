//! E-mail addresses, parsed once: RFC 5321/5322 syntax (through the `email_address` parser), then
//! Latchkey's narrower rules for an address a person signs in with.

use std::fmt;
use std::str::FromStr;

/// A user's e-mail address: trimmed, at most 254 characters, a dot-atom local part (no quoted
/// strings, no comments) and a domain name of two or more labels (no IP literals). Compared
/// without regard to case, as the store does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Email(String);

/// Why an address was refused; the message names what was expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not an e-mail address: expected local@domain.example (at most 254 characters, no quotes, spaces or IP literals)")]
pub struct BadEmail;

impl Email {
    /// Parses an address (surrounding whitespace is dropped).
    ///
    /// ```
    /// use latchkey_core::Email;
    /// assert!(Email::parse("cfo@b.example").is_ok());
    /// assert!(Email::parse("a@b.c'--").is_err());
    /// assert!(Email::parse("\"quoted\"@b.example").is_err());
    /// ```
    pub fn parse(text: &str) -> Result<Email, BadEmail> {
        let text = text.trim();
        if text.is_empty() || text.len() > 254 {
            return Err(BadEmail);
        }
        let parsed = email_address::EmailAddress::from_str(text).map_err(|_| BadEmail)?;
        let (local, domain) = (parsed.local_part(), parsed.domain());
        if !local.chars().all(is_atom_char)
            || local.starts_with('.')
            || local.ends_with('.')
            || local.contains("..")
            || !is_domain_name(domain)
        {
            return Err(BadEmail);
        }
        Ok(Email(text.to_owned()))
    }

    /// The address as given (trimmed).
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// RFC 5322 `atext` and the dot, or any non-ASCII letter or digit (RFC 6531).
fn is_atom_char(c: char) -> bool {
    c.is_ascii_alphanumeric()
        || "!#$%&'*+-/=?^_`{|}~.".contains(c)
        || (!c.is_ascii() && c.is_alphanumeric())
}

/// Two or more labels of letters, digits and inner hyphens, each 1 to 63 characters, the last
/// not all digits.
fn is_domain_name(domain: &str) -> bool {
    let labels: Vec<&str> = domain.split('.').collect();
    labels.len() >= 2
        && labels.iter().all(|l| {
            (1..=63).contains(&l.len())
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_alphanumeric() || c == '-')
        })
        && labels
            .last()
            .is_some_and(|tld| !tld.chars().all(|c| c.is_ascii_digit()))
}

impl FromStr for Email {
    type Err = BadEmail;
    fn from_str(s: &str) -> Result<Email, BadEmail> {
        Email::parse(s)
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::Email;

    #[test]
    fn ordinary_addresses_parse() {
        for ok in [
            "a@b.example",
            "first.last+tag@sub.domain.example",
            "o'brien@b.example",
            "  padded@b.example ",
            "jürgen@bücher.example",
        ] {
            assert!(Email::parse(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn addresses_with_injection_or_odd_syntax_are_refused() {
        for bad in [
            "",
            "a@b.c'--",
            "a@b",
            "@b.example",
            "a@",
            "a b@c.example",
            "\"a b\"@c.example",
            "a@[127.0.0.1]",
            "a..b@c.example",
            ".a@c.example",
            "a@-b.example",
            "a@b.123",
            "a@b.example\u{0}",
            "a@b.example\r\nBcc: x@y.example",
            "a(comment)@b.example",
            "a@b_c.example",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?}");
        }
        let long = format!("{}@b.example", "a".repeat(250));
        assert!(Email::parse(&long).is_err());
    }
}
