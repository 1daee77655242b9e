//! The status bar, always visible: scanner, upstream, the events waiting to be sent, the last
//! backup and the partner inbox.
//!
//! Offline is a normal state at a pharmacy desk: receipts are recorded locally and sent later,
//! so offline is shown calmly (blue, with the number of events waiting), not as an error. Only
//! parked events, which upstream refused and a person must look at, are shown in amber. Expired
//! stock on the shelf and the units expiring within 30 days are counted here too, so nobody has
//! to open the inventory to notice them. The store is the only copy of receipts not yet synced:
//! a backup older than two days, or a failed one with its reason, is shown in amber too. The
//! partner inbox shows its last import, and a refused document (or an inbox that cannot be
//! read) in amber until a document imports again.

use egui::{RichText, Ui};

use super::desk::{ExpiryWatch, OutboxStatus};
use super::inbox_watch::InboxEvent;
use super::theme;

/// Where the upstream EPCIS repository stands, as the sync worker last reported.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum UpstreamState {
    /// No sync worker has reported yet.
    #[default]
    Unknown,
    /// The last exchange with upstream worked.
    Online,
    /// Upstream could not be reached; events wait in the outbox.
    Offline { error: String },
}

/// The serial scanner, when one is configured.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum SerialScanner {
    #[default]
    NotConfigured,
    Connected {
        port: String,
        profile: String,
    },
    Disconnected {
        reason: String,
    },
}

/// The camera, when it is switched on in settings.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum CameraState {
    /// Switched off (or built without camera support).
    #[default]
    Off,
    /// Streaming from `device`.
    Reading { device: String },
    /// Cannot be used now; the camera worker keeps retrying.
    Unavailable { reason: String },
}

/// Daily backups, as the backup thread last reported ([`super::backup_feed`]).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BackupState {
    /// A backup directory is configured.
    pub configured: bool,
    /// When the last good backup was made, as shown (local time).
    pub last_ok: Option<String>,
    /// The last good backup is more than two days old, or there is none.
    pub stale: bool,
    /// Why the last attempt failed, when it did.
    pub error: Option<String>,
}

/// The backup's line in the status bar, and its chip colour when it needs looking at (`None`:
/// a quiet label).
pub fn backup_line(state: &BackupState) -> (String, Option<egui::Color32>) {
    let last = state.last_ok.as_deref().unwrap_or("never");
    if let Some(error) = &state.error {
        return (
            format!("Backup failed: {error} (last backup: {last})"),
            Some(theme::WARN),
        );
    }
    match (state.stale, &state.last_ok, state.configured) {
        (false, _, _) => (format!("Last backup: {last}"), None),
        (true, Some(_), _) => (
            format!("Last backup: {last}, more than 2 days ago"),
            Some(theme::WARN),
        ),
        (true, None, true) => ("Last backup: never".into(), Some(theme::WARN)),
        (true, None, false) => (
            "Last backup: never (no backup directory: tracedesk config backup_dir DIR)".into(),
            Some(theme::WARN),
        ),
    }
}

/// The partner inbox as the status bar shows it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct InboxStatus {
    /// The last document imported and when (local time, `HH:MM`).
    pub last_import: Option<(String, String)>,
    /// What went wrong since then, as the line to show.
    pub problem: Option<String>,
}

impl InboxStatus {
    /// Takes in what the inbox worker reported.
    pub fn update(&mut self, event: InboxEvent) {
        match event {
            InboxEvent::Imported { name, at, .. } => {
                self.last_import = Some((name, at.format("%H:%M").to_string()));
                self.problem = None;
            }
            InboxEvent::Refused { name, reason } => {
                self.problem = Some(format!("Inbox: REFUSED {name} — {reason}"));
            }
            InboxEvent::Unavailable { error } => self.problem = Some(format!("Inbox: {error}")),
        }
    }
}

/// What the status bar shows.
#[derive(Debug, Clone, Default)]
pub struct StatusBar {
    /// The keyboard-wedge profile in use.
    pub wedge_profile: String,
    pub serial: SerialScanner,
    pub upstream: UpstreamState,
    pub outbox: Option<OutboxStatus>,
    pub camera: CameraState,
    /// Expired and soon-expiring units on hand, once the desk counted them.
    pub expiry: Option<ExpiryWatch>,
    /// The daily backups, once the backup thread reported.
    pub backup: Option<BackupState>,
    pub inbox: InboxStatus,
    /// The desk worker stopped: nothing can be recorded.
    pub desk_down: bool,
    /// The last scanner or desk warning.
    pub warning: Option<String>,
}

