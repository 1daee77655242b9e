//! 100,000 queued events drained to a capture server on loopback (target: under 20 s).
//!
//! Each sample starts from a fresh store holding the 100,000 events in its outbox (set up
//! outside the timing) and times `drain_all` to the end: reading due batches, `POST /capture`
//! of 500-event documents, following each capture job, and confirming the batch in the store.

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use support::epcis_server::EpcisServer;
use support::fixtures::{desk_events, store_with_queued};
use tracedesk::sync::{CaptureClient, DrainOptions, SyncWorker, Upstream};

const EVENTS: usize = 100_000;

fn drain_100k(c: &mut Criterion) {
    let events = desk_events(EVENTS);
    let mut group = c.benchmark_group("sync");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(60));
    group.bench_function("drain_100k_events_to_loopback", |b| {
        b.iter_custom(|iterations| {
            let mut total = Duration::ZERO;
            for _ in 0..iterations {
                let dir = tempfile::tempdir().unwrap();
                let (mut store, _) = store_with_queued(&dir.path().join("bench.db"), &events);
                let server = EpcisServer::start_on(0, Duration::from_secs(600));
                let client = CaptureClient::new(Upstream::new(&server.url()).unwrap()).unwrap();
                let mut worker = SyncWorker::new(&mut store, client, DrainOptions::default());
                let started = Instant::now();
                let report = worker.drain_all(3, Duration::from_secs(5)).unwrap();
                total += started.elapsed();
                assert_eq!(report.sent, EVENTS as u64);
                assert_eq!(server.state().distinct().len(), EVENTS);
            }
            total
        });
    });
    group.finish();
}

criterion_group!(benches, drain_100k);
criterion_main!(benches);
