//! The EPCIS 2.0 events TraceDesk records, built from plain values.
//!
//! Every desk action (a verified receipt, a failed verification kept for audit, a pharmacist's
//! hold and release, a dispense, a decommission, a destruction, a return to the supplier, a
//! saleable return put back into stock) becomes one JSON-LD `ObjectEvent` with CBV 2.0 words,
//! identified by its CBV 2.0 event hash ID. Building is pure and deterministic: the same input
//! always gives the same JSON and the same `eventID`, so an event re-sent after a crash is
//! deduplicated upstream.
//!
//! Units are written as GS1 Digital Link URIs (`https://id.gs1.org/01/{gtin}/21/{serial}`),
//! not SGTIN EPC URNs: an SGTIN URN splits the GTIN at the end of the GS1 company prefix, and a
//! DataMatrix does not say how long that prefix is. Guessing it would make up data; the Digital
//! Link needs only what the barcode carries, and EPCIS 2.0 accepts it wherever an EPC goes.
//!
//! Never reads the clock: the event time and document creation date are passed in.

use chrono::{DateTime, FixedOffset, NaiveDate};
use serde_json::{Map, Value, json};

use super::epc::{Epc, check_digit};
use super::hash::{Context, HashError, event_hash_id};

/// The JSON-LD context of EPCIS 2.0 documents.
pub const EPCIS_CONTEXT_URL: &str =
    "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld";
/// The `tracedesk:` namespace of TraceDesk's extension fields. A URN, because TraceDesk owns no
/// domain to publish a vocabulary under, and namespace IRIs are names, not addresses.
pub const TRACEDESK_NAMESPACE: &str = "urn:tracedesk:epcis:";
/// The prefix TraceDesk's documents bind [`TRACEDESK_NAMESPACE`] to.
pub const TRACEDESK_PREFIX: &str = "tracedesk";

/// What happened at the desk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeskAction {
    /// A unit verified and received into stock.
    ReceiveVerified,
    /// A scan that failed verification, recorded for audit with its reasons.
    VerificationFailed,
    /// A unit put on hold (quarantine) by a pharmacist.
    Hold,
    /// A held unit released back to saleable stock.
    Release,
    /// A unit dispensed to a patient.
    Dispense,
    /// A unit taken out of circulation without being destroyed (e.g. a sample, an export).
    Decommission,
    /// A unit destroyed.
    Destroy,
    /// A unit shipped back to the supplier.
    ReturnToSupplier,
    /// A saleable return received back and restocked.
    SaleableReturnRestock,
}

impl DeskAction {
    /// Every desk action, for exhaustive tests and menus.
    pub const ALL: [DeskAction; 9] = [
        DeskAction::ReceiveVerified,
        DeskAction::VerificationFailed,
        DeskAction::Hold,
        DeskAction::Release,
        DeskAction::Dispense,
        DeskAction::Decommission,
        DeskAction::Destroy,
        DeskAction::ReturnToSupplier,
        DeskAction::SaleableReturnRestock,
    ];

    /// The CBV 2.0 business step.
    pub fn biz_step(self) -> &'static str {
        match self {
            DeskAction::ReceiveVerified | DeskAction::SaleableReturnRestock => "receiving",
            DeskAction::VerificationFailed | DeskAction::Release => "inspecting",
            DeskAction::Hold => "holding",
            DeskAction::Dispense => "dispensing",
            DeskAction::Decommission => "decommissioning",
            DeskAction::Destroy => "destroying",
            DeskAction::ReturnToSupplier => "shipping",
        }
    }

    /// The CBV 2.0 disposition the units are in afterwards.
    ///
    /// A released unit goes back to the dispensary shelves, which patients cannot reach:
    /// `sellable_not_accessible`. A verified receipt stays `in_progress` until it is shelved.
    pub fn disposition(self) -> &'static str {
        match self {
            DeskAction::ReceiveVerified => "in_progress",
            DeskAction::VerificationFailed | DeskAction::Hold => "non_sellable_other",
            DeskAction::Release => "sellable_not_accessible",
            DeskAction::Dispense => "dispensed",
            DeskAction::Decommission => "inactive",
            DeskAction::Destroy => "destroyed",
            DeskAction::ReturnToSupplier => "returned",
            DeskAction::SaleableReturnRestock => "active",
        }
    }

    /// The EPCIS action: `DELETE` when the units leave circulation for good (CBV pairs
    /// decommissioning and destroying with it), `OBSERVE` otherwise.
    pub fn epcis_action(self) -> &'static str {
        match self {
            DeskAction::Decommission | DeskAction::Destroy => "DELETE",
            _ => "OBSERVE",
        }
    }
}

