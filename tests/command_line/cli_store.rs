//! The real `tracedesk` binary on real store files: verify, receive, import, shipment, config,
//! JSON Lines output, and a receive process killed with SIGKILL.

use crate::cli_support;
use chrono::Utc;
use cli_support::{json_lines, today, tracedesk};
use serde_json::Value;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use tracedesk::store::Store;
use tracedesk::store::synth::{SynthSpec, generate};

/// A demo store and its scans (bracketed). `tracedesk --demo` opens the kiosk after creating
/// it, so the store is made through the library's same `create_demo`.
fn demo_store(dir: &Path) -> (std::path::PathBuf, tracedesk::store::DemoScans) {
    let db = dir.join("demo.db");
    let mut store = Store::open(&db).unwrap();
    tracedesk::store::create_demo(&mut store, today()).unwrap();
    // Creating it again changes nothing and gives the scans.
    let scans = tracedesk::store::create_demo(&mut store, today()).unwrap();
    (db, scans)
}

#[test]
fn verify_prints_one_json_line_per_input_line_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let (db, demo) = demo_store(dir.path());
    let mut input = Vec::new();
    for s in &demo.scans {
        input.extend_from_slice(s.scan.as_bytes());
        input.extend_from_slice(b"\r\n");
    }
    input.extend_from_slice(b"\n\xff\xfe\n");
    let lines = json_lines(&tracedesk(&db, &["verify", "--json"], &input));
    assert_eq!(lines.len(), demo.scans.len() + 2);
    for (line, s) in lines.iter().zip(&demo.scans) {
        let reasons: Vec<&str> = line["reasons"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r.as_str().unwrap())
            .collect();
        // verify knows no shipment, so "not on this shipment" cannot be said.
        let expected: Vec<&str> = s
            .expected
            .iter()
            .map(|r| r.code())
            .filter(|c| *c != "not_expected")
            .collect();
        assert_eq!(reasons, expected, "{}", s.label);
        let status = if expected.is_empty() {
            "verified"
        } else if expected == ["invalid_barcode"] {
            "invalid"
        } else {
            "failed"
        };
        assert_eq!(line["status"], status, "{}", s.label);
    }
    let genuine = &lines[0];
    assert_eq!(genuine["product"]["name"], "Amoxicillin");
    assert_eq!(genuine["product"]["ndc"], "59999-101-01");
    assert_eq!(genuine["serial"], "AMX0001");
    let case = lines.iter().find(|l| l["sscc"].is_string()).unwrap();
    assert_eq!(case["children"].as_array().unwrap().len(), 3);
    for blank_or_garbage in &lines[demo.scans.len()..] {
        assert_eq!(blank_or_garbage["status"], "invalid");
        assert_eq!(blank_or_garbage["reasons"][0], "invalid_barcode");
        assert!(!blank_or_garbage["errors"].as_array().unwrap().is_empty());
    }
}

#[test]
fn receive_records_reconciles_and_detects_duplicates() {
    let dir = tempfile::tempdir().unwrap();
    let (db, demo) = demo_store(dir.path());
    let genuine = demo.scans[0].scan.as_str();
    let not_on_it = demo
        .scans
        .iter()
        .find(|s| s.label == "Not on this shipment")
        .unwrap();
    let input = format!(
        "{genuine}\n{genuine}\n{}\n(00){}\n",
        not_on_it.scan, demo.case_sscc
    );
    let lines = json_lines(&tracedesk(
        &db,
        &["receive", "--shipment", &demo.shipment, "--json"],
        input.as_bytes(),
    ));
    assert_eq!(lines.len(), 4);
    assert_eq!(lines[0]["status"], "verified");
    assert_eq!(lines[0]["received"], true);
    assert!(
        lines[0]["event_id"]
            .as_str()
            .unwrap()
            .starts_with("ni:///sha-256;")
    );
    assert_eq!(lines[1]["reasons"][0], "duplicate_scan");
    assert_eq!(lines[1]["received"], false);
    assert_eq!(lines[2]["reasons"][0], "not_expected");
    assert_eq!(lines[3]["received"], 3, "the case's three packs");
    let progress = &lines[3]["shipment"];
    assert_eq!(progress["received"], 4);
    assert_eq!(progress["unexpected"], 1);
    let expected = progress["expected"].as_u64().unwrap();
    assert_eq!(progress["missing"].as_u64().unwrap(), expected - 4);

    let report = json_lines(&tracedesk(
        &db,
        &["shipment", &demo.shipment, "--json"],
        b"",
    ));
    assert_eq!(report.len(), 1);
    assert_eq!(report[0]["received"], 4);
    assert_eq!(report[0]["units"]["unexpected"][0]["serial"], "AMX0900");
    let csv = tracedesk(&db, &["shipment", &demo.shipment, "--csv"], b"");
    let csv = String::from_utf8(csv.stdout).unwrap();
    assert!(csv.starts_with("state,gtin,serial,lot,expiry\n"));
    assert_eq!(
        csv.lines().filter(|l| l.starts_with("received,")).count(),
        4
    );

    let unknown = tracedesk(&db, &["receive", "--shipment", "NOPE"], genuine.as_bytes());
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("NOPE"));
}

