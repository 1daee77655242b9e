//! `tracedesk parse`: scans in, GS1 elements out (JSON Lines, bracketed HRI, or a summary).

use super::input::ScanInput;
use crate::gs1::{self, ParseContext, ParsedScan};
use anyhow::{Context, Result};
use serde_json::{Value, json};
use std::io::{self, Write};
use std::process::ExitCode;

/// The JSON object `parse --json` prints for one scan (DESIGN.md section 4).
pub fn parse_json(scan: &ParsedScan) -> Value {
    json!({
        "ok": scan.ok(),
        "symbology": scan.symbology,
        "gtin": scan.gtin().map(|g| g.to_string()),
        "serial": scan.serial(),
        "lot": scan.lot(),
        "expiry": scan.expiry.map(|d| d.format("%Y-%m-%d").to_string()),
        "ndc": scan.ndc().map(|n| n.to_string()),
        "sscc": scan.sscc().map(|s| s.to_string()),
        "elements": scan.elements.iter().map(|e| json!({"ai": e.ai.as_str(), "value": e.value})).collect::<Vec<_>>(),
        "errors": scan.errors.iter().map(|e| json!({"code": e.code.as_str(), "message": e.message})).collect::<Vec<_>>(),
    })
}

pub fn run(input: ScanInput, json: bool, hri: bool) -> Result<ExitCode> {
    let ctx = ParseContext::new(super::today());
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    for line in input {
        let bytes = line.context("reading scans from stdin")?;
        let scan = gs1::parse(&bytes, &ctx);
        if json {
            writeln!(out, "{}", parse_json(&scan))?;
        } else if hri {
            match scan.errors.first() {
                None => writeln!(out, "{}", scan.hri())?,
                Some(e) => writeln!(out, "ERROR: {}", e.message)?,
            }
        } else {
            write_summary(&mut out, &scan)?;
        }
        // Each answer goes out as soon as it is known: a scanner loop may be waiting on it.
        out.flush()?;
    }
    // Invalid scans are answers, not failures of the command: the exit code stays 0.
    Ok(ExitCode::SUCCESS)
}

fn write_summary(out: &mut impl Write, scan: &ParsedScan) -> io::Result<()> {
    if scan.ok() {
        write!(out, "OK  {}", scan.hri())?;
        if let Some(expiry) = scan.expiry {
            write!(out, "  expiry {expiry}")?;
        }
        writeln!(out)
    } else {
        let reasons: Vec<String> = scan
            .errors
            .iter()
            .map(|e| format!("[{}] {}", e.code, e.message))
            .collect();
        writeln!(out, "INVALID  {}", reasons.join("; "))
    }
}
