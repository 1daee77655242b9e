//! # Verdicts: is this pack genuine, sellable and expected?
//!
//! The rules that turn one parsed scan and what the local cache knows about it into a
//! [`Verdict`]. This module is pure: the store gathers the [`Facts`] (product master data, the
//! unit as the supplier announced it, lot recalls, local holds, earlier receipts, the shipment
//! being received), the caller passes `today`, and [`verdict`] decides. It never touches the
//! database, the clock or the network, so every rule is tested here with plain values.
//!
//! Reason codes are the stable vocabulary of `../shared/DESIGN.md` section 2 (GS1 US Lightweight
//! Messaging words where they exist). Several reasons can hold at once; all are listed, in the
//! order of [`Reason`]'s variants, so two runs on the same facts print the same line.

pub mod lms;

use crate::gs1::{Gtin, ParsedScan};
use chrono::NaiveDate;
use std::fmt;

/// The overall answer for one scan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    /// No reason to refuse the unit.
    Verified,
    /// The unit is identified but must not be accepted (see the reasons).
    Failed,
    /// The scan is not a valid GS1 message; nothing could be checked.
    Invalid,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Verified => "verified",
            Status::Failed => "failed",
            Status::Invalid => "invalid",
        }
    }

    /// The status named by [`Status::as_str`].
    pub fn from_code(code: &str) -> Option<Status> {
        [Status::Verified, Status::Failed, Status::Invalid]
            .into_iter()
            .find(|s| s.as_str() == code)
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a unit is not verified. The variant order is the order reasons are listed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Reason {
    NoMatchGtinSerial,
    NoMatchLot,
    NoMatchExpiry,
    UnknownProduct,
    Expired,
    Recalled,
    Stolen,
    Destroyed,
    Decommissioned,
    Suspect,
    Quarantined,
    DuplicateScan,
    NotExpected,
    /// The unit is not on the shelf here (never received, or already gone).
    NotInStock,
    InvalidBarcode,
}

impl Reason {
    /// Every reason, in listing order.
    pub const ALL: [Reason; 15] = [
        Reason::NoMatchGtinSerial,
        Reason::NoMatchLot,
        Reason::NoMatchExpiry,
        Reason::UnknownProduct,
        Reason::Expired,
        Reason::Recalled,
        Reason::Stolen,
        Reason::Destroyed,
        Reason::Decommissioned,
        Reason::Suspect,
        Reason::Quarantined,
        Reason::DuplicateScan,
        Reason::NotExpected,
        Reason::NotInStock,
        Reason::InvalidBarcode,
    ];

    /// The stable machine code (`no_match_lot`...).
    pub fn code(self) -> &'static str {
        match self {
            Reason::NoMatchGtinSerial => "no_match_gtin_serial",
            Reason::NoMatchLot => "no_match_lot",
            Reason::NoMatchExpiry => "no_match_expiry",
            Reason::UnknownProduct => "unknown_product",
            Reason::Expired => "expired",
            Reason::Recalled => "recalled",
            Reason::Stolen => "stolen",
            Reason::Destroyed => "destroyed",
            Reason::Decommissioned => "decommissioned",
            Reason::Suspect => "suspect",
            Reason::Quarantined => "quarantined",
            Reason::DuplicateScan => "duplicate_scan",
            Reason::NotExpected => "not_expected",
            Reason::NotInStock => "not_in_stock",
            Reason::InvalidBarcode => "invalid_barcode",
        }
    }

    /// The reason named by [`Reason::code`].
    pub fn from_code(code: &str) -> Option<Reason> {
        Reason::ALL.into_iter().find(|r| r.code() == code)
    }

    /// Plain words for the clerk's screen.
    pub fn label(self) -> &'static str {
        match self {
            Reason::NoMatchGtinSerial => "Serial unknown to supplier",
            Reason::NoMatchLot => "Lot does not match supplier data",
            Reason::NoMatchExpiry => "Expiry does not match supplier data",
            Reason::UnknownProduct => "Product not in master data",
            Reason::Expired => "Expired",
            Reason::Recalled => "Recalled lot",
            Reason::Stolen => "Reported stolen",
            Reason::Destroyed => "Reported destroyed",
            Reason::Decommissioned => "Already dispensed or decommissioned",
            Reason::Suspect => "Suspect: under investigation",
            Reason::Quarantined => "Quarantined by a pharmacist",
            Reason::DuplicateScan => "Already received at this desk",
            Reason::NotExpected => "Not on this shipment",
            Reason::NotInStock => "Not in stock here",
            Reason::InvalidBarcode => "Not a valid GS1 barcode",
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// The status of a unit as its supplier (or a later EPCIS disposition) reported it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum UnitStatus {
    #[default]
    Active,
    Recalled,
    Stolen,
    Destroyed,
    Decommissioned,
    Dispensed,
    Suspect,
    Quarantined,
    /// CBV `expired`: the supplier declared the unit past use.
    Expired,
    /// CBV `inactive`: not available for use.
    Inactive,
}

impl UnitStatus {
    pub const ALL: [UnitStatus; 10] = [
        UnitStatus::Active,
        UnitStatus::Recalled,
        UnitStatus::Stolen,
        UnitStatus::Destroyed,
        UnitStatus::Decommissioned,
        UnitStatus::Dispensed,
        UnitStatus::Suspect,
        UnitStatus::Quarantined,
        UnitStatus::Expired,
        UnitStatus::Inactive,
    ];

    /// The small integer the store keeps (stable across versions: only ever append).
    pub fn code(self) -> u8 {
        match self {
            UnitStatus::Active => 0,
            UnitStatus::Recalled => 1,
            UnitStatus::Stolen => 2,
            UnitStatus::Destroyed => 3,
            UnitStatus::Decommissioned => 4,
            UnitStatus::Dispensed => 5,
            UnitStatus::Suspect => 6,
            UnitStatus::Quarantined => 7,
            UnitStatus::Expired => 8,
            UnitStatus::Inactive => 9,
        }
    }

    pub fn from_code(code: u8) -> Option<UnitStatus> {
        UnitStatus::ALL.into_iter().find(|s| s.code() == code)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            UnitStatus::Active => "active",
            UnitStatus::Recalled => "recalled",
            UnitStatus::Stolen => "stolen",
            UnitStatus::Destroyed => "destroyed",
            UnitStatus::Decommissioned => "decommissioned",
            UnitStatus::Dispensed => "dispensed",
            UnitStatus::Suspect => "suspect",
            UnitStatus::Quarantined => "quarantined",
            UnitStatus::Expired => "expired",
            UnitStatus::Inactive => "inactive",
        }
    }

    /// The reason this status gives for refusing the unit, if any.
    pub fn reason(self) -> Option<Reason> {
        match self {
            UnitStatus::Active => None,
            UnitStatus::Recalled => Some(Reason::Recalled),
            UnitStatus::Stolen => Some(Reason::Stolen),
            UnitStatus::Destroyed => Some(Reason::Destroyed),
            UnitStatus::Decommissioned | UnitStatus::Dispensed | UnitStatus::Inactive => {
                Some(Reason::Decommissioned)
            }
            UnitStatus::Suspect => Some(Reason::Suspect),
            UnitStatus::Quarantined => Some(Reason::Quarantined),
            UnitStatus::Expired => Some(Reason::Expired),
        }
    }
}

