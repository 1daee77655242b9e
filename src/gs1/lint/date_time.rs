//! Date and time linters: `YYMMDD`/`YYYYMMDD` dates (with or without the `DD = 00` "last day of
//! the month" convention) and `HHMI`, `HH`, `MI`, `SS` times.
//!
//! A pack's expiry date (AI 17) is `yymmd0`: `DD = 00` is allowed and means the last day of the
//! month. Whether `YY0229` exists depends on the century, which GS1 GenSpecs 7.12 derives from
//! the current year; the caller passes that year in because the core has no clock.

use std::ops::Range;

use super::{LintCode, LintError, digits_value, require_digits};

/// The full year GS1 GenSpecs 7.12 means by a two-digit year, seen from `current_year`: with
/// `d = YY - (current year mod 100)`, 51..=99 is the previous century, -99..=-50 the next one,
/// anything else the current century.
pub fn expand_two_digit_year(yy: u8, current_year: i32) -> i32 {
    let century = current_year.div_euclid(100) * 100;
    let difference = i32::from(yy) - current_year.rem_euclid(100);
    match difference {
        51.. => century - 100 + i32::from(yy),
        ..=-50 => century + 100 + i32::from(yy),
        _ => century + i32::from(yy),
    }
}

fn is_leap_year(year: i32) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

