//! `tracedesk sync` as a real process: `--once` exit codes and summary, and a `kill -9` in the
//! middle of a batch followed by a restart, after which every event has arrived exactly once
//! in upstream's (deduplicated) set and re-sends are only of eventIDs the desk queued.

use crate::support;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::epcis_server::{EpcisServer, free_port};
use support::fixtures::{desk_events, ids, store_with_queued};
use tracedesk::store::Store;
use tracedesk::sync::Outbox;

fn tracedesk(db: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tracedesk"));
    command
        .arg("--db")
        .arg(db)
        .env_remove("TRACEDESK_UPSTREAM_TOKEN")
        .env_remove("TRACEDESK_ALLOW_INSECURE_HTTP")
        .env("TRACEDESK_LOG", "off");
    command
}

fn waiting(db: &Path) -> u64 {
    Store::open(db).unwrap().status().unwrap().waiting
}

#[test]
fn kill_9_mid_batch_then_restart_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("desk.db");
    let (store, events) = store_with_queued(&db, &desk_events(3000));
    drop(store);

    let server = EpcisServer::start();
    {
        let mut state = server.state();
        state.check_hashes = true;
        state.capture_limit = Some(100);
        // Slow captures, so the kill lands while a batch is in flight.
        state.capture_delay = Duration::from_millis(40);
    }

    let mut child = tracedesk(&db)
        .args(["sync", "--upstream", &server.url()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while server.state().accepted.len() < 1000 {
        assert!(Instant::now() < deadline, "the sync process sent nothing");
        assert!(child.try_wait().unwrap().is_none(), "the sync process died");
        std::thread::sleep(Duration::from_millis(5));
    }
    // Wait for the next POST to start, so the kill lands mid-batch.
    let posts = server.state().posts;
    while server.state().posts == posts {
        std::thread::sleep(Duration::from_millis(1));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();

    let left = waiting(&db);
    assert!(
        left > 0 && left < 3000,
        "{left} events queued after the kill"
    );
    let arrived_before_restart = server.state().distinct().len() as u64;
    // Nothing confirmed is still queued; what is queued may have arrived unconfirmed.
    assert!(3000 - left <= arrived_before_restart);

    let output = tracedesk(&db)
        .args(["sync", "--once", "--upstream", &server.url()])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains(&format!("sent {left}, parked 0, still queued 0")),
        "{stdout}"
    );
    assert_eq!(waiting(&db), 0);

    let state = server.state();
    assert_eq!(state.distinct(), ids(&events), "lost or foreign events");
    assert!(state.hash_mismatches.is_empty());
    // Re-sends: at most the batch in flight at the kill (and the one confirming beside it).
    let resent = state.accepted.len() - events.len();
    assert!(resent <= 200, "{resent} events re-sent");
}

#[test]
fn once_against_an_unreachable_upstream_fails_with_one_line_and_keeps_the_queue() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("desk.db");
    drop(store_with_queued(&db, &desk_events(12)));
    let url = format!("http://127.0.0.1:{}/", free_port());
    let output = tracedesk(&db)
        .args(["sync", "--once", "--upstream", &url])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    let last = stderr.lines().last().unwrap_or_default();
    assert!(
        last.contains("connection refused") && last.contains("12 events remain queued"),
        "{stderr}"
    );
    assert!(String::from_utf8_lossy(&output.stdout).contains("sent 0, parked 0, still queued 12"));
    assert_eq!(waiting(&db), 12);
}

#[test]
fn once_reports_parked_events_with_the_reason_and_succeeds() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("desk.db");
    let (store, events) = store_with_queued(&db, &desk_events(9));
    drop(store);
    let server = EpcisServer::start();
    server.reject_event(
        &events[4].event_id,
        "bizLocation unknown to this repository",
    );
    let output = tracedesk(&db)
        .args(["sync", "--once", "--upstream", &server.url()])
        .output()
        .unwrap();
    assert!(output.status.success());
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("sent 8, parked 1, still queued 0"),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!(
            "parked {}: bizLocation unknown to this repository",
            events[4].event_id
        )),
        "{stdout}"
    );
}

#[test]
fn plain_http_to_a_remote_host_is_refused_and_the_configured_upstream_is_used() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("desk.db");
    drop(store_with_queued(&db, &desk_events(2)));
    let output = tracedesk(&db)
        .args(["sync", "--once", "--upstream", "http://epcis.example.com/"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("plain http"));

    let output = tracedesk(&db).args(["sync", "--once"]).output().unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("no upstream"));

    let server = EpcisServer::start();
    let set = tracedesk(&db)
        .args(["config", "upstream_url", &server.url()])
        .output()
        .unwrap();
    assert!(set.status.success());
    let output = tracedesk(&db).args(["sync", "--once"]).output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(server.state().distinct().len(), 2);
}

#[test]
fn receipts_from_the_desk_reach_a_flaky_upstream_with_their_hash_ids() {
    use std::io::Write;
    use support::epcis_server::Fault;

    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("desk.db");
    let demo = {
        let mut store = Store::open(&db).unwrap();
        tracedesk::store::create_demo(&mut store, chrono::Local::now().date_naive()).unwrap()
    };
    let mut receive = tracedesk(&db)
        .args(["receive", "--shipment", &demo.shipment, "--json"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    {
        let mut stdin = receive.stdin.take().unwrap();
        for scan in &demo.scans {
            writeln!(stdin, "{}", scan.scan).unwrap();
        }
    }
    assert!(receive.wait_with_output().unwrap().status.success());
    let queued = waiting(&db);
    assert!(
        queued >= demo.scans.len() as u64 - 1,
        "{queued} events queued"
    );

    let server = EpcisServer::start();
    {
        let mut state = server.state();
        state.check_hashes = true;
        state.capture_limit = Some(3);
        state.capture_faults.extend([
            Fault::Reset,
            Fault::Status {
                code: 503,
                retry_after: Some("1".into()),
            },
        ]);
        state.job_faults.push_back(Fault::Reset);
    }
    let output = tracedesk(&db)
        .args(["sync", "--once", "--upstream", &server.url()])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(waiting(&db), 0);
    let state = server.state();
    assert_eq!(state.distinct().len() as u64, queued);
    assert!(
        state.hash_mismatches.is_empty(),
        "{:?}",
        state.hash_mismatches
    );
    assert_eq!(state.faults_hit, 3);
}

#[test]
fn once_refuses_a_capture_job_on_another_host_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("desk.db");
    drop(store_with_queued(&db, &desk_events(4)));
    let server = EpcisServer::start();
    let elsewhere = EpcisServer::start_at("127.0.0.2", 0, Duration::from_secs(60));
    server.state().job_location_base = Some(elsewhere.url());
    let output = tracedesk(&db)
        .env("TRACEDESK_UPSTREAM_TOKEN", "t0ken-xyz")
        .args(["sync", "--once", "--upstream", &server.url()])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    let last = stderr.lines().last().unwrap_or_default();
    assert!(
        last.contains("refused to contact")
            && last.contains(elsewhere.url().trim_end_matches('/'))
            && last.contains(server.url().trim_end_matches('/'))
            && last.contains("4 events remain queued"),
        "{stderr}"
    );
    assert!(!stderr.contains("t0ken-xyz"), "{stderr}");
    assert_eq!(waiting(&db), 4);
    assert_eq!(
        server.state().authorization.as_deref(),
        Some("Bearer t0ken-xyz")
    );
    assert_eq!(elsewhere.state().connections, 0);
}
