//! `tracedesk recall [--json] [--gtin G] [--lot L] [--csv FILE] [--quarantine]`: recall
//! containment. Lists every unit received here that the recall touches: on hand (with its
//! shipment and tote), already dispensed or returned (with when). `--csv` takes the recall
//! notice (`gtin,lot,reason`), records its lots as recalled (as `import recalls` does, so
//! scans are refused from now on) and lists their units. `--quarantine` puts every affected
//! unit still on hand on hold, each with its event.

use super::config::open_store;
use crate::gs1::Gtin;
use crate::store::inventory::{InventoryItem, RecallQuery};
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
    let mut store = open_store(db)?;
    let gtin = args
        .gtin
        .as_deref()
        .map(Gtin::parse)
        .transpose()
        .context("--gtin")?;
    let mut queries = Vec::new();
    if let Some(path) = &args.csv {
        let text =
            std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
        store.import_recalls(text.as_slice(), &path.display().to_string())?;
        let mut reader = csv::ReaderBuilder::new()
            .trim(csv::Trim::All)
            .from_reader(text.as_slice());
        for row in reader.deserialize::<(String, String, Option<String>)>() {
            let (gtin, lot, _) = row.with_context(|| format!("{}", path.display()))?;
            queries.push(RecallQuery {
                gtin: Some(Gtin::parse(&gtin).with_context(|| format!("gtin {gtin}"))?),
                lot: Some(lot),
            });
        }
    }
    if gtin.is_some() || args.lot.is_some() || queries.is_empty() {
        queries.push(RecallQuery {
            gtin,
            lot: args.lot,
        });
    }
    let mut affected: Vec<InventoryItem> = Vec::new();
    for query in &queries {
        affected.extend(store.recall_scope(query)?);
    }
    let mut seen = std::collections::HashSet::new();
    affected.retain(|u| seen.insert((u.gtin.clone(), u.serial.clone())));
    let mut quarantined = std::collections::HashSet::new();
    if args.quarantine {
        let on_hand = affected
            .iter()
            .filter(|u| u.state == StockState::OnHand)
            .map(InventoryItem::sgtin)
            .collect::<Result<Vec<_>, _>>()?;
        let now = chrono::Local::now().fixed_offset();
        for (sgtin, _) in store.quarantine_all(&on_hand, "recall", now)? {
            quarantined.insert((sgtin.gtin, sgtin.serial));
        }
    }
    let mut out = io::BufWriter::new(io::stdout().lock());
    for unit in &affected {
        let newly_held = quarantined.contains(&(unit.gtin.clone(), unit.serial.clone()));
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
            affected.len(),
            quarantined.len()
        );
    }
    Ok(ExitCode::SUCCESS)
}
