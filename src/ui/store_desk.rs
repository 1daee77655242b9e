//! [`Desk`] on the SQLite [`Store`]: what the kiosk's worker thread runs in production.
//!
//! Turns scanner bytes into parsed scans (with today's date from the desk's day clock, read
//! here on the worker thread),
//! calls the store, and turns its answers into the plain values the screens draw.
//!
//! Pharmacist actions go through [`Store::record_action`], which records each with its EPCIS
//! event (naming [`KIOSK_ACTOR`] as who did it) and audit line in one transaction; the pack
//! history is [`Store::unit_history`] and its partners' transactions [`Store::trace`]; the
//! outbox counters and last sync are the sync outbox's own status. PINs are checked and changed
//! through [`super::pin`], on the desk's PIN clock. A refusal carries the site's instruction
//! for the clerk ([`Store::next_steps`]).

use chrono::{DateTime, FixedOffset, Local, NaiveDate, SecondsFormat, Utc};

use super::desk::{
    CaseLabel, CaseLine, Desk, DeskError, DeskSettings, ExpiryWatch, HistoryEntry, OutboxStatus,
    PackFile, PackIdentity, PharmacistAction, PinVerdict, ProductLabel, RecallFile, RecalledLot,
    Reconciliation, Reports, ScanOutcome, ScanSource, SetupApplied, ShipmentCounts,
    ShipmentSummary, UnitList, UnitQuery, UnitTrace,
};
use super::pin::{self, NewPin, PinError};
use super::store_inventory;
use crate::desk::online;
use crate::exceptions::{CaseStatus, ExceptionKind, Resolution};
use crate::gs1::{self, Gtin, ParseContext, ParsedScan, Sgtin};
use crate::store::exceptions::age_days;
use crate::store::inventory::Happening;
use crate::store::setup::SiteAnswers;
use crate::store::{self, HoldKind, NextSteps, ShelfAction, ShipmentId, Store, next_step};
use crate::store::{CaseFilter, ExceptionCase};
use crate::sync::Outbox;
use crate::verify::lms::Context;
use crate::verify::{ProductIdentifier, Reason, Status, Verdict};
use std::path::{Path, PathBuf};

/// Settings key of the camera switch.
const CAMERA_KEY: &str = "kiosk_camera";

/// Who the audit trail names for actions taken at the kiosk: only a pharmacist gets past the
/// PIN to take them.
pub const KIOSK_ACTOR: &str = "kiosk:pharmacist";

/// The desk's clock: the wall clock in local time, or a hand-set one in tests. Every moment
/// the desk records (receipts, events, the PIN brake, exception cases) is read from it, and
/// today's date (verdicts, expiry, reports) is its date.
pub type Clock = Box<dyn Fn() -> DateTime<FixedOffset> + Send>;

/// The store, as the kiosk's desk.
pub struct StoreDesk {
    store: Store,
    clock: Clock,
}

impl std::fmt::Debug for StoreDesk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreDesk")
            .field("store", &self.store)
            .finish_non_exhaustive()
    }
}

impl StoreDesk {
    pub fn new(mut store: Store) -> Self {
        store.set_actor(KIOSK_ACTOR);
        Self {
            store,
            clock: Box::new(|| Local::now().fixed_offset()),
        }
    }

    /// Replace the clock (tests: a fixed day, a hand-advanced brake).
    pub fn set_clock(&mut self, clock: Clock) {
        self.clock = clock;
    }

    fn now(&self) -> DateTime<FixedOffset> {
        (self.clock)()
    }

    fn today(&self) -> NaiveDate {
        self.now().date_naive()
    }

    /// The moment the PIN brake counts from.
    fn pin_now(&self) -> DateTime<Utc> {
        self.now().with_timezone(&Utc)
    }

    fn parse(&self, bytes: &[u8]) -> ParsedScan {
        gs1::parse(bytes, &ParseContext::new(self.today()))
    }

    fn find(&self, reference: &str) -> Result<Option<ShipmentId>, DeskError> {
        Ok(self.store.find_shipment(reference)?)
    }

