//! Backups and restores on real files: a restored copy answers as the store it copies, a copy
//! taken while receipts are written is one consistent snapshot, a backup killed half-way harms
//! nothing, a restore refuses anything but a whole TraceDesk store, and daily backups keep the
//! newest few and record their outcome.

use crate::cli_support;
use chrono::{DateTime, NaiveDate, TimeDelta, TimeZone, Utc};
use cli_support::{json_lines, today, tracedesk};
use rusqlite::{Connection, OpenFlags};
use sha2::{Digest, Sha256};
use std::fs::{self, File};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tracedesk::gs1::{self, ParseContext, ParsedScan};
use tracedesk::store::backup::{self, BackupError, DailyBackup};
use tracedesk::store::synth::{SynthSpec, generate};
use tracedesk::store::{Store, StoreError, create_demo, schema};

/// The day the synthetic stores are made on.
fn day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2030, 1, 1).unwrap()
}

/// 2030-01-01 at `hour` UTC.
fn at(hour: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2030, 1, 1, hour, 0, 0).unwrap()
}

fn sha(path: &Path) -> String {
    format!("{:x}", Sha256::digest(fs::read(path).unwrap()))
}

/// The file's `PRAGMA integrity_check`, read-only.
fn integrity(path: &Path) -> String {
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
    conn.query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap()
}

fn count(path: &Path, sql: &str) -> i64 {
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
    conn.query_row(sql, [], |r| r.get(0)).unwrap()
}

/// Every row of every table, sorted, for "same content" comparisons.
fn dump(path: &Path) -> Vec<String> {
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let mut rows = Vec::new();
    for table in tables {
        let mut stmt = conn.prepare(&format!("SELECT * FROM {table}")).unwrap();
        let n = stmt.column_count();
        let mut q = stmt.query([]).unwrap();
        while let Some(r) = q.next().unwrap() {
            let cols: Vec<String> = (0..n)
                .map(|i| format!("{:?}", r.get_ref(i).unwrap()))
                .collect();
            rows.push(format!("{table}: {}", cols.join("|")));
        }
    }
    rows.sort();
    rows
}

/// The names in `dir`, sorted.
fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// A synthetic store of `units` units at `path`, closed.
fn synth_store(path: &Path, units: u64) -> SynthSpec {
    let spec = SynthSpec {
        units,
        products: 50,
        lots: 500,
        shipment_size: 500,
    };
    let mut store = Store::open(path).unwrap();
    generate(&mut store, &spec, day(), at(1), |_| {}).unwrap();
    spec
}

/// The scan of the synthetic unit `index`, as its pack's DataMatrix says.
fn synth_scan(spec: &SynthSpec, index: u64) -> ParsedScan {
    let unit = spec.unit(index, day()).unwrap();
    let text = format!(
        "01{}17{}10{}\x1d21{}",
        unit.gtin.as_str(),
        unit.expiry.format("%y%m%d"),
        unit.lot,
        unit.serial
    );
    gs1::parse(text.as_bytes(), &ParseContext::new(day()))
}

fn receive_synth(store: &mut Store, spec: &SynthSpec, index: u64) {
    let receipt = store
        .receive(&synth_scan(spec, index), None, day(), at(9).fixed_offset())
        .unwrap();
    assert!(receipt.accepted(), "{:?}", receipt.assessment.verdict);
}

#[test]
fn a_restored_backup_answers_and_exports_exactly_as_the_store_it_copies() {
    let dir = tempfile::tempdir().unwrap();
    let live = dir.path().join("live.db");
    let mut store = Store::open(&live).unwrap();
    let demo = create_demo(&mut store, today()).unwrap();
    drop(store);
    let scans: String = demo.scans.iter().map(|s| format!("{}\n", s.scan)).collect();
    let received = json_lines(&tracedesk(
        &live,
        &["receive", "--shipment", &demo.shipment, "--json"],
        scans.as_bytes(),
    ));
    assert!(received.iter().any(|r| r["status"] == "verified"));

    let copy = dir.path().join("copy.db");
    let out = tracedesk(&live, &["backup", copy.to_str().unwrap()], b"");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        copy.to_str().unwrap()
    );
    // One self-contained file: no write-ahead log to carry along.
    assert_eq!(integrity(&copy), "ok");
    let conn = Connection::open_with_flags(&copy, OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "delete");
    drop(conn);

    let restored = dir.path().join("restored.db");
    let out = tracedesk(&restored, &["restore", copy.to_str().unwrap()], b"");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for args in [
        &["verify", "--json"][..],
        &["events", "--json"][..],
        &["inventory", "--json"][..],
    ] {
        let want = tracedesk(&live, args, scans.as_bytes());
        let got = tracedesk(&restored, args, scans.as_bytes());
        assert!(!json_lines(&want).is_empty(), "{args:?} printed nothing");
        assert_eq!(
            String::from_utf8_lossy(&got.stdout),
            String::from_utf8_lossy(&want.stdout),
            "{args:?}"
        );
    }
}

