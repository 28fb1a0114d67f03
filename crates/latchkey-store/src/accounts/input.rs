//! The rules for what people type in: names, passwords and e-mail addresses.

use crate::StoreError;
use latchkey_core::{Email, Secret};

/// The one rule for passwords people choose: 12 to 1024 characters.
pub(crate) fn check_password(password: &Secret) -> Result<(), StoreError> {
    let n = password.expose().chars().count();
    if !(12..=1024).contains(&n) {
        return Err(StoreError::field(
            "password",
            "a password needs 12 to 1024 characters",
        ));
    }
    Ok(())
}

/// Parses an e-mail address, refusing it as the `email` field.
pub(crate) fn parse_email(text: &str) -> Result<Email, StoreError> {
    Email::parse(text).map_err(|e| StoreError::field("email", e.to_string()))
}

/// Invisible characters that reorder or hide text (bidirectional controls, zero-width space,
/// word joiners, BOM, soft hyphen): a name holding one can show as something it is not.
fn is_deceptive(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{061C}' | '\u{180E}' | '\u{200B}' | '\u{200E}' | '\u{200F}'
        | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{2069}'
        | '\u{FEFF}' | '\u{FFF9}'..='\u{FFFB}')
}

/// The one rule for names (accounts, projects, groups, tokens, IP rules): 1 to 255
/// characters, something visible in them, no control characters and no characters that reorder
/// or hide text. (Zero-width joiners stay allowed for emoji and scripts that need them.)
pub(crate) fn check_name(what: &str, name: &str) -> Result<(), StoreError> {
    let visible = name
        .chars()
        .any(|c| !c.is_whitespace() && c != '\u{200C}' && c != '\u{200D}');
    if !visible
        || name.chars().count() > 255
        || name.chars().any(|c| c.is_control() || is_deceptive(c))
    {
        return Err(StoreError::field("name", format!(
            "{what} must be 1 to 255 characters, not all blank, with no control characters and no invisible characters that reorder or hide text"
        )));
    }
    Ok(())
}
