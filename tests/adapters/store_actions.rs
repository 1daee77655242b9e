//! Store actions on real files: every hold, release, dispense, decommission, destroy, return
//! and restock writes its state change, audit line, event and outbox row together; a refused
//! action writes none of them; a version-1 file upgrades with its receipts in stock.

use chrono::{DateTime, FixedOffset, NaiveDate, Utc};
use rusqlite::Connection;
use std::path::Path;
use tracedesk::gs1::{self, ParseContext, Sgtin};
use tracedesk::store::inventory::InventoryFilter;
use tracedesk::store::synth::{SynthSpec, generate};
use tracedesk::store::{HoldKind, ShelfAction, Store, StoreError};
use tracedesk::verify::{Movement, StockState};

fn today() -> NaiveDate {
    chrono::Local::now().date_naive()
}

fn at(second: u32) -> DateTime<FixedOffset> {
    DateTime::parse_from_rfc3339(&format!("2026-03-15T10:00:{second:02}+01:00")).unwrap()
}

fn spec() -> SynthSpec {
    SynthSpec {
        units: 20,
        products: 1,
        lots: 2,
        shipment_size: 20,
    }
}

/// A store with the first `n` synthetic units received; returns the scans.
fn store_with_received(path: &Path, n: u64) -> (Store, Vec<(Sgtin, String)>) {
    let mut store = Store::open(path).unwrap();
    generate(&mut store, &spec(), today(), Utc::now(), |_| {}).unwrap();
    let ctx = ParseContext::new(today());
    let mut units = Vec::new();
    for i in 0..n {
        let u = spec().unit(i, today()).unwrap();
        let text = format!(
            "(01){}(17){}(10){}(21){}",
            u.gtin,
            u.expiry.format("%y%m%d"),
            u.lot,
            u.serial
        );
        let receipt = store
            .receive(&gs1::parse(text.as_bytes(), &ctx), None, today(), at(0))
            .unwrap();
        if receipt.accepted() {
            units.push((Sgtin::new(u.gtin, &u.serial).unwrap(), text));
        }
    }
    (store, units)
}

/// (events, outbox rows, audit lines) in the file, read through a second connection.
fn counts(path: &Path) -> (i64, i64, i64) {
    let conn = Connection::open(path).unwrap();
    let n = |table: &str| -> i64 {
        conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
            .unwrap()
    };
    (n("events"), n("outbox"), n("actions"))
}

#[test]
fn every_action_records_its_event_outbox_row_and_audit_line_together() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    let (mut store, units) = store_with_received(&path, 8);
    assert!(units.len() >= 7);
    let actions = [
        (
            ShelfAction::Hold(HoldKind::Quarantine),
            Some("damaged seal"),
            "holding",
        ),
        (ShelfAction::Release, None, "inspecting"),
        (
            ShelfAction::Hold(HoldKind::Illegitimate),
            Some("counterfeit"),
            "holding",
        ),
        (ShelfAction::Dispense, None, "dispensing"),
        (ShelfAction::Decommission, None, "decommissioning"),
        (ShelfAction::Destroy, None, "destroying"),
        (ShelfAction::ReturnToSupplier, None, "shipping"),
    ];
    for (i, (action, reason, step)) in actions.into_iter().enumerate() {
        // Hold then release the same unit; every other action its own unit.
        let (sgtin, _) = &units[if i == 1 { 0 } else { i }];
        let before = counts(&path);
        let record = store
            .record_action(sgtin, action, reason, at(i as u32 + 1))
            .unwrap();
        let after = counts(&path);
        assert_eq!(
            (after.0 - before.0, after.1 - before.1, after.2 - before.2),
            (1, 1, 1),
            "{action:?}"
        );
        let events = store.unit_events(sgtin).unwrap();
        let event = events
            .iter()
            .find(|e| e.event_id == record.event_id)
            .unwrap();
        let json: serde_json::Value = serde_json::from_str(&event.json).unwrap();
        assert_eq!(json["bizStep"], step, "{action:?}");
        assert_eq!(event.kind, action.as_str());
    }
    // Units that left the shelf are no longer on hand; held ones still are.
    let on_hand = store
        .inventory(&InventoryFilter::default(), today())
        .unwrap();
    let states: Vec<&str> = on_hand.iter().map(|u| u.status.as_str()).collect();
    assert_eq!(on_hand.len(), units.len() - 4, "{states:?}");
    let marked = on_hand
        .iter()
        .find(|u| u.serial == units[2].0.serial)
        .unwrap();
    assert_eq!(marked.status, "illegitimate");
    let history = store.unit_history(&units[0].0).unwrap();
    assert_eq!(history.len(), 4, "{history:?}"); // announced, received, held, released
}

#[test]
fn a_refused_action_records_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    let (mut store, units) = store_with_received(&path, 2);
    let before = counts(&path);
    let err = store
        .record_action(&units[0].0, ShelfAction::Release, None, at(5))
        .unwrap_err();
    assert!(matches!(err, StoreError::NotHeld(_)), "{err}");
    assert_eq!(store.release(&units[0].0, at(6)).unwrap(), 0);
    // A dispense of a unit that never arrived is refused and leaves no trace.
    let stranger = spec().unit(19, today()).unwrap();
    let text = format!(
        "(01){}(17){}(10){}(21){}",
        stranger.gtin,
        stranger.expiry.format("%y%m%d"),
        stranger.lot,
        stranger.serial
    );
    let outcome = store
        .move_unit(
            &gs1::parse(text.as_bytes(), &ParseContext::new(today())),
            Movement::Dispense,
            today(),
            at(7),
        )
        .unwrap();
    assert!(outcome.record.is_none());
    assert_eq!(
        outcome.assessment.verdict.reasons,
        [tracedesk::verify::Reason::NotInStock]
    );
    assert_eq!(counts(&path), before);
}

#[test]
fn a_version_1_file_upgrades_with_its_receipts_in_stock_and_holds_in_the_audit_trail() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v1.db");
    {
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(tracedesk::store::schema::MIGRATIONS[0])
            .unwrap();
        conn.execute_batch(
            "PRAGMA user_version = 1;
             INSERT INTO receipts (gtin, serial, lot, expiry, received_at, accepted, status, reasons)
             VALUES (307773105025, 'SN1', 'L1', '2030-01-31', '2026-01-02T03:04:05.000Z', 1,
                     'verified', ''),
                    (307773105025, 'SN2', 'L1', '2030-01-31', '2026-01-02T03:04:06.000Z', 0,
                     'failed', 'no_match_gtin_serial');
             INSERT INTO holds (gtin, serial, reason, held_at)
             VALUES (307773105025, 'SN1', 'check', '2026-01-03T00:00:00.000Z');",
        )
        .unwrap();
    }
    let store = Store::open(&path).unwrap();
    assert_eq!(
        store.schema_version().unwrap(),
        tracedesk::store::schema::VERSION
    );
    let on_hand = store
        .inventory(&InventoryFilter::default(), today())
        .unwrap();
    assert_eq!(on_hand.len(), 1);
    assert_eq!(on_hand[0].serial, "SN1");
    assert_eq!(on_hand[0].state, StockState::OnHand);
    assert_eq!(on_hand[0].status, "quarantined");
    let sgtin = on_hand[0].sgtin().unwrap();
    let history = store.unit_history(&sgtin).unwrap();
    assert_eq!(history.len(), 2, "{history:?}");
}
