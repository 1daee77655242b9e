//! The receiving screen: one large verdict card per scan, and the shipment being received.
//!
//! Everything here draws from [`Receiving`] and asks for work by pushing
//! [`DeskRequest`]s; nothing blocks. The card must be readable from a metre away by a clerk
//! holding a pack: the headline in the verdict colour, every failure reason in plain words,
//! on a refusal what to do with the pack now (the site's instruction for the gravest reason),
//! then what identifies the pack.

use std::collections::VecDeque;

use egui::{Align, Layout, RichText, Ui};

use super::desk::{
    CaseLabel, DeskRequest, Reconciliation, ScanOutcome, ShipmentCounts, ShipmentSummary,
};
use super::theme;
use super::widgets::{big_button, file_safe, pack_fields_ui};
use crate::gs1::Gtin;
use crate::store::shipment::UnitState;
use crate::verify::Status;

/// How many recent scans the list keeps.
const RECENT: usize = 12;

/// What the receiving screen shows.
#[derive(Debug, Default)]
pub struct Receiving {
    /// The card on screen.
    pub card: Option<Card>,
    /// Scans sent to the desk and not answered yet.
    pub in_flight: usize,
    /// The shipment being received.
    pub shipment: Option<ShipmentSummary>,
    /// Shipments to pick from (loaded on demand).
    pub expected: Option<Vec<ShipmentSummary>>,
    /// Latest first.
    pub recent: VecDeque<ScanOutcome>,
    /// The reconciliation shown when a shipment is closed.
    pub closing: Option<Reconciliation>,
    /// A one-line notice (shipment opened, file exported, unknown label...).
    pub notice: Option<String>,
    /// The case or tote whose label was just scanned: scanning it again, or the button,
    /// receives all its packs.
    pub pending_case: Option<CaseLabel>,
}

/// The big card.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Card {
    /// A verdict.
    Verdict(Box<ScanOutcome>),
    /// Every pack of a case or tote, received by its label.
    Case {
        sscc: String,
        outcomes: Vec<ScanOutcome>,
    },
    /// A wedge scan that looked damaged (Caps Lock, keyboard layout): not checked.
    Damaged { scan: String, warnings: Vec<String> },
}

impl Receiving {
    /// Records a verdict that just arrived.
    /// The manufacturer's answer about a pack just received: shown on its card and in the
    /// recent list.
    pub fn manufacturer(&mut self, pack: &super::desk::PackIdentity, answer: String) {
        if let Some(Card::Verdict(outcome)) = &mut self.card
            && &outcome.pack == pack
        {
            outcome.manufacturer = Some(answer.clone());
        }
        if let Some(recent) = self.recent.iter_mut().find(|o| &o.pack == pack) {
            recent.manufacturer = Some(answer);
        }
    }

    /// A whole case received: each pack joins the recent list, the card sums them up.
    pub fn case_received(&mut self, sscc: String, outcomes: Vec<ScanOutcome>) {
        for outcome in &outcomes {
            self.recent.push_front(outcome.clone());
        }
        self.recent.truncate(RECENT);
        self.card = Some(Card::Case { sscc, outcomes });
    }

    pub fn answered(&mut self, outcome: ScanOutcome) {
        self.in_flight = self.in_flight.saturating_sub(1);
        self.recent.push_front(outcome.clone());
        self.recent.truncate(RECENT);
        self.card = Some(Card::Verdict(Box::new(outcome)));
    }
}

/// The whole screen: card on the left, shipment on the right.
pub fn receiving_ui(ui: &mut Ui, state: &mut Receiving, requests: &mut Vec<DeskRequest>) {
    let width = ui.available_width();
    let side = (width * 0.34).clamp(320.0, 560.0);
    egui::Panel::right("shipment")
        .exact_size(side)
        .frame(theme::card(theme::PANEL).corner_radius(0))
        .show(ui, |ui| shipment_ui(ui, state, requests));
    egui::CentralPanel::default()
        .frame(egui::Frame::new().inner_margin(theme::GAP))
        .show(ui, |ui| {
            if let Some(notice) = &state.notice {
                ui.label(RichText::new(notice).color(theme::MUTED));
            }
            match &state.card {
                Some(Card::Verdict(outcome)) => verdict_card_ui(ui, outcome),
                Some(Card::Case { sscc, outcomes }) => case_card_ui(ui, sscc, outcomes),
                Some(Card::Damaged { scan, warnings }) => damaged_card_ui(ui, scan, warnings),
                None => waiting_ui(ui, state.in_flight > 0),
            }
            ui.add_space(theme::GAP);
            recent_ui(ui, &state.recent);
        });
    if let Some(reconciliation) = &state.closing {
        let mut done = false;
        let mut export = false;
        egui::Modal::new(egui::Id::unique("closing")).show(ui.ctx(), |ui| {
            ui.set_max_width(900.0);
            reconciliation_ui(ui, reconciliation);
            ui.horizontal(|ui| {
                export = big_button(ui, "Export CSV").clicked();
                done = big_button(ui, "Done").clicked();
            });
        });
        if export {
            let path = super::default_export_dir().join(format!(
                "reconciliation-{}.csv",
                file_safe(&reconciliation.shipment.reference)
            ));
            requests.push(DeskRequest::Export {
                path,
                contents: reconciliation_csv(reconciliation),
            });
        }
        if done {
            state.closing = None;
            state.shipment = None;
        }
    }
}

