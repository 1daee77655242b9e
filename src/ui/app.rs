//! [`KioskApp`]: the eframe app. It owns the screens' state and the channel ends; it never
//! waits on anything.
//!
//! Per frame: `raw_input_hook` lifts wedge scans out of the input; `logic` drains the desk
//! worker's replies and the device events and routes each scan to the screen that is open;
//! `ui` draws the status bar and that screen, then sends the requests the screen made.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc::{self, Receiver, Sender};
use std::time::{Duration, Instant};

use egui::{Color32, RawInput, RichText, Ui};

use super::desk::{self, Desk, DeskHandle, DeskReply, DeskRequest, PinVerdict, ScanSource};
use super::inbox_watch::{self, InboxEvent, InboxWatch, InboxWorker};
use super::inventory::{self, Inventory, Tab};
use super::keyboard::{ProbeKeys, WedgeKeys};
use super::pharmacist::{self, Pharmacist, PinAction, PinEntry};
use super::receiving::{self, Card, Receiving};
use super::settings::{self, SettingsForm};
use super::setup::{self, SetupAction, SetupFlow};
use super::sound::Chimes;
use super::status::{self, BackupState, CameraState, SerialScanner, StatusBar, UpstreamState};
use super::theme;
use super::widgets::{big_button, capitalised};
use crate::gs1::{self, ParseContext};
use crate::scanner::ScannerEvent;
use crate::scanner::probe;
use crate::scanner::profile::{Profile, ProfileSet};
use crate::verify::Status;

/// How often the outbox counters are refreshed.
const OUTBOX_REFRESH: Duration = Duration::from_secs(5);
/// How often the expiry counts are refreshed: they change with the date and with receipts,
/// and the query reads every unit due within 90 days, so not every few seconds.
const EXPIRY_REFRESH: Duration = Duration::from_secs(300);

/// How the kiosk is set up.
#[derive(Debug, Clone)]
pub struct KioskConfig {
    /// Where `pass.wav` and `fail.wav` are.
    pub assets: PathBuf,
    /// The keyboard-wedge scanner's profile.
    pub wedge_profile: Profile,
    /// Scanner profile names offered in settings.
    pub profiles: Vec<String>,
    /// A window instead of full screen (development).
    pub windowed: bool,
    /// No sounds (tests; the flash still shows).
    pub silent: bool,
    /// Where F12 saves screenshots of the window (documentation; hidden option).
    pub screenshot_dir: Option<PathBuf>,
    /// Where the pharmacist's exports (trace, investigation record) are written.
    pub export_dir: PathBuf,
    /// The partner inbox to watch, if any ([`inbox_watch`]).
    pub inbox: Option<InboxWatch>,
    /// Open on the setup screens: the store is new (no site GLN). Never for a demo store.
    pub first_run: bool,
}

impl KioskConfig {
    /// Defaults: the `generic-hid` wedge profile, full screen, sounds from `assets`.
    pub fn new(assets: PathBuf) -> Self {
        let set = ProfileSet::builtin();
        let wedge_profile = set
            .get("generic-hid")
            .cloned()
            .or_else(|| set.iter().next().cloned())
            .unwrap_or_else(fallback_profile);
        Self {
            assets,
            profiles: set.iter().map(|p| p.name.clone()).collect(),
            wedge_profile,
            windowed: false,
            silent: false,
            screenshot_dir: None,
            export_dir: super::default_export_dir(),
            inbox: None,
            first_run: false,
        }
    }
}

fn fallback_profile() -> Profile {
    // The built-in profiles are compiled in and tested; this only guards a broken build.
    Profile::from_toml("name = \"wedge\"\nvendor = \"any\"\nsuffix = \"CR\"\naim_prefix = false\ngs_substitute = \"ctrl+]\"\n")
        .unwrap_or_else(|e| panic!("built-in wedge profile: {e}"))
}

/// What device and sync workers send the kiosk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KioskEvent {
    /// From the serial scanner worker.
    Scanner(ScannerEvent),
    /// From the camera worker: one decoded symbol.
    CameraScan(Vec<u8>),
    /// From the sync worker.
    Upstream(UpstreamState),
    /// From the camera worker: the device's state.
    Camera(CameraState),
    /// From the backup thread: the daily backups' state.
    Backup(BackupState),
    /// From the inbox worker: a partner document imported or refused.
    Inbox(InboxEvent),
}

