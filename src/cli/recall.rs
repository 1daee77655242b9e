//! `tracedesk recall [--json] [--gtin G] [--lot L] [--csv FILE] [--quarantine]`: recall
//! containment. Lists every unit received here that the recall touches: on hand (with its
//! shipment and tote), already dispensed or returned (with when). `--csv` takes the recall
//! notice (`gtin,lot,reason`, read as `import recalls` reads it), records its lots as recalled
//! (scans are refused from now on) and lists their units. `--quarantine` puts every affected
//! unit still on hand on hold, each with its event. The whole recall is one transaction
//! ([`Store::contain_recall`](crate::store::Store::contain_recall)): a bad notice line
//! changes nothing, and the notice is opened and its header checked before the store is.

use super::config::open_store;
use super::import::open_input;
use crate::gs1::Gtin;
use crate::store::RecallReader;
use crate::store::inventory::RecallQuery;
use crate::verify::StockState;
use anyhow::{Context, Result};
use serde_json::json;
use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;

pub struct RecallArgs {
    pub json: bool,
    pub gtin: Option<String>,
    pub lot: Option<String>,
    pub csv: Option<PathBuf>,
    pub quarantine: bool,
}

pub fn run(db: Option<PathBuf>, args: RecallArgs) -> Result<ExitCode> {
    let gtin = args
        .gtin
        .as_deref()
        .map(Gtin::parse)
        .transpose()
        .context("--gtin")?;
    let notice = match &args.csv {
        Some(path) => Some(RecallReader::new(
            open_input(path)?,
            &path.display().to_string(),
        )?),
        None => None,
    };
    // Without a notice and without --gtin/--lot: every unit recalled now.
    let queries = if gtin.is_some() || args.lot.is_some() || notice.is_none() {
        vec![RecallQuery {
            gtin,
            lot: args.lot,
        }]
    } else {
        Vec::new()
    };
    let now = args.quarantine.then(|| chrono::Local::now().fixed_offset());
    let containment = open_store(db)?.contain_recall(notice, &queries, now)?;
    let mut out = io::BufWriter::new(io::stdout().lock());
    for affected in &containment.affected {
        let unit = &affected.item;
        let newly_held = affected.quarantined_now;
        let status = if newly_held {
            "quarantined"
        } else {
            &unit.status
        };
        if args.json {
            let line = json!({
                "gtin": unit.gtin.as_str(),
                "serial": unit.serial,
                "lot": unit.lot,
                "expiry": unit.expiry,
                "state": unit.state.as_str(),
                "status": status,
                "shipment": unit.shipment,
                "tote": unit.tote,
                "received_at": unit.received_at,
                "changed_at": unit.changed_at,
                "quarantined_now": newly_held,
            });
            writeln!(out, "{line}")?;
        } else {
            writeln!(
                out,
                "(01){}(21){}  lot {}  {}  {}{}",
                unit.gtin,
                unit.serial,
                unit.lot.as_deref().unwrap_or("?"),
                unit.state,
                match unit.state {
                    StockState::OnHand => format!(
                        "shipment {} tote {}",
                        unit.shipment.as_deref().unwrap_or("?"),
                        unit.tote.as_deref().unwrap_or("?")
                    ),
                    _ => format!("since {}", unit.changed_at),
                },
                if newly_held { "  QUARANTINED" } else { "" }
            )?;
        }
    }
    out.flush()?;
    if !args.json {
        eprintln!(
            "{} affected units, {} quarantined now",
            containment.affected.len(),
            containment.quarantined()
        );
    }
    Ok(ExitCode::SUCCESS)
}
