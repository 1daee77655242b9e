//! The pharmacist's side: the PIN gate, and the check of a suspect pack.
//!
//! A scanned pack shows its verdict and whole history (supplier events, receipts here, holds),
//! and what trading partners said about it (DSCSA TI/TS: product, lot, expiry, each transaction
//! with its parties, references and statement), which the pharmacist can export as the same CSV
//! `tracedesk trace --csv` writes. The pharmacist can quarantine the pack with a reason, release
//! it, mark it illegitimate or record its destruction. Each action goes to the desk worker, which records an event and an audit
//! line; the screen then reloads the pack's history, so what is shown is what was recorded.

use egui::{RichText, Ui};

use std::path::Path;
use std::time::Instant;

use super::desk::{DeskRequest, PackFile, PharmacistAction, UnitTrace};
use super::investigation::{self, Classification, Reporter};
use super::pin::MAX_PIN_LENGTH;
use super::theme;
use super::widgets::{big_button, file_safe, pack_fields_ui};
use crate::store::trace::{self, TraceParty, TraceTransaction};
use crate::verify::Status;

/// What the PIN screen shows.
#[derive(Debug, Default)]
pub struct PinEntry {
    pub pin: String,
    /// Waiting for the worker to check the PIN.
    pub checking: bool,
    /// No PIN was ever set: the PIN entered (twice) becomes the PIN.
    pub setting_new: bool,
    /// The new PIN as first entered, while the pad asks for it again.
    pub first: Option<String>,
    /// Until when the desk said it will not check a PIN (for the countdown; the desk decides).
    pub locked_until: Option<Instant>,
    pub message: Option<String>,
}

/// What the PIN screen asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PinAction {
    Submit(String),
    Cancel,
}

/// The PIN pad: a password field (keyboard) and digit buttons (touch).
pub fn pin_ui(ui: &mut Ui, entry: &mut PinEntry, locked_for: Option<u64>) -> Option<PinAction> {
    let mut action = None;
    ui.vertical_centered(|ui| {
        ui.add_space(theme::GAP * 2.0);
        let title = match (entry.setting_new, entry.first.is_some()) {
            (true, false) => format!(
                "Choose a pharmacist PIN ({} digits or more)",
                super::pin::MIN_PIN_LENGTH
            ),
            (true, true) => "Enter the new PIN again".to_owned(),
            (false, _) => "Pharmacist PIN".to_owned(),
        };
        ui.heading(title);
        // Read Enter before the field: a single-line field consumes it when it gives up focus.
        let enter_pressed = ui.input(|i| i.key_pressed(egui::Key::Enter));
        let field = ui.add(
            egui::TextEdit::singleline(&mut entry.pin)
                .password(true)
                .font(theme::font(theme::HEADING_SIZE))
                .desired_width(320.0)
                .hint_text("PIN"),
        );
        if !field.has_focus() && !entry.checking && ui.memory(|m| m.focused().is_none()) {
            field.request_focus();
        }
        // A PIN is digits; a scan typed into the field by mistake must not become one.
        entry.pin.retain(|c| c.is_ascii_digit());
        entry.pin.truncate(MAX_PIN_LENGTH);
        let enter = enter_pressed && (field.lost_focus() || field.has_focus());
        // Grids do not centre themselves: pad the row to put the keypad under the field.
        let pad_width = 3.0 * 110.0 + 2.0 * theme::GAP;
        ui.horizontal(|ui| {
            ui.add_space(((ui.available_width() - pad_width) / 2.0).max(0.0));
            pin_pad_ui(ui, entry, &mut action);
        });
        if enter {
            action = Some(PinAction::Submit(entry.pin.clone()));
        }
        if let Some(seconds) = locked_for {
            ui.label(
                RichText::new(format!("Too many wrong PINs. Try again in {seconds} s."))
                    .color(theme::WARN)
                    .font(theme::font(theme::BODY_SIZE)),
            );
        } else if entry.checking {
            ui.label("Checking…");
        }
        if let Some(message) = &entry.message {
            ui.label(
                RichText::new(message)
                    .color(theme::WARN)
                    .font(theme::font(theme::BODY_SIZE)),
            );
        }
        if big_button(ui, "Cancel").clicked() {
            action = Some(PinAction::Cancel);
        }
    });
    action
}