impl From<InboxEvent> for KioskEvent {
    fn from(event: InboxEvent) -> Self {
        KioskEvent::Inbox(event)
    }
}

/// Which screen is open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Screen {
    Receiving,
    /// The PIN gate, then the screen it opens.
    Pin(Locked),
    Pharmacist,
    Inventory,
    Settings,
    /// The setup steps: a new store's first screen, or opened again from settings.
    Setup,
}

/// The screens behind the PIN.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Locked {
    Pharmacist,
    Inventory,
    Settings,
}

impl Locked {
    const ALL: [Locked; 3] = [Locked::Pharmacist, Locked::Inventory, Locked::Settings];

    fn screen(self) -> Screen {
        match self {
            Locked::Pharmacist => Screen::Pharmacist,
            Locked::Inventory => Screen::Inventory,
            Locked::Settings => Screen::Settings,
        }
    }

    fn label(self) -> &'static str {
        match self {
            Locked::Pharmacist => "Pharmacist",
            Locked::Inventory => "Inventory",
            Locked::Settings => "Settings",
        }
    }
}

/// The kiosk.
pub struct KioskApp {
    desk: DeskHandle,
    replies: Receiver<DeskReply>,
    events_tx: Sender<KioskEvent>,
    events: Receiver<KioskEvent>,
    wedge: WedgeKeys,
    /// The setup's scanner test, when it listens.
    probe_keys: ProbeKeys,
    /// Scans taken by the input hook, waiting for `logic`.
    taken: Vec<(Vec<u8>, Vec<String>, ScanSource)>,
    chimes: Chimes,
    profiles: Vec<String>,
    screenshot_dir: Option<PathBuf>,
    screenshots: usize,
    export_dir: PathBuf,
    pub screen: Screen,
    pub receiving: Receiving,
    pub pharmacist: Pharmacist,
    pub inventory: Inventory,
    pub pin: PinEntry,
    pub settings: SettingsForm,
    pub setup: SetupFlow,
    pub status: StatusBar,
    flash: Option<(Instant, Color32)>,
    last_outbox: Option<Instant>,
    last_expiry: Option<Instant>,
    sized_to_monitor: bool,
    requests: Vec<DeskRequest>,
    /// Stops the inbox worker when the app goes.
    _inbox: Option<InboxWorker>,
}