#[test]
fn restoring_over_a_store_keeps_the_old_one_beside_it() {
    let dir = tempfile::tempdir().unwrap();
    let live = dir.path().join("live.db");
    let spec = synth_store(&live, 2_000);
    let mut store = Store::open(&live).unwrap();
    receive_synth(&mut store, &spec, 7);
    let copy = store.backup_to(dir.path(), at(2)).unwrap();
    assert_eq!(copy, dir.path().join("tracedesk-20300101-020000.db"));
    drop(store);

    let site = dir.path().join("site.db");
    synth_store(&site, 500);
    let before = dump(&site);
    let restored = backup::restore(&copy, &site, at(3)).unwrap();
    let kept = dir.path().join("site.db.before-restore-20300101-030000");
    assert_eq!(restored.previous.as_deref(), Some(kept.as_path()));
    assert_eq!(restored.schema_version, schema::VERSION);
    assert_eq!(dump(&kept), before);
    assert_eq!(dump(&site), dump(&live));
    assert!(!dir.path().join("site.db-wal").exists());

    // A second restore in the same second keeps that store under its own name.
    let again = backup::restore(&copy, &site, at(3)).unwrap();
    let kept2 = dir.path().join("site.db.before-restore-20300101-030000-2");
    assert_eq!(again.previous.as_deref(), Some(kept2.as_path()));
    assert_eq!(dump(&kept), before);
    // The restored store opens as a store and is the copy's.
    let store = Store::open(&site).unwrap();
    assert_eq!(store.receipt_count().unwrap(), 1);
}

#[test]
fn restoring_over_a_store_left_by_a_crash_keeps_what_its_log_held() {
    let dir = tempfile::tempdir().unwrap();
    let live = dir.path().join("live.db");
    let spec = synth_store(&live, 500);
    let mut store = Store::open(&live).unwrap();
    let copy = store.backup_to(&dir.path().join("copy.db"), at(2)).unwrap();
    receive_synth(&mut store, &spec, 3);
    // The receipt is in the write-ahead log only (the store checkpoints when idle, not at each
    // commit): both files copied now are what a power cut leaves.
    let crashed = dir.path().join("crashed.db");
    let crashed_wal = dir.path().join("crashed.db-wal");
    fs::copy(&live, &crashed).unwrap();
    fs::copy(dir.path().join("live.db-wal"), &crashed_wal).unwrap();
    assert!(fs::metadata(&crashed_wal).unwrap().len() > 0);
    drop(store);

    let restored = backup::restore(&copy, &crashed, at(3)).unwrap();
    let kept = restored.previous.unwrap();
    assert_eq!(integrity(&kept), "ok");
    assert_eq!(count(&kept, "SELECT count(*) FROM receipts"), 1);
    // No log of the old store is left beside the new one.
    assert!(fs::metadata(&crashed_wal).is_err_and(|e| e.kind() == std::io::ErrorKind::NotFound));
    assert_eq!(Store::open(&crashed).unwrap().receipt_count().unwrap(), 0);
}

