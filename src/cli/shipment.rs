//! `tracedesk shipment [ID] [--json|--csv]`: the reconciliation of a shipment (expected,
//! received, rejected, missing, unexpected), or the list of shipments without an ID.
//! `tracedesk shipment ID --close [--json]` closes it: its differences become exception cases.

use super::config::open_store;
use crate::store::{Reconciliation, ShipmentProgress, UnitState};
use anyhow::{Context, Result};
use serde_json::{Value, json};
use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;

fn progress_json(p: &ShipmentProgress) -> Value {
    json!({
        "expected": p.expected,
        "received": p.received,
        "rejected": p.rejected,
        "missing": p.missing,
        "unexpected": p.unexpected,
    })
}

pub fn run(db: Option<PathBuf>, id: Option<String>, json: bool, csv: bool) -> Result<ExitCode> {
    let store = open_store(db)?;
    let mut out = io::BufWriter::new(io::stdout().lock());
    let Some(reference) = id else {
        for info in store.shipments()? {
            let p = store.shipment_progress(info.id)?;
            let refs: Vec<String> = info.refs.iter().map(|(k, r)| format!("{k}:{r}")).collect();
            if json {
                let mut obj = json!({"id": info.name, "refs": refs, "source": info.source});
                if let (Some(obj), Value::Object(counts)) = (obj.as_object_mut(), progress_json(&p))
                {
                    obj.extend(counts);
                }
                writeln!(out, "{obj}")?;
            } else {
                writeln!(
                    out,
                    "{}  expected {}, received {}, rejected {}, missing {}, unexpected {}  [{}]",
                    info.name,
                    p.expected,
                    p.received,
                    p.rejected,
                    p.missing,
                    p.unexpected,
                    refs.join(" ")
                )?;
            }
        }
        out.flush()?;
        return Ok(ExitCode::SUCCESS);
    };
    let id = store
        .find_shipment(&reference)?
        .with_context(|| format!("no shipment is known as \"{reference}\""))?;
    let rec = store.reconcile(id)?;
    if json {
        writeln!(out, "{}", reconciliation_json(&rec))?;
    } else if csv {
        write!(
            out,
            "{}",
            crate::desk::export::reconciliation_csv(&rec.units)
        )?;
    } else {
        let p = rec.progress;
        writeln!(
            out,
            "Shipment {}: expected {}, received {}, rejected {}, missing {}, unexpected {}",
            rec.shipment.name, p.expected, p.received, p.rejected, p.missing, p.unexpected
        )?;
        for u in rec.units.iter().filter(|u| u.state != UnitState::Received) {
            writeln!(
                out,
                "  {:<10} (01){}(21){}  lot {}",
                u.state.as_str(),
                u.gtin,
                u.serial,
                u.lot.as_deref().unwrap_or("?")
            )?;
        }
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// Closes a shipment and prints what it found: the counts and every case of the shipment.
pub fn close(db: Option<PathBuf>, reference: &str, json: bool) -> Result<ExitCode> {
    let mut store = open_store(db)?;
    let id = store
        .find_shipment(reference)?
        .with_context(|| format!("no shipment is known as \"{reference}\""))?;
    let closed = store.close_shipment(id, chrono::Local::now().fixed_offset())?;
    let today = super::today();
    let open = closed
        .cases
        .iter()
        .filter(|c| c.status == crate::exceptions::CaseStatus::Open)
        .count();
    let mut out = io::BufWriter::new(io::stdout().lock());
    if json {
        let mut obj = json!({
            "id": closed.shipment.name,
            "closed_at": closed.closed_at,
            "already_closed": closed.already_closed,
            "opened": closed.opened,
            "resolved": closed.resolved,
            "open_cases": open,
            "cases": closed.cases.iter().map(|c| super::exceptions::case_json(c, today)).collect::<Vec<_>>(),
        });
        if let (Some(obj), Value::Object(counts)) =
            (obj.as_object_mut(), progress_json(&closed.progress))
        {
            obj.extend(counts);
        }
        writeln!(out, "{obj}")?;
    } else {
        let p = closed.progress;
        writeln!(
            out,
            "Shipment {} {}: expected {}, received {}, rejected {}, missing {}, unexpected {}; \
             {} new case(s), {} open",
            closed.shipment.name,
            if closed.already_closed {
                "closed again"
            } else {
                "closed"
            },
            p.expected,
            p.received,
            p.rejected,
            p.missing,
            p.unexpected,
            closed.opened,
            open
        )?;
        for case in &closed.cases {
            writeln!(out, "  {}", super::exceptions::case_text(case, today))?;
        }
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

fn reconciliation_json(rec: &Reconciliation) -> Value {
    let units_in = |state: UnitState| -> Vec<Value> {
        rec.units
            .iter()
            .filter(|u| u.state == state)
            .map(|u| json!({"gtin": u.gtin.as_str(), "serial": u.serial, "lot": u.lot, "expiry": u.expiry}))
            .collect()
    };
    let refs: Vec<String> = rec
        .shipment
        .refs
        .iter()
        .map(|(k, r)| format!("{k}:{r}"))
        .collect();
    let mut obj = json!({"id": rec.shipment.name, "refs": refs});
    if let (Some(obj), Value::Object(counts)) = (obj.as_object_mut(), progress_json(&rec.progress))
    {
        obj.extend(counts);
        obj.insert(
            "units".into(),
            json!({
                "received": units_in(UnitState::Received),
                "rejected": units_in(UnitState::Rejected),
                "missing": units_in(UnitState::Missing),
                "unexpected": units_in(UnitState::Unexpected),
            }),
        );
    }
    obj
}
