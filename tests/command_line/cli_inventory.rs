//! The real `tracedesk` binary on real store files: inventory derived from what happened here,
//! recalls imported after receipt, dispense / return / restock, recall containment, search by
//! NDC in any spelling, reports and the per-unit audit export.

use crate::cli_support;
use chrono::Utc;
use cli_support::{json_lines, today, tracedesk};
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use tracedesk::store::Store;
use tracedesk::store::synth::{SynthSpec, SynthUnit, generate};

fn scan(u: &SynthUnit) -> String {
    format!(
        "(01){}(17){}(10){}(21){}",
        u.gtin,
        u.expiry.format("%y%m%d"),
        u.lot,
        u.serial
    )
}

fn key(v: &Value) -> (String, String) {
    (
        v["gtin"].as_str().unwrap().to_owned(),
        v["serial"].as_str().unwrap().to_owned(),
    )
}

fn unit_key(u: &SynthUnit) -> (String, String) {
    (u.gtin.as_str().to_owned(), u.serial.clone())
}

/// A supplier's data (2 products, 4 lots of 10 units, shipments of 20), and the first
/// shipment received at the desk. Returns the store, the spec, and the units accepted.
fn received_store(dir: &Path) -> (PathBuf, SynthSpec, Vec<SynthUnit>) {
    let db = dir.join("desk.db");
    let spec = SynthSpec {
        units: 40,
        products: 2,
        lots: 4,
        shipment_size: 20,
    };
    let mut store = Store::open(&db).unwrap();
    generate(&mut store, &spec, today(), Utc::now(), |_| {}).unwrap();
    drop(store);
    let units: Vec<SynthUnit> = (0..20).map(|i| spec.unit(i, today()).unwrap()).collect();
    let input: String = units.iter().map(|u| scan(u) + "\n").collect();
    let lines = json_lines(&tracedesk(
        &db,
        &["receive", "--shipment", "ASN-SYN-0000000", "--json"],
        input.as_bytes(),
    ));
    assert_eq!(lines.len(), units.len());
    let accepted: Vec<SynthUnit> = units
        .into_iter()
        .zip(&lines)
        .filter(|(_, l)| l["received"] == Value::Bool(true))
        .map(|(u, _)| u)
        .collect();
    // Nearly every synthetic unit is sellable; the scenario needs both lots represented.
    assert!(accepted.len() >= 15, "only {} accepted", accepted.len());
    (db, spec, accepted)
}

fn inventory(db: &Path, args: &[&str]) -> BTreeSet<(String, String)> {
    let mut all = vec!["inventory", "--json"];
    all.extend_from_slice(args);
    json_lines(&tracedesk(db, &all, b""))
        .iter()
        .map(key)
        .collect()
}

fn write_recall(dir: &Path, unit: &SynthUnit) -> PathBuf {
    let path = dir.join("recall.csv");
    std::fs::write(
        &path,
        format!(
            "gtin,lot,reason\n{},{},contamination\n",
            unit.gtin, unit.lot
        ),
    )
    .unwrap();
    path
}

#[test]
fn acceptance_recall_imported_after_receipt_lists_exactly_that_lots_units() {
    let dir = tempfile::tempdir().unwrap();
    let (db, _spec, accepted) = received_store(dir.path());
    let recalled_lot = &accepted[0];
    let recall = write_recall(dir.path(), recalled_lot);
    let out = tracedesk(&db, &["import", "recalls", recall.to_str().unwrap()], b"");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let expected: BTreeSet<_> = accepted
        .iter()
        .filter(|u| u.lot == recalled_lot.lot && u.gtin == recalled_lot.gtin)
        .map(unit_key)
        .collect();
    assert!(!expected.is_empty());
    assert_eq!(inventory(&db, &["--recalled"]), expected);
    let on_hand: BTreeSet<_> = accepted.iter().map(unit_key).collect();
    assert_eq!(inventory(&db, &[]), on_hand);

    // Every line carries the contract's fields; recalled units say so.
    for line in json_lines(&tracedesk(&db, &["inventory", "--json", "--recalled"], b"")) {
        assert_eq!(line["status"], "recalled");
        assert_eq!(line["shipment"], "ASN-SYN-0000000");
        assert!(line["received_at"].as_str().unwrap().starts_with('2'));
        assert_eq!(line["lot"].as_str(), Some(recalled_lot.lot.as_str()));
    }
}

