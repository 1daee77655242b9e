//! Trading partners' EPCIS documents into the cache, archived as received.
//!
//! An import has three steps, so that a big document never locks the clerk out and a bad one
//! leaves nothing behind:
//!
//! 1. **Read and check** (no lock): each document is read once, to the end, by
//!    [`crate::epcis::read::read_document_with`] (EPCIS 1.2 XML, 2.0 XML or 2.0 JSON-LD), and
//!    every value a partner sent is checked as strictly as a scan's: EPCs and their GTIN/SSCC
//!    check digits, serials and lots (AI 21/10: 1-20 characters of CSET 82), dates, master data
//!    texts. Meanwhile a second thread computes the document's SHA-256 and compresses the
//!    archive copy. A document that fails is refused whole, naming the event and line; nothing
//!    is stored. What passes is written to a *plan*: each event as a line of JSON, its EPC lists
//!    as records (a serialised unit already parsed to its GTIN key and serial), so the apply
//!    never parses the document again. An event's EPC lists are never held whole in memory:
//!    the reader keeps them in scratch files (see [`crate::epcis::spill`]), and the plan is two
//!    more; all are unlinked as soon as they are open, so none outlives the process.
//! 2. **Apply in short transactions**: the archived document, the master data, then the planned
//!    events. A transaction is committed after [`CHUNK`] and the writer pauses for [`YIELD`], so
//!    a receive waiting on the lock gets it within one chunk; the log is checkpointed after each
//!    chunk, outside the lock. Each write that changes a row the run found is preceded by an
//!    undo row; the units the run inserts carry its *tag* instead (`units.import_tag`, from
//!    `import_tags`, never given twice), so that a million new units cost no undo row and
//!    shipping them after commissioning them costs none either.
//! 3. **Finish or undo**: at the end the run is marked done and its undo rows dropped; on any
//!    error the units carrying its tag are deleted and the undo rows played back (again in
//!    short transactions). A run left half-applied by a crash (`kill -9` included) is undone
//!    by the next import before it starts (imports take a lock file, so only a dead run is
//!    ever undone).
//!
//! What the events mean:
//!
//! - **Commissioning** (action ADD, or any event carrying ILMD) announces units with the lot
//!   and expiry of its ILMD. A new unit is active.
//! - **Aggregation** (ADD/OBSERVE) records what a case or tote holds: under an SSCC (units and
//!   nested SSCCs) or under a serialised case (an SGTIN parent, as GS1 US shipments nest units
//!   in cases on a pallet); DELETE removes the listed children, or all of them.
//! - **Shipping** to this site (its GLN among the destinations; setting `site_gln`) announces a
//!   shipment known by the event's business transactions (PO, invoice, ASN...), the SSCCs
//!   shipped and the event ID, and records the transaction (seller, buyer, ship-from, ship-to,
//!   drop shipment, the document's transaction statement) for `trace`. Every unit shipped,
//!   directly or inside a known SSCC or case, is expected on it. Shipping to another site is
//!   skipped. With no `site_gln` set, every shipment is accepted and the report says so.
//! - **Dispositions** that forbid receipt set the status of every unit listed: `recalled`,
//!   `stolen`, `destroyed`/`disposed`, `dispensed`/`partially_dispensed`/`retail_sold`,
//!   `inactive` (decommissioned), `expired`, `damaged`/`non_sellable_other`/
//!   `no_pedigree_match` (suspect). A class-level (LGTIN) identifier with disposition
//!   `recalled` recalls the lot. Permissive dispositions never clear a status.
//! - **Master data**: `EPCClass` elements fill product values the store does not have (an FDA or
//!   CSV import is never overwritten; `product_sources` records which values came from which
//!   document); `Location` elements give parties their names and addresses.

use std::borrow::Cow;
use std::cell::Cell;
use std::fs::File;
use std::io::{self, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use chrono::{DateTime, FixedOffset, Months, NaiveDate, Utc};
use flate2::Compression;
use flate2::write::GzEncoder;
use rusqlite::{Connection, OptionalExtension, Statement, params, params_from_iter};
use sha2::{Digest, Sha256};

use super::import::{Change, ImportCounts, ImportError, PriorUnit, UnitAnnouncement};
use super::shipment::find_shipment;
use super::{StoreError, gtin_key, iso_date, timestamp};
use crate::epcis::document::{DocumentHeader, PartyMasterData, ProductMasterData};
use crate::epcis::read::{
    Action, DocumentSink, EventLists, EventType, ListKind, ReadError, SupplierEvent,
    TypedReference, read_document_with,
};
use crate::epcis::spill::{LogReader, Scratch, ScratchFile, encode_record};
use crate::epcis::{Epc, parse_epc};
use crate::gs1::ident::serial_ok;
use crate::gs1::{Gtin, Ndc};
use crate::verify::UnitStatus;

/// How long one apply transaction may hold the write lock.
pub const CHUNK: Duration = Duration::from_millis(15);
/// The pause between two apply transactions, long enough for a waiting receive to take the lock.
pub const YIELD: Duration = Duration::from_millis(3);
/// The largest document accepted (a year of a wholesaler's TI/TS fits many times over).
pub const MAX_DOCUMENT_BYTES: u64 = 4 << 30;
/// How long TI/TS must be kept (DSCSA: at least six years).
pub const RETENTION_MONTHS: u32 = 72;
/// Longest text accepted in a master data or reference field.
const MAX_TEXT: usize = 512;

/// One archived document, as `tracedesk archive` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchivedDocument {
    pub id: i64,
    pub sha256: String,
    pub format: String,
    pub sender: Option<String>,
    pub receiver: Option<String>,
    pub instance_id: Option<String>,
    pub received_at: String,
    pub retain_until: String,
    pub events: u64,
    pub size: u64,
}

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
    /// Products given master data values from a document.
    pub products: ImportCounts,
    /// Parties and locations with names and addresses.
    pub parties: ImportCounts,
    /// The archived documents (an identical document imported again keeps its first entry).
    pub documents: Vec<i64>,
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

// --- step 1: read and check ----------------------------------------------------------------

/// A document read and checked: its digest, its archive copy, and the plan of its apply.
struct Spooled {
    name: String,
    /// The archive copy (gzip), in an unlinked scratch file.
    gzip: File,
    sha256: String,
    size: u64,
    header: DocumentHeader,
    events: u64,
    plan: Plan,
}

fn scratch_path(store: &Path, tag: &str, n: usize) -> PathBuf {
    let mut name = store.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".import-{}-{n}.{tag}", std::process::id()));
    store.with_file_name(name)
}

/// What the archive copy's thread made of the bytes it was given.
struct Digested {
    gzip: File,
    sha256: String,
    size: u64,
}

/// Digests the document's bytes and compresses them into the archive copy `file`, on a
/// thread of its own, as the check reads them.
fn archive_copy(chunks: Receiver<Vec<u8>>, file: File) -> JoinHandle<io::Result<Digested>> {
    std::thread::spawn(move || {
        let mut gzip = GzEncoder::new(io::BufWriter::new(file), Compression::default());
        let mut digest = Sha256::new();
        let mut size = 0u64;
        for chunk in chunks {
            digest.update(&chunk);
            size += chunk.len() as u64;
            gzip.write_all(&chunk)?;
        }
        let mut gzip = gzip
            .finish()?
            .into_inner()
            .map_err(io::IntoInnerError::into_error)?;
        gzip.seek(SeekFrom::Start(0))?;
        let sha256 = digest
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        Ok(Digested { gzip, sha256, size })
    })
}

/// The document as the check reads it, each chunk also handed to the archive copy's thread.
struct Tee<'f, R> {
    inner: R,
    chunks: SyncSender<Vec<u8>>,
    size: u64,
    too_large: &'f Cell<bool>,
}

impl<R: Read> Read for Tee<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.size += n as u64;
        if self.size > MAX_DOCUMENT_BYTES {
            self.too_large.set(true);
            return Err(io::Error::other("the document is too large"));
        }
        let chunk = buf.get(..n).unwrap_or_default();
        if !chunk.is_empty() && self.chunks.send(chunk.to_vec()).is_err() {
            // The thread stopped; its error is the one reported.
            return Err(io::Error::other("the archive copy stopped"));
        }
        Ok(n)
    }
}

/// Step 1 for one document: reads it once, checking every value, while a second thread
/// digests it and compresses the archive copy; leaves the plan of the apply.
fn read_and_check<R: Read>(store: &Path, name: &str, reader: R) -> Result<Spooled, StoreError> {
    let mut scratch = FileScratch { store, made: 0 };
    let plan = PlanWriter::new(&mut scratch).map_err(|e| scratch_failure(name, e))?;
    let mut checker = Checker {
        name,
        header: DocumentHeader::default(),
        events: 0,
        keys: UnitKeys::default(),
        plan,
    };
    let gzip = scratch.file().map_err(|e| scratch_failure(name, e))?;
    let (chunks, received) = sync_channel(16);
    let copying = archive_copy(received, gzip);
    let too_large = Cell::new(false);
    let mut tee = Tee {
        inner: reader,
        chunks,
        size: 0,
        too_large: &too_large,
    };
    let read = read_document_with(&mut tee, &mut checker, &mut scratch).and_then(|summary| {
        // The archive keeps every byte, whatever follows the document's end.
        io::copy(&mut tee, &mut io::sink()).map_err(ReadError::Io)?;
        Ok(summary)
    });
    drop(tee);
    let digested = match copying.join() {
        Ok(Ok(digested)) => digested,
        Ok(Err(e)) => {
            return Err(
                ImportError::at(name, format!("cannot write the archive copy: {e}")).into(),
            );
        }
        Err(_) => return Err(ImportError::at(name, "the archive copy's thread stopped").into()),
    };
    if too_large.get() {
        return Err(ImportError::at(
            name,
            format!("the document is larger than {MAX_DOCUMENT_BYTES} bytes"),
        )
        .into());
    }
    read.map_err(|e| read_failure(name, e))?;
    let plan = checker
        .plan
        .finish()
        .map_err(|e| scratch_failure(name, e))?;
    Ok(Spooled {
        name: name.to_owned(),
        gzip: digested.gzip,
        sha256: digested.sha256,
        size: digested.size,
        header: checker.header,
        events: checker.events,
        plan,
    })
}

/// Why a partner's value was refused.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Invalid(String);

fn text_ok(what: &str, value: &str) -> Result<(), Invalid> {
    if value.chars().count() > MAX_TEXT {
        return Err(Invalid(format!(
            "{what} is longer than {MAX_TEXT} characters"
        )));
    }
    if let Some(c) = value.chars().find(|c| c.is_control()) {
        return Err(Invalid(format!(
            "{what} '{}' holds the control character U+{:04X}",
            value.escape_debug(),
            u32::from(c)
        )));
    }
    Ok(())
}

/// A lot number, as AI 10 allows: 1-20 characters of CSET 82 (the same rule as a serial).
fn lot_ok(lot: &str) -> bool {
    serial_ok(lot)
}

/// Parses an EPC and checks what it identifies as a scan of it would be checked.
fn checked_epc(what: &str, text: &str) -> Result<Epc, Invalid> {
    text_ok(what, text)?;
    let epc = parse_epc(text).map_err(|e| Invalid(format!("{what}: {e}")))?;
    match &epc {
        Epc::Sgtin { gtin, serial } => {
            Gtin::parse(gtin).map_err(|e| Invalid(format!("{what} {text}: GTIN {e}")))?;
            if !serial_ok(serial) {
                return Err(Invalid(format!(
                    "{what} {text}: the serial '{}' is not 1-20 characters of CSET 82",
                    serial.escape_debug()
                )));
            }
        }
        Epc::Lgtin { gtin, lot } => {
            Gtin::parse(gtin).map_err(|e| Invalid(format!("{what} {text}: GTIN {e}")))?;
            if !lot_ok(lot) {
                return Err(Invalid(format!(
                    "{what} {text}: the lot '{}' is not 1-20 characters of CSET 82",
                    lot.escape_debug()
                )));
            }
        }
        Epc::Gtin { gtin } => {
            Gtin::parse(gtin).map_err(|e| Invalid(format!("{what} {text}: GTIN {e}")))?;
        }
        Epc::Sscc { sscc } => {
            crate::gs1::Sscc::parse(sscc)
                .map_err(|e| Invalid(format!("{what} {text}: SSCC {e}")))?;
        }
        Epc::Sgln { .. } => {}
    }
    Ok(epc)
}

