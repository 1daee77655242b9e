//! # Backups and restores of the store
//!
//! The store file is the only copy of receipts not yet synced, and DSCSA wants records kept six
//! years: a copy elsewhere must be cheap to make while the kiosk works, and never half made.
//!
//! [`Store::backup_to`] copies the live store with SQLite's online backup API. The copy reads one
//! snapshot: a read transaction held from the first page to the last, which in WAL mode blocks
//! no writer and which no writer can restart. It goes a few hundred pages at a time with a short
//! pause between steps, into a hidden file beside the destination (`.NAME.partial`, locked so two
//! copies never share it). That file is checked (`integrity_check`, schema version), fsynced, and
//! only then renamed over the destination, and the directory fsynced: a `kill -9` or a power cut
//! at any moment leaves the previous backup whole and the live store untouched. A backup is one
//! self-contained file in rollback-journal mode, with no `-wal` beside it to forget.
//!
//! [`restore`] checks the file it is given (a SQLite database, TraceDesk's tables, a schema this
//! build can read, intact) before touching anything. It refuses while any other connection has
//! the store open: in WAL mode every open connection holds a shared lock on the database file
//! for as long as it is open, so an exclusive lock is had only when nobody else uses the store.
//! Under that lock the write-ahead log is checkpointed into the file, so the file alone is the
//! whole old store; it is kept as `<db>.before-restore-<time>` (a hard link, a copy where the
//! file system has none) and the new copy is renamed over the path, which therefore always holds
//! a whole store, the old or the new. A process that opens the store in the milliseconds between
//! that check and the rename is not guarded against: the kiosk and `sync` must be stopped first.
//!
//! Daily backups ([`Store::daily_backup`]) go to the `backup_dir` setting, keep the
//! `backup_keep` newest files, and record their outcome in the settings (`backup_last_ok`,
//! `backup_last_error`) for the kiosk's status bar. Time is always passed in, never read here.

use super::{Store, StoreError, put_setting, schema, timestamp};
use chrono::{DateTime, NaiveDateTime, TimeDelta, Utc};
use rusqlite::backup::{Backup, StepResult};
use rusqlite::{Connection, ErrorCode, OpenFlags, params};
use std::ffi::OsString;
use std::fs::{self, File, OpenOptions, TryLockError};
use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Settings key: the directory daily backups go to (absolute).
pub const DIR_KEY: &str = "backup_dir";
/// Settings key: how many daily backups to keep.
pub const KEEP_KEY: &str = "backup_keep";
/// The backup folder as `config` and the settings screen accept it: absolute, because the
/// kiosk and the command line may run from any directory.
pub fn parse_dir(value: &str) -> Result<String, String> {
    let value = value.trim();
    if Path::new(value).is_absolute() {
        Ok(value.to_owned())
    } else {
        Err(format!(
            "\"{value}\" is not an absolute path; write e.g. /var/backups/tracedesk"
        ))
    }
}

/// How many daily backups to keep: 1 to 365.
pub fn parse_keep(value: &str) -> Result<u32, String> {
    match value.trim().parse::<u32>() {
        Ok(n @ 1..=365) => Ok(n),
        _ => Err("keep 1 to 365 backups".to_owned()),
    }
}

/// Settings key: when the last good backup was made (RFC 3339, UTC).
pub const LAST_OK_KEY: &str = "backup_last_ok";
/// Settings key: why the last backup failed; absent when it worked.
pub const LAST_ERROR_KEY: &str = "backup_last_error";
/// Settings key: when the last backup failed.
pub const LAST_ERROR_AT_KEY: &str = "backup_last_error_at";

/// Daily backups kept when `backup_keep` is not set: two weeks.
pub const DEFAULT_KEEP: u32 = 14;
/// A daily backup is due once the last good one is this old. The kiosk checks hourly, so a
/// full 24 hours would drift the backup an hour later every day.
pub const BACKUP_INTERVAL: TimeDelta = TimeDelta::hours(23);
/// The last good backup is stale (the kiosk warns) once it is older than this.
pub const STALE_AFTER: TimeDelta = TimeDelta::days(2);

