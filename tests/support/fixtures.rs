//! Realistic queued events for the sync tests: TraceDesk's own ObjectEvents (built by
//! `epcis::event`, so each eventID is the CBV 2.0 hash of the event), queued in a real store.

#![allow(dead_code)]

use std::path::Path;

use chrono::{DateTime, TimeDelta, Utc};
use tracedesk::epcis::event::{DeskAction, DeskEvent, Unit, build_event};
use tracedesk::store::Store;
use tracedesk::sync::QueuedEvent;
use tracedesk::sync::sqlite_outbox::enqueue;

const GTIN: &str = "09506000134352";
const SITE: &str = "urn:epc:id:sgln:9506000.13435.0";

/// `n` distinct desk events: mostly verified receipts, every seventh a failed verification.
pub fn desk_events(n: usize) -> Vec<QueuedEvent> {
    let start = DateTime::parse_from_rfc3339("2026-11-24T09:00:00.000+01:00").unwrap();
    (0..n)
        .map(|i| {
            let failed = i % 7 == 3;
            let event = DeskEvent {
                action: if failed {
                    DeskAction::VerificationFailed
                } else {
                    DeskAction::ReceiveVerified
                },
                event_time: start + TimeDelta::milliseconds(i as i64 * 250),
                units: vec![Unit {
                    gtin: GTIN.to_owned(),
                    serial: format!("SN{i:07}"),
                }],
                read_point: Some(SITE.to_owned()),
                biz_location: Some(SITE.to_owned()),
                biz_transactions: Vec::new(),
                lot: Some("LOT42".to_owned()),
                expiry: chrono::NaiveDate::from_ymd_opt(2028, 3, 31),
                failure_reasons: if failed {
                    vec!["not_expected".to_owned()]
                } else {
                    Vec::new()
                },
                actor: None,
            };
            let event = build_event(&event).unwrap();
            QueuedEvent {
                event_id: event["eventID"].as_str().unwrap().to_owned(),
                json: event.to_string(),
            }
        })
        .collect()
}

/// A store at `path` with `events` queued in its outbox (one transaction).
pub fn store_with_queued(path: &Path, events: &[QueuedEvent]) -> Store {
    let store = Store::open(path).unwrap();
    let mut conn = rusqlite::Connection::open(path).unwrap();
    let tx = conn.transaction().unwrap();
    let now = Utc::now();
    for event in events {
        assert!(enqueue(&tx, &event.event_id, "receive", &event.json, now).unwrap());
    }
    tx.commit().unwrap();
    store
}

/// The eventIDs, sorted.
pub fn ids(events: &[QueuedEvent]) -> std::collections::BTreeSet<String> {
    events.iter().map(|e| e.event_id.clone()).collect()
}
