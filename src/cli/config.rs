//! `tracedesk config [KEY [VALUE]]`: show or set this site's settings, and opening the store
//! for every subcommand that needs one.
//!
//! The refusal instructions (`next_step.<reason>`, [`crate::store::next_step`]) always have a
//! text in force: the listing shows each, marked `(default)` where the site set none, and
//! `config next_step.<reason> ""` goes back to the default.
//!
//! The pharmacist PIN is not a setting here: `config` says only whether one is set
//! (`kiosk_pin`), never shows its hash and takes none, since writing a hash would replace the
//! PIN without knowing it. `tracedesk pin` changes it, asking for the current one.
//!
//! Whoever runs the command line acts as the pharmacist (it quarantines, dispenses, returns
//! without a PIN): the machine's account is the pharmacist role. So every store the command
//! line opens names that account ([`cli_actor`]) as the actor of the actions it records.

use crate::store::{KNOWN_SETTINGS, Store, next_step};
use crate::verify::Reason;
use anyhow::{Context, Result, bail};
use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;

/// What `config` calls the PIN: only whether it is set.
const PIN_STATUS_KEY: &str = "kiosk_pin";
/// Where the PIN's hash is kept: never printed.
const PIN_HASH_KEY: &str = crate::store::pin::PIN_HASH_KEY;

/// Open the store at `--db` / `TRACEDESK_DB`, or the default one in the user's data directory,
/// acting as [`cli_actor`].
pub fn open_store(db: Option<PathBuf>) -> Result<Store> {
    let path = match db {
        Some(path) => path,
        None => Store::default_path()?,
    };
    let mut store = Store::open(&path)?;
    store.set_actor(&cli_actor());
    Ok(store)
}

/// Who runs the command line, as the audit trail names them: `cli:` and the account's name
/// (`USER`, else `LOGNAME`), `cli:unknown` when neither holds a plausible one.
pub fn cli_actor() -> String {
    let plausible = |name: &String| {
        (1..=64).contains(&name.chars().count())
            && !name.chars().any(|c| c.is_control() || c.is_whitespace())
    };
    let name = ["USER", "LOGNAME"]
        .into_iter()
        .filter_map(|key| std::env::var(key).ok())
        .find(plausible);
    format!("cli:{}", name.as_deref().unwrap_or("unknown"))
}

fn pin_set(store: &Store) -> Result<bool> {
    Ok(store.pin_record()?.hash.is_some())
}

pub fn run(db: Option<PathBuf>, key: Option<String>, value: Option<String>) -> Result<ExitCode> {
    let mut store = open_store(db)?;
    let mut out = io::stdout().lock();
    match (key.as_deref(), value) {
        (None, _) => {
            let settings = store.settings()?;
            for known in KNOWN_SETTINGS {
                let value = settings
                    .iter()
                    .find(|(k, _)| k == known)
                    .map(|(_, v)| v.as_str());
                writeln!(out, "{known} = {}", value.unwrap_or("(not set)"))?;
            }
            let pin = if pin_set(&store)? { "set" } else { "not set" };
            writeln!(out, "{PIN_STATUS_KEY} = {pin}")?;
            let steps = store.next_steps()?;
            for reason in Reason::ALL {
                let key = next_step::key(reason);
                match steps.site_text(reason) {
                    Some(text) => writeln!(out, "{key} = {text}")?,
                    None => writeln!(out, "{key} = {} (default)", steps.text(reason))?,
                }
            }
        }
        (Some(key), None) if next_step::is_key(key) => {
            let reason =
                next_step::reason_of_key(key).map_err(|e| anyhow::anyhow!("{key}: {e}"))?;
            writeln!(out, "{}", store.next_steps()?.text(reason))?;
        }
        (Some(PIN_STATUS_KEY), None) => {
            if !pin_set(&store)? {
                return Ok(ExitCode::FAILURE);
            }
            writeln!(out, "set")?;
        }
        (Some(PIN_HASH_KEY), None) => bail!(
            "the PIN's hash is never shown; `tracedesk config {PIN_STATUS_KEY}` says whether a \
             PIN is set"
        ),
        (Some(key), None) => {
            if !KNOWN_SETTINGS.contains(&key) {
                bail!(
                    "unknown setting \"{key}\"; known settings: {}, {PIN_STATUS_KEY}, {}<reason>",
                    KNOWN_SETTINGS.join(", "),
                    next_step::KEY_PREFIX
                );
            }
            match store.setting(key)? {
                Some(value) => writeln!(out, "{value}")?,
                // Unset is an answer scripts can test, not an error worth a message.
                None => return Ok(ExitCode::FAILURE),
            }
        }
        (Some(key), Some(value)) => {
            let stored = store
                .set_setting(key, &value)
                .with_context(|| format!("cannot set {key}"))?;
            writeln!(out, "{key} = {stored}")?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
