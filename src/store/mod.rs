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
pub mod import;
pub mod inventory;
pub mod investigation;
pub mod next_step;
pub mod outbox;
pub mod pin;
pub mod pull_cursor;
pub mod recall;
pub mod schema;
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
pub use import::{ImportCounts, ImportError, ProductReader, RecallLine, RecallReader};
pub use investigation::Investigation;
pub use next_step::NextSteps;
pub use outbox::{OutboxStatus, ParkedEvent, QueuedEvent};
pub use pin::PinRecord;
pub use recall::{AffectedUnit, Containment};
pub use shipment::{Reconciliation, ShipmentId, ShipmentProgress, UnitState};
pub use verification::VerificationRecord;

pub(crate) use outbox::record_event;

use crate::epcis::event::{
    self as desk_event, BizTransaction, BizTransactionKind, DeskAction, DeskEvent,
};
use crate::gs1::{Gln, Gtin, ParsedScan, Sgtin, Sscc};
use crate::verify::{self, Facts, KnownUnit, ProductIdentifier, UnitStatus, Verdict};
use chrono::{DateTime, FixedOffset, NaiveDate, SecondsFormat, Utc};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
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

/// Settings `tracedesk config` knows; values are checked before they are stored.
pub const KNOWN_SETTINGS: &[&str] = &[
    "site_name",
    "site_gln",
    "upstream_url",
    "credentials_file",
    "scanner_profile",
    "company_prefix_len",
    "expiry_thresholds",
    "kiosk_camera",
    "inbox_dir",
    backup::DIR_KEY,
    backup::KEEP_KEY,
    exceptions::GRACE_KEY,
    exceptions::CONTACT_KEY,
    crate::router::ROUTER_KEY,
    crate::router::CREDENTIALS_KEY,
];

/// The expiry watch horizons in days when `expiry_thresholds` is not set.
pub const DEFAULT_EXPIRY_THRESHOLDS: [u32; 3] = [30, 60, 90];

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

/// A verdict with what the store knew when it decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assessment {
    pub verdict: Verdict,
    pub product: Option<Product>,
    pub unit: Option<KnownUnit>,
}

/// The outcome of receiving one unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    pub assessment: Assessment,
    /// The receipt row, when the scan identified a unit (GTIN + serial) to record.
    pub receipt_id: Option<i64>,
    /// The EPCIS event recorded (and queued for sync) for an accepted unit.
    pub event_id: Option<String>,
    /// The pack is kept, held in the "pending data" place, with an exception case open: it
    /// came without data announcing it, or with data that disagrees.
    pub held_for_data: bool,
}

impl Receipt {
    /// The unit was verified and recorded as received.
    pub fn accepted(&self) -> bool {
        self.receipt_id.is_some() && self.assessment.verdict.is_verified()
    }
}

/// The outcome of receiving a case or tote by its SSCC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerReceipt {
    pub sscc: Sscc,
    /// Every unit the container holds (nested containers expanded), with its outcome.
    pub children: Vec<(Sgtin, Receipt)>,
}

impl ContainerReceipt {
    /// One verdict for the whole container: verified when every child is, with the union of
    /// the children's reasons otherwise.
    pub fn verdict(&self) -> Verdict {
        Verdict::from_reasons(
            self.children
                .iter()
                .flat_map(|(_, r)| r.assessment.verdict.reasons.iter().copied())
                .collect(),
        )
    }
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
        migrate(&mut conn, path)?;
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

    // --- settings -------------------------------------------------------------------------

