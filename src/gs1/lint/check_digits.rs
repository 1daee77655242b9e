//! Check digits and check characters: the GS1 mod-10 check digit (`csum`), the GS1 check
//! character pair for alphanumeric keys (`csumalpha`) and the IBAN's ISO 7064 mod-97 check.
//!
//! These catch the misreads and typing slips that matter most at the desk: a GTIN or SSCC with
//! one wrong digit must never be taken for another product or pallet.

use super::charsets::cset82_value;
use super::code_lists::is_iso3166_alpha2;
use super::{LintCode, LintError, require_digits};

/// The GS1 mod-10 check digit (GS1 General Specifications 7.9) for `digits`, the ASCII digits of
/// a key *without* its check digit: weights 3, 1, 3, 1... from the right, and the check digit
/// brings the weighted sum up to a multiple of ten.
///
/// Returns the check digit's value (0 to 9, not its ASCII character), or `None` when `digits`
/// holds anything other than ASCII digits. An empty slice yields `Some(0)`.
///
/// ```
/// use tracedesk::gs1::lint::gs1_check_digit;
/// // GTIN-13 400638133393(1)
/// assert_eq!(gs1_check_digit(b"400638133393"), Some(1));
/// ```
pub fn gs1_check_digit(digits: &[u8]) -> Option<u8> {
    let mut sum: u32 = 0;
    for (i, &b) in digits.iter().rev().enumerate() {
        if !b.is_ascii_digit() {
            return None;
        }
        let weight = if i % 2 == 0 { 3 } else { 1 };
        sum += weight * u32::from(b - b'0');
    }
    // `sum % 10` is below 10, so the narrowing cannot lose anything.
    Some(((10 - sum % 10) % 10) as u8)
}

/// `csum`: the last digit is the GS1 mod-10 check digit of the others.
pub(super) fn csum(value: &[u8]) -> Result<(), LintError> {
    let Some((&check, body)) = value.split_last() else {
        return Err(LintError::new(LintCode::TooShortForCheckDigit, 0..0));
    };
    require_digits(value)?;
    if gs1_check_digit(body).map(|digit| b'0' + digit) != Some(check) {
        return Err(LintError::at(LintCode::IncorrectCheckDigit, body.len()));
    }
    Ok(())
}

/// The 32 characters a check character pair is written in, in value order.
const CSET32: &[u8; 32] = b"23456789ABCDEFGHJKLMNPQRSTUVWXYZ";

/// The value (0 to 31) of a check character.
fn cset32_value(b: u8) -> Option<u8> {
    CSET32
        .iter()
        .position(|&c| c == b)
        .and_then(|pos| u8::try_from(pos).ok())
}

/// The weights of the check character pair algorithm: successive primes, the smallest applied
/// to the data character next to the pair. Ninety-seven of them cover the longest AI value
/// (99 characters including the pair); longer data is reported rather than guessed at.
const CHECK_PAIR_PRIMES: [u16; 97] = [
    2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73, 79, 83, 89, 97,
    101, 103, 107, 109, 113, 127, 131, 137, 139, 149, 151, 157, 163, 167, 173, 179, 181, 191, 193,
    197, 199, 211, 223, 227, 229, 233, 239, 241, 251, 257, 263, 269, 271, 277, 281, 283, 293, 307,
    311, 313, 317, 331, 337, 347, 349, 353, 359, 367, 373, 379, 383, 389, 397, 401, 409, 419, 421,
    431, 433, 439, 443, 449, 457, 461, 463, 467, 479, 487, 491, 499, 503, 509,
];

/// `csumalpha`: the last two characters are the GS1 check character pair of the others
/// (GS1 General Specifications 7.9.5).
pub(super) fn csum_alpha(value: &[u8]) -> Result<(), LintError> {
    if value.len() < 2 {
        return Err(LintError::whole(LintCode::TooShortForCheckPair, value));
    }
    let (body, pair) = value.split_at(value.len() - 2);
    if body.len() > CHECK_PAIR_PRIMES.len() {
        return Err(LintError::whole(
            LintCode::TooLongForCheckPairImplementation,
            value,
        ));
    }
    if let Some(pos) = body.iter().position(|&b| cset82_value(b).is_none()) {
        return Err(LintError::at(LintCode::InvalidCset82Character, pos));
    }
    let sum: u32 = body
        .iter()
        .rev()
        .zip(CHECK_PAIR_PRIMES)
        .map(|(&b, prime)| u32::from(cset82_value(b).unwrap_or(0)) * u32::from(prime))
        .sum();
    let pair_value = match pair {
        &[first, second] => cset32_value(first).zip(cset32_value(second)),
        _ => None,
    };
    if pair_value.map(|(first, second)| u32::from(first) * 32 + u32::from(second))
        != Some(sum % 1021)
    {
        return Err(LintError::new(
            LintCode::IncorrectCheckPair,
            body.len()..value.len(),
        ));
    }
    Ok(())
}

/// The IBAN standard's upper bound on length.
const IBAN_MAX_LENGTH: usize = 34;
/// The shortest IBANs in use (Norway's) have 15 characters; like the GS1 reference linter,
/// only values of 10 characters or fewer are rejected outright as cut short.
const IBAN_MIN_LENGTH: usize = 11;

