//! The outbox: every event this desk records, queued until upstream confirms it.
//!
//! Two tables: `events(event_id, kind, json, created_at)`, the desk's record of what happened,
//! and `outbox(event_id, attempts, next_attempt_at, parked_error)`, what is still to be sent.
//! `record_event` writes both in the caller's transaction, beside the receipt or action the
//! event tells of, so an event is queued exactly when its action is committed.
//!
//! The sync worker (through [`crate::sync::Outbox`]) then takes due rows and confirms, defers or
//! parks them. An event is never deleted: only its outbox row goes, and only in
//! [`Store::confirm_sent`], after upstream confirmed the capture; the moment of that
//! confirmation is kept in the settings ([`LAST_SUCCESS_SETTING`]).
//!
//! Times are the store's `timestamp` text, whose text order is time order, so the due query is
//! a plain comparison. Each method is one short transaction, so the worker may run on its own
//! handle to the store's file beside the kiosk's (WAL; SQLite serialises the writers).
//! [`Store::record_events`] queues events without a desk action, for tools, tests and benches.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, TransactionBehavior, params};

use super::{Store, StoreError, put_setting, timestamp};
use crate::epcis::event::{self as desk_event, DeskEvent};

/// The `settings` key holding the moment upstream last confirmed a capture.
pub const LAST_SUCCESS_SETTING: &str = "sync_last_success";

/// One queued event: its CBV 2.0 hash eventID and its JSON-LD text as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedEvent {
    pub event_id: String,
    pub json: String,
}

/// An event upstream refused; it stays in the outbox, out of the queue, until someone acts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParkedEvent {
    pub event_id: String,
    /// Upstream's own words on why it refused the event.
    pub error: String,
}

/// The outbox at a glance, for the kiosk's status line and the CLI summary.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OutboxStatus {
    /// Events still to be sent (due now or deferred after a failure).
    pub waiting: u64,
    /// Events upstream refused.
    pub parked: u64,
    /// When upstream last confirmed a capture.
    pub last_success: Option<DateTime<Utc>>,
}

