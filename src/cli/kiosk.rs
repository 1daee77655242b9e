//! `tracedesk` with no subcommand: the kiosk, full screen, on the store given by `--db` (or the
//! default one). `tracedesk --demo` fills a demo store first and opens the kiosk on it. A store
//! with no site GLN yet opens on the setup steps, except the demo store.
//!
//! Hidden environment switches for installers and documentation: `TRACEDESK_WINDOWED=1` opens a
//! normal window instead of full screen; `TRACEDESK_SCREENSHOT_DIR=DIR` makes F12 save a PNG of
//! the window into DIR; `TRACEDESK_CAMERA=/dev/videoN` picks the camera when settings switch it
//! on (default `/dev/video0`).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;
use std::sync::mpsc;

use anyhow::{Context, Result};

use crate::scanner::profile::ProfileSet;
use crate::scanner::serial::SerialConfig;
use crate::store::Store;
use crate::sync::capture::CaptureClient;
use crate::sync::worker::{DrainOptions, SyncStatus, SyncWorker, UpstreamState as SyncState};
use crate::ui::{self, Desk, KioskConfig, KioskEvent, UpstreamState, store_desk::StoreDesk};

/// The PIN a demo store starts with (printed by `--demo`).
pub const DEMO_PIN: &str = "123456";

/// Whether the kiosk opens on the setup steps: a new store does (no site GLN yet); the demo
/// store never does, it is for looking around.
fn opens_on_setup(store: &Store, demo: bool) -> Result<bool> {
    Ok(!demo && store.needs_setup()?)
}

/// Opens the kiosk on the store at `path`.
pub fn run(path: PathBuf, demo: bool) -> Result<ExitCode> {
    let mut store = Store::open(&path)?;
    let profile_name = store.setting("scanner_profile")?;
    let first_run = opens_on_setup(&store, demo)?;
    if demo && store.pin_record()?.hash.is_none() {
        let pin = ui::pin::NewPin::parse(DEMO_PIN)?;
        ui::pin::change(&mut store, None, &pin, chrono::Utc::now())?;
        println!("Pharmacist PIN for the demo: {DEMO_PIN}");
    }
    let mut desk = StoreDesk::new(store);
    let camera_on = desk.settings().map(|s| s.camera).unwrap_or_else(|e| {
        tracing::warn!("cannot read the camera setting: {e}");
        false
    });

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
    config.first_run = first_run;
    config.windowed = std::env::var_os("TRACEDESK_WINDOWED").is_some_and(|v| v == "1");
    config.screenshot_dir = std::env::var_os("TRACEDESK_SCREENSHOT_DIR").map(PathBuf::from);
    // Watched always: the setting is read on each pass, so a folder set later needs no restart.
    config.inbox = Some(ui::inbox_watch::InboxWatch::new(path.clone()));
    let mut feeds: Vec<ui::Feed> = sync_feed(&path).into_iter().collect();
    feeds.extend(verification_feed(&path));
    feeds.push(ui::backup_feed::backup_feed(
        path.clone(),
        Box::new(chrono::Utc::now),
    ));
    if camera_on {
        let device = std::env::var_os("TRACEDESK_CAMERA")
            .map_or_else(|| PathBuf::from("/dev/video0"), PathBuf::from);
        feeds.push(ui::camera_feed::camera_feed(device));
    }
    ui::run_with_feeds(desk, config, serial, feeds).context("the kiosk stopped")?;
    Ok(ExitCode::SUCCESS)
}

/// How often the kiosk asks the verification router again about the questions it could not
/// take.
const VERIFICATION_ROUND: std::time::Duration = std::time::Duration::from_secs(60);

/// When a verification router is configured: a thread that asks it again, every minute, the
/// questions it could not take (on its own store connection), so a manufacturer's late answer
/// reaches the pack's history and its exception case even when nobody scans.
fn verification_feed(path: &Path) -> Option<ui::Feed> {
    let mut store = Store::open(path).ok()?;
    let router = match crate::desk::online::configured_router(&store) {
        Ok(Some(router)) => router,
        Ok(None) => return None,
        Err(e) => {
            tracing::warn!("no verification retries: {e}");
            return None;
        }
    };
    Some(Box::new(move |_events, _ctx| {
        let spawned = std::thread::Builder::new()
            .name("verification".into())
            .spawn(move || {
                loop {
                    std::thread::sleep(VERIFICATION_ROUND);
                    router.reset();
                    let now = chrono::Local::now().fixed_offset();
                    if let Err(e) = crate::desk::online::ask_queued(&mut store, &router, now, 50) {
                        tracing::warn!("queued verification questions not asked: {e}");
                    }
                }
            });
        if let Err(e) = spawned {
            tracing::warn!("cannot start the verification retries: {e}");
        }
    }))
}

/// The sync worker as a kiosk feed, when an upstream is configured: it drains the outbox on its
/// own store connection and reports upstream's state to the status bar. Offline is normal.
fn sync_feed(path: &Path) -> Option<ui::Feed> {
    let store = Store::open(path).ok()?;
    let upstream = match super::sync::configured_upstream(&store, None) {
        Ok(upstream) => upstream,
        Err(e) => {
            tracing::info!("no sync worker: {e:#}");
            return None;
        }
    };
    let client = match CaptureClient::new(upstream) {
        Ok(client) => client,
        Err(e) => {
            tracing::warn!("no sync worker: {e}");
            return None;
        }
    };
    Some(Box::new(move |events, ctx| {
        let spawned = std::thread::Builder::new()
            .name("sync".into())
            .spawn(move || {
                let stop = AtomicBool::new(false);
                let (tx, rx) = mpsc::channel::<SyncStatus>();
                std::thread::scope(|scope| {
                    scope.spawn(move || {
                        for status in rx {
                            let state = match status.upstream {
                                SyncState::Online => UpstreamState::Online,
                                SyncState::Unknown => UpstreamState::Unknown,
                                SyncState::Offline | SyncState::Refused => UpstreamState::Offline {
                                    error: status
                                        .last_error
                                        .unwrap_or_else(|| "upstream unreachable".into()),
                                },
                            };
                            if events.send(KioskEvent::Upstream(state)).is_err() {
                                break;
                            }
                            ctx.request_repaint();
                        }
                    });
                    let mut store = store;
                    let mut worker = SyncWorker::new(&mut store, client, DrainOptions::default());
                    worker.run(&stop, &tx);
                });
            });
        if let Err(e) = spawned {
            tracing::warn!("cannot start the sync thread: {e}");
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_store_opens_on_setup_and_the_demo_never_does() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("k.db")).unwrap();
        let day = chrono::NaiveDate::from_ymd_opt(2026, 3, 10).unwrap();
        crate::store::create_demo(&mut store, day).unwrap();
        assert!(opens_on_setup(&store, false).unwrap());
        assert!(!opens_on_setup(&store, true).unwrap());
        store.set_setting("site_gln", "0614141000029").unwrap();
        assert!(!opens_on_setup(&store, false).unwrap());
    }
}