impl KioskApp {
    /// Starts the desk worker on `desk` and sets the kiosk look on `ctx`.
    pub fn new<D: Desk + Send + 'static>(
        ctx: &egui::Context,
        desk: D,
        config: KioskConfig,
    ) -> Self {
        theme::apply(ctx);
        let (reply_tx, replies) = mpsc::channel();
        let wake_ctx = ctx.clone();
        let desk = desk::spawn(desk, reply_tx, move || wake_ctx.request_repaint());
        let (events_tx, events) = mpsc::channel();
        let inbox = config.inbox.and_then(|watch| {
            let wake_ctx = ctx.clone();
            inbox_watch::spawn(watch, events_tx.clone(), move || wake_ctx.request_repaint())
        });
        let chimes = if config.silent {
            Chimes::silent()
        } else {
            Chimes::detect(&config.assets)
        };
        let status = StatusBar {
            wedge_profile: config.wedge_profile.name.clone(),
            ..StatusBar::default()
        };
        let first_run = config.first_run;
        let mut app = Self {
            desk,
            replies,
            events_tx,
            events,
            wedge: WedgeKeys::new(&config.wedge_profile),
            probe_keys: ProbeKeys::default(),
            taken: Vec::new(),
            chimes,
            profiles: config.profiles,
            screenshot_dir: config.screenshot_dir,
            screenshots: 0,
            export_dir: config.export_dir,
            screen: Screen::Receiving,
            receiving: Receiving::default(),
            pharmacist: Pharmacist::default(),
            inventory: Inventory::default(),
            pin: PinEntry::default(),
            settings: SettingsForm::default(),
            setup: SetupFlow::default(),
            status,
            flash: None,
            last_outbox: None,
            last_expiry: None,
            sized_to_monitor: config.windowed,
            requests: Vec::new(),
            _inbox: inbox,
        };
        app.desk.send(DeskRequest::Outbox);
        if first_run {
            app.open_setup(SetupFlow::first_run());
        }
        app
    }

    /// Opens the setup steps, starting from what the store holds.
    fn open_setup(&mut self, flow: SetupFlow) {
        self.setup = flow;
        self.probe_keys.reset();
        self.screen = Screen::Setup;
        self.send(DeskRequest::LoadSetup);
    }

    /// The setup was written: its scanner profile takes over the wedge at once.
    fn setup_applied(&mut self, applied: &super::desk::SetupApplied) {
        self.setup.applied();
        let profiles = crate::scanner::profile::ProfileSet::builtin();
        // A serial scanner's profile needs the serial worker, which starts with the kiosk.
        if let Some(profile) = applied
            .scanner_profile
            .as_deref()
            .and_then(|name| profiles.get(name))
            .filter(|p| p.cdc_ids().next().is_none())
        {
            self.wedge = WedgeKeys::new(profile);
            self.status.wedge_profile = profile.name.clone();
        }
        self.receiving.notice = Some(setup::done_notice(applied));
        self.screen = Screen::Receiving;
    }

    /// Where device and sync workers send their events (call `request_repaint` after).
    pub fn event_sender(&self) -> Sender<KioskEvent> {
        self.events_tx.clone()
    }

    /// Queues a request for the desk worker, as a screen would (benchmarks and tests drive the
    /// app this way); the reply arrives in a later frame.
    pub fn ask(&mut self, request: DeskRequest) {
        self.send(request);
    }

    fn send(&mut self, request: DeskRequest) {
        if !self.desk.send(request) {
            self.status.desk_down = true;
        }
    }

    /// Routes one scan to the open screen.
    fn scanned(&mut self, bytes: Vec<u8>, warnings: Vec<String>, source: ScanSource) {
        match self.screen {
            Screen::Receiving => {
                if !warnings.is_empty() {
                    self.receiving.card = Some(Card::Damaged {
                        scan: super::printable(&bytes),
                        warnings,
                    });
                    self.signal(Status::Failed);
                    return;
                }
                if let Some(sscc) = shipment_label(&bytes) {
                    // The same case label again: receive its packs (the card offered it).
                    if self
                        .receiving
                        .pending_case
                        .as_ref()
                        .is_some_and(|case| case.sscc == sscc)
                    {
                        self.receiving.pending_case = None;
                        let shipment = self
                            .receiving
                            .shipment
                            .as_ref()
                            .map(|s| s.reference.clone());
                        self.send(DeskRequest::ReceiveCase { bytes, shipment });
                    } else {
                        self.send(DeskRequest::OpenShipmentByScan { bytes });
                    }
                } else {
                    self.receiving.in_flight += 1;
                    let shipment = self
                        .receiving
                        .shipment
                        .as_ref()
                        .map(|s| s.reference.clone());
                    self.send(DeskRequest::Receive {
                        bytes,
                        source,
                        shipment,
                    });
                }
            }
            Screen::Pharmacist => {
                self.pharmacist.loading = true;
                self.pharmacist.file = None;
                self.pharmacist.confirm_destroy = false;
                self.pharmacist.scanned = Some(bytes.clone());
                self.send(DeskRequest::Inspect { bytes });
            }
            Screen::Inventory => {
                // A scanned pack at the inventory is a search for it.
                let scan = gs1::parse(
                    &bytes,
                    &ParseContext::new(chrono::Local::now().date_naive()),
                );
                let text = scan
                    .serial()
                    .map(str::to_owned)
                    .or_else(|| scan.gtin().map(|g| g.as_str().to_owned()))
                    .unwrap_or_else(|| super::printable(&bytes));
                self.inventory.tab = Tab::Search;
                self.inventory.search = text.clone();
                self.send(DeskRequest::Search { text });
            }
            Screen::Pin(_) | Screen::Settings | Screen::Setup => {
                self.status.warning =
                    Some("Scan ignored: go back to Receiving to receive packs.".into());
            }
        }
    }

    /// Sound, or a flash where nobody can hear it.
    fn signal(&mut self, status: Status) {
        let colour = if status == Status::Verified {
            theme::PASS
        } else {
            theme::FAIL
        };
        if self.chimes.audible() {
            self.chimes.play(status);
        } else {
            self.flash = Some((Instant::now(), colour));
        }
    }

    fn handle_reply(&mut self, reply: DeskReply) {
        match reply {
            DeskReply::Received(outcome) => {
                self.signal(outcome.verdict.status);
                self.receiving.answered(outcome);
                if let Some(shipment) = &self.receiving.shipment {
                    let reference = shipment.reference.clone();
                    self.send(DeskRequest::RefreshShipment { reference });
                }
                self.send(DeskRequest::Outbox);
            }
            DeskReply::ShipmentOpened {
                scan_text,
                shipment,
                case,
            } => match shipment {
                Some(shipment) => {
                    self.receiving.notice = Some(format!("Receiving {}", shipment.name));
                    self.receiving.shipment = Some(shipment);
                    self.receiving.pending_case = case;
                }
                None => {
                    self.receiving.notice =
                        Some(format!("No expected shipment has the label {scan_text}."));
                    self.signal(Status::Failed);
                }
            },
            DeskReply::CaseReceived { sscc, outcomes } => {
                let all_verified = outcomes.iter().all(|o| o.verdict.is_verified());
                self.signal(if all_verified {
                    Status::Verified
                } else {
                    Status::Failed
                });
                self.receiving.case_received(sscc, outcomes);
                if let Some(shipment) = &self.receiving.shipment {
                    let reference = shipment.reference.clone();
                    self.send(DeskRequest::RefreshShipment { reference });
                }
                self.send(DeskRequest::Outbox);
            }
            DeskReply::Shipments(list) => self.receiving.expected = Some(list),
            DeskReply::ShipmentRefreshed(shipment) => {
                if let (Some(open), Some(fresh)) = (&mut self.receiving.shipment, shipment)
                    && open.reference == fresh.reference
                {
                    *open = fresh;
                }
            }
            DeskReply::Reconciled {
                reconciliation,
                closing,
            } => {
                if closing {
                    self.receiving.closing = Some(reconciliation);
                    // The new cases belong on the pharmacist's list too.
                    self.send(DeskRequest::Exceptions);
                }
            }
            DeskReply::Inspected(file) => {
                self.pharmacist.loading = false;
                self.pharmacist.file = Some(file);
            }
            DeskReply::Acted { action } => {
                self.pharmacist.notice = Some(format!("{} — recorded.", action.label()));
                self.pharmacist.reason.clear();
                if let Some(bytes) = self.pharmacist.scanned.clone() {
                    self.send(DeskRequest::Inspect { bytes });
                }
                self.send(DeskRequest::Outbox);
            }
            DeskReply::Outbox(outbox) => self.status.outbox = Some(outbox),
            DeskReply::Settings(settings) => {
                self.settings.camera_at_start.get_or_insert(settings.camera);
                self.settings.settings = Some(settings);
            }
            DeskReply::SettingsSaved => self.settings.message = Some("Saved.".into()),
            DeskReply::PinChecked(verdict) => {
                self.pin.checking = false;
                self.pin.pin.clear();
                match verdict {
                    PinVerdict::Accepted => self.unlock(),
                    PinVerdict::Refused { message, wait } => {
                        self.pin.locked_until = wait.map(|w| Instant::now() + w);
                        self.pin.message = Some(message);
                    }
                    PinVerdict::NotSet => {
                        self.pin.setting_new = true;
                        self.pin.message = Some("No PIN is set yet: choose one now.".into());
                    }
                }
            }
            DeskReply::PinSet => {
                if self.pin.setting_new {
                    self.pin.setting_new = false;
                    self.unlock();
                } else {
                    self.settings.message = Some("Saved. The new PIN is in force.".into());
                }
            }
            DeskReply::Exported { path } => {
                let notice = format!("Saved {}", path.display());
                self.receiving.notice = Some(notice.clone());
                self.pharmacist.notice = Some(notice);
            }
            DeskReply::OnHand(list) => self.inventory.units = Some(list),
            DeskReply::ExpiryWatch(watch) => self.status.expiry = Some(watch),
            DeskReply::RecalledLots(lots) => self.inventory.lots = Some(lots),
            DeskReply::Recall(file) => self.inventory.recall = Some(file),
            DeskReply::QuarantinedLot { gtin, lot, count } => {
                self.inventory.message = Some(if count == 0 {
                    format!("Every unit of lot {lot} on hand was already quarantined.")
                } else {
                    format!("Quarantined {count} units of lot {lot} — recorded.")
                });
                self.send(DeskRequest::Recall { gtin, lot });
                self.send(DeskRequest::RecalledLots);
                self.send(DeskRequest::Outbox);
            }
            DeskReply::Found { text, units } => self.inventory.found = Some((text, units)),
            DeskReply::Reports(reports) => self.inventory.reports = Some(reports),
            DeskReply::Exceptions(cases) => self.pharmacist.cases.open = Some(cases),
            DeskReply::ConnectionsTested(report) => {
                let line = |what: &str, r: &Option<Result<String, String>>| match r {
                    None => format!("{what}: not set"),
                    Some(Ok(ok)) => format!("{what}: {ok}"),
                    Some(Err(e)) => format!("{what}: NOT reached: {e}"),
                };
                self.settings.message = Some(format!(
                    "{}\n{}",
                    line("Upstream", &report.upstream),
                    line("Verification router", &report.router)
                ));
            }
            DeskReply::CaseResolved { id } => {
                self.pharmacist.notice = Some(format!("Case #{id} resolved — recorded."));
                self.send(DeskRequest::Exceptions);
                self.send(DeskRequest::Outbox);
            }
            DeskReply::Manufacturer { pack, answer } => {
                if self.screen == Screen::Pharmacist {
                    self.pharmacist.notice = Some(answer.clone());
                    if let Some(bytes) = self.pharmacist.scanned.clone() {
                        self.send(DeskRequest::Inspect { bytes });
                    }
                }
                self.receiving.manufacturer(&pack, answer);
            }
            DeskReply::SetupLoaded { answers, pin_set } => self.setup.loaded(answers, pin_set),
            DeskReply::SetupApplied(applied) => self.setup_applied(&applied),
            DeskReply::Failed { request, error } => {
                if request == "receive" {
                    self.receiving.in_flight = self.receiving.in_flight.saturating_sub(1);
                }
                if request == "set PIN" || request == "check PIN" {
                    self.pin.checking = false;
                    self.pin.first = None;
                    self.pin.message = Some(error.to_string());
                    self.settings.message = Some(error.to_string());
                }
                if request == "inspect" {
                    self.pharmacist.loading = false;
                }
                if request == "save the setup" {
                    self.setup.saving = false;
                    self.setup.message = Some(format!("Not saved: {error}"));
                }
                if request == "save settings" {
                    self.settings.message = Some(format!("Not saved: {error}"));
                }
                if self.screen == Screen::Inventory {
                    self.inventory.message = Some(format!("Could not {request}: {error}"));
                }
                self.status.warning = Some(format!("Could not {request}: {error}"));
            }
        }
    }

    /// What a PIN submitted at the pad asks of the desk: a check, or (when no PIN is set yet
    /// and it was typed twice alike) the new PIN.
    fn pin_submitted(&mut self, pin: String) -> Option<DeskRequest> {
        self.pin.pin.clear();
        self.pin.message = None;
        if !self.pin.setting_new {
            return Some(DeskRequest::CheckPin { pin });
        }
        let Some(first) = self.pin.first.take() else {
            match super::pin::NewPin::parse(&pin) {
                Ok(_) => self.pin.first = Some(pin),
                Err(e) => self.pin.message = Some(capitalised(&e.to_string())),
            }
            return None;
        };
        match super::pin::NewPin::confirmed(&first, &pin) {
            Ok(_) => Some(DeskRequest::SetPin { current: None, pin }),
            Err(e) => {
                self.pin.message = Some(format!(
                    "{}. Choose a PIN again.",
                    capitalised(&e.to_string())
                ));
                None
            }
        }
    }

    fn unlock(&mut self) {
        self.pin = PinEntry::default();
        if let Screen::Pin(locked) = self.screen {
            self.open(locked);
        }
    }

    /// Opens a screen behind the PIN (the PIN was given) and asks for what it shows.
    fn open(&mut self, locked: Locked) {
        self.screen = locked.screen();
        match locked {
            Locked::Pharmacist => self.send(DeskRequest::Exceptions),
            Locked::Settings => self.send(DeskRequest::LoadSettings),
            Locked::Inventory => {
                self.inventory.message = None;
                for request in self.inventory.load(self.inventory.tab) {
                    self.send(request);
                }
                self.send(DeskRequest::ExpiryWatch);
            }
        }
    }

    fn handle_event(&mut self, event: KioskEvent) {
        match event {
            KioskEvent::Scanner(ScannerEvent::Scan(scan)) => {
                self.scanned(scan.bytes, Vec::new(), ScanSource::Serial)
            }
            KioskEvent::Scanner(ScannerEvent::Connected { port, profile }) => {
                self.status.serial = SerialScanner::Connected { port, profile }
            }
            KioskEvent::Scanner(ScannerEvent::Disconnected { reason }) => {
                self.status.serial = SerialScanner::Disconnected { reason }
            }
            KioskEvent::Scanner(ScannerEvent::Warning(warning)) => {
                self.status.warning = Some(warning)
            }
            KioskEvent::CameraScan(bytes) => self.scanned(bytes, Vec::new(), ScanSource::Camera),
            KioskEvent::Upstream(state) => self.status.upstream = state,
            KioskEvent::Camera(state) => self.status.camera = state,
            KioskEvent::Backup(state) => self.status.backup = Some(state),
            KioskEvent::Inbox(event) => self.status.inbox.update(event),
        }
    }

    fn navigation_ui(&mut self, ui: &mut Ui) {
        ui.horizontal(|ui| {
            ui.label(
                RichText::new("TraceDesk")
                    .font(theme::font(theme::HEADING_SIZE))
                    .strong(),
            );
            ui.add_space(theme::GAP * 2.0);
            // The setup has its own way out.
            if self.screen == Screen::Setup {
                return;
            }
            if self.screen != Screen::Receiving && big_button(ui, "Receiving").clicked() {
                self.screen = Screen::Receiving;
                self.pin = PinEntry::default();
                self.pharmacist = Pharmacist {
                    reporter: std::mem::take(&mut self.pharmacist.reporter),
                    ..Pharmacist::default()
                };
            }
            // At the PIN pad only the way back is offered.
            if matches!(self.screen, Screen::Pin(_)) {
                return;
            }
            let unlocked = self.screen != Screen::Receiving;
            for locked in Locked::ALL {
                if self.screen != locked.screen() && big_button(ui, locked.label()).clicked() {
                    if unlocked {
                        self.open(locked);
                    } else {
                        self.screen = Screen::Pin(locked);
                    }
                }
            }
        });
    }

    fn size_to_monitor(&mut self, ctx: &egui::Context) {
        if self.sized_to_monitor {
            return;
        }
        // Full screen depends on the window manager; a bare X server ignores it and leaves the
        // window at its default size, so size it to the monitor as well.
        if let Some(monitor) = ctx.input(|i| i.viewport().monitor_size) {
            ctx.send_viewport_cmd(egui::ViewportCommand::OuterPosition(egui::pos2(0.0, 0.0)));
            ctx.send_viewport_cmd(egui::ViewportCommand::InnerSize(monitor));
            self.sized_to_monitor = true;
        }
    }

    fn screenshot(&mut self, ctx: &egui::Context) {
        let Some(dir) = self.screenshot_dir.clone() else {
            return;
        };
        self.screenshots += 1;
        let name = format!(
            "{}-{}.png",
            match self.screen {
                Screen::Receiving => "receiving",
                Screen::Pin(_) => "pin",
                Screen::Pharmacist => "pharmacist",
                Screen::Inventory => match self.inventory.tab {
                    Tab::Reports => "reports",
                    _ => "inventory",
                },
                Screen::Settings => "settings",
                Screen::Setup => "setup",
            },
            self.screenshots
        );
        let path = dir.join(name);
        ctx.request_screenshot(move |image: Arc<egui::ColorImage>| {
            let [w, h] = image.size;
            let pixels: Vec<u8> = image.pixels.iter().flat_map(|c| c.to_array()).collect();
            let saved = u32::try_from(w)
                .ok()
                .zip(u32::try_from(h).ok())
                .and_then(|(w, h)| image::RgbaImage::from_raw(w, h, pixels))
                .map(|img| img.save(&path));
            match saved {
                Some(Ok(())) => tracing::info!("screenshot saved to {}", path.display()),
                Some(Err(e)) => tracing::warn!("screenshot {}: {e}", path.display()),
                None => tracing::warn!("screenshot {}: bad image size", path.display()),
            }
        });
    }
}