/// Build an event, store it and queue it for sync, inside the caller's transaction; returns
/// its eventID.
pub(crate) fn record_event(
    conn: &Connection,
    event: &DeskEvent,
    kind: &str,
) -> Result<String, StoreError> {
    let json = desk_event::build_event(event).map_err(|e| StoreError::Event(e.to_string()))?;
    let event_id = json
        .get("eventID")
        .and_then(|v| v.as_str())
        .map(str::to_owned)
        .ok_or_else(|| StoreError::Event("the built event has no eventID".into()))?;
    let created = timestamp(event.event_time);
    // The same action on the same unit in the same millisecond is the same event: keep one.
    conn.prepare_cached(
        "INSERT OR IGNORE INTO events (event_id, kind, json, created_at) VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(params![event_id, kind, json.to_string(), created])?;
    conn.prepare_cached(
        "INSERT OR IGNORE INTO outbox (event_id, attempts, next_attempt_at) VALUES (?1, 0, ?2)",
    )?
    .execute(params![event_id, created])?;
    Ok(event_id)
}

/// SQLite's `LIMIT` for at most `max` rows.
fn limit(max: usize) -> i64 {
    i64::try_from(max).unwrap_or(i64::MAX)
}

impl Store {
    /// Records events and queues them for upstream, in one transaction, without a desk action:
    /// for tools, tests and benchmarks. Returns their eventIDs, in order.
    pub fn record_events(
        &mut self,
        events: &[DeskEvent],
        kind: &str,
    ) -> Result<Vec<String>, StoreError> {
        let tx = self
            .conn_mut()
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let ids = events
            .iter()
            .map(|event| record_event(&tx, event, kind))
            .collect::<Result<_, _>>()?;
        tx.commit()?;
        Ok(ids)
    }

    /// Up to `max` events that are neither parked nor deferred beyond `due_by`, in eventID
    /// order.
    pub fn due_events(
        &self,
        due_by: DateTime<Utc>,
        max: usize,
    ) -> Result<Vec<QueuedEvent>, StoreError> {
        // Primary-key order: a stable order that needs no sort and no extra index.
        let mut statement = self.conn().prepare_cached(
            "SELECT o.event_id, e.json FROM outbox o JOIN events e ON e.event_id = o.event_id
             WHERE o.parked_error IS NULL AND o.next_attempt_at <= ?1
             ORDER BY o.event_id LIMIT ?2",
        )?;
        let rows = statement.query_map(params![timestamp(due_by), limit(max)], |row| {
            Ok(QueuedEvent {
                event_id: row.get(0)?,
                json: row.get(1)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Upstream confirmed these events: their outbox rows go (the events stay recorded), and
    /// `at` becomes the last successful sync.
    pub fn confirm_sent(
        &mut self,
        event_ids: &[&str],
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let tx = self.conn_mut().transaction()?;
        {
            let mut delete = tx.prepare_cached("DELETE FROM outbox WHERE event_id = ?1")?;
            for id in event_ids {
                delete.execute([id])?;
            }
        }
        put_setting(&tx, LAST_SUCCESS_SETTING, &timestamp(at))?;
        tx.commit()?;
        Ok(())
    }

    /// A transient failure: count an attempt for each of these events and try them again no
    /// earlier than `next_attempt_at`.
    pub fn defer_events(
        &mut self,
        event_ids: &[&str],
        next_attempt_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let tx = self.conn_mut().transaction()?;
        {
            let mut update = tx.prepare_cached(
                "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?2
                 WHERE event_id = ?1",
            )?;
            let at = timestamp(next_attempt_at);
            for id in event_ids {
                update.execute(params![id, at])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Upstream refused this event: count the attempt and keep the event, out of the queue,
    /// with upstream's message.
    pub fn park_event(&mut self, event_id: &str, error: &str) -> Result<(), StoreError> {
        self.conn()
            .prepare_cached(
                "UPDATE outbox SET attempts = attempts + 1, parked_error = ?2
                 WHERE event_id = ?1",
            )?
            .execute(params![event_id, error])?;
        Ok(())
    }

    /// Counts of waiting and parked events, and the last successful sync.
    pub fn outbox_status(&self) -> Result<OutboxStatus, StoreError> {
        let (waiting, parked): (i64, i64) = self.conn().query_row(
            "SELECT count(*) FILTER (WHERE parked_error IS NULL),
                    count(*) FILTER (WHERE parked_error IS NOT NULL)
             FROM outbox",
            [],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )?;
        Ok(OutboxStatus {
            waiting: u64::try_from(waiting).unwrap_or_default(),
            parked: u64::try_from(parked).unwrap_or_default(),
            last_success: self.last_sync_success()?,
        })
    }

    /// When upstream last confirmed a capture (`None` before the first, or if the recorded
    /// moment cannot be read).
    pub fn last_sync_success(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        Ok(self
            .setting(LAST_SUCCESS_SETTING)?
            .and_then(|text| DateTime::parse_from_rfc3339(&text).ok())
            .map(|at| at.with_timezone(&Utc)))
    }

    /// The parked events with upstream's errors (at most `max`), in eventID order.
    pub fn parked_events(&self, max: usize) -> Result<Vec<ParkedEvent>, StoreError> {
        let mut statement = self.conn().prepare_cached(
            "SELECT event_id, parked_error FROM outbox WHERE parked_error IS NOT NULL
             ORDER BY event_id LIMIT ?1",
        )?;
        let rows = statement.query_map([limit(max)], |row| {
            Ok(ParkedEvent {
                event_id: row.get(0)?,
                error: row.get(1)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::epcis::event::{DeskAction, Unit};
    use chrono::TimeDelta;

    fn start() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-24T09:00:00.000+01:00")
            .unwrap()
            .to_utc()
    }

    fn receipt(serial: &str, at: DateTime<Utc>) -> DeskEvent {
        DeskEvent {
            action: DeskAction::ReceiveVerified,
            event_time: at.fixed_offset(),
            units: vec![Unit {
                gtin: "09506000134352".to_owned(),
                serial: serial.to_owned(),
            }],
            read_point: None,
            biz_location: None,
            biz_transactions: Vec::new(),
            lot: Some("LOT42".to_owned()),
            expiry: None,
            failure_reasons: Vec::new(),
            actor: None,
        }
    }

    /// A store with `n` receipts queued, a millisecond apart from [`start`], and their
    /// eventIDs in the outbox's order.
    fn outbox_with(n: usize) -> (tempfile::TempDir, Store, Vec<String>) {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("t.db")).unwrap();
        let events: Vec<DeskEvent> = (0..n)
            .map(|i| {
                receipt(
                    &format!("SN{i}"),
                    start() + TimeDelta::milliseconds(i as i64),
                )
            })
            .collect();
        let mut ids = store.record_events(&events, "receive").unwrap();
        ids.sort();
        (dir, store, ids)
    }

    fn count(store: &Store, sql: &str) -> i64 {
        store.conn().query_row(sql, [], |r| r.get(0)).unwrap()
    }

    fn due_ids(store: &Store, due_by: DateTime<Utc>) -> Vec<String> {
        store
            .due_events(due_by, 10)
            .unwrap()
            .into_iter()
            .map(|e| e.event_id)
            .collect()
    }

    #[test]
    fn timestamps_sort_as_text_and_clamp() {
        let a = timestamp(
            DateTime::parse_from_rfc3339("2026-11-24T01:28:09+01:00")
                .unwrap()
                .to_utc(),
        );
        assert_eq!(a, "2026-11-24T00:28:09.000Z");
        assert_eq!(
            timestamp(DateTime::<Utc>::MAX_UTC),
            "9999-12-31T23:59:59.999Z"
        );
        assert_eq!(
            timestamp(DateTime::<Utc>::MIN_UTC),
            "0000-01-01T00:00:00.000Z"
        );
        assert!(timestamp(DateTime::<Utc>::MIN_UTC) < a);
    }

    #[test]
    fn the_same_event_recorded_twice_is_queued_once() {
        let (_dir, mut store, ids) = outbox_with(1);
        let again = store
            .record_events(&[receipt("SN0", start())], "receive")
            .unwrap();
        assert_eq!(again, ids);
        assert_eq!(count(&store, "SELECT count(*) FROM events"), 1);
        assert_eq!(count(&store, "SELECT count(*) FROM outbox"), 1);
    }

    #[test]
    fn an_event_is_due_from_its_own_time() {
        let (_dir, store, ids) = outbox_with(1);
        assert!(due_ids(&store, start() - TimeDelta::milliseconds(1)).is_empty());
        assert_eq!(due_ids(&store, start()), ids);
    }

    #[test]
    fn due_confirm_defer_park_round_trip() {
        let (_dir, mut store, ids) = outbox_with(5);
        let now = start() + TimeDelta::minutes(1);
        let batch = store.due_events(now, 3).unwrap();
        let batch_ids: Vec<&str> = batch.iter().map(|e| e.event_id.as_str()).collect();
        assert_eq!(batch_ids, ids[..3]);
        assert!(
            batch[1]
                .json
                .contains(&format!("\"eventID\":\"{}\"", ids[1]))
        );

        store.confirm_sent(&[&ids[0]], now).unwrap();
        store
            .defer_events(&[&ids[1]], now + TimeDelta::minutes(5))
            .unwrap();
        store.park_event(&ids[2], "bad epc").unwrap();

        assert_eq!(due_ids(&store, now), ids[3..]);
        assert_eq!(
            due_ids(&store, now + TimeDelta::minutes(6)),
            [ids[1].as_str(), &ids[3], &ids[4]]
        );

        let status = store.outbox_status().unwrap();
        assert_eq!((status.waiting, status.parked), (3, 1));
        assert_eq!(status.last_success, Some(now));
        assert_eq!(
            store.parked_events(10).unwrap(),
            [ParkedEvent {
                event_id: ids[2].clone(),
                error: "bad epc".into()
            }]
        );
        // The confirmed event itself stays recorded; only its queue row is gone.
        assert_eq!(count(&store, "SELECT count(*) FROM events"), 5);
        let attempts: Vec<i64> = ids[1..3]
            .iter()
            .map(|id| {
                store
                    .conn()
                    .query_row(
                        "SELECT attempts FROM outbox WHERE event_id = ?1",
                        [id],
                        |r| r.get(0),
                    )
                    .unwrap()
            })
            .collect();
        assert_eq!(attempts, [1, 1]);
    }

    #[test]
    fn no_sync_yet_has_no_last_success() {
        let (_dir, store, _) = outbox_with(0);
        assert_eq!(store.outbox_status().unwrap(), OutboxStatus::default());
    }
}
