//! The sync worker against a real EPCIS 2.0 capture server on loopback that fails on demand:
//! refused, reset, hung, 503 with Retry-After, 429, 400 for one bad event, a hung capture job.
//! Whatever happens, every event must arrive, none twice except as a re-send of a batch whose
//! confirmation was lost, and only the bad event may be parked.

use crate::support;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use chrono::{TimeDelta, Utc};
use support::epcis_server::{EpcisServer, Fault, free_port};
use support::fixtures::{desk_events, ids, store_with_queued};
use tracedesk::store::Store;
use tracedesk::sync::{
    Backoff, CaptureClient, CaptureError, Credentials, DrainOptions, Outbox, QueuedEvent, Secret,
    SyncWorker, Timeouts, Upstream, UpstreamState,
};

fn client(url: &str) -> CaptureClient {
    let timeouts = Timeouts {
        connect: Duration::from_millis(500),
        request: Duration::from_millis(700),
        capture_job: Duration::from_secs(5),
    };
    CaptureClient::new(Upstream::new(url).unwrap().with_timeouts(timeouts)).unwrap()
}

fn quick() -> DrainOptions {
    DrainOptions {
        backoff: Backoff {
            base: Duration::from_millis(20),
            cap: Duration::from_millis(200),
        },
        ..DrainOptions::default()
    }
}

struct Desk {
    _dir: tempfile::TempDir,
    store: Store,
    events: Vec<QueuedEvent>,
}

fn desk(n: usize) -> Desk {
    let dir = tempfile::tempdir().unwrap();
    let (store, events) = store_with_queued(&dir.path().join("desk.db"), &desk_events(n));
    Desk {
        _dir: dir,
        store,
        events,
    }
}

/// Every event arrived, each exactly once, each eventID the hash of the event as received.
fn assert_delivered_exactly_once(server: &EpcisServer, desk: &Desk) {
    let state = server.state();
    assert_eq!(
        state.distinct(),
        ids(&desk.events),
        "lost or foreign events"
    );
    assert_eq!(
        state.accepted.len(),
        desk.events.len(),
        "an event was captured twice"
    );
    assert!(
        state.hash_mismatches.is_empty(),
        "{:?}",
        state.hash_mismatches
    );
}

fn start() -> EpcisServer {
    let server = EpcisServer::start();
    server.state().check_hashes = true;
    server
}

#[test]
fn a_healthy_upstream_gets_everything_once_within_its_capture_limit() {
    let server = start();
    {
        let mut state = server.state();
        state.capture_limit = Some(7);
        state.job_running_polls = 2;
    }
    let mut desk = desk(50);
    let mut worker = SyncWorker::new(&mut desk.store, client(&server.url()), quick());
    let report = worker.drain_once(Utc::now()).unwrap();
    assert_eq!(report.sent, 50);
    assert!(report.parked.is_empty() && report.pause.is_none());
    assert_eq!(worker.upstream_state(), UpstreamState::Online);
    drop(worker);
    assert_eq!(server.state().posts, 8, "50 events at 7 per document");
    assert_delivered_exactly_once(&server, &desk);
    let status = desk.store.status().unwrap();
    assert_eq!((status.waiting, status.parked), (0, 0));
    assert!(status.last_success.is_some());
}

#[test]
fn refused_connections_keep_everything_queued_until_upstream_is_back() {
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}/");
    let mut desk = desk(30);
    let mut worker = SyncWorker::new(&mut desk.store, client(&url), quick());
    let report = worker.drain_once(Utc::now()).unwrap();
    let pause = report.pause.expect("nothing listens: the pass must pause");
    assert_eq!(
        pause.error,
        CaptureError::Unreachable {
            reason: "connection refused".into()
        }
    );
    assert_eq!(report.sent, 0);
    assert_eq!(worker.upstream_state(), UpstreamState::Offline);
    assert_eq!(worker.outbox_mut().status().unwrap().waiting, 30);
    // Deferred: nothing is due before the backoff ends.
    assert!(
        worker
            .outbox_mut()
            .due_batch(Utc::now(), 10)
            .unwrap()
            .is_empty()
    );

    let server = EpcisServer::start_on(port, Duration::from_secs(60));
    server.state().check_hashes = true;
    let report = worker.drain_all(3, Duration::from_secs(2)).unwrap();
    assert_eq!(report.sent, 30);
    assert!(report.pause.is_none());
    drop(worker);
    assert_delivered_exactly_once(&server, &desk);
}

