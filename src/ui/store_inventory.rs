//! The inventory side of [`StoreDesk`](super::store_desk::StoreDesk): units on hand, expiry
//! watch, recall containment, search and reports, on the SQLite [`Store`].
//!
//! Runs on the desk worker thread only (never on the UI thread). Everything here answers from
//! the store's own queries; what the store cannot tell yet (units dispensed or returned, the
//! receipt and failure reports) is answered with an error or a note the screen shows as such,
//! never with made-up numbers.

use chrono::{Local, NaiveDate};

use super::desk::{
    DeskError, EXPIRY_HORIZONS, ExpiryWatch, OnHandUnit, RecallFile, RecalledLot, Reports,
    UnitList, UnitQuery,
};
use crate::gs1::{Gtin, Ndc, Sgtin};
use crate::store::inventory::{InventoryFilter, InventoryItem};
use crate::store::{Store, StoreError};

/// The most units one answer carries: a screenful to scroll, not the whole store.
pub const MAX_LISTED: usize = 2_000;

fn desk_error(e: StoreError) -> DeskError {
    DeskError(e.to_string())
}

/// A GTIN from what a pharmacist typed: 14 (or 12/13) digits, or an NDC in any form.
pub fn product_gtin(text: &str) -> Result<Gtin, DeskError> {
    let text = text.trim();
    if let Ok(gtin) = Gtin::parse(text) {
        return Ok(gtin);
    }
    match Ndc::parse(text) {
        Ok(ndc) => Ok(Gtin::from_ndc(&ndc, 0)),
        Err(_) => Err(DeskError(format!(
            "\"{text}\" is neither a GTIN (14 digits) nor an NDC (e.g. 59999-101-01)"
        ))),
    }
}

fn unit(item: InventoryItem) -> OnHandUnit {
    OnHandUnit {
        gtin: item.gtin.as_str().to_owned(),
        serial: item.serial,
        lot: item.lot,
        expiry: item.expiry,
        status: item.status,
        shipment: item.shipment,
        received_at: item.received_at,
    }
}

