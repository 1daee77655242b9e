//! Questions asked of manufacturers (GS1 Lightweight Messaging) and their answers, kept in the
//! unit's history; a question the router could not take waits here to be asked again.
//!
//! The corrUUID of a question stays the same across its attempts, so a late answer to an
//! earlier attempt still matches. An answer about a pack with an open exception case is added
//! to that case's trail.

use super::investigation::note_answer_in;
use super::{StoreError, gtin_from_key, gtin_key, iso_date, parse_iso_date_opt, timestamp};
use crate::gs1::{Gln, Sgtin};
use crate::verify::lms::{self, Answer, Context};
use chrono::{DateTime, FixedOffset, TimeDelta};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

/// One question and what became of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerificationRecord {
    pub id: i64,
    pub request: lms::Request,
    pub requested_at: String,
    /// `None` while it waits in the queue.
    pub answer: Option<Answer>,
    pub answered_at: Option<String>,
    pub attempts: u32,
    pub last_error: Option<String>,
}

/// How long a queued question waits before the next attempt: a minute, doubling, at most an
/// hour.
pub fn retry_delay(attempts: u32) -> TimeDelta {
    TimeDelta::seconds(60_i64.saturating_mul(1 << attempts.min(6)).min(3600))
}

/// Stop asking after this many attempts (about a day and a half of retries).
pub const MAX_ATTEMPTS: u32 = 40;

fn record_from_row(r: &rusqlite::Row<'_>) -> Result<VerificationRecord, StoreError> {
    let gtin = gtin_from_key(r.get(1)?)?;
    let serial: String = r.get(2)?;
    let expiry_text: String = r.get(4)?;
    let expiry = parse_iso_date_opt(Some(&expiry_text))
        .ok_or_else(|| StoreError::Corrupt(format!("verification expiry {expiry_text}")))?;
    let context: String = r.get(5)?;
    let requestor: String = r.get(13)?;
    let request = lms::Request {
        gtin,
        serial,
        lot: r.get(3)?,
        expiry,
        context: Context::parse(&context)
            .map_err(|e| StoreError::Corrupt(format!("verification context: {e}")))?,
        requestor: Gln::parse(&requestor)
            .map_err(|e| StoreError::Corrupt(format!("verification requestor: {e}")))?,
        corr_uuid: r.get(6)?,
    };
    let answered_at: Option<String> = r.get(8)?;
    let answer = match (&answered_at, r.get::<_, Option<bool>>(9)?) {
        (Some(_), Some(verified)) => Some(Answer {
            verified,
            failure_reason: r.get(10)?,
            additional_info: r.get(11)?,
            responder_gln: r.get(12)?,
            corr_uuid: request.corr_uuid.clone(),
            timestamp: None,
        }),
        _ => None,
    };
    Ok(VerificationRecord {
        id: r.get(0)?,
        request,
        requested_at: r.get(7)?,
        answer,
        answered_at,
        attempts: r.get::<_, i64>(14)?.max(0) as u32,
        last_error: r.get(15)?,
    })
}

const COLUMNS: &str = "id, gtin, serial, lot, expiry, context, corr_uuid, requested_at,
    answered_at, verified, failure_reason, additional_info, responder_gln, requestor, attempts,
    last_error";

/// Adds the manufacturer's answer to the trail of the pack's open exception cases.
fn note_on_cases(
    conn: &Connection,
    request: &lms::Request,
    answer: &Answer,
    now: DateTime<FixedOffset>,
) -> Result<(), StoreError> {
    let cases: Vec<i64> = conn
        .prepare_cached(
            "SELECT id FROM exception_cases WHERE gtin = ?1 AND serial = ?2 AND status = 'open'",
        )?
        .query_map(params![gtin_key(&request.gtin), request.serial], |r| {
            r.get(0)
        })?
        .collect::<Result<_, _>>()?;
    for case in cases {
        conn.prepare_cached(
            "INSERT INTO exception_log (case_id, at, actor, action, detail)
             VALUES (?1, ?2, NULL, 'manufacturer answered', ?3)",
        )?
        .execute(params![case, timestamp(now), answer.summary()])?;
    }
    Ok(())
}