#[test]
fn a_reset_connection_is_retried_and_nothing_doubles() {
    let server = start();
    server.inject_capture(Fault::Reset);
    let mut desk = desk(20);
    let mut worker = SyncWorker::new(&mut desk.store, client(&server.url()), quick());
    let pause = worker.drain_once(Utc::now()).unwrap().pause.expect("reset");
    assert!(
        matches!(&pause.error, CaptureError::Unreachable { reason } if reason.contains("connection")),
        "{pause:?}"
    );
    let report = worker.drain_all(3, Duration::from_secs(2)).unwrap();
    assert_eq!(report.sent, 20);
    drop(worker);
    assert_eq!(server.state().faults_hit, 1);
    assert_delivered_exactly_once(&server, &desk);
}

#[test]
fn a_hung_upstream_times_out_and_is_retried() {
    let server = start();
    server.inject_capture(Fault::Hang);
    let mut desk = desk(20);
    let mut worker = SyncWorker::new(&mut desk.store, client(&server.url()), quick());
    let started = std::time::Instant::now();
    let pause = worker.drain_once(Utc::now()).unwrap().pause.expect("hang");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "the timeout did not fire"
    );
    assert_eq!(
        pause.error,
        CaptureError::Unreachable {
            reason: "no answer in time (timed out)".into()
        }
    );
    assert_eq!(
        worker.drain_all(3, Duration::from_secs(2)).unwrap().sent,
        20
    );
    drop(worker);
    assert_delivered_exactly_once(&server, &desk);
}

#[test]
fn retry_after_from_a_503_is_honoured() {
    let server = start();
    server.inject_capture(Fault::Status {
        code: 503,
        retry_after: Some("3".into()),
    });
    let mut desk = desk(10);
    let mut worker = SyncWorker::new(&mut desk.store, client(&server.url()), quick());
    let before = Utc::now();
    let report = worker.drain_once(Utc::now()).unwrap();
    let pause = report.pause.expect("503");
    assert!(matches!(
        pause.error,
        CaptureError::Busy {
            status: 503,
            retry_after: Some(d),
            ..
        } if d == Duration::from_secs(3)
    ));
    // Retry-After wins over the (much shorter) backoff.
    assert!(pause.retry_at >= before + TimeDelta::seconds(3));
    assert!(pause.retry_at <= Utc::now() + TimeDelta::seconds(3));
    let outbox = worker.outbox_mut();
    assert!(outbox.due_batch(Utc::now(), 100).unwrap().is_empty());
    assert_eq!(outbox.due_batch(pause.retry_at, 100).unwrap().len(), 10);

    // The kiosk loop would sleep until then; drain_once at that time sends everything.
    let report = worker.drain_once(pause.retry_at).unwrap();
    assert_eq!(report.sent, 10);
    drop(worker);
    assert_delivered_exactly_once(&server, &desk);
}

#[test]
fn too_many_requests_is_transient() {
    let server = start();
    server.inject_capture(Fault::Status {
        code: 429,
        retry_after: None,
    });
    server.inject_capture(Fault::Status {
        code: 500,
        retry_after: None,
    });
    let mut desk = desk(10);
    let mut worker = SyncWorker::new(&mut desk.store, client(&server.url()), quick());
    let report = worker.drain_all(3, Duration::from_secs(2)).unwrap();
    assert_eq!(report.sent, 10);
    assert!(report.parked.is_empty());
    drop(worker);
    assert_eq!(server.state().faults_hit, 2);
    assert_delivered_exactly_once(&server, &desk);
}

