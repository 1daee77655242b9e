//! The partner-file readers under hostile input: seeded random mutations of real documents
//! (EPCIS 1.2 XML, 2.0 JSON-LD, product and recall CSV), cut at random places, spliced and
//! filled with random bytes. Every one must come back as a value or a clear error, never a
//! panic, and a refused file must leave the store as it was. (The coverage-guided fuzzers in
//! `tests/fuzz` run the same readers for longer.)

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tracedesk::epcis::read::{CollectingSink, read_document};
use tracedesk::store::Store;

const XML: &str = r#"<?xml version="1.0"?><e:EPCISDocument xmlns:e="urn:epcglobal:epcis:xsd:1" xmlns:m="urn:epcglobal:cbv:mda" xmlns:h="http://www.unece.org/cefact/namespaces/StandardBusinessDocumentHeader" xmlns:us="http://epcis.gs1us.org/hc/ns"><EPCISHeader><h:StandardBusinessDocumentHeader><h:Sender><h:Identifier>urn:epc:id:sgln:0812345.00001.0</h:Identifier></h:Sender></h:StandardBusinessDocumentHeader><extension><EPCISMasterData><VocabularyList><Vocabulary type="urn:epcglobal:epcis:vtype:EPCClass"><VocabularyElementList><VocabularyElement id="urn:epc:idpat:sgtin:0812345.077777.*"><attribute id="urn:epcglobal:cbv:mda#regulatedProductName">Zentorin</attribute><attribute id="urn:epcglobal:cbv:mda#additionalTradeItemIdentification">12345-777-77</attribute><attribute id="urn:epcglobal:cbv:mda#additionalTradeItemIdentificationTypeCode">US_FDA_NDC</attribute></VocabularyElement></VocabularyElementList></Vocabulary></VocabularyList></EPCISMasterData></extension><us:dscsaTransactionStatement><us:affirmTransactionStatement>true</us:affirmTransactionStatement></us:dscsaTransactionStatement></EPCISHeader><EPCISBody><EventList><ObjectEvent><eventTime>2026-01-02T08:00:00Z</eventTime><eventTimeZoneOffset>+00:00</eventTimeZoneOffset><epcList><epc>urn:epc:id:sgtin:0812345.077777.P1</epc></epcList><action>ADD</action><bizStep>urn:epcglobal:cbv:bizstep:commissioning</bizStep><extension><ilmd><m:lotNumber>L1</m:lotNumber><m:itemExpirationDate>2030-01-31</m:itemExpirationDate></ilmd></extension></ObjectEvent><AggregationEvent><eventTime>2026-01-02T09:00:00Z</eventTime><eventTimeZoneOffset>+00:00</eventTimeZoneOffset><parentID>urn:epc:id:sscc:0812345.1000000042</parentID><childEPCs><epc>urn:epc:id:sgtin:0812345.077777.P1</epc></childEPCs><action>ADD</action></AggregationEvent><ObjectEvent><eventTime>2026-01-05T09:30:00Z</eventTime><eventTimeZoneOffset>-05:00</eventTimeZoneOffset><epcList><epc>urn:epc:id:sscc:0812345.1000000042</epc></epcList><action>OBSERVE</action><bizStep>urn:epcglobal:cbv:bizstep:shipping</bizStep><bizTransactionList><bizTransaction type="urn:epcglobal:cbv:btt:po">PO-1</bizTransaction></bizTransactionList><extension><destinationList><destination type="urn:epcglobal:cbv:sdt:owning_party">urn:epc:id:sgln:0987654.00001.0</destination></destinationList></extension><us:dropShipment>false</us:dropShipment></ObjectEvent></EventList></EPCISBody></e:EPCISDocument>"#;

const JSONLD: &str = r#"{"@context":["https://ref.gs1.org/standards/epcis/epcis-context.jsonld",{"cbvmda":"urn:epcglobal:cbv:mda:"}],"type":"EPCISDocument","schemaVersion":"2.0","creationDate":"2026-01-05T10:00:00Z","epcisHeader":{"epcisMasterData":{"vocabularyList":[{"type":"urn:epcglobal:epcis:vtype:EPCClass","vocabularyElementList":[{"id":"urn:epc:idpat:sgtin:0812345.077777.*","attributes":[{"id":"urn:epcglobal:cbv:mda#regulatedProductName","attribute":"Zentorin"}]}]}]}},"epcisBody":{"eventList":[{"type":"ObjectEvent","eventTime":"2026-01-02T08:00:00Z","eventTimeZoneOffset":"+00:00","epcList":["urn:epc:id:sgtin:0812345.077777.P1"],"action":"ADD","bizStep":"commissioning","ilmd":{"cbvmda:lotNumber":"L1","cbvmda:itemExpirationDate":"2030-01-31"}},{"type":"ObjectEvent","eventTime":"2026-01-05T09:30:00Z","eventTimeZoneOffset":"-05:00","epcList":["urn:epc:id:sgtin:0812345.077777.P1"],"action":"OBSERVE","bizStep":"shipping","bizTransactionList":[{"type":"po","bizTransaction":"PO-1"}]}]}}"#;

