//! The settings screen (behind the PIN): site GLN, upstream URL and credentials file, the
//! partner inbox folder, scanner profile, camera on or off, a new PIN, and what the clerk is
//! told to do after each kind of refusal (empty: the default, shown greyed in the field).
//! "Set up again" opens the setup steps ([`super::setup`]): the site's name, GLN and SGLN,
//! and the scanner test. Values are checked
//! before they are sent to the desk worker, so a typo in the GLN is caught at the desk, not at
//! the next sync; the inbox folder is checked by the store (it must exist), whose refusal is
//! shown here. A new PIN is typed twice and needs the current one, as `tracedesk pin` does: an
//! unlocked kiosk left alone is no way to take the PIN over.

use egui::{RichText, Ui};

use super::desk::{DeskRequest, DeskSettings};
use super::pin::NewPin;
use super::theme;
use super::widgets::{big_button, capitalised};
use crate::store::{next_step, setup};

/// The form's state.
#[derive(Debug, Default)]
pub struct SettingsForm {
    /// `None` until the worker answered.
    pub settings: Option<DeskSettings>,
    pub current_pin: String,
    pub new_pin: String,
    pub new_pin_again: String,
    pub message: Option<String>,
    /// The camera switch as the running kiosk started with it (a change needs a restart).
    pub camera_at_start: Option<bool>,
    /// "Set up again" was pressed: the app opens the setup steps.
    pub open_setup: bool,
}

/// The settings screen; `profiles` are the scanner profile names to offer.
pub fn settings_ui(
    ui: &mut Ui,
    form: &mut SettingsForm,
    profiles: &[String],
    requests: &mut Vec<DeskRequest>,
) {
    ui.horizontal(|ui| {
        ui.heading("Settings");
        ui.add_space(theme::GAP * 2.0);
        // The site's name, GLN and SGLN, and the scanner test, are the setup's steps.
        if big_button(ui, "Set up again").clicked() {
            form.open_setup = true;
        }
    });
    if form.settings.is_none() {
        ui.label("Loading…");
        return;
    }
    egui::ScrollArea::vertical()
        .id_salt("settings-scroll")
        .auto_shrink([false, false])
        .show(ui, |ui| form_ui(ui, form, profiles, requests));
}

