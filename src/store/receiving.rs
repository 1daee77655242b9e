//! Receiving: the verdict for a scan from what suppliers announced (the facts: the product,
//! the unit, its lot's recalls, holds, earlier receipts, the shipment), and the receipt that
//! records it durably with its EPCIS event, for one pack or every pack of a case.

use chrono::{DateTime, FixedOffset, NaiveDate};
use rusqlite::{Connection, TransactionBehavior, params};

use super::facts::{
    Assessment, already_received, assess, container_units, product, unit, vouched_identifier,
};
use super::receipt::{ReceiptContext, record_receipt_in, repeated_failure};
use super::{
    ActionRecord, HoldKind, Product, ShelfAction, ShipmentId, Store, StoreError, exceptions,
    gtin_key, iso_date, timestamp,
};
use crate::gs1::{Gtin, ParsedScan, Sgtin, Sscc};
use crate::verify::{KnownUnit, ProductIdentifier, Verdict};

/// The outcome of receiving one unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    pub assessment: Assessment,
    /// The receipt row, when the scan identified a unit (GTIN + serial) to record.
    pub receipt_id: Option<i64>,
    /// The EPCIS event recorded (and queued for sync) for an accepted unit.
    pub event_id: Option<String>,
    /// The pack is kept, held in the "pending data" place, with an exception case open: it
    /// came without data announcing it, or with data that disagrees.
    pub held_for_data: bool,
}

impl Receipt {
    /// The unit was verified and recorded as received.
    pub fn accepted(&self) -> bool {
        self.receipt_id.is_some() && self.assessment.verdict.is_verified()
    }
}

/// The outcome of receiving a case or tote by its SSCC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerReceipt {
    pub sscc: Sscc,
    /// Every unit the container holds (nested containers expanded), with its outcome.
    pub children: Vec<(Sgtin, Receipt)>,
}

impl ContainerReceipt {
    /// One verdict for the whole container: verified when every child is, with the union of
    /// the children's reasons otherwise.
    pub fn verdict(&self) -> Verdict {
        Verdict::from_reasons(
            self.children
                .iter()
                .flat_map(|(_, r)| r.assessment.verdict.reasons.iter().copied())
                .collect(),
        )
    }
}

impl Store {
    // --- lookups --------------------------------------------------------------------------

    /// Product master data for a GTIN.
    pub fn product(&self, gtin: &Gtin) -> Result<Option<Product>, StoreError> {
        product(&self.conn, gtin)
    }

    /// The unit as announced, when known.
    pub fn unit(&self, gtin: &Gtin, serial: &str) -> Result<Option<KnownUnit>, StoreError> {
        unit(&self.conn, gtin, serial)
    }

    /// The verdict for one scan, read-only. With `shipment`, a known unit not on it is
    /// `not_expected`.
    pub fn verify(
        &self,
        scan: &ParsedScan,
        shipment: Option<ShipmentId>,
        today: NaiveDate,
    ) -> Result<Assessment, StoreError> {
        assess(
            &self.conn,
            ProductIdentifier::from_scan(scan).as_ref(),
            shipment,
            today,
        )
    }

    /// The units a container holds, nested containers expanded; `None` when the SSCC is not
    /// known from aggregation data.
    pub fn container_units(&self, sscc: &Sscc) -> Result<Option<Vec<Sgtin>>, StoreError> {
        container_units(&self.conn, sscc)
    }

    /// The verdicts for every unit of a case or tote, read-only; `None` when the SSCC is not
    /// known from aggregation data.
    pub fn verify_container(
        &self,
        sscc: &Sscc,
        shipment: Option<ShipmentId>,
        today: NaiveDate,
    ) -> Result<Option<Vec<(Sgtin, Assessment)>>, StoreError> {
        let Some(units) = container_units(&self.conn, sscc)? else {
            return Ok(None);
        };
        let mut out = Vec::with_capacity(units.len());
        for sgtin in units {
            let pid = vouched_identifier(&self.conn, &sgtin)?;
            out.push((sgtin, assess(&self.conn, Some(&pid), shipment, today)?));
        }
        Ok(Some(out))
    }

    // --- receiving ------------------------------------------------------------------------

    /// Verify one scan and record the receipt durably: the receipt row, and for an accepted
    /// unit its EPCIS event and outbox row, are committed before this returns. A scan that
    /// identifies no unit (invalid, or no serial) is answered but not recorded. A refused scan
    /// repeated unchanged within [`REPEATED_FAILURE_WINDOW`] of its event gets a receipt row
    /// naming that event, and no new one.
    pub fn receive(
        &mut self,
        scan: &ParsedScan,
        shipment: Option<ShipmentId>,
        today: NaiveDate,
        now: DateTime<FixedOffset>,
    ) -> Result<Receipt, StoreError> {
        let actor = self.actor.clone();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let pid = ProductIdentifier::from_scan(scan);
        let context = ReceiptContext::new(&tx, shipment, now, actor)?;
        let receipt = receive_unit(&tx, pid.as_ref(), &context, today)?;
        tx.commit()?;
        Ok(receipt)
    }

