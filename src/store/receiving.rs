//! Receiving: the verdict for a scan from what suppliers announced (the facts: the product,
//! the unit, its lot's recalls, holds, earlier receipts, the shipment), and the receipt that
//! records it durably with its EPCIS event, for one pack or every pack of a case.

use chrono::{DateTime, FixedOffset, NaiveDate};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::{
    ActionRecord, HoldKind, Product, ShelfAction, ShipmentId, Store, StoreError, exceptions,
    gtin_from_key, gtin_key, iso_date, parse_iso_date, record_event, sscc_key, timestamp,
};
use crate::epcis::event::{
    self as desk_event, BizTransaction, BizTransactionKind, DeskAction, DeskEvent,
};
use crate::gs1::{Gln, Gtin, ParsedScan, Sgtin, Sscc};
use crate::verify::{self, Facts, KnownUnit, ProductIdentifier, UnitStatus, Verdict};

/// A verdict with what the store knew when it decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assessment {
    pub verdict: Verdict,
    pub product: Option<Product>,
    pub unit: Option<KnownUnit>,
}

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

pub(super) fn product(conn: &Connection, gtin: &Gtin) -> Result<Option<Product>, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT ndc, name, strength, form, manufacturer FROM products WHERE gtin = ?1",
        )?
        .query_row([gtin_key(gtin)], |r| {
            Ok(Product {
                ndc: r.get(0)?,
                name: r.get(1)?,
                strength: r.get(2)?,
                form: r.get(3)?,
                manufacturer: r.get(4)?,
            })
        })
        .optional()?)
}

pub(super) fn unit(
    conn: &Connection,
    gtin: &Gtin,
    serial: &str,
) -> Result<Option<KnownUnit>, StoreError> {
    let row: Option<(Option<String>, Option<String>, u8)> = conn
        .prepare_cached(
            "SELECT l.lot, l.expiry, u.status FROM units u LEFT JOIN lots l ON l.id = u.lot
             WHERE u.gtin = ?1 AND u.serial = ?2",
        )?
        .query_row(params![gtin_key(gtin), serial], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .optional()?;
    let Some((lot, expiry, status)) = row else {
        return Ok(None);
    };
    let status = UnitStatus::from_code(status)
        .ok_or_else(|| StoreError::Corrupt(format!("unit status code {status}")))?;
    Ok(Some(KnownUnit {
        lot: lot.filter(|l| !l.is_empty()),
        expiry: expiry.as_deref().and_then(parse_iso_date),
        status,
    }))
}

pub(super) fn lot_recalled(conn: &Connection, gtin: &Gtin, lot: &str) -> Result<bool, StoreError> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM lot_recalls WHERE gtin = ?1 AND lot = ?2")?
        .exists(params![gtin_key(gtin), lot])?)
}

/// The holds in force on a unit: (quarantined, suspect or illegitimate).
pub(super) fn holds_in_force(
    conn: &Connection,
    gtin: &Gtin,
    serial: &str,
) -> Result<(bool, bool), StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT kind FROM holds WHERE gtin = ?1 AND serial = ?2 AND released_at IS NULL",
    )?;
    let mut rows = stmt.query(params![gtin_key(gtin), serial])?;
    let (mut quarantined, mut suspect) = (false, false);
    while let Some(row) = rows.next()? {
        match HoldKind::from_code(&row.get::<_, String>(0)?) {
            Some(HoldKind::Quarantine | HoldKind::PendingData) | None => quarantined = true,
            Some(HoldKind::Suspect | HoldKind::Illegitimate) => suspect = true,
        }
    }
    Ok((quarantined, suspect))
}

pub(super) fn already_received(
    conn: &Connection,
    gtin: &Gtin,
    serial: &str,
) -> Result<bool, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT 1 FROM receipts WHERE gtin = ?1 AND serial = ?2 AND accepted = 1 LIMIT 1",
        )?
        .exists(params![gtin_key(gtin), serial])?)
}

pub(super) fn on_shipment(
    conn: &Connection,
    gtin: &Gtin,
    serial: &str,
    shipment: ShipmentId,
) -> Result<bool, StoreError> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM units WHERE gtin = ?1 AND serial = ?2 AND shipment = ?3")?
        .exists(params![gtin_key(gtin), serial, shipment.0])?)
}