/// The GTIN an `EPCClass` vocabulary element names: an SGTIN pattern
/// (`urn:epc:idpat:sgtin:030001.0012345.*`), an LGTIN or GTIN class, or a Digital Link.
/// A quantity's `epcClass`: an LGTIN (one lot), a GTIN, or an SGTIN pattern
/// (`urn:epc:idpat:sgtin:CP.IR.*`: every unit of a GTIN, as the GS1 US guideline names
/// products), each with a GTIN whose check digit is right.
fn checked_class(text: &str) -> Result<Epc, Invalid> {
    if text.trim().starts_with("urn:epc:idpat:sgtin:") {
        text_ok("epcClass", text)?;
        return match class_gtin(text) {
            Some(gtin) if text.trim().ends_with(".*") => Ok(Epc::Gtin {
                gtin: gtin.as_str().to_owned(),
            }),
            _ => Err(Invalid(format!(
                "epcClass {text}: not an SGTIN pattern (urn:epc:idpat:sgtin:CompanyPrefix.ItemReference.*)"
            ))),
        };
    }
    checked_epc("epcClass", text)
}

pub(crate) fn class_gtin(id: &str) -> Option<Gtin> {
    let id = id.trim();
    if let Some(body) = id.strip_prefix("urn:epc:idpat:sgtin:") {
        let (prefix_ref, _) = body.rsplit_once('.')?;
        return match parse_epc(&format!("urn:epc:id:sgtin:{prefix_ref}.0")).ok()? {
            Epc::Sgtin { gtin, .. } => Gtin::parse(&gtin).ok(),
            _ => None,
        };
    }
    match parse_epc(id).ok()? {
        Epc::Lgtin { gtin, .. } | Epc::Gtin { gtin } | Epc::Sgtin { gtin, .. } => {
            Gtin::parse(&gtin).ok()
        }
        _ => None,
    }
}

fn check_header(header: &DocumentHeader) -> Result<(), Invalid> {
    for (what, value) in [
        ("the sender", &header.sender),
        ("the receiver", &header.receiver),
        ("the instance identifier", &header.instance_id),
    ] {
        if let Some(v) = value {
            text_ok(what, v)?;
        }
    }
    if let Some(s) = &header.statement
        && let Some(notice) = &s.legal_notice
    {
        // Legal notices are prose; allow line breaks, nothing else unprintable.
        if notice.len() > 4 * MAX_TEXT
            || notice
                .chars()
                .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
        {
            return Err(Invalid(
                "the transaction statement's legal notice is too long or holds control characters"
                    .into(),
            ));
        }
    }
    for p in &header.products {
        let what = format!("master data {}", p.id);
        text_ok(&what, &p.id)?;
        for value in [
            &p.name,
            &p.manufacturer,
            &p.dosage_form,
            &p.strength,
            &p.net_content,
        ]
        .into_iter()
        .flatten()
        {
            text_ok(&what, value)?;
        }
        if let Some(ndc) = &p.ndc {
            Ndc::parse(ndc).map_err(|e| Invalid(format!("{what}: NDC '{ndc}': {e}")))?;
        }
    }
    for p in &header.parties {
        let what = format!("location {}", p.id);
        text_ok(&what, &p.id)?;
        for value in [
            &p.name,
            &p.street1,
            &p.street2,
            &p.city,
            &p.state,
            &p.postal_code,
            &p.country,
        ]
        .into_iter()
        .flatten()
        {
            text_ok(&what, value)?;
        }
    }
    Ok(())
}

/// The GTIN key and serial of an SGTIN EPC URN in its everyday spelling, without parsing each
/// one in full: a big event lists one product's units by the hundred thousand. The first URN of
/// a company prefix and item reference goes through [`parse_epc`]; later ones with the same and
/// a plain serial (CSET 82, no `%`-escape) reuse its GTIN. Anything else is `None`, for the
/// full parser to accept or explain.
#[derive(Default)]
struct UnitKeys {
    last: Option<(String, i64)>,
}

impl UnitKeys {
    fn unit<'t>(&mut self, text: &'t str) -> Option<(i64, &'t str)> {
        let body = text.strip_prefix("urn:epc:id:sgtin:")?;
        let mut parts = body.splitn(3, '.');
        let (cp, item, serial) = (parts.next()?, parts.next()?, parts.next()?);
        if serial.contains('%') || !serial_ok(serial) {
            return None;
        }
        let product = body.get(..cp.len() + 1 + item.len())?;
        if let Some((known, key)) = &self.last
            && known == product
        {
            return Some((*key, serial));
        }
        let Ok(Epc::Sgtin {
            gtin,
            serial: parsed,
        }) = parse_epc(text)
        else {
            return None;
        };
        if parsed != serial {
            return None;
        }
        let key = gtin_key(&Gtin::parse(&gtin).ok()?);
        self.last = Some((product.to_owned(), key));
        Some((key, serial))
    }
}

/// An event's values other than its EPC lists.
fn check_event(event: &SupplierEvent) -> Result<(), Invalid> {
    if let Some(parent) = &event.parent_id {
        checked_epc("parentID", parent)?;
    }
    for q in event.quantity_list.iter().chain(&event.child_quantity_list) {
        checked_class(&q.epc_class)?;
    }
    if let Some(lot) = &event.lot_number
        && !lot_ok(lot)
    {
        return Err(Invalid(format!(
            "ilmd lotNumber '{}' is not 1-20 characters of CSET 82",
            lot.chars().take(40).collect::<String>().escape_debug()
        )));
    }
    for t in &event.biz_transactions {
        text_ok("bizTransaction", &t.id)?;
        if t.id.is_empty() {
            return Err(Invalid("a bizTransaction is empty".into()));
        }
    }
    for (what, list) in [
        ("source", &event.sources),
        ("destination", &event.destinations),
    ] {
        for r in list {
            text_ok(what, &r.id)?;
            if matches!(
                r.kind.as_deref(),
                Some("location" | "owning_party" | "possessing_party")
            ) && pgln(&r.id).is_none()
            {
                match parse_epc(&r.id) {
                    Ok(Epc::Sgln { .. }) => {}
                    Ok(_) => return Err(Invalid(format!("{what} {} is not a GLN", r.id))),
                    Err(e) => return Err(Invalid(format!("{what}: {e}"))),
                }
            }
        }
    }
    for (what, value) in [
        ("readPoint", &event.read_point),
        ("bizLocation", &event.biz_location),
        ("eventID", &event.event_id),
    ] {
        if let Some(v) = value {
            text_ok(what, v)?;
        }
    }
    Ok(())
}

/// Pass 1: reads a document to the end, checking everything and storing nothing but the plan
/// the apply follows.
struct Checker<'n> {
    name: &'n str,
    header: DocumentHeader,
    events: u64,
    keys: UnitKeys,
    plan: PlanWriter,
}

impl DocumentSink for Checker<'_> {
    type Error = StoreError;
    fn header(&mut self, header: DocumentHeader) -> Result<(), StoreError> {
        check_header(&header)?;
        self.header = header;
        Ok(())
    }
    fn event(&mut self, mut event: SupplierEvent) -> Result<(), StoreError> {
        let mut lists = EventLists::take_from(&mut event);
        self.event_with_lists(event, &mut lists)
    }
    fn streams_lists(&self) -> bool {
        true
    }
    fn wants_hash_id(&mut self, event: &SupplierEvent) -> bool {
        ships(event.event_type, event.biz_step.as_deref())
    }
    fn event_with_lists(
        &mut self,
        event: SupplierEvent,
        lists: &mut EventLists<'_>,
    ) -> Result<(), StoreError> {
        let name = self.name;
        let start = self.plan.lists_len;
        let mut counts = [0u64; 4];
        for kind in ListKind::ALL {
            let mut cursor = lists.cursor(kind);
            while let Some(epc) = cursor.next().map_err(|e| scratch_failure(name, e))? {
                // A URN the fast reader takes passes every check of `checked_epc`: printable
                // ASCII, short, a valid GTIN, a CSET 82 serial.
                let written = match self.keys.unit(epc) {
                    Some((gtin, serial)) => self.plan.unit(kind, gtin, serial),
                    None => {
                        checked_epc(kind.element(), epc)?;
                        self.plan.epc(kind, epc)
                    }
                };
                written.map_err(|e| scratch_failure(name, e))?;
                if let Some(n) = counts.get_mut(kind.index()) {
                    *n += 1;
                }
            }
        }
        check_event(&event)?;
        self.plan
            .event(PlannedEvent::of(
                event,
                (start, self.plan.lists_len),
                counts,
            ))
            .map_err(|e| scratch_failure(name, e))?;
        self.events += 1;
        Ok(())
    }
}

/// Whether an event ships: the only events whose hash ID an import uses.
fn ships(event_type: EventType, biz_step: Option<&str>) -> bool {
    matches!(event_type, EventType::Object | EventType::Transaction) && biz_step == Some("shipping")
}

/// An event as the apply needs it (its quantities and the rest of what it carries play no
/// part), with where its EPC lists are in the plan.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct PlannedEvent {
    index: usize,
    event_type: EventType,
    action: Option<Action>,
    event_time: DateTime<FixedOffset>,
    biz_step: Option<String>,
    disposition: Option<String>,
    persistent_disposition_set: Vec<String>,
    parent_id: Option<String>,
    quantity_classes: Vec<String>,
    /// The quantities themselves (few: a shipping event's ordered quantities per product).
    quantity_list: Vec<crate::epcis::read::QuantityElement>,
    biz_transactions: Vec<TypedReference>,
    sources: Vec<TypedReference>,
    destinations: Vec<TypedReference>,
    read_point: Option<String>,
    lot_number: Option<String>,
    item_expiration_date: Option<NaiveDate>,
    drop_shipment: Option<bool>,
    hash_id: String,
    /// Its lists: a byte range of the plan's list file, and how many EPCs each holds.
    lists: (u64, u64),
    counts: [u64; 4],
}

impl PlannedEvent {
    fn of(event: SupplierEvent, lists: (u64, u64), counts: [u64; 4]) -> PlannedEvent {
        PlannedEvent {
            index: event.index,
            event_type: event.event_type,
            action: event.action,
            event_time: event.event_time,
            biz_step: event.biz_step,
            disposition: event.disposition,
            persistent_disposition_set: event.persistent_disposition_set,
            parent_id: event.parent_id,
            quantity_classes: event
                .quantity_list
                .iter()
                .map(|q| q.epc_class.clone())
                .collect(),
            quantity_list: event.quantity_list,
            biz_transactions: event.biz_transactions,
            sources: event.sources,
            destinations: event.destinations,
            read_point: event.read_point,
            lot_number: event.lot_number,
            item_expiration_date: event.item_expiration_date,
            drop_shipment: event.drop_shipment,
            hash_id: event.hash_id,
            lists,
            counts,
        }
    }
}

/// What the check leaves for the apply, so that a document is read and parsed once: each
/// checked event as a line of JSON, and its EPC lists as tagged records in a second file (a
/// serialised unit as its GTIN key and serial, anything else as written).
struct Plan {
    events: File,
    lists: File,
}

/// The tag of an EPC in the plan: its list, and whether it is stored as a unit.
fn plan_tag(kind: ListKind, unit: bool) -> u8 {
    (kind as u8) | if unit { 0x10 } else { 0 }
}

/// An event's lists in the plan.
struct PlanLists<'p> {
    file: &'p mut File,
    range: (u64, u64),
    counts: [u64; 4],
}

impl PlanLists<'_> {
    fn is_empty(&self, kind: ListKind) -> bool {
        self.counts.get(kind.index()).is_none_or(|n| *n == 0)
    }

    fn cursor(&mut self, kind: ListKind) -> PlanCursor<'_> {
        PlanCursor {
            reader: LogReader::range(&mut *self.file, self.range.0, self.range.1),
            kind,
        }
    }
}

/// Reads one list of an event from the plan.
struct PlanCursor<'p> {
    reader: LogReader<'p>,
    kind: ListKind,
}

/// An EPC as the plan keeps it.
enum PlanEpc<'a> {
    Unit(i64, &'a str),
    Text(&'a str),
}

impl PlanCursor<'_> {
    fn next(&mut self) -> io::Result<Option<PlanEpc<'_>>> {
        let (unit, text) = (plan_tag(self.kind, true), plan_tag(self.kind, false));
        let Some((tag, value)) = self.reader.next_matching(|t| t == unit || t == text)? else {
            return Ok(None);
        };
        let invalid = |e| io::Error::new(io::ErrorKind::InvalidData, e);
        if tag == text {
            return std::str::from_utf8(value)
                .map(|t| Some(PlanEpc::Text(t)))
                .map_err(invalid);
        }
        let (key, serial) = value.split_first_chunk::<8>().ok_or_else(|| {
            io::Error::new(io::ErrorKind::InvalidData, "a unit record is cut short")
        })?;
        let serial = std::str::from_utf8(serial).map_err(invalid)?;
        Ok(Some(PlanEpc::Unit(i64::from_le_bytes(*key), serial)))
    }
}

