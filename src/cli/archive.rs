//! `tracedesk archive [--json] [--show ID] [--purge]`: the trading-partner documents kept as
//! received (DSCSA: at least six years), one line each; `--show` writes one document's exact
//! bytes; `--purge` removes only documents whose retention period has ended.

use super::config::open_store;
use anyhow::Result;
use serde_json::json;
use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;

pub fn run(db: Option<PathBuf>, json: bool, show: Option<i64>, purge: bool) -> Result<ExitCode> {
    let mut store = open_store(db)?;
    let mut out = io::BufWriter::new(io::stdout().lock());
    if let Some(id) = show {
        store.archived_content(id, &mut out)?;
        out.flush()?;
        return Ok(ExitCode::SUCCESS);
    }
    if purge {
        let removed = store.purge_archive(super::today())?;
        writeln!(
            out,
            "{removed} document(s) past their retention period removed"
        )?;
        out.flush()?;
        return Ok(ExitCode::SUCCESS);
    }
    for doc in store.archived_documents()? {
        if json {
            let line = json!({
                "id": doc.id,
                "sha256": doc.sha256,
                "format": doc.format,
                "sender": doc.sender,
                "receiver": doc.receiver,
                "instance_id": doc.instance_id,
                "received_at": doc.received_at,
                "events": doc.events,
                "size": doc.size,
                "retain_until": doc.retain_until,
            });
            writeln!(out, "{line}")?;
        } else {
            writeln!(
                out,
                "{:>5}  {}  {}  {} -> {}  {} events  kept until {}  sha256 {}",
                doc.id,
                doc.received_at,
                doc.format,
                doc.sender.as_deref().unwrap_or("?"),
                doc.receiver.as_deref().unwrap_or("?"),
                doc.events,
                doc.retain_until,
                doc.sha256
            )?;
        }
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}