/// The SSCC of a scan that names a shipment or a case rather than a pack, by the desk's rule
/// ([`crate::desk::scan::container_label`]). The date only matters to a pack's expiry, which
/// a label has none of.
fn shipment_label(bytes: &[u8]) -> Option<String> {
    let parsed = gs1::parse(bytes, &ParseContext::new(chrono::Local::now().date_naive()));
    crate::desk::scan::container_label(&parsed).map(|s| s.as_str().to_owned())
}

impl eframe::App for KioskApp {
    fn raw_input_hook(&mut self, ctx: &egui::Context, raw_input: &mut RawInput) {
        let text_focus = ctx.text_edit_focused();
        let now = Instant::now();
        if self.screenshot_dir.is_some() {
            let f12 = raw_input.events.iter().any(|e| {
                matches!(
                    e,
                    egui::Event::Key {
                        key: egui::Key::F12,
                        pressed: true,
                        ..
                    }
                )
            });
            if f12 {
                raw_input.events.retain(|e| {
                    !matches!(
                        e,
                        egui::Event::Key {
                            key: egui::Key::F12,
                            ..
                        }
                    )
                });
                self.screenshot(ctx);
            }
        }
        if self.screen == Screen::Setup && self.setup.listening {
            if let Some((inputs, end)) = self.probe_keys.take(raw_input, now) {
                self.setup.probed(probe::analyse(&inputs, end));
            }
            if let Some(deadline) = self.probe_keys.next_deadline() {
                ctx.request_repaint_after(deadline.saturating_duration_since(now));
            }
            return;
        }
        for scan in self.wedge.take_scans(raw_input, text_focus, now) {
            let warnings = scan.warnings.iter().map(|w| w.to_string()).collect();
            self.taken.push((scan.bytes, warnings, ScanSource::Wedge));
        }
        if let Some(deadline) = self.wedge.next_deadline() {
            ctx.request_repaint_after(deadline.saturating_duration_since(now));
        }
    }

