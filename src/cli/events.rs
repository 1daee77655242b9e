//! `tracedesk events`: the EPCIS events recorded here; one EPCIS 2.0 JSON-LD EPCISDocument, with
//! `--json` one complete event per line, with `--xml` one EPCIS 1.2 XML document for partners
//! still on 1.2. With `--unit SCAN` (or `tracedesk audit SCAN`): only that unit's events, its
//! audit export.
//!
//! Every form is streamed from the store one event at a time, so exporting a store with a
//! hundred thousand events takes the memory of one.

use super::config::open_store;
use crate::epcis::event::epcis_document;
use crate::epcis::xml_write::Epcis12Writer;
use crate::gs1::{self, ParseContext, Sgtin};
use crate::store::Store;
use crate::store::inventory::StoredEvent;
use anyhow::{Context, Result, anyhow};
use serde::Serialize;
use serde::ser::{Error as _, SerializeMap, SerializeSeq, Serializer};
use serde_json::Value;
use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;

/// How the events are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// One EPCIS 2.0 JSON-LD EPCISDocument.
    Document,
    /// One event per line (JSON Lines).
    Lines,
    /// One EPCIS 1.2 XML document.
    Xml12,
}

pub fn run(db: Option<PathBuf>, format: Format, unit: Option<Vec<u8>>) -> Result<ExitCode> {
    let store = open_store(db)?;
    let unit = unit.map(|bytes| unit_of(&bytes)).transpose()?;
    let events = Events {
        store: &store,
        unit: unit.as_ref(),
    };
    let created = chrono::Local::now().fixed_offset();
    let mut out = io::BufWriter::new(io::stdout().lock());
    match format {
        Format::Lines => events.each(|event| Ok(writeln!(out, "{event}")?))?,
        Format::Xml12 => {
            let mut xml = Epcis12Writer::new(&mut out, created, None)?;
            events.each(|event| Ok(xml.event(&event)?))?;
            xml.finish()?;
        }
        Format::Document => {
            let shell = epcis_document(Vec::new(), created);
            let document = Splice {
                shell: &shell,
                path: &["epcisBody", "eventList"],
                events,
            };
            serde_json::to_writer_pretty(&mut out, &document)?;
            writeln!(out)?;
        }
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// The unit an audit export is about.
fn unit_of(scan: &[u8]) -> Result<Sgtin> {
    let scan = gs1::parse(scan, &ParseContext::new(super::today()));
    let (Some(gtin), Some(serial)) = (scan.gtin(), scan.serial()) else {
        anyhow::bail!("the scan identifies no unit (GTIN and serial needed)");
    };
    Ok(Sgtin::new(gtin, serial)?)
}

/// The events to print: all of them, or one unit's.
#[derive(Clone, Copy)]
struct Events<'a> {
    store: &'a Store,
    unit: Option<&'a Sgtin>,
}

impl Events<'_> {
    /// Hands each event, parsed, to `f`, oldest first.
    fn each(self, mut f: impl FnMut(Value) -> Result<()>) -> Result<()> {
        let mut parsed = |stored: StoredEvent| {
            let event: Value = serde_json::from_str(&stored.json)
                .with_context(|| format!("event {} in the store is not JSON", stored.event_id))?;
            f(event)
        };
        match self.unit {
            None => self.store.for_each_event(&mut parsed),
            Some(unit) => self.store.for_each_unit_event(unit, &mut parsed),
        }
    }
}

/// A JSON document (`shell`) serialised with the events streamed in at `path`, so the document
/// keeps the one shape [`epcis_document`] gives it without holding its events.
struct Splice<'a> {
    shell: &'a Value,
    path: &'a [&'a str],
    events: Events<'a>,
}

impl Serialize for Splice<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let (Some((key, rest)), Some(map)) = (self.path.split_first(), self.shell.as_object())
        else {
            return self.serialize_events(serializer);
        };
        let mut out = serializer.serialize_map(Some(map.len()))?;
        for (k, v) in map {
            if k == key {
                let inner = Splice {
                    shell: v,
                    path: rest,
                    events: self.events,
                };
                out.serialize_entry(k, &inner)?;
            } else {
                out.serialize_entry(k, v)?;
            }
        }
        out.end()
    }
}

impl Splice<'_> {
    fn serialize_events<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(None)?;
        let mut failed = None;
        let streamed = self.events.each(|event| {
            seq.serialize_element(&event).map_err(|e| {
                let message = e.to_string();
                failed = Some(e);
                anyhow!(message)
            })
        });
        if let Some(e) = failed {
            return Err(e);
        }
        streamed.map_err(|e| S::Error::custom(format!("{e:#}")))?;
        seq.end()
    }
}
