//! Suspect-product investigations: when a pharmacist holds a pack as suspect, the other packs of
//! its lot on hand are verified with the manufacturer, at least 3 or 10 % of them, whichever is
//! greater, all of them when fewer than 3 ([`crate::exceptions::suspect_sample_size`]).
//!
//! An investigation is opened once per GTIN and lot (holding a second pack of the lot as
//! suspect finds it open). Every manufacturer's answer about a pack of the lot counts toward it
//! ([`note_answer_in`], called where answers are recorded); an answer that calls a pack
//! illegitimate is what the FDA Form 3911 export is for.

use super::{StoreError, gtin_key, timestamp};
use crate::exceptions::suspect_sample_size;
use crate::gs1::Gtin;
use chrono::{DateTime, FixedOffset};
use rusqlite::{Connection, OptionalExtension, params};

/// Where an investigation stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Investigation {
    pub id: i64,
    pub gtin: Gtin,
    pub lot: String,
    pub opened_at: String,
    /// Packs of the lot on hand when it was opened.
    pub on_hand: u64,
    /// How many must be verified.
    pub required: u64,
    /// Packs the manufacturer answered about.
    pub checked: u64,
    /// Of those, how many it did not verify or called illegitimate.
    pub failed: u64,
}

impl Investigation {
    /// Enough packages were verified.
    pub fn sample_done(&self) -> bool {
        self.checked >= self.required
    }
}

/// Opens the investigation of a lot (or finds it open) inside the caller's transaction.
pub(crate) fn open_in(
    conn: &Connection,
    gtin: &Gtin,
    lot: &str,
    actor: Option<&str>,
    now: DateTime<FixedOffset>,
) -> Result<i64, StoreError> {
    let key = gtin_key(gtin);
    if let Some(id) = conn
        .prepare_cached(
            "SELECT id FROM investigations WHERE gtin = ?1 AND lot = ?2 AND closed_at IS NULL",
        )?
        .query_row(params![key, lot], |r| r.get(0))
        .optional()?
    {
        return Ok(id);
    }
    let on_hand: i64 = conn
        .prepare_cached("SELECT count(*) FROM stock WHERE gtin = ?1 AND lot = ?2 AND state = 0")?
        .query_row(params![key, lot], |r| r.get(0))?;
    let required = suspect_sample_size(on_hand.max(0) as u64);
    conn.prepare_cached(
        "INSERT INTO investigations (gtin, lot, opened_at, opened_by, required)
         VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT(gtin, lot) DO UPDATE SET closed_at = NULL, opened_at = excluded.opened_at,
             required = excluded.required",
    )?
    .execute(params![key, lot, timestamp(now), actor, required as i64])?;
    let id = conn
        .prepare_cached("SELECT id FROM investigations WHERE gtin = ?1 AND lot = ?2")?
        .query_row(params![key, lot], |r| r.get(0))?;
    tracing::info!(
        gtin = gtin.as_str(),
        lot,
        required,
        "suspect investigation opened"
    );
    Ok(id)
}

/// Counts a manufacturer's answer about a pack toward the open investigation of its lot.
pub(crate) fn note_answer_in(
    conn: &Connection,
    gtin: &Gtin,
    serial: &str,
    lot: &str,
    verified: bool,
    request: i64,
    now: DateTime<FixedOffset>,
) -> Result<(), StoreError> {
    let open: Option<i64> = conn
        .prepare_cached(
            "SELECT id FROM investigations WHERE gtin = ?1 AND lot = ?2 AND closed_at IS NULL",
        )?
        .query_row(params![gtin_key(gtin), lot], |r| r.get(0))
        .optional()?;
    if let Some(id) = open {
        conn.prepare_cached(
            "INSERT INTO investigation_checks (investigation, serial, at, verified, request)
             VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT(investigation, serial) DO UPDATE SET at = excluded.at,
                 verified = excluded.verified, request = excluded.request",
        )?
        .execute(params![id, serial, timestamp(now), verified, request])?;
    }
    Ok(())
}

impl super::Store {
    /// Opens (or finds) the investigation of a lot. Holding a pack as suspect
    /// ([`super::ShelfAction::Hold`] with [`super::HoldKind::Suspect`]) does this by itself.
    pub fn open_investigation(
        &mut self,
        gtin: &Gtin,
        lot: &str,
        now: DateTime<FixedOffset>,
    ) -> Result<Investigation, StoreError> {
        let actor = self.actor().map(str::to_owned);
        open_in(self.conn(), gtin, lot, actor.as_deref(), now)?;
        self.investigation(gtin, lot)?
            .ok_or_else(|| StoreError::Corrupt("an investigation just opened is gone".into()))
    }

    /// The open investigation of a lot, with its progress.
    pub fn investigation(
        &self,
        gtin: &Gtin,
        lot: &str,
    ) -> Result<Option<Investigation>, StoreError> {
        let row: Option<(i64, String, i64)> = self
            .conn()
            .prepare_cached(
                "SELECT id, opened_at, required FROM investigations
                 WHERE gtin = ?1 AND lot = ?2 AND closed_at IS NULL",
            )?
            .query_row(params![gtin_key(gtin), lot], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .optional()?;
        let Some((id, opened_at, required)) = row else {
            return Ok(None);
        };
        let (checked, failed): (i64, i64) = self
            .conn()
            .prepare_cached(
                "SELECT count(*), ifnull(sum(verified = 0), 0) FROM investigation_checks
                 WHERE investigation = ?1 AND verified IS NOT NULL",
            )?
            .query_row([id], |r| Ok((r.get(0)?, r.get(1)?)))?;
        let on_hand: i64 = self
            .conn()
            .prepare_cached(
                "SELECT count(*) FROM stock WHERE gtin = ?1 AND lot = ?2 AND state = 0",
            )?
            .query_row(params![gtin_key(gtin), lot], |r| r.get(0))?;
        Ok(Some(Investigation {
            id,
            gtin: gtin.clone(),
            lot: lot.to_owned(),
            opened_at,
            on_hand: on_hand.max(0) as u64,
            required: required.max(0) as u64,
            checked: checked.max(0) as u64,
            failed: failed.max(0) as u64,
        }))
    }
}
