//! `tracedesk events`: the EPCIS events recorded here; one EPCISDocument, or with `--json` one
//! complete event per line. With `--unit SCAN` (or `tracedesk audit SCAN`): only that unit's
//! events, its audit export.

use super::config::open_store;
use crate::epcis::event::epcis_document;
use crate::gs1::{self, ParseContext, Sgtin};
use anyhow::{Context, Result};
use serde_json::Value;
use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;

pub fn run(db: Option<PathBuf>, json: bool, unit: Option<Vec<u8>>) -> Result<ExitCode> {
    let store = open_store(db)?;
    let stored = match unit {
        None => store.events()?,
        Some(bytes) => {
            // An audit export: the unit's whole history here as one EPCIS document.
            let scan = gs1::parse(&bytes, &ParseContext::new(super::today()));
            let (Some(gtin), Some(serial)) = (scan.gtin(), scan.serial()) else {
                anyhow::bail!("the scan identifies no unit (GTIN and serial needed)");
            };
            store.unit_events(&Sgtin::new(gtin, serial)?)?
        }
    };
    let mut out = io::BufWriter::new(io::stdout().lock());
    let mut events = Vec::new();
    for stored in stored {
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