fn form_ui(
    ui: &mut Ui,
    form: &mut SettingsForm,
    profiles: &[String],
    requests: &mut Vec<DeskRequest>,
) {
    actions_ui(ui, form, requests);
    ui.add_space(theme::GAP);
    let Some(settings) = form.settings.as_mut() else {
        return;
    };
    egui::Grid::new("settings")
        .num_columns(2)
        .spacing([theme::GAP, theme::GAP])
        .show(ui, |ui| {
            ui.label("Site GLN");
            ui.add(
                egui::TextEdit::singleline(&mut settings.site_gln)
                    .desired_width(420.0)
                    .hint_text("13 digits"),
            );
            ui.end_row();
            ui.label("Upstream URL");
            ui.add(
                egui::TextEdit::singleline(&mut settings.upstream_url)
                    .desired_width(620.0)
                    .hint_text("https://epcis.example.com/"),
            );
            ui.end_row();
            ui.label("Credentials file");
            ui.add(egui::TextEdit::singleline(&mut settings.credentials_file).desired_width(620.0));
            ui.end_row();
            ui.label("Verification router");
            ui.add(
                egui::TextEdit::singleline(&mut settings.verification_router)
                    .desired_width(620.0)
                    .hint_text("https://vrs.example.com/ (asks manufacturers)"),
            );
            ui.end_row();
            ui.label("Router credential file");
            ui.add(
                egui::TextEdit::singleline(&mut settings.verification_credentials_file)
                    .desired_width(620.0)
                    .hint_text("/etc/tracedesk/vrs-credential"),
            );
            ui.end_row();
            ui.label("Contact e-mail for exception reports");
            ui.add(
                egui::TextEdit::singleline(&mut settings.contact_email)
                    .desired_width(420.0)
                    .hint_text("receiving@pharmacy.example"),
            );
            ui.end_row();
            ui.label("Days a pack may wait for its data");
            ui.add(
                egui::TextEdit::singleline(&mut settings.exception_grace_days)
                    .desired_width(120.0)
                    .hint_text("3"),
            );
            ui.end_row();
            ui.label("Partner inbox folder");
            ui.add(
                egui::TextEdit::singleline(&mut settings.inbox_dir)
                    .desired_width(620.0)
                    .hint_text("/srv/tracedesk/inbox"),
            );
            ui.end_row();
            ui.label("Scanner profile");
            egui::ComboBox::from_id_salt("profile")
                .selected_text(&settings.scanner_profile)
                .width(420.0)
                .show_ui(ui, |ui| {
                    for name in profiles {
                        ui.selectable_value(&mut settings.scanner_profile, name.clone(), name);
                    }
                });
            ui.end_row();
            ui.label("Camera");
            super::inventory::touch_checkbox(
                ui,
                &mut settings.camera,
                "Use the camera to read packs",
            );
            if form.camera_at_start.is_some_and(|on| on != settings.camera) {
                ui.end_row();
                ui.label("");
                ui.label(
                    RichText::new("The camera switches on or off when the kiosk restarts.")
                        .color(theme::MUTED),
                );
            }
            ui.end_row();
            for (label, field) in [
                ("Current PIN", &mut form.current_pin),
                ("New PIN", &mut form.new_pin),
                ("New PIN again", &mut form.new_pin_again),
            ] {
                ui.label(label);
                ui.add(
                    egui::TextEdit::singleline(field)
                        .password(true)
                        .desired_width(240.0),
                );
                ui.end_row();
            }
        });
    ui.add_space(theme::GAP);
    next_steps_ui(ui, &mut settings.next_steps);
    ui.add_space(theme::GAP);
}

/// Save and Test connections, with the last message: at the top of the form, so they are on
/// screen whatever the screen's height.
fn actions_ui(ui: &mut Ui, form: &mut SettingsForm, requests: &mut Vec<DeskRequest>) {
    let Some(settings) = form.settings.as_mut() else {
        return;
    };
    let (save, test) = ui
        .horizontal(|ui| {
            let save = big_button(ui, "Save").clicked();
            let test = big_button(ui, "Test connections")
                .on_hover_text(
                    "Asks the saved upstream and verification router whether they answer",
                )
                .clicked();
            (save, test)
        })
        .inner;
    if test {
        requests.push(DeskRequest::TestConnections);
        form.message = Some("Testing the saved upstream and router…".into());
    }
    if save {
        for (_, text) in &mut settings.next_steps {
            *text = one_line(text);
        }
        match check(settings)
            .and_then(|()| pin_change(&form.current_pin, &form.new_pin, &form.new_pin_again))
        {
            Ok(pin) => {
                requests.push(DeskRequest::SaveSettings(settings.clone()));
                if let Some(request) = pin {
                    requests.push(request);
                }
                form.message = Some("Saving…".into());
            }
            Err(problem) => form.message = Some(problem),
        }
        form.current_pin.clear();
        form.new_pin.clear();
        form.new_pin_again.clear();
    }
    if let Some(message) = &form.message {
        ui.label(
            RichText::new(message)
                .font(theme::font(theme::BODY_SIZE))
                .color(theme::WARN),
        );
    }
}

/// The instruction per refusal reason; a field left empty shows (and keeps) the default.
fn next_steps_ui(ui: &mut Ui, steps: &mut [(crate::verify::Reason, String)]) {
    egui::CollapsingHeader::new(
        RichText::new("After a refusal: what the clerk is told to do")
            .font(theme::font(theme::BODY_SIZE)),
    )
    .id_salt("next-steps")
    .show(ui, |ui| {
        ui.label(
            RichText::new("Leave a field empty to keep the default shown in grey.")
                .color(theme::MUTED),
        );
        egui::Grid::new("next-steps-grid")
            .num_columns(2)
            .spacing([theme::GAP, theme::GAP * 0.5])
            .show(ui, |ui| {
                for (reason, text) in steps.iter_mut() {
                    ui.label(reason.label());
                    ui.add(
                        egui::TextEdit::multiline(text)
                            .desired_rows(2)
                            .desired_width(760.0)
                            .hint_text(next_step::default_step(*reason)),
                    );
                    ui.end_row();
                }
            });
    });
}

