//! Scale benchmarks of the verification cache: import throughput, verify and receive latency
//! at scale, open time, bytes per unit.
//!
//! The store is generated once at `TRACEDESK_BENCH_UNITS` units (default 1,000,000; the issue's
//! 10 million is run by hand with `tracedesk synth`) in a temporary directory.

use chrono::{NaiveDate, Utc};
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use std::time::Duration;
use tracedesk::gs1::{self, ParseContext};
use tracedesk::store::Store;
use tracedesk::store::inventory::{InventoryFilter, RecallQuery};
use tracedesk::store::synth::{SynthSpec, generate};

/// The real date, as `tracedesk synth` uses, so a reused store's scans match their expiry.
fn today() -> NaiveDate {
    chrono::Local::now().date_naive()
}

fn spec() -> SynthSpec {
    let units = std::env::var("TRACEDESK_BENCH_UNITS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    SynthSpec {
        units,
        products: 5_000.min((units / 100).max(1) as u32),
        lots: 200_000.min((units / 10).max(1) as u32),
        ..SynthSpec::default()
    }
}

fn scan_text(spec: &SynthSpec, i: u64) -> String {
    let u = spec.unit(i, today()).expect("synthetic unit");
    format!(
        "(01){}(17){}(10){}(21){}",
        u.gtin,
        u.expiry.format("%y%m%d"),
        u.lot,
        u.serial
    )
}

fn scale(c: &mut Criterion) {
    let spec = spec();
    let dir = tempfile::tempdir().expect("temp dir");
    // TRACEDESK_BENCH_DB reuses a store made by `tracedesk synth --units N` (same N), so the
    // latencies are measured without the disk still writing back a fresh 10M-unit import.
    let reuse = std::env::var_os("TRACEDESK_BENCH_DB").map(std::path::PathBuf::from);
    let path = reuse.clone().unwrap_or_else(|| dir.path().join("bench.db"));
    let started = std::time::Instant::now();
    if reuse.is_none() {
        let mut store = Store::open(&path).expect("open");
        generate(&mut store, &spec, today(), Utc::now(), |_| {}).expect("generate");
    }
    let import = started.elapsed();
    let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    eprintln!(
        "generated {} units in {:.2} s ({:.0} units/s); {:.1} bytes/unit",
        spec.units,
        import.as_secs_f64(),
        spec.units as f64 / import.as_secs_f64(),
        size as f64 / spec.units as f64
    );

    let open_started = std::time::Instant::now();
    drop(Store::open(&path).expect("open"));
    eprintln!("first open (cold process): {:?}", open_started.elapsed());
    percentiles(&spec, &path);

    c.bench_function("open", |b| {
        b.iter(|| black_box(Store::open(&path).expect("open")));
    });

    let store = Store::open(&path).expect("open");
    let ctx = ParseContext::new(today());
    let mut i = 0u64;
    let mut group = c.benchmark_group("verify");
    group.measurement_time(Duration::from_secs(10));
    group.bench_function("verify_random_unit", |b| {
        b.iter_batched(
            || {
                // Spread lookups over the whole store, as a desk's scans are.
                i = (i + 7_919_993) % spec.units;
                scan_text(&spec, i)
            },
            |text| {
                let scan = gs1::parse(text.as_bytes(), &ctx);
                black_box(store.verify(&scan, None, today()).expect("verify"))
            },
            BatchSize::SmallInput,
        );
    });
    group.finish();
    drop(store);

    let mut store = Store::open(&path).expect("open");
    let mut j = 0u64;
    let mut group = c.benchmark_group("receive");
    group.sample_size(20);
    group.bench_function("receive_durable", |b| {
        b.iter_batched(
            || {
                j = (j + 104_729) % spec.units;
                scan_text(&spec, j)
            },
            |text| {
                let scan = gs1::parse(text.as_bytes(), &ctx);
                let now = Utc::now().fixed_offset();
                black_box(store.receive(&scan, None, today(), now).expect("receive"))
            },
            BatchSize::SmallInput,
        );
    });
    group.finish();
}