    fn summary(&self, id: ShipmentId) -> Result<ShipmentSummary, DeskError> {
        let info = self.store.shipment_info(id)?;
        let progress = self.store.shipment_progress(id)?;
        Ok(ShipmentSummary {
            reference: info.name.clone(),
            name: info.name,
            counts: ShipmentCounts {
                expected: progress.expected,
                received: progress.received,
                rejected: progress.rejected,
                missing: progress.missing,
                unexpected: progress.unexpected,
            },
        })
    }

    fn product(&self, gtin: Option<&Gtin>) -> Option<ProductLabel> {
        let product = self.store.product(gtin?).ok().flatten()?;
        Some(ProductLabel {
            name: product.name,
            strength: product.strength,
            ndc: product.ndc,
        })
    }

    /// The instruction for a refused pack. Read on every refusal, so a text changed through
    /// `tracedesk config` shows at the next one; the receipt is already recorded, so a
    /// setting the store cannot read falls back to the defaults rather than hide the verdict.
    fn next_step(&self, verdict: &Verdict) -> Option<String> {
        if verdict.status == Status::Verified {
            return None;
        }
        let steps = self.store.next_steps().unwrap_or_else(|e| {
            tracing::warn!("refusal instructions: {e}; showing the defaults");
            NextSteps::default()
        });
        steps.for_reasons(&verdict.reasons).map(str::to_owned)
    }

    fn raw_setting(&self, key: &str) -> Result<Option<String>, DeskError> {
        Ok(self.store.setting(key)?)
    }

    fn set_raw_setting(&mut self, key: &str, value: &str) -> Result<(), DeskError> {
        self.store.set_setting(key, value)?;
        Ok(())
    }

    fn history(&self, sgtin: &Sgtin) -> Result<Vec<HistoryEntry>, DeskError> {
        let lines = self.store.unit_history(sgtin)?;
        Ok(lines
            .into_iter()
            .map(|line| {
                let what = match line.what {
                    Happening::Announced { shipment, status } => {
                        let shipment = shipment
                            .map(|s| format!(" on shipment {s}"))
                            .unwrap_or_default();
                        format!("Announced by the supplier{shipment}; supplier status: {status}")
                    }
                    Happening::Received => "Received here".to_owned(),
                    Happening::Refused(reasons) => {
                        let labels: Vec<&str> = reasons.iter().map(|r| r.label()).collect();
                        format!("Scanned here and refused: {}", labels.join(", "))
                    }
                    Happening::Action {
                        action: ShelfAction::Hold(kind),
                        reason,
                    } => {
                        let why = match kind {
                            HoldKind::Quarantine => "quarantined by a pharmacist",
                            HoldKind::Suspect => "suspect product",
                            HoldKind::Illegitimate => "illegitimate product",
                            HoldKind::PendingData => "held until its data arrives",
                        };
                        match reason {
                            Some(reason) => format!("Held: {why}: {reason}"),
                            None => format!("Held: {why}"),
                        }
                    }
                    Happening::Action { action, reason } => match reason {
                        Some(reason) => format!("{}: {reason}", action.label()),
                        None => action.label().to_owned(),
                    },
                };
                let at = if line.at.is_empty() {
                    "supplier".to_owned()
                } else {
                    line.at
                };
                HistoryEntry { at, what }
            })
            .collect())
    }
}

fn pack_identity(scan: &ParsedScan) -> PackIdentity {
    PackIdentity {
        gtin: scan.gtin(),
        serial: scan.serial().map(str::to_owned),
        lot: scan.lot().map(str::to_owned),
        expiry: scan.expiry,
    }
}

fn scan_errors(scan: &ParsedScan) -> Vec<String> {
    scan.errors.iter().map(|e| e.to_string()).collect()
}

fn sgtin_of(pack: &PackIdentity) -> Result<Sgtin, DeskError> {
    let (Some(gtin), Some(serial)) = (&pack.gtin, &pack.serial) else {
        return Err(DeskError::Unusable(
            "this scan identifies no unit (GTIN and serial needed)".into(),
        ));
    };
    Sgtin::new(gtin.clone(), serial).map_err(|e| DeskError::Unusable(e.to_string()))
}

