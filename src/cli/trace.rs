//! `tracedesk trace [--json | --csv | --xml | --jsonld] [SCAN...]`: each unit's transaction
//! history (DSCSA TI/TS), for a regulator's or a trading partner's request.
//!
//! `--json` prints one object per input line (DESIGN.md section 4), errors included, so line N
//! answers scan N; `--csv` one row per transaction; `--jsonld` and `--xml` one EPCIS document
//! holding, for every unit asked about, a shipping event per transaction (with its business
//! transactions, source and destination lists), the events recorded here, the product and
//! party master data and the transaction statement, ready to send.

use super::config::open_store;
use super::input::ScanInput;
use crate::epcis::hash::Context as HashContext;
use crate::gs1::{self, ParseContext, ParsedScan, Sgtin};
use crate::store::Store;
use crate::store::trace::{self as unit_trace, Trace, TraceParty, TraceTransaction};
use anyhow::{Context, Result};
use serde_json::{Map, Value, json};
use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
    Csv,
    JsonLd,
    Xml,
}

/// The unit a scan names, or the errors to report instead.
fn unit_of(scan: &ParsedScan) -> Result<Sgtin, Vec<Value>> {
    if !scan.ok() {
        return Err(scan
            .errors
            .iter()
            .map(|e| json!({"code": e.code.as_str(), "message": e.message}))
            .collect());
    }
    scan.sgtin().ok_or_else(|| {
        vec![json!({
            "code": "no_unit",
            "message": "the scan names no unit (a GTIN and a serial are needed)"
        })]
    })
}

fn party_json(party: Option<&TraceParty>) -> Value {
    match party {
        None => Value::Null,
        Some(p) => json!({
            "gln": p.gln,
            "id": p.id,
            "name": p.name,
            "address": p.address,
        }),
    }
}

fn transaction_json(t: &TraceTransaction) -> Value {
    json!({
        "date": t.date,
        "seller": party_json(t.seller.as_ref()),
        "buyer": party_json(t.buyer.as_ref()),
        "ship_from": party_json(t.ship_from.as_ref()),
        "ship_to": party_json(t.ship_to.as_ref()),
        "po": t.po,
        "invoice": t.invoice,
        "desadv": t.desadv,
        "drop_shipment": t.drop_shipment,
        "statement_affirmed": t.statement_affirmed,
        "document": t.document,
        "shipment": t.shipment,
        "event_id": t.event_id,
    })
}

/// The `--json` line for one scan.
pub fn trace_json(
    scan: &ParsedScan,
    unit: Option<&Sgtin>,
    trace: Option<&Trace>,
    errors: Vec<Value>,
) -> Value {
    let mut obj = Map::new();
    obj.insert(
        "gtin".into(),
        json!(
            unit.map(|u| u.gtin.as_str().to_owned())
                .or_else(|| scan.gtin().map(|g| g.to_string()))
        ),
    );
    obj.insert(
        "serial".into(),
        json!(
            unit.map(|u| u.serial.clone())
                .or_else(|| scan.serial().map(str::to_owned))
        ),
    );
    obj.insert(
        "lot".into(),
        json!(
            trace
                .and_then(|t| t.lot.clone())
                .or_else(|| scan.lot().map(str::to_owned))
        ),
    );
    obj.insert(
        "expiry".into(),
        json!(
            trace
                .and_then(|t| t.expiry.clone())
                .or_else(|| scan.expiry.map(|d| d.format("%Y-%m-%d").to_string()))
        ),
    );
    let product = trace.and_then(|t| t.product.as_ref()).map(|p| {
        json!({
            "ndc": p.ndc,
            "name": p.name,
            "strength": p.strength,
            "dosage_form": p.dosage_form,
            "container_size": p.container_size,
            "manufacturer": p.manufacturer,
        })
    });
    obj.insert("product".into(), product.unwrap_or(Value::Null));
    obj.insert(
        "transactions".into(),
        Value::Array(
            trace
                .map(|t| t.transactions.iter().map(transaction_json).collect())
                .unwrap_or_default(),
        ),
    );
    obj.insert("errors".into(), Value::Array(errors));
    Value::Object(obj)
}

