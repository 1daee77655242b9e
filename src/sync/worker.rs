//! The sync worker: drains the outbox to the capture interface, batch by batch, through any
//! outage.
//!
//! Guarantees, in order of importance:
//! 1. **Nothing is lost.** An event leaves the outbox only after upstream confirmed its capture
//!    ([`Outbox::confirm`] after a successful [`CaptureInterface::capture`]). A crash or `kill -9`
//!    between the two means the batch is sent again; upstream deduplicates by eventID.
//! 2. **Nothing is doubled** beyond such re-sends: the eventID is the CBV 2.0 hash of the event,
//!    the same every time it is sent.
//! 3. **One bad event does not block the rest.** A rejected batch is bisected until the events
//!    upstream refuses are isolated; each is parked with upstream's message and the rest is sent.
//! 4. **Outages are waited out politely**: capped exponential backoff with jitter, or exactly what
//!    upstream asked for in `Retry-After`.
//!
//! [`SyncWorker::run`] is the loop for the kiosk's background thread; it reports a [`SyncStatus`]
//! over a channel after every pass. [`SyncWorker::drain_once`] is one pass;
//! [`SyncWorker::drain_all`] is what `tracedesk sync --once` does.
//!
//! This module never blocks a UI thread and never decides on its own to drop an event.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Sender;
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, Utc};

use super::capture::{CaptureError, CaptureInterface, CaptureLimits, document_overhead};
use super::outbox::{Outbox, OutboxError, OutboxStatus, ParkedEvent, QueuedEvent};
use super::retry::Backoff;

/// How the worker batches and backs off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DrainOptions {
    /// Most events per capture request (upstream's `GS1-EPCIS-Capture-Limit` lowers it).
    pub max_batch: usize,
    pub backoff: Backoff,
    /// How long [`SyncWorker::run`] sleeps when the outbox is empty before looking again.
    pub idle_poll: Duration,
}

impl Default for DrainOptions {
    fn default() -> Self {
        Self {
            max_batch: 500,
            backoff: Backoff::default(),
            idle_poll: Duration::from_secs(2),
        }
    }
}

/// Why a pass stopped before the outbox was empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pause {
    pub error: CaptureError,
    /// The unsent events of the pass are deferred to this moment.
    pub retry_at: DateTime<Utc>,
}

/// What one or more passes achieved.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DrainReport {
    /// Events upstream confirmed (and which left the outbox).
    pub sent: u64,
    /// Events upstream refused in these passes, with its messages.
    pub parked: Vec<ParkedEvent>,
    /// Set when the last pass stopped on a failure; the events it could not send are queued.
    pub pause: Option<Pause>,
}

/// Upstream as the kiosk's status line shows it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum UpstreamState {
    /// Not contacted yet.
    #[default]
    Unknown,
    /// The last capture (or limits probe) succeeded.
    Online,
    /// Unreachable or busy; retrying by itself.
    Offline,
    /// Upstream refuses us (credentials, URL): retrying, but a person has to act.
    Refused,
}

/// One status report for the UI.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncStatus {
    pub upstream: UpstreamState,
    pub outbox: OutboxStatus,
    /// The first parked events with upstream's messages.
    pub parked: Vec<ParkedEvent>,
    /// The error that paused the last pass, if it paused.
    pub last_error: Option<String>,
    /// When the worker will try again after that error.
    pub next_attempt_at: Option<DateTime<Utc>>,
}

/// How many parked events a status report lists.
const PARKED_IN_STATUS: usize = 20;
/// How often [`SyncWorker::run`] looks at its stop flag while it waits.
const STOP_CHECK: Duration = Duration::from_millis(100);

/// Drains an outbox into a capture interface.
#[derive(Debug)]
pub struct SyncWorker<O, C> {
    outbox: O,
    capture: C,
    options: DrainOptions,
    /// Consecutive transient failures, for the backoff.
    failures: u32,
    upstream: UpstreamState,
}

impl<O: Outbox, C: CaptureInterface> SyncWorker<O, C> {
    pub fn new(outbox: O, capture: C, options: DrainOptions) -> Self {
        Self {
            outbox,
            capture,
            options,
            failures: 0,
            upstream: UpstreamState::Unknown,
        }
    }

    pub fn outbox_mut(&mut self) -> &mut O {
        &mut self.outbox
    }

    pub fn into_parts(self) -> (O, C) {
        (self.outbox, self.capture)
    }

    pub fn upstream_state(&self) -> UpstreamState {
        self.upstream
    }

