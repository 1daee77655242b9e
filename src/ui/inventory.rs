//! The inventory area (behind the PIN): what the pharmacy holds, unit by unit.
//!
//! Five tabs: units on hand with filters; the expiry watch (expired on the shelf, expiring within
//! 30/60/90 days); recall containment (a recalled lot's units on hand with their shipment, the
//! ones that already left, one button that quarantines every unit still here, CSV for the recall
//! notice); search as a pharmacist asks (name, NDC in any form, GTIN, lot, serial); and reports
//! drawn as charts ([`super::chart`]) over 7, 30 or 90 days, with their numbers exportable as
//! CSV. Unit lists name each unit's product beside its GTIN.
//!
//! Like every screen this only draws state and pushes [`DeskRequest`]s: all queries run on the
//! desk worker. What the desk cannot answer is shown as the desk's own message, never filled in.

use chrono::NaiveDate;
use egui::{RichText, Ui};

use super::chart;
use super::desk::{
    DeskRequest, ExpiryWatch, RecallFile, RecalledLot, Reports, StockUnit, UnitList, UnitMovement,
    UnitQuery,
};
use super::theme;
use super::widgets::{big_button, file_safe};
use crate::desk::export::csv_text;
use crate::verify::StockState;

/// The "expiring within" filter's days until the pharmacist picks others.
const DEFAULT_EXPIRING_DAYS: u32 = 30;

/// The tabs of the inventory area.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Tab {
    #[default]
    OnHand,
    Expiry,
    Recalls,
    Search,
    Reports,
}

impl Tab {
    const ALL: [Tab; 5] = [
        Tab::OnHand,
        Tab::Expiry,
        Tab::Recalls,
        Tab::Search,
        Tab::Reports,
    ];

    fn label(self) -> &'static str {
        match self {
            Tab::OnHand => "On hand",
            Tab::Expiry => "Expiry",
            Tab::Recalls => "Recalls",
            Tab::Search => "Search",
            Tab::Reports => "Reports",
        }
    }
}

/// How far back the receipts and failures charts look.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ReportRange {
    Week,
    #[default]
    Month,
    Quarter,
}

impl ReportRange {
    pub const ALL: [ReportRange; 3] = [ReportRange::Week, ReportRange::Month, ReportRange::Quarter];

    /// The days covered, today included.
    pub fn days(self) -> u32 {
        match self {
            ReportRange::Week => 7,
            ReportRange::Month => 30,
            ReportRange::Quarter => 90,
        }
    }

    /// The selector's words.
    pub fn label(self) -> &'static str {
        match self {
            ReportRange::Week => "7 days",
            ReportRange::Month => "30 days",
            ReportRange::Quarter => "90 days",
        }
    }
}

/// The inventory area's state; the `Option`s are `None` until the desk answered.
#[derive(Debug, Default)]
pub struct Inventory {
    pub tab: Tab,
    /// The range the report charts cover.
    pub report_range: ReportRange,
    pub query: UnitQuery,
    /// The "expiring within" filter's days while it is switched off.
    pub expiring_days: u32,
    pub units: Option<UnitList>,
    pub lots: Option<Vec<RecalledLot>>,
    pub recall: Option<RecallFile>,
    pub search: String,
    pub found: Option<(String, UnitList)>,
    pub reports: Option<Reports>,
    /// What the desk last said (a failure, a quarantine done, a file saved).
    pub message: Option<String>,
}

impl Inventory {
    /// The requests that load `tab`'s contents.
    pub fn load(&self, tab: Tab) -> Vec<DeskRequest> {
        match tab {
            Tab::OnHand => vec![DeskRequest::OnHand(self.query.clone())],
            Tab::Expiry => vec![DeskRequest::ExpiryWatch],
            Tab::Recalls => vec![DeskRequest::RecalledLots],
            Tab::Search => Vec::new(),
            Tab::Reports => vec![DeskRequest::Reports {
                days: self.report_range.days(),
            }],
        }
    }
}