/// The touch keypad.
fn pin_pad_ui(ui: &mut Ui, entry: &mut PinEntry, action: &mut Option<PinAction>) {
    egui::Grid::new("pinpad")
        .spacing([theme::GAP, theme::GAP])
        .show(ui, |ui| {
            for row in [
                ["1", "2", "3"],
                ["4", "5", "6"],
                ["7", "8", "9"],
                ["Del", "0", "OK"],
            ] {
                for key in row {
                    let button = egui::Button::new(
                        RichText::new(key).font(theme::font(theme::HEADING_SIZE)),
                    )
                    .min_size(egui::vec2(110.0, 80.0));
                    if ui.add(button).clicked() {
                        match key {
                            "Del" => {
                                entry.pin.pop();
                            }
                            "OK" => *action = Some(PinAction::Submit(entry.pin.clone())),
                            digit => entry.pin.push_str(digit),
                        }
                    }
                }
                ui.end_row();
            }
        });
}

/// The pharmacist screen's state.
#[derive(Debug, Default)]
pub struct Pharmacist {
    /// The pack last scanned, as scanned (to reload it after an action).
    pub scanned: Option<Vec<u8>>,
    pub file: Option<PackFile>,
    pub loading: bool,
    /// Reason typed for a quarantine or an illegitimate product (also the Form 3911 description).
    pub reason: String,
    pub reporter: Reporter,
    /// Destroy asks twice.
    pub confirm_destroy: bool,
    pub notice: Option<String>,
    /// The open exception cases, shown while no pack is scanned.
    pub cases: super::exceptions::Cases,
}

/// The pharmacist screen; exports are written to `export_dir`.
pub fn pharmacist_ui(
    ui: &mut Ui,
    state: &mut Pharmacist,
    today: chrono::NaiveDate,
    export_dir: &Path,
    requests: &mut Vec<DeskRequest>,
) {
    ui.heading("Pharmacist check");
    if let Some(notice) = &state.notice {
        ui.label(RichText::new(notice).color(theme::MUTED));
    }
    let Some(file) = state.file.clone() else {
        let text = if state.loading {
            "Loading…"
        } else {
            "Scan the suspect pack."
        };
        ui.label(RichText::new(text).font(theme::font(theme::HEADLINE_SIZE * 0.7)));
        ui.add_space(theme::GAP);
        super::exceptions::cases_ui(ui, &mut state.cases, export_dir, requests);
        return;
    };
    ui.columns(2, |columns| {
        let [left, right] = columns else { return };
        file_ui(left, &file, export_dir, requests);
        actions_ui(right, state, &file, today, export_dir, requests);
    });
}

fn file_ui(ui: &mut Ui, file: &PackFile, export_dir: &Path, requests: &mut Vec<DeskRequest>) {
    let (fill, headline) = match file.verdict.status {
        Status::Verified => (theme::PASS, "No problem found"),
        Status::Failed => (theme::FAIL, "Problem found"),
        Status::Invalid => (theme::FAIL, "Not a valid barcode"),
    };
    theme::card(fill).show(ui, |ui| {
        ui.set_width(ui.available_width());
        ui.visuals_mut().override_text_color = Some(theme::ON_VERDICT);
        ui.label(
            RichText::new(headline)
                .font(theme::font(theme::HEADING_SIZE))
                .strong(),
        );
        for reason in &file.verdict.reasons {
            ui.label(
                RichText::new(format!("× {}", reason.label())).font(theme::font(theme::BODY_SIZE)),
            );
        }
        for error in &file.errors {
            ui.label(error);
        }
        pack_fields_ui(ui, file.product.as_ref(), &file.pack);
    });
    ui.add_space(theme::GAP);
    egui::ScrollArea::vertical()
        .id_salt("history")
        .show(ui, |ui| {
            ui.label(
                RichText::new("History")
                    .font(theme::font(theme::BODY_SIZE))
                    .color(theme::MUTED),
            );
            if file.history.is_empty() {
                ui.label("Nothing recorded about this pack.");
            }
            for entry in &file.history {
                ui.horizontal_wrapped(|ui| {
                    ui.label(
                        RichText::new(&entry.at)
                            .font(theme::mono(theme::SMALL_SIZE))
                            .color(theme::MUTED),
                    );
                    ui.label(RichText::new(&entry.what).font(theme::font(theme::SMALL_SIZE)));
                });
            }
            ui.add_space(theme::GAP);
            ui.scope(|ui| trace_ui(ui, file.trace.as_deref(), export_dir, requests));
        });
}

