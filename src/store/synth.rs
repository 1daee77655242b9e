//! Synthetic supplier data at the scale of a busy pharmacy's year, for benchmarks.
//!
//! [`generate`] writes products, lots, shipments and units straight through the same unit
//! writer the EPCIS import uses (one transaction, change detection included), so its speed is
//! the import's speed without JSON parsing. The data is deterministic for a given spec: serials
//! are 13 characters of a bijective mix of a counter, so they look random but never collide.

use super::import::{ImportCounts, ProductRow, UnitAnnouncement, UnitWriter, upsert_product};
use super::shipment::upsert_shipment;
use super::{StoreError, gtin_key, iso_date};
use crate::gs1::{Gtin, Ndc};
use crate::verify::UnitStatus;
use chrono::{DateTime, Days, NaiveDate, Utc};
use rusqlite::TransactionBehavior;

/// How much to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SynthSpec {
    pub units: u64,
    pub products: u32,
    pub lots: u32,
    /// Units per shipment (each shipment has a PO and an ASN reference).
    pub shipment_size: u32,
}

impl Default for SynthSpec {
    /// The scale: 10 million units, 5,000 products, 200,000 lots.
    fn default() -> SynthSpec {
        SynthSpec {
            units: 10_000_000,
            products: 5_000,
            lots: 200_000,
            shipment_size: 500,
        }
    }
}

/// The unit at position `index` of a generated store, for benchmarks to look up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SynthUnit {
    pub gtin: Gtin,
    pub serial: String,
    pub lot: String,
    pub expiry: NaiveDate,
}

/// A bijection on u64 (the splitmix64 finaliser): distinct counters give distinct serials.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// 13 characters of a 32-letter alphabet hold all 64 bits.
fn serial(index: u64) -> String {
    const ALPHABET: &[u8; 32] = b"23456789ABCDEFGHJKLMNPQRSTUVWXYZ";
    let mut v = mix(index);
    let mut out = String::with_capacity(13);
    for _ in 0..13 {
        // `v & 31` is below 32, the alphabet's length.
        out.extend(ALPHABET.get((v & 31) as usize).map(|&b| char::from(b)));
        v >>= 5;
    }
    out
}

fn product_gtin(product: u32) -> Result<Gtin, StoreError> {
    // A 5-3-2 NDC under fictitious labeler codes 70000 and up.
    let digits = format!("{:05}-{:03}-01", 70_000 + product / 1000, product % 1000);
    Ndc::parse(&digits)
        .map(|ndc| Gtin::from_ndc(&ndc, 0))
        .map_err(|e| StoreError::Corrupt(format!("synthetic NDC {digits}: {e}")))
}

fn lot_expiry(lot: u64, base: NaiveDate) -> NaiveDate {
    base.checked_add_days(Days::new(180 + mix(lot) % 1100))
        .unwrap_or(base)
}

impl SynthSpec {
    fn units_per_lot(&self) -> u64 {
        (self.units / u64::from(self.lots.max(1))).max(1)
    }

    fn lots_per_product(&self) -> u64 {
        (u64::from(self.lots) / u64::from(self.products.max(1))).max(1)
    }

    /// The unit at `index` (0 <= index < units), as [`generate`] wrote it with `today`.
    pub fn unit(&self, index: u64, today: NaiveDate) -> Result<SynthUnit, StoreError> {
        let lot = index / self.units_per_lot();
        let product =
            (lot / self.lots_per_product()).min(u64::from(self.products.saturating_sub(1)));
        Ok(SynthUnit {
            gtin: product_gtin(product as u32)?,
            serial: serial(index),
            lot: format!("L{lot:06}"),
            expiry: lot_expiry(lot, today),
        })
    }
}