/// The inventory area. `expiry` is the watch the status bar shows too.
pub fn inventory_ui(
    ui: &mut Ui,
    state: &mut Inventory,
    expiry: Option<&ExpiryWatch>,
    requests: &mut Vec<DeskRequest>,
) {
    ui.horizontal(|ui| {
        ui.heading("Inventory");
        ui.add_space(theme::GAP);
        for tab in Tab::ALL {
            let text = RichText::new(tab.label()).font(theme::font(theme::BODY_SIZE));
            let button = egui::Button::selectable(state.tab == tab, text).min_size(egui::vec2(
                theme::TOUCH_TARGET.x * 0.8,
                theme::TOUCH_TARGET.y,
            ));
            if ui.add(button).clicked() && state.tab != tab {
                state.tab = tab;
                state.message = None;
                requests.extend(state.load(tab));
            }
        }
    });
    if let Some(message) = &state.message {
        ui.label(
            RichText::new(message)
                .font(theme::font(theme::BODY_SIZE))
                .color(theme::WARN),
        );
    }
    ui.add_space(theme::GAP * 0.5);
    match state.tab {
        Tab::OnHand => on_hand_ui(ui, state, requests),
        Tab::Expiry => expiry_ui(ui, state, expiry, requests),
        Tab::Recalls => recalls_ui(ui, state, requests),
        Tab::Search => search_ui(ui, state, requests),
        Tab::Reports => reports_ui(ui, state, requests),
    }
}

fn on_hand_ui(ui: &mut Ui, state: &mut Inventory, requests: &mut Vec<DeskRequest>) {
    let mut apply = false;
    ui.horizontal_wrapped(|ui| {
        ui.label("GTIN or NDC");
        apply |= ui
            .add(egui::TextEdit::singleline(&mut state.query.product).desired_width(260.0))
            .lost_focus();
        ui.label("Lot");
        apply |= ui
            .add(egui::TextEdit::singleline(&mut state.query.lot).desired_width(160.0))
            .lost_focus();
        let mut expiring = state.query.expiring_within.is_some();
        if state.expiring_days == 0 {
            state.expiring_days = DEFAULT_EXPIRING_DAYS;
        }
        apply |= touch_checkbox(ui, &mut expiring, "Expiring within").changed();
        apply |= ui
            .add(
                egui::DragValue::new(&mut state.expiring_days)
                    .range(0..=3650)
                    .suffix(" days"),
            )
            .changed();
        state.query.expiring_within = expiring.then_some(state.expiring_days);
        apply |= touch_checkbox(ui, &mut state.query.recalled_only, "Recalled only").changed();
        apply |= big_button(ui, "Show").clicked();
    });
    if apply {
        requests.push(DeskRequest::OnHand(state.query.clone()));
    }
    match &state.units {
        None => {
            ui.label("Loading…");
        }
        Some(list) => {
            ui.label(RichText::new(count_line(list, "on hand")).color(theme::MUTED));
            units_table_ui(ui, "on-hand", &list.units);
        }
    }
}

fn count_line(list: &UnitList, what: &str) -> String {
    let shown = list.units.len() as u64;
    match list.total {
        0 => format!("No unit {what} matches."),
        1 => format!("1 unit {what}"),
        n if n > shown => format!("{n} units {what} (first {shown} shown)"),
        n => format!("{n} units {what}"),
    }
}

/// A checkbox a finger hits: a large box, and the whole row at touch height is the target.
pub fn touch_checkbox(ui: &mut Ui, checked: &mut bool, text: &str) -> egui::Response {
    ui.scope(|ui| {
        let spacing = ui.spacing_mut();
        spacing.icon_width = theme::CHECKBOX_SIZE;
        spacing.icon_width_inner = theme::CHECKBOX_SIZE * 0.6;
        spacing.icon_spacing = theme::GAP * 0.6;
        spacing.interact_size.y = theme::TOUCH_TARGET.y;
        ui.checkbox(
            checked,
            RichText::new(text).font(theme::font(theme::BODY_SIZE)),
        )
    })
    .inner
}

/// The product's column: its name is words, not an identifier compared digit by digit.
const PRODUCT_COLUMN: usize = 1;