/// A case received by its label: how many packs passed, and each pack's verdict.
fn case_card_ui(ui: &mut Ui, sscc: &str, outcomes: &[ScanOutcome]) {
    let accepted = outcomes.iter().filter(|o| o.verdict.is_verified()).count();
    let fill = if accepted == outcomes.len() {
        theme::PASS
    } else {
        theme::FAIL
    };
    theme::card(fill).show(ui, |ui| {
        ui.set_width(ui.available_width());
        ui.visuals_mut().override_text_color = Some(theme::ON_VERDICT);
        ui.label(
            RichText::new(format!(
                "CASE: {accepted} of {} packs received",
                outcomes.len()
            ))
            .font(theme::font(theme::HEADING_SIZE))
            .strong(),
        );
        ui.label(RichText::new(format!("SSCC {sscc}")).font(theme::mono(theme::SMALL_SIZE)));
        egui::ScrollArea::vertical()
            .id_salt("case packs")
            .max_height(320.0)
            .show(ui, |ui| {
                for outcome in outcomes {
                    let serial = outcome.pack.serial.as_deref().unwrap_or("?");
                    let what = if outcome.verdict.is_verified() {
                        "received".to_owned()
                    } else {
                        let labels: Vec<&str> =
                            outcome.verdict.reasons.iter().map(|r| r.label()).collect();
                        format!("REFUSED: {}", labels.join(", "))
                    };
                    ui.label(
                        RichText::new(format!("{serial}  {what}"))
                            .font(theme::font(theme::BODY_SIZE)),
                    );
                }
            });
    });
}

fn waiting_ui(ui: &mut Ui, checking: bool) {
    theme::card(theme::PANEL).show(ui, |ui| {
        ui.set_width(ui.available_width());
        ui.set_min_height(280.0);
        ui.vertical_centered(|ui| {
            ui.add_space(60.0);
            let text = if checking {
                "Checking…"
            } else {
                "Scan a pack"
            };
            ui.label(RichText::new(text).font(theme::font(theme::HEADLINE_SIZE)));
            ui.label(
                RichText::new(
                    "Scan each pack's 2D barcode. To receive a tote, scan its label first.",
                )
                .color(theme::MUTED),
            );
        });
    });
}

/// The verdict card for one scan.
pub fn verdict_card_ui(ui: &mut Ui, outcome: &ScanOutcome) {
    let (fill, headline) = match outcome.verdict.status {
        Status::Verified => (theme::PASS, "VERIFIED"),
        Status::Failed => (theme::FAIL, "REFUSED"),
        Status::Invalid => (theme::FAIL, "NOT A VALID BARCODE"),
    };
    theme::card(fill).show(ui, |ui| {
        ui.set_width(ui.available_width());
        ui.visuals_mut().override_text_color = Some(theme::ON_VERDICT);
        ui.label(
            RichText::new(headline)
                .font(theme::font(theme::HEADLINE_SIZE))
                .strong(),
        );
        for reason in &outcome.verdict.reasons {
            ui.label(
                RichText::new(format!("× {}", reason.label()))
                    .font(theme::font(theme::REASON_SIZE)),
            );
        }
        for error in &outcome.errors {
            ui.label(RichText::new(error).font(theme::font(theme::BODY_SIZE)));
        }
        if outcome.held_for_data {
            ui.label(
                RichText::new(
                    "KEEP IT: put the pack in the pending-data tote. It is released by itself \
                     when its data arrives.",
                )
                .font(theme::font(theme::REASON_SIZE))
                .strong(),
            );
        }
        if let Some(answer) = &outcome.manufacturer {
            ui.label(RichText::new(answer).font(theme::font(theme::BODY_SIZE)));
        }
        // A held pack's next step is the pending-data tote, said above.
        if let Some(step) = outcome
            .next_step
            .as_ref()
            .filter(|_| !outcome.held_for_data)
        {
            ui.add_space(theme::GAP * 0.5);
            next_step_ui(ui, step);
        }
        ui.add_space(theme::GAP);
        pack_fields_ui(ui, outcome.product.as_ref(), &outcome.pack);
        ui.add_space(theme::GAP * 0.5);
        let recorded = if outcome.recorded {
            "Recorded."
        } else {
            "Not recorded: no unit could be identified."
        };
        ui.label(RichText::new(recorded).font(theme::font(theme::SMALL_SIZE)));
    });
}

