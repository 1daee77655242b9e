//! `tracedesk import products|recalls|epcis`: supplier files into the store, one transaction
//! each; prints what changed, or fails with the line or event that is wrong.
//!
//! Input files are opened, and product and recall headers read, before the store is: a
//! missing or wrong file must not leave a new, empty store behind.

use super::ImportCommand;
use super::config::open_store;
use crate::store::{ProductReader, RecallReader};
use anyhow::{Context, Result, bail};
use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Open an input file. Devices and pipes are accepted (the readers bound what they read); a
/// directory is refused here, where the message can say so plainly.
pub(crate) fn open_input(path: &Path) -> Result<File> {
    let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let is_dir = file
        .metadata()
        .with_context(|| format!("cannot read {}", path.display()))?
        .is_dir();
    if is_dir {
        bail!("{} is a directory, not a file", path.display());
    }
    Ok(file)
}

pub fn run(db: Option<PathBuf>, what: ImportCommand) -> Result<ExitCode> {
    let mut out = io::stdout().lock();
    match what {
        ImportCommand::Products { file } => {
            let products = ProductReader::new(open_input(&file)?, &file.display().to_string())?;
            let counts = open_store(db)?.import_products_from(products)?;
            writeln!(out, "products: {counts}")?;
        }
        ImportCommand::Recalls { file } => {
            let notice = RecallReader::new(open_input(&file)?, &file.display().to_string())?;
            let counts = open_store(db)?.import_recalls_from(notice)?;
            writeln!(out, "recalls: {counts}")?;
        }
        ImportCommand::Epcis { files } => {
            let mut inputs = Vec::with_capacity(files.len());
            for file in &files {
                inputs.push((
                    file.display().to_string(),
                    io::BufReader::new(open_input(file)?),
                ));
            }
            let report = open_store(db)?.import_epcis(inputs, chrono::Utc::now())?;
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
