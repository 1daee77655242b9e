//! Exception cases: packs and data that disagree, kept until someone resolves them.
//!
//! A case is opened when a pack arrives without data announcing it (`missing_product_data`)
//! or with data that disagrees (`data_misalignment`): the pack is held in the "pending data"
//! place ([`HoldKind::PendingData`]) in the same transaction as its receipt, so it is on hand
//! but never sellable. Closing a shipment ([`Store::close_shipment`]) adds what is still
//! different then: announced units never scanned (`missing_product`), over- and under-shipment
//! per GTIN when the shipment gave quantities, and re-checks the rest. When late data arrives
//! (any EPCIS import: the command line, the inbox, a down-sync), [`Store::release_arrived_data`]
//! releases each held pack the data now vouches for, records the receipt and the release as
//! events, and resolves its case. Past the grace period a pharmacist decides
//! ([`Store::resolve_case`]): return, quarantine as suspect, or destroy.
//!
//! Cases are reported to the partner as one PDG exception report per shipment
//! ([`Store::exception_report`]) and closed by the partner's response
//! ([`Store::apply_exception_response`]). Every step is a line in `exception_log` naming who and
//! when.

use super::actions::{HoldKind, ShelfAction, record_action_in};
use super::receipt::{ReceiptContext, record_receipt_in};
use super::shipment::{ShipmentInfo, ShipmentProgress, shipment_info};
use super::{
    Assessment, ShipmentId, StoreError, gtin_from_key, gtin_key, iso_date, parse_iso_date_opt,
    timestamp,
};
use crate::exceptions::pdg::{self, Contact, ReportHeader, ReportItem};
use crate::exceptions::{
    CaseStatus, DEFAULT_GRACE_BUSINESS_DAYS, ExceptionKind, Resolution, grace_deadline,
};
use crate::gs1::{Gtin, Sgtin};
use crate::verify::{self, ProductIdentifier, Reason, Verdict};
use chrono::{DateTime, FixedOffset, NaiveDate};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use serde_json::Value;

/// The setting that holds the grace period, in business days.
pub const GRACE_KEY: &str = "exception_grace_days";
/// The setting that holds the e-mail address exception reports give as the sender's contact.
pub const CONTACT_KEY: &str = "contact_email";

/// One exception case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExceptionCase {
    pub id: i64,
    /// The PDG `exception_item_uuid`.
    pub item_uuid: String,
    pub shipment: Option<ShipmentId>,
    /// The shipment's name, as people know it.
    pub shipment_name: Option<String>,
    pub kind: ExceptionKind,
    pub gtin: Option<Gtin>,
    pub serial: Option<String>,
    /// As on the pack (or, for missing product, as announced).
    pub lot: Option<String>,
    pub expiry: Option<NaiveDate>,
    /// The data's values for a misalignment.
    pub data_lot: Option<String>,
    pub data_expiry: Option<NaiveDate>,
    pub quantity_ordered: Option<u64>,
    pub quantity_received: Option<u64>,
    pub note: Option<String>,
    pub status: CaseStatus,
    pub opened_at: String,
    pub opened_by: Option<String>,
    /// The last day of the grace period of a pack held for its data.
    pub due: Option<NaiveDate>,
    pub reported_at: Option<String>,
    pub resolved_at: Option<String>,
    pub resolved_by: Option<String>,
    pub resolution: Option<Resolution>,
}

impl ExceptionCase {
    /// The held pack, for kinds that hold one.
    pub fn sgtin(&self) -> Option<Sgtin> {
        Sgtin::new(self.gtin.clone()?, self.serial.as_deref()?).ok()
    }

    /// Whether the grace period is over on `today` and the case still open.
    pub fn overdue(&self, today: NaiveDate) -> bool {
        self.status == CaseStatus::Open && self.due.is_some_and(|due| today > due)
    }
}

/// One line of a case's audit trail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseLogLine {
    pub at: String,
    pub actor: Option<String>,
    pub action: String,
    pub detail: Option<String>,
}

/// Which cases to list.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CaseFilter {
    pub shipment: Option<ShipmentId>,
    pub open_only: bool,
}

/// What closing a shipment found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClosedShipment {
    pub shipment: ShipmentInfo,
    pub progress: ShipmentProgress,
    /// When it was first closed (closing again keeps that time).
    pub closed_at: String,
    pub already_closed: bool,
    /// Cases this close opened.
    pub opened: usize,
    /// Cases this close found no longer true (a missing pack received after all).
    pub resolved: usize,
    /// Every case of the shipment, open or not.
    pub cases: Vec<ExceptionCase>,
}

/// What applying a partner's PDG response did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResponseOutcome {
    pub shipment: String,
    /// Cases the partner's acceptance settled.
    pub settled: usize,
    /// Accepted cases still waiting for what the partner will send (new data).
    pub awaiting: usize,
    /// Items the partner rejected or answered with another proposal: the cases stay open.
    pub rejected: usize,
}

