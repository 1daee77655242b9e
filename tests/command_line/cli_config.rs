//! `tracedesk config` on the refusal instructions (`next_step.<reason>`): the real binary on a
//! real store file.

#[allow(dead_code)] // shared with the other CLI tests; part of it is used here
use crate::cli_support;
use cli_support::tracedesk;
use tracedesk::store::next_step::default_step;
use tracedesk::verify::Reason;

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8(out.stdout.clone()).unwrap()
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8(out.stderr.clone()).unwrap()
}

#[test]
fn next_steps_are_listed_set_read_and_reset() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("c.db");

    let listing = stdout(&tracedesk(&db, &["config"], b""));
    let expired_default = format!(
        "next_step.expired = {} (default)\n",
        default_step(Reason::Expired)
    );
    assert!(listing.contains(&expired_default), "{listing}");
    // One line per reason.
    assert_eq!(listing.matches("next_step.").count(), Reason::ALL.len());

    let out = tracedesk(&db, &["config", "next_step.expired"], b"");
    assert!(out.status.success());
    assert_eq!(stdout(&out), format!("{}\n", default_step(Reason::Expired)));

    let out = tracedesk(
        &db,
        &["config", "next_step.expired", " Blue bin, shelf 4. "],
        b"",
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "next_step.expired = Blue bin, shelf 4.\n");
    assert_eq!(
        stdout(&tracedesk(&db, &["config", "next_step.expired"], b"")),
        "Blue bin, shelf 4.\n"
    );
    let listing = stdout(&tracedesk(&db, &["config"], b""));
    assert!(
        listing.contains("next_step.expired = Blue bin, shelf 4.\n"),
        "{listing}"
    );

    let out = tracedesk(&db, &["config", "next_step.expired", ""], b"");
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        format!("next_step.expired = {}\n", default_step(Reason::Expired))
    );
    let listing = stdout(&tracedesk(&db, &["config"], b""));
    assert!(listing.contains(&expired_default), "{listing}");
}

#[test]
fn a_wrong_reason_or_text_is_refused_in_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("c.db");
    for args in [
        &["config", "next_step.broken", "text"][..],
        &["config", "next_step.broken"][..],
    ] {
        let out = tracedesk(&db, args, b"");
        assert!(!out.status.success());
        let text = stderr(&out);
        assert_eq!(text.lines().count(), 1, "{text}");
        assert!(
            text.contains("\"broken\" is not a refusal reason"),
            "{text}"
        );
    }
    let out = tracedesk(
        &db,
        &["config", "next_step.recalled", "line one\nline two"],
        b"",
    );
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("one line of plain text"),
        "{}",
        stderr(&out)
    );
    let out = tracedesk(&db, &["config", "nonsense"], b"");
    assert!(
        stderr(&out).contains("next_step.<reason>"),
        "{}",
        stderr(&out)
    );
}
