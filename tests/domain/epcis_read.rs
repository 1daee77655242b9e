//! The streaming EPCIS 2.0 JSON-LD reader, driven through its public API.

use std::convert::Infallible;
use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::Path;

use chrono::NaiveDate;
use tracedesk::epcis::read::{
    Action, EventType, ReadError, SupplierEvent, TypedReference, read_jsonld_events,
};
use tracedesk::epcis::{Epc, parse_epc};

fn read_all(json: &str) -> Result<Vec<SupplierEvent>, ReadError<Infallible>> {
    let mut events = Vec::new();
    read_jsonld_events(json.as_bytes(), |e| {
        events.push(e);
        Ok::<(), Infallible>(())
    })?;
    Ok(events)
}

const CONTEXT: &str =
    r#""@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"]"#;

fn document(events: &str) -> String {
    format!(
        r#"{{ {CONTEXT}, "type": "EPCISDocument", "schemaVersion": "2.0",
             "creationDate": "2026-01-05T10:00:00Z", "epcisBody": {{ "eventList": [{events}] }} }}"#
    )
}

#[test]
fn every_vector_document_reads_with_the_right_event_count_and_hashes() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/vectors/epcis-event-hash-generator/examples");
    if !dir.is_dir() {
        eprintln!(
            "notice: {} is absent; vector documents not read",
            dir.display()
        );
        return;
    }
    let mut documents = 0;
    let mut events_total = 0;
    let mut entries: Vec<_> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "jsonld"))
    {
        let expected: Vec<String> = fs::read_to_string(path.with_extension("hashes"))
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(str::to_owned)
            .collect();
        let mut ids = Vec::new();
        let summary = read_jsonld_events(File::open(&path).unwrap(), |e| {
            ids.push(e.hash_id);
            Ok::<(), Infallible>(())
        })
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!(summary.events, expected.len(), "{}", path.display());
        assert_eq!(ids, expected, "{}", path.display());
        documents += 1;
        events_total += summary.events;
    }
    println!("read {documents} vector documents, {events_total} events, every hash as published");
    assert_eq!(documents, 22);
}

#[test]
fn commissioning_with_ilmd() {
    let events = read_all(&document(
        r#"{
            "type": "ObjectEvent", "action": "ADD", "bizStep": "commissioning",
            "disposition": "active", "eventTime": "2026-01-05T09:00:00.000+01:00",
            "eventTimeZoneOffset": "+01:00",
            "epcList": ["urn:epc:id:sgtin:0614141.107346.2017", "https://id.gs1.org/01/10614141073464/21/2018"],
            "readPoint": {"id": "urn:epc:id:sgln:0614141.07346.0"},
            "ilmd": {"cbvmda:lotNumber": "LOT-42", "cbvmda:itemExpirationDate": "2027-06-30"}
        }"#,
    ))
    .unwrap();
    let [e] = events.as_slice() else {
        panic!("one event expected")
    };
    assert_eq!(e.index, 0);
    assert_eq!(e.event_type, EventType::Object);
    assert_eq!(e.action, Some(Action::Add));
    assert_eq!(e.biz_step.as_deref(), Some("commissioning"));
    assert_eq!(e.disposition.as_deref(), Some("active"));
    assert_eq!(e.lot_number.as_deref(), Some("LOT-42"));
    assert_eq!(e.item_expiration_date, NaiveDate::from_ymd_opt(2027, 6, 30));
    assert_eq!(
        e.read_point.as_deref(),
        Some("urn:epc:id:sgln:0614141.07346.0")
    );
    assert_eq!(e.event_time.to_rfc3339(), "2026-01-05T09:00:00+01:00");
    let gtins: Vec<_> = e.epc_list.iter().map(|s| parse_epc(s).unwrap()).collect();
    assert_eq!(
        gtins,
        [
            Epc::Sgtin {
                gtin: "10614141073464".into(),
                serial: "2017".into()
            },
            Epc::Sgtin {
                gtin: "10614141073464".into(),
                serial: "2018".into()
            },
        ]
    );
    assert!(e.hash_id.starts_with("ni:///sha-256;"));
}