struct PlanWriter {
    events: io::BufWriter<File>,
    lists: io::BufWriter<File>,
    lists_len: u64,
    record: Vec<u8>,
}

impl PlanWriter {
    fn new(scratch: &mut FileScratch<'_>) -> io::Result<PlanWriter> {
        Ok(PlanWriter {
            events: io::BufWriter::new(scratch.file()?),
            lists: io::BufWriter::with_capacity(256 * 1024, scratch.file()?),
            lists_len: 0,
            record: Vec::new(),
        })
    }

    fn epc(&mut self, kind: ListKind, epc: &str) -> io::Result<()> {
        self.record.clear();
        encode_record(&mut self.record, plan_tag(kind, false), epc.as_bytes());
        self.write_record()
    }

    /// A serialised unit, as its GTIN key and serial (parsed once, by the check).
    fn unit(&mut self, kind: ListKind, gtin: i64, serial: &str) -> io::Result<()> {
        let mut value = [0u8; 8 + 20];
        let len = 8 + serial.len();
        let (key, rest) = value.split_at_mut(8);
        key.copy_from_slice(&gtin.to_le_bytes());
        rest.get_mut(..serial.len())
            .ok_or_else(|| io::Error::other("a serial longer than 20 characters"))?
            .copy_from_slice(serial.as_bytes());
        self.record.clear();
        encode_record(
            &mut self.record,
            plan_tag(kind, true),
            value.get(..len).unwrap_or_default(),
        );
        self.write_record()
    }

    fn write_record(&mut self) -> io::Result<()> {
        self.lists.write_all(&self.record)?;
        self.lists_len += self.record.len() as u64;
        Ok(())
    }

    fn event(&mut self, event: PlannedEvent) -> io::Result<()> {
        serde_json::to_writer(&mut self.events, &event)?;
        self.events.write_all(b"\n")
    }

    fn finish(self) -> io::Result<Plan> {
        let mut events = self.events.into_inner().map_err(|e| e.into_error())?;
        events.seek(SeekFrom::Start(0))?;
        let lists = self.lists.into_inner().map_err(|e| e.into_error())?;
        Ok(Plan { events, lists })
    }
}

/// Scratch files beside the store for what the reader spills of a big event. Each is unlinked
/// as soon as it is open, so none is left behind, even by `kill -9`.
struct FileScratch<'p> {
    store: &'p Path,
    made: usize,
}

impl FileScratch<'_> {
    fn file(&mut self) -> io::Result<File> {
        self.made += 1;
        let path = scratch_path(self.store, "spill", self.made);
        let file = File::options()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)?;
        std::fs::remove_file(&path)?;
        Ok(file)
    }
}

impl Scratch for FileScratch<'_> {
    fn create(&mut self) -> io::Result<Box<dyn ScratchFile>> {
        Ok(Box::new(self.file()?))
    }
}

fn scratch_failure(name: &str, source: io::Error) -> StoreError {
    ImportError::Read {
        source_name: format!("{name} (scratch copy)"),
        source,
    }
    .into()
}

fn read_failure<E: std::error::Error + Into<StoreError> + 'static>(
    name: &str,
    e: ReadError<E>,
) -> StoreError {
    match e {
        ReadError::Rejected { index, source } => match source.into() {
            StoreError::Import(ImportError::Malformed { message, .. }) => {
                ImportError::at(format!("{name}: event {index}"), message).into()
            }
            other => other,
        },
        ReadError::Io(source) => ImportError::Read {
            source_name: name.to_owned(),
            source,
        }
        .into(),
        other => ImportError::at(name, other.to_string()).into(),
    }
}

impl From<Invalid> for StoreError {
    fn from(e: Invalid) -> Self {
        ImportError::at("", e.0).into()
    }
}

// --- step 2: apply in short transactions, with undo ----------------------------------------

/// One undo row: an operation name and up to seven values.
type UndoValues = Vec<rusqlite::types::Value>;

fn v_int(v: i64) -> rusqlite::types::Value {
    rusqlite::types::Value::Integer(v)
}
fn v_text(v: &str) -> rusqlite::types::Value {
    rusqlite::types::Value::Text(v.to_owned())
}
fn v_opt_int(v: Option<i64>) -> rusqlite::types::Value {
    v.map_or(rusqlite::types::Value::Null, v_int)
}
fn v_opt_text(v: Option<&str>) -> rusqlite::types::Value {
    v.map_or(rusqlite::types::Value::Null, v_text)
}

/// The write side of an import: the connection, the chunk clock, the undo log.
struct Writer<'c> {
    conn: &'c Connection,
    run: i64,
    chunk_started: Instant,
    writes: u32,
    chunks: u32,
    open: bool,
    /// The longest a transaction held the write lock, commit included (logged at the end).
    longest: Duration,
}

impl Writer<'_> {
    fn begin(&mut self) -> Result<(), StoreError> {
        self.conn.execute_batch("BEGIN IMMEDIATE")?;
        self.chunk_started = Instant::now();
        self.open = true;
        Ok(())
    }

    /// Opens a transaction for the write about to be made, if none is open: the lock is taken
    /// only when there is something to write, never while a document is being read.
    fn ensure(&mut self) -> Result<(), StoreError> {
        if self.open { Ok(()) } else { self.begin() }
    }

    fn commit(&mut self) -> Result<(), StoreError> {
        if !self.open {
            return Ok(());
        }
        self.conn.execute_batch("COMMIT")?;
        self.open = false;
        self.chunks += 1;
        let held = self.chunk_started.elapsed();
        if held > 2 * CHUNK {
            tracing::debug!(
                ?held,
                chunk = self.chunks,
                "import: a long hold of the write lock"
            );
        }
        self.longest = self.longest.max(held);
        // Copy the log into the database here, after each chunk and outside the write lock:
        // left to SQLite's automatic checkpoint, the clerk's next receipt could be the commit
        // that crosses the threshold and pay for the import's pages with its fsync; copied
        // a few chunks at a time, the burst of writes slowed a receipt's fsync (the slowest
        // receive during a 1 M-EPC import went from 24 ms to 45).
        self.conn
            .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))?;
        Ok(())
    }

    /// Ends the chunk when it has held the lock long enough, and lets a waiting writer in.
    fn tick(&mut self) -> Result<(), StoreError> {
        self.writes += 1;
        if self.open && self.writes.is_multiple_of(64) && self.chunk_started.elapsed() >= CHUNK {
            self.commit()?;
            std::thread::sleep(YIELD);
        }
        Ok(())
    }

    fn undo(&self, op: &str, values: UndoValues) -> Result<(), StoreError> {
        let mut all = vec![v_int(self.run), v_text(op)];
        all.extend(values);
        all.resize(9, rusqlite::types::Value::Null);
        self.conn
            .prepare_cached(
                "INSERT INTO import_undo (run, op, a, b, c, d, e, f, g)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )?
            .execute(params_from_iter(all))?;
        Ok(())
    }
}

/// The statements an import runs for each unit, prepared once, and the lot last used.
struct Units<'c> {
    conn: &'c Connection,
    run: i64,
    /// The tag this run puts on the units it inserts: the next free one, taken (recorded in
    /// `import_tags`) with the first unit it goes on, so that a run inserting nothing changes
    /// nothing.
    tag: i64,
    tag_taken: bool,
    insert: Statement<'c>,
    ship_new: Statement<'c>,
    select: Statement<'c>,
    update: Statement<'c>,
    find_lot: Statement<'c>,
    insert_lot: Statement<'c>,
    last_lot: Option<(i64, String, String, i64)>,
}

impl<'c> Units<'c> {
    fn new(conn: &'c Connection, run: i64) -> Result<Units<'c>, StoreError> {
        let taken: Option<i64> = conn
            .prepare_cached("SELECT id FROM import_tags WHERE run = ?1")?
            .query_row([run], |r| r.get(0))
            .optional()?;
        // The tag AUTOINCREMENT would give next (imports take turns, so no other can take it).
        let next: i64 = conn.query_row(
            "SELECT max(coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'import_tags'), 0),
                        coalesce((SELECT max(id) FROM import_tags), 0)) + 1",
            [],
            |r| r.get(0),
        )?;
        Ok(Units {
            conn,
            run,
            tag: taken.unwrap_or(next),
            tag_taken: taken.is_some(),
            insert: conn.prepare(
                "INSERT INTO units (gtin, serial, lot, status, shipment, import_tag)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (gtin, serial) DO NOTHING",
            )?,
            // Shipping a unit this run inserted needs no undo row: undoing the run deletes it.
            ship_new: conn.prepare(
                "UPDATE units SET shipment = ?3
                 WHERE gtin = ?1 AND serial = ?2 AND import_tag = ?4 AND shipment IS NOT ?3",
            )?,
            select: conn.prepare(
                "SELECT lot, status, shipment, import_tag FROM units
                 WHERE gtin = ?1 AND serial = ?2",
            )?,
            update: conn.prepare(
                "UPDATE units SET lot = ?3, status = ?4, shipment = ?5
                 WHERE gtin = ?1 AND serial = ?2",
            )?,
            find_lot: conn
                .prepare("SELECT id FROM lots WHERE gtin = ?1 AND lot = ?2 AND expiry = ?3")?,
            insert_lot: conn.prepare("INSERT INTO lots (gtin, lot, expiry) VALUES (?1, ?2, ?3)")?,
            last_lot: None,
        })
    }

    fn lot_id(&mut self, gtin: i64, lot: &str, expiry: &str) -> Result<i64, StoreError> {
        if let Some((g, l, e, id)) = &self.last_lot
            && *g == gtin
            && l == lot
            && e == expiry
        {
            return Ok(*id);
        }
        let found: Option<i64> = self
            .find_lot
            .query_row(params![gtin, lot, expiry], |r| r.get(0))
            .optional()?;
        let id = match found {
            Some(id) => id,
            None => self.insert_lot.insert(params![gtin, lot, expiry])?,
        };
        self.last_lot = Some((gtin, lot.to_owned(), expiry.to_owned(), id));
        Ok(id)
    }

    fn insert(
        &mut self,
        unit: &UnitAnnouncement<'_>,
        lot: Option<i64>,
    ) -> Result<bool, StoreError> {
        let inserted = self.insert.execute(params![
            unit.gtin,
            unit.serial,
            lot,
            unit.status.unwrap_or_default().code(),
            unit.shipment,
            self.tag
        ])? > 0;
        if inserted && !self.tag_taken {
            // In the transaction of the first unit that carries it.
            self.conn
                .prepare_cached("INSERT INTO import_tags (id, run) VALUES (?1, ?2)")?
                .execute([self.tag, self.run])?;
            self.tag_taken = true;
        }
        Ok(inserted)
    }

    fn select(&mut self, gtin: i64, serial: &str) -> Result<Option<StoredUnit>, StoreError> {
        Ok(self
            .select
            .query_row(params![gtin, serial], |r| {
                Ok(StoredUnit {
                    lot: r.get(0)?,
                    status: r.get(1)?,
                    shipment: r.get(2)?,
                    tag: r.get(3)?,
                })
            })
            .optional()?)
    }

    /// Inserts or updates one unit (a new one without a status is active; `None` fields of
    /// the announcement leave what is stored). Gives the change and, when the update needs an
    /// undo row (the unit was there before this run), what the unit held.
    fn write(
        &mut self,
        unit: &UnitAnnouncement<'_>,
    ) -> Result<(Change, Option<PriorUnit>), StoreError> {
        if let (None, None, Some(shipment), true) =
            (unit.lot, unit.status, unit.shipment, self.tag_taken)
            && self
                .ship_new
                .execute(params![unit.gtin, unit.serial, shipment, self.tag])?
                > 0
        {
            return Ok((Change::Updated, None));
        }
        let lot = match unit.lot {
            Some((lot, expiry)) => Some(self.lot_id(unit.gtin, lot, expiry)?),
            None => None,
        };
        // Units announced with a lot are commissioned, nearly always new: insert first. Others
        // (shipped, recalled) are nearly always known: look first.
        if unit.lot.is_some() && self.insert(unit, lot)? {
            return Ok((Change::Inserted, None));
        }
        let Some(old) = self.select(unit.gtin, unit.serial)? else {
            if self.insert(unit, lot)? {
                return Ok((Change::Inserted, None));
            }
            return Err(StoreError::Corrupt(format!(
                "unit {} {} is neither stored nor new",
                unit.gtin, unit.serial
            )));
        };
        let new = (
            lot.or(old.lot),
            unit.status.map(UnitStatus::code).unwrap_or(old.status),
            unit.shipment.or(old.shipment),
        );
        if new == (old.lot, old.status, old.shipment) {
            return Ok((Change::Unchanged, None));
        }
        self.update
            .execute(params![unit.gtin, unit.serial, new.0, new.1, new.2])?;
        let prior = PriorUnit {
            lot: old.lot,
            status: old.status,
            shipment: old.shipment,
        };
        Ok((
            Change::Updated,
            (!(self.tag_taken && old.tag == Some(self.tag))).then_some(prior),
        ))
    }
}

