//! The setup screens: what a new store asks before its first receipt, one step at a time.
//!
//! 1. The pharmacy: its name, its GLN (check digit verified as it is typed) and the SGLN its
//!    events will carry, which needs the length of the GS1 Company Prefix inside the GLN.
//! 2. The pharmacist PIN, typed twice (on a store that has one, it is changed on the settings
//!    screen instead, with the current PIN).
//! 3. The scanner: the screen shows [`TEST_CODE`] as a DataMatrix; scanning it tells what the
//!    scanner really sends ([`crate::scanner::probe`]) and picks the profile that reads it,
//!    or says what to fix (Caps Lock, the scanner's keyboard country).
//! 4. Where data goes: the upstream EPCIS capture interface and the partner inbox, both
//!    optional.
//!
//! A new store (no site GLN) opens here; `tracedesk --demo` never does. The settings screen
//! (behind the PIN) opens the same steps again. Each step is checked with the store's
//! [`setup`] functions, the ones `tracedesk setup` and `config` use; the desk checks the whole
//! again before it writes anything, and the folder (which the UI thread must not wait on) only
//! there.

use egui::{Color32, RichText, Sense, Ui, vec2};

use super::desk::{DeskRequest, SetupApplied};
use super::pin::NewPin;
use super::theme;
use super::widgets::{big_button, capitalised};
use crate::camera::synth::encode_gs1_datamatrix;
use crate::scanner::probe::{ProbeError, ProbeReport, TEST_CODE};
use crate::scanner::profile::ProfileSet;
use crate::store::setup::{self, SiteAnswers};

/// The steps, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Step {
    #[default]
    Site,
    Pin,
    Scanner,
    Connections,
}

impl Step {
    const ALL: [Step; 4] = [Step::Site, Step::Pin, Step::Scanner, Step::Connections];

    fn title(self) -> &'static str {
        match self {
            Step::Site => "The pharmacy",
            Step::Pin => "The pharmacist PIN",
            Step::Scanner => "The scanner",
            Step::Connections => "Where data goes",
        }
    }

    fn number(self) -> usize {
        Step::ALL.iter().position(|s| *s == self).unwrap_or(0) + 1
    }

    fn next(self) -> Option<Step> {
        Step::ALL.get(self.number()).copied()
    }

    fn back(self) -> Option<Step> {
        self.number()
            .checked_sub(2)
            .and_then(|i| Step::ALL.get(i))
            .copied()
    }
}

/// The setup's state.
#[derive(Debug, Default)]
pub struct SetupFlow {
    pub step: Step,
    pub answers: SiteAnswers,
    pub pin: String,
    pub pin_again: String,
    /// No PIN is set yet: the PIN step asks for one.
    pub pin_needed: bool,
    /// Opened by a new store (rather than from the settings screen): "Later" instead of
    /// "Cancel".
    pub first_run: bool,
    /// The scanner step is waiting for the test scan (the keys go to the probe, not the wedge).
    pub listening: bool,
    /// What the last test scan showed.
    pub probe: Option<Result<ProbeReport, ProbeError>>,
    /// What is wrong with the step, or what the desk said.
    pub message: Option<String>,
    /// Sent to the desk, not answered yet.
    pub saving: bool,
    /// The test code's modules, drawn once.
    symbol: Option<Vec<Vec<bool>>>,
}

/// What the setup asks of the app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SetupAction {
    /// Leave the setup without saving.
    Leave,
}

impl SetupFlow {
    /// The setup a new store opens on.
    pub fn first_run() -> Self {
        Self {
            first_run: true,
            pin_needed: true,
            ..Self::default()
        }
    }

    /// The desk's answers to start from (what is in force), and whether a PIN is set. What
    /// was typed before they arrived is kept.
    pub fn loaded(&mut self, answers: SiteAnswers, pin_set: bool) {
        let fields = [
            (&mut self.answers.name, answers.name),
            (&mut self.answers.gln, answers.gln),
            (&mut self.answers.prefix_len, answers.prefix_len),
            (&mut self.answers.scanner_profile, answers.scanner_profile),
            (&mut self.answers.upstream_url, answers.upstream_url),
            (&mut self.answers.inbox_dir, answers.inbox_dir),
            (
                &mut self.answers.verification_router,
                answers.verification_router,
            ),
        ];
        for (typed, in_force) in fields {
            if typed.is_empty() {
                *typed = in_force;
            }
        }
        self.pin_needed = !pin_set;
    }

