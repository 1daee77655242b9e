//! The report charts, drawn for a pharmacist to read at a glance: counts on whole-number axes,
//! one bar per day with its date under it, labelled bars with their label in full and their
//! count beside them, and "No data yet" where there is nothing to draw.
//!
//! Drawn with egui's painter rather than a plotting widget, because a plot's autoscaling is
//! what made the old charts unreadable: a single day's bar filled the width, counts got
//! fractional ticks, an empty chart showed an axis from -2 to 2, and edge labels were cut off.
//! Here the layout is decided by the small pure functions below ([`count_step`],
//! [`label_every`]), which the tests check, and labels are placed inside the chart's own rect.
//!
//! Only drawing lives here: the numbers come ready from the desk ([`super::desk::Reports`]).

use chrono::NaiveDate;
use egui::{Align, Align2, Color32, Layout, Rect, RichText, Sense, Stroke, Ui, pos2, vec2};

use super::theme;

/// The words of an empty chart (the tests look for them).
pub const NO_DATA: &str = "No data yet";

/// Space between a bar and its label or count.
const LABEL_GAP: f32 = 8.0;
/// At most this many count ticks on an axis: enough to read a value, few enough to stay calm.
const MAX_TICKS: u64 = 5;
/// How much of a day's slot its bar fills: the rest is the gap that tells days apart.
const BAR_FILL: f32 = 0.7;
/// The longest a horizontal bar gets: beyond this the eye loses the label it belongs to.
const MAX_TRACK_WIDTH: f32 = 900.0;
/// The widest a day's bar gets (a week is 7 bars on a wide screen).
const MAX_BAR_WIDTH: f32 = 56.0;

/// The step between count ticks for counts up to `max`: a whole 1, 2 or 5 times a power of
/// ten, so at most [`MAX_TICKS`] steps cover `max` (never a fraction of a pack).
pub fn count_step(max: u64) -> u64 {
    let mut power = 1u64;
    loop {
        for factor in [1, 2, 5] {
            let step = power.saturating_mul(factor);
            if max.div_ceil(step) <= MAX_TICKS || step == u64::MAX {
                return step;
            }
        }
        power = power.saturating_mul(10);
    }
}

/// Every how many days a date is written under the bars, so labels of `label_width` points
/// never overlap on slots `slot_width` points wide: every day, every other day, weekly,
/// fortnightly or monthly.
pub fn label_every(slot_width: f32, label_width: f32) -> usize {
    [1, 2, 7, 14, 30]
        .into_iter()
        .find(|&n| slot_width * n as f32 >= label_width)
        .unwrap_or(30)
}

/// The empty state, at the height the chart would have had.
pub fn no_data_ui(ui: &mut Ui, height: f32, detail: &str) {
    theme::card(theme::PANEL).show(ui, |ui| {
        ui.set_width(ui.available_width());
        ui.set_min_height((height - theme::GAP * 3.0).max(0.0));
        ui.vertical_centered(|ui| {
            ui.add_space(theme::GAP);
            ui.label(RichText::new(NO_DATA).font(theme::font(theme::HEADING_SIZE)));
            ui.label(RichText::new(detail).color(theme::MUTED));
        });
    });
}

/// Units accepted and refused per day, a stacked bar per day, oldest on the left. Every day of
/// the range is a slot, so a quiet day shows as a gap, not as a missing day.
pub fn day_bars_ui(ui: &mut Ui, days: &[(NaiveDate, u64, u64)], height: f32) {
    let max = days.iter().map(|(_, ok, bad)| ok + bad).max().unwrap_or(0);
    if max == 0 {
        no_data_ui(
            ui,
            height,
            "Receipts show here, a bar per day, once packs are scanned.",
        );
        return;
    }
    legend_ui(ui);
    let font = theme::font(theme::SMALL_SIZE);
    let step = count_step(max);
    let top = max.div_ceil(step).saturating_mul(step);
    let painter = ui.painter().clone();
    let measure = |text: String| {
        painter
            .layout_no_wrap(text, font.clone(), theme::MUTED)
            .size()
    };
    let count_width = measure(top.to_string()).x;
    let text_height = measure("0".to_owned()).y;
    let (rect, response) =
        ui.allocate_exact_size(vec2(ui.available_width(), height), Sense::hover());
    let plot = Rect::from_min_max(
        pos2(
            rect.left() + count_width + LABEL_GAP,
            rect.top() + text_height * 0.5,
        ),
        pos2(rect.right(), rect.bottom() - text_height - LABEL_GAP),
    );
    if plot.width() <= 0.0 || plot.height() <= 0.0 || days.is_empty() {
        return;
    }
    let y_of = |count: u64| plot.bottom() - plot.height() * (count as f32 / top as f32);
    let grid = Stroke::new(1.0, theme::MUTED.gamma_multiply(0.3));
    for k in 0..=top / step {
        let count = k * step;
        let y = y_of(count);
        painter.hline(plot.x_range(), y, grid);
        painter.text(
            pos2(plot.left() - LABEL_GAP, y),
            Align2::RIGHT_CENTER,
            count.to_string(),
            font.clone(),
            theme::MUTED,
        );
    }
    let slot = plot.width() / days.len() as f32;
    let bar = (slot * BAR_FILL).clamp(1.0, MAX_BAR_WIDTH);
    let hovered = response
        .hover_pos()
        .filter(|p| plot.x_range().contains(p.x))
        .map(|p| (((p.x - plot.left()) / slot) as usize).min(days.len() - 1));
    for (i, &(_, ok, bad)) in days.iter().enumerate() {
        let centre = plot.left() + slot * (i as f32 + 0.5);
        if hovered == Some(i) {
            let column =
                Rect::from_center_size(pos2(centre, plot.center().y), vec2(slot, plot.height()));
            painter.rect_filled(column, 0.0, theme::PANEL);
        }
        let x = egui::Rangef::new(centre - bar * 0.5, centre + bar * 0.5);
        let stack = [(0, ok, theme::PASS), (ok, ok + bad, theme::FAIL)];
        for (from, to, colour) in stack {
            if to > from {
                let span = Rect::from_x_y_ranges(x, egui::Rangef::new(y_of(to), y_of(from)));
                painter.rect_filled(span, 0.0, colour);
            }
        }
    }
    // Dates under the bars: today's always, then back every few days, each kept inside the
    // chart so the first and last are never cut off.
    let label_width = measure("Sep 30".to_owned()).x + LABEL_GAP * 2.0;
    let every = label_every(slot, label_width);
    for (i, (day, _, _)) in days.iter().enumerate().rev().step_by(every) {
        let text = day.format("%b %-d").to_string();
        let width = measure(text.clone()).x;
        let centre = plot.left() + slot * (i as f32 + 0.5);
        let left = (centre - width * 0.5).clamp(rect.left(), rect.right() - width);
        painter.text(
            pos2(left, plot.bottom() + LABEL_GAP * 0.5),
            Align2::LEFT_TOP,
            text,
            font.clone(),
            theme::MUTED,
        );
    }
    if let Some(&(day, ok, bad)) = hovered.and_then(|i| days.get(i)) {
        response.on_hover_text_at_pointer(format!(
            "{}: {ok} accepted, {bad} refused",
            day.format("%a %b %-d")
        ));
    }
}

