//! Down-sync from a real EPCIS 2.0 query interface on loopback: pages followed through
//! `Link: rel="next"`, the cursor saved in the store, the next pull resuming from it, and a
//! failing consumer never advancing the cursor past what it stored.

use crate::support;
use std::time::Duration;

use serde_json::{Value, json};
use support::epcis_server::EpcisServer;
use tracedesk::store::Store;
use tracedesk::sync::pull::{EventQuery, PullCursor, PullError, pull_events};
use tracedesk::sync::{CaptureClient, CaptureError, Credentials, Secret, Upstream};

fn shipping_event(i: usize) -> Value {
    json!({
        "type": "ObjectEvent",
        "eventID": format!("urn:uuid:00000000-0000-4000-8000-{i:012}"),
        "eventTime": "2026-11-20T08:00:00.000Z",
        "recordTime": format!("2026-11-20T08:{:02}:{:02}.000Z", i / 60, i % 60),
        "eventTimeZoneOffset": "+00:00",
        "epcList": [format!("https://id.gs1.org/01/09506000134352/21/PULL{i}")],
        "action": "OBSERVE",
        "bizStep": "shipping",
        "disposition": "in_transit"
    })
}

fn event_id(event: &Value) -> String {
    event["eventID"].as_str().unwrap().to_owned()
}

#[derive(Debug, thiserror::Error)]
#[error("the consumer is full")]
struct Full;

#[test]
fn pages_are_followed_and_the_next_pull_resumes_from_the_cursor() {
    let server = EpcisServer::start();
    server.state().query_events = (0..25).map(shipping_event).collect();
    let client = CaptureClient::new(Upstream::new(&server.url()).unwrap()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("desk.db")).unwrap();
    let query = EventQuery {
        per_page: 10,
        ..EventQuery::default()
    };

    let mut got = Vec::new();
    let report = pull_events(&client, &query, &mut store, |_, events| {
        got.extend(events.iter().map(event_id));
        Ok::<_, Full>(())
    })
    .unwrap();
    assert_eq!((report.pages, report.events), (3, 25));
    let expected: Vec<String> = (0..25).map(|i| event_id(&shipping_event(i))).collect();
    assert_eq!(got, expected);
    assert_eq!(report.cursor.as_deref(), Some("2026-11-20T08:00:24.000Z"));
    assert_eq!(store.load_cursor().unwrap(), report.cursor);
    assert!(
        server.state().queries[0].contains("orderBy=recordTime"),
        "{:?}",
        server.state().queries
    );

    // New events upstream: the next pull asks from the cursor on and gets only those (plus
    // the event at the cursor's instant, which GE_ includes and the consumer already has).
    server
        .state()
        .query_events
        .extend((25..30).map(shipping_event));
    let mut again = Vec::new();
    let report = pull_events(&client, &query, &mut store, |_, events| {
        again.extend(events.iter().map(event_id));
        Ok::<_, Full>(())
    })
    .unwrap();
    let expected: Vec<String> = (24..30).map(|i| event_id(&shipping_event(i))).collect();
    assert_eq!(again, expected);
    assert_eq!(report.cursor.as_deref(), Some("2026-11-20T08:00:29.000Z"));
    assert!(
        server
            .state()
            .queries
            .last()
            .is_some_and(|q| q.contains("GE_recordTime=2026-11-20T08%3A00%3A24.000Z"))
    );
}

#[test]
fn a_failing_consumer_keeps_the_cursor_at_the_last_page_it_stored() {
    let server = EpcisServer::start();
    server.state().query_events = (0..30).map(shipping_event).collect();
    let client = CaptureClient::new(Upstream::new(&server.url()).unwrap()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("desk.db")).unwrap();
    let query = EventQuery {
        per_page: 10,
        ..EventQuery::default()
    };
    let mut pages = 0;
    let result = pull_events(&client, &query, &mut store, |_, _| {
        pages += 1;
        if pages == 2 { Err(Full) } else { Ok(()) }
    });
    assert!(matches!(result, Err(PullError::Consumer(_))));
    assert_eq!(
        store.load_cursor().unwrap().as_deref(),
        Some("2026-11-20T08:00:09.000Z")
    );
}

#[test]
fn pulled_shipments_reach_the_store_through_the_cli() {
    let server = EpcisServer::start();
    server.state().query_events = (0..3).map(shipping_event).collect();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("desk.db");
    drop(Store::open(&db).unwrap());
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_tracedesk"))
        .arg("--db")
        .arg(&db)
        .args(["sync", "--once", "--upstream", &server.url()])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8_lossy(&output.stderr).contains("pulled 3 events"));
    let mut store = Store::open(&db).unwrap();
    assert_eq!(
        store.load_cursor().unwrap().as_deref(),
        Some("2026-11-20T08:00:02.000Z")
    );
}

fn token_client(server: &EpcisServer) -> CaptureClient {
    let upstream = Upstream::new(&server.url())
        .unwrap()
        .with_credentials(Credentials::Bearer(Secret::new("t0ken-xyz")));
    CaptureClient::new(upstream).unwrap()
}

#[test]
fn a_next_link_to_another_origin_is_refused_and_never_followed() {
    let server = EpcisServer::start();
    let elsewhere = EpcisServer::start_at("127.0.0.2", server.port(), Duration::from_secs(60));
    {
        let mut state = server.state();
        state.query_events = (0..25).map(shipping_event).collect();
        state.next_link_base = Some(elsewhere.url());
    }
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("desk.db")).unwrap();
    let query = EventQuery {
        per_page: 10,
        ..EventQuery::default()
    };
    let mut got = 0;
    let result = pull_events(&token_client(&server), &query, &mut store, |_, events| {
        got += events.len();
        Ok::<_, Full>(())
    });
    let Err(PullError::Upstream(CaptureError::ForeignOrigin(refusal))) = &result else {
        panic!("{result:?}")
    };
    // Same port, other host: the host alone makes it another origin.
    assert_eq!(refusal.found, elsewhere.url().trim_end_matches('/'));
    assert_eq!(
        refusal.expected.to_string(),
        server.url().trim_end_matches('/')
    );
    assert_eq!(elsewhere.state().connections, 0);
    assert_eq!(server.state().queries.len(), 1);
    // The page that came from upstream itself was kept.
    assert_eq!(got, 10);
    assert_eq!(
        store.load_cursor().unwrap().as_deref(),
        Some("2026-11-20T08:00:09.000Z")
    );
}

#[test]
fn a_page_larger_than_the_bound_is_refused_and_the_cursor_stays() {
    let server = EpcisServer::start();
    server.state().query_events = (0..20).map(shipping_event).collect();
    let client = CaptureClient::new(Upstream::new(&server.url()).unwrap()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("desk.db")).unwrap();
    let query = EventQuery {
        per_page: 20,
        max_page_bytes: 2_000,
        ..EventQuery::default()
    };
    let result = pull_events(&client, &query, &mut store, |_, _| Ok::<_, Full>(()));
    assert!(
        matches!(result, Err(PullError::PageTooLarge { limit: 2_000 })),
        "{result:?}"
    );
    assert_eq!(store.load_cursor().unwrap(), None);
    // The same page within a sufficient bound is fine.
    let query = EventQuery {
        max_page_bytes: 1_000_000,
        ..query
    };
    let report = pull_events(&client, &query, &mut store, |_, _| Ok::<_, Full>(())).unwrap();
    assert_eq!(report.events, 20);
}