    pub fn setting(&self, key: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .conn
            .prepare_cached("SELECT value FROM settings WHERE key = ?1")?
            .query_row([key], |r| r.get(0))
            .optional()?)
    }

    /// All settings, sorted by key.
    pub fn settings(&self) -> Result<Vec<(String, String)>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT key, value FROM settings ORDER BY key")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Set a known setting after checking its value; returns the value as stored (a GLN is
    /// normalised to its 13 digits).
    pub fn set_setting(&mut self, key: &str, value: &str) -> Result<String, StoreError> {
        let invalid = |message: String| StoreError::InvalidSetting {
            key: key.to_string(),
            message,
        };
        let value = value.trim();
        let stored = match key {
            // The setup's own checks, so `config` accepts exactly what setup does.
            "site_name" => setup::site_name(value).map_err(|e| invalid(e.message))?,
            "site_gln" => setup::site_gln(value)
                .map_err(|e| invalid(e.message))?
                .as_str()
                .to_string(),
            "upstream_url" => setup::upstream_url(value)
                .map_err(|e| invalid(e.message))?
                .ok_or_else(|| invalid("must not be empty".into()))?,
            "company_prefix_len" => match value {
                "" => return Err(invalid("must not be empty".into())),
                _ => setup::prefix_len(value)
                    .map_err(|e| invalid(e.message))?
                    .to_string(),
            },
            "expiry_thresholds" => {
                let days = parse_thresholds(value).map_err(invalid)?;
                days.iter()
                    .map(u32::to_string)
                    .collect::<Vec<_>>()
                    .join(",")
            }
            "kiosk_camera" => match value {
                "on" | "off" => value.to_string(),
                _ => return Err(invalid("must be on or off".into())),
            },
            "inbox_dir" => setup::inbox_dir(value)
                .map_err(|e| invalid(e.message))?
                .ok_or_else(|| invalid("must not be empty".into()))?
                .to_string_lossy()
                .into_owned(),
            // Absolute, because the kiosk and the command line may run from any directory.
            backup::DIR_KEY => {
                if !Path::new(value).is_absolute() {
                    return Err(invalid(format!(
                        "\"{value}\" is not an absolute path; write e.g. /var/backups/tracedesk"
                    )));
                }
                value.to_string()
            }
            exceptions::GRACE_KEY => exceptions::parse_grace_days(value)
                .map_err(invalid)?
                .to_string(),
            exceptions::CONTACT_KEY => exceptions::parse_contact_email(value).map_err(invalid)?,
            crate::router::ROUTER_KEY => {
                crate::router::parse_router_url(value).map_err(|e| invalid(e.to_string()))?
            }
            crate::router::CREDENTIALS_KEY => {
                // Only the path is stored: the credential itself never enters the database.
                let path = Path::new(value);
                if !path.is_absolute() {
                    return Err(invalid(format!("\"{value}\" is not an absolute path")));
                }
                crate::router::RouterCredential::from_file(path)
                    .map_err(|e| invalid(e.to_string()))?;
                value.to_string()
            }
            backup::KEEP_KEY => match value.parse::<u32>() {
                Ok(n @ 1..=365) => n.to_string(),
                _ => return Err(invalid("keep 1 to 365 backups".into())),
            },
            // The PIN is changed only by whoever knows the current one (`tracedesk pin`, the
            // kiosk's settings): a hash written here would replace it without.
            _ if key == "kiosk_pin" || pin::PIN_KEYS.contains(&key) => {
                return Err(invalid(
                    "the pharmacist PIN is not set through config: run `tracedesk pin`, which \
                     asks for the current PIN"
                        .into(),
                ));
            }
            "credentials_file" | "scanner_profile" => {
                if value.is_empty() {
                    return Err(invalid("must not be empty".into()));
                }
                value.to_string()
            }
            // One setting per refusal reason; an empty text goes back to the default.
            _ if next_step::is_key(key) => {
                let reason = next_step::reason_of_key(key).map_err(invalid)?;
                return self.set_next_step(reason, value);
            }
            _ => return Err(StoreError::UnknownSetting(key.to_string())),
        };
        put_setting(&self.conn, key, &stored)?;
        Ok(stored)
    }

    /// The expiry watch horizons in days, ascending (setting `expiry_thresholds`, default
    /// 30, 60 and 90).
    pub fn expiry_thresholds(&self) -> Result<Vec<u32>, StoreError> {
        match self.setting("expiry_thresholds")? {
            Some(text) => parse_thresholds(&text)
                .map_err(|e| StoreError::Corrupt(format!("expiry_thresholds: {e}"))),
            None => Ok(DEFAULT_EXPIRY_THRESHOLDS.to_vec()),
        }
    }

    /// This site's GLN, when configured.
    pub fn site_gln(&self) -> Result<Option<Gln>, StoreError> {
        self.setting("site_gln")?
            .map(|v| Gln::parse(&v).map_err(|e| StoreError::Corrupt(format!("site_gln: {e}"))))
            .transpose()
    }

    // --- lookups --------------------------------------------------------------------------

    /// Product master data for a GTIN.
    pub fn product(&self, gtin: &Gtin) -> Result<Option<Product>, StoreError> {
        product(&self.conn, gtin)
    }

    /// The unit as announced, when known.
    pub fn unit(&self, gtin: &Gtin, serial: &str) -> Result<Option<KnownUnit>, StoreError> {
        unit(&self.conn, gtin, serial)
    }

    /// The verdict for one scan, read-only. With `shipment`, a known unit not on it is
    /// `not_expected`.
    pub fn verify(
        &self,
        scan: &ParsedScan,
        shipment: Option<ShipmentId>,
        today: NaiveDate,
    ) -> Result<Assessment, StoreError> {
        assess(
            &self.conn,
            ProductIdentifier::from_scan(scan).as_ref(),
            shipment,
            today,
        )
    }

    /// The units a container holds, nested containers expanded; `None` when the SSCC is not
    /// known from aggregation data.
    pub fn container_units(&self, sscc: &Sscc) -> Result<Option<Vec<Sgtin>>, StoreError> {
        container_units(&self.conn, sscc)
    }

    /// The verdicts for every unit of a case or tote, read-only; `None` when the SSCC is not
    /// known from aggregation data.
    pub fn verify_container(
        &self,
        sscc: &Sscc,
        shipment: Option<ShipmentId>,
        today: NaiveDate,
    ) -> Result<Option<Vec<(Sgtin, Assessment)>>, StoreError> {
        let Some(units) = container_units(&self.conn, sscc)? else {
            return Ok(None);
        };
        let mut out = Vec::with_capacity(units.len());
        for sgtin in units {
            let pid = vouched_identifier(&self.conn, &sgtin)?;
            out.push((sgtin, assess(&self.conn, Some(&pid), shipment, today)?));
        }
        Ok(Some(out))
    }

    // --- receiving ------------------------------------------------------------------------

    /// Verify one scan and record the receipt durably: the receipt row, and for an accepted
    /// unit its EPCIS event and outbox row, are committed before this returns. A scan that
    /// identifies no unit (invalid, or no serial) is answered but not recorded. A refused scan
    /// repeated unchanged within [`REPEATED_FAILURE_WINDOW`] of its event gets a receipt row
    /// naming that event, and no new one.
    pub fn receive(
        &mut self,
        scan: &ParsedScan,
        shipment: Option<ShipmentId>,
        today: NaiveDate,
        now: DateTime<FixedOffset>,
    ) -> Result<Receipt, StoreError> {
        let actor = self.actor.clone();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let pid = ProductIdentifier::from_scan(scan);
        let context = ReceiptContext::new(&tx, shipment, now, actor)?;
        let receipt = receive_unit(&tx, pid.as_ref(), &context, today)?;
        tx.commit()?;
        Ok(receipt)
    }

    /// Receive every unit of a case or tote in one transaction; `None` when the SSCC is not
    /// known from aggregation data (nothing is recorded then).
    pub fn receive_container(
        &mut self,
        sscc: &Sscc,
        shipment: Option<ShipmentId>,
        today: NaiveDate,
        now: DateTime<FixedOffset>,
    ) -> Result<Option<ContainerReceipt>, StoreError> {
        let actor = self.actor.clone();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let Some(units) = container_units(&tx, sscc)? else {
            return Ok(None);
        };
        let context = ReceiptContext::new(&tx, shipment, now, actor)?;
        let mut children = Vec::with_capacity(units.len());
        for sgtin in units {
            let pid = vouched_identifier(&tx, &sgtin)?;
            let receipt = receive_unit(&tx, Some(&pid), &context, today)?;
            children.push((sgtin, receipt));
        }
        tx.commit()?;
        Ok(Some(ContainerReceipt {
            sscc: sscc.clone(),
            children,
        }))
    }

    /// Put a unit on hold (it verifies as `quarantined` until released), with its holding
    /// event queued for sync.
    pub fn hold(
        &mut self,
        sgtin: &Sgtin,
        reason: &str,
        now: DateTime<FixedOffset>,
    ) -> Result<ActionRecord, StoreError> {
        self.record_action(
            sgtin,
            ShelfAction::Hold(HoldKind::Quarantine),
            Some(reason),
            now,
        )
    }

    /// Release every hold in force on a unit, with its event; returns how many were released
    /// (0, and nothing recorded, when the unit was not held).
    pub fn release(
        &mut self,
        sgtin: &Sgtin,
        now: DateTime<FixedOffset>,
    ) -> Result<usize, StoreError> {
        match self.record_action(sgtin, ShelfAction::Release, None, now) {
            Ok(record) => Ok(record.released),
            Err(StoreError::NotHeld(_)) => Ok(0),
            Err(e) => Err(e),
        }
    }

    /// How many receipts are recorded (accepted or not).
    pub fn receipt_count(&self) -> Result<u64, StoreError> {
        Ok(self
            .conn
            .query_row("SELECT count(*) FROM receipts", [], |r| r.get(0))?)
    }

    /// Whether the unit has an accepted receipt here.
    pub fn is_received(&self, sgtin: &Sgtin) -> Result<bool, StoreError> {
        already_received(&self.conn, &sgtin.gtin, &sgtin.serial)
    }
}