fn legend_ui(ui: &mut Ui) {
    ui.horizontal(|ui| {
        for (colour, text) in [(theme::PASS, "Accepted"), (theme::FAIL, "Refused")] {
            let side = theme::SMALL_SIZE * 0.8;
            let (swatch, _) = ui.allocate_exact_size(vec2(side, side), Sense::hover());
            ui.painter().rect_filled(swatch, 2.0, colour);
            ui.label(RichText::new(text).font(theme::font(theme::SMALL_SIZE)));
        }
    });
}

/// One horizontal bar per labelled count, in the order given: the label in full on the left
/// (its column as wide as the widest label), the bar scaled to the largest count, the count
/// written after it. `empty` says why there is nothing when every count is zero.
pub fn labelled_bars_ui(
    ui: &mut Ui,
    values: &[(String, u64)],
    colour: Color32,
    height: f32,
    empty: &str,
) {
    let max = values.iter().map(|(_, n)| *n).max().unwrap_or(0);
    if max == 0 {
        no_data_ui(ui, height, empty);
        return;
    }
    let font = theme::font(theme::SMALL_SIZE);
    let painter = ui.painter().clone();
    let measure = |text: &str| {
        painter
            .layout_no_wrap(text.to_owned(), font.clone(), theme::TEXT)
            .size()
            .x
    };
    let label_width = values
        .iter()
        .map(|(label, _)| measure(label))
        .fold(0.0, f32::max);
    let count_width = measure(&max.to_string());
    let row_height = theme::SMALL_SIZE * 1.6;
    for (label, n) in values {
        ui.horizontal(|ui| {
            ui.allocate_ui_with_layout(
                vec2(label_width, row_height),
                Layout::right_to_left(Align::Center),
                |ui| ui.label(RichText::new(label).font(font.clone())),
            );
            let room = ui.available_width() - count_width - ui.spacing().item_spacing.x * 2.0;
            let (track, _) = ui.allocate_exact_size(
                vec2(room.clamp(40.0, MAX_TRACK_WIDTH), row_height),
                Sense::hover(),
            );
            ui.painter().rect_filled(track, 2.0, theme::PANEL);
            if *n > 0 {
                // A count of one still shows as a bar, however large the largest.
                let width = (track.width() * (*n as f32 / max as f32)).max(3.0);
                let bar = Rect::from_min_size(track.min, vec2(width, track.height()));
                ui.painter().rect_filled(bar, 2.0, colour);
            }
            ui.label(RichText::new(n.to_string()).font(font.clone()).strong());
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn count_ticks_are_whole_numbers_and_few() {
        assert_eq!(count_step(1), 1);
        assert_eq!(count_step(5), 1);
        assert_eq!(count_step(6), 2);
        assert_eq!(count_step(10), 2);
        assert_eq!(count_step(11), 5);
        assert_eq!(count_step(25), 5);
        assert_eq!(count_step(26), 10);
        assert_eq!(count_step(4_321), 1_000);
        for max in [1, 3, 7, 19, 99, 1_001, 123_456] {
            let step = count_step(max);
            assert!(max.div_ceil(step) <= MAX_TICKS, "{max}: {step}");
        }
        // No overflow at the far end.
        assert!(count_step(u64::MAX) > 0);
    }

    #[test]
    fn dates_are_spaced_so_labels_never_overlap() {
        // A week on a wide chart: every day.
        assert_eq!(label_every(90.0, 70.0), 1);
        // A month: every other day.
        assert_eq!(label_every(40.0, 70.0), 2);
        // A quarter: weekly.
        assert_eq!(label_every(12.0, 70.0), 7);
        assert_eq!(label_every(6.0, 70.0), 14);
        assert_eq!(label_every(0.5, 70.0), 30);
    }
}
