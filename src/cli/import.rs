//! `tracedesk import products|recalls|epcis`: supplier files into the store, one transaction
//! each; prints what changed, or fails with the line or event that is wrong.

use super::ImportCommand;
use super::config::open_store;
use anyhow::{Context, Result};
use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

fn open(path: &Path) -> Result<File> {
    File::open(path).with_context(|| format!("cannot open {}", path.display()))
}

pub fn run(db: Option<PathBuf>, what: ImportCommand) -> Result<ExitCode> {
    let mut store = open_store(db)?;
    let mut out = io::stdout().lock();
    match what {
        ImportCommand::Products { file } => {
            let counts = store.import_products(open(&file)?, &file.display().to_string())?;
            writeln!(out, "products: {counts}")?;
        }
        ImportCommand::Recalls { file } => {
            let counts = store.import_recalls(open(&file)?, &file.display().to_string())?;
            writeln!(out, "recalls: {counts}")?;
        }
        ImportCommand::Epcis { files } => {
            let mut inputs = Vec::with_capacity(files.len());
            for file in &files {
                inputs.push((file.display().to_string(), io::BufReader::new(open(file)?)));
            }
            let report = store.import_epcis(inputs, chrono::Utc::now())?;
            for note in &report.notes {
                eprintln!("note: {note}");
            }
            writeln!(
                out,
                "events: {} read, {} skipped",
                report.events, report.skipped_events
            )?;
            writeln!(out, "units: {}", report.units)?;
            writeln!(out, "shipments: {}", report.shipments)?;
            writeln!(out, "containers: {}", report.containers)?;
            writeln!(out, "recalls: {}", report.recalls)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
