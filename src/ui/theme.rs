//! The kiosk's look in one place: type sizes, colours, spacing and touch-target sizes.
//!
//! A receiving desk is read from a metre away by someone holding a pack, often under harsh
//! light: large type, high contrast, and a verdict colour that cannot be confused (green for
//! VERIFIED, red for every failure, amber for warnings). Screens take their sizes and colours
//! from here and never from literals, so the kiosk stays consistent when this changes.

use egui::{Color32, FontFamily, FontId, TextStyle, Vec2};

/// Background of every screen.
pub const BACKGROUND: Color32 = Color32::from_rgb(0x10, 0x12, 0x16);
/// Panels and cards on the background.
pub const PANEL: Color32 = Color32::from_rgb(0x1c, 0x20, 0x26);
/// Body text.
pub const TEXT: Color32 = Color32::from_rgb(0xf4, 0xf6, 0xf8);
/// Secondary text (labels of fields).
pub const MUTED: Color32 = Color32::from_rgb(0xb0, 0xb8, 0xc4);
/// A verified unit.
pub const PASS: Color32 = Color32::from_rgb(0x0b, 0x7a, 0x2e);
/// A refused unit.
pub const FAIL: Color32 = Color32::from_rgb(0xb0, 0x14, 0x1e);
/// Good news as text on the background ([`PASS`] is a fill, too dark to read as text).
pub const GOOD_TEXT: Color32 = Color32::from_rgb(0x5f, 0xd3, 0x8a);
/// Something to look at that is not a verdict: a damaged wedge scan, a parked event.
pub const WARN: Color32 = Color32::from_rgb(0xc7, 0x7c, 0x02);
/// Calm information (offline is normal, not an error).
pub const INFO: Color32 = Color32::from_rgb(0x2d, 0x5b, 0x9a);
/// The "what to do" box inside a refusal card: darker than [`FAIL`], so it reads as its own block.
pub const NEXT_STEP: Color32 = Color32::from_rgb(0x5c, 0x08, 0x0e);
/// Text on the verdict colours.
pub const ON_VERDICT: Color32 = Color32::WHITE;

/// The verdict headline ("VERIFIED", "REFUSED").
pub const HEADLINE_SIZE: f32 = 72.0;
/// Failure reasons on the verdict card.
pub const REASON_SIZE: f32 = 38.0;
/// The instruction after a refusal: smaller than the reasons, large enough to read at a metre.
pub const NEXT_STEP_SIZE: f32 = 32.0;
/// Screen titles.
pub const HEADING_SIZE: f32 = 34.0;
/// Body text and buttons.
pub const BODY_SIZE: f32 = 24.0;
/// The status bar and lists.
pub const SMALL_SIZE: f32 = 19.0;

/// The smallest thing a gloved finger hits reliably.
pub const TOUCH_TARGET: Vec2 = Vec2::new(180.0, 64.0);
/// The box of a checkbox (settings, filters): big enough to hit with a gloved finger.
pub const CHECKBOX_SIZE: f32 = 40.0;
/// Space between blocks.
pub const GAP: f32 = 16.0;
/// Rounding of cards and buttons.
pub const ROUNDING: u8 = 10;
/// How long the visual flash lasts when there is no audio device.
pub const FLASH_SECONDS: f32 = 0.6;

/// A proportional font of `size` points.
pub fn font(size: f32) -> FontId {
    FontId::new(size, FontFamily::Proportional)
}

/// A monospace font of `size` points, for identifiers a clerk compares digit by digit.
pub fn mono(size: f32) -> FontId {
    FontId::new(size, FontFamily::Monospace)
}

/// Applies the kiosk look to every style of the context.
pub fn apply(ctx: &egui::Context) {
    ctx.all_styles_mut(|style| {
        style.text_styles = [
            (TextStyle::Heading, font(HEADING_SIZE)),
            (TextStyle::Body, font(BODY_SIZE)),
            (TextStyle::Button, font(BODY_SIZE)),
            (TextStyle::Small, font(SMALL_SIZE)),
            (TextStyle::Monospace, mono(BODY_SIZE)),
        ]
        .into();
        style.spacing.item_spacing = Vec2::new(GAP * 0.75, GAP * 0.6);
        style.spacing.button_padding = Vec2::new(GAP * 1.2, GAP * 0.7);
        style.spacing.interact_size = Vec2::new(TOUCH_TARGET.y, TOUCH_TARGET.y * 0.7);
        style.spacing.scroll.bar_width = 18.0;
        let visuals = &mut style.visuals;
        *visuals = egui::Visuals::dark();
        visuals.panel_fill = BACKGROUND;
        visuals.window_fill = PANEL;
        visuals.extreme_bg_color = Color32::BLACK;
        visuals.override_text_color = Some(TEXT);
        visuals.widgets.inactive.weak_bg_fill = Color32::from_rgb(0x33, 0x3a, 0x45);
        visuals.widgets.hovered.weak_bg_fill = Color32::from_rgb(0x44, 0x4d, 0x5a);
        visuals.widgets.active.weak_bg_fill = Color32::from_rgb(0x55, 0x60, 0x70);
        visuals.selection.bg_fill = INFO;
    });
}

/// A card frame in `fill`.
pub fn card(fill: Color32) -> egui::Frame {
    egui::Frame::new()
        .fill(fill)
        .corner_radius(ROUNDING)
        .inner_margin(GAP * 1.5)
}
