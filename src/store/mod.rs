//! # The local verification cache
//!
//! One SQLite file (WAL mode, `synchronous=FULL`) holding what suppliers announced — products,
//! serialised units with their lot, expiry and status, lot recalls, shipments and what their
//! cases contain — and what happened at this desk: receipts, holds, and the EPCIS events waiting
//! in the outbox. It answers every scan offline by primary-key lookups and records receipts
//! durably: a receipt, its event and its outbox row are committed in one transaction before the
//! caller is told the verdict, so a clerk's accepted unit is never lost, even to `kill -9`.
//!
//! The store is an adapter: it gathers [`verify::Facts`] and lets the pure [`verify`] module
//! decide. It never decides a verdict itself and never reads the clock: `today` and `now` are
//! passed in.
//!
//! Every action on a unit after its receipt (a pharmacist's hold or release, a dispense, a
//! return to the supplier, a destruction, a saleable return restocked) is recorded the same way:
//! the state change, its audit line and its EPCIS event with the outbox row, in one
//! transaction ([`actions`]). The `stock` table follows each unit received here, so inventory,
//! expiry, recall and search questions are answered by index lookups ([`inventory`]).
//!
//! - [`schema`]: the tables and versioned migrations.
//! - [`facts`]: what the store knows about a pack, which a verdict is decided from.
//! - [`receipt`]: recording one receipt with its event; [`receiving`]: a pack's or a case's.
//! - [`settings`]: the site's settings, each checked before it is stored.
//! - [`actions`]: pharmacist and shelf actions, each with its event naming who acted
//!   ([`Store::set_actor`]).
//! - [`pin`]: the pharmacist PIN's hash and its brake on guessing, in the settings table.
//! - [`setup`]: a site's name, GLN and SGLN, upstream and inbox, checked in one place and
//!   applied in one transaction (the kiosk's first run, `tracedesk setup`, `config`).
//! - [`next_step`]: what the clerk does with a refused pack, per reason, as the site words it.
//! - [`inventory`]: units on hand, expiry watch, recall scope, search, reports, audit history.
//! - [`import`]: supplier files (product master data, recalls, EPCIS documents), each one
//!   streaming transaction; [`bounded`] keeps their text within bounds.
//! - [`recall`]: recall containment, a notice applied whole or not at all.
//! - [`shipment`]: reconciliation of a shipment being received.
//! - [`exceptions`]: exception cases (packs and data that disagree), the packs held for their
//!   data, and the PDG report and response about them.
//! - [`investigation`]: suspect-product investigations and the sample of the lot to verify.
//! - [`outbox`]: the events recorded here and their queue for upstream, which the sync worker
//!   drains through [`crate::sync::Outbox`]; [`pull_cursor`]: where the last pull stopped.
//! - [`verification`]: questions asked of manufacturers through a verification router, queued
//!   while it cannot be reached.
//! - [`epcis_import`]: trading partners' EPCIS documents (any syntax), archived as received and
//!   applied in short transactions that undo whole on failure.
//! - [`trace`]: a unit's transaction history (TI/TS) for `tracedesk trace`.
//! - [`backup`]: online backups that never leave a half-made file, checked restores, and the
//!   daily backups' retention and record.
//! - [`demo`]: a small store that shows every verdict.
//! - [`synth`]: synthetic data at the scale of a busy pharmacy's year, for benchmarks.

pub mod actions;
pub mod backup;
pub mod bounded;
pub mod demo;
pub mod epcis_import;
pub mod exceptions;
pub mod facts;
pub mod import;
pub mod inventory;
pub mod investigation;
pub mod next_step;
pub mod outbox;
pub mod pin;
pub mod pull_cursor;
pub mod recall;
pub mod receipt;
pub mod receiving;
pub mod schema;
pub mod settings;
pub mod setup;
pub mod shipment;
pub mod synth;
pub mod trace;
pub mod verification;

pub use actions::{ActionRecord, HoldKind, MovementOutcome, ShelfAction};
pub use backup::{BackupError, BackupStatus, DailyBackup, Restored};
pub use demo::{DemoScan, DemoScans, create_demo};
pub use epcis_import::{ArchivedDocument, EpcisImportReport};
pub use exceptions::{CaseFilter, CaseLogLine, ClosedShipment, ExceptionCase, ResponseOutcome};
pub use facts::Assessment;
pub use import::{ImportCounts, ImportError, ProductReader, RecallLine, RecallReader};
pub use investigation::Investigation;
pub use next_step::NextSteps;
pub use outbox::{OutboxStatus, ParkedEvent, QueuedEvent};
pub use pin::PinRecord;
pub use recall::{AffectedUnit, Containment};
pub use receiving::{ContainerReceipt, Receipt};
pub use settings::{DEFAULT_EXPIRY_THRESHOLDS, KNOWN_SETTINGS};
pub use shipment::{Reconciliation, ShipmentId, ShipmentProgress, UnitState};
pub use verification::VerificationRecord;