impl Desk for StoreDesk {
    fn receive(
        &mut self,
        bytes: &[u8],
        source: ScanSource,
        shipment: Option<&str>,
    ) -> Result<ScanOutcome, DeskError> {
        let scan = self.parse(bytes);
        let shipment = match shipment {
            Some(reference) => self.find(reference)?,
            None => None,
        };
        let receipt = self
            .store
            .receive(&scan, shipment, self.today(), self.now())?;
        let product = receipt.assessment.product.map(|p| ProductLabel {
            name: p.name,
            strength: p.strength,
            ndc: p.ndc,
        });
        let verdict = receipt.assessment.verdict;
        Ok(ScanOutcome {
            next_step: self.next_step(&verdict),
            source,
            verdict,
            pack: pack_identity(&scan),
            product,
            errors: scan_errors(&scan),
            recorded: receipt.receipt_id.is_some(),
            held_for_data: receipt.held_for_data,
            manufacturer: None,
        })
    }

    fn shipment_for_scan(&mut self, bytes: &[u8]) -> Result<Option<ShipmentSummary>, DeskError> {
        let scan = self.parse(bytes);
        let reference = match scan.sscc() {
            Some(sscc) => sscc.as_str().to_owned(),
            None => super::printable(bytes),
        };
        match self.find(&reference)? {
            Some(id) => self.summary(id).map(Some),
            None => Ok(None),
        }
    }

    fn case_label(&mut self, bytes: &[u8]) -> Result<Option<CaseLabel>, DeskError> {
        let Some(sscc) = self.parse(bytes).sscc() else {
            return Ok(None);
        };
        let units = self.store.container_units(&sscc)?;
        Ok(units.map(|units| CaseLabel {
            sscc: sscc.as_str().to_owned(),
            packs: units.len(),
        }))
    }

    fn receive_case(
        &mut self,
        bytes: &[u8],
        shipment: Option<&str>,
    ) -> Result<Vec<ScanOutcome>, DeskError> {
        let sscc = self
            .parse(bytes)
            .sscc()
            .ok_or_else(|| DeskError::Unusable("the label carries no SSCC".into()))?;
        let shipment = match shipment {
            Some(reference) => self.find(reference)?,
            None => None,
        };
        let today = self.today();
        let received = self
            .store
            .receive_container(&sscc, shipment, today, self.now())?
            .ok_or_else(|| {
                DeskError::Unusable(format!("no aggregation data lists the packs of {sscc}"))
            })?;
        Ok(received
            .children
            .into_iter()
            .map(|(sgtin, receipt)| {
                let unit = receipt.assessment.unit.as_ref();
                let pack = PackIdentity {
                    gtin: Some(sgtin.gtin.clone()),
                    serial: Some(sgtin.serial.clone()),
                    lot: unit.and_then(|u| u.lot.clone()),
                    expiry: unit.and_then(|u| u.expiry),
                };
                let next_step = self.next_step(&receipt.assessment.verdict);
                ScanOutcome {
                    source: ScanSource::Wedge,
                    product: receipt.assessment.product.clone().map(|p| ProductLabel {
                        name: p.name,
                        strength: p.strength,
                        ndc: p.ndc,
                    }),
                    verdict: receipt.assessment.verdict.clone(),
                    pack,
                    errors: Vec::new(),
                    recorded: receipt.receipt_id.is_some(),
                    held_for_data: receipt.held_for_data,
                    manufacturer: None,
                    next_step,
                }
            })
            .collect())
    }

    fn shipment(&mut self, reference: &str) -> Result<Option<ShipmentSummary>, DeskError> {
        match self.find(reference)? {
            Some(id) => self.summary(id).map(Some),
            None => Ok(None),
        }
    }

    fn shipments(&mut self) -> Result<Vec<ShipmentSummary>, DeskError> {
        let infos = self.store.shipments()?;
        infos
            .into_iter()
            .map(|info| self.summary(info.id))
            .collect()
    }

    fn reconcile(&mut self, reference: &str) -> Result<Reconciliation, DeskError> {
        let id = self
            .find(reference)?
            .ok_or_else(|| DeskError::UnknownShipment(reference.to_owned()))?;
        let summary = self.summary(id)?;
        let reconciliation: store::Reconciliation = self.store.reconcile(id)?;
        Ok(Reconciliation {
            shipment: summary,
            lines: reconciliation.units,
            cases: Vec::new(),
        })
    }

