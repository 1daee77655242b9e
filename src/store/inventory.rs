//! What this desk holds, unit by unit: on-hand inventory, expiry watch, recall scope, search,
//! reports and each unit's audit history.
//!
//! Everything is read from the `stock` table, which follows every unit received here (see
//! [`super::actions`]), joined by primary key to what suppliers said (unit status, lot
//! recalls) and to local holds. Each question is answered through an index (stock by
//! lot, serial, on-hand expiry; units by non-active status; receipts by time) so it stays
//! fast at ten million units; an unfiltered listing is as long as the stock itself.

use super::actions::{HoldKind, ShelfAction};
use super::{Product, StoreError, gtin_from_key, gtin_key, iso_date};
use crate::gs1::{Gtin, Ndc, Sgtin};
use crate::verify::{Reason, StockState, UnitStatus};
use chrono::{Days, NaiveDate};
use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, params, params_from_iter};

/// Which units on hand to list; filters combine.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InventoryFilter {
    pub gtin: Option<Gtin>,
    pub lot: Option<String>,
    /// Only units expiring within this many days of `today` (expired ones included).
    pub expiring_within: Option<u32>,
    /// Only units whose unit or lot is recalled.
    pub recalled: bool,
}

/// One unit received here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InventoryItem {
    pub gtin: Gtin,
    pub serial: String,
    pub lot: Option<String>,
    /// ISO date.
    pub expiry: Option<String>,
    /// What the unit is: `recalled` when its unit or lot is, else the hold in force
    /// (`quarantined`, `suspect`, `illegitimate`), else the supplier's status (`active`...).
    pub status: String,
    /// Where it is: on hand, dispensed, returned...
    pub state: StockState,
    /// The shipment it was received on.
    pub shipment: Option<String>,
    /// The innermost case or tote (SSCC) it came in, from aggregation data.
    pub tote: Option<String>,
    pub received_at: String,
    /// When its state last changed (dispensed at, returned at...).
    pub changed_at: String,
    pub recalled: bool,
}

impl InventoryItem {
    pub fn sgtin(&self) -> Result<Sgtin, StoreError> {
        Sgtin::new(self.gtin.clone(), &self.serial)
            .map_err(|e| StoreError::Corrupt(format!("serial {}: {e}", self.serial)))
    }
}

/// One event recorded here, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEvent {
    pub event_id: String,
    pub kind: String,
    pub json: String,
    pub created_at: String,
}

/// Which units a recall touches.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecallQuery {
    pub gtin: Option<Gtin>,
    pub lot: Option<String>,
}

/// Units on hand by expiry horizon.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExpirySummary {
    /// Expired and still on the shelf.
    pub expired: u64,
    /// (days, units not expired but expiring within that many days), ascending.
    pub within: Vec<(u32, u64)>,
}

/// Receipts of one day (UTC).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayReceipts {
    pub day: NaiveDate,
    pub accepted: u64,
    pub refused: u64,
}

/// What a search found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Findings {
    /// Products whose name, NDC or GTIN matched.
    pub products: Vec<(Gtin, Product)>,
    /// Units received here of those products, or whose lot or serial matched.
    pub units: Vec<InventoryItem>,
}

/// One line of a unit's history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Happening {
    /// A supplier announced it (on a shipment), with the status they last gave.
    Announced {
        shipment: Option<String>,
        status: UnitStatus,
    },
    Received,
    Refused(Vec<Reason>),
    Action {
        action: ShelfAction,
        reason: Option<String>,
    },
}

/// A unit's history entry: when (RFC 3339, empty for supplier data) and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryLine {
    pub at: String,
    pub what: Happening,
}

/// The columns every stock listing reads, in [`item_from_row`]'s order.
const ITEM_COLUMNS: &str = "s.gtin, s.serial, s.lot, s.expiry, s.state, sh.name, s.received_at,
    s.changed_at,
    (SELECT u.status FROM units u WHERE u.gtin = s.gtin AND u.serial = s.serial),
    EXISTS (SELECT 1 FROM lot_recalls lr WHERE lr.gtin = s.gtin AND lr.lot = s.lot),
    (SELECT h.kind FROM holds h WHERE h.gtin = s.gtin AND h.serial = s.serial
        AND h.released_at IS NULL ORDER BY h.id DESC LIMIT 1),
    (SELECT c.sscc FROM container_units c WHERE c.gtin = s.gtin AND c.serial = s.serial
        LIMIT 1)";