    /// A test scan arrived.
    pub fn probed(&mut self, result: Result<ProbeReport, ProbeError>) {
        self.listening = false;
        if let Ok(report) = &result
            && let Some(profile) = report.profile(&ProfileSet::builtin())
        {
            self.answers.scanner_profile = profile.name.clone();
        }
        self.probe = Some(result);
    }

    /// The desk wrote the setup.
    pub fn applied(&mut self) {
        self.saving = false;
        self.pin.clear();
        self.pin_again.clear();
    }

    /// What is wrong with the current step, checked with the shared setup rules.
    fn check_step(&self) -> Result<(), String> {
        match self.step {
            Step::Site => {
                setup::site_name(&self.answers.name).map_err(sentence)?;
                setup::site_gln(&self.answers.gln).map_err(sentence)?;
                setup::prefix_len(&self.answers.prefix_len).map_err(sentence)?;
            }
            Step::Pin if self.pin_needed => {
                NewPin::confirmed(&self.pin, &self.pin_again).map_err(|e| format!("PIN: {e}"))?;
            }
            Step::Pin | Step::Scanner => {}
            Step::Connections => {
                setup::upstream_url(&self.answers.upstream_url).map_err(sentence)?;
                setup::verification_router(&self.answers.verification_router).map_err(sentence)?;
            }
        }
        Ok(())
    }

    /// The request that writes the setup (after every step checked).
    fn finish(&self) -> Result<DeskRequest, String> {
        for step in Step::ALL {
            let at = SetupFlow {
                step,
                answers: self.answers.clone(),
                pin: self.pin.clone(),
                pin_again: self.pin_again.clone(),
                pin_needed: self.pin_needed,
                ..SetupFlow::default()
            };
            at.check_step()?;
        }
        Ok(DeskRequest::ApplySetup {
            answers: self.answers.clone(),
            pin: self.pin_needed.then(|| self.pin.clone()),
        })
    }
}

fn sentence(e: setup::SetupError) -> String {
    capitalised(&e.to_string())
}

/// The setup screens; `profiles` are the scanner profile names to offer.
pub fn setup_ui(
    ui: &mut Ui,
    flow: &mut SetupFlow,
    profiles: &[String],
    requests: &mut Vec<DeskRequest>,
) -> Option<SetupAction> {
    ui.heading(
        RichText::new("Set up this desk")
            .font(theme::font(theme::HEADLINE_SIZE * 0.6))
            .strong(),
    );
    ui.label(
        RichText::new(format!(
            "Step {} of {}: {}",
            flow.step.number(),
            Step::ALL.len(),
            flow.step.title()
        ))
        .font(theme::font(theme::BODY_SIZE))
        .color(theme::MUTED),
    );
    ui.add_space(theme::GAP);
    match flow.step {
        Step::Site => site_ui(ui, flow),
        Step::Pin => pin_ui(ui, flow),
        Step::Scanner => scanner_ui(ui, flow, profiles),
        Step::Connections => connections_ui(ui, flow),
    }
    ui.add_space(theme::GAP);
    if let Some(message) = &flow.message {
        ui.label(
            RichText::new(message)
                .font(theme::font(theme::BODY_SIZE))
                .color(theme::WARN),
        );
    }
    let mut action = None;
    ui.horizontal(|ui| {
        if let Some(back) = flow.step.back()
            && big_button(ui, "Back").clicked()
        {
            flow.step = back;
            flow.message = None;
            flow.listening = false;
        }
        match flow.step.next() {
            Some(next) => {
                if big_button(ui, "Next").clicked() {
                    match flow.check_step() {
                        Ok(()) => {
                            flow.step = next;
                            flow.message = None;
                            flow.listening = next == Step::Scanner && flow.probe.is_none();
                        }
                        Err(problem) => flow.message = Some(problem),
                    }
                }
            }
            None => {
                let finish = ui.add_enabled(
                    !flow.saving,
                    egui::Button::new(RichText::new("Finish").font(theme::font(theme::BODY_SIZE)))
                        .min_size(theme::TOUCH_TARGET),
                );
                if finish.clicked() {
                    match flow.finish() {
                        Ok(request) => {
                            requests.push(request);
                            flow.saving = true;
                            flow.message = Some("Saving…".into());
                        }
                        Err(problem) => flow.message = Some(problem),
                    }
                }
            }
        }
        ui.add_space(theme::GAP * 2.0);
        let leave = if flow.first_run { "Later" } else { "Cancel" };
        if big_button(ui, leave).clicked() {
            action = Some(SetupAction::Leave);
        }
    });
    action
}