/// A business transaction the event belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BizTransaction {
    pub kind: BizTransactionKind,
    /// The transaction's identifier, a URI (e.g. `urn:epcglobal:cbv:bt:4012345000009:PO4711`).
    pub id: String,
}

/// CBV business transaction types TraceDesk refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BizTransactionKind {
    /// Purchase order (`po`).
    PurchaseOrder,
    /// Despatch advice, i.e. the supplier's ASN (`desadv`).
    DespatchAdvice,
    /// Invoice (`inv`).
    Invoice,
    /// Return merchandise authorisation (`rma`).
    ReturnAuthorisation,
}

impl BizTransactionKind {
    /// The CBV 2.0 bare word.
    pub fn cbv_word(self) -> &'static str {
        match self {
            BizTransactionKind::PurchaseOrder => "po",
            BizTransactionKind::DespatchAdvice => "desadv",
            BizTransactionKind::Invoice => "inv",
            BizTransactionKind::ReturnAuthorisation => "rma",
        }
    }
}

/// One saleable unit as scanned: GTIN-14 and serial.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Unit {
    pub gtin: String,
    pub serial: String,
}

/// Everything an event is made of.
#[derive(Debug, Clone, PartialEq)]
pub struct DeskEvent {
    pub action: DeskAction,
    /// When it happened, with the desk's UTC offset (which becomes `eventTimeZoneOffset`).
    pub event_time: DateTime<FixedOffset>,
    pub units: Vec<Unit>,
    /// Where it was observed: an SGLN EPC URN or a GLN Digital Link URI of the desk.
    pub read_point: Option<String>,
    /// Where the units are afterwards: the pharmacy's SGLN or GLN Digital Link URI.
    pub biz_location: Option<String>,
    pub biz_transactions: Vec<BizTransaction>,
    /// Lot from the barcode, written to ILMD as `cbvmda:lotNumber`.
    pub lot: Option<String>,
    /// Expiry from the barcode, written to ILMD as `cbvmda:itemExpirationDate`.
    pub expiry: Option<NaiveDate>,
    /// Reason codes of a failed verification (`tracedesk:failureReasons`).
    pub failure_reasons: Vec<String>,
    /// Who did it (`tracedesk:actor`): `kiosk:pharmacist`, or `cli:` and the account that ran
    /// the command line.
    pub actor: Option<String>,
}

/// Why an event cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EventError {
    #[error("an event needs at least one unit")]
    NoUnits,
    #[error("GTIN '{0}' is not 14 digits with a valid check digit")]
    BadGtin(String),
    #[error("serial '{0}' is not 1 to 20 GS1 characters")]
    BadSerial(String),
    #[error("lot '{0}' is not 1 to 20 GS1 characters")]
    BadLot(String),
    #[error("{field} '{value}' is not a URI")]
    NotAUri { field: &'static str, value: String },
    #[error("a failed verification must say why it failed")]
    NoFailureReasons,
    #[error("failure reasons are only recorded on failed verifications")]
    UnexpectedFailureReasons,
    #[error("cannot compute the event ID: {0}")]
    Hash(#[from] HashError),
}

/// The hashing context of TraceDesk's own documents (standard prefixes + `tracedesk:`).
pub fn tracedesk_context() -> Context {
    Context::standard().with_prefix(TRACEDESK_PREFIX, TRACEDESK_NAMESPACE)
}

fn is_gs1_text(s: &str) -> bool {
    (1..=20).contains(&s.chars().count())
        && s.chars()
            .all(|c| matches!(c, '!' | '"' | '%'..='?' | 'A'..='Z' | '_' | 'a'..='z'))
}

fn valid_gtin(gtin: &str) -> bool {
    gtin.len() == 14
        && gtin.bytes().all(|b| b.is_ascii_digit())
        && gtin.split_at_checked(13).is_some_and(|(body, check)| {
            check_digit(body).map(String::from).as_deref() == Some(check)
        })
}

fn check_uri(field: &'static str, value: &str) -> Result<(), EventError> {
    let scheme_ok = value.split_once(':').is_some_and(|(scheme, rest)| {
        !rest.is_empty()
            && scheme
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic())
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
    });
    if scheme_ok && !value.contains(char::is_whitespace) {
        Ok(())
    } else {
        Err(EventError::NotAUri {
            field,
            value: value.to_owned(),
        })
    }
}

