//! `tracedesk setup` from a pipe, as a setup script runs it: the real binary on a real store.
//! (On a terminal it asks the same questions one by one; the checks are the same functions.)

#[allow(dead_code)] // shared with the other CLI tests; part of it is used here
use crate::cli_support;
use cli_support::tracedesk;
use tracedesk::scanner::probe::TEST_CODE;

const PIN: &str = "246813";
const SGLN: &str = "urn:epc:id:sgln:0614141.00002.0";

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8(out.stdout.clone()).unwrap()
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8(out.stderr.clone()).unwrap()
}

fn config(db: &std::path::Path, key: &str) -> Option<String> {
    let out = tracedesk(db, &["config", key], b"");
    out.status
        .success()
        .then(|| stdout(&out).trim_end().to_owned())
}

#[test]
fn a_piped_setup_sets_the_site_the_pin_and_the_scanner_from_its_test_scan() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("s.db");
    let answers =
        format!("Main Street Pharmacy\n0614141000029\n\n{PIN}\n{PIN}\n]d2{TEST_CODE}\n\n\n");
    let out = tracedesk(&db, &["setup"], answers.as_bytes());
    assert!(out.status.success(), "{}", stderr(&out));
    let printed = stdout(&out);
    assert!(
        printed.contains(&format!("Site GLN: 0614141000029 (SGLN {SGLN})")),
        "{printed}"
    );
    assert!(
        printed.contains("Scanner profile: generic-hid"),
        "{printed}"
    );
    assert!(printed.contains("Pharmacist PIN: set"), "{printed}");
    assert!(printed.ends_with("This desk is set up.\n"), "{printed}");

    assert_eq!(
        config(&db, "site_name").as_deref(),
        Some("Main Street Pharmacy")
    );
    assert_eq!(config(&db, "company_prefix_len").as_deref(), Some("7"));
    assert_eq!(
        config(&db, "scanner_profile").as_deref(),
        Some("generic-hid")
    );
    assert_eq!(config(&db, "upstream_url"), None);
    // The PIN set is the one given: it changes the PIN as the current one.
    let change = tracedesk(
        &db,
        &["pin", "--stdin"],
        format!("{PIN}\n135790\n").as_bytes(),
    );
    assert!(change.status.success(), "{}", stderr(&change));
}

#[test]
fn the_first_wrong_line_is_named_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("s.db");
    let answers = format!("Main Street Pharmacy\n0614141000028\n\n{PIN}\n{PIN}\n");
    let out = tracedesk(&db, &["setup"], answers.as_bytes());
    assert!(!out.status.success());
    let text = stderr(&out);
    assert_eq!(text.lines().count(), 1, "{text}");
    assert!(text.contains("stdin line 2: site GLN: not a GLN"), "{text}");
    assert_eq!(config(&db, "site_name"), None);
    assert_eq!(config(&db, "kiosk_pin"), None, "no PIN set");

    // PINs that differ: the second PIN line.
    let answers = format!("Pharmacy\n0614141000029\n\n{PIN}\n135790\n");
    let out = tracedesk(&db, &["setup"], answers.as_bytes());
    assert!(
        stderr(&out).contains("stdin line 5: PIN: the two new PINs differ"),
        "{}",
        stderr(&out)
    );
    assert_eq!(config(&db, "site_gln"), None);
}

#[test]
fn a_test_scan_through_caps_lock_stops_the_setup() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("s.db");
    let flipped: String = TEST_CODE
        .chars()
        .map(|c| {
            if c.is_ascii_uppercase() {
                c.to_ascii_lowercase()
            } else {
                c.to_ascii_uppercase()
            }
        })
        .collect();
    let answers = format!("Pharmacy\n0614141000029\n\n{PIN}\n{PIN}\n{flipped}\n");
    let out = tracedesk(&db, &["setup"], answers.as_bytes());
    assert!(!out.status.success());
    let text = stderr(&out);
    assert!(text.contains("stdin line 6: scanner:"), "{text}");
    assert!(text.contains("Caps Lock seems to be on"), "{text}");
    assert_eq!(config(&db, "site_gln"), None);
}

#[test]
fn with_a_pin_set_the_pin_lines_are_not_read() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("s.db");
    let set = tracedesk(&db, &["pin", "--stdin"], format!("{PIN}\n").as_bytes());
    assert!(set.status.success(), "{}", stderr(&set));
    let inbox = dir.path().join("inbox");
    std::fs::create_dir(&inbox).unwrap();
    let answers = format!(
        "Main Street Pharmacy\n0614141000029\n9\ngeneric-hid\nhttps://epcis.example.com/\n{}\n\
         https://vrs.example.com/\n",
        inbox.display()
    );
    let out = tracedesk(&db, &["setup"], answers.as_bytes());
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("Pharmacist PIN: unchanged"),
        "{}",
        stdout(&out)
    );
    assert!(
        stdout(&out).contains("SGLN urn:epc:id:sgln:061414100.002.0"),
        "{}",
        stdout(&out)
    );
    assert_eq!(
        config(&db, "upstream_url").as_deref(),
        Some("https://epcis.example.com")
    );
    assert_eq!(
        config(&db, "inbox_dir").as_deref(),
        Some(inbox.to_str().unwrap())
    );
    assert_eq!(
        config(&db, "verification_router").as_deref(),
        Some("https://vrs.example.com")
    );

    // One line too many is refused, naming what is read.
    let out = tracedesk(&db, &["setup"], format!("{answers}extra\n").as_bytes());
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("stdin holds 8 lines; setup reads at most 7"),
        "{}",
        stderr(&out)
    );
}
