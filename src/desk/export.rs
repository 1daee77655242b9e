//! The files a desk hands out, one writer each, for the command line and the kiosk alike.
//!
//! - [`reconciliation_csv`]: a shipment's reconciliation, `state,gtin,serial,lot,expiry`.
//! - [`report_csv`]: the numbers behind the report charts, `report,key,value`.
//!
//! Fields are quoted as RFC 4180 wants: serials and lots may hold commas and quotes (GS1's
//! character set 82 allows both).

use crate::store::inventory::{DayReceipts, ExpirySummary};
use crate::store::shipment::ReconciledUnit;
use crate::verify::Reason;

/// The header of [`report_csv`].
pub const REPORT_HEADER: [&str; 3] = ["report", "key", "value"];

/// The header of [`reconciliation_csv`].
pub const RECONCILIATION_HEADER: [&str; 5] = ["state", "gtin", "serial", "lot", "expiry"];

/// Rows as CSV text, fields quoted where they need it. Writing to memory fails only on a bug in
/// `csv`; what was written is kept.
pub fn csv_text<R, F>(rows: impl IntoIterator<Item = R>) -> String
where
    R: IntoIterator<Item = F>,
    F: AsRef<[u8]>,
{
    let mut writer = csv::Writer::from_writer(Vec::new());
    for row in rows {
        if let Err(e) = writer.write_record(row) {
            tracing::error!("CSV export: {e}");
        }
    }
    writer
        .into_inner()
        .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
        .unwrap_or_default()
}

/// A reconciliation as CSV, one line per unit after the header.
pub fn reconciliation_csv(units: &[ReconciledUnit]) -> String {
    let lines = units.iter().map(|unit| {
        [
            unit.state.as_str(),
            unit.gtin.as_str(),
            &unit.serial,
            unit.lot.as_deref().unwrap_or_default(),
            unit.expiry.as_deref().unwrap_or_default(),
        ]
    });
    csv_text(std::iter::once(RECONCILIATION_HEADER).chain(lines))
}

/// The report numbers as CSV, `report,key,value`, in machine words: per day with receipts,
/// `receipts_accepted` and `receipts_refused`; per refusal reason, `failures_by_reason` and
/// its code; `expiry` `expired` and `within_N_days` for each watched horizon (cumulative, as
/// the store counts them).
pub fn report_csv(
    per_day: &[DayReceipts],
    failures: &[(Reason, u64)],
    expiry: &ExpirySummary,
) -> String {
    let row = |report: &str, key: String, value: u64| [report.to_owned(), key, value.to_string()];
    let mut rows = vec![REPORT_HEADER.map(str::to_owned)];
    for day in per_day {
        rows.push(row("receipts_accepted", day.day.to_string(), day.accepted));
        rows.push(row("receipts_refused", day.day.to_string(), day.refused));
    }
    for (reason, n) in failures {
        rows.push(row("failures_by_reason", reason.code().to_owned(), *n));
    }
    rows.push(row("expiry", "expired".to_owned(), expiry.expired));
    for (days, n) in &expiry.within {
        rows.push(row("expiry", format!("within_{days}_days"), *n));
    }
    csv_text(rows)
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

    #[test]
    fn the_report_names_each_number_in_machine_words() {
        let day = chrono::NaiveDate::from_ymd_opt(2026, 3, 1).unwrap();
        let csv = report_csv(
            &[DayReceipts {
                day,
                accepted: 40,
                refused: 2,
            }],
            &[(Reason::Recalled, 2)],
            &ExpirySummary {
                expired: 1,
                within: vec![(30, 5), (60, 9)],
            },
        );
        assert_eq!(
            csv,
            "report,key,value\n\
             receipts_accepted,2026-03-01,40\n\
             receipts_refused,2026-03-01,2\n\
             failures_by_reason,recalled,2\n\
             expiry,expired,1\n\
             expiry,within_30_days,5\n\
             expiry,within_60_days,9\n"
        );
    }
}