fn item_from_row(r: &rusqlite::Row<'_>) -> Result<InventoryItem, StoreError> {
    let state: u8 = r.get(4)?;
    let unit_status = r
        .get::<_, Option<u8>>(8)?
        .and_then(UnitStatus::from_code)
        .unwrap_or_default();
    let lot_recalled: bool = r.get(9)?;
    let hold = r
        .get::<_, Option<String>>(10)?
        .map(|k| HoldKind::from_code(&k).unwrap_or(HoldKind::Quarantine));
    let recalled = lot_recalled || unit_status == UnitStatus::Recalled;
    let status = if recalled {
        "recalled"
    } else if let Some(hold) = hold {
        hold.code()
    } else {
        unit_status.as_str()
    };
    Ok(InventoryItem {
        gtin: gtin_from_key(r.get(0)?)?,
        serial: r.get(1)?,
        lot: r.get(2)?,
        expiry: r.get(3)?,
        status: status.to_string(),
        state: StockState::from_code(state)
            .ok_or_else(|| StoreError::Corrupt(format!("stock state code {state}")))?,
        shipment: r.get(5)?,
        tote: r.get::<_, Option<i64>>(11)?.map(|k| format!("{k:018}")),
        received_at: r.get(6)?,
        changed_at: r.get(7)?,
        recalled,
    })
}

/// The recalled units among the stock: units of recalled lots, and units a supplier reported
/// recalled. The `status <> 0` term lets SQLite use the small partial index on units.
const RECALLED_UNITS: &str = "SELECT s2.gtin, s2.serial FROM lot_recalls lr
        CROSS JOIN stock s2 ON s2.lot = lr.lot AND s2.gtin = lr.gtin
    UNION SELECT u.gtin, u.serial FROM units u WHERE u.status <> 0 AND u.status = 1";

fn stock_items(
    conn: &Connection,
    sql: &str,
    values: Vec<Value>,
) -> Result<Vec<InventoryItem>, StoreError> {
    let mut stmt = conn.prepare_cached(sql)?;
    let mut rows = stmt.query(params_from_iter(values))?;
    let mut items = Vec::new();
    while let Some(row) = rows.next()? {
        items.push(item_from_row(row)?);
    }
    Ok(items)
}

/// [`Store::recall_scope`](super::Store::recall_scope) on the caller's connection, so a recall
/// can be found and contained inside one transaction.
pub(crate) fn recall_scope_in(
    conn: &Connection,
    query: &RecallQuery,
) -> Result<Vec<InventoryItem>, StoreError> {
    let (from, terms, values) = match (&query.gtin, &query.lot) {
        (None, None) => (
            format!(
                "(SELECT DISTINCT * FROM ({RECALLED_UNITS})) hit CROSS JOIN stock s
                 ON s.gtin = hit.gtin AND s.serial = hit.serial"
            ),
            "1",
            vec![],
        ),
        (Some(gtin), None) => (
            "stock s".into(),
            "s.gtin = ?1",
            vec![Value::Integer(gtin_key(gtin))],
        ),
        (None, Some(lot)) => (
            "stock s".into(),
            "s.lot = ?1",
            vec![Value::Text(lot.clone())],
        ),
        (Some(gtin), Some(lot)) => (
            "stock s".into(),
            "s.lot = ?1 AND s.gtin = ?2",
            vec![Value::Text(lot.clone()), Value::Integer(gtin_key(gtin))],
        ),
    };
    let sql = format!(
        "SELECT {ITEM_COLUMNS} FROM {from} LEFT JOIN shipments sh ON sh.id = s.shipment
         WHERE {terms} ORDER BY +s.gtin, +s.serial"
    );
    stock_items(conn, &sql, values)
}

impl super::Store {
    fn stock_items(&self, sql: &str, values: Vec<Value>) -> Result<Vec<InventoryItem>, StoreError> {
        stock_items(self.conn(), sql, values)
    }