    /// One pass: sends every event due by `due_by`, batch after batch, until the outbox has none
    /// left or a failure pauses the pass (the unsent events of the batch are then deferred).
    pub fn drain_once(&mut self, due_by: DateTime<Utc>) -> Result<DrainReport, OutboxError> {
        let mut report = DrainReport::default();
        loop {
            let batch = self
                .outbox
                .due_batch(due_by, self.options.max_batch.max(1))?;
            if batch.is_empty() {
                return Ok(report);
            }
            let limits = match self.capture.limits() {
                Ok(limits) => limits,
                Err(error) => {
                    report.pause = Some(self.pause(&batch, error)?);
                    return Ok(report);
                }
            };
            if let Some(pause) = self.send_batch(&batch, limits, &mut report)? {
                report.pause = Some(pause);
                return Ok(report);
            }
        }
    }

    /// Sends everything queued, ignoring the retry schedule, retrying transient failures up to
    /// `retries` times in a row and waiting at most `max_wait` each time (`tracedesk sync
    /// --once`). Returns with [`DrainReport::pause`] set when upstream stayed unreachable or
    /// refused us; the unsent events stay queued.
    pub fn drain_all(
        &mut self,
        retries: u32,
        max_wait: Duration,
    ) -> Result<DrainReport, OutboxError> {
        let mut total = DrainReport::default();
        let mut failed_in_a_row = 0;
        loop {
            // Everything queued is due for an explicit "send now", whatever the schedule says.
            let pass = self.drain_once(DateTime::<Utc>::MAX_UTC)?;
            total.sent += pass.sent;
            total.parked.extend(pass.parked);
            let Some(pause) = pass.pause else {
                total.pause = None;
                return Ok(total);
            };
            if pass.sent > 0 {
                failed_in_a_row = 0;
            }
            failed_in_a_row += 1;
            let wait = (pause.retry_at - Utc::now()).to_std().unwrap_or_default();
            let hopeless =
                !pause.error.is_transient() || failed_in_a_row > retries || wait > max_wait;
            if hopeless {
                total.pause = Some(pause);
                return Ok(total);
            }
            tracing::info!(error = %pause.error, ?wait, "upstream failed; retrying");
            std::thread::sleep(wait);
        }
    }

    /// The kiosk's background loop: drains whatever is due, reports a [`SyncStatus`] after every
    /// pass, waits (for the backoff, or `idle_poll` when there is nothing to do), and returns
    /// when `stop` is set or the status receiver is gone. Storage errors are reported and
    /// retried, never fatal: the kiosk must keep its queue.
    pub fn run(&mut self, stop: &AtomicBool, status: &Sender<SyncStatus>) {
        while !stop.load(Ordering::Relaxed) {
            let (next, error) = match self.drain_once(Utc::now()) {
                Ok(report) => match report.pause {
                    Some(pause) => (Some(pause.retry_at), Some(pause.error.to_string())),
                    None => (None, None),
                },
                Err(err) => {
                    tracing::warn!(error = %err, "sync pass failed");
                    self.failures = self.failures.saturating_add(1);
                    let delay = self.options.backoff.delay(self.failures, &mut rand::rng());
                    (Some(Utc::now() + delta(delay)), Some(err.to_string()))
                }
            };
            let report = self.status(error, next);
            if status.send(report).is_err() {
                return;
            }
            let wait = next.map_or(self.options.idle_poll, |at| {
                (at - Utc::now()).to_std().unwrap_or_default()
            });
            sleep_unless_stopped(wait, stop);
        }
    }

    /// The status as the UI shows it (storage errors become the `last_error`).
    pub fn status(
        &mut self,
        last_error: Option<String>,
        next_attempt_at: Option<DateTime<Utc>>,
    ) -> SyncStatus {
        let counts = self.outbox.status();
        let parked = self.outbox.parked(PARKED_IN_STATUS);
        let storage_error = counts
            .as_ref()
            .err()
            .or(parked.as_ref().err())
            .map(ToString::to_string);
        SyncStatus {
            upstream: self.upstream,
            outbox: counts.unwrap_or_default(),
            parked: parked.unwrap_or_default(),
            last_error: last_error.or(storage_error),
            next_attempt_at,
        }
    }

