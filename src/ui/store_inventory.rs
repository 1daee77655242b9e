//! The inventory side of [`StoreDesk`](super::store_desk::StoreDesk): units on hand, expiry
//! watch, recall containment, search and reports, on the SQLite [`Store`].
//!
//! Runs on the desk worker thread only (never on the UI thread). Each answer comes from one of
//! the store's indexed queries (`inventory`, `expiry_summary`, `recall_scope`, `find`,
//! `receipts_per_day`, `failures_by_reason`) and the recall quarantine from
//! `quarantine_all`, which records an EPCIS event per unit; this only turns the store's types
//! into the kiosk's plain values and caps lists at a screenful.

use std::collections::HashMap;

use chrono::{DateTime, Days, FixedOffset, NaiveDate};

use super::desk::{
    DeskError, ExpiryWatch, RecallFile, RecalledLot, Reports, StockUnit, UnitList, UnitMovement,
    UnitQuery,
};
use crate::gs1::{Gtin, Ndc, Sgtin};
use crate::store::Store;
use crate::store::inventory::{InventoryFilter, InventoryItem, RecallQuery};
use crate::verify::StockState;

/// The most units one answer carries: a screenful to scroll, not the whole store.
pub const MAX_LISTED: usize = 2_000;
/// The longest range the receipt and failure reports cover, in days (a year and a day).
pub const MAX_REPORT_DAYS: u32 = 366;

/// A GTIN from what a pharmacist typed: 14 (or 12/13) digits, or an NDC in any form.
pub fn product_gtin(text: &str) -> Result<Gtin, DeskError> {
    let text = text.trim();
    if let Ok(gtin) = Gtin::parse(text) {
        return Ok(gtin);
    }
    match Ndc::parse(text) {
        Ok(ndc) => Ok(Gtin::from_ndc(&ndc, 0)),
        Err(_) => Err(DeskError::Unusable(format!(
            "\"{text}\" is neither a GTIN (14 digits) nor an NDC (e.g. 59999-101-01)"
        ))),
    }
}

fn unit(item: InventoryItem, product: Option<String>) -> StockUnit {
    StockUnit {
        product,
        gtin: item.gtin,
        serial: item.serial,
        lot: item.lot,
        expiry: item
            .expiry
            .as_deref()
            .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok()),
        status: item.status,
        state: item.state,
        shipment: item.shipment,
        tote: item.tote,
        received_at: item.received_at,
        changed_at: item.changed_at,
    }
}

/// Product names for the GTINs of a list, each looked up once however many units share it.
#[derive(Default)]
struct ProductNames(HashMap<Gtin, Option<String>>);

impl ProductNames {
    fn of(&mut self, store: &Store, gtin: &Gtin) -> Option<String> {
        self.0
            .entry(gtin.clone())
            .or_insert_with(|| product_title(store, gtin))
            .clone()
    }
}

fn listed(store: &Store, items: Vec<InventoryItem>) -> UnitList {
    let total = items.len() as u64;
    let mut names = ProductNames::default();
    UnitList {
        units: items
            .into_iter()
            .take(MAX_LISTED)
            .map(|item| {
                let product = names.of(store, &item.gtin);
                unit(item, product)
            })
            .collect(),
        total,
    }
}

fn filter(query: &UnitQuery) -> Result<InventoryFilter, DeskError> {
    let product = query.product.trim();
    let lot = query.lot.trim();
    Ok(InventoryFilter {
        gtin: (!product.is_empty())
            .then(|| product_gtin(product))
            .transpose()?,
        lot: (!lot.is_empty()).then(|| lot.to_owned()),
        expiring_within: query.expiring_within,
        recalled: query.recalled_only,
    })
}

/// Units on hand matching `query`.
pub fn on_hand(store: &Store, query: &UnitQuery, today: NaiveDate) -> Result<UnitList, DeskError> {
    let items = store.inventory(&filter(query)?, today)?;
    Ok(listed(store, items))
}

/// Expired units still on hand, and those expiring within each watched horizon.
pub fn expiry_watch(store: &Store, today: NaiveDate) -> Result<ExpiryWatch, DeskError> {
    let summary = store.expiry_summary(today)?;
    Ok(ExpiryWatch {
        expired: summary.expired,
        expiring: summary.within,
    })
}

fn product_name(store: &Store, gtin: &Gtin) -> Option<String> {
    store.product(gtin).ok().flatten().and_then(|p| p.name)
}

/// The product as a list names it: its name and strength ("Amoxicillin 500 mg/1").
fn product_title(store: &Store, gtin: &Gtin) -> Option<String> {
    let product = store.product(gtin).ok().flatten()?;
    let name = product.name?;
    Some(match product.strength {
        Some(strength) => format!("{name} {strength}"),
        None => name,
    })
}

/// Lots recalled now that passed through here, those with the most units on hand first.
pub fn recalled_lots(store: &Store) -> Result<Vec<RecalledLot>, DeskError> {
    let mut lots: Vec<RecalledLot> = Vec::new();
    for item in store.recall_scope(&RecallQuery::default())? {
        let lot = item.lot.clone().unwrap_or_default();
        let here = u64::from(item.state == StockState::OnHand);
        match lots
            .iter_mut()
            .find(|l| l.gtin == item.gtin && l.lot == lot)
        {
            Some(known) => known.on_hand += here,
            None => lots.push(RecalledLot {
                product: product_name(store, &item.gtin),
                gtin: item.gtin.clone(),
                lot,
                on_hand: here,
            }),
        }
    }
    lots.sort_by(|a, b| b.on_hand.cmp(&a.on_hand).then_with(|| a.lot.cmp(&b.lot)));
    Ok(lots)
}