impl super::Store {
    /// Records a question and its answer, or (`Err`) queues it to be asked again after a
    /// transient failure. Returns its row.
    pub fn record_verification(
        &mut self,
        request: &lms::Request,
        outcome: Result<&Answer, &str>,
        now: DateTime<FixedOffset>,
    ) -> Result<i64, StoreError> {
        let tx = self
            .conn_mut()
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let at = timestamp(now);
        let (state, next, error) = match outcome {
            Ok(_) => ("answered", None, None),
            // Asked again at the next chance (the next online check, the sync worker's round);
            // later failures back off.
            Err(error) => ("queued", Some(timestamp(now)), Some(error)),
        };
        tx.prepare_cached(
            "INSERT INTO verification_requests
                 (gtin, serial, lot, expiry, context, corr_uuid, requested_at, state, attempts,
                  next_attempt_at, last_error, requestor)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 1, ?9, ?10, ?11)",
        )?
        .execute(params![
            gtin_key(&request.gtin),
            request.serial,
            request.lot,
            iso_date(request.expiry),
            request.context.as_str(),
            request.corr_uuid,
            at,
            state,
            next,
            error,
            request.requestor.as_str(),
        ])?;
        let id = tx.last_insert_rowid();
        if let Ok(answer) = outcome {
            store_answer(&tx, id, answer, now)?;
            note_on_cases(&tx, request, answer, now)?;
            note_answer_in(
                &tx,
                &request.gtin,
                &request.serial,
                &request.lot,
                answer.verified && !answer.flags_illegitimate(),
                id,
                now,
            )?;
        }
        tx.commit()?;
        Ok(id)
    }

    /// Questions due to be asked again at `now`, oldest first.
    pub fn due_verifications(
        &self,
        now: DateTime<FixedOffset>,
        limit: usize,
    ) -> Result<Vec<VerificationRecord>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM verification_requests
             WHERE state = 'queued' AND next_attempt_at <= ?1 ORDER BY next_attempt_at, id
             LIMIT ?2"
        );
        let mut stmt = self.conn().prepare_cached(&sql)?;
        let mut rows = stmt.query(params![timestamp(now), limit as i64])?;
        let mut out = Vec::new();
        while let Some(row) = rows.next()? {
            out.push(record_from_row(row)?);
        }
        Ok(out)
    }

    /// How many questions wait in the queue.
    pub fn queued_verifications(&self) -> Result<u64, StoreError> {
        Ok(self.conn().query_row(
            "SELECT count(*) FROM verification_requests WHERE state = 'queued'",
            [],
            |r| r.get(0),
        )?)
    }

    /// The answer to a queued question, at last.
    pub fn answer_verification(
        &mut self,
        id: i64,
        answer: &Answer,
        now: DateTime<FixedOffset>,
    ) -> Result<(), StoreError> {
        let tx = self
            .conn_mut()
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let record = verification_in(&tx, id)?
            .ok_or_else(|| StoreError::Corrupt(format!("verification request {id} is gone")))?;
        tx.prepare_cached(
            "UPDATE verification_requests SET attempts = attempts + 1 WHERE id = ?1",
        )?
        .execute([id])?;
        store_answer(&tx, id, answer, now)?;
        note_on_cases(&tx, &record.request, answer, now)?;
        let r = &record.request;
        note_answer_in(
            &tx,
            &r.gtin,
            &r.serial,
            &r.lot,
            answer.verified && !answer.flags_illegitimate(),
            id,
            now,
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Another failed attempt at a queued question: asked again later, or given up after
    /// [`MAX_ATTEMPTS`] (or at once when the failure is not transient).
    pub fn retry_verification_later(
        &mut self,
        id: i64,
        error: &str,
        transient: bool,
        now: DateTime<FixedOffset>,
    ) -> Result<(), StoreError> {
        let attempts: i64 = self.conn().query_row(
            "SELECT attempts FROM verification_requests WHERE id = ?1",
            [id],
            |r| r.get(0),
        )?;
        let attempts = attempts.max(0) as u32 + 1;
        let (state, next) = if transient && attempts < MAX_ATTEMPTS {
            ("queued", Some(timestamp(now + retry_delay(attempts))))
        } else {
            ("failed", None)
        };
        self.conn().execute(
            "UPDATE verification_requests SET attempts = ?2, state = ?3, next_attempt_at = ?4,
                 last_error = ?5 WHERE id = ?1",
            params![id, attempts, state, next, error],
        )?;
        Ok(())
    }

    /// Every question asked about a unit, oldest first.
    pub fn unit_verifications(&self, sgtin: &Sgtin) -> Result<Vec<VerificationRecord>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM verification_requests WHERE gtin = ?1 AND serial = ?2
             ORDER BY id"
        );
        let mut stmt = self.conn().prepare_cached(&sql)?;
        let mut rows = stmt.query(params![gtin_key(&sgtin.gtin), sgtin.serial])?;
        let mut out = Vec::new();
        while let Some(row) = rows.next()? {
            out.push(record_from_row(row)?);
        }
        Ok(out)
    }
}

fn verification_in(conn: &Connection, id: i64) -> Result<Option<VerificationRecord>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM verification_requests WHERE id = ?1");
    let mut stmt = conn.prepare_cached(&sql)?;
    stmt.query_row([id], |r| Ok(record_from_row(r)))
        .optional()?
        .transpose()
}

fn store_answer(
    conn: &Connection,
    id: i64,
    answer: &Answer,
    now: DateTime<FixedOffset>,
) -> Result<(), StoreError> {
    conn.prepare_cached(
        "UPDATE verification_requests SET state = 'answered', answered_at = ?2, verified = ?3,
             failure_reason = ?4, additional_info = ?5, responder_gln = ?6,
             next_attempt_at = NULL, last_error = NULL
         WHERE id = ?1",
    )?
    .execute(params![
        id,
        timestamp(now),
        answer.verified,
        answer.failure_reason,
        answer.additional_info,
        answer.responder_gln,
    ])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_to_an_hour() {
        assert_eq!(retry_delay(0), TimeDelta::seconds(60));
        assert_eq!(retry_delay(1), TimeDelta::seconds(120));
        assert_eq!(retry_delay(5), TimeDelta::seconds(1920));
        assert_eq!(retry_delay(6), TimeDelta::seconds(3600));
        assert_eq!(retry_delay(30), TimeDelta::seconds(3600));
    }
}
