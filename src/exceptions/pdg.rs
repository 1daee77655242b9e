//! The Partnership for DSCSA Governance (PDG) exception messages: the report a dispenser sends
//! a trading partner about one shipment's exceptions, and the partner's response.
//!
//! Field names and the resolution vocabulary follow PDG's published JSON Schemas
//! (`ExceptionReport`, `ExceptionResponse`). Dates of product (expiry) are written as the PDG
//! examples write them, `MMDDYYYY`; the message timestamp is Unix seconds. Identifiers
//! (message and case UUIDs) and the time are passed in, so a report is a pure function of the
//! cases.

use super::ExceptionKind;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use std::fmt;

/// What a report asks the partner to do about an item (PDG `Resolution`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Resolution {
    #[serde(rename = "Send new data")]
    SendNewData,
    #[serde(rename = "Send product")]
    SendProduct,
    #[serde(rename = "Return product")]
    ReturnProduct,
    #[serde(rename = "Send back product")]
    SendBackProduct,
    #[serde(rename = "Credit account")]
    CreditAccount,
    #[serde(rename = "Debit account")]
    DebitAccount,
}

impl Resolution {
    pub fn as_str(self) -> &'static str {
        match self {
            Resolution::SendNewData => "Send new data",
            Resolution::SendProduct => "Send product",
            Resolution::ReturnProduct => "Return product",
            Resolution::SendBackProduct => "Send back product",
            Resolution::CreditAccount => "Credit account",
            Resolution::DebitAccount => "Debit account",
        }
    }
}

impl fmt::Display for Resolution {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who sends a message and how to reach them (PDG `ContactInformation`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Contact {
    pub email: String,
    #[serde(default)]
    pub gln: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
    /// A verifiable presentation of the sender's credential, when it has one.
    #[serde(default)]
    pub vp: Option<String>,
}

/// One exception case as a report names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportItem {
    /// The case's `exception_item_uuid`, stable across reports and the response.
    pub item_uuid: String,
    pub kind: ExceptionKind,
    pub gtin: Option<String>,
    pub serial: Option<String>,
    /// As seen on the pack (or, for missing product, as announced).
    pub lot: Option<String>,
    pub expiry: Option<NaiveDate>,
    /// The data's values for a misalignment.
    pub data_lot: Option<String>,
    pub data_expiry: Option<NaiveDate>,
    pub quantity_ordered: Option<u64>,
    pub quantity_received: Option<u64>,
    /// The partner document that announced the product (PDG `file_id`).
    pub file_id: Option<String>,
    /// The clerk's words, for a damaged pack.
    pub note: Option<String>,
}

/// Everything a report says besides its items.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportHeader {
    pub message_uuid: String,
    pub exception_case_uuid: String,
    /// Unix seconds.
    pub timestamp: i64,
    pub po_number: String,
    pub sender: Contact,
    /// No open item is left: the report closes the case.
    pub case_resolved: bool,
}

/// `MMDDYYYY`, as PDG's examples write product dates.
pub fn pdg_date(date: NaiveDate) -> String {
    date.format("%m%d%Y").to_string()
}

/// Reads a PDG product date: `MMDDYYYY`, or an ISO date from senders that use one.
pub fn parse_pdg_date(text: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(text, "%m%d%Y")
        .ok()
        .filter(|_| text.len() == 8)
        .or_else(|| NaiveDate::parse_from_str(text, "%Y-%m-%d").ok())
}