/// What a unit row holds that an import reads.
struct StoredUnit {
    lot: Option<i64>,
    status: u8,
    shipment: Option<i64>,
    /// The tag of the import run that inserted it.
    tag: Option<i64>,
}

/// Pass 2: applies a checked document's events.
struct Applier<'c, 'h> {
    w: Writer<'c>,
    units: Units<'c>,
    site_gln: Option<String>,
    now: DateTime<Utc>,
    report: EpcisImportReport,
    header: &'h DocumentHeader,
    name: &'h str,
    document: Option<i64>,
    /// Whether `case_units` has any row, asked once per event (only an import writes it).
    cases_exist: Option<bool>,
}

/// An EPC of a list as the import uses it.
enum Listed<'t> {
    /// A serialised unit: GTIN key and serial.
    Unit(i64, Cow<'t, str>),
    Sscc(String),
    /// A lot: GTIN key and lot.
    Lot(i64, String),
    Other,
}

impl<'t> Listed<'t> {
    fn from_plan(planned: PlanEpc<'t>) -> Result<Listed<'t>, StoreError> {
        match planned {
            PlanEpc::Unit(gtin, serial) => Ok(Listed::Unit(gtin, Cow::Borrowed(serial))),
            PlanEpc::Text(text) => Listed::of(epc(text)?),
        }
    }

    fn of(epc: Epc) -> Result<Listed<'static>, StoreError> {
        Ok(match epc {
            Epc::Sgtin { gtin: g, serial } => Listed::Unit(gtin(&g)?, Cow::Owned(serial)),
            Epc::Sscc { sscc } => Listed::Sscc(sscc),
            Epc::Lgtin { gtin: g, lot } => Listed::Lot(gtin(&g)?, lot),
            Epc::Gtin { .. } | Epc::Sgln { .. } => Listed::Other,
        })
    }
}

fn epc(text: &str) -> Result<Epc, StoreError> {
    parse_epc(text).map_err(|e| ImportError::at("", e.to_string()).into())
}

fn gtin(text: &str) -> Result<i64, StoreError> {
    Gtin::parse(text)
        .map(|g| gtin_key(&g))
        .map_err(|e| ImportError::at("", format!("GTIN {text}: {e}")).into())
}

