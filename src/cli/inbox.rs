//! `tracedesk inbox [--json]`: import what waits in the partner inbox (`config inbox_dir`), each
//! file once, moved to `done/` or `failed/`; for a cron job or a headless kiosk (the kiosk does
//! the same by itself).

use super::config::open_store;
use anyhow::{Context, Result};
use serde_json::json;
use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;

pub fn run(db: Option<PathBuf>, json: bool) -> Result<ExitCode> {
    let mut store = open_store(db)?;
    let dir = store
        .setting("inbox_dir")?
        .context("no inbox is set: tracedesk config inbox_dir /path/to/folder")?;
    let outcomes =
        crate::inbox::process(&mut store, std::path::Path::new(&dir), chrono::Utc::now())?;
    let mut out = io::stdout().lock();
    let mut failed = false;
    for o in &outcomes {
        failed |= o.result.is_err();
        if json {
            let line = match &o.result {
                Ok(summary) => json!({"file": o.name, "ok": true, "summary": summary,
                                      "moved_to": o.moved_to.display().to_string()}),
                Err(reason) => json!({"file": o.name, "ok": false, "error": reason,
                                      "moved_to": o.moved_to.display().to_string()}),
            };
            writeln!(out, "{line}")?;
        } else {
            match &o.result {
                Ok(summary) => writeln!(out, "imported {}: {summary}", o.name)?,
                Err(reason) => writeln!(out, "REFUSED {}: {reason}", o.name)?,
            }
        }
    }
    if outcomes.is_empty() && !json {
        writeln!(out, "nothing waiting in {dir}")?;
    }
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}
