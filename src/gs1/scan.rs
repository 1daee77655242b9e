//! One scan, from the bytes a scanner sent to a validated GS1 message.
//!
//! A scan may arrive in any of the forms pharmacies meet: an AIM symbology identifier first or
//! none; a raw element string with GS separators; the bracketed form; a GS1 Digital Link URI;
//! an ISO/IEC 15434 format 05 envelope. [`parse`] finds the form, splits the data into elements,
//! checks every element and the message as a whole, and reports every problem with a stable code.
//! It never guesses a field boundary and never panics, whatever the bytes, and its work grows
//! linearly with their length, which [`MAX_SCAN_BYTES`] caps before any of it starts.

use super::date;
use super::digital_link::{self, DlOptions};
use super::element::{self, Element, GS, Rules};
use super::error::{ErrorCode, Gs1Error};
use super::ident::{Gtin, Ndc, Sgtin, Sscc};
use chrono::NaiveDate;

/// What the parser needs to know besides the bytes.
#[derive(Debug, Clone, Copy)]
pub struct ParseContext {
    /// Today's date, for the century of two-digit years.
    pub today: NaiveDate,
    pub rules: Rules,
    pub digital_link: DlOptions,
}

impl ParseContext {
    pub fn new(today: NaiveDate) -> ParseContext {
        ParseContext {
            today,
            rules: Rules::default(),
            // Zero-padding a GTIN-8/12/13 is unambiguous and producers often omit it.
            digital_link: DlOptions {
                permit_zero_suppressed_gtin: true,
                permit_convenience_alphas: false,
            },
        }
    }
}

/// The form the data arrived in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    ElementString,
    Bracketed,
    DigitalLink,
    /// EAN/UPC data: a bare GTIN.
    Gtin,
    /// Nothing could be recognised.
    Unknown,
}

/// What an AIM symbology identifier says about the data behind it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Carrier {
    /// FNC1 in first position: a GS1 element string.
    Gs1,
    /// Plain data (a Digital Link URI travels this way).
    Plain,
    /// EAN-13 / UPC-A / EAN-8: digits of a GTIN.
    Ean,
}

fn carrier(id: &[u8]) -> Option<Carrier> {
    let [b']', code, modifier] = id else {
        return None;
    };
    use Carrier::*;
    Some(match (code, modifier) {
        (b'd', b'2' | b'5' | b'8') => Gs1,
        (b'd', b'0' | b'1' | b'3' | b'4' | b'6' | b'7' | b'9') => Plain,
        (b'Q', b'3' | b'4') => Gs1,
        (b'Q', b'0' | b'1' | b'2' | b'5' | b'6') => Plain,
        (b'C', b'1') => Gs1,
        (b'C', b'0' | b'2' | b'4') => Plain,
        (b'e', b'0'..=b'3') => Gs1,
        (b'J', b'1') => Gs1,
        (b'J', b'0') => Plain,
        (b'z', b'1') => Gs1,
        (b'z', b'0' | b'2'..=b'9') => Plain,
        (b'E', b'0' | b'4') | (b'I', b'1') => Ean,
        _ => return None,
    })
}

/// An AIM symbology identifier as sent (`]d2`, `]C1`, `]Q3`...): three ASCII characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Symbology([u8; 3]);

impl Symbology {
    pub fn as_str(&self) -> &str {
        // Only built from identifiers `carrier` recognised, which are ASCII.
        std::str::from_utf8(&self.0).unwrap_or("]??")
    }
}

impl std::fmt::Display for Symbology {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<&str> for Symbology {
    fn eq(&self, other: &&str) -> bool {
        self.0 == other.as_bytes()
    }
}

impl serde::Serialize for Symbology {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// The result of parsing one scan: the elements found and every problem with them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedScan {
    /// The AIM symbology identifier, when the scanner sent one (`]d2`, `]C1`...).
    pub symbology: Option<Symbology>,
    pub form: Form,
    pub elements: Vec<Element>,
    pub errors: Vec<Gs1Error>,
    /// The expiry date (AI 17), resolved to a calendar date.
    pub expiry: Option<NaiveDate>,
}

impl ParsedScan {
    /// True when the scan is a valid GS1 message with no problem at all.
    pub fn ok(&self) -> bool {
        self.errors.is_empty()
    }

    /// The value of the first occurrence of `ai`.
    pub fn value(&self, ai: &str) -> Option<&str> {
        self.elements
            .iter()
            .find(|e| e.ai.is(ai))
            .map(|e| e.value.as_str())
    }