/// Comma-separated day counts, 1 to 3650 each; returned sorted and deduplicated.
fn parse_thresholds(text: &str) -> Result<Vec<u32>, String> {
    let mut days = text
        .split(',')
        .map(|part| match part.trim().parse::<u32>() {
            Ok(n @ 1..=3650) => Ok(n),
            _ => Err(format!(
                "\"{}\" is not a number of days (1 to 3650); write e.g. 30,60,90",
                part.trim()
            )),
        })
        .collect::<Result<Vec<_>, _>>()?;
    days.sort_unstable();
    days.dedup();
    Ok(days)
}

fn migrate(conn: &mut Connection, path: &Path) -> Result<(), StoreError> {
    let found: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if found > schema::VERSION {
        return Err(StoreError::TooNew {
            path: path.to_path_buf(),
            found,
            supported: schema::VERSION,
        });
    }
    if found == schema::VERSION {
        return Ok(());
    }
    let tx = conn.transaction_with_behavior(TransactionBehavior::Exclusive)?;
    for (i, migration) in schema::MIGRATIONS.iter().enumerate() {
        let version = i as i64 + 1;
        if version > found {
            tracing::info!(version, "migrating store schema");
            tx.execute_batch(migration)?;
        }
    }
    tx.pragma_update(None, "user_version", schema::VERSION)?;
    tx.commit()?;
    Ok(())
}

