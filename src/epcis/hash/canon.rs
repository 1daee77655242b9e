//! Value normalisation for the pre-hash string: legacy CBV URNs to CBV web URIs (rule 14),
//! numbers without trailing zeros (rule 6), timestamps in UTC at millisecond precision
//! (rules 8-9) and GS1 identifiers as canonical Digital Link URIs (rules 17-18).

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta, Utc};

use super::dl::canonical_digital_link;

/// Normalises a (trimmed, non-timestamp) value.
pub(crate) fn value(text: &str) -> String {
    let text = web_vocabulary(text);
    let text = match number(&text) {
        Some(n) => n,
        None => text,
    };
    canonical_digital_link(&text).unwrap_or(text)
}

const LEGACY_VOCABULARY: [(&str, &str); 5] = [
    (
        "urn:epcglobal:cbv:bizstep:",
        "https://ref.gs1.org/cbv/BizStep-",
    ),
    ("urn:epcglobal:cbv:disp:", "https://ref.gs1.org/cbv/Disp-"),
    ("urn:epcglobal:cbv:btt:", "https://ref.gs1.org/cbv/BTT-"),
    ("urn:epcglobal:cbv:sdt:", "https://ref.gs1.org/cbv/SDT-"),
    ("urn:epcglobal:cbv:er:", "https://ref.gs1.org/cbv/ER-"),
];

fn web_vocabulary(text: &str) -> String {
    let mut out = text.to_owned();
    for (urn, web) in LEGACY_VOCABULARY {
        if out.contains(urn) {
            out = out.replace(urn, web);
        }
    }
    out
}

/// The canonical spelling of a decimal number, or `None` when `text` is not one.
///
/// What counts as a number, and how it is spelt, follows the reference implementation (Python
/// `float()` then `str()`): optional sign, digits with single `_` between them, optional fraction
/// and exponent. Integral values print as exact integers (`1.0` -> `1`, `007` -> `7`, `1e3` ->
/// `1000`); others in the shortest round-trip form, in scientific notation below 1e-4
/// (`0.00001` -> `1e-05`). Infinities and NaN are left as text.
pub(crate) fn number(text: &str) -> Option<String> {
    let cleaned = python_float_syntax(text)?;
    let x: f64 = cleaned.parse().ok()?;
    if !x.is_finite() {
        return None;
    }
    if x.fract() == 0.0 {
        // `{:.0}` prints the exact decimal value of the double, as Python's int() does.
        let s = format!("{x:.0}");
        return Some(if s == "-0" { "0".to_owned() } else { s });
    }
    let exponent = x.abs().log10().floor();
    if exponent < -4.0 {
        // Python repr: shortest digits, scientific, exponent with at least two digits.
        let sci = format!("{x:e}");
        let (mantissa, exp) = sci.split_once('e')?;
        let exp: i32 = exp.parse().ok()?;
        let sign = if exp < 0 { '-' } else { '+' };
        Some(format!("{mantissa}e{sign}{:02}", exp.abs()))
    } else {
        Some(format!("{x}"))
    }
}

/// Checks Python float() syntax and strips the `_` digit separators; `None` if not a number.
fn python_float_syntax(text: &str) -> Option<String> {
    let body = text.strip_prefix(['+', '-']).unwrap_or(text);
    if body.is_empty() {
        return None;
    }
    let (mantissa, exponent) = match body.find(['e', 'E']) {
        Some(i) => (body.get(..i)?, Some(body.get(i + 1..)?)),
        None => (body, None),
    };
    let (int_part, frac_part) = match mantissa.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (mantissa, None),
    };
    let int_ok = int_part.is_empty() || digit_run(int_part);
    let frac_ok = frac_part.is_none_or(|f| f.is_empty() || digit_run(f));
    let has_digits = !int_part.is_empty() || frac_part.is_some_and(|f| !f.is_empty());
    let exp_ok = exponent.is_none_or(|e| digit_run(e.strip_prefix(['+', '-']).unwrap_or(e)));
    (int_ok && frac_ok && has_digits && exp_ok).then(|| text.replace('_', ""))
}

/// Digits, with single underscores only between digits.
fn digit_run(s: &str) -> bool {
    !s.is_empty()
        && !s.starts_with('_')
        && !s.ends_with('_')
        && !s.contains("__")
        && s.bytes().all(|b| b.is_ascii_digit() || b == b'_')
}