/// The PDG `ExceptionReport` for `items`. Kinds PDG has no list for (a damaged pack) are
/// described in `other_errors`.
pub fn report(header: &ReportHeader, items: &[ReportItem]) -> Value {
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    let date = |d: Option<NaiveDate>| d.map(pdg_date).unwrap_or_default();
    let mut lists: Map<String, Value> = Map::new();
    let mut other_errors = Vec::new();
    let mut push = |list: &str, value: Value| {
        if let Value::Array(entries) = lists
            .entry(list.to_owned())
            .or_insert_with(|| Value::Array(Vec::new()))
        {
            entries.push(value);
        }
    };
    for item in items {
        let resolution = item
            .kind
            .requested_resolution()
            .map(|r| r.as_str())
            .unwrap_or_default();
        match item.kind {
            ExceptionKind::MissingProductData => push(
                "missing_product_data",
                json!({
                    "exception_item_uuid": item.item_uuid,
                    "product_gtin": text(&item.gtin),
                    "product_serial": item.serial,
                    "observation_source": "Scan",
                    "resolution_request": resolution,
                }),
            ),
            ExceptionKind::MissingProduct => push(
                "missing_product",
                json!({
                    "exception_item_uuid": item.item_uuid,
                    "file_id": text(&item.file_id),
                    "product_gtin": text(&item.gtin),
                    "product_serial": text(&item.serial),
                    "resolution_request": resolution,
                }),
            ),
            ExceptionKind::DataMisalignment => push(
                "data_misalignment",
                json!({
                    "exception_item_uuid": item.item_uuid,
                    "received_product_gtin": text(&item.gtin),
                    "received_product_lot": text(&item.lot),
                    "received_product_expiry": date(item.expiry),
                    "received_product_serial": item.serial,
                    "product_data_gtin": text(&item.gtin),
                    "product_data_lot": item.data_lot.clone().or_else(|| item.lot.clone()).unwrap_or_default(),
                    "product_data_expiry": date(item.data_expiry.or(item.expiry)),
                    "product_data_serial": item.serial,
                    "resolution_request": resolution,
                }),
            ),
            ExceptionKind::Overage | ExceptionKind::Shortage => push(
                if item.kind == ExceptionKind::Overage {
                    "overages"
                } else {
                    "underages"
                },
                json!({
                    "exception_item_uuid": item.item_uuid,
                    "gtin": text(&item.gtin),
                    "quantity_ordered": item.quantity_ordered.unwrap_or_default(),
                    "quantity_received": item.quantity_received.unwrap_or_default(),
                    "resolution_request": resolution,
                }),
            ),
            ExceptionKind::Damaged => {
                let what = match (&item.gtin, &item.serial) {
                    (Some(gtin), Some(serial)) => format!("GTIN {gtin} serial {serial}"),
                    (Some(gtin), None) => format!("a pack of GTIN {gtin}"),
                    _ => "an unreadable pack".to_owned(),
                };
                let note = item
                    .note
                    .as_deref()
                    .map(|n| format!(": {n}"))
                    .unwrap_or_default();
                other_errors.push(Value::String(format!(
                    "Damaged product ({}) {what}{note}",
                    item.item_uuid
                )));
            }
        }
    }
    json!({
        "message_uuid": header.message_uuid,
        "exception_case_uuid": header.exception_case_uuid,
        "timestamp": header.timestamp,
        "po_number": header.po_number,
        "sender_information": header.sender,
        "exceptions": Value::Object(lists),
        "other_errors": if other_errors.is_empty() { Value::Null } else { Value::Array(other_errors) },
        "case_resolved": header.case_resolved,
    })
}

/// Whether the partner accepts what the report asked (PDG `ResolutionResponse`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Answer {
    Accept,
    Reject,
}

/// A partner's counter-proposal for an item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlternativeResolution {
    pub alternative_resolution: Option<Resolution>,
    pub follow_up: Option<FollowUp>,
    #[serde(default)]
    pub follow_up_details: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum FollowUp {
    Email,
    Phone,
}

/// The partner's answer on one item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResponseItem {
    pub exception_item_uuid: String,
    pub resolution_response: Answer,
    #[serde(default)]
    pub comments: Option<String>,
    #[serde(default)]
    pub alternative_resolution: Option<AlternativeResolution>,
}

/// A partner's PDG `ExceptionResponse`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Response {
    pub message_uuid: String,
    pub exception_case_uuid: String,
    pub timestamp: i64,
    pub sender_information: Contact,
    pub po_number: String,
    #[serde(default)]
    pub response_items: Option<Vec<ResponseItem>>,
    #[serde(default)]
    pub additional_notes: Option<String>,
}

