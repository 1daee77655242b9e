//! Electronic Product Codes as they appear in EPCIS events: EPC URNs (`urn:epc:id:sgtin:...`) and
//! GS1 Digital Link URIs (`https://any.host/01/{gtin}/21/{serial}`).
//!
//! [`parse_epc`] turns either form into an [`Epc`] whose keys are complete and check-digit valid,
//! so the rest of TraceDesk compares units by GTIN + serial and never by URI spelling. It is
//! strict on purpose: a supplier file with a garbled identifier must be reported, not guessed at.
//!
//! The module is pure: strings in, values out.

use std::fmt::{self, Write as _};

/// A unit, lot, logistic unit or location identifier taken from an EPCIS event.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Epc {
    /// A serialised trade item: GTIN-14 + serial (AI 01 + 21), serial already unescaped.
    Sgtin { gtin: String, serial: String },
    /// A lot of a trade item (class level): GTIN-14 + lot (AI 01 + 10).
    Lgtin { gtin: String, lot: String },
    /// A trade item class without lot or serial (AI 01 alone).
    Gtin { gtin: String },
    /// A logistic unit (AI 00), 18 digits.
    Sscc { sscc: String },
    /// A location: GLN-13 and an optional GLN extension (AI 414 + 254).
    Sgln {
        gln: String,
        extension: Option<String>,
    },
}

/// Why a string is not an EPC TraceDesk can use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EpcError {
    #[error("the identifier is empty")]
    Empty,
    #[error("'{0}' is neither an EPC URN nor a GS1 Digital Link URI this desk understands")]
    UnknownForm(String),
    #[error("'{uri}' is not a valid {scheme}: {reason}")]
    Malformed {
        uri: String,
        scheme: &'static str,
        reason: String,
    },
    #[error("'{uri}': the {key} {digits} has a wrong check digit (expected {expected})")]
    CheckDigit {
        uri: String,
        key: &'static str,
        digits: String,
        expected: char,
    },
}

impl Epc {
    /// The GTIN-14 of a trade item identifier, if this is one.
    pub fn gtin(&self) -> Option<&str> {
        match self {
            Epc::Sgtin { gtin, .. } | Epc::Lgtin { gtin, .. } | Epc::Gtin { gtin } => Some(gtin),
            Epc::Sscc { .. } | Epc::Sgln { .. } => None,
        }
    }

    /// The serial number of a serialised trade item.
    pub fn serial(&self) -> Option<&str> {
        match self {
            Epc::Sgtin { serial, .. } => Some(serial),
            _ => None,
        }
    }

    /// The lot of a class-level identifier.
    pub fn lot(&self) -> Option<&str> {
        match self {
            Epc::Lgtin { lot, .. } => Some(lot),
            _ => None,
        }
    }

    /// The canonical GS1 Digital Link URI (`https://id.gs1.org/...`), values percent-encoded
    /// as GS1 Digital Link requires.
    pub fn digital_link(&self) -> String {
        match self {
            Epc::Sgtin { gtin, serial } => {
                format!(
                    "https://id.gs1.org/01/{gtin}/21/{}",
                    encode_dl_value(serial)
                )
            }
            Epc::Lgtin { gtin, lot } => {
                format!("https://id.gs1.org/01/{gtin}/10/{}", encode_dl_value(lot))
            }
            Epc::Gtin { gtin } => format!("https://id.gs1.org/01/{gtin}"),
            Epc::Sscc { sscc } => format!("https://id.gs1.org/00/{sscc}"),
            Epc::Sgln { gln, extension } => match extension {
                Some(ext) => format!("https://id.gs1.org/414/{gln}/254/{}", encode_dl_value(ext)),
                None => format!("https://id.gs1.org/414/{gln}"),
            },
        }
    }
}

impl fmt::Display for Epc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.digital_link())
    }
}

