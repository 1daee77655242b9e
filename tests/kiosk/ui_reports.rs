//! The reports screen and the unit lists, driven through egui_kittest on a real store whose
//! receipts were recorded on known days. The desk's day clock is fixed, so which day each bar
//! stands for comes from the test's data, never from the wall clock.

use crate::ui_support;
use chrono::{Days, FixedOffset, NaiveDate, TimeZone};
use egui_kittest::kittest::Queryable;
use tracedesk::gs1::{self, ParseContext};
use tracedesk::store::Store;
use tracedesk::ui::app::Screen;
use tracedesk::ui::chart::NO_DATA;
use tracedesk::ui::desk::Reports;
use ui_support::{Kiosk, PIN, kiosk_dated, with_pin};

const AMOX: &str = "00359999101015";

/// The desk's today in every test here.
fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 3, 10).unwrap()
}

fn days_ago(n: u64) -> NaiveDate {
    today().checked_sub_days(Days::new(n)).unwrap()
}

/// Receives a demo amoxicillin pack (expiry from the demo's own data) as of `day`, at 10:00.
fn receive_on(store: &mut Store, day: NaiveDate, serial: &str) -> bool {
    let expiry = today().checked_add_days(Days::new(700)).unwrap();
    let bytes = format!(
        "01{AMOX}17{}10LA2401\x1d21{serial}",
        expiry.format("%y%m%d")
    );
    let scan = gs1::parse(bytes.as_bytes(), &ParseContext::new(day));
    let at = FixedOffset::east_opt(0)
        .unwrap()
        .from_local_datetime(&day.and_hms_opt(10, 0, 0).unwrap())
        .unwrap();
    store.receive(&scan, None, day, at).unwrap().accepted()
}

/// Accepted: two today, one 3 days ago, one 20 days ago, one 60 days ago. Refused: the demo's
/// stolen pack, 3 days ago.
fn history(store: &mut Store) {
    for (day, serial) in [
        (today(), "AMX0001"),
        (today(), "AMX0002"),
        (days_ago(3), "AMX0003"),
        (days_ago(20), "AMX0004"),
        (days_ago(60), "AMX0900"),
    ] {
        assert!(receive_on(store, day, serial), "{serial}");
    }
    assert!(
        !receive_on(store, days_ago(3), "AMX0666"),
        "the stolen pack"
    );
}

fn reports_kiosk(prepare: impl FnOnce(&mut Store)) -> Kiosk {
    let mut k = kiosk_dated(today(), prepare, with_pin);
    k.click("Inventory");
    k.enter_pin(PIN);
    // "N units on hand", or "No unit on hand matches." on a store that received nothing.
    k.wait_for("on hand");
    assert_eq!(k.harness.state().screen, Screen::Inventory);
    k.click("Reports");
    wait_for_reports(&mut k, 30);
    k
}

/// Steps until the desk answered the reports over `days` days.
fn wait_for_reports(k: &mut Kiosk, days: u32) -> Reports {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        k.harness.step();
        if let Some(reports) = &k.harness.state().inventory.reports
            && reports.days == days
        {
            let reports = reports.clone();
            k.harness.step();
            return reports;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no reports over {days} days"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

fn totals(reports: &Reports) -> (u64, u64) {
    reports
        .receipts_per_day
        .iter()
        .fold((0, 0), |(a, r), (_, ok, bad)| (a + ok, r + bad))
}

fn on(reports: &Reports, day: NaiveDate) -> (u64, u64) {
    let (_, ok, bad) = reports
        .receipts_per_day
        .iter()
        .find(|(d, _, _)| *d == day)
        .copied()
        .unwrap_or_else(|| panic!("no bar for {day}"));
    (ok, bad)
}

#[test]
fn the_range_selector_gives_a_bar_per_day_of_the_range() {
    let mut k = reports_kiosk(history);
    let month = k.harness.state().inventory.reports.clone().unwrap();
    assert_eq!(month.receipts_per_day.len(), 30);
    assert_eq!(month.receipts_per_day.first().unwrap().0, days_ago(29));
    assert_eq!(month.receipts_per_day.last().unwrap().0, today());
    assert_eq!(totals(&month), (4, 1), "the pack 60 days ago is outside");
    assert_eq!(on(&month, today()), (2, 0));
    assert_eq!(on(&month, days_ago(3)), (1, 1));
    assert_eq!(
        on(&month, days_ago(1)),
        (0, 0),
        "a quiet day is a bar of zero"
    );
    assert!(k.shows("Units received per day, last 30 days"));
    // Only the expiry horizon is empty: every pack on hand expires in about 700 days.
    assert_eq!(k.harness.query_all_by_label_contains(NO_DATA).count(), 1);

    k.click("7 days");
    let week = wait_for_reports(&mut k, 7);
    assert_eq!(week.receipts_per_day.len(), 7);
    assert_eq!(week.receipts_per_day.first().unwrap().0, days_ago(6));
    assert_eq!(totals(&week), (3, 1));
    assert_eq!(week.failures_by_reason, [("Reported stolen".to_owned(), 1)]);
    assert!(k.shows("Refusals by reason, last 7 days"));
    // The reason's label is drawn in full beside its bar.
    assert!(k.shows("Reported stolen"));

    k.click("90 days");
    let quarter = wait_for_reports(&mut k, 90);
    assert_eq!(quarter.receipts_per_day.len(), 90);
    assert_eq!(totals(&quarter), (5, 1));
    assert_eq!(on(&quarter, days_ago(60)), (1, 0));
}

#[test]
fn a_store_with_no_receipts_says_no_data_yet_instead_of_empty_charts() {
    let k = reports_kiosk(|_| {});
    let reports = k.harness.state().inventory.reports.clone().unwrap();
    assert_eq!(reports.receipts_per_day.len(), 30);
    assert_eq!(totals(&reports), (0, 0));
    // Receipts, refusals and the expiry horizon (nothing on hand) each say so.
    let empty = k.harness.query_all_by_label_contains(NO_DATA).count();
    assert_eq!(empty, 3);
    assert!(k.shows("Receipts show here, a bar per day, once packs are scanned."));
}

#[test]
fn refusals_in_range_but_none_refused_says_so() {
    let k = reports_kiosk(|store| {
        assert!(receive_on(store, today(), "AMX0001"));
    });
    assert!(k.shows("No pack was refused in the last 30 days."));
    // The expiry horizon counts the pack on hand: ~700 days away, beyond every band, so only
    // the horizon is empty; the receipts chart is drawn.
    assert_eq!(k.harness.query_all_by_label_contains(NO_DATA).count(), 2);
}

#[test]
fn unit_lists_name_the_product_beside_the_gtin() {
    let mut k = kiosk_dated(today(), history, with_pin);
    k.click("Inventory");
    k.enter_pin(PIN);
    k.wait_for("5 units on hand");
    let units = k.harness.state().inventory.units.clone().unwrap().units;
    assert!(units.iter().all(|u| u.gtin.as_str() == AMOX));
    assert!(
        units
            .iter()
            .all(|u| u.product.as_deref() == Some("Amoxicillin 500 mg/1")),
        "{units:?}"
    );
    assert!(k.shows("Amoxicillin 500 mg/1"));
    assert!(k.shows("Product"));
}
