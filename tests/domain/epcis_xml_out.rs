//! EPCIS 1.2 XML out: `tracedesk events --xml` (and `--unit SCAN --xml`) on a real store, and the
//! library's 1.2 writer with a full header, checked three ways:
//! - `xmllint --noout`: well-formed, always (`.ci/run` installs libxml2-utils);
//! - `xmllint --schema EPCglobal-epcis-1_2.xsd`: valid 1.2. The GS1 schema files come from a
//!   registry package (EPCPyYes on PyPI ships them), unpacked by `.ci/run`, whose directory is
//!   given in `TRACEDESK_EPCIS12_XSD_DIR`; without it this check is skipped with a notice;
//! - our own reader reads the document back and every event's CBV 2.0 hash ID equals the
//!   `eventID` recorded: the conversion kept every field.

use crate::cli_support;
use cli_support::{json_lines, today, tracedesk};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use tracedesk::epcis::document::{PartyMasterData, ProductMasterData, TransactionStatement};
use tracedesk::epcis::event::tracedesk_context;
use tracedesk::epcis::event_hash_id;
use tracedesk::epcis::read::{CollectingSink, read_document};
use tracedesk::epcis::xml_write::{Epcis12Header, Epcis12Writer, Sbdh};
use tracedesk::store::Store;

/// Where the EPCIS 1.2 schema files are, when the environment says.
const XSD_DIR_VAR: &str = "TRACEDESK_EPCIS12_XSD_DIR";

/// A demo store in which a few units were received (one refused), one dispensed, and a case
/// received by its SSCC, at a site with a GLN (so events have a read point and location).
/// Returns the store and the genuine unit's scan.
fn store_with_events(dir: &Path) -> (PathBuf, String) {
    let db = dir.join("desk.db");
    let mut store = Store::open(&db).unwrap();
    let demo = tracedesk::store::create_demo(&mut store, today()).unwrap();
    drop(store);
    let scan = |label: &str| {
        demo.scans
            .iter()
            .find(|s| s.label == label)
            .unwrap_or_else(|| panic!("no demo scan '{label}'"))
            .scan
            .clone()
    };
    let genuine = scan("Genuine pack on the shipment");
    let config = tracedesk(&db, &["config", "site_gln", "4012345000115"], b"");
    assert!(config.status.success(), "{config:?}");
    let input = format!(
        "{genuine}\n{}\n{}\n",
        scan("Recalled lot"),
        scan("Case label: receives its 3 packs")
    );
    let args = ["receive", "--shipment", demo.shipment.as_str(), "--json"];
    let received = json_lines(&tracedesk(&db, &args, input.as_bytes()));
    assert_eq!(received.len(), 3);
    let dispensed = json_lines(&tracedesk(&db, &["dispense", "--json", &genuine], b""));
    assert_eq!(dispensed.len(), 1);
    (db, genuine)
}

fn stdout(out: Output) -> Vec<u8> {
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn xmllint(args: &[&str], file: &Path) -> Output {
    Command::new("xmllint")
        .args(args)
        .arg(file)
        .output()
        .unwrap_or_else(|e| panic!("cannot run xmllint (install libxml2-utils): {e}"))
}

/// The schema set in a scratch directory. Copies of the 1.2 schema import their neighbours
/// either as `./EPCglobal.xsd` (GS1's) or `./schemas/EPCglobal.xsd` (EPCPyYes's), so the files
/// go in both places.
fn schema(scratch: &Path) -> Option<PathBuf> {
    let Some(source) = std::env::var_os(XSD_DIR_VAR) else {
        eprintln!("notice: {XSD_DIR_VAR} is not set; EPCIS 1.2 schema validation skipped");
        return None;
    };
    let nested = scratch.join("schemas");
    std::fs::create_dir_all(&nested).unwrap();
    let mut copied = 0;
    for entry in std::fs::read_dir(&source).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "xsd") {
            let name = path.file_name().unwrap();
            std::fs::copy(&path, scratch.join(name)).unwrap();
            std::fs::copy(&path, nested.join(name)).unwrap();
            copied += 1;
        }
    }
    let main = scratch.join("EPCglobal-epcis-1_2.xsd");
    assert!(
        copied > 1 && main.exists(),
        "{XSD_DIR_VAR}={} holds no EPCglobal-epcis-1_2.xsd",
        Path::new(&source).display()
    );
    Some(main)
}