pub(crate) use outbox::record_event;

use crate::gs1::{Gtin, Sscc};
use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use rusqlite::{Connection, params};
use std::path::{Path, PathBuf};

/// What can go wrong with the store, in the user's terms.
///
/// Each message is whole: it carries the SQLite or I/O error's own words, so that error is not
/// also given as [`std::error::Error::source`], or a printed cause chain would say it twice
/// ("readonly database: readonly database").
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    #[error("cannot open the store {}: {error}", path.display())]
    Open {
        path: PathBuf,
        error: rusqlite::Error,
    },
    #[error(
        "the store {} is an empty file, not a TraceDesk store; if a new store is meant, remove \
         the file or pass a path that does not exist yet",
        path.display()
    )]
    EmptyFile { path: PathBuf },
    #[error(
        "the store {} was written by a newer TraceDesk (schema version {found}; this version \
         knows up to {supported}); upgrade TraceDesk or use another --db",
        path.display()
    )]
    TooNew {
        path: PathBuf,
        found: i64,
        supported: i64,
    },
    #[error("cannot find a data directory for this user; pass --db PATH or set TRACEDESK_DB")]
    NoDataDir,
    #[error("cannot create the directory {}: {error}", path.display())]
    CreateDir {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error(
        "unknown setting \"{0}\"; known settings: {known}, {prefix}<reason>",
        known = KNOWN_SETTINGS.join(", "),
        prefix = next_step::KEY_PREFIX
    )]
    UnknownSetting(String),
    #[error("{key}: {message}")]
    InvalidSetting { key: String, message: String },
    #[error("the store holds a value it cannot read: {0}")]
    Corrupt(String),
    #[error(transparent)]
    Import(#[from] ImportError),
    #[error("cannot build the EPCIS event: {0}")]
    Event(String),
    #[error("{0} is not on hold; nothing to release")]
    NotHeld(String),
    #[error("there is no exception case {0}")]
    NoSuchCase(i64),
    #[error("exception case {0} is already resolved")]
    CaseClosed(i64),
    #[error(
        "exception case {case} ({kind}) cannot be resolved as {decision}: a held pack is \
         returned, quarantined_suspect or destroyed; a case without a pack is settled or \
         dismissed"
    )]
    InvalidDecision {
        case: i64,
        kind: &'static str,
        decision: &'static str,
    },
    #[error(
        "no contact e-mail for the exception report: pass --contact EMAIL or set \
         `tracedesk config contact_email EMAIL`"
    )]
    NoContact,
    #[error("the PDG response names exception case {0}, which no report from this store named")]
    UnknownExceptionCase(String),
    #[error("the PDG response names exception item {0}, which is not in its case")]
    UnknownExceptionItem(String),
    #[error("store: {0}")]
    Sql(rusqlite::Error),
}

impl From<rusqlite::Error> for StoreError {
    fn from(error: rusqlite::Error) -> Self {
        StoreError::Sql(error)
    }
}

/// Product master data for one GTIN.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Product {
    /// The NDC as written in the master data (with its dashes when known).
    pub ndc: Option<String>,
    pub name: Option<String>,
    pub strength: Option<String>,
    pub form: Option<String>,
    pub manufacturer: Option<String>,
}

/// The SQLite-backed cache.
pub struct Store {
    conn: Connection,
    path: PathBuf,
    /// Who acts through this handle, written into the events of pharmacist and shelf actions
    /// (`tracedesk:actor`); `None` writes nobody.
    actor: Option<String>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("path", &self.path).finish()
    }
}

/// A GTIN as the integer key the store uses.
pub(crate) fn gtin_key(gtin: &Gtin) -> i64 {
    // 14 ASCII digits always fit an i64; `Gtin` guarantees the digits.
    gtin.as_str().parse().unwrap_or_default()
}

pub(crate) fn gtin_from_key(key: i64) -> Result<Gtin, StoreError> {
    Gtin::parse(&format!("{key:014}")).map_err(|e| StoreError::Corrupt(format!("GTIN {key}: {e}")))
}

pub(crate) fn sscc_key(sscc: &Sscc) -> i64 {
    sscc.as_str().parse().unwrap_or_default()
}

pub(crate) fn iso_date(date: NaiveDate) -> String {
    date.format("%Y-%m-%d").to_string()
}

fn parse_iso_date(text: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()
}

pub(crate) fn parse_iso_date_opt(text: Option<&str>) -> Option<NaiveDate> {
    text.and_then(parse_iso_date)
}

