//! The receiving screen, the PIN gate, the pharmacist check and the status bar, driven as a
//! clerk and a pharmacist would through egui_kittest on a real demo store (see `ui_support`).

use crate::ui_support;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use chrono::DateTime;
use tracedesk::gs1::{Gtin, Sgtin};
use tracedesk::ui::app::Screen;
use tracedesk::ui::desk::PinVerdict;
use tracedesk::ui::keyboard::scanner_burst;
use tracedesk::ui::store_desk::StoreDesk;
use tracedesk::ui::{Desk, KioskEvent, UpstreamState};
use ui_support::{PIN, kiosk, kiosk_with, store, with_pin};

#[test]
fn a_wedge_burst_shows_a_verified_card_and_records_the_receipt() {
    let mut k = kiosk();
    assert!(k.shows("Scan a pack"));
    // (01)GTIN (17)expiry (10)lot <GS> (21)serial, as a wedge scanner types it.
    k.scan(&k.pack("00359999101015", "LA2401", "AMX0001"));
    k.wait_for("VERIFIED");
    assert!(k.shows("Amoxicillin 500 mg/1"));
    assert!(k.shows("59999-101-01"));
    assert!(k.shows("LA2401"));
    assert!(k.shows("AMX0001"));
    assert!(k.shows("Recorded."));
    let sgtin = Sgtin::new(Gtin::parse("00359999101015").unwrap(), "AMX0001").unwrap();
    assert!(store(&k.db).is_received(&sgtin).unwrap());
}

#[test]
fn a_digital_link_typed_by_a_wedge_is_verified_without_a_click() {
    let mut k = kiosk();
    let link = format!(
        "https://id.example.com/01/00359999101015/10/LA2401/21/AMX0002?17={}",
        k.expiry
    );
    k.scan(link.as_bytes());
    k.wait_for("VERIFIED");
    assert!(k.shows("AMX0002"));
}

#[test]
fn without_the_gs_key_the_lot_swallows_the_serial_and_the_pack_is_refused() {
    // The same pack with the Ctrl+] chord lost: 10 (lot) runs into 21 (serial). The kiosk must
    // not verify a different unit from a mangled scan.
    let mut k = kiosk();
    let mangled = format!("010035999910101517{}10LA240121AMX0001", k.expiry);
    k.scan(mangled.as_bytes());
    k.wait_for("REFUSED");
    assert!(!k.shows("VERIFIED"));
}

#[test]
fn failure_reasons_render_in_plain_words() {
    let mut k = kiosk();
    k.receive(&k.pack("00359999101015", "LA2401", "AMX0666"));
    assert!(k.shows("REFUSED"));
    assert!(k.shows("Reported stolen"));

    // A stray digit after the expiry: not a valid GS1 message.
    let stray = format!("010035999920230917{}1\x1d0LB2399\x1d21ATV0001", k.expiry);
    k.receive(stray.as_bytes());
    assert!(k.shows("NOT A VALID BARCODE"));

    k.receive(&k.pack("00359999202309", "LB2399", "ATV0001"));
    assert!(k.shows("Recalled lot"));

    k.receive(&k.pack("00359999404017", "LX0001", "UNK0001"));
    assert!(k.shows("Product not in master data"));
    assert!(k.shows("Serial unknown to supplier"));

    k.receive(&k.pack("00359999101015", "LA2401", "AMX0001"));
    assert!(k.shows("VERIFIED"));
    k.receive(&k.pack("00359999101015", "LA2401", "AMX0001"));
    assert!(k.shows("REFUSED"));
    assert!(k.shows("Already received at this desk"));
}

#[test]
fn scanning_the_case_label_opens_the_shipment_and_counts() {
    let mut k = kiosk();
    k.scan(b"00106141412345678908");
    k.wait_for("Receiving ASN-DEMO-1001");
    assert!(k.shows("Close shipment"));
    k.scan(&k.pack("00359999101015", "LA2401", "AMX0003"));
    k.wait_for("VERIFIED");
    k.click("Close shipment");
    k.wait_for("closed");
    assert!(k.shows("missing"));
}