    fn inspect(&mut self, bytes: &[u8]) -> Result<PackFile, DeskError> {
        let scan = self.parse(bytes);
        let assessment = self.store.verify(&scan, None, self.today())?;
        let pack = pack_identity(&scan);
        let (history, trace) = match sgtin_of(&pack) {
            Ok(sgtin) => {
                let mut history = self.history(&sgtin)?;
                // What the manufacturer said about it, in time order with the rest.
                for asked in self.store.unit_verifications(&sgtin)? {
                    let what = match &asked.answer {
                        Some(answer) => answer.summary(),
                        None => format!(
                            "Manufacturer asked, no answer yet ({})",
                            asked.last_error.as_deref().unwrap_or("waiting")
                        ),
                    };
                    history.push(HistoryEntry {
                        at: asked.requested_at.clone(),
                        what: format!("{what} [{}]", asked.request.context),
                    });
                }
                history.sort_by(|a, b| a.at.cmp(&b.at));
                let trace = self.store.trace(&sgtin)?;
                (
                    history,
                    trace.map(|trace| Box::new(UnitTrace { unit: sgtin, trace })),
                )
            }
            Err(_) => (Vec::new(), None),
        };
        let lot = assessment
            .unit
            .as_ref()
            .and_then(|u| u.lot.clone())
            .or_else(|| pack.lot.clone());
        let investigation = match (scan.gtin(), lot) {
            (Some(gtin), Some(lot)) => self.store.investigation(&gtin, &lot)?.map(|i| {
                let mut text = format!(
                    "Lot {} is under investigation: verify {} of the {} packs on hand with \
                         the manufacturer; {} done, {} to go",
                    i.lot,
                    i.required,
                    i.on_hand,
                    i.checked,
                    i.required.saturating_sub(i.checked)
                );
                if i.failed > 0 {
                    text.push_str(&format!(
                        "; {} FAILED: illegitimate product, export the Form 3911 record",
                        i.failed
                    ));
                }
                text
            }),
            _ => None,
        };
        Ok(PackFile {
            verdict: assessment.verdict,
            product: self.product(scan.gtin().as_ref()),
            errors: scan_errors(&scan),
            pack,
            history,
            trace,
            investigation,
        })
    }

    fn act(&mut self, pack: &PackIdentity, action: &PharmacistAction) -> Result<(), DeskError> {
        let sgtin = sgtin_of(pack)?;
        let now = self.now();
        let result = match action {
            PharmacistAction::Quarantine { reason } => self.store.record_action(
                &sgtin,
                ShelfAction::Hold(HoldKind::Quarantine),
                Some(reason),
                now,
            ),
            PharmacistAction::HoldSuspect { reason } => self.store.record_action(
                &sgtin,
                ShelfAction::Hold(HoldKind::Suspect),
                Some(reason),
                now,
            ),
            PharmacistAction::Release => {
                self.store
                    .record_action(&sgtin, ShelfAction::Release, None, now)
            }
            PharmacistAction::MarkIllegitimate { reason } => self.store.record_action(
                &sgtin,
                ShelfAction::Hold(HoldKind::Illegitimate),
                Some(reason),
                now,
            ),
            PharmacistAction::Destroy => {
                self.store
                    .record_action(&sgtin, ShelfAction::Destroy, None, now)
            }
        };
        result?;
        tracing::info!(
            "pharmacist: {} {} serial {}",
            action.label(),
            sgtin.gtin.as_str(),
            sgtin.serial
        );
        Ok(())
    }

    fn outbox(&mut self) -> Result<OutboxStatus, DeskError> {
        let status =
            Outbox::status(&mut self.store).map_err(|e| DeskError::Store(e.to_string()))?;
        let parked_error = Outbox::parked(&mut self.store, 1)
            .map_err(|e| DeskError::Store(e.to_string()))?
            .into_iter()
            .next()
            .map(|p| p.error);
        Ok(OutboxStatus {
            waiting: status.waiting,
            parked: status.parked,
            parked_error,
            last_sync: status
                .last_success
                .map(|at| at.to_rfc3339_opts(SecondsFormat::Secs, true)),
            upstream: self.raw_setting("upstream_url")?,
        })
    }