/// A field typed in a multi-line box as the one line an instruction is: line breaks and tabs
/// become spaces.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The PIN change the form asks for, if any, or what is wrong with it.
fn pin_change(current: &str, new: &str, again: &str) -> Result<Option<DeskRequest>, String> {
    if new.is_empty() && again.is_empty() {
        return Ok(None);
    }
    NewPin::confirmed(new, again).map_err(|e| format!("New PIN: {e}"))?;
    if current.is_empty() {
        return Err("Type the current PIN to change it.".into());
    }
    Ok(Some(DeskRequest::SetPin {
        current: Some(current.to_owned()),
        pin: new.to_owned(),
    }))
}

/// What is wrong with the settings, in words for the person typing them (the setup's own
/// checks, [`setup`]).
pub fn check(settings: &DeskSettings) -> Result<(), String> {
    let gln = settings.site_gln.trim();
    if !gln.is_empty() {
        setup::site_gln(gln).map_err(|e| capitalised(&e.to_string()))?;
    }
    setup::upstream_url(&settings.upstream_url).map_err(|e| capitalised(&e.to_string()))?;
    if !settings.verification_router.trim().is_empty() {
        crate::router::parse_router_url(&settings.verification_router)
            .map_err(|e| capitalised(&e.to_string()))?;
    }
    if !settings.contact_email.trim().is_empty() {
        crate::store::exceptions::parse_contact_email(&settings.contact_email)
            .map_err(|e| capitalised(&e))?;
    }
    if !settings.exception_grace_days.trim().is_empty() {
        crate::store::exceptions::parse_grace_days(&settings.exception_grace_days)
            .map_err(|e| capitalised(&e))?;
    }
    for (reason, text) in &settings.next_steps {
        next_step::check_text(text)
            .map_err(|e| format!("After a refusal, \"{}\": {e}", reason.label()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_gln_and_url_are_refused() {
        let mut s = DeskSettings {
            site_gln: "0614141000006".into(),
            ..DeskSettings::default()
        };
        assert!(check(&s).is_err(), "wrong check digit");
        s.site_gln = "0614141000012".into();
        assert_eq!(check(&s), Ok(()));
        s.upstream_url = "ftp://x".into();
        assert!(check(&s).is_err());
    }

    #[test]
    fn router_contact_and_grace_are_checked() {
        let mut s = DeskSettings {
            verification_router: "https://vrs.example.com/".into(),
            contact_email: "rx@pharmacy.example".into(),
            exception_grace_days: "5".into(),
            ..DeskSettings::default()
        };
        assert_eq!(check(&s), Ok(()));
        s.verification_router = "http://vrs.example.com/".into();
        assert!(check(&s).unwrap_err().contains("https"));
        s.verification_router.clear();
        s.contact_email = "pharmacy".into();
        assert!(check(&s).is_err());
        s.contact_email.clear();
        s.exception_grace_days = "many".into();
        assert!(check(&s).is_err());
    }

    #[test]
    fn a_new_pin_is_typed_twice_with_the_current_one() {
        assert_eq!(pin_change("", "", ""), Ok(None));
        assert!(pin_change("246813", "1357", "1357").is_err(), "too short");
        assert!(pin_change("246813", "135790", "135791").is_err());
        assert!(pin_change("", "135790", "135790").is_err());
        assert_eq!(
            pin_change("246813", "135790", "135790"),
            Ok(Some(DeskRequest::SetPin {
                current: Some("246813".into()),
                pin: "135790".into(),
            }))
        );
    }
}