/// A clock the test moves by hand, for the PIN brake.
#[derive(Clone)]
struct HandClock(Arc<AtomicI64>);

impl HandClock {
    fn new() -> Self {
        HandClock(Arc::new(AtomicI64::new(1_790_000_000)))
    }

    fn advance(&self, seconds: i64) {
        self.0.fetch_add(seconds, Ordering::SeqCst);
    }

    fn reader(&self) -> tracedesk::ui::store_desk::Clock {
        let seconds = self.0.clone();
        Box::new(move || {
            DateTime::from_timestamp(seconds.load(Ordering::SeqCst), 0)
                .unwrap()
                .fixed_offset()
        })
    }
}

#[test]
fn the_pin_gate_refuses_wrong_pins_and_slows_down_guessing() {
    let clock = HandClock::new();
    let desk_clock = clock.reader();
    let mut k = kiosk_with(move |desk| {
        desk.set_clock(desk_clock);
        with_pin(desk);
    });
    k.click("Pharmacist");
    assert!(k.shows("Pharmacist PIN"));
    k.enter_pin("111111");
    k.wait_for("Wrong PIN.");
    assert!(!k.shows("Pharmacist check"));
    k.enter_pin("222222");
    k.wait_for("Too many wrong PINs");
    // While locked, even the right PIN is not checked.
    k.enter_pin(PIN);
    k.wait_for("Not checked: too many wrong PINs.");
    assert_eq!(
        k.harness.state().screen,
        Screen::Pin(tracedesk::ui::app::Locked::Pharmacist)
    );

    // The lockout is in the store: a kiosk started again on it is locked as well.
    let mut restarted = StoreDesk::new(store(&k.db));
    restarted.set_clock(clock.reader());
    assert!(matches!(
        restarted.check_pin(PIN).unwrap(),
        PinVerdict::Refused { wait: Some(_), .. }
    ));
    drop(restarted);

    clock.advance(2);
    k.enter_pin(PIN);
    k.wait_for("Pharmacist check");
    assert_eq!(k.harness.state().screen, Screen::Pharmacist);
    assert_eq!(store(&k.db).pin_record().unwrap().failures, 0);
}

#[test]
fn the_first_pin_is_chosen_at_the_pad_six_digits_typed_twice() {
    let mut k = kiosk();
    k.click("Pharmacist");
    k.enter_pin("000000");
    k.wait_for("No PIN is set yet: choose one now.");
    assert!(k.shows("Choose a pharmacist PIN (6 digits or more)"));
    k.enter_pin("1357");
    k.wait_for("A PIN has at least 6 digits");
    k.enter_pin("135790");
    k.wait_for("Enter the new PIN again");
    k.enter_pin("135791");
    k.wait_for("The two new PINs differ. Choose a PIN again.");
    assert!(store(&k.db).pin_record().unwrap().hash.is_none());
    k.enter_pin("135790");
    k.enter_pin("135790");
    k.wait_for("Pharmacist check");
    let mut s = store(&k.db);
    let now = DateTime::from_timestamp(1_790_000_000, 0).unwrap();
    tracedesk::ui::pin::check(&mut s, "135790", now).unwrap();
}

#[test]
fn the_pharmacist_sees_a_scanned_pack_and_quarantines_it() {
    let mut k = kiosk_with(with_pin);
    k.click("Pharmacist");
    k.enter_pin(PIN);
    k.wait_for("Pharmacist check");
    k.scan(&k.pack("00359999101015", "LA2401", "AMX0004"));
    k.wait_for("No problem found");
    k.harness.state_mut().pharmacist.reason = "Seal broken".into();
    k.click("Quarantine");
    k.wait_for("Quarantined — recorded.");
    k.wait_for("Quarantined by a pharmacist");
    k.wait_for("Held: quarantined by a pharmacist: Seal broken");
    let hold = store(&k.db)
        .events()
        .unwrap()
        .into_iter()
        .find(|e| e.kind == "hold")
        .expect("the hold's event");
    let hold: serde_json::Value = serde_json::from_str(&hold.json).unwrap();
    assert_eq!(hold["tracedesk:actor"], "kiosk:pharmacist");
}

