//! The desk worker: the one thread that owns the store on the kiosk's behalf.
//!
//! The UI thread must never wait on SQLite (a receipt is an fsync; a query on a ten-million-unit
//! store can take longer than a frame). So the screens send [`DeskRequest`]s over a channel and
//! draw whatever [`DeskReply`]s have arrived; the worker answers each request in order and wakes
//! the UI with `request_repaint`.
//!
//! The worker drives a [`Desk`]: the operations the kiosk needs, in the kiosk's terms, with
//! the domain's types (GTINs, dates, stock and reconciliation states) so a screen never parses
//! what the worker already knew; a failure is a [`DeskError`] saying what failed. The store implements it in [`super::store_desk`]; tests
//! implement it with a few values in memory, so the screens are tested without a database.
//!
//! This module must never touch egui widgets, and the UI must never call a [`Desk`] directly.

use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, Sender};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use chrono::NaiveDate;

use crate::gs1::{Gtin, Sgtin};
use crate::store::StoreError;
use crate::store::setup::SiteAnswers;
use crate::store::shipment::ReconciledUnit;
use crate::store::trace::Trace;
use crate::verify::{Reason, StockState, Verdict};

/// Where a scan came from (shown on the card, and the wedge is the only one with warnings).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScanSource {
    /// A scanner typing as a keyboard.
    Wedge,
    /// A scanner on a serial (USB-CDC) port.
    Serial,
    /// The camera.
    Camera,
}

/// Product master data as shown on a card.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ProductLabel {
    pub name: Option<String>,
    pub strength: Option<String>,
    pub ndc: Option<String>,
}

/// The product identifier of the scanned pack, as far as the scan could be read.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PackIdentity {
    pub gtin: Option<Gtin>,
    pub serial: Option<String>,
    pub lot: Option<String>,
    pub expiry: Option<NaiveDate>,
}

/// The answer to one scan at the receiving screen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanOutcome {
    pub source: ScanSource,
    pub verdict: Verdict,
    pub pack: PackIdentity,
    pub product: Option<ProductLabel>,
    /// Why the barcode could not be read, in plain words (for `invalid`).
    pub errors: Vec<String>,
    /// The receipt (and for an accepted unit its event) is committed.
    pub recorded: bool,
    /// Refused only for its data: the pack is kept, held in the pending-data place, with an
    /// exception case open.
    pub held_for_data: bool,
    /// The manufacturer's answer through the verification router, when it was asked (it comes
    /// in a second reply, [`DeskReply::Manufacturer`]).
    pub manufacturer: Option<String>,
    /// What the clerk does with a refused pack, in the site's words (`None` when verified).
    pub next_step: Option<String>,
}

/// Counters of the shipment being received.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ShipmentCounts {
    pub expected: u64,
    pub received: u64,
    pub rejected: u64,
    pub missing: u64,
    pub unexpected: u64,
}

/// A shipment the desk can receive against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShipmentSummary {
    /// The reference the store finds it by.
    pub reference: String,
    /// What people call it (ASN, PO...).
    pub name: String,
    pub counts: ShipmentCounts,
}

/// A case or tote label whose packs the aggregation data lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseLabel {
    pub sscc: String,
    pub packs: usize,
}

/// A shipment's reconciliation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reconciliation {
    pub shipment: ShipmentSummary,
    /// Expected units in key order, then unexpected ones.
    pub lines: Vec<ReconciledUnit>,
    /// Once the shipment is closed: its exception cases.
    pub cases: Vec<CaseLine>,
}

/// One exception case as the pharmacist screen lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseLine {
    pub id: i64,
    pub kind: crate::exceptions::ExceptionKind,
    /// The shipment's reference and name, when the case has one.
    pub shipment: Option<(String, String)>,
    pub pack: PackIdentity,
    pub product: Option<String>,
    /// Plain words: what differs (the data's lot and expiry, the quantities...).
    pub detail: String,
    pub age_days: i64,
    /// Past its grace period: the pharmacist decides.
    pub overdue: bool,
    pub open: bool,
    pub resolution: Option<crate::exceptions::Resolution>,
}

/// One entry of a pack's history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryEntry {
    /// When it happened, as recorded (RFC 3339).
    pub at: String,
    /// What happened, in plain words ("Shipped by ...", "Received here", "Quarantined: ...").
    pub what: String,
}