fn sscc_key(text: &str) -> Result<i64, StoreError> {
    text.parse()
        .map_err(|_| ImportError::at("", format!("SSCC {text} is not 18 digits")).into())
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

/// The GLN a party or location identifier names, whatever its spelling.
pub(crate) fn party_gln(id: &str) -> Option<String> {
    if let Some(gln) = pgln(id) {
        return Some(gln);
    }
    match parse_epc(id) {
        Ok(Epc::Sgln { gln, .. }) => Some(gln),
        _ => crate::gs1::Gln::parse(id)
            .ok()
            .map(|g| g.as_str().to_owned()),
    }
}

impl Applier<'_, '_> {
    fn apply(&mut self, event: &PlannedEvent, lists: &mut PlanLists<'_>) -> Result<(), StoreError> {
        self.report.events += 1;
        self.cases_exist = None;
        let mut used = false;
        let status = event
            .disposition
            .as_deref()
            .into_iter()
            .chain(event.persistent_disposition_set.iter().map(String::as_str))
            .find_map(disposition_status);
        match event.event_type {
            EventType::Aggregation => {
                used = self.aggregate(event, lists)?;
            }
            EventType::Object | EventType::Transaction => {
                let ilmd = event.lot_number.is_some() || event.item_expiration_date.is_some();
                let commissioning = event.action == Some(Action::Add)
                    && (ilmd || event.biz_step.as_deref() == Some("commissioning"));
                if commissioning || status.is_some() {
                    used |= self.announce(event, lists, ilmd, status)?;
                }
                if ships(event.event_type, event.biz_step.as_deref()) {
                    used |= self.ship(event, lists)?;
                }
                if status == Some(UnitStatus::Recalled) {
                    used |= self.recall_lots(event, lists)?;
                }
            }
            EventType::Transformation | EventType::Association => {}
        }
        if !used {
            self.report.skipped_events += 1;
        }
        Ok(())
    }

    /// Runs `each` on every EPC of a list, parsed.
    fn each_epc(
        &mut self,
        lists: &mut PlanLists<'_>,
        kind: ListKind,
        mut each: impl FnMut(&mut Self, Listed<'_>) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let mut cursor = lists.cursor(kind);
        while let Some(planned) = cursor.next().map_err(|e| scratch_failure(self.name, e))? {
            each(self, Listed::from_plan(planned)?)?;
            // A pass that writes for few of the EPCs it reads must not hold the lock longer.
            self.w.tick()?;
        }
        Ok(())
    }

    fn write_unit(&mut self, unit: &UnitAnnouncement<'_>) -> Result<(), StoreError> {
        self.w.ensure()?;
        let (change, prior) = self.units.write(unit)?;
        if let Some(p) = prior {
            self.w.undo(
                "unit_old",
                vec![
                    v_int(unit.gtin),
                    v_text(unit.serial),
                    v_opt_int(p.lot),
                    v_int(i64::from(p.status)),
                    v_opt_int(p.shipment),
                ],
            )?;
        }
        self.report.units.add(change);
        self.w.tick()
    }

    fn announce(
        &mut self,
        event: &PlannedEvent,
        lists: &mut PlanLists<'_>,
        ilmd: bool,
        status: Option<UnitStatus>,
    ) -> Result<bool, StoreError> {
        let expiry = event.item_expiration_date.map(iso_date).unwrap_or_default();
        let lot = event.lot_number.clone().unwrap_or_default();
        let lot = ilmd.then_some((lot.as_str(), expiry.as_str()));
        let mut any = false;
        let mut write = |applier: &mut Self, gtin: i64, serial: &str| {
            any = true;
            applier.write_unit(&UnitAnnouncement {
                gtin,
                serial,
                lot,
                status,
                shipment: None,
            })
        };
        for kind in [ListKind::Epc, ListKind::Output] {
            self.each_epc(lists, kind, |applier, epc| match epc {
                Listed::Unit(gtin, serial) => write(applier, gtin, &serial),
                _ => Ok(()),
            })?;
        }
        // A status event may name cases: their units share the status.
        if status.is_some() {
            self.each_epc(lists, ListKind::Epc, |applier, epc| {
                let inside = match epc {
                    Listed::Sscc(sscc) => applier.container_children(sscc_key(&sscc)?)?,
                    Listed::Unit(gtin, serial) => applier.case_children(gtin, &serial)?,
                    _ => Vec::new(),
                };
                for (gtin, serial) in inside {
                    write(applier, gtin, &serial)?;
                }
                Ok(())
            })?;
        }
        Ok(any)
    }

    /// Every unit and case inside an SSCC, through nested SSCCs and serialised cases.
    fn container_children(&self, sscc: i64) -> Result<Vec<(i64, String)>, StoreError> {
        let mut stmt = self.w.conn.prepare_cached(
            "WITH RECURSIVE tree(sscc) AS (
                 SELECT ?1
                 UNION SELECT c.child FROM container_containers c JOIN tree t ON c.sscc = t.sscc
             ),
             inside(gtin, serial) AS (
                 SELECT cu.gtin, cu.serial FROM container_units cu JOIN tree t ON cu.sscc = t.sscc
                 UNION SELECT k.gtin, k.serial FROM case_units k
                     JOIN inside i ON k.case_gtin = i.gtin AND k.case_serial = i.serial
             )
             SELECT gtin, serial FROM inside",
        )?;
        let rows = stmt.query_map([sscc], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Every unit inside a serialised case (and the cases inside it), not the case itself.
    fn case_children(
        &mut self,
        case_gtin: i64,
        case_serial: &str,
    ) -> Result<Vec<(i64, String)>, StoreError> {
        // A shipment of a million units is rarely a million cases: look before walking.
        let conn = self.w.conn;
        let cases_exist = match self.cases_exist {
            Some(known) => known,
            None => *self.cases_exist.insert(
                conn.prepare_cached("SELECT EXISTS (SELECT 1 FROM case_units)")?
                    .query_row([], |r| r.get(0))?,
            ),
        };
        if !cases_exist
            || conn
                .prepare_cached(
                    "SELECT 1 FROM case_units WHERE case_gtin = ?1 AND case_serial = ?2 LIMIT 1",
                )?
                .query_row(params![case_gtin, case_serial], |_| Ok(()))
                .optional()?
                .is_none()
        {
            return Ok(Vec::new());
        }
        let mut stmt = conn.prepare_cached(
            "WITH RECURSIVE inside(gtin, serial) AS (
                 SELECT gtin, serial FROM case_units WHERE case_gtin = ?1 AND case_serial = ?2
                 UNION SELECT k.gtin, k.serial FROM case_units k
                     JOIN inside i ON k.case_gtin = i.gtin AND k.case_serial = i.serial
             )
             SELECT gtin, serial FROM inside",
        )?;
        let rows = stmt.query_map(params![case_gtin, case_serial], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn aggregate(
        &mut self,
        event: &PlannedEvent,
        lists: &mut PlanLists<'_>,
    ) -> Result<bool, StoreError> {
        let Some(parent) = &event.parent_id else {
            return Ok(false);
        };
        match epc(parent)? {
            Epc::Sscc { sscc } => self.aggregate_sscc(event, lists, sscc_key(&sscc)?),
            Epc::Sgtin { gtin: g, serial } => self.aggregate_case(event, lists, gtin(&g)?, &serial),
            _ => Ok(false),
        }
    }

    /// Removes one unit from an SSCC, with its undo row.
    fn remove_container_unit(
        &mut self,
        parent: i64,
        g: i64,
        serial: &str,
    ) -> Result<(), StoreError> {
        let n = self
            .w
            .conn
            .prepare_cached(
                "DELETE FROM container_units WHERE sscc = ?1 AND gtin = ?2 AND serial = ?3",
            )?
            .execute(params![parent, g, serial])?;
        if n > 0 {
            self.w
                .undo("cu_del", vec![v_int(parent), v_int(g), v_text(serial)])?;
        }
        self.w.tick()
    }

    /// Removes one SSCC from an SSCC, with its undo row.
    fn remove_container(&mut self, parent: i64, child: i64) -> Result<(), StoreError> {
        let n = self
            .w
            .conn
            .prepare_cached("DELETE FROM container_containers WHERE sscc = ?1 AND child = ?2")?
            .execute(params![parent, child])?;
        if n > 0 {
            self.w.undo("cc_del", vec![v_int(parent), v_int(child)])?;
        }
        self.w.tick()
    }

    fn aggregate_sscc(
        &mut self,
        event: &PlannedEvent,
        lists: &mut PlanLists<'_>,
        parent: i64,
    ) -> Result<bool, StoreError> {
        self.w.ensure()?;
        let conn = self.w.conn;
        if event.action == Some(Action::Delete) {
            if lists.is_empty(ListKind::Child) {
                let units: Vec<(i64, String)> = conn
                    .prepare_cached("SELECT gtin, serial FROM container_units WHERE sscc = ?1")?
                    .query_map([parent], |r| Ok((r.get(0)?, r.get(1)?)))?
                    .collect::<Result<_, _>>()?;
                let ssccs: Vec<i64> = conn
                    .prepare_cached("SELECT child FROM container_containers WHERE sscc = ?1")?
                    .query_map([parent], |r| r.get(0))?
                    .collect::<Result<_, _>>()?;
                for (g, serial) in units {
                    self.remove_container_unit(parent, g, &serial)?;
                }
                for child in ssccs {
                    self.remove_container(parent, child)?;
                }
            }
            self.each_epc(lists, ListKind::Child, |applier, child| match child {
                Listed::Unit(gtin, serial) => applier.remove_container_unit(parent, gtin, &serial),
                Listed::Sscc(sscc) => applier.remove_container(parent, sscc_key(&sscc)?),
                _ => Ok(()),
            })?;
            return Ok(true);
        }
        self.each_epc(lists, ListKind::Child, |applier, child| {
            applier.w.ensure()?;
            let conn = applier.w.conn;
            let inserted = match child {
                Listed::Unit(g, serial) => {
                    let n = conn
                        .prepare_cached(
                            "INSERT OR IGNORE INTO container_units (sscc, gtin, serial)
                             VALUES (?1, ?2, ?3)",
                        )?
                        .execute(params![parent, g, serial])?;
                    if n > 0 {
                        applier
                            .w
                            .undo("cu_new", vec![v_int(parent), v_int(g), v_text(&serial)])?;
                    }
                    n
                }
                Listed::Sscc(sscc) => {
                    let child = sscc_key(&sscc)?;
                    let n = conn
                        .prepare_cached(
                            "INSERT OR IGNORE INTO container_containers (sscc, child)
                             VALUES (?1, ?2)",
                        )?
                        .execute(params![parent, child])?;
                    if n > 0 {
                        applier
                            .w
                            .undo("cc_new", vec![v_int(parent), v_int(child)])?;
                    }
                    n
                }
                _ => return Ok(()),
            };
            applier.report.containers.add(if inserted > 0 {
                Change::Inserted
            } else {
                Change::Unchanged
            });
            applier.w.tick()
        })?;
        Ok(true)
    }

    /// Removes one unit from a serialised case, with its undo row.
    fn remove_case_unit(
        &mut self,
        case_gtin: i64,
        case_serial: &str,
        g: i64,
        serial: &str,
    ) -> Result<(), StoreError> {
        let n = self
            .w
            .conn
            .prepare_cached(
                "DELETE FROM case_units WHERE case_gtin = ?1 AND case_serial = ?2
                 AND gtin = ?3 AND serial = ?4",
            )?
            .execute(params![case_gtin, case_serial, g, serial])?;
        if n > 0 {
            self.w.undo(
                "case_del",
                vec![
                    v_int(case_gtin),
                    v_text(case_serial),
                    v_int(g),
                    v_text(serial),
                ],
            )?;
        }
        self.w.tick()
    }

    fn aggregate_case(
        &mut self,
        event: &PlannedEvent,
        lists: &mut PlanLists<'_>,
        case_gtin: i64,
        case_serial: &str,
    ) -> Result<bool, StoreError> {
        self.w.ensure()?;
        if event.action == Some(Action::Delete) {
            let mut listed = 0u64;
            self.each_epc(lists, ListKind::Child, |applier, child| match child {
                Listed::Unit(g, serial) => {
                    listed += 1;
                    applier.remove_case_unit(case_gtin, case_serial, g, &serial)
                }
                _ => Ok(()),
            })?;
            // A DELETE that lists no unit empties the case.
            if listed == 0 {
                let children: Vec<(i64, String)> = self
                    .w
                    .conn
                    .prepare_cached(
                        "SELECT gtin, serial FROM case_units WHERE case_gtin = ?1 AND case_serial = ?2",
                    )?
                    .query_map(params![case_gtin, case_serial], |r| Ok((r.get(0)?, r.get(1)?)))?
                    .collect::<Result<_, _>>()?;
                for (g, serial) in children {
                    self.remove_case_unit(case_gtin, case_serial, g, &serial)?;
                }
            }
            return Ok(true);
        }
        self.each_epc(lists, ListKind::Child, |applier, child| {
            let Listed::Unit(g, serial) = child else {
                return Ok(());
            };
            applier.w.ensure()?;
            let n = applier
                .w
                .conn
                .prepare_cached(
                    "INSERT OR IGNORE INTO case_units (case_gtin, case_serial, gtin, serial)
                     VALUES (?1, ?2, ?3, ?4)",
                )?
                .execute(params![case_gtin, case_serial, g, serial])?;
            if n > 0 {
                applier.w.undo(
                    "case_new",
                    vec![
                        v_int(case_gtin),
                        v_text(case_serial),
                        v_int(g),
                        v_text(&serial),
                    ],
                )?;
            }
            applier.report.containers.add(if n > 0 {
                Change::Inserted
            } else {
                Change::Unchanged
            });
            applier.w.tick()
        })?;
        Ok(true)
    }

    fn for_this_site(&self, event: &PlannedEvent) -> bool {
        let glns: Vec<String> = event
            .destinations
            .iter()
            .filter_map(|d| party_gln(&d.id))
            .collect();
        match &self.site_gln {
            None => true,
            Some(site) => glns.iter().any(|g| g == site),
        }
    }

    fn ship(
        &mut self,
        event: &PlannedEvent,
        lists: &mut PlanLists<'_>,
    ) -> Result<bool, StoreError> {
        if !self.for_this_site(event) {
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
        let (shipment, created) = self.find_or_create_shipment(event, lists, &refs)?;
        if created {
            self.w.undo("shipment_new", vec![v_int(shipment)])?;
        }
        // Every reference names it: the business transactions, the SSCCs shipped, the event.
        for (kind, reference) in &refs {
            self.add_ref(shipment, kind, reference)?;
        }
        self.each_epc(lists, ListKind::Epc, |applier, epc| match epc {
            Listed::Sscc(sscc) => applier.add_ref(shipment, "sscc", &sscc),
            _ => Ok(()),
        })?;
        self.add_ref(shipment, "event", &event.hash_id)?;
        self.report.shipments.add(if created {
            Change::Inserted
        } else {
            Change::Unchanged
        });
        if self.record_transaction(shipment, event)? {
            self.record_quantities(shipment, event)?;
        }
        let ship_unit = |applier: &mut Self, gtin: i64, serial: &str| {
            applier.write_unit(&UnitAnnouncement {
                gtin,
                serial,
                lot: None,
                status: None,
                shipment: Some(shipment),
            })
        };
        self.each_epc(lists, ListKind::Epc, |applier, epc| {
            let (inside, unit) = match epc {
                Listed::Sscc(sscc) => (applier.container_children(sscc_key(&sscc)?)?, None),
                Listed::Unit(g, serial) => (applier.case_children(g, &serial)?, Some((g, serial))),
                _ => return Ok(()),
            };
            for (gtin, serial) in inside {
                ship_unit(applier, gtin, &serial)?;
            }
            match unit {
                Some((gtin, serial)) => ship_unit(applier, gtin, &serial),
                None => Ok(()),
            }
        })?;
        Ok(true)
    }

    /// The shipment a shipping event is known by: the first of its references already naming
    /// one (business transactions, then the SSCCs shipped, then the event ID), else a new one
    /// named by the first of them.
    fn find_or_create_shipment(
        &mut self,
        event: &PlannedEvent,
        lists: &mut PlanLists<'_>,
        refs: &[(String, String)],
    ) -> Result<(i64, bool), StoreError> {
        let conn = self.w.conn;
        let mut found = None;
        for (_, reference) in refs {
            found = find_shipment(conn, reference)?;
            if found.is_some() {
                break;
            }
        }
        let mut first_sscc = None;
        if found.is_none() {
            let mut cursor = lists.cursor(ListKind::Epc);
            while let Some(planned) = cursor.next().map_err(|e| scratch_failure(self.name, e))? {
                if let Listed::Sscc(sscc) = Listed::from_plan(planned)? {
                    found = find_shipment(conn, &sscc)?;
                    if found.is_some() {
                        break;
                    }
                    first_sscc.get_or_insert(sscc);
                }
                self.w.tick()?;
            }
        }
        if found.is_none() {
            found = find_shipment(conn, &event.hash_id)?;
        }
        if let Some(id) = found {
            return Ok((id.0, false));
        }
        let name = refs
            .first()
            .map(|(_, r)| r.as_str())
            .or(first_sscc.as_deref())
            .unwrap_or(&event.hash_id);
        self.w.ensure()?;
        let id = conn
            .prepare_cached("INSERT INTO shipments (name, source, created_at) VALUES (?1, ?2, ?3)")?
            .insert(params![name, "epcis", timestamp(self.now)])?;
        Ok((id, true))
    }

    fn add_ref(&mut self, shipment: i64, kind: &str, reference: &str) -> Result<(), StoreError> {
        self.w.ensure()?;
        let inserted = self
            .w
            .conn
            .prepare_cached(
                "INSERT INTO shipment_refs (ref, kind, shipment) VALUES (?1, ?2, ?3)
                 ON CONFLICT(ref) DO NOTHING",
            )?
            .execute(params![reference, kind, shipment])?;
        if inserted > 0 {
            self.w.undo("ref_new", vec![v_text(reference)])?;
        }
        self.w.tick()
    }

    /// Records the transaction a shipping event is; returns whether it is new here.
    fn record_transaction(
        &mut self,
        shipment: i64,
        event: &PlannedEvent,
    ) -> Result<bool, StoreError> {
        let party = |list: &[TypedReference], kind: &str| {
            list.iter()
                .find(|r| r.kind.as_deref() == Some(kind))
                .map(|r| r.id.clone())
        };
        let business = |kind: &str| {
            event
                .biz_transactions
                .iter()
                .find(|t| t.kind.as_deref() == Some(kind))
                .map(|t| t.id.clone())
        };
        let seller = party(&event.sources, "owning_party");
        let buyer = party(&event.destinations, "owning_party");
        let ship_from = party(&event.sources, "location").or_else(|| event.read_point.clone());
        let ship_to = party(&event.destinations, "location");
        let affirmed = self.header.statement.as_ref().map(|s| s.affirmed);
        self.w.ensure()?;
        let inserted = self
            .w
            .conn
            .prepare_cached(
                "INSERT OR IGNORE INTO transactions (shipment, document, event_id, date, seller,
                     buyer, ship_from, ship_to, po, invoice, desadv, drop_shipment,
                     statement_affirmed)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
            )?
            .execute(params![
                shipment,
                self.document,
                event.hash_id,
                event.event_time.to_rfc3339(),
                seller,
                buyer,
                ship_from,
                ship_to,
                business("po"),
                business("inv"),
                business("desadv"),
                event.drop_shipment,
                affirmed,
            ])?;
        if inserted > 0 {
            let id = self.w.conn.last_insert_rowid();
            self.w.undo("transaction_new", vec![v_int(id)])?;
        }
        Ok(inserted > 0)
    }

    /// The quantities a shipping event's `quantityList` gives per GTIN, in units (no `uom`, or
    /// each), added to the shipment's: closing it compares them with the packs received
    /// (over- and under-shipment). Only for a transaction recorded now, so a document imported
    /// twice counts once.
    fn record_quantities(&mut self, shipment: i64, event: &PlannedEvent) -> Result<(), StoreError> {
        let mut per_gtin: std::collections::BTreeMap<i64, i64> = std::collections::BTreeMap::new();
        for q in &event.quantity_list {
            let Some(quantity) = q.quantity else { continue };
            // A measure (kilograms, litres) is not a count of packs.
            if q.uom
                .as_deref()
                .is_some_and(|u| !matches!(u, "EA" | "H87" | "C62"))
            {
                continue;
            }
            if !(quantity.fract() == 0.0 && (1.0..=1e9).contains(&quantity)) {
                continue;
            }
            let Some(g) = class_gtin(&q.epc_class) else {
                continue;
            };
            *per_gtin.entry(gtin_key(&g)).or_default() += quantity as i64;
        }
        for (gtin, quantity) in per_gtin {
            self.w.ensure()?;
            let previous: Option<i64> = self
                .w
                .conn
                .prepare_cached(
                    "SELECT quantity FROM shipment_quantities WHERE shipment = ?1 AND gtin = ?2",
                )?
                .query_row(params![shipment, gtin], |r| r.get(0))
                .optional()?;
            self.w
                .conn
                .prepare_cached(
                    "INSERT INTO shipment_quantities (shipment, gtin, quantity) VALUES (?1, ?2, ?3)
                     ON CONFLICT(shipment, gtin) DO UPDATE SET quantity = quantity + excluded.quantity",
                )?
                .execute(params![shipment, gtin, quantity])?;
            match previous {
                None => self.w.undo("qty_new", vec![v_int(shipment), v_int(gtin)])?,
                Some(old) => self
                    .w
                    .undo("qty_old", vec![v_int(shipment), v_int(gtin), v_int(old)])?,
            }
        }
        Ok(())
    }

    fn recall_lots(
        &mut self,
        event: &PlannedEvent,
        lists: &mut PlanLists<'_>,
    ) -> Result<bool, StoreError> {
        let mut any = false;
        let mut recall = |applier: &mut Self, epc: Listed<'_>| {
            let Listed::Lot(g, lot) = epc else {
                return Ok(());
            };
            any = true;
            applier.w.ensure()?;
            let inserted = applier
                .w
                .conn
                .prepare_cached(
                    "INSERT OR IGNORE INTO lot_recalls (gtin, lot, reason) VALUES (?1, ?2, ?3)",
                )?
                .execute(params![g, lot, "recalled (EPCIS event)"])?;
            if inserted > 0 {
                applier.w.undo("recall_new", vec![v_int(g), v_text(&lot)])?;
            }
            applier.report.recalls.add(if inserted > 0 {
                Change::Inserted
            } else {
                Change::Unchanged
            });
            Ok(())
        };
        self.each_epc(lists, ListKind::Epc, &mut recall)?;
        for class in &event.quantity_classes {
            let class = checked_class(class).map_err(|Invalid(e)| ImportError::at("", e))?;
            recall(self, Listed::of(class)?)?;
        }
        Ok(any)
    }

    /// The master data of the header: products fill what the store lacks, parties are kept
    /// with their latest name and address.
    fn master_data(&mut self) -> Result<(), StoreError> {
        for product in &self.header.products {
            self.product(product)?;
            self.w.tick()?;
        }
        for party in &self.header.parties {
            self.party(party)?;
            self.w.tick()?;
        }
        Ok(())
    }

    fn product(&mut self, p: &ProductMasterData) -> Result<(), StoreError> {
        let Some(g) = class_gtin(&p.id) else {
            self.report
                .notes
                .push(format!("master data {} names no GTIN; not used", p.id));
            return Ok(());
        };
        let key = gtin_key(&g);
        self.w.ensure()?;
        let conn = self.w.conn;
        type Row = [Option<String>; 6];
        let existing: Option<Row> = conn
            .prepare_cached(
                "SELECT ndc, name, strength, form, manufacturer, container_size FROM products
                 WHERE gtin = ?1",
            )?
            .query_row([key], |r| {
                Ok([
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                ])
            })
            .optional()?;
        let offered: Row = [
            p.ndc.clone(),
            p.name.clone(),
            p.strength.clone(),
            p.dosage_form.clone(),
            p.manufacturer.clone(),
            p.net_content.clone(),
        ];
        const FIELDS: [&str; 6] = [
            "ndc",
            "name",
            "strength",
            "form",
            "manufacturer",
            "container_size",
        ];
        let old = existing.clone().unwrap_or_default();
        let mut new = old.clone();
        let mut filled = Vec::new();
        for (i, field) in FIELDS.iter().enumerate() {
            if let (Some(slot), Some(value)) = (new.get_mut(i), offered.get(i))
                && slot.is_none()
                && value.is_some()
            {
                slot.clone_from(value);
                filled.push(*field);
            }
        }
        if filled.is_empty() {
            self.report.products.add(Change::Unchanged);
            return Ok(());
        }
        match &existing {
            None => self.w.undo("product_new", vec![v_int(key)])?,
            Some(old) => {
                let mut values = vec![v_int(key)];
                values.extend(old.iter().map(|v| v_opt_text(v.as_deref())));
                self.w.undo("product_old", values)?;
            }
        }
        conn.prepare_cached(
            "INSERT INTO products (gtin, ndc, name, strength, form, manufacturer, container_size)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
             ON CONFLICT(gtin) DO UPDATE SET ndc = excluded.ndc, name = excluded.name,
                strength = excluded.strength, form = excluded.form,
                manufacturer = excluded.manufacturer, container_size = excluded.container_size",
        )?
        .execute(params![key, new[0], new[1], new[2], new[3], new[4], new[5]])?;
        let source = match self.document {
            Some(id) => format!("epcis document {id}"),
            None => "epcis".to_owned(),
        };
        for field in filled {
            let n = conn
                .prepare_cached(
                    "INSERT OR REPLACE INTO product_sources (gtin, field, source) VALUES (?1, ?2, ?3)",
                )?
                .execute(params![key, field, source])?;
            if n > 0 {
                self.w.undo("source_new", vec![v_int(key), v_text(field)])?;
            }
        }
        self.report.products.add(if existing.is_some() {
            Change::Updated
        } else {
            Change::Inserted
        });
        Ok(())
    }

    fn party(&mut self, p: &PartyMasterData) -> Result<(), StoreError> {
        self.w.ensure()?;
        let conn = self.w.conn;
        let gln = party_gln(&p.id);
        let address = p.address();
        type PartyRow = (Option<String>, Option<String>, Option<String>, Option<i64>);
        let existing: Option<PartyRow> = conn
            .prepare_cached("SELECT gln, name, address, document FROM parties WHERE id = ?1")?
            .query_row([&p.id], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
            })
            .optional()?;
        let name = p.name.clone();
        if let Some(old) = &existing
            && old.0 == gln
            && old.1 == name
            && old.2 == address
        {
            self.report.parties.add(Change::Unchanged);
            return Ok(());
        }
        match &existing {
            None => self.w.undo("party_new", vec![v_text(&p.id)])?,
            Some((g, n, a, d)) => self.w.undo(
                "party_old",
                vec![
                    v_text(&p.id),
                    v_opt_text(g.as_deref()),
                    v_opt_text(n.as_deref()),
                    v_opt_text(a.as_deref()),
                    v_opt_int(*d),
                ],
            )?,
        }
        conn.prepare_cached(
            "INSERT INTO parties (id, gln, name, address, document) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT(id) DO UPDATE SET gln = excluded.gln, name = excluded.name,
                address = excluded.address, document = excluded.document",
        )?
        .execute(params![p.id, gln, name, address, self.document])?;
        self.report.parties.add(if existing.is_some() {
            Change::Updated
        } else {
            Change::Inserted
        });
        Ok(())
    }
}

/// Undoes a run in short transactions: deletes the units it inserted, plays its undo rows
/// back newest first, then drops the run.
fn roll_back(conn: &Connection, run: i64) -> Result<(), StoreError> {
    // The new units go first: while one of them points at a shipment the run created, that
    // shipment's undo step keeps it.
    let tags: Vec<i64> = conn
        .prepare("SELECT id FROM import_tags WHERE run = ?1")?
        .query_map([run], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    for tag in tags {
        delete_tagged_units(conn, tag)?;
        conn.execute("DELETE FROM import_tags WHERE id = ?1", [tag])?;
    }
    loop {
        conn.execute_batch("BEGIN IMMEDIATE")?;
        let started = Instant::now();
        let rows: Vec<(i64, String, [rusqlite::types::Value; 7])> = conn
            .prepare_cached(
                "SELECT seq, op, a, b, c, d, e, f, g FROM import_undo WHERE run = ?1
                 ORDER BY seq DESC LIMIT 512",
            )?
            .query_map([run], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    [
                        r.get(2)?,
                        r.get(3)?,
                        r.get(4)?,
                        r.get(5)?,
                        r.get(6)?,
                        r.get(7)?,
                        r.get(8)?,
                    ],
                ))
            })?
            .collect::<Result<_, _>>()?;
        if rows.is_empty() {
            // Undone: nothing of the run is left, not even its bookkeeping.
            conn.execute("DELETE FROM import_runs WHERE id = ?1", [run])?;
            conn.execute_batch("COMMIT")?;
            return Ok(());
        }
        for (seq, op, [a, b, c, d, e, f, g]) in rows {
            let sql = match op.as_str() {
                "unit_new" => "DELETE FROM units WHERE gtin = ?1 AND serial = ?2",
                "unit_old" => {
                    "UPDATE units SET lot = ?3, status = ?4, shipment = ?5
                               WHERE gtin = ?1 AND serial = ?2"
                }
                "cu_new" => {
                    "DELETE FROM container_units WHERE sscc = ?1 AND gtin = ?2 AND serial = ?3"
                }
                "cu_del" => {
                    "INSERT OR IGNORE INTO container_units (sscc, gtin, serial)
                             VALUES (?1, ?2, ?3)"
                }
                "cc_new" => "DELETE FROM container_containers WHERE sscc = ?1 AND child = ?2",
                "cc_del" => {
                    "INSERT OR IGNORE INTO container_containers (sscc, child) VALUES (?1, ?2)"
                }
                "case_new" => {
                    "DELETE FROM case_units WHERE case_gtin = ?1 AND case_serial = ?2
                               AND gtin = ?3 AND serial = ?4"
                }
                "case_del" => {
                    "INSERT OR IGNORE INTO case_units (case_gtin, case_serial, gtin, serial)
                               VALUES (?1, ?2, ?3, ?4)"
                }
                "ref_new" => "DELETE FROM shipment_refs WHERE ref = ?1",
                // A shipment a clerk already received against during the import stays.
                "shipment_new" => {
                    "DELETE FROM shipments WHERE id = ?1
                                   AND NOT EXISTS (SELECT 1 FROM receipts WHERE shipment = ?1)
                                   AND NOT EXISTS (SELECT 1 FROM stock WHERE shipment = ?1)
                                   AND NOT EXISTS (SELECT 1 FROM units WHERE shipment = ?1)
                                   AND NOT EXISTS (SELECT 1 FROM shipment_refs WHERE shipment = ?1)
                                   AND NOT EXISTS (SELECT 1 FROM transactions WHERE shipment = ?1)"
                }
                "transaction_new" => "DELETE FROM transactions WHERE id = ?1",
                "qty_new" => "DELETE FROM shipment_quantities WHERE shipment = ?1 AND gtin = ?2",
                "qty_old" => {
                    "UPDATE shipment_quantities SET quantity = ?3 WHERE shipment = ?1 AND gtin = ?2"
                }
                "recall_new" => "DELETE FROM lot_recalls WHERE gtin = ?1 AND lot = ?2",
                "product_new" => "DELETE FROM products WHERE gtin = ?1",
                "product_old" => {
                    "UPDATE products SET ndc = ?2, name = ?3, strength = ?4, form = ?5,
                                  manufacturer = ?6, container_size = ?7 WHERE gtin = ?1"
                }
                "source_new" => "DELETE FROM product_sources WHERE gtin = ?1 AND field = ?2",
                "party_new" => "DELETE FROM parties WHERE id = ?1",
                "party_old" => {
                    "UPDATE parties SET gln = ?2, name = ?3, address = ?4, document = ?5
                                WHERE id = ?1"
                }
                "document_new" => {
                    "DELETE FROM documents WHERE id = ?1
                                   AND NOT EXISTS (SELECT 1 FROM transactions WHERE document = ?1)
                                   AND NOT EXISTS (SELECT 1 FROM parties WHERE document = ?1)"
                }
                other => {
                    return Err(StoreError::Corrupt(format!(
                        "unknown import undo step '{other}'"
                    )));
                }
            };
            let values = [a, b, c, d, e, f, g];
            let mut stmt = conn.prepare_cached(sql)?;
            let wanted = stmt.parameter_count();
            stmt.execute(params_from_iter(values.iter().take(wanted)))?;
            conn.prepare_cached("DELETE FROM import_undo WHERE seq = ?1")?
                .execute([seq])?;
        }
        conn.execute_batch("COMMIT")?;
        if started.elapsed() >= CHUNK {
            std::thread::sleep(YIELD);
        } else {
            std::thread::sleep(Duration::from_millis(1));
        }
    }
}

