//! Recall notices: CSV `gtin,lot,reason`, each line checked as a scan's values would be.

use std::io::Read;

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::super::{StoreError, gtin_key};
use super::{Change, ImportCounts, ImportError, MAX_REASON_CHARS, Records, check_lot};
use crate::gs1::Gtin;

/// One line of a recall notice, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecallLine {
    pub line: u64,
    pub gtin: Gtin,
    pub lot: String,
    pub reason: String,
}

/// The one reader of recall notices: CSV with header `gtin,lot,reason` (`reason` optional).
/// Made from a file, it has read and checked the header; each line is checked as a scan's
/// values would be (GTIN check digit, lot per AI 10, reason at most [`MAX_REASON_CHARS`]).
pub struct RecallReader<'a> {
    records: Records<'a>,
    gtin: usize,
    lot: usize,
    reason: Option<usize>,
}

impl<'a> RecallReader<'a> {
    /// Read the header of a recall notice; `source` names it in messages.
    pub fn new(input: impl Read + 'a, source: &str) -> Result<RecallReader<'a>, ImportError> {
        let records = Records::new(Box::new(input), source, false)?;
        Ok(RecallReader {
            gtin: records.require("gtin")?,
            lot: records.require("lot")?,
            reason: records.column("reason")?,
            records,
        })
    }

    /// The next line, checked; `None` at the end of the notice.
    pub fn next_line(&mut self) -> Result<Option<RecallLine>, ImportError> {
        let (gtin_col, lot_col, reason_col) = (self.gtin, self.lot, self.reason);
        let Some(row) = self.records.next_row()? else {
            return Ok(None);
        };
        let check = || -> Result<RecallLine, String> {
            let gtin = Gtin::parse(&row.text(Some(gtin_col), "gtin")?)
                .map_err(|e| format!("gtin: {e}"))?;
            let lot = row.text(Some(lot_col), "lot")?;
            check_lot(&lot)?;
            let reason = row.text(reason_col, "reason")?;
            if reason.chars().count() > MAX_REASON_CHARS {
                return Err(format!(
                    "reason is longer than {MAX_REASON_CHARS} characters"
                ));
            }
            Ok(RecallLine {
                line: row.line,
                gtin,
                lot,
                reason,
            })
        };
        check().map(Some).map_err(|message| row.at(message))
    }
}

impl Iterator for RecallReader<'_> {
    type Item = Result<RecallLine, ImportError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_line().transpose()
    }
}

/// Record each line of `notice` as a lot recall, calling `each` after it; the caller owns the
/// transaction, so a bad line anywhere leaves nothing.
pub(crate) fn record_recalls(
    conn: &Connection,
    notice: RecallReader<'_>,
    mut each: impl FnMut(&RecallLine) -> Result<(), StoreError>,
) -> Result<ImportCounts, StoreError> {
    let mut counts = ImportCounts::default();
    for line in notice {
        let line = line?;
        let key = gtin_key(&line.gtin);
        let existing: Option<String> = conn
            .prepare_cached("SELECT reason FROM lot_recalls WHERE gtin = ?1 AND lot = ?2")?
            .query_row(params![key, line.lot], |r| r.get(0))
            .optional()?;
        let change = match existing {
            None => {
                conn.prepare_cached(
                    "INSERT INTO lot_recalls (gtin, lot, reason) VALUES (?1, ?2, ?3)",
                )?
                .execute(params![key, line.lot, line.reason])?;
                Change::Inserted
            }
            Some(old) if old == line.reason => Change::Unchanged,
            Some(_) => {
                conn.prepare_cached(
                    "UPDATE lot_recalls SET reason = ?3 WHERE gtin = ?1 AND lot = ?2",
                )?
                .execute(params![key, line.lot, line.reason])?;
                Change::Updated
            }
        };
        counts.add(change);
        each(&line)?;
    }
    Ok(counts)
}

impl super::super::Store {
    /// Import lot recalls from a CSV with header `gtin,lot,reason`.
    pub fn import_recalls(
        &mut self,
        input: impl Read,
        source: &str,
    ) -> Result<ImportCounts, StoreError> {
        self.import_recalls_from(RecallReader::new(input, source)?)
    }

    /// Import a recall notice whose header has been read.
    pub fn import_recalls_from(
        &mut self,
        notice: RecallReader<'_>,
    ) -> Result<ImportCounts, StoreError> {
        let tx = self
            .conn_mut()
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let counts = record_recalls(&tx, notice, |_| Ok(()))?;
        tx.commit()?;
        Ok(counts)
    }
}