/// Builds the JSON-LD `ObjectEvent` for `input`, with its CBV 2.0 hash ID as `eventID`.
pub fn build_event(input: &DeskEvent) -> Result<Value, EventError> {
    if input.units.is_empty() {
        return Err(EventError::NoUnits);
    }
    let failed = input.action == DeskAction::VerificationFailed;
    match (failed, input.failure_reasons.is_empty()) {
        (true, true) => return Err(EventError::NoFailureReasons),
        (false, false) => return Err(EventError::UnexpectedFailureReasons),
        _ => {}
    }
    let mut epcs = Vec::with_capacity(input.units.len());
    for unit in &input.units {
        if !valid_gtin(&unit.gtin) {
            return Err(EventError::BadGtin(unit.gtin.clone()));
        }
        if !is_gs1_text(&unit.serial) {
            return Err(EventError::BadSerial(unit.serial.clone()));
        }
        let epc = Epc::Sgtin {
            gtin: unit.gtin.clone(),
            serial: unit.serial.clone(),
        };
        epcs.push(Value::String(epc.digital_link()));
    }

    let mut event = Map::new();
    event.insert("type".into(), json!("ObjectEvent"));
    event.insert(
        "eventTime".into(),
        json!(
            input
                .event_time
                .format("%Y-%m-%dT%H:%M:%S%.3f%:z")
                .to_string()
        ),
    );
    event.insert(
        "eventTimeZoneOffset".into(),
        json!(input.event_time.format("%:z").to_string()),
    );
    event.insert("epcList".into(), Value::Array(epcs));
    event.insert("action".into(), json!(input.action.epcis_action()));
    event.insert("bizStep".into(), json!(input.action.biz_step()));
    event.insert("disposition".into(), json!(input.action.disposition()));
    if let Some(read_point) = &input.read_point {
        check_uri("readPoint", read_point)?;
        event.insert("readPoint".into(), json!({ "id": read_point }));
    }
    if let Some(location) = &input.biz_location {
        check_uri("bizLocation", location)?;
        event.insert("bizLocation".into(), json!({ "id": location }));
    }
    if !input.biz_transactions.is_empty() {
        let mut list = Vec::with_capacity(input.biz_transactions.len());
        for t in &input.biz_transactions {
            check_uri("bizTransaction", &t.id)?;
            list.push(json!({ "type": t.kind.cbv_word(), "bizTransaction": t.id }));
        }
        event.insert("bizTransactionList".into(), Value::Array(list));
    }
    // EPCIS 2.0 allows `ilmd` only on events that create objects (action ADD); TraceDesk
    // observes units others commissioned, so lot and expiry as scanned travel as TraceDesk
    // extension fields, which strict capture interfaces accept.
    if let Some(lot) = input.lot.as_ref().filter(|lot| !is_gs1_text(lot)) {
        return Err(EventError::BadLot(lot.clone()));
    }
    let mut ilmd = Map::new();
    let lot_expiry = [
        ("lotNumber", input.lot.as_ref().map(|lot| json!(lot))),
        (
            "itemExpirationDate",
            input
                .expiry
                .map(|d| json!(d.format("%Y-%m-%d").to_string())),
        ),
    ];
    for (name, value) in lot_expiry {
        let Some(value) = value else { continue };
        if input.action.epcis_action() == "ADD" {
            ilmd.insert(format!("cbvmda:{name}"), value);
        } else {
            event.insert(format!("{TRACEDESK_PREFIX}:{name}"), value);
        }
    }
    if !ilmd.is_empty() {
        event.insert("ilmd".into(), Value::Object(ilmd));
    }
    if failed {
        event.insert(
            format!("{TRACEDESK_PREFIX}:failureReasons"),
            json!(input.failure_reasons),
        );
    }
    if let Some(actor) = &input.actor {
        event.insert(format!("{TRACEDESK_PREFIX}:actor"), json!(actor));
    }

    let mut event = Value::Object(event);
    let id = event_hash_id(&event, &tracedesk_context())?;
    if let Some(map) = event.as_object_mut() {
        map.shift_insert(1, "eventID".into(), Value::String(id));
    }
    Ok(event)
}

