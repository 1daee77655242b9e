//! What the store knows about a pack, read in the caller's transaction: the product, the unit
//! as announced, its lot's recalls, the holds in force, earlier receipts, the shipment, what a
//! case holds, and the site. [`assess`] gathers them into [`verify::Facts`] and lets the pure
//! [`verify`] module decide; receiving, pharmacist actions and exception cases all ask here.

use chrono::NaiveDate;
use rusqlite::{Connection, OptionalExtension, params};

use super::{
    HoldKind, Product, ShipmentId, StoreError, gtin_from_key, gtin_key, parse_iso_date, sscc_key,
};
use crate::gs1::{Gln, Gtin, Sgtin, Sscc};
use crate::verify::{self, Facts, KnownUnit, ProductIdentifier, UnitStatus, Verdict};

/// A verdict with what the store knew when it decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assessment {
    pub verdict: Verdict,
    pub product: Option<Product>,
    pub unit: Option<KnownUnit>,
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

/// This site's GLN as a Digital Link URI, for events' read point and business location.
pub(crate) fn site_location(conn: &Connection) -> Result<Option<String>, StoreError> {
    Ok(conn
        .prepare_cached("SELECT value FROM settings WHERE key = 'site_gln'")?
        .query_row([], |r| r.get::<_, String>(0))
        .optional()?
        .and_then(|v| Gln::parse(&v).ok())
        .map(|g| g.digital_link()))
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

/// A unit inside a scanned case: the case's aggregation data vouches for the lot and expiry
/// the supplier announced, as the pack's own barcode would for a unit scan.
pub(super) fn vouched_identifier(
    conn: &Connection,
    sgtin: &Sgtin,
) -> Result<ProductIdentifier, StoreError> {
    let announced = unit(conn, &sgtin.gtin, &sgtin.serial)?;
    Ok(ProductIdentifier {
        gtin: sgtin.gtin.clone(),
        serial: Some(sgtin.serial.clone()),
        lot: announced.as_ref().and_then(|u| u.lot.clone()),
        expiry: announced.as_ref().and_then(|u| u.expiry),
    })
}
