//! Character-set linters: which characters a component may contain at all.
//!
//! GS1 General Specifications define the encodable character sets: CSET 82 (the default for
//! alphanumeric AIs), CSET 39 (capital letters, digits and `#-/`) and CSET 64 (the URI- and
//! file-safe base64 alphabet, with optional `=` padding). The remaining linters here are small
//! shape rules on characters: well-formed `%hh` escapes, "only hyphens", "at least one
//! non-digit" and the single-character importer index.

use super::{LintCode, LintError, require_digits};

/// CSET 82 in the order that gives each character its value in the check character pair
/// algorithm.
const CSET82: &[u8; 82] =
    b"!\"%&'()*+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz";

/// The value (0 to 81) of a CSET 82 character, `None` for any other byte.
pub(super) fn cset82_value(b: u8) -> Option<u8> {
    CSET82
        .iter()
        .position(|&c| c == b)
        .and_then(|pos| u8::try_from(pos).ok())
}

fn is_cset82(b: u8) -> bool {
    matches!(b, b'!' | b'"' | b'%'..=b'?' | b'A'..=b'Z' | b'_' | b'a'..=b'z')
}

fn is_cset39(b: u8) -> bool {
    matches!(b, b'#' | b'-' | b'/' | b'0'..=b'9' | b'A'..=b'Z')
}

fn is_cset64(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
}

/// Fail with `code` at the first byte outside the set.
fn require_all(value: &[u8], allowed: fn(u8) -> bool, code: LintCode) -> Result<(), LintError> {
    match value.iter().position(|&b| !allowed(b)) {
        Some(pos) => Err(LintError::at(code, pos)),
        None => Ok(()),
    }
}

/// `cset82`: only CSET 82 characters.
pub(super) fn cset82(value: &[u8]) -> Result<(), LintError> {
    require_all(value, is_cset82, LintCode::InvalidCset82Character)
}

/// `cset39`: only CSET 39 characters.
pub(super) fn cset39(value: &[u8]) -> Result<(), LintError> {
    require_all(value, is_cset39, LintCode::InvalidCset39Character)
}

/// `csetnumeric`: only digits (the empty value passes; lengths are the parser's business).
pub(super) fn numeric(value: &[u8]) -> Result<(), LintError> {
    require_digits(value)
}

/// `cset64`: CSET 64 characters with at most two `=` pads, and only when they round the
/// value up to a multiple of three characters, as the GS1 reference linter requires.
pub(super) fn cset64(value: &[u8]) -> Result<(), LintError> {
    let pads = value.iter().rev().take_while(|&&b| b == b'=').count();
    let data_len = value.len() - pads;
    if pads > 2 || (pads > 0 && !value.len().is_multiple_of(3)) {
        return Err(LintError::new(
            LintCode::InvalidCset64Padding,
            data_len..value.len(),
        ));
    }
    require_all(
        value.get(..data_len).unwrap_or_default(),
        is_cset64,
        LintCode::InvalidCset64Character,
    )
}

/// `pcenc`: every `%` starts a `%hh` escape with two hexadecimal digits.
pub(super) fn percent_encoding(value: &[u8]) -> Result<(), LintError> {
    let mut pos = 0;
    while let Some(offset) = value
        .get(pos..)
        .and_then(|rest| rest.iter().position(|&b| b == b'%'))
    {
        let start = pos + offset;
        let escape = value.get(start + 1..).unwrap_or_default();
        match escape {
            [high, low, ..] if high.is_ascii_hexdigit() && low.is_ascii_hexdigit() => {
                pos = start + 3
            }
            _ => {
                // Blame the '%' and the (up to) two characters that should have been hex digits.
                let end = (start + 3).min(value.len());
                return Err(LintError::new(LintCode::InvalidPercentSequence, start..end));
            }
        }
    }
    Ok(())
}

/// `hyphen`: one or more hyphens and nothing else.
pub(super) fn hyphen(value: &[u8]) -> Result<(), LintError> {
    if value.is_empty() || value.iter().any(|&b| b != b'-') {
        return Err(LintError::whole(LintCode::NotHyphen, value));
    }
    Ok(())
}

/// `hasnondigit`: at least one character is not a digit, so the value cannot be mistaken for a
/// number.
pub(super) fn has_non_digit(value: &[u8]) -> Result<(), LintError> {
    if value.iter().all(u8::is_ascii_digit) {
        return Err(LintError::whole(LintCode::RequiresNonDigitCharacter, value));
    }
    Ok(())
}

/// `importeridx`: exactly one character, from the CSET 64 alphabet (without padding).
///
/// Counted in characters rather than bytes so that a stray accented letter is reported as the
/// wrong character, not as two characters.
pub(super) fn importer_index(value: &str) -> Result<(), LintError> {
    let mut chars = value.chars();
    match (chars.next(), chars.next()) {
        (Some(c), None) if u8::try_from(c).is_ok_and(is_cset64) => Ok(()),
        (Some(_), None) => Err(LintError::whole(
            LintCode::InvalidImportIdxCharacter,
            value.as_bytes(),
        )),
        _ => Err(LintError::whole(
            LintCode::ImporterIdxMustBeOneCharacter,
            value.as_bytes(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cset82_table_and_predicate_agree() {
        for b in 0..=255u8 {
            assert_eq!(is_cset82(b), cset82_value(b).is_some(), "byte {b:#04x}");
        }
        assert_eq!(cset82_value(b'!'), Some(0));
        assert_eq!(cset82_value(b'z'), Some(81));
    }

    #[test]
    fn cset39_is_39_characters() {
        assert_eq!((0..=255u8).filter(|&b| is_cset39(b)).count(), 39);
        assert_eq!((0..=255u8).filter(|&b| is_cset64(b)).count(), 64);
    }

    #[test]
    fn lot_numbers_with_spaces_are_rejected() {
        let error = cset82(b"LOT 42").unwrap_err();
        assert_eq!(error.code, LintCode::InvalidCset82Character);
        assert_eq!(error.span, 3..4);
    }

    #[test]
    fn percent_escapes() {
        assert!(percent_encoding(b"A%20B%7e").is_ok());
        assert_eq!(percent_encoding(b"A%2").unwrap_err().span, 1..3);
        assert_eq!(percent_encoding(b"%").unwrap_err().span, 0..1);
    }
}