/// A case to open.
#[derive(Debug, Clone, Default)]
struct NewCase {
    shipment: Option<ShipmentId>,
    gtin: Option<i64>,
    serial: Option<String>,
    lot: Option<String>,
    expiry: Option<String>,
    data_lot: Option<String>,
    data_expiry: Option<String>,
    quantity_ordered: Option<u64>,
    quantity_received: Option<u64>,
    note: Option<String>,
    due: Option<String>,
}

/// Opens a case unless the same one (shipment, kind, unit) is already recorded; returns its
/// row when it was opened now.
fn open_case_in(
    conn: &Connection,
    kind: ExceptionKind,
    case: NewCase,
    actor: Option<&str>,
    now: DateTime<FixedOffset>,
) -> Result<Option<i64>, StoreError> {
    let inserted = conn
        .prepare_cached(
            "INSERT OR IGNORE INTO exception_cases
                 (item_uuid, shipment, kind, gtin, serial, lot, expiry, data_lot, data_expiry,
                  quantity_ordered, quantity_received, note, opened_at, opened_by, due_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
        )?
        .execute(params![
            uuid::Uuid::new_v4().to_string(),
            case.shipment.map(|s| s.0),
            kind.code(),
            case.gtin,
            case.serial,
            case.lot,
            case.expiry,
            case.data_lot,
            case.data_expiry,
            case.quantity_ordered.map(|q| q as i64),
            case.quantity_received.map(|q| q as i64),
            case.note,
            timestamp(now),
            actor,
            case.due,
        ])?;
    if inserted == 0 {
        return Ok(None);
    }
    let id = conn.last_insert_rowid();
    log_in(conn, id, "opened", Some(kind.code()), actor, now)?;
    tracing::info!(case = id, kind = kind.code(), "exception case opened");
    Ok(Some(id))
}

fn log_in(
    conn: &Connection,
    case: i64,
    action: &str,
    detail: Option<&str>,
    actor: Option<&str>,
    now: DateTime<FixedOffset>,
) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO exception_log (case_id, at, actor, action, detail)
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![case, timestamp(now), actor, action, detail])?;
    Ok(())
}

fn resolve_in(
    conn: &Connection,
    case: i64,
    resolution: Resolution,
    detail: Option<&str>,
    actor: Option<&str>,
    now: DateTime<FixedOffset>,
) -> Result<(), StoreError> {
    conn.prepare_cached(
        "UPDATE exception_cases SET status = 'resolved', resolved_at = ?2, resolved_by = ?3,
             resolution = ?4
         WHERE id = ?1 AND status = 'open'",
    )?
    .execute(params![case, timestamp(now), actor, resolution.code()])?;
    log_in(
        conn,
        case,
        &format!("resolved: {}", resolution.code()),
        detail,
        actor,
        now,
    )
}

/// The grace period in business days (setting [`GRACE_KEY`], default 3).
fn grace_days(conn: &Connection) -> Result<u32, StoreError> {
    let value: Option<String> = conn
        .prepare_cached("SELECT value FROM settings WHERE key = ?1")?
        .query_row([GRACE_KEY], |r| r.get(0))
        .optional()?;
    Ok(value
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_GRACE_BUSINESS_DAYS))
}

/// Checks a value for [`GRACE_KEY`]: 0 to 60 business days.
pub fn parse_grace_days(value: &str) -> Result<u32, String> {
    match value.trim().parse::<u32>() {
        Ok(n @ 0..=60) => Ok(n),
        _ => Err(format!(
            "\"{value}\" is not a number of business days from 0 to 60"
        )),
    }
}

/// Checks a value for [`CONTACT_KEY`]: something that looks like an e-mail address.
pub fn parse_contact_email(value: &str) -> Result<String, String> {
    let value = value.trim();
    let ok = value.len() <= 254
        && !value.contains(char::is_whitespace)
        && value
            .split_once('@')
            .is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.'));
    if ok {
        Ok(value.to_owned())
    } else {
        Err(format!("\"{value}\" is not an e-mail address"))
    }
}

/// The reasons that mean "the data is missing or disagrees", not "the pack is bad": a pack
/// refused for these alone is held for its data instead of refused and forgotten.
fn data_reasons_only(reasons: &[Reason]) -> bool {
    let data = |r: &Reason| {
        matches!(
            r,
            Reason::NoMatchGtinSerial
                | Reason::NoMatchLot
                | Reason::NoMatchExpiry
                | Reason::UnknownProduct
        )
    };
    reasons
        .iter()
        .any(|r| data(r) && *r != Reason::UnknownProduct)
        && reasons.iter().all(data)
}