/// The connection settings an apply runs with, and those it restores.
///
/// Foreign keys are not checked while the import applies: checked, they make SQLite copy each
/// page a statement changes to a statement journal and look up each unit's lot and shipment,
/// a tenth of the whole import. The apply only ever refers to rows it has just read or
/// written, and nothing deletes them meanwhile: lots are never deleted, shipments only by an
/// import's undo (imports take turns), documents only by `purge_archive` (which takes the
/// import lock). A larger page cache keeps the pages of the units being written.
///
/// The chunks are committed with `synchronous=NORMAL`: not synced one by one, as they need not
/// be. A run that a crash or a power cut interrupts is undone whole by the next import,
/// however many of its chunks reached the disk, and WAL mode keeps the file consistent either
/// way. The run is marked done after the settings are restored, so that commit, with
/// `synchronous=FULL`, syncs the log and every chunk in it before the import reports success.
struct ApplySettings {
    foreign_keys: bool,
    cache_size: i64,
    synchronous: i64,
}

/// The page cache an apply uses, in KiB.
const APPLY_CACHE_KIB: i64 = 8 * 1024;

impl ApplySettings {
    fn set(conn: &Connection) -> Result<ApplySettings, StoreError> {
        let saved = ApplySettings {
            foreign_keys: conn.pragma_query_value(None, "foreign_keys", |r| r.get(0))?,
            cache_size: conn.pragma_query_value(None, "cache_size", |r| r.get(0))?,
            synchronous: conn.pragma_query_value(None, "synchronous", |r| r.get(0))?,
        };
        conn.pragma_update(None, "foreign_keys", false)?;
        conn.pragma_update(None, "cache_size", -APPLY_CACHE_KIB)?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        Ok(saved)
    }