/// What the pharmacist sees about one pack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackFile {
    pub verdict: Verdict,
    pub pack: PackIdentity,
    pub product: Option<ProductLabel>,
    pub errors: Vec<String>,
    pub history: Vec<HistoryEntry>,
    /// What trading partners said about the unit (DSCSA TI/TS); `None` when the scan names no
    /// unit or no partner announced it.
    pub trace: Option<Box<UnitTrace>>,
    /// The suspect-product investigation of the pack's lot, in plain words, when one is open.
    pub investigation: Option<String>,
}

/// A unit's transaction history, with the unit it is about (the export names both).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitTrace {
    pub unit: Sgtin,
    pub trace: Trace,
}

/// What a pharmacist can do with a suspect pack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PharmacistAction {
    /// Hold it pending investigation.
    Quarantine { reason: String },
    /// Hold it as suspect product (DSCSA): its lot goes under investigation, a sample of it to
    /// be verified with the manufacturer.
    HoldSuspect { reason: String },
    /// Lift every hold.
    Release,
    /// Confirmed illegitimate product (DSCSA): stays out of stock, FDA notified.
    MarkIllegitimate { reason: String },
    /// Destroyed on site.
    Destroy,
}

impl PharmacistAction {
    /// Plain words for confirmations and the audit trail.
    pub fn label(&self) -> &'static str {
        match self {
            Self::Quarantine { .. } => "Quarantined",
            Self::HoldSuspect { .. } => "Held as suspect",
            Self::Release => "Released",
            Self::MarkIllegitimate { .. } => "Marked illegitimate",
            Self::Destroy => "Destroyed",
        }
    }
}

/// The sync outbox as the status bar shows it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OutboxStatus {
    /// Events waiting to be sent upstream.
    pub waiting: u64,
    /// Events upstream refused, with the first error.
    pub parked: u64,
    pub parked_error: Option<String>,
    /// The last time upstream accepted events (RFC 3339).
    pub last_sync: Option<String>,
    /// Where events go; `None` when no upstream is configured.
    pub upstream: Option<String>,
}

/// The kiosk's settings (the PIN is not one of them: see [`Desk::change_pin`]).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DeskSettings {
    pub site_gln: String,
    pub upstream_url: String,
    pub credentials_file: String,
    pub scanner_profile: String,
    pub camera: bool,
    /// The folder partners' documents are dropped in (empty: no inbox).
    pub inbox_dir: String,
    /// Where manufacturers are asked (GS1 Lightweight Messaging); empty: nobody is asked.
    pub verification_router: String,
    /// The file holding the trading partner credential the router wants.
    pub verification_credentials_file: String,
    /// The e-mail address exception reports give partners to answer to.
    pub contact_email: String,
    /// How many business days a pack held for its data waits before the pharmacist decides.
    pub exception_grace_days: String,
    /// The site's instruction after a refusal, per reason, in [`Reason::ALL`]'s order; empty
    /// where the site keeps the default ([`crate::store::next_step`]).
    pub next_steps: Vec<(Reason, String)>,
}

/// Which units on hand the pharmacist asks for, as typed; the desk reads the GTIN (or NDC).
/// Filters combine.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UnitQuery {
    /// A GTIN or an NDC in any of its forms; empty for every product.
    pub product: String,
    /// Empty for every lot.
    pub lot: String,
    /// Only units expiring within this many days (expired ones included).
    pub expiring_within: Option<u32>,
    /// Only units whose unit or lot is recalled.
    pub recalled_only: bool,
}

/// One unit received here: on the shelf, or gone (dispensed, returned...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StockUnit {
    pub gtin: Gtin,
    /// The product's name and strength from the master data, when known.
    pub product: Option<String>,
    pub serial: String,
    pub lot: Option<String>,
    pub expiry: Option<NaiveDate>,
    /// `active`, `recalled`, `quarantined`...
    pub status: String,
    /// Where it is: on hand, dispensed, returned, destroyed, decommissioned.
    pub state: StockState,
    /// The shipment it came on, and the case or tote within it.
    pub shipment: Option<String>,
    pub tote: Option<String>,
    /// When it was received here (RFC 3339).
    pub received_at: String,
    /// When its state last changed (dispensed at, returned at...).
    pub changed_at: String,
}

/// Units found, at most a screenful of them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UnitList {
    pub units: Vec<StockUnit>,
    /// How many matched; more than `units.len()` when the list was cut.
    pub total: u64,
}

