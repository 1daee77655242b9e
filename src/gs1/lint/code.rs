//! Why a component failed: one [`LintCode`] per `GS1_LINTER_*` result of the GS1 Barcode Syntax
//! Tests, each with the upstream name (for logs, EPCIS error details and the conformance vectors)
//! and a plain-English message a pharmacist at the receiving desk can act on.
//!
//! The upstream enumeration is stable and append-only; `GS1_LINTER_UNUSED_*` placeholders are
//! not mirrored because no linter can produce them.

/// Declares [`LintCode`] from one table so the variant, its upstream name and its message can
/// never drift apart.
macro_rules! lint_codes {
    ($($variant:ident => $gs1:literal, $message:literal;)*) => {
        /// Why a component failed a linter, named after the `GS1_LINTER_*` result it stands for.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum LintCode {
            $(
                #[doc = $message]
                $variant,
            )*
        }

        impl LintCode {
            /// Every code, in upstream order.
            pub const ALL: &'static [LintCode] = &[$(LintCode::$variant,)*];

            /// The `GS1_LINTER_*` name of this result, e.g. `"GS1_LINTER_NON_DIGIT_CHARACTER"`.
            pub fn gs1_name(self) -> &'static str {
                match self {
                    $(LintCode::$variant => $gs1,)*
                }
            }

            /// A short plain-English explanation, e.g. "check digit is wrong".
            pub fn message(self) -> &'static str {
                match self {
                    $(LintCode::$variant => $message,)*
                }
            }

            /// The code for a `GS1_LINTER_*` name; `None` for unknown names and for
            /// `GS1_LINTER_OK`, which is not a failure.
            pub fn from_gs1_name(name: &str) -> Option<LintCode> {
                match name {
                    $($gs1 => Some(LintCode::$variant),)*
                    _ => None,
                }
            }
        }
    };
}