    fn logic(&mut self, ctx: &egui::Context, _frame: &mut eframe::Frame) {
        self.size_to_monitor(ctx);
        for (bytes, warnings, source) in std::mem::take(&mut self.taken) {
            self.scanned(bytes, warnings, source);
        }
        while let Ok(event) = self.events.try_recv() {
            self.handle_event(event);
        }
        loop {
            match self.replies.try_recv() {
                Ok(reply) => self.handle_reply(reply),
                Err(mpsc::TryRecvError::Empty) => break,
                Err(mpsc::TryRecvError::Disconnected) => {
                    self.status.desk_down = true;
                    break;
                }
            }
        }
        let now = Instant::now();
        if self
            .last_outbox
            .is_none_or(|t| now.duration_since(t) >= OUTBOX_REFRESH)
        {
            self.last_outbox = Some(now);
            self.send(DeskRequest::Outbox);
        }
        if self
            .last_expiry
            .is_none_or(|t| now.duration_since(t) >= EXPIRY_REFRESH)
        {
            self.last_expiry = Some(now);
            self.send(DeskRequest::ExpiryWatch);
        }
        ctx.request_repaint_after(OUTBOX_REFRESH);
    }

    fn ui(&mut self, ui: &mut Ui, _frame: &mut eframe::Frame) {
        let ctx = ui.ctx().clone();
        egui::Panel::bottom("status")
            .frame(
                egui::Frame::new()
                    .fill(theme::PANEL)
                    .inner_margin(theme::GAP * 0.5),
            )
            .show(ui, |ui| status::status_ui(ui, &self.status));
        egui::Panel::top("navigation")
            .frame(
                egui::Frame::new()
                    .fill(theme::BACKGROUND)
                    .inner_margin(theme::GAP * 0.5),
            )
            .show(ui, |ui| self.navigation_ui(ui));
        let mut requests = std::mem::take(&mut self.requests);
        match self.screen {
            Screen::Receiving => receiving::receiving_ui(ui, &mut self.receiving, &mut requests),
            Screen::Pin(_) => {
                // The countdown is only shown: the desk refuses to check a PIN while locked,
                // whatever this screen thinks the time is.
                let wait = self
                    .pin
                    .locked_until
                    .map(|until| until.saturating_duration_since(Instant::now()))
                    .filter(|w| !w.is_zero());
                if let Some(wait) = wait {
                    ctx.request_repaint_after(Duration::from_millis(250).min(wait));
                }
                let locked_for = wait.map(|w| w.as_secs() + 1);
                let action = egui::CentralPanel::default()
                    .show(ui, |ui| pharmacist::pin_ui(ui, &mut self.pin, locked_for))
                    .inner;
                match action {
                    Some(PinAction::Submit(pin)) if !self.pin.checking => {
                        if let Some(request) = self.pin_submitted(pin) {
                            self.pin.checking = true;
                            requests.push(request);
                        }
                    }
                    Some(PinAction::Submit(_)) => {
                        self.pin.pin.clear();
                    }
                    Some(PinAction::Cancel) => {
                        self.pin = PinEntry::default();
                        self.screen = Screen::Receiving;
                    }
                    None => {}
                }
            }
            Screen::Pharmacist => {
                let today = chrono::Local::now().date_naive();
                egui::CentralPanel::default().show(ui, |ui| {
                    pharmacist::pharmacist_ui(
                        ui,
                        &mut self.pharmacist,
                        today,
                        &self.export_dir,
                        &mut requests,
                    )
                });
            }
            Screen::Inventory => {
                let expiry = self.status.expiry.clone();
                egui::CentralPanel::default().show(ui, |ui| {
                    inventory::inventory_ui(ui, &mut self.inventory, expiry.as_ref(), &mut requests)
                });
            }
            Screen::Settings => {
                egui::CentralPanel::default().show(ui, |ui| {
                    settings::settings_ui(ui, &mut self.settings, &self.profiles, &mut requests)
                });
                if std::mem::take(&mut self.settings.open_setup) {
                    self.open_setup(SetupFlow::default());
                }
            }
            Screen::Setup => {
                let action = egui::CentralPanel::default()
                    .show(ui, |ui| {
                        egui::ScrollArea::vertical()
                            .id_salt("setup-scroll")
                            .show(ui, |ui| {
                                setup::setup_ui(ui, &mut self.setup, &self.profiles, &mut requests)
                            })
                            .inner
                    })
                    .inner;
                if action == Some(SetupAction::Leave) {
                    self.probe_keys.reset();
                    if self.setup.first_run {
                        self.screen = Screen::Receiving;
                    } else {
                        self.open(Locked::Settings);
                    }
                }
            }
        }
        for request in requests {
            self.send(request);
        }
        self.flash_ui(&ctx);
    }
}

impl KioskApp {
    /// A coloured border flash standing in for the sound.
    fn flash_ui(&mut self, ctx: &egui::Context) {
        let Some((started, colour)) = self.flash else {
            return;
        };
        let age = started.elapsed().as_secs_f32();
        if age > theme::FLASH_SECONDS {
            self.flash = None;
            return;
        }
        let alpha = 1.0 - age / theme::FLASH_SECONDS;
        let painter = ctx.layer_painter(egui::LayerId::new(
            egui::Order::Foreground,
            egui::Id::unique("flash"),
        ));
        let rect = ctx.content_rect();
        painter.rect_stroke(
            rect.shrink(12.0),
            0.0,
            egui::Stroke::new(24.0, colour.gamma_multiply(alpha)),
            egui::StrokeKind::Middle,
        );
        ctx.request_repaint();
    }
}