/// Expired units still on the shelf, and those expiring soon.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ExpiryWatch {
    pub expired: u64,
    /// For each watched horizon in days (30/60/90 unless configured), ascending: units not
    /// yet expired that expire within it.
    pub expiring: Vec<(u32, u64)>,
}

impl ExpiryWatch {
    /// Units expiring within `days` (not yet expired), if that horizon is watched.
    pub fn within(&self, days: u32) -> Option<u64> {
        self.expiring
            .iter()
            .find(|(d, _)| *d == days)
            .map(|(_, n)| *n)
    }
}

/// A recalled lot that passed through here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecalledLot {
    pub gtin: Gtin,
    pub lot: String,
    pub product: Option<String>,
    pub on_hand: u64,
}

/// A unit that left the shelf.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitMovement {
    pub gtin: Gtin,
    pub serial: String,
    /// When (RFC 3339).
    pub at: String,
    /// Where to, or what happened, in plain words.
    pub what: String,
}

/// Every unit of a recalled lot this site received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecallFile {
    pub lot: RecalledLot,
    pub on_hand: Vec<StockUnit>,
    pub dispensed: Vec<UnitMovement>,
    pub returned: Vec<UnitMovement>,
    /// Destroyed or decommissioned here.
    pub gone: Vec<UnitMovement>,
}

/// The numbers behind the report charts.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Reports {
    /// How many days the receipts and failures cover, the desk's today included.
    pub days: u32,
    /// Every day of those, oldest first (zero counts included): units accepted and refused.
    pub receipts_per_day: Vec<(NaiveDate, u64, u64)>,
    /// Refused scans over the same days by reason (plain words), most frequent first.
    pub failures_by_reason: Vec<(String, u64)>,
    /// Units on hand by expiry band ("expired", "within 30 days", "in 31–60 days"...), soonest
    /// first.
    pub expiry_horizon: Vec<(String, u64)>,
    /// The same numbers as `tracedesk report --csv` writes them, for the export button.
    pub csv: String,
}

/// A setup the desk wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetupApplied {
    pub name: String,
    /// The site's SGLN, as its events name it.
    pub sgln: String,
    /// The scanner profile now in force, if one is set.
    pub scanner_profile: Option<String>,
}

/// The desk's answer to a PIN typed at the pad.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PinVerdict {
    Accepted,
    /// No PIN is set yet: the pad asks for a new one.
    NotSet,
    /// Wrong, or not checked at all after too many wrong ones; `wait` is how long until the
    /// next attempt is allowed.
    Refused {
        message: String,
        wait: Option<Duration>,
    },
}

/// Something the desk could not do, in words a clerk can act on.
///
/// It crosses from the worker to the UI thread and is shown as it is, so each variant keeps
/// the message of what failed rather than the failure itself.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeskError {
    /// The store could not do it (a damaged file, the disk, a lock held too long).
    #[error("{0}")]
    Store(String),
    /// The scan, or what was typed, cannot be used for this.
    #[error("{0}")]
    Unusable(String),
    /// No shipment is known by this reference.
    #[error("no shipment {0}")]
    UnknownShipment(String),
    /// A setting or a setup answer was refused.
    #[error("{0}")]
    Setting(String),
    /// A PIN was refused, or the PIN could not be changed.
    #[error("{0}")]
    Pin(String),
    /// What this needs is not configured.
    #[error("{0}")]
    NotConfigured(&'static str),
    /// A file could not be written.
    #[error("cannot write {}: {message}", path.display())]
    File { path: PathBuf, message: String },
    /// The manufacturer could not be asked, or did not answer.
    #[error("{0}")]
    Online(String),
}

impl From<StoreError> for DeskError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::InvalidSetting { .. } | StoreError::UnknownSetting(_) => {
                DeskError::Setting(error.to_string())
            }
            other => DeskError::Store(other.to_string()),
        }
    }
}