/// The store's text form of a moment: RFC 3339 in UTC with milliseconds
/// (`2026-11-24T00:28:09.123Z`), so that text order is time order and the store compares times
/// as text (the outbox's due query, "since" questions). Moments outside years 0 to 9999, which
/// that form cannot hold, are clamped: "everything" (`DateTime::<Utc>::MAX_UTC`) still compares.
pub(crate) fn timestamp<Tz: chrono::TimeZone>(at: DateTime<Tz>) -> String {
    // 0000-01-01T00:00:00.000Z and 9999-12-31T23:59:59.999Z.
    const EARLIEST_MS: i64 = -62_167_219_200_000;
    const LATEST_MS: i64 = 253_402_300_799_999;
    let earliest = DateTime::from_timestamp_millis(EARLIEST_MS).unwrap_or(DateTime::<Utc>::MIN_UTC);
    let latest = DateTime::from_timestamp_millis(LATEST_MS).unwrap_or(DateTime::<Utc>::MAX_UTC);
    at.with_timezone(&Utc)
        .clamp(earliest, latest)
        .to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Write one row of the `settings` table, unchecked: for the store's own rows (backup outcome,
/// sync state) and for values [`Store::set_setting`] already checked.
pub(crate) fn put_setting(conn: &Connection, key: &str, value: &str) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO settings (key, value) VALUES (?1, ?2)
         ON CONFLICT(key) DO UPDATE SET value = excluded.value",
    )?
    .execute(params![key, value])?;
    Ok(())
}

/// Waits about 10 s in all for another writer, a millisecond at a time.
fn wait_for_lock(attempt: i32) -> bool {
    std::thread::sleep(std::time::Duration::from_millis(1));
    attempt < 8_000
}

impl Store {
    /// The default store file: `tracedesk.db` in the user's data directory (created if needed).
    pub fn default_path() -> Result<PathBuf, StoreError> {
        let dirs = directories::ProjectDirs::from("org", "TraceDesk", "tracedesk")
            .ok_or(StoreError::NoDataDir)?;
        let dir = dirs.data_dir();
        std::fs::create_dir_all(dir).map_err(|error| StoreError::CreateDir {
            path: dir.to_path_buf(),
            error,
        })?;
        Ok(dir.join("tracedesk.db"))
    }

    /// Open the store at `path`, upgrading an older schema; a path that does not exist yet
    /// becomes a new store. An existing empty file is refused: SQLite would take it for a new
    /// database, and a store truncated by a faulty copy would silently start over empty.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        if std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.len() == 0) {
            return Err(StoreError::EmptyFile {
                path: path.to_path_buf(),
            });
        }
        let open_err = |error| StoreError::Open {
            path: path.to_path_buf(),
            error,
        };
        let mut conn = Connection::open(path).map_err(open_err)?;
        // Poll the lock every millisecond (SQLite's own timeout backs off up to 100 ms between
        // tries): an import yields the lock between short transactions, and a receive waiting
        // for it must notice within the pause, not miss it for a whole chunk.
        conn.busy_handler(Some(wait_for_lock)).map_err(open_err)?;
        // WAL lets a reader (the kiosk's verify) run beside the writer; FULL makes each commit
        // durable across power loss, which receipts need.
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(open_err)?;
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(open_err)?;
        conn.pragma_update(None, "foreign_keys", "ON")
            .map_err(open_err)?;
        // A checkpoint copies the WAL into the database and fsyncs it: a few milliseconds that
        // would land on whichever receipt crosses the threshold. A larger threshold makes that
        // rare; callers with idle time (the kiosk's store thread, the end of `receive`) call
        // [`Store::checkpoint`] so it is paid off the clerk's path.
        conn.pragma_update(None, "wal_autocheckpoint", 8192)
            .map_err(open_err)?;
        schema::migrate(&mut conn, path)?;
        Ok(Store {
            conn,
            path: path.to_path_buf(),
            actor: None,
        })
    }

    /// Name who acts through this handle (`cli:alice`, `kiosk:pharmacist`): the events of
    /// pharmacist and shelf actions record it.
    pub fn set_actor(&mut self, actor: &str) {
        self.actor = Some(actor.to_owned());
    }

    /// Who acts through this handle, if named.
    pub fn actor(&self) -> Option<&str> {
        self.actor.as_deref()
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Copy the write-ahead log into the database file, when nothing else is reading: call it
    /// when idle. Never loses a committed receipt: the WAL is already durable.
    pub fn checkpoint(&self) -> Result<(), StoreError> {
        self.conn
            .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))?;
        Ok(())
    }

    /// The schema version of the open file.
    pub fn schema_version(&self) -> Result<i64, StoreError> {
        Ok(self
            .conn
            .pragma_query_value(None, "user_version", |r| r.get(0))?)
    }

    pub(crate) fn conn(&self) -> &Connection {
        &self.conn
    }

    pub(crate) fn conn_mut(&mut self) -> &mut Connection {
        &mut self.conn
    }
}
