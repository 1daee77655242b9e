//! Supplier EPCIS 2.0 JSON-LD documents into the cache.
//!
//! The documents are read as a stream by [`crate::epcis::read`]; each event is applied as it
//! arrives, inside one transaction for all the files of an import:
//!
//! - **Commissioning** (action ADD, or any event carrying ILMD) announces units with the lot
//!   (`cbvmda:lotNumber`) and expiry (`cbvmda:itemExpirationDate`) of its ILMD. A new unit is
//!   active.
//! - **Aggregation** (ADD/OBSERVE) records what a case or tote (parent SSCC) holds: units and
//!   nested SSCCs; DELETE removes the listed children, or all of them when none are listed.
//! - **Shipping** to this site (its GLN in the destination list; setting `site_gln`) announces
//!   a shipment known by the event's business transactions (PO, ASN...), the SSCCs shipped and
//!   the event ID; every unit shipped, directly or inside a known SSCC, is expected on it.
//!   Shipping to another site is skipped. With no `site_gln` set, every shipment is accepted
//!   and the report says so.
//! - **Dispositions** that forbid receipt set the status of every unit listed: `recalled`,
//!   `stolen`, `destroyed`/`disposed`, `dispensed`/`partially_dispensed`/`retail_sold`,
//!   `inactive` (decommissioned), `expired`, `damaged`/`non_sellable_other`/
//!   `no_pedigree_match` (suspect). A class-level (LGTIN) identifier with disposition
//!   `recalled` recalls the lot. Permissive dispositions never clear a status: a supplier's
//!   later `in_transit` must not make a stolen unit sellable again.
//!
//! Cases must be aggregated (earlier in the file, or in an earlier import) before a shipping
//! event that lists only their SSCC can expand them.

use super::import::{Change, ImportCounts, ImportError, UnitAnnouncement, UnitWriter};
use super::shipment::upsert_shipment;
use super::{StoreError, gtin_key, iso_date};
use crate::epcis::read::{Action, EventType, ReadError, SupplierEvent, read_jsonld_events};
use crate::epcis::{Epc, parse_epc};
use crate::gs1::Gtin;
use crate::verify::UnitStatus;
use chrono::{DateTime, Utc};
use rusqlite::{Connection, TransactionBehavior, params};
use std::io::Read;

/// What an EPCIS import did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EpcisImportReport {
    pub events: u64,
    /// Events with nothing for this store (other sites' shipments, event types not used).
    pub skipped_events: u64,
    pub units: ImportCounts,
    pub shipments: ImportCounts,
    /// Parent-child links of cases and totes.
    pub containers: ImportCounts,
    /// Lot recalls from class-level `recalled` events.
    pub recalls: ImportCounts,
    /// Things the user should know (e.g. no site GLN set).
    pub notes: Vec<String>,
}

/// The status a CBV disposition gives a unit, when it forbids receipt.
pub fn disposition_status(disposition: &str) -> Option<UnitStatus> {
    Some(match disposition {
        "recalled" => UnitStatus::Recalled,
        "stolen" => UnitStatus::Stolen,
        "destroyed" | "disposed" => UnitStatus::Destroyed,
        "dispensed" | "partially_dispensed" | "retail_sold" => UnitStatus::Dispensed,
        "inactive" => UnitStatus::Inactive,
        "expired" => UnitStatus::Expired,
        "damaged" | "non_sellable_other" | "no_pedigree_match" => UnitStatus::Suspect,
        _ => return None,
    })
}

struct Applier<'c> {
    conn: &'c Connection,
    site_gln: Option<String>,
    now: DateTime<Utc>,
    writer: UnitWriter,
    report: EpcisImportReport,
}

/// A malformed event: the message gets the file and event index added by the caller.
fn bad(message: impl Into<String>) -> StoreError {
    ImportError::at("", message).into()
}

fn epc(text: &str) -> Result<Epc, StoreError> {
    parse_epc(text).map_err(|e| bad(e.to_string()))
}

fn gtin(text: &str) -> Result<i64, StoreError> {
    Gtin::parse(text)
        .map(|g| gtin_key(&g))
        .map_err(|e| bad(format!("GTIN {text}: {e}")))
}

fn sscc_key(text: &str) -> Result<i64, StoreError> {
    text.parse()
        .map_err(|_| bad(format!("SSCC {text} is not 18 digits")))
}

/// The GLN of a party EPC URN (`urn:epc:id:pgln:0614141.00002`), as owning/possessing party
/// destinations are written.
fn pgln(text: &str) -> Option<String> {
    let (prefix, reference) = text.strip_prefix("urn:epc:id:pgln:")?.split_once('.')?;
    let body = format!("{prefix}{reference}");
    if body.len() != 12 || !body.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let check = crate::gs1::ident::check_digit(body.as_bytes())?;
    Some(format!("{body}{check}"))
}