/// The physical next step after a refusal, boxed so it stands apart from the reasons.
fn next_step_ui(ui: &mut Ui, step: &str) {
    egui::Frame::new()
        .fill(theme::NEXT_STEP)
        .corner_radius(theme::ROUNDING)
        .inner_margin(theme::GAP)
        .show(ui, |ui| {
            ui.set_width(ui.available_width());
            ui.label(
                RichText::new("WHAT TO DO")
                    .font(theme::font(theme::SMALL_SIZE))
                    .strong(),
            );
            ui.label(RichText::new(step).font(theme::font(theme::NEXT_STEP_SIZE)));
        });
}

fn damaged_card_ui(ui: &mut Ui, scan: &str, warnings: &[String]) {
    theme::card(theme::WARN).show(ui, |ui| {
        ui.set_width(ui.available_width());
        ui.visuals_mut().override_text_color = Some(theme::ON_VERDICT);
        ui.label(
            RichText::new("SCAN AGAIN")
                .font(theme::font(theme::HEADLINE_SIZE))
                .strong(),
        );
        ui.label(
            RichText::new("The scan arrived damaged and was not checked.")
                .font(theme::font(theme::REASON_SIZE)),
        );
        for warning in warnings {
            ui.label(RichText::new(warning).font(theme::font(theme::BODY_SIZE)));
        }
        ui.label(RichText::new(scan).font(theme::mono(theme::SMALL_SIZE)));
    });
}

fn recent_ui(ui: &mut Ui, recent: &VecDeque<ScanOutcome>) {
    if recent.is_empty() {
        return;
    }
    ui.label(
        RichText::new("Last scans")
            .font(theme::font(theme::BODY_SIZE))
            .color(theme::MUTED),
    );
    egui::ScrollArea::vertical()
        .id_salt("recent")
        .show(ui, |ui| {
            for outcome in recent {
                let (colour, word) = match outcome.verdict.status {
                    Status::Verified => (theme::PASS, "verified"),
                    Status::Failed => (theme::FAIL, "refused"),
                    Status::Invalid => (theme::FAIL, "invalid"),
                };
                ui.horizontal(|ui| {
                    ui.label(
                        RichText::new(format!(" {word} "))
                            .background_color(colour)
                            .color(theme::ON_VERDICT),
                    );
                    let name = outcome
                        .product
                        .as_ref()
                        .and_then(|p| p.name.clone())
                        .or_else(|| outcome.pack.gtin.as_ref().map(Gtin::to_string))
                        .unwrap_or_default();
                    let serial = outcome.pack.serial.as_deref().unwrap_or("");
                    ui.label(
                        RichText::new(format!("{name}  {serial}"))
                            .font(theme::font(theme::SMALL_SIZE)),
                    );
                    if let Some(first) = outcome.verdict.reasons.first() {
                        ui.label(
                            RichText::new(first.label())
                                .font(theme::font(theme::SMALL_SIZE))
                                .color(theme::MUTED),
                        );
                    }
                });
            }
        });
}