    /// Units on hand (received here, not since dispensed, returned, destroyed or
    /// decommissioned), in GTIN and serial order.
    pub fn inventory(
        &self,
        filter: &InventoryFilter,
        today: NaiveDate,
    ) -> Result<Vec<InventoryItem>, StoreError> {
        // Only the filters given become terms, so SQLite picks the index that fits them.
        let mut terms = vec!["s.state = 0".to_string()];
        let mut values = Vec::new();
        if let Some(gtin) = &filter.gtin {
            values.push(Value::Integer(gtin_key(gtin)));
            terms.push(format!("s.gtin = ?{}", values.len()));
        }
        if let Some(lot) = &filter.lot {
            values.push(Value::Text(lot.clone()));
            terms.push(format!("s.lot = ?{}", values.len()));
        }
        if let Some(days) = filter.expiring_within {
            let horizon = today
                .checked_add_days(Days::new(u64::from(days)))
                .unwrap_or(NaiveDate::MAX);
            values.push(Value::Text(iso_date(horizon)));
            terms.push(format!("s.expiry <= ?{}", values.len()));
        }
        let from = if filter.recalled {
            // Start from the (few) recalled units; CROSS JOIN keeps that order.
            format!(
                "(SELECT DISTINCT * FROM ({RECALLED_UNITS})) hit CROSS JOIN stock s ON s.gtin = hit.gtin AND s.serial = hit.serial"
            )
        } else {
            "stock s".to_string()
        };
        // Without statistics SQLite would walk the whole stock in key order to save a sort;
        // `+` keeps it from using the key for ordering when a filter's index is the way in.
        let order = if terms.len() > 1 || filter.recalled {
            "+s.gtin, +s.serial"
        } else {
            "s.gtin, s.serial"
        };
        let sql = format!(
            "SELECT {ITEM_COLUMNS} FROM {from} LEFT JOIN shipments sh ON sh.id = s.shipment
             WHERE {} ORDER BY {order}",
            terms.join(" AND ")
        );
        self.stock_items(&sql, values)
    }

    /// Every unit received here that a recall touches, whatever became of it: on hand (with
    /// shipment and tote), dispensed or returned (with when). Without a GTIN or lot: every
    /// unit recalled now (recalled lots and units a supplier reported recalled).
    pub fn recall_scope(&self, query: &RecallQuery) -> Result<Vec<InventoryItem>, StoreError> {
        recall_scope_in(self.conn(), query)
    }

    /// Units on hand by expiry: expired, and expiring within each of the configured
    /// thresholds (`expiry_thresholds`, default 30/60/90 days).
    pub fn expiry_summary(&self, today: NaiveDate) -> Result<ExpirySummary, StoreError> {
        let thresholds = self.expiry_thresholds()?;
        let count = |sql: &str, a: &str, b: &str| -> Result<u64, StoreError> {
            Ok(self
                .conn()
                .prepare_cached(sql)?
                .query_row(params![a, b], |r| r.get(0))?)
        };
        let today_iso = iso_date(today);
        // An empty expiry (unknown) sorts before every date: '' < '0' keeps it out.
        let expired = count(
            "SELECT count(*) FROM stock WHERE state = 0 AND expiry > ?2 AND expiry < ?1",
            &today_iso,
            "",
        )?;
        let mut within = Vec::with_capacity(thresholds.len());
        for days in thresholds {
            let horizon = today
                .checked_add_days(Days::new(u64::from(days)))
                .unwrap_or(NaiveDate::MAX);
            let n = count(
                "SELECT count(*) FROM stock WHERE state = 0 AND expiry >= ?1 AND expiry <= ?2",
                &today_iso,
                &iso_date(horizon),
            )?;
            within.push((days, n));
        }
        Ok(ExpirySummary { expired, within })
    }

