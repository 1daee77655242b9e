//! GS1 keys and the identifiers a pharmacy uses, as types that are valid by construction.
//!
//! [`Gtin`] is always the 14-digit form with a correct check digit, whatever length it was
//! written in (GTIN-8/12/13 are zero-padded, as GS1 stores them). [`Ndc`] is the 10-digit US
//! National Drug Code with its segment layout when known: the 4-4-2/5-3-2/5-4-1 split of an NDC
//! is not recoverable from a GTIN, so an NDC derived from one has no layout until product master
//! data supplies it. [`Sgtin`] is one serialised unit: GTIN + serial, with its EPC URN and
//! Digital Link forms.

use super::digital_link;
use std::fmt;

/// Why a string is not a valid identifier.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentError {
    #[error("\"{0}\" must hold digits only")]
    NotDigits(String),
    #[error("\"{value}\" has {len} digits; a {kind} has {expected}")]
    BadLength {
        value: String,
        kind: &'static str,
        len: usize,
        expected: &'static str,
    },
    #[error("\"{0}\": check digit is wrong")]
    CheckDigit(String),
    #[error("\"{0}\" is not an NDC (10 digits as 4-4-2, 5-3-2 or 5-4-1, or 11 digits as 5-4-2)")]
    BadNdc(String),
    #[error("this GTIN does not carry a US NDC (it must start with 03 after the indicator digit)")]
    NotNdcGtin,
    #[error("\"{0}\" is not an SGTIN EPC URN")]
    BadEpcUrn(String),
    #[error("a serial must be 1 to 20 characters of GS1 character set 82: {0}")]
    BadSerial(String),
}

/// The GS1 mod-10 check digit of `digits` (the check digit itself excluded): weights 3, 1, 3...
/// from the right. `None` if any byte is not an ASCII digit.
pub use super::lint::gs1_check_digit as check_digit;

/// Whether the last digit of `digits` is the correct check digit for the rest.
pub fn check_digit_ok(digits: &[u8]) -> bool {
    match digits.split_last() {
        Some((&last, body)) if last.is_ascii_digit() => check_digit(body) == Some(last - b'0'),
        _ => false,
    }
}

fn digits_with_check(
    value: &str,
    kind: &'static str,
    lens: &[usize],
    expected: &'static str,
) -> Result<(), IdentError> {
    if !value.bytes().all(|b| b.is_ascii_digit()) || value.is_empty() {
        return Err(IdentError::NotDigits(value.to_string()));
    }
    if !lens.contains(&value.len()) {
        return Err(IdentError::BadLength {
            value: value.to_string(),
            kind,
            len: value.len(),
            expected,
        });
    }
    if !check_digit_ok(value.as_bytes()) {
        return Err(IdentError::CheckDigit(value.to_string()));
    }
    Ok(())
}

/// A Global Trade Item Number, held as GTIN-14.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Gtin(String);

impl Gtin {
    /// Parse a GTIN-8, -12, -13 or -14 and normalise it to 14 digits.
    pub fn parse(value: &str) -> Result<Gtin, IdentError> {
        digits_with_check(value, "GTIN", &[8, 12, 13, 14], "8, 12, 13 or 14")?;
        Ok(Gtin(format!("{value:0>14}")))
    }

    /// The 14 digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The US NDC this GTIN carries: GTIN-14 = indicator + `03` + NDC-10 + check digit.
    pub fn ndc(&self) -> Option<Ndc> {
        let body = self.0.get(1..13)?;
        let ndc = body.strip_prefix("03")?;
        Some(Ndc {
            digits: ndc.to_string(),
            layout: None,
        })
    }

    /// The GTIN of a US drug from its NDC, at packaging level `indicator` (0 for a unit of sale).
    pub fn from_ndc(ndc: &Ndc, indicator: u8) -> Gtin {
        let body = format!("{}03{}", indicator.min(9), ndc.digits);
        let check = check_digit(body.as_bytes()).unwrap_or(0);
        Gtin(format!("{body}{check}"))
    }
}

impl fmt::Display for Gtin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A Serial Shipping Container Code (tote, case and pallet labels).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Sscc(String);