/// One line of status, left to right.
pub fn status_ui(ui: &mut Ui, status: &StatusBar) {
    ui.horizontal_wrapped(|ui| {
        let small = |text: String| RichText::new(text).font(theme::font(theme::SMALL_SIZE));
        let chip = |ui: &mut Ui, text: String, colour: egui::Color32| {
            ui.label(
                small(format!(" {text} "))
                    .background_color(colour)
                    .color(theme::ON_VERDICT),
            );
        };
        if status.desk_down {
            chip(
                ui,
                "Store stopped: scans are not recorded".into(),
                theme::FAIL,
            );
        }
        match &status.serial {
            SerialScanner::NotConfigured => chip(
                ui,
                format!("Scanner: keyboard ({})", status.wedge_profile),
                theme::INFO,
            ),
            SerialScanner::Connected { port, profile } => chip(
                ui,
                format!("Scanner connected: {profile} on {port}"),
                theme::PASS,
            ),
            SerialScanner::Disconnected { reason } => {
                chip(ui, format!("Scanner not connected: {reason}"), theme::WARN)
            }
        }
        match &status.camera {
            CameraState::Off => {}
            CameraState::Reading { device } => {
                chip(ui, format!("Camera reading ({device})"), theme::PASS)
            }
            CameraState::Unavailable { reason } => {
                chip(ui, format!("Camera: {reason}"), theme::WARN)
            }
        }
        if let Some(line) = status
            .expiry
            .as_ref()
            .and_then(super::inventory::expiry_line)
        {
            let expired = status.expiry.as_ref().is_some_and(|w| w.expired > 0);
            chip(ui, line, if expired { theme::FAIL } else { theme::WARN });
        }
        let outbox = status.outbox.clone().unwrap_or_default();
        match (&outbox.upstream, &status.upstream) {
            (None, _) => chip(ui, "Upstream not configured".into(), theme::INFO),
            (Some(url), UpstreamState::Online) => chip(ui, format!("Online: {url}"), theme::PASS),
            (Some(_), UpstreamState::Offline { error }) => chip(
                ui,
                format!("Offline ({error}): events are kept and sent later"),
                theme::INFO,
            ),
            (Some(url), UpstreamState::Unknown) => {
                chip(ui, format!("Upstream: {url}"), theme::INFO)
            }
        }
        ui.label(small(format!("{} events waiting", outbox.waiting)));
        if outbox.parked > 0 {
            let error = outbox.parked_error.as_deref().unwrap_or("see the sync log");
            chip(
                ui,
                format!("{} parked: {error}", outbox.parked),
                theme::WARN,
            );
        }
        let last = outbox.last_sync.as_deref().unwrap_or("never");
        ui.label(small(format!("Last sync: {last}")).color(theme::MUTED));
        if let Some(backup) = &status.backup {
            match backup_line(backup) {
                (line, Some(colour)) => chip(ui, line, colour),
                (line, None) => {
                    ui.label(small(line).color(theme::MUTED));
                }
            }
        }
        if let Some((name, at)) = &status.inbox.last_import {
            ui.label(small(format!("Inbox: imported {name} at {at}")).color(theme::MUTED));
        }
        if let Some(problem) = &status.inbox.problem {
            chip(ui, problem.clone(), theme::WARN);
        }
        if let Some(warning) = &status.warning {
            chip(ui, warning.clone(), theme::WARN);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(last_ok: Option<&str>, stale: bool, error: Option<&str>) -> BackupState {
        BackupState {
            configured: true,
            last_ok: last_ok.map(str::to_owned),
            stale,
            error: error.map(str::to_owned),
        }
    }

    #[test]
    fn a_recent_backup_is_a_quiet_label() {
        let (line, colour) = backup_line(&state(Some("2030-01-01 02:00"), false, None));
        assert_eq!(line, "Last backup: 2030-01-01 02:00");
        assert_eq!(colour, None);
    }

    #[test]
    fn a_stale_or_failed_backup_is_a_warning() {
        let (line, colour) = backup_line(&state(Some("2030-01-01 02:00"), true, None));
        assert_eq!(line, "Last backup: 2030-01-01 02:00, more than 2 days ago");
        assert_eq!(colour, Some(theme::WARN));
        // A failure is shown even while the last good backup is recent.
        let (line, colour) =
            backup_line(&state(Some("2030-01-01 02:00"), false, Some("disk full")));
        assert_eq!(
            line,
            "Backup failed: disk full (last backup: 2030-01-01 02:00)"
        );
        assert_eq!(colour, Some(theme::WARN));
    }

    #[test]
    fn an_inbox_refusal_stays_until_a_document_imports_again() {
        let at = chrono::DateTime::parse_from_rfc3339("2026-03-02T10:42:00+01:00").unwrap();
        let mut inbox = InboxStatus::default();
        inbox.update(InboxEvent::Imported {
            name: "a.xml".into(),
            at,
            summary: "1 events".into(),
        });
        assert_eq!(inbox.last_import, Some(("a.xml".into(), "10:42".into())));
        inbox.update(InboxEvent::Refused {
            name: "b.xml".into(),
            reason: "b.xml ends early".into(),
        });
        assert_eq!(
            inbox.problem.as_deref(),
            Some("Inbox: REFUSED b.xml — b.xml ends early")
        );
        inbox.update(InboxEvent::Unavailable {
            error: "cannot read the inbox /x: gone".into(),
        });
        assert_eq!(
            inbox.problem.as_deref(),
            Some("Inbox: cannot read the inbox /x: gone")
        );
        assert_eq!(inbox.last_import, Some(("a.xml".into(), "10:42".into())));
        inbox.update(InboxEvent::Imported {
            name: "c.xml".into(),
            at: at + chrono::TimeDelta::minutes(5),
            summary: "1 events".into(),
        });
        assert_eq!(inbox.problem, None);
        assert_eq!(inbox.last_import, Some(("c.xml".into(), "10:47".into())));
    }

    #[test]
    fn no_backup_ever_says_how_to_configure_one() {
        let unconfigured = BackupState {
            configured: false,
            ..state(None, true, None)
        };
        let (line, colour) = backup_line(&unconfigured);
        assert!(line.contains("tracedesk config backup_dir"), "{line}");
        assert_eq!(colour, Some(theme::WARN));
    }
}