/// What trading partners said about the pack, and the button that exports it.
fn trace_ui(
    ui: &mut Ui,
    unit_trace: Option<&UnitTrace>,
    export_dir: &Path,
    requests: &mut Vec<DeskRequest>,
) {
    ui.horizontal(|ui| {
        ui.label(
            RichText::new("Transactions (DSCSA TI/TS)")
                .font(theme::font(theme::BODY_SIZE))
                .color(theme::MUTED),
        );
        if let Some(UnitTrace { unit, trace }) = unit_trace
            && big_button(ui, "Export trace").clicked()
        {
            let name = format!(
                "trace-{}-{}.csv",
                file_safe(unit.gtin.as_str()),
                file_safe(&unit.serial)
            );
            requests.push(DeskRequest::Export {
                path: export_dir.join(name),
                contents: trace::csv_document(unit, trace),
            });
        }
    });
    let body = |text: String| RichText::new(text).font(theme::font(theme::SMALL_SIZE));
    ui.spacing_mut().item_spacing.y = theme::GAP * 0.25;
    let Some(UnitTrace { trace, .. }) = unit_trace else {
        ui.label(body("No transaction data for this pack".into()));
        return;
    };
    let known = |v: &Option<String>| v.clone().unwrap_or_else(|| "—".into());
    match &trace.product {
        Some(p) => {
            let described = [&p.name, &p.strength, &p.dosage_form]
                .into_iter()
                .flatten()
                .cloned()
                .collect::<Vec<_>>()
                .join(" ");
            let size = p
                .container_size
                .as_ref()
                .map(|s| format!(", {s}"))
                .unwrap_or_default();
            ui.label(body(format!("{described}{size}")).strong());
            ui.label(body(format!(
                "NDC {} · made by {}",
                known(&p.ndc),
                known(&p.manufacturer)
            )));
        }
        None => {
            ui.label(body("Product not in master data".into()));
        }
    }
    ui.label(body(format!(
        "Lot {} · Expiry {}",
        known(&trace.lot),
        known(&trace.expiry)
    )));
    if trace.transactions.is_empty() {
        ui.label(body("No transaction data for this pack".into()));
    }
    for (n, t) in trace.transactions.iter().enumerate() {
        ui.add_space(theme::GAP * 0.5);
        theme::card(theme::PANEL)
            .inner_margin(theme::GAP * 0.75)
            .show(ui, |ui| {
                ui.set_width(ui.available_width());
                transaction_ui(ui, n, t);
            });
    }
}

/// One transaction: who sold to whom, where it went, its references and statement.
fn transaction_ui(ui: &mut Ui, n: usize, t: &TraceTransaction) {
    let body = |text: String| RichText::new(text).font(theme::font(theme::SMALL_SIZE));
    ui.label(
        RichText::new(&t.date)
            .font(theme::mono(theme::SMALL_SIZE))
            .color(theme::MUTED),
    );
    let reference = |r: &Option<String>| r.clone().unwrap_or_else(|| "—".into());
    // Read, not touched: rows as tight as text, not touch targets.
    egui::Grid::new(("transaction", n))
        .num_columns(2)
        .spacing([theme::GAP, theme::GAP * 0.25])
        .min_row_height(theme::SMALL_SIZE)
        .show(ui, |ui| {
            for (label, value) in [
                ("Seller", party(&t.seller)),
                ("Buyer", party(&t.buyer)),
                ("Ship from", party(&t.ship_from)),
                ("Ship to", party(&t.ship_to)),
                ("PO", reference(&t.po)),
                ("Invoice", reference(&t.invoice)),
                ("ASN", reference(&t.desadv)),
                (
                    "Document",
                    t.document.map_or_else(|| "—".into(), |d| d.to_string()),
                ),
            ] {
                ui.label(body(label.into()).color(theme::MUTED));
                ui.label(body(value));
                ui.end_row();
            }
        });
    if t.drop_shipment == Some(true) {
        ui.label(body(
            "Drop shipment: shipped by the manufacturer directly".into(),
        ));
    }
    match t.statement_affirmed {
        Some(true) => ui.label(body("Transaction statement affirmed".into())),
        Some(false) => {
            ui.label(body("Transaction statement NOT affirmed".into()).color(theme::WARN))
        }
        None => ui.label(body("No transaction statement".into()).color(theme::WARN)),
    };
}