impl Sscc {
    pub fn parse(value: &str) -> Result<Sscc, IdentError> {
        digits_with_check(value, "SSCC", &[18], "18")?;
        Ok(Sscc(value.to_string()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// The canonical Digital Link of this SSCC.
    pub fn digital_link(&self) -> String {
        format!("{}/00/{}", digital_link::CANONICAL_STEM, self.0)
    }
}

impl fmt::Display for Sscc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A Global Location Number (a pharmacy site, a supplier's warehouse).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Gln(String);

impl Gln {
    pub fn parse(value: &str) -> Result<Gln, IdentError> {
        digits_with_check(value, "GLN", &[13], "13")?;
        Ok(Gln(value.to_string()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// The SGLN EPC URN of this location, given the length of its GS1 Company Prefix (6 to 12).
    /// Without it, use [`Gln::digital_link`].
    pub fn sgln_urn(&self, company_prefix_len: usize) -> Option<String> {
        if !(6..=12).contains(&company_prefix_len) {
            return None;
        }
        let prefix = self.0.get(..company_prefix_len)?;
        let location = self.0.get(company_prefix_len..12)?;
        Some(format!("urn:epc:id:sgln:{prefix}.{location}.0"))
    }
    /// The canonical Digital Link of this location.
    pub fn digital_link(&self) -> String {
        format!("{}/414/{}", digital_link::CANONICAL_STEM, self.0)
    }
}

impl fmt::Display for Gln {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// How the ten digits of an NDC split into labeler, product and package codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NdcLayout {
    L442,
    L532,
    L541,
}

impl NdcLayout {
    fn split(self) -> (usize, usize) {
        match self {
            NdcLayout::L442 => (4, 8),
            NdcLayout::L532 => (5, 8),
            NdcLayout::L541 => (5, 9),
        }
    }
}

/// A US National Drug Code: ten digits, with the segment layout when it is known.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Ndc {
    digits: String,
    layout: Option<NdcLayout>,
}

impl Ndc {
    /// Parse an NDC as people write it: `1234-5678-90` (4-4-2), `12345-678-90` (5-3-2),
    /// `12345-6789-0` (5-4-1), ten digits without dashes (layout unknown), or the 11-digit
    /// 5-4-2 billing form with dashes (`01234-5678-90`), whose zero padding shows the layout.
    pub fn parse(text: &str) -> Result<Ndc, IdentError> {
        let bad = || IdentError::BadNdc(text.to_string());
        let text = text.trim();
        let parts: Vec<&str> = text.split('-').collect();
        if !parts
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err(bad());
        }
        let lens: Vec<usize> = parts.iter().map(|p| p.len()).collect();
        let joined: String = parts.concat();
        let (digits, layout) = match lens.as_slice() {
            [10] => (joined, None),
            [4, 4, 2] => (joined, Some(NdcLayout::L442)),
            [5, 3, 2] => (joined, Some(NdcLayout::L532)),
            [5, 4, 1] => (joined, Some(NdcLayout::L541)),
            [5, 4, 2] => {
                let [lab, prod, pkg] = parts[..] else {
                    return Err(bad());
                };
                if let Some(lab) = lab.strip_prefix('0') {
                    (format!("{lab}{prod}{pkg}"), Some(NdcLayout::L442))
                } else if let Some(prod) = prod.strip_prefix('0') {
                    (format!("{lab}{prod}{pkg}"), Some(NdcLayout::L532))
                } else if let Some(pkg) = pkg.strip_prefix('0') {
                    (format!("{lab}{prod}{pkg}"), Some(NdcLayout::L541))
                } else {
                    return Err(bad());
                }
            }
            _ => return Err(bad()),
        };
        Ok(Ndc { digits, layout })
    }

    /// The ten digits, no dashes.
    pub fn digits(&self) -> &str {
        &self.digits
    }

    pub fn layout(&self) -> Option<NdcLayout> {
        self.layout
    }

    /// The same NDC with a layout from product master data.
    pub fn with_layout(mut self, layout: NdcLayout) -> Ndc {
        self.layout = Some(layout);
        self
    }

    /// Every way this NDC may be written, for search: ten digits, each dashed 10-digit layout
    /// that fits, and their 11-digit billing forms. With a known layout, only that one.
    pub fn spellings(&self) -> Vec<String> {
        let layouts: &[NdcLayout] = match &self.layout {
            Some(l) => std::slice::from_ref(l),
            None => &[NdcLayout::L442, NdcLayout::L532, NdcLayout::L541],
        };
        let mut out = vec![self.digits.clone()];
        for &layout in layouts {
            if let Some(dashed) = self.dashed(layout) {
                out.push(dashed);
            }
        }
        out
    }

    fn dashed(&self, layout: NdcLayout) -> Option<String> {
        let (a, b) = layout.split();
        Some(format!(
            "{}-{}-{}",
            self.digits.get(..a)?,
            self.digits.get(a..b)?,
            self.digits.get(b..)?
        ))
    }

    /// The 11-digit 5-4-2 form used in billing, when the layout is known.
    pub fn eleven_digit(&self) -> Option<String> {
        let (a, b) = self.layout?.split();
        Some(format!(
            "{:0>5}{:0>4}{:0>2}",
            self.digits.get(..a)?,
            self.digits.get(a..b)?,
            self.digits.get(b..)?
        ))
    }
}

impl fmt::Display for Ndc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.layout.and_then(|l| self.dashed(l)) {
            Some(dashed) => f.write_str(&dashed),
            None => f.write_str(&self.digits),
        }
    }
}

/// Whether `value` is a valid GS1 serial (AI 21): 1-20 characters of CSET 82.
pub fn serial_ok(value: &str) -> bool {
    (1..=20).contains(&value.len())
        && value
            .bytes()
            .all(|b| matches!(b, b'!' | b'"' | b'%'..=b'?' | b'A'..=b'Z' | b'_' | b'a'..=b'z'))
}

/// One serialised unit: the DSCSA/FMD product identifier's key part.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Sgtin {
    pub gtin: Gtin,
    pub serial: String,
}

/// Characters the EPC Tag Data Standard escapes in URN serials.
fn urn_escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '"' | '%' | '&' | '/' | '<' | '>' | '?' | '#' => {
                out.push_str(&format!("%{:02X}", c as u32))
            }
            _ => out.push(c),
        }
    }
    out
}