/// Checks `xml` is well-formed, and valid EPCIS 1.2 when the schema is at hand.
fn check_xml(xml: &[u8], scratch: &Path) {
    let file = scratch.join("out.xml");
    std::fs::write(&file, xml).unwrap();
    let lint = xmllint(&["--noout"], &file);
    assert!(
        lint.status.success(),
        "not well-formed: {}",
        String::from_utf8_lossy(&lint.stderr)
    );
    if let Some(xsd) = schema(&scratch.join("xsd")) {
        let valid = xmllint(&["--noout", "--schema", xsd.to_str().unwrap()], &file);
        assert!(
            valid.status.success(),
            "not valid EPCIS 1.2: {}",
            String::from_utf8_lossy(&valid.stderr)
        );
    }
}

/// Reads a document back with TraceDesk's reader and checks each event's hash ID is the
/// `eventID` it was recorded with, in order.
fn assert_ids_survive(xml: &[u8], ids: &[&str]) -> CollectingSink {
    let mut sink = CollectingSink::default();
    read_document(xml, &mut sink).unwrap();
    let back: Vec<(&str, Option<&str>)> = sink
        .events
        .iter()
        .map(|e| (e.hash_id.as_str(), e.event_id.as_deref()))
        .collect();
    let expected: Vec<(&str, Option<&str>)> = ids.iter().map(|id| (*id, Some(*id))).collect();
    assert_eq!(back, expected);
    sink
}

fn event_ids(events: &[Value]) -> Vec<&str> {
    events
        .iter()
        .map(|e| e["eventID"].as_str().unwrap())
        .collect()
}

#[test]
fn events_xml_is_epcis_1_2_with_every_event_and_id() {
    let dir = tempfile::tempdir().unwrap();
    let (db, _) = store_with_events(dir.path());
    let events = json_lines(&tracedesk(&db, &["events", "--json"], b""));
    assert_eq!(events.len(), 6, "2 scans, 3 packs of the case, 1 dispense");
    let xml = stdout(tracedesk(&db, &["events", "--xml"], b""));
    check_xml(&xml, dir.path());
    let back = assert_ids_survive(&xml, &event_ids(&events));
    let text = String::from_utf8(xml).unwrap();
    assert!(text.contains("<bizStep>urn:epcglobal:cbv:bizstep:dispensing</bizStep>"));
    assert!(text.contains("<id>https://id.gs1.org/414/4012345000115</id>"));
    assert_eq!(
        back.events[1].biz_step.as_deref(),
        Some("inspecting"),
        "the refused scan"
    );
}

#[test]
fn a_units_audit_export_in_xml_holds_its_events_only() {
    let dir = tempfile::tempdir().unwrap();
    let (db, genuine) = store_with_events(dir.path());
    let json = json_lines(&tracedesk(
        &db,
        &["events", "--json", "--unit", &genuine],
        b"",
    ));
    let steps: Vec<&str> = json
        .iter()
        .map(|e| e["bizStep"].as_str().unwrap())
        .collect();
    assert_eq!(steps, ["receiving", "dispensing"]);
    let xml = stdout(tracedesk(
        &db,
        &["events", "--xml", "--unit", &genuine],
        b"",
    ));
    check_xml(&xml, dir.path());
    let back = assert_ids_survive(&xml, &event_ids(&json));
    for event in &back.events {
        assert_eq!(
            event.epc_list,
            ["https://id.gs1.org/01/00359999101015/21/AMX0001"]
        );
    }
}

