//! Units on hand (accepted here) and the events this desk recorded.

use super::{StoreError, gtin_from_key, gtin_key};
use crate::gs1::Gtin;
use crate::verify::UnitStatus;
use chrono::{Days, NaiveDate};
use rusqlite::params;

/// Which units on hand to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InventoryFilter {
    pub gtin: Option<Gtin>,
    pub lot: Option<String>,
    /// Only units expiring within this many days of `today` (expired ones included).
    pub expiring_within: Option<u32>,
    /// Only units whose unit or lot is recalled.
    pub recalled: bool,
}

/// One unit on hand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InventoryItem {
    pub gtin: Gtin,
    pub serial: String,
    pub lot: Option<String>,
    pub expiry: Option<String>,
    /// The unit's status; `recalled` when its lot is recalled.
    pub status: String,
    pub shipment: Option<String>,
    pub received_at: String,
}

/// One event recorded here, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEvent {
    pub event_id: String,
    pub kind: String,
    pub json: String,
    pub created_at: String,
}

impl super::Store {
    /// Units accepted at this desk, in GTIN and serial order.
    pub fn inventory(
        &self,
        filter: &InventoryFilter,
        today: NaiveDate,
    ) -> Result<Vec<InventoryItem>, StoreError> {
        let horizon = filter
            .expiring_within
            .and_then(|d| today.checked_add_days(Days::new(u64::from(d))))
            .map(super::iso_date);
        let mut stmt = self.conn().prepare(
            "SELECT r.gtin, r.serial, r.lot, r.expiry, u.status, s.name, min(r.received_at),
                    EXISTS (SELECT 1 FROM lot_recalls lr WHERE lr.gtin = r.gtin AND lr.lot = r.lot)
             FROM receipts r
             LEFT JOIN units u ON u.gtin = r.gtin AND u.serial = r.serial
             LEFT JOIN shipments s ON s.id = r.shipment
             WHERE r.accepted = 1
               AND (?1 IS NULL OR r.gtin = ?1)
               AND (?2 IS NULL OR r.lot = ?2)
               AND (?3 IS NULL OR r.expiry <= ?3)
             GROUP BY r.gtin, r.serial
             ORDER BY r.gtin, r.serial",
        )?;
        let mut rows = stmt.query(params![
            filter.gtin.as_ref().map(gtin_key),
            filter.lot,
            horizon
        ])?;
        let mut items = Vec::new();
        while let Some(r) = rows.next()? {
            let status = r
                .get::<_, Option<u8>>(4)?
                .and_then(UnitStatus::from_code)
                .unwrap_or_default();
            let lot_recalled: bool = r.get(7)?;
            let recalled = lot_recalled || status == UnitStatus::Recalled;
            if filter.recalled && !recalled {
                continue;
            }
            items.push(InventoryItem {
                gtin: gtin_from_key(r.get(0)?)?,
                serial: r.get(1)?,
                lot: r.get(2)?,
                expiry: r.get(3)?,
                status: if lot_recalled {
                    "recalled"
                } else {
                    status.as_str()
                }
                .to_string(),
                shipment: r.get(5)?,
                received_at: r.get(6)?,
            });
        }
        Ok(items)
    }

    /// Every event recorded here, oldest first.
    pub fn events(&self) -> Result<Vec<StoredEvent>, StoreError> {
        let mut stmt = self.conn().prepare(
            "SELECT event_id, kind, json, created_at FROM events ORDER BY created_at, rowid",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(StoredEvent {
                event_id: r.get(0)?,
                kind: r.get(1)?,
                json: r.get(2)?,
                created_at: r.get(3)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}