impl Sgtin {
    pub fn new(gtin: Gtin, serial: &str) -> Result<Sgtin, IdentError> {
        if !serial_ok(serial) {
            return Err(IdentError::BadSerial(serial.to_string()));
        }
        Ok(Sgtin {
            gtin,
            serial: serial.to_string(),
        })
    }

    /// The canonical Digital Link URI: `https://id.gs1.org/01/{gtin}/21/{serial}`.
    pub fn digital_link(&self) -> String {
        format!(
            "{}/01/{}/21/{}",
            digital_link::CANONICAL_STEM,
            self.gtin,
            digital_link::escape(&self.serial)
        )
    }

    /// The EPC pure-identity URN, given the length of the GS1 Company Prefix (6 to 12 digits),
    /// which the barcode does not carry.
    pub fn epc_urn(&self, company_prefix_len: usize) -> Option<String> {
        if !(6..=12).contains(&company_prefix_len) {
            return None;
        }
        let g = self.gtin.as_str();
        let indicator = g.get(..1)?;
        let prefix = g.get(1..1 + company_prefix_len)?;
        let item = g.get(1 + company_prefix_len..13)?;
        Some(format!(
            "urn:epc:id:sgtin:{prefix}.{indicator}{item}.{}",
            urn_escape(&self.serial)
        ))
    }