#[test]
fn offline_is_shown_calmly_with_the_events_waiting() {
    let mut k = kiosk_with(|desk| {
        let settings = tracedesk::ui::desk::DeskSettings {
            upstream_url: "https://epcis.example.com".into(),
            ..Default::default()
        };
        desk.save_settings(&settings).unwrap();
    });
    k.wait_for("Upstream: https://epcis.example.com");
    k.harness
        .state()
        .event_sender()
        .send(KioskEvent::Upstream(UpstreamState::Offline {
            error: "connection refused".into(),
        }))
        .unwrap();
    k.wait_for("Offline (connection refused)");
    assert!(k.shows("events waiting"));
}

#[test]
fn with_no_upstream_the_status_bar_says_so() {
    let mut k = kiosk();
    k.wait_for("Upstream not configured");
    assert!(k.shows("Scanner: keyboard (generic-hid)"));
}

#[test]
fn a_caps_lock_inverted_burst_shows_scan_again_and_is_not_checked() {
    let mut k = kiosk();
    let data = &k.pack("00359999101015", "LA2401", "AMX0003");
    // With Caps Lock on, the scanner still presses Shift for capitals, and the letters arrive
    // in the other case.
    let burst = scanner_burst(data)
        .into_iter()
        .map(|event| match event {
            egui::Event::Text(t) if t.chars().all(|c| c.is_ascii_alphabetic()) => {
                egui::Event::Text(t.to_ascii_lowercase())
            }
            other => other,
        })
        .collect();
    k.keys(burst);
    k.wait_for("SCAN AGAIN");
    assert!(k.shows("Caps Lock seems to be on"));
    assert!(k.shows("The scan arrived damaged and was not checked."));
    assert!(!k.shows("VERIFIED"));
    // Nothing reached the desk: the pack was not received. The desk answers in order, so
    // once a good scan after it is answered, anything sent before it would have been too.
    k.receive(&k.pack("00359999101015", "LA2401", "AMX0004"));
    let sgtin = Sgtin::new(Gtin::parse("00359999101015").unwrap(), "AMX0003").unwrap();
    assert!(!store(&k.db).is_received(&sgtin).unwrap());
    assert_eq!(store(&k.db).receipt_count().unwrap(), 1);
}

#[test]
fn scanning_the_case_label_twice_receives_all_its_packs() {
    let mut k = kiosk();
    let label = b"00106141412345678908";
    k.scan(label);
    k.wait_for("Receiving ASN-DEMO-1001");
    let packs = tracedesk::store::Store::open(&k.db)
        .unwrap()
        .container_units(&tracedesk::gs1::Sscc::parse("106141412345678908").unwrap())
        .unwrap()
        .expect("the demo case's packs are known")
        .len();
    assert!(packs > 1);
    k.wait_for(&format!("Receive all {packs} packs of this case"));
    k.scan(label);
    k.wait_for("packs received");
    let received = k.harness.state().receiving.recent.len();
    assert_eq!(received, packs, "each pack's verdict is listed");
    // The demo case holds a stolen pack: the others are received, that one refused.
    let accepted = k
        .harness
        .state()
        .receiving
        .recent
        .iter()
        .filter(|o| o.verdict.is_verified())
        .count();
    assert!(k.shows(&format!("CASE: {accepted} of {packs} packs received")));
    assert!(!k.shows("Receive all"), "the offer is gone once used");
}