#[test]
fn imports_report_counts_and_fail_with_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("i.db");
    let products = dir.path().join("products.csv");
    std::fs::write(&products, "gtin,ndc,name,strength,form,manufacturer\n00359999101015,59999-101-01,Amoxicillin,500 mg,CAPSULE,Demo\n").unwrap();
    let out = tracedesk(
        &db,
        &["import", "products", products.to_str().unwrap()],
        b"",
    );
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "products: 1 inserted, 0 updated, 0 unchanged, 0 skipped\n"
    );
    let out = tracedesk(
        &db,
        &["import", "products", products.to_str().unwrap()],
        b"",
    );
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "products: 0 inserted, 0 updated, 1 unchanged, 0 skipped\n"
    );
    let recalls = dir.path().join("recalls.csv");
    std::fs::write(
        &recalls,
        "gtin,lot,reason\n00359999101015,LOT1,contamination\nnot-a-gtin,LOT2,x\n",
    )
    .unwrap();
    let out = tracedesk(&db, &["import", "recalls", recalls.to_str().unwrap()], b"");
    assert!(!out.status.success());
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("line 3"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "one line on stderr: {stderr}");
    let lines = json_lines(&tracedesk(
        &db,
        &[
            "verify",
            "--json",
            "(01)00359999101015(17)300101(10)LOT1(21)A1",
        ],
        b"",
    ));
    assert_eq!(
        lines[0]["reasons"],
        serde_json::json!(["no_match_gtin_serial"]),
        "the failed recall import left nothing"
    );
}

#[test]
fn config_shows_and_sets_validated_settings() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("c.db");
    let out = tracedesk(&db, &["config", "site_gln", "0614141000029"], b"");
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "site_gln = 0614141000029\n"
    );
    let out = tracedesk(&db, &["config", "site_gln"], b"");
    assert_eq!(String::from_utf8(out.stdout).unwrap(), "0614141000029\n");
    let out = tracedesk(&db, &["config", "site_gln", "123"], b"");
    assert!(!out.status.success());
    let out = tracedesk(&db, &["config"], b"");
    assert!(
        String::from_utf8(out.stdout)
            .unwrap()
            .contains("upstream_url = (not set)")
    );
}