/// Pages copied per step: about a megabyte with 4 KiB pages.
const PAGES_PER_STEP: i32 = 256;
/// The pause between steps, which leaves the disk to the kiosk's receipts.
const STEP_PAUSE: Duration = Duration::from_millis(5);
/// How many busy steps in a row a copy waits through (about 10 s) before it gives up.
const MAX_BUSY_STEPS: u32 = 2_000;

/// Daily backup files are `tracedesk-YYYYMMDD-HHMMSS.db` (UTC): their names sort by time.
const FILE_PREFIX: &str = "tracedesk-";
const FILE_SUFFIX: &str = ".db";
const FILE_TIME: &str = "%Y%m%d-%H%M%S";
/// The temporary file a copy is written into, beside its destination: `.NAME.partial`.
const PARTIAL_SUFFIX: &str = ".partial";

/// Tables every TraceDesk store has had since schema version 1.
const REQUIRED_TABLES: [&str; 6] = [
    "settings", "products", "units", "receipts", "events", "outbox",
];

/// What can go wrong with a backup or a restore, in the user's terms.
///
/// As with [`StoreError`], each message carries the SQLite or I/O error's own words, so that
/// error is not also its source.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BackupError {
    #[error("cannot {action} {}: {error}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        error: io::Error,
    },
    #[error("{}: {error}", path.display())]
    Sql {
        path: PathBuf,
        error: rusqlite::Error,
    },
    #[error("{} is an empty file, not a TraceDesk store", path.display())]
    EmptyFile { path: PathBuf },
    #[error("{} is not a TraceDesk store: {reason}", path.display())]
    NotTraceDesk { path: PathBuf, reason: String },
    #[error("{} is damaged: {report}", path.display())]
    Damaged { path: PathBuf, report: String },
    #[error(
        "{} was written by a newer TraceDesk (schema version {found}; this version knows up to \
         {supported}); upgrade TraceDesk to restore it",
        path.display()
    )]
    TooNew {
        path: PathBuf,
        found: i64,
        supported: i64,
    },
    #[error(
        "the copy {} has schema version {found}, not {expected}; it was not kept",
        path.display()
    )]
    WrongVersion {
        path: PathBuf,
        found: i64,
        expected: i64,
    },
    #[error(
        "the store {} is open in another process (the kiosk, `tracedesk sync`...); close it and \
         try again",
        path.display()
    )]
    InUse { path: PathBuf },
    #[error("another copy to {} is under way", path.display())]
    Busy { path: PathBuf },
    #[error("the copy of {} did not finish: the store stayed locked", path.display())]
    Stalled { path: PathBuf },
    #[error("{} is the store itself; name another file", path.display())]
    SameFile { path: PathBuf },
}

fn io_error(action: &'static str, path: &Path) -> impl FnOnce(io::Error) -> BackupError {
    let path = path.to_path_buf();
    move |error| BackupError::Io {
        action,
        path,
        error,
    }
}

fn sql_error(path: &Path) -> impl FnOnce(rusqlite::Error) -> BackupError {
    let path = path.to_path_buf();
    move |error| BackupError::Sql { path, error }
}

fn error_code(error: &rusqlite::Error) -> Option<ErrorCode> {
    match error {
        rusqlite::Error::SqliteFailure(e, _) => Some(e.code),
        _ => None,
    }
}

/// The outcome of the last backups, as the settings record it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupStatus {
    /// Where daily backups go; `None` when not configured.
    pub dir: Option<PathBuf>,
    /// How many daily backups are kept.
    pub keep: u32,
    /// When the last good backup was made.
    pub last_ok: Option<DateTime<Utc>>,
    /// Why the last attempt failed, when it did (a good backup clears it).
    pub last_error: Option<String>,
}

impl BackupStatus {
    /// A daily backup should be made now: one is configured and the last good one is
    /// [`BACKUP_INTERVAL`] old, or there is none, or the clock was set back before it.
    pub fn due(&self, now: DateTime<Utc>) -> bool {
        self.dir.is_some()
            && self.last_ok.is_none_or(|at| {
                let age = now.signed_duration_since(at);
                age < TimeDelta::zero() || age >= BACKUP_INTERVAL
            })
    }

    /// The last good backup is more than [`STALE_AFTER`] old, or there is none.
    pub fn stale(&self, now: DateTime<Utc>) -> bool {
        self.last_ok
            .is_none_or(|at| now.signed_duration_since(at) > STALE_AFTER)
    }
}