#[test]
fn a_rejected_event_is_parked_with_the_servers_words_and_the_rest_goes_on() {
    let server = start();
    let mut desk = desk(40);
    let bad = desk.events[23].event_id.clone();
    server.reject_event(&bad, "event 23: unknown readPoint");
    let mut worker = SyncWorker::new(&mut desk.store, client(&server.url()), quick());
    let report = worker.drain_all(3, Duration::from_secs(2)).unwrap();
    assert_eq!(report.sent, 39);
    assert!(report.pause.is_none());
    assert_eq!(report.parked.len(), 1);
    assert_eq!(report.parked[0].event_id, bad);
    assert_eq!(report.parked[0].error, "event 23: unknown readPoint");
    drop(worker);

    let state = server.state();
    let mut expected = ids(&desk.events);
    expected.remove(&bad);
    assert_eq!(state.distinct(), expected);
    assert_eq!(state.accepted.len(), 39, "an event was captured twice");
    // Bisection, not one request per event.
    assert!(state.posts < 20, "{} requests", state.posts);
    drop(state);

    let status = desk.store.status().unwrap();
    assert_eq!((status.waiting, status.parked), (0, 1));
    assert_eq!(desk.store.parked(10).unwrap(), report.parked);
}

#[test]
fn a_lost_confirmation_means_a_resend_of_the_same_event_ids_only() {
    let server = start();
    server.state().capture_limit = Some(10);
    // The first batch is captured upstream, but the connection drops while we ask about its
    // capture job: the worker cannot know it arrived.
    server.inject_job(Fault::Reset);
    let mut desk = desk(30);
    let mut worker = SyncWorker::new(&mut desk.store, client(&server.url()), quick());
    let report = worker.drain_all(3, Duration::from_secs(2)).unwrap();
    assert_eq!(report.sent, 30);
    drop(worker);
    let state = server.state();
    assert_eq!(state.distinct(), ids(&desk.events));
    // Those 10 were sent again, nothing else.
    assert_eq!(state.accepted.len(), 40);
    assert!(state.hash_mismatches.is_empty());
}

#[test]
fn chaos_still_delivers_everything() {
    let server = start();
    {
        let mut state = server.state();
        state.capture_limit = Some(25);
        state.job_running_polls = 1;
        let faults = [
            Fault::Reset,
            Fault::Status {
                code: 503,
                retry_after: Some("0".into()),
            },
            Fault::Hang,
            Fault::Status {
                code: 429,
                retry_after: None,
            },
            Fault::Reset,
        ];
        state.capture_faults.extend(faults);
        state.job_faults.push_back(Fault::Reset);
    }
    let mut desk = desk(300);
    let bad = [
        desk.events[7].event_id.clone(),
        desk.events[250].event_id.clone(),
    ];
    for id in &bad {
        server.reject_event(id, "rejected on purpose");
    }
    let mut worker = SyncWorker::new(&mut desk.store, client(&server.url()), quick());
    let mut sent = 0;
    let mut parked = Vec::new();
    // Each `drain_all` gives up after 3 failures in a row; the kiosk would keep going.
    for _ in 0..5 {
        let report = worker.drain_all(3, Duration::from_secs(2)).unwrap();
        sent += report.sent;
        parked.extend(report.parked.into_iter().map(|p| p.event_id));
        if report.pause.is_none() {
            break;
        }
    }
    assert_eq!(sent, 298);
    parked.sort();
    let mut expected_parked = bad.to_vec();
    expected_parked.sort();
    assert_eq!(parked, expected_parked);
    drop(worker);
    let state = server.state();
    let mut expected = ids(&desk.events);
    for id in &bad {
        expected.remove(id);
    }
    assert_eq!(state.distinct(), expected);
    // Only the batch whose job answer was lost can have been captured twice.
    assert!(state.accepted.len() - expected.len() <= 25);
    assert!(state.hash_mismatches.is_empty());
    assert_eq!(state.faults_hit, 6);
}