#[test]
fn a_receive_killed_with_sigkill_loses_no_printed_receipt() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("k.db");
    let spec = SynthSpec {
        units: 400,
        products: 4,
        lots: 8,
        shipment_size: 400,
    };
    {
        let mut store = Store::open(&db).unwrap();
        generate(&mut store, &spec, today(), Utc::now(), |_| {}).unwrap();
    }
    let mut child = Command::new(env!("CARGO_BIN_EXE_tracedesk"))
        .arg("--db")
        .arg(&db)
        .args(["receive", "--json"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let scan = |i: u64| {
        let u = spec.unit(i, today()).unwrap();
        format!(
            "(01){}(17){}(10){}(21){}\n",
            u.gtin,
            u.expiry.format("%y%m%d"),
            u.lot,
            u.serial
        )
    };
    let mut printed = Vec::new();
    // Feed scans in bursts so the kill lands while receipts are being written.
    for i in 0..60u64 {
        stdin.write_all(scan(i).as_bytes()).unwrap();
    }
    stdin.flush().unwrap();
    for _ in 0..25 {
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        printed.push(serde_json::from_str::<Value>(&line).unwrap());
    }
    child.kill().unwrap();
    child.wait().unwrap();
    // Lines that were already in the pipe when the process died were printed too.
    let mut rest = String::new();
    while stdout.read_line(&mut rest).unwrap_or(0) > 0 {
        if let Ok(v) = serde_json::from_str::<Value>(rest.trim()) {
            printed.push(v);
        }
        rest.clear();
    }
    assert!(printed.len() >= 25);

    let store = Store::open(&db).unwrap();
    for line in &printed {
        assert_eq!(line["status"], "verified", "{line}");
        assert_eq!(line["received"], true);
        let gtin = tracedesk::gs1::Gtin::parse(line["gtin"].as_str().unwrap()).unwrap();
        let sgtin = tracedesk::gs1::Sgtin::new(gtin, line["serial"].as_str().unwrap()).unwrap();
        assert!(
            store.is_received(&sgtin).unwrap(),
            "printed but not recorded: {line}"
        );
    }
    drop(store);
    let conn = rusqlite::Connection::open(&db).unwrap();
    let integrity: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(integrity, "ok");
    let orphans: i64 = conn
        .query_row(
            "SELECT count(*) FROM receipts r WHERE r.event_id IS NULL
               OR NOT EXISTS (SELECT 1 FROM events e WHERE e.event_id = r.event_id)
               OR NOT EXISTS (SELECT 1 FROM outbox o WHERE o.event_id = r.event_id)",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(orphans, 0, "every receipt has its event and outbox row");
    let receipts: usize = conn
        .query_row("SELECT count(*) FROM receipts", [], |r| r.get(0))
        .unwrap();
    assert!(
        receipts >= printed.len() && receipts <= 60,
        "{receipts} receipts"
    );
}

#[test]
fn inventory_and_events_show_what_was_received() {
    let dir = tempfile::tempdir().unwrap();
    let (db, demo) = demo_store(dir.path());
    let genuine = demo.scans[0].scan.as_str();
    let recalled = demo
        .scans
        .iter()
        .find(|s| s.label == "Recalled lot")
        .unwrap();
    let input = format!("{genuine}\n{}\n", recalled.scan);
    let received = json_lines(&tracedesk(&db, &["receive", "--json"], input.as_bytes()));
    let on_hand = json_lines(&tracedesk(&db, &["inventory", "--json"], b""));
    assert_eq!(on_hand.len(), 1, "only the accepted unit is on hand");
    assert_eq!(on_hand[0]["serial"], "AMX0001");
    assert_eq!(on_hand[0]["status"], "active");
    assert!(json_lines(&tracedesk(&db, &["inventory", "--json", "--recalled"], b"")).is_empty());

    let events = json_lines(&tracedesk(&db, &["events", "--json"], b""));
    assert_eq!(events.len(), 2, "a receipt and a failed verification");
    assert_eq!(events[0]["eventID"], received[0]["event_id"]);
    assert_eq!(events[0]["bizStep"], "receiving");
    assert_eq!(events[1]["eventID"], received[1]["event_id"]);
    assert_eq!(events[1]["tracedesk:failureReasons"][0], "recalled");
    let doc = tracedesk(&db, &["events"], b"");
    let doc: Value = serde_json::from_slice(&doc.stdout).unwrap();
    assert_eq!(doc["type"], "EPCISDocument");
    assert_eq!(doc["epcisBody"]["eventList"].as_array().unwrap().len(), 2);
}

#[test]
fn a_refused_scan_repeated_within_a_minute_queues_one_event() {
    let dir = tempfile::tempdir().unwrap();
    let (db, demo) = demo_store(dir.path());
    let mut store = Store::open(&db).unwrap();
    let today = today();
    let ctx = tracedesk::gs1::ParseContext::new(today);
    let scan_of = |label: &str| {
        let demo_scan = demo.scans.iter().find(|s| s.label == label).unwrap();
        tracedesk::gs1::parse(demo_scan.scan.as_bytes(), &ctx)
    };
    let (recalled, stolen) = (scan_of("Recalled lot"), scan_of("Stolen unit"));
    let t0 = chrono::DateTime::parse_from_rfc3339("2026-03-02T10:00:00.000+01:00").unwrap();
    let at = |millis: i64| t0 + chrono::TimeDelta::milliseconds(millis);
    let failed_events = |store: &Store| {
        store
            .events()
            .unwrap()
            .into_iter()
            .filter(|e| e.kind == "verification_failed")
            .count()
    };

    let first = store.receive(&recalled, None, today, at(0)).unwrap();
    let event = first.event_id.clone().unwrap();
    // A scanner stuck in a loop: a hundred more in the next 50 seconds.
    let mut receipts = std::collections::HashSet::from([first.receipt_id.unwrap()]);
    for i in 1..=100 {
        let again = store.receive(&recalled, None, today, at(i * 500)).unwrap();
        assert!(!again.accepted());
        assert_eq!(again.event_id.as_deref(), Some(event.as_str()));
        receipts.insert(again.receipt_id.unwrap());
    }
    assert_eq!(receipts.len(), 101, "each scan keeps its own receipt row");
    assert_eq!(store.receipt_count().unwrap(), 101);
    assert_eq!(failed_events(&store), 1);

    // Another unit refused meanwhile has its own event.
    let other = store.receive(&stolen, None, today, at(30_000)).unwrap();
    assert_ne!(other.event_id.as_deref(), Some(event.as_str()));
    assert_eq!(failed_events(&store), 2);

    // A minute after the event, the same scan is recorded anew; then repeats of it collapse.
    let later = store.receive(&recalled, None, today, at(60_000)).unwrap();
    let later_event = later.event_id.clone().unwrap();
    assert_ne!(later_event, event);
    let again = store.receive(&recalled, None, today, at(61_000)).unwrap();
    assert_eq!(again.event_id, Some(later_event));
    assert_eq!(failed_events(&store), 3);

    // A clock set back is not "within a minute" of an event it seems to precede.
    let back = store.receive(&recalled, None, today, at(-600_000)).unwrap();
    assert_eq!(failed_events(&store), 4, "{back:?}");
}
