//! `tracedesk report [--json|--csv] [--days N]` and `tracedesk expiry [--json]`: the numbers
//! behind the kiosk's charts — receipts per day, verification failures by reason, and the
//! expiry horizon of the stock on hand.

use super::config::open_store;
use anyhow::Result;
use chrono::Days;
use serde_json::json;
use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
    Csv,
}

pub fn run(db: Option<PathBuf>, format: Format, days: u32) -> Result<ExitCode> {
    let store = open_store(db)?;
    let today = super::today();
    let from = today
        .checked_sub_days(Days::new(u64::from(days.saturating_sub(1))))
        .unwrap_or(today);
    let per_day = store.receipts_per_day(from, today)?;
    let failures = store.failures_by_reason(from, today)?;
    let expiry = store.expiry_summary(today)?;
    let mut out = io::BufWriter::new(io::stdout().lock());
    match format {
        Format::Json => {
            for d in &per_day {
                let line = json!({"report": "receipts_per_day", "day": d.day.to_string(),
                    "accepted": d.accepted, "refused": d.refused});
                writeln!(out, "{line}")?;
            }
            for (reason, n) in &failures {
                let line = json!({"report": "failures_by_reason", "reason": reason.code(),
                    "count": n});
                writeln!(out, "{line}")?;
            }
            writeln!(out, "{}", expiry_json(&expiry))?;
        }
        Format::Csv => {
            let csv = crate::desk::export::report_csv(&per_day, &failures, &expiry);
            write!(out, "{csv}")?;
        }
        Format::Text => {
            writeln!(out, "Receipts per day (last {days} days):")?;
            for d in &per_day {
                writeln!(
                    out,
                    "  {}  {} accepted  {} refused",
                    d.day, d.accepted, d.refused
                )?;
            }
            writeln!(out, "Verification failures by reason:")?;
            for (reason, n) in &failures {
                writeln!(out, "  {n:>6}  {} ({})", reason.label(), reason.code())?;
            }
            write_expiry_text(&mut out, &expiry)?;
        }
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

fn expiry_json(e: &crate::store::inventory::ExpirySummary) -> serde_json::Value {
    let within: serde_json::Map<String, serde_json::Value> = e
        .within
        .iter()
        .map(|(days, n)| (days.to_string(), json!(n)))
        .collect();
    json!({"report": "expiry", "expired": e.expired, "within": within})
}

fn write_expiry_text(
    out: &mut impl Write,
    e: &crate::store::inventory::ExpirySummary,
) -> io::Result<()> {
    writeln!(out, "Expiry of the units on hand:")?;
    writeln!(out, "  {:>6}  expired", e.expired)?;
    for (days, n) in &e.within {
        writeln!(out, "  {n:>6}  expiring within {days} days")?;
    }
    Ok(())
}

/// `tracedesk expiry [--json]`: expired units on hand and those expiring within each
/// configured threshold.
pub fn expiry(db: Option<PathBuf>, json: bool) -> Result<ExitCode> {
    let store = open_store(db)?;
    let summary = store.expiry_summary(super::today())?;
    let mut out = io::stdout().lock();
    if json {
        writeln!(out, "{}", expiry_json(&summary))?;
    } else {
        write_expiry_text(&mut out, &summary)?;
    }
    Ok(ExitCode::SUCCESS)
}
