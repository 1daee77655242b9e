//! Frame time of the kiosk's screens on a large store, headless through egui_kittest (the
//! whole app's `logic` and `ui`, layout and tessellation; no GPU).
//!
//! The budget is 16 ms per frame with a ten-million-unit store. The UI thread never
//! touches the store (the desk worker does), so the frame time should not depend on the store's
//! size at all; this measures it against a generated store of `TRACEDESK_BENCH_UNITS` units
//! (default 1,000,000) with 2,000 of them received, so the inventory list is a full screenful.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use chrono::{Local, NaiveDate, Utc};
use criterion::{Criterion, criterion_group, criterion_main};
use egui_kittest::Harness;
use tracedesk::gs1::{self, ParseContext};
use tracedesk::store::Store;
use tracedesk::store::synth::{SynthSpec, generate};
use tracedesk::ui::app::Screen;
use tracedesk::ui::desk::{DeskRequest, UnitQuery};
use tracedesk::ui::inventory::Tab;
use tracedesk::ui::keyboard::scanner_burst;
use tracedesk::ui::store_desk::StoreDesk;
use tracedesk::ui::{KioskApp, KioskConfig};

const RECEIVED: u64 = 2_000;

fn today() -> NaiveDate {
    Local::now().date_naive()
}

fn spec() -> SynthSpec {
    let units = std::env::var("TRACEDESK_BENCH_UNITS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    SynthSpec {
        units,
        products: 5_000.min((units / 100).max(1) as u32),
        lots: 200_000.min((units / 10).max(1) as u32),
        ..SynthSpec::default()
    }
}

fn element_string(spec: &SynthSpec, i: u64) -> Vec<u8> {
    let u = spec.unit(i, today()).expect("synthetic unit");
    format!(
        "01{}17{}10{}\x1d21{}",
        u.gtin,
        u.expiry.format("%y%m%d"),
        u.lot,
        u.serial
    )
    .into_bytes()
}

fn kiosk(path: PathBuf) -> Harness<'static, KioskApp> {
    let store = Store::open(&path).expect("open");
    let desk = StoreDesk::new(store);
    let mut config = KioskConfig::new(std::env::temp_dir());
    config.windowed = true;
    config.silent = true;
    Harness::builder()
        .with_size(egui::vec2(1920.0, 1080.0))
        .build_eframe(move |cc| KioskApp::new(&cc.egui_ctx, desk, config))
}

/// Steps until `done` holds (the desk worker answers on its own thread).
fn settle(harness: &mut Harness<'static, KioskApp>, done: impl Fn(&KioskApp) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !done(harness.state()) {
        assert!(Instant::now() < deadline, "the desk never answered");
        harness.step();
        std::thread::sleep(Duration::from_millis(2));
    }
    harness.step();
}

fn frames(c: &mut Criterion) {
    let spec = spec();
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("frame.db");
    let started = Instant::now();
    {
        let mut store = Store::open(&path).expect("open");
        generate(&mut store, &spec, today(), Utc::now(), |_| {}).expect("generate");
        // Spread over the store, so the list spans products and lots.
        let step = (spec.units / RECEIVED).max(1);
        for i in (0..spec.units)
            .step_by(step as usize)
            .take(RECEIVED as usize)
        {
            let bytes = element_string(&spec, i);
            let scan = gs1::parse(&bytes, &ParseContext::new(today()));
            store
                .receive(&scan, None, today(), Local::now().fixed_offset())
                .expect("receive");
        }
    }
    eprintln!(
        "store of {} units ({RECEIVED} received) ready in {:.1} s",
        spec.units,
        started.elapsed().as_secs_f64()
    );

    let mut harness = kiosk(path.clone());
    // A verdict card and a list of recent scans, as after a morning's receiving.
    for i in 0..8 {
        let unit = element_string(&spec, spec.units - 1 - i);
        let mut raw = egui::RawInput {
            events: scanner_burst(&unit),
            ..egui::RawInput::default()
        };
        let ctx = harness.ctx.clone();
        eframe::App::raw_input_hook(harness.state_mut(), &ctx, &mut raw);
        harness.step();
        let want = (i + 1) as usize;
        settle(&mut harness, |app| app.receiving.recent.len() >= want);
    }
    c.bench_function("ui_frame/receiving", |b| b.iter(|| harness.step()));

    // The inventory's on-hand list, a full screenful of units.
    let app = harness.state_mut();
    app.screen = Screen::Inventory;
    app.inventory.tab = Tab::OnHand;
    app.ask(DeskRequest::OnHand(UnitQuery::default()));
    settle(&mut harness, |app| app.inventory.units.is_some());
    let listed = harness
        .state()
        .inventory
        .units
        .as_ref()
        .map_or(0, |l| l.units.len());
    eprintln!("inventory lists {listed} units");
    c.bench_function("ui_frame/inventory_on_hand", |b| b.iter(|| harness.step()));
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(60).measurement_time(Duration::from_secs(8));
    targets = frames
}
criterion_main!(benches);