impl Applier<'_> {
    fn apply(&mut self, event: &SupplierEvent) -> Result<(), StoreError> {
        self.report.events += 1;
        let mut used = false;
        let status = event
            .disposition
            .as_deref()
            .into_iter()
            .chain(event.persistent_disposition_set.iter().map(String::as_str))
            .find_map(disposition_status);
        match event.event_type {
            EventType::Aggregation => {
                used = self.aggregate(event)?;
            }
            EventType::Object | EventType::Transaction => {
                let ilmd = event.lot_number.is_some() || event.item_expiration_date.is_some();
                let commissioning = event.action == Some(Action::Add)
                    && (ilmd || event.biz_step.as_deref() == Some("commissioning"));
                if commissioning || status.is_some() {
                    used |= self.announce(event, ilmd, status)?;
                }
                if event.biz_step.as_deref() == Some("shipping") {
                    used |= self.ship(event)?;
                }
                if status == Some(UnitStatus::Recalled) {
                    used |= self.recall_lots(event)?;
                }
            }
            EventType::Transformation | EventType::Association => {}
        }
        if !used {
            self.report.skipped_events += 1;
        }
        Ok(())
    }

    /// The serialised units an event lists (SSCCs and classes are left out).
    fn units<'e>(epcs: impl Iterator<Item = &'e String>) -> Result<Vec<(i64, String)>, StoreError> {
        let mut out = Vec::new();
        for text in epcs {
            if let Epc::Sgtin { gtin: g, serial } = epc(text)? {
                out.push((gtin(&g)?, serial));
            }
        }
        Ok(out)
    }

    fn announce(
        &mut self,
        event: &SupplierEvent,
        ilmd: bool,
        status: Option<UnitStatus>,
    ) -> Result<bool, StoreError> {
        let expiry = event.item_expiration_date.map(iso_date).unwrap_or_default();
        let lot = event.lot_number.clone().unwrap_or_default();
        let mut units = Self::units(event.epc_list.iter().chain(&event.output_epc_list))?;
        // A status event may name cases: their units share the status.
        if status.is_some() {
            for text in &event.epc_list {
                if let Epc::Sscc { sscc } = epc(text)? {
                    units.extend(self.container_children(sscc_key(&sscc)?)?);
                }
            }
        }
        for (gtin, serial) in &units {
            let change = self.writer.write(
                self.conn,
                &UnitAnnouncement {
                    gtin: *gtin,
                    serial,
                    lot: ilmd.then_some((lot.as_str(), expiry.as_str())),
                    status,
                    shipment: None,
                },
            )?;
            self.report.units.add(change);
        }
        Ok(!units.is_empty())
    }

    fn container_children(&self, sscc: i64) -> Result<Vec<(i64, String)>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "WITH RECURSIVE tree(sscc) AS (
                 SELECT ?1
                 UNION SELECT c.child FROM container_containers c JOIN tree t ON c.sscc = t.sscc
             )
             SELECT cu.gtin, cu.serial FROM container_units cu JOIN tree t ON cu.sscc = t.sscc",
        )?;
        let rows = stmt.query_map([sscc], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn aggregate(&mut self, event: &SupplierEvent) -> Result<bool, StoreError> {
        let Some(parent) = &event.parent_id else {
            return Ok(false);
        };
        let Epc::Sscc { sscc } = epc(parent)? else {
            // Only logistic units (cases, totes, pallets) are opened at the desk.
            return Ok(false);
        };
        let parent = sscc_key(&sscc)?;
        if event.action == Some(Action::Delete) {
            if event.child_epcs.is_empty() {
                self.conn
                    .execute("DELETE FROM container_units WHERE sscc = ?1", [parent])?;
                self.conn
                    .execute("DELETE FROM container_containers WHERE sscc = ?1", [parent])?;
            }
            for child in &event.child_epcs {
                match epc(child)? {
                    Epc::Sgtin { gtin: g, serial } => self.conn.execute(
                        "DELETE FROM container_units WHERE sscc = ?1 AND gtin = ?2 AND serial = ?3",
                        params![parent, gtin(&g)?, serial],
                    )?,
                    Epc::Sscc { sscc } => self.conn.execute(
                        "DELETE FROM container_containers WHERE sscc = ?1 AND child = ?2",
                        params![parent, sscc_key(&sscc)?],
                    )?,
                    _ => 0,
                };
            }
            return Ok(true);
        }
        for child in &event.child_epcs {
            let inserted = match epc(child)? {
                Epc::Sgtin { gtin: g, serial } => self
                    .conn
                    .prepare_cached(
                        "INSERT OR IGNORE INTO container_units (sscc, gtin, serial)
                         VALUES (?1, ?2, ?3)",
                    )?
                    .execute(params![parent, gtin(&g)?, serial])?,
                Epc::Sscc { sscc } => self
                    .conn
                    .prepare_cached(
                        "INSERT OR IGNORE INTO container_containers (sscc, child) VALUES (?1, ?2)",
                    )?
                    .execute(params![parent, sscc_key(&sscc)?])?,
                _ => continue,
            };
            self.report.containers.add(if inserted > 0 {
                Change::Inserted
            } else {
                Change::Unchanged
            });
        }
        Ok(true)
    }

    fn for_this_site(&mut self, event: &SupplierEvent) -> Result<bool, StoreError> {
        // Every destination is checked, even with no site set: a garbled file is reported.
        let mut glns = Vec::with_capacity(event.destinations.len());
        for destination in &event.destinations {
            if let Some(gln) = pgln(&destination.id) {
                glns.push(gln);
                continue;
            }
            match parse_epc(&destination.id) {
                Ok(Epc::Sgln { gln, .. }) => glns.push(gln),
                Ok(_) => {}
                // A location must be readable; other party identifiers may be in schemes
                // this desk does not use.
                Err(e) if destination.kind.as_deref() == Some("location") => {
                    return Err(bad(e.to_string()));
                }
                Err(_) => {}
            }
        }
        Ok(match &self.site_gln {
            None => true,
            Some(site) => glns.iter().any(|g| g == site),
        })
    }

    fn ship(&mut self, event: &SupplierEvent) -> Result<bool, StoreError> {
        if !self.for_this_site(event)? {
            self.report.shipments.skipped += 1;
            return Ok(false);
        }
        let mut refs: Vec<(String, String)> = event
            .biz_transactions
            .iter()
            .map(|t| (t.kind.clone().unwrap_or_else(|| "bt".into()), t.id.clone()))
            .collect();
        // The ASN names the shipment when there is one, then the PO.
        refs.sort_by_key(|(kind, _)| match kind.as_str() {
            "desadv" => 0,
            "po" => 1,
            _ => 2,
        });
        let mut units = Self::units(event.epc_list.iter())?;
        for text in &event.epc_list {
            if let Epc::Sscc { sscc } = epc(text)? {
                units.extend(self.container_children(sscc_key(&sscc)?)?);
                refs.push(("sscc".into(), sscc));
            }
        }
        refs.push(("event".into(), event.hash_id.clone()));
        let ref_slices: Vec<(&str, &str)> =
            refs.iter().map(|(k, r)| (k.as_str(), r.as_str())).collect();
        let (shipment, created) = upsert_shipment(self.conn, &ref_slices, Some("epcis"), self.now)?;
        self.report.shipments.add(if created {
            Change::Inserted
        } else {
            Change::Unchanged
        });
        for (gtin, serial) in &units {
            let change = self.writer.write(
                self.conn,
                &UnitAnnouncement {
                    gtin: *gtin,
                    serial,
                    lot: None,
                    status: None,
                    shipment: Some(shipment.0),
                },
            )?;
            self.report.units.add(change);
        }
        Ok(true)
    }

    fn recall_lots(&mut self, event: &SupplierEvent) -> Result<bool, StoreError> {
        let classes = event
            .epc_list
            .iter()
            .chain(event.quantity_list.iter().map(|q| &q.epc_class));
        let mut any = false;
        for text in classes {
            if let Epc::Lgtin { gtin: g, lot } = epc(text)? {
                let inserted = self
                    .conn
                    .prepare_cached(
                        "INSERT OR IGNORE INTO lot_recalls (gtin, lot, reason) VALUES (?1, ?2, ?3)",
                    )?
                    .execute(params![gtin(&g)?, lot, "recalled (EPCIS event)"])?;
                self.report.recalls.add(if inserted > 0 {
                    Change::Inserted
                } else {
                    Change::Unchanged
                });
                any = true;
            }
        }
        Ok(any)
    }
}

