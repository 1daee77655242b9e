//! A new store's setup steps, driven through egui_kittest on a real store: the site and its
//! SGLN, the first PIN, the scanner test with the test code as a wedge scanner types it, and
//! the same steps opened again from the settings screen.

use crate::ui_support;
use egui_kittest::kittest::Queryable;
use tracedesk::scanner::probe::TEST_CODE;
use tracedesk::ui::app::Screen;
use tracedesk::ui::keyboard::scanner_burst;
use tracedesk::ui::setup::Step;
use ui_support::{Kiosk, PIN, kiosk_configured, store, with_pin};

const SGLN: &str = "urn:epc:id:sgln:0614141.00002.0";

fn first_run() -> Kiosk {
    let mut k = kiosk_configured(|_| {}, |_| {}, |config, _| config.first_run = true);
    k.wait_for("Set up this desk");
    assert_eq!(k.harness.state().screen, Screen::Setup);
    k
}

fn flipped_case(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_uppercase() {
                c.to_ascii_lowercase()
            } else {
                c.to_ascii_uppercase()
            }
        })
        .collect()
}

/// Fills the site and PIN steps with good answers and arrives at the scanner test.
fn to_the_scanner_test(k: &mut Kiosk) {
    {
        let setup = &mut k.harness.state_mut().setup;
        setup.answers.name = "Main Street Pharmacy".into();
        setup.answers.gln = "0614141000029".into();
    }
    // Clicks land where a button was drawn: let the SGLN line settle the layout first.
    k.wait_for(&format!("SGLN in events: {SGLN}"));
    k.click("Next");
    assert_eq!(k.harness.state().setup.step, Step::Pin);
    {
        let setup = &mut k.harness.state_mut().setup;
        setup.pin = PIN.into();
        setup.pin_again = PIN.into();
    }
    k.click("Next");
    assert_eq!(k.harness.state().setup.step, Step::Scanner);
    assert!(k.harness.state().setup.listening);
}

#[test]
fn a_new_store_is_set_up_step_by_step_and_then_receives() {
    let mut k = first_run();
    assert!(k.shows("Step 1 of 4: The pharmacy"));
    // A GLN with a wrong check digit is named as it is typed, and stops the step.
    {
        let setup = &mut k.harness.state_mut().setup;
        setup.answers.name = "Main Street Pharmacy".into();
        setup.answers.gln = "0614141000028".into();
    }
    k.harness.step();
    assert!(k.shows("Site GLN: not a GLN"));
    k.click("Next");
    assert_eq!(k.harness.state().setup.step, Step::Site);
    let refused = k.harness.state().setup.message.clone().unwrap_or_default();
    assert!(refused.starts_with("Site GLN: not a GLN"), "{refused}");
    k.harness.state_mut().setup.answers.gln = "0614141000029".into();
    k.wait_for(&format!("SGLN in events: {SGLN}"));
    k.click("Next");

    // The PIN, twice alike.
    assert!(k.shows("Step 2 of 4: The pharmacist PIN"));
    {
        let setup = &mut k.harness.state_mut().setup;
        setup.pin = PIN.into();
        setup.pin_again = "246810".into();
    }
    k.click("Next");
    assert!(k.shows("PIN: the two new PINs differ"));
    k.harness.state_mut().setup.pin_again = PIN.into();
    k.click("Next");

    // The scanner test: the code on screen, scanned by a US-layout wedge with the AIM prefix.
    assert!(k.shows("Scan this code with the desk's scanner now."));
    k.keys(scanner_burst(format!("]d2{TEST_CODE}").as_bytes()));
    k.wait_for("Scanner ready: profile generic-hid.");
    assert!(k.shows("yes (]d2)"));
    assert!(k.shows("Ctrl+]"));
    assert!(k.shows("Enter"));
    assert!(
        k.harness.state().receiving.recent.is_empty(),
        "the test code is not received as a pack"
    );
    k.click("Next");

    assert!(k.shows("Step 4 of 4: Where data goes"));
    k.click("Finish");
    k.wait_for(&format!(
        "This desk is set up: Main Street Pharmacy ({SGLN})."
    ));
    assert_eq!(k.harness.state().screen, Screen::Receiving);

    let store = store(&k.db);
    let answers = store.site_answers().unwrap();
    assert_eq!(answers.name, "Main Street Pharmacy");
    assert_eq!(answers.gln, "0614141000029");
    assert_eq!(answers.prefix_len, "7");
    assert_eq!(answers.scanner_profile, "generic-hid");
    assert!(!store.needs_setup().unwrap());
    drop(store);

    // The PIN chosen opens the pharmacist screens; the desk receives as usual.
    k.click("Settings");
    k.enter_pin(PIN);
    k.wait_for("Set up again");
    k.click("Receiving");
    k.receive(&k.pack("00359999101015", "LA2401", "AMX0001"));
    assert!(k.shows("VERIFIED"));
}

#[test]
fn caps_lock_during_the_scanner_test_is_named_and_the_scanner_not_ready() {
    let mut k = first_run();
    to_the_scanner_test(&mut k);
    k.keys(scanner_burst(flipped_case(TEST_CODE).as_bytes()));
    k.wait_for("Caps Lock seems to be on");
    assert!(!k.shows("Scanner ready"));
    assert!(k.shows("fix the above, then scan again"));
    // Scanned again with Caps Lock off.
    k.click("Scan again");
    k.keys(scanner_burst(TEST_CODE.as_bytes()));
    k.wait_for("Scanner ready: profile generic-hid.");
    assert!(!k.shows("Caps Lock"));
}

#[test]
fn a_pack_scanned_at_the_test_is_not_taken_for_the_test_code() {
    let mut k = first_run();
    to_the_scanner_test(&mut k);
    k.keys(scanner_burst(&k.pack(
        "00359999101015",
        "LA2401",
        "AMX0001",
    )));
    k.wait_for("This is not the test code");
    assert!(k.harness.state().receiving.recent.is_empty());
}

#[test]
fn later_leaves_the_setup_for_the_receiving_screen() {
    let mut k = first_run();
    k.click("Later");
    assert_eq!(k.harness.state().screen, Screen::Receiving);
    assert!(store(&k.db).needs_setup().unwrap());
}

#[test]
fn the_settings_screen_opens_the_setup_again_with_what_is_in_force() {
    let mut k = kiosk_configured(
        |store| {
            store
                .set_setting("site_name", "Main Street Pharmacy")
                .unwrap();
            store.set_setting("site_gln", "0614141000029").unwrap();
        },
        with_pin,
        |_, _| {},
    );
    assert_eq!(k.harness.state().screen, Screen::Receiving);
    k.click("Settings");
    k.enter_pin(PIN);
    k.click_when("Set up again");
    k.wait_for(&format!("SGLN in events: {SGLN}"));
    assert_eq!(k.harness.state().setup.answers.name, "Main Street Pharmacy");
    k.click("Next");
    k.wait_for("A pharmacist PIN is set.");
    k.click("Cancel");
    assert_eq!(k.harness.state().screen, Screen::Settings);
    // Nothing was written.
    assert_eq!(store(&k.db).site_answers().unwrap().scanner_profile, "");
    assert_eq!(k.harness.query_all_by_label("Finish").count(), 0);
}
