//! The pharmacist PIN on the command line: `tracedesk pin` sets and changes it (never without
//! the current one), `config` never shows or takes its hash, and the command line's own actions
//! name the account that ran them. Also the one-line error texts the binary prints.

use crate::cli_support;
use chrono::DateTime;
use cli_support::{json_lines, today, tracedesk};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use tracedesk::store::Store;

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `tracedesk pin --stdin` with `lines` on stdin.
fn set_pin(db: &Path, lines: &str) -> Output {
    tracedesk(db, &["pin", "--stdin"], lines.as_bytes())
}

fn pin_record(db: &Path) -> tracedesk::store::PinRecord {
    Store::open(db).unwrap().pin_record().unwrap()
}

#[test]
fn the_pin_is_set_and_changed_with_the_current_one_never_through_config() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("site.db");
    Store::open(&db).unwrap();

    // Not a terminal and no --stdin: nothing piped in becomes the PIN.
    let out = tracedesk(&db, &["pin"], b"246813\n");
    assert!(!out.status.success());
    assert!(stderr(&out).contains("--stdin"), "{}", stderr(&out));
    assert_eq!(pin_record(&db).hash, None);

    let out = set_pin(&db, "2468\n");
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("a PIN has at least 6 digits"),
        "{}",
        stderr(&out)
    );

    let out = set_pin(&db, "246813\n");
    assert!(out.status.success(), "{}", stderr(&out));
    let first = pin_record(&db).hash.expect("a PIN is set");

    let out = tracedesk(&db, &["config"], b"");
    assert!(out.status.success());
    assert!(stdout(&out).contains("kiosk_pin = set"), "{}", stdout(&out));
    assert!(!stdout(&out).contains("argon2"), "{}", stdout(&out));
    assert!(!stdout(&out).contains("kiosk_pin_hash"), "{}", stdout(&out));
    assert_eq!(
        stdout(&tracedesk(&db, &["config", "kiosk_pin"], b"")),
        "set\n"
    );

    let out = tracedesk(&db, &["config", "kiosk_pin_hash"], b"");
    assert!(!out.status.success());
    assert!(stdout(&out).is_empty());
    assert!(stderr(&out).contains("never shown"), "{}", stderr(&out));

    // A hash of a PIN someone else chose, written over the one in force.
    let out = tracedesk(&db, &["config", "kiosk_pin_hash", &first], b"");
    assert!(!out.status.success());
    assert!(stderr(&out).contains("tracedesk pin"), "{}", stderr(&out));

    // A PIN is set: one line (a new PIN alone) is not enough.
    let out = set_pin(&db, "135790\n");
    assert!(!out.status.success());
    assert!(stderr(&out).contains("two lines"), "{}", stderr(&out));
    assert_eq!(pin_record(&db).failures, 0, "nothing was checked");

    let out = set_pin(&db, "000000\n135790\n");
    assert!(!out.status.success());
    assert!(stderr(&out).contains("wrong PIN"), "{}", stderr(&out));
    let record = pin_record(&db);
    assert_eq!(record.failures, 1, "a wrong current PIN counts");
    assert_eq!(record.hash.as_deref(), Some(first.as_str()));

    let out = set_pin(&db, "246813\r\n135790\r\n");
    assert!(out.status.success(), "{}", stderr(&out));
    let record = pin_record(&db);
    assert_eq!(record.failures, 0);
    assert_eq!(record.locked_until, None);
    assert_ne!(record.hash.as_deref(), Some(first.as_str()));
    let mut store = Store::open(&db).unwrap();
    let now = DateTime::from_timestamp(1_790_000_000, 0).unwrap();
    tracedesk::ui::pin::check(&mut store, "135790", now).unwrap();
}

#[test]
fn command_line_actions_name_the_account_that_ran_them() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("demo.db");
    let mut store = Store::open(&db).unwrap();
    let demo = tracedesk::store::create_demo(&mut store, today()).unwrap();
    drop(store);
    let genuine = demo.scans[0].scan.as_str();
    let as_alice = |args: &[&str]| -> Output {
        Command::new(env!("CARGO_BIN_EXE_tracedesk"))
            .arg("--db")
            .arg(&db)
            .args(args)
            .env("USER", "alice")
            .env_remove("LOGNAME")
            .stdin(Stdio::null())
            .output()
            .unwrap()
    };
    let received = json_lines(&as_alice(&["receive", "--json", genuine]));
    assert_eq!(received[0]["status"], "verified");
    let dispensed = json_lines(&as_alice(&["dispense", "--json", genuine]));
    assert_eq!(dispensed[0]["recorded"], true);

    let events = json_lines(&tracedesk(&db, &["events", "--json"], b""));
    let dispense = events
        .iter()
        .find(|e| e["eventID"] == dispensed[0]["event_id"])
        .unwrap();
    assert_eq!(dispense["bizStep"], "dispensing");
    assert_eq!(dispense["tracedesk:actor"], "cli:alice");
    // A receipt is the clerk's scan, not a pharmacist's decision: it names nobody.
    let receipt = events
        .iter()
        .find(|e| e["eventID"] == received[0]["event_id"])
        .unwrap();
    assert!(receipt.get("tracedesk:actor").is_none(), "{receipt}");
}

#[test]
fn an_empty_file_is_not_taken_for_a_new_store() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("truncated.db");
    std::fs::write(&db, b"").unwrap();
    let out = tracedesk(&db, &["config"], b"");
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("is an empty file, not a TraceDesk store"),
        "{}",
        stderr(&out)
    );
    assert_eq!(std::fs::metadata(&db).unwrap().len(), 0, "left as it was");
    assert!(matches!(
        Store::open(&db),
        Err(tracedesk::store::StoreError::EmptyFile { .. })
    ));

    // A path that does not exist yet still becomes a new store.
    let fresh = dir.path().join("new.db");
    Store::open(&fresh).unwrap();
    assert!(std::fs::metadata(&fresh).unwrap().len() > 0);
    Store::open(&fresh).unwrap();
}

#[test]
fn an_error_says_its_cause_once_on_one_line() {
    let dir = tempfile::tempdir().unwrap();
    // A directory where the store file should be: SQLite cannot open it.
    let out = tracedesk(dir.path(), &["config"], b"");
    assert!(!out.status.success());
    let text = stderr(&out);
    assert_eq!(text.lines().count(), 1, "{text}");
    assert!(
        text.starts_with("tracedesk: cannot open the store"),
        "{text}"
    );
    assert_eq!(
        text.matches("unable to open database file").count(),
        1,
        "{text}"
    );
}

#[test]
fn logs_to_a_pipe_carry_no_colour_codes() {
    let dir = tempfile::tempdir().unwrap();
    // A new store logs its schema migrations at info level.
    let out = Command::new(env!("CARGO_BIN_EXE_tracedesk"))
        .arg("--db")
        .arg(dir.path().join("new.db"))
        .arg("config")
        .env("TRACEDESK_LOG", "info")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success());
    let logs = stderr(&out);
    assert!(logs.contains("migrating store schema"), "{logs}");
    assert!(!logs.contains('\u{1b}'), "{logs:?}");
}