/// Criterion reports means and medians; the targets are p99, measured here on individual calls.
fn percentiles(spec: &SynthSpec, path: &std::path::Path) {
    fn report(what: &str, mut samples: Vec<Duration>) {
        samples.sort_unstable();
        let at = |q: f64| samples[((samples.len() as f64 * q) as usize).min(samples.len() - 1)];
        eprintln!(
            "{what}: n={} p50={:?} p99={:?} max={:?}",
            samples.len(),
            at(0.50),
            at(0.99),
            at(1.0)
        );
    }
    let ctx = ParseContext::new(today());
    let mut store = Store::open(path).expect("open");
    let mut samples = Vec::with_capacity(20_000);
    let mut verified = 0;
    for k in 0..20_000u64 {
        let text = scan_text(spec, (k * 7_919_993 + 13) % spec.units);
        let started = std::time::Instant::now();
        let scan = gs1::parse(text.as_bytes(), &ctx);
        let assessment = store.verify(&scan, None, today()).expect("verify");
        samples.push(started.elapsed());
        verified += usize::from(assessment.verdict.is_verified());
    }
    report("verify (parse + lookups)", samples);
    // A few synthetic units are recalled, stolen or dispensed: nearly all must verify.
    eprintln!("verified: {verified} of 20000");
    let mut samples = Vec::with_capacity(2_000);
    for k in 0..2_000u64 {
        let text = scan_text(spec, (k * 104_729 + 7) % spec.units);
        let started = std::time::Instant::now();
        let scan = gs1::parse(text.as_bytes(), &ctx);
        let now = Utc::now().fixed_offset();
        black_box(store.receive(&scan, None, today(), now).expect("receive"));
        samples.push(started.elapsed());
    }
    report("receive (durable commit)", samples);
}

fn import_throughput(c: &mut Criterion) {
    let spec = SynthSpec {
        units: 100_000,
        products: 500,
        lots: 2_000,
        shipment_size: 500,
    };
    let mut group = c.benchmark_group("import");
    group.sample_size(10);
    group.throughput(criterion::Throughput::Elements(spec.units));
    group.bench_function("import_100k_units", |b| {
        b.iter_batched(
            || {
                let dir = tempfile::tempdir().expect("temp dir");
                let store = Store::open(&dir.path().join("i.db")).expect("open");
                (dir, store)
            },
            |(dir, mut store)| {
                generate(&mut store, &spec, today(), Utc::now(), |_| {}).expect("generate");
                (dir, store)
            },
            BatchSize::PerIteration,
        );
    });
    group.finish();
}

/// Inventory, expiry, recall and search at scale: each must answer in under 100 ms, through
/// indexes. Every announced unit is put on the shelf first.
fn shelf_queries(c: &mut Criterion) {
    let spec = spec();
    let dir = tempfile::tempdir().expect("temp dir");
    let reuse = std::env::var_os("TRACEDESK_BENCH_DB").map(std::path::PathBuf::from);
    let path = reuse.clone().unwrap_or_else(|| dir.path().join("shelf.db"));
    let mut store = Store::open(&path).expect("open");
    if reuse.is_none() {
        generate(&mut store, &spec, today(), Utc::now(), |_| {}).expect("generate");
    }
    let stocked = tracedesk::store::synth::stock_everything(&mut store, Utc::now()).expect("stock");
    eprintln!("{stocked} units put on the shelf");
    let probe = spec.unit(spec.units / 2, today()).expect("unit");
    let ndc = probe.gtin.ndc().expect("synthetic GTINs carry an NDC");
    let mut group = c.benchmark_group("shelf");
    group.sample_size(20);
    let by_lot = InventoryFilter {
        lot: Some(probe.lot.clone()),
        ..InventoryFilter::default()
    };
    group.bench_function("inventory_by_lot", |b| {
        b.iter(|| black_box(store.inventory(&by_lot, today()).expect("inventory")));
    });
    let by_gtin = InventoryFilter {
        gtin: Some(probe.gtin.clone()),
        ..InventoryFilter::default()
    };
    group.bench_function("inventory_by_gtin", |b| {
        b.iter(|| black_box(store.inventory(&by_gtin, today()).expect("inventory")));
    });
    let recalled = InventoryFilter {
        recalled: true,
        ..InventoryFilter::default()
    };
    group.bench_function("inventory_recalled", |b| {
        b.iter(|| black_box(store.inventory(&recalled, today()).expect("inventory")));
    });
    let expiring = InventoryFilter {
        expiring_within: Some(30),
        ..InventoryFilter::default()
    };
    group.bench_function("inventory_expiring_30", |b| {
        b.iter(|| black_box(store.inventory(&expiring, today()).expect("inventory")));
    });
    group.bench_function("expiry_summary", |b| {
        b.iter(|| black_box(store.expiry_summary(today()).expect("expiry")));
    });
    let lot_recall = RecallQuery {
        gtin: Some(probe.gtin.clone()),
        lot: Some(probe.lot.clone()),
    };
    group.bench_function("recall_scope_lot", |b| {
        b.iter(|| black_box(store.recall_scope(&lot_recall).expect("recall")));
    });
    group.bench_function("find_serial", |b| {
        b.iter(|| black_box(store.find(&probe.serial, 200).expect("find")));
    });
    let dashed = ndc.spellings().into_iter().next().expect("an NDC spelling");
    group.bench_function("find_ndc", |b| {
        b.iter(|| black_box(store.find(&dashed, 200).expect("find")));
    });
    group.bench_function("find_name", |b| {
        b.iter(|| black_box(store.find("synthetic product 42", 200).expect("find")));
    });
    group.finish();
}

criterion_group!(benches, import_throughput, scale, shelf_queries);
criterion_main!(benches);