/// Write the synthetic data set; returns the unit counts. `progress` is called every million
/// units with the number written so far.
pub fn generate(
    store: &mut super::Store,
    spec: &SynthSpec,
    today: NaiveDate,
    now: DateTime<Utc>,
    mut progress: impl FnMut(u64),
) -> Result<ImportCounts, StoreError> {
    let conn = store.conn_mut();
    // A large page cache keeps the units b-tree's interior pages in memory while it grows.
    conn.pragma_update(None, "cache_size", -262_144)?;
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    for p in 0..spec.products {
        let gtin = product_gtin(p)?;
        let ndc = gtin.ndc().map(|n| n.to_string());
        let row = ProductRow::new(
            ndc,
            &format!("Synthetic product {p}"),
            "10 mg/1",
            "TABLET",
            "Synthetic Labs",
        );
        upsert_product(&tx, &gtin, &row)?;
    }
    let mut writer = UnitWriter::new();
    let mut counts = ImportCounts::default();
    let mut shipment = None;
    let mut current_lot = u64::MAX;
    let mut lot_name = String::new();
    let mut expiry = String::new();
    let mut gtin = 0i64;
    for index in 0..spec.units {
        if index % u64::from(spec.shipment_size.max(1)) == 0 {
            let n = index / u64::from(spec.shipment_size.max(1));
            let asn = format!("ASN-SYN-{n:07}");
            let po = format!("PO-SYN-{n:07}");
            shipment = Some(
                upsert_shipment(
                    &tx,
                    &[("desadv", &asn), ("po", &po)],
                    Some("synthetic"),
                    now,
                )?
                .0,
            );
        }
        let lot = index / spec.units_per_lot();
        if lot != current_lot {
            current_lot = lot;
            let unit = spec.unit(index, today)?;
            lot_name = unit.lot;
            expiry = iso_date(unit.expiry);
            gtin = gtin_key(&unit.gtin);
        }
        // A few units in every thousand carry a status that forbids receipt.
        let status = match mix(index ^ 0x5EED) % 1000 {
            0 => Some(UnitStatus::Recalled),
            1 => Some(UnitStatus::Stolen),
            2 => Some(UnitStatus::Dispensed),
            _ => None,
        };
        let change = writer.write(
            &tx,
            &UnitAnnouncement {
                gtin,
                serial: &serial(index),
                lot: Some((&lot_name, &expiry)),
                status,
                shipment: shipment.map(|s| s.0),
            },
        )?;
        counts.add(change);
        if (index + 1) % 1_000_000 == 0 {
            progress(index + 1);
        }
    }
    tx.commit()?;
    Ok(counts)
}

/// Put every announced unit on the shelf, as if each had been received at `now`: the stock
/// the inventory, expiry, recall and search benchmarks query. Returns the units stocked.
pub fn stock_everything(store: &mut super::Store, now: DateTime<Utc>) -> Result<u64, StoreError> {
    let at = super::timestamp(now);
    let conn = store.conn_mut();
    conn.pragma_update(None, "cache_size", -262_144)?;
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let n = tx.execute(
        "INSERT OR IGNORE INTO stock (gtin, serial, lot, expiry, shipment, received_at, state,
                                      changed_at)
         SELECT u.gtin, u.serial, nullif(l.lot, ''), nullif(l.expiry, ''), u.shipment, ?1, 0, ?1
         FROM units u LEFT JOIN lots l ON l.id = u.lot",
        [at],
    )?;
    tx.commit()?;
    Ok(n as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serials_are_distinct_and_valid() {
        let serials: std::collections::HashSet<String> = (0..10_000).map(serial).collect();
        assert_eq!(serials.len(), 10_000);
        assert!(serials.iter().all(|s| crate::gs1::ident::serial_ok(s)));
    }

    #[test]
    fn spec_maps_units_to_lots_and_products() {
        let spec = SynthSpec {
            units: 1000,
            products: 5,
            lots: 20,
            shipment_size: 100,
        };
        let today = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
        assert_eq!(spec.unit(0, today).unwrap().lot, "L000000");
        assert_eq!(spec.unit(999, today).unwrap().lot, "L000019");
        assert_eq!(
            spec.unit(999, today).unwrap().gtin,
            product_gtin(4).unwrap()
        );
        assert!(spec.unit(5, today).unwrap().expiry > today);
    }
}