#[test]
fn the_bearer_token_is_sent_and_never_shown() {
    let server = start();
    let upstream = Upstream::new(&server.url())
        .unwrap()
        .with_credentials(Credentials::Bearer(Secret::new("t0ken-xyz")));
    let client = CaptureClient::new(upstream).unwrap();
    assert!(!format!("{client:?}").contains("t0ken-xyz"));
    let mut desk = desk(3);
    let mut worker = SyncWorker::new(&mut desk.store, client, quick());
    assert_eq!(worker.drain_once(Utc::now()).unwrap().sent, 3);
    assert_eq!(
        server.state().authorization.as_deref(),
        Some("Bearer t0ken-xyz")
    );
}

#[test]
fn a_refusing_upstream_parks_nothing() {
    let server = start();
    server.inject_capture(Fault::Status {
        code: 401,
        retry_after: None,
    });
    let mut desk = desk(5);
    let mut worker = SyncWorker::new(&mut desk.store, client(&server.url()), quick());
    let report = worker.drain_all(3, Duration::from_secs(2)).unwrap();
    assert!(matches!(
        report.pause.map(|p| p.error),
        Some(CaptureError::Refused { status: 401, .. })
    ));
    assert!(report.parked.is_empty());
    assert_eq!(worker.upstream_state(), UpstreamState::Refused);
    assert_eq!(worker.outbox_mut().status().unwrap().waiting, 5);
}

#[test]
fn https_clients_build_and_a_failed_handshake_is_transient() {
    // The ring provider is installed by the client itself; building must not panic.
    let server = start();
    let url = format!("https://127.0.0.1:{}/", server.port());
    let mut desk = desk(2);
    let mut worker = SyncWorker::new(&mut desk.store, client(&url), quick());
    let pause = worker
        .drain_once(Utc::now())
        .unwrap()
        .pause
        .expect("a plain-http server cannot speak TLS");
    assert!(pause.error.is_transient(), "{pause:?}");
    assert_eq!(worker.outbox_mut().status().unwrap().waiting, 2);
    assert!(server.state().accepted.is_empty());
}

/// A bearer-token client for `server`, and a second server standing for another origin.
fn token_client(server: &EpcisServer) -> CaptureClient {
    let timeouts = Timeouts {
        connect: Duration::from_millis(500),
        request: Duration::from_secs(5),
        capture_job: Duration::from_secs(5),
    };
    let upstream = Upstream::new(&server.url())
        .unwrap()
        .with_timeouts(timeouts)
        .with_credentials(Credentials::Bearer(Secret::new("t0ken-xyz")));
    CaptureClient::new(upstream).unwrap()
}

/// A capture job elsewhere: the pass pauses as refused (not retried as if upstream were down),
/// names both origins, keeps the events queued, and the other server sees no connection at all.
fn assert_job_elsewhere_is_refused(elsewhere: &EpcisServer) {
    let server = start();
    server.state().job_location_base = Some(elsewhere.url());
    let mut desk = desk(4);
    let mut worker = SyncWorker::new(&mut desk.store, token_client(&server), quick());
    let report = worker.drain_all(3, Duration::from_secs(2)).unwrap();
    let pause = report.pause.expect("the capture job cannot be confirmed");
    let CaptureError::ForeignOrigin(refusal) = &pause.error else {
        panic!("{pause:?}")
    };
    let upstream_origin = server.url().trim_end_matches('/').to_owned();
    let elsewhere_origin = elsewhere.url().trim_end_matches('/').to_owned();
    assert_eq!(refusal.expected.to_string(), upstream_origin);
    assert_eq!(refusal.found, elsewhere_origin);
    let message = pause.error.to_string();
    assert!(
        message.contains(&upstream_origin) && message.contains(&elsewhere_origin),
        "{message}"
    );
    assert!(!pause.error.is_transient());
    assert_eq!(worker.upstream_state(), UpstreamState::Refused);
    assert_eq!(report.sent, 0);
    assert_eq!(worker.outbox_mut().status().unwrap().waiting, 4);
    drop(worker);

    assert_eq!(server.state().posts, 1, "a refusal must not be retried");
    assert_eq!(
        server.state().authorization.as_deref(),
        Some("Bearer t0ken-xyz")
    );
    let other = elsewhere.state();
    assert_eq!(other.connections, 0, "{:?}", other.requests);
    assert_eq!(other.authorization, None);
}