const COLUMNS: [(&str, f32); 9] = [
    ("GTIN", 190.0),
    ("Product", 300.0),
    ("Serial", 190.0),
    ("Lot", 110.0),
    ("Expires", 130.0),
    ("Status", 130.0),
    ("Where", 120.0),
    ("Shipment / tote", 260.0),
    ("Received", 250.0),
];

fn row_ui(ui: &mut Ui, cells: [&str; 9], header: bool) {
    ui.horizontal(|ui| {
        for (column, (text, (_, width))) in cells.into_iter().zip(COLUMNS).enumerate() {
            let text = if header {
                RichText::new(text)
                    .font(theme::font(theme::SMALL_SIZE))
                    .color(theme::MUTED)
            } else if column == PRODUCT_COLUMN {
                RichText::new(text).font(theme::font(theme::SMALL_SIZE))
            } else {
                RichText::new(text).font(theme::mono(theme::SMALL_SIZE))
            };
            ui.add_sized(
                [width, theme::SMALL_SIZE * 1.4],
                egui::Label::new(text).truncate(),
            );
        }
    });
}

fn unit_cells(unit: &StockUnit) -> ([String; 8], String) {
    let place = match (&unit.shipment, &unit.tote) {
        (Some(shipment), Some(tote)) => format!("{shipment} / {tote}"),
        (Some(one), None) | (None, Some(one)) => one.clone(),
        (None, None) => String::new(),
    };
    (
        [
            unit.gtin.to_string(),
            unit.product.clone().unwrap_or_else(|| "—".into()),
            unit.serial.clone(),
            unit.lot.clone().unwrap_or_default(),
            iso_date(unit.expiry),
            unit.status.clone(),
            where_label(unit.state).to_owned(),
            unit.received_at.clone(),
        ],
        place,
    )
}

/// The stock state in words ("on hand" rather than `on_hand`).
fn where_label(state: StockState) -> &'static str {
    match state {
        StockState::OnHand => "on hand",
        other => other.as_str(),
    }
}

/// A date as the tables and exports write it; empty when unknown.
fn iso_date(date: Option<NaiveDate>) -> String {
    date.map(|d| d.format("%Y-%m-%d").to_string())
        .unwrap_or_default()
}

/// A table of units; only the rows in view are laid out, so thousands scroll smoothly.
fn units_table_ui(ui: &mut Ui, id: &str, units: &[StockUnit]) {
    egui::ScrollArea::horizontal()
        .id_salt((id, "h"))
        .show(ui, |ui| {
            ui.vertical(|ui| {
                row_ui(ui, COLUMNS.map(|(name, _)| name), true);
                let row_height = theme::SMALL_SIZE * 1.4 + ui.spacing().item_spacing.y;
                egui::ScrollArea::vertical()
                    .id_salt(id)
                    .auto_shrink([false, true])
                    .show_rows(ui, row_height, units.len(), |ui, rows| {
                        for unit in units.get(rows).unwrap_or_default() {
                            let (
                                [gtin, product, serial, lot, expiry, status, state, received],
                                place,
                            ) = unit_cells(unit);
                            let cells = [
                                &gtin, &product, &serial, &lot, &expiry, &status, &state, &place,
                                &received,
                            ]
                            .map(String::as_str);
                            row_ui(ui, cells, false);
                        }
                    });
            });
        });
}

