//! The partner inbox, watched by the kiosk: a thread of its own, with its own store connection,
//! runs [`crate::inbox::process`] on the folder the `inbox_dir` setting names, every
//! [`INBOX_POLL`], and reports each file's fate as an [`InboxEvent`] (the kiosk's status bar shows it).
//!
//! An import can take a while (a big document, the import lock held by `tracedesk import`), so
//! neither the UI thread nor the desk worker ever runs one: receiving goes on meanwhile. The
//! setting is read again on every pass, so a folder set in settings is watched from the next
//! pass without a restart; with no folder set a pass does nothing. The worker stops when its
//! [`InboxWorker`] is dropped (with the app), after the pass under way, if any.

use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use chrono::{DateTime, FixedOffset, Local, Utc};

use crate::inbox;
use crate::store::Store;

/// How often the inbox is looked at.
pub const INBOX_POLL: Duration = Duration::from_secs(10);

/// What to watch: the store whose `inbox_dir` setting names the folder, and how often.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboxWatch {
    pub db: PathBuf,
    pub every: Duration,
}

impl InboxWatch {
    /// Watch the inbox of the store at `db` every [`INBOX_POLL`].
    pub fn new(db: PathBuf) -> Self {
        Self {
            db,
            every: INBOX_POLL,
        }
    }
}

/// What became of the inbox, for the status bar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InboxEvent {
    /// A document was imported (and moved to `done/`).
    Imported {
        name: String,
        at: DateTime<FixedOffset>,
        summary: String,
    },
    /// A document was refused whole (and moved to `failed/` with the reason).
    Refused { name: String, reason: String },
    /// The inbox could not be looked at (folder gone, no permission, store unreadable).
    Unavailable { error: String },
}

/// The running watcher; dropping it stops the thread and waits for it.
#[derive(Debug)]
pub struct InboxWorker {
    stop: Option<Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for InboxWorker {
    fn drop(&mut self) {
        // The thread waits on this channel between passes: closing it wakes it to stop.
        self.stop.take();
        if let Some(thread) = self.thread.take()
            && thread.join().is_err()
        {
            tracing::error!("the inbox worker panicked");
        }
    }
}

/// Starts watching; events go to `events` (the app's own event type, made from an
/// [`InboxEvent`]), then `wake` is called (the app passes `ctx.request_repaint`). `None` when
/// the thread cannot be started (logged).
pub fn spawn<E, W>(watch: InboxWatch, events: Sender<E>, wake: W) -> Option<InboxWorker>
where
    E: From<InboxEvent> + Send + 'static,
    W: Fn() + Send + 'static,
{
    let (stop, stopped) = mpsc::channel();
    let thread = thread::Builder::new()
        .name("inbox".into())
        .spawn(move || run(&watch, &stopped, &events, &wake))
        .map_err(|e| tracing::error!("cannot start the inbox worker: {e}"))
        .ok()?;
    Some(InboxWorker {
        stop: Some(stop),
        thread: Some(thread),
    })
}

fn run<E: From<InboxEvent>>(
    watch: &InboxWatch,
    stopped: &Receiver<()>,
    events: &Sender<E>,
    wake: &dyn Fn(),
) {
    let mut store: Option<Store> = None;
    // The problem last reported, so a folder that stays missing is not reported every pass.
    let mut reported: Option<String> = None;
    loop {
        let mut sent = Vec::new();
        let opened = match store.take() {
            Some(open) => Ok(open),
            None => Store::open(&watch.db).map_err(|e| format!("cannot open the store: {e}")),
        };
        let problem = match opened {
            Ok(mut open) => {
                let result = pass(&mut open, &mut sent);
                store = Some(open);
                result.err()
            }
            // Tried again next pass: the store may be being restored or moved.
            Err(e) => Some(e),
        };
        if problem.is_none() {
            reported = None;
        } else if problem != reported {
            reported.clone_from(&problem);
            if let Some(error) = problem {
                sent.push(InboxEvent::Unavailable { error });
            }
        }
        if !sent.is_empty() {
            for event in sent {
                if events.send(E::from(event)).is_err() {
                    return;
                }
            }
            wake();
        }
        match stopped.recv_timeout(watch.every) {
            Err(RecvTimeoutError::Timeout) => {}
            Ok(()) | Err(RecvTimeoutError::Disconnected) => return,
        }
    }
}

/// One look at the inbox: the events for what it imported or refused, or why it could not look.
fn pass(store: &mut Store, sent: &mut Vec<InboxEvent>) -> Result<(), String> {
    let dir = store
        .setting("inbox_dir")
        .map_err(|e| format!("cannot read the inbox setting: {e}"))?;
    let Some(dir) = dir else {
        return Ok(());
    };
    let now = Utc::now();
    let outcomes = inbox::process(store, Path::new(&dir), now).map_err(|e| e.to_string())?;
    let at = now.with_timezone(&Local).fixed_offset();
    sent.extend(outcomes.into_iter().map(|o| match o.result {
        Ok(summary) => InboxEvent::Imported {
            name: o.name,
            at,
            summary,
        },
        Err(reason) => InboxEvent::Refused {
            name: o.name,
            reason,
        },
    }));
    Ok(())
}