/// Why a response cannot be applied.
#[derive(Debug, thiserror::Error)]
pub enum ResponseError {
    #[error("not a PDG exception response: {0}")]
    Json(#[from] serde_json::Error),
    #[error("the PDG exception response has an empty {0}")]
    Empty(&'static str),
    #[error("the PDG exception response names {0} items; at most {MAX_ITEMS} are read")]
    TooMany(usize),
}

/// More items than any shipment has units is a broken or hostile file.
pub const MAX_ITEMS: usize = 100_000;

/// Reads and checks a PDG exception response.
pub fn parse_response(bytes: &[u8]) -> Result<Response, ResponseError> {
    let response: Response = serde_json::from_slice(bytes)?;
    if response.exception_case_uuid.trim().is_empty() {
        return Err(ResponseError::Empty("exception_case_uuid"));
    }
    if response.message_uuid.trim().is_empty() {
        return Err(ResponseError::Empty("message_uuid"));
    }
    let items = response.response_items.as_deref().unwrap_or_default();
    if items.len() > MAX_ITEMS {
        return Err(ResponseError::TooMany(items.len()));
    }
    if items
        .iter()
        .any(|i| i.exception_item_uuid.trim().is_empty())
    {
        return Err(ResponseError::Empty("exception_item_uuid"));
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(kind: ExceptionKind, uuid: &str) -> ReportItem {
        ReportItem {
            item_uuid: uuid.into(),
            kind,
            gtin: Some("00300010123457".into()),
            serial: Some("S1".into()),
            lot: Some("L1".into()),
            expiry: NaiveDate::from_ymd_opt(2027, 1, 31),
            data_lot: Some("L2".into()),
            data_expiry: NaiveDate::from_ymd_opt(2027, 2, 28),
            quantity_ordered: Some(10),
            quantity_received: Some(12),
            file_id: Some("doc-1".into()),
            note: Some("crushed".into()),
        }
    }

    fn header() -> ReportHeader {
        ReportHeader {
            message_uuid: "m".into(),
            exception_case_uuid: "c".into(),
            timestamp: 1_780_000_000,
            po_number: "PO-1".into(),
            sender: Contact {
                email: "rx@example.org".into(),
                gln: Some("0399999999991".into()),
                ..Contact::default()
            },
            case_resolved: false,
        }
    }

    #[test]
    fn each_kind_goes_to_its_list() {
        let items: Vec<_> = ExceptionKind::ALL
            .iter()
            .enumerate()
            .map(|(i, k)| item(*k, &format!("u{i}")))
            .collect();
        let r = report(&header(), &items);
        let ex = &r["exceptions"];
        assert_eq!(ex["missing_product"][0]["exception_item_uuid"], "u0");
        assert_eq!(ex["missing_product"][0]["file_id"], "doc-1");
        assert_eq!(ex["missing_product_data"][0]["observation_source"], "Scan");
        let mis = &ex["data_misalignment"][0];
        assert_eq!(mis["received_product_lot"], "L1");
        assert_eq!(mis["product_data_lot"], "L2");
        assert_eq!(mis["received_product_expiry"], "01312027");
        assert_eq!(mis["product_data_expiry"], "02282027");
        assert_eq!(ex["overages"][0]["quantity_received"], 12);
        assert_eq!(ex["underages"][0]["resolution_request"], "Send product");
        let other = r["other_errors"][0].as_str().unwrap();
        assert!(other.contains("u5") && other.contains("crushed"), "{other}");
        assert_eq!(r["sender_information"]["email"], "rx@example.org");
        assert_eq!(r["timestamp"], 1_780_000_000);
    }

    #[test]
    fn an_empty_report_has_no_lists() {
        let r = report(&header(), &[]);
        assert_eq!(r["exceptions"], json!({}));
        assert_eq!(r["other_errors"], Value::Null);
    }

    #[test]
    fn dates_read_both_ways() {
        let d = NaiveDate::from_ymd_opt(2027, 1, 1).unwrap();
        assert_eq!(parse_pdg_date("01012027"), Some(d));
        assert_eq!(parse_pdg_date("2027-01-01"), Some(d));
        assert_eq!(parse_pdg_date("1012027"), None);
        assert_eq!(parse_pdg_date(&pdg_date(d)), Some(d));
    }

    #[test]
    fn responses_are_checked() {
        let ok = br#"{"message_uuid":"m","exception_case_uuid":"c","timestamp":1,
            "sender_information":{"email":"a@b"},"po_number":"P",
            "response_items":[{"exception_item_uuid":"i","resolution_response":"Reject",
            "alternative_resolution":{"alternative_resolution":"Return product","follow_up":"Email"}}]}"#;
        let r = parse_response(ok).unwrap();
        let item = &r.response_items.as_ref().unwrap()[0];
        assert_eq!(item.resolution_response, Answer::Reject);
        assert_eq!(
            item.alternative_resolution
                .as_ref()
                .and_then(|a| a.alternative_resolution),
            Some(Resolution::ReturnProduct)
        );
        assert!(parse_response(b"{}").is_err());
        assert!(
            parse_response(
                br#"{"message_uuid":"m","exception_case_uuid":" ","timestamp":1,
                "sender_information":{"email":"a"},"po_number":"P"}"#
            )
            .is_err()
        );
        assert!(parse_response(b"\xff").is_err());
    }
}