/// Gather the facts for one identified unit and decide.
pub(super) fn assess(
    conn: &Connection,
    pid: Option<&ProductIdentifier>,
    shipment: Option<ShipmentId>,
    today: NaiveDate,
) -> Result<Assessment, StoreError> {
    let Some(pid) = pid else {
        return Ok(Assessment {
            verdict: Verdict::from_reasons(vec![verify::Reason::InvalidBarcode]),
            product: None,
            unit: None,
        });
    };
    let product = product(conn, &pid.gtin)?;
    let mut facts = Facts {
        product_known: product.is_some(),
        ..Facts::default()
    };
    let mut recalled = match &pid.lot {
        Some(lot) => lot_recalled(conn, &pid.gtin, lot)?,
        None => false,
    };
    if let Some(serial) = &pid.serial {
        facts.unit = unit(conn, &pid.gtin, serial)?;
        if let Some(announced_lot) = facts.unit.as_ref().and_then(|u| u.lot.as_deref())
            && pid.lot.as_deref() != Some(announced_lot)
        {
            recalled = recalled || lot_recalled(conn, &pid.gtin, announced_lot)?;
        }
        (facts.held, facts.suspect) = holds_in_force(conn, &pid.gtin, serial)?;
        facts.already_received = already_received(conn, &pid.gtin, serial)?;
        if let Some(shipment) = shipment {
            facts.on_shipment = Some(on_shipment(conn, &pid.gtin, serial, shipment)?);
        }
    }
    facts.lot_recalled = recalled;
    Ok(Assessment {
        verdict: verify::verdict_for(pid, &facts, today),
        product,
        unit: facts.unit,
    })
}

/// What every receipt of one `receive` call shares: where, when, against which shipment, who.
pub(crate) struct ReceiptContext {
    pub(super) shipment: Option<ShipmentId>,
    pub(super) now: DateTime<FixedOffset>,
    pub(super) actor: Option<String>,
    /// The site's GLN as a Digital Link URI, for the event's read point and business location.
    site: Option<String>,
    /// The shipment's PO and ASN references that are URIs, for the event.
    transactions: Vec<BizTransaction>,
}

impl ReceiptContext {
    pub(crate) fn new(
        conn: &Connection,
        shipment: Option<ShipmentId>,
        now: DateTime<FixedOffset>,
        actor: Option<String>,
    ) -> Result<ReceiptContext, StoreError> {
        let site = site_location(conn)?;
        let mut transactions = Vec::new();
        if let Some(id) = shipment {
            let mut stmt = conn.prepare_cached(
                "SELECT kind, ref FROM shipment_refs WHERE shipment = ?1 AND kind IN ('po', 'desadv')
                 ORDER BY kind, ref",
            )?;
            let rows = stmt.query_map([id.0], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
            })?;
            for row in rows {
                let (kind, id) = row?;
                // EPCIS wants URIs here; a bare reference typed by hand is left out.
                if !is_uri(&id) {
                    continue;
                }
                let kind = match kind.as_str() {
                    "po" => BizTransactionKind::PurchaseOrder,
                    _ => BizTransactionKind::DespatchAdvice,
                };
                transactions.push(BizTransaction { kind, id });
            }
        }
        Ok(ReceiptContext {
            shipment,
            now,
            actor,
            site,
            transactions,
        })
    }
}

/// This site's GLN as a Digital Link URI, for events' read point and business location.
pub(crate) fn site_location(conn: &Connection) -> Result<Option<String>, StoreError> {
    Ok(conn
        .prepare_cached("SELECT value FROM settings WHERE key = 'site_gln'")?
        .query_row([], |r| r.get::<_, String>(0))
        .optional()?
        .and_then(|v| Gln::parse(&v).ok())
        .map(|g| g.digital_link()))
}

fn is_uri(text: &str) -> bool {
    text.split_once(':').is_some_and(|(scheme, rest)| {
        !rest.is_empty()
            && scheme.starts_with(|c: char| c.is_ascii_alphabetic())
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
    }) && !text.contains(char::is_whitespace)
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

/// Records one receipt inside the caller's transaction: its event (a receiving event when
/// verified, a failed-verification event otherwise) with the outbox row, the receipt row, and
/// for a verified unit its place in the stock. Returns the receipt row and the event ID.
pub(crate) fn record_receipt_in(
    conn: &Connection,
    pid: &ProductIdentifier,
    serial: &str,
    context: &ReceiptContext,
    verdict: &Verdict,
) -> Result<(i64, String), StoreError> {
    let verified = verdict.is_verified();
    let reasons: Vec<&str> = verdict.reasons.iter().map(|r| r.code()).collect();
    let event = DeskEvent {
        action: if verified {
            DeskAction::ReceiveVerified
        } else {
            DeskAction::VerificationFailed
        },
        event_time: context.now,
        units: vec![desk_event::Unit {
            gtin: pid.gtin.as_str().to_string(),
            serial: serial.to_string(),
        }],
        read_point: context.site.clone(),
        biz_location: context.site.clone(),
        biz_transactions: context.transactions.clone(),
        lot: pid.lot.clone(),
        expiry: pid.expiry,
        failure_reasons: if verified {
            Vec::new()
        } else {
            reasons.iter().map(|r| r.to_string()).collect()
        },
        actor: None,
    };
    let kind = if verified {
        "receive"
    } else {
        "verification_failed"
    };
    let event_id = record_event(conn, &event, kind)?;
    let created = timestamp(context.now);
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
        created,
        verified,
        verdict.status.as_str(),
        reasons.join(" "),
        event_id,
    ])?;
    let receipt_id = conn.last_insert_rowid();
    if verified {
        // A unit restocked as a saleable return before it was ever received here already has
        // a stock row: it is simply on hand again.
        conn.prepare_cached(
            "INSERT INTO stock (gtin, serial, lot, expiry, shipment, received_at, state, changed_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, 0, ?6)
             ON CONFLICT(gtin, serial) DO UPDATE SET state = 0, changed_at = excluded.changed_at",
        )?
        .execute(params![
            gtin_key(&pid.gtin),
            serial,
            pid.lot,
            pid.expiry.map(iso_date),
            context.shipment.map(|s| s.0),
            created,
        ])?;
    }
    Ok((receipt_id, event_id))
}