pub fn run(db: Option<PathBuf>, input: ScanInput, format: Format) -> Result<ExitCode> {
    let store = open_store(db)?;
    let ctx = ParseContext::new(super::today());
    let mut out = io::BufWriter::new(io::stdout().lock());
    let mut document = DocumentBuilder::default();
    if format == Format::Csv {
        writeln!(out, "{}", unit_trace::CSV_HEADER)?;
    }
    for line in input {
        let bytes = line.context("reading scans from stdin")?;
        let scan = gs1::parse(&bytes, &ctx);
        let (unit, trace, errors) = match unit_of(&scan) {
            Err(errors) => (None, None, errors),
            Ok(unit) => match store.trace(&unit)? {
                Some(trace) => (Some(unit), Some(trace), Vec::new()),
                None => (
                    Some(unit),
                    None,
                    vec![json!({
                        "code": "no_match_gtin_serial",
                        "message": "no trading partner announced this unit to this desk"
                    })],
                ),
            },
        };
        match format {
            Format::Json => {
                writeln!(
                    out,
                    "{}",
                    trace_json(&scan, unit.as_ref(), trace.as_ref(), errors)
                )?;
            }
            Format::Csv => match (&unit, &trace) {
                (Some(unit), Some(trace)) => {
                    for row in unit_trace::csv_rows(unit, trace) {
                        writeln!(out, "{row}")?;
                    }
                }
                _ => eprintln!("{}", first_message(&errors)),
            },
            Format::Text => match (&unit, &trace) {
                (Some(unit), Some(trace)) => write_text(&mut out, unit, trace)?,
                _ => writeln!(out, "ERROR: {}", first_message(&errors))?,
            },
            Format::JsonLd | Format::Xml => match (unit, trace) {
                (Some(unit), Some(trace)) => document.add(&store, unit, trace)?,
                _ => anyhow::bail!("{}", first_message(&errors)),
            },
        }
        out.flush()?;
    }
    match format {
        Format::JsonLd => {
            let doc = document.jsonld(&store)?;
            writeln!(out, "{}", serde_json::to_string_pretty(&doc)?)?;
        }
        Format::Xml => document.xml(&store, &mut out)?,
        _ => {}
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

fn first_message(errors: &[Value]) -> String {
    errors
        .first()
        .and_then(|e| e.get("message"))
        .and_then(Value::as_str)
        .unwrap_or("cannot trace this scan")
        .to_owned()
}

fn write_text(out: &mut impl Write, unit: &Sgtin, trace: &Trace) -> Result<()> {
    let product = trace.product.clone().unwrap_or_default();
    writeln!(
        out,
        "{} serial {}  lot {}  expiry {}",
        unit.gtin,
        unit.serial,
        trace.lot.as_deref().unwrap_or("?"),
        trace.expiry.as_deref().unwrap_or("?")
    )?;
    writeln!(
        out,
        "  product: {} {} {} (NDC {}), {}, by {}",
        product.name.as_deref().unwrap_or("?"),
        product.strength.as_deref().unwrap_or(""),
        product.dosage_form.as_deref().unwrap_or(""),
        product.ndc.as_deref().unwrap_or("?"),
        product.container_size.as_deref().unwrap_or("?"),
        product.manufacturer.as_deref().unwrap_or("?"),
    )?;
    if trace.transactions.is_empty() {
        writeln!(out, "  no transaction recorded for this unit")?;
    }
    let name = |p: &Option<TraceParty>| {
        p.as_ref()
            .map(|p| match (&p.name, &p.address) {
                (Some(n), Some(a)) => format!("{n} ({a})"),
                (Some(n), None) => n.clone(),
                _ => p.id.clone(),
            })
            .unwrap_or_else(|| "?".into())
    };
    for t in &trace.transactions {
        writeln!(
            out,
            "  {}  {} -> {}  shipped from {} to {}  PO {}  invoice {}  ASN {}{}{}  document {}",
            t.date,
            name(&t.seller),
            name(&t.buyer),
            name(&t.ship_from),
            name(&t.ship_to),
            t.po.as_deref().unwrap_or("-"),
            t.invoice.as_deref().unwrap_or("-"),
            t.desadv.as_deref().unwrap_or("-"),
            if t.drop_shipment == Some(true) {
                "  drop shipment"
            } else {
                ""
            },
            match t.statement_affirmed {
                Some(true) => "  statement affirmed",
                Some(false) => "  statement NOT affirmed",
                None => "  no statement",
            },
            t.document.map_or("-".to_owned(), |d| d.to_string()),
        )?;
    }
    Ok(())
}

/// Collects the units of a `--jsonld` / `--xml` answer.
#[derive(Default)]
struct DocumentBuilder {
    units: Vec<(Sgtin, Trace)>,
}

impl DocumentBuilder {
    fn add(&mut self, _store: &Store, unit: Sgtin, trace: Trace) -> Result<()> {
        self.units.push((unit, trace));
        Ok(())
    }

    /// The EPCIS 2.0 events of the answer: one shipping event per transaction, then what this
    /// desk recorded for each unit.
    fn events(&self, store: &Store) -> Result<Vec<Value>> {
        let context = HashContext::standard();
        let mut events = Vec::new();
        for (unit, trace) in &self.units {
            for t in &trace.transactions {
                let reference = |kind: &str, id: &Option<String>| {
                    id.as_ref()
                        .map(|id| json!({"type": kind, "bizTransaction": id}))
                };
                let party = |kind: &str, key: &str, p: &Option<TraceParty>| {
                    p.as_ref().map(|p| json!({"type": kind, key: p.id}))
                };
                let transactions: Vec<Value> = [
                    reference("po", &t.po),
                    reference("inv", &t.invoice),
                    reference("desadv", &t.desadv),
                ]
                .into_iter()
                .flatten()
                .collect();
                let sources: Vec<Value> = [
                    party("owning_party", "source", &t.seller),
                    party("location", "source", &t.ship_from),
                ]
                .into_iter()
                .flatten()
                .collect();
                let destinations: Vec<Value> = [
                    party("owning_party", "destination", &t.buyer),
                    party("location", "destination", &t.ship_to),
                ]
                .into_iter()
                .flatten()
                .collect();
                let zone = t
                    .date
                    .get(t.date.len().saturating_sub(6)..)
                    .filter(|z| z.starts_with('+') || z.starts_with('-'))
                    .unwrap_or("+00:00");
                let mut event = json!({
                    "type": "ObjectEvent",
                    "eventTime": t.date,
                    "eventTimeZoneOffset": zone,
                    "epcList": [unit.digital_link()],
                    "action": "OBSERVE",
                    "bizStep": "shipping",
                    "disposition": "in_transit",
                    "bizTransactionList": transactions,
                    "sourceList": sources,
                    "destinationList": destinations,
                });
                if let (Some(lot), Some(obj)) = (&trace.lot, event.as_object_mut()) {
                    let mut ilmd = Map::new();
                    ilmd.insert("cbvmda:lotNumber".into(), json!(lot));
                    if let Some(expiry) = &trace.expiry {
                        ilmd.insert("cbvmda:itemExpirationDate".into(), json!(expiry));
                    }
                    obj.insert("ilmd".into(), Value::Object(ilmd));
                }
                if let (Some(drop), Some(obj)) = (t.drop_shipment, event.as_object_mut()) {
                    obj.insert("gs1ushc:dropShipment".into(), json!(drop));
                }
                let id = crate::epcis::event_hash_id(&event, &context)?;
                if let Some(obj) = event.as_object_mut() {
                    obj.insert("eventID".into(), json!(id));
                }
                events.push(event);
            }
            for stored in store.unit_events(unit)? {
                let event: Value = serde_json::from_str(&stored.json).with_context(|| {
                    format!("event {} in the store is not JSON", stored.event_id)
                })?;
                events.push(event);
            }
        }
        Ok(events)
    }

    fn master_data(&self) -> Value {
        let mut classes = Vec::new();
        let mut locations: Vec<Value> = Vec::new();
        let mut seen = std::collections::BTreeSet::new();
        for (unit, trace) in &self.units {
            if let Some(p) = &trace.product {
                let attributes: Vec<Value> = [
                    ("cbvmda:additionalTradeItemIdentification", &p.ndc),
                    ("cbvmda:regulatedProductName", &p.name),
                    ("cbvmda:manufacturerOfTradeItemPartyName", &p.manufacturer),
                    ("cbvmda:dosageFormType", &p.dosage_form),
                    ("cbvmda:strengthDescription", &p.strength),
                    ("cbvmda:netContentDescription", &p.container_size),
                ]
                .into_iter()
                .filter_map(|(id, v)| v.as_ref().map(|v| json!({"id": id, "attribute": v})))
                .chain(p.ndc.as_ref().map(|_| {
                    json!({"id": "cbvmda:additionalTradeItemIdentificationTypeCode", "attribute": "US_FDA_NDC"})
                }))
                .collect();
                let id = format!("https://id.gs1.org/01/{}", unit.gtin.as_str());
                if seen.insert(id.clone()) {
                    classes.push(json!({"id": id, "attributes": attributes}));
                }
            }
            for t in &trace.transactions {
                for p in [&t.seller, &t.buyer, &t.ship_from, &t.ship_to]
                    .into_iter()
                    .flatten()
                {
                    if !seen.insert(p.id.clone()) {
                        continue;
                    }
                    let attributes: Vec<Value> =
                        [("cbvmda:name", &p.name), ("cbvmda:address", &p.address)]
                            .into_iter()
                            .filter_map(|(id, v)| {
                                v.as_ref().map(|v| json!({"id": id, "attribute": v}))
                            })
                            .collect();
                    locations.push(json!({"id": p.id, "attributes": attributes}));
                }
            }
        }
        json!({"vocabularyList": [
            {"type": "urn:epcglobal:epcis:vtype:EPCClass", "vocabularyElementList": classes},
            {"type": "urn:epcglobal:epcis:vtype:Location", "vocabularyElementList": locations},
        ]})
    }

    fn statement(&self) -> Option<bool> {
        let all: Vec<Option<bool>> = self
            .units
            .iter()
            .flat_map(|(_, t)| t.transactions.iter().map(|t| t.statement_affirmed))
            .collect();
        (!all.is_empty()).then(|| all.iter().all(|a| *a == Some(true)))
    }

    fn jsonld(&self, store: &Store) -> Result<Value> {
        let events = self.events(store)?;
        let mut document =
            crate::epcis::event::epcis_document(events, chrono::Local::now().fixed_offset());
        if let Some(obj) = document.as_object_mut() {
            if let Some(Value::Array(context)) = obj.get_mut("@context") {
                context.push(json!({
                    "cbvmda": "urn:epcglobal:cbv:mda:",
                    "gs1ushc": "http://epcis.gs1us.org/hc/ns"
                }));
            }
            let mut header = Map::new();
            header.insert("epcisMasterData".into(), self.master_data());
            if let Some(affirmed) = self.statement() {
                header.insert(
                    "gs1ushc:dscsaTransactionStatement".into(),
                    json!({"gs1ushc:affirmTransactionStatement": affirmed}),
                );
            }
            obj.insert("epcisHeader".into(), Value::Object(header));
        }
        Ok(document)
    }

    /// The EPCIS 1.2 XML answer, for partners and regulators who still exchange 1.2: the same
    /// events, master data and statement as the JSON-LD answer, from this desk to itself (the
    /// requester is not known here; the SBDH needs a receiver).
    fn xml(&self, store: &Store, out: &mut impl Write) -> Result<()> {
        use crate::epcis::document::{PartyMasterData, ProductMasterData, TransactionStatement};
        use crate::epcis::xml_write::{Epcis12Header, Epcis12Writer, Sbdh};
        let site = store.site_gln()?.context(
            "set the site GLN first (tracedesk config site_gln GLN): it signs the answer",
        )?;
        let now = chrono::Local::now().fixed_offset();
        let mut header = Epcis12Header::new(Sbdh {
            sender: site.as_str().to_owned(),
            receiver: site.as_str().to_owned(),
            instance_id: format!("trace-{}", now.format("%Y%m%dT%H%M%S%.3f")),
        });
        let mut seen = std::collections::BTreeSet::new();
        for (unit, trace) in &self.units {
            if let Some(p) = &trace.product
                && seen.insert(unit.gtin.as_str().to_owned())
            {
                header.products.push(ProductMasterData {
                    id: format!("https://id.gs1.org/01/{}", unit.gtin.as_str()),
                    ndc: p.ndc.clone(),
                    name: p.name.clone(),
                    manufacturer: p.manufacturer.clone(),
                    dosage_form: p.dosage_form.clone(),
                    strength: p.strength.clone(),
                    net_content: p.container_size.clone(),
                });
            }
            for t in &trace.transactions {
                for p in [&t.seller, &t.buyer, &t.ship_from, &t.ship_to]
                    .into_iter()
                    .flatten()
                {
                    if seen.insert(p.id.clone()) {
                        header.parties.push(PartyMasterData {
                            id: p.id.clone(),
                            name: p.name.clone(),
                            street1: p.address.clone(),
                            ..Default::default()
                        });
                    }
                }
            }
        }
        header.statement = self.statement().map(|affirmed| TransactionStatement {
            affirmed,
            legal_notice: None,
        });
        let mut writer = Epcis12Writer::new(out, now, Some(&header))?;
        for event in self.events(store)? {
            writer.event(&event)?;
        }
        writer.finish()?;
        Ok(())
    }
}
