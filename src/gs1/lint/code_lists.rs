//! Code-list linters: values that must be one of a published list of codes.
//!
//! The lists are ISO 3166-1 (countries, numeric and alpha-2), ISO 4217 (currencies, numeric),
//! ISO/IEC 5218 (sex), UN/ECE Recommendation 21 package types with the GS1 additions, and the
//! GS1 AIDC media types; plus the two tiny GS1 enumerations "yes/no" and "winding direction".
//!
//! The tables are those in force for GS1 Barcode Syntax Dictionary release 2026-01-27. Codes
//! are kept sorted so a lookup is a binary search; a test guards the ordering. When ISO or
//! UN/ECE publish changes, update the table and the conformance vectors together.

use super::{LintCode, LintError, digits_value, first_non_digit};

/// ISO 3166-1 numeric country codes (249 countries and territories).
const ISO3166_NUMERIC: &[u16] = &[
    4, 8, 10, 12, 16, 20, 24, 28, 31, 32, 36, 40, 44, 48, 50, 51, 52, 56, 60, 64, 68, 70, 72, 74,
    76, 84, 86, 90, 92, 96, 100, 104, 108, 112, 116, 120, 124, 132, 136, 140, 144, 148, 152, 156,
    158, 162, 166, 170, 174, 175, 178, 180, 184, 188, 191, 192, 196, 203, 204, 208, 212, 214, 218,
    222, 226, 231, 232, 233, 234, 238, 239, 242, 246, 248, 250, 254, 258, 260, 262, 266, 268, 270,
    275, 276, 288, 292, 296, 300, 304, 308, 312, 316, 320, 324, 328, 332, 334, 336, 340, 344, 348,
    352, 356, 360, 364, 368, 372, 376, 380, 384, 388, 392, 398, 400, 404, 408, 410, 414, 417, 418,
    422, 426, 428, 430, 434, 438, 440, 442, 446, 450, 454, 458, 462, 466, 470, 474, 478, 480, 484,
    492, 496, 498, 499, 500, 504, 508, 512, 516, 520, 524, 528, 531, 533, 534, 535, 540, 548, 554,
    558, 562, 566, 570, 574, 578, 580, 581, 583, 584, 585, 586, 591, 598, 600, 604, 608, 612, 616,
    620, 624, 626, 630, 634, 638, 642, 643, 646, 652, 654, 659, 660, 662, 663, 666, 670, 674, 678,
    682, 686, 688, 690, 694, 702, 703, 704, 705, 706, 710, 716, 724, 728, 729, 732, 740, 744, 748,
    752, 756, 760, 762, 764, 768, 772, 776, 780, 784, 788, 792, 795, 796, 798, 800, 804, 807, 818,
    826, 831, 832, 833, 834, 840, 850, 854, 858, 860, 862, 876, 882, 887, 894,
];

/// ISO 4217 numeric currency codes, including funds, precious metals and `999` ("no
/// currency"), which GS1 accepts.
const ISO4217_NUMERIC: &[u16] = &[
    8, 12, 32, 36, 44, 48, 50, 51, 52, 60, 64, 68, 72, 84, 90, 96, 104, 108, 116, 124, 132, 136,
    144, 152, 156, 170, 174, 188, 192, 203, 208, 214, 222, 230, 232, 238, 242, 262, 270, 292, 320,
    324, 328, 332, 340, 344, 348, 352, 356, 360, 364, 368, 376, 388, 392, 396, 398, 400, 404, 408,
    410, 414, 417, 418, 422, 426, 430, 434, 446, 454, 458, 462, 480, 484, 496, 498, 504, 512, 516,
    524, 532, 533, 548, 554, 558, 566, 578, 586, 590, 598, 600, 604, 608, 634, 643, 646, 654, 682,
    690, 702, 704, 706, 710, 728, 748, 752, 756, 760, 764, 776, 780, 784, 788, 800, 807, 818, 826,
    834, 840, 858, 860, 882, 886, 901, 924, 925, 926, 927, 928, 929, 930, 933, 934, 936, 938, 940,
    941, 943, 944, 946, 947, 948, 949, 950, 951, 952, 953, 955, 956, 957, 958, 959, 960, 961, 962,
    963, 964, 965, 967, 968, 969, 970, 971, 972, 973, 975, 976, 977, 978, 979, 980, 981, 984, 985,
    986, 990, 994, 997, 999,
];