    fn settings(&mut self) -> Result<DeskSettings, DeskError> {
        let get = |key: &str| self.raw_setting(key).map(Option::unwrap_or_default);
        Ok(DeskSettings {
            site_gln: get("site_gln")?,
            upstream_url: get("upstream_url")?,
            credentials_file: get("credentials_file")?,
            scanner_profile: get("scanner_profile")?,
            camera: get(CAMERA_KEY)? == "on",
            inbox_dir: get("inbox_dir")?,
            verification_router: get(crate::router::ROUTER_KEY)?,
            verification_credentials_file: get(crate::router::CREDENTIALS_KEY)?,
            contact_email: get(crate::store::exceptions::CONTACT_KEY)?,
            exception_grace_days: get(crate::store::exceptions::GRACE_KEY)?,
            next_steps: {
                let steps = self.store.next_steps()?;
                Reason::ALL
                    .into_iter()
                    .map(|r| (r, steps.site_text(r).unwrap_or_default().to_owned()))
                    .collect()
            },
        })
    }

    fn save_settings(&mut self, settings: &DeskSettings) -> Result<(), DeskError> {
        // Every instruction is checked before anything is written, like the inbox folder below.
        for (reason, text) in &settings.next_steps {
            next_step::check_text(text)
                .map_err(|e| DeskError::Setting(format!("{}: {e}", next_step::key(*reason))))?;
        }
        // The inbox folder first: the store checks it exists, which the form cannot, and a
        // refusal then leaves every setting as it was.
        for (key, value) in [
            ("inbox_dir", &settings.inbox_dir),
            ("site_gln", &settings.site_gln),
            ("upstream_url", &settings.upstream_url),
            ("credentials_file", &settings.credentials_file),
            ("scanner_profile", &settings.scanner_profile),
            (
                crate::router::CREDENTIALS_KEY,
                &settings.verification_credentials_file,
            ),
            (crate::router::ROUTER_KEY, &settings.verification_router),
            (
                crate::store::exceptions::CONTACT_KEY,
                &settings.contact_email,
            ),
            (
                crate::store::exceptions::GRACE_KEY,
                &settings.exception_grace_days,
            ),
        ] {
            // An empty field leaves the setting as it was: the store refuses empty values.
            if !value.trim().is_empty() {
                self.store.set_setting(key, value)?;
            }
        }
        for (reason, text) in &settings.next_steps {
            self.store.set_next_step(*reason, text)?;
        }
        self.set_raw_setting(CAMERA_KEY, if settings.camera { "on" } else { "off" })
    }

    fn check_pin(&mut self, pin: &str) -> Result<PinVerdict, DeskError> {
        let now = self.pin_now();
        match pin::check(&mut self.store, pin, now) {
            Ok(()) => Ok(PinVerdict::Accepted),
            Err(PinError::NotSet) => Ok(PinVerdict::NotSet),
            Err(PinError::Wrong { wait }) => Ok(PinVerdict::Refused {
                message: "Wrong PIN.".into(),
                wait,
            }),
            Err(PinError::Locked { wait }) => Ok(PinVerdict::Refused {
                message: "Not checked: too many wrong PINs.".into(),
                wait: Some(wait),
            }),
            Err(e) => Err(DeskError::Pin(e.to_string())),
        }
    }

    fn change_pin(&mut self, current: Option<&str>, new: &str) -> Result<(), DeskError> {
        let now = self.pin_now();
        NewPin::parse(new)
            .and_then(|new| pin::change(&mut self.store, current, &new, now))
            .map_err(|e| DeskError::Pin(e.to_string()))
    }

    fn on_hand(&mut self, query: &UnitQuery) -> Result<UnitList, DeskError> {
        store_inventory::on_hand(&self.store, query, self.today())
    }

    fn expiry_watch(&mut self) -> Result<ExpiryWatch, DeskError> {
        store_inventory::expiry_watch(&self.store, self.today())
    }

    fn recalled_lots(&mut self) -> Result<Vec<RecalledLot>, DeskError> {
        store_inventory::recalled_lots(&self.store)
    }