fn product(conn: &Connection, gtin: &Gtin) -> Result<Option<Product>, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT ndc, name, strength, form, manufacturer FROM products WHERE gtin = ?1",
        )?
        .query_row([gtin_key(gtin)], |r| {
            Ok(Product {
                ndc: r.get(0)?,
                name: r.get(1)?,
                strength: r.get(2)?,
                form: r.get(3)?,
                manufacturer: r.get(4)?,
            })
        })
        .optional()?)
}

fn unit(conn: &Connection, gtin: &Gtin, serial: &str) -> Result<Option<KnownUnit>, StoreError> {
    let row: Option<(Option<String>, Option<String>, u8)> = conn
        .prepare_cached(
            "SELECT l.lot, l.expiry, u.status FROM units u LEFT JOIN lots l ON l.id = u.lot
             WHERE u.gtin = ?1 AND u.serial = ?2",
        )?
        .query_row(params![gtin_key(gtin), serial], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .optional()?;
    let Some((lot, expiry, status)) = row else {
        return Ok(None);
    };
    let status = UnitStatus::from_code(status)
        .ok_or_else(|| StoreError::Corrupt(format!("unit status code {status}")))?;
    Ok(Some(KnownUnit {
        lot: lot.filter(|l| !l.is_empty()),
        expiry: expiry.as_deref().and_then(parse_iso_date),
        status,
    }))
}

fn lot_recalled(conn: &Connection, gtin: &Gtin, lot: &str) -> Result<bool, StoreError> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM lot_recalls WHERE gtin = ?1 AND lot = ?2")?
        .exists(params![gtin_key(gtin), lot])?)
}

