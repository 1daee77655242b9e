//! What a scan names, as a desk acts on it: a pack (a GTIN, with its serial, lot and expiry
//! when the symbol carries them), or the label of a case or tote (an SSCC and no GTIN), which
//! opens its shipment and receives every pack the aggregation data says it holds.
//!
//! The command line (`verify`, `receive`) and the kiosk's receiving screen tell the two apart
//! with [`container_label`], so a label does the same thing at both.

use crate::gs1::{ParsedScan, Sscc};

/// The SSCC of a case or tote label scan: a scan read without error that carries an SSCC and
/// no GTIN. A pack's scan never counts as a label, whatever else it carries.
pub fn container_label(scan: &ParsedScan) -> Option<Sscc> {
    if scan.ok() && scan.gtin().is_none() {
        scan.sscc()
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gs1::{self, ParseContext};

    fn parse(text: &str) -> ParsedScan {
        let today = chrono::NaiveDate::from_ymd_opt(2026, 3, 1).unwrap();
        gs1::parse(text.as_bytes(), &ParseContext::new(today))
    }

    #[test]
    fn a_label_is_an_sscc_without_a_gtin() {
        let label = parse("(00)106141412345678908");
        assert_eq!(
            container_label(&label).map(|s| s.as_str().to_owned()),
            Some("106141412345678908".to_owned())
        );
        // A pack's scan is a pack, even with an SSCC beside its GTIN.
        let pack = parse("(01)09506000134352(21)ABC(00)106141412345678908");
        assert_eq!(container_label(&pack), None);
        // A label with a wrong check digit is no label: it is refused as unreadable.
        assert_eq!(container_label(&parse("(00)106141412345678907")), None);
    }
}