impl fmt::Display for UnitStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A unit as its supplier announced it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct KnownUnit {
    /// `None` when the announcement carried no lot.
    pub lot: Option<String>,
    pub expiry: Option<NaiveDate>,
    pub status: UnitStatus,
}

/// Everything the cache knows that bears on one scan.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Facts {
    /// The GTIN is in the product master data.
    pub product_known: bool,
    /// The unit (GTIN + serial), when a supplier announced it.
    pub unit: Option<KnownUnit>,
    /// The scanned lot, or the announced one, is recalled.
    pub lot_recalled: bool,
    /// A pharmacist put the unit on hold here and has not released it.
    pub held: bool,
    /// A pharmacist marked the unit suspect or illegitimate here and has not released it.
    pub suspect: bool,
    /// The unit was already accepted at this desk.
    pub already_received: bool,
    /// When receiving against a shipment: whether the unit is on it. `None` otherwise.
    pub on_shipment: Option<bool>,
}

/// The answer for one scan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub status: Status,
    /// Every reason that holds, in [`Reason`] order; empty exactly when verified.
    pub reasons: Vec<Reason>,
}

impl Verdict {
    /// A verdict from its reasons: sorted, deduplicated, and the status that follows from them.
    pub fn from_reasons(mut reasons: Vec<Reason>) -> Verdict {
        reasons.sort_unstable();
        reasons.dedup();
        let status = if reasons.contains(&Reason::InvalidBarcode) {
            Status::Invalid
        } else if reasons.is_empty() {
            Status::Verified
        } else {
            Status::Failed
        };
        Verdict { status, reasons }
    }

