//! GS1 dates: `YYMMDD` values such as expiry (17) and production date (11).
//!
//! Two rules make these dates tricky, and both matter for a pharmacy: `DD = 00` means the last
//! day of the month (common on expiry dates), and the century is not written, so it follows
//! GS1 General Specifications 7.12 relative to the current year. The current date is passed
//! in: this module never reads a clock.

use chrono::{Datelike, NaiveDate};

/// Resolve a two-digit year per GS1 GenSpecs 7.12: with `d = YY - (current year mod 100)`,
/// `51..=99` means the previous century, `-99..=-50` the next, anything else the current one.
pub fn resolve_year(yy: u32, current_year: i32) -> i32 {
    super::lint::expand_two_digit_year(u8::try_from(yy % 100).unwrap_or(0), current_year)
}

/// The last day of a month.
pub fn last_day_of_month(year: i32, month: u32) -> Option<u32> {
    let (ny, nm) = if month == 12 {
        (year + 1, 1)
    } else {
        (year, month + 1)
    };
    NaiveDate::from_ymd_opt(ny, nm, 1)
        .and_then(|d| d.pred_opt())
        .map(|d| d.day())
}

/// The calendar date of a six-digit `YYMMDD` value, `DD = 00` meaning the month's last day.
/// `None` when the value is not six digits or the date does not exist.
pub fn parse_yymmdd(value: &str, today: NaiveDate) -> Option<NaiveDate> {
    let bytes = value.as_bytes();
    if bytes.len() != 6 || !bytes.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let num = |i: usize| -> u32 {
        bytes
            .get(i..i + 2)
            .map(|p| p.iter().fold(0, |acc, b| acc * 10 + u32::from(b - b'0')))
            .unwrap_or(0)
    };
    let (yy, mm, dd) = (num(0), num(2), num(4));
    let year = resolve_year(yy, today.year());
    let day = if dd == 0 {
        last_day_of_month(year, mm)?
    } else {
        dd
    };
    NaiveDate::from_ymd_opt(year, mm, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn century_rule_of_genspecs_7_12() {
        assert_eq!(resolve_year(26, 2026), 2026);
        assert_eq!(resolve_year(76, 2026), 2076); // d = 50: current century
        assert_eq!(resolve_year(77, 2026), 1977); // d = 51: previous century
        assert_eq!(resolve_year(99, 2026), 1999);
        assert_eq!(resolve_year(0, 2051), 2100); // d = -51: next century
        assert_eq!(resolve_year(1, 2050), 2001); // d = -49: current century
        assert_eq!(resolve_year(0, 2050), 2100); // d = -50: next century
    }

    #[test]
    fn day_zero_is_the_last_day_of_the_month() {
        let today = d(2026, 11, 24);
        assert_eq!(parse_yymmdd("280200", today), Some(d(2028, 2, 29)));
        assert_eq!(parse_yymmdd("270200", today), Some(d(2027, 2, 28)));
        assert_eq!(parse_yymmdd("261200", today), Some(d(2026, 12, 31)));
        assert_eq!(parse_yymmdd("260431", today), None);
        assert_eq!(parse_yymmdd("261300", today), None);
        assert_eq!(parse_yymmdd("26010", today), None);
        assert_eq!(parse_yymmdd("2601a1", today), None);
    }
}
