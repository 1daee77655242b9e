//! `tracedesk backup DEST` and `tracedesk restore SRC`: a copy of the store that is whole or
//! absent, and putting one back after it was checked ([`crate::store::backup`]).
//!
//! `backup` records its outcome where the kiosk's status bar reads it, so a backup run by cron
//! counts as the last good one (or shows its failure) as the kiosk's own daily backup does.
//! `restore` never opens the store as the other commands do: that would create a missing one,
//! and its own connection would make the store look in use.

use super::config::open_store;
use crate::store::{Store, backup};
use anyhow::Result;
use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;

/// Back the store up to `dest` (a file, or a directory to name the file in); prints the file
/// written.
pub fn backup(db: Option<PathBuf>, dest: PathBuf) -> Result<ExitCode> {
    let mut store = open_store(db)?;
    let now = chrono::Utc::now();
    match store.backup_to(&dest, now) {
        Ok(path) => {
            store.record_backup_ok(now)?;
            writeln!(io::stdout().lock(), "{}", path.display())?;
            Ok(ExitCode::SUCCESS)
        }
        Err(error) => {
            if let Err(e) = store.record_backup_failure(now, &error.to_string()) {
                tracing::warn!("cannot record the failed backup: {e}");
            }
            Err(error.into())
        }
    }
}

/// Replace the store with the backup `src`, keeping the store it replaces beside it.
pub fn restore(db: Option<PathBuf>, src: PathBuf) -> Result<ExitCode> {
    let db = match db {
        Some(path) => path,
        None => Store::default_path()?,
    };
    let restored = backup::restore(&src, &db, chrono::Utc::now())?;
    let mut out = io::stdout().lock();
    writeln!(
        out,
        "restored {} from {} (schema version {})",
        restored.db.display(),
        src.display(),
        restored.schema_version
    )?;
    if let Some(previous) = &restored.previous {
        writeln!(out, "the previous store is kept as {}", previous.display())?;
    }
    Ok(ExitCode::SUCCESS)
}