fn expiry_ui(
    ui: &mut Ui,
    state: &mut Inventory,
    expiry: Option<&ExpiryWatch>,
    requests: &mut Vec<DeskRequest>,
) {
    let Some(watch) = expiry else {
        ui.label("Loading…");
        return;
    };
    let mut list = None;
    ui.horizontal_wrapped(|ui| {
        let tile = |ui: &mut Ui, count: u64, what: String, list: String, fill: egui::Color32| {
            theme::card(fill)
                .show(ui, |ui| {
                    ui.set_min_width(240.0);
                    ui.visuals_mut().override_text_color = Some(theme::ON_VERDICT);
                    ui.label(
                        RichText::new(count.to_string())
                            .font(theme::font(theme::HEADLINE_SIZE))
                            .strong(),
                    );
                    ui.label(RichText::new(what).font(theme::font(theme::BODY_SIZE)));
                    big_button(ui, &list).clicked()
                })
                .inner
        };
        let expired_fill = if watch.expired > 0 {
            theme::FAIL
        } else {
            theme::PANEL
        };
        let expired = "expired on the shelf".to_owned();
        if tile(
            ui,
            watch.expired,
            expired,
            "List expired".into(),
            expired_fill,
        ) {
            list = Some(0);
        }
        for &(days, count) in &watch.expiring {
            let soonest = watch.expiring.first().map(|(d, _)| *d);
            let fill = if Some(days) == soonest && count > 0 {
                theme::WARN
            } else {
                theme::PANEL
            };
            let what = format!("expiring within {days} days");
            if tile(ui, count, what, format!("List ≤{days} d"), fill) {
                list = Some(days);
            }
        }
    });
    if let Some(days) = list {
        state.query = UnitQuery {
            expiring_within: Some(days),
            ..UnitQuery::default()
        };
        state.expiring_days = days;
        state.tab = Tab::OnHand;
        state.units = None;
        requests.push(DeskRequest::OnHand(state.query.clone()));
    }
}

fn recalls_ui(ui: &mut Ui, state: &mut Inventory, requests: &mut Vec<DeskRequest>) {
    let Some(lots) = &state.lots else {
        ui.label("Loading…");
        return;
    };
    if lots.is_empty() {
        ui.label("No recalled lot on hand.");
    }
    ui.horizontal_wrapped(|ui| {
        for lot in lots {
            let open = state
                .recall
                .as_ref()
                .is_some_and(|r| r.lot.gtin == lot.gtin && r.lot.lot == lot.lot);
            let text = format!(
                "{} lot {} ({} on hand)",
                lot.product.clone().unwrap_or_else(|| lot.gtin.to_string()),
                lot.lot,
                lot.on_hand
            );
            let button = egui::Button::selectable(
                open,
                RichText::new(text).font(theme::font(theme::BODY_SIZE)),
            )
            .min_size(egui::vec2(0.0, theme::TOUCH_TARGET.y));
            if ui.add(button).clicked() {
                requests.push(DeskRequest::Recall {
                    gtin: lot.gtin.clone(),
                    lot: lot.lot.clone(),
                });
            }
        }
    });
    let Some(file) = &state.recall else {
        return;
    };
    ui.separator();
    ui.heading(format!(
        "Recall: {} lot {}",
        file.lot
            .product
            .clone()
            .unwrap_or_else(|| file.lot.gtin.to_string()),
        file.lot.lot
    ));
    ui.horizontal(|ui| {
        // Units already held are skipped by the desk: the button can be pressed again safely.
        let still_here = file.on_hand.len();
        let quarantine = ui.add_enabled(
            still_here > 0,
            egui::Button::new(
                RichText::new(format!("Quarantine all on hand ({still_here})"))
                    .font(theme::font(theme::BODY_SIZE)),
            )
            .fill(theme::FAIL)
            .min_size(theme::TOUCH_TARGET),
        );
        if quarantine.clicked() {
            requests.push(DeskRequest::QuarantineLot {
                gtin: file.lot.gtin.clone(),
                lot: file.lot.lot.clone(),
                reason: format!("recalled lot {}", file.lot.lot),
            });
        }
        if big_button(ui, "Export CSV").clicked() {
            requests.push(DeskRequest::Export {
                path: super::default_export_dir().join(format!(
                    "recall-{}-{}.csv",
                    file_safe(file.lot.gtin.as_str()),
                    file_safe(&file.lot.lot)
                )),
                contents: recall_csv(file),
            });
        }
    });
    ui.label(
        RichText::new(format!("On hand: {}", file.on_hand.len()))
            .font(theme::font(theme::BODY_SIZE)),
    );
    units_table_ui(ui, "recall-on-hand", &file.on_hand);
    let left = [
        ("Dispensed", &file.dispensed),
        ("Returned to supplier", &file.returned),
        ("Destroyed or decommissioned", &file.gone),
    ];
    for (title, movements) in left {
        if movements.is_empty() && title.starts_with("Destroyed") {
            continue;
        }
        ui.label(
            RichText::new(format!("{title}: {}", movements.len()))
                .font(theme::font(theme::BODY_SIZE)),
        );
        for movement in movements {
            ui.label(
                RichText::new(format!(
                    "{}  {}  {}  {}",
                    movement.at, movement.gtin, movement.serial, movement.what
                ))
                .font(theme::mono(theme::SMALL_SIZE)),
            );
        }
    }
}

