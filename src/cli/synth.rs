//! `tracedesk synth` (hidden): fill a store with synthetic supplier data at scale, timing the
//! import and reporting the store's size per unit, for the scale targets of the benchmarks.

use super::config::open_store;
use crate::store::synth::{SynthSpec, generate};
use anyhow::Result;
use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

pub fn run(db: Option<PathBuf>, units: u64, products: u32, lots: u32) -> Result<ExitCode> {
    let mut store = open_store(db)?;
    let spec = SynthSpec {
        units,
        products,
        lots,
        ..SynthSpec::default()
    };
    let started = Instant::now();
    let counts = generate(&mut store, &spec, super::today(), chrono::Utc::now(), |n| {
        eprintln!("{n} units, {:.1} s", started.elapsed().as_secs_f64());
    })?;
    let elapsed = started.elapsed();
    let path = store.path().to_path_buf();
    drop(store);
    let size = std::fs::metadata(&path)?.len();
    let mut out = io::stdout().lock();
    writeln!(out, "units: {counts}")?;
    writeln!(
        out,
        "import: {:.1} s ({:.0} units/s); store: {} bytes, {:.1} bytes/unit",
        elapsed.as_secs_f64(),
        units as f64 / elapsed.as_secs_f64().max(1e-9),
        size,
        size as f64 / units.max(1) as f64
    )?;
    Ok(ExitCode::SUCCESS)
}