fn field_ui(ui: &mut Ui, label: &str, text: &mut String, hint: &str, width: f32) {
    ui.label(RichText::new(label).font(theme::font(theme::BODY_SIZE)));
    ui.add(
        egui::TextEdit::singleline(text)
            .font(theme::font(theme::BODY_SIZE))
            .desired_width(width)
            .hint_text(hint),
    );
    ui.end_row();
}

fn site_ui(ui: &mut Ui, flow: &mut SetupFlow) {
    let answers = &mut flow.answers;
    egui::Grid::new("setup-site")
        .num_columns(2)
        .spacing([theme::GAP, theme::GAP])
        .show(ui, |ui| {
            field_ui(
                ui,
                "Pharmacy name",
                &mut answers.name,
                "Main Street Pharmacy",
                620.0,
            );
            field_ui(ui, "Site GLN", &mut answers.gln, "13 digits", 420.0);
            field_ui(
                ui,
                "GS1 Company Prefix length",
                &mut answers.prefix_len,
                &setup::DEFAULT_PREFIX_LEN.to_string(),
                120.0,
            );
        });
    // The GLN as it is typed: its SGLN once it is whole, what is wrong once it is long enough.
    let gln = answers.gln.trim();
    if gln.len() >= 13 {
        let line = match (setup::site_gln(gln), setup::prefix_len(&answers.prefix_len)) {
            (Ok(gln), Ok(len)) => {
                RichText::new(format!("SGLN in events: {}", setup::sgln(&gln, len)))
                    .color(theme::GOOD_TEXT)
            }
            (Err(e), _) | (_, Err(e)) => RichText::new(sentence(e)).color(theme::WARN),
        };
        ui.label(line.font(theme::font(theme::BODY_SIZE)));
    }
}

fn pin_ui(ui: &mut Ui, flow: &mut SetupFlow) {
    if !flow.pin_needed {
        ui.label(
            RichText::new(
                "A pharmacist PIN is set. Change it on the settings screen, with the current PIN.",
            )
            .font(theme::font(theme::BODY_SIZE)),
        );
        return;
    }
    ui.label(
        RichText::new(format!(
            "The pharmacist types it to open the pharmacist, inventory and settings screens \
             ({} to {} digits).",
            super::pin::MIN_PIN_LENGTH,
            super::pin::MAX_PIN_LENGTH
        ))
        .color(theme::MUTED),
    );
    egui::Grid::new("setup-pin")
        .num_columns(2)
        .spacing([theme::GAP, theme::GAP])
        .show(ui, |ui| {
            for (label, field) in [
                ("Pharmacist PIN", &mut flow.pin),
                ("PIN again", &mut flow.pin_again),
            ] {
                ui.label(RichText::new(label).font(theme::font(theme::BODY_SIZE)));
                ui.add(
                    egui::TextEdit::singleline(field)
                        .password(true)
                        .font(theme::font(theme::BODY_SIZE))
                        .desired_width(240.0),
                );
                field.retain(|c| c.is_ascii_digit());
                ui.end_row();
            }
        });
}

/// The test code's modules, dark = true, no quiet zone.
pub fn test_code_modules() -> Option<Vec<Vec<bool>>> {
    let bits = encode_gs1_datamatrix(
        TEST_CODE,
        rxing::datamatrix::encoder::SymbolShapeHint::FORCE_SQUARE,
    )
    .map_err(|e| tracing::error!("the scanner test code: {e}"))
    .ok()?;
    Some(
        (0..bits.getHeight())
            .map(|y| (0..bits.getWidth()).map(|x| bits.get(x, y)).collect())
            .collect(),
    )
}