    pub fn is_verified(&self) -> bool {
        self.status == Status::Verified
    }
}

/// What a pack says about itself: the four elements of the DSCSA product identifier, as
/// scanned (or, for the units inside a scanned case, as the aggregation data vouches).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductIdentifier {
    pub gtin: Gtin,
    pub serial: Option<String>,
    pub lot: Option<String>,
    pub expiry: Option<NaiveDate>,
}

impl ProductIdentifier {
    /// The identifier a scan carries; `None` when the scan is not a valid GS1 message or has no
    /// GTIN, so nothing can be checked.
    pub fn from_scan(scan: &ParsedScan) -> Option<ProductIdentifier> {
        if !scan.ok() {
            return None;
        }
        Some(ProductIdentifier {
            gtin: scan.gtin()?,
            serial: scan.serial().map(str::to_owned),
            lot: scan.lot().map(str::to_owned),
            expiry: scan.expiry,
        })
    }
}

/// Decide the verdict for one scan of a saleable unit.
///
/// A scan that is not a valid GS1 message, or that carries no GTIN, is `invalid_barcode` and
/// nothing else: its fields cannot be trusted for any other check.
pub fn verdict(scan: &ParsedScan, facts: &Facts, today: NaiveDate) -> Verdict {
    match ProductIdentifier::from_scan(scan) {
        Some(pid) => verdict_for(&pid, facts, today),
        None => Verdict::from_reasons(vec![Reason::InvalidBarcode]),
    }
}

/// Why a genuine unit may still not be sold: expired, its lot recalled, or on hold here.
fn push_unsaleable(
    reasons: &mut Vec<Reason>,
    expiry: Option<NaiveDate>,
    facts: &Facts,
    today: NaiveDate,
) {
    if expiry.is_some_and(|e| e < today) {
        reasons.push(Reason::Expired);
    }
    if facts.lot_recalled {
        reasons.push(Reason::Recalled);
    }
    if facts.held {
        reasons.push(Reason::Quarantined);
    }
}

/// Decide the verdict for a unit identified by `pid`.
pub fn verdict_for(pid: &ProductIdentifier, facts: &Facts, today: NaiveDate) -> Verdict {
    let mut reasons = Vec::new();
    if !facts.product_known {
        reasons.push(Reason::UnknownProduct);
    }
    match (&facts.unit, &pid.serial) {
        (Some(unit), Some(_)) => {
            // A missing lot or expiry on the pack cannot be matched: DSCSA verification needs
            // all four elements of the product identifier.
            if let Some(lot) = &unit.lot
                && pid.lot.as_deref() != Some(lot.as_str())
            {
                reasons.push(Reason::NoMatchLot);
            }
            if let Some(expiry) = unit.expiry
                && pid.expiry != Some(expiry)
            {
                reasons.push(Reason::NoMatchExpiry);
            }
            reasons.extend(unit.status.reason());
            if facts.on_shipment == Some(false) {
                reasons.push(Reason::NotExpected);
            }
        }
        // No serial means no unit can be identified: the same answer as an unknown serial.
        _ => reasons.push(Reason::NoMatchGtinSerial),
    }
    let expiry = pid
        .expiry
        .or_else(|| facts.unit.as_ref().and_then(|u| u.expiry));
    push_unsaleable(&mut reasons, expiry, facts, today);
    if facts.suspect {
        reasons.push(Reason::Suspect);
    }
    if facts.already_received {
        reasons.push(Reason::DuplicateScan);
    }
    Verdict::from_reasons(reasons)
}

/// Where a unit received here is now. Stored as a small integer (only ever append).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum StockState {
    /// On the shelf (held units included: they are still here).
    #[default]
    OnHand,
    Dispensed,
    ReturnedToSupplier,
    Destroyed,
    Decommissioned,
}

