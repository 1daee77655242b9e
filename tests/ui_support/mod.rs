//! The kiosk under egui_kittest, driven as a clerk and a pharmacist would, on a real store in a
//! temporary file. Shared by the `ui_*` test files.
//!
//! Scans are fed as the key events a US-layout keyboard-wedge scanner produces through
//! egui-winit (printable text, GS as the Ctrl+] key, Enter as a key), passed through the app's
//! own `raw_input_hook` as eframe does; a text "\x1D" would bypass the path a real scanner takes.

#![allow(dead_code)] // each test file uses part of it

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chrono::{Local, NaiveDate};
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use tracedesk::store::{Store, create_demo};
use tracedesk::ui::keyboard::scanner_burst;
use tracedesk::ui::store_desk::StoreDesk;
use tracedesk::ui::{Desk, KioskApp, KioskConfig};

/// The PIN the test kiosks are set up with.
pub const PIN: &str = "246813";

pub struct Kiosk {
    pub harness: Harness<'static, KioskApp>,
    pub db: PathBuf,
    /// The expiry (YYMMDD) of the demo store's saleable packs, read from the scans the demo
    /// returned, so scans typed by a test match the data whatever day it runs.
    pub expiry: String,
    /// Where the kiosk writes its exports.
    pub exports: PathBuf,
    _dir: tempfile::TempDir,
}

/// A kiosk on a demo store; `setup` may prepare the store, then the desk.
pub fn kiosk_on(prepare: impl FnOnce(&mut Store), setup: impl FnOnce(&mut StoreDesk)) -> Kiosk {
    kiosk_configured(prepare, setup, |_, _| {})
}

/// [`kiosk_on`], and `configure` may change the kiosk's configuration (given the store's path).
pub fn kiosk_configured(
    prepare: impl FnOnce(&mut Store),
    setup: impl FnOnce(&mut StoreDesk),
    configure: impl FnOnce(&mut KioskConfig, &Path),
) -> Kiosk {
    build(Local::now().date_naive(), prepare, setup, configure)
}

/// A kiosk whose desk lives on `today`, whatever the wall clock says: the demo store is made
/// for that day and the desk's day clock always answers it.
pub fn kiosk_dated(
    today: NaiveDate,
    prepare: impl FnOnce(&mut Store),
    setup: impl FnOnce(&mut StoreDesk),
) -> Kiosk {
    build(
        today,
        prepare,
        |desk| {
            // The test's day, the time of day running from noon as the test runs: moments
            // still follow one another, and the date is the one the data was built for.
            let started = std::time::Instant::now();
            let noon = today
                .and_hms_opt(12, 0, 0)
                .expect("noon exists")
                .and_utc()
                .fixed_offset();
            desk.set_clock(Box::new(move || {
                noon + chrono::TimeDelta::from_std(started.elapsed()).unwrap_or_default()
            }));
            setup(desk);
        },
        |_, _| {},
    )
}

fn build(
    today: NaiveDate,
    prepare: impl FnOnce(&mut Store),
    setup: impl FnOnce(&mut StoreDesk),
    configure: impl FnOnce(&mut KioskConfig, &Path),
) -> Kiosk {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("demo.db");
    let mut store = Store::open(&db).unwrap();
    let demo = create_demo(&mut store, today).unwrap();
    let genuine = demo
        .scans
        .iter()
        .find(|s| s.expected.is_empty())
        .expect("the demo has a genuine pack");
    let expiry = tracedesk::gs1::parse(
        genuine.scan.as_bytes(),
        &tracedesk::gs1::ParseContext::new(today),
    )
    .expiry
    .expect("the genuine demo pack has an expiry")
    .format("%y%m%d")
    .to_string();
    prepare(&mut store);
    let mut desk = StoreDesk::new(store);
    setup(&mut desk);
    let mut config = KioskConfig::new(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("assets"));
    config.windowed = true;
    config.silent = true;
    let exports = dir.path().join("exports");
    config.export_dir = exports.clone();
    configure(&mut config, &db);
    let harness = Harness::builder()
        .with_size(egui::vec2(1600.0, 1000.0))
        .build_eframe(move |cc| KioskApp::new(&cc.egui_ctx, desk, config));
    Kiosk {
        harness,
        db,
        expiry,
        exports,
        _dir: dir,
    }
}

pub fn kiosk_with(setup: impl FnOnce(&mut StoreDesk)) -> Kiosk {
    kiosk_on(|_| {}, setup)
}

pub fn kiosk() -> Kiosk {
    kiosk_with(|_| {})
}

/// Sets the test PIN on a desk.
pub fn with_pin(desk: &mut StoreDesk) {
    desk.change_pin(None, PIN).unwrap();
}

impl Kiosk {
    /// Raw key events through the app's input hook, as eframe delivers them.
    pub fn keys(&mut self, events: Vec<egui::Event>) {
        let mut raw = egui::RawInput {
            events,
            ..egui::RawInput::default()
        };
        let ctx = self.harness.ctx.clone();
        eframe::App::raw_input_hook(self.harness.state_mut(), &ctx, &mut raw);
        assert!(
            raw.events.is_empty(),
            "the hook must take every key of a scan: {:?}",
            raw.events
        );
        self.harness.step();
    }

    /// A demo pack's scan as a wedge scanner types it: (01) (17) (10) <GS> (21), with the demo's
    /// saleable expiry.
    pub fn pack(&self, gtin: &str, lot: &str, serial: &str) -> Vec<u8> {
        format!("01{gtin}17{}10{lot}\x1d21{serial}", self.expiry).into_bytes()
    }

    /// A scanner burst, through the app's input hook.
    pub fn scan(&mut self, data: &[u8]) {
        self.keys(scanner_burst(data));
    }

    /// Steps until a label containing `text` shows (the desk worker answers on its thread).
    pub fn wait_for(&mut self, text: &str) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            self.harness.step();
            if self.shows(text) {
                return;
            }
            assert!(Instant::now() < deadline, "\"{text}\" never showed");
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Scans at the receiving screen and waits for its verdict card.
    pub fn receive(&mut self, data: &[u8]) {
        let before = self.harness.state().receiving.recent.len();
        let first = self.harness.state().receiving.recent.front().cloned();
        self.scan(data);
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            self.harness.step();
            let recent = &self.harness.state().receiving.recent;
            if recent.len() > before || recent.front() != first.as_ref() {
                self.harness.step();
                return;
            }
            assert!(Instant::now() < deadline, "no verdict came back");
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    pub fn shows(&self, text: &str) -> bool {
        self.harness
            .query_all_by_label_contains(text)
            .next()
            .is_some()
    }

    pub fn click(&mut self, label: &str) {
        // A long screen (the settings) scrolls: bring the button into view first, as a person
        // would before pressing it.
        self.harness.get_by_label(label).scroll_to_me();
        // Scrolling is animated: wait until the button stands still.
        let mut rect = self.harness.get_by_label(label).rect();
        for _ in 0..60 {
            self.harness.step();
            let now = self.harness.get_by_label(label).rect();
            if now == rect {
                break;
            }
            rect = now;
        }
        self.harness.get_by_label(label).click();
        self.harness.step();
        self.harness.step();
    }

    /// Waits for `label` to show, then clicks it.
    pub fn click_when(&mut self, label: &str) {
        self.wait_for(label);
        self.click(label);
    }

    /// Types `pin` on the pad and confirms it.
    pub fn enter_pin(&mut self, pin: &str) {
        for digit in pin.chars() {
            self.click(&digit.to_string());
        }
        self.click("OK");
    }
}

pub fn store(db: &Path) -> Store {
    Store::open(db).unwrap()
}