#[test]
fn every_form_streams_the_same_events() {
    let dir = tempfile::tempdir().unwrap();
    let (db, _) = store_with_events(dir.path());
    let lines = json_lines(&tracedesk(&db, &["events", "--json"], b""));
    let document: Value =
        serde_json::from_slice(&stdout(tracedesk(&db, &["events"], b""))).unwrap();
    assert_eq!(document["type"], "EPCISDocument");
    assert_eq!(document["schemaVersion"], "2.0");
    assert_eq!(document["@context"][1]["tracedesk"], "urn:tracedesk:epcis:");
    assert_eq!(document["epcisBody"]["eventList"], Value::Array(lines));

    let both = tracedesk(&db, &["events", "--json", "--xml"], b"");
    assert!(!both.status.success());
    assert!(String::from_utf8_lossy(&both.stderr).contains("cannot be used with"));
}

#[test]
fn the_schema_check_refuses_an_invalid_document() {
    let dir = tempfile::tempdir().unwrap();
    if schema(&dir.path().join("probe")).is_none() {
        return;
    }
    let (db, _) = store_with_events(dir.path());
    let xml = String::from_utf8(stdout(tracedesk(&db, &["events", "--xml"], b""))).unwrap();
    // 1.2 wants eventTimeZoneOffset after eventTime: moved before it, the event is invalid.
    let start = xml.find("<eventTimeZoneOffset>").unwrap();
    let end = xml.find("</eventTimeZoneOffset>").unwrap() + "</eventTimeZoneOffset>".len();
    let offset = &xml[start..end];
    let mut broken = xml.replacen(offset, "", 1);
    let time = broken.find("<eventTime>").unwrap();
    broken.insert_str(time, offset);
    let file = dir.path().join("broken.xml");
    std::fs::write(&file, broken).unwrap();
    let xsd = schema(&dir.path().join("xsd")).unwrap();
    let checked = xmllint(&["--noout", "--schema", xsd.to_str().unwrap()], &file);
    assert!(
        !checked.status.success(),
        "xmllint accepted a misordered event"
    );
}