/// What [`Store::daily_backup`] did.
#[derive(Debug)]
pub enum DailyBackup {
    /// No `backup_dir` is set.
    NotConfigured,
    /// The last good backup is recent enough.
    NotDue,
    /// A backup was written to `path`; older ones beyond `backup_keep` were removed.
    Made {
        path: PathBuf,
        removed: Vec<PathBuf>,
    },
    /// The backup failed; the failure is recorded in the settings.
    Failed(BackupError),
}

/// What [`restore`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Restored {
    /// The store now holding the restored copy.
    pub db: PathBuf,
    /// Where the store it replaced is kept; `None` when there was none.
    pub previous: Option<PathBuf>,
    /// The restored copy's schema version (an older one is upgraded when the store is opened).
    pub schema_version: i64,
}

/// The file name of a daily backup made at `now`.
pub fn backup_file_name(now: DateTime<Utc>) -> String {
    format!("{FILE_PREFIX}{}{FILE_SUFFIX}", now.format(FILE_TIME))
}

/// When the daily backup named `name` was made; `None` for any other name.
fn backup_file_time(name: &str) -> Option<NaiveDateTime> {
    let stamp = name.strip_prefix(FILE_PREFIX)?.strip_suffix(FILE_SUFFIX)?;
    NaiveDateTime::parse_from_str(stamp, FILE_TIME).ok()
}

impl Store {
    /// Copy the store to `dest`, consistent while others keep writing; `dest` is a file, or a
    /// directory to write `tracedesk-YYYYMMDD-HHMMSS.db` (from `now`) into. Returns the file
    /// written. Whatever happens, `dest` holds either its previous content or the whole copy.
    pub fn backup_to(&self, dest: &Path, now: DateTime<Utc>) -> Result<PathBuf, BackupError> {
        let dest = if dest.is_dir() {
            dest.join(backup_file_name(now))
        } else {
            dest.to_path_buf()
        };
        // Renamed over the store, the copy would leave every open connection writing to a file
        // no longer there.
        if same_file(&dest, self.path()) {
            return Err(BackupError::SameFile { path: dest });
        }
        let partial = Partial::claim(&dest)?;
        copy_database(self.conn(), self.path(), &partial.path)?;
        let found = check_store_file(&partial.path)?;
        if found != schema::VERSION {
            return Err(BackupError::WrongVersion {
                path: dest,
                found,
                expected: schema::VERSION,
            });
        }
        partial.commit(&dest)?;
        tracing::info!("store backed up to {}", dest.display());
        Ok(dest)
    }

    /// The backup settings and the outcome of the last backups.
    pub fn backup_status(&self) -> Result<BackupStatus, StoreError> {
        let keep = match self.setting(KEEP_KEY)? {
            Some(text) => text
                .parse()
                .map_err(|_| StoreError::Corrupt(format!("{KEEP_KEY}: \"{text}\"")))?,
            None => DEFAULT_KEEP,
        };
        let last_ok = self
            .setting(LAST_OK_KEY)?
            .map(|text| {
                DateTime::parse_from_rfc3339(&text)
                    .map(|at| at.with_timezone(&Utc))
                    .map_err(|e| StoreError::Corrupt(format!("{LAST_OK_KEY}: {e}")))
            })
            .transpose()?;
        Ok(BackupStatus {
            dir: self.setting(DIR_KEY)?.map(PathBuf::from),
            keep,
            last_ok,
            last_error: self.setting(LAST_ERROR_KEY)?,
        })
    }

