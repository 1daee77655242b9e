//! `tracedesk --demo`: create (or refresh) a demo store in which every verdict can be seen, and
//! print the scans to try. Without `--db`, the demo store is `tracedesk-demo.db` next to the
//! default store, so a real store is never mixed with demo data.

use crate::store::{Store, create_demo};
use anyhow::Result;
use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;

/// Where the demo store lives when `--db` is not given.
pub fn demo_path(db: Option<PathBuf>) -> Result<PathBuf> {
    match db {
        Some(path) => Ok(path),
        None => Ok(Store::default_path()?.with_file_name("tracedesk-demo.db")),
    }
}

pub fn run(db: Option<PathBuf>) -> Result<ExitCode> {
    let path = demo_path(db)?;
    let mut store = Store::open(&path)?;
    let demo = create_demo(&mut store, super::today())?;
    let mut out = io::stdout().lock();
    writeln!(out, "Demo store: {}", path.display())?;
    writeln!(
        out,
        "Shipment: {} (case label SSCC {})",
        demo.shipment, demo.case_sscc
    )?;
    writeln!(out, "Try, for example:")?;
    writeln!(
        out,
        "  tracedesk --db '{}' receive --shipment {} --json '<scan>'",
        path.display(),
        demo.shipment
    )?;
    writeln!(out)?;
    for scan in &demo.scans {
        let expected: Vec<&str> = scan.expected.iter().map(|r| r.code()).collect();
        let expected = if expected.is_empty() {
            "verified".to_string()
        } else {
            expected.join(", ")
        };
        writeln!(out, "  {:<40} {:<28} {}", scan.label, expected, scan.scan)?;
    }
    Ok(ExitCode::SUCCESS)
}