fn listed(items: Vec<InventoryItem>) -> UnitList {
    let total = items.len() as u64;
    UnitList {
        units: items.into_iter().take(MAX_LISTED).map(unit).collect(),
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
    let items = store
        .inventory(&filter(query)?, today)
        .map_err(desk_error)?;
    Ok(listed(items))
}

fn expiry_date(item: &InventoryItem) -> Option<NaiveDate> {
    item.expiry
        .as_deref()
        .and_then(|e| NaiveDate::parse_from_str(e, "%Y-%m-%d").ok())
}

/// Expired units still on hand, and those expiring within each watched horizon.
pub fn expiry_watch(store: &Store, today: NaiveDate) -> Result<ExpiryWatch, DeskError> {
    let widest = EXPIRY_HORIZONS.iter().copied().max().unwrap_or_default();
    let soon = InventoryFilter {
        expiring_within: Some(widest),
        ..InventoryFilter::default()
    };
    let days_left: Vec<i64> = store
        .inventory(&soon, today)
        .map_err(desk_error)?
        .iter()
        .filter_map(expiry_date)
        .map(|expiry| (expiry - today).num_days())
        .collect();
    Ok(ExpiryWatch {
        expired: days_left.iter().filter(|&&d| d < 0).count() as u64,
        expiring: EXPIRY_HORIZONS
            .iter()
            .map(|&h| {
                let n = days_left
                    .iter()
                    .filter(|&&d| (0..=i64::from(h)).contains(&d))
                    .count();
                (h, n as u64)
            })
            .collect(),
    })
}

fn product_name(store: &Store, gtin: &Gtin) -> Option<String> {
    store.product(gtin).ok().flatten().and_then(|p| p.name)
}

/// Recalled lots with units on hand, most units first.
pub fn recalled_lots(store: &Store, today: NaiveDate) -> Result<Vec<RecalledLot>, DeskError> {
    let recalled = InventoryFilter {
        recalled: true,
        ..InventoryFilter::default()
    };
    let mut lots: Vec<(Gtin, String, u64)> = Vec::new();
    for item in store.inventory(&recalled, today).map_err(desk_error)? {
        let lot = item.lot.unwrap_or_default();
        match lots
            .iter_mut()
            .find(|(g, l, _)| *g == item.gtin && *l == lot)
        {
            Some((_, _, n)) => *n += 1,
            None => lots.push((item.gtin, lot, 1)),
        }
    }
    lots.sort_by(|a, b| b.2.cmp(&a.2).then_with(|| a.1.cmp(&b.1)));
    Ok(lots
        .into_iter()
        .map(|(gtin, lot, on_hand)| RecalledLot {
            product: product_name(store, &gtin),
            gtin: gtin.as_str().to_owned(),
            lot,
            on_hand,
        })
        .collect())
}

fn lot_units(
    store: &Store,
    gtin: &Gtin,
    lot: &str,
    today: NaiveDate,
) -> Result<Vec<InventoryItem>, DeskError> {
    let of_lot = InventoryFilter {
        gtin: Some(gtin.clone()),
        lot: Some(lot.to_owned()),
        ..InventoryFilter::default()
    };
    store.inventory(&of_lot, today).map_err(desk_error)
}

/// Every unit of one lot this site received.
pub fn recall(
    store: &Store,
    gtin: &str,
    lot: &str,
    today: NaiveDate,
) -> Result<RecallFile, DeskError> {
    let gtin = product_gtin(gtin)?;
    let on_hand: Vec<OnHandUnit> = lot_units(store, &gtin, lot, today)?
        .into_iter()
        .map(unit)
        .collect();
    Ok(RecallFile {
        lot: RecalledLot {
            product: product_name(store, &gtin),
            gtin: gtin.as_str().to_owned(),
            lot: lot.to_owned(),
            on_hand: on_hand.len() as u64,
        },
        on_hand,
        dispensed: Vec::new(),
        returned: Vec::new(),
        notes: vec![
            "This store does not record dispensed or returned units yet: check the pharmacy \
             system for units of this lot that already left."
                .into(),
        ],
    })
}

/// Holds every unit of the lot still on hand; returns how many.
pub fn quarantine_lot(
    store: &mut Store,
    gtin: &str,
    lot: &str,
    reason: &str,
    today: NaiveDate,
) -> Result<u64, DeskError> {
    let gtin = product_gtin(gtin)?;
    let now = Local::now().fixed_offset();
    let reason = format!("recall quarantine: {reason}");
    let mut count = 0;
    for item in lot_units(store, &gtin, lot, today)? {
        if item.status == "quarantined" {
            continue;
        }
        let sgtin = Sgtin::new(item.gtin, &item.serial).map_err(|e| DeskError(e.to_string()))?;
        store.hold(&sgtin, &reason, now).map_err(desk_error)?;
        count += 1;
    }
    tracing::info!(
        "recall: quarantined {count} units of {} lot {lot}",
        gtin.as_str()
    );
    Ok(count)
}

/// Units found by GTIN, NDC or lot (the store cannot search names or serials yet).
pub fn search(store: &Store, text: &str, today: NaiveDate) -> Result<UnitList, DeskError> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(UnitList::default());
    }
    if let Ok(gtin) = product_gtin(text) {
        let by_product = InventoryFilter {
            gtin: Some(gtin),
            ..InventoryFilter::default()
        };
        return Ok(listed(
            store.inventory(&by_product, today).map_err(desk_error)?,
        ));
    }
    let by_lot = InventoryFilter {
        lot: Some(text.to_owned()),
        ..InventoryFilter::default()
    };
    let found = store.inventory(&by_lot, today).map_err(desk_error)?;
    if found.is_empty() {
        return Err(DeskError(format!(
            "no unit on hand with the GTIN, NDC or lot \"{text}\" (searching by name or serial \
             is not available in this store yet)"
        )));
    }
    Ok(listed(found))
}

/// Report numbers are not available from this store yet.
pub fn reports(_store: &Store) -> Result<Reports, DeskError> {
    Err(DeskError(
        "reports are not available in this store yet".into(),
    ))
}
