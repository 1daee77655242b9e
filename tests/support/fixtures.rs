//! Realistic queued events for the sync tests: TraceDesk's own ObjectEvents (built by
//! `epcis::event`, so each eventID is the CBV 2.0 hash of the event), recorded and queued in a
//! real store by the store's own `record_events`.

#![allow(dead_code)]

use std::path::Path;

use chrono::{DateTime, TimeDelta, Utc};
use tracedesk::epcis::event::{DeskAction, DeskEvent, Unit};
use tracedesk::store::Store;
use tracedesk::sync::QueuedEvent;

const GTIN: &str = "09506000134352";
const SITE: &str = "urn:epc:id:sgln:9506000.13435.0";

/// `n` distinct desk events: mostly verified receipts, every seventh a failed verification.
pub fn desk_events(n: usize) -> Vec<DeskEvent> {
    let start = DateTime::parse_from_rfc3339("2026-11-24T09:00:00.000+01:00").unwrap();
    (0..n)
        .map(|i| {
            let failed = i % 7 == 3;
            DeskEvent {
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
            }
        })
        .collect()
}

/// A store at `path` with `events` recorded and queued in its outbox (one transaction), and
/// the events as queued (eventID and JSON as the store holds them), in the order given.
pub fn store_with_queued(path: &Path, events: &[DeskEvent]) -> (Store, Vec<QueuedEvent>) {
    let mut store = Store::open(path).unwrap();
    let ids = store.record_events(events, "receive").unwrap();
    let mut stored: std::collections::HashMap<String, String> = store
        .due_events(DateTime::<Utc>::MAX_UTC, usize::MAX)
        .unwrap()
        .into_iter()
        .map(|e| (e.event_id, e.json))
        .collect();
    assert_eq!(stored.len(), events.len(), "the events are not distinct");
    let queued = ids
        .into_iter()
        .map(|event_id| {
            let json = stored.remove(&event_id).unwrap();
            QueuedEvent { event_id, json }
        })
        .collect();
    (store, queued)
}

/// The eventIDs, sorted.
pub fn ids(events: &[QueuedEvent]) -> std::collections::BTreeSet<String> {
    events.iter().map(|e| e.event_id.clone()).collect()
}
