//! # Sync: TraceDesk's events upstream, and supplier events down
//!
//! The adapter between the local outbox and an EPCIS 2.0 REST interface upstream:
//!
//! - [`upstream`]: the validated upstream (https unless loopback or explicitly allowed), the
//!   one [`Origin`] credentials may go to, credentials that never print, timeouts.
//! - [`capture`]: the blocking capture client (`OPTIONS`/`POST /capture`, capture jobs).
//! - [`outbox`]: the small trait the worker needs from the store's durable outbox, implemented
//!   on the [`crate::store::Store`], whose functions own the tables and every SQL statement
//!   (this module names no database).
//! - [`worker`]: drains the outbox through any outage: backoff with jitter, `Retry-After`,
//!   bisection of rejected batches, parking of refused events, status for the kiosk.
//! - [`pull`]: down-sync from the EPCIS 2.0 query interface (`GET /events`), resumable.
//! - [`retry`]: the backoff policy and `Retry-After` parsing.
//!
//! Everything here is blocking and meant for one plain background thread (never an async
//! runtime, never the UI thread). It never drops an event: an event leaves the outbox only once
//! upstream confirmed it, and credentials never reach a log line, the database or any origin but
//! the configured one. Every answer is read with a bound, whatever upstream sends.

pub mod capture;
pub mod outbox;
pub mod pull;
pub mod retry;
pub mod upstream;
pub mod worker;

pub use crate::net::{ForeignOrigin, Origin, Secret};
pub use capture::{CaptureClient, CaptureError, CaptureInterface, CaptureLimits};
pub use outbox::{Outbox, OutboxError, OutboxStatus, ParkedEvent, QueuedEvent};
pub use retry::Backoff;
pub use upstream::{Credentials, Timeouts, Upstream, UpstreamError};
pub use worker::{DrainOptions, DrainReport, Pause, SyncStatus, SyncWorker, UpstreamState};