#[test]
fn dispense_return_restock_move_units_and_keep_inventory_true() {
    let dir = tempfile::tempdir().unwrap();
    let (db, _spec, accepted) = received_store(dir.path());
    let (dispensed, returned) = (&accepted[1], &accepted[2]);
    let out = json_lines(&tracedesk(
        &db,
        &["dispense", "--json", &scan(dispensed)],
        b"",
    ));
    assert_eq!(out[0]["status"], "verified");
    assert_eq!(out[0]["recorded"], true);
    assert!(
        out[0]["event_id"]
            .as_str()
            .unwrap()
            .starts_with("ni:///sha-256;")
    );
    // Dispensed twice: refused, nothing recorded.
    let again = json_lines(&tracedesk(
        &db,
        &["dispense", "--json", &scan(dispensed)],
        b"",
    ));
    assert_eq!(again[0]["reasons"], serde_json::json!(["decommissioned"]));
    assert_eq!(again[0]["recorded"], false);

    // stdin: one line per input, in order, even a blank line and garbage.
    let input = format!("{}\n\n\u{1}garbage\n", scan(returned));
    let lines = json_lines(&tracedesk(&db, &["return", "--json"], input.as_bytes()));
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[0]["recorded"], true);
    assert_eq!(lines[1]["status"], "invalid");
    assert_eq!(lines[2]["status"], "invalid");

    let mut on_hand: BTreeSet<_> = accepted.iter().map(unit_key).collect();
    on_hand.remove(&unit_key(dispensed));
    on_hand.remove(&unit_key(returned));
    assert_eq!(inventory(&db, &[]), on_hand);

    // The dispensed unit comes back as a saleable return: verified, then restocked.
    let back = json_lines(&tracedesk(
        &db,
        &["restock", "--json", &scan(dispensed)],
        b"",
    ));
    assert_eq!(back[0]["status"], "verified", "{}", back[0]);
    on_hand.insert(unit_key(dispensed));
    assert_eq!(inventory(&db, &[]), on_hand);
    // A unit still on the shelf is not a return.
    let dup = json_lines(&tracedesk(
        &db,
        &["restock", "--json", &scan(&accepted[3])],
        b"",
    ));
    assert_eq!(dup[0]["reasons"], serde_json::json!(["duplicate_scan"]));

    // The audit export holds the unit's receipt, dispense and restock, in order.
    let audit = tracedesk(&db, &["audit", &scan(dispensed)], b"");
    assert!(audit.status.success());
    let doc: Value = serde_json::from_slice(&audit.stdout).unwrap();
    assert_eq!(doc["type"], "EPCISDocument");
    let steps: Vec<&str> = doc["epcisBody"]["eventList"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["bizStep"].as_str().unwrap())
        .collect();
    assert_eq!(steps, ["receiving", "dispensing", "receiving"]);
}

#[test]
fn recall_quarantine_holds_every_affected_unit_on_hand_and_blocks_dispensing() {
    let dir = tempfile::tempdir().unwrap();
    let (db, _spec, accepted) = received_store(dir.path());
    let lot_unit = &accepted[0];
    let same_lot: Vec<&SynthUnit> = accepted
        .iter()
        .filter(|u| u.lot == lot_unit.lot && u.gtin == lot_unit.gtin)
        .collect();
    assert!(same_lot.len() >= 2);
    // One unit of the lot was dispensed before the recall: it is listed, not quarantined.
    let gone = same_lot[1];
    json_lines(&tracedesk(&db, &["dispense", "--json", &scan(gone)], b""));
    let events_before = json_lines(&tracedesk(&db, &["events", "--json"], b"")).len();

    let recall = write_recall(dir.path(), lot_unit);
    let lines = json_lines(&tracedesk(
        &db,
        &[
            "recall",
            "--json",
            "--csv",
            recall.to_str().unwrap(),
            "--quarantine",
        ],
        b"",
    ));
    let listed: BTreeSet<_> = lines.iter().map(key).collect();
    let expected: BTreeSet<_> = same_lot.iter().map(|u| unit_key(u)).collect();
    assert_eq!(listed, expected);
    for line in &lines {
        let dispensed = key(line) == unit_key(gone);
        assert_eq!(
            line["state"],
            if dispensed { "dispensed" } else { "on_hand" }
        );
        assert_eq!(line["quarantined_now"], !dispensed);
        if !dispensed {
            assert_eq!(line["tote"], Value::Null);
            assert_eq!(line["shipment"], "ASN-SYN-0000000");
        }
    }
    let events = json_lines(&tracedesk(&db, &["events", "--json"], b""));
    let holds = events.iter().filter(|e| e["bizStep"] == "holding").count();
    assert_eq!(events.len() - events_before, same_lot.len() - 1);
    assert_eq!(holds, same_lot.len() - 1);
    let refused = json_lines(&tracedesk(
        &db,
        &["dispense", "--json", &scan(lot_unit)],
        b"",
    ));
    assert_eq!(
        refused[0]["reasons"],
        serde_json::json!(["recalled", "quarantined"])
    );
    // Running it again quarantines nothing new.
    let again = json_lines(&tracedesk(
        &db,
        &[
            "recall",
            "--json",
            "--csv",
            recall.to_str().unwrap(),
            "--quarantine",
        ],
        b"",
    ));
    assert!(again.iter().all(|l| l["quarantined_now"] == false));
}