/// After a refused receipt, inside its transaction: holds the pack for its data and opens its
/// case when the refusal is only about data (see [`data_reasons_only`]). Returns whether the
/// pack was held.
pub(crate) fn hold_for_data_in(
    conn: &Connection,
    pid: &ProductIdentifier,
    serial: &str,
    assessment: &Assessment,
    context: &ReceiptContext,
) -> Result<bool, StoreError> {
    let reasons = &assessment.verdict.reasons;
    if !data_reasons_only(reasons) {
        return Ok(false);
    }
    let Ok(sgtin) = Sgtin::new(pid.gtin.clone(), serial) else {
        return Ok(false);
    };
    let now = context.now;
    let actor = context.actor.as_deref();
    let received = timestamp(now);
    // On hand, in the pending-data place: the stock row carries the pack's own lot and expiry.
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
        received,
    ])?;
    let (kind, why) = if reasons.contains(&Reason::NoMatchGtinSerial) {
        (
            ExceptionKind::MissingProductData,
            "received without data announcing it",
        )
    } else {
        (
            ExceptionKind::DataMisalignment,
            "received with data that disagrees with the pack",
        )
    };
    record_action_in(
        conn,
        &sgtin,
        ShelfAction::Hold(HoldKind::PendingData),
        Some(why),
        actor,
        now,
    )?;
    let unit = assessment.unit.as_ref();
    let due = grace_deadline(now.date_naive(), grace_days(conn)?);
    open_case_in(
        conn,
        kind,
        NewCase {
            shipment: context.shipment,
            gtin: Some(gtin_key(&pid.gtin)),
            serial: Some(serial.to_owned()),
            lot: pid.lot.clone(),
            expiry: pid.expiry.map(iso_date),
            data_lot: unit.and_then(|u| u.lot.clone()),
            data_expiry: unit.and_then(|u| u.expiry).map(iso_date),
            due: Some(iso_date(due)),
            ..NewCase::default()
        },
        actor,
        now,
    )?;
    Ok(true)
}

const CASE_COLUMNS: &str = "c.id, c.item_uuid, c.shipment, s.name, c.kind, c.gtin, c.serial,
    c.lot, c.expiry, c.data_lot, c.data_expiry, c.quantity_ordered, c.quantity_received, c.note,
    c.status, c.opened_at, c.opened_by, c.due_at, c.reported_at, c.resolved_at, c.resolved_by,
    c.resolution";

fn case_from_row(r: &rusqlite::Row<'_>) -> Result<ExceptionCase, StoreError> {
    let kind: String = r.get(4)?;
    let status: String = r.get(14)?;
    let resolution: Option<String> = r.get(21)?;
    Ok(ExceptionCase {
        id: r.get(0)?,
        item_uuid: r.get(1)?,
        shipment: r.get::<_, Option<i64>>(2)?.map(ShipmentId),
        shipment_name: r.get(3)?,
        kind: ExceptionKind::from_code(&kind)
            .ok_or_else(|| StoreError::Corrupt(format!("exception kind {kind}")))?,
        gtin: r.get::<_, Option<i64>>(5)?.map(gtin_from_key).transpose()?,
        serial: r.get(6)?,
        lot: r.get(7)?,
        expiry: parse_iso_date_opt(r.get::<_, Option<String>>(8)?.as_deref()),
        data_lot: r.get(9)?,
        data_expiry: parse_iso_date_opt(r.get::<_, Option<String>>(10)?.as_deref()),
        quantity_ordered: r.get::<_, Option<i64>>(11)?.map(|q| q.max(0) as u64),
        quantity_received: r.get::<_, Option<i64>>(12)?.map(|q| q.max(0) as u64),
        note: r.get(13)?,
        status: CaseStatus::from_code(&status)
            .ok_or_else(|| StoreError::Corrupt(format!("exception status {status}")))?,
        opened_at: r.get(15)?,
        opened_by: r.get(16)?,
        due: parse_iso_date_opt(r.get::<_, Option<String>>(17)?.as_deref()),
        reported_at: r.get(18)?,
        resolved_at: r.get(19)?,
        resolved_by: r.get(20)?,
        resolution: resolution.as_deref().and_then(Resolution::from_code),
    })
}

fn cases_in(conn: &Connection, filter: CaseFilter) -> Result<Vec<ExceptionCase>, StoreError> {
    let sql = format!(
        "SELECT {CASE_COLUMNS} FROM exception_cases c LEFT JOIN shipments s ON s.id = c.shipment
         WHERE (?1 IS NULL OR c.shipment = ?1) AND (?2 = 0 OR c.status = 'open')
         ORDER BY c.id"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query(params![filter.shipment.map(|s| s.0), filter.open_only])?;
    let mut cases = Vec::new();
    while let Some(row) = rows.next()? {
        cases.push(case_from_row(row)?);
    }
    Ok(cases)
}

fn case_in(conn: &Connection, id: i64) -> Result<Option<ExceptionCase>, StoreError> {
    let sql = format!(
        "SELECT {CASE_COLUMNS} FROM exception_cases c LEFT JOIN shipments s ON s.id = c.shipment
         WHERE c.id = ?1"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query([id])?;
    rows.next()?.map(case_from_row).transpose()
}

/// Whether a hold other than the pending-data one is in force on the unit (a pharmacist's).
fn other_holds(conn: &Connection, gtin: i64, serial: &str) -> Result<bool, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT 1 FROM holds WHERE gtin = ?1 AND serial = ?2 AND released_at IS NULL
             AND kind <> 'pending_data'",
        )?
        .exists(params![gtin, serial])?)
}

fn pending_hold(conn: &Connection, gtin: i64, serial: &str) -> Result<bool, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT 1 FROM holds WHERE gtin = ?1 AND serial = ?2 AND released_at IS NULL
             AND kind = 'pending_data'",
        )?
        .exists(params![gtin, serial])?)
}

