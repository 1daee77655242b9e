//! `tracedesk config [KEY [VALUE]]`: show or set this site's settings, and opening the store
//! for every subcommand that needs one.

use crate::store::{KNOWN_SETTINGS, Store};
use anyhow::{Context, Result};
use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;

/// Open the store at `--db` / `TRACEDESK_DB`, or the default one in the user's data directory.
pub fn open_store(db: Option<PathBuf>) -> Result<Store> {
    let path = match db {
        Some(path) => path,
        None => Store::default_path()?,
    };
    Ok(Store::open(&path)?)
}

pub fn run(db: Option<PathBuf>, key: Option<String>, value: Option<String>) -> Result<ExitCode> {
    let mut store = open_store(db)?;
    let mut out = io::stdout().lock();
    match (key, value) {
        (None, _) => {
            let settings = store.settings()?;
            for known in KNOWN_SETTINGS {
                let value = settings
                    .iter()
                    .find(|(k, _)| k == known)
                    .map(|(_, v)| v.as_str());
                writeln!(out, "{known} = {}", value.unwrap_or("(not set)"))?;
            }
        }
        (Some(key), None) => {
            if !KNOWN_SETTINGS.contains(&key.as_str()) {
                anyhow::bail!(
                    "unknown setting \"{key}\"; known settings: {}",
                    KNOWN_SETTINGS.join(", ")
                );
            }
            match store.setting(&key)? {
                Some(value) => writeln!(out, "{value}")?,
                // Unset is an answer scripts can test, not an error worth a message.
                None => return Ok(ExitCode::FAILURE),
            }
        }
        (Some(key), Some(value)) => {
            let stored = store
                .set_setting(&key, &value)
                .with_context(|| format!("cannot set {key}"))?;
            writeln!(out, "{key} = {stored}")?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