impl StockState {
    pub const ALL: [StockState; 5] = [
        StockState::OnHand,
        StockState::Dispensed,
        StockState::ReturnedToSupplier,
        StockState::Destroyed,
        StockState::Decommissioned,
    ];

    pub fn code(self) -> u8 {
        match self {
            StockState::OnHand => 0,
            StockState::Dispensed => 1,
            StockState::ReturnedToSupplier => 2,
            StockState::Destroyed => 3,
            StockState::Decommissioned => 4,
        }
    }

    pub fn from_code(code: u8) -> Option<StockState> {
        StockState::ALL.into_iter().find(|s| s.code() == code)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            StockState::OnHand => "on_hand",
            StockState::Dispensed => "dispensed",
            StockState::ReturnedToSupplier => "returned",
            StockState::Destroyed => "destroyed",
            StockState::Decommissioned => "decommissioned",
        }
    }
}

impl fmt::Display for StockState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A unit leaving the shelf, or coming back to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Movement {
    /// Handed to a patient.
    Dispense,
    /// Shipped back to the supplier (recalled, expired or damaged stock goes back this way).
    ReturnToSupplier,
    /// A saleable return coming back into stock (DSCSA saleable-returns verification).
    Restock,
}

impl Movement {
    pub fn as_str(self) -> &'static str {
        match self {
            Movement::Dispense => "dispense",
            Movement::ReturnToSupplier => "return",
            Movement::Restock => "restock",
        }
    }
}

/// A unit as it was received here.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StockedUnit {
    pub lot: Option<String>,
    pub expiry: Option<NaiveDate>,
    pub state: StockState,
}