#[test]
fn shipping_with_destinations_and_transactions_in_every_spelling() {
    let events = read_all(&document(
        r#"{
            "type": "ObjectEvent", "action": "OBSERVE",
            "bizStep": "urn:epcglobal:cbv:bizstep:shipping",
            "disposition": "https://ref.gs1.org/cbv/Disp-in_transit",
            "eventTime": "2026-01-05T09:00:00Z", "eventTimeZoneOffset": "+00:00",
            "epcList": ["urn:epc:id:sgtin:0614141.107346.2017"],
            "bizTransactionList": [
                {"type": "po", "bizTransaction": "urn:epcglobal:cbv:bt:0614141000005:PO-1"},
                {"type": "cbv:BTT-desadv", "bizTransaction": "urn:epcglobal:cbv:bt:0614141000005:ASN-9"}
            ],
            "sourceList": [{"type": "owning_party", "source": "urn:epc:id:pgln:0614141.00000"}],
            "destinationList": [
                {"type": "urn:epcglobal:cbv:sdt:owning_party", "destination": "urn:epc:id:pgln:4012345.00000"},
                {"type": "location", "destination": "urn:epc:id:sgln:4012345.00001.0"}
            ]
        }"#,
    ))
    .unwrap();
    let e = &events[0];
    assert_eq!(e.biz_step.as_deref(), Some("shipping"));
    assert_eq!(e.disposition.as_deref(), Some("in_transit"));
    let reference = |kind: &str, id: &str| TypedReference {
        kind: Some(kind.into()),
        id: id.into(),
    };
    assert_eq!(
        e.biz_transactions,
        [
            reference("po", "urn:epcglobal:cbv:bt:0614141000005:PO-1"),
            reference("desadv", "urn:epcglobal:cbv:bt:0614141000005:ASN-9"),
        ]
    );
    assert_eq!(
        e.sources,
        [reference("owning_party", "urn:epc:id:pgln:0614141.00000")]
    );
    assert_eq!(
        e.destinations,
        [
            reference("owning_party", "urn:epc:id:pgln:4012345.00000"),
            reference("location", "urn:epc:id:sgln:4012345.00001.0"),
        ]
    );
}

#[test]
fn aggregation_with_sscc_parent_in_a_query_document() {
    let doc = format!(
        r#"{{ {CONTEXT}, "type": "EPCISQueryDocument", "schemaVersion": "2.0",
            "epcisBody": {{ "queryResults": {{ "queryName": "SimpleEventQuery",
              "resultsBody": {{ "eventList": [{{
                "type": "AggregationEvent", "action": "ADD", "bizStep": "packing",
                "eventTime": "2026-01-05T08:00:00-05:00", "eventTimeZoneOffset": "-05:00",
                "parentID": "urn:epc:id:sscc:0614141.1234567890",
                "childEPCs": ["urn:epc:id:sgtin:0614141.107346.2017", "urn:epc:id:sgtin:0614141.107346.2018"]
            }}] }} }} }} }}"#
    );
    let mut seen = Vec::new();
    let summary = read_jsonld_events(doc.as_bytes(), |e| {
        seen.push(e);
        Ok::<(), Infallible>(())
    })
    .unwrap();
    assert_eq!(summary.document_type.as_deref(), Some("EPCISQueryDocument"));
    assert_eq!(summary.events, 1);
    let e = &seen[0];
    assert_eq!(e.event_type, EventType::Aggregation);
    assert_eq!(
        parse_epc(e.parent_id.as_deref().unwrap()),
        Ok(Epc::Sscc {
            sscc: "106141412345678908".into()
        })
    );
    assert_eq!(e.child_epcs.len(), 2);
}

#[test]
fn status_dispositions_recalled_stolen_destroyed() {
    let event = |disposition: &str, step: &str| {
        format!(
            r#"{{"type": "ObjectEvent", "action": "OBSERVE", "bizStep": "{step}", "disposition": "{disposition}",
                "eventTime": "2026-01-05T09:00:00Z", "eventTimeZoneOffset": "+00:00",
                "epcList": ["urn:epc:id:sgtin:0614141.107346.2017"]}}"#
        )
    };
    let doc = document(&[
        event("recalled", "holding"),
        event("cbv:Disp-stolen", "other"),
        event("urn:epcglobal:cbv:disp:destroyed", "destroying"),
        r#"{"type": "ObjectEvent", "action": "OBSERVE", "eventTime": "2026-01-05T09:00:00Z",
            "epcList": ["urn:epc:id:sgtin:0614141.107346.2017"], "persistentDisposition": {"set": ["recalled"]}}"#
            .to_owned(),
    ]
    .join(","));
    let events = read_all(&doc).unwrap();
    let dispositions: Vec<_> = events.iter().map(|e| e.disposition.as_deref()).collect();
    assert_eq!(
        dispositions,
        [Some("recalled"), Some("stolen"), Some("destroyed"), None]
    );
    assert_eq!(events[3].persistent_disposition_set, ["recalled"]);
    assert_eq!(
        events.iter().map(|e| e.index).collect::<Vec<_>>(),
        [0, 1, 2, 3]
    );
}