/// The holds in force on a unit: (quarantined, suspect or illegitimate).
fn holds_in_force(
    conn: &Connection,
    gtin: &Gtin,
    serial: &str,
) -> Result<(bool, bool), StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT kind FROM holds WHERE gtin = ?1 AND serial = ?2 AND released_at IS NULL",
    )?;
    let mut rows = stmt.query(params![gtin_key(gtin), serial])?;
    let (mut quarantined, mut suspect) = (false, false);
    while let Some(row) = rows.next()? {
        match HoldKind::from_code(&row.get::<_, String>(0)?) {
            Some(HoldKind::Quarantine | HoldKind::PendingData) | None => quarantined = true,
            Some(HoldKind::Suspect | HoldKind::Illegitimate) => suspect = true,
        }
    }
    Ok((quarantined, suspect))
}

fn already_received(conn: &Connection, gtin: &Gtin, serial: &str) -> Result<bool, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT 1 FROM receipts WHERE gtin = ?1 AND serial = ?2 AND accepted = 1 LIMIT 1",
        )?
        .exists(params![gtin_key(gtin), serial])?)
}

fn on_shipment(
    conn: &Connection,
    gtin: &Gtin,
    serial: &str,
    shipment: ShipmentId,
) -> Result<bool, StoreError> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM units WHERE gtin = ?1 AND serial = ?2 AND shipment = ?3")?
        .exists(params![gtin_key(gtin), serial, shipment.0])?)
}

/// Gather the facts for one identified unit and decide.
fn assess(
    conn: &Connection,
    pid: Option<&ProductIdentifier>,
    shipment: Option<ShipmentId>,
    today: NaiveDate,
) -> Result<Assessment, StoreError> {
    let Some(pid) = pid else {
        return Ok(Assessment {
            verdict: Verdict::from_reasons(vec![verify::Reason::InvalidBarcode]),
            product: None,
            unit: None,
        });
    };
    let product = product(conn, &pid.gtin)?;
    let mut facts = Facts {
        product_known: product.is_some(),
        ..Facts::default()
    };
    let mut recalled = match &pid.lot {
        Some(lot) => lot_recalled(conn, &pid.gtin, lot)?,
        None => false,
    };
    if let Some(serial) = &pid.serial {
        facts.unit = unit(conn, &pid.gtin, serial)?;
        if let Some(announced_lot) = facts.unit.as_ref().and_then(|u| u.lot.as_deref())
            && pid.lot.as_deref() != Some(announced_lot)
        {
            recalled = recalled || lot_recalled(conn, &pid.gtin, announced_lot)?;
        }
        (facts.held, facts.suspect) = holds_in_force(conn, &pid.gtin, serial)?;
        facts.already_received = already_received(conn, &pid.gtin, serial)?;
        if let Some(shipment) = shipment {
            facts.on_shipment = Some(on_shipment(conn, &pid.gtin, serial, shipment)?);
        }
    }
    facts.lot_recalled = recalled;
    Ok(Assessment {
        verdict: verify::verdict_for(pid, &facts, today),
        product,
        unit: facts.unit,
    })
}