    /// Receive every unit of a case or tote in one transaction; `None` when the SSCC is not
    /// known from aggregation data (nothing is recorded then).
    pub fn receive_container(
        &mut self,
        sscc: &Sscc,
        shipment: Option<ShipmentId>,
        today: NaiveDate,
        now: DateTime<FixedOffset>,
    ) -> Result<Option<ContainerReceipt>, StoreError> {
        let actor = self.actor.clone();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let Some(units) = container_units(&tx, sscc)? else {
            return Ok(None);
        };
        let context = ReceiptContext::new(&tx, shipment, now, actor)?;
        let mut children = Vec::with_capacity(units.len());
        for sgtin in units {
            let pid = vouched_identifier(&tx, &sgtin)?;
            let receipt = receive_unit(&tx, Some(&pid), &context, today)?;
            children.push((sgtin, receipt));
        }
        tx.commit()?;
        Ok(Some(ContainerReceipt {
            sscc: sscc.clone(),
            children,
        }))
    }

    /// Put a unit on hold (it verifies as `quarantined` until released), with its holding
    /// event queued for sync.
    pub fn hold(
        &mut self,
        sgtin: &Sgtin,
        reason: &str,
        now: DateTime<FixedOffset>,
    ) -> Result<ActionRecord, StoreError> {
        self.record_action(
            sgtin,
            ShelfAction::Hold(HoldKind::Quarantine),
            Some(reason),
            now,
        )
    }

    /// Release every hold in force on a unit, with its event; returns how many were released
    /// (0, and nothing recorded, when the unit was not held).
    pub fn release(
        &mut self,
        sgtin: &Sgtin,
        now: DateTime<FixedOffset>,
    ) -> Result<usize, StoreError> {
        match self.record_action(sgtin, ShelfAction::Release, None, now) {
            Ok(record) => Ok(record.released),
            Err(StoreError::NotHeld(_)) => Ok(0),
            Err(e) => Err(e),
        }
    }

    /// How many receipts are recorded (accepted or not).
    pub fn receipt_count(&self) -> Result<u64, StoreError> {
        Ok(self
            .conn
            .query_row("SELECT count(*) FROM receipts", [], |r| r.get(0))?)
    }

    /// Whether the unit has an accepted receipt here.
    pub fn is_received(&self, sgtin: &Sgtin) -> Result<bool, StoreError> {
        already_received(&self.conn, &sgtin.gtin, &sgtin.serial)
    }
}

/// Assess and record one unit inside the caller's transaction: the receipt row and its EPCIS
/// event (a receiving event when verified, a failed-verification event otherwise) with its
/// outbox row.
fn receive_unit(
    conn: &Connection,
    pid: Option<&ProductIdentifier>,
    context: &ReceiptContext,
    today: NaiveDate,
) -> Result<Receipt, StoreError> {
    let assessment = assess(conn, pid, context.shipment, today)?;
    let Some((pid, serial)) = pid.and_then(|p| p.serial.as_deref().map(|s| (p, s))) else {
        return Ok(Receipt {
            assessment,
            receipt_id: None,
            event_id: None,
            held_for_data: false,
        });
    };
    let verdict = &assessment.verdict;
    let reasons: Vec<&str> = verdict.reasons.iter().map(|r| r.code()).collect();
    let verified = verdict.is_verified();
    let insert_receipt = |conn: &Connection, event_id: &str| -> Result<i64, StoreError> {
        conn.prepare_cached(
            "INSERT INTO receipts
                 (gtin, serial, lot, expiry, shipment, received_at, accepted, status, reasons,
                  event_id)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        )?
        .execute(params![
            gtin_key(&pid.gtin),
            serial,
            pid.lot,
            pid.expiry.map(iso_date),
            context.shipment.map(|s| s.0),
            timestamp(context.now),
            verified,
            verdict.status.as_str(),
            reasons.join(" "),
            event_id,
        ])?;
        Ok(conn.last_insert_rowid())
    };
    if !verified
        && let Some(event_id) = repeated_failure(conn, pid, serial, context, &reasons.join(" "))?
    {
        // The same refused scan again within the window (a scanner stuck in a loop, a clerk
        // trying again): its own receipt row, but the event already queued stands for it too.
        let receipt_id = insert_receipt(conn, &event_id)?;
        return Ok(Receipt {
            assessment,
            receipt_id: Some(receipt_id),
            event_id: Some(event_id),
            held_for_data: false,
        });
    }
    let (receipt_id, event_id) = record_receipt_in(conn, pid, serial, context, verdict)?;
    let held_for_data =
        !verified && exceptions::hold_for_data_in(conn, pid, serial, &assessment, context)?;
    Ok(Receipt {
        assessment,
        receipt_id: Some(receipt_id),
        event_id: Some(event_id),
        held_for_data,
    })
}
