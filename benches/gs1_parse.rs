//! Parse throughput on typical pharmacy scans, with full validation (every component linted,
//! associations checked). Target: 2 million scans per second per core.

use chrono::NaiveDate;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use tracedesk::gs1::{self, ParseContext};

const SCANS: &[&[u8]] = &[
    b"]d20100307773105025172811001023A45\x1d21SN000123456",
    b"]d201095060001343521726123110LOT-77A\x1d21ABCDEF123456",
    b"]d20103042338001244211000000042831\x1d1727053110X3344A\x1d71512345678",
    b"(01)09506000134352(17)261231(10)23A(21)S1",
    b"https://id.gs1.org/01/09506000134352/10/23A/21/S1?17=261231",
    b"]C100106141411234567897",
];

fn parse(c: &mut Criterion) {
    let ctx = ParseContext::new(NaiveDate::from_ymd_opt(2026, 11, 24).unwrap_or_default());
    let mut group = c.benchmark_group("gs1_parse");
    group.throughput(Throughput::Elements(SCANS.len() as u64));
    group.bench_function("typical_pharma_mix", |b| {
        b.iter(|| {
            for scan in SCANS {
                black_box(gs1::parse(black_box(scan), &ctx));
            }
        })
    });
    group.throughput(Throughput::Elements(1));
    group.bench_function("datamatrix_unit", |b| {
        b.iter(|| black_box(gs1::parse(black_box(SCANS[0]), &ctx)))
    });
    group.finish();
}

criterion_group!(benches, parse);
criterion_main!(benches);