/// Days in `month` (1 to 12) of `year`.
fn days_in_month(year: i32, month: u64) -> u64 {
    match month {
        2 if is_leap_year(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Check month and day of an all-digit date whose `MMDD` sits at `month_at..month_at + 4`.
fn check_month_and_day(
    digits: &[u8],
    year: i32,
    month_at: usize,
    zero_day_allowed: bool,
) -> Result<(), LintError> {
    let month_span: Range<usize> = month_at..month_at + 2;
    let day_span: Range<usize> = month_at + 2..month_at + 4;
    let month = digits_value(digits.get(month_span.clone()).unwrap_or_default());
    let day = digits_value(digits.get(day_span.clone()).unwrap_or_default());
    if !(1..=12).contains(&month) {
        return Err(LintError::new(LintCode::IllegalMonth, month_span));
    }
    let day_ok = (day == 0 && zero_day_allowed) || (1..=days_in_month(year, month)).contains(&day);
    if !day_ok {
        return Err(LintError::new(LintCode::IllegalDay, day_span));
    }
    Ok(())
}

/// Fail unless `value` has exactly `expected` bytes, blaming the whole value.
fn require_length(
    value: &[u8],
    expected: usize,
    too_short: LintCode,
    too_long: LintCode,
) -> Result<(), LintError> {
    match value.len().cmp(&expected) {
        std::cmp::Ordering::Less => Err(LintError::whole(too_short, value)),
        std::cmp::Ordering::Greater => Err(LintError::whole(too_long, value)),
        std::cmp::Ordering::Equal => Ok(()),
    }
}

/// `yymmdd` (or `yymmd0` when `zero_day_allowed`).
pub(super) fn yymmdd(
    value: &[u8],
    zero_day_allowed: bool,
    current_year: i32,
) -> Result<(), LintError> {
    require_length(value, 6, LintCode::DateTooShort, LintCode::DateTooLong)?;
    require_digits(value)?;
    let yy = u8::try_from(digits_value(value.get(..2).unwrap_or_default())).unwrap_or(0);
    let year = expand_two_digit_year(yy, current_year);
    check_month_and_day(value, year, 2, zero_day_allowed)
}

/// `yyyymmdd` (or `yyyymmd0` when `zero_day_allowed`).
pub(super) fn yyyymmdd(value: &[u8], zero_day_allowed: bool) -> Result<(), LintError> {
    require_length(value, 8, LintCode::DateTooShort, LintCode::DateTooLong)?;
    require_digits(value)?;
    let year = i32::try_from(digits_value(value.get(..4).unwrap_or_default())).unwrap_or(0);
    check_month_and_day(value, year, 4, zero_day_allowed)
}

/// A two-digit time field no greater than `max`.
fn two_digit_field(
    value: &[u8],
    max: u64,
    [too_short, too_long, illegal]: [LintCode; 3],
) -> Result<(), LintError> {
    require_length(value, 2, too_short, too_long)?;
    require_digits(value)?;
    if digits_value(value) > max {
        return Err(LintError::whole(illegal, value));
    }
    Ok(())
}

/// `hh`: hour 00 to 23.
pub(super) fn hh(value: &[u8]) -> Result<(), LintError> {
    use LintCode::{HourTooLong, HourTooShort, IllegalHour};
    two_digit_field(value, 23, [HourTooShort, HourTooLong, IllegalHour])
}

/// `mi`: minute 00 to 59.
pub(super) fn mi(value: &[u8]) -> Result<(), LintError> {
    use LintCode::{IllegalMinute, MinuteTooLong, MinuteTooShort};
    two_digit_field(value, 59, [MinuteTooShort, MinuteTooLong, IllegalMinute])
}

/// `ss`: second 00 to 59.
pub(super) fn ss(value: &[u8]) -> Result<(), LintError> {
    use LintCode::{IllegalSecond, SecondTooLong, SecondTooShort};
    two_digit_field(value, 59, [SecondTooShort, SecondTooLong, IllegalSecond])
}

/// `hhmi`: hour 00 to 23 then minute 00 to 59.
pub(super) fn hhmi(value: &[u8]) -> Result<(), LintError> {
    require_length(
        value,
        4,
        LintCode::HourWithMinuteTooShort,
        LintCode::HourWithMinuteTooLong,
    )?;
    require_digits(value)?;
    if digits_value(value.get(..2).unwrap_or_default()) > 23 {
        return Err(LintError::new(LintCode::IllegalHour, 0..2));
    }
    if digits_value(value.get(2..).unwrap_or_default()) > 59 {
        return Err(LintError::new(LintCode::IllegalMinute, 2..4));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::{Linter, lint, lint_with_year};
    use super::*;

    fn code_of(linter: Linter, value: &str) -> Option<LintCode> {
        lint(linter, value).err().map(|error| error.code)
    }

    #[test]
    fn century_window_of_genspecs_7_12() {
        assert_eq!(expand_two_digit_year(25, 2025), 2025);
        assert_eq!(expand_two_digit_year(75, 2025), 2075); // d = 50: still this century
        assert_eq!(expand_two_digit_year(76, 2025), 1976); // d = 51: previous century
        assert_eq!(expand_two_digit_year(0, 2025), 2000);
        assert_eq!(expand_two_digit_year(0, 2050), 2100); // d = -50: next century
        assert_eq!(expand_two_digit_year(99, 2000), 1999);
        assert_eq!(expand_two_digit_year(49, 2099), 2149);
    }

    #[test]
    fn expiry_day_zero_means_end_of_month() {
        assert_eq!(code_of(Linter::Yymmd0, "270600"), None);
        assert_eq!(
            code_of(Linter::Yymmdd, "270600"),
            Some(LintCode::IllegalDay)
        );
        assert_eq!(code_of(Linter::Yyyymmd0, "20270600"), None);
        assert_eq!(
            code_of(Linter::Yyyymmdd, "20270600"),
            Some(LintCode::IllegalDay)
        );
    }

    #[test]
    fn february_29th() {
        assert_eq!(code_of(Linter::Yymmdd, "280229"), None);
        assert_eq!(
            code_of(Linter::Yymmdd, "270229"),
            Some(LintCode::IllegalDay)
        );
        assert_eq!(code_of(Linter::Yymmdd, "000229"), None); // 2000 was a leap year
        assert_eq!(
            code_of(Linter::Yyyymmdd, "21000229"),
            Some(LintCode::IllegalDay)
        );
        assert_eq!(code_of(Linter::Yyyymmdd, "24000229"), None);
        // Seen from 2060, "00" is 2100, which is not a leap year.
        let error = lint_with_year(Linter::Yymmd0, "000229", 2060).unwrap_err();
        assert_eq!((error.code, error.span), (LintCode::IllegalDay, 4..6));
    }

    #[test]
    fn month_thirteen_and_bad_days() {
        let error = lint(Linter::Yymmd0, "271301").unwrap_err();
        assert_eq!((error.code, error.span), (LintCode::IllegalMonth, 2..4));
        assert_eq!(
            code_of(Linter::Yymmd0, "270001"),
            Some(LintCode::IllegalMonth)
        );
        assert_eq!(
            code_of(Linter::Yymmd0, "270431"),
            Some(LintCode::IllegalDay)
        );
        assert_eq!(
            code_of(Linter::Yymmd0, "270132"),
            Some(LintCode::IllegalDay)
        );
        assert_eq!(
            code_of(Linter::Yymmd0, "2701"),
            Some(LintCode::DateTooShort)
        );
        assert_eq!(
            code_of(Linter::Yymmd0, "2701011"),
            Some(LintCode::DateTooLong)
        );
        assert_eq!(
            code_of(Linter::Yymmd0, "27O101"),
            Some(LintCode::NonDigitCharacter)
        );
    }

    #[test]
    fn times() {
        assert_eq!(code_of(Linter::Hhmi, "2359"), None);
        assert_eq!(code_of(Linter::Hhmi, "2400"), Some(LintCode::IllegalHour));
        assert_eq!(code_of(Linter::Hhmi, "1260"), Some(LintCode::IllegalMinute));
        assert_eq!(code_of(Linter::Ss, "59"), None);
        assert_eq!(code_of(Linter::Ss, "60"), Some(LintCode::IllegalSecond));
    }
}