    /// The GTIN (AI 01), if present and valid.
    pub fn gtin(&self) -> Option<Gtin> {
        self.value("01").and_then(|v| Gtin::parse(v).ok())
    }
    pub fn serial(&self) -> Option<&str> {
        self.value("21")
    }
    pub fn lot(&self) -> Option<&str> {
        self.value("10")
    }
    pub fn sscc(&self) -> Option<Sscc> {
        self.value("00").and_then(|v| Sscc::parse(v).ok())
    }
    /// The US NDC: from AI 715 when present, else derived from a `03` GTIN.
    pub fn ndc(&self) -> Option<Ndc> {
        self.value("715")
            .and_then(|v| Ndc::parse(v).ok())
            .or_else(|| self.gtin().and_then(|g| g.ndc()))
    }
    /// The serialised unit (GTIN + serial), when both are present and valid.
    pub fn sgtin(&self) -> Option<Sgtin> {
        Sgtin::new(self.gtin()?, self.serial()?).ok()
    }

    /// The bracketed human-readable form of the elements.
    pub fn hri(&self) -> String {
        element::to_bracketed(&self.elements)
    }

    fn failed(symbology: Option<Symbology>, error: Gs1Error) -> ParsedScan {
        ParsedScan {
            symbology,
            form: Form::Unknown,
            elements: Vec::new(),
            errors: vec![error],
            expiry: None,
        }
    }
}

/// The ISO/IEC 15434 envelope header for format 05 (GS1 AIs) and its trailer.
const FORMAT_05: &[u8] = b"[)>\x1e05\x1d";
const FORMAT_06: &[u8] = b"[)>\x1e06\x1d";
const ENVELOPE_END: &[u8] = b"\x1e\x04";

/// Check the bytes are text GS1 can carry: UTF-8, ASCII, no control character but GS.
fn check_bytes(bytes: &[u8]) -> Result<&str, Gs1Error> {
    // The common case, all printable ASCII or GS, is one cheap pass over bytes.
    let bad = bytes
        .iter()
        .position(|&b| b >= 0x7F || (b < 0x20 && b != GS));
    let text = std::str::from_utf8(bytes).map_err(|e| {
        Gs1Error::new(
            ErrorCode::InvalidUtf8,
            format!(
                "the scan holds bytes that are not text (at byte {})",
                e.valid_up_to() + 1
            ),
        )
    })?;
    let Some(at) = bad else { return Ok(text) };
    let (i, c) = text
        .char_indices()
        .find(|&(i, _)| i >= at)
        .unwrap_or((at, char::REPLACEMENT_CHARACTER));
    let shown = if c.is_ascii() {
        format!("control character 0x{:02X}", c as u32)
    } else {
        format!("\"{c}\"")
    };
    Err(Gs1Error::new(
        ErrorCode::NonAsciiCharacter,
        format!(
            "the scan holds {shown} at position {}: a scanner setting or keyboard layout problem?",
            i + 1
        ),
    ))
}

/// The most bytes one scan may hold, in any form; [`parse`] rejects anything longer as
/// [`ErrorCode::TooLong`] before looking at it, and every path that assembles a scan (serial
/// framing, keyboard wedge, command-line lines) stops buffering at this length.
///
/// No real symbol comes close: a GS1 DataMatrix holds at most 3116 characters, a QR Code at
/// most 7089 digits (4296 other characters), and a Digital Link URI travels inside one of those.
/// The bracketed form of the largest element string adds four characters per AI. Anything
/// longer is a runaway line, a paste or an attack, and would only cost time and memory.
pub const MAX_SCAN_BYTES: usize = 8 * 1024;

/// Parse one scan.
pub fn parse(bytes: &[u8], ctx: &ParseContext) -> ParsedScan {
    if bytes.is_empty() {
        return ParsedScan::failed(
            None,
            Gs1Error::new(ErrorCode::EmptyScan, "the scan holds no data"),
        );
    }
    if bytes.len() > MAX_SCAN_BYTES {
        return ParsedScan::failed(
            None,
            Gs1Error::new(
                ErrorCode::TooLong,
                format!(
                    "the scan is too long: {} bytes seen, at most {MAX_SCAN_BYTES} accepted \
                     (no GS1 barcode holds more)",
                    bytes.len()
                ),
            ),
        );
    }
    let mut data = bytes;
    let mut symbology = None;
    let mut kind = None;
    if data.first() == Some(&b']') {
        let id = data.get(..3).unwrap_or(data);
        match (carrier(id), <[u8; 3]>::try_from(id)) {
            (Some(c), Ok(id)) => {
                kind = Some(c);
                symbology = Some(Symbology(id));
                data = data.get(3..).unwrap_or_default();
            }
            _ => {
                let id_text = String::from_utf8_lossy(id);
                return ParsedScan::failed(
                    None,
                    Gs1Error::new(
                        ErrorCode::UnknownSymbology,
                        format!(
                            "\"{}\" is not a known AIM symbology identifier",
                            id_text.escape_debug()
                        ),
                    ),
                );
            }
        }
    }
    if let Some(inner) = data.strip_prefix(FORMAT_05) {
        data = inner.strip_suffix(ENVELOPE_END).unwrap_or(inner);
        kind = Some(Carrier::Gs1);
    } else if data.starts_with(FORMAT_06) {
        return ParsedScan::failed(
            symbology,
            Gs1Error::new(
                ErrorCode::NotGs1,
                "ISO/IEC 15434 format 06 (ASC MH10 data identifiers, e.g. German PPN codes) \
                 carries no GS1 Application Identifiers",
            ),
        );
    }
    let text = match check_bytes(data) {
        Ok(text) => text,
        Err(e) => return ParsedScan::failed(symbology, e),
    };
    let (form, split) = match kind {
        Some(Carrier::Gs1) if text.is_empty() => {
            return ParsedScan::failed(
                symbology,
                Gs1Error::new(
                    ErrorCode::EmptyScan,
                    "the symbol holds no data after its identifier",
                ),
            );
        }
        // GS1 QR / DataMatrix wrongly carrying a Digital Link: unambiguous, so accept it.
        Some(Carrier::Gs1) if digital_link::looks_like_digital_link(text.as_bytes()) => (
            Form::DigitalLink,
            digital_link::parse(text, &ctx.rules, &ctx.digital_link),
        ),
        Some(Carrier::Gs1) => (
            Form::ElementString,
            split_linear_and_composite(text, &ctx.rules),
        ),
        Some(Carrier::Ean) => {
            let digits = match symbology.as_ref().map(Symbology::as_str) {
                Some("]E0") => 13,
                Some("]E4") => 8,
                _ => 14,
            };
            (Form::Gtin, ean_elements(text, digits))
        }
        Some(Carrier::Plain) if digital_link::looks_like_digital_link(text.as_bytes()) => (
            Form::DigitalLink,
            digital_link::parse(text, &ctx.rules, &ctx.digital_link),
        ),
        Some(Carrier::Plain) => {
            return ParsedScan::failed(
                symbology,
                Gs1Error::new(
                    ErrorCode::NotGs1,
                    "the barcode holds plain data (no FNC1), not a GS1 message or Digital Link",
                ),
            );
        }
        None if text.starts_with('(') => {
            (Form::Bracketed, element::split_bracketed(text, &ctx.rules))
        }
        None if digital_link::looks_like_digital_link(text.as_bytes()) => (
            Form::DigitalLink,
            digital_link::parse(text, &ctx.rules, &ctx.digital_link),
        ),
        None if text.starts_with(|c: char| c.is_ascii_digit() || c as u32 == u32::from(GS)) => (
            Form::ElementString,
            element::split_raw(text.as_bytes(), &ctx.rules),
        ),
        None => {
            return ParsedScan::failed(
                symbology,
                Gs1Error::new(
                    ErrorCode::NotGs1,
                    "not a GS1 barcode: expected an element string, (AI) brackets or a Digital Link",
                ),
            );
        }
    };
    let elements = match split {
        Ok(elements) => elements,
        Err(e) => {
            let mut failed = ParsedScan::failed(symbology, e);
            failed.form = form;
            return failed;
        }
    };
    let mut errors: Vec<Gs1Error> = elements
        .iter()
        .filter_map(|e| element::validate_value(e).err())
        .collect();
    errors.extend(element::validate_message(&elements, &ctx.rules));
    let expiry_value = elements
        .iter()
        .find(|e| e.ai.is("17"))
        .map(|e| e.value.as_str());
    let expiry = expiry_value.and_then(|v| date::parse_yymmdd(v, ctx.today));
    ParsedScan {
        symbology,
        form,
        elements,
        errors,
        expiry,
    }
}

/// A GS1 element string, or a linear part and a 2D composite part joined by `|` as scanners
/// send GS1 Composite symbols.
fn split_linear_and_composite(text: &str, rules: &Rules) -> Result<Vec<Element>, Gs1Error> {
    // `|` is outside CSET 82, so a plain byte search rules composites out cheaply.
    let composite = if text.as_bytes().contains(&b'|') {
        text.split_once("|]e0")
    } else {
        None
    };
    match composite {
        Some((linear, composite)) => {
            let mut elements = element::split_raw(linear.as_bytes(), rules)?;
            elements.extend(element::split_raw(composite.as_bytes(), rules)?);
            Ok(elements)
        }
        None => element::split_raw(text.as_bytes(), rules),
    }
}

/// EAN-13 / UPC-A / EAN-8 data, optionally with a composite part.
fn ean_elements(text: &str, digits: usize) -> Result<Vec<Element>, Gs1Error> {
    let (linear, composite) = match text.split_once("|]e0") {
        Some((l, c)) => (l, Some(c)),
        None => (text, None),
    };
    let gtin = Gtin::parse(linear).map_err(|e| match e {
        super::ident::IdentError::CheckDigit(_) => Gs1Error::new(
            ErrorCode::CheckDigit,
            format!("GTIN {linear}: check digit is wrong"),
        ),
        other => Gs1Error::new(ErrorCode::InvalidValue, other.to_string()),
    })?;
    if linear.len() != digits {
        return Err(Gs1Error::new(
            ErrorCode::ValueTooShort,
            format!(
                "this symbology carries {digits} digits, got {}",
                linear.len()
            ),
        ));
    }
    let bracketed = format!("(01){gtin}");
    let mut elements = element::split_bracketed(&bracketed, &Rules::default())?;
    if let Some(composite) = composite {
        elements.extend(element::split_raw(composite.as_bytes(), &Rules::default())?);
    }
    Ok(elements)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> ParseContext {
        ParseContext::new(NaiveDate::from_ymd_opt(2026, 11, 24).unwrap())
    }

    #[test]
    fn pharma_datamatrix_with_aim_prefix() {
        let scan = parse(b"]d20100307773105025172811001023A45\x1d21SN0001", &ctx());
        assert!(scan.ok(), "{:?}", scan.errors);
        assert_eq!(
            scan.symbology.map(|s| s.to_string()).as_deref(),
            Some("]d2")
        );
        assert_eq!(scan.gtin().unwrap().as_str(), "00307773105025");
        assert_eq!(scan.serial(), Some("SN0001"));
        assert_eq!(scan.lot(), Some("23A45"));
        assert_eq!(scan.expiry, NaiveDate::from_ymd_opt(2028, 11, 30));
        assert_eq!(scan.ndc().unwrap().digits(), "0777310502");
        assert_eq!(
            scan.hri(),
            "(01)00307773105025(17)281100(10)23A45(21)SN0001"
        );
    }

    #[test]
    fn every_form_gives_the_same_elements() {
        let forms: [&[u8]; 5] = [
            b"0109506000134352172612311023A\x1d21S1",
            b"\x1d0109506000134352172612311023A\x1d21S1\x1d",
            b"(01)09506000134352(17)261231(10)23A(21)S1",
            b"]Q3\x1d0109506000134352172612311023A\x1d21S1",
            b"[)>\x1e05\x1d0109506000134352172612311023A\x1d21S1\x1e\x04",
        ];
        for f in forms {
            let scan = parse(f, &ctx());
            assert!(
                scan.ok(),
                "{:?}: {:?}",
                String::from_utf8_lossy(f),
                scan.errors
            );
            assert_eq!(scan.hri(), "(01)09506000134352(17)261231(10)23A(21)S1");
        }
        let dl = parse(
            b"https://x.example/01/09506000134352/10/23A/21/S1?17=261231",
            &ctx(),
        );
        assert!(dl.ok());
        assert_eq!(dl.hri(), "(01)09506000134352(10)23A(21)S1(17)261231");
        let dl_aim = parse(b"]d1https://x.example/01/09506000134352/21/S1", &ctx());
        assert!(dl_aim.ok());
        assert_eq!(dl_aim.form, Form::DigitalLink);
    }

    #[test]
    fn bad_input_gives_reasons_not_panics() {
        let code = |b: &[u8]| parse(b, &ctx()).errors.first().map(|e| e.code);
        assert_eq!(code(b""), Some(ErrorCode::EmptyScan));
        assert_eq!(code(b"]d2"), Some(ErrorCode::EmptyScan));
        assert_eq!(code(b"]X9abc"), Some(ErrorCode::UnknownSymbology));
        assert_eq!(code(b"]d1HELLO"), Some(ErrorCode::NotGs1));
        assert_eq!(code(b"01\xff\xfe"), Some(ErrorCode::InvalidUtf8));
        assert_eq!(
            code("0109506000134352 10é".as_bytes()),
            Some(ErrorCode::NonAsciiCharacter)
        );
        assert_eq!(code(b"hello"), Some(ErrorCode::NotGs1));
        assert_eq!(code(b"0109506000134353"), Some(ErrorCode::CheckDigit));
        assert_eq!(
            code(b"01095060001343521713023"),
            Some(ErrorCode::ValueTooShort)
        );
        assert_eq!(
            code(b"010950600013435217261399"),
            Some(ErrorCode::InvalidDate)
        );
        assert_eq!(code(b"21ABC"), Some(ErrorCode::MissingRequiredAi));
        assert_eq!(code(b"]d2\x1e"), Some(ErrorCode::NonAsciiCharacter));
    }

    #[test]
    fn ean13_becomes_a_gtin() {
        let scan = parse(b"]E02112345678900", &ctx());
        assert!(scan.ok());
        assert_eq!(scan.gtin().unwrap().as_str(), "02112345678900");
        assert_eq!(
            parse(b"]E02112345678901", &ctx()).errors[0].code,
            ErrorCode::CheckDigit
        );
    }
}
