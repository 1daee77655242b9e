//! A demo store in which every verdict can be seen.
//!
//! [`create_demo`] fills a store with three products, a shipment (PO and ASN) with its units
//! and a case SSCC, a recalled lot, and units that are stolen, destroyed, dispensed, suspect,
//! quarantined and expired; it returns the scans to try and what each should answer. The
//! command line prints them (`tracedesk --demo`); the kiosk offers them as buttons. Running it
//! again on the same store changes nothing.

use super::import::{ProductRow, UnitAnnouncement, UnitWriter, upsert_product};
use super::shipment::upsert_shipment;
use super::{StoreError, gtin_key, iso_date};
use crate::gs1::{Gtin, Ndc};
use crate::verify::{Reason, UnitStatus};
use chrono::{Days, NaiveDate};
use rusqlite::{TransactionBehavior, params};

/// One scan to try on the demo store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoScan {
    /// What the scan shows, in plain words.
    pub label: String,
    /// The scan in bracketed form, ready for `tracedesk verify`.
    pub scan: String,
    /// The reasons `receive --shipment` gives on the first scan (empty = verified).
    pub expected: Vec<Reason>,
}

/// The scans to try, and the shipment reference to receive them against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoScans {
    pub shipment: String,
    /// The case label (SSCC) whose units the aggregation data lists.
    pub case_sscc: String,
    pub scans: Vec<DemoScan>,
}

struct DemoProduct {
    ndc: &'static str,
    name: &'static str,
    strength: &'static str,
    form: &'static str,
}

const PRODUCTS: [DemoProduct; 3] = [
    DemoProduct {
        ndc: "59999-101-01",
        name: "Amoxicillin",
        strength: "500 mg/1",
        form: "CAPSULE",
    },
    DemoProduct {
        ndc: "59999-202-30",
        name: "Atorvastatin Calcium",
        strength: "20 mg/1",
        form: "TABLET, FILM COATED",
    },
    DemoProduct {
        ndc: "59999-303-90",
        name: "Metformin Hydrochloride",
        strength: "850 mg/1",
        form: "TABLET",
    },
];

const SHIPMENT_PO: &str = "PO-DEMO-1001";
const SHIPMENT_ASN: &str = "ASN-DEMO-1001";
const CASE_SSCC: &str = "106141412345678908";
const MANUFACTURER: &str = "TraceDesk Demo Pharma";