impl super::Store {
    /// Import EPCIS 2.0 JSON-LD documents, all in one transaction. `inputs` are
    /// `(name for messages, reader)` pairs.
    pub fn import_epcis<R: Read>(
        &mut self,
        inputs: impl IntoIterator<Item = (String, R)>,
        now: DateTime<Utc>,
    ) -> Result<EpcisImportReport, StoreError> {
        let site_gln = self.site_gln()?.map(|g| g.as_str().to_string());
        let tx = self
            .conn_mut()
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut applier = Applier {
            conn: &tx,
            site_gln,
            now,
            writer: UnitWriter::new(),
            report: EpcisImportReport::default(),
        };
        if applier.site_gln.is_none() {
            applier.report.notes.push(
                "no site GLN is set (tracedesk config site_gln GLN): every shipment was \
                 accepted as addressed to this site"
                    .into(),
            );
        }
        for (name, reader) in inputs {
            read_jsonld_events(reader, |event| applier.apply(&event)).map_err(|e| match e {
                ReadError::Rejected { index, source } => match source {
                    StoreError::Import(ImportError::Malformed { message, .. }) => {
                        ImportError::at(format!("{name}: event {index}"), message).into()
                    }
                    other => other,
                },
                ReadError::Io(source) => ImportError::Read {
                    source_name: name.clone(),
                    source,
                }
                .into(),
                other => StoreError::from(ImportError::at(name.clone(), other.to_string())),
            })?;
        }
        let report = applier.report;
        tx.commit()?;
        Ok(report)
    }
}
