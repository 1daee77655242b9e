//! The outbox on the store's SQLite tables: `events(event_id, kind, json, created_at)`,
//! `outbox(event_id, attempts, next_attempt_at, parked_error)` and `settings(key, value)`.
//!
//! [`Outbox`] is implemented on a [`rusqlite::Connection`] to a store file and on
//! [`Store`] itself, so the worker can run on the store or on a second connection to the same
//! file (the store opens it in WAL mode; SQLite serialises the writers, and each call here is
//! one short transaction).
//!
//! Times are stored as RFC 3339 UTC text with milliseconds (`2026-11-24T00:28:09.123Z`), so that
//! text order is time order and the due query is a plain comparison. Whoever writes outbox rows
//! must use [`timestamp`].
//!
//! This module reads and updates outbox rows; it never deletes an event, only its outbox row,
//! and only in [`Outbox::confirm`].

use chrono::{DateTime, SecondsFormat, Utc};
use rusqlite::{Connection, OptionalExtension, params};

use super::outbox::{Outbox, OutboxError, OutboxStatus, ParkedEvent, QueuedEvent};
use super::pull::PullCursor;
use crate::store::Store;

/// The `settings` key holding the last confirmed capture.
pub const LAST_SUCCESS_SETTING: &str = "sync_last_success";