    /// Search as a pharmacist asks: by product name (substring, any case), NDC in any of its
    /// spellings, GTIN, lot or serial. At most `limit` units.
    pub fn find(&self, text: &str, limit: usize) -> Result<Findings, StoreError> {
        let text = text.trim();
        let mut findings = Findings::default();
        if text.is_empty() {
            return Ok(findings);
        }
        let mut gtins: Vec<Gtin> = Vec::new();
        if let Ok(gtin) = Gtin::parse(text) {
            gtins.push(gtin);
        }
        if let Ok(ndc) = Ndc::parse(text) {
            gtins.push(Gtin::from_ndc(&ndc, 0));
            let mut stmt = self
                .conn()
                .prepare_cached("SELECT gtin FROM products WHERE ndc = ?1")?;
            for spelling in ndc.spellings() {
                let rows = stmt.query_map([spelling], |r| r.get::<_, i64>(0))?;
                for key in rows {
                    gtins.push(gtin_from_key(key?)?);
                }
            }
        }
        {
            // Product names live in a small table: a substring scan of it is cheap.
            let pattern = format!(
                "%{}%",
                text.replace('\\', "\\\\")
                    .replace('%', "\\%")
                    .replace('_', "\\_")
            );
            let mut stmt = self.conn().prepare_cached(
                "SELECT gtin FROM products WHERE name LIKE ?1 ESCAPE '\\' ORDER BY name, gtin
                 LIMIT 200",
            )?;
            let rows = stmt.query_map([pattern], |r| r.get::<_, i64>(0))?;
            for key in rows {
                gtins.push(gtin_from_key(key?)?);
            }
        }
        let mut seen = std::collections::HashSet::new();
        gtins.retain(|g| seen.insert(g.clone()));
        for gtin in &gtins {
            if let Some(product) = self.product(gtin)? {
                findings.products.push((gtin.clone(), product));
            }
        }
        let cap = i64::try_from(limit).unwrap_or(i64::MAX);
        let select = format!(
            "SELECT {ITEM_COLUMNS} FROM stock s LEFT JOIN shipments sh ON sh.id = s.shipment"
        );
        let mut units = self.stock_items(
            &format!("{select} WHERE s.lot = ?1 ORDER BY s.gtin, s.serial LIMIT ?2"),
            vec![Value::Text(text.into()), Value::Integer(cap)],
        )?;
        units.extend(self.stock_items(
            &format!("{select} WHERE s.serial = ?1 ORDER BY s.gtin LIMIT ?2"),
            vec![Value::Text(text.into()), Value::Integer(cap)],
        )?);
        for (gtin, _) in &findings.products {
            if units.len() >= limit {
                break;
            }
            units.extend(self.stock_items(
                &format!("{select} WHERE s.gtin = ?1 ORDER BY s.serial LIMIT ?2"),
                vec![Value::Integer(gtin_key(gtin)), Value::Integer(cap)],
            )?);
        }
        let mut seen = std::collections::HashSet::new();
        units.retain(|u| seen.insert((u.gtin.clone(), u.serial.clone())));
        units.truncate(limit);
        findings.units = units;
        Ok(findings)
    }

