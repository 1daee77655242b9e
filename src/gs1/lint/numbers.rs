//! Numeric-value linters: zero and non-zero quantities, leading zeros, coordinates, "piece x of
//! y" and "position x/y".
//!
//! Numbers here may be longer than any machine integer (AI values reach 20 digits and more), so
//! they are compared as digit strings, never parsed into a fixed-width type that could overflow.

use std::cmp::Ordering;

use super::{LintCode, LintError, digits_value, first_non_digit, require_digits};

fn is_all_zeros(digits: &[u8]) -> bool {
    digits.iter().all(|&b| b == b'0')
}

/// Compare two digit strings as numbers; both must be free of leading zeros or of equal length.
fn compare_numbers(a: &[u8], b: &[u8]) -> Ordering {
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

/// `nonzero`: digits, not all of them zero.
pub(super) fn non_zero(value: &[u8]) -> Result<(), LintError> {
    require_digits(value)?;
    if is_all_zeros(value) {
        return Err(LintError::whole(LintCode::IllegalZeroValue, value));
    }
    Ok(())
}

/// `zero`: one or more zeros and nothing else.
pub(super) fn zero(value: &[u8]) -> Result<(), LintError> {
    if value.is_empty() || !is_all_zeros(value) {
        return Err(LintError::whole(LintCode::NotZero, value));
    }
    Ok(())
}

/// `nozeroprefix`: digits that do not start with a zero (not even a lone "0").
pub(super) fn no_zero_prefix(value: &[u8]) -> Result<(), LintError> {
    require_digits(value)?;
    if value.first() == Some(&b'0') {
        return Err(LintError::new(LintCode::IllegalZeroPrefix, 0..1));
    }
    Ok(())
}

/// A ten-digit coordinate no greater than `max` (the value is offset so it is never negative).
fn coordinate(
    value: &[u8],
    max: u64,
    invalid_length: LintCode,
    out_of_range: LintCode,
) -> Result<(), LintError> {
    if value.len() != 10 {
        return Err(LintError::whole(invalid_length, value));
    }
    require_digits(value)?;
    if digits_value(value) > max {
        return Err(LintError::whole(out_of_range, value));
    }
    Ok(())
}

/// `latitude`: degrees + 90, times 10^7, as ten digits.
pub(super) fn latitude(value: &[u8]) -> Result<(), LintError> {
    coordinate(
        value,
        1_800_000_000,
        LintCode::LatitudeInvalidLength,
        LintCode::InvalidLatitude,
    )
}

/// `longitude`: degrees + 180, times 10^7, as ten digits.
pub(super) fn longitude(value: &[u8]) -> Result<(), LintError> {
    coordinate(
        value,
        3_600_000_000,
        LintCode::LongitudeInvalidLength,
        LintCode::InvalidLongitude,
    )
}

/// `pieceoftotal`: a piece number followed by the total number of pieces, both the same length,
/// neither zero, the piece not beyond the total.
pub(super) fn piece_of_total(value: &[u8]) -> Result<(), LintError> {
    if value.is_empty() || !value.len().is_multiple_of(2) {
        return Err(LintError::whole(
            LintCode::InvalidLengthForPieceOfTotal,
            value,
        ));
    }
    require_digits(value)?;
    let half = value.len() / 2;
    let (piece, total) = value.split_at(half);
    if is_all_zeros(piece) {
        return Err(LintError::new(LintCode::ZeroPieceNumber, 0..half));
    }
    if is_all_zeros(total) {
        return Err(LintError::new(LintCode::ZeroTotalPieces, half..value.len()));
    }
    // Equal lengths, so comparing the digit strings compares the numbers.
    if piece > total {
        return Err(LintError::whole(LintCode::PieceNumberExceedsTotal, value));
    }
    Ok(())
}

/// `posinseqslash`: `position/end`, both positive numbers without leading zeros, the position
/// not beyond the end.
pub(super) fn position_in_sequence(value: &[u8]) -> Result<(), LintError> {
    let malformed = || LintError::whole(LintCode::PositionInSequenceMalformed, value);
    let Some(slash) = value.iter().position(|&b| b == b'/') else {
        return Err(malformed());
    };
    let (position, end) = (
        value.get(..slash).unwrap_or_default(),
        value.get(slash + 1..).unwrap_or_default(),
    );
    let well_formed = |part: &[u8]| !part.is_empty() && first_non_digit(part).is_none();
    if !well_formed(position) || !well_formed(end) {
        return Err(malformed());
    }
    if position.first() == Some(&b'0') {
        return Err(LintError::new(LintCode::IllegalZeroPrefix, 0..slash));
    }
    if end.first() == Some(&b'0') {
        return Err(LintError::new(
            LintCode::IllegalZeroPrefix,
            slash + 1..value.len(),
        ));
    }
    if compare_numbers(position, end) == Ordering::Greater {
        return Err(LintError::whole(LintCode::PositionExceedsEnd, value));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_numbers_compare_without_overflow() {
        let position = b"123456789012345678901234567890/123456789012345678901234567891";
        assert!(position_in_sequence(position).is_ok());
        let reversed = b"123456789012345678901234567891/123456789012345678901234567890";
        assert_eq!(
            position_in_sequence(reversed).unwrap_err().code,
            LintCode::PositionExceedsEnd
        );
        assert_eq!(
            non_zero(b"000000000000000000000000000000")
                .unwrap_err()
                .code,
            LintCode::IllegalZeroValue
        );
    }

    #[test]
    fn pieces() {
        assert!(piece_of_total(b"0203").is_ok());
        assert_eq!(
            piece_of_total(b"0302").unwrap_err().code,
            LintCode::PieceNumberExceedsTotal
        );
        assert_eq!(
            piece_of_total(b"203").unwrap_err().code,
            LintCode::InvalidLengthForPieceOfTotal
        );
    }
}
