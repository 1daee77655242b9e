//! The store on real SQLite files: migrations, imports (idempotent, all-or-nothing, streaming),
//! verdicts and receipts.

use chrono::{DateTime, FixedOffset, NaiveDate, Utc};
use rusqlite::Connection;
use std::io::Write;
use std::path::{Path, PathBuf};
use tracedesk::gs1::{self, ParseContext, ParsedScan, Sscc};
use tracedesk::store::{Store, StoreError, create_demo, schema};
use tracedesk::verify::{Reason, Status};

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 3, 15).unwrap()
}

fn now() -> DateTime<FixedOffset> {
    DateTime::parse_from_rfc3339("2026-03-15T10:00:00+01:00").unwrap()
}

fn scan(text: &str) -> ParsedScan {
    gs1::parse(text.as_bytes(), &ParseContext::new(today()))
}

fn temp_store() -> (tempfile::TempDir, PathBuf, Store) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    let store = Store::open(&path).unwrap();
    (dir, path, store)
}

/// Every row of every table, for "unchanged" comparisons.
fn dump(path: &Path) -> Vec<String> {
    let conn = Connection::open(path).unwrap();
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let mut rows = Vec::new();
    for table in tables {
        let mut stmt = conn.prepare(&format!("SELECT * FROM {table}")).unwrap();
        let n = stmt.column_count();
        let mut q = stmt.query([]).unwrap();
        while let Some(r) = q.next().unwrap() {
            let cols: Vec<String> = (0..n)
                .map(|i| format!("{:?}", r.get_ref(i).unwrap()))
                .collect();
            rows.push(format!("{table}: {}", cols.join("|")));
        }
    }
    rows.sort();
    rows
}

#[test]
fn a_new_file_gets_the_current_schema_in_wal_mode() {
    let (_dir, path, store) = temp_store();
    assert_eq!(store.schema_version().unwrap(), schema::VERSION);
    drop(store);
    let conn = Connection::open(&path).unwrap();
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
}

#[test]
fn an_older_file_is_upgraded() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    // A version-0 file: SQLite's empty database, as left by an interrupted first start.
    Connection::open(&path)
        .unwrap()
        .execute_batch("PRAGMA user_version = 0;")
        .unwrap();
    let store = Store::open(&path).unwrap();
    assert_eq!(store.schema_version().unwrap(), schema::VERSION);
    assert_eq!(store.settings().unwrap(), vec![]);
}

#[test]
fn a_newer_file_is_refused_and_left_alone() {
    let (_dir, path, store) = temp_store();
    drop(store);
    Connection::open(&path)
        .unwrap()
        .execute_batch(&format!("PRAGMA user_version = {};", schema::VERSION + 1))
        .unwrap();
    let err = Store::open(&path).unwrap_err();
    assert!(matches!(err, StoreError::TooNew { found, .. } if found == schema::VERSION + 1));
    assert!(err.to_string().contains("newer TraceDesk"), "{err}");
    let version: i64 = Connection::open(&path)
        .unwrap()
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, schema::VERSION + 1);
}

#[test]
fn settings_are_validated() {
    let (_dir, _path, mut store) = temp_store();
    assert_eq!(
        store.set_setting("site_gln", " 0614141000029 ").unwrap(),
        "0614141000029"
    );
    assert_eq!(store.site_gln().unwrap().unwrap().as_str(), "0614141000029");
    assert!(matches!(
        store.set_setting("site_gln", "0614141000028"),
        Err(StoreError::InvalidSetting { .. })
    ));
    assert!(matches!(
        store.set_setting("colour", "blue"),
        Err(StoreError::UnknownSetting(_))
    ));
    assert!(store.set_setting("upstream_url", "ftp://x").is_err());
    store
        .set_setting("upstream_url", "https://epcis.example/")
        .unwrap();
    assert_eq!(
        store.setting("upstream_url").unwrap().as_deref(),
        Some("https://epcis.example")
    );
}

const PRODUCTS_CSV: &str = "gtin,ndc,name,strength,form,manufacturer\n\
00359999101015,59999-101-01,Amoxicillin,500 mg/1,CAPSULE,Demo Pharma\n\
,59999-202-30,Atorvastatin,20 mg/1,TABLET,Demo Pharma\n";