    /// Sends one batch, split to upstream's limits and bisected around rejected events.
    /// Returns the pause when a transient or configuration failure stopped it.
    fn send_batch(
        &mut self,
        batch: &[QueuedEvent],
        limits: CaptureLimits,
        report: &mut DrainReport,
    ) -> Result<Option<Pause>, OutboxError> {
        // A stack of chunks still to send, the next one on top, so that bisection sends the
        // halves in order and the unsent remainder is always "this chunk and the stack".
        let mut pending: Vec<&[QueuedEvent]> =
            chunks_within(batch, limits).into_iter().rev().collect();
        while let Some(chunk) = pending.pop() {
            match self.capture.capture(chunk) {
                Ok(()) => {
                    let ids: Vec<&str> = chunk.iter().map(|e| e.event_id.as_str()).collect();
                    self.outbox.confirm(&ids, Utc::now())?;
                    report.sent += ids.len() as u64;
                    self.failures = 0;
                    self.upstream = UpstreamState::Online;
                }
                Err(CaptureError::Rejected { message, .. }) => {
                    self.upstream = UpstreamState::Online;
                    match chunk {
                        [single] => {
                            tracing::warn!(event_id = %single.event_id, %message, "upstream refused an event; parked");
                            self.outbox.park(&single.event_id, &message)?;
                            report.parked.push(ParkedEvent {
                                event_id: single.event_id.clone(),
                                error: message,
                            });
                        }
                        _ => {
                            let (first, second) = chunk.split_at(chunk.len() / 2);
                            pending.push(second);
                            pending.push(first);
                        }
                    }
                }
                Err(error) => {
                    let unsent: Vec<QueuedEvent> = std::iter::once(chunk)
                        .chain(pending.iter().rev().copied())
                        .flatten()
                        .cloned()
                        .collect();
                    return self.pause(&unsent, error).map(Some);
                }
            }
        }
        Ok(None)
    }

    /// Defers `unsent` after `error` and says until when.
    fn pause(&mut self, unsent: &[QueuedEvent], error: CaptureError) -> Result<Pause, OutboxError> {
        self.failures = self.failures.saturating_add(1);
        self.upstream = if error.is_transient() {
            UpstreamState::Offline
        } else {
            UpstreamState::Refused
        };
        let delay =
            self.options
                .backoff
                .next_delay(self.failures, error.retry_after(), &mut rand::rng());
        let retry_at = Utc::now() + delta(delay);
        let ids: Vec<&str> = unsent.iter().map(|e| e.event_id.as_str()).collect();
        self.outbox.defer(&ids, retry_at)?;
        tracing::info!(%error, events = ids.len(), %retry_at, "sync paused");
        Ok(Pause { error, retry_at })
    }
}

/// Splits a batch into runs that fit upstream's per-request event and byte limits. An event
/// larger than the byte limit travels alone (upstream will then reject it, and it is parked).
fn chunks_within(batch: &[QueuedEvent], limits: CaptureLimits) -> Vec<&[QueuedEvent]> {
    let max_events = limits.max_events.unwrap_or(usize::MAX).max(1);
    let max_bytes = limits.max_bytes.unwrap_or(usize::MAX);
    let mut chunks = Vec::new();
    let mut rest = batch;
    while !rest.is_empty() {
        let mut bytes = document_overhead();
        let mut take = 0;
        for event in rest.iter().take(max_events) {
            let size = event.json.len() + 1;
            if take > 0 && bytes + size > max_bytes {
                break;
            }
            bytes += size;
            take += 1;
        }
        let (chunk, tail) = rest.split_at(take.max(1).min(rest.len()));
        chunks.push(chunk);
        rest = tail;
    }
    chunks
}

fn delta(duration: Duration) -> TimeDelta {
    TimeDelta::from_std(duration).unwrap_or(TimeDelta::MAX)
}

fn sleep_unless_stopped(wait: Duration, stop: &AtomicBool) {
    let until = Instant::now() + wait;
    while !stop.load(Ordering::Relaxed) {
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return;
        }
        std::thread::sleep(left.min(STOP_CHECK));
    }
}