/// The symbol, black on white with its quiet zone, `module` points a module.
fn symbol_ui(ui: &mut Ui, modules: &[Vec<bool>], module: f32) {
    let quiet = 2.0 * module;
    let side = modules.len() as f32 * module + 2.0 * quiet;
    let (rect, _) = ui.allocate_exact_size(vec2(side, side), Sense::hover());
    let painter = ui.painter();
    painter.rect_filled(rect, 0.0, Color32::WHITE);
    for (y, row) in modules.iter().enumerate() {
        for (x, dark) in row.iter().enumerate() {
            if *dark {
                let min = rect.min + vec2(quiet + x as f32 * module, quiet + y as f32 * module);
                painter.rect_filled(
                    egui::Rect::from_min_size(min, vec2(module, module)),
                    0.0,
                    Color32::BLACK,
                );
            }
        }
    }
}

fn scanner_ui(ui: &mut Ui, flow: &mut SetupFlow, profiles: &[String]) {
    if flow.symbol.is_none() {
        flow.symbol = test_code_modules();
    }
    ui.horizontal_top(|ui| {
        if let Some(modules) = &flow.symbol {
            symbol_ui(ui, modules, 10.0);
        }
        ui.add_space(theme::GAP);
        ui.vertical(|ui| {
            ui.set_max_width(900.0);
            let ask = if flow.listening {
                "Scan this code with the desk's scanner now."
            } else {
                "Scan this code to test the scanner."
            };
            ui.label(RichText::new(ask).font(theme::font(theme::HEADING_SIZE)));
            match &flow.probe {
                None => {}
                Some(Err(e)) => {
                    ui.label(
                        RichText::new(capitalised(&e.to_string()))
                            .font(theme::font(theme::BODY_SIZE))
                            .color(theme::WARN),
                    );
                }
                Some(Ok(report)) => probe_report_ui(ui, report),
            }
            if !flow.listening && big_button(ui, "Scan again").clicked() {
                flow.listening = true;
            }
            ui.add_space(theme::GAP);
            ui.horizontal(|ui| {
                ui.label(RichText::new("Scanner profile").font(theme::font(theme::BODY_SIZE)));
                egui::ComboBox::from_id_salt("setup-profile")
                    .selected_text(&flow.answers.scanner_profile)
                    .width(320.0)
                    .show_ui(ui, |ui| {
                        for name in profiles {
                            ui.selectable_value(
                                &mut flow.answers.scanner_profile,
                                name.clone(),
                                name,
                            );
                        }
                    });
            });
        });
    });
}

fn probe_report_ui(ui: &mut Ui, report: &ProbeReport) {
    let suffix = match report.suffix.key() {
        Some(crate::scanner::key::WedgeKey::Tab) => "Tab",
        Some(_) => "Enter",
        None => "none",
    };
    egui::Grid::new("setup-probe")
        .num_columns(2)
        .spacing([theme::GAP, theme::GAP * 0.4])
        .show(ui, |ui| {
            for (label, value) in [
                ("Suffix", suffix.to_owned()),
                (
                    "AIM prefix",
                    if report.aim_prefix { "yes (]d2)" } else { "no" }.to_owned(),
                ),
                ("GS separator", report.gs.to_string()),
            ] {
                ui.label(RichText::new(label).font(theme::font(theme::BODY_SIZE)));
                ui.label(
                    RichText::new(value)
                        .font(theme::font(theme::BODY_SIZE))
                        .strong(),
                );
                ui.end_row();
            }
        });
    for warning in &report.warnings {
        ui.label(
            RichText::new(warning.to_string())
                .font(theme::font(theme::BODY_SIZE))
                .color(theme::WARN),
        );
    }
    if report.gs == crate::scanner::profile::GsSubstitute::Dropped {
        ui.label(
            RichText::new(
                "The scanner drops the GS separator: lots and serials would run together. \
                 Program it to send GS (see its profile's set-up barcodes).",
            )
            .font(theme::font(theme::BODY_SIZE))
            .color(theme::WARN),
        );
    }
    match report.profile(&ProfileSet::builtin()) {
        Some(profile) if report.is_clean() => {
            ui.label(
                RichText::new(format!("Scanner ready: profile {}.", profile.name))
                    .font(theme::font(theme::BODY_SIZE))
                    .color(theme::GOOD_TEXT),
            );
        }
        Some(profile) => {
            ui.label(
                RichText::new(format!(
                    "Profile {} reads it; fix the above, then scan again.",
                    profile.name
                ))
                .font(theme::font(theme::BODY_SIZE)),
            );
        }
        None => {
            ui.label(
                RichText::new(
                    "No built-in profile reads this scanner as it is set up: program it to send \
                     Enter after each scan and GS as Ctrl+], or pick its profile below.",
                )
                .font(theme::font(theme::BODY_SIZE)),
            );
        }
    }
}