#[test]
fn product_csv_import_is_idempotent_and_reports_counts() {
    let (_dir, _path, mut store) = temp_store();
    let first = store
        .import_products(PRODUCTS_CSV.as_bytes(), "p.csv")
        .unwrap();
    assert_eq!((first.inserted, first.updated, first.unchanged), (2, 0, 0));
    let again = store
        .import_products(PRODUCTS_CSV.as_bytes(), "p.csv")
        .unwrap();
    assert_eq!((again.inserted, again.updated, again.unchanged), (0, 0, 2));
    let changed = PRODUCTS_CSV.replace("Amoxicillin", "Amoxicillin Trihydrate");
    let third = store.import_products(changed.as_bytes(), "p.csv").unwrap();
    assert_eq!((third.inserted, third.updated, third.unchanged), (0, 1, 1));
    let gtin = tracedesk::gs1::Gtin::parse("00359999202309").unwrap();
    let p = store.product(&gtin).unwrap().unwrap();
    assert_eq!(p.name.as_deref(), Some("Atorvastatin"));
    assert_eq!(p.ndc.as_deref(), Some("59999-202-30"));
}

#[test]
fn a_malformed_line_fails_with_its_number_and_changes_nothing() {
    let (_dir, path, mut store) = temp_store();
    store
        .import_products(PRODUCTS_CSV.as_bytes(), "p.csv")
        .unwrap();
    let before = dump(&path);
    let bad = "gtin,ndc,name,strength,form,manufacturer\n\
00359999303907,,Metformin,850 mg/1,TABLET,Demo\n\
00359999303908,,Broken,1 mg,TABLET,Demo\n";
    let err = store
        .import_products(bad.as_bytes(), "bad.csv")
        .unwrap_err();
    let message = err.to_string();
    assert!(message.contains("bad.csv: line 3"), "{message}");
    assert!(message.contains("check digit"), "{message}");
    assert_eq!(dump(&path), before);

    let bad_recalls = "gtin,lot,reason\n00359999101015,L1,ok\n00359999101015,,missing lot\n";
    let err = store
        .import_recalls(bad_recalls.as_bytes(), "r.csv")
        .unwrap_err();
    assert!(err.to_string().contains("r.csv: line 3"), "{err}");
    assert_eq!(dump(&path), before);
}

#[test]
fn fda_product_and_package_files_join_in_either_order() {
    // Columns as FDA publishes them (a subset of the real header, tab-separated), with a
    // Windows-1252 byte in the labeler name.
    let product = b"PRODUCTID\tPRODUCTNDC\tPRODUCTTYPENAME\tPROPRIETARYNAME\tPROPRIETARYNAMESUFFIX\tNONPROPRIETARYNAME\tDOSAGEFORMNAME\tROUTENAME\tSTARTMARKETINGDATE\tENDMARKETINGDATE\tMARKETINGCATEGORYNAME\tAPPLICATIONNUMBER\tLABELERNAME\tSUBSTANCENAME\tACTIVE_NUMERATOR_STRENGTH\tACTIVE_INGRED_UNIT\tPHARM_CLASSES\tDEASCHEDULE\tNDC_EXCLUDE_FLAG\tLISTING_RECORD_CERTIFIED_THROUGH\r\n\
0002-1433_abc\t0002-1433\tHUMAN PRESCRIPTION DRUG\tTrulicity\t\tdulaglutide\tINJECTION, SOLUTION\tSUBCUTANEOUS\t20140918\t\tBLA\tBLA125469\tEli Lilly and Company\tDULAGLUTIDE\t.75\tmg/.5mL\t\t\tN\t20251231\r\n\
0009-0011_x\t0009-0011\tHUMAN OTC DRUG\tOld\t\told\tTABLET\tORAL\t20000101\t\tNDA\tX\tCaf\xe9 Labs\tX\t1\tmg/1\t\t\tE\t20251231\r\n";
    let package = b"PRODUCTID\tPRODUCTNDC\tNDCPACKAGECODE\tPACKAGEDESCRIPTION\tSTARTMARKETINGDATE\tENDMARKETINGDATE\tNDC_EXCLUDE_FLAG\tSAMPLE_PACKAGE\r\n\
0002-1433_abc\t0002-1433\t0002-1433-80\t4 SYRINGE in 1 CARTON (0002-1433-80)  > .5 mL in 1 SYRINGE\t20140918\t\tN\tN\r\n";
    for order in [[&product[..], &package[..]], [&package[..], &product[..]]] {
        let (_dir, _path, mut store) = temp_store();
        for file in order {
            store.import_products(file, "fda").unwrap();
        }
        let gtin =
            tracedesk::gs1::Gtin::from_ndc(&tracedesk::gs1::Ndc::parse("0002-1433-80").unwrap(), 0);
        assert_eq!(gtin.as_str(), "00300021433802");
        let p = store.product(&gtin).unwrap().expect("package joined");
        assert_eq!(p.name.as_deref(), Some("Trulicity"));
        assert_eq!(p.strength.as_deref(), Some(".75 mg/.5mL"));
        assert_eq!(p.form.as_deref(), Some("INJECTION, SOLUTION"));
        assert_eq!(p.manufacturer.as_deref(), Some("Eli Lilly and Company"));
        assert_eq!(p.ndc.as_deref(), Some("0002-1433-80"));
    }
    let (_dir, _path, mut store) = temp_store();
    let counts = store.import_products(&product[..], "product.txt").unwrap();
    assert_eq!(
        (counts.inserted, counts.skipped),
        (1, 1),
        "the excluded NDC is skipped"
    );
}

