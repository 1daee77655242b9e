//! Recording one receipt: its row, its EPCIS event and the event's outbox row, in the caller's
//! transaction ([`record_receipt_in`]), with what every receipt of one call shares
//! ([`ReceiptContext`]). A refused scan repeated unchanged within [`REPEATED_FAILURE_WINDOW`]
//! adds no new event. Receiving and the release of a pack held for its data both record here.

use chrono::{DateTime, FixedOffset};
use rusqlite::{Connection, OptionalExtension, params};

use super::facts::site_location;
use super::{ShipmentId, StoreError, gtin_key, iso_date, record_event, timestamp};
use crate::epcis::event::{
    self as desk_event, BizTransaction, BizTransactionKind, DeskAction, DeskEvent,
};
use crate::verify::{ProductIdentifier, Verdict};

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

fn is_uri(text: &str) -> bool {
    text.split_once(':').is_some_and(|(scheme, rest)| {
        !rest.is_empty()
            && scheme.starts_with(|c: char| c.is_ascii_alphabetic())
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
    }) && !text.contains(char::is_whitespace)
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

/// The verification-failed event of the unit's last refused receipt, when that receipt was
/// this same scan (lot, expiry, shipment and reasons alike) and its event is less than
/// [`REPEATED_FAILURE_WINDOW`] old. The window runs from the event, not from the last repeat,
/// so a scan repeated for an hour still leaves one event a minute in the audit trail. How many
/// scans an event stands for is the number of receipt rows that name it.
pub(super) fn repeated_failure(
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

/// How long a refused scan repeated unchanged adds no new event: at most one
/// verification-failed event per unit, reasons and minute reaches the outbox.
pub const REPEATED_FAILURE_WINDOW: chrono::TimeDelta = chrono::TimeDelta::seconds(60);
