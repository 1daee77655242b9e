//! Fuzz the whole scan pipeline: any bytes a scanner (or an attacker with a label printer) can
//! produce must give a verdict, never a panic, and a valid result must round-trip.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tracedesk::gs1::{self, ParseContext};

fuzz_target!(|data: &[u8]| {
    let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 24).unwrap_or_default();
    let ctx = ParseContext::new(today);
    let scan = gs1::parse(data, &ctx);
    if scan.ok() {
        // The bracketed form of a valid scan parses back to the same elements.
        let again = gs1::parse(scan.hri().as_bytes(), &ctx);
        assert!(again.ok(), "HRI of a valid scan failed: {:?}", again.errors);
        assert_eq!(again.elements, scan.elements);
    }
});
