//! # Exceptions: when product and data disagree
//!
//! The DSCSA receiving exceptions of the Partnership for DSCSA Governance (PDG) and HDA
//! categories, as pure values: what kind of difference a case is, what a trading partner is
//! asked to do about it, how long a pack held for its data may wait, and how many packages a
//! suspect-product investigation must verify. The store keeps the cases
//! ([`crate::store::exceptions`]); [`pdg`] writes the exception report and reads the partner's
//! response.
//!
//! Nothing here reads the clock: dates are passed in.

pub mod pdg;

use chrono::{Datelike, Days, NaiveDate, Weekday};
use std::fmt;

/// The kind of difference an exception case records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ExceptionKind {
    /// Announced by the data, never received (PDG "missing product": data, no product).
    MissingProduct,
    /// Received, but no data announces it to this site (PDG "missing product data").
    MissingProductData,
    /// The serial is announced, but the pack's lot or expiry differs from the data's.
    DataMisalignment,
    /// More units of a GTIN received than the shipment's quantity list ordered.
    Overage,
    /// Fewer units of a GTIN received than the shipment's quantity list ordered.
    Shortage,
    /// The clerk marked a pack damaged or unreadable.
    Damaged,
}

impl ExceptionKind {
    pub const ALL: [ExceptionKind; 6] = [
        ExceptionKind::MissingProduct,
        ExceptionKind::MissingProductData,
        ExceptionKind::DataMisalignment,
        ExceptionKind::Overage,
        ExceptionKind::Shortage,
        ExceptionKind::Damaged,
    ];

    /// The stable word stored and printed (DESIGN.md section 4).
    pub fn code(self) -> &'static str {
        match self {
            ExceptionKind::MissingProduct => "missing_product",
            ExceptionKind::MissingProductData => "missing_product_data",
            ExceptionKind::DataMisalignment => "data_misalignment",
            ExceptionKind::Overage => "overage",
            ExceptionKind::Shortage => "shortage",
            ExceptionKind::Damaged => "damaged",
        }
    }

    pub fn from_code(code: &str) -> Option<ExceptionKind> {
        ExceptionKind::ALL.into_iter().find(|k| k.code() == code)
    }

    /// Plain words for the kiosk.
    pub fn label(self) -> &'static str {
        match self {
            ExceptionKind::MissingProduct => "Announced, never arrived",
            ExceptionKind::MissingProductData => "Arrived without data",
            ExceptionKind::DataMisalignment => "Pack and data disagree",
            ExceptionKind::Overage => "More than ordered",
            ExceptionKind::Shortage => "Less than ordered",
            ExceptionKind::Damaged => "Damaged or unreadable",
        }
    }

    /// What the trading partner is asked to do (the PDG `resolution_request`), when the PDG
    /// report has a place for this kind.
    pub fn requested_resolution(self) -> Option<pdg::Resolution> {
        match self {
            ExceptionKind::MissingProductData | ExceptionKind::DataMisalignment => {
                Some(pdg::Resolution::SendNewData)
            }
            ExceptionKind::MissingProduct => Some(pdg::Resolution::CreditAccount),
            // HDA scenario 1.1A: the dispenser keeps the extra product and is billed for it.
            ExceptionKind::Overage => Some(pdg::Resolution::DebitAccount),
            ExceptionKind::Shortage => Some(pdg::Resolution::SendProduct),
            ExceptionKind::Damaged => None,
        }
    }

    /// Whether a pack of this kind is on the premises, held until the case is resolved.
    pub fn holds_a_pack(self) -> bool {
        matches!(
            self,
            ExceptionKind::MissingProductData | ExceptionKind::DataMisalignment
        )
    }
}

impl fmt::Display for ExceptionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// Whether a case still needs someone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CaseStatus {
    Open,
    Resolved,
}

impl CaseStatus {
    pub fn code(self) -> &'static str {
        match self {
            CaseStatus::Open => "open",
            CaseStatus::Resolved => "resolved",
        }
    }

    pub fn from_code(code: &str) -> Option<CaseStatus> {
        match code {
            "open" => Some(CaseStatus::Open),
            "resolved" => Some(CaseStatus::Resolved),
            _ => None,
        }
    }
}

/// How a case was closed. Stored and printed as [`Resolution::code`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Resolution {
    /// The missing or corrected data arrived and the held pack was released to stock.
    DataReceived,
    /// The pack announced as missing was received after all.
    ProductReceived,
    /// The pack went back to the supplier.
    Returned,
    /// The pack is quarantined as suspect product (a DSCSA investigation follows).
    QuarantinedSuspect,
    /// The pack was destroyed.
    Destroyed,
    /// The partner credited or debited the account, or sent what was missing: nothing more to
    /// do here.
    Settled,
    /// The pharmacist closed it with no further action (a duplicate case, a mistake).
    Dismissed,
}