/// What `trace --xml` sends a partner: an SBDH, master data, the DSCSA statement, and events
/// of every type with the fields 2.0 added.
#[test]
fn a_document_with_header_and_every_event_type_is_valid_1_2() {
    let header = Epcis12Header {
        sbdh: Sbdh {
            sender: "urn:epc:id:sgln:0359999.00000.0".into(),
            receiver: "urn:epc:id:sgln:4012345.00011.0".into(),
            instance_id: "TD-0001".into(),
        },
        products: vec![ProductMasterData {
            id: "urn:epc:idpat:sgtin:0359999.010101.*".into(),
            ndc: Some("59999-101-01".into()),
            name: Some("Amoxicillin".into()),
            manufacturer: Some("Demo & Sons".into()),
            dosage_form: Some("CAPSULE".into()),
            strength: Some("500 mg".into()),
            net_content: Some("30 capsules".into()),
        }],
        parties: vec![PartyMasterData {
            id: "urn:epc:id:sgln:0359999.00000.0".into(),
            name: Some("Demo Pharma".into()),
            street1: Some("1 Main St".into()),
            street2: None,
            city: Some("Springfield".into()),
            state: Some("IL".into()),
            postal_code: Some("62701".into()),
            country: Some("US".into()),
        }],
        statement: Some(TransactionStatement {
            affirmed: true,
            legal_notice: Some("Seller has complied with FDCA Sec. 582.".into()),
        }),
    };
    let time = "2026-03-02T09:15:30.250+01:00";
    let mut events = vec![
        json!({
            "type": "ObjectEvent",
            "eventTime": time,
            "recordTime": time,
            "eventTimeZoneOffset": "+01:00",
            "errorDeclaration": {"declarationTime": time, "reason": "did_not_occur",
                                 "correctiveEventIDs": ["urn:uuid:404d95fc-9457-4a51-bd6a-0bba133845a8"]},
            "epcList": ["https://id.gs1.org/01/00359999101015/21/AMX0001"],
            "action": "ADD",
            "bizStep": "commissioning",
            "disposition": "active",
            "persistentDisposition": {"set": ["completeness_verified"], "unset": ["completeness_inferred"]},
            "readPoint": {"id": "urn:epc:id:sgln:0359999.00000.0"},
            "bizLocation": {"id": "urn:epc:id:sgln:0359999.00000.0"},
            "bizTransactionList": [{"type": "po", "bizTransaction": "urn:epcglobal:cbv:bt:4012345000009:PO1"}],
            "quantityList": [{"epcClass": "urn:epc:class:lgtin:0359999.010101.LA2401", "quantity": 3, "uom": "EA"}],
            "sourceList": [{"type": "owning_party", "source": "urn:epc:id:sgln:0359999.00000.0"}],
            "destinationList": [{"type": "owning_party", "destination": "urn:epc:id:sgln:4012345.00011.0"}],
            "ilmd": {"cbvmda:lotNumber": "LA2401", "cbvmda:itemExpirationDate": "2028-10-30"},
            "certificationInfo": "https://cert.example.com/1",
            "tracedesk:failureReasons": ["expired", "recalled"]
        }),
        json!({
            "type": "AggregationEvent",
            "eventTime": time,
            "eventTimeZoneOffset": "+01:00",
            "parentID": "urn:epc:id:sscc:0614141.1234567890",
            "childEPCs": ["https://id.gs1.org/01/00359999101015/21/AMX0001"],
            "action": "ADD",
            "bizStep": "packing",
            "sourceList": [{"type": "location", "source": "urn:epc:id:sgln:0359999.00000.0"}],
            "gs1ushc:dropShipment": true
        }),
        json!({
            "type": "TransactionEvent",
            "eventTime": time,
            "eventTimeZoneOffset": "+01:00",
            "bizTransactionList": [{"type": "inv", "bizTransaction": "urn:epcglobal:cbv:bt:4012345000009:INV1"}],
            "epcList": [],
            "action": "OBSERVE"
        }),
        json!({
            "type": "TransformationEvent",
            "eventTime": time,
            "eventTimeZoneOffset": "+01:00",
            "inputEPCList": ["urn:epc:id:sgtin:0359999.010101.1"],
            "outputQuantityList": [{"epcClass": "urn:epc:class:lgtin:0359999.010101.LA2402", "quantity": 1.5, "uom": "KGM"}],
            "ilmd": {"cbvmda:lotNumber": "LA2402"},
            "persistentDisposition": {"set": ["active"]}
        }),
        json!({
            "type": "AssociationEvent",
            "eventTime": time,
            "eventTimeZoneOffset": "+01:00",
            "parentID": "urn:epc:id:grai:4012345.55555.987",
            "childEPCs": ["urn:epc:id:giai:4000001.12345"],
            "action": "ADD"
        }),
    ];
    // As a JSON-LD document that uses GS1 US fields would declare in its @context.
    let context = tracedesk_context().with_prefix("gs1ushc", "http://epcis.gs1us.org/hc/ns");
    for event in &mut events {
        let id = event_hash_id(event, &context).unwrap();
        event["eventID"] = json!(id);
    }
    let created = chrono::DateTime::parse_from_rfc3339(time).unwrap();
    let mut writer = Epcis12Writer::new(Vec::new(), created, Some(&header)).unwrap();
    for event in &events {
        writer.event(event).unwrap();
    }
    let xml = writer.finish().unwrap();
    let dir = tempfile::tempdir().unwrap();
    check_xml(&xml, dir.path());
    let back = assert_ids_survive(&xml, &event_ids(&events));
    let read_header = back.header.unwrap();
    assert_eq!(read_header.products, header.products);
    assert_eq!(read_header.parties, header.parties);
    assert_eq!(read_header.statement, header.statement);
    assert_eq!(back.events[1].drop_shipment, Some(true));
    // The master data's SGTIN pattern lets the unit be named by its EPC URN.
    assert_eq!(
        back.events[0].epc_list,
        ["urn:epc:id:sgtin:0359999.010101.AMX0001"]
    );
}
