//! Shipments and their reconciliation.
//!
//! A shipment is what a supplier's shipping events announced for this site: a set of units,
//! known by its references (purchase order, despatch advice / ASN, the SSCCs of its cases, or
//! the shipping event's ID). Receiving against it reconciles as the clerk goes: each expected
//! unit is received (accepted here), rejected (scanned, but every scan failed) or still
//! missing; units scanned against it that it does not list are unexpected.

use super::{StoreError, gtin_from_key, timestamp};
use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};

/// A shipment's row in the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ShipmentId(pub(crate) i64);

/// A shipment and the references it is known by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShipmentInfo {
    pub id: ShipmentId,
    /// The reference shown to people (the ASN when there is one, else the PO...).
    pub name: String,
    pub source: Option<String>,
    /// `(kind, reference)`: kind is `po`, `desadv`, `sscc`, `event`...
    pub refs: Vec<(String, String)>,
}

/// Counts of a shipment's reconciliation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ShipmentProgress {
    pub expected: u64,
    pub received: u64,
    pub rejected: u64,
    pub missing: u64,
    pub unexpected: u64,
}

/// Where one unit stands in a shipment's reconciliation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum UnitState {
    Received,
    Rejected,
    Missing,
    Unexpected,
}

impl UnitState {
    pub fn as_str(self) -> &'static str {
        match self {
            UnitState::Received => "received",
            UnitState::Rejected => "rejected",
            UnitState::Missing => "missing",
            UnitState::Unexpected => "unexpected",
        }
    }
}

/// One unit's line in a reconciliation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReconciledUnit {
    pub gtin: crate::gs1::Gtin,
    pub serial: String,
    pub lot: Option<String>,
    pub expiry: Option<String>,
    pub state: UnitState,
}

/// A shipment's full reconciliation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reconciliation {
    pub shipment: ShipmentInfo,
    pub progress: ShipmentProgress,
    /// Expected units in key order, then unexpected ones.
    pub units: Vec<ReconciledUnit>,
}

impl super::Store {
    /// The shipment known by `reference` (PO, ASN, SSCC, event ID or its name).
    pub fn find_shipment(&self, reference: &str) -> Result<Option<ShipmentId>, StoreError> {
        find_shipment(self.conn(), reference)
    }

    /// Every shipment, newest first.
    pub fn shipments(&self) -> Result<Vec<ShipmentInfo>, StoreError> {
        let ids: Vec<i64> = self
            .conn()
            .prepare("SELECT id FROM shipments ORDER BY id DESC")?
            .query_map([], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        ids.into_iter()
            .map(|id| shipment_info(self.conn(), ShipmentId(id)))
            .collect()
    }

    pub fn shipment_info(&self, id: ShipmentId) -> Result<ShipmentInfo, StoreError> {
        shipment_info(self.conn(), id)
    }

    /// The counts of a shipment's reconciliation, as the clerk receives it.
    pub fn shipment_progress(&self, id: ShipmentId) -> Result<ShipmentProgress, StoreError> {
        let conn = self.conn();
        let count = |sql: &str| -> Result<u64, StoreError> {
            Ok(conn.prepare_cached(sql)?.query_row([id.0], |r| r.get(0))?)
        };
        let expected = count("SELECT count(*) FROM units WHERE shipment = ?1")?;
        let received = count(
            "SELECT count(*) FROM units u WHERE u.shipment = ?1 AND EXISTS
               (SELECT 1 FROM receipts r WHERE r.gtin = u.gtin AND r.serial = u.serial
                AND r.accepted = 1)",
        )?;
        let scanned = count(
            "SELECT count(*) FROM units u WHERE u.shipment = ?1 AND EXISTS
               (SELECT 1 FROM receipts r WHERE r.gtin = u.gtin AND r.serial = u.serial)",
        )?;
        let unexpected = count(
            "SELECT count(*) FROM (SELECT DISTINCT r.gtin, r.serial FROM receipts r
               WHERE r.shipment = ?1 AND NOT EXISTS
               (SELECT 1 FROM units u WHERE u.gtin = r.gtin AND u.serial = r.serial
                AND u.shipment = ?1))",
        )?;
        Ok(ShipmentProgress {
            expected,
            received,
            rejected: scanned.saturating_sub(received),
            missing: expected.saturating_sub(scanned),
            unexpected,
        })
    }