/// Decide whether a unit may make `movement`.
///
/// The pack must be the unit that was announced or received (all four product identifier
/// elements match). A dispense needs a sellable unit on the shelf: not expired, recalled, held
/// or suspect. A return to the supplier needs the unit on the shelf, and takes recalled,
/// expired and quarantined stock (that is what returns are for), but not a suspect or stolen
/// one, which must not re-enter the supply chain. A restock is a saleable return: the unit must
/// have left from here (dispensed or returned) or be one a supplier announced, and must be
/// sellable.
pub fn movement_verdict(
    movement: Movement,
    pid: &ProductIdentifier,
    facts: &Facts,
    stock: Option<&StockedUnit>,
    today: NaiveDate,
) -> Verdict {
    let mut reasons = Vec::new();
    if pid.serial.is_none() || (facts.unit.is_none() && stock.is_none()) {
        reasons.push(Reason::NoMatchGtinSerial);
    }
    if !facts.product_known {
        reasons.push(Reason::UnknownProduct);
    }
    // The supplier's announcement is the reference; what was received here stands in for it.
    let (lot, expiry) = match (&facts.unit, stock) {
        (Some(unit), _) => (unit.lot.as_deref(), unit.expiry),
        (None, Some(stocked)) => (stocked.lot.as_deref(), stocked.expiry),
        (None, None) => (None, None),
    };
    if lot.is_some_and(|lot| pid.lot.as_deref() != Some(lot)) {
        reasons.push(Reason::NoMatchLot);
    }
    if expiry.is_some_and(|e| pid.expiry != Some(e)) {
        reasons.push(Reason::NoMatchExpiry);
    }
    let returning = movement == Movement::ReturnToSupplier;
    if let Some(reason) = facts.unit.as_ref().and_then(|u| u.status.reason()) {
        let returnable = matches!(reason, Reason::Recalled | Reason::Expired);
        if !(returning && returnable) {
            reasons.push(reason);
        }
    }
    if !returning {
        push_unsaleable(&mut reasons, pid.expiry.or(expiry), facts, today);
    }
    if facts.suspect {
        reasons.push(Reason::Suspect);
    }
    let leaving = movement != Movement::Restock;
    match stock.map(|s| s.state) {
        Some(StockState::OnHand) if leaving => {}
        Some(StockState::OnHand) => reasons.push(Reason::DuplicateScan),
        Some(StockState::Destroyed) => reasons.push(Reason::Destroyed),
        Some(StockState::Decommissioned) => reasons.push(Reason::Decommissioned),
        Some(StockState::Dispensed) if leaving => reasons.push(Reason::Decommissioned),
        Some(StockState::ReturnedToSupplier) | None if leaving => {
            reasons.push(Reason::NotInStock);
        }
        Some(StockState::Dispensed | StockState::ReturnedToSupplier) | None => {}
    }
    Verdict::from_reasons(reasons)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gs1::{self, ParseContext};

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 3, 15).unwrap()
    }

    fn scan(text: &str) -> ParsedScan {
        gs1::parse(text.as_bytes(), &ParseContext::new(today()))
    }

    /// A valid pack: GTIN 00307773105025, expiry 2028-11-30, lot 23A45, serial SN0001.
    fn good_scan() -> ParsedScan {
        scan("(01)00307773105025(17)281130(10)23A45(21)SN0001")
    }

    fn known_facts() -> Facts {
        Facts {
            product_known: true,
            unit: Some(KnownUnit {
                lot: Some("23A45".into()),
                expiry: NaiveDate::from_ymd_opt(2028, 11, 30),
                status: UnitStatus::Active,
            }),
            ..Facts::default()
        }
    }

    fn reasons(scan: &ParsedScan, facts: &Facts) -> Vec<&'static str> {
        verdict(scan, facts, today())
            .reasons
            .iter()
            .map(|r| r.code())
            .collect()
    }

    #[test]
    fn matching_unit_is_verified() {
        let v = verdict(&good_scan(), &known_facts(), today());
        assert_eq!(v.status, Status::Verified);
        assert!(v.reasons.is_empty());
        let on_shipment = Facts {
            on_shipment: Some(true),
            ..known_facts()
        };
        assert!(verdict(&good_scan(), &on_shipment, today()).is_verified());
    }

    #[test]
    fn unknown_serial() {
        let facts = Facts {
            unit: None,
            ..known_facts()
        };
        assert_eq!(reasons(&good_scan(), &facts), ["no_match_gtin_serial"]);
        // A GTIN-only scan identifies no unit.
        let gtin_only = scan("(01)00307773105025(17)281130(10)23A45");
        assert_eq!(
            reasons(&gtin_only, &known_facts()),
            ["no_match_gtin_serial"]
        );
    }

    #[test]
    fn lot_mismatch_and_missing_lot() {
        let other_lot = scan("(01)00307773105025(17)281130(10)99Z99(21)SN0001");
        assert_eq!(reasons(&other_lot, &known_facts()), ["no_match_lot"]);
        let no_lot = scan("(01)00307773105025(17)281130(21)SN0001");
        assert_eq!(reasons(&no_lot, &known_facts()), ["no_match_lot"]);
        // A unit announced without a lot has nothing to compare against.
        let lotless = Facts {
            unit: Some(KnownUnit {
                lot: None,
                ..known_facts().unit.unwrap()
            }),
            ..known_facts()
        };
        assert!(verdict(&other_lot, &lotless, today()).is_verified());
    }

    #[test]
    fn expiry_mismatch() {
        let other = scan("(01)00307773105025(17)281031(10)23A45(21)SN0001");
        assert_eq!(reasons(&other, &known_facts()), ["no_match_expiry"]);
        // YYMMDD with DD=00 is the last day of the month: the same date, no mismatch.
        let day_zero = scan("(01)00307773105025(17)281100(10)23A45(21)SN0001");
        assert!(verdict(&day_zero, &known_facts(), today()).is_verified());
    }

    #[test]
    fn unknown_product() {
        let facts = Facts {
            product_known: false,
            ..known_facts()
        };
        assert_eq!(reasons(&good_scan(), &facts), ["unknown_product"]);
    }

    #[test]
    fn expired_before_today_but_not_on_its_last_day() {
        let facts = Facts {
            unit: Some(KnownUnit {
                expiry: NaiveDate::from_ymd_opt(2026, 3, 14),
                ..known_facts().unit.unwrap()
            }),
            ..known_facts()
        };
        let expired = scan("(01)00307773105025(17)260314(10)23A45(21)SN0001");
        assert_eq!(reasons(&expired, &facts), ["expired"]);
        let last_day = scan("(01)00307773105025(17)260315(10)23A45(21)SN0001");
        let facts_today = Facts {
            unit: Some(KnownUnit {
                expiry: Some(today()),
                ..known_facts().unit.unwrap()
            }),
            ..known_facts()
        };
        assert!(verdict(&last_day, &facts_today, today()).is_verified());
        // With no expiry on the pack, the announced expiry still counts.
        let no_expiry = scan("(01)00307773105025(10)23A45(21)SN0001");
        assert_eq!(reasons(&no_expiry, &facts), ["no_match_expiry", "expired"]);
    }

    #[test]
    fn recalled_by_lot_or_by_unit() {
        let lot = Facts {
            lot_recalled: true,
            ..known_facts()
        };
        assert_eq!(reasons(&good_scan(), &lot), ["recalled"]);
        let unit = with_status(UnitStatus::Recalled);
        assert_eq!(reasons(&good_scan(), &unit), ["recalled"]);
        let both = Facts {
            lot_recalled: true,
            ..with_status(UnitStatus::Recalled)
        };
        assert_eq!(reasons(&good_scan(), &both), ["recalled"]);
    }

    fn with_status(status: UnitStatus) -> Facts {
        Facts {
            unit: Some(KnownUnit {
                status,
                ..known_facts().unit.unwrap()
            }),
            ..known_facts()
        }
    }

    #[test]
    fn unit_statuses_give_their_reasons() {
        let cases = [
            (UnitStatus::Stolen, "stolen"),
            (UnitStatus::Destroyed, "destroyed"),
            (UnitStatus::Decommissioned, "decommissioned"),
            (UnitStatus::Dispensed, "decommissioned"),
            (UnitStatus::Inactive, "decommissioned"),
            (UnitStatus::Suspect, "suspect"),
            (UnitStatus::Quarantined, "quarantined"),
            (UnitStatus::Expired, "expired"),
        ];
        for (status, code) in cases {
            assert_eq!(
                reasons(&good_scan(), &with_status(status)),
                [code],
                "{status}"
            );
        }
    }

    #[test]
    fn local_hold_is_quarantined() {
        let facts = Facts {
            held: true,
            ..known_facts()
        };
        assert_eq!(reasons(&good_scan(), &facts), ["quarantined"]);
    }

    #[test]
    fn duplicate_scan() {
        let facts = Facts {
            already_received: true,
            ..known_facts()
        };
        let v = verdict(&good_scan(), &facts, today());
        assert_eq!(v.status, Status::Failed);
        assert_eq!(v.reasons, [Reason::DuplicateScan]);
    }

    #[test]
    fn not_expected_only_for_known_units() {
        let facts = Facts {
            on_shipment: Some(false),
            ..known_facts()
        };
        assert_eq!(reasons(&good_scan(), &facts), ["not_expected"]);
        let unknown = Facts {
            unit: None,
            ..facts
        };
        assert_eq!(reasons(&good_scan(), &unknown), ["no_match_gtin_serial"]);
    }

    #[test]
    fn invalid_barcode_says_nothing_else() {
        for bad in [
            "(01)00307773105026(21)X",
            "hello",
            "",
            "(00)123456789012345675",
        ] {
            let v = verdict(&scan(bad), &Facts::default(), today());
            assert_eq!(v.status, Status::Invalid, "{bad:?}");
            assert_eq!(v.reasons, [Reason::InvalidBarcode]);
        }
    }

    #[test]
    fn several_reasons_are_all_listed_in_stable_order() {
        let facts = Facts {
            product_known: false,
            unit: Some(KnownUnit {
                lot: Some("OTHER".into()),
                expiry: NaiveDate::from_ymd_opt(2025, 1, 31),
                status: UnitStatus::Stolen,
            }),
            lot_recalled: true,
            held: true,
            suspect: true,
            already_received: true,
            on_shipment: Some(false),
        };
        let pack = scan("(01)00307773105025(17)250131(10)23A45(21)SN0001");
        assert_eq!(
            reasons(&pack, &facts),
            [
                "no_match_lot",
                "unknown_product",
                "expired",
                "recalled",
                "stolen",
                "suspect",
                "quarantined",
                "duplicate_scan",
                "not_expected"
            ]
        );
    }

    #[test]
    fn codes_round_trip_and_labels_are_distinct() {
        let mut labels = std::collections::HashSet::new();
        for r in Reason::ALL {
            assert_eq!(Reason::from_code(r.code()), Some(r));
            assert!(labels.insert(r.label()), "duplicate label {}", r.label());
        }
        for s in UnitStatus::ALL {
            assert_eq!(UnitStatus::from_code(s.code()), Some(s));
        }
        assert_eq!(Reason::from_code("nope"), None);
    }

    fn stocked(state: StockState) -> StockedUnit {
        StockedUnit {
            lot: Some("23A45".into()),
            expiry: NaiveDate::from_ymd_opt(2028, 11, 30),
            state,
        }
    }

    fn moved(movement: Movement, facts: &Facts, stock: Option<StockState>) -> Vec<&'static str> {
        let pid = ProductIdentifier::from_scan(&good_scan()).unwrap();
        let stock = stock.map(stocked);
        movement_verdict(movement, &pid, facts, stock.as_ref(), today())
            .reasons
            .iter()
            .map(|r| r.code())
            .collect()
    }

    #[test]
    fn dispense_needs_a_sellable_unit_on_the_shelf() {
        let on_hand = Some(StockState::OnHand);
        assert!(moved(Movement::Dispense, &known_facts(), on_hand).is_empty());
        assert_eq!(
            moved(Movement::Dispense, &known_facts(), None),
            ["not_in_stock"]
        );
        assert_eq!(
            moved(
                Movement::Dispense,
                &known_facts(),
                Some(StockState::Dispensed)
            ),
            ["decommissioned"]
        );
        let recalled_and_held = Facts {
            lot_recalled: true,
            held: true,
            ..known_facts()
        };
        assert_eq!(
            moved(Movement::Dispense, &recalled_and_held, on_hand),
            ["recalled", "quarantined"]
        );
    }

    #[test]
    fn returns_take_recalled_and_held_stock_but_not_suspect() {
        let on_hand = Some(StockState::OnHand);
        let recalled_and_held = Facts {
            lot_recalled: true,
            held: true,
            ..known_facts()
        };
        assert!(moved(Movement::ReturnToSupplier, &recalled_and_held, on_hand).is_empty());
        let suspect = Facts {
            suspect: true,
            ..known_facts()
        };
        assert_eq!(
            moved(Movement::ReturnToSupplier, &suspect, on_hand),
            ["suspect"]
        );
        assert_eq!(
            moved(
                Movement::ReturnToSupplier,
                &known_facts(),
                Some(StockState::ReturnedToSupplier)
            ),
            ["not_in_stock"]
        );
    }

    #[test]
    fn restock_is_a_saleable_return_verification() {
        for gone in [StockState::Dispensed, StockState::ReturnedToSupplier] {
            assert!(moved(Movement::Restock, &known_facts(), Some(gone)).is_empty());
        }
        // Announced by the supplier but never received here: a saleable return from elsewhere.
        assert!(moved(Movement::Restock, &known_facts(), None).is_empty());
        assert_eq!(
            moved(Movement::Restock, &known_facts(), Some(StockState::OnHand)),
            ["duplicate_scan"]
        );
        assert_eq!(
            moved(
                Movement::Restock,
                &known_facts(),
                Some(StockState::Destroyed)
            ),
            ["destroyed"]
        );
        let unknown = Facts {
            unit: None,
            ..known_facts()
        };
        assert_eq!(
            moved(Movement::Restock, &unknown, None),
            ["no_match_gtin_serial"]
        );
        let recalled = Facts {
            lot_recalled: true,
            ..known_facts()
        };
        assert_eq!(
            moved(Movement::Restock, &recalled, Some(StockState::Dispensed)),
            ["recalled"]
        );
        // Received here but not announced: the receipt is the reference for lot and expiry.
        let pid =
            ProductIdentifier::from_scan(&scan("(01)00307773105025(17)281130(10)OTHER(21)SN0001"))
                .unwrap();
        let v = movement_verdict(
            Movement::Restock,
            &pid,
            &unknown,
            Some(&stocked(StockState::Dispensed)),
            today(),
        );
        assert_eq!(v.reasons, [Reason::NoMatchLot]);
    }

    #[test]
    fn stock_state_codes_round_trip() {
        for s in StockState::ALL {
            assert_eq!(StockState::from_code(s.code()), Some(s));
        }
    }
}