/// The operations the kiosk needs from its store. Every call may block; only the worker calls.
pub trait Desk {
    /// Verify a unit scan and record its receipt durably (against `shipment` when one is open).
    fn receive(
        &mut self,
        bytes: &[u8],
        source: ScanSource,
        shipment: Option<&str>,
    ) -> Result<ScanOutcome, DeskError>;
    /// The shipment a scan opens (an SSCC label, or any reference), if the scan names one.
    fn shipment_for_scan(&mut self, bytes: &[u8]) -> Result<Option<ShipmentSummary>, DeskError>;
    /// The case or tote a label scan names, when the aggregation data lists its packs.
    fn case_label(&mut self, bytes: &[u8]) -> Result<Option<CaseLabel>, DeskError>;
    /// Receive every pack of the case or tote a label scan names, in one transaction: each
    /// pack's outcome, as if it had been scanned.
    fn receive_case(
        &mut self,
        bytes: &[u8],
        shipment: Option<&str>,
    ) -> Result<Vec<ScanOutcome>, DeskError>;
    /// The shipment known by `reference`, with fresh counters.
    fn shipment(&mut self, reference: &str) -> Result<Option<ShipmentSummary>, DeskError>;
    /// Shipments expected at this site.
    fn shipments(&mut self) -> Result<Vec<ShipmentSummary>, DeskError>;
    /// A shipment's reconciliation.
    fn reconcile(&mut self, reference: &str) -> Result<Reconciliation, DeskError>;
    /// Read-only: a pack's verdict and whole history, for the pharmacist.
    fn inspect(&mut self, bytes: &[u8]) -> Result<PackFile, DeskError>;
    /// Record a pharmacist's action on a pack (an event and an audit line).
    fn act(&mut self, pack: &PackIdentity, action: &PharmacistAction) -> Result<(), DeskError>;
    /// The outbox counters.
    fn outbox(&mut self) -> Result<OutboxStatus, DeskError>;
    /// The settings.
    fn settings(&mut self) -> Result<DeskSettings, DeskError>;
    /// Save the settings.
    fn save_settings(&mut self, settings: &DeskSettings) -> Result<(), DeskError>;
    /// Check a pharmacist PIN; a wrong one counts against the brake ([`super::pin`]).
    fn check_pin(&mut self, pin: &str) -> Result<PinVerdict, DeskError>;
    /// Set a new PIN; `current` must be the PIN in force, and may be `None` only while no PIN
    /// is set.
    fn change_pin(&mut self, current: Option<&str>, new: &str) -> Result<(), DeskError>;
    /// Units on hand matching `query`.
    fn on_hand(&mut self, query: &UnitQuery) -> Result<UnitList, DeskError>;
    /// Expired and soon-expiring units on hand.
    fn expiry_watch(&mut self) -> Result<ExpiryWatch, DeskError>;
    /// Recalled lots this site holds or held.
    fn recalled_lots(&mut self) -> Result<Vec<RecalledLot>, DeskError>;
    /// Every unit of one recalled lot: on hand, dispensed, returned.
    fn recall(&mut self, gtin: &Gtin, lot: &str) -> Result<RecallFile, DeskError>;
    /// Quarantine every unit of the lot still on hand (an event each); returns how many.
    fn quarantine_lot(&mut self, gtin: &Gtin, lot: &str, reason: &str) -> Result<u64, DeskError>;
    /// Units found by product name, NDC (any form), GTIN, lot or serial.
    fn search(&mut self, text: &str) -> Result<UnitList, DeskError>;
    /// Close a shipment: its differences become exception cases. Returns its reconciliation
    /// with the cases.
    fn close_shipment(&mut self, reference: &str) -> Result<Reconciliation, DeskError>;
    /// The open exception cases, oldest first.
    fn exceptions(&mut self) -> Result<Vec<CaseLine>, DeskError>;
    /// A pharmacist's decision on a case.
    fn resolve_case(
        &mut self,
        id: i64,
        decision: crate::exceptions::Resolution,
    ) -> Result<(), DeskError>;
    /// Write the PDG exception report of a shipment's open cases into `dir`; returns the file.
    fn exception_report(&mut self, reference: &str, dir: &Path) -> Result<PathBuf, DeskError>;
    /// After a receipt: the manufacturer's answer, when a verification router is set and the
    /// pack needs one (unknown here, suspect). `None` when nobody was asked.
    fn ask_manufacturer(&mut self, _outcome: &ScanOutcome) -> Option<String> {
        None
    }
    /// Whether the saved upstream and verification router answer.
    fn test_connections(&mut self) -> Result<crate::desk::connection::ConnectionReport, DeskError>;
    /// The pharmacist asks the manufacturer about a pack (as suspect product when `suspect`).
    fn verify_online(&mut self, pack: &PackIdentity, suspect: bool) -> Result<String, DeskError>;
    /// The report numbers; receipts and failures over the last `days` days, today included.
    fn reports(&mut self, days: u32) -> Result<Reports, DeskError>;
    /// The site's setup answers in force, and whether a PIN is set.
    fn setup_answers(&mut self) -> Result<(SiteAnswers, bool), DeskError>;
    /// Check and write a setup; `pin` is the first PIN, only while none is set.
    fn apply_setup(
        &mut self,
        answers: &SiteAnswers,
        pin: Option<&str>,
    ) -> Result<SetupApplied, DeskError>;
}