/// ISO 3166-1 alpha-2 country codes.
const ISO3166_ALPHA2: &[[u8; 2]] = &[
    *b"AD", *b"AE", *b"AF", *b"AG", *b"AI", *b"AL", *b"AM", *b"AO", *b"AQ", *b"AR", *b"AS", *b"AT",
    *b"AU", *b"AW", *b"AX", *b"AZ", *b"BA", *b"BB", *b"BD", *b"BE", *b"BF", *b"BG", *b"BH", *b"BI",
    *b"BJ", *b"BL", *b"BM", *b"BN", *b"BO", *b"BQ", *b"BR", *b"BS", *b"BT", *b"BV", *b"BW", *b"BY",
    *b"BZ", *b"CA", *b"CC", *b"CD", *b"CF", *b"CG", *b"CH", *b"CI", *b"CK", *b"CL", *b"CM", *b"CN",
    *b"CO", *b"CR", *b"CU", *b"CV", *b"CW", *b"CX", *b"CY", *b"CZ", *b"DE", *b"DJ", *b"DK", *b"DM",
    *b"DO", *b"DZ", *b"EC", *b"EE", *b"EG", *b"EH", *b"ER", *b"ES", *b"ET", *b"FI", *b"FJ", *b"FK",
    *b"FM", *b"FO", *b"FR", *b"GA", *b"GB", *b"GD", *b"GE", *b"GF", *b"GG", *b"GH", *b"GI", *b"GL",
    *b"GM", *b"GN", *b"GP", *b"GQ", *b"GR", *b"GS", *b"GT", *b"GU", *b"GW", *b"GY", *b"HK", *b"HM",
    *b"HN", *b"HR", *b"HT", *b"HU", *b"ID", *b"IE", *b"IL", *b"IM", *b"IN", *b"IO", *b"IQ", *b"IR",
    *b"IS", *b"IT", *b"JE", *b"JM", *b"JO", *b"JP", *b"KE", *b"KG", *b"KH", *b"KI", *b"KM", *b"KN",
    *b"KP", *b"KR", *b"KW", *b"KY", *b"KZ", *b"LA", *b"LB", *b"LC", *b"LI", *b"LK", *b"LR", *b"LS",
    *b"LT", *b"LU", *b"LV", *b"LY", *b"MA", *b"MC", *b"MD", *b"ME", *b"MF", *b"MG", *b"MH", *b"MK",
    *b"ML", *b"MM", *b"MN", *b"MO", *b"MP", *b"MQ", *b"MR", *b"MS", *b"MT", *b"MU", *b"MV", *b"MW",
    *b"MX", *b"MY", *b"MZ", *b"NA", *b"NC", *b"NE", *b"NF", *b"NG", *b"NI", *b"NL", *b"NO", *b"NP",
    *b"NR", *b"NU", *b"NZ", *b"OM", *b"PA", *b"PE", *b"PF", *b"PG", *b"PH", *b"PK", *b"PL", *b"PM",
    *b"PN", *b"PR", *b"PS", *b"PT", *b"PW", *b"PY", *b"QA", *b"RE", *b"RO", *b"RS", *b"RU", *b"RW",
    *b"SA", *b"SB", *b"SC", *b"SD", *b"SE", *b"SG", *b"SH", *b"SI", *b"SJ", *b"SK", *b"SL", *b"SM",
    *b"SN", *b"SO", *b"SR", *b"SS", *b"ST", *b"SV", *b"SX", *b"SY", *b"SZ", *b"TC", *b"TD", *b"TF",
    *b"TG", *b"TH", *b"TJ", *b"TK", *b"TL", *b"TM", *b"TN", *b"TO", *b"TR", *b"TT", *b"TV", *b"TW",
    *b"TZ", *b"UA", *b"UG", *b"UM", *b"US", *b"UY", *b"UZ", *b"VA", *b"VC", *b"VE", *b"VG", *b"VI",
    *b"VN", *b"VU", *b"WF", *b"WS", *b"YE", *b"YT", *b"ZA", *b"ZM", *b"ZW",
];