fn shipment_ui(ui: &mut Ui, state: &mut Receiving, requests: &mut Vec<DeskRequest>) {
    ui.heading("Shipment");
    match &state.shipment {
        Some(shipment) => {
            ui.label(
                RichText::new(&shipment.name)
                    .font(theme::font(theme::HEADING_SIZE))
                    .strong(),
            );
            counts_ui(ui, &shipment.counts);
            ui.add_space(theme::GAP);
            ui.with_layout(Layout::top_down(Align::Min), |ui| {
                let mut receive_case = None;
                if let Some(case) = &state.pending_case {
                    ui.label(RichText::new("Scan the case label again, or:").color(theme::MUTED));
                    if big_button(
                        ui,
                        &format!("Receive all {} packs of this case", case.packs),
                    )
                    .clicked()
                    {
                        receive_case = Some(format!("00{}", case.sscc).into_bytes());
                    }
                }
                if let Some(bytes) = receive_case {
                    state.pending_case = None;
                    requests.push(DeskRequest::ReceiveCase {
                        bytes,
                        shipment: Some(shipment.reference.clone()),
                    });
                }
                if big_button(ui, "Close shipment").clicked() {
                    requests.push(DeskRequest::Reconcile {
                        reference: shipment.reference.clone(),
                        closing: true,
                    });
                }
            });
        }
        None => {
            ui.label(
                RichText::new("No shipment open. Scan a tote or case label (SSCC), or choose one:")
                    .color(theme::MUTED),
            );
            match &state.expected {
                None => {
                    if big_button(ui, "Expected shipments").clicked() {
                        requests.push(DeskRequest::ListShipments);
                        state.expected = Some(Vec::new());
                    }
                }
                Some(list) if list.is_empty() => {
                    ui.label("No shipments expected.");
                }
                Some(list) => {
                    let mut chosen = None;
                    egui::ScrollArea::vertical()
                        .id_salt("expected")
                        .show(ui, |ui| {
                            for shipment in list {
                                let text = format!(
                                    "{}  ({} expected, {} received)",
                                    shipment.name,
                                    shipment.counts.expected,
                                    shipment.counts.received
                                );
                                if ui
                                    .add(egui::Button::new(text).min_size(egui::vec2(
                                        ui.available_width(),
                                        theme::TOUCH_TARGET.y,
                                    )))
                                    .clicked()
                                {
                                    chosen = Some(shipment.clone());
                                }
                            }
                        });
                    if let Some(shipment) = chosen {
                        state.notice = Some(format!("Receiving {}", shipment.name));
                        state.shipment = Some(shipment);
                    }
                }
            }
        }
    }
}

/// The counters, large.
pub fn counts_ui(ui: &mut Ui, counts: &ShipmentCounts) {
    egui::Grid::new("counts")
        .num_columns(2)
        .spacing([theme::GAP * 2.0, 4.0])
        .show(ui, |ui| {
            for (label, value, colour) in [
                ("Expected", counts.expected, theme::TEXT),
                ("Received", counts.received, theme::TEXT),
                (
                    "Missing",
                    counts.missing,
                    if counts.missing > 0 {
                        theme::WARN
                    } else {
                        theme::TEXT
                    },
                ),
                (
                    "Unexpected",
                    counts.unexpected,
                    if counts.unexpected > 0 {
                        theme::WARN
                    } else {
                        theme::TEXT
                    },
                ),
                (
                    "Refused",
                    counts.rejected,
                    if counts.rejected > 0 {
                        theme::FAIL
                    } else {
                        theme::TEXT
                    },
                ),
            ] {
                ui.label(RichText::new(label).font(theme::font(theme::BODY_SIZE)));
                ui.label(
                    RichText::new(value.to_string())
                        .font(theme::font(theme::HEADING_SIZE))
                        .color(colour)
                        .strong(),
                );
                ui.end_row();
            }
        });
}

fn reconciliation_ui(ui: &mut Ui, reconciliation: &Reconciliation) {
    ui.heading(format!("Shipment {} closed", reconciliation.shipment.name));
    counts_ui(ui, &reconciliation.shipment.counts);
    let open = reconciliation.cases.iter().filter(|c| c.open).count();
    if open > 0 {
        ui.label(
            RichText::new(format!(
                "{open} exception case(s) for the pharmacist: the supplier gets a PDG report"
            ))
            .color(theme::WARN)
            .strong(),
        );
    }
    let exceptions: Vec<_> = reconciliation
        .lines
        .iter()
        .filter(|l| l.state != UnitState::Received)
        .collect();
    if exceptions.is_empty() {
        ui.label(RichText::new("Every expected unit was received.").color(theme::PASS));
        return;
    }
    egui::ScrollArea::vertical()
        .max_height(360.0)
        .show(ui, |ui| {
            egui::Grid::new("exceptions").striped(true).show(ui, |ui| {
                for line in exceptions {
                    ui.label(line.state.as_str());
                    ui.label(
                        RichText::new(line.gtin.as_str()).font(theme::mono(theme::SMALL_SIZE)),
                    );
                    ui.label(RichText::new(&line.serial).font(theme::mono(theme::SMALL_SIZE)));
                    ui.label(line.lot.as_deref().unwrap_or(""));
                    ui.end_row();
                }
            });
        });
}

/// The reconciliation as CSV: `state,gtin,serial,lot,expiry`, one line per unit (the
/// command line's `shipment --csv` writes the same).
pub fn reconciliation_csv(reconciliation: &Reconciliation) -> String {
    crate::desk::export::reconciliation_csv(&reconciliation.lines)
}