/// Runs `worker` until `stop` is set: the body of the kiosk's sync thread.
pub fn run<O: Outbox, C: CaptureInterface>(
    outbox: O,
    capture: C,
    options: DrainOptions,
    stop: &AtomicBool,
    status: &Sender<SyncStatus>,
) {
    SyncWorker::new(outbox, capture, options).run(stop, status);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{BTreeMap, BTreeSet};

    /// An in-memory outbox: event id -> (json, next attempt, parked error).
    #[derive(Default)]
    struct MemoryOutbox {
        rows: BTreeMap<String, (String, DateTime<Utc>, Option<String>)>,
        last_success: Option<DateTime<Utc>>,
    }

    impl MemoryOutbox {
        fn with(ids: &[&str]) -> Self {
            let mut outbox = Self::default();
            for id in ids {
                outbox.rows.insert(
                    (*id).to_owned(),
                    (
                        format!("{{\"eventID\":\"{id}\"}}"),
                        DateTime::<Utc>::MIN_UTC,
                        None,
                    ),
                );
            }
            outbox
        }
    }

    impl Outbox for MemoryOutbox {
        fn due_batch(
            &mut self,
            due_by: DateTime<Utc>,
            max: usize,
        ) -> Result<Vec<QueuedEvent>, OutboxError> {
            Ok(self
                .rows
                .iter()
                .filter(|(_, (_, next, parked))| parked.is_none() && *next <= due_by)
                .take(max)
                .map(|(id, (json, _, _))| QueuedEvent {
                    event_id: id.clone(),
                    json: json.clone(),
                })
                .collect())
        }
        fn confirm(&mut self, ids: &[&str], at: DateTime<Utc>) -> Result<(), OutboxError> {
            for id in ids {
                self.rows.remove(*id);
            }
            self.last_success = Some(at);
            Ok(())
        }
        fn defer(&mut self, ids: &[&str], next: DateTime<Utc>) -> Result<(), OutboxError> {
            for id in ids {
                if let Some(row) = self.rows.get_mut(*id) {
                    row.1 = next;
                }
            }
            Ok(())
        }
        fn park(&mut self, id: &str, error: &str) -> Result<(), OutboxError> {
            if let Some(row) = self.rows.get_mut(id) {
                row.2 = Some(error.to_owned());
            }
            Ok(())
        }
        fn status(&mut self) -> Result<OutboxStatus, OutboxError> {
            let parked = self.rows.values().filter(|r| r.2.is_some()).count() as u64;
            Ok(OutboxStatus {
                waiting: self.rows.len() as u64 - parked,
                parked,
                last_success: self.last_success,
            })
        }
        fn parked(&mut self, max: usize) -> Result<Vec<ParkedEvent>, OutboxError> {
            Ok(self
                .rows
                .iter()
                .filter_map(|(id, r)| {
                    r.2.clone().map(|error| ParkedEvent {
                        event_id: id.clone(),
                        error,
                    })
                })
                .take(max)
                .collect())
        }
    }

    /// A capture interface that refuses documents holding a bad event and fails on a script.
    #[derive(Default)]
    struct ScriptedUpstream {
        limits: CaptureLimits,
        bad: BTreeSet<String>,
        failures: Vec<CaptureError>,
        captured: Vec<String>,
        requests: usize,
    }

    impl CaptureInterface for ScriptedUpstream {
        fn limits(&mut self) -> Result<CaptureLimits, CaptureError> {
            Ok(self.limits)
        }
        fn capture(&mut self, events: &[QueuedEvent]) -> Result<(), CaptureError> {
            self.requests += 1;
            if let Some(error) = self.failures.pop() {
                return Err(error);
            }
            if let Some(bad) = events.iter().find(|e| self.bad.contains(&e.event_id)) {
                return Err(CaptureError::Rejected {
                    status: 400,
                    message: format!("bad {}", bad.event_id),
                });
            }
            self.captured
                .extend(events.iter().map(|e| e.event_id.clone()));
            Ok(())
        }
    }

    fn ids(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("e{i:03}")).collect()
    }

    #[test]
    fn bisection_parks_exactly_the_bad_events_and_sends_the_rest_once() {
        let all = ids(37);
        let refs: Vec<&str> = all.iter().map(String::as_str).collect();
        let upstream = ScriptedUpstream {
            bad: ["e005", "e030"].into_iter().map(String::from).collect(),
            ..Default::default()
        };
        let mut worker =
            SyncWorker::new(MemoryOutbox::with(&refs), upstream, DrainOptions::default());
        let report = worker.drain_once(Utc::now()).unwrap();
        assert_eq!(report.sent, 35);
        assert_eq!(report.pause, None);
        let parked: Vec<&str> = report.parked.iter().map(|p| p.event_id.as_str()).collect();
        assert_eq!(parked, ["e005", "e030"]);
        assert_eq!(report.parked[0].error, "bad e005");
        let (mut outbox, upstream) = worker.into_parts();
        let captured: BTreeSet<&String> = upstream.captured.iter().collect();
        assert_eq!(
            captured.len(),
            upstream.captured.len(),
            "an event was captured twice"
        );
        assert_eq!(captured.len(), 35);
        assert!(
            upstream.requests < 37,
            "bisection should not send events one by one"
        );
        assert_eq!(
            outbox.status().unwrap(),
            OutboxStatus {
                waiting: 0,
                parked: 2,
                last_success: outbox.last_success
            }
        );
    }

    #[test]
    fn a_transient_failure_defers_the_unsent_rest_and_keeps_it() {
        let all = ids(10);
        let refs: Vec<&str> = all.iter().map(String::as_str).collect();
        let upstream = ScriptedUpstream {
            limits: CaptureLimits {
                max_events: Some(4),
                max_bytes: None,
            },
            // Popped from the end: first a 503 with Retry-After, then a refused connection.
            failures: vec![
                CaptureError::Unreachable {
                    reason: "connection refused".into(),
                },
                CaptureError::Busy {
                    status: 503,
                    retry_after: Some(Duration::from_secs(30)),
                    message: "down".into(),
                },
            ],
            ..Default::default()
        };
        let options = DrainOptions {
            backoff: Backoff {
                base: Duration::from_millis(10),
                cap: Duration::from_millis(50),
            },
            ..Default::default()
        };
        let mut worker = SyncWorker::new(MemoryOutbox::with(&refs), upstream, options);
        let before = Utc::now();
        let report = worker.drain_once(Utc::now()).unwrap();
        let pause = report.pause.expect("the pass must pause");
        assert_eq!(report.sent, 0);
        assert!(
            pause.retry_at >= before + TimeDelta::seconds(29),
            "Retry-After ignored"
        );
        assert_eq!(worker.upstream_state(), UpstreamState::Offline);
        // Everything is still queued, and nothing is due before the retry time.
        assert_eq!(worker.outbox_mut().status().unwrap().waiting, 10);
        assert!(
            worker
                .outbox_mut()
                .due_batch(Utc::now(), 100)
                .unwrap()
                .is_empty()
        );
        // Sending everything now gets past the second (unreachable) failure.
        let report = worker.drain_all(3, Duration::from_secs(5)).unwrap();
        assert_eq!(report.pause, None);
        assert_eq!(report.sent, 10);
        let (_, upstream) = worker.into_parts();
        assert_eq!(upstream.captured, ids(10));
    }

    #[test]
    fn a_refusal_pauses_without_parking_anything() {
        let upstream = ScriptedUpstream {
            failures: vec![CaptureError::Refused {
                status: 401,
                message: "who are you".into(),
            }],
            ..Default::default()
        };
        let mut worker = SyncWorker::new(
            MemoryOutbox::with(&["a", "b"]),
            upstream,
            DrainOptions::default(),
        );
        let report = worker.drain_all(5, Duration::from_secs(5)).unwrap();
        assert!(matches!(
            report.pause,
            Some(Pause {
                error: CaptureError::Refused { status: 401, .. },
                ..
            })
        ));
        assert!(report.parked.is_empty());
        assert_eq!(worker.upstream_state(), UpstreamState::Refused);
        assert_eq!(worker.outbox_mut().status().unwrap().waiting, 2);
    }

    #[test]
    fn batches_respect_event_and_byte_limits() {
        let events: Vec<QueuedEvent> = (0..10)
            .map(|i| QueuedEvent {
                event_id: i.to_string(),
                json: "x".repeat(99),
            })
            .collect();
        let sizes = |limits| {
            chunks_within(&events, limits)
                .iter()
                .map(|c| c.len())
                .collect::<Vec<_>>()
        };
        assert_eq!(
            sizes(CaptureLimits {
                max_events: Some(4),
                max_bytes: None
            }),
            [4, 4, 2]
        );
        let bytes = document_overhead() + 300;
        assert_eq!(
            sizes(CaptureLimits {
                max_events: None,
                max_bytes: Some(bytes)
            }),
            [3, 3, 3, 1]
        );
        // An event bigger than the limit still goes, alone.
        assert_eq!(
            sizes(CaptureLimits {
                max_events: None,
                max_bytes: Some(10)
            }),
            [1; 10]
        );
    }

    #[test]
    fn run_reports_status_and_stops() {
        let upstream = ScriptedUpstream::default();
        let stop = AtomicBool::new(false);
        let (tx, rx) = std::sync::mpsc::channel();
        let mut worker = SyncWorker::new(
            MemoryOutbox::with(&["a", "b", "c"]),
            upstream,
            DrainOptions {
                idle_poll: Duration::from_millis(10),
                ..Default::default()
            },
        );
        std::thread::scope(|scope| {
            scope.spawn(|| worker.run(&stop, &tx));
            let first = rx.recv_timeout(Duration::from_secs(5)).unwrap();
            assert_eq!(first.upstream, UpstreamState::Online);
            assert_eq!(first.outbox.waiting, 0);
            assert!(first.outbox.last_success.is_some());
            stop.store(true, Ordering::Relaxed);
        });
        assert_eq!(worker.into_parts().1.captured, ["a", "b", "c"]);
    }
}
