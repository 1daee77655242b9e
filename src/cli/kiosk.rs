//! `tracedesk` with no subcommand: the kiosk, full screen, on the store given by `--db` (or the
//! default one). `tracedesk --demo` fills a demo store first and opens the kiosk on it.
//!
//! Hidden environment switches for installers and documentation: `TRACEDESK_WINDOWED=1` opens a
//! normal window instead of full screen; `TRACEDESK_SCREENSHOT_DIR=DIR` makes F12 save a PNG of
//! the window into DIR.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};

use crate::scanner::profile::ProfileSet;
use crate::scanner::serial::SerialConfig;
use crate::store::Store;
use crate::ui::{self, KioskConfig, store_desk::StoreDesk};

/// The PIN a demo store starts with (printed by `--demo`).
pub const DEMO_PIN: &str = "1234";

/// Opens the kiosk on the store at `path`.
pub fn run(path: PathBuf, demo: bool) -> Result<ExitCode> {
    let store = Store::open(&path)?;
    let profile_name = store.setting("scanner_profile")?;
    let mut desk = StoreDesk::new(store);
    if demo {
        use crate::ui::Desk;
        if desk.pin_hash()?.is_none() {
            let hash = ui::pin::hash(DEMO_PIN)?;
            desk.set_pin_hash(&hash)?;
            println!("Pharmacist PIN for the demo: {DEMO_PIN}");
        }
    }

    let sounds = std::env::temp_dir().join("tracedesk-sounds");
    if let Err(e) = ui::sound::install(&sounds) {
        tracing::warn!("cannot write the sounds to {}: {e}", sounds.display());
    }
    let mut config = KioskConfig::new(sounds);
    let profiles = ProfileSet::builtin();
    let chosen = profile_name.as_deref().and_then(|name| profiles.get(name));
    // A profile with USB-CDC IDs means a serial scanner; any other is a keyboard wedge.
    let serial = chosen
        .filter(|p| p.cdc_ids().next().is_some())
        .map(|p| SerialConfig::by_usb(p.clone(), None));
    if let Some(profile) = chosen.filter(|_| serial.is_none()) {
        config.wedge_profile = profile.clone();
    }
    config.windowed = std::env::var_os("TRACEDESK_WINDOWED").is_some_and(|v| v == "1");
    config.screenshot_dir = std::env::var_os("TRACEDESK_SCREENSHOT_DIR").map(PathBuf::from);
    ui::run(desk, config, serial).context("the kiosk stopped")?;
    Ok(ExitCode::SUCCESS)
}
