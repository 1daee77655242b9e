//! GS1 component linters: the content checks the GS1 Barcode Syntax Dictionary attaches to the
//! components of an Application Identifier's value.
//!
//! The syntax dictionary describes each AI as a list of components such as `N13,csum` or
//! `N6,yymmd0`; the part after the comma names a *linter*, a procedure that decides whether the
//! component's content makes sense (a correct check digit, a real calendar date, a known country
//! code...). The AI parser splits an element string into components and calls [`lint`] on each;
//! this module knows nothing about AIs, only about one component value at a time.
//!
//! Every failure is reported as a [`LintError`]: a [`LintCode`] named after the upstream
//! `GS1_LINTER_*` result (so results can be compared with the GS1 reference implementation and
//! logged in a vocabulary GS1 tools share) plus the byte range of the value to highlight.
//!
//! The rules and code tables are written from the standards' facts: GS1 General Specifications
//! (check digits, CSET 82/39/64, the date window of section 7.12, AIDC media types), ISO 3166-1,
//! ISO 4217, ISO/IEC 5218, ISO 13616 (IBAN), UN/ECE Recommendation 21 (package types) and the
//! North American Coupon Application Guideline.
//!
//! This module is part of the pure core: no I/O, no clock, no allocation on the checking path.
//! Two things would otherwise come from the outside world and are passed in through
//! [`LintContext`] instead:
//!
//! - the current year, which places a two-digit year `YY` in a century (GS1 GenSpecs 7.12) and so
//!   decides whether `YY0229` is a real date; [`lint`] uses [`DEFAULT_CURRENT_YEAR`];
//! - a GS1 Company Prefix register ([`GcpLookup`]). TraceDesk has no online GCP source, so by
//!   default `gcppos1`/`gcppos2` check only what can be checked offline: that the value is long
//!   enough to hold the shortest GCP (four digits) and that those positions are digits.
//!
//! It must never panic, whatever `&str` it is given: values come straight from scanners. Every
//! reported span lies on character boundaries, so `&value[error.span.clone()]` is always safe.

mod charsets;
mod check_digits;
mod code;
mod code_lists;
mod company_prefix;
mod coupon;
mod date_time;
mod numbers;

use std::fmt;
use std::ops::Range;

pub use check_digits::gs1_check_digit;
pub use code::LintCode;
pub use company_prefix::{GCP_MIN_LENGTH, GcpLookup, GcpStatus};
pub use date_time::expand_two_digit_year;

/// The year [`lint`] assumes "now" is when it places a two-digit year in its century.
///
/// Any year from 2000 to 2049 gives the same verdicts for a single `YYMMDD` date: the window of
/// GS1 GenSpecs 7.12 then maps `YY = 00` to 2000 (a leap year), and every other `YY` has the same
/// leap-year status in whichever century it lands. Callers that know today's date (the kiosk
/// does) should use [`lint_with_year`] so the window keeps moving after 2049.
pub const DEFAULT_CURRENT_YEAR: i32 = 2025;

/// A content check applied to one component of an AI's value, as named in the GS1 Barcode
/// Syntax Dictionary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Linter {
    /// GS1 mod-10 check digit in the last position (GTIN, SSCC, GLN...).
    Csum,
    /// GS1 check character pair in the last two positions (alphanumeric keys such as GMN).
    CsumAlpha,
    /// Starts with a GS1 Company Prefix.
    Gcppos1,
    /// Starts with a GS1 Company Prefix from its second position.
    Gcppos2,
    /// `YYMMDD` date where `DD = 00` means "last day of the month".
    Yymmd0,
    /// `YYMMDD` date.
    Yymmdd,
    /// `YYYYMMDD` date.
    Yyyymmdd,
    /// `YYYYMMDD` date where `DD = 00` means "last day of the month".
    Yyyymmd0,
    /// `HHMI` time.
    Hhmi,
    /// `HH` hour.
    Hh,
    /// `MI` minute.
    Mi,
    /// `SS` second.
    Ss,
    /// ISO 3166-1 numeric country code.
    Iso3166,
    /// ISO 3166-1 numeric country code, or `999`.
    Iso3166999,
    /// ISO 3166-1 alpha-2 country code.
    Iso3166Alpha2,
    /// ISO 4217 numeric currency code.
    Iso4217,
    /// ISO/IEC 5218 sex code.
    Iso5218,
    /// International Bank Account Number.
    Iban,
    /// Percent-encoding (`%hh`) is well formed.
    Pcenc,
    /// `0` or `1`.
    YesNo,
    /// Latitude as ten digits, `0000000000` to `1800000000`.
    Latitude,
    /// Longitude as ten digits, `0000000000` to `3600000000`.
    Longitude,
    /// Digits, not all zero.
    NonZero,
    /// All zeros.
    Zero,
    /// Winding direction `0`, `1` or `9`.
    Winding,
    /// Piece number and total number of pieces, of equal length.
    PieceOfTotal,
    /// Digits without a leading zero.
    NoZeroPrefix,
    /// At least one non-digit.
    HasNonDigit,
    /// North American coupon code (AI 8110).
    CouponCode,
    /// Positive offer file coupon code (AI 8112).
    CouponPosOffer,
    /// GS1 AIDC media type.
    MediaType,
    /// Position in a sequence, written `pos/end`.
    PosInSeqSlash,
    /// Only hyphens.
    Hyphen,
    /// Importer index: one character of the URI-safe base64 alphabet.
    ImporterIdx,
    /// UN/ECE Recommendation 21 package type code (with GS1 additions).
    PackageType,
    /// GS1 AI encodable character set 82.
    Cset82,
    /// GS1 AI encodable character set 39.
    Cset39,
    /// GS1 AI encodable character set 64 (URI-safe base64, optional `=` padding).
    Cset64,
    /// Digits only.
    CsetNumeric,
}

