//! What can be wrong with a scan, in codes that never change and words a clerk understands.
//!
//! Every problem the GS1 core finds is a [`Gs1Error`]: a stable [`ErrorCode`] (printed by
//! `tracedesk parse --json` and stored with failed verifications, so scripts and reports can rely
//! on it) plus a message that names the AI and the offending characters.

use super::lint::LintCode;
use std::fmt;

/// Stable, machine-readable reason a scan is not a valid GS1 message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// Nothing was scanned.
    EmptyScan,
    /// Longer than any GS1 barcode or Digital Link can be ([`super::MAX_SCAN_BYTES`]).
    TooLong,
    /// The bytes are not valid UTF-8.
    InvalidUtf8,
    /// A character outside ASCII, or a control character other than GS.
    NonAsciiCharacter,
    /// An AIM symbology identifier that is malformed or unknown.
    UnknownSymbology,
    /// The symbol carries plain data (no FNC1), not a GS1 message.
    NotGs1,
    /// An AI that is not allocated, or digits that cannot start an AI.
    UnknownAi,
    /// The data ends inside an AI.
    TruncatedAi,
    /// A value shorter than its AI allows.
    ValueTooShort,
    /// A value longer than its AI allows (often a missing FNC1 separator).
    ValueTooLong,
    /// An AI with no value.
    EmptyValue,
    /// A character outside the character set of the AI.
    InvalidCharacter,
    /// A GTIN, SSCC, GLN... whose check digit does not match.
    CheckDigit,
    /// A date or time that does not exist (month 13, 31 April...).
    InvalidDate,
    /// A value that fails another content check of its AI.
    InvalidValue,
    /// The same AI twice with different values.
    DuplicateAi,
    /// An AI whose required companion AI is missing (e.g. a serial without a GTIN).
    MissingRequiredAi,
    /// Two AIs that must not appear together.
    ExclusiveAis,
    /// A bracketed element string that does not follow `(AI)value(AI)value`.
    BracketSyntax,
    /// A GS1 Digital Link URI that does not follow the standard.
    InvalidDigitalLink,
}

impl ErrorCode {
    /// The code as printed in JSON (`snake_case`).
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::EmptyScan => "empty_scan",
            ErrorCode::TooLong => "too_long",
            ErrorCode::InvalidUtf8 => "invalid_utf8",
            ErrorCode::NonAsciiCharacter => "non_ascii_character",
            ErrorCode::UnknownSymbology => "unknown_symbology",
            ErrorCode::NotGs1 => "not_gs1",
            ErrorCode::UnknownAi => "unknown_ai",
            ErrorCode::TruncatedAi => "truncated_ai",
            ErrorCode::ValueTooShort => "value_too_short",
            ErrorCode::ValueTooLong => "value_too_long",
            ErrorCode::EmptyValue => "empty_value",
            ErrorCode::InvalidCharacter => "invalid_character",
            ErrorCode::CheckDigit => "check_digit",
            ErrorCode::InvalidDate => "invalid_date",
            ErrorCode::InvalidValue => "invalid_value",
            ErrorCode::DuplicateAi => "duplicate_ai",
            ErrorCode::MissingRequiredAi => "missing_required_ai",
            ErrorCode::ExclusiveAis => "exclusive_ais",
            ErrorCode::BracketSyntax => "bracket_syntax",
            ErrorCode::InvalidDigitalLink => "invalid_digital_link",
        }
    }

    /// The code a failed content check maps to.
    pub fn from_lint(code: LintCode) -> ErrorCode {
        let name = code.gs1_name();
        if name.contains("CHECK_DIGIT") || name.contains("CHECK_PAIR") {
            ErrorCode::CheckDigit
        } else if ["DAY", "MONTH", "DATE", "HOUR", "MINUTE", "SECOND"]
            .iter()
            .any(|w| name.contains(w))
            && !name.contains("COUPON")
        {
            ErrorCode::InvalidDate
        } else if name.contains("CHARACTER") {
            ErrorCode::InvalidCharacter
        } else {
            ErrorCode::InvalidValue
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One problem found in a scan.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Gs1Error {
    pub code: ErrorCode,
    pub message: String,
}

impl Gs1Error {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Gs1Error {
        Gs1Error {
            code,
            message: message.into(),
        }
    }
}
