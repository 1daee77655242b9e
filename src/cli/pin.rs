//! `tracedesk pin [--stdin]`: set or change the pharmacist PIN.
//!
//! On a terminal it asks, without echo, for the current PIN (when one is set) and for the new
//! one twice. A setup script passes `--stdin` and writes one line per PIN instead: the current
//! PIN when one is set, then the new one. PINs are never read from a pipe without that flag,
//! so whatever happens to be piped in cannot become the PIN.
//!
//! A wrong current PIN is refused and counted as at the kiosk: both go through
//! [`crate::ui::pin::change`], one brake for both, kept in the store.

use super::config::open_store;
use crate::ui::pin::{self, NewPin};
use anyhow::{Context, Result, bail};
use std::io::{self, BufRead, IsTerminal, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

/// The most `--stdin` reads: two PINs and their line ends fit many times over.
const STDIN_LIMIT: u64 = 1024;

pub fn run(db: Option<PathBuf>, from_stdin: bool) -> Result<ExitCode> {
    let mut store = open_store(db)?;
    let is_set = store.pin_record()?.hash.is_some();
    let (current, new) = if from_stdin {
        pins_from_stdin(is_set)?
    } else if io::stdin().is_terminal() {
        pins_from_terminal(is_set)?
    } else {
        bail!(
            "`tracedesk pin` asks for PINs on a terminal; a setup script passes --stdin and \
             writes the current PIN (when one is set) and the new PIN, one per line"
        );
    };
    pin::change(&mut store, current.as_deref(), &new, chrono::Utc::now())?;
    writeln!(io::stdout(), "The pharmacist PIN is set.")?;
    Ok(ExitCode::SUCCESS)
}

fn pins_from_stdin(is_set: bool) -> Result<(Option<String>, NewPin)> {
    let mut text = String::new();
    io::stdin()
        .lock()
        .take(STDIN_LIMIT)
        .read_to_string(&mut text)
        .context("reading PINs from stdin (one per line, as text)")?;
    let lines: Vec<&str> = text.lines().map(|l| l.trim_end_matches('\r')).collect();
    match (is_set, lines.as_slice()) {
        (true, [current, new]) => Ok((Some((*current).to_owned()), NewPin::parse(new)?)),
        (false, [new]) => Ok((None, NewPin::parse(new)?)),
        (true, _) => bail!(
            "a PIN is set: stdin must hold two lines, the current PIN then the new one (it holds \
             {})",
            lines.len()
        ),
        (false, _) => bail!(
            "no PIN is set yet: stdin must hold one line, the new PIN (it holds {})",
            lines.len()
        ),
    }
}

fn pins_from_terminal(is_set: bool) -> Result<(Option<String>, NewPin)> {
    let current = if is_set {
        Some(ask_hidden("Current PIN: ")?)
    } else {
        None
    };
    let first = ask_hidden(&format!(
        "New PIN ({} to {} digits): ",
        pin::MIN_PIN_LENGTH,
        pin::MAX_PIN_LENGTH
    ))?;
    NewPin::parse(&first)?;
    let again = ask_hidden("New PIN again: ")?;
    Ok((current, NewPin::confirmed(&first, &again)?))
}

/// Puts the terminal's echo back however the read ends.
struct EchoOff {
    saved: rustix::termios::Termios,
}

impl Drop for EchoOff {
    fn drop(&mut self) {
        let restored = rustix::termios::tcsetattr(
            io::stdin(),
            rustix::termios::OptionalActions::Now,
            &self.saved,
        );
        if let Err(e) = restored {
            tracing::warn!("cannot turn the terminal's echo back on: {e}");
        }
    }
}

/// Prompts on stderr and reads one line from the terminal without showing it.
pub(super) fn ask_hidden(prompt: &str) -> Result<String> {
    use rustix::termios::{LocalModes, OptionalActions, tcgetattr, tcsetattr};
    let mut stderr = io::stderr();
    write!(stderr, "{prompt}")?;
    stderr.flush()?;
    let saved = tcgetattr(io::stdin()).context("reading the terminal's settings")?;
    let mut quiet = saved.clone();
    quiet.local_modes.remove(LocalModes::ECHO);
    // The Enter key still moves to the next line.
    quiet.local_modes.insert(LocalModes::ECHONL);
    tcsetattr(io::stdin(), OptionalActions::Now, &quiet).context("turning echo off")?;
    let _echo = EchoOff { saved };
    let mut line = String::new();
    io::stdin()
        .lock()
        .take(STDIN_LIMIT)
        .read_line(&mut line)
        .context("reading the PIN")?;
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}