/// The outbox's text form of a moment (see the module docs). Moments past year 9999 are
/// clamped, so "everything" (`DateTime::<Utc>::MAX_UTC`) still compares as text.
pub fn timestamp(at: DateTime<Utc>) -> String {
    let latest = DateTime::parse_from_rfc3339("9999-12-31T23:59:59.999Z")
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or(DateTime::<Utc>::MAX_UTC);
    let earliest = DateTime::parse_from_rfc3339("0000-01-01T00:00:00Z")
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or(DateTime::<Utc>::MIN_UTC);
    at.clamp(earliest, latest)
        .to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Records an event and queues it, in the caller's transaction (pass a `Transaction`, which
/// derefs to a `Connection`), as the store's receipts do. For tools, tests and benchmarks that
/// queue events without a desk action. Recording the same eventID twice is a no-op: `false`.
pub fn enqueue(
    conn: &Connection,
    event_id: &str,
    kind: &str,
    json: &str,
    now: DateTime<Utc>,
) -> Result<bool, OutboxError> {
    let at = timestamp(now);
    let inserted = conn
        .prepare_cached(
            "INSERT OR IGNORE INTO events (event_id, kind, json, created_at) VALUES (?1, ?2, ?3, ?4)",
        )?
        .execute(params![event_id, kind, json, at])?;
    if inserted == 0 {
        return Ok(false);
    }
    conn.prepare_cached(
        "INSERT OR IGNORE INTO outbox (event_id, attempts, next_attempt_at) VALUES (?1, 0, ?2)",
    )?
    .execute(params![event_id, at])?;
    Ok(true)
}

impl Outbox for Connection {
    fn due_batch(
        &mut self,
        due_by: DateTime<Utc>,
        max: usize,
    ) -> Result<Vec<QueuedEvent>, OutboxError> {
        // Primary-key order: a stable order that needs no sort and no extra index.
        let mut statement = self.prepare_cached(
            "SELECT o.event_id, e.json FROM outbox o JOIN events e ON e.event_id = o.event_id
             WHERE o.parked_error IS NULL AND o.next_attempt_at <= ?1
             ORDER BY o.event_id LIMIT ?2",
        )?;
        let limit = i64::try_from(max).unwrap_or(i64::MAX);
        let rows = statement.query_map(params![timestamp(due_by), limit], |row| {
            Ok(QueuedEvent {
                event_id: row.get(0)?,
                json: row.get(1)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn confirm(&mut self, event_ids: &[&str], at: DateTime<Utc>) -> Result<(), OutboxError> {
        let tx = self.transaction()?;
        {
            let mut delete = tx.prepare_cached("DELETE FROM outbox WHERE event_id = ?1")?;
            for id in event_ids {
                delete.execute([id])?;
            }
            tx.prepare_cached(
                "INSERT INTO settings (key, value) VALUES (?1, ?2)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            )?
            .execute(params![LAST_SUCCESS_SETTING, timestamp(at)])?;
        }
        tx.commit()?;
        Ok(())
    }

    fn defer(
        &mut self,
        event_ids: &[&str],
        next_attempt_at: DateTime<Utc>,
    ) -> Result<(), OutboxError> {
        let tx = self.transaction()?;
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

    fn park(&mut self, event_id: &str, error: &str) -> Result<(), OutboxError> {
        self.prepare_cached(
            "UPDATE outbox SET attempts = attempts + 1, parked_error = ?2 WHERE event_id = ?1",
        )?
        .execute(params![event_id, error])?;
        Ok(())
    }

    fn status(&mut self) -> Result<OutboxStatus, OutboxError> {
        let (waiting, parked): (i64, i64) = self.query_row(
            "SELECT count(*) FILTER (WHERE parked_error IS NULL),
                    count(*) FILTER (WHERE parked_error IS NOT NULL)
             FROM outbox",
            [],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )?;
        let last_success: Option<String> = self
            .query_row(
                "SELECT value FROM settings WHERE key = ?1",
                [LAST_SUCCESS_SETTING],
                |row| row.get(0),
            )
            .optional()?;
        Ok(OutboxStatus {
            waiting: u64::try_from(waiting).unwrap_or_default(),
            parked: u64::try_from(parked).unwrap_or_default(),
            last_success: last_success
                .and_then(|text| DateTime::parse_from_rfc3339(&text).ok())
                .map(|at| at.with_timezone(&Utc)),
        })
    }

    fn parked(&mut self, max: usize) -> Result<Vec<ParkedEvent>, OutboxError> {
        let mut statement = self.prepare_cached(
            "SELECT event_id, parked_error FROM outbox WHERE parked_error IS NOT NULL
             ORDER BY event_id LIMIT ?1",
        )?;
        let limit = i64::try_from(max).unwrap_or(i64::MAX);
        let rows = statement.query_map([limit], |row| {
            Ok(ParkedEvent {
                event_id: row.get(0)?,
                error: row.get(1)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

impl Outbox for Store {
    fn due_batch(
        &mut self,
        due_by: DateTime<Utc>,
        max: usize,
    ) -> Result<Vec<QueuedEvent>, OutboxError> {
        self.conn_mut().due_batch(due_by, max)
    }
    fn confirm(&mut self, event_ids: &[&str], at: DateTime<Utc>) -> Result<(), OutboxError> {
        self.conn_mut().confirm(event_ids, at)
    }
    fn defer(
        &mut self,
        event_ids: &[&str],
        next_attempt_at: DateTime<Utc>,
    ) -> Result<(), OutboxError> {
        self.conn_mut().defer(event_ids, next_attempt_at)
    }
    fn park(&mut self, event_id: &str, error: &str) -> Result<(), OutboxError> {
        self.conn_mut().park(event_id, error)
    }
    fn status(&mut self) -> Result<OutboxStatus, OutboxError> {
        self.conn_mut().status()
    }
    fn parked(&mut self, max: usize) -> Result<Vec<ParkedEvent>, OutboxError> {
        self.conn_mut().parked(max)
    }
}

impl PullCursor for Store {
    fn load_cursor(&mut self) -> Result<Option<String>, OutboxError> {
        self.conn_mut().load_cursor()
    }
    fn save_cursor(&mut self, cursor: &str) -> Result<(), OutboxError> {
        self.conn_mut().save_cursor(cursor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeDelta;

    fn outbox_with(n: usize) -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("t.db")).unwrap();
        let conn = store.conn();
        let now = Utc::now();
        for i in 0..n {
            assert!(
                enqueue(
                    conn,
                    &format!("id{i}"),
                    "receipt",
                    &format!("{{\"n\":{i}}}"),
                    now
                )
                .unwrap()
            );
        }
        (dir, store)
    }

    #[test]
    fn timestamps_sort_as_text_and_clamp() {
        let a = timestamp(
            DateTime::parse_from_rfc3339("2026-11-24T00:28:09Z")
                .unwrap()
                .into(),
        );
        assert_eq!(a, "2026-11-24T00:28:09.000Z");
        assert_eq!(
            timestamp(DateTime::<Utc>::MAX_UTC),
            "9999-12-31T23:59:59.999Z"
        );
        assert!(timestamp(DateTime::<Utc>::MIN_UTC) < a);
    }

    #[test]
    fn enqueue_is_idempotent() {
        let (_dir, store) = outbox_with(1);
        assert!(!enqueue(store.conn(), "id0", "receipt", "{}", Utc::now()).unwrap());
    }

    #[test]
    fn due_confirm_defer_park_round_trip() {
        let (_dir, mut store) = outbox_with(5);
        let conn = store.conn_mut();
        let now = Utc::now();
        let batch = conn.due_batch(now, 3).unwrap();
        let ids: Vec<&str> = batch.iter().map(|e| e.event_id.as_str()).collect();
        assert_eq!(ids, ["id0", "id1", "id2"]);
        assert_eq!(batch[1].json, "{\"n\":1}");

        conn.confirm(&["id0"], now).unwrap();
        conn.defer(&["id1"], now + TimeDelta::minutes(5)).unwrap();
        conn.park("id2", "bad epc").unwrap();

        let due: Vec<String> = conn
            .due_batch(now, 10)
            .unwrap()
            .into_iter()
            .map(|e| e.event_id)
            .collect();
        assert_eq!(due, ["id3", "id4"]);
        let later: Vec<String> = conn
            .due_batch(now + TimeDelta::minutes(6), 10)
            .unwrap()
            .into_iter()
            .map(|e| e.event_id)
            .collect();
        assert_eq!(later, ["id1", "id3", "id4"]);

        let status = conn.status().unwrap();
        assert_eq!((status.waiting, status.parked), (3, 1));
        let last = status.last_success.unwrap();
        assert!((last - now).num_milliseconds().abs() <= 1);
        assert_eq!(
            conn.parked(10).unwrap(),
            [ParkedEvent {
                event_id: "id2".into(),
                error: "bad epc".into()
            }]
        );
        // The confirmed event itself stays recorded; only its queue row is gone.
        let events: i64 = conn
            .query_row("SELECT count(*) FROM events", [], |r| r.get(0))
            .unwrap();
        assert_eq!(events, 5);
        let attempts: i64 = conn
            .query_row(
                "SELECT attempts FROM outbox WHERE event_id = 'id1'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(attempts, 1);
    }
}