#[test]
fn a_capture_job_on_another_host_is_never_contacted() {
    let elsewhere = EpcisServer::start_at("127.0.0.2", 0, Duration::from_secs(60));
    assert_job_elsewhere_is_refused(&elsewhere);
}

#[test]
fn a_capture_job_on_another_port_is_never_contacted() {
    assert_job_elsewhere_is_refused(&EpcisServer::start());
}

#[test]
fn the_kiosk_loop_reports_a_capture_job_elsewhere_as_refused() {
    let server = start();
    let elsewhere = EpcisServer::start_at("127.0.0.2", 0, Duration::from_secs(60));
    server.state().job_location_base = Some(elsewhere.url());
    let mut desk = desk(2);
    let mut worker = SyncWorker::new(&mut desk.store, token_client(&server), quick());
    let stop = AtomicBool::new(false);
    let (tx, rx) = mpsc::channel();
    let status = std::thread::scope(|scope| {
        scope.spawn(|| worker.run(&stop, &tx));
        let status = rx.recv_timeout(Duration::from_secs(10));
        stop.store(true, Ordering::Relaxed);
        status
    })
    .expect("the loop reports after its first pass");
    assert_eq!(status.upstream, UpstreamState::Refused);
    assert_eq!(status.outbox.waiting, 2);
    let error = status.last_error.unwrap_or_default();
    assert!(
        error.contains(elsewhere.url().trim_end_matches('/'))
            && error.contains(server.url().trim_end_matches('/')),
        "{error}"
    );
    assert_eq!(elsewhere.state().connections, 0);
}

#[test]
fn a_redirect_is_not_followed_to_another_origin() {
    let server = start();
    let elsewhere = EpcisServer::start_at("127.0.0.2", 0, Duration::from_secs(60));
    server.inject_capture(Fault::Redirect {
        code: 307,
        location: format!("{}capture", elsewhere.url()),
    });
    let mut desk = desk(3);
    let mut worker = SyncWorker::new(&mut desk.store, token_client(&server), quick());
    let pause = worker.drain_once(Utc::now()).unwrap().pause.expect("307");
    assert!(
        matches!(&pause.error, CaptureError::Refused { status: 307, message } if message.contains("127.0.0.2")),
        "{pause:?}"
    );
    assert_eq!(worker.outbox_mut().status().unwrap().waiting, 3);
    assert_eq!(elsewhere.state().connections, 0);
}

/// The server holds back the last byte of its 20 MB error page: a client reading the whole
/// answer would wait for it until its timeout and then have no words from the page at all.
#[test]
fn a_huge_error_page_costs_only_a_short_message() {
    let server = start();
    server.inject_capture(Fault::EndlessBody {
        code: 503,
        bytes: 20 * 1024 * 1024,
    });
    let mut desk = desk(5);
    let mut worker = SyncWorker::new(&mut desk.store, token_client(&server), quick());
    let pause = worker.drain_once(Utc::now()).unwrap().pause.expect("503");
    let CaptureError::Busy {
        status: 503,
        message,
        ..
    } = &pause.error
    else {
        panic!("{pause:?}")
    };
    assert!(message.starts_with("<p>Service unavailable"), "{message}");
    assert!(message.chars().count() <= 501, "{} chars", message.len());
    assert!(pause.error.to_string().len() < 700);
    // The cut-off answer did not spoil the next request.
    let report = worker.drain_all(3, Duration::from_secs(2)).unwrap();
    assert_eq!(report.sent, 5);
    drop(worker);
    assert_delivered_exactly_once(&server, &desk);
}
