//! `tracedesk find [--json] TEXT`: search by product name, NDC (any spelling), GTIN, lot or
//! serial. Prints the matching products, then the units received here.

use super::config::open_store;
use super::inventory::item_json;
use anyhow::Result;
use serde_json::json;
use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;

pub fn run(db: Option<PathBuf>, text: &str, json: bool, limit: usize) -> Result<ExitCode> {
    let store = open_store(db)?;
    let findings = store.find(text, limit)?;
    let mut out = io::BufWriter::new(io::stdout().lock());
    for (gtin, p) in &findings.products {
        if json {
            let line = json!({"product": {
                "gtin": gtin.as_str(), "ndc": p.ndc, "name": p.name, "strength": p.strength,
                "form": p.form, "manufacturer": p.manufacturer,
            }});
            writeln!(out, "{line}")?;
        } else {
            writeln!(
                out,
                "{}  NDC {}  {} {}",
                gtin,
                p.ndc.as_deref().unwrap_or("?"),
                p.name.as_deref().unwrap_or("?"),
                p.strength.as_deref().unwrap_or("")
            )?;
        }
    }
    for unit in &findings.units {
        if json {
            writeln!(out, "{}", json!({ "unit": item_json(unit) }))?;
        } else {
            writeln!(
                out,
                "  (01){}(21){}  lot {}  expiry {}  {}  {}",
                unit.gtin,
                unit.serial,
                unit.lot.as_deref().unwrap_or("?"),
                unit.expiry.as_deref().unwrap_or("?"),
                unit.state,
                unit.status
            )?;
        }
    }
    out.flush()?;
    Ok(
        if findings.products.is_empty() && findings.units.is_empty() {
            ExitCode::FAILURE
        } else {
            ExitCode::SUCCESS
        },
    )
}