fn supplier_document() -> String {
    r#"{"@context":["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
 "type":"EPCISDocument","schemaVersion":"2.0","creationDate":"2026-01-05T10:00:00Z",
 "epcisBody":{"eventList":[
  {"type":"ObjectEvent","eventTime":"2026-01-02T08:00:00Z","eventTimeZoneOffset":"+00:00","action":"ADD",
   "bizStep":"commissioning","disposition":"active",
   "epcList":["urn:epc:id:sgtin:0359999.010101.S1","https://id.gs1.org/01/00359999101015/21/S2",
              "urn:epc:id:sgtin:0359999.010101.S3","urn:epc:id:sgtin:0359999.010101.S4"],
   "ilmd":{"cbvmda:lotNumber":"LOT1","cbvmda:itemExpirationDate":"2028-06-30"}},
  {"type":"AggregationEvent","eventTime":"2026-01-02T09:00:00Z","eventTimeZoneOffset":"+00:00","action":"ADD",
   "bizStep":"packing","parentID":"urn:epc:id:sscc:0614141.1234567890",
   "childEPCs":["urn:epc:id:sgtin:0359999.010101.S1","urn:epc:id:sgtin:0359999.010101.S2"]},
  {"type":"ObjectEvent","eventTime":"2026-01-03T08:00:00Z","eventTimeZoneOffset":"+00:00","action":"OBSERVE",
   "bizStep":"shipping","disposition":"in_transit",
   "epcList":["urn:epc:id:sscc:0614141.1234567890","urn:epc:id:sgtin:0359999.010101.S3"],
   "bizTransactionList":[{"type":"po","bizTransaction":"urn:epcglobal:cbv:bt:0614141000005:PO-77"},
                         {"type":"desadv","bizTransaction":"urn:epcglobal:cbv:bt:0614141000005:ASN-77"}],
   "destinationList":[{"type":"owning_party","destination":"urn:epc:id:pgln:0614141.00002"},
                      {"type":"location","destination":"urn:epc:id:sgln:0614141.00002.0"}]},
  {"type":"ObjectEvent","eventTime":"2026-01-03T08:00:00Z","eventTimeZoneOffset":"+00:00","action":"OBSERVE",
   "bizStep":"shipping","disposition":"in_transit",
   "epcList":["urn:epc:id:sgtin:0359999.010101.S4"],
   "bizTransactionList":[{"type":"po","bizTransaction":"urn:epcglobal:cbv:bt:0614141000005:PO-OTHER"}],
   "destinationList":[{"type":"location","destination":"urn:epc:id:sgln:0614141.00009.0"}]},
  {"type":"ObjectEvent","eventTime":"2026-01-04T08:00:00Z","eventTimeZoneOffset":"+00:00","action":"OBSERVE",
   "bizStep":"holding","disposition":"stolen","epcList":["urn:epc:id:sgtin:0359999.010101.S3"]}
 ]}}"#
        .to_string()
}