fn connections_ui(ui: &mut Ui, flow: &mut SetupFlow) {
    ui.label(
        RichText::new(
            "Both are optional: receipts are kept here until an upstream is set, and partner \
             documents can be imported with tracedesk import epcis.",
        )
        .color(theme::MUTED),
    );
    let answers = &mut flow.answers;
    egui::Grid::new("setup-connections")
        .num_columns(2)
        .spacing([theme::GAP, theme::GAP])
        .show(ui, |ui| {
            field_ui(
                ui,
                "Upstream EPCIS capture URL",
                &mut answers.upstream_url,
                "https://epcis.example.com/",
                620.0,
            );
            field_ui(
                ui,
                "Partner inbox folder",
                &mut answers.inbox_dir,
                "/srv/tracedesk/inbox",
                620.0,
            );
            field_ui(
                ui,
                "Verification router (asks manufacturers)",
                &mut answers.verification_router,
                "https://vrs.example.com/",
                620.0,
            );
        });
}

/// The notice the receiving screen shows once the desk wrote the setup.
pub fn done_notice(applied: &SetupApplied) -> String {
    format!("This desk is set up: {} ({}).", applied.name, applied.sgln)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_go_forward_and_back_in_order() {
        assert_eq!(Step::Site.next(), Some(Step::Pin));
        assert_eq!(Step::Connections.next(), None);
        assert_eq!(Step::Site.back(), None);
        assert_eq!(Step::Scanner.back(), Some(Step::Pin));
    }

    #[test]
    fn finishing_checks_every_step_and_asks_for_the_pin_only_when_needed() {
        let mut flow = SetupFlow::first_run();
        flow.answers.name = "Main Street Pharmacy".into();
        flow.answers.gln = "0614141000029".into();
        assert_eq!(
            flow.finish(),
            Err("PIN: a PIN has at least 6 digits".to_owned())
        );
        flow.pin = "246813".into();
        flow.pin_again = "246813".into();
        assert_eq!(
            flow.finish(),
            Ok(DeskRequest::ApplySetup {
                answers: flow.answers.clone(),
                pin: Some("246813".into()),
            })
        );
        flow.pin_needed = false;
        flow.pin.clear();
        assert!(matches!(
            flow.finish(),
            Ok(DeskRequest::ApplySetup { pin: None, .. })
        ));
        flow.answers.gln = "0614141000028".into();
        assert!(
            flow.finish()
                .unwrap_err()
                .starts_with("Site GLN: not a GLN")
        );
    }

    #[test]
    fn the_code_on_screen_decodes_as_the_test_code() {
        let modules = test_code_modules().unwrap();
        assert!(modules.iter().all(|row| row.len() == modules.len()));
        // Drawn as the screen draws it (6 px modules, two-module quiet zone), read back.
        let (module, quiet) = (6u32, 12u32);
        let side = modules.len() as u32 * module + 2 * quiet;
        let image = image::GrayImage::from_fn(side, side, |x, y| {
            let at = |v: u32| (v >= quiet).then(|| ((v - quiet) / module) as usize);
            let dark = at(x)
                .zip(at(y))
                .and_then(|(mx, my)| modules.get(my)?.get(mx).copied())
                .unwrap_or(false);
            image::Luma([if dark { 0 } else { 255 }])
        });
        let symbols = crate::camera::decode_luma(&image, &crate::camera::DecodeOptions::default());
        assert_eq!(symbols.len(), 1);
        assert_eq!(symbols[0].symbology, "]d2");
        assert_eq!(symbols[0].text, TEST_CODE);
    }
}