    /// Parse an SGTIN EPC URN (`urn:epc:id:sgtin:0614141.107346.2017`).
    pub fn from_epc_urn(urn: &str) -> Result<Sgtin, IdentError> {
        let bad = || IdentError::BadEpcUrn(urn.to_string());
        let body = urn.strip_prefix("urn:epc:id:sgtin:").ok_or_else(bad)?;
        let mut parts = body.splitn(3, '.');
        let (Some(prefix), Some(item), Some(serial)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(bad());
        };
        if prefix.len() + item.len() != 13
            || !(6..=12).contains(&prefix.len())
            || !prefix
                .bytes()
                .chain(item.bytes())
                .all(|b| b.is_ascii_digit())
        {
            return Err(bad());
        }
        let indicator = item.get(..1).ok_or_else(bad)?;
        let rest = item.get(1..).ok_or_else(bad)?;
        let body = format!("{indicator}{prefix}{rest}");
        let check = check_digit(body.as_bytes()).ok_or_else(bad)?;
        let gtin = Gtin(format!("{body}{check}"));
        let serial = digital_link::unescape(serial, false).map_err(|_| bad())?;
        Sgtin::new(gtin, &serial)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_digits_of_every_key_length() {
        assert!(check_digit_ok(b"02345673")); // GTIN-8
        assert!(check_digit_ok(b"416000336108")); // GTIN-12
        assert!(check_digit_ok(b"1234567890128")); // GTIN-13
        assert!(check_digit_ok(b"09506000134352")); // GTIN-14
        assert!(check_digit_ok(b"123456789012345675")); // SSCC
        assert!(!check_digit_ok(b"09506000134353"));
        assert!(!check_digit_ok(b""));
        assert!(!check_digit_ok(b"0950600013435X"));
    }

    #[test]
    fn gtins_normalise_to_14_digits() {
        assert_eq!(
            Gtin::parse("416000336108").unwrap().as_str(),
            "00416000336108"
        );
        assert_eq!(Gtin::parse("02345673").unwrap().as_str(), "00000002345673");
        assert!(matches!(
            Gtin::parse("0950600013435"),
            Err(IdentError::CheckDigit(_))
        ));
        assert!(matches!(
            Gtin::parse("123"),
            Err(IdentError::BadLength { .. })
        ));
        assert!(matches!(Gtin::parse("12a4"), Err(IdentError::NotDigits(_))));
    }

    #[test]
    fn ndc_and_gtin_convert_both_ways() {
        let ndc = Ndc::parse("0777-3105-02").unwrap();
        assert_eq!(ndc.digits(), "0777310502");
        let gtin = Gtin::from_ndc(&ndc, 0);
        assert_eq!(gtin.as_str(), "00307773105025");
        assert!(check_digit_ok(gtin.as_str().as_bytes()));
        let back = gtin.ndc().unwrap();
        assert_eq!(back.digits(), "0777310502");
        assert_eq!(
            back.layout(),
            None,
            "the layout is not recoverable from a GTIN"
        );
        assert!(Gtin::parse("09506000134352").unwrap().ndc().is_none());
    }

    #[test]
    fn ndc_forms() {
        assert_eq!(
            Ndc::parse("12345-678-90").unwrap().layout(),
            Some(NdcLayout::L532)
        );
        assert_eq!(
            Ndc::parse("12345-6789-0").unwrap().to_string(),
            "12345-6789-0"
        );
        let billing = Ndc::parse("12345-0678-90").unwrap();
        assert_eq!(billing.digits(), "1234567890");
        assert_eq!(billing.layout(), Some(NdcLayout::L532));
        assert_eq!(billing.eleven_digit().unwrap(), "12345067890");
        assert!(Ndc::parse("12345-6789-12").is_err());
        assert!(Ndc::parse("123-45").is_err());
        assert!(Ndc::parse("").is_err());
        let spellings = Ndc::parse("1234567890").unwrap().spellings();
        assert!(spellings.contains(&"1234-5678-90".to_string()));
        assert!(spellings.contains(&"12345-678-90".to_string()));
        assert!(spellings.contains(&"12345-6789-0".to_string()));
    }

    #[test]
    fn sgtin_urn_and_digital_link_round_trip() {
        let unit = Sgtin::new(Gtin::parse("80614141123458").unwrap(), "2017/A").unwrap();
        let urn = unit.epc_urn(7).unwrap();
        assert_eq!(urn, "urn:epc:id:sgtin:0614141.812345.2017%2FA");
        assert_eq!(Sgtin::from_epc_urn(&urn).unwrap(), unit);
        assert_eq!(
            unit.digital_link(),
            "https://id.gs1.org/01/80614141123458/21/2017%2FA"
        );
        assert!(Sgtin::from_epc_urn("urn:epc:id:sgtin:0614141.80734.1").is_err());
        assert!(Sgtin::from_epc_urn("urn:epc:id:sscc:0614141.1234567890").is_err());
        assert!(Sgtin::new(Gtin::parse("80614141123458").unwrap(), "").is_err());
    }

    #[test]
    fn sscc_and_gln() {
        assert!(Sscc::parse("106141411234567897").is_ok());
        assert!(Sscc::parse("106141411234567890").is_err());
        let gln = Gln::parse("0614141000005").unwrap();
        assert_eq!(gln.sgln_urn(7).unwrap(), "urn:epc:id:sgln:0614141.00000.0");
    }
}