/// UN/ECE Recommendation 21 package type codes, with the codes GS1 adds for its own use.
const PACKAGE_TYPES: &[&str] = &[
    "1A", "1B", "1D", "1F", "1G", "1W", "200", "201", "202", "203", "204", "205", "206", "210",
    "211", "212", "2C", "3A", "3H", "43", "44", "4A", "4B", "4C", "4D", "4F", "4G", "4H", "5H",
    "5L", "5M", "6H", "6P", "7A", "7B", "8", "8A", "8B", "8C", "9", "AA", "AB", "AC", "AD", "AF",
    "AG", "AH", "AI", "AJ", "AL", "AM", "AP", "APE", "AT", "AV", "B4", "BB", "BC", "BD", "BE",
    "BF", "BG", "BGE", "BH", "BI", "BJ", "BK", "BL", "BM", "BME", "BN", "BO", "BP", "BQ", "BR",
    "BRI", "BS", "BT", "BU", "BV", "BW", "BX", "BY", "BZ", "CA", "CB", "CBL", "CC", "CCE", "CD",
    "CE", "CF", "CG", "CH", "CI", "CJ", "CK", "CL", "CM", "CN", "CO", "CP", "CQ", "CR", "CS", "CT",
    "CU", "CV", "CW", "CX", "CY", "CZ", "DA", "DB", "DC", "DG", "DH", "DI", "DJ", "DK", "DL", "DM",
    "DN", "DP", "DPE", "DR", "DS", "DT", "DU", "DV", "DW", "DX", "DY", "E1", "E2", "E3", "EC",
    "ED", "EE", "EF", "EG", "EH", "EI", "EN", "FB", "FC", "FD", "FE", "FI", "FL", "FO", "FOB",
    "FP", "FPE", "FR", "FT", "FW", "FX", "GB", "GI", "GL", "GR", "GU", "GY", "GZ", "HA", "HB",
    "HC", "HG", "HN", "HR", "IA", "IB", "IC", "ID", "IE", "IF", "IG", "IH", "IK", "IL", "IN", "IZ",
    "JB", "JC", "JG", "JR", "JT", "JY", "KG", "KI", "LAB", "LE", "LG", "LT", "LU", "LV", "LZ",
    "MA", "MB", "MC", "ME", "MPE", "MR", "MS", "MT", "MW", "MX", "NA", "NE", "NF", "NG", "NS",
    "NT", "NU", "NV", "OA", "OB", "OC", "OD", "OE", "OF", "OK", "OPE", "OT", "OU", "P2", "PA",
    "PAE", "PB", "PC", "PD", "PE", "PF", "PG", "PH", "PI", "PJ", "PK", "PL", "PLP", "PN", "PO",
    "POP", "PP", "PPE", "PR", "PT", "PU", "PUE", "PV", "PX", "PY", "PZ", "QA", "QB", "QC", "QD",
    "QF", "QG", "QH", "QJ", "QK", "QL", "QM", "QN", "QP", "QQ", "QR", "QS", "RB1", "RB2", "RB3",
    "RCB", "RD", "RG", "RJ", "RK", "RL", "RO", "RT", "RZ", "S1", "SA", "SB", "SC", "SD", "SE",
    "SEC", "SH", "SI", "SK", "SL", "SM", "SO", "SP", "SS", "ST", "STL", "SU", "SV", "SW", "SX",
    "SY", "SZ", "T1", "TB", "TC", "TD", "TE", "TEV", "TG", "THE", "TI", "TK", "TL", "TN", "TO",
    "TR", "TRE", "TS", "TT", "TTE", "TU", "TV", "TW", "TWE", "TY", "TZ", "UC", "UN", "UUE", "VA",
    "VG", "VI", "VK", "VL", "VN", "VO", "VP", "VQ", "VR", "VS", "VY", "WA", "WB", "WC", "WD", "WF",
    "WG", "WH", "WJ", "WK", "WL", "WM", "WN", "WP", "WQ", "WR", "WRP", "WS", "WT", "WU", "WV",
    "WW", "WX", "WY", "WZ", "X11", "X12", "X15", "X16", "X17", "X18", "X19", "X20", "X3", "XA",
    "XB", "XC", "XD", "XF", "XG", "XH", "XJ", "XK", "YA", "YB", "YC", "YD", "YF", "YG", "YH", "YJ",
    "YK", "YL", "YM", "YN", "YP", "YQ", "YR", "YS", "YT", "YV", "YW", "YX", "YY", "YZ", "ZA", "ZB",
    "ZC", "ZD", "ZF", "ZG", "ZH", "ZJ", "ZK", "ZL", "ZM", "ZN", "ZP", "ZQ", "ZR", "ZS", "ZT", "ZU",
    "ZV", "ZW", "ZX", "ZY", "ZZ",
];

/// A three-digit code's numeric value, if `value` is exactly three ASCII digits.
fn three_digit_code(value: &[u8]) -> Option<u16> {
    if value.len() != 3 || first_non_digit(value).is_some() {
        return None;
    }
    u16::try_from(digits_value(value)).ok()
}

fn is_listed_number(list: &[u16], value: &[u8]) -> bool {
    three_digit_code(value).is_some_and(|code| list.binary_search(&code).is_ok())
}

