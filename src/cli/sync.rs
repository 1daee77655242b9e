//! `tracedesk sync [--upstream URL] [--once]`: send the outbox to an EPCIS 2.0 capture
//! interface, and pull new supplier events from its query interface into the store.
//!
//! - The upstream comes from `--upstream` or the `upstream_url` setting. Plain http is refused
//!   unless the host is loopback or `TRACEDESK_ALLOW_INSECURE_HTTP=1` says otherwise.
//! - Credentials: the file named by the `credentials_file` setting (a bearer token, or a PEM
//!   client certificate with its key), else `TRACEDESK_UPSTREAM_TOKEN`. Never printed.
//! - `--once` sends everything queued, retrying an unreachable upstream a few times, prints a
//!   summary and exits 0 when every event was sent or parked; otherwise it exits non-zero with
//!   one line, and the events stay queued.
//! - Without `--once` it runs until interrupted. Killing it at any moment (Ctrl-C, SIGTERM,
//!   even SIGKILL) loses nothing: an event leaves the outbox only after upstream confirmed it.

use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;
use std::sync::mpsc;
use std::time::Duration;

use anyhow::{Context, Result};
use chrono::Utc;

use super::config::open_store;
use crate::epcis::event::epcis_document;
use crate::store::Store;
use crate::sync::pull::{EventQuery, PullReport, pull_events};
use crate::sync::{
    Backoff, CaptureClient, Credentials, DrainOptions, Outbox, SyncStatus, SyncWorker, Upstream,
};

/// The environment switch that allows plain http to a host that is not loopback.
/// `--once`: how many times in a row an unreachable upstream is retried, and the longest wait.
const ONCE_RETRIES: u32 = 3;
const ONCE_MAX_WAIT: Duration = Duration::from_secs(60);

pub fn run(db: Option<PathBuf>, upstream: Option<String>, once: bool) -> Result<ExitCode> {
    let mut store = open_store(db)?;
    ask_queued_questions(&mut store);
    let upstream = configured_upstream(&store, upstream)?;
    let client = CaptureClient::new(upstream.clone())?;

    match pull(&client, &mut store) {
        Ok(report) if report.events > 0 => {
            eprintln!("pulled {} events from {upstream}", report.events);
        }
        Ok(_) => {}
        // Pulling is a bonus; sending is the job. A missing query interface must not stop it.
        Err(err) => eprintln!("note: no events pulled from {upstream}: {err:#}"),
    }

    if once {
        drain_once(&mut store, client, &upstream)
    } else {
        run_until_stopped(&mut store, client, &upstream)
    }
}

/// The manufacturer questions a router could not take earlier are asked again; a router that
/// is still down costs one attempt, and the queue waits for the next round.
fn ask_queued_questions(store: &mut Store) {
    let router = match crate::desk::online::configured_router(store) {
        Ok(Some(router)) => router,
        Ok(None) => return,
        Err(err) => {
            eprintln!("note: queued verification questions not asked: {err}");
            return;
        }
    };
    let now = chrono::Local::now().fixed_offset();
    match crate::desk::online::ask_queued(store, &router, now, 1000) {
        Ok(round) if round.answered + round.still_queued + round.given_up > 0 => eprintln!(
            "verification questions: {} answered, {} still queued, {} given up",
            round.answered, round.still_queued, round.given_up
        ),
        Ok(_) => {}
        Err(err) => eprintln!("note: queued verification questions not asked: {err}"),
    }
}

pub(super) fn configured_upstream(store: &Store, flag: Option<String>) -> Result<Upstream> {
    let url = match flag {
        Some(url) => url,
        None => store.setting("upstream_url")?.context(
            "no upstream: pass --upstream URL or set one with `tracedesk config upstream_url URL`",
        )?,
    };
    let upstream = if crate::net::insecure_http_allowed() {
        Upstream::allow_insecure_http(&url)?
    } else {
        Upstream::new(&url)?
    };
    let credentials = match store.setting("credentials_file")? {
        Some(path) => credentials_from_file(PathBuf::from(path))?,
        None => Credentials::bearer_from_env().unwrap_or_default(),
    };
    Ok(upstream.with_credentials(credentials))
}