/// Fill `store` with the demo data (idempotent) and return the scans to try.
pub fn create_demo(store: &mut super::Store, today: NaiveDate) -> Result<DemoScans, StoreError> {
    let gtins: Vec<Gtin> = PRODUCTS
        .iter()
        .map(|p| {
            Ndc::parse(p.ndc)
                .map(|ndc| Gtin::from_ndc(&ndc, 0))
                .map_err(|e| StoreError::Corrupt(format!("demo NDC {}: {e}", p.ndc)))
        })
        .collect::<Result<_, _>>()?;
    let [amox, atorva, metformin] = gtins.as_slice() else {
        return Err(StoreError::Corrupt("demo products".into()));
    };
    let good_expiry = today.checked_add_days(Days::new(700)).unwrap_or(today);
    let past_expiry = today.checked_sub_days(Days::new(30)).unwrap_or(today);
    // Demo timestamps derive from `today` so the store never reads the clock.
    let created = today.and_time(chrono::NaiveTime::MIN).and_utc();

    let tx = store
        .conn_mut()
        .transaction_with_behavior(TransactionBehavior::Immediate)?;
    for (p, gtin) in PRODUCTS.iter().zip(&gtins) {
        let row = ProductRow::new(
            Some(p.ndc.to_string()),
            p.name,
            p.strength,
            p.form,
            MANUFACTURER,
        );
        upsert_product(&tx, gtin, &row)?;
    }
    let (shipment, _) = upsert_shipment(
        &tx,
        &[
            ("desadv", SHIPMENT_ASN),
            ("po", SHIPMENT_PO),
            ("sscc", CASE_SSCC),
        ],
        Some("demo"),
        created,
    )?;
    let good = iso_date(good_expiry);
    let past = iso_date(past_expiry);
    // (gtin, serial, lot, expiry, status, on the shipment)
    let units: [(&Gtin, &str, &str, &str, UnitStatus, bool); 14] = [
        (amox, "AMX0001", "LA2401", &good, UnitStatus::Active, true),
        (amox, "AMX0002", "LA2401", &good, UnitStatus::Active, true),
        (amox, "AMX0003", "LA2401", &good, UnitStatus::Active, true),
        (amox, "AMX0004", "LA2401", &good, UnitStatus::Active, true),
        (amox, "AMX0666", "LA2401", &good, UnitStatus::Stolen, true),
        (amox, "AMX0900", "LA2401", &good, UnitStatus::Active, false),
        (atorva, "ATV0001", "LB2399", &good, UnitStatus::Active, true),
        (atorva, "ATV0002", "LB2400", &good, UnitStatus::Active, true),
        (
            atorva,
            "ATV0003",
            "LB2400",
            &good,
            UnitStatus::Destroyed,
            true,
        ),
        (
            atorva,
            "ATV0004",
            "LB2400",
            &good,
            UnitStatus::Dispensed,
            true,
        ),
        (
            metformin,
            "MET0001",
            "LC2201",
            &past,
            UnitStatus::Active,
            true,
        ),
        (
            metformin,
            "MET0002",
            "LC2402",
            &good,
            UnitStatus::Suspect,
            true,
        ),
        (
            metformin,
            "MET0003",
            "LC2402",
            &good,
            UnitStatus::Quarantined,
            true,
        ),
        (
            metformin,
            "MET0004",
            "LC2402",
            &good,
            UnitStatus::Active,
            true,
        ),
    ];
    let mut writer = UnitWriter::new();
    for (gtin, serial, lot, expiry, status, on_shipment) in units {
        writer.write(
            &tx,
            &UnitAnnouncement {
                gtin: gtin_key(gtin),
                serial,
                lot: Some((lot, expiry)),
                status: Some(status),
                shipment: on_shipment.then_some(shipment.0),
            },
        )?;
    }
    let sscc: i64 = CASE_SSCC.parse().unwrap_or_default();
    for serial in ["AMX0002", "AMX0003", "AMX0004"] {
        tx.execute(
            "INSERT OR IGNORE INTO container_units (sscc, gtin, serial) VALUES (?1, ?2, ?3)",
            params![sscc, gtin_key(amox), serial],
        )?;
    }
    tx.execute(
        "INSERT OR IGNORE INTO lot_recalls (gtin, lot, reason) VALUES (?1, 'LB2399', ?2)",
        params![
            gtin_key(atorva),
            "Demo recall: tablets may contain foreign particles"
        ],
    )?;
    tx.commit()?;

    let yymmdd = |d: NaiveDate| d.format("%y%m%d").to_string();
    let scan = |gtin: &Gtin, expiry: NaiveDate, lot: &str, serial: &str| {
        format!("(01){gtin}(17){}(10){lot}(21){serial}", yymmdd(expiry))
    };
    let unknown_product = Ndc::parse("59999-404-01")
        .map(|n| Gtin::from_ndc(&n, 0))
        .map_err(|e| StoreError::Corrupt(format!("demo NDC: {e}")))?;
    use Reason::*;
    let demo = |label: &str, scan: String, expected: Vec<Reason>| DemoScan {
        label: label.to_string(),
        scan,
        expected,
    };
    let scans = vec![
        demo(
            "Genuine pack on the shipment",
            scan(amox, good_expiry, "LA2401", "AMX0001"),
            vec![],
        ),
        demo(
            "Recalled lot",
            scan(atorva, good_expiry, "LB2399", "ATV0001"),
            vec![Recalled],
        ),
        demo(
            "Stolen unit",
            scan(amox, good_expiry, "LA2401", "AMX0666"),
            vec![Stolen],
        ),
        demo(
            "Expired pack",
            scan(metformin, past_expiry, "LC2201", "MET0001"),
            vec![Expired],
        ),
        demo(
            "Destroyed unit",
            scan(atorva, good_expiry, "LB2400", "ATV0003"),
            vec![Destroyed],
        ),
        demo(
            "Already dispensed",
            scan(atorva, good_expiry, "LB2400", "ATV0004"),
            vec![Decommissioned],
        ),
        demo(
            "Suspect unit",
            scan(metformin, good_expiry, "LC2402", "MET0002"),
            vec![Suspect],
        ),
        demo(
            "Quarantined unit",
            scan(metformin, good_expiry, "LC2402", "MET0003"),
            vec![Quarantined],
        ),
        demo(
            "Lot on the pack differs",
            scan(metformin, good_expiry, "LC9999", "MET0004"),
            vec![NoMatchLot],
        ),
        demo(
            "Expiry on the pack differs",
            scan(
                atorva,
                good_expiry
                    .checked_add_days(Days::new(31))
                    .unwrap_or(good_expiry),
                "LB2400",
                "ATV0002",
            ),
            vec![NoMatchExpiry],
        ),
        demo(
            "Serial unknown to supplier",
            scan(amox, good_expiry, "LA2401", "AMX9999"),
            vec![NoMatchGtinSerial],
        ),
        demo(
            "Product not in master data",
            scan(&unknown_product, good_expiry, "LX0001", "UNK0001"),
            vec![NoMatchGtinSerial, UnknownProduct],
        ),
        demo(
            "Not on this shipment",
            scan(amox, good_expiry, "LA2401", "AMX0900"),
            vec![NotExpected],
        ),
        demo(
            "Damaged barcode (check digit wrong)",
            format!(
                "(01)00359999101010(17){}(10)LA2401(21)AMX0001",
                yymmdd(good_expiry)
            ),
            vec![InvalidBarcode],
        ),
        demo(
            "Case label: receives its 3 packs",
            format!("(00){CASE_SSCC}"),
            vec![],
        ),
    ];
    Ok(DemoScans {
        shipment: SHIPMENT_ASN.to_string(),
        case_sscc: CASE_SSCC.to_string(),
        scans,
    })
}