/// What the UI asks of the worker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeskRequest {
    Receive {
        bytes: Vec<u8>,
        source: ScanSource,
        shipment: Option<String>,
    },
    OpenShipmentByScan {
        bytes: Vec<u8>,
    },
    /// Receive every pack of a case or tote by its label.
    ReceiveCase {
        bytes: Vec<u8>,
        shipment: Option<String>,
    },
    ListShipments,
    RefreshShipment {
        reference: String,
    },
    Reconcile {
        reference: String,
        closing: bool,
    },
    Inspect {
        bytes: Vec<u8>,
    },
    Act {
        pack: PackIdentity,
        action: PharmacistAction,
    },
    Outbox,
    LoadSettings,
    SaveSettings(DeskSettings),
    /// Check a PIN against the stored hash (argon2 is slow on purpose: not on the UI thread).
    CheckPin {
        pin: String,
    },
    /// Set a new PIN, proving the current one (`None` only while no PIN is set).
    SetPin {
        current: Option<String>,
        pin: String,
    },
    /// Write an export (reconciliation CSV, investigation record) to a file.
    Export {
        path: PathBuf,
        contents: String,
    },
    OnHand(UnitQuery),
    ExpiryWatch,
    RecalledLots,
    Recall {
        gtin: Gtin,
        lot: String,
    },
    QuarantineLot {
        gtin: Gtin,
        lot: String,
        reason: String,
    },
    Search {
        text: String,
    },
    Exceptions,
    TestConnections,
    AskManufacturer {
        pack: PackIdentity,
        suspect: bool,
    },
    ResolveCase {
        id: i64,
        decision: crate::exceptions::Resolution,
    },
    ExceptionReport {
        reference: String,
        dir: PathBuf,
    },
    /// The report charts' numbers, receipts and failures over the last `days` days.
    Reports {
        days: u32,
    },
    /// The setup answers in force, to run the setup again from.
    LoadSetup,
    /// Write a setup (and the first PIN, while none is set).
    ApplySetup {
        answers: SiteAnswers,
        pin: Option<String>,
    },
}

/// What the worker answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeskReply {
    Received(ScanOutcome),
    /// `None`: the scan is a shipment label nobody announced.
    ShipmentOpened {
        scan_text: String,
        shipment: Option<ShipmentSummary>,
        /// The label is a case or tote with known packs: it can be received whole.
        case: Option<CaseLabel>,
    },
    CaseReceived {
        sscc: String,
        outcomes: Vec<ScanOutcome>,
    },
    Shipments(Vec<ShipmentSummary>),
    ShipmentRefreshed(Option<ShipmentSummary>),
    Reconciled {
        reconciliation: Reconciliation,
        closing: bool,
    },
    Inspected(PackFile),
    Acted {
        action: PharmacistAction,
    },
    Outbox(OutboxStatus),
    Settings(DeskSettings),
    SettingsSaved,
    PinChecked(PinVerdict),
    PinSet,
    Exported {
        path: PathBuf,
    },
    OnHand(UnitList),
    ExpiryWatch(ExpiryWatch),
    RecalledLots(Vec<RecalledLot>),
    Recall(RecallFile),
    QuarantinedLot {
        gtin: Gtin,
        lot: String,
        count: u64,
    },
    Found {
        text: String,
        units: UnitList,
    },
    Reports(Reports),
    Exceptions(Vec<CaseLine>),
    ConnectionsTested(crate::desk::connection::ConnectionReport),
    CaseResolved {
        id: i64,
    },
    /// The manufacturer's answer about the pack of an earlier [`DeskReply::Received`].
    Manufacturer {
        pack: PackIdentity,
        answer: String,
    },
    SetupLoaded {
        answers: SiteAnswers,
        pin_set: bool,
    },
    SetupApplied(SetupApplied),
    Failed {
        request: &'static str,
        error: DeskError,
    },
}

