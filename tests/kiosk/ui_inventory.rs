//! The inventory area driven as a pharmacist would, through egui_kittest, on a real store.
//!
//! The store is the demo store created as if today were 690 days ago, and some of its units
//! received then: their expiry dates (700 days after that "today") now fall within ten days,
//! and one pack received before its lot expired is now expired on the shelf. So the expiry
//! watch, the filters and the recall all run on units received through the real receipt path.

use crate::ui_support;
use chrono::{Days, Local, NaiveDate};
use tracedesk::gs1::{self, Gtin, ParseContext};
use tracedesk::store::{Store, create_demo};
use tracedesk::ui::app::Screen;
use tracedesk::verify::Reason;
use ui_support::{Kiosk, PIN, kiosk_on, store, with_pin};

const AMOX: &str = "00359999101015";
const ATORVA: &str = "00359999202309";

fn metformin() -> String {
    let ndc = tracedesk::gs1::Ndc::parse("59999-303-90").unwrap();
    Gtin::from_ndc(&ndc, 0).as_str().to_owned()
}

fn today() -> NaiveDate {
    Local::now().date_naive()
}

/// The day the demo data is dated: its "good" expiry (+700 days) is ten days from now.
fn demo_day() -> NaiveDate {
    today().checked_sub_days(Days::new(690)).unwrap()
}

fn element_string(gtin: &str, expiry: NaiveDate, lot: &str, serial: &str) -> Vec<u8> {
    format!("01{gtin}17{}10{lot}\x1d21{serial}", expiry.format("%y%m%d")).into_bytes()
}

/// Receives a unit as of `day`, through the store's receipt path; it must be accepted.
fn receive_on(
    store: &mut Store,
    day: NaiveDate,
    gtin: &str,
    expiry: NaiveDate,
    lot: &str,
    serial: &str,
) {
    let bytes = element_string(gtin, expiry, lot, serial);
    let scan = gs1::parse(&bytes, &ParseContext::new(day));
    let receipt = store
        .receive(&scan, None, day, Local::now().fixed_offset())
        .unwrap();
    assert!(
        receipt.accepted(),
        "{serial}: {:?}",
        receipt.assessment.verdict
    );
}

/// Four amoxicillin (LA2401), one atorvastatin (LB2400), one metformin (LC2402) expiring in
/// ten days, and one metformin (LC2201) expired a month before the demo day.
fn stock(store: &mut Store) {
    let day = demo_day();
    create_demo(store, day).unwrap();
    let soon = day.checked_add_days(Days::new(700)).unwrap();
    for serial in ["AMX0001", "AMX0002", "AMX0003", "AMX0004"] {
        receive_on(store, day, AMOX, soon, "LA2401", serial);
    }
    receive_on(store, day, ATORVA, soon, "LB2400", "ATV0002");
    receive_on(store, day, &metformin(), soon, "LC2402", "MET0004");
    let expired = day.checked_sub_days(Days::new(30)).unwrap();
    let before = expired.checked_sub_days(Days::new(10)).unwrap();
    receive_on(store, before, &metformin(), expired, "LC2201", "MET0001");
}

fn inventory_kiosk(prepare: impl FnOnce(&mut Store)) -> Kiosk {
    let mut k = kiosk_on(
        |store| {
            stock(store);
            prepare(store);
        },
        with_pin,
    );
    k.click("Inventory");
    k.enter_pin(PIN);
    k.wait_for("units on hand");
    assert_eq!(k.harness.state().screen, Screen::Inventory);
    k
}

fn shown_serials(k: &Kiosk) -> Vec<String> {
    let list = k
        .harness
        .state()
        .inventory
        .units
        .clone()
        .unwrap_or_default();
    let mut serials: Vec<String> = list.units.into_iter().map(|u| u.serial).collect();
    serials.sort();
    serials
}

