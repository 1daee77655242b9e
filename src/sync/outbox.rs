//! What the sync worker needs from the durable outbox, as a small trait.
//!
//! The store writes an outbox row in the same transaction as the receipt (or hold, dispense...)
//! whose event it queues; the worker only ever reads due rows and then confirms, defers or parks
//! them. An event leaves the outbox only through [`Outbox::confirm`], which the worker calls
//! after upstream confirmed the capture. The real implementation is the [`Store`], whose
//! [`crate::store::outbox`] owns the tables and their SQL; the worker's tests use an in-memory
//! one.

use chrono::{DateTime, Utc};

use crate::store::{Store, StoreError};

pub use crate::store::outbox::{OutboxStatus, ParkedEvent, QueuedEvent};

/// Why the outbox could not be read or updated (the store's own error inside).
#[derive(Debug, thiserror::Error)]
#[error("the outbox could not be read or updated: {0}")]
pub struct OutboxError(#[from] pub StoreError);

/// The durable queue of events waiting for upstream.
pub trait Outbox {
    /// Up to `max` events that are neither parked nor deferred beyond `due_by`, in a stable
    /// order.
    fn due_batch(
        &mut self,
        due_by: DateTime<Utc>,
        max: usize,
    ) -> Result<Vec<QueuedEvent>, OutboxError>;

    /// Upstream confirmed these events: remove them from the queue, and remember `at` as the
    /// last successful sync.
    fn confirm(&mut self, event_ids: &[&str], at: DateTime<Utc>) -> Result<(), OutboxError>;

    /// A transient failure: try these events again no earlier than `next_attempt_at`.
    fn defer(
        &mut self,
        event_ids: &[&str],
        next_attempt_at: DateTime<Utc>,
    ) -> Result<(), OutboxError>;

    /// Upstream refused this event: keep it, out of the queue, with upstream's message.
    fn park(&mut self, event_id: &str, error: &str) -> Result<(), OutboxError>;

    /// Counts for the status line.
    fn status(&mut self) -> Result<OutboxStatus, OutboxError>;

    /// The parked events with their errors (at most `max`), for the UI and the CLI summary.
    fn parked(&mut self, max: usize) -> Result<Vec<ParkedEvent>, OutboxError>;
}

/// Lets the worker borrow an outbox (the store's connection, say) instead of owning it.
impl<T: Outbox + ?Sized> Outbox for &mut T {
    fn due_batch(
        &mut self,
        due_by: DateTime<Utc>,
        max: usize,
    ) -> Result<Vec<QueuedEvent>, OutboxError> {
        (**self).due_batch(due_by, max)
    }
    fn confirm(&mut self, event_ids: &[&str], at: DateTime<Utc>) -> Result<(), OutboxError> {
        (**self).confirm(event_ids, at)
    }
    fn defer(
        &mut self,
        event_ids: &[&str],
        next_attempt_at: DateTime<Utc>,
    ) -> Result<(), OutboxError> {
        (**self).defer(event_ids, next_attempt_at)
    }
    fn park(&mut self, event_id: &str, error: &str) -> Result<(), OutboxError> {
        (**self).park(event_id, error)
    }
    fn status(&mut self) -> Result<OutboxStatus, OutboxError> {
        (**self).status()
    }
    fn parked(&mut self, max: usize) -> Result<Vec<ParkedEvent>, OutboxError> {
        (**self).parked(max)
    }
}

/// The store's outbox: each call is one of its short transactions, so the worker may hold its
/// own [`Store`] handle to the kiosk's file.
impl Outbox for Store {
    fn due_batch(
        &mut self,
        due_by: DateTime<Utc>,
        max: usize,
    ) -> Result<Vec<QueuedEvent>, OutboxError> {
        Ok(self.due_events(due_by, max)?)
    }
    fn confirm(&mut self, event_ids: &[&str], at: DateTime<Utc>) -> Result<(), OutboxError> {
        Ok(self.confirm_sent(event_ids, at)?)
    }
    fn defer(
        &mut self,
        event_ids: &[&str],
        next_attempt_at: DateTime<Utc>,
    ) -> Result<(), OutboxError> {
        Ok(self.defer_events(event_ids, next_attempt_at)?)
    }
    fn park(&mut self, event_id: &str, error: &str) -> Result<(), OutboxError> {
        Ok(self.park_event(event_id, error)?)
    }
    fn status(&mut self) -> Result<OutboxStatus, OutboxError> {
        Ok(self.outbox_status()?)
    }
    fn parked(&mut self, max: usize) -> Result<Vec<ParkedEvent>, OutboxError> {
        Ok(self.parked_events(max)?)
    }
}