fn import_doc(
    store: &mut Store,
    doc: &str,
) -> Result<tracedesk::store::EpcisImportReport, StoreError> {
    store.import_epcis(
        [("supplier.jsonld".to_string(), doc.as_bytes())],
        Utc::now(),
    )
}

#[test]
fn epcis_import_announces_units_cases_shipments_and_statuses() {
    let (_dir, path, mut store) = temp_store();
    store.set_setting("site_gln", "0614141000029").unwrap();
    store
        .import_products(PRODUCTS_CSV.as_bytes(), "p.csv")
        .unwrap();
    let report = import_doc(&mut store, &supplier_document()).unwrap();
    assert_eq!(report.events, 5);
    assert_eq!(report.units.inserted, 4);
    assert_eq!(report.shipments.inserted, 1);
    assert_eq!(report.shipments.skipped, 1, "the other site's shipment");
    assert_eq!(report.containers.inserted, 2);
    assert!(report.notes.is_empty());
    let before = dump(&path);
    let again = import_doc(&mut store, &supplier_document()).unwrap();
    assert_eq!((again.units.inserted, again.units.updated), (0, 0));
    assert_eq!(dump(&path), before, "a second import changes nothing");

    let shipment = store
        .find_shipment("urn:epcglobal:cbv:bt:0614141000005:PO-77")
        .unwrap()
        .unwrap();
    assert_eq!(
        Some(shipment),
        store
            .find_shipment("urn:epcglobal:cbv:bt:0614141000005:ASN-77")
            .unwrap()
    );
    assert_eq!(store.shipment_progress(shipment).unwrap().expected, 3);
    let s1 = "(01)00359999101015(17)280630(10)LOT1(21)S1";
    let a = store.verify(&scan(s1), Some(shipment), today()).unwrap();
    assert_eq!(a.verdict.status, Status::Verified, "{:?}", a.verdict);
    let stolen = store
        .verify(
            &scan("(01)00359999101015(17)280630(10)LOT1(21)S3"),
            Some(shipment),
            today(),
        )
        .unwrap();
    assert_eq!(stolen.verdict.reasons, [Reason::Stolen]);
    let other_site = store
        .verify(
            &scan("(01)00359999101015(17)280630(10)LOT1(21)S4"),
            Some(shipment),
            today(),
        )
        .unwrap();
    assert_eq!(other_site.verdict.reasons, [Reason::NotExpected]);
    let case = Sscc::parse("106141412345678908").unwrap();
    assert_eq!(store.container_units(&case).unwrap().unwrap().len(), 2);
}

#[test]
fn a_bad_event_fails_the_whole_import_and_names_the_event() {
    let (_dir, path, mut store) = temp_store();
    let before = dump(&path);
    // The fourth event's destination is not a valid SGLN.
    let doc = supplier_document().replace("sgln:0614141.00009.0", "sgln:0614141.0000X.0");
    let err = import_doc(&mut store, &doc).unwrap_err().to_string();
    assert!(err.contains("supplier.jsonld: event 3"), "{err}");
    assert_eq!(dump(&path), before);
}