/// What every receipt of one `receive` call shares: where, when, against which shipment, who.
pub(crate) struct ReceiptContext {
    shipment: Option<ShipmentId>,
    now: DateTime<FixedOffset>,
    actor: Option<String>,
    /// The site's GLN as a Digital Link URI, for the event's read point and business location.
    site: Option<String>,
    /// The shipment's PO and ASN references that are URIs, for the event.
    transactions: Vec<BizTransaction>,
}

impl ReceiptContext {
    pub(crate) fn new(
        conn: &Connection,
        shipment: Option<ShipmentId>,
        now: DateTime<FixedOffset>,
        actor: Option<String>,
    ) -> Result<ReceiptContext, StoreError> {
        let site = site_location(conn)?;
        let mut transactions = Vec::new();
        if let Some(id) = shipment {
            let mut stmt = conn.prepare_cached(
                "SELECT kind, ref FROM shipment_refs WHERE shipment = ?1 AND kind IN ('po', 'desadv')
                 ORDER BY kind, ref",
            )?;
            let rows = stmt.query_map([id.0], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
            })?;
            for row in rows {
                let (kind, id) = row?;
                // EPCIS wants URIs here; a bare reference typed by hand is left out.
                if !is_uri(&id) {
                    continue;
                }
                let kind = match kind.as_str() {
                    "po" => BizTransactionKind::PurchaseOrder,
                    _ => BizTransactionKind::DespatchAdvice,
                };
                transactions.push(BizTransaction { kind, id });
            }
        }
        Ok(ReceiptContext {
            shipment,
            now,
            actor,
            site,
            transactions,
        })
    }
}

/// This site's GLN as a Digital Link URI, for events' read point and business location.
pub(crate) fn site_location(conn: &Connection) -> Result<Option<String>, StoreError> {
    Ok(conn
        .prepare_cached("SELECT value FROM settings WHERE key = 'site_gln'")?
        .query_row([], |r| r.get::<_, String>(0))
        .optional()?
        .and_then(|v| Gln::parse(&v).ok())
        .map(|g| g.digital_link()))
}

fn is_uri(text: &str) -> bool {
    text.split_once(':').is_some_and(|(scheme, rest)| {
        !rest.is_empty()
            && scheme.starts_with(|c: char| c.is_ascii_alphabetic())
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
    }) && !text.contains(char::is_whitespace)
}

/// Assess and record one unit inside the caller's transaction: the receipt row and its EPCIS
/// event (a receiving event when verified, a failed-verification event otherwise) with its
/// outbox row.
fn receive_unit(
    conn: &Connection,
    pid: Option<&ProductIdentifier>,
    context: &ReceiptContext,
    today: NaiveDate,
) -> Result<Receipt, StoreError> {
    let assessment = assess(conn, pid, context.shipment, today)?;
    let Some((pid, serial)) = pid.and_then(|p| p.serial.as_deref().map(|s| (p, s))) else {
        return Ok(Receipt {
            assessment,
            receipt_id: None,
            event_id: None,
            held_for_data: false,
        });
    };
    let verdict = &assessment.verdict;
    let reasons: Vec<&str> = verdict.reasons.iter().map(|r| r.code()).collect();
    let verified = verdict.is_verified();
    let insert_receipt = |conn: &Connection, event_id: &str| -> Result<i64, StoreError> {
        conn.prepare_cached(
            "INSERT INTO receipts
                 (gtin, serial, lot, expiry, shipment, received_at, accepted, status, reasons,
                  event_id)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        )?
        .execute(params![
            gtin_key(&pid.gtin),
            serial,
            pid.lot,
            pid.expiry.map(iso_date),
            context.shipment.map(|s| s.0),
            timestamp(context.now),
            verified,
            verdict.status.as_str(),
            reasons.join(" "),
            event_id,
        ])?;
        Ok(conn.last_insert_rowid())
    };
    if !verified
        && let Some(event_id) = repeated_failure(conn, pid, serial, context, &reasons.join(" "))?
    {
        // The same refused scan again within the window (a scanner stuck in a loop, a clerk
        // trying again): its own receipt row, but the event already queued stands for it too.
        let receipt_id = insert_receipt(conn, &event_id)?;
        return Ok(Receipt {
            assessment,
            receipt_id: Some(receipt_id),
            event_id: Some(event_id),
            held_for_data: false,
        });
    }
    let (receipt_id, event_id) = record_receipt_in(conn, pid, serial, context, verdict)?;
    let held_for_data =
        !verified && exceptions::hold_for_data_in(conn, pid, serial, &assessment, context)?;
    Ok(Receipt {
        assessment,
        receipt_id: Some(receipt_id),
        event_id: Some(event_id),
        held_for_data,
    })
}

