//! The pieces of screen more than one kiosk screen uses: the touch-sized button, a pack's
//! identity table, and the small text rules for what goes on screen or into a file name.

use egui::{RichText, Ui};

use super::desk::{PackIdentity, ProductLabel};
use super::theme;

/// A touch-sized button.
pub fn big_button(ui: &mut Ui, text: &str) -> egui::Response {
    ui.add(
        egui::Button::new(RichText::new(text).font(theme::font(theme::BODY_SIZE)))
            .min_size(theme::TOUCH_TARGET),
    )
}

/// Product name, strength, NDC, lot, expiry, serial.
pub fn pack_fields_ui(ui: &mut Ui, product: Option<&ProductLabel>, pack: &PackIdentity) {
    let name = product
        .and_then(|p| p.name.clone())
        .unwrap_or_else(|| "Unknown product".into());
    let strength = product.and_then(|p| p.strength.clone()).unwrap_or_default();
    ui.label(
        RichText::new(format!("{name} {strength}").trim_end().to_owned())
            .font(theme::font(theme::HEADING_SIZE)),
    );
    let none = || "—".to_owned();
    let rows = [
        (
            "NDC",
            product.and_then(|p| p.ndc.clone()).unwrap_or_else(none),
        ),
        (
            "GTIN",
            pack.gtin.as_ref().map_or_else(none, |g| g.to_string()),
        ),
        ("Lot", pack.lot.clone().unwrap_or_else(none)),
        (
            "Expiry",
            pack.expiry
                .map(|d| d.format("%Y-%m-%d").to_string())
                .unwrap_or_else(none),
        ),
        ("Serial", pack.serial.clone().unwrap_or_else(none)),
    ];
    egui::Grid::new(ui.next_auto_id())
        .num_columns(2)
        .spacing([theme::GAP * 2.0, 6.0])
        .show(ui, |ui| {
            for (label, value) in rows {
                ui.label(RichText::new(label).font(theme::font(theme::BODY_SIZE)));
                ui.label(RichText::new(value).font(theme::mono(theme::BODY_SIZE + 4.0)));
                ui.end_row();
            }
        });
}

/// An error message as a sentence on screen.
pub fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// A reference made safe for a file name.
pub fn file_safe(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}
