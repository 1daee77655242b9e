//! Pharmacist and shelf actions on one unit, each recorded with its EPCIS event.
//!
//! A hold, a release, a dispense, a decommission, a destruction, a return to the supplier and
//! a saleable return restocked each change the unit's state here (`holds`, `stock`), write an
//! audit line (`actions`) and build the action's EPCIS event into `events` and the sync
//! `outbox`, all in ONE transaction: the state never changes without its event, and no event
//! is queued for a change that was rolled back.
//!
//! [`Store::record_action`] records what a pharmacist decided, without a verdict: she is the
//! authority. [`Store::move_unit`] is the clerk's path for a unit leaving (or coming back to)
//! the shelf: the scan is verified first ([`verify::movement_verdict`]) and the action recorded
//! only when it passes, in the same transaction as the checks.
//!
//! Each action's event names who acted (`tracedesk:actor`) when the store handle was told
//! ([`super::Store::set_actor`]): the command line names the machine's account, the kiosk its
//! pharmacist.

use super::facts::{product, site_location, unit};
use super::{
    Assessment, StoreError, gtin_key, iso_date, parse_iso_date_opt, record_event, timestamp,
};
use crate::epcis::event::{self as desk_event, DeskAction, DeskEvent};
use crate::gs1::{ParsedScan, Sgtin};
use crate::verify::{self, Facts, Movement, ProductIdentifier, StockState, StockedUnit};
use chrono::{DateTime, FixedOffset, NaiveDate};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

/// Why a pharmacist holds a unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HoldKind {
    /// Held pending investigation; verifies as `quarantined`.
    Quarantine,
    /// Under investigation as a suspect product (DSCSA); verifies as `suspect`.
    Suspect,
    /// Confirmed illegitimate (DSCSA): kept out of stock; verifies as `suspect`.
    Illegitimate,
    /// Received without data announcing it (or with data that disagrees): on hand in the
    /// "pending data" place, not sellable, released by itself when the data arrives; verifies
    /// as `quarantined` meanwhile.
    PendingData,
}

impl HoldKind {
    /// The word stored in `holds.kind` and shown as the unit's status.
    pub fn code(self) -> &'static str {
        match self {
            HoldKind::Quarantine => "quarantined",
            HoldKind::Suspect => "suspect",
            HoldKind::Illegitimate => "illegitimate",
            HoldKind::PendingData => "pending_data",
        }
    }

    /// The kind named by [`HoldKind::code`]; `quarantine` is the version-1 default.
    pub fn from_code(code: &str) -> Option<HoldKind> {
        match code {
            "quarantined" | "quarantine" => Some(HoldKind::Quarantine),
            "suspect" => Some(HoldKind::Suspect),
            "illegitimate" => Some(HoldKind::Illegitimate),
            "pending_data" => Some(HoldKind::PendingData),
            _ => None,
        }
    }
}

/// Something done to one unit after its receipt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ShelfAction {
    Hold(HoldKind),
    /// Lift every hold in force.
    Release,
    Dispense,
    Decommission,
    Destroy,
    ReturnToSupplier,
    /// A saleable return put back on the shelf.
    Restock,
}

impl ShelfAction {
    /// The EPCIS event this action records.
    pub fn desk_action(self) -> DeskAction {
        match self {
            ShelfAction::Hold(_) => DeskAction::Hold,
            ShelfAction::Release => DeskAction::Release,
            ShelfAction::Dispense => DeskAction::Dispense,
            ShelfAction::Decommission => DeskAction::Decommission,
            ShelfAction::Destroy => DeskAction::Destroy,
            ShelfAction::ReturnToSupplier => DeskAction::ReturnToSupplier,
            ShelfAction::Restock => DeskAction::SaleableReturnRestock,
        }
    }