#[test]
fn receipts_are_recorded_with_their_event_and_outbox_row() {
    let (_dir, path, mut store) = temp_store();
    let demo = create_demo(&mut store, today()).unwrap();
    let shipment = store.find_shipment(&demo.shipment).unwrap();
    let genuine = &demo.scans[0];
    let r = store
        .receive(&scan(&genuine.scan), shipment, today(), now())
        .unwrap();
    assert!(r.accepted());
    let event_id = r.event_id.clone().unwrap();
    assert!(event_id.starts_with("ni:///sha-256;"), "{event_id}");
    let dup = store
        .receive(&scan(&genuine.scan), shipment, today(), now())
        .unwrap();
    assert_eq!(dup.assessment.verdict.reasons, [Reason::DuplicateScan]);
    assert!(!dup.accepted());
    let invalid = store
        .receive(&scan("(01)123"), shipment, today(), now())
        .unwrap();
    assert_eq!(
        invalid.receipt_id, None,
        "an invalid scan identifies no unit to record"
    );
    drop(store);
    let conn = Connection::open(&path).unwrap();
    let (receipts, events, outbox): (i64, i64, i64) = conn
        .query_row(
            "SELECT (SELECT count(*) FROM receipts), (SELECT count(*) FROM events),
                    (SELECT count(*) FROM outbox)",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    // The duplicate is recorded too, as a failed verification with its own event.
    assert_eq!((receipts, events, outbox), (2, 2, 2));
    let kind: String = conn
        .query_row(
            "SELECT kind FROM events WHERE event_id = ?1",
            [&event_id],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(kind, "receive");
}

#[test]
fn the_demo_shows_every_verdict_it_promises() {
    let (_dir, _path, mut store) = temp_store();
    let demo = create_demo(&mut store, today()).unwrap();
    let again = create_demo(&mut store, today()).unwrap();
    assert_eq!(demo, again);
    let shipment = store.find_shipment(&demo.shipment).unwrap().unwrap();
    let mut seen = std::collections::HashSet::new();
    for s in &demo.scans {
        let parsed = scan(&s.scan);
        if let Some(sscc) = parsed.sscc().filter(|_| parsed.gtin().is_none()) {
            let units = store
                .verify_container(&sscc, Some(shipment), today())
                .unwrap()
                .unwrap();
            assert_eq!(units.len(), 3);
            assert!(units.iter().all(|(_, a)| a.verdict.reasons.is_empty()));
            continue;
        }
        let a = store.verify(&parsed, Some(shipment), today()).unwrap();
        assert_eq!(a.verdict.reasons, s.expected, "{}: {}", s.label, s.scan);
        seen.extend(s.expected.iter().copied());
    }
    // Duplicate scans appear on the second receipt of a unit; `not_in_stock` only answers a
    // unit leaving the shelf, never a receipt.
    for reason in Reason::ALL
        .into_iter()
        .filter(|r| !matches!(r, Reason::DuplicateScan | Reason::NotInStock))
    {
        assert!(seen.contains(&reason), "the demo never shows {reason}");
    }
}

#[test]
fn holds_quarantine_until_released() {
    let (_dir, _path, mut store) = temp_store();
    let demo = create_demo(&mut store, today()).unwrap();
    let parsed = scan(&demo.scans[0].scan);
    let sgtin = parsed.sgtin().unwrap();
    store.hold(&sgtin, "pharmacist check", now()).unwrap();
    let a = store.verify(&parsed, None, today()).unwrap();
    assert_eq!(a.verdict.reasons, [Reason::Quarantined]);
    assert_eq!(store.release(&sgtin, now()).unwrap(), 1);
    assert!(
        store
            .verify(&parsed, None, today())
            .unwrap()
            .verdict
            .is_verified()
    );
}

#[test]
fn a_large_generated_file_imports_in_one_streaming_pass() {
    let dir = tempfile::tempdir().unwrap();
    let csv_path = dir.path().join("recalls.csv");
    let mut f = std::io::BufWriter::new(std::fs::File::create(&csv_path).unwrap());
    writeln!(f, "gtin,lot,reason").unwrap();
    let n = 50_000;
    for i in 0..n {
        writeln!(f, "00359999101015,LOT{i:06},batch {i}").unwrap();
    }
    f.flush().unwrap();
    drop(f);
    let mut store = Store::open(&dir.path().join("s.db")).unwrap();
    let counts = store
        .import_recalls(std::fs::File::open(&csv_path).unwrap(), "recalls.csv")
        .unwrap();
    assert_eq!(counts.inserted, n);
    let counts = store
        .import_recalls(std::fs::File::open(&csv_path).unwrap(), "recalls.csv")
        .unwrap();
    assert_eq!(counts.unchanged, n);
    let a = store
        .verify(
            &scan("(01)00359999101015(17)280630(10)LOT049999(21)X"),
            None,
            today(),
        )
        .unwrap();
    assert!(a.verdict.reasons.contains(&Reason::Recalled));
}