impl super::Store {
    /// Exception cases, oldest first.
    pub fn exception_cases(&self, filter: CaseFilter) -> Result<Vec<ExceptionCase>, StoreError> {
        cases_in(self.conn(), filter)
    }

    /// One case.
    pub fn exception_case(&self, id: i64) -> Result<Option<ExceptionCase>, StoreError> {
        case_in(self.conn(), id)
    }

    /// A case's audit trail, oldest first.
    pub fn case_log(&self, id: i64) -> Result<Vec<CaseLogLine>, StoreError> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT at, actor, action, detail FROM exception_log WHERE case_id = ?1 ORDER BY id",
        )?;
        let rows = stmt.query_map([id], |r| {
            Ok(CaseLogLine {
                at: r.get(0)?,
                actor: r.get(1)?,
                action: r.get(2)?,
                detail: r.get(3)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// When the shipment was closed, if it was.
    pub fn shipment_closed_at(&self, id: ShipmentId) -> Result<Option<String>, StoreError> {
        Ok(self
            .conn()
            .prepare_cached("SELECT closed_at FROM shipments WHERE id = ?1")?
            .query_row([id.0], |r| r.get(0))?)
    }

    /// Closes a shipment: what it announced and never came, what came without data or with
    /// data that disagrees, and over- or under-shipment per GTIN become exception cases, in one
    /// transaction. Closing again records what changed since (new cases, missing packs that
    /// came after all) and keeps the first closing time.
    pub fn close_shipment(
        &mut self,
        id: ShipmentId,
        now: DateTime<FixedOffset>,
    ) -> Result<ClosedShipment, StoreError> {
        let actor = self.actor().map(str::to_owned);
        let actor = actor.as_deref();
        let tx = self
            .conn_mut()
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let grace = grace_days(&tx)?;
        let due = iso_date(grace_deadline(now.date_naive(), grace));
        let mut opened = 0;
        let mut resolved = 0;

        // Announced, never scanned: missing product. Scanned and refused because the pack's
        // lot or expiry is not the data's: misalignment (normally opened at the scan already).
        let mut announced = Vec::new();
        {
            let mut stmt = tx.prepare(
                "SELECT u.gtin, u.serial, l.lot, l.expiry,
                        (SELECT r.reasons || '|' || ifnull(r.lot, '') || '|' || ifnull(r.expiry, '')
                         FROM receipts r WHERE r.gtin = u.gtin AND r.serial = u.serial
                         ORDER BY r.accepted DESC, r.id DESC LIMIT 1),
                        EXISTS (SELECT 1 FROM receipts r WHERE r.gtin = u.gtin
                                AND r.serial = u.serial AND r.accepted = 1)
                 FROM units u LEFT JOIN lots l ON l.id = u.lot
                 WHERE u.shipment = ?1
                   -- A serialised case is accounted for by the packs it holds.
                   AND NOT EXISTS (SELECT 1 FROM case_units cu WHERE cu.case_gtin = u.gtin
                                   AND cu.case_serial = u.serial)
                 ORDER BY u.gtin, u.serial",
            )?;
            let mut rows = stmt.query([id.0])?;
            while let Some(r) = rows.next()? {
                announced.push((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, Option<String>>(2)?.filter(|s| !s.is_empty()),
                    r.get::<_, Option<String>>(3)?.filter(|s| !s.is_empty()),
                    r.get::<_, Option<String>>(4)?,
                    r.get::<_, bool>(5)?,
                ));
            }
        }
        for (gtin, serial, lot, expiry, last_receipt, accepted) in announced {
            if accepted {
                continue;
            }
            match last_receipt {
                None => {
                    let case = NewCase {
                        shipment: Some(id),
                        gtin: Some(gtin),
                        serial: Some(serial),
                        lot,
                        expiry,
                        ..NewCase::default()
                    };
                    if open_case_in(&tx, ExceptionKind::MissingProduct, case, actor, now)?.is_some()
                    {
                        opened += 1;
                    }
                }
                Some(last) => {
                    let mut parts = last.splitn(3, '|');
                    let reasons = parts.next().unwrap_or_default();
                    let pack_lot = parts.next().filter(|s| !s.is_empty()).map(str::to_owned);
                    let pack_expiry = parts.next().filter(|s| !s.is_empty()).map(str::to_owned);
                    let misaligned = reasons
                        .split(' ')
                        .any(|r| r == "no_match_lot" || r == "no_match_expiry");
                    if misaligned {
                        let case = NewCase {
                            shipment: Some(id),
                            gtin: Some(gtin),
                            serial: Some(serial),
                            lot: pack_lot,
                            expiry: pack_expiry,
                            data_lot: lot,
                            data_expiry: expiry,
                            due: Some(due.clone()),
                            ..NewCase::default()
                        };
                        if open_case_in(&tx, ExceptionKind::DataMisalignment, case, actor, now)?
                            .is_some()
                        {
                            opened += 1;
                        }
                    }
                }
            }
        }

        // Scanned against this shipment, announced nowhere, and still without data: missing
        // product data (normally opened at the scan already, with the pack held).
        let mut unannounced = Vec::new();
        {
            let mut stmt = tx.prepare(
                "SELECT r.gtin, r.serial, max(r.lot), max(r.expiry) FROM receipts r
                 WHERE r.shipment = ?1
                   AND NOT EXISTS (SELECT 1 FROM units u WHERE u.gtin = r.gtin
                                   AND u.serial = r.serial)
                 GROUP BY r.gtin, r.serial ORDER BY r.gtin, r.serial",
            )?;
            let mut rows = stmt.query([id.0])?;
            while let Some(r) = rows.next()? {
                unannounced.push((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, Option<String>>(2)?,
                    r.get::<_, Option<String>>(3)?,
                ));
            }
        }
        for (gtin, serial, lot, expiry) in unannounced {
            let case = NewCase {
                shipment: Some(id),
                gtin: Some(gtin),
                serial: Some(serial),
                lot,
                expiry,
                due: Some(due.clone()),
                ..NewCase::default()
            };
            if open_case_in(&tx, ExceptionKind::MissingProductData, case, actor, now)?.is_some() {
                opened += 1;
            }
        }

        // Quantities ordered per GTIN against packs physically received (accepted or held).
        let mut quantities = Vec::new();
        {
            let mut stmt = tx.prepare(
                "SELECT q.gtin, q.quantity,
                        (SELECT count(DISTINCT r.serial) FROM receipts r
                         WHERE r.shipment = q.shipment AND r.gtin = q.gtin
                           AND (r.accepted = 1 OR EXISTS (SELECT 1 FROM holds h
                                WHERE h.gtin = r.gtin AND h.serial = r.serial
                                AND h.kind = 'pending_data')))
                 FROM shipment_quantities q WHERE q.shipment = ?1 ORDER BY q.gtin",
            )?;
            let mut rows = stmt.query([id.0])?;
            while let Some(r) = rows.next()? {
                quantities.push((
                    r.get::<_, i64>(0)?,
                    r.get::<_, i64>(1)?.max(0) as u64,
                    r.get::<_, i64>(2)?.max(0) as u64,
                ));
            }
        }
        for (gtin, ordered, received) in quantities {
            let kind = match received.cmp(&ordered) {
                std::cmp::Ordering::Greater => ExceptionKind::Overage,
                std::cmp::Ordering::Less => ExceptionKind::Shortage,
                std::cmp::Ordering::Equal => continue,
            };
            let case = NewCase {
                shipment: Some(id),
                gtin: Some(gtin),
                quantity_ordered: Some(ordered),
                quantity_received: Some(received),
                ..NewCase::default()
            };
            if open_case_in(&tx, kind, case, actor, now)?.is_some() {
                opened += 1;
            }
        }

        // Missing packs that were received after all.
        let late: Vec<i64> = tx
            .prepare(
                "SELECT c.id FROM exception_cases c WHERE c.shipment = ?1 AND c.status = 'open'
                 AND c.kind = 'missing_product' AND EXISTS (SELECT 1 FROM receipts r
                     WHERE r.gtin = c.gtin AND r.serial = c.serial AND r.accepted = 1)",
            )?
            .query_map([id.0], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        for case in late {
            resolve_in(&tx, case, Resolution::ProductReceived, None, actor, now)?;
            resolved += 1;
        }

        let first_close: Option<String> = tx
            .prepare_cached("SELECT closed_at FROM shipments WHERE id = ?1")?
            .query_row([id.0], |r| r.get(0))?;
        let already_closed = first_close.is_some();
        let closed_at = first_close.unwrap_or_else(|| timestamp(now));
        tx.prepare_cached(
            "UPDATE shipments SET closed_at = ?2, closed_by = ifnull(closed_by, ?3) WHERE id = ?1",
        )?
        .execute(params![id.0, closed_at, actor])?;
        let shipment = shipment_info(&tx, id)?;
        let cases = cases_in(
            &tx,
            CaseFilter {
                shipment: Some(id),
                open_only: false,
            },
        )?;
        tx.commit()?;
        let progress = self.shipment_progress(id)?;
        tracing::info!(shipment = %shipment.name, opened, resolved, "shipment closed");
        Ok(ClosedShipment {
            shipment,
            progress,
            closed_at,
            already_closed,
            opened,
            resolved,
            cases,
        })
    }

    /// Records a pack the clerk found damaged or could not read, as a case on `shipment`.
    pub fn mark_damaged(
        &mut self,
        shipment: Option<ShipmentId>,
        pid: Option<&ProductIdentifier>,
        note: Option<&str>,
        now: DateTime<FixedOffset>,
    ) -> Result<ExceptionCase, StoreError> {
        let actor = self.actor().map(str::to_owned);
        let tx = self
            .conn_mut()
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let case = NewCase {
            shipment,
            gtin: pid.map(|p| gtin_key(&p.gtin)),
            serial: pid.and_then(|p| p.serial.clone()),
            lot: pid.and_then(|p| p.lot.clone()),
            expiry: pid.and_then(|p| p.expiry).map(iso_date),
            note: note.map(str::to_owned),
            ..NewCase::default()
        };
        let id = match open_case_in(&tx, ExceptionKind::Damaged, case, actor.as_deref(), now)? {
            Some(id) => id,
            None => {
                // The same pack marked twice: the case already open is the answer.
                tx.prepare_cached(
                    "SELECT id FROM exception_cases WHERE kind = 'damaged'
                     AND ifnull(shipment, 0) = ifnull(?1, 0) AND gtin IS ?2 AND serial IS ?3",
                )?
                .query_row(
                    params![
                        shipment.map(|s| s.0),
                        pid.map(|p| gtin_key(&p.gtin)),
                        pid.and_then(|p| p.serial.clone())
                    ],
                    |r| r.get(0),
                )?
            }
        };
        let case = case_in(&tx, id)?
            .ok_or_else(|| StoreError::Corrupt("a case just opened is gone".into()))?;
        tx.commit()?;
        Ok(case)
    }

    /// A pharmacist's decision on an open case. For a held pack: `Returned` ships it back,
    /// `QuarantinedSuspect` holds it as suspect product, `Destroyed` destroys it, each with
    /// its event; the pending-data hold is lifted first. Cases without a pack are `Settled` or
    /// `Dismissed`.
    pub fn resolve_case(
        &mut self,
        id: i64,
        resolution: Resolution,
        note: Option<&str>,
        now: DateTime<FixedOffset>,
    ) -> Result<ExceptionCase, StoreError> {
        let actor = self.actor().map(str::to_owned);
        let actor = actor.as_deref();
        let tx = self
            .conn_mut()
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let case = case_in(&tx, id)?.ok_or(StoreError::NoSuchCase(id))?;
        if case.status != CaseStatus::Open {
            return Err(StoreError::CaseClosed(id));
        }
        if !Resolution::decisions_for(case.kind).contains(&resolution) {
            return Err(StoreError::InvalidDecision {
                case: id,
                kind: case.kind.code(),
                decision: resolution.code(),
            });
        }
        if case.kind.holds_a_pack()
            && let Some(sgtin) = case.sgtin()
        {
            let key = gtin_key(&sgtin.gtin);
            let action = match resolution {
                Resolution::Returned => Some(ShelfAction::ReturnToSupplier),
                Resolution::Destroyed => Some(ShelfAction::Destroy),
                Resolution::QuarantinedSuspect => Some(ShelfAction::Hold(HoldKind::Suspect)),
                _ => None,
            };
            let on_hand = super::actions::stocked_unit(&tx, &sgtin.gtin, &sgtin.serial)?
                .is_some_and(|s| s.state == verify::StockState::OnHand);
            if on_hand {
                if pending_hold(&tx, key, &sgtin.serial)? {
                    tx.prepare_cached(
                        "UPDATE holds SET released_at = ?3 WHERE gtin = ?1 AND serial = ?2
                         AND released_at IS NULL AND kind = 'pending_data'",
                    )?
                    .execute(params![key, sgtin.serial, timestamp(now)])?;
                }
                if let Some(action) = action {
                    record_action_in(&tx, &sgtin, action, note, actor, now)?;
                }
            }
        }
        resolve_in(&tx, id, resolution, note, actor, now)?;
        let case = case_in(&tx, id)?.ok_or(StoreError::NoSuchCase(id))?;
        tx.commit()?;
        Ok(case)
    }

    /// Releases every pack held for its data that the data now vouches for: a receipt and its
    /// receiving event, the release and its event, and the case resolved, one transaction per
    /// pack. A pack whose late data disagrees with it stays held, its case now a
    /// misalignment. Returns how many packs were released. Run after every import.
    pub fn release_arrived_data(
        &mut self,
        today: NaiveDate,
        now: DateTime<FixedOffset>,
    ) -> Result<usize, StoreError> {
        let waiting: Vec<i64> = self
            .conn()
            .prepare_cached(
                "SELECT id FROM exception_cases WHERE status = 'open'
                 AND kind IN ('missing_product_data', 'data_misalignment')
                 AND gtin IS NOT NULL AND serial IS NOT NULL ORDER BY id",
            )?
            .query_map([], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        let mut released = 0;
        for case in waiting {
            if self.release_one(case, today, now)? {
                released += 1;
            }
        }
        Ok(released)
    }

    fn release_one(
        &mut self,
        id: i64,
        today: NaiveDate,
        now: DateTime<FixedOffset>,
    ) -> Result<bool, StoreError> {
        let actor = self.actor().map(str::to_owned);
        let tx = self
            .conn_mut()
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let Some(case) = case_in(&tx, id)? else {
            return Ok(false);
        };
        let Some(sgtin) = case.sgtin() else {
            return Ok(false);
        };
        let key = gtin_key(&sgtin.gtin);
        if super::facts::unit(&tx, &sgtin.gtin, &sgtin.serial)?.is_none() {
            return Ok(false);
        }
        let pid = ProductIdentifier {
            gtin: sgtin.gtin.clone(),
            serial: Some(sgtin.serial.clone()),
            lot: case.lot.clone(),
            expiry: case.expiry,
        };
        let assessment = super::facts::assess(&tx, Some(&pid), None, today)?;
        // The pending-data hold and the pack's own refused scans are this case, not reasons.
        let reasons: Vec<Reason> = assessment
            .verdict
            .reasons
            .iter()
            .copied()
            .filter(|r| !matches!(r, Reason::Quarantined | Reason::DuplicateScan))
            .collect();
        let actor = actor.as_deref();
        if !reasons.is_empty() {
            let unit = assessment.unit.as_ref();
            let misaligned = reasons
                .iter()
                .any(|r| matches!(r, Reason::NoMatchLot | Reason::NoMatchExpiry));
            if case.kind == ExceptionKind::MissingProductData && misaligned {
                tx.prepare_cached(
                    "UPDATE exception_cases SET kind = 'data_misalignment', data_lot = ?2,
                         data_expiry = ?3 WHERE id = ?1",
                )?
                .execute(params![
                    id,
                    unit.and_then(|u| u.lot.clone()),
                    unit.and_then(|u| u.expiry).map(iso_date)
                ])?;
                log_in(
                    &tx,
                    id,
                    "data arrived, disagrees with the pack",
                    Some(&reason_list(&reasons)),
                    actor,
                    now,
                )?;
                tx.commit()?;
            }
            return Ok(false);
        }
        let context = ReceiptContext::new(&tx, case.shipment, now, actor.map(str::to_owned))?;
        let verdict = Verdict::from_reasons(Vec::new());
        let (_, event_id) = record_receipt_in(&tx, &pid, &sgtin.serial, &context, &verdict)?;
        if pending_hold(&tx, key, &sgtin.serial)? && !other_holds(&tx, key, &sgtin.serial)? {
            record_action_in(
                &tx,
                &sgtin,
                ShelfAction::Release,
                Some("its data arrived"),
                actor,
                now,
            )?;
        }
        resolve_in(
            &tx,
            id,
            Resolution::DataReceived,
            Some(&format!("received as {event_id}")),
            actor,
            now,
        )?;
        tx.commit()?;
        tracing::info!(case = id, "held pack released: its data arrived");
        Ok(true)
    }

    /// The PDG exception report for a shipment's open cases, recorded as sent (each case's
    /// log names the message). `contact` is the sender's e-mail (else the `contact_email`
    /// setting).
    pub fn exception_report(
        &mut self,
        id: ShipmentId,
        contact: Option<&str>,
        now: DateTime<FixedOffset>,
    ) -> Result<Value, StoreError> {
        let actor = self.actor().map(str::to_owned);
        let email = match contact {
            Some(email) => {
                parse_contact_email(email).map_err(|message| StoreError::InvalidSetting {
                    key: "--contact".into(),
                    message,
                })?
            }
            None => self.setting(CONTACT_KEY)?.ok_or(StoreError::NoContact)?,
        };
        let site_gln = self.site_gln()?.map(|g| g.as_str().to_owned());
        let tx = self
            .conn_mut()
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let shipment = shipment_info(&tx, id)?;
        let case_uuid: String = match tx
            .prepare_cached("SELECT exception_case_uuid FROM shipments WHERE id = ?1")?
            .query_row([id.0], |r| r.get::<_, Option<String>>(0))?
        {
            Some(uuid) => uuid,
            None => {
                let uuid = uuid::Uuid::new_v4().to_string();
                tx.prepare_cached("UPDATE shipments SET exception_case_uuid = ?2 WHERE id = ?1")?
                    .execute(params![id.0, uuid])?;
                uuid
            }
        };
        let po = shipment
            .refs
            .iter()
            .find(|(kind, _)| kind == "po")
            .map(|(_, r)| r.clone())
            .unwrap_or_else(|| shipment.name.clone());
        let file_id: Option<String> = tx
            .prepare_cached(
                "SELECT ifnull(d.instance_id, d.sha256) FROM transactions t
                 JOIN documents d ON d.id = t.document WHERE t.shipment = ?1
                 ORDER BY t.id LIMIT 1",
            )?
            .query_row([id.0], |r| r.get(0))
            .optional()?;
        let cases = cases_in(
            &tx,
            CaseFilter {
                shipment: Some(id),
                open_only: true,
            },
        )?;
        let items: Vec<ReportItem> = cases
            .iter()
            .map(|c| ReportItem {
                item_uuid: c.item_uuid.clone(),
                kind: c.kind,
                gtin: c.gtin.as_ref().map(|g| g.as_str().to_owned()),
                serial: c.serial.clone(),
                lot: c.lot.clone(),
                expiry: c.expiry,
                data_lot: c.data_lot.clone(),
                data_expiry: c.data_expiry,
                quantity_ordered: c.quantity_ordered,
                quantity_received: c.quantity_received,
                file_id: Some(file_id.clone().unwrap_or_else(|| shipment.name.clone())),
                note: c.note.clone(),
            })
            .collect();
        let message_uuid = uuid::Uuid::new_v4().to_string();
        let header = ReportHeader {
            message_uuid: message_uuid.clone(),
            exception_case_uuid: case_uuid,
            timestamp: now.timestamp(),
            po_number: po,
            sender: Contact {
                email,
                gln: site_gln,
                phone: None,
                vp: None,
            },
            case_resolved: items.is_empty(),
        };
        let report = pdg::report(&header, &items);
        for case in &cases {
            tx.prepare_cached(
                "UPDATE exception_cases SET reported_at = ifnull(reported_at, ?2) WHERE id = ?1",
            )?
            .execute(params![case.id, timestamp(now)])?;
            log_in(
                &tx,
                case.id,
                "reported",
                Some(&message_uuid),
                actor.as_deref(),
                now,
            )?;
        }
        tx.commit()?;
        Ok(report)
    }

    /// Applies a partner's PDG exception response, all of it or nothing: an acceptance settles
    /// a case without a pack here, and leaves a held pack's case open until the promised data
    /// arrives; a rejection (with its counter-proposal) is logged and the case stays open for
    /// the pharmacist.
    pub fn apply_exception_response(
        &mut self,
        response: &pdg::Response,
        now: DateTime<FixedOffset>,
    ) -> Result<ResponseOutcome, StoreError> {
        let actor = self.actor().map(str::to_owned);
        let actor = actor.as_deref();
        let tx = self
            .conn_mut()
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let shipment: Option<(i64, String)> = tx
            .prepare_cached("SELECT id, name FROM shipments WHERE exception_case_uuid = ?1")?
            .query_row([&response.exception_case_uuid], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .optional()?;
        let Some((shipment, name)) = shipment else {
            return Err(StoreError::UnknownExceptionCase(
                response.exception_case_uuid.clone(),
            ));
        };
        let mut outcome = ResponseOutcome {
            shipment: name,
            ..ResponseOutcome::default()
        };
        let from = &response.sender_information.email;
        for item in response.response_items.as_deref().unwrap_or_default() {
            let found: Option<(i64, String, String)> = tx
                .prepare_cached(
                    "SELECT id, kind, status FROM exception_cases
                     WHERE item_uuid = ?1 AND shipment = ?2",
                )?
                .query_row(params![item.exception_item_uuid, shipment], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                })
                .optional()?;
            let Some((case, kind, status)) = found else {
                return Err(StoreError::UnknownExceptionItem(
                    item.exception_item_uuid.clone(),
                ));
            };
            let kind = ExceptionKind::from_code(&kind)
                .ok_or_else(|| StoreError::Corrupt(format!("exception kind {kind}")))?;
            let comments = item.comments.as_deref().unwrap_or_default();
            match item.resolution_response {
                pdg::Answer::Accept => {
                    let detail = format!("{from} accepted: {comments}");
                    log_in(&tx, case, "partner accepted", Some(&detail), actor, now)?;
                    if status == "open" && !kind.holds_a_pack() {
                        resolve_in(&tx, case, Resolution::Settled, Some(&detail), actor, now)?;
                        outcome.settled += 1;
                    } else if status == "open" {
                        outcome.awaiting += 1;
                    }
                }
                pdg::Answer::Reject => {
                    let proposal = item
                        .alternative_resolution
                        .as_ref()
                        .and_then(|a| a.alternative_resolution)
                        .map(|r| format!("; proposes: {r}"))
                        .unwrap_or_default();
                    let detail = format!("{from} rejected: {comments}{proposal}");
                    log_in(&tx, case, "partner rejected", Some(&detail), actor, now)?;
                    outcome.rejected += 1;
                }
            }
        }
        tx.commit()?;
        Ok(outcome)
    }
}

fn reason_list(reasons: &[Reason]) -> String {
    reasons
        .iter()
        .map(|r| r.code())
        .collect::<Vec<_>>()
        .join(" ")
}

/// How many days a case has been open on `today` (0 on the day it opened).
pub fn age_days(case: &ExceptionCase, today: NaiveDate) -> i64 {
    DateTime::parse_from_rfc3339(&case.opened_at)
        .map(|opened| (today - opened.date_naive()).num_days().max(0))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_data_reasons_hold_a_pack() {
        assert!(data_reasons_only(&[Reason::NoMatchGtinSerial]));
        assert!(data_reasons_only(&[
            Reason::NoMatchGtinSerial,
            Reason::UnknownProduct
        ]));
        assert!(data_reasons_only(&[Reason::NoMatchLot]));
        assert!(!data_reasons_only(&[Reason::UnknownProduct]));
        assert!(!data_reasons_only(&[
            Reason::NoMatchGtinSerial,
            Reason::Expired
        ]));
        assert!(!data_reasons_only(&[Reason::NoMatchLot, Reason::Recalled]));
        assert!(!data_reasons_only(&[]));
    }

    #[test]
    fn contact_addresses_are_checked() {
        assert!(parse_contact_email("rx@pharmacy.example").is_ok());
        assert!(parse_contact_email("rx").is_err());
        assert!(parse_contact_email("a b@c.d").is_err());
        assert_eq!(parse_grace_days("5"), Ok(5));
        assert!(parse_grace_days("61").is_err());
        assert!(parse_grace_days("x").is_err());
    }
}
