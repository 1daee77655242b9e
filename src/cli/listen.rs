//! `tracedesk listen`: the headless scanner loop for kiosks driven by other software, and for
//! tests. A serial scanner worker reads the device (reopening it by itself when it is unplugged
//! and plugged back); each scan, repaired by the profile's keyboard-wedge normalisation, goes
//! through exactly the same path as `verify` (or `receive` with `--receive`), one line per scan.
//! Device status goes to stderr, so stdout stays one verdict per line.

use super::input::ScanInput;
use crate::scanner::ScannerEvent;
use crate::scanner::profile::{Profile, ProfileSet};
use crate::scanner::serial::{self, SerialConfig};
use anyhow::{Context, Result, bail};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::mpsc;

pub fn run(
    db: Option<PathBuf>,
    port: Option<PathBuf>,
    profile_name: Option<String>,
    receive: bool,
    json: bool,
) -> Result<ExitCode> {
    let profiles = ProfileSet::load(None).context("loading scanner profiles")?;
    let profile = pick_profile(&profiles, profile_name.as_deref(), port.is_some())?;
    let config = match port {
        Some(path) => SerialConfig::by_path(path, profile.clone()),
        None => SerialConfig::by_usb(profile.clone(), None),
    };
    let (events_tx, events_rx) = mpsc::channel();
    let (scans_tx, scans_rx) = mpsc::channel();
    let _scanner = serial::spawn(config, events_tx);
    // Forward scans; report the device's state on stderr. Ends when the worker stops.
    std::thread::spawn(move || {
        for event in events_rx {
            match event {
                ScannerEvent::Scan(scan) => {
                    if scans_tx.send(scan.bytes).is_err() {
                        break;
                    }
                }
                ScannerEvent::Connected { port, profile } => {
                    eprintln!("scanner connected on {port} (profile {profile})");
                }
                ScannerEvent::Disconnected { reason } => {
                    eprintln!("scanner disconnected: {reason}; waiting for it to come back");
                }
                ScannerEvent::Warning(message) => eprintln!("scanner: {message}"),
            }
        }
    });
    let input = ScanInput::Channel(scans_rx);
    if receive {
        super::receive::run(db, input, None, json)
    } else {
        super::verify::run(db, input, json, None)
    }
}

fn pick_profile(profiles: &ProfileSet, name: Option<&str>, have_port: bool) -> Result<Profile> {
    match name {
        Some(name) => profiles.get(name).cloned().with_context(|| {
            let known: Vec<&str> = profiles.iter().map(|p| p.name.as_str()).collect();
            format!(
                "no scanner profile \"{name}\" (known: {})",
                known.join(", ")
            )
        }),
        None if have_port => profiles
            .get("generic-cdc")
            .cloned()
            .context("the built-in generic-cdc profile is missing"),
        None => bail!("give --port PATH or --profile NAME"),
    }
}