/// Parses an EPC URN or a GS1 Digital Link URI into an [`Epc`].
///
/// Accepted: `urn:epc:id:sgtin:`, `urn:epc:id:sscc:`, `urn:epc:id:sgln:`,
/// `urn:epc:class:lgtin:` (with the EPC Tag Data Standard `%xx` escapes), and Digital Link URIs
/// on any host, with or without a path prefix, with AI 01 (GTIN-8/12/13/14, padded to 14) plus
/// optional 22/10/21 qualifiers, AI 00, or AI 414 (+254). Check digits are verified.
pub fn parse_epc(input: &str) -> Result<Epc, EpcError> {
    let s = input.trim();
    if s.is_empty() {
        return Err(EpcError::Empty);
    }
    if let Some(rest) = s.strip_prefix("urn:epc:id:sgtin:") {
        parse_sgtin_urn(s, rest)
    } else if let Some(rest) = s.strip_prefix("urn:epc:id:sscc:") {
        parse_sscc_urn(s, rest)
    } else if let Some(rest) = s.strip_prefix("urn:epc:id:sgln:") {
        parse_sgln_urn(s, rest)
    } else if let Some(rest) = s.strip_prefix("urn:epc:class:lgtin:") {
        parse_lgtin_urn(s, rest)
    } else if s.starts_with("https://") || s.starts_with("http://") {
        parse_digital_link(s)
    } else {
        Err(EpcError::UnknownForm(s.to_owned()))
    }
}

fn malformed(uri: &str, scheme: &'static str, reason: impl Into<String>) -> EpcError {
    EpcError::Malformed {
        uri: uri.to_owned(),
        scheme,
        reason: reason.into(),
    }
}

/// GS1 mod-10 check digit over `digits` (the key without its check digit).
pub(crate) fn check_digit(digits: &str) -> Option<char> {
    let mut sum = 0u32;
    for (i, c) in digits.chars().rev().enumerate() {
        let d = c.to_digit(10)?;
        sum += if i % 2 == 0 { d * 3 } else { d };
    }
    char::from_digit((10 - sum % 10) % 10, 10)
}

/// Appends the check digit; `None` when `digits` holds a non-digit.
pub(crate) fn with_check_digit(digits: &str) -> Option<String> {
    let c = check_digit(digits)?;
    let mut s = String::with_capacity(digits.len() + 1);
    s.push_str(digits);
    s.push(c);
    Some(s)
}

fn all_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// Splits `cp.ref` / `cp.ref.rest` parts of an EPC URN body and checks the company prefix and
/// reference digit counts (company prefix 6..=12 digits, `cp + ref == total`).
fn company_prefix_and_ref(
    uri: &str,
    scheme: &'static str,
    cp: &str,
    reference: &str,
    total: usize,
) -> Result<(), EpcError> {
    if !all_digits(cp) || !(6..=12).contains(&cp.len()) {
        return Err(malformed(
            uri,
            scheme,
            "the company prefix must be 6 to 12 digits",
        ));
    }
    if cp.len() + reference.len() != total || !reference.bytes().all(|b| b.is_ascii_digit()) {
        return Err(malformed(
            uri,
            scheme,
            format!("company prefix and reference must be {total} digits together"),
        ));
    }
    Ok(())
}

/// GTIN-14 from the company prefix and the item reference (indicator digit first) of an SGTIN.
fn gtin_from_parts(cp: &str, item_ref: &str) -> Option<String> {
    let (indicator, rest) = item_ref.split_at_checked(1)?;
    with_check_digit(&format!("{indicator}{cp}{rest}"))
}

fn parse_sgtin_urn(uri: &str, body: &str) -> Result<Epc, EpcError> {
    const SCHEME: &str = "SGTIN EPC URN";
    let mut parts = body.splitn(3, '.');
    let (Some(cp), Some(item), Some(serial)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(malformed(
            uri,
            SCHEME,
            "expected company prefix, item reference and serial",
        ));
    };
    company_prefix_and_ref(uri, SCHEME, cp, item, 13)?;
    let gtin = gtin_from_parts(cp, item)
        .ok_or_else(|| malformed(uri, SCHEME, "the item reference is empty"))?;
    let serial = unescape_value(uri, SCHEME, serial, "serial")?;
    Ok(Epc::Sgtin { gtin, serial })
}

