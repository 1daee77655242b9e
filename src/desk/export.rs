//! The files a desk hands out, one writer each, for the command line and the kiosk alike.
//!
//! - [`reconciliation_csv`]: a shipment's reconciliation, `state,gtin,serial,lot,expiry`.
//!
//! Fields are quoted as RFC 4180 wants: serials and lots may hold commas and quotes (GS1's
//! character set 82 allows both).

use crate::store::shipment::ReconciledUnit;

/// The header of [`reconciliation_csv`].
pub const RECONCILIATION_HEADER: [&str; 5] = ["state", "gtin", "serial", "lot", "expiry"];

/// A reconciliation as CSV, one line per unit after the header.
pub fn reconciliation_csv(units: &[ReconciledUnit]) -> String {
    let mut writer = csv::Writer::from_writer(Vec::new());
    let mut write = |row: [&str; 5]| {
        // Writing to memory fails only on a bug in `csv`; what was written is kept.
        if let Err(e) = writer.write_record(row) {
            tracing::error!("reconciliation CSV: {e}");
        }
    };
    write(RECONCILIATION_HEADER);
    for unit in units {
        write([
            unit.state.as_str(),
            unit.gtin.as_str(),
            &unit.serial,
            unit.lot.as_deref().unwrap_or_default(),
            unit.expiry.as_deref().unwrap_or_default(),
        ]);
    }
    writer
        .into_inner()
        .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gs1::Gtin;
    use crate::store::shipment::UnitState;

    #[test]
    fn a_serial_with_a_comma_or_a_quote_stays_one_field() {
        let gtin = Gtin::parse("00359999101015").unwrap();
        let units = [
            ReconciledUnit {
                gtin: gtin.clone(),
                serial: "A,1".into(),
                lot: Some("L\"2".into()),
                expiry: Some("2028-10-24".into()),
                state: UnitState::Missing,
            },
            ReconciledUnit {
                gtin,
                serial: "B2".into(),
                lot: None,
                expiry: None,
                state: UnitState::Received,
            },
        ];
        let csv = reconciliation_csv(&units);
        let mut reader = csv::Reader::from_reader(csv.as_bytes());
        assert_eq!(
            reader.headers().unwrap().iter().collect::<Vec<_>>(),
            RECONCILIATION_HEADER
        );
        let rows: Vec<Vec<String>> = reader
            .records()
            .map(|r| r.unwrap().iter().map(str::to_owned).collect())
            .collect();
        assert_eq!(
            rows,
            [
                ["missing", "00359999101015", "A,1", "L\"2", "2028-10-24"],
                ["received", "00359999101015", "B2", "", ""],
            ]
        );
    }
}