/// How long a refused scan repeated unchanged adds no new event: at most one
/// verification-failed event per unit, reasons and minute reaches the outbox.
pub const REPEATED_FAILURE_WINDOW: chrono::TimeDelta = chrono::TimeDelta::seconds(60);

/// The verification-failed event of the unit's last refused receipt, when that receipt was
/// this same scan (lot, expiry, shipment and reasons alike) and its event is less than
/// [`REPEATED_FAILURE_WINDOW`] old. The window runs from the event, not from the last repeat,
/// so a scan repeated for an hour still leaves one event a minute in the audit trail. How many
/// scans an event stands for is the number of receipt rows that name it.
fn repeated_failure(
    conn: &Connection,
    pid: &ProductIdentifier,
    serial: &str,
    context: &ReceiptContext,
    reasons: &str,
) -> Result<Option<String>, StoreError> {
    // Only the last refused receipt is compared: an index seek, whatever the unit's history.
    let last: Option<(String, String)> = conn
        .prepare_cached(
            "SELECT r.event_id, e.created_at FROM receipts r JOIN events e USING (event_id)
             WHERE r.id = (SELECT id FROM receipts WHERE gtin = ?1 AND serial = ?2
                           AND accepted = 0 ORDER BY id DESC LIMIT 1)
               AND r.lot IS ?3 AND r.expiry IS ?4 AND r.shipment IS ?5 AND r.reasons = ?6",
        )?
        .query_row(
            params![
                gtin_key(&pid.gtin),
                serial,
                pid.lot,
                pid.expiry.map(iso_date),
                context.shipment.map(|s| s.0),
                reasons,
            ],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let Some((event_id, created)) = last else {
        return Ok(None);
    };
    let recent = DateTime::parse_from_rfc3339(&created)
        .ok()
        .is_some_and(|created| {
            let age = context.now.signed_duration_since(created);
            // A clock set back makes the event look young: start a new one then.
            age >= chrono::TimeDelta::zero() && age < REPEATED_FAILURE_WINDOW
        });
    Ok(recent.then_some(event_id))
}

/// A unit inside a scanned case: the case's aggregation data vouches for the lot and expiry
/// the supplier announced, as the pack's own barcode would for a unit scan.
fn vouched_identifier(conn: &Connection, sgtin: &Sgtin) -> Result<ProductIdentifier, StoreError> {
    let announced = unit(conn, &sgtin.gtin, &sgtin.serial)?;
    Ok(ProductIdentifier {
        gtin: sgtin.gtin.clone(),
        serial: Some(sgtin.serial.clone()),
        lot: announced.as_ref().and_then(|u| u.lot.clone()),
        expiry: announced.as_ref().and_then(|u| u.expiry),
    })
}

pub(super) fn container_units(
    conn: &Connection,
    sscc: &Sscc,
) -> Result<Option<Vec<Sgtin>>, StoreError> {
    let key = sscc_key(sscc);
    let known = conn
        .prepare_cached(
            "SELECT 1 FROM container_units WHERE sscc = ?1
             UNION ALL SELECT 1 FROM container_containers WHERE sscc = ?1 LIMIT 1",
        )?
        .exists([key])?;
    if !known {
        return Ok(None);
    }
    // UNION (not UNION ALL) stops at cycles a faulty supplier file might contain.
    let mut stmt = conn.prepare_cached(
        "WITH RECURSIVE tree(sscc) AS (
             SELECT ?1
             UNION SELECT c.child FROM container_containers c JOIN tree t ON c.sscc = t.sscc
         )
         SELECT cu.gtin, cu.serial FROM container_units cu JOIN tree t ON cu.sscc = t.sscc
         ORDER BY cu.gtin, cu.serial",
    )?;
    let rows = stmt.query_map([key], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))?;
    let mut units = Vec::new();
    for row in rows {
        let (gtin, serial) = row?;
        let gtin = gtin_from_key(gtin)?;
        let sgtin = Sgtin::new(gtin, &serial)
            .map_err(|e| StoreError::Corrupt(format!("container child: {e}")))?;
        units.push(sgtin);
    }
    Ok(Some(units))
}