/// Waits until the on-hand list answers something other than `before`.
fn wait_for_list(k: &mut Kiosk, before: &[String]) -> Vec<String> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        k.harness.step();
        let now = shown_serials(k);
        if now != before {
            return now;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the list never changed"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

#[test]
fn the_inventory_lists_units_on_hand_and_its_filters_combine() {
    let mut k = inventory_kiosk(|_| {});
    k.wait_for("7 units on hand");
    let all = shown_serials(&k);
    assert_eq!(
        all,
        [
            "AMX0001", "AMX0002", "AMX0003", "AMX0004", "ATV0002", "MET0001", "MET0004"
        ]
    );
    assert!(k.shows("AMX0001"));
    assert!(k.shows("MET0001"));

    // By lot.
    k.harness.state_mut().inventory.query.lot = "LA2401".into();
    k.click("Show");
    let by_lot = wait_for_list(&mut k, &all);
    assert_eq!(by_lot, ["AMX0001", "AMX0002", "AMX0003", "AMX0004"]);
    k.wait_for("4 units on hand");
    assert!(!k.shows("ATV0002"));

    // By NDC (the desk reads it as the product's GTIN), lot cleared.
    k.harness.state_mut().inventory.query.lot.clear();
    k.harness.state_mut().inventory.query.product = "59999-303-90".into();
    k.click("Show");
    let by_product = wait_for_list(&mut k, &by_lot);
    assert_eq!(by_product, ["MET0001", "MET0004"]);

    // And expiring within 5 days: only the expired pack (the others expire in ten).
    k.harness.state_mut().inventory.expiring_days = 5;
    k.click("Expiring within");
    let expiring = wait_for_list(&mut k, &by_product);
    assert_eq!(expiring, ["MET0001"]);
}

#[test]
fn the_status_bar_counts_expired_and_soon_expiring_units() {
    let mut k = kiosk_on(stock, |_| {});
    k.wait_for("1 expired · 6 expiring ≤30 d");
}

#[test]
fn the_expiry_watch_shows_each_horizon_and_lists_the_expired() {
    let mut k = inventory_kiosk(|_| {});
    k.click("Expiry");
    k.wait_for("expired on the shelf");
    let watch = k.harness.state().status.expiry.clone().unwrap();
    assert_eq!(watch.expired, 1);
    assert_eq!(watch.expiring, vec![(30, 6), (60, 6), (90, 6)]);
    assert!(k.shows("expiring within 90 days"));
    // The expired tile lists what must come off the shelf (expired or expiring today).
    k.click("List expired");
    let expired = wait_for_list(&mut k, &[]);
    assert_eq!(expired, ["MET0001"]);
    assert_eq!(
        k.harness.state().inventory.tab,
        tracedesk::ui::inventory::Tab::OnHand
    );
}

#[test]
fn recall_containment_quarantines_every_unit_of_the_lot_on_hand() {
    let mut k = inventory_kiosk(|store| {
        let csv = format!("gtin,lot,reason\n{AMOX},LA2401,Test recall: mislabelled\n");
        store.import_recalls(csv.as_bytes(), "recall.csv").unwrap();
    });
    k.click("Recalls");
    k.wait_for("lot LA2401 (4 on hand)");
    assert!(
        !k.shows("LB2400"),
        "a lot that is not recalled is not listed"
    );
    k.click("Amoxicillin lot LA2401 (4 on hand)");
    k.wait_for("Quarantine all on hand (4)");
    assert!(k.shows("AMX0004"));
    k.click("Quarantine all on hand (4)");
    k.wait_for("Quarantined 4 units of lot LA2401 — recorded.");

    // Each unit of the lot now verifies as quarantined; the other products do not.
    let store = store(&k.db);
    // One hold event each, recorded for sync.
    let holds = store.events().unwrap();
    let holds: Vec<_> = holds.iter().filter(|e| e.kind == "hold").collect();
    assert_eq!(holds.len(), 4, "{holds:?}");
    for serial in ["AMX0001", "AMX0002", "AMX0003", "AMX0004"] {
        let bytes = element_string(AMOX, demo_day() + Days::new(700), "LA2401", serial);
        let scan = gs1::parse(&bytes, &ParseContext::new(today()));
        let verdict = store.verify(&scan, None, today()).unwrap().verdict;
        assert!(
            verdict.reasons.contains(&Reason::Quarantined),
            "{serial}: {verdict:?}"
        );
    }
    let bytes = element_string(ATORVA, demo_day() + Days::new(700), "LB2400", "ATV0002");
    let scan = gs1::parse(&bytes, &ParseContext::new(today()));
    let verdict = store.verify(&scan, None, today()).unwrap().verdict;
    assert!(!verdict.reasons.contains(&Reason::Quarantined));
    drop(store);

    // Pressing again records nothing new: every unit is already held.
    k.click("Quarantine all on hand (4)");
    k.wait_for("Every unit of lot LA2401 on hand was already quarantined.");
}

#[test]
fn a_dispensed_unit_of_a_recalled_lot_is_listed_with_when_it_left() {
    let mut k = inventory_kiosk(|store| {
        let bytes = element_string(AMOX, demo_day() + Days::new(700), "LA2401", "AMX0002");
        let scan = gs1::parse(&bytes, &ParseContext::new(today()));
        let moved = store
            .move_unit(
                &scan,
                tracedesk::verify::Movement::Dispense,
                today(),
                Local::now().fixed_offset(),
            )
            .unwrap();
        assert!(moved.record.is_some(), "{:?}", moved.assessment.verdict);
        let csv = format!("gtin,lot,reason\n{AMOX},LA2401,Test recall\n");
        store.import_recalls(csv.as_bytes(), "recall.csv").unwrap();
    });
    k.click("Recalls");
    k.click_when("Amoxicillin lot LA2401 (3 on hand)");
    k.wait_for("Dispensed: 1");
    assert!(k.shows("Quarantine all on hand (3)"));
    let file = k.harness.state().inventory.recall.clone().unwrap();
    assert_eq!(file.dispensed.len(), 1);
    assert_eq!(file.dispensed[0].serial, "AMX0002");
    assert!(file.on_hand.iter().all(|u| u.serial != "AMX0002"));
}

#[test]
fn search_finds_units_by_ndc_with_dashes() {
    let mut k = inventory_kiosk(|_| {});
    k.click("Search");
    k.harness.state_mut().inventory.search = "59999-101-01".into();
    k.click("Find");
    k.wait_for("\"59999-101-01\": 4 units received here");
    assert!(k.shows("AMX0002"));
    assert!(!k.shows("MET0004"));
}