const PRODUCTS: &str = "gtin,ndc,name,strength,form,manufacturer\n00812345777772,12345-777-77,Zentorin,25 mg,TABLET,Zento Labs\n";
const RECALLS: &str = "gtin,lot,reason\n00812345777772,L1,contamination\n";

/// One random change: flip, insert, delete, duplicate a slice, cut, or splice in bytes that
/// parsers find interesting.
fn mutate(rng: &mut StdRng, input: &[u8]) -> Vec<u8> {
    const TOKENS: &[&[u8]] = &[
        b"<",
        b">",
        b"</",
        b"/>",
        b"&",
        b"&amp;",
        b"&#0;",
        b"&#x1D;",
        b"&bogus;",
        b"\"",
        b"'",
        b"<![CDATA[",
        b"]]>",
        b"<!--",
        b"-->",
        b"<!DOCTYPE x>",
        b"xmlns:e=\"\"",
        b"{",
        b"}",
        b"[",
        b"]",
        b",",
        b":",
        b"\\u0000",
        b"\x00",
        b"\x1d",
        b"\n",
        b"\r",
        b"\xff\xfe",
        b"epc",
        b"extension",
        b"EventList",
        b"1e999",
        b"-0",
        b"\"\"",
    ];
    let mut out = input.to_vec();
    for _ in 0..rng.random_range(1..=4) {
        let at = rng.random_range(0..=out.len());
        match rng.random_range(0..6) {
            0 if !out.is_empty() => {
                let i = at.min(out.len() - 1);
                out[i] ^= 1 << rng.random_range(0..8);
            }
            1 => {
                let token = TOKENS[rng.random_range(0..TOKENS.len())];
                out.splice(at..at, token.iter().copied());
            }
            2 => {
                let end = (at + rng.random_range(0..64)).min(out.len());
                out.drain(at..end);
            }
            3 => {
                let end = (at + rng.random_range(0..256)).min(out.len());
                let copy: Vec<u8> = out[at..end].to_vec();
                out.splice(at..at, copy);
            }
            4 => out.truncate(at),
            _ => {
                let noise: Vec<u8> = (0..rng.random_range(1..32)).map(|_| rng.random()).collect();
                out.splice(at..at, noise);
            }
        }
    }
    out
}

#[test]
fn mutated_epcis_documents_never_panic_the_readers() {
    let mut rng = StdRng::seed_from_u64(0x7ace_de5c);
    let mut refused = 0;
    for seed in [XML.as_bytes(), JSONLD.as_bytes()] {
        // The seeds themselves read cleanly.
        let mut sink = CollectingSink::default();
        read_document(seed, &mut sink).unwrap();
        assert!(!sink.events.is_empty());
        for _ in 0..2500 {
            let input = mutate(&mut rng, seed);
            let mut sink = CollectingSink::default();
            if read_document(input.as_slice(), &mut sink).is_err() {
                refused += 1;
            }
        }
    }
    // Most mutations break the document; the readers said so instead of guessing.
    assert!(
        refused > 2500,
        "{refused} of 5000 mutated documents refused"
    );
}

#[test]
fn refused_partner_files_leave_the_store_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("s.db")).unwrap();
    let now = chrono::DateTime::parse_from_rfc3339("2026-03-01T10:00:00Z")
        .unwrap()
        .with_timezone(&chrono::Utc);
    let mut rng = StdRng::seed_from_u64(42);
    let counts = |store: &Store| {
        (
            store.archived_documents().unwrap().len(),
            store.receipt_count().unwrap(),
        )
    };
    for round in 0..150 {
        let before = counts(&store);
        let (name, seed) = match round % 4 {
            0 => ("doc.xml", XML),
            1 => ("doc.jsonld", JSONLD),
            2 => ("products.csv", PRODUCTS),
            _ => ("recalls.csv", RECALLS),
        };
        let input = mutate(&mut rng, seed.as_bytes());
        let result = match round % 4 {
            0 | 1 => store
                .import_epcis([(name.to_owned(), input.as_slice())], now)
                .map(|r| r.events),
            2 => store
                .import_products(input.as_slice(), name)
                .map(|c| c.total()),
            _ => store
                .import_recalls(input.as_slice(), name)
                .map(|c| c.total()),
        };
        if let Err(e) = result {
            let message = e.to_string();
            assert!(
                !message.is_empty() && !message.contains('\n'),
                "{message:?}"
            );
            assert_eq!(counts(&store), before, "round {round}: {message}");
        }
    }
}
