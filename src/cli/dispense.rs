//! `tracedesk dispense|return|restock [--json] [SCAN...]`: a unit leaving the shelf (to a
//! patient, back to the supplier) or a saleable return coming back. Each scan is verified for
//! that movement first; a verified one is recorded with its EPCIS event in one transaction
//! BEFORE its line is printed. One line per input, in input order, as `receive` does.

use super::config::open_store;
use super::input::ScanInput;
use super::verify::{verdict_json, verdict_text};
use crate::gs1::{self, ParseContext};
use crate::verify::Movement;
use anyhow::{Context, Result};
use serde_json::{Value, json};
use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;

pub fn run(
    db: Option<PathBuf>,
    input: ScanInput,
    movement: Movement,
    json: bool,
) -> Result<ExitCode> {
    let mut store = open_store(db)?;
    let today = super::today();
    let ctx = ParseContext::new(today);
    let mut out = io::BufWriter::new(io::stdout().lock());
    for line in input {
        let bytes = line.context("reading scans from stdin")?;
        let scan = gs1::parse(&bytes, &ctx);
        let now = chrono::Local::now().fixed_offset();
        let outcome = store.move_unit(&scan, movement, today, now)?;
        let a = &outcome.assessment;
        if json {
            let mut obj = verdict_json(&scan, &a.verdict, Some(a));
            obj.insert("action".into(), json!(movement.as_str()));
            obj.insert("recorded".into(), json!(outcome.record.is_some()));
            obj.insert(
                "event_id".into(),
                json!(outcome.record.as_ref().map(|r| &r.event_id)),
            );
            writeln!(out, "{}", Value::Object(obj))?;
        } else {
            let done = if outcome.record.is_some() {
                format!("  -> {}", movement.as_str())
            } else {
                String::new()
            };
            writeln!(out, "{}{done}", verdict_text(&scan, &a.verdict, Some(a)))?;
        }
        out.flush()?;
    }
    store.checkpoint()?;
    Ok(ExitCode::SUCCESS)
}