/// A PEM file is a client certificate with its key; anything else is a bearer token.
fn credentials_from_file(path: PathBuf) -> Result<Credentials> {
    crate::desk::connection::credentials_from_file(&path).map_err(anyhow::Error::msg)
}

/// New supplier events into the store, page by page, from where the last pull stopped.
fn pull(client: &CaptureClient, store: &mut Store) -> Result<PullReport> {
    let report = pull_events(client, &EventQuery::default(), store, |store, events| {
        if events.is_empty() {
            return Ok(());
        }
        let document = epcis_document(events.to_vec(), Utc::now().fixed_offset()).to_string();
        let input = ("upstream query page".to_owned(), io::Cursor::new(document));
        store.import_epcis([input], Utc::now()).map(drop)
    })?;
    Ok(report)
}

fn drain_once(store: &mut Store, client: CaptureClient, upstream: &Upstream) -> Result<ExitCode> {
    let options = DrainOptions {
        backoff: Backoff {
            base: Duration::from_millis(500),
            cap: Duration::from_secs(30),
        },
        ..DrainOptions::default()
    };
    let mut worker = SyncWorker::new(&mut *store, client, options);
    let report = worker.drain_all(ONCE_RETRIES, ONCE_MAX_WAIT)?;
    let status = store.status()?;

    let mut out = io::stdout().lock();
    writeln!(
        out,
        "sent {}, parked {}, still queued {}",
        report.sent,
        report.parked.len(),
        status.waiting
    )?;
    for parked in &report.parked {
        writeln!(out, "parked {}: {}", parked.event_id, parked.error)?;
    }
    let parked_before = status.parked.saturating_sub(report.parked.len() as u64);
    if parked_before > 0 {
        writeln!(
            out,
            "{parked_before} events parked earlier are still parked"
        )?;
    }
    out.flush()?;

    match report.pause {
        None => Ok(ExitCode::SUCCESS),
        Some(pause) => anyhow::bail!(
            "{upstream}: {}; {} events remain queued",
            pause.error,
            status.waiting
        ),
    }
}

/// Runs until the process is interrupted, printing a line whenever the picture changes.
fn run_until_stopped(
    store: &mut Store,
    client: CaptureClient,
    upstream: &Upstream,
) -> Result<ExitCode> {
    eprintln!("syncing to {upstream} (Ctrl-C to stop; nothing queued is lost by stopping)");
    // Nothing sets it: the default signal disposition ends the process, which is safe here.
    let stop = AtomicBool::new(false);
    let (tx, rx) = mpsc::channel::<SyncStatus>();
    std::thread::scope(|scope| {
        scope.spawn(move || {
            let mut shown: Option<String> = None;
            for status in rx {
                let line = status_line(&status);
                if shown.as_deref() != Some(line.as_str()) {
                    println!("{line}");
                    shown = Some(line);
                }
            }
        });
        let mut worker = SyncWorker::new(&mut *store, client, DrainOptions::default());
        worker.run(&stop, &tx);
        drop(tx);
    });
    Ok(ExitCode::SUCCESS)
}

fn status_line(status: &SyncStatus) -> String {
    let mut line = format!(
        "{:?}: {} waiting, {} parked",
        status.upstream, status.outbox.waiting, status.outbox.parked
    )
    .to_lowercase();
    if let Some(at) = status.outbox.last_success {
        line.push_str(&format!(
            ", last sent {}",
            at.format("%Y-%m-%d %H:%M:%S UTC")
        ));
    }
    if let Some(error) = &status.last_error {
        line.push_str(&format!(" ({error})"));
    }
    line
}
