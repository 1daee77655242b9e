//! The kiosk's daily backup and its place in the status bar, under egui_kittest on a real store:
//! the backup thread runs as in production, on a clock the test sets.

use crate::ui_support;
use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use tracedesk::store::backup;
use tracedesk::ui::backup_feed::{backup_feed, shown_time};
use ui_support::{Kiosk, kiosk_on};

/// When the last good backup was made in these tests.
fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2030, 1, 1, 12, 0, 0).unwrap()
}

/// Starts the backup thread on the kiosk's store with the clock stopped at `now`.
fn start_backups(k: &Kiosk, now: DateTime<Utc>) {
    let feed = backup_feed(k.db.clone(), Box::new(move || now));
    feed(k.harness.state().event_sender(), k.harness.ctx.clone());
}

#[test]
fn a_backup_more_than_two_days_old_is_a_warning() {
    let mut k = kiosk_on(|store| store.record_backup_ok(t0()).unwrap(), |_| {});
    start_backups(&k, t0() + TimeDelta::days(3));
    k.wait_for(&format!(
        "Last backup: {}, more than 2 days ago",
        shown_time(t0())
    ));
    let state = k.harness.state().status.backup.clone().unwrap();
    assert!(state.stale);
    assert!(!state.configured);
}

#[test]
fn a_failed_backup_shows_why() {
    let mut missing = None;
    let mut k = kiosk_on(
        |store| {
            let dir = store.path().parent().unwrap().join("unmounted");
            store
                .set_setting("backup_dir", dir.to_str().unwrap())
                .unwrap();
            store.record_backup_ok(t0()).unwrap();
            missing = Some(dir);
        },
        |_| {},
    );
    start_backups(&k, t0() + TimeDelta::days(1));
    k.wait_for("Backup failed");
    let missing = missing.unwrap();
    assert!(k.shows(missing.to_str().unwrap()));
    assert!(k.shows(&format!("last backup: {}", shown_time(t0()))));
    let state = k.harness.state().status.backup.clone().unwrap();
    // A day old is not stale yet: the warning is for the failure.
    assert!(!state.stale);
    assert!(state.error.is_some());
}

#[test]
fn a_due_backup_is_made_in_the_background_and_shown_quietly() {
    let mut backups = None;
    let mut k = kiosk_on(
        |store| {
            let dir = store.path().parent().unwrap().join("backups");
            std::fs::create_dir(&dir).unwrap();
            store
                .set_setting("backup_dir", dir.to_str().unwrap())
                .unwrap();
            backups = Some(dir);
        },
        |_| {},
    );
    let now = t0() + TimeDelta::days(10);
    start_backups(&k, now);
    k.wait_for(&format!("Last backup: {}", shown_time(now)));
    assert!(!k.shows("more than 2 days ago"));
    assert!(!k.shows("Backup failed"));
    let made = backups.unwrap().join(backup::backup_file_name(now));
    assert!(made.is_file(), "{} was not written", made.display());
    let state = k.harness.state().status.backup.clone().unwrap();
    assert!(state.configured && !state.stale && state.error.is_none());
}