    fn restore(&self, conn: &Connection) -> Result<(), StoreError> {
        conn.pragma_update(None, "foreign_keys", self.foreign_keys)?;
        conn.pragma_update(None, "cache_size", self.cache_size)?;
        conn.pragma_update(None, "synchronous", self.synchronous)?;
        Ok(())
    }
}

/// Undoes every import a dead process left half-applied.
fn recover(conn: &Connection) -> Result<usize, StoreError> {
    let runs: Vec<i64> = conn
        .prepare("SELECT id FROM import_runs WHERE state = 'applying' ORDER BY id DESC")?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    for run in &runs {
        tracing::warn!(run, "undoing an import that did not finish");
        roll_back(conn, *run)?;
    }
    // A finished run whose undo rows were still being dropped when the process died.
    let finished: Vec<i64> = conn
        .prepare("SELECT id FROM import_runs WHERE state = 'done'")?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    for run in finished {
        forget_undo(conn, run)?;
    }
    Ok(runs.len())
}

/// Deletes the units a run inserted: they carry its tag. No index leads to them (one would cost
/// every unit's insert, and a run is undone only when it failed), so the table is read in key
/// order a slice at a time, without the write lock, which is taken only to delete.
fn delete_tagged_units(conn: &Connection, tag: i64) -> Result<(), StoreError> {
    const SLICE: usize = 20_000;
    let mut after: Option<(i64, String)> = None;
    loop {
        let slice: Vec<(i64, String, Option<i64>)> = {
            let mut stmt = conn.prepare_cached(
                "SELECT gtin, serial, import_tag FROM units WHERE (gtin, serial) > (?1, ?2)
                 ORDER BY gtin, serial LIMIT ?3",
            )?;
            let (gtin, serial) = after.clone().unwrap_or((i64::MIN, String::new()));
            stmt.query_map(params![gtin, serial, SLICE as i64], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })?
            .collect::<Result<_, _>>()?
        };
        let Some((gtin, serial, _)) = slice.last() else {
            return Ok(());
        };
        after = Some((*gtin, serial.clone()));
        let mine: Vec<(i64, String)> = slice
            .into_iter()
            .filter(|(_, _, t)| *t == Some(tag))
            .map(|(gtin, serial, _)| (gtin, serial))
            .collect();
        if mine.is_empty() {
            continue;
        }
        let mut mine = mine.into_iter();
        in_chunks(conn, || {
            let mut n = 0;
            for (gtin, serial) in mine.by_ref().take(256) {
                conn.prepare_cached("DELETE FROM units WHERE gtin = ?1 AND serial = ?2")?
                    .execute(params![gtin, serial])?;
                n += 1;
            }
            Ok(n)
        })?;
    }
}

/// Runs `step` in write transactions of about [`CHUNK`], pausing [`YIELD`] between them, until
/// it does nothing (returns 0).
fn in_chunks(
    conn: &Connection,
    mut step: impl FnMut() -> Result<usize, StoreError>,
) -> Result<(), StoreError> {
    loop {
        conn.execute_batch("BEGIN IMMEDIATE")?;
        let started = Instant::now();
        let mut done = false;
        while started.elapsed() < CHUNK {
            match step() {
                Ok(0) => {
                    done = true;
                    break;
                }
                Ok(_) => {}
                Err(e) => {
                    conn.execute_batch("ROLLBACK")?;
                    return Err(e);
                }
            }
        }
        conn.execute_batch("COMMIT")?;
        if done {
            return Ok(());
        }
        std::thread::sleep(YIELD);
    }
}

/// Drops a finished run's undo rows in short transactions, then the run itself.
fn forget_undo(conn: &Connection, run: i64) -> Result<(), StoreError> {
    // Runs take turns and each clears up before the next starts, so these rows are normally the
    // table's only ones: emptying a table frees its pages without visiting each row.
    let others: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM import_undo WHERE run <> ?1)",
        [run],
        |r| r.get(0),
    )?;
    if others {
        in_chunks(conn, || {
            Ok(conn
                .prepare_cached(
                    "DELETE FROM import_undo WHERE seq IN
                         (SELECT seq FROM import_undo WHERE run = ?1 LIMIT 1024)",
                )?
                .execute([run])?)
        })?;
    } else {
        conn.execute("DELETE FROM import_undo", [])?;
    }
    conn.execute("DELETE FROM import_tags WHERE run = ?1", [run])?;
    conn.execute("DELETE FROM import_runs WHERE id = ?1", [run])?;
    Ok(())
}

/// The lock that makes imports take turns (and lets a new one know an unfinished run is dead).
struct ImportLock(#[allow(dead_code)] File);

fn import_lock(store: &Path) -> Result<ImportLock, StoreError> {
    let mut name = store.file_name().unwrap_or_default().to_os_string();
    name.push(".import-lock");
    let path = store.with_file_name(name);
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| {
            ImportError::at(
                path.display().to_string(),
                format!("cannot open the import lock: {e}"),
            )
        })?;
    file.lock()
        .map_err(|e| ImportError::at(path.display().to_string(), format!("cannot lock: {e}")))?;
    Ok(ImportLock(file))
}

/// Stores the archive row of a document, its gzip copy written in place.
fn archive(
    conn: &Connection,
    w: &Writer<'_>,
    doc: &mut Spooled,
    now: DateTime<Utc>,
) -> Result<(i64, bool), StoreError> {
    if let Some(id) = conn
        .prepare_cached("SELECT id FROM documents WHERE sha256 = ?1")?
        .query_row([&doc.sha256], |r| r.get(0))
        .optional()?
    {
        return Ok((id, false));
    }
    let compressed = doc
        .gzip
        .metadata()
        .map_err(|source| ImportError::Read {
            source_name: doc.name.clone(),
            source,
        })?
        .len();
    let retain_until = now
        .date_naive()
        .checked_add_months(Months::new(RETENTION_MONTHS))
        .unwrap_or(chrono::NaiveDate::MAX);
    let header = &doc.header;
    conn.prepare_cached(
        "INSERT INTO documents (sha256, format, sender, receiver, instance_id, received_at,
             retain_until, events, size, statement_affirmed, legal_notice, content)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, zeroblob(?12))",
    )?
    .execute(params![
        doc.sha256,
        header.format.map_or("unknown", |f| f.as_str()),
        header.sender,
        header.receiver,
        header.instance_id,
        timestamp(now),
        iso_date(retain_until),
        doc.events,
        doc.size,
        header.statement.as_ref().map(|s| s.affirmed),
        header
            .statement
            .as_ref()
            .and_then(|s| s.legal_notice.clone()),
        compressed,
    ])?;
    let id = conn.last_insert_rowid();
    let mut blob = conn.blob_open(rusqlite::MAIN_DB, "documents", "content", id, false)?;
    io::copy(&mut BufReader::new(&mut doc.gzip), &mut blob).map_err(|source| {
        ImportError::Read {
            source_name: doc.name.clone(),
            source,
        }
    })?;
    w.undo("document_new", vec![v_int(id)])?;
    Ok((id, true))
}

impl super::Store {
    /// Imports trading-partner EPCIS documents (any supported syntax, recognised by content):
    /// all of them or none. `inputs` are `(name for messages, reader)` pairs.
    pub fn import_epcis<R: Read>(
        &mut self,
        inputs: impl IntoIterator<Item = (String, R)>,
        now: DateTime<Utc>,
    ) -> Result<EpcisImportReport, StoreError> {
        // Step 1, without any lock: spool, digest and check every document.
        let mut spooled = Vec::new();
        for (name, reader) in inputs {
            let started = Instant::now();
            let doc = read_and_check(&self.path, &name, reader)?;
            tracing::debug!(document = name, read_in = ?started.elapsed(), "import: checked");
            spooled.push(doc);
        }
        let site_gln = self.site_gln()?.map(|g| g.as_str().to_string());
        let _lock = import_lock(&self.path)?;
        let conn = self.conn();
        let recovered = recover(conn)?;
        conn.execute(
            "INSERT INTO import_runs (state, started_at) VALUES ('applying', ?1)",
            [timestamp(now)],
        )?;
        let run = conn.last_insert_rowid();
        let mut report = EpcisImportReport::default();
        if recovered > 0 {
            report.notes.push(format!(
                "{recovered} unfinished earlier import(s) were undone first"
            ));
        }
        if site_gln.is_none() {
            report.notes.push(
                "no site GLN is set (tracedesk config site_gln GLN): every shipment was \
                 accepted as addressed to this site"
                    .into(),
            );
        }
        let started = Instant::now();
        let settings = ApplySettings::set(conn)?;
        let result = apply_all(conn, run, &mut spooled, site_gln, now, report);
        tracing::debug!(applied_in = ?started.elapsed(), ok = result.is_ok(), "import: applied");
        match result {
            Ok(mut report) => {
                settings.restore(conn)?;
                conn.execute("UPDATE import_runs SET state = 'done' WHERE id = ?1", [run])?;
                forget_undo(conn, run)?;
                // Late data: packs held for it are released now (their own transactions).
                let released = self.release_arrived_data(now.date_naive(), now.fixed_offset())?;
                if released > 0 {
                    report.notes.push(format!(
                        "{released} held pack(s) released to stock: their data arrived"
                    ));
                }
                Ok(report)
            }
            Err(e) => {
                // The transaction in progress, if any, goes first; then the committed chunks.
                if !conn.is_autocommit() {
                    conn.execute_batch("ROLLBACK")?;
                }
                let restored = settings.restore(conn);
                roll_back(conn, run)?;
                restored?;
                Err(e)
            }
        }
    }