#[test]
fn a_backup_taken_while_receipts_are_written_is_one_consistent_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let live = dir.path().join("live.db");
    let spec = synth_store(&live, 60_000);
    let committed = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (live, committed, stop) = (live.clone(), committed.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut store = Store::open(&live).unwrap();
            let mut index = 0;
            while !stop.load(Ordering::SeqCst) {
                receive_synth(&mut store, &spec, index);
                index += 1;
                committed.store(index, Ordering::SeqCst);
            }
        })
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while committed.load(Ordering::SeqCst) < 20 {
        assert!(Instant::now() < deadline, "the writer never got going");
        std::thread::sleep(Duration::from_millis(1));
    }
    let store = Store::open(&live).unwrap();
    let before = committed.load(Ordering::SeqCst) as i64;
    let copy = store.backup_to(&dir.path().join("copy.db"), at(2)).unwrap();
    let after = committed.load(Ordering::SeqCst) as i64;
    stop.store(true, Ordering::SeqCst);
    writer.join().unwrap();

    assert!(
        after > before,
        "no receipt was written while the backup ran"
    );
    assert_eq!(integrity(&copy), "ok");
    assert_eq!(
        count(&copy, "SELECT count(*) FROM pragma_foreign_key_check"),
        0
    );
    // Every receipt committed before the backup started is there, and what is there is a
    // prefix of the receipts (one snapshot), each with its event and outbox row.
    let receipts = count(&copy, "SELECT count(*) FROM receipts");
    assert!(
        (before..=after).contains(&receipts),
        "{receipts} receipts, {before} committed before and {after} after"
    );
    assert_eq!(count(&copy, "SELECT max(id) FROM receipts"), receipts);
    assert_eq!(
        count(
            &copy,
            "SELECT count(*) FROM receipts r
             WHERE NOT EXISTS (SELECT 1 FROM events e WHERE e.event_id = r.event_id)
                OR NOT EXISTS (SELECT 1 FROM outbox o WHERE o.event_id = r.event_id)"
        ),
        0
    );
    assert_eq!(count(&copy, "SELECT count(*) FROM stock"), receipts);
}

#[test]
fn a_backup_killed_midway_leaves_the_previous_backup_and_the_store_intact() {
    let dir = tempfile::tempdir().unwrap();
    let live = dir.path().join("live.db");
    let spec = synth_store(&live, 100_000);
    let dest = dir.path().join("backup.db");
    let out = tracedesk(&live, &["backup", dest.to_str().unwrap()], b"");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let previous = sha(&dest);
    // The store moves on, so a new backup would differ from the previous one.
    let mut store = Store::open(&live).unwrap();
    receive_synth(&mut store, &spec, 1);
    drop(store);

    let partial = dir.path().join(".backup.db.partial");
    let mut child = Command::new(env!("CARGO_BIN_EXE_tracedesk"))
        .arg("--db")
        .arg(&live)
        .arg("backup")
        .arg(&dest)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    // Kill it as soon as the copy has begun writing (or whenever it is, if it ended first).
    while child.try_wait().unwrap().is_none() && !fs::metadata(&partial).is_ok_and(|m| m.len() > 0)
    {
        assert!(Instant::now() < deadline, "the backup never started");
        std::thread::sleep(Duration::from_millis(1));
    }
    let _ = child.kill();
    let status = child.wait().unwrap();

    // DEST is the previous backup byte for byte, or (the backup finished before the kill) a
    // whole new one; never anything in between.
    if sha(&dest) == previous {
        eprintln!("killed mid-way ({status})");
    } else {
        assert_eq!(integrity(&dest), "ok");
        assert_eq!(count(&dest, "SELECT count(*) FROM receipts"), 1);
    }
    // The live store is untouched and whole.
    let store = Store::open(&live).unwrap();
    assert_eq!(store.receipt_count().unwrap(), 1);
    drop(store);
    assert_eq!(integrity(&live), "ok");
    // The next backup takes over what the killed one left.
    let out = tracedesk(&live, &["backup", dest.to_str().unwrap()], b"");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(integrity(&dest), "ok");
    assert_eq!(count(&dest, "SELECT count(*) FROM receipts"), 1);
    assert!(!partial.exists());
    assert_eq!(listing(dir.path()), ["backup.db", "live.db"]);
}

#[test]
fn a_second_copy_to_the_same_destination_is_refused_while_one_runs() {
    let dir = tempfile::tempdir().unwrap();
    let live = dir.path().join("live.db");
    synth_store(&live, 100);
    let store = Store::open(&live).unwrap();
    let dest = dir.path().join("b.db");
    // What a running copy holds: the lock on its partial file.
    let running = File::create(dir.path().join(".b.db.partial")).unwrap();
    running.lock().unwrap();
    let err = store.backup_to(&dest, at(2)).unwrap_err();
    assert!(matches!(err, BackupError::Busy { .. }), "{err}");
    assert!(!dest.exists());
    drop(running);
    store.backup_to(&dest, at(2)).unwrap();
    assert_eq!(integrity(&dest), "ok");
}