fn parse_lgtin_urn(uri: &str, body: &str) -> Result<Epc, EpcError> {
    const SCHEME: &str = "LGTIN EPC class URN";
    let mut parts = body.splitn(3, '.');
    let (Some(cp), Some(item), Some(lot)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(malformed(
            uri,
            SCHEME,
            "expected company prefix, item reference and lot",
        ));
    };
    company_prefix_and_ref(uri, SCHEME, cp, item, 13)?;
    let gtin = gtin_from_parts(cp, item)
        .ok_or_else(|| malformed(uri, SCHEME, "the item reference is empty"))?;
    let lot = unescape_value(uri, SCHEME, lot, "lot")?;
    Ok(Epc::Lgtin { gtin, lot })
}

fn parse_sscc_urn(uri: &str, body: &str) -> Result<Epc, EpcError> {
    const SCHEME: &str = "SSCC EPC URN";
    let Some((cp, serial_ref)) = body.split_once('.') else {
        return Err(malformed(
            uri,
            SCHEME,
            "expected company prefix and serial reference",
        ));
    };
    company_prefix_and_ref(uri, SCHEME, cp, serial_ref, 17)?;
    let (extension, rest) = serial_ref
        .split_at_checked(1)
        .ok_or_else(|| malformed(uri, SCHEME, "the serial reference is empty"))?;
    let sscc = with_check_digit(&format!("{extension}{cp}{rest}"))
        .ok_or_else(|| malformed(uri, SCHEME, "digits expected"))?;
    Ok(Epc::Sscc { sscc })
}

fn parse_sgln_urn(uri: &str, body: &str) -> Result<Epc, EpcError> {
    const SCHEME: &str = "SGLN EPC URN";
    let mut parts = body.splitn(3, '.');
    let (Some(cp), Some(location), Some(ext)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(malformed(
            uri,
            SCHEME,
            "expected company prefix, location reference and extension",
        ));
    };
    company_prefix_and_ref(uri, SCHEME, cp, location, 12)?;
    let gln = with_check_digit(&format!("{cp}{location}"))
        .ok_or_else(|| malformed(uri, SCHEME, "digits expected"))?;
    let ext = unescape_value(uri, SCHEME, ext, "extension")?;
    let extension = (ext != "0").then_some(ext);
    Ok(Epc::Sgln { gln, extension })
}

/// GS1 AI encodable character set 82, the alphabet of serials, lots and GLN extensions.
fn is_cset82(c: char) -> bool {
    matches!(c, '!' | '"' | '%'..='?' | 'A'..='Z' | '_' | 'a'..='z')
}

/// Decodes `%xx` escapes (EPC URN or URI percent-encoding) and checks the result is 1..=20
/// characters of character set 82.
fn unescape_value(
    uri: &str,
    scheme: &'static str,
    raw: &str,
    what: &str,
) -> Result<String, EpcError> {
    let decoded = percent_decode(raw)
        .ok_or_else(|| malformed(uri, scheme, format!("the {what} has a broken %-escape")))?;
    if decoded.is_empty() || decoded.chars().count() > 20 {
        return Err(malformed(
            uri,
            scheme,
            format!("the {what} must be 1 to 20 characters"),
        ));
    }
    if let Some(bad) = decoded.chars().find(|&c| !is_cset82(c)) {
        return Err(malformed(
            uri,
            scheme,
            format!("the {what} contains '{bad}', which GS1 does not allow"),
        ));
    }
    Ok(decoded)
}