    /// Every archived trading-partner document, oldest first.
    pub fn archived_documents(&self) -> Result<Vec<ArchivedDocument>, StoreError> {
        let mut stmt = self.conn().prepare(
            "SELECT id, sha256, format, sender, receiver, instance_id, received_at, retain_until,
                    events, size
             FROM documents ORDER BY id",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(ArchivedDocument {
                id: r.get(0)?,
                sha256: r.get(1)?,
                format: r.get(2)?,
                sender: r.get(3)?,
                receiver: r.get(4)?,
                instance_id: r.get(5)?,
                received_at: r.get(6)?,
                retain_until: r.get(7)?,
                events: r.get(8)?,
                size: r.get(9)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Writes an archived document's exact bytes to `out`.
    pub fn archived_content(&self, id: i64, out: &mut dyn Write) -> Result<(), StoreError> {
        let blob = self
            .conn()
            .blob_open(rusqlite::MAIN_DB, "documents", "content", id, true)
            .map_err(|_| StoreError::Corrupt(format!("no archived document {id}")))?;
        let mut gunzip = flate2::read::GzDecoder::new(BufReader::new(blob));
        io::copy(&mut gunzip, out)
            .map_err(|e| StoreError::Corrupt(format!("archived document {id}: {e}")))?;
        Ok(())
    }

    /// Removes archived documents whose retention ended before `today`; returns how many.
    /// Nothing younger than its `retain_until` is ever removed.
    pub fn purge_archive(&mut self, today: chrono::NaiveDate) -> Result<usize, StoreError> {
        // Never beside an import: it applies without foreign key checks (see `ApplySettings`),
        // relying on nothing deleting a document it refers to meanwhile.
        let _lock = import_lock(&self.path)?;
        let conn = self.conn();
        let ids: Vec<i64> = conn
            .prepare("SELECT id FROM documents WHERE retain_until < ?1")?
            .query_map([iso_date(today)], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        for id in &ids {
            conn.execute_batch("BEGIN IMMEDIATE")?;
            conn.execute(
                "UPDATE transactions SET document = NULL WHERE document = ?1",
                [id],
            )?;
            conn.execute(
                "UPDATE parties SET document = NULL WHERE document = ?1",
                [id],
            )?;
            conn.execute("DELETE FROM documents WHERE id = ?1", [id])?;
            conn.execute_batch("COMMIT")?;
        }
        Ok(ids.len())
    }
}

fn apply_all(
    conn: &Connection,
    run: i64,
    spooled: &mut [Spooled],
    site_gln: Option<String>,
    now: DateTime<Utc>,
    report: EpcisImportReport,
) -> Result<EpcisImportReport, StoreError> {
    let mut report = report;
    for doc in spooled {
        let mut w = Writer {
            conn,
            run,
            chunk_started: Instant::now(),
            writes: 0,
            chunks: 0,
            open: false,
            longest: Duration::ZERO,
        };
        w.begin()?;
        let (document, _) = archive(conn, &w, doc, now)?;
        report.documents.push(document);
        let plan = &mut doc.plan;
        let mut applier = Applier {
            w,
            units: Units::new(conn, run)?,
            site_gln: site_gln.clone(),
            now,
            report: std::mem::take(&mut report),
            header: &doc.header,
            name: &doc.name,
            document: Some(document),
            cases_exist: None,
        };
        applier.master_data()?;
        // The archive copy makes this transaction a big commit already: the events start a
        // new one.
        applier.w.commit()?;
        let events = BufReader::new(&mut plan.events);
        for event in serde_json::Deserializer::from_reader(events).into_iter::<PlannedEvent>() {
            let event = event.map_err(|e| scratch_failure(&doc.name, e.into()))?;
            let mut lists = PlanLists {
                file: &mut plan.lists,
                range: event.lists,
                counts: event.counts,
            };
            applier.apply(&event, &mut lists).map_err(|source| {
                read_failure(
                    &doc.name,
                    ReadError::Rejected {
                        index: event.index,
                        source,
                    },
                )
            })?;
        }
        applier.w.commit()?;
        tracing::debug!(
            document = doc.name,
            chunks = applier.w.chunks,
            longest = ?applier.w.longest,
            "import: applied in chunks"
        );
        report = applier.report;
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    const HEAD: &str = r#"<e:EPCISDocument xmlns:e="urn:epcglobal:epcis:xsd:1" xmlns:m="urn:epcglobal:cbv:mda"><EPCISHeader><extension><EPCISMasterData><VocabularyList>"#;

    fn document(master: &str, events: &str) -> String {
        format!(
            "{HEAD}{master}</VocabularyList></EPCISMasterData></extension></EPCISHeader>\
             <EPCISBody><EventList>{events}</EventList></EPCISBody></e:EPCISDocument>"
        )
    }

    fn event(body: &str) -> String {
        format!(
            "<ObjectEvent><eventTime>2026-01-02T08:00:00Z</eventTime>\
             <eventTimeZoneOffset>+00:00</eventTimeZoneOffset>{body}</ObjectEvent>"
        )
    }

    fn class(id: &str, attributes: &[(&str, &str)]) -> String {
        let attributes: String = attributes
            .iter()
            .map(|(k, v)| format!(r#"<attribute id="urn:epcglobal:cbv:mda#{k}">{v}</attribute>"#))
            .collect();
        format!(r#"<VocabularyElement id="{id}">{attributes}</VocabularyElement>"#)
    }

    /// Every row of every table an import writes (lot rows excepted: an unreferenced one
    /// changes no answer), as text.
    fn snapshot(store: &Store) -> Vec<String> {
        let tables = [
            "units",
            "container_units",
            "container_containers",
            "case_units",
            "shipments",
            "shipment_refs",
            "transactions",
            "lot_recalls",
            "products",
            "product_sources",
            "parties",
            "documents",
        ];
        let mut out = Vec::new();
        for table in tables {
            let mut stmt = store
                .conn()
                .prepare(&format!("SELECT * FROM {table} ORDER BY 1, 2"))
                .unwrap();
            let columns = stmt.column_count();
            let rows = stmt
                .query_map([], |r| {
                    let mut row = table.to_owned();
                    for i in 0..columns {
                        let v: rusqlite::types::Value = r.get(i)?;
                        row.push_str(&format!(" | {v:?}"));
                    }
                    Ok(row)
                })
                .unwrap();
            out.extend(rows.map(Result::unwrap));
        }
        out
    }

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-03-01T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn a_failed_run_is_undone_to_the_last_row() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("s.db")).unwrap();
        let first = document(
            &format!(
                r#"<Vocabulary type="urn:epcglobal:epcis:vtype:EPCClass"><VocabularyElementList>{}</VocabularyElementList></Vocabulary>
                   <Vocabulary type="urn:epcglobal:epcis:vtype:Location"><VocabularyElementList>{}</VocabularyElementList></Vocabulary>"#,
                class("urn:epc:idpat:sgtin:0812345.077777.*", &[("regulatedProductName", "Zentorin")]),
                class("urn:epc:id:sgln:0812345.00001.0", &[("name", "Acme")]),
            ),
            &[
                event(
                    "<epcList><epc>urn:epc:id:sgtin:0812345.077777.A1</epc><epc>urn:epc:id:sgtin:0812345.077777.A2</epc></epcList>\
                     <action>ADD</action><bizStep>urn:epcglobal:cbv:bizstep:commissioning</bizStep>\
                     <extension><ilmd><m:lotNumber>L1</m:lotNumber><m:itemExpirationDate>2030-01-31</m:itemExpirationDate></ilmd></extension>",
                ),
                "<AggregationEvent><eventTime>2026-01-02T09:00:00Z</eventTime><eventTimeZoneOffset>+00:00</eventTimeZoneOffset>\
                 <parentID>urn:epc:id:sscc:0812345.1000000042</parentID><childEPCs><epc>urn:epc:id:sgtin:0812345.077777.A1</epc></childEPCs>\
                 <action>ADD</action></AggregationEvent>"
                    .to_owned(),
                event(
                    "<epcList><epc>urn:epc:id:sscc:0812345.1000000042</epc></epcList><action>OBSERVE</action>\
                     <bizStep>urn:epcglobal:cbv:bizstep:shipping</bizStep>\
                     <bizTransactionList><bizTransaction type=\"urn:epcglobal:cbv:btt:po\">PO-1</bizTransaction></bizTransactionList>",
                ),
            ]
            .concat(),
        );
        store
            .import_epcis([("first".to_owned(), first.as_bytes())], now())
            .unwrap();
        let before = snapshot(&store);
        let bookkeeping = |store: &Store| -> i64 {
            store
                .conn()
                .query_row(
                    "SELECT (SELECT count(*) FROM import_undo) + (SELECT count(*) FROM import_runs)
                          + (SELECT count(*) FROM import_tags)",
                    [],
                    |r| r.get(0),
                )
                .unwrap()
        };
        assert_eq!(
            bookkeeping(&store),
            0,
            "a finished run leaves nothing behind"
        );

        // A second document that touches everything the first wrote, and adds new rows.
        let second = document(
            &format!(
                r#"<Vocabulary type="urn:epcglobal:epcis:vtype:EPCClass"><VocabularyElementList>{}{}</VocabularyElementList></Vocabulary>
                   <Vocabulary type="urn:epcglobal:epcis:vtype:Location"><VocabularyElementList>{}{}</VocabularyElementList></Vocabulary>"#,
                class(
                    "urn:epc:idpat:sgtin:0812345.077777.*",
                    &[("regulatedProductName", "Other"), ("strengthDescription", "25 mg")]
                ),
                class("urn:epc:idpat:sgtin:0812345.088888.*", &[("regulatedProductName", "New")]),
                class("urn:epc:id:sgln:0812345.00001.0", &[("name", "Acme Renamed")]),
                class("urn:epc:id:sgln:0812345.00002.0", &[("name", "Second site")]),
            ),
            &[
                event(
                    "<epcList><epc>urn:epc:id:sgtin:0812345.088888.N1</epc><epc>urn:epc:id:sgtin:0812345.077777.A2</epc></epcList>\
                     <action>ADD</action><bizStep>urn:epcglobal:cbv:bizstep:commissioning</bizStep>\
                     <extension><ilmd><m:lotNumber>L9</m:lotNumber></ilmd></extension>",
                ),
                event(
                    "<epcList><epc>urn:epc:id:sgtin:0812345.077777.A1</epc><epc>urn:epc:class:lgtin:0812345.077777.L1</epc></epcList>\
                     <action>OBSERVE</action><disposition>urn:epcglobal:cbv:disp:recalled</disposition>",
                ),
                "<AggregationEvent><eventTime>2026-01-02T09:00:00Z</eventTime><eventTimeZoneOffset>+00:00</eventTimeZoneOffset>\
                 <parentID>urn:epc:id:sscc:0812345.1000000042</parentID><action>DELETE</action></AggregationEvent>\
                 <AggregationEvent><eventTime>2026-01-02T09:00:00Z</eventTime><eventTimeZoneOffset>+00:00</eventTimeZoneOffset>\
                 <parentID>urn:epc:id:sgtin:0812345.177777.C1</parentID><childEPCs><epc>urn:epc:id:sgtin:0812345.088888.N1</epc></childEPCs>\
                 <action>ADD</action></AggregationEvent>"
                    .to_owned(),
                event(
                    "<epcList><epc>urn:epc:id:sgtin:0812345.177777.C1</epc><epc>urn:epc:id:sgtin:0812345.077777.A2</epc></epcList>\
                     <action>OBSERVE</action><bizStep>urn:epcglobal:cbv:bizstep:shipping</bizStep>\
                     <bizTransactionList><bizTransaction type=\"urn:epcglobal:cbv:btt:po\">PO-2</bizTransaction>\
                     <bizTransaction type=\"urn:epcglobal:cbv:btt:po\">PO-1</bizTransaction></bizTransactionList>",
                ),
            ]
            .concat(),
        );
        let mut doc = read_and_check(store.path(), "second", second.as_bytes()).unwrap();
        // The first run is gone and this one may take its id, but not its tag: had it that,
        // undoing it would delete the units the first inserted.
        let conn = store.conn();
        conn.execute(
            "INSERT INTO import_runs (state, started_at) VALUES ('applying', 'now')",
            [],
        )
        .unwrap();
        let run = conn.last_insert_rowid();
        let report = apply_all(
            conn,
            run,
            std::slice::from_mut(&mut doc),
            None,
            now(),
            EpcisImportReport::default(),
        )
        .unwrap();
        assert!(
            report.units.inserted >= 1 && report.units.updated >= 2,
            "{report:?}"
        );
        // N1 was inserted by this run and shipped inside case C1: no undo row covers that.
        let n1_shipped: bool = store
            .conn()
            .query_row(
                "SELECT shipment IS NOT NULL FROM units WHERE serial = 'N1'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert!(n1_shipped);
        assert_ne!(
            snapshot(&store),
            before,
            "the second document changed nothing"
        );

        // As if the process died here: the next import undoes the run before it starts.
        assert_eq!(recover(store.conn()).unwrap(), 1);
        assert_eq!(snapshot(&store), before);
        assert_eq!(bookkeeping(&store), 0);
    }

    #[test]
    fn the_connection_is_durable_and_checked_again_after_an_import() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("s.db")).unwrap();
        let pragmas = |store: &Store| -> (i64, i64, i64) {
            let conn = store.conn();
            let get = |name: &str| conn.pragma_query_value(None, name, |r| r.get(0)).unwrap();
            (get("synchronous"), get("foreign_keys"), get("cache_size"))
        };
        let before = pragmas(&store);
        assert_eq!(before.0, 2, "the store commits with synchronous=FULL");
        let good = document(
            "",
            &event(
                "<epcList><epc>urn:epc:id:sgtin:0812345.077777.A1</epc></epcList>\
                 <action>ADD</action><bizStep>urn:epcglobal:cbv:bizstep:commissioning</bizStep>\
                 <extension><ilmd><m:lotNumber>L1</m:lotNumber></ilmd></extension>",
            ),
        );
        store
            .import_epcis([("good".to_owned(), good.as_bytes())], now())
            .unwrap();
        assert_eq!(pragmas(&store), before, "after an import that succeeded");

        // Checked whole before anything is applied: refused with the settings untouched.
        let truncated = &good[..good.len() / 2];
        assert!(
            store
                .import_epcis([("cut".to_owned(), truncated.as_bytes())], now())
                .is_err()
        );
        assert_eq!(pragmas(&store), before, "after an import that failed");
    }

    #[test]
    fn class_ids_name_their_gtin() {
        let g = class_gtin("urn:epc:idpat:sgtin:030001.0012345.*").unwrap();
        assert_eq!(g.as_str(), "00300010123455");
        assert_eq!(
            class_gtin("urn:epc:class:lgtin:030001.0012345.A1")
                .unwrap()
                .as_str(),
            "00300010123455"
        );
        assert!(class_gtin("urn:epc:idpat:sgtin:garbage").is_none());
        assert!(class_gtin("urn:epc:id:sgln:030001.111111.0").is_none());
    }
}