impl Linter {
    /// Every linter, in the order of the enum.
    pub const ALL: &'static [Linter] = &[
        Linter::Csum,
        Linter::CsumAlpha,
        Linter::Gcppos1,
        Linter::Gcppos2,
        Linter::Yymmd0,
        Linter::Yymmdd,
        Linter::Yyyymmdd,
        Linter::Yyyymmd0,
        Linter::Hhmi,
        Linter::Hh,
        Linter::Mi,
        Linter::Ss,
        Linter::Iso3166,
        Linter::Iso3166999,
        Linter::Iso3166Alpha2,
        Linter::Iso4217,
        Linter::Iso5218,
        Linter::Iban,
        Linter::Pcenc,
        Linter::YesNo,
        Linter::Latitude,
        Linter::Longitude,
        Linter::NonZero,
        Linter::Zero,
        Linter::Winding,
        Linter::PieceOfTotal,
        Linter::NoZeroPrefix,
        Linter::HasNonDigit,
        Linter::CouponCode,
        Linter::CouponPosOffer,
        Linter::MediaType,
        Linter::PosInSeqSlash,
        Linter::Hyphen,
        Linter::ImporterIdx,
        Linter::PackageType,
        Linter::Cset82,
        Linter::Cset39,
        Linter::Cset64,
        Linter::CsetNumeric,
    ];

    /// The linter named `name` in the GS1 Barcode Syntax Dictionary (`csum`, `yymmd0`, ...).
    pub fn from_name(name: &str) -> Option<Linter> {
        Linter::ALL
            .iter()
            .copied()
            .find(|linter| linter.name() == name)
    }

    /// The linter's name in the GS1 Barcode Syntax Dictionary.
    pub fn name(self) -> &'static str {
        match self {
            Linter::Csum => "csum",
            Linter::CsumAlpha => "csumalpha",
            Linter::Gcppos1 => "gcppos1",
            Linter::Gcppos2 => "gcppos2",
            Linter::Yymmd0 => "yymmd0",
            Linter::Yymmdd => "yymmdd",
            Linter::Yyyymmdd => "yyyymmdd",
            Linter::Yyyymmd0 => "yyyymmd0",
            Linter::Hhmi => "hhmi",
            Linter::Hh => "hh",
            Linter::Mi => "mi",
            Linter::Ss => "ss",
            Linter::Iso3166 => "iso3166",
            Linter::Iso3166999 => "iso3166999",
            Linter::Iso3166Alpha2 => "iso3166alpha2",
            Linter::Iso4217 => "iso4217",
            Linter::Iso5218 => "iso5218",
            Linter::Iban => "iban",
            Linter::Pcenc => "pcenc",
            Linter::YesNo => "yesno",
            Linter::Latitude => "latitude",
            Linter::Longitude => "longitude",
            Linter::NonZero => "nonzero",
            Linter::Zero => "zero",
            Linter::Winding => "winding",
            Linter::PieceOfTotal => "pieceoftotal",
            Linter::NoZeroPrefix => "nozeroprefix",
            Linter::HasNonDigit => "hasnondigit",
            Linter::CouponCode => "couponcode",
            Linter::CouponPosOffer => "couponposoffer",
            Linter::MediaType => "mediatype",
            Linter::PosInSeqSlash => "posinseqslash",
            Linter::Hyphen => "hyphen",
            Linter::ImporterIdx => "importeridx",
            Linter::PackageType => "packagetype",
            Linter::Cset82 => "cset82",
            Linter::Cset39 => "cset39",
            Linter::Cset64 => "cset64",
            Linter::CsetNumeric => "csetnumeric",
        }
    }
}