fn lot_scope(store: &Store, gtin: &Gtin, lot: &str) -> Result<Vec<InventoryItem>, DeskError> {
    let query = RecallQuery {
        gtin: Some(gtin.clone()),
        lot: Some(lot.to_owned()),
    };
    Ok(store.recall_scope(&query)?)
}

fn movement(item: &InventoryItem) -> UnitMovement {
    UnitMovement {
        gtin: item.gtin.clone(),
        serial: item.serial.clone(),
        at: item.changed_at.clone(),
        what: item.state.as_str().to_owned(),
    }
}

/// Every unit of one lot this site received: on hand, dispensed, returned, gone.
pub fn recall(store: &Store, gtin: &Gtin, lot: &str) -> Result<RecallFile, DeskError> {
    let mut file = RecallFile {
        lot: RecalledLot {
            product: product_name(store, gtin),
            gtin: gtin.clone(),
            lot: lot.to_owned(),
            on_hand: 0,
        },
        on_hand: Vec::new(),
        dispensed: Vec::new(),
        returned: Vec::new(),
        gone: Vec::new(),
    };
    let title = product_title(store, gtin);
    for item in lot_scope(store, gtin, lot)? {
        match item.state {
            StockState::OnHand => file.on_hand.push(unit(item, title.clone())),
            StockState::Dispensed => file.dispensed.push(movement(&item)),
            StockState::ReturnedToSupplier => file.returned.push(movement(&item)),
            StockState::Destroyed | StockState::Decommissioned => file.gone.push(movement(&item)),
        }
    }
    file.lot.on_hand = file.on_hand.len() as u64;
    Ok(file)
}

/// Quarantines every unit of the lot still on hand, an event each; returns how many were
/// newly quarantined (units already held are left as they are).
pub fn quarantine_lot(
    store: &mut Store,
    gtin: &Gtin,
    lot: &str,
    reason: &str,
    now: DateTime<FixedOffset>,
) -> Result<u64, DeskError> {
    let units: Vec<Sgtin> = lot_scope(store, gtin, lot)?
        .iter()
        .filter(|item| item.state == StockState::OnHand)
        .map(InventoryItem::sgtin)
        .collect::<Result<_, _>>()?;
    let records = store.quarantine_all(&units, reason, now)?;
    tracing::info!(
        "recall: quarantined {} units of {} lot {lot}",
        records.len(),
        gtin.as_str()
    );
    Ok(records.len() as u64)
}

/// Units found by product name, NDC (any form), GTIN, lot or serial.
pub fn search(store: &Store, text: &str) -> Result<UnitList, DeskError> {
    let findings = store.find(text, MAX_LISTED)?;
    Ok(listed(store, findings.units))
}

/// Receipts and failures over the last `days` days (1 to [`MAX_REPORT_DAYS`]), today
/// included, and the expiry horizon of the units on hand.
pub fn reports(store: &Store, today: NaiveDate, days: u32) -> Result<Reports, DeskError> {
    let days = days.clamp(1, MAX_REPORT_DAYS);
    let from = today
        .checked_sub_days(Days::new(u64::from(days - 1)))
        .unwrap_or(today);
    // The store answers only the days with receipts; the chart needs every day of the range.
    let per_day = store.receipts_per_day(from, today)?;
    let counted: HashMap<NaiveDate, (u64, u64)> = per_day
        .iter()
        .map(|d| (d.day, (d.accepted, d.refused)))
        .collect();
    let receipts_per_day = from
        .iter_days()
        .take_while(|day| *day <= today)
        .map(|day| {
            let (accepted, refused) = counted.get(&day).copied().unwrap_or_default();
            (day, accepted, refused)
        })
        .collect();
    let failures = store.failures_by_reason(from, today)?;
    let failures_by_reason = failures
        .iter()
        .map(|(reason, n)| (reason.label().to_owned(), *n))
        .collect();
    let summary = store.expiry_summary(today)?;
    let csv = crate::desk::export::report_csv(&per_day, &failures, &summary);
    // The summary counts cumulatively (within 30, within 60...): the chart shows bands.
    let mut horizon = vec![("expired".to_owned(), summary.expired)];
    let mut previous: Option<(u32, u64)> = None;
    for &(days, within) in &summary.within {
        let label = match previous {
            None => format!("within {days} days"),
            Some((from, _)) => format!("in {}–{days} days", from + 1),
        };
        let below = previous.map_or(0, |(_, n)| n);
        horizon.push((label, within.saturating_sub(below)));
        previous = Some((days, within));
    }
    // Units beyond the last threshold are not counted: that would read every row of a
    // ten-million-unit stock on each refresh.
    Ok(Reports {
        days,
        receipts_per_day,
        failures_by_reason,
        expiry_horizon: horizon,
        csv,
    })
}
