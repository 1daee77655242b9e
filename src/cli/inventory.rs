//! `tracedesk inventory`: units on hand (received here, not since dispensed, returned,
//! destroyed or decommissioned), one per line; filters combine.

use super::config::open_store;
use crate::gs1::Gtin;
use crate::store::inventory::{InventoryFilter, InventoryItem};
use anyhow::{Context, Result};
use serde_json::json;
use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;

pub struct InventoryArgs {
    pub json: bool,
    pub gtin: Option<String>,
    pub lot: Option<String>,
    pub expiring: Option<u32>,
    pub recalled: bool,
}

pub fn run(db: Option<PathBuf>, args: InventoryArgs) -> Result<ExitCode> {
    let store = open_store(db)?;
    let gtin = args
        .gtin
        .as_deref()
        .map(Gtin::parse)
        .transpose()
        .context("--gtin")?;
    let filter = InventoryFilter {
        gtin,
        lot: args.lot,
        expiring_within: args.expiring,
        recalled: args.recalled,
    };
    let mut out = io::BufWriter::new(io::stdout().lock());
    for item in store.inventory(&filter, super::today())? {
        if args.json {
            let line = item_json(&item);
            writeln!(out, "{line}")?;
        } else {
            writeln!(
                out,
                "(01){}(21){}  lot {}  expiry {}  {}  received {}",
                item.gtin,
                item.serial,
                item.lot.as_deref().unwrap_or("?"),
                item.expiry.as_deref().unwrap_or("?"),
                item.status,
                item.received_at
            )?;
        }
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// One unit as `inventory --json` prints it (DESIGN.md section 4), plus where it is.
pub fn item_json(item: &InventoryItem) -> serde_json::Value {
    json!({
        "gtin": item.gtin.as_str(),
        "serial": item.serial,
        "lot": item.lot,
        "expiry": item.expiry,
        "status": item.status,
        "shipment": item.shipment,
        "received_at": item.received_at,
        "state": item.state.as_str(),
        "tote": item.tote,
    })
}