impl Resolution {
    pub const ALL: [Resolution; 7] = [
        Resolution::DataReceived,
        Resolution::ProductReceived,
        Resolution::Returned,
        Resolution::QuarantinedSuspect,
        Resolution::Destroyed,
        Resolution::Settled,
        Resolution::Dismissed,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Resolution::DataReceived => "data_received",
            Resolution::ProductReceived => "product_received",
            Resolution::Returned => "returned",
            Resolution::QuarantinedSuspect => "quarantined_suspect",
            Resolution::Destroyed => "destroyed",
            Resolution::Settled => "settled",
            Resolution::Dismissed => "dismissed",
        }
    }

    pub fn from_code(code: &str) -> Option<Resolution> {
        Resolution::ALL.into_iter().find(|r| r.code() == code)
    }

    /// Plain words for the kiosk's buttons and lists.
    pub fn label(self) -> &'static str {
        match self {
            Resolution::DataReceived => "Data received, released to stock",
            Resolution::ProductReceived => "Received after all",
            Resolution::Returned => "Returned to supplier",
            Resolution::QuarantinedSuspect => "Quarantined as suspect",
            Resolution::Destroyed => "Destroyed",
            Resolution::Settled => "Settled with the partner",
            Resolution::Dismissed => "Dismissed",
        }
    }

    /// The decisions a pharmacist may take by hand on a case of `kind` (the others happen by
    /// themselves: data arriving, a pack received late). A held pack can go back, be
    /// quarantined as suspect or destroyed; a case without a pack here is settled or
    /// dismissed.
    pub fn decisions_for(kind: ExceptionKind) -> &'static [Resolution] {
        if kind.holds_a_pack() {
            &[
                Resolution::Returned,
                Resolution::QuarantinedSuspect,
                Resolution::Destroyed,
            ]
        } else {
            &[Resolution::Settled, Resolution::Dismissed]
        }
    }
}

impl fmt::Display for Resolution {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// The default grace period for a pack held for its data (`exception_grace_days`).
pub const DEFAULT_GRACE_BUSINESS_DAYS: u32 = 3;

/// The day a grace period of `business_days` that starts on `from` ends: weekends do not
/// count (a pack held on Friday with 3 days waits until Wednesday).
pub fn grace_deadline(from: NaiveDate, business_days: u32) -> NaiveDate {
    let mut day = from;
    let mut left = business_days;
    while left > 0 {
        let Some(next) = day.checked_add_days(Days::new(1)) else {
            return day;
        };
        day = next;
        if !matches!(day.weekday(), Weekday::Sat | Weekday::Sun) {
            left -= 1;
        }
    }
    day
}

/// How many packages of a suspect product must be verified: at least 3 or 10 % of those on
/// hand, whichever is greater, and all of them when fewer than 3 are on hand (DSCSA guidance
/// for suspect product investigations).
pub fn suspect_sample_size(on_hand: u64) -> u64 {
    if on_hand < 3 {
        on_hand
    } else {
        on_hand.div_ceil(10).max(3)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn codes_round_trip() {
        for kind in ExceptionKind::ALL {
            assert_eq!(ExceptionKind::from_code(kind.code()), Some(kind));
        }
        for r in Resolution::ALL {
            assert_eq!(Resolution::from_code(r.code()), Some(r));
        }
        assert_eq!(ExceptionKind::from_code("missing"), None);
    }

    #[test]
    fn grace_skips_weekends() {
        // 2026-11-27 is a Friday.
        assert_eq!(grace_deadline(date(2026, 11, 27), 3), date(2026, 12, 2));
        // Monday + 3 business days = Thursday.
        assert_eq!(grace_deadline(date(2026, 11, 30), 3), date(2026, 12, 3));
        // Held on a Saturday: Monday is the first business day.
        assert_eq!(grace_deadline(date(2026, 11, 28), 1), date(2026, 11, 30));
        assert_eq!(grace_deadline(date(2026, 11, 28), 0), date(2026, 11, 28));
    }

    #[test]
    fn suspect_sample_is_three_or_ten_percent() {
        assert_eq!(suspect_sample_size(0), 0);
        assert_eq!(suspect_sample_size(2), 2);
        assert_eq!(suspect_sample_size(3), 3);
        assert_eq!(suspect_sample_size(30), 3);
        assert_eq!(suspect_sample_size(31), 4);
        assert_eq!(suspect_sample_size(100), 10);
        assert_eq!(suspect_sample_size(101), 11);
    }

    #[test]
    fn held_packs_have_physical_decisions() {
        assert!(
            Resolution::decisions_for(ExceptionKind::MissingProductData)
                .contains(&Resolution::Returned)
        );
        assert!(
            !Resolution::decisions_for(ExceptionKind::MissingProduct)
                .contains(&Resolution::Destroyed)
        );
    }
}
