//! `tracedesk receive [--shipment ID] [--json] [SCAN...]`: the verdict for each scan, with the
//! receipt committed durably (and its event queued for sync) BEFORE the line is printed, so a
//! printed verdict is always a recorded one.
//!
//! Receiving a case or tote label (SSCC) known from aggregation data receives every unit it
//! holds in one transaction and prints one line for the SSCC, with its `children`.

use super::config::open_store;
use super::input::ScanInput;
use super::verify::{container_children_json, verdict_json, verdict_text};
use crate::desk::scan::container_label;
use crate::gs1::{self, ParseContext};
use crate::store::{ShipmentId, Store};
use crate::verify::{Reason, Verdict};
use anyhow::{Context, Result};
use serde_json::{Map, Value, json};
use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;

pub fn run(
    db: Option<PathBuf>,
    input: ScanInput,
    shipment: Option<String>,
    json: bool,
) -> Result<ExitCode> {
    let mut store = open_store(db)?;
    let shipment = match shipment {
        Some(reference) => Some(store.find_shipment(&reference)?.with_context(|| {
            format!("no shipment is known as \"{reference}\" (see `tracedesk shipment`)")
        })?),
        None => None,
    };
    let today = super::today();
    let ctx = ParseContext::new(today);
    let mut out = io::BufWriter::new(io::stdout().lock());
    for line in input {
        let bytes = line.context("reading scans from stdin")?;
        let scan = gs1::parse(&bytes, &ctx);
        let now = chrono::Local::now().fixed_offset();
        let (mut obj, text) = match container_label(&scan) {
            Some(sscc) => {
                let received = store.receive_container(&sscc, shipment, today, now)?;
                let verdict = match &received {
                    Some(r) => r.verdict(),
                    None => Verdict::from_reasons(vec![Reason::NoMatchGtinSerial]),
                };
                let mut obj = verdict_json(&scan, &verdict, None);
                obj.insert("sscc".into(), json!(sscc.as_str()));
                let accepted = received.as_ref().map_or(0, |r| {
                    r.children.iter().filter(|(_, c)| c.accepted()).count()
                });
                obj.insert("received".into(), json!(accepted));
                obj.insert(
                    "children".into(),
                    container_children_json(
                        received
                            .as_ref()
                            .map(|r| r.children.iter().map(|(s, c)| (s, &c.assessment.verdict))),
                    ),
                );
                let text = match &received {
                    Some(r) => format!(
                        "{}  case {sscc}: {accepted} of {} units received",
                        verdict_text(&scan, &verdict, None),
                        r.children.len()
                    ),
                    None => format!(
                        "FAILED  case {sscc} is unknown (no aggregation data); nothing received"
                    ),
                };
                (obj, text)
            }
            None => {
                let receipt = store.receive(&scan, shipment, today, now)?;
                let a = &receipt.assessment;
                let mut obj = verdict_json(&scan, &a.verdict, Some(a));
                obj.insert("received".into(), json!(receipt.accepted()));
                obj.insert("event_id".into(), json!(receipt.event_id));
                // A pack refused only for its data is kept, held for the data: say where it goes.
                obj.insert(
                    "held".into(),
                    json!(receipt.held_for_data.then_some("pending_data")),
                );
                let mut text = verdict_text(&scan, &a.verdict, Some(a));
                if receipt.held_for_data {
                    text.push_str(
                        "  -> HELD: put it in the pending-data tote until its data arrives",
                    );
                }
                (obj, text)
            }
        };
        let progress = shipment.map(|id| progress_json(&store, id)).transpose()?;
        if json {
            if let Some(progress) = progress {
                obj.insert("shipment".into(), progress);
            }
            writeln!(out, "{}", Value::Object(obj))?;
        } else {
            writeln!(out, "{text}")?;
        }
        out.flush()?;
    }
    // Input is over: a good moment for the WAL checkpoint nobody is waiting on.
    store.checkpoint()?;
    Ok(ExitCode::SUCCESS)
}

fn progress_json(store: &Store, id: ShipmentId) -> Result<Value> {
    let info = store.shipment_info(id)?;
    let p = store.shipment_progress(id)?;
    let mut obj = Map::new();
    obj.insert("id".into(), json!(info.name));
    obj.insert("expected".into(), json!(p.expected));
    obj.insert("received".into(), json!(p.received));
    obj.insert("rejected".into(), json!(p.rejected));
    obj.insert("missing".into(), json!(p.missing));
    obj.insert("unexpected".into(), json!(p.unexpected));
    Ok(Value::Object(obj))
}
