//! Writing the units suppliers announce (by EPCIS events, the demo or the generator), a lot
//! row looked up once per lot rather than once per unit.

use rusqlite::{Connection, OptionalExtension, params};

use super::super::StoreError;
use super::Change;
use crate::verify::UnitStatus;

/// Writes announced units, remembering the last lot row so that units arriving grouped by lot
/// (as commissioning events and generated data do) cost one lot lookup per lot, not per unit.
pub(crate) struct UnitWriter {
    last_lot: Option<(i64, String, String, i64)>,
}

/// One unit as an event or generator announces it; `None` fields leave what is stored.
#[derive(Debug, Clone, Copy)]
pub(crate) struct UnitAnnouncement<'a> {
    pub gtin: i64,
    pub serial: &'a str,
    /// `(lot, ISO expiry)`; either may be empty when unknown.
    pub lot: Option<(&'a str, &'a str)>,
    pub status: Option<UnitStatus>,
    pub shipment: Option<i64>,
}

impl UnitWriter {
    pub(crate) fn new() -> UnitWriter {
        UnitWriter { last_lot: None }
    }

    fn lot_id(
        &mut self,
        conn: &Connection,
        gtin: i64,
        lot: &str,
        expiry: &str,
    ) -> Result<i64, StoreError> {
        if let Some((g, l, e, id)) = &self.last_lot
            && *g == gtin
            && l == lot
            && e == expiry
        {
            return Ok(*id);
        }
        let found: Option<i64> = conn
            .prepare_cached("SELECT id FROM lots WHERE gtin = ?1 AND lot = ?2 AND expiry = ?3")?
            .query_row(params![gtin, lot, expiry], |r| r.get(0))
            .optional()?;
        let id = match found {
            Some(id) => id,
            None => {
                conn.prepare_cached("INSERT INTO lots (gtin, lot, expiry) VALUES (?1, ?2, ?3)")?
                    .execute(params![gtin, lot, expiry])?;
                conn.last_insert_rowid()
            }
        };
        self.last_lot = Some((gtin, lot.to_string(), expiry.to_string(), id));
        Ok(id)
    }

    /// Insert or update one unit. A new unit without a status is active.
    pub(crate) fn write(
        &mut self,
        conn: &Connection,
        unit: &UnitAnnouncement<'_>,
    ) -> Result<Change, StoreError> {
        self.write_tracked(conn, unit).map(|(change, _)| change)
    }

    /// [`Self::write`], also giving what an updated unit held before (for an import's undo).
    pub(crate) fn write_tracked(
        &mut self,
        conn: &Connection,
        unit: &UnitAnnouncement<'_>,
    ) -> Result<(Change, Option<PriorUnit>), StoreError> {
        let lot = match unit.lot {
            Some((lot, expiry)) => Some(self.lot_id(conn, unit.gtin, lot, expiry)?),
            None => None,
        };
        // Insert first: in a bulk announcement almost every unit is new, and a conflict-free
        // insert costs one b-tree descent where look-then-insert costs two.
        let inserted = conn
            .prepare_cached(
                "INSERT INTO units (gtin, serial, lot, status, shipment)
                 VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (gtin, serial) DO NOTHING",
            )?
            .execute(params![
                unit.gtin,
                unit.serial,
                lot,
                unit.status.unwrap_or_default().code(),
                unit.shipment
            ])?;
        if inserted > 0 {
            return Ok((Change::Inserted, None));
        }
        let old: (Option<i64>, u8, Option<i64>) = conn
            .prepare_cached(
                "SELECT lot, status, shipment FROM units WHERE gtin = ?1 AND serial = ?2",
            )?
            .query_row(params![unit.gtin, unit.serial], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })?;
        let new = (
            lot.or(old.0),
            unit.status.map(UnitStatus::code).unwrap_or(old.1),
            unit.shipment.or(old.2),
        );
        if new == old {
            return Ok((Change::Unchanged, None));
        }
        conn.prepare_cached(
            "UPDATE units SET lot = ?3, status = ?4, shipment = ?5
             WHERE gtin = ?1 AND serial = ?2",
        )?
        .execute(params![unit.gtin, unit.serial, new.0, new.1, new.2])?;
        Ok((
            Change::Updated,
            Some(PriorUnit {
                lot: old.0,
                status: old.1,
                shipment: old.2,
            }),
        ))
    }
}

/// What a unit row held before an update.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PriorUnit {
    pub lot: Option<i64>,
    pub status: u8,
    pub shipment: Option<i64>,
}