    /// Record a good backup made at `now` (clearing the last failure).
    pub fn record_backup_ok(&mut self, now: DateTime<Utc>) -> Result<(), StoreError> {
        let tx = self.conn_mut().transaction()?;
        put_setting(&tx, LAST_OK_KEY, &timestamp(now))?;
        tx.execute(
            "DELETE FROM settings WHERE key IN (?1, ?2)",
            params![LAST_ERROR_KEY, LAST_ERROR_AT_KEY],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Record a backup that failed at `now`, and why.
    pub fn record_backup_failure(
        &mut self,
        now: DateTime<Utc>,
        error: &str,
    ) -> Result<(), StoreError> {
        let tx = self.conn_mut().transaction()?;
        put_setting(&tx, LAST_ERROR_KEY, error)?;
        put_setting(&tx, LAST_ERROR_AT_KEY, &timestamp(now))?;
        tx.commit()?;
        Ok(())
    }

    /// Make the daily backup into `backup_dir` when one is due, keep the `backup_keep` newest
    /// and record the outcome. An error is returned only when the settings cannot be read or
    /// written; a failed backup is [`DailyBackup::Failed`].
    pub fn daily_backup(&mut self, now: DateTime<Utc>) -> Result<DailyBackup, StoreError> {
        let status = self.backup_status()?;
        let Some(dir) = status.dir.as_deref() else {
            return Ok(DailyBackup::NotConfigured);
        };
        if !status.due(now) {
            return Ok(DailyBackup::NotDue);
        }
        let made = if dir.is_dir() {
            self.backup_to(dir, now)
        } else {
            // A missing directory is a backup disk not mounted: say so rather than write a file
            // named after the directory.
            Err(BackupError::Io {
                action: "write backups to",
                path: dir.to_path_buf(),
                error: io::Error::new(io::ErrorKind::NotFound, "not a directory"),
            })
        };
        match made {
            Ok(path) => {
                self.record_backup_ok(now)?;
                let removed = prune_backups(dir, status.keep).unwrap_or_else(|e| {
                    tracing::warn!("cannot remove old backups: {e}");
                    Vec::new()
                });
                Ok(DailyBackup::Made { path, removed })
            }
            Err(error) => {
                tracing::warn!("daily backup failed: {error}");
                self.record_backup_failure(now, &error.to_string())?;
                Ok(DailyBackup::Failed(error))
            }
        }
    }
}

/// Keep the `keep` newest daily backups (`tracedesk-YYYYMMDD-HHMMSS.db`) in `dir` and remove the
/// older ones, with the leftovers of copies killed before they finished; other files are never
/// touched. Returns the backups removed.
pub fn prune_backups(dir: &Path, keep: u32) -> Result<Vec<PathBuf>, BackupError> {
    let entries = fs::read_dir(dir).map_err(io_error("list", dir))?;
    let mut backups = Vec::new();
    for entry in entries {
        let entry = entry.map_err(io_error("list", dir))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else {
            continue;
        };
        if let Some(at) = backup_file_time(name) {
            backups.push((at, entry.path()));
        } else if name
            .strip_prefix('.')
            .and_then(|n| n.strip_suffix(PARTIAL_SUFFIX))
            .is_some_and(|n| backup_file_time(n).is_some())
        {
            Partial::remove_if_abandoned(&entry.path());
        }
    }
    backups.sort_unstable_by_key(|(at, _)| std::cmp::Reverse(*at));
    let mut removed = Vec::new();
    for (_, path) in backups.into_iter().skip(keep as usize) {
        fs::remove_file(&path).map_err(io_error("remove", &path))?;
        removed.push(path);
    }
    Ok(removed)
}

/// Restore the store at `db` from the backup `src`, keeping the store it replaces as
/// `<db>.before-restore-YYYYMMDD-HHMMSS` (from `now`). `src` is checked before anything is
/// touched; nothing changes when it is refused or when another process has `db` open.
pub fn restore(src: &Path, db: &Path, now: DateTime<Utc>) -> Result<Restored, BackupError> {
    if same_file(src, db) {
        return Err(BackupError::SameFile {
            path: src.to_path_buf(),
        });
    }
    let db_exists = db.exists();
    let schema_version = check_store_file(src)?;
    if db_exists {
        // Refuse early, before minutes of copying, when the kiosk is running; checked again
        // just before the swap.
        quiesce(db)?;
    }
    let partial = Partial::claim(db)?;
    {
        let source = Connection::open_with_flags(
            src,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(sql_error(src))?;
        copy_database(&source, src, &partial.path)?;
    }
    let copied = check_store_file(&partial.path)?;
    if copied != schema_version {
        return Err(BackupError::WrongVersion {
            path: partial.path.clone(),
            found: copied,
            expected: schema_version,
        });
    }
    let previous = if db_exists {
        quiesce(db)?;
        Some(keep_previous(db, now)?)
    } else {
        None
    };
    partial.commit(db)?;
    tracing::info!("store {} restored from {}", db.display(), src.display());
    Ok(Restored {
        db: db.to_path_buf(),
        previous,
        schema_version,
    })
}

/// Copy the database `source` (at `source_path`) into the empty file `target`, page by page
/// from one snapshot, leaving `target` a self-contained rollback-journal database.
fn copy_database(
    source: &Connection,
    source_path: &Path,
    target: &Path,
) -> Result<(), BackupError> {
    let mut to = Connection::open(target).map_err(sql_error(target))?;
    // Held from the first step to the last, this read transaction is the snapshot copied: a
    // step taking its own would see each commit of the kiosk and restart the copy.
    let snapshot = source
        .unchecked_transaction()
        .map_err(sql_error(source_path))?;
    snapshot
        .query_row("SELECT count(*) FROM sqlite_schema", [], |_| Ok(()))
        .map_err(sql_error(source_path))?;
    {
        let backup = Backup::new(&snapshot, &mut to).map_err(sql_error(target))?;
        let mut busy = 0;
        loop {
            match backup.step(PAGES_PER_STEP).map_err(sql_error(target))? {
                StepResult::Done => break,
                StepResult::More => busy = 0,
                _ => {
                    busy += 1;
                    if busy > MAX_BUSY_STEPS {
                        return Err(BackupError::Stalled {
                            path: source_path.to_path_buf(),
                        });
                    }
                }
            }
            std::thread::sleep(STEP_PAUSE);
        }
    }
    drop(snapshot);
    // The copy carries the source's WAL flag in its header; a backup is one file, so turn it
    // back to a rollback journal (the store goes back to WAL when it is opened as the store).
    to.pragma_update_and_check(None, "journal_mode", "DELETE", |r| r.get::<_, String>(0))
        .map_err(sql_error(target))?;
    to.close().map_err(|(_, error)| BackupError::Sql {
        path: target.to_path_buf(),
        error,
    })
}

/// Check that `path` is a whole TraceDesk store this build can read, cheapest checks first;
/// returns its schema version.
fn check_store_file(path: &Path) -> Result<i64, BackupError> {
    let meta = fs::metadata(path).map_err(io_error("read", path))?;
    if !meta.is_file() {
        return Err(BackupError::NotTraceDesk {
            path: path.to_path_buf(),
            reason: "not a file".into(),
        });
    }
    if meta.len() == 0 {
        return Err(BackupError::EmptyFile {
            path: path.to_path_buf(),
        });
    }
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(sql_error(path))?;
    let not_a_database = |error: rusqlite::Error| match error_code(&error) {
        Some(ErrorCode::NotADatabase) => BackupError::NotTraceDesk {
            path: path.to_path_buf(),
            reason: "not a SQLite database".into(),
        },
        Some(ErrorCode::DatabaseCorrupt) => BackupError::Damaged {
            path: path.to_path_buf(),
            report: error.to_string(),
        },
        _ => BackupError::Sql {
            path: path.to_path_buf(),
            error,
        },
    };
    // Tables first: another program's database with a high user_version is not "a newer
    // TraceDesk".
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_schema WHERE type = 'table'")
        .and_then(|mut stmt| {
            stmt.query_map([], |r| r.get(0))?
                .collect::<Result<Vec<String>, _>>()
        })
        .map_err(not_a_database)?;
    let missing: Vec<&str> = REQUIRED_TABLES
        .into_iter()
        .filter(|t| !tables.iter().any(|have| have == t))
        .collect();
    if !missing.is_empty() {
        return Err(BackupError::NotTraceDesk {
            path: path.to_path_buf(),
            reason: format!("it has no {} table", missing.join(", ")),
        });
    }
    let version: i64 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .map_err(not_a_database)?;
    if version > schema::VERSION {
        return Err(BackupError::TooNew {
            path: path.to_path_buf(),
            found: version,
            supported: schema::VERSION,
        });
    }
    if version < 1 {
        return Err(BackupError::NotTraceDesk {
            path: path.to_path_buf(),
            reason: "it has no schema version".into(),
        });
    }
    // At most a few problems: the first say enough, and a badly damaged file has millions.
    let report: Vec<String> = conn
        .prepare("PRAGMA integrity_check(5)")
        .and_then(|mut stmt| {
            stmt.query_map([], |r| r.get(0))?
                .collect::<Result<Vec<String>, _>>()
        })
        .map_err(not_a_database)?;
    if report != ["ok"] {
        return Err(BackupError::Damaged {
            path: path.to_path_buf(),
            report: report.join("; "),
        });
    }
    Ok(version)
}

/// Make sure no other connection has the store at `db` open, and that its file alone holds all
/// of it: the write-ahead log checkpointed into it and emptied.
fn quiesce(db: &Path) -> Result<(), BackupError> {
    let in_use = || BackupError::InUse {
        path: db.to_path_buf(),
    };
    let conn = Connection::open_with_flags(
        db,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(sql_error(db))?;
    conn.busy_timeout(Duration::from_millis(200))
        .map_err(sql_error(db))?;
    // In exclusive locking mode the first transaction takes an exclusive lock on the database
    // file and keeps it; any other open connection holds a shared lock on it all along.
    conn.pragma_update(None, "locking_mode", "EXCLUSIVE")
        .map_err(sql_error(db))?;
    let locked = conn.execute_batch("BEGIN EXCLUSIVE; COMMIT;");
    match locked {
        Err(e) if matches!(error_code(&e), Some(ErrorCode::DatabaseBusy)) => return Err(in_use()),
        other => other.map_err(sql_error(db))?,
    }
    let (busy, _, _): (i64, i64, i64) = conn
        .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .map_err(sql_error(db))?;
    if busy != 0 {
        return Err(in_use());
    }
    conn.close().map_err(|(_, error)| BackupError::Sql {
        path: db.to_path_buf(),
        error,
    })?;
    // Closing the last connection removes the log; one left with frames in it would belong to
    // a writer that slipped in, and must not end up beside the restored file.
    let wal = companion(db, "-wal");
    if fs::metadata(&wal).is_ok_and(|m| m.len() > 0) {
        return Err(in_use());
    }
    Ok(())
}

/// Keep the store at `db` as `<db>.before-restore-<now>` (`-2`, `-3`... when that exists).
fn keep_previous(db: &Path, now: DateTime<Utc>) -> Result<PathBuf, BackupError> {
    let stamp = now.format(FILE_TIME).to_string();
    for n in 1..=100 {
        let mut name = db.file_name().map(OsString::from).unwrap_or_default();
        name.push(format!(".before-restore-{stamp}"));
        if n > 1 {
            name.push(format!("-{n}"));
        }
        let kept = db.with_file_name(name);
        let made = match fs::hard_link(db, &kept) {
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            // File systems without hard links: a copy, which the rename cannot disturb.
            Err(_) => copy_new(db, &kept),
            Ok(()) => Ok(()),
        };
        match made {
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            other => other.map_err(io_error("keep the current store as", &kept))?,
        }
        sync_parent(&kept)?;
        return Ok(kept);
    }
    Err(BackupError::Io {
        action: "find a free name to keep",
        path: db.to_path_buf(),
        error: io::Error::new(
            io::ErrorKind::AlreadyExists,
            "too many restores this second",
        ),
    })
}

fn copy_new(from: &Path, to: &Path) -> io::Result<()> {
    let mut source = File::open(from)?;
    let mut target = OpenOptions::new().write(true).create_new(true).open(to)?;
    io::copy(&mut source, &mut target)?;
    target.sync_all()
}

/// Both paths name one existing file.
fn same_file(a: &Path, b: &Path) -> bool {
    matches!((a.canonicalize(), b.canonicalize()), (Ok(a), Ok(b)) if a == b)
}

/// `path` with `suffix` added to its file name (`store.db` + `-wal`).
fn companion(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

fn sync_parent(path: &Path) -> Result<(), BackupError> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    // A rename is durable only once the directory holding it is.
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_error("sync the directory", dir))
}

/// The hidden file a copy is written into beside its destination, locked (`flock`) for as long
/// as the copy runs so that two copies never share it, and removed unless committed. A copy
/// killed before it finished leaves it behind unlocked: the next copy to the same destination
/// reuses it, and [`prune_backups`] removes it.
struct Partial {
    path: PathBuf,
    file: File,
    committed: bool,
}

impl Partial {
    fn claim(dest: &Path) -> Result<Partial, BackupError> {
        let mut name = OsString::from(".");
        name.push(dest.file_name().unwrap_or(dest.as_os_str()));
        name.push(PARTIAL_SUFFIX);
        let path = dest.with_file_name(name);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io_error("create", &path))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                return Err(BackupError::Busy {
                    path: dest.to_path_buf(),
                });
            }
            Err(TryLockError::Error(error)) => {
                return Err(BackupError::Io {
                    action: "lock",
                    path,
                    error,
                });
            }
        }
        // What a killed copy left: its journal would be played back into the new copy.
        remove_companions(&path);
        file.set_len(0).map_err(io_error("truncate", &path))?;
        Ok(Partial {
            path,
            file,
            committed: false,
        })
    }