#[test]
fn find_answers_name_ndc_in_every_spelling_gtin_lot_and_serial() {
    let dir = tempfile::tempdir().unwrap();
    let (db, _spec, accepted) = received_store(dir.path());
    let unit = &accepted[0];
    let ndc = unit.gtin.ndc().unwrap();
    let mut queries: Vec<String> = ndc.spellings();
    queries.push(ndc.digits().to_owned());
    queries.push(unit.gtin.as_str().to_owned());
    queries.push("SYNTHETIC PRODUCT 0".into());
    for q in &queries {
        let lines = json_lines(&tracedesk(&db, &["find", "--json", q], b""));
        assert!(
            lines
                .iter()
                .any(|l| l["product"]["gtin"] == unit.gtin.as_str()),
            "{q} did not find the product"
        );
        assert!(
            lines
                .iter()
                .any(|l| l["unit"]["serial"] == unit.serial.as_str()),
            "{q} did not find the unit"
        );
    }
    let by_serial = json_lines(&tracedesk(&db, &["find", "--json", &unit.serial], b""));
    assert_eq!(by_serial.len(), 1);
    let by_lot = json_lines(&tracedesk(&db, &["find", "--json", &unit.lot], b""));
    let lot_units = accepted.iter().filter(|u| u.lot == unit.lot).count();
    assert_eq!(by_lot.len(), lot_units);
    assert!(
        !tracedesk(&db, &["find", "no such thing"], b"")
            .status
            .success()
    );
}

#[test]
fn report_and_expiry_count_what_happened() {
    let dir = tempfile::tempdir().unwrap();
    let (db, spec, accepted) = received_store(dir.path());
    // A refused scan: a unit of another shipment.
    let other = spec.unit(30, today()).unwrap();
    tracedesk(
        &db,
        &["receive", "--shipment", "ASN-SYN-0000000", &scan(&other)],
        b"",
    );
    let lines = json_lines(&tracedesk(&db, &["report", "--json"], b""));
    let per_day: Vec<&Value> = lines
        .iter()
        .filter(|l| l["report"] == "receipts_per_day")
        .collect();
    let accepted_total: u64 = per_day
        .iter()
        .map(|l| l["accepted"].as_u64().unwrap())
        .sum();
    assert_eq!(accepted_total, accepted.len() as u64);
    assert!(lines.iter().any(|l| l["report"] == "failures_by_reason"
        && l["reason"] == "not_expected"
        && l["count"].as_u64() >= Some(1)));
    let expiry = lines.iter().find(|l| l["report"] == "expiry").unwrap();
    // Synthetic lots expire 180 days or more from today.
    assert_eq!(expiry["expired"], 0);
    assert_eq!(expiry["within"]["90"], 0);

    let set = tracedesk(&db, &["config", "expiry_thresholds", "3000,1"], b"");
    assert!(
        set.status.success(),
        "{}",
        String::from_utf8_lossy(&set.stderr)
    );
    let summary = json_lines(&tracedesk(&db, &["expiry", "--json"], b""));
    assert_eq!(
        summary[0]["within"]["3000"].as_u64(),
        Some(accepted.len() as u64)
    );
    assert_eq!(summary[0]["within"]["1"], 0);
    assert_eq!(
        inventory(&db, &["--expiring", "3000"]).len(),
        accepted.len()
    );
    assert!(inventory(&db, &["--expiring", "30"]).is_empty());

    let csv = tracedesk(&db, &["report", "--csv"], b"");
    let text = String::from_utf8(csv.stdout).unwrap();
    assert!(text.starts_with("report,key,value\n"));
    assert!(text.contains("failures_by_reason,not_expected,"));
}
