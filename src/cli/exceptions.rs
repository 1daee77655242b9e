//! `tracedesk exceptions`: DSCSA exception cases (packs and data that disagree).
//!
//! - `exceptions [--json] [--open] [--shipment ID]`: the cases, one per line;
//! - `exceptions report SHIPMENT [--contact EMAIL] [--out FILE]`: the shipment's PDG exception
//!   report for its open cases;
//! - `exceptions respond FILE`: a partner's PDG response, applied whole or not at all;
//! - `exceptions resolve CASE DECISION [--note TEXT]`: a pharmacist's decision;
//! - `exceptions damaged [--shipment ID] [--note TEXT] [SCAN]`: a damaged or unreadable pack;
//! - `exceptions show CASE`: one case and its audit trail.
//!
//! `shipment ID --close` (in [`super::shipment`]) opens the cases of a shipment.

use super::config::open_store;
use crate::exceptions::{Resolution, pdg};
use crate::gs1::{self, ParseContext};
use crate::store::exceptions::age_days;
use crate::store::{CaseFilter, ExceptionCase, Store};
use crate::verify::ProductIdentifier;
use anyhow::{Context, Result, bail};
use chrono::NaiveDate;
use clap::Subcommand;
use serde_json::{Value, json};
use std::ffi::OsString;
use std::io::{self, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

/// The largest PDG response read: a response names at most a few thousand items.
const MAX_RESPONSE_BYTES: u64 = 16 * 1024 * 1024;

#[derive(Debug, Subcommand)]
pub enum ExceptionsCommand {
    /// Write the PDG exception report (JSON) for a shipment's open cases.
    Report {
        /// The shipment (PO, ASN, SSCC or its name).
        shipment: String,
        /// The e-mail address the partner answers to (else `config contact_email`).
        #[arg(long)]
        contact: Option<String>,
        /// Write the report to this file instead of stdout.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Apply a trading partner's PDG exception response (JSON file).
    Respond { file: PathBuf },
    /// Resolve a case: returned, quarantined_suspect or destroyed for a held pack; settled or
    /// dismissed for a case without a pack here.
    Resolve {
        case: i64,
        decision: String,
        #[arg(long)]
        note: Option<String>,
    },
    /// Record a damaged or unreadable pack (scan it when its code still reads).
    Damaged {
        #[arg(long)]
        shipment: Option<String>,
        #[arg(long)]
        note: Option<String>,
        scan: Option<OsString>,
    },
    /// One case and its audit trail.
    Show {
        case: i64,
        #[arg(long)]
        json: bool,
    },
}

/// The JSON object of one case (DESIGN.md section 4), with the details behind it.
pub fn case_json(case: &ExceptionCase, today: NaiveDate) -> Value {
    json!({
        "case": case.id,
        "shipment": case.shipment_name,
        "kind": case.kind.code(),
        "gtin": case.gtin.as_ref().map(|g| g.as_str()),
        "serial": case.serial,
        "lot": case.lot,
        "expiry": case.expiry.map(|d| d.format("%Y-%m-%d").to_string()),
        "status": case.status.code(),
        "opened_at": case.opened_at,
        "resolved_at": case.resolved_at,
        "resolution": case.resolution.map(Resolution::code),
        "data_lot": case.data_lot,
        "data_expiry": case.data_expiry.map(|d| d.format("%Y-%m-%d").to_string()),
        "quantity_ordered": case.quantity_ordered,
        "quantity_received": case.quantity_received,
        "note": case.note,
        "due": case.due.map(|d| d.format("%Y-%m-%d").to_string()),
        "overdue": case.overdue(today),
        "age_days": age_days(case, today),
        "opened_by": case.opened_by,
        "resolved_by": case.resolved_by,
        "reported_at": case.reported_at,
        "item_uuid": case.item_uuid,
    })
}

/// One line for people.
pub fn case_text(case: &ExceptionCase, today: NaiveDate) -> String {
    let unit = match (&case.gtin, &case.serial) {
        (Some(g), Some(s)) => format!("(01){g}(21){s}"),
        (Some(g), None) => format!("GTIN {g}"),
        _ => "(no code)".to_owned(),
    };
    let detail = match case.kind {
        crate::exceptions::ExceptionKind::DataMisalignment => format!(
            "  pack lot {} exp {}, data lot {} exp {}",
            case.lot.as_deref().unwrap_or("?"),
            case.expiry.map_or("?".into(), |d| d.to_string()),
            case.data_lot.as_deref().unwrap_or("?"),
            case.data_expiry.map_or("?".into(), |d| d.to_string()),
        ),
        crate::exceptions::ExceptionKind::Overage | crate::exceptions::ExceptionKind::Shortage => {
            format!(
                "  ordered {}, received {}",
                case.quantity_ordered.unwrap_or_default(),
                case.quantity_received.unwrap_or_default()
            )
        }
        _ => String::new(),
    };
    let state = match (case.resolution, case.overdue(today)) {
        (Some(r), _) => format!("resolved: {}", r.code()),
        (None, true) => "OPEN, past its grace period: decide".to_owned(),
        (None, false) => format!("open {} day(s)", age_days(case, today)),
    };
    format!(
        "#{:<5} {:<21} {:<12} {unit}{detail}  [{state}]",
        case.id,
        case.kind.code(),
        case.shipment_name.as_deref().unwrap_or("-"),
    )
}

pub fn list(
    db: Option<PathBuf>,
    json: bool,
    open_only: bool,
    shipment: Option<String>,
) -> Result<ExitCode> {
    let store = open_store(db)?;
    let shipment = shipment
        .map(|reference| find_shipment(&store, &reference))
        .transpose()?;
    let today = super::today();
    let mut out = io::BufWriter::new(io::stdout().lock());
    let cases = store.exception_cases(CaseFilter {
        shipment,
        open_only,
    })?;
    for case in &cases {
        if json {
            writeln!(out, "{}", case_json(case, today))?;
        } else {
            writeln!(out, "{}", case_text(case, today))?;
        }
    }
    if !json && cases.is_empty() {
        writeln!(out, "No exception cases.")?;
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

fn find_shipment(store: &Store, reference: &str) -> Result<crate::store::ShipmentId> {
    store
        .find_shipment(reference)?
        .with_context(|| format!("no shipment is known as \"{reference}\""))
}

pub fn run(db: Option<PathBuf>, command: ExceptionsCommand) -> Result<ExitCode> {
    let now = chrono::Local::now().fixed_offset();
    let today = super::today();
    let mut store = open_store(db)?;
    let mut out = io::BufWriter::new(io::stdout().lock());
    match command {
        ExceptionsCommand::Report {
            shipment,
            contact,
            out: file,
        } => {
            let id = find_shipment(&store, &shipment)?;
            let report = store.exception_report(id, contact.as_deref(), now)?;
            let text = serde_json::to_string_pretty(&report)?;
            match file {
                Some(path) => {
                    std::fs::write(&path, format!("{text}\n"))
                        .with_context(|| format!("writing {}", path.display()))?;
                    eprintln!("wrote the exception report to {}", path.display());
                }
                None => writeln!(out, "{text}")?,
            }
        }
        ExceptionsCommand::Respond { file } => {
            let reader = std::fs::File::open(&file)
                .with_context(|| format!("cannot open {}", file.display()))?;
            let mut bytes = Vec::new();
            reader
                .take(MAX_RESPONSE_BYTES + 1)
                .read_to_end(&mut bytes)
                .with_context(|| format!("reading {}", file.display()))?;
            if bytes.len() as u64 > MAX_RESPONSE_BYTES {
                bail!(
                    "{} is larger than {} MiB: not a PDG exception response",
                    file.display(),
                    MAX_RESPONSE_BYTES >> 20
                );
            }
            let response = pdg::parse_response(&bytes)
                .with_context(|| format!("{} is refused", file.display()))?;
            let outcome = store.apply_exception_response(&response, now)?;
            writeln!(
                out,
                "Response for shipment {} applied: {} case(s) settled, {} awaiting what the \
                 partner will send, {} rejected by the partner (still open)",
                outcome.shipment, outcome.settled, outcome.awaiting, outcome.rejected
            )?;
        }
        ExceptionsCommand::Resolve {
            case,
            decision,
            note,
        } => {
            let Some(resolution) = Resolution::from_code(&decision) else {
                bail!(
                    "\"{decision}\" is not a decision; use returned, quarantined_suspect, \
                     destroyed, settled or dismissed"
                );
            };
            let case = store.resolve_case(case, resolution, note.as_deref(), now)?;
            writeln!(out, "{}", case_text(&case, today))?;
        }
        ExceptionsCommand::Damaged {
            shipment,
            note,
            scan,
        } => {
            let shipment = shipment
                .map(|reference| find_shipment(&store, &reference))
                .transpose()?;
            let pid = match scan {
                Some(scan) => {
                    let parsed = gs1::parse(&scan.into_encoded_bytes(), &ParseContext::new(today));
                    let Some(pid) = ProductIdentifier::from_scan(&parsed) else {
                        bail!(
                            "the scan is not a valid GS1 product code; leave it out for an \
                             unreadable pack"
                        );
                    };
                    Some(pid)
                }
                None => None,
            };
            let case = store.mark_damaged(shipment, pid.as_ref(), note.as_deref(), now)?;
            writeln!(out, "{}", case_text(&case, today))?;
        }
        ExceptionsCommand::Show { case, json } => {
            let found = store
                .exception_case(case)?
                .with_context(|| format!("there is no exception case {case}"))?;
            let log = store.case_log(case)?;
            if json {
                let mut obj = case_json(&found, today);
                if let Some(map) = obj.as_object_mut() {
                    map.insert(
                        "log".into(),
                        Value::Array(
                            log.iter()
                                .map(|l| {
                                    json!({"at": l.at, "actor": l.actor, "action": l.action,
                                           "detail": l.detail})
                                })
                                .collect(),
                        ),
                    );
                }
                writeln!(out, "{obj}")?;
            } else {
                writeln!(out, "{}", case_text(&found, today))?;
                for l in &log {
                    writeln!(
                        out,
                        "  {}  {:<10} {}{}",
                        l.at,
                        l.actor.as_deref().unwrap_or("-"),
                        l.action,
                        l.detail
                            .as_deref()
                            .map(|d| format!(": {d}"))
                            .unwrap_or_default()
                    )?;
                }
            }
        }
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}