    /// The word in the audit trail (`actions.action`) and the event's `kind`.
    pub fn as_str(self) -> &'static str {
        match self {
            ShelfAction::Hold(HoldKind::Quarantine) => "hold",
            ShelfAction::Hold(HoldKind::Suspect) => "hold_suspect",
            ShelfAction::Hold(HoldKind::Illegitimate) => "hold_illegitimate",
            ShelfAction::Hold(HoldKind::PendingData) => "hold_pending_data",
            ShelfAction::Release => "release",
            ShelfAction::Dispense => "dispense",
            ShelfAction::Decommission => "decommission",
            ShelfAction::Destroy => "destroy",
            ShelfAction::ReturnToSupplier => "return",
            ShelfAction::Restock => "restock",
        }
    }

    /// Plain words for history lists.
    pub fn label(self) -> &'static str {
        match self {
            ShelfAction::Hold(HoldKind::Quarantine) => "Quarantined",
            ShelfAction::Hold(HoldKind::Suspect) => "Held as suspect",
            ShelfAction::Hold(HoldKind::Illegitimate) => "Marked illegitimate",
            ShelfAction::Hold(HoldKind::PendingData) => "Held: waiting for its data",
            ShelfAction::Release => "Hold released",
            ShelfAction::Dispense => "Dispensed",
            ShelfAction::Decommission => "Decommissioned",
            ShelfAction::Destroy => "Destroyed",
            ShelfAction::ReturnToSupplier => "Returned to supplier",
            ShelfAction::Restock => "Restocked (saleable return)",
        }
    }

    /// The action named by [`ShelfAction::as_str`].
    pub fn from_code(code: &str) -> Option<ShelfAction> {
        [
            ShelfAction::Hold(HoldKind::Quarantine),
            ShelfAction::Hold(HoldKind::Suspect),
            ShelfAction::Hold(HoldKind::Illegitimate),
            ShelfAction::Hold(HoldKind::PendingData),
            ShelfAction::Release,
            ShelfAction::Dispense,
            ShelfAction::Decommission,
            ShelfAction::Destroy,
            ShelfAction::ReturnToSupplier,
            ShelfAction::Restock,
        ]
        .into_iter()
        .find(|a| a.as_str() == code)
    }

    /// Where the unit is afterwards, for actions that move it.
    fn stock_state(self) -> Option<StockState> {
        match self {
            ShelfAction::Dispense => Some(StockState::Dispensed),
            ShelfAction::Decommission => Some(StockState::Decommissioned),
            ShelfAction::Destroy => Some(StockState::Destroyed),
            ShelfAction::ReturnToSupplier => Some(StockState::ReturnedToSupplier),
            ShelfAction::Restock => Some(StockState::OnHand),
            ShelfAction::Hold(_) | ShelfAction::Release => None,
        }
    }
}

impl From<Movement> for ShelfAction {
    fn from(movement: Movement) -> ShelfAction {
        match movement {
            Movement::Dispense => ShelfAction::Dispense,
            Movement::ReturnToSupplier => ShelfAction::ReturnToSupplier,
            Movement::Restock => ShelfAction::Restock,
        }
    }
}

/// What [`Store::record_action`] recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionRecord {
    pub action: ShelfAction,
    /// The audit line (`actions` row).
    pub action_id: i64,
    /// The EPCIS event recorded and queued for sync.
    pub event_id: String,
    /// For a release: how many holds were lifted.
    pub released: usize,
}

/// The outcome of a dispense, return or restock scan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MovementOutcome {
    pub assessment: Assessment,
    /// Recorded when the verdict was verified; `None` when refused or not a unit.
    pub record: Option<ActionRecord>,
}

impl super::Store {
    /// Record a pharmacist's or the shelf's action on a unit: its state change, audit line and
    /// EPCIS event with the outbox row, in one transaction. A release of a unit that is not
    /// held is refused ([`StoreError::NotHeld`]) and records nothing.
    pub fn record_action(
        &mut self,
        sgtin: &Sgtin,
        action: ShelfAction,
        reason: Option<&str>,
        now: DateTime<FixedOffset>,
    ) -> Result<ActionRecord, StoreError> {
        let actor = self.actor().map(str::to_owned);
        let tx = self
            .conn_mut()
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let record = record_action_in(&tx, sgtin, action, reason, actor.as_deref(), now)?;
        tx.commit()?;
        Ok(record)
    }

    /// Quarantine many units at once (a recall), each with its own event, in one transaction.
    /// Units already held are left as they are (and not in the result).
    pub fn quarantine_all(
        &mut self,
        units: &[Sgtin],
        reason: &str,
        now: DateTime<FixedOffset>,
    ) -> Result<Vec<(Sgtin, ActionRecord)>, StoreError> {
        let actor = self.actor().map(str::to_owned);
        let tx = self
            .conn_mut()
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let records = quarantine_all_in(&tx, units, reason, actor.as_deref(), now)?;
        tx.commit()?;
        Ok(records)
    }