#[test]
fn a_backup_never_replaces_the_store_itself() {
    let dir = tempfile::tempdir().unwrap();
    let live = dir.path().join("live.db");
    let spec = synth_store(&live, 100);
    let mut store = Store::open(&live).unwrap();
    receive_synth(&mut store, &spec, 3);
    drop(store);
    let out = tracedesk(&live, &["backup", live.to_str().unwrap()], b"");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("is the store itself"), "{stderr}");
    assert_eq!(Store::open(&live).unwrap().receipt_count().unwrap(), 1);
}

/// 64 KiB that no one would take for a database (xorshift, so the test is repeatable).
fn noise() -> Vec<u8> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..65_536)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

#[test]
fn restore_refuses_anything_but_a_whole_tracedesk_store_and_touches_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let live = dir.path().join("live.db");
    let spec = synth_store(&live, 500);
    let mut store = Store::open(&live).unwrap();
    receive_synth(&mut store, &spec, 3);
    let good = dir.path().join("good.db");
    store.backup_to(&good, at(2)).unwrap();
    drop(store);

    let random = dir.path().join("random.db");
    fs::write(&random, noise()).unwrap();
    let empty = dir.path().join("empty.db");
    fs::write(&empty, b"").unwrap();
    let newer = dir.path().join("newer.db");
    fs::copy(&good, &newer).unwrap();
    Connection::open(&newer)
        .unwrap()
        .pragma_update(None, "user_version", schema::VERSION + 1)
        .unwrap();
    let other = dir.path().join("other.db");
    Connection::open(&other)
        .unwrap()
        .execute_batch("CREATE TABLE notes (text TEXT); INSERT INTO notes VALUES ('hello');")
        .unwrap();
    let truncated = dir.path().join("truncated.db");
    let bytes = fs::read(&good).unwrap();
    fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();

    let live_sha = sha(&live);
    let files = listing(dir.path());
    for (src, words) in [
        (&random, "is not a TraceDesk store: not a SQLite database"),
        (&empty, "is an empty file"),
        (&newer, "was written by a newer TraceDesk"),
        (&other, "is not a TraceDesk store: it has no settings"),
        (&truncated, "is damaged"),
    ] {
        let out = tracedesk(&live, &["restore", src.to_str().unwrap()], b"");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{} was restored", src.display());
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(stderr.contains(src.to_str().unwrap()), "{stderr}");
        assert!(stderr.contains(words), "{}: {stderr}", src.display());
        assert_eq!(sha(&live), live_sha, "{}", src.display());
        assert_eq!(listing(dir.path()), files, "{}", src.display());
    }
}

#[test]
fn restore_refuses_while_another_process_has_the_store_open() {
    let dir = tempfile::tempdir().unwrap();
    let live = dir.path().join("live.db");
    let spec = synth_store(&live, 500);
    let mut store = Store::open(&live).unwrap();
    let copy = store.backup_to(&dir.path().join("copy.db"), at(2)).unwrap();
    receive_synth(&mut store, &spec, 3);
    // Idle, as the kiosk is between scans.
    let out = tracedesk(&live, &["restore", copy.to_str().unwrap()], b"");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("is open in another process"), "{stderr}");
    assert_eq!(store.receipt_count().unwrap(), 1);
    drop(store);
    assert!(
        !listing(dir.path())
            .iter()
            .any(|n| n.contains("before-restore"))
    );

    let out = tracedesk(&live, &["restore", copy.to_str().unwrap()], b"");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(Store::open(&live).unwrap().receipt_count().unwrap(), 0);
    let kept: Vec<String> = listing(dir.path())
        .into_iter()
        .filter(|n| n.starts_with("live.db.before-restore-"))
        .collect();
    assert_eq!(kept.len(), 1);
    // The store it replaced, with the receipt made after the backup.
    assert_eq!(
        count(&dir.path().join(&kept[0]), "SELECT count(*) FROM receipts"),
        1
    );
}

