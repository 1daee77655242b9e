//! Events hashed per second: TraceDesk's own receipts (the hot path when recording and syncing),
//! a sensor-heavy reference event, and an XML document.

use std::hint::black_box;

use chrono::{DateTime, NaiveDate};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use serde_json::json;
use tracedesk::epcis::event::{DeskAction, DeskEvent, Unit, build_event, tracedesk_context};
use tracedesk::epcis::hash::{Context, event_hash_id, xml_document_hash_ids};

fn receipt_input() -> DeskEvent {
    DeskEvent {
        action: DeskAction::ReceiveVerified,
        event_time: DateTime::parse_from_rfc3339("2026-03-02T09:15:30.250+01:00")
            .expect("valid time"),
        units: vec![Unit {
            gtin: "09506000134352".into(),
            serial: "SN0001".into(),
        }],
        read_point: Some("urn:epc:id:sgln:4012345.00011.0".into()),
        biz_location: Some("https://id.gs1.org/414/4012345000115".into()),
        biz_transactions: vec![],
        lot: Some("LOT42".into()),
        expiry: NaiveDate::from_ymd_opt(2027, 1, 31),
        failure_reasons: vec![],
        actor: None,
    }
}

fn sensor_event() -> serde_json::Value {
    json!({
        "type": "ObjectEvent",
        "eventTime": "2019-04-02T15:00:00.000+01:00",
        "eventTimeZoneOffset": "+01:00",
        "epcList": ["urn:epc:id:sgtin:4012345.011111.9876", "urn:epc:id:sgtin:4012345.011111.5432"],
        "action": "OBSERVE",
        "bizStep": "inspecting",
        "readPoint": {"id": "urn:epc:id:sgln:4012345.00005.0"},
        "bizTransactionList": [{"type": "po", "bizTransaction": "urn:epcglobal:cbv:bt:4012345000009:PO1"}],
        "sensorElementList": [{
            "sensorMetadata": {"time": "2019-04-02T14:05:00.000+01:00", "deviceID": "urn:epc:id:giai:4000001.111"},
            "sensorReport": [
                {"type": "Temperature", "value": 26.0, "uom": "CEL"},
                {"type": "AbsoluteHumidity", "value": 12.1, "uom": "A93"}
            ]
        }]
    })
}

fn hashing(c: &mut Criterion) {
    let mut group = c.benchmark_group("epcis_hash");
    group.throughput(Throughput::Elements(1));

    let input = receipt_input();
    let receipt = build_event(&input).expect("valid receipt");
    let ctx = tracedesk_context();
    group.bench_function("tracedesk_receipt_jsonld", |b| {
        b.iter(|| event_hash_id(black_box(&receipt), black_box(&ctx)))
    });

    let sensor = sensor_event();
    let standard = Context::standard();
    group.bench_function("sensor_event_jsonld", |b| {
        b.iter(|| event_hash_id(black_box(&sensor), black_box(&standard)))
    });

    let xml = r#"<epcis:EPCISDocument xmlns:epcis="urn:epcglobal:epcis:xsd:2" schemaVersion="2.0" creationDate="2020-03-03T13:07:51.709Z"><EPCISBody><EventList><ObjectEvent><eventTime>2020-03-04T11:00:30.000+01:00</eventTime><eventTimeZoneOffset>+01:00</eventTimeZoneOffset><epcList><epc>urn:epc:id:sscc:4012345.0000000333</epc></epcList><action>OBSERVE</action><bizStep>urn:epcglobal:cbv:bizstep:departing</bizStep><readPoint><id>urn:epc:id:sgln:4012345.00011.987</id></readPoint></ObjectEvent></EventList></EPCISBody></epcis:EPCISDocument>"#;
    group.bench_function("one_event_xml_document", |b| {
        b.iter(|| xml_document_hash_ids(black_box(xml)))
    });

    group.bench_function("build_and_hash_receipt", |b| {
        b.iter(|| build_event(black_box(&input)))
    });
    group.finish();
}

criterion_group!(benches, hashing);
criterion_main!(benches);