    /// Verify a scan for a dispense, return to supplier or restock, and record the action
    /// when it passes, in one transaction (no other writer can change the unit in between).
    pub fn move_unit(
        &mut self,
        scan: &ParsedScan,
        movement: Movement,
        today: NaiveDate,
        now: DateTime<FixedOffset>,
    ) -> Result<MovementOutcome, StoreError> {
        let actor = self.actor().map(str::to_owned);
        let tx = self
            .conn_mut()
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let pid = ProductIdentifier::from_scan(scan);
        let outcome = move_unit_in(&tx, pid.as_ref(), movement, today, actor.as_deref(), now)?;
        tx.commit()?;
        Ok(outcome)
    }
}

/// [`Store::quarantine_all`] inside the caller's transaction (a recall applied whole).
pub(crate) fn quarantine_all_in(
    conn: &Connection,
    units: &[Sgtin],
    reason: &str,
    actor: Option<&str>,
    now: DateTime<FixedOffset>,
) -> Result<Vec<(Sgtin, ActionRecord)>, StoreError> {
    let mut records = Vec::new();
    for sgtin in units {
        let (quarantined, suspect) =
            super::facts::holds_in_force(conn, &sgtin.gtin, &sgtin.serial)?;
        if quarantined || suspect {
            continue;
        }
        let record = record_action_in(
            conn,
            sgtin,
            ShelfAction::Hold(HoldKind::Quarantine),
            Some(reason),
            actor,
            now,
        )?;
        records.push((sgtin.clone(), record));
    }
    Ok(records)
}

fn move_unit_in(
    conn: &Connection,
    pid: Option<&ProductIdentifier>,
    movement: Movement,
    today: NaiveDate,
    actor: Option<&str>,
    now: DateTime<FixedOffset>,
) -> Result<MovementOutcome, StoreError> {
    let Some(pid) = pid else {
        return Ok(MovementOutcome {
            assessment: Assessment {
                verdict: verify::Verdict::from_reasons(vec![verify::Reason::InvalidBarcode]),
                product: None,
                unit: None,
            },
            record: None,
        });
    };
    let product = product(conn, &pid.gtin)?;
    let mut facts = Facts {
        product_known: product.is_some(),
        ..Facts::default()
    };
    let mut stocked = None;
    if let Some(serial) = &pid.serial {
        facts.unit = unit(conn, &pid.gtin, serial)?;
        (facts.held, facts.suspect) = super::facts::holds_in_force(conn, &pid.gtin, serial)?;
        stocked = stocked_unit(conn, &pid.gtin, serial)?;
    }
    let lots = [
        pid.lot.as_deref(),
        facts.unit.as_ref().and_then(|u| u.lot.as_deref()),
        stocked.as_ref().and_then(|s| s.lot.as_deref()),
    ];
    for lot in lots.into_iter().flatten() {
        facts.lot_recalled =
            facts.lot_recalled || super::facts::lot_recalled(conn, &pid.gtin, lot)?;
    }
    let verdict = verify::movement_verdict(movement, pid, &facts, stocked.as_ref(), today);
    let record = match (&pid.serial, verdict.is_verified()) {
        (Some(serial), true) => {
            let sgtin = Sgtin::new(pid.gtin.clone(), serial)
                .map_err(|e| StoreError::Corrupt(format!("serial {serial}: {e}")))?;
            Some(record_action_in(
                conn,
                &sgtin,
                movement.into(),
                None,
                actor,
                now,
            )?)
        }
        _ => None,
    };
    Ok(MovementOutcome {
        assessment: Assessment {
            verdict,
            product,
            unit: facts.unit,
        },
        record,
    })
}

