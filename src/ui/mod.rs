//! # The kiosk: what the clerk and the pharmacist see all day
//!
//! A full-screen egui app (eframe with the glow renderer) for a receiving desk. It opens on the
//! receiving screen: every scan, from a keyboard-wedge scanner with nothing focused, a serial
//! scanner or the camera, shows one large verdict card, plays a pass or fail sound (or flashes
//! the screen where there is no audio), and counts against the shipment being received. Behind
//! a PIN, the pharmacist inspects suspect packs and records holds, releases, illegitimate
//! product and destruction; the inventory area (units on hand, expiry watch, recall
//! containment, search, reports) and settings live there too. A status bar is always visible.
//!
//! ## Threads
//!
//! The UI thread never touches SQLite, a serial port or the network. [`desk`] owns the store
//! on a worker thread and answers requests over channels; the serial scanner worker, the sync
//! worker, the backup thread and the inbox worker (each of those two with its own store
//! connection, so a backup or a partner's document never delays a receipt) send
//! [`KioskEvent`]s. In eframe 0.37 [`App::logic`](eframe::App::logic) drains
//! those channels and [`App::ui`](eframe::App::ui) draws; wedge keys are taken in
//! `raw_input_hook`, before any widget sees them ([`keyboard`]).
//!
//! ## Parts
//!
//! - [`app`]: [`KioskApp`], the eframe app and its state.
//! - [`receiving`], [`pharmacist`], [`inventory`], [`settings`], [`status`]: one screen or bar
//!   each, as `_ui` functions over plain state.
//! - [`setup`]: the steps a new store opens on (site, PIN, scanner test, connections).
//! - [`desk`]: the worker and the [`Desk`] trait the store implements ([`store_desk`], with
//!   the inventory queries in [`store_inventory`]).
//! - [`camera_feed`]: the camera worker as a [`Feed`], when settings switch it on.
//! - [`backup_feed`]: the daily backup on a thread of its own, as a [`Feed`].
//! - [`inbox_watch`]: the partner inbox, imported on a thread of its own.
//! - [`chart`]: the report charts, drawn to be read (whole-number counts, every label whole).
//! - [`keyboard`], [`pin`], [`sound`], [`investigation`], [`theme`].

pub mod app;
pub mod backup_feed;
pub mod camera_feed;
pub mod chart;
pub mod desk;
pub mod exceptions;
pub mod inbox_watch;
pub mod inventory;
pub mod investigation;
pub mod keyboard;
pub mod pharmacist;
pub mod pin;
pub mod receiving;
pub mod settings;
pub mod setup;
pub mod sound;
pub mod status;
pub mod store_desk;
pub mod store_inventory;
pub mod theme;
pub mod widgets;

use std::path::PathBuf;

pub use app::{KioskApp, KioskConfig, KioskEvent};
pub use desk::{Desk, DeskError};
pub use status::{BackupState, CameraState, UpstreamState};

use crate::scanner::serial::{self, SerialConfig};

/// Why the kiosk could not start.
#[derive(Debug, thiserror::Error)]
pub enum UiError {
    /// The window could not be created (no display, no OpenGL).
    #[error(
        "cannot open the kiosk window: {0} (is a display running? set DISPLAY or WAYLAND_DISPLAY)"
    )]
    Window(String),
}

/// Runs the kiosk full screen on `desk` until the window closes.
pub fn run<D>(desk: D, config: KioskConfig, serial: Option<SerialConfig>) -> Result<(), UiError>
where
    D: Desk + Send + 'static,
{
    run_with_feeds(desk, config, serial, Vec::new())
}

/// A background source of kiosk events (the sync worker, a camera): started once the window
/// exists, given the app's event sender and a context to wake the UI with.
pub type Feed = Box<dyn FnOnce(std::sync::mpsc::Sender<KioskEvent>, egui::Context) + Send>;

/// [`run`], with background feeds started alongside the scanner.
pub fn run_with_feeds<D>(
    desk: D,
    config: KioskConfig,
    serial: Option<SerialConfig>,
    feeds: Vec<Feed>,
) -> Result<(), UiError>
where
    D: Desk + Send + 'static,
{
    let viewport = egui::ViewportBuilder::default()
        .with_title("TraceDesk")
        .with_app_id("tracedesk")
        .with_fullscreen(!config.windowed)
        .with_decorations(config.windowed)
        .with_inner_size([1280.0, 800.0]);
    let options = eframe::NativeOptions {
        viewport,
        renderer: eframe::Renderer::Glow,
        ..eframe::NativeOptions::default()
    };
    eframe::run_native(
        "TraceDesk",
        options,
        Box::new(move |cc| {
            let app = KioskApp::new(&cc.egui_ctx, desk, config);
            for feed in feeds {
                feed(app.event_sender(), cc.egui_ctx.clone());
            }
            if let Some(serial_config) = serial {
                let events = app.event_sender();
                let ctx = cc.egui_ctx.clone();
                let (tx, rx) = std::sync::mpsc::channel();
                // The serial worker knows nothing of egui: forward its events and wake the UI.
                let handle = serial::spawn(serial_config, tx);
                std::thread::Builder::new()
                    .name("scanner-forward".into())
                    .spawn(move || {
                        let _handle = handle;
                        for event in rx {
                            if events.send(KioskEvent::Scanner(event)).is_err() {
                                break;
                            }
                            ctx.request_repaint();
                        }
                    })
                    .map_err(|e| format!("cannot start the scanner thread: {e}"))?;
            }
            Ok(Box::new(app))
        }),
    )
    .map_err(|e| UiError::Window(e.to_string()))
}

/// Scanner bytes as a person can read them: GS shown as `<GS>`, other control bytes as `\xNN`.
pub fn printable(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '\u{1d}' => out.push_str("<GS>"),
                c if c.is_control() => out.push_str(&format!("\\x{:02X}", u32::from(c))),
                c => out.push(c),
            }
        }
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02X}"));
        }
    }
    out
}

/// The default directory for exported reconciliations and investigation records.
pub fn default_export_dir() -> PathBuf {
    directories::UserDirs::new()
        .and_then(|d| d.document_dir().map(|p| p.join("TraceDesk")))
        .unwrap_or_else(|| std::env::temp_dir().join("tracedesk-exports"))
}
