//! `tracedesk events`: the EPCIS events recorded here; one EPCISDocument, or with `--json` one
//! complete event per line.

use super::config::open_store;
use crate::epcis::event::epcis_document;
use anyhow::{Context, Result};
use serde_json::Value;
use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;

pub fn run(db: Option<PathBuf>, json: bool) -> Result<ExitCode> {
    let store = open_store(db)?;
    let mut out = io::BufWriter::new(io::stdout().lock());
    let mut events = Vec::new();
    for stored in store.events()? {
        let event: Value = serde_json::from_str(&stored.json)
            .with_context(|| format!("event {} in the store is not JSON", stored.event_id))?;
        if json {
            writeln!(out, "{event}")?;
        } else {
            events.push(event);
        }
    }
    if !json {
        let document = epcis_document(events, chrono::Local::now().fixed_offset());
        writeln!(out, "{}", serde_json::to_string_pretty(&document)?)?;
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}