/// The unit as received here, when it was.
pub(crate) fn stocked_unit(
    conn: &Connection,
    gtin: &crate::gs1::Gtin,
    serial: &str,
) -> Result<Option<StockedUnit>, StoreError> {
    let row: Option<(Option<String>, Option<String>, u8)> = conn
        .prepare_cached("SELECT lot, expiry, state FROM stock WHERE gtin = ?1 AND serial = ?2")?
        .query_row(params![gtin_key(gtin), serial], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .optional()?;
    row.map(|(lot, expiry, state)| {
        Ok(StockedUnit {
            lot,
            expiry: parse_iso_date_opt(expiry.as_deref()),
            state: StockState::from_code(state)
                .ok_or_else(|| StoreError::Corrupt(format!("stock state code {state}")))?,
        })
    })
    .transpose()
}

/// Record one action inside the caller's transaction; `actor` (who did it) goes into the event.
pub(crate) fn record_action_in(
    conn: &Connection,
    sgtin: &Sgtin,
    action: ShelfAction,
    reason: Option<&str>,
    actor: Option<&str>,
    now: DateTime<FixedOffset>,
) -> Result<ActionRecord, StoreError> {
    let key = gtin_key(&sgtin.gtin);
    let at = timestamp(now);
    let mut released = 0;
    match action {
        ShelfAction::Hold(kind) => {
            conn.prepare_cached(
                "INSERT INTO holds (gtin, serial, reason, held_at, kind) VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(params![
                key,
                sgtin.serial,
                reason.unwrap_or(kind.code()),
                at,
                kind.code()
            ])?;
        }
        ShelfAction::Release => {
            released = conn
                .prepare_cached(
                    "UPDATE holds SET released_at = ?3
                     WHERE gtin = ?1 AND serial = ?2 AND released_at IS NULL",
                )?
                .execute(params![key, sgtin.serial, at])?;
            if released == 0 {
                return Err(StoreError::NotHeld(sgtin.digital_link()));
            }
        }
        _ => {}
    }
    // Lot and expiry as received here, else as announced, for the event's ILMD.
    let stocked = stocked_unit(conn, &sgtin.gtin, &sgtin.serial)?;
    let announced = unit(conn, &sgtin.gtin, &sgtin.serial)?;
    let lot = stocked
        .as_ref()
        .and_then(|s| s.lot.clone())
        .or_else(|| announced.as_ref().and_then(|u| u.lot.clone()));
    let expiry = stocked
        .as_ref()
        .and_then(|s| s.expiry)
        .or_else(|| announced.as_ref().and_then(|u| u.expiry));
    // A suspect pack puts its whole lot under investigation (DSCSA: verify a sample of it).
    if action == ShelfAction::Hold(HoldKind::Suspect)
        && let Some(lot) = &lot
    {
        super::investigation::open_in(conn, &sgtin.gtin, lot, actor, now)?;
    }
    if let Some(state) = action.stock_state() {
        let changed = conn
            .prepare_cached(
                "UPDATE stock SET state = ?3, changed_at = ?4 WHERE gtin = ?1 AND serial = ?2",
            )?
            .execute(params![key, sgtin.serial, state.code(), at])?;
        // A saleable return of a unit never received here joins the stock now.
        if changed == 0 && action == ShelfAction::Restock {
            conn.prepare_cached(
                "INSERT INTO stock (gtin, serial, lot, expiry, received_at, state, changed_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, 0, ?5)",
            )?
            .execute(params![key, sgtin.serial, lot, expiry.map(iso_date), at])?;
        }
    }
    let site = site_location(conn)?;
    let event = DeskEvent {
        action: action.desk_action(),
        event_time: now,
        units: vec![desk_event::Unit {
            gtin: sgtin.gtin.as_str().to_string(),
            serial: sgtin.serial.clone(),
        }],
        read_point: site.clone(),
        biz_location: site,
        biz_transactions: Vec::new(),
        lot,
        expiry,
        failure_reasons: Vec::new(),
        actor: actor.map(str::to_owned),
    };
    let event_id = record_event(conn, &event, action.as_str())?;
    conn.prepare_cached(
        "INSERT INTO actions (gtin, serial, action, reason, at, event_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        key,
        sgtin.serial,
        action.as_str(),
        reason,
        at,
        event_id
    ])?;
    let action_id = conn.last_insert_rowid();
    tracing::info!(
        action = action.as_str(),
        gtin = sgtin.gtin.as_str(),
        serial = %sgtin.serial,
        reason = reason.unwrap_or(""),
        actor = actor.unwrap_or(""),
        event_id = %event_id,
        "unit action recorded"
    );
    Ok(ActionRecord {
        action,
        action_id,
        event_id,
        released,
    })
}