const GOOD_EVENT: &str = r#"{"type": "ObjectEvent", "action": "OBSERVE", "eventTime": "2026-01-05T09:00:00Z",
    "eventTimeZoneOffset": "+00:00", "epcList": ["urn:epc:id:sgtin:0614141.107346.2017"]}"#;

#[test]
fn truncated_document_names_the_event() {
    let doc = document(&[GOOD_EVENT, GOOD_EVENT, GOOD_EVENT].join(","));
    let cut = doc.rfind("OBSERVE").unwrap();
    let err = read_all(&doc[..cut]).unwrap_err();
    assert!(
        matches!(err, ReadError::Truncated { event: Some(2) }),
        "{err:?}"
    );
    assert_eq!(err.to_string(), "the document ends early (in event 2)");
}

#[test]
fn malformed_event_names_its_index_and_problem() {
    let bad_time = r#"{"type": "ObjectEvent", "action": "OBSERVE", "eventTime": "yesterday"}"#;
    let err = read_all(&document(&[GOOD_EVENT, bad_time].join(","))).unwrap_err();
    assert!(
        matches!(err, ReadError::InvalidEvent { index: 1, .. }),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .starts_with("event 1: eventTime 'yesterday'"),
        "{err}"
    );

    let bad_action =
        r#"{"type": "ObjectEvent", "action": "SHRED", "eventTime": "2026-01-05T09:00:00Z"}"#;
    let err = read_all(&document(bad_action)).unwrap_err();
    assert_eq!(
        err.to_string(),
        "event 0: action \"SHRED\" is not ADD, OBSERVE or DELETE"
    );

    let bad_expiry = r#"{"type": "ObjectEvent", "action": "ADD", "eventTime": "2026-01-05T09:00:00Z",
        "ilmd": {"cbvmda:itemExpirationDate": "31/12/2027"}}"#;
    let err = read_all(&document(&[GOOD_EVENT, GOOD_EVENT, bad_expiry].join(","))).unwrap_err();
    assert!(
        matches!(err, ReadError::InvalidEvent { index: 2, .. }),
        "{err}"
    );

    let not_json =
        document(&[GOOD_EVENT, r#"{"type": "ObjectEvent", "action": OBSERVE}"#].join(","));
    let err = read_all(&not_json).unwrap_err();
    assert!(
        matches!(err, ReadError::Syntax { event: Some(1), .. }),
        "{err:?}"
    );
}

#[derive(Debug, thiserror::Error)]
#[error("the store is full")]
struct StoreFull;

#[test]
fn a_rejecting_callback_stops_the_read_at_that_event() {
    let doc = document(&[GOOD_EVENT, GOOD_EVENT, GOOD_EVENT].join(","));
    let mut calls = 0;
    let err = read_jsonld_events(doc.as_bytes(), |e| {
        calls += 1;
        if e.index == 1 { Err(StoreFull) } else { Ok(()) }
    })
    .unwrap_err();
    assert_eq!(calls, 2);
    assert_eq!(
        err.to_string(),
        "event 1 was not accepted: the store is full"
    );
}

#[test]
fn a_large_document_streams_from_a_file() {
    const EVENTS: usize = 200_000;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("large.jsonld");
    let mut out = BufWriter::new(File::create(&path).unwrap());
    write!(
        out,
        r#"{{ {CONTEXT}, "type": "EPCISDocument", "epcisBody": {{ "eventList": ["#
    )
    .unwrap();
    for i in 0..EVENTS {
        if i > 0 {
            out.write_all(b",").unwrap();
        }
        write!(
            out,
            r#"{{"type":"ObjectEvent","action":"ADD","bizStep":"commissioning","eventTime":"2026-01-05T09:00:00Z","eventTimeZoneOffset":"+00:00","epcList":["urn:epc:id:sgtin:0614141.107346.{i}"],"ilmd":{{"cbvmda:lotNumber":"L{}"}}}}"#,
            i % 97
        )
        .unwrap();
    }
    out.write_all(b"]}}").unwrap();
    out.flush().unwrap();
    drop(out);

    let mut count = 0usize;
    let mut last_serial = String::new();
    let summary = read_jsonld_events(File::open(&path).unwrap(), |e| {
        count += 1;
        last_serial = e.epc_list.first().cloned().unwrap_or_default();
        Ok::<(), Infallible>(())
    })
    .unwrap();
    assert_eq!(summary.events, EVENTS);
    assert_eq!(count, EVENTS);
    assert_eq!(
        last_serial,
        format!("urn:epc:id:sgtin:0614141.107346.{}", EVENTS - 1)
    );
}

/// Every EPCIS XML document among the vectors: the streaming reader reads it whole, and gives
/// each event the hash ID the whole-document hash reader gives it.
#[test]
fn streaming_xml_reader_agrees_with_the_hash_reader_on_every_vector_document() {
    use tracedesk::epcis::read::{CollectingSink, read_document};
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/vectors");
    if !root.exists() {
        eprintln!("skipped: ../shared/vectors is absent");
        return;
    }
    let mut files = Vec::new();
    for dir in [
        "openepcis-epcis-1.2",
        "epcis-event-hash-generator/examples",
        "epcis-event-hash-generator/expected_equal",
    ] {
        for entry in std::fs::read_dir(root.join(dir)).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "xml") {
                files.push(path);
            }
        }
    }
    files.sort();
    assert!(files.len() >= 25, "{} XML vector files", files.len());
    let mut events = 0;
    for path in &files {
        let text = std::fs::read_to_string(path).unwrap();
        let mut sink = CollectingSink::default();
        read_document(text.as_bytes(), &mut sink)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let streamed: Vec<String> = sink.events.iter().map(|e| e.hash_id.clone()).collect();
        match tracedesk::epcis::hash::xml_document_hash_ids(&text) {
            Ok(whole) => assert_eq!(streamed, whole, "{}", path.display()),
            // A lone event with no document around it: the hash reader wants an event list.
            Err(tracedesk::epcis::HashError::NoEventList) => assert_eq!(streamed.len(), 1),
            Err(e) => panic!("{}: {e}", path.display()),
        }
        assert!(sink.header.is_some(), "{}", path.display());
        events += streamed.len();
    }
    assert!(events > 60, "{events} events");
}

