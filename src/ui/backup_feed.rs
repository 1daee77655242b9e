//! The kiosk's daily backup as a [`Feed`]: a thread of its own, with its own store connection,
//! that makes the backup into `backup_dir` when one is due ([`Store::daily_backup`]) at start
//! and then every hour, and reports the outcome to the status bar.
//!
//! Not on the UI thread, which never waits on SQLite, and not on the desk worker either: a
//! backup of a large store takes seconds, and a receipt queued behind it would keep the clerk
//! waiting. The copy reads one snapshot and blocks no writer, so receipts go on beside it.
//!
//! The settings are read afresh at every check, so `tracedesk config backup_dir DIR` takes
//! effect within the hour without restarting the kiosk.

use std::path::PathBuf;
use std::time::Duration;

use chrono::{DateTime, Local, Utc};

use super::status::BackupState;
use super::{Feed, KioskEvent};
use crate::store::{BackupStatus, DailyBackup, Store};

/// How often the thread checks whether a backup is due.
pub const CHECK_EVERY: Duration = Duration::from_secs(60 * 60);

/// The clock the backup thread reads: the wall clock, or a fixed one in tests.
pub type BackupClock = Box<dyn Fn() -> DateTime<Utc> + Send>;

/// The daily backup of the store at `db` as a kiosk feed.
pub fn backup_feed(db: PathBuf, clock: BackupClock) -> Feed {
    Box::new(move |events, ctx| {
        let spawned = std::thread::Builder::new()
            .name("backup".into())
            .spawn(move || {
                let mut store = match Store::open(&db) {
                    Ok(store) => store,
                    Err(e) => {
                        let state = BackupState {
                            error: Some(e.to_string()),
                            stale: true,
                            ..BackupState::default()
                        };
                        let _ = events.send(KioskEvent::Backup(state));
                        ctx.request_repaint();
                        return;
                    }
                };
                loop {
                    let state = check(&mut store, clock());
                    if events.send(KioskEvent::Backup(state)).is_err() {
                        break;
                    }
                    ctx.request_repaint();
                    std::thread::sleep(CHECK_EVERY);
                }
            });
        if let Err(e) = spawned {
            tracing::warn!("cannot start the backup thread: {e}");
        }
    })
}

/// Make the daily backup if it is due, and say where backups stand at `now`.
fn check(store: &mut Store, now: DateTime<Utc>) -> BackupState {
    match store.daily_backup(now) {
        Ok(DailyBackup::Made { path, removed }) => {
            tracing::info!(
                "daily backup written to {}; {} old ones removed",
                path.display(),
                removed.len()
            );
        }
        Ok(DailyBackup::Failed(_) | DailyBackup::NotDue | DailyBackup::NotConfigured) => {}
        Err(e) => tracing::warn!("cannot check the daily backup: {e}"),
    }
    match store.backup_status() {
        Ok(status) => backup_state(&status, now),
        Err(e) => BackupState {
            error: Some(e.to_string()),
            stale: true,
            ..BackupState::default()
        },
    }
}

/// The status bar's view of `status` at `now`.
pub fn backup_state(status: &BackupStatus, now: DateTime<Utc>) -> BackupState {
    BackupState {
        configured: status.dir.is_some(),
        last_ok: status.last_ok.map(shown_time),
        stale: status.stale(now),
        error: status.last_error.clone(),
    }
}

/// A backup's time as the status bar shows it: local time to the minute.
pub fn shown_time(at: DateTime<Utc>) -> String {
    at.with_timezone(&Local)
        .format("%Y-%m-%d %H:%M")
        .to_string()
}