fn search_ui(ui: &mut Ui, state: &mut Inventory, requests: &mut Vec<DeskRequest>) {
    let mut go = false;
    ui.horizontal(|ui| {
        let field = ui.add(
            egui::TextEdit::singleline(&mut state.search)
                .font(theme::font(theme::BODY_SIZE))
                .desired_width(560.0)
                .hint_text("Name, NDC, GTIN, lot or serial"),
        );
        go |= field.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
        go |= big_button(ui, "Find").clicked();
    });
    if go && !state.search.trim().is_empty() {
        state.message = None;
        requests.push(DeskRequest::Search {
            text: state.search.trim().to_owned(),
        });
    }
    if let Some((text, list)) = &state.found {
        let line = format!("\"{text}\": {}", count_line(list, "received here"));
        ui.label(RichText::new(line).color(theme::MUTED));
        units_table_ui(ui, "found", &list.units);
    }
}

fn reports_ui(ui: &mut Ui, state: &mut Inventory, requests: &mut Vec<DeskRequest>) {
    ui.horizontal(|ui| {
        ui.label(RichText::new("Receipts and refusals over").font(theme::font(theme::BODY_SIZE)));
        for range in ReportRange::ALL {
            let text = RichText::new(range.label()).font(theme::font(theme::BODY_SIZE));
            let button = egui::Button::selectable(state.report_range == range, text).min_size(
                egui::vec2(theme::TOUCH_TARGET.x * 0.7, theme::TOUCH_TARGET.y),
            );
            if ui.add(button).clicked() && state.report_range != range {
                state.report_range = range;
                requests.push(DeskRequest::Reports { days: range.days() });
            }
        }
        if let Some(reports) = &state.reports {
            ui.add_space(theme::GAP);
            if big_button(ui, "Export CSV").clicked() {
                requests.push(DeskRequest::Export {
                    path: super::default_export_dir().join("reports.csv"),
                    contents: reports.csv.clone(),
                });
            }
        }
    });
    let Some(reports) = &state.reports else {
        if state.message.is_none() {
            ui.label("Loading…");
        }
        return;
    };
    egui::ScrollArea::vertical()
        .id_salt("reports")
        .auto_shrink([false, false])
        .show(ui, |ui| report_charts_ui(ui, reports));
}

fn report_charts_ui(ui: &mut Ui, reports: &Reports) {
    let height = ((ui.available_height() - theme::GAP * 6.0) * 0.55).max(220.0);
    let days = reports.days;
    ui.columns(2, |columns| {
        let [left, right] = columns else { return };
        chart_title(left, &format!("Units received per day, last {days} days"));
        chart::day_bars_ui(left, &reports.receipts_per_day, height);
        chart_title(right, &format!("Refusals by reason, last {days} days"));
        let anything_received = reports
            .receipts_per_day
            .iter()
            .any(|(_, ok, bad)| ok + bad > 0);
        let empty = if anything_received {
            format!("No pack was refused in the last {days} days.")
        } else {
            "Refusals show here by reason once packs are scanned.".to_owned()
        };
        chart::labelled_bars_ui(
            right,
            &reports.failures_by_reason,
            theme::FAIL,
            height,
            &empty,
        );
    });
    ui.add_space(theme::GAP);
    chart_title(ui, "Expiry horizon: units on hand by when they expire");
    chart::labelled_bars_ui(
        ui,
        &reports.expiry_horizon,
        theme::WARN,
        height * 0.6,
        "No unit on hand has expired or expires within the watched days \
         (config expiry_thresholds).",
    );
}

fn chart_title(ui: &mut Ui, title: &str) {
    ui.label(
        RichText::new(title)
            .font(theme::font(theme::BODY_SIZE))
            .color(theme::MUTED),
    );
}