/// The GS1 US guideline's direct-purchase example: header, master data, statement, ILMD inside
/// `extension`, the shipping event's transactions, source/destination lists and drop shipment.
#[test]
fn the_gs1_us_direct_purchase_example_reads_into_the_model() {
    use tracedesk::epcis::document::DocumentFormat;
    use tracedesk::epcis::read::{CollectingSink, read_document};
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/vectors/openepcis-epcis-1.2/GS1_US_Pharma_Example_2_2_1_1.xml");
    if !path.exists() {
        eprintln!("skipped: ../shared/vectors is absent");
        return;
    }
    let file = std::fs::File::open(&path).unwrap();
    let mut sink = CollectingSink::default();
    let summary = read_document(file, &mut sink).unwrap();
    assert_eq!(summary.format, Some(DocumentFormat::Xml12));
    let header = sink.header.unwrap();
    assert_eq!(
        header.sender.as_deref(),
        Some("urn:epc:id:sgln:030001.111111.0")
    );
    assert_eq!(
        header.receiver.as_deref(),
        Some("urn:epc:id:sgln:039999.999999.0")
    );
    assert_eq!(header.instance_id.as_deref(), Some("1100220001"));
    let statement = header.statement.unwrap();
    assert!(statement.affirmed);
    assert!(statement.legal_notice.unwrap().contains("581(27)"));
    let unit = header
        .products
        .iter()
        .find(|p| p.id == "urn:epc:idpat:sgtin:030001.0012345.*")
        .unwrap();
    assert_eq!(unit.ndc.as_deref(), Some("0001-0123-45"));
    assert_eq!(unit.name.as_deref(), Some("Epcistra"));
    assert_eq!(unit.strength.as_deref(), Some("100mg"));
    assert_eq!(unit.net_content.as_deref(), Some("500 pills"));
    assert_eq!(header.parties.len(), 4);
    let wholesaler = header
        .parties
        .iter()
        .find(|p| p.id == "urn:epc:id:sgln:039999.999999.0")
        .unwrap();
    assert_eq!(wholesaler.name.as_deref(), Some("GS1 Drug Distributor"));
    assert_eq!(sink.events.len(), 8);
    let commissioning = &sink.events[0];
    assert_eq!(commissioning.lot_number.as_deref(), Some("A123"));
    assert_eq!(commissioning.epc_list.len(), 12);
    let shipping = sink.events.last().unwrap();
    assert_eq!(shipping.biz_step.as_deref(), Some("shipping"));
    assert_eq!(shipping.drop_shipment, Some(false));
    let kinds: Vec<_> = shipping
        .biz_transactions
        .iter()
        .map(|t| (t.kind.as_deref().unwrap_or(""), t.id.as_str()))
        .collect();
    assert_eq!(
        kinds,
        vec![
            ("po", "urn:epcglobal:cbv:bt:0399999999991:XYZPO189"),
            ("desadv", "urn:epcglobal:cbv:bt:0300011111215:DEL100")
        ]
    );
    assert_eq!(shipping.sources.len(), 2);
    assert_eq!(
        shipping.destinations[0].kind.as_deref(),
        Some("owning_party")
    );
}