    /// Receipts per day (UTC) from `from` up to and including `to`; days without receipts are
    /// left out.
    pub fn receipts_per_day(
        &self,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<DayReceipts>, StoreError> {
        let end = to.succ_opt().unwrap_or(to);
        let mut stmt = self.conn().prepare_cached(
            "SELECT substr(received_at, 1, 10) AS day, sum(accepted), sum(1 - accepted)
             FROM receipts WHERE received_at >= ?1 AND received_at < ?2
             GROUP BY day ORDER BY day",
        )?;
        let rows = stmt.query_map(params![iso_date(from), iso_date(end)], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, u64>(1)?,
                r.get::<_, u64>(2)?,
            ))
        })?;
        let mut days = Vec::new();
        for row in rows {
            let (day, accepted, refused) = row?;
            let day = super::parse_iso_date_opt(Some(&day))
                .ok_or_else(|| StoreError::Corrupt(format!("receipt time {day}")))?;
            days.push(DayReceipts {
                day,
                accepted,
                refused,
            });
        }
        Ok(days)
    }

    /// Refused receipts from `from` up to and including `to`, counted by reason (a scan with
    /// two reasons counts under both), most frequent first.
    pub fn failures_by_reason(
        &self,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<(Reason, u64)>, StoreError> {
        let end = to.succ_opt().unwrap_or(to);
        let mut stmt = self.conn().prepare_cached(
            "SELECT reasons, count(*) FROM receipts
             WHERE accepted = 0 AND received_at >= ?1 AND received_at < ?2 GROUP BY reasons",
        )?;
        let rows = stmt.query_map(params![iso_date(from), iso_date(end)], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, u64>(1)?))
        })?;
        let mut counts: std::collections::BTreeMap<Reason, u64> = Default::default();
        for row in rows {
            let (reasons, n) = row?;
            for reason in reasons.split_whitespace().filter_map(Reason::from_code) {
                *counts.entry(reason).or_default() += n;
            }
        }
        let mut counts: Vec<(Reason, u64)> = counts.into_iter().collect();
        counts.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        Ok(counts)
    }

    /// Every event recorded here, oldest first.
    pub fn events(&self) -> Result<Vec<StoredEvent>, StoreError> {
        let mut events = Vec::new();
        self.for_each_event(|e| {
            events.push(e);
            Ok::<_, StoreError>(())
        })?;
        Ok(events)
    }

    /// The events recorded here about one unit (receipts, refusals, actions), oldest first.
    pub fn unit_events(&self, sgtin: &Sgtin) -> Result<Vec<StoredEvent>, StoreError> {
        let mut events = Vec::new();
        self.for_each_unit_event(sgtin, |e| {
            events.push(e);
            Ok::<_, StoreError>(())
        })?;
        Ok(events)
    }

    /// Hands every event recorded here to `f`, oldest first, one row at a time: an export of
    /// a store with millions of events holds one of them in memory, not all. Stops at the
    /// first error `f` returns.
    pub fn for_each_event<E: From<StoreError>>(
        &self,
        f: impl FnMut(StoredEvent) -> Result<(), E>,
    ) -> Result<(), E> {
        self.each_stored_event(
            "SELECT event_id, kind, json, created_at FROM events ORDER BY created_at, rowid",
            params![],
            f,
        )
    }

    /// [`Self::for_each_event`] for the events about one unit.
    pub fn for_each_unit_event<E: From<StoreError>>(
        &self,
        sgtin: &Sgtin,
        f: impl FnMut(StoredEvent) -> Result<(), E>,
    ) -> Result<(), E> {
        self.each_stored_event(
            "SELECT event_id, kind, json, created_at FROM events WHERE event_id IN (
                 SELECT event_id FROM receipts WHERE gtin = ?1 AND serial = ?2
                 UNION SELECT event_id FROM actions WHERE gtin = ?1 AND serial = ?2)
             ORDER BY created_at, rowid",
            params![gtin_key(&sgtin.gtin), sgtin.serial],
            f,
        )
    }

    fn each_stored_event<E: From<StoreError>>(
        &self,
        sql: &str,
        values: impl rusqlite::Params,
        mut f: impl FnMut(StoredEvent) -> Result<(), E>,
    ) -> Result<(), E> {
        fn next(rows: &mut rusqlite::Rows<'_>) -> Result<Option<StoredEvent>, StoreError> {
            let Some(row) = rows.next()? else {
                return Ok(None);
            };
            Ok(Some(StoredEvent {
                event_id: row.get(0)?,
                kind: row.get(1)?,
                json: row.get(2)?,
                created_at: row.get(3)?,
            }))
        }
        let mut stmt = self.conn().prepare_cached(sql).map_err(StoreError::from)?;
        let mut rows = stmt.query(values).map_err(StoreError::from)?;
        while let Some(event) = next(&mut rows)? {
            f(event)?;
        }
        Ok(())
    }

    /// A unit's whole story here: the supplier's announcement, every scan at the desk and
    /// every action, oldest first.
    pub fn unit_history(&self, sgtin: &Sgtin) -> Result<Vec<HistoryLine>, StoreError> {
        let conn = self.conn();
        let key = gtin_key(&sgtin.gtin);
        let mut lines = Vec::new();
        let announced: Option<(Option<String>, u8)> = conn
            .prepare_cached(
                "SELECT s.name, u.status FROM units u LEFT JOIN shipments s ON s.id = u.shipment
                 WHERE u.gtin = ?1 AND u.serial = ?2",
            )?
            .query_row(params![key, sgtin.serial], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        if let Some((shipment, status)) = announced {
            lines.push(HistoryLine {
                at: String::new(),
                what: Happening::Announced {
                    shipment,
                    status: UnitStatus::from_code(status)
                        .ok_or_else(|| StoreError::Corrupt(format!("unit status {status}")))?,
                },
            });
        }
        let mut timed = Vec::new();
        let mut stmt = conn.prepare_cached(
            "SELECT received_at, accepted, reasons FROM receipts WHERE gtin = ?1 AND serial = ?2",
        )?;
        let rows = stmt.query_map(params![key, sgtin.serial], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, bool>(1)?,
                r.get::<_, String>(2)?,
            ))
        })?;
        for row in rows {
            let (at, accepted, reasons) = row?;
            let what = if accepted {
                Happening::Received
            } else {
                Happening::Refused(
                    reasons
                        .split_whitespace()
                        .filter_map(Reason::from_code)
                        .collect(),
                )
            };
            timed.push(HistoryLine { at, what });
        }
        let mut stmt = conn.prepare_cached(
            "SELECT at, action, reason FROM actions WHERE gtin = ?1 AND serial = ?2 ORDER BY id",
        )?;
        let rows = stmt.query_map(params![key, sgtin.serial], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get(2)?))
        })?;
        for row in rows {
            let (at, action, reason) = row?;
            let action = ShelfAction::from_code(&action)
                .ok_or_else(|| StoreError::Corrupt(format!("action {action}")))?;
            timed.push(HistoryLine {
                at,
                what: Happening::Action { action, reason },
            });
        }
        // Timestamps are UTC RFC 3339 with milliseconds: text order is time order.
        timed.sort_by(|a, b| a.at.cmp(&b.at));
        lines.extend(timed);
        Ok(lines)
    }
}