impl fmt::Display for Linter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A failed lint: what is wrong and which bytes of the component are to blame.
///
/// `span` always lies on character boundaries of the linted value; it may be empty (an empty
/// value, or nothing specific to point at).
#[derive(Debug, Clone, PartialEq, Eq, Hash, thiserror::Error)]
#[error("{}", code.message())]
pub struct LintError {
    pub code: LintCode,
    pub span: Range<usize>,
}

impl LintError {
    pub(crate) fn new(code: LintCode, span: Range<usize>) -> LintError {
        LintError { code, span }
    }

    /// A failure blaming the whole value.
    pub(crate) fn whole(code: LintCode, value: &[u8]) -> LintError {
        LintError::new(code, 0..value.len())
    }

    /// A failure blaming the single byte at `pos` (widened to its character later).
    pub(crate) fn at(code: LintCode, pos: usize) -> LintError {
        LintError::new(code, pos..pos + 1)
    }

    /// The same failure, moved right by `offset` bytes: for linters that check a part of a
    /// larger value.
    pub(crate) fn shifted(self, offset: usize) -> LintError {
        LintError::new(self.code, self.span.start + offset..self.span.end + offset)
    }
}

/// What a linter may need to know about the world outside the value.
#[derive(Clone, Copy)]
pub struct LintContext<'a> {
    /// The current calendar year, used to place a two-digit year in its century.
    pub current_year: i32,
    /// Where to check GS1 Company Prefixes; `None` limits the check to the prefix's form.
    pub gcp_lookup: Option<&'a dyn GcpLookup>,
}

impl Default for LintContext<'_> {
    fn default() -> Self {
        LintContext {
            current_year: DEFAULT_CURRENT_YEAR,
            gcp_lookup: None,
        }
    }
}

impl fmt::Debug for LintContext<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LintContext")
            .field("current_year", &self.current_year)
            .field("gcp_lookup", &self.gcp_lookup.map(|_| "..."))
            .finish()
    }
}

/// Apply `linter` to one component value, assuming [`DEFAULT_CURRENT_YEAR`] and no GS1 Company
/// Prefix register.
pub fn lint(linter: Linter, value: &str) -> Result<(), LintError> {
    lint_with(linter, value, &LintContext::default())
}

/// Apply `linter` to one component value, placing two-digit years relative to `current_year`.
pub fn lint_with_year(linter: Linter, value: &str, current_year: i32) -> Result<(), LintError> {
    let context = LintContext {
        current_year,
        ..LintContext::default()
    };
    lint_with(linter, value, &context)
}