lint_codes! {
    NonDigitCharacter => "GS1_LINTER_NON_DIGIT_CHARACTER",
        "contains a character that is not a digit";
    InvalidCset82Character => "GS1_LINTER_INVALID_CSET82_CHARACTER",
        "contains a character that GS1 barcodes do not allow here";
    InvalidCset39Character => "GS1_LINTER_INVALID_CSET39_CHARACTER",
        "contains a character other than capital letters, digits, '#', '-' or '/'";
    InvalidCset32Character => "GS1_LINTER_INVALID_CSET32_CHARACTER",
        "check characters use a letter or digit that check characters never use";
    IncorrectCheckDigit => "GS1_LINTER_INCORRECT_CHECK_DIGIT",
        "check digit is wrong";
    TooShortForCheckDigit => "GS1_LINTER_TOO_SHORT_FOR_CHECK_DIGIT",
        "is too short to carry a check digit";
    IncorrectCheckPair => "GS1_LINTER_INCORRECT_CHECK_PAIR",
        "check character pair is wrong";
    TooShortForCheckPair => "GS1_LINTER_TOO_SHORT_FOR_CHECK_PAIR",
        "is too short to carry a check character pair";
    TooLongForCheckPairImplementation => "GS1_LINTER_TOO_LONG_FOR_CHECK_PAIR_IMPLEMENTATION",
        "is too long for its check character pair to be verified";
    GcpDatasourceOffline => "GS1_LINTER_GCP_DATASOURCE_OFFLINE",
        "the GS1 Company Prefix list is unavailable, so the prefix could not be checked";
    InvalidGcpPrefix => "GS1_LINTER_INVALID_GCP_PREFIX",
        "does not start with a valid GS1 Company Prefix";
    ImporterIdxMustBeOneCharacter => "GS1_LINTER_IMPORTER_IDX_MUST_BE_ONE_CHARACTER",
        "importer index must be exactly one character";
    InvalidImportIdxCharacter => "GS1_LINTER_INVALID_IMPORT_IDX_CHARACTER",
        "importer index must be a letter, a digit, '-' or '_'";
    IllegalZeroValue => "GS1_LINTER_ILLEGAL_ZERO_VALUE",
        "must not be zero";
    NotZero => "GS1_LINTER_NOT_ZERO",
        "must be zero";
    IllegalZeroPrefix => "GS1_LINTER_ILLEGAL_ZERO_PREFIX",
        "must not start with a zero";
    NotZeroOrOne => "GS1_LINTER_NOT_ZERO_OR_ONE",
        "must be 0 (no) or 1 (yes)";
    InvalidWindingDirection => "GS1_LINTER_INVALID_WINDING_DIRECTION",
        "winding direction must be 0, 1 or 9";
    NotIso3166 => "GS1_LINTER_NOT_ISO3166",
        "is not a known three-digit country code";
    NotIso3166Or999 => "GS1_LINTER_NOT_ISO3166_OR_999",
        "is not a known three-digit country code or 999";
    NotIso3166Alpha2 => "GS1_LINTER_NOT_ISO3166_ALPHA2",
        "is not a known two-letter country code";
    NotIso4217 => "GS1_LINTER_NOT_ISO4217",
        "is not a known three-digit currency code";
    IbanTooShort => "GS1_LINTER_IBAN_TOO_SHORT",
        "bank account number (IBAN) is too short";
    InvalidIbanCharacter => "GS1_LINTER_INVALID_IBAN_CHARACTER",
        "bank account number (IBAN) may only contain capital letters and digits";
    IllegalIbanCountryCode => "GS1_LINTER_ILLEGAL_IBAN_COUNTRY_CODE",
        "bank account number (IBAN) does not start with a known country code";
    IncorrectIbanChecksum => "GS1_LINTER_INCORRECT_IBAN_CHECKSUM",
        "bank account number (IBAN) check digits are wrong";
    DateTooShort => "GS1_LINTER_DATE_TOO_SHORT",
        "date is too short";
    DateTooLong => "GS1_LINTER_DATE_TOO_LONG",
        "date is too long";
    HourWithMinuteTooShort => "GS1_LINTER_HOUR_WITH_MINUTE_TOO_SHORT",
        "time (hours and minutes) is too short";
    HourWithMinuteTooLong => "GS1_LINTER_HOUR_WITH_MINUTE_TOO_LONG",
        "time (hours and minutes) is too long";
    IllegalMonth => "GS1_LINTER_ILLEGAL_MONTH",
        "month must be 01 to 12";
    IllegalDay => "GS1_LINTER_ILLEGAL_DAY",
        "day does not exist in that month";
    IllegalHour => "GS1_LINTER_ILLEGAL_HOUR",
        "hour must be 00 to 23";
    IllegalMinute => "GS1_LINTER_ILLEGAL_MINUTE",
        "minute must be 00 to 59";
    IllegalSecond => "GS1_LINTER_ILLEGAL_SECOND",
        "second must be 00 to 59";
    InvalidLengthForPieceOfTotal => "GS1_LINTER_INVALID_LENGTH_FOR_PIECE_OF_TOTAL",
        "piece number and total must have the same number of digits";
    ZeroPieceNumber => "GS1_LINTER_ZERO_PIECE_NUMBER",
        "piece number must not be zero";
    ZeroTotalPieces => "GS1_LINTER_ZERO_TOTAL_PIECES",
        "total number of pieces must not be zero";
    PieceNumberExceedsTotal => "GS1_LINTER_PIECE_NUMBER_EXCEEDS_TOTAL",
        "piece number is larger than the total number of pieces";
    InvalidPercentSequence => "GS1_LINTER_INVALID_PERCENT_SEQUENCE",
        "a '%' must be followed by two hexadecimal digits";
    CouponMissingFormatCode => "GS1_LINTER_COUPON_MISSING_FORMAT_CODE",
        "coupon format code is missing";
    CouponInvalidFormatCode => "GS1_LINTER_COUPON_INVALID_FORMAT_CODE",
        "coupon format code must be 0 or 1";
    CouponMissingFunderVli => "GS1_LINTER_COUPON_MISSING_FUNDER_VLI",
        "coupon funder length digit is missing";
    CouponInvalidFunderLength => "GS1_LINTER_COUPON_INVALID_FUNDER_LENGTH",
        "coupon funder length digit must be 0 to 6";
    CouponTruncatedFunder => "GS1_LINTER_COUPON_TRUNCATED_FUNDER",
        "coupon funder ID is cut short";
    CouponTruncatedOfferCode => "GS1_LINTER_COUPON_TRUNCATED_OFFER_CODE",
        "coupon offer code must have six digits";
    CouponMissingSerialNumberVli => "GS1_LINTER_COUPON_MISSING_SERIAL_NUMBER_VLI",
        "coupon serial number length digit is missing";
    CouponTruncatedSerialNumber => "GS1_LINTER_COUPON_TRUNCATED_SERIAL_NUMBER",
        "coupon serial number is cut short";
    CouponMissingGcpVli => "GS1_LINTER_COUPON_MISSING_GCP_VLI",
        "coupon company prefix length digit is missing";
    CouponInvalidGcpLength => "GS1_LINTER_COUPON_INVALID_GCP_LENGTH",
        "coupon company prefix length digit must be 0 to 6";
    CouponTruncatedGcp => "GS1_LINTER_COUPON_TRUNCATED_GCP",
        "coupon company prefix is cut short";
    CouponMissingSaveValueVli => "GS1_LINTER_COUPON_MISSING_SAVE_VALUE_VLI",
        "coupon save value length digit is missing";
    CouponInvalidSaveValueLength => "GS1_LINTER_COUPON_INVALID_SAVE_VALUE_LENGTH",
        "coupon save value length digit must be 1 to 5";
    CouponTruncatedSaveValue => "GS1_LINTER_COUPON_TRUNCATED_SAVE_VALUE",
        "coupon save value is cut short";
    CouponMissingFirstPurchaseRequirementVli => "GS1_LINTER_COUPON_MISSING_1ST_PURCHASE_REQUIREMENT_VLI",
        "coupon purchase requirement length digit is missing";
    CouponInvalidFirstPurchaseRequirementLength => "GS1_LINTER_COUPON_INVALID_1ST_PURCHASE_REQUIREMENT_LENGTH",
        "coupon purchase requirement length digit must be 1 to 5";
    CouponTruncatedFirstPurchaseRequirement => "GS1_LINTER_COUPON_TRUNCATED_1ST_PURCHASE_REQUIREMENT",
        "coupon purchase requirement is cut short";
    CouponMissingFirstPurchaseRequirementCode => "GS1_LINTER_COUPON_MISSING_1ST_PURCHASE_REQUIREMENT_CODE",
        "coupon purchase requirement code is missing";
    CouponInvalidFirstPurchaseRequirementCode => "GS1_LINTER_COUPON_INVALID_1ST_PURCHASE_REQUIREMENT_CODE",
        "coupon purchase requirement code must be 0 to 4 or 9";
    CouponTruncatedFirstPurchaseFamilyCode => "GS1_LINTER_COUPON_TRUNCATED_1ST_PURCHASE_FAMILY_CODE",
        "coupon purchase family code must have three digits";
    CouponMissingAdditionalPurchaseRulesCode => "GS1_LINTER_COUPON_MISSING_ADDITIONAL_PURCHASE_RULES_CODE",
        "coupon additional purchase rules code is missing";
    CouponInvalidAdditionalPurchaseRulesCode => "GS1_LINTER_COUPON_INVALID_ADDITIONAL_PURCHASE_RULES_CODE",
        "coupon additional purchase rules code must be 0 to 3";
    CouponMissingSecondPurchaseRequirementVli => "GS1_LINTER_COUPON_MISSING_2ND_PURCHASE_REQUIREMENT_VLI",
        "coupon second purchase requirement length digit is missing";
    CouponInvalidSecondPurchaseRequirementLength => "GS1_LINTER_COUPON_INVALID_2ND_PURCHASE_REQUIREMENT_LENGTH",
        "coupon second purchase requirement length digit must be 1 to 5";
    CouponTruncatedSecondPurchaseRequirement => "GS1_LINTER_COUPON_TRUNCATED_2ND_PURCHASE_REQUIREMENT",
        "coupon second purchase requirement is cut short";
    CouponMissingSecondPurchaseRequirementCode => "GS1_LINTER_COUPON_MISSING_2ND_PURCHASE_REQUIREMENT_CODE",
        "coupon second purchase requirement code is missing";
    CouponInvalidSecondPurchaseRequirementCode => "GS1_LINTER_COUPON_INVALID_2ND_PURCHASE_REQUIREMENT_CODE",
        "coupon second purchase requirement code must be 0 to 4 or 9";
    CouponTruncatedSecondPurchaseFamilyCode => "GS1_LINTER_COUPON_TRUNCATED_2ND_PURCHASE_FAMILY_CODE",
        "coupon second purchase family code must have three digits";
    CouponMissingSecondPurchaseGcpVli => "GS1_LINTER_COUPON_MISSING_2ND_PURCHASE_GCP_VLI",
        "coupon second purchase company prefix length digit is missing";
    CouponInvalidSecondPurchaseGcpLength => "GS1_LINTER_COUPON_INVALID_2ND_PURCHASE_GCP_LENGTH",
        "coupon second purchase company prefix length digit must be 0 to 6 or 9";
    CouponTruncatedSecondPurchaseGcp => "GS1_LINTER_COUPON_TRUNCATED_2ND_PURCHASE_GCP",
        "coupon second purchase company prefix is cut short";
    CouponMissingThirdPurchaseRequirementVli => "GS1_LINTER_COUPON_MISSING_3RD_PURCHASE_REQUIREMENT_VLI",
        "coupon third purchase requirement length digit is missing";
    CouponInvalidThirdPurchaseRequirementLength => "GS1_LINTER_COUPON_INVALID_3RD_PURCHASE_REQUIREMENT_LENGTH",
        "coupon third purchase requirement length digit must be 1 to 5";
    CouponTruncatedThirdPurchaseRequirement => "GS1_LINTER_COUPON_TRUNCATED_3RD_PURCHASE_REQUIREMENT",
        "coupon third purchase requirement is cut short";
    CouponMissingThirdPurchaseRequirementCode => "GS1_LINTER_COUPON_MISSING_3RD_PURCHASE_REQUIREMENT_CODE",
        "coupon third purchase requirement code is missing";
    CouponInvalidThirdPurchaseRequirementCode => "GS1_LINTER_COUPON_INVALID_3RD_PURCHASE_REQUIREMENT_CODE",
        "coupon third purchase requirement code must be 0 to 4 or 9";
    CouponTruncatedThirdPurchaseFamilyCode => "GS1_LINTER_COUPON_TRUNCATED_3RD_PURCHASE_FAMILY_CODE",
        "coupon third purchase family code must have three digits";
    CouponMissingThirdPurchaseGcpVli => "GS1_LINTER_COUPON_MISSING_3RD_PURCHASE_GCP_VLI",
        "coupon third purchase company prefix length digit is missing";
    CouponInvalidThirdPurchaseGcpLength => "GS1_LINTER_COUPON_INVALID_3RD_PURCHASE_GCP_LENGTH",
        "coupon third purchase company prefix length digit must be 0 to 6 or 9";
    CouponTruncatedThirdPurchaseGcp => "GS1_LINTER_COUPON_TRUNCATED_3RD_PURCHASE_GCP",
        "coupon third purchase company prefix is cut short";
    CouponTooShortForExpirationDate => "GS1_LINTER_COUPON_TOO_SHORT_FOR_EXPIRATION_DATE",
        "coupon expiration date is cut short";
    CouponInvalidExpirationDate => "GS1_LINTER_COUPON_INVALID_EXIPIRATION_DATE",
        "coupon expiration date is not a real date";
    CouponTooShortForStartDate => "GS1_LINTER_COUPON_TOO_SHORT_FOR_START_DATE",
        "coupon start date is cut short";
    CouponInvalidStartDate => "GS1_LINTER_COUPON_INVALID_START_DATE",
        "coupon start date is not a real date";
    CouponExpirationBeforeStart => "GS1_LINTER_COUPON_EXPIRATION_BEFORE_START",
        "coupon expires before it starts";
    CouponMissingRetailerGcpOrGlnVli => "GS1_LINTER_COUPON_MISSING_RETAILER_GCP_OR_GLN_VLI",
        "coupon retailer ID length digit is missing";
    CouponInvalidRetailerGcpOrGlnLength => "GS1_LINTER_COUPON_INVALID_RETAILER_GCP_OR_GLN_LENGTH",
        "coupon retailer ID length digit must be 1 to 7";
    CouponTruncatedRetailerGcpOrGln => "GS1_LINTER_COUPON_TRUNCATED_RETAILER_GCP_OR_GLN",
        "coupon retailer ID is cut short";
    CouponMissingSaveValueCode => "GS1_LINTER_COUPON_MISSING_SAVE_VALUE_CODE",
        "coupon save value code is missing";
    CouponInvalidSaveValueCode => "GS1_LINTER_COUPON_INVALID_SAVE_VALUE_CODE",
        "coupon save value code must be 0, 1, 2, 5 or 6";
    CouponMissingSaveValueAppliesToItem => "GS1_LINTER_COUPON_MISSING_SAVE_VALUE_APPLIES_TO_ITEM",
        "coupon 'save value applies to item' digit is missing";
    CouponInvalidSaveValueAppliesToItem => "GS1_LINTER_COUPON_INVALID_SAVE_VALUE_APPLIES_TO_ITEM",
        "coupon 'save value applies to item' digit must be 0 to 2";
    CouponMissingStoreCouponFlag => "GS1_LINTER_COUPON_MISSING_STORE_COUPON_FLAG",
        "coupon store coupon flag is missing";
    CouponMissingDontMultiplyFlag => "GS1_LINTER_COUPON_MISSING_DONT_MULTIPLY_FLAG",
        "coupon 'don't multiply' flag is missing";
    CouponInvalidDontMultiplyFlag => "GS1_LINTER_COUPON_INVALID_DONT_MULTIPLY_FLAG",
        "coupon 'don't multiply' flag must be 0 or 1";
    CouponExcessData => "GS1_LINTER_COUPON_EXCESS_DATA",
        "coupon has unexpected extra digits at the end";
    InvalidLatitude => "GS1_LINTER_INVALID_LATITUDE",
        "latitude is out of range";
    InvalidLongitude => "GS1_LINTER_INVALID_LONGITUDE",
        "longitude is out of range";
    InvalidMediaType => "GS1_LINTER_INVALID_MEDIA_TYPE",
        "is not a known media type code";
    LatitudeInvalidLength => "GS1_LINTER_LATITUDE_INVALID_LENGTH",
        "latitude must have ten digits";
    LongitudeInvalidLength => "GS1_LINTER_LONGITUDE_INVALID_LENGTH",
        "longitude must have ten digits";
    InvalidCset64Character => "GS1_LINTER_INVALID_CSET64_CHARACTER",
        "contains a character that is not allowed in this encoded value";
    InvalidCset64Padding => "GS1_LINTER_INVALID_CSET64_PADDING",
        "encoded value has the wrong number of '=' at the end";
    NotHyphen => "GS1_LINTER_NOT_HYPHEN",
        "must contain only hyphens";
    InvalidBiologicalSexCode => "GS1_LINTER_INVALID_BIOLOGICAL_SEX_CODE",
        "sex code must be 0, 1, 2 or 9";
    PositionInSequenceMalformed => "GS1_LINTER_POSITION_IN_SEQUENCE_MALFORMED",
        "must be written as position/total, e.g. 2/5";
    PositionExceedsEnd => "GS1_LINTER_POSITION_EXCEEDS_END",
        "position is larger than the total";
    RequiresNonDigitCharacter => "GS1_LINTER_REQUIRES_NON_DIGIT_CHARACTER",
        "must contain at least one character that is not a digit";
    HourTooShort => "GS1_LINTER_HOUR_TOO_SHORT",
        "hour is too short";
    HourTooLong => "GS1_LINTER_HOUR_TOO_LONG",
        "hour is too long";
    MinuteTooShort => "GS1_LINTER_MINUTE_TOO_SHORT",
        "minute is too short";
    MinuteTooLong => "GS1_LINTER_MINUTE_TOO_LONG",
        "minute is too long";
    SecondTooShort => "GS1_LINTER_SECOND_TOO_SHORT",
        "second is too short";
    SecondTooLong => "GS1_LINTER_SECOND_TOO_LONG",
        "second is too long";
    InvalidPackageType => "GS1_LINTER_INVALID_PACKAGE_TYPE",
        "is not a known package type code";
    TooShortForGcp => "GS1_LINTER_TOO_SHORT_FOR_GCP",
        "is too short to start with a GS1 Company Prefix";
    IbanTooLong => "GS1_LINTER_IBAN_TOO_LONG",
        "bank account number (IBAN) is too long";
}

#[cfg(test)]
mod tests {
    use super::LintCode;

    #[test]
    fn gs1_names_round_trip_and_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for &code in LintCode::ALL {
            assert!(seen.insert(code.gs1_name()), "{} twice", code.gs1_name());
            assert_eq!(LintCode::from_gs1_name(code.gs1_name()), Some(code));
            assert!(code.gs1_name().starts_with("GS1_LINTER_"));
            assert!(!code.message().is_empty());
        }
        assert_eq!(LintCode::from_gs1_name("GS1_LINTER_OK"), None);
    }
}