/// `iban`: an International Bank Account Number (ISO 13616): a known country code, then two
/// check digits that make the rearranged number equal 1 modulo 97 (ISO 7064 MOD 97-10).
///
/// Like the GS1 reference linter, this does not enforce each country's exact IBAN length: that
/// register changes more often than barcodes are reprinted, and the check digits already catch
/// misreads.
pub(super) fn iban(value: &[u8]) -> Result<(), LintError> {
    if value.len() < 4 {
        return Err(LintError::whole(LintCode::IbanTooShort, value));
    }
    if !value.get(..2).is_some_and(is_iso3166_alpha2) {
        return Err(LintError::new(LintCode::IllegalIbanCountryCode, 0..2));
    }
    if value.len() > IBAN_MAX_LENGTH {
        return Err(LintError::whole(LintCode::IbanTooLong, value));
    }
    if value.len() < IBAN_MIN_LENGTH {
        return Err(LintError::whole(LintCode::IbanTooShort, value));
    }
    // The check runs over the account part followed by the country code and check digits;
    // letters count as two-digit numbers A = 10 ... Z = 35.
    let (head, account) = value.split_at(4);
    let rearranged = account.iter().enumerate().map(|(i, &b)| (i + 4, b));
    let rearranged = rearranged.chain(head.iter().copied().enumerate());
    let mut remainder: u32 = 0;
    for (pos, b) in rearranged {
        remainder = match b {
            b'0'..=b'9' => (remainder * 10 + u32::from(b - b'0')) % 97,
            b'A'..=b'Z' => (remainder * 100 + u32::from(b - b'A') + 10) % 97,
            _ => return Err(LintError::at(LintCode::InvalidIbanCharacter, pos)),
        };
    }
    if remainder != 1 {
        return Err(LintError::new(LintCode::IncorrectIbanChecksum, 2..4));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::{Linter, lint};
    use super::*;

    fn code_of(linter: Linter, value: &str) -> Option<LintCode> {
        lint(linter, value).err().map(|error| error.code)
    }

    #[test]
    fn check_digits_of_real_keys() {
        // GTIN-8, GTIN-12 (UPC-A), GTIN-13 (EAN-13), GTIN-14, SSCC, GLN.
        for key in [
            "96385074",
            "036000291452",
            "4006381333931",
            "10614141000415",
            "106141411234567897",
            "0614141000012",
        ] {
            assert_eq!(lint(Linter::Csum, key), Ok(()), "{key}");
            let (body, check) = key.split_at(key.len() - 1);
            assert_eq!(
                gs1_check_digit(body.as_bytes()).map(|d| (b'0' + d) as char),
                check.chars().next()
            );
        }
    }

    #[test]
    fn any_single_wrong_digit_is_caught() {
        let gtin = b"10614141000415";
        for pos in 0..gtin.len() {
            for digit in b'0'..=b'9' {
                if digit == gtin[pos] {
                    continue;
                }
                let mut misread = *gtin;
                misread[pos] = digit;
                let misread = std::str::from_utf8(&misread).unwrap();
                let error = lint(Linter::Csum, misread).unwrap_err();
                assert_eq!(error.code, LintCode::IncorrectCheckDigit, "{misread}");
                assert_eq!(error.span, 13..14);
            }
        }
    }

    #[test]
    fn check_digit_helper_rejects_non_digits() {
        assert_eq!(gs1_check_digit(b"12a4"), None);
        assert_eq!(gs1_check_digit(b""), Some(0));
        assert_eq!(gs1_check_digit(b"0"), Some(0));
    }

    #[test]
    fn csum_edge_cases() {
        assert_eq!(
            code_of(Linter::Csum, ""),
            Some(LintCode::TooShortForCheckDigit)
        );
        assert_eq!(code_of(Linter::Csum, "0"), None);
        assert_eq!(
            code_of(Linter::Csum, "1"),
            Some(LintCode::IncorrectCheckDigit)
        );
        assert_eq!(
            code_of(Linter::Csum, "0614141O00415"),
            Some(LintCode::NonDigitCharacter)
        );
    }

    #[test]
    fn check_pair() {
        assert_eq!(
            code_of(Linter::CsumAlpha, "1987654Ad4X4bL5ttr2310c2K"),
            None
        );
        assert_eq!(
            code_of(Linter::CsumAlpha, "1987654Ad4X4bL5ttr2310c2L"),
            Some(LintCode::IncorrectCheckPair)
        );
        assert_eq!(
            code_of(Linter::CsumAlpha, "2"),
            Some(LintCode::TooShortForCheckPair)
        );
    }

    #[test]
    fn iban_checks() {
        assert_eq!(code_of(Linter::Iban, "GB82WEST12345698765432"), None);
        assert_eq!(
            code_of(Linter::Iban, "GB82WEST12345698765433"),
            Some(LintCode::IncorrectIbanChecksum)
        );
        assert_eq!(
            code_of(Linter::Iban, "gb82WEST12345698765432"),
            Some(LintCode::IllegalIbanCountryCode)
        );
        assert_eq!(
            code_of(Linter::Iban, "GB82WEST"),
            Some(LintCode::IbanTooShort)
        );
    }
}