#[test]
fn daily_backups_keep_the_newest_and_record_their_outcome() {
    let dir = tempfile::tempdir().unwrap();
    let live = dir.path().join("live.db");
    synth_store(&live, 200);
    let backups = dir.path().join("backups");
    fs::create_dir(&backups).unwrap();
    fs::write(backups.join("notes.txt"), b"not a backup").unwrap();
    fs::write(backups.join("tracedesk-important.db"), b"not ours either").unwrap();
    // What a copy killed half-way leaves behind.
    fs::write(
        backups.join(".tracedesk-20291231-020000.db.partial"),
        b"half",
    )
    .unwrap();
    let mut store = Store::open(&live).unwrap();
    assert!(matches!(
        store.daily_backup(at(2)).unwrap(),
        DailyBackup::NotConfigured
    ));
    store
        .set_setting("backup_dir", backups.to_str().unwrap())
        .unwrap();
    store.set_setting("backup_keep", "3").unwrap();

    let t0 = at(2);
    for day in 0..5 {
        let now = t0 + TimeDelta::days(day);
        match store.daily_backup(now).unwrap() {
            DailyBackup::Made { path, .. } => {
                assert_eq!(path, backups.join(backup::backup_file_name(now)));
                assert_eq!(integrity(&path), "ok");
            }
            other => panic!("day {day}: {other:?}"),
        }
        assert!(matches!(
            store.daily_backup(now + TimeDelta::hours(1)).unwrap(),
            DailyBackup::NotDue
        ));
    }
    assert_eq!(
        listing(&backups),
        [
            "notes.txt",
            "tracedesk-20300103-020000.db",
            "tracedesk-20300104-020000.db",
            "tracedesk-20300105-020000.db",
            "tracedesk-important.db",
        ]
    );
    let status = store.backup_status().unwrap();
    let last = t0 + TimeDelta::days(4);
    assert_eq!(status.last_ok, Some(last));
    assert_eq!(status.last_error, None);

    // The backup disk is gone: the failure is recorded, the last good backup stands.
    let missing = dir.path().join("unmounted");
    store
        .set_setting("backup_dir", missing.to_str().unwrap())
        .unwrap();
    let failed_at = last + TimeDelta::days(1);
    assert!(matches!(
        store.daily_backup(failed_at).unwrap(),
        DailyBackup::Failed(_)
    ));
    let status = store.backup_status().unwrap();
    assert_eq!(status.last_ok, Some(last));
    let error = status.last_error.clone().unwrap();
    assert!(error.contains("unmounted"), "{error}");
    assert!(status.stale(failed_at + TimeDelta::days(2)));
    // Still due: the next hourly check tries again, and a good backup clears the failure.
    store
        .set_setting("backup_dir", backups.to_str().unwrap())
        .unwrap();
    let retry = failed_at + TimeDelta::hours(1);
    assert!(matches!(
        store.daily_backup(retry).unwrap(),
        DailyBackup::Made { .. }
    ));
    let status = store.backup_status().unwrap();
    assert_eq!(status.last_ok, Some(retry));
    assert_eq!(status.last_error, None);
    assert_eq!(listing(&backups).len(), 5);
}

#[test]
fn backup_settings_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("t.db")).unwrap();
    assert_eq!(store.backup_status().unwrap().keep, 14);
    assert_eq!(store.backup_status().unwrap().dir, None);
    for (key, value) in [
        ("backup_dir", "backups"),
        ("backup_dir", ""),
        ("backup_keep", "0"),
        ("backup_keep", "366"),
        ("backup_keep", "many"),
    ] {
        let err = store.set_setting(key, value).unwrap_err();
        assert!(
            matches!(&err, StoreError::InvalidSetting { key: k, .. } if k == key),
            "{key}={value}: {err}"
        );
    }
    store.set_setting("backup_keep", "365").unwrap();
    assert_eq!(store.backup_status().unwrap().keep, 365);
    let absolute = dir.path().join("backups");
    store
        .set_setting("backup_dir", absolute.to_str().unwrap())
        .unwrap();
    assert_eq!(store.backup_status().unwrap().dir, Some(absolute));
    // Set through `config` like any setting.
    let out = tracedesk(&dir.path().join("t.db"), &["config", "backup_keep"], b"");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "365");
}