    fn recall(&mut self, gtin: &Gtin, lot: &str) -> Result<RecallFile, DeskError> {
        store_inventory::recall(&self.store, gtin, lot)
    }

    fn quarantine_lot(&mut self, gtin: &Gtin, lot: &str, reason: &str) -> Result<u64, DeskError> {
        let now = self.now();
        store_inventory::quarantine_lot(&mut self.store, gtin, lot, reason, now)
    }

    fn search(&mut self, text: &str) -> Result<UnitList, DeskError> {
        store_inventory::search(&self.store, text)
    }

    fn reports(&mut self, days: u32) -> Result<Reports, DeskError> {
        store_inventory::reports(&self.store, self.today(), days)
    }

    fn setup_answers(&mut self) -> Result<(SiteAnswers, bool), DeskError> {
        let answers = self.store.site_answers()?;
        let pin_set = self.store.pin_record()?.hash.is_some();
        Ok((answers, pin_set))
    }

    fn apply_setup(
        &mut self,
        answers: &SiteAnswers,
        pin: Option<&str>,
    ) -> Result<SetupApplied, DeskError> {
        // Everything is checked before anything is written: a refused PIN leaves the site as
        // it was, and a PIN is never set over one in force (that needs the current PIN).
        let setup = answers
            .check()
            .map_err(|e| DeskError::Setting(e.to_string()))?;
        let pin = pin
            .map(|pin| NewPin::parse(pin).map_err(|e| DeskError::Pin(format!("PIN: {e}"))))
            .transpose()?;
        if pin.is_some() && self.store.pin_record()?.hash.is_some() {
            return Err(DeskError::Pin(
                "a pharmacist PIN is already set: change it on the settings screen".into(),
            ));
        }
        self.store.apply_site_setup(&setup)?;
        if let Some(pin) = pin {
            let now = self.pin_now();
            pin::change(&mut self.store, None, &pin, now)
                .map_err(|e| DeskError::Pin(e.to_string()))?;
        }
        Ok(SetupApplied {
            sgln: setup.sgln(),
            name: setup.name,
            scanner_profile: self.raw_setting("scanner_profile")?,
        })
    }

    fn close_shipment(&mut self, reference: &str) -> Result<Reconciliation, DeskError> {
        let id = self
            .find(reference)?
            .ok_or_else(|| DeskError::UnknownShipment(reference.to_owned()))?;
        let closed = self.store.close_shipment(id, self.now())?;
        let mut reconciliation = self.reconcile(reference)?;
        let today = self.today();
        reconciliation.cases = closed
            .cases
            .iter()
            .map(|c| self.case_line(c, today))
            .collect();
        Ok(reconciliation)
    }

    fn exceptions(&mut self) -> Result<Vec<CaseLine>, DeskError> {
        let today = self.today();
        let cases = self.store.exception_cases(CaseFilter {
            shipment: None,
            open_only: true,
        })?;
        Ok(cases.iter().map(|c| self.case_line(c, today)).collect())
    }

    fn resolve_case(&mut self, id: i64, decision: Resolution) -> Result<(), DeskError> {
        self.store.resolve_case(id, decision, None, self.now())?;
        Ok(())
    }

    fn exception_report(&mut self, reference: &str, dir: &Path) -> Result<PathBuf, DeskError> {
        let id = self
            .find(reference)?
            .ok_or_else(|| DeskError::UnknownShipment(reference.to_owned()))?;
        let report = self.store.exception_report(id, None, self.now())?;
        let path = dir.join(format!(
            "exceptions-{}.json",
            super::widgets::file_safe(reference)
        ));
        let failed = |message: String| DeskError::File {
            path: path.clone(),
            message,
        };
        let text = serde_json::to_string_pretty(&report).map_err(|e| failed(e.to_string()))?;
        std::fs::create_dir_all(dir).map_err(|e| failed(e.to_string()))?;
        std::fs::write(&path, format!("{text}\n")).map_err(|e| failed(e.to_string()))?;
        Ok(path)
    }

    fn test_connections(&mut self) -> Result<crate::desk::connection::ConnectionReport, DeskError> {
        Ok(crate::desk::connection::test_connections(&self.store))
    }