/// The UI's end of the worker.
#[derive(Debug)]
pub struct DeskHandle {
    requests: Sender<DeskRequest>,
    thread: Option<JoinHandle<()>>,
}

impl DeskHandle {
    /// Queues a request; returns false when the worker is gone (the UI shows that).
    pub fn send(&self, request: DeskRequest) -> bool {
        self.requests.send(request).is_ok()
    }
}

impl Drop for DeskHandle {
    fn drop(&mut self) {
        // Closing the channel ends the worker once it finished what was queued, so a receipt
        // already asked for is still committed when the kiosk closes.
        let (dead, _) = mpsc::channel();
        self.requests = dead;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Starts the worker on `desk`; replies go to `replies`, and `wake` is called after each one
/// (the UI passes `ctx.request_repaint`).
pub fn spawn<D, W>(mut desk: D, replies: Sender<DeskReply>, wake: W) -> DeskHandle
where
    D: Desk + Send + 'static,
    W: Fn() + Send + 'static,
{
    let (requests, inbox): (Sender<DeskRequest>, Receiver<DeskRequest>) = mpsc::channel();
    let thread = thread::Builder::new()
        .name("desk".into())
        .spawn(move || {
            for request in inbox {
                let reply = answer(&mut desk, request);
                // The local verdict goes out first; the manufacturer's answer (up to 2 s) after.
                let follow_up = match &reply {
                    DeskReply::Received(outcome) => {
                        desk.ask_manufacturer(outcome)
                            .map(|answer| DeskReply::Manufacturer {
                                pack: outcome.pack.clone(),
                                answer,
                            })
                    }
                    _ => None,
                };
                if replies.send(reply).is_err() {
                    break;
                }
                wake();
                if let Some(follow_up) = follow_up {
                    if replies.send(follow_up).is_err() {
                        break;
                    }
                    wake();
                }
            }
        })
        .map_err(|e| tracing::error!("cannot start the desk worker: {e}"))
        .ok();
    DeskHandle { requests, thread }
}

fn answer(desk: &mut impl Desk, request: DeskRequest) -> DeskReply {
    let name = request_name(&request);
    let result = match request {
        DeskRequest::Receive {
            bytes,
            source,
            shipment,
        } => desk
            .receive(&bytes, source, shipment.as_deref())
            .map(DeskReply::Received),
        DeskRequest::OpenShipmentByScan { bytes } => {
            desk.shipment_for_scan(&bytes).and_then(|shipment| {
                Ok(DeskReply::ShipmentOpened {
                    scan_text: super::printable(&bytes),
                    shipment,
                    case: desk.case_label(&bytes)?,
                })
            })
        }
        DeskRequest::ReceiveCase { bytes, shipment } => desk.case_label(&bytes).and_then(|label| {
            let sscc = label.map(|l| l.sscc).unwrap_or_default();
            desk.receive_case(&bytes, shipment.as_deref())
                .map(|outcomes| DeskReply::CaseReceived { sscc, outcomes })
        }),
        DeskRequest::ListShipments => desk.shipments().map(DeskReply::Shipments),
        DeskRequest::RefreshShipment { reference } => {
            desk.shipment(&reference).map(DeskReply::ShipmentRefreshed)
        }
        DeskRequest::Reconcile { reference, closing } => {
            let reconciliation = if closing {
                desk.close_shipment(&reference)
            } else {
                desk.reconcile(&reference)
            };
            reconciliation.map(|reconciliation| DeskReply::Reconciled {
                reconciliation,
                closing,
            })
        }
        DeskRequest::Inspect { bytes } => desk.inspect(&bytes).map(DeskReply::Inspected),
        DeskRequest::Act { pack, action } => desk
            .act(&pack, &action)
            .map(|()| DeskReply::Acted { action }),
        DeskRequest::Outbox => desk.outbox().map(DeskReply::Outbox),
        DeskRequest::LoadSettings => desk.settings().map(DeskReply::Settings),
        DeskRequest::SaveSettings(settings) => desk
            .save_settings(&settings)
            .map(|()| DeskReply::SettingsSaved),
        DeskRequest::CheckPin { pin } => desk.check_pin(&pin).map(DeskReply::PinChecked),
        DeskRequest::SetPin { current, pin } => desk
            .change_pin(current.as_deref(), &pin)
            .map(|()| DeskReply::PinSet),
        DeskRequest::Export { path, contents } => {
            export(&path, &contents).map(|()| DeskReply::Exported { path })
        }
        DeskRequest::OnHand(query) => desk.on_hand(&query).map(DeskReply::OnHand),
        DeskRequest::ExpiryWatch => desk.expiry_watch().map(DeskReply::ExpiryWatch),
        DeskRequest::RecalledLots => desk.recalled_lots().map(DeskReply::RecalledLots),
        DeskRequest::Recall { gtin, lot } => desk.recall(&gtin, &lot).map(DeskReply::Recall),
        DeskRequest::QuarantineLot { gtin, lot, reason } => desk
            .quarantine_lot(&gtin, &lot, &reason)
            .map(|count| DeskReply::QuarantinedLot { gtin, lot, count }),
        DeskRequest::Search { text } => desk
            .search(&text)
            .map(|units| DeskReply::Found { text, units }),
        DeskRequest::Exceptions => desk.exceptions().map(DeskReply::Exceptions),
        DeskRequest::TestConnections => desk.test_connections().map(DeskReply::ConnectionsTested),
        DeskRequest::AskManufacturer { pack, suspect } => desk
            .verify_online(&pack, suspect)
            .map(|answer| DeskReply::Manufacturer { pack, answer }),
        DeskRequest::ResolveCase { id, decision } => desk
            .resolve_case(id, decision)
            .map(|()| DeskReply::CaseResolved { id }),
        DeskRequest::ExceptionReport { reference, dir } => desk
            .exception_report(&reference, &dir)
            .map(|path| DeskReply::Exported { path }),
        DeskRequest::Reports { days } => desk.reports(days).map(DeskReply::Reports),
        DeskRequest::LoadSetup => desk
            .setup_answers()
            .map(|(answers, pin_set)| DeskReply::SetupLoaded { answers, pin_set }),
        DeskRequest::ApplySetup { answers, pin } => desk
            .apply_setup(&answers, pin.as_deref())
            .map(DeskReply::SetupApplied),
    };
    result.unwrap_or_else(|error| {
        tracing::warn!("desk request {name} failed: {error}");
        DeskReply::Failed {
            request: name,
            error,
        }
    })
}

fn request_name(request: &DeskRequest) -> &'static str {
    match request {
        DeskRequest::Receive { .. } => "receive",
        DeskRequest::OpenShipmentByScan { .. } => "open shipment",
        DeskRequest::ReceiveCase { .. } => "receive the case",
        DeskRequest::ListShipments => "list shipments",
        DeskRequest::RefreshShipment { .. } => "refresh shipment",
        DeskRequest::Reconcile { .. } => "reconcile",
        DeskRequest::Inspect { .. } => "inspect",
        DeskRequest::Act { .. } => "pharmacist action",
        DeskRequest::Outbox => "outbox",
        DeskRequest::LoadSettings => "load settings",
        DeskRequest::SaveSettings(_) => "save settings",
        DeskRequest::CheckPin { .. } => "check PIN",
        DeskRequest::SetPin { .. } => "set PIN",
        DeskRequest::Export { .. } => "export",
        DeskRequest::OnHand(_) => "list units on hand",
        DeskRequest::ExpiryWatch => "count expiring units",
        DeskRequest::RecalledLots => "list recalled lots",
        DeskRequest::Recall { .. } => "open the recall",
        DeskRequest::QuarantineLot { .. } => "quarantine the lot",
        DeskRequest::Search { .. } => "search",
        DeskRequest::Exceptions => "list exception cases",
        DeskRequest::TestConnections => "test the connections",
        DeskRequest::AskManufacturer { .. } => "ask the manufacturer",
        DeskRequest::ResolveCase { .. } => "resolve the case",
        DeskRequest::ExceptionReport { .. } => "write the exception report",
        DeskRequest::Reports { .. } => "load reports",
        DeskRequest::LoadSetup => "load the setup",
        DeskRequest::ApplySetup { .. } => "save the setup",
    }
}

fn export(path: &Path, contents: &str) -> Result<(), DeskError> {
    let failed = |e: std::io::Error| DeskError::File {
        path: path.to_owned(),
        message: e.to_string(),
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(failed)?;
    }
    std::fs::write(path, contents).map_err(failed)
}
