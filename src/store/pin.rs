//! The pharmacist PIN as the store keeps it: the hash, and the brake on guessing.
//!
//! Three rows of the `settings` table, none of them a setting `tracedesk config` shows or
//! takes: `kiosk_pin_hash` (the PHC string of an argon2 hash, never the PIN),
//! `kiosk_pin_failures` (wrong PINs since the last right one) and `kiosk_pin_locked_until`
//! (RFC 3339, UTC). Keeping the count and the lockout here, not in a process's memory, is what
//! makes a restart of the kiosk no way around the brake.
//!
//! What a wrong PIN costs is decided by [`crate::ui::pin`]; this module only reads and writes
//! the record, each change in one immediate transaction so that two processes checking PINs
//! at the same time both count.

use super::{Store, StoreError, put_setting, timestamp};
use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior};

/// Settings key of the PIN's argon2 hash.
pub const PIN_HASH_KEY: &str = "kiosk_pin_hash";
const FAILURES_KEY: &str = "kiosk_pin_failures";
const LOCKED_UNTIL_KEY: &str = "kiosk_pin_locked_until";

/// The settings rows that belong to the PIN: never shown or set through `tracedesk config`.
pub const PIN_KEYS: [&str; 3] = [PIN_HASH_KEY, FAILURES_KEY, LOCKED_UNTIL_KEY];

/// The pharmacist PIN's record.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PinRecord {
    /// PHC string of the PIN's argon2 hash; `None` until a PIN is set.
    pub hash: Option<String>,
    /// Wrong PINs since the last right one.
    pub failures: u32,
    /// No PIN is checked before this time.
    pub locked_until: Option<DateTime<Utc>>,
}

impl Store {
    /// The PIN's hash, failure count and lockout.
    pub fn pin_record(&self) -> Result<PinRecord, StoreError> {
        read(self.conn())
    }

    /// Reads the PIN record, lets `change` update it, and writes it back, in one immediate
    /// transaction: no other process reads or writes it in between.
    pub fn update_pin_record<T>(
        &mut self,
        change: impl FnOnce(&mut PinRecord) -> T,
    ) -> Result<T, StoreError> {
        let tx = self
            .conn_mut()
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let before = read(&tx)?;
        let mut record = before.clone();
        let answer = change(&mut record);
        if record != before {
            write(&tx, &record)?;
        }
        tx.commit()?;
        Ok(answer)
    }
}

fn read(conn: &Connection) -> Result<PinRecord, StoreError> {
    let get = |key: &str| -> Result<Option<String>, StoreError> {
        Ok(conn
            .prepare_cached("SELECT value FROM settings WHERE key = ?1")?
            .query_row([key], |r| r.get(0))
            .optional()?)
    };
    let failures = match get(FAILURES_KEY)? {
        Some(text) => text
            .parse()
            .map_err(|_| StoreError::Corrupt(format!("{FAILURES_KEY}: \"{text}\"")))?,
        None => 0,
    };
    let locked_until = get(LOCKED_UNTIL_KEY)?
        .map(|text| {
            DateTime::parse_from_rfc3339(&text)
                .map(|t| t.with_timezone(&Utc))
                .map_err(|_| StoreError::Corrupt(format!("{LOCKED_UNTIL_KEY}: \"{text}\"")))
        })
        .transpose()?;
    Ok(PinRecord {
        hash: get(PIN_HASH_KEY)?,
        failures,
        locked_until,
    })
}

fn write(conn: &Connection, record: &PinRecord) -> Result<(), StoreError> {
    let rows = [
        (PIN_HASH_KEY, record.hash.clone()),
        (
            FAILURES_KEY,
            (record.failures > 0).then(|| record.failures.to_string()),
        ),
        (LOCKED_UNTIL_KEY, record.locked_until.map(timestamp)),
    ];
    for (key, value) in rows {
        match value {
            Some(value) => put_setting(conn, key, &value)?,
            None => {
                conn.prepare_cached("DELETE FROM settings WHERE key = ?1")?
                    .execute([key])?;
            }
        }
    }
    Ok(())
}