/// Apply `linter` to one component value with everything it may need from outside spelled out.
pub fn lint_with(linter: Linter, value: &str, context: &LintContext<'_>) -> Result<(), LintError> {
    let bytes = value.as_bytes();
    let result = match linter {
        Linter::Csum => check_digits::csum(bytes),
        Linter::CsumAlpha => check_digits::csum_alpha(bytes),
        Linter::Iban => check_digits::iban(bytes),
        Linter::Gcppos1 => company_prefix::gcppos1(value, context.gcp_lookup),
        Linter::Gcppos2 => company_prefix::gcppos2(value, context.gcp_lookup),
        Linter::Yymmd0 => date_time::yymmdd(bytes, true, context.current_year),
        Linter::Yymmdd => date_time::yymmdd(bytes, false, context.current_year),
        Linter::Yyyymmd0 => date_time::yyyymmdd(bytes, true),
        Linter::Yyyymmdd => date_time::yyyymmdd(bytes, false),
        Linter::Hhmi => date_time::hhmi(bytes),
        Linter::Hh => date_time::hh(bytes),
        Linter::Mi => date_time::mi(bytes),
        Linter::Ss => date_time::ss(bytes),
        Linter::Iso3166 => code_lists::iso3166(bytes),
        Linter::Iso3166999 => code_lists::iso3166_or_999(bytes),
        Linter::Iso3166Alpha2 => code_lists::iso3166_alpha2(bytes),
        Linter::Iso4217 => code_lists::iso4217(bytes),
        Linter::Iso5218 => code_lists::iso5218(bytes),
        Linter::YesNo => code_lists::yes_no(bytes),
        Linter::Winding => code_lists::winding(bytes),
        Linter::MediaType => code_lists::media_type(bytes),
        Linter::PackageType => code_lists::package_type(bytes),
        Linter::Pcenc => charsets::percent_encoding(bytes),
        Linter::Hyphen => charsets::hyphen(bytes),
        Linter::HasNonDigit => charsets::has_non_digit(bytes),
        Linter::ImporterIdx => charsets::importer_index(value),
        Linter::Cset82 => charsets::cset82(bytes),
        Linter::Cset39 => charsets::cset39(bytes),
        Linter::Cset64 => charsets::cset64(bytes),
        Linter::CsetNumeric => charsets::numeric(bytes),
        Linter::Latitude => numbers::latitude(bytes),
        Linter::Longitude => numbers::longitude(bytes),
        Linter::NonZero => numbers::non_zero(bytes),
        Linter::Zero => numbers::zero(bytes),
        Linter::NoZeroPrefix => numbers::no_zero_prefix(bytes),
        Linter::PieceOfTotal => numbers::piece_of_total(bytes),
        Linter::PosInSeqSlash => numbers::position_in_sequence(bytes),
        Linter::CouponCode => coupon::coupon_code(value, context),
        Linter::CouponPosOffer => coupon::positive_offer(value),
    };
    result.map_err(|error| LintError {
        span: char_aligned(value, error.span),
        code: error.code,
    })
}

/// Widen `span` to the characters it touches and clamp it to the value, so callers can slice
/// the value with it and highlight whole characters.
fn char_aligned(value: &str, span: Range<usize>) -> Range<usize> {
    let mut start = span.start.min(value.len());
    let mut end = span.end.clamp(start, value.len());
    while !value.is_char_boundary(start) {
        start -= 1;
    }
    while !value.is_char_boundary(end) {
        end += 1;
    }
    start..end
}

/// Position of the first byte that is not an ASCII digit.
fn first_non_digit(bytes: &[u8]) -> Option<usize> {
    bytes.iter().position(|b| !b.is_ascii_digit())
}

/// Fail with [`LintCode::NonDigitCharacter`] at the first non-digit.
fn require_digits(bytes: &[u8]) -> Result<(), LintError> {
    match first_non_digit(bytes) {
        Some(pos) => Err(LintError::at(LintCode::NonDigitCharacter, pos)),
        None => Ok(()),
    }
}

/// The value of a short run of ASCII digits; callers check the digits and keep runs short
/// enough (at most 10 digits) that the value cannot overflow.
fn digits_value(bytes: &[u8]) -> u64 {
    bytes
        .iter()
        .fold(0, |acc, b| acc * 10 + u64::from(b.wrapping_sub(b'0')))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for &linter in Linter::ALL {
            assert_eq!(Linter::from_name(linter.name()), Some(linter));
        }
        assert_eq!(Linter::from_name("CSUM"), None);
        assert_eq!(Linter::from_name(""), None);
    }

    #[test]
    fn spans_are_widened_to_whole_characters() {
        assert_eq!(char_aligned("aé", 1..2), 1..3);
        assert_eq!(char_aligned("aé", 2..3), 1..3);
        assert_eq!(char_aligned("ab", 5..9), 2..2);
    }

    #[test]
    fn no_linter_panics_or_splits_a_character() {
        let awkward = [
            "",
            "é",
            "0é",
            "00é",
            "0000é",
            "é0000",
            "AB1é5678901234",
            "%é",
            "%0é",
            "ABC%gé",
            "1/é",
            "é/1",
            "0é0",
            "€€€€€€€€",
            "1\u{0}",
            "=é",
            "01234561234561111012é",
            "0012345612345601234é",
            "99999999999999999999999999999999999999999",
        ];
        for &linter in Linter::ALL {
            for value in awkward {
                if let Err(error) = lint(linter, value) {
                    assert!(
                        value.get(error.span.clone()).is_some(),
                        "{linter} on {value:?} gave span {:?}",
                        error.span
                    );
                }
            }
        }
    }

    #[test]
    fn lint_error_reads_as_plain_english() {
        let error = lint(Linter::Csum, "12345678901232").unwrap_err();
        assert_eq!(error.to_string(), "check digit is wrong");
        assert_eq!(error.code.gs1_name(), "GS1_LINTER_INCORRECT_CHECK_DIGIT");
    }
}
