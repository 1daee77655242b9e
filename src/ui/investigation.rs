//! The investigation record a pharmacist exports for a suspect or illegitimate pack: the fields
//! FDA Form 3911 ("Drug Notification") asks for, filled from what the kiosk knows, so the
//! notification can be filed without retyping identifiers from the pack.
//!
//! Pure: values in, text out. The caller writes the file (through the desk worker).

use chrono::NaiveDate;

use super::desk::PackFile;

/// Form 3911's classification of the notification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Classification {
    /// Confirmed illegitimate product.
    Illegitimate,
    /// Product with a high risk of illegitimacy (suspect, under investigation).
    HighRisk,
}

impl Classification {
    pub fn label(self) -> &'static str {
        match self {
            Self::Illegitimate => "Illegitimate product",
            Self::HighRisk => "Product with a high risk of illegitimacy",
        }
    }
}

/// Who is filing, typed by the pharmacist.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Reporter {
    pub company: String,
    pub site_gln: String,
    pub name: String,
    pub contact: String,
}

/// The record as `field,value` CSV (one row per Form 3911 field, then the pack's history).
pub fn form_3911_csv(
    file: &PackFile,
    classification: Classification,
    description: &str,
    reporter: &Reporter,
    notified: NaiveDate,
) -> String {
    let product = file.product.clone().unwrap_or_default();
    let none = String::new;
    let reasons: Vec<&str> = file.verdict.reasons.iter().map(|r| r.label()).collect();
    let fields: Vec<(&str, String)> = vec![
        (
            "Date of initial notification",
            notified.format("%Y-%m-%d").to_string(),
        ),
        (
            "Classification of notification",
            classification.label().to_owned(),
        ),
        ("Name of product", product.name.unwrap_or_else(none)),
        ("Strength", product.strength.unwrap_or_else(none)),
        ("National Drug Code (NDC)", product.ndc.unwrap_or_else(none)),
        (
            "GTIN",
            file.pack.gtin.as_ref().map_or_else(none, |g| g.to_string()),
        ),
        (
            "Serial number",
            file.pack.serial.clone().unwrap_or_else(none),
        ),
        ("Lot number", file.pack.lot.clone().unwrap_or_else(none)),
        (
            "Expiration date",
            file.pack
                .expiry
                .map(|d| d.format("%Y-%m-%d").to_string())
                .unwrap_or_else(none),
        ),
        ("Quantity of product", "1 package".to_owned()),
        ("Description of event/issue", description.to_owned()),
        ("Verification result", reasons.join("; ")),
        ("Company name", reporter.company.clone()),
        ("Company location (GLN)", reporter.site_gln.clone()),
        ("Reporter name", reporter.name.clone()),
        ("Reporter contact (phone/email)", reporter.contact.clone()),
    ];
    let mut writer = csv::Writer::from_writer(Vec::new());
    let mut ok = writer.write_record(["field", "value"]).is_ok();
    for (field, value) in &fields {
        ok &= writer.write_record([*field, value.as_str()]).is_ok();
    }
    for entry in &file.history {
        ok &= writer
            .write_record([format!("History {}", entry.at), entry.what.clone()])
            .is_ok();
    }
    if !ok {
        tracing::error!("investigation record: a CSV row could not be written");
    }
    writer
        .into_inner()
        .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ui::desk::{HistoryEntry, PackIdentity, ProductLabel};
    use crate::verify::{Reason, Verdict};

    #[test]
    fn record_carries_every_form_field() {
        let file = PackFile {
            verdict: Verdict::from_reasons(vec![Reason::Stolen]),
            pack: PackIdentity {
                gtin: crate::gs1::Gtin::parse("00312345678906").ok(),
                serial: Some("S,1".into()),
                lot: Some("L1".into()),
                expiry: NaiveDate::from_ymd_opt(2027, 5, 31),
            },
            product: Some(ProductLabel {
                name: Some("Amoxicillin".into()),
                strength: Some("500 mg".into()),
                ndc: Some("12345-678-90".into()),
            }),
            errors: vec![],
            history: vec![HistoryEntry {
                at: "2026-01-02T03:04:05Z".into(),
                what: "Shipped by Acme".into(),
            }],
            trace: None,
            investigation: None,
        };
        let reporter = Reporter {
            company: "Main St Pharmacy".into(),
            ..Reporter::default()
        };
        let csv = form_3911_csv(
            &file,
            Classification::Illegitimate,
            "Reported stolen upstream",
            &reporter,
            NaiveDate::from_ymd_opt(2026, 3, 1).unwrap(),
        );
        let mut reader = csv::Reader::from_reader(csv.as_bytes());
        let rows: Vec<(String, String)> = reader
            .records()
            .map(|r| {
                let r = r.unwrap();
                (r[0].to_owned(), r[1].to_owned())
            })
            .collect();
        let get = |k: &str| rows.iter().find(|(f, _)| f == k).map(|(_, v)| v.as_str());
        assert_eq!(get("Date of initial notification"), Some("2026-03-01"));
        assert_eq!(
            get("Classification of notification"),
            Some("Illegitimate product")
        );
        assert_eq!(get("National Drug Code (NDC)"), Some("12345-678-90"));
        assert_eq!(get("Serial number"), Some("S,1"), "commas survive quoting");
        assert_eq!(get("Expiration date"), Some("2027-05-31"));
        assert_eq!(get("Verification result"), Some("Reported stolen"));
        assert_eq!(get("Company name"), Some("Main St Pharmacy"));
        assert_eq!(get("History 2026-01-02T03:04:05Z"), Some("Shipped by Acme"));
    }
}