fn movement_row(state: &str, movement: &UnitMovement, lot: &str) -> Vec<String> {
    vec![
        state.to_owned(),
        movement.gtin.to_string(),
        movement.serial.clone(),
        lot.to_owned(),
        String::new(),
        String::new(),
        movement.what.clone(),
        movement.at.clone(),
    ]
}

/// A recall's affected units as CSV for the recall notice:
/// `state,gtin,serial,lot,expiry,status,where,when`, one line per unit.
pub fn recall_csv(file: &RecallFile) -> String {
    let header = [
        "state", "gtin", "serial", "lot", "expiry", "status", "where", "when",
    ];
    let mut rows = vec![header.map(str::to_owned).to_vec()];
    for unit in &file.on_hand {
        rows.push(vec![
            "on hand".to_owned(),
            unit.gtin.to_string(),
            unit.serial.clone(),
            unit.lot.clone().unwrap_or_default(),
            iso_date(unit.expiry),
            unit.status.clone(),
            unit_cells(unit).1,
            unit.received_at.clone(),
        ]);
    }
    for movement in &file.dispensed {
        rows.push(movement_row("dispensed", movement, &file.lot.lot));
    }
    for movement in &file.returned {
        rows.push(movement_row("returned", movement, &file.lot.lot));
    }
    for movement in &file.gone {
        rows.push(movement_row(&movement.what, movement, &file.lot.lot));
    }
    csv_text(rows)
}

/// The status bar's expiry line ("3 expired · 12 expiring ≤30 d"), `None` when nothing is due.
pub fn expiry_line(watch: &ExpiryWatch) -> Option<String> {
    let (soonest, soon) = watch.expiring.first().copied().unwrap_or_default();
    (watch.expired > 0 || soon > 0)
        .then(|| format!("{} expired · {soon} expiring ≤{soonest} d", watch.expired))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    #[test]
    fn the_expiry_line_counts_expired_and_the_first_horizon() {
        let watch = ExpiryWatch {
            expired: 3,
            expiring: vec![(30, 12), (60, 20), (90, 31)],
        };
        assert_eq!(
            expiry_line(&watch).as_deref(),
            Some("3 expired · 12 expiring ≤30 d")
        );
        let calm = ExpiryWatch {
            expired: 0,
            expiring: vec![(30, 0), (60, 4), (90, 9)],
        };
        assert_eq!(expiry_line(&calm), None);
    }

    #[test]
    fn the_recall_csv_lists_every_affected_unit_with_where_it_is() {
        let gtin = crate::gs1::Gtin::parse("00359999101015").unwrap();
        let file = RecallFile {
            lot: RecalledLot {
                gtin: gtin.clone(),
                lot: "LA2401".into(),
                product: Some("Amoxicillin".into()),
                on_hand: 1,
            },
            on_hand: vec![StockUnit {
                gtin: gtin.clone(),
                product: Some("Amoxicillin 500 mg/1".into()),
                serial: "AMX, 1".into(),
                lot: Some("LA2401".into()),
                expiry: NaiveDate::from_ymd_opt(2028, 10, 24),
                status: "quarantined".into(),
                state: StockState::OnHand,
                shipment: Some("ASN-1".into()),
                tote: Some("106141412345678908".into()),
                received_at: "2026-01-02T10:00:00+00:00".into(),
                changed_at: "2026-01-02T10:00:00+00:00".into(),
            }],
            dispensed: vec![UnitMovement {
                gtin: gtin.clone(),
                serial: "AMX2".into(),
                at: "2026-01-03T09:00:00+00:00".into(),
                what: "dispensed".into(),
            }],
            returned: Vec::new(),
            gone: Vec::new(),
        };
        let csv = recall_csv(&file);
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines[0], "state,gtin,serial,lot,expiry,status,where,when");
        assert_eq!(
            lines[1],
            "on hand,00359999101015,\"AMX, 1\",LA2401,2028-10-24,quarantined,ASN-1 / 106141412345678908,2026-01-02T10:00:00+00:00"
        );
        assert!(lines[2].starts_with("dispensed,00359999101015,AMX2,LA2401,"));
        assert_eq!(lines.len(), 3);
    }
}