    /// The full reconciliation of a shipment, unit by unit.
    pub fn reconcile(&self, id: ShipmentId) -> Result<Reconciliation, StoreError> {
        let conn = self.conn();
        let shipment = shipment_info(conn, id)?;
        let mut units = Vec::new();
        let mut stmt = conn.prepare(
            "SELECT u.gtin, u.serial, l.lot, l.expiry,
                    EXISTS (SELECT 1 FROM receipts r WHERE r.gtin = u.gtin
                            AND r.serial = u.serial AND r.accepted = 1),
                    EXISTS (SELECT 1 FROM receipts r WHERE r.gtin = u.gtin
                            AND r.serial = u.serial)
             FROM units u LEFT JOIN lots l ON l.id = u.lot
             WHERE u.shipment = ?1 ORDER BY u.gtin, u.serial",
        )?;
        let mut rows = stmt.query([id.0])?;
        while let Some(r) = rows.next()? {
            let state = match (r.get::<_, bool>(4)?, r.get::<_, bool>(5)?) {
                (true, _) => UnitState::Received,
                (false, true) => UnitState::Rejected,
                (false, false) => UnitState::Missing,
            };
            units.push(ReconciledUnit {
                gtin: gtin_from_key(r.get(0)?)?,
                serial: r.get(1)?,
                lot: r.get::<_, Option<String>>(2)?.filter(|s| !s.is_empty()),
                expiry: r.get::<_, Option<String>>(3)?.filter(|s| !s.is_empty()),
                state,
            });
        }
        let mut stmt = conn.prepare(
            "SELECT DISTINCT r.gtin, r.serial, r.lot, r.expiry FROM receipts r
             WHERE r.shipment = ?1 AND NOT EXISTS
               (SELECT 1 FROM units u WHERE u.gtin = r.gtin AND u.serial = r.serial
                AND u.shipment = ?1)
             GROUP BY r.gtin, r.serial ORDER BY r.gtin, r.serial",
        )?;
        let mut rows = stmt.query([id.0])?;
        while let Some(r) = rows.next()? {
            units.push(ReconciledUnit {
                gtin: gtin_from_key(r.get(0)?)?,
                serial: r.get(1)?,
                lot: r.get(2)?,
                expiry: r.get(3)?,
                state: UnitState::Unexpected,
            });
        }
        let mut progress = ShipmentProgress::default();
        for u in &units {
            match u.state {
                UnitState::Received => progress.received += 1,
                UnitState::Rejected => progress.rejected += 1,
                UnitState::Missing => progress.missing += 1,
                UnitState::Unexpected => progress.unexpected += 1,
            }
        }
        progress.expected = progress.received + progress.rejected + progress.missing;
        Ok(Reconciliation {
            shipment,
            progress,
            units,
        })
    }
}

pub(crate) fn find_shipment(
    conn: &Connection,
    reference: &str,
) -> Result<Option<ShipmentId>, StoreError> {
    let by_ref = conn
        .prepare_cached("SELECT shipment FROM shipment_refs WHERE ref = ?1")?
        .query_row([reference], |r| r.get(0))
        .optional()?;
    let id = match by_ref {
        Some(id) => Some(id),
        None => conn
            .prepare_cached("SELECT id FROM shipments WHERE name = ?1")?
            .query_row([reference], |r| r.get(0))
            .optional()?,
    };
    Ok(id.map(ShipmentId))
}

pub(crate) fn shipment_info(conn: &Connection, id: ShipmentId) -> Result<ShipmentInfo, StoreError> {
    let (name, source) = conn
        .prepare_cached("SELECT name, source FROM shipments WHERE id = ?1")?
        .query_row([id.0], |r| Ok((r.get(0)?, r.get(1)?)))?;
    let refs = conn
        .prepare_cached(
            "SELECT kind, ref FROM shipment_refs WHERE shipment = ?1 ORDER BY kind, ref",
        )?
        .query_map([id.0], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    Ok(ShipmentInfo {
        id,
        name,
        source,
        refs,
    })
}

/// The shipment any of `refs` already names, or a new one named after the first reference.
/// Missing references are added to the shipment found. Returns the shipment and whether it was
/// created.
pub(crate) fn upsert_shipment(
    conn: &Connection,
    refs: &[(&str, &str)],
    source: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(ShipmentId, bool), StoreError> {
    upsert_shipment_tracked(conn, refs, source, now).map(|(id, created, _)| (id, created))
}

/// [`upsert_shipment`], also giving the references it added (for an import's undo).
pub(crate) fn upsert_shipment_tracked(
    conn: &Connection,
    refs: &[(&str, &str)],
    source: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(ShipmentId, bool, Vec<String>), StoreError> {
    let mut found = None;
    for (_, reference) in refs {
        if let Some(id) = find_shipment(conn, reference)? {
            found = Some(id);
            break;
        }
    }
    let (id, created) = match found {
        Some(id) => (id, false),
        None => {
            let Some((_, name)) = refs.first() else {
                return Err(StoreError::Corrupt(
                    "a shipment needs at least one reference".into(),
                ));
            };
            conn.prepare_cached(
                "INSERT INTO shipments (name, source, created_at) VALUES (?1, ?2, ?3)",
            )?
            .execute(params![name, source, timestamp(now)])?;
            (ShipmentId(conn.last_insert_rowid()), true)
        }
    };
    let mut added = Vec::new();
    for (kind, reference) in refs {
        let inserted = conn
            .prepare_cached(
                "INSERT INTO shipment_refs (ref, kind, shipment) VALUES (?1, ?2, ?3)
                 ON CONFLICT(ref) DO NOTHING",
            )?
            .execute(params![reference, kind, id.0])?;
        if inserted > 0 {
            added.push((*reference).to_owned());
        }
    }
    Ok((id, created, added))
}
