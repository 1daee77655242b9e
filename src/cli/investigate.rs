//! `tracedesk investigate [--json] [--reason TEXT] SCAN`: hold a pack as suspect product and
//! show its lot's investigation: how many packages of the lot on hand must be verified with the
//! manufacturer (at least 3 or 10 %, all when fewer than 3), how many were, and how many failed.
//! The packs are verified with `tracedesk verify --online --context dscsaSuspect`, whose answers
//! count toward the investigation.

use super::config::open_store;
use crate::gs1::{self, ParseContext, Sgtin};
use crate::store::{HoldKind, ShelfAction, StoreError};
use crate::verify::ProductIdentifier;
use anyhow::{Context, Result, bail};
use serde_json::json;
use std::ffi::OsString;
use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;

pub fn run(
    db: Option<PathBuf>,
    scan: OsString,
    reason: Option<String>,
    json: bool,
) -> Result<ExitCode> {
    let mut store = open_store(db)?;
    let today = super::today();
    let now = chrono::Local::now().fixed_offset();
    let parsed = gs1::parse(&scan.into_encoded_bytes(), &ParseContext::new(today));
    let Some(pid) = ProductIdentifier::from_scan(&parsed) else {
        bail!("the scan is not a valid GS1 product code");
    };
    let Some(serial) = pid.serial.clone() else {
        bail!("the scan has no serial: a suspect pack is held by its serial number");
    };
    let sgtin = Sgtin::new(pid.gtin.clone(), &serial).context("the serial")?;
    // The lot as received here or announced, else as printed on the pack.
    let lot = match store.unit(&pid.gtin, &serial)?.and_then(|u| u.lot) {
        Some(lot) => lot,
        None => pid
            .lot
            .clone()
            .context("the pack's lot is unknown: scan its full code (with the lot)")?,
    };
    let already = store
        .unit_history(&sgtin)?
        .iter()
        .rev()
        .find_map(|line| match &line.what {
            crate::store::inventory::Happening::Action { action, .. } => Some(*action),
            _ => None,
        })
        == Some(ShelfAction::Hold(HoldKind::Suspect));
    if !already {
        match store.record_action(
            &sgtin,
            ShelfAction::Hold(HoldKind::Suspect),
            Some(reason.as_deref().unwrap_or("suspect product")),
            now,
        ) {
            Ok(_) | Err(StoreError::NotHeld(_)) => {}
            Err(e) => return Err(e.into()),
        }
    }
    let investigation = store.open_investigation(&pid.gtin, &lot, now)?;
    let mut out = io::BufWriter::new(io::stdout().lock());
    let remaining = investigation.required.saturating_sub(investigation.checked);
    if json {
        writeln!(
            out,
            "{}",
            json!({
                "gtin": investigation.gtin.as_str(),
                "lot": investigation.lot,
                "serial": serial,
                "opened_at": investigation.opened_at,
                "on_hand": investigation.on_hand,
                "required": investigation.required,
                "checked": investigation.checked,
                "failed": investigation.failed,
                "remaining": remaining,
                "sample_done": investigation.sample_done(),
            })
        )?;
    } else {
        writeln!(
            out,
            "(01){}(21){serial} held as suspect. Lot {}: {} on hand; verify {} with the \
             manufacturer (tracedesk verify --online --context dscsaSuspect): {} done, {} to go, \
             {} failed",
            pid.gtin,
            investigation.lot,
            investigation.on_hand,
            investigation.required,
            investigation.checked,
            remaining,
            investigation.failed
        )?;
        if investigation.failed > 0 {
            writeln!(
                out,
                "A pack failed verification: treat it as illegitimate product and notify FDA \
                 (Form 3911, from the kiosk's pharmacist screen) within 24 hours."
            )?;
        }
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}