    /// Make the copy durable, then give it its name: the rename is the one moment `dest`
    /// changes, from its previous content to the whole copy.
    fn commit(mut self, dest: &Path) -> Result<(), BackupError> {
        remove_companions(&self.path);
        self.file.sync_all().map_err(io_error("sync", &self.path))?;
        fs::rename(&self.path, dest).map_err(io_error("rename the copy to", dest))?;
        self.committed = true;
        sync_parent(dest)
    }

    /// Remove a copy's leftover unless a copy still holds it.
    fn remove_if_abandoned(path: &Path) {
        let Ok(file) = OpenOptions::new().write(true).open(path) else {
            return;
        };
        if file.try_lock().is_ok() {
            remove_companions(path);
            match fs::remove_file(path) {
                Ok(()) => tracing::info!("removed an unfinished backup {}", path.display()),
                Err(e) => tracing::warn!("cannot remove {}: {e}", path.display()),
            }
        }
    }
}

impl Drop for Partial {
    fn drop(&mut self) {
        if !self.committed {
            remove_companions(&self.path);
            let _ = fs::remove_file(&self.path);
        }
    }
}

fn remove_companions(path: &Path) {
    for suffix in ["-journal", "-wal", "-shm"] {
        let _ = fs::remove_file(companion(path, suffix));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(y: i32, m: u32, d: u32, h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, h, 0, 0).unwrap()
    }

    fn status(last_ok: Option<DateTime<Utc>>) -> BackupStatus {
        BackupStatus {
            dir: Some(PathBuf::from("/backups")),
            keep: DEFAULT_KEEP,
            last_ok,
            last_error: None,
        }
    }

    #[test]
    fn a_daily_backup_is_due_after_23_hours_and_stale_after_two_days() {
        let t0 = at(2030, 1, 1, 2);
        let s = status(Some(t0));
        assert!(!s.due(t0 + TimeDelta::hours(22)));
        assert!(s.due(t0 + TimeDelta::hours(23)));
        assert!(!s.stale(t0 + TimeDelta::hours(48)));
        assert!(s.stale(t0 + TimeDelta::hours(49)));
        // A clock set back before the last backup must not stop backups until it catches up.
        assert!(s.due(t0 - TimeDelta::hours(1)));
    }

    #[test]
    fn never_backed_up_is_due_and_stale_and_unconfigured_is_never_due() {
        let now = at(2030, 1, 1, 2);
        assert!(status(None).due(now));
        assert!(status(None).stale(now));
        let unconfigured = BackupStatus {
            dir: None,
            ..status(None)
        };
        assert!(!unconfigured.due(now));
        assert!(unconfigured.stale(now));
    }

    #[test]
    fn backup_names_carry_their_time_and_nothing_else_is_taken_for_one() {
        let now = Utc.with_ymd_and_hms(2030, 12, 31, 23, 59, 58).unwrap();
        let name = backup_file_name(now);
        assert_eq!(name, "tracedesk-20301231-235958.db");
        assert_eq!(backup_file_time(&name), Some(now.naive_utc()));
        for other in [
            "tracedesk-important.db",
            "tracedesk-20301231-235958.db.bak",
            "tracedesk.db",
            "tracedesk-20301331-000000.db",
        ] {
            assert_eq!(backup_file_time(other), None, "{other}");
        }
    }
}