/// A timestamp in UTC with exactly three decimals and `Z`, or `None` if `text` is not an
/// ISO 8601 date-time.
///
/// Rounding follows CBV 2.0 rule 9 as written: the third decimal is rounded up when the fourth
/// is 5-9 (half-up). The Python reference rounds microseconds half-to-even, which differs only
/// for a fourth decimal of exactly 5 followed by zeros after an even third decimal
/// (e.g. `.1425`); none of the conformance vectors hit that case.
/// A timestamp without offset is read as UTC.
pub(crate) fn timestamp(text: &str) -> Option<String> {
    let (date, time) = text.split_once(['T', 't', ' '])?;
    let date = NaiveDate::parse_from_str(date, "%Y-%m-%d").ok()?;
    let (clock, offset) = split_offset(time)?;
    let (hms, fraction) = match clock.split_once(['.', ',']) {
        Some((hms, f)) if !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit()) => (hms, f),
        Some(_) => return None,
        None => (clock, ""),
    };
    let hms = NaiveTime::parse_from_str(hms, "%H:%M:%S")
        .or_else(|_| NaiveTime::parse_from_str(hms, "%H:%M"))
        .ok()?;
    let mut millis: i64 = format!("{:0<3}", fraction.get(..3).unwrap_or(fraction))
        .parse()
        .ok()?;
    if fraction.as_bytes().get(3).is_some_and(|d| *d >= b'5') {
        millis += 1;
    }
    let local = NaiveDateTime::new(date, hms)
        .and_local_timezone(offset)
        .single()?;
    let utc: DateTime<Utc> = local
        .with_timezone(&Utc)
        .checked_add_signed(TimeDelta::milliseconds(millis))?;
    Some(utc.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
}

fn split_offset(time: &str) -> Option<(&str, FixedOffset)> {
    if let Some(clock) = time.strip_suffix(['Z', 'z']) {
        return Some((clock, FixedOffset::east_opt(0)?));
    }
    let Some(i) = time.rfind(['+', '-']) else {
        return Some((time, FixedOffset::east_opt(0)?));
    };
    let (clock, offset) = time.split_at_checked(i)?;
    let sign = if offset.starts_with('-') { -1 } else { 1 };
    let digits: String = offset.chars().skip(1).filter(|c| *c != ':').collect();
    let (h, m) = match digits.len() {
        2 => (digits.parse::<i32>().ok()?, 0),
        4 => (
            digits.get(..2)?.parse::<i32>().ok()?,
            digits.get(2..)?.parse::<i32>().ok()?,
        ),
        _ => return None,
    };
    Some((clock, FixedOffset::east_opt(sign * (h * 3600 + m * 60))?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_lose_trailing_zeros_like_the_reference() {
        for (input, want) in [
            ("1", "1"),
            ("1.0", "1"),
            ("26.0", "26"),
            ("0.100", "0.1"),
            ("12.10000", "12.1"),
            ("0.180000000000", "0.18"),
            ("+5", "5"),
            ("007", "7"),
            ("1e3", "1000"),
            ("1_000", "1000"),
            ("-0", "0"),
            (".5", "0.5"),
            ("0.00001", "1e-05"),
            ("123.5", "123.5"),
            ("1e22", "10000000000000000000000"),
        ] {
            assert_eq!(number(input).as_deref(), Some(want), "{input}");
        }
        for not_a_number in [
            "",
            "+",
            "1_",
            "1__0",
            "abc",
            "1.2.3",
            "2019-10-21",
            "nan",
            "inf",
            "1e400",
            "0x10",
            "f0f0f0",
        ] {
            assert_eq!(number(not_a_number), None, "{not_a_number}");
        }
    }

    #[test]
    fn timestamps_are_utc_milliseconds() {
        for (input, want) in [
            ("2020-03-04T11:00:30.000+01:00", "2020-03-04T10:00:30.000Z"),
            ("2023-02-02T11:04:03.1415Z", "2023-02-02T11:04:03.142Z"),
            ("2023-02-02T11:04:03.1414Z", "2023-02-02T11:04:03.141Z"),
            (
                "2005-04-03T20:33:31.116000-06:00",
                "2005-04-04T02:33:31.116Z",
            ),
            ("2019-12-31T23:59:59.9996Z", "2020-01-01T00:00:00.000Z"),
            ("2023-01-11T12:00:00+01:00", "2023-01-11T11:00:00.000Z"),
            ("2023-01-11T12:00:00", "2023-01-11T12:00:00.000Z"),
        ] {
            assert_eq!(timestamp(input).as_deref(), Some(want), "{input}");
        }
        assert_eq!(timestamp("yesterday"), None);
        assert_eq!(timestamp("+262143-12-31T23:59:59.9999Z"), None);
        assert_eq!(timestamp("2023-13-01T00:00:00Z"), None);
    }

    #[test]
    fn legacy_vocabulary_becomes_web_uris() {
        assert_eq!(
            value("urn:epcglobal:cbv:bizstep:receiving"),
            "https://ref.gs1.org/cbv/BizStep-receiving"
        );
        assert_eq!(
            value("urn:epcglobal:cbv:bt:0614141073467:1152"),
            "urn:epcglobal:cbv:bt:0614141073467:1152"
        );
    }
}