/// Whether `value` is exactly an ISO 3166-1 alpha-2 country code.
pub(super) fn is_iso3166_alpha2(value: &[u8]) -> bool {
    <[u8; 2]>::try_from(value).is_ok_and(|code| ISO3166_ALPHA2.binary_search(&code).is_ok())
}

/// Pass when `listed`, otherwise blame the whole value with `code`.
fn listed_or(listed: bool, code: LintCode, value: &[u8]) -> Result<(), LintError> {
    if listed {
        Ok(())
    } else {
        Err(LintError::whole(code, value))
    }
}

/// `iso3166`: an ISO 3166-1 numeric country code.
pub(super) fn iso3166(value: &[u8]) -> Result<(), LintError> {
    listed_or(
        is_listed_number(ISO3166_NUMERIC, value),
        LintCode::NotIso3166,
        value,
    )
}

/// `iso3166999`: an ISO 3166-1 numeric country code, or `999` (GS1's "several or unknown").
pub(super) fn iso3166_or_999(value: &[u8]) -> Result<(), LintError> {
    let listed = value == b"999" || is_listed_number(ISO3166_NUMERIC, value);
    listed_or(listed, LintCode::NotIso3166Or999, value)
}

/// `iso3166alpha2`: an ISO 3166-1 alpha-2 country code (capital letters).
pub(super) fn iso3166_alpha2(value: &[u8]) -> Result<(), LintError> {
    listed_or(is_iso3166_alpha2(value), LintCode::NotIso3166Alpha2, value)
}

/// `iso4217`: an ISO 4217 numeric currency code.
pub(super) fn iso4217(value: &[u8]) -> Result<(), LintError> {
    listed_or(
        is_listed_number(ISO4217_NUMERIC, value),
        LintCode::NotIso4217,
        value,
    )
}

/// `iso5218`: 0 not known, 1 male, 2 female, 9 not applicable.
pub(super) fn iso5218(value: &[u8]) -> Result<(), LintError> {
    let listed = matches!(value, b"0" | b"1" | b"2" | b"9");
    listed_or(listed, LintCode::InvalidBiologicalSexCode, value)
}

/// `yesno`: 0 or 1.
pub(super) fn yes_no(value: &[u8]) -> Result<(), LintError> {
    listed_or(matches!(value, b"0" | b"1"), LintCode::NotZeroOrOne, value)
}

/// `winding`: 0 face out, 1 face in, 9 undetermined.
pub(super) fn winding(value: &[u8]) -> Result<(), LintError> {
    let listed = matches!(value, b"0" | b"1" | b"9");
    listed_or(listed, LintCode::InvalidWindingDirection, value)
}

/// `mediatype`: a GS1 AIDC media type, 01 to 10 or 80 to 99 (the latter for company-internal
/// use).
pub(super) fn media_type(value: &[u8]) -> Result<(), LintError> {
    let listed = value.len() == 2
        && first_non_digit(value).is_none()
        && matches!(digits_value(value), 1..=10 | 80..=99);
    listed_or(listed, LintCode::InvalidMediaType, value)
}

/// `packagetype`: a package type code.
pub(super) fn package_type(value: &[u8]) -> Result<(), LintError> {
    let listed = PACKAGE_TYPES
        .binary_search_by(|code| code.as_bytes().cmp(value))
        .is_ok();
    listed_or(listed, LintCode::InvalidPackageType, value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_are_sorted_without_duplicates() {
        assert!(ISO3166_NUMERIC.windows(2).all(|w| w[0] < w[1]));
        assert!(ISO4217_NUMERIC.windows(2).all(|w| w[0] < w[1]));
        assert!(ISO3166_ALPHA2.windows(2).all(|w| w[0] < w[1]));
        assert!(
            PACKAGE_TYPES
                .windows(2)
                .all(|w| w[0].as_bytes() < w[1].as_bytes())
        );
        assert_eq!(ISO3166_NUMERIC.len(), 249);
        assert_eq!(ISO3166_ALPHA2.len(), 249);
    }

    #[test]
    fn well_known_codes() {
        // United States, Germany, euro, US dollar, pallet, box.
        assert!(iso3166(b"840").is_ok());
        assert!(iso3166(b"276").is_ok());
        assert!(iso4217(b"978").is_ok());
        assert!(iso4217(b"840").is_ok());
        assert!(iso3166_alpha2(b"DE").is_ok());
        assert!(package_type(b"PX").is_ok());
        assert!(package_type(b"BX").is_ok());
        assert!(iso3166_alpha2(b"de").is_err());
        assert!(iso3166(b"84").is_err());
        assert!(iso3166_or_999(b"999").is_ok());
        assert!(iso3166(b"999").is_err());
    }
}