/// Records one receipt inside the caller's transaction: its event (a receiving event when
/// verified, a failed-verification event otherwise) with the outbox row, the receipt row, and
/// for a verified unit its place in the stock. Returns the receipt row and the event ID.
pub(crate) fn record_receipt_in(
    conn: &Connection,
    pid: &ProductIdentifier,
    serial: &str,
    context: &ReceiptContext,
    verdict: &Verdict,
) -> Result<(i64, String), StoreError> {
    let verified = verdict.is_verified();
    let reasons: Vec<&str> = verdict.reasons.iter().map(|r| r.code()).collect();
    let event = DeskEvent {
        action: if verified {
            DeskAction::ReceiveVerified
        } else {
            DeskAction::VerificationFailed
        },
        event_time: context.now,
        units: vec![desk_event::Unit {
            gtin: pid.gtin.as_str().to_string(),
            serial: serial.to_string(),
        }],
        read_point: context.site.clone(),
        biz_location: context.site.clone(),
        biz_transactions: context.transactions.clone(),
        lot: pid.lot.clone(),
        expiry: pid.expiry,
        failure_reasons: if verified {
            Vec::new()
        } else {
            reasons.iter().map(|r| r.to_string()).collect()
        },
        actor: None,
    };
    let kind = if verified {
        "receive"
    } else {
        "verification_failed"
    };
    let event_id = record_event(conn, &event, kind)?;
    let created = timestamp(context.now);
    conn.prepare_cached(
        "INSERT INTO receipts
             (gtin, serial, lot, expiry, shipment, received_at, accepted, status, reasons,
              event_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?
    .execute(params![
        gtin_key(&pid.gtin),
        serial,
        pid.lot,
        pid.expiry.map(iso_date),
        context.shipment.map(|s| s.0),
        created,
        verified,
        verdict.status.as_str(),
        reasons.join(" "),
        event_id,
    ])?;
    let receipt_id = conn.last_insert_rowid();
    if verified {
        // A unit restocked as a saleable return before it was ever received here already has
        // a stock row: it is simply on hand again.
        conn.prepare_cached(
            "INSERT INTO stock (gtin, serial, lot, expiry, shipment, received_at, state, changed_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, 0, ?6)
             ON CONFLICT(gtin, serial) DO UPDATE SET state = 0, changed_at = excluded.changed_at",
        )?
        .execute(params![
            gtin_key(&pid.gtin),
            serial,
            pid.lot,
            pid.expiry.map(iso_date),
            context.shipment.map(|s| s.0),
            created,
        ])?;
    }
    Ok((receipt_id, event_id))
}

/// How long a refused scan repeated unchanged adds no new event: at most one
/// verification-failed event per unit, reasons and minute reaches the outbox.
pub const REPEATED_FAILURE_WINDOW: chrono::TimeDelta = chrono::TimeDelta::seconds(60);

/// The verification-failed event of the unit's last refused receipt, when that receipt was
/// this same scan (lot, expiry, shipment and reasons alike) and its event is less than
/// [`REPEATED_FAILURE_WINDOW`] old. The window runs from the event, not from the last repeat,
/// so a scan repeated for an hour still leaves one event a minute in the audit trail. How many
/// scans an event stands for is the number of receipt rows that name it.
fn repeated_failure(
    conn: &Connection,
    pid: &ProductIdentifier,
    serial: &str,
    context: &ReceiptContext,
    reasons: &str,
) -> Result<Option<String>, StoreError> {
    // Only the last refused receipt is compared: an index seek, whatever the unit's history.
    let last: Option<(String, String)> = conn
        .prepare_cached(
            "SELECT r.event_id, e.created_at FROM receipts r JOIN events e USING (event_id)
             WHERE r.id = (SELECT id FROM receipts WHERE gtin = ?1 AND serial = ?2
                           AND accepted = 0 ORDER BY id DESC LIMIT 1)
               AND r.lot IS ?3 AND r.expiry IS ?4 AND r.shipment IS ?5 AND r.reasons = ?6",
        )?
        .query_row(
            params![
                gtin_key(&pid.gtin),
                serial,
                pid.lot,
                pid.expiry.map(iso_date),
                context.shipment.map(|s| s.0),
                reasons,
            ],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let Some((event_id, created)) = last else {
        return Ok(None);
    };
    let recent = DateTime::parse_from_rfc3339(&created)
        .ok()
        .is_some_and(|created| {
            let age = context.now.signed_duration_since(created);
            // A clock set back makes the event look young: start a new one then.
            age >= chrono::TimeDelta::zero() && age < REPEATED_FAILURE_WINDOW
        });
    Ok(recent.then_some(event_id))
}

/// A unit inside a scanned case: the case's aggregation data vouches for the lot and expiry
/// the supplier announced, as the pack's own barcode would for a unit scan.
fn vouched_identifier(conn: &Connection, sgtin: &Sgtin) -> Result<ProductIdentifier, StoreError> {
    let announced = unit(conn, &sgtin.gtin, &sgtin.serial)?;
    Ok(ProductIdentifier {
        gtin: sgtin.gtin.clone(),
        serial: Some(sgtin.serial.clone()),
        lot: announced.as_ref().and_then(|u| u.lot.clone()),
        expiry: announced.as_ref().and_then(|u| u.expiry),
    })
}

fn container_units(conn: &Connection, sscc: &Sscc) -> Result<Option<Vec<Sgtin>>, StoreError> {
    let key = sscc_key(sscc);
    let known = conn
        .prepare_cached(
            "SELECT 1 FROM container_units WHERE sscc = ?1
             UNION ALL SELECT 1 FROM container_containers WHERE sscc = ?1 LIMIT 1",
        )?
        .exists([key])?;
    if !known {
        return Ok(None);
    }
    // UNION (not UNION ALL) stops at cycles a faulty supplier file might contain.
    let mut stmt = conn.prepare_cached(
        "WITH RECURSIVE tree(sscc) AS (
             SELECT ?1
             UNION SELECT c.child FROM container_containers c JOIN tree t ON c.sscc = t.sscc
         )
         SELECT cu.gtin, cu.serial FROM container_units cu JOIN tree t ON cu.sscc = t.sscc
         ORDER BY cu.gtin, cu.serial",
    )?;
    let rows = stmt.query_map([key], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))?;
    let mut units = Vec::new();
    for row in rows {
        let (gtin, serial) = row?;
        let gtin = gtin_from_key(gtin)?;
        let sgtin = Sgtin::new(gtin, &serial)
            .map_err(|e| StoreError::Corrupt(format!("container child: {e}")))?;
        units.push(sgtin);
    }
    Ok(Some(units))
}
