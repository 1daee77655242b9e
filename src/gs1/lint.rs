//! Component linters (placeholder API; the full implementation lands from the `lint` branch).

use std::ops::Range;

/// A content check applied to one component of an AI's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Linter {
    Csum,
    CsumAlpha,
    Gcppos1,
    Gcppos2,
    Yymmd0,
    Yymmdd,
    Yyyymmdd,
    Yyyymmd0,
    Hhmi,
    Hh,
    Mi,
    Ss,
    Iso3166,
    Iso3166999,
    Iso3166Alpha2,
    Iso4217,
    Iso5218,
    Iban,
    Pcenc,
    YesNo,
    Latitude,
    Longitude,
    NonZero,
    Zero,
    Winding,
    PieceOfTotal,
    NoZeroPrefix,
    HasNonDigit,
    CouponCode,
    CouponPosOffer,
    MediaType,
    PosInSeqSlash,
    Hyphen,
    ImporterIdx,
    PackageType,
    Cset82,
    Cset39,
    Cset64,
    CsetNumeric,
}

/// Why a component failed a linter, named as the GS1 Barcode Syntax Tests name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LintCode {
    NonDigitCharacter,
    IncorrectCheckDigit,
    IllegalMonth,
}

impl LintCode {
    /// The `GS1_LINTER_*` name of this result.
    pub fn gs1_name(self) -> &'static str {
        match self {
            LintCode::NonDigitCharacter => "GS1_LINTER_NON_DIGIT_CHARACTER",
            LintCode::IncorrectCheckDigit => "GS1_LINTER_INCORRECT_CHECK_DIGIT",
            LintCode::IllegalMonth => "GS1_LINTER_ILLEGAL_MONTH",
        }
    }
}

/// A failed lint: what is wrong and which bytes of the component are to blame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LintError {
    pub code: LintCode,
    pub span: Range<usize>,
}

impl Linter {
    /// The linter's name in the GS1 Barcode Syntax Dictionary (`csum`, `yymmd0`, ...).
    pub fn from_name(name: &str) -> Option<Linter> {
        match name {
            "csum" => Some(Linter::Csum),
            "yymmd0" => Some(Linter::Yymmd0),
            _ => None,
        }
    }
}

/// Apply `linter` to one component value (ASCII).
pub fn lint(linter: Linter, value: &str) -> Result<(), LintError> {
    let n = value.len();
    match linter {
        Linter::Csum if !super::ident::check_digit_ok(value.as_bytes()) => Err(LintError {
            code: LintCode::IncorrectCheckDigit,
            span: n.saturating_sub(1)..n,
        }),
        Linter::Yymmd0 | Linter::Yymmdd => {
            let today = chrono::NaiveDate::from_ymd_opt(2000, 1, 1).unwrap_or_default();
            let zero_ok = linter == Linter::Yymmd0 || !value.ends_with("00");
            if zero_ok && super::date::parse_yymmdd(value, today).is_some() {
                Ok(())
            } else {
                Err(LintError {
                    code: LintCode::IllegalMonth,
                    span: 0..n,
                })
            }
        }
        _ => Ok(()),
    }
}