/// Wraps events in an `EPCISDocument` ready for `POST /capture`.
pub fn epcis_document(events: Vec<Value>, creation_date: DateTime<FixedOffset>) -> Value {
    json!({
        "@context": [EPCIS_CONTEXT_URL, { TRACEDESK_PREFIX: TRACEDESK_NAMESPACE }],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": creation_date.format("%Y-%m-%dT%H:%M:%S%.3f%:z").to_string(),
        "epcisBody": { "eventList": events },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::epcis::hash::{jsonld_document_hash_ids, prehash};

    fn time() -> DateTime<FixedOffset> {
        DateTime::parse_from_rfc3339("2026-03-02T09:15:30.250+01:00").unwrap()
    }

    fn receipt() -> DeskEvent {
        DeskEvent {
            action: DeskAction::ReceiveVerified,
            event_time: time(),
            units: vec![Unit {
                gtin: "09506000134352".into(),
                serial: "A/B1".into(),
            }],
            read_point: Some("urn:epc:id:sgln:4012345.00011.0".into()),
            biz_location: Some("https://id.gs1.org/414/4012345000115".into()),
            biz_transactions: vec![
                BizTransaction {
                    kind: BizTransactionKind::PurchaseOrder,
                    id: "urn:epcglobal:cbv:bt:4012345000009:PO4711".into(),
                },
                BizTransaction {
                    kind: BizTransactionKind::DespatchAdvice,
                    id: "urn:epcglobal:cbv:bt:4012345000009:ASN1".into(),
                },
            ],
            lot: Some("L0T-7".into()),
            expiry: NaiveDate::from_ymd_opt(2027, 1, 31),
            failure_reasons: vec![],
            actor: None,
        }
    }

    #[test]
    fn receipt_is_an_epcis_2_object_event() {
        let event = build_event(&receipt()).unwrap();
        let id = event["eventID"].as_str().unwrap().to_owned();
        assert!(id.starts_with("ni:///sha-256;") && id.ends_with("?ver=CBV2.0"));
        assert_eq!(
            event,
            json!({
                "type": "ObjectEvent",
                "eventID": id,
                "eventTime": "2026-03-02T09:15:30.250+01:00",
                "eventTimeZoneOffset": "+01:00",
                "epcList": ["https://id.gs1.org/01/09506000134352/21/A%2FB1"],
                "action": "OBSERVE",
                "bizStep": "receiving",
                "disposition": "in_progress",
                "readPoint": {"id": "urn:epc:id:sgln:4012345.00011.0"},
                "bizLocation": {"id": "https://id.gs1.org/414/4012345000115"},
                "bizTransactionList": [
                    {"type": "po", "bizTransaction": "urn:epcglobal:cbv:bt:4012345000009:PO4711"},
                    {"type": "desadv", "bizTransaction": "urn:epcglobal:cbv:bt:4012345000009:ASN1"}
                ],
                "tracedesk:lotNumber": "L0T-7",
                "tracedesk:itemExpirationDate": "2027-01-31"
            })
        );
    }

    #[test]
    fn building_is_stable() {
        assert_eq!(
            build_event(&receipt()).unwrap(),
            build_event(&receipt()).unwrap()
        );
    }

    #[test]
    fn id_survives_a_json_round_trip_and_any_field_order() {
        let event = build_event(&receipt()).unwrap();
        let id = event["eventID"].as_str().unwrap().to_owned();
        let text = serde_json::to_string_pretty(&event).unwrap();
        let reparsed: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(event_hash_id(&reparsed, &tracedesk_context()).unwrap(), id);

        let mut reversed = Map::new();
        for (k, v) in event.as_object().unwrap().iter().rev() {
            reversed.insert(k.clone(), v.clone());
        }
        let mut transactions = reversed["bizTransactionList"].as_array().unwrap().clone();
        transactions.reverse();
        reversed.insert("bizTransactionList".into(), Value::Array(transactions));
        assert_eq!(
            event_hash_id(&Value::Object(reversed), &tracedesk_context()).unwrap(),
            id
        );
    }

    #[test]
    fn document_rehashes_to_the_same_ids() {
        let a = build_event(&receipt()).unwrap();
        let mut hold = receipt();
        hold.action = DeskAction::Hold;
        let b = build_event(&hold).unwrap();
        let doc = epcis_document(vec![a.clone(), b.clone()], time());
        assert_eq!(doc["@context"][1]["tracedesk"], TRACEDESK_NAMESPACE);
        assert_eq!(doc["schemaVersion"], "2.0");
        assert_eq!(doc["creationDate"], "2026-03-02T09:15:30.250+01:00");
        assert_eq!(
            jsonld_document_hash_ids(&doc).unwrap(),
            [
                a["eventID"].as_str().unwrap(),
                b["eventID"].as_str().unwrap()
            ]
        );
    }

    #[test]
    fn every_action_has_its_own_cbv_words_and_id() {
        let mut ids = std::collections::BTreeSet::new();
        for action in DeskAction::ALL {
            let mut input = receipt();
            input.action = action;
            if action == DeskAction::VerificationFailed {
                input.failure_reasons = vec!["expired".into(), "recalled".into()];
            }
            let event = build_event(&input).unwrap();
            assert_eq!(event["bizStep"], action.biz_step());
            assert_eq!(event["disposition"], action.disposition());
            assert!(crate::epcis::vocab::BIZ_STEPS.contains(&action.biz_step()));
            assert!(crate::epcis::vocab::DISPOSITIONS.contains(&action.disposition()));
            ids.insert(event["eventID"].as_str().unwrap().to_owned());
        }
        assert_eq!(ids.len(), DeskAction::ALL.len());
    }

    #[test]
    fn failure_reasons_are_a_tracedesk_extension_and_part_of_the_hash() {
        let mut input = receipt();
        input.action = DeskAction::VerificationFailed;
        input.failure_reasons = vec!["recalled".into(), "expired".into()];
        let event = build_event(&input).unwrap();
        assert_eq!(
            event["tracedesk:failureReasons"],
            json!(["recalled", "expired"])
        );
        let pre = prehash(&event, &tracedesk_context()).unwrap();
        assert!(
            pre.contains("{urn:tracedesk:epcis:}failureReasons=expired{urn:tracedesk:epcis:}failureReasons=recalled"),
            "{pre}"
        );
        assert!(
            pre.contains("{urn:tracedesk:epcis:}itemExpirationDate=2027-01-31"),
            "{pre}"
        );
        assert!(
            pre.contains("bizStep=https://ref.gs1.org/cbv/BizStep-inspecting"),
            "{pre}"
        );
        assert!(
            pre.contains("disposition=https://ref.gs1.org/cbv/Disp-non_sellable_other"),
            "{pre}"
        );

        let mut other = input.clone();
        other.failure_reasons = vec!["expired".into()];
        assert_ne!(build_event(&other).unwrap()["eventID"], event["eventID"]);
    }

    #[test]
    fn the_actor_is_a_tracedesk_extension_and_part_of_the_hash() {
        let anonymous = build_event(&receipt()).unwrap();
        assert!(anonymous.get("tracedesk:actor").is_none());
        let mut input = receipt();
        input.actor = Some("cli:alice".into());
        let event = build_event(&input).unwrap();
        assert_eq!(event["tracedesk:actor"], "cli:alice");
        let pre = prehash(&event, &tracedesk_context()).unwrap();
        assert!(
            pre.contains("{urn:tracedesk:epcis:}actor=cli:alice"),
            "{pre}"
        );
        assert_ne!(event["eventID"], anonymous["eventID"]);
    }

    #[test]
    fn same_instant_in_another_offset_is_a_different_event() {
        let a = build_event(&receipt()).unwrap();
        let mut input = receipt();
        input.event_time = time().with_timezone(&FixedOffset::east_opt(0).unwrap());
        let b = build_event(&input).unwrap();
        assert_eq!(b["eventTime"], "2026-03-02T08:15:30.250+00:00");
        // eventTimeZoneOffset is part of the event, so the IDs differ.
        assert_ne!(a["eventID"], b["eventID"]);
    }

    #[test]
    fn bad_input_is_refused() {
        let mut input = receipt();
        input.units[0].gtin = "09506000134353".into();
        assert_eq!(
            build_event(&input),
            Err(EventError::BadGtin("09506000134353".into()))
        );
        let mut input = receipt();
        input.units[0].serial = "has space".into();
        assert!(matches!(build_event(&input), Err(EventError::BadSerial(_))));
        let mut input = receipt();
        input.units.clear();
        assert_eq!(build_event(&input), Err(EventError::NoUnits));
        let mut input = receipt();
        input.read_point = Some("desk 1".into());
        assert!(matches!(
            build_event(&input),
            Err(EventError::NotAUri {
                field: "readPoint",
                ..
            })
        ));
        let mut input = receipt();
        input.action = DeskAction::VerificationFailed;
        assert_eq!(build_event(&input), Err(EventError::NoFailureReasons));
        let mut input = receipt();
        input.failure_reasons = vec!["expired".into()];
        assert_eq!(
            build_event(&input),
            Err(EventError::UnexpectedFailureReasons)
        );
    }
}
