//! The pharmacist's exception cases: packs and data that disagree, with their age, the
//! decisions a pharmacist may take, and the PDG report to send the partner.
//!
//! A pack held for its data resolves by itself when the data arrives; until then, and past its
//! grace period above all, the pharmacist sees it here and decides: return, quarantine as
//! suspect, destroy. Each decision goes to the desk worker, which records it with its event and
//! the case's audit line, and the list is loaded again.

use egui::{RichText, Ui};
use std::path::Path;

use super::desk::{CaseLine, DeskRequest};
use super::theme;
use crate::exceptions::Resolution;

/// The cases section's state.
#[derive(Debug, Default)]
pub struct Cases {
    /// The open cases as last loaded; `None` until they are.
    pub open: Option<Vec<CaseLine>>,
    /// A decision waiting for its confirmation: (case, decision).
    pub confirm: Option<(i64, Resolution)>,
}

/// The open cases, oldest first, each with its decisions.
pub fn cases_ui(
    ui: &mut Ui,
    state: &mut Cases,
    export_dir: &Path,
    requests: &mut Vec<DeskRequest>,
) {
    ui.heading("Exception cases");
    let Some(cases) = &state.open else {
        ui.label(RichText::new("Loading…").color(theme::MUTED));
        return;
    };
    if cases.is_empty() {
        ui.label(RichText::new("No open cases.").color(theme::MUTED));
        return;
    }
    let mut shipments: Vec<(String, String)> =
        cases.iter().filter_map(|c| c.shipment.clone()).collect();
    shipments.sort();
    shipments.dedup();
    ui.horizontal_wrapped(|ui| {
        for (reference, name) in &shipments {
            if ui
                .button(format!("Export PDG report: {name}"))
                .on_hover_text("The exception report for the supplier, as JSON")
                .clicked()
            {
                requests.push(DeskRequest::ExceptionReport {
                    reference: reference.clone(),
                    dir: export_dir.to_path_buf(),
                });
            }
        }
    });
    let mut decided = None;
    egui::ScrollArea::vertical()
        .id_salt("cases")
        .max_height(420.0)
        .show(ui, |ui| {
            for case in cases {
                let fill = if case.overdue {
                    theme::WARN
                } else {
                    theme::PANEL
                };
                theme::card(fill).show(ui, |ui| {
                    ui.set_width(ui.available_width());
                    let age = if case.overdue {
                        format!(
                            "{} day(s), past its grace period: decide now",
                            case.age_days
                        )
                    } else {
                        format!("{} day(s)", case.age_days)
                    };
                    ui.label(
                        RichText::new(format!("#{}  {}  ({age})", case.id, case.kind.label()))
                            .font(theme::font(theme::BODY_SIZE))
                            .strong(),
                    );
                    let unit = match (&case.pack.gtin, &case.pack.serial) {
                        (Some(g), Some(s)) => format!("GTIN {g}  serial {s}"),
                        (Some(g), None) => format!("GTIN {g}"),
                        _ => "no code".to_owned(),
                    };
                    let product = case.product.as_deref().unwrap_or("Unknown product");
                    ui.label(format!("{product}  {unit}"));
                    if !case.detail.is_empty() {
                        ui.label(RichText::new(&case.detail).color(theme::MUTED));
                    }
                    if let Some((_, name)) = &case.shipment {
                        ui.label(RichText::new(format!("Shipment {name}")).color(theme::MUTED));
                    }
                    ui.horizontal(|ui| {
                        for decision in Resolution::decisions_for(case.kind) {
                            let confirming = state.confirm == Some((case.id, *decision));
                            let text = if confirming {
                                format!("Confirm: {}", decision.label())
                            } else {
                                decision.label().to_owned()
                            };
                            if ui.button(text).clicked() {
                                decided = Some((case.id, *decision, confirming));
                            }
                        }
                    });
                });
                ui.add_space(theme::GAP * 0.5);
            }
        });
    match decided {
        // A decision moves or destroys a pack: it is asked twice.
        Some((id, decision, true)) => {
            state.confirm = None;
            requests.push(DeskRequest::ResolveCase { id, decision });
        }
        Some((id, decision, false)) => state.confirm = Some((id, decision)),
        None => {}
    }
}