    fn verify_online(&mut self, pack: &PackIdentity, suspect: bool) -> Result<String, DeskError> {
        let router = online::configured_router(&self.store)
            .map_err(|e| DeskError::Online(e.to_string()))?
            .ok_or(DeskError::NotConfigured(
                "no verification router is set (Settings, or `tracedesk config`)",
            ))?;
        let gtin = pack
            .gtin
            .clone()
            .ok_or_else(|| DeskError::Unusable("the scan has no valid GTIN".into()))?;
        let pid = ProductIdentifier {
            gtin,
            serial: pack.serial.clone(),
            lot: pack.lot.clone(),
            expiry: pack.expiry,
        };
        let context = if suspect {
            Context::suspect()
        } else {
            Context::saleable_return()
        };
        let now = self.now();
        online::ask(&mut self.store, &router, &pid, context, now)
            .map(|answer| answer.summary())
            .map_err(|e| DeskError::Online(e.to_string()))
    }

    fn ask_manufacturer(&mut self, outcome: &ScanOutcome) -> Option<String> {
        let needed = outcome
            .verdict
            .reasons
            .iter()
            .any(|r| matches!(r, Reason::NoMatchGtinSerial | Reason::Suspect));
        if !needed || !outcome.recorded {
            return None;
        }
        let context = if outcome.verdict.reasons.contains(&Reason::Suspect) {
            Context::suspect()
        } else {
            Context::saleable_return()
        };
        let router = match online::configured_router(&self.store) {
            Ok(Some(router)) => router,
            Ok(None) => return None,
            Err(e) => return Some(format!("Manufacturer not asked: {e}")),
        };
        let pid = ProductIdentifier {
            gtin: outcome.pack.gtin.clone()?,
            serial: outcome.pack.serial.clone(),
            lot: outcome.pack.lot.clone(),
            expiry: outcome.pack.expiry,
        };
        // Questions the router could not take earlier go first, a few at a time: it may be
        // back. A router still down fails the first and skips the rest at once.
        let now = self.now();
        if let Err(e) = online::ask_queued(&mut self.store, &router, now, 5) {
            tracing::warn!("queued verification questions not asked: {e}");
        }
        Some(
            match online::ask(&mut self.store, &router, &pid, context, now) {
                Ok(answer) => answer.summary(),
                Err(e) => format!("Manufacturer not reached: {e}"),
            },
        )
    }
}

impl StoreDesk {
    fn case_line(&self, case: &ExceptionCase, today: NaiveDate) -> CaseLine {
        let product = case
            .gtin
            .as_ref()
            .and_then(|g| self.store.product(g).ok().flatten())
            .and_then(|p| p.name);
        let detail = match case.kind {
            ExceptionKind::DataMisalignment => format!(
                "pack: lot {} exp {}; data: lot {} exp {}",
                case.lot.as_deref().unwrap_or("?"),
                case.expiry.map_or("?".into(), |d| d.to_string()),
                case.data_lot.as_deref().unwrap_or("?"),
                case.data_expiry.map_or("?".into(), |d| d.to_string()),
            ),
            ExceptionKind::Overage | ExceptionKind::Shortage => format!(
                "ordered {}, received {}",
                case.quantity_ordered.unwrap_or_default(),
                case.quantity_received.unwrap_or_default()
            ),
            ExceptionKind::Damaged => case.note.clone().unwrap_or_default(),
            ExceptionKind::MissingProduct | ExceptionKind::MissingProductData => case
                .lot
                .as_deref()
                .map(|l| format!("lot {l}"))
                .unwrap_or_default(),
        };
        CaseLine {
            id: case.id,
            kind: case.kind,
            shipment: case.shipment_name.clone().map(|name| (name.clone(), name)),
            pack: PackIdentity {
                gtin: case.gtin.clone(),
                serial: case.serial.clone(),
                lot: case.lot.clone(),
                expiry: case.expiry,
            },
            product,
            detail,
            age_days: age_days(case, today),
            overdue: case.overdue(today),
            open: case.status == CaseStatus::Open,
            resolution: case.resolution,
        }
    }
}