/// A party as a person reads it: its name and address, else its GLN, else the identifier sent.
fn party(p: &Option<TraceParty>) -> String {
    let Some(p) = p else {
        return "—".into();
    };
    match (&p.name, &p.address) {
        (Some(name), Some(address)) => format!("{name}, {address}"),
        (Some(name), None) => name.clone(),
        (None, _) => p
            .gln
            .as_ref()
            .map_or_else(|| p.id.clone(), |gln| format!("GLN {gln}")),
    }
}

fn actions_ui(
    ui: &mut Ui,
    state: &mut Pharmacist,
    file: &PackFile,
    today: chrono::NaiveDate,
    export_dir: &Path,
    requests: &mut Vec<DeskRequest>,
) {
    let identified = file.pack.gtin.is_some() && file.pack.serial.is_some();
    ui.label("Reason / description");
    ui.add(
        egui::TextEdit::multiline(&mut state.reason)
            .desired_rows(3)
            .desired_width(f32::INFINITY)
            .hint_text("What is wrong with this pack?"),
    );
    let reason = state.reason.trim().to_owned();
    let mut acts = Vec::new();
    let mut act = |action: PharmacistAction| acts.push(action);
    ui.add_enabled_ui(identified, |ui| {
        ui.horizontal_wrapped(|ui| {
            if big_button(ui, "Quarantine").clicked() {
                if reason.is_empty() {
                    state.notice = Some("Type the reason for the quarantine first.".into());
                } else {
                    act(PharmacistAction::Quarantine {
                        reason: reason.clone(),
                    });
                }
            }
            if big_button(ui, "Hold as suspect").clicked() {
                act(PharmacistAction::HoldSuspect {
                    reason: if reason.is_empty() {
                        "suspect product".to_owned()
                    } else {
                        reason.clone()
                    },
                });
            }
            if big_button(ui, "Release").clicked() {
                act(PharmacistAction::Release);
            }
            if big_button(ui, "Ask the manufacturer").clicked() {
                requests.push(DeskRequest::AskManufacturer {
                    pack: file.pack.clone(),
                    suspect: file.investigation.is_some(),
                });
            }
            if big_button(ui, "Mark illegitimate").clicked() {
                if reason.is_empty() {
                    state.notice = Some("Describe why the product is illegitimate first.".into());
                } else {
                    act(PharmacistAction::MarkIllegitimate {
                        reason: reason.clone(),
                    });
                }
            }
            let destroy = if state.confirm_destroy {
                "Confirm: destroyed"
            } else {
                "Destroy"
            };
            if big_button(ui, destroy).clicked() {
                if state.confirm_destroy {
                    act(PharmacistAction::Destroy);
                }
                state.confirm_destroy = !state.confirm_destroy;
            }
        });
    });
    for action in acts {
        requests.push(DeskRequest::Act {
            pack: file.pack.clone(),
            action,
        });
    }
    if let Some(investigation) = &file.investigation {
        ui.label(
            RichText::new(investigation)
                .color(theme::WARN)
                .font(theme::font(theme::BODY_SIZE)),
        );
    }
    if !identified {
        ui.label(
            RichText::new("This scan identifies no unit: nothing can be recorded.")
                .color(theme::WARN),
        );
    }
    ui.add_space(theme::GAP);
    ui.label(
        RichText::new("Investigation record (FDA Form 3911)").font(theme::font(theme::BODY_SIZE)),
    );
    egui::Grid::new("reporter").num_columns(2).show(ui, |ui| {
        for (label, value) in [
            ("Company", &mut state.reporter.company),
            ("Reporter", &mut state.reporter.name),
            ("Phone / email", &mut state.reporter.contact),
        ] {
            ui.label(label);
            ui.add(egui::TextEdit::singleline(value).desired_width(320.0));
            ui.end_row();
        }
    });
    if big_button(ui, "Export record").clicked() {
        let classification = if file.verdict.reasons.iter().any(|r| {
            matches!(
                r,
                crate::verify::Reason::Stolen | crate::verify::Reason::NoMatchGtinSerial
            )
        }) {
            Classification::Illegitimate
        } else {
            Classification::HighRisk
        };
        let contents =
            investigation::form_3911_csv(file, classification, &reason, &state.reporter, today);
        let name = format!(
            "form3911-{}-{}.csv",
            file_safe(file.pack.gtin.as_ref().map_or("unknown", |g| g.as_str())),
            file_safe(file.pack.serial.as_deref().unwrap_or("unknown"))
        );
        requests.push(DeskRequest::Export {
            path: export_dir.join(name),
            contents,
        });
    }
}