pub(crate) fn percent_decode(raw: &str) -> Option<String> {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let hex = raw.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Percent-encodes an AI value for a Digital Link path: everything but RFC 3986 unreserved
/// characters, which is what GS1 Digital Link 1.2 (Table 7-1) asks for in CSET 82 values.
pub fn encode_dl_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            // Writing to a String cannot fail.
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

fn parse_digital_link(uri: &str) -> Result<Epc, EpcError> {
    const SCHEME: &str = "GS1 Digital Link URI";
    let after_scheme = uri
        .split_once("://")
        .map(|(_, rest)| rest)
        .unwrap_or_default();
    let without_query = after_scheme.split(['?', '#']).next().unwrap_or_default();
    let path = without_query
        .split_once('/')
        .map(|(_, p)| p)
        .ok_or_else(|| malformed(uri, SCHEME, "there is no path"))?;
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();

    // The primary key is the first segment naming a key AI whose value looks like that key;
    // everything before it is the resolver's own path prefix.
    let start = segments
        .windows(2)
        .position(|w| match (w.first(), w.get(1)) {
            (Some(&ai), Some(&value)) => primary_key_fits(ai, value),
            _ => false,
        })
        .ok_or_else(|| {
            malformed(
                uri,
                SCHEME,
                "no GTIN (01), SSCC (00) or GLN (414) in the path",
            )
        })?;
    let keyed = segments.get(start..).unwrap_or_default();
    let mut pairs = keyed.chunks(2);
    let Some([ai, value]) = pairs.next() else {
        return Err(malformed(uri, SCHEME, "the key has no value"));
    };
    let mut qualifiers = Vec::new();
    for pair in pairs {
        match pair {
            [q, v] => qualifiers.push((*q, *v)),
            _ => return Err(malformed(uri, SCHEME, "a path qualifier has no value")),
        }
    }
    match *ai {
        "01" | "gtin" => {
            let gtin = match value.len() {
                8 | 12 | 13 | 14 if all_digits(value) => format!("{value:0>14}"),
                _ => {
                    return Err(malformed(
                        uri,
                        SCHEME,
                        "a GTIN must be 8, 12, 13 or 14 digits",
                    ));
                }
            };
            verify_check_digit(uri, "GTIN", &gtin)?;
            let mut lot = None;
            let mut serial = None;
            let mut last_rank = 0;
            for (q, v) in qualifiers {
                let rank = match q {
                    "22" | "cpv" => 1,
                    "10" | "lot" => 2,
                    "21" | "ser" => 3,
                    other => {
                        return Err(malformed(
                            uri,
                            SCHEME,
                            format!("'{other}' is not a qualifier of a GTIN"),
                        ));
                    }
                };
                if rank <= last_rank {
                    return Err(malformed(
                        uri,
                        SCHEME,
                        "qualifiers must come in the order 22, 10, 21",
                    ));
                }
                last_rank = rank;
                match rank {
                    2 => lot = Some(unescape_value(uri, SCHEME, v, "lot")?),
                    3 => serial = Some(unescape_value(uri, SCHEME, v, "serial")?),
                    _ => {}
                }
            }
            Ok(match (serial, lot) {
                (Some(serial), _) => Epc::Sgtin { gtin, serial },
                (None, Some(lot)) => Epc::Lgtin { gtin, lot },
                (None, None) => Epc::Gtin { gtin },
            })
        }
        "00" | "sscc" => {
            if !qualifiers.is_empty() {
                return Err(malformed(uri, SCHEME, "an SSCC takes no qualifiers"));
            }
            verify_check_digit(uri, "SSCC", value)?;
            Ok(Epc::Sscc {
                sscc: (*value).to_owned(),
            })
        }
        _ => {
            verify_check_digit(uri, "GLN", value)?;
            let extension = match qualifiers.as_slice() {
                [] => None,
                [("254", ext)] => Some(unescape_value(uri, SCHEME, ext, "GLN extension")?),
                _ => return Err(malformed(uri, SCHEME, "a GLN takes only the 254 qualifier")),
            };
            Ok(Epc::Sgln {
                gln: (*value).to_owned(),
                extension,
            })
        }
    }
}

fn primary_key_fits(ai: &str, value: &str) -> bool {
    match ai {
        "01" | "gtin" => all_digits(value) && matches!(value.len(), 8 | 12 | 13 | 14),
        "00" | "sscc" => all_digits(value) && value.len() == 18,
        "414" | "gln" => all_digits(value) && value.len() == 13,
        _ => false,
    }
}

fn verify_check_digit(uri: &str, key: &'static str, digits: &str) -> Result<(), EpcError> {
    let (body, given) = digits
        .split_at_checked(digits.len().saturating_sub(1))
        .unwrap_or_default();
    let expected = check_digit(body).ok_or_else(|| EpcError::Malformed {
        uri: uri.to_owned(),
        scheme: "GS1 key",
        reason: format!("the {key} must be digits"),
    })?;
    if given.starts_with(expected) {
        Ok(())
    } else {
        Err(EpcError::CheckDigit {
            uri: uri.to_owned(),
            key,
            digits: digits.to_owned(),
            expected,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sgtin(gtin: &str, serial: &str) -> Epc {
        Epc::Sgtin {
            gtin: gtin.into(),
            serial: serial.into(),
        }
    }

    #[test]
    fn sgtin_urn_gives_gtin14_and_unescaped_serial() {
        assert_eq!(
            parse_epc("urn:epc:id:sgtin:0614141.107346.2017"),
            Ok(sgtin("10614141073464", "2017"))
        );
        assert_eq!(
            parse_epc("urn:epc:id:sgtin:0614141.812345.6789%2F%26%25%22!%3F()"),
            Ok(sgtin("80614141123458", "6789/&%\"!?()"))
        );
        assert_eq!(
            parse_epc("urn:epc:id:sgtin:415056789012.0.987654"),
            Ok(sgtin("04150567890128", "987654"))
        );
    }

    #[test]
    fn digital_link_on_any_host_with_prefix_and_short_gtins() {
        assert_eq!(
            parse_epc("https://example.com/some/prefix/01/09506000134352/10/L1/21/A%2FB?17=260101"),
            Ok(sgtin("09506000134352", "A/B"))
        );
        assert_eq!(
            parse_epc("https://id.gs1.org/01/9506000134352/21/X"),
            Ok(sgtin("09506000134352", "X"))
        );
        assert_eq!(
            parse_epc("https://id.gs1.org/01/12345670"),
            Ok(Epc::Gtin {
                gtin: "00000012345670".into()
            })
        );
    }

    #[test]
    fn sscc_sgln_and_lgtin() {
        assert_eq!(
            parse_epc("urn:epc:id:sscc:4012345.0000000333"),
            Ok(Epc::Sscc {
                sscc: "040123450000003338".into()
            })
        );
        assert_eq!(
            parse_epc("https://id.gs1.org/00/040123450000003338"),
            parse_epc("urn:epc:id:sscc:4012345.0000000333")
        );
        assert_eq!(
            parse_epc("urn:epc:id:sgln:4012345.00011.987"),
            Ok(Epc::Sgln {
                gln: "4012345000115".into(),
                extension: Some("987".into())
            })
        );
        assert_eq!(
            parse_epc("urn:epc:id:sgln:4012345.00011.0"),
            parse_epc("https://id.gs1.org/414/4012345000115")
        );
        assert_eq!(
            parse_epc("urn:epc:class:lgtin:4012345.012345.Lot987"),
            Ok(Epc::Lgtin {
                gtin: "04012345123456".into(),
                lot: "Lot987".into()
            })
        );
    }

    #[test]
    fn garbage_is_rejected_with_a_reason() {
        assert!(matches!(
            parse_epc("https://id.gs1.org/01/09506000134353/21/X"),
            Err(EpcError::CheckDigit { expected: '2', .. })
        ));
        assert!(matches!(
            parse_epc("urn:epc:id:sgtin:061414.107346.2017"),
            Err(EpcError::Malformed { .. })
        ));
        assert!(matches!(
            parse_epc("urn:epc:id:sgtin:0614141.107346."),
            Err(EpcError::Malformed { .. })
        ));
        assert!(matches!(
            parse_epc("urn:epc:id:sgtin:0614141.107346.a%2"),
            Err(EpcError::Malformed { .. })
        ));
        assert!(matches!(
            parse_epc("urn:epc:id:sgtin:0614141.107346.123456789012345678901"),
            Err(EpcError::Malformed { .. })
        ));
        assert!(matches!(
            parse_epc("https://id.gs1.org/01/09506000134352/21/X/10/L"),
            Err(EpcError::Malformed { .. })
        ));
        assert!(matches!(parse_epc("hello"), Err(EpcError::UnknownForm(_))));
        assert_eq!(parse_epc("  "), Err(EpcError::Empty));
    }

    #[test]
    fn digital_link_round_trip_encodes_reserved_characters() {
        let epc = sgtin("09506000134352", "A/B&1");
        assert_eq!(
            epc.digital_link(),
            "https://id.gs1.org/01/09506000134352/21/A%2FB%261"
        );
        assert_eq!(parse_epc(&epc.digital_link()), Ok(epc));
    }
}
