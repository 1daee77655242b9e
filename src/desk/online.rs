//! Online verification: the manufacturer's answer beside the local verdict.
//!
//! The local verdict always stands on its own; the manufacturer's answer is added when the
//! router gives one in time. A question the router could not take (down, hung, busy) is kept
//! in the store's queue and asked again by [`ask_queued`] (the sync worker's round, `tracedesk
//! sync`), and its answer then lands in the pack's history and on its open exception cases.

use crate::router::{
    CREDENTIALS_KEY, ROUTER_KEY, RouterCredential, RouterError, VerificationRouter,
};
use crate::store::{Store, StoreError};
use crate::verify::ProductIdentifier;
use crate::verify::lms::{self, Answer, Context};
use chrono::{DateTime, FixedOffset};
use std::path::Path;

/// Why the manufacturer could not be asked, or did not answer.
#[derive(Debug, thiserror::Error)]
pub enum OnlineError {
    #[error("no verification router is set (tracedesk config verification_router URL)")]
    NoRouter,
    #[error("no site GLN is set (tracedesk config site_gln GLN): the router needs the requestor")]
    NoSiteGln,
    #[error("the manufacturer needs GTIN, serial, lot and expiry; this scan has no {0}")]
    Incomplete(&'static str),
    #[error("{error}; the question is queued and will be asked again")]
    Queued { error: RouterError },
    #[error(transparent)]
    Router(#[from] RouterError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The router the store's settings name, with its credential; `None` when none is set.
pub fn configured_router(store: &Store) -> Result<Option<VerificationRouter>, OnlineError> {
    let Some(url) = store.setting(ROUTER_KEY)? else {
        return Ok(None);
    };
    let credential = store
        .setting(CREDENTIALS_KEY)?
        .map(|path| RouterCredential::from_file(Path::new(&path)))
        .transpose()?;
    Ok(Some(VerificationRouter::new(&url, credential)?))
}

/// Builds the question for one pack.
pub fn request_for(
    store: &Store,
    pid: &ProductIdentifier,
    context: Context,
) -> Result<lms::Request, OnlineError> {
    let requestor = store.site_gln()?.ok_or(OnlineError::NoSiteGln)?;
    Ok(lms::Request {
        gtin: pid.gtin.clone(),
        serial: pid
            .serial
            .clone()
            .ok_or(OnlineError::Incomplete("serial"))?,
        lot: pid.lot.clone().ok_or(OnlineError::Incomplete("lot"))?,
        expiry: pid.expiry.ok_or(OnlineError::Incomplete("expiry"))?,
        context,
        requestor,
        corr_uuid: uuid::Uuid::new_v4().to_string(),
    })
}

/// Asks the manufacturer about one pack and records the question: answered, or queued when the
/// router failed in a way worth retrying.
pub fn ask(
    store: &mut Store,
    router: &VerificationRouter,
    pid: &ProductIdentifier,
    context: Context,
    now: DateTime<FixedOffset>,
) -> Result<Answer, OnlineError> {
    let request = request_for(store, pid, context)?;
    match router.ask(&request) {
        Ok(answer) => {
            store.record_verification(&request, Ok(&answer), now)?;
            tracing::info!(
                gtin = request.gtin.as_str(),
                verified = answer.verified,
                "manufacturer answered"
            );
            Ok(answer)
        }
        Err(error) if error.is_transient() => {
            store.record_verification(&request, Err(&error.to_string()), now)?;
            tracing::warn!(%error, "verification router failed; question queued");
            Err(OnlineError::Queued { error })
        }
        Err(error) => Err(error.into()),
    }
}

/// What a round over the queue did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QueueRound {
    pub answered: usize,
    pub still_queued: usize,
    pub given_up: usize,
}

/// Asks the queued questions that are due again (at most `limit`), stopping at the first
/// failure (the router is still down).
pub fn ask_queued(
    store: &mut Store,
    router: &VerificationRouter,
    now: DateTime<FixedOffset>,
    limit: usize,
) -> Result<QueueRound, StoreError> {
    let mut round = QueueRound::default();
    for record in store.due_verifications(now, limit)? {
        match router.ask(&record.request) {
            Ok(answer) => {
                store.answer_verification(record.id, &answer, now)?;
                round.answered += 1;
            }
            Err(error) => {
                let transient = error.is_transient();
                store.retry_verification_later(record.id, &error.to_string(), transient, now)?;
                if transient {
                    // Still down: the rest wait, untouched, for the next round.
                    round.still_queued += 1;
                    break;
                }
                round.given_up += 1;
            }
        }
    }
    Ok(round)
}
