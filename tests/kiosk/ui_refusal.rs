//! After a refusal the red card tells the clerk what to do with the pack, in the site's words:
//! driven through egui_kittest on a real demo store (see `ui_support`).

use crate::ui_support;
use tracedesk::store::next_step::default_step;
use tracedesk::ui::app::Screen;
use tracedesk::verify::Reason;
use ui_support::{PIN, kiosk, kiosk_on, store, with_pin};

const AMOX: &str = "00359999101015";
const ATORVA: &str = "00359999202309";

#[test]
fn a_refused_pack_shows_the_default_next_step_of_its_gravest_reason() {
    let mut k = kiosk();
    // The demo's stolen unit.
    k.receive(&k.pack(AMOX, "LA2401", "AMX0666"));
    assert!(k.shows("REFUSED"));
    assert!(k.shows("WHAT TO DO"));
    assert!(k.shows(default_step(Reason::Stolen)));

    // A recalled lot gets the recall tote, not the quarantine instruction.
    k.receive(&k.pack(ATORVA, "LB2399", "ATV0001"));
    assert!(k.shows("Recalled lot"));
    assert!(k.shows(default_step(Reason::Recalled)));
    assert!(!k.shows(default_step(Reason::Stolen)));

    // A verified pack has nothing to do but be shelved.
    k.receive(&k.pack(AMOX, "LA2401", "AMX0001"));
    assert!(k.shows("VERIFIED"));
    assert!(!k.shows("WHAT TO DO"));
    let outcome = k.harness.state().receiving.recent.front().cloned().unwrap();
    assert_eq!(outcome.next_step, None);
}

#[test]
fn a_site_instruction_set_in_the_store_replaces_the_default_on_the_card() {
    let mut k = kiosk_on(
        |store| {
            store
                .set_setting(
                    "next_step.recalled",
                    "Red tote under the counter, then ring 12.",
                )
                .unwrap();
        },
        |_| {},
    );
    k.receive(&k.pack(ATORVA, "LB2399", "ATV0001"));
    assert!(k.shows("Red tote under the counter, then ring 12."));
    assert!(!k.shows(default_step(Reason::Recalled)));
    // Other reasons keep their defaults.
    k.receive(&k.pack(AMOX, "LA2401", "AMX0666"));
    assert!(k.shows(default_step(Reason::Stolen)));
}

#[test]
fn the_settings_screen_sets_an_instruction_the_next_refusal_shows() {
    let mut k = kiosk_on(|_| {}, with_pin);
    k.click("Settings");
    k.enter_pin(PIN);
    k.wait_for("After a refusal: what the clerk is told to do");
    assert_eq!(k.harness.state().screen, Screen::Settings);
    let loaded = k.harness.state().settings.settings.clone().unwrap();
    assert_eq!(loaded.next_steps.len(), Reason::ALL.len());
    assert!(loaded.next_steps.iter().all(|(_, text)| text.is_empty()));

    // Typed over two lines in the box: saved as the one line it is.
    let stolen = "Seal it in a bag,\nthen phone Dr Ames.";
    {
        let form = k.harness.state_mut().settings.settings.as_mut().unwrap();
        let field = form
            .next_steps
            .iter_mut()
            .find(|(r, _)| *r == Reason::Stolen)
            .unwrap();
        field.1 = stolen.to_owned();
    }
    k.click("Save");
    k.wait_for("Saved.");
    let steps = store(&k.db).next_steps().unwrap();
    assert_eq!(
        steps.text(Reason::Stolen),
        "Seal it in a bag, then phone Dr Ames."
    );
    assert_eq!(steps.site_text(Reason::Expired), None);

    k.click("Receiving");
    k.receive(&k.pack(AMOX, "LA2401", "AMX0666"));
    assert!(k.shows("Seal it in a bag, then phone Dr Ames."));
}

#[test]
fn an_instruction_too_long_for_the_card_is_refused_by_the_form() {
    let mut k = kiosk_on(|_| {}, with_pin);
    k.click("Settings");
    k.enter_pin(PIN);
    k.wait_for("After a refusal: what the clerk is told to do");
    {
        let form = k.harness.state_mut().settings.settings.as_mut().unwrap();
        form.next_steps[0].1 = "x".repeat(201);
    }
    k.click("Save");
    k.wait_for("201 characters; at most 200 fit the refusal card");
    assert_eq!(
        store(&k.db).next_steps().unwrap().site_text(Reason::ALL[0]),
        None
    );
}
