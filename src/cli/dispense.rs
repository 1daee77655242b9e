//! `tracedesk dispense|return|restock [--json] [SCAN...]`: a unit leaving the shelf (to a
//! patient, back to the supplier) or a saleable return coming back. Each scan is verified for
//! that movement first; a verified one is recorded with its EPCIS event in one transaction
//! BEFORE its line is printed. One line per input, in input order, as `receive` does.
//!
//! A saleable return is what DSCSA verification with the manufacturer is for: when a
//! verification router is set, `restock` asks it first (context `dscsaSaleableReturn`) and
//! prints its answer (`lms`); a pack the manufacturer does not verify is not restocked, whatever
//! the local data says. A router that cannot be reached leaves the local verdict to decide, and
//! the question queued.

use super::config::open_store;
use super::input::ScanInput;
use super::verify::{lms_json, verdict_json, verdict_text};
use crate::desk::online;
use crate::gs1::{self, ParseContext};
use crate::store::MovementOutcome;
use crate::verify::lms;
use crate::verify::{Movement, ProductIdentifier};
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
    let router = match movement {
        Movement::Restock => online::configured_router(&store).unwrap_or_else(|e| {
            eprintln!("note: the manufacturer will not be asked: {e}");
            None
        }),
        _ => None,
    };
    let mut out = io::BufWriter::new(io::stdout().lock());
    for line in input {
        let bytes = line.context("reading scans from stdin")?;
        let scan = gs1::parse(&bytes, &ctx);
        let now = chrono::Local::now().fixed_offset();
        let lms = match (&router, ProductIdentifier::from_scan(&scan)) {
            (Some(router), Some(pid)) => Some(
                online::ask(
                    &mut store,
                    router,
                    &pid,
                    lms::Context::saleable_return(),
                    now,
                )
                .map_err(|e| e.to_string()),
            ),
            _ => None,
        };
        let refused_by_maker = matches!(&lms, Some(Ok(answer)) if !answer.verified);
        let outcome = if refused_by_maker {
            // Not restocked: the answer is shown with the local verdict, nothing recorded.
            MovementOutcome {
                assessment: store.verify(&scan, None, today)?,
                record: None,
            }
        } else {
            store.move_unit(&scan, movement, today, now)?
        };
        let a = &outcome.assessment;
        if json {
            let mut obj = verdict_json(&scan, &a.verdict, Some(a));
            if let Some(lms) = &lms {
                obj.insert("lms".into(), lms_json(lms));
            }
            obj.insert("action".into(), json!(movement.as_str()));
            obj.insert("recorded".into(), json!(outcome.record.is_some()));
            obj.insert(
                "event_id".into(),
                json!(outcome.record.as_ref().map(|r| &r.event_id)),
            );
            writeln!(out, "{}", Value::Object(obj))?;
        } else {
            let mut done = if outcome.record.is_some() {
                format!("  -> {}", movement.as_str())
            } else {
                String::new()
            };
            match &lms {
                Some(Ok(answer)) => done.push_str(&format!("  |  {}", answer.summary())),
                Some(Err(error)) => done.push_str(&format!("  |  Manufacturer: {error}")),
                None => {}
            }
            if refused_by_maker {
                done.push_str("  -> NOT restocked: set it aside for the supplier");
            }
            writeln!(out, "{}{done}", verdict_text(&scan, &a.verdict, Some(a)))?;
        }
        out.flush()?;
    }
    store.checkpoint()?;
    Ok(ExitCode::SUCCESS)
}
