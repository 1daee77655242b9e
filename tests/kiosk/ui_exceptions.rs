//! Exceptions at the kiosk: a pack without data is kept and held (the card says where it goes),
//! closing the shipment opens its cases, and the pharmacist resolves them from her screen.
//! Driven through egui_kittest on a real demo store (`ui_support`).

use crate::ui_support;
use egui_kittest::kittest::Queryable;
use tracedesk::exceptions::CaseStatus;
use tracedesk::store::CaseFilter;
use ui_support::{PIN, kiosk_with, store, with_pin};

const AMOXICILLIN: &str = "00359999101015";

#[test]
fn a_pack_without_data_is_held_then_the_closed_shipments_cases_are_resolved() {
    let mut k = kiosk_with(with_pin);
    k.scan(b"00106141412345678908");
    k.wait_for("Receiving ASN-DEMO-1001");
    // A genuine-looking pack of a known product, but no data announces its serial.
    k.receive(&k.pack(AMOXICILLIN, "LA2401", "AMX7777"));
    assert!(k.shows("REFUSED"));
    assert!(k.shows("Serial unknown to supplier"));
    assert!(k.shows("KEEP IT: put the pack in the pending-data tote"));
    k.receive(&k.pack(AMOXICILLIN, "LA2401", "AMX0001"));
    assert!(k.shows("VERIFIED"));

    k.click("Close shipment");
    k.wait_for("exception case(s) for the pharmacist");
    // Let the summary finish appearing before pressing it, as a finger would.
    for _ in 0..30 {
        k.harness.step();
    }
    k.click("Done");
    assert!(
        !k.shows("exception case(s) for the pharmacist"),
        "the summary closes"
    );

    let open = |k: &ui_support::Kiosk| {
        store(&k.db)
            .exception_cases(CaseFilter {
                shipment: None,
                open_only: true,
            })
            .unwrap()
    };
    let cases = open(&k);
    let held = cases
        .iter()
        .find(|c| c.serial.as_deref() == Some("AMX7777"))
        .expect("a case for the pack without data");
    assert_eq!(held.kind.code(), "missing_product_data");
    assert!(
        cases
            .iter()
            .any(|c| c.kind.code() == "missing_product" && c.serial.as_deref() == Some("AMX0002")),
        "{cases:#?}"
    );

    k.click("Pharmacist");
    k.wait_for("Pharmacist PIN");
    k.enter_pin(PIN);
    k.wait_for("Exception cases");
    k.wait_for(&format!("#{}  Arrived without data", held.id));
    assert!(k.shows("Announced, never arrived"));
    assert!(k.shows("Export PDG report: ASN-DEMO-1001"));

    // A decision is asked twice; then the held pack goes back to the supplier.
    let buttons = k.harness.query_all_by_label("Returned to supplier").count();
    assert_eq!(buttons, 1, "only the held pack can be returned");
    k.click("Returned to supplier");
    k.click("Confirm: Returned to supplier");
    k.wait_for(&format!("Case #{} resolved", held.id));
    let after = store(&k.db).exception_case(held.id).unwrap().unwrap();
    assert_eq!(after.status, CaseStatus::Resolved);
    assert_eq!(after.resolution.map(|r| r.code()), Some("returned"));
    assert_eq!(open(&k).len(), cases.len() - 1);
}

#[test]
fn holding_a_pack_as_suspect_puts_its_lot_under_investigation() {
    let mut k = kiosk_with(with_pin);
    for serial in ["AMX0001", "AMX0002", "AMX0003"] {
        k.receive(&k.pack(AMOXICILLIN, "LA2401", serial));
        assert!(k.shows("VERIFIED"), "{serial}");
    }
    k.click("Pharmacist");
    k.wait_for("Pharmacist PIN");
    k.enter_pin(PIN);
    k.wait_for("Pharmacist check");
    k.scan(&k.pack(AMOXICILLIN, "LA2401", "AMX0002"));
    k.wait_for("Hold as suspect");
    k.click("Hold as suspect");
    k.wait_for("Lot LA2401 is under investigation: verify 3 of the 3 packs on hand");
    assert!(k.shows("0 done, 3 to go"));
    // Without a router the pharmacist is told how to set one.
    k.click("Ask the manufacturer");
    k.wait_for("no verification router is set");
}
