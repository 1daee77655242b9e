//! Trading partners' TI/TS documents through the real binary: EPCIS 1.2 XML with the GS1 US
//! header fills the cache and the master data, the archive keeps the exact bytes, `trace`
//! answers a regulator's request, and a bad or truncated document changes nothing.

use crate::cli_support;
use cli_support::{json_lines, today, tracedesk};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::path::Path;

/// A GTIN-14 (or GLN-13, from a 12-digit body) with its check digit.
fn gtin(body13: &str) -> String {
    let sum: u32 = body13
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| u32::from(b - b'0') * if i % 2 == 0 { 3 } else { 1 })
        .sum();
    format!("{body13}{}", (10 - sum % 10) % 10)
}

/// A wholesaler's direct-purchase document in EPCIS 1.2 XML, written as a sender might: a
/// default namespace on the root, other prefixes than the guideline's, comments, ILMD and the
/// source/destination lists inside `extension`, a drop shipment.
fn wholesaler_document(expiry: &str, lot: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<!-- TI/TS for invoice INV-77 -->
<EPCISDocument xmlns="urn:epcglobal:epcis:xsd:1" xmlns:mda="urn:epcglobal:cbv:mda"
    xmlns:h="http://www.unece.org/cefact/namespaces/StandardBusinessDocumentHeader"
    xmlns:us="http://epcis.gs1us.org/hc/ns" schemaVersion="1.2" creationDate="2026-01-05T10:00:00Z">
  <EPCISHeader>
    <h:StandardBusinessDocumentHeader>
      <h:HeaderVersion>1.0</h:HeaderVersion>
      <h:Sender><h:Identifier Authority="GS1">urn:epc:id:sgln:0812345.00001.0</h:Identifier></h:Sender>
      <h:Receiver><h:Identifier Authority="GS1">urn:epc:id:sgln:0987654.00001.0</h:Identifier></h:Receiver>
      <h:DocumentIdentification>
        <h:Standard>EPCglobal</h:Standard><h:TypeVersion>1.0</h:TypeVersion>
        <h:InstanceIdentifier>WHS-2026-0007</h:InstanceIdentifier><h:Type>Events</h:Type>
        <h:CreationDateAndTime>2026-01-05T10:00:00Z</h:CreationDateAndTime>
      </h:DocumentIdentification>
    </h:StandardBusinessDocumentHeader>
    <extension><EPCISMasterData><VocabularyList>
      <Vocabulary type="urn:epcglobal:epcis:vtype:EPCClass"><VocabularyElementList>
        <VocabularyElement id="urn:epc:idpat:sgtin:0812345.077777.*">
          <attribute id="urn:epcglobal:cbv:mda#regulatedProductName">Zentorin</attribute>
          <attribute id="urn:epcglobal:cbv:mda#additionalTradeItemIdentificationTypeCode">US_FDA_NDC</attribute>
          <attribute id="urn:epcglobal:cbv:mda#additionalTradeItemIdentification">12345-777-77</attribute>
          <attribute id="urn:epcglobal:cbv:mda#manufacturerOfTradeItemPartyName">Zento Labs Inc</attribute>
          <attribute id="urn:epcglobal:cbv:mda#dosageFormType">TABLET</attribute>
          <attribute id="urn:epcglobal:cbv:mda#strengthDescription">25 mg</attribute>
          <attribute id="urn:epcglobal:cbv:mda#netContentDescription">30 tablets</attribute>
        </VocabularyElement>
      </VocabularyElementList></Vocabulary>
      <Vocabulary type="urn:epcglobal:epcis:vtype:Location"><VocabularyElementList>
        <VocabularyElement id="urn:epc:id:sgln:0812345.00001.0">
          <attribute id="urn:epcglobal:cbv:mda#name">Acme Wholesale</attribute>
          <attribute id="urn:epcglobal:cbv:mda#city">Columbus</attribute>
          <attribute id="urn:epcglobal:cbv:mda#state">OH</attribute>
        </VocabularyElement>
        <VocabularyElement id="urn:epc:id:sgln:0987654.00001.0">
          <attribute id="urn:epcglobal:cbv:mda#name">Corner Pharmacy</attribute>
          <attribute id="urn:epcglobal:cbv:mda#streetAddressOne">1 Main St</attribute>
        </VocabularyElement>
      </VocabularyElementList></Vocabulary>
    </VocabularyList></EPCISMasterData></extension>
    <us:dscsaTransactionStatement>
      <us:legalNotice>Seller has complied with each applicable subsection of FDCA Sec. 581(27)(A)-(G).</us:legalNotice>
      <us:affirmTransactionStatement>true</us:affirmTransactionStatement>
    </us:dscsaTransactionStatement>
  </EPCISHeader>
  <EPCISBody><EventList>
    <ObjectEvent>
      <eventTime>2026-01-02T08:00:00Z</eventTime><eventTimeZoneOffset>-05:00</eventTimeZoneOffset>
      <epcList><epc>urn:epc:id:sgtin:0812345.077777.P1</epc><epc>urn:epc:id:sgtin:0812345.077777.P2</epc></epcList>
      <action>ADD</action><bizStep>urn:epcglobal:cbv:bizstep:commissioning</bizStep>
      <disposition>urn:epcglobal:cbv:disp:active</disposition>
      <extension><ilmd><mda:lotNumber>{lot}</mda:lotNumber><mda:itemExpirationDate>{expiry}</mda:itemExpirationDate></ilmd></extension>
    </ObjectEvent>
    <AggregationEvent>
      <eventTime>2026-01-04T08:00:00Z</eventTime><eventTimeZoneOffset>-05:00</eventTimeZoneOffset>
      <parentID>urn:epc:id:sscc:0812345.1000000042</parentID>
      <childEPCs><epc>urn:epc:id:sgtin:0812345.077777.P1</epc><epc>urn:epc:id:sgtin:0812345.077777.P2</epc></childEPCs>
      <action>ADD</action><bizStep>urn:epcglobal:cbv:bizstep:packing</bizStep>
    </AggregationEvent>
    <!-- the sale to the pharmacy, shipped by the manufacturer directly -->
    <ObjectEvent>
      <eventTime>2026-01-05T09:30:00Z</eventTime><eventTimeZoneOffset>-05:00</eventTimeZoneOffset>
      <epcList><epc>urn:epc:id:sscc:0812345.1000000042</epc></epcList>
      <action>OBSERVE</action><bizStep>urn:epcglobal:cbv:bizstep:shipping</bizStep>
      <disposition>urn:epcglobal:cbv:disp:in_transit</disposition>
      <bizTransactionList>
        <bizTransaction type="urn:epcglobal:cbv:btt:po">urn:epcglobal:cbv:bt:0987654000019:PO-5511</bizTransaction>
        <bizTransaction type="urn:epcglobal:cbv:btt:inv">urn:epcglobal:cbv:bt:0812345000016:INV-77</bizTransaction>
      </bizTransactionList>
      <extension>
        <destinationList>
          <destination type="urn:epcglobal:cbv:sdt:location">urn:epc:id:sgln:0987654.00001.0</destination>
          <destination type="urn:epcglobal:cbv:sdt:owning_party">urn:epc:id:sgln:0987654.00001.0</destination>
        </destinationList>
        <sourceList>
          <source type="urn:epcglobal:cbv:sdt:owning_party">urn:epc:id:sgln:0812345.00001.0</source>
        </sourceList>
      </extension>
      <us:dropShipment>true</us:dropShipment>
    </ObjectEvent>
  </EventList></EPCISBody>
</EPCISDocument>
"#
    )
}

/// The product's GTIN with a wrong check digit.
fn bad_gtin() -> String {
    let good = gtin("0081234577777");
    let last = good.as_bytes()[13] - b'0';
    format!("{}{}", &good[..13], (last + 1) % 10)
}

fn run_ok(db: &Path, args: &[&str]) -> String {
    let out = tracedesk(db, args, b"");
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn one_line(db: &Path, args: &[&str]) -> Value {
    let lines = json_lines(&tracedesk(db, args, b""));
    assert_eq!(lines.len(), 1, "{args:?}");
    lines.into_iter().next().unwrap()
}

#[test]
fn a_wholesalers_1_2_document_fills_the_cache_traces_and_is_archived_as_received() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("desk.db");
    let expiry = today() + chrono::Days::new(400);
    let doc = wholesaler_document(&expiry.format("%Y-%m-%d").to_string(), "ZL2601");
    let file = dir.path().join("ti-ts.xml");
    std::fs::write(&file, &doc).unwrap();
    run_ok(&db, &["config", "site_gln", &gtin("098765400001")]);
    let report = run_ok(&db, &["import", "epcis", file.to_str().unwrap()]);
    assert!(report.contains("units: 2 inserted"), "{report}");

    let g = gtin("0081234577777");
    let scan = format!("(01){g}(21)P1(10)ZL2601(17){}", expiry.format("%y%m%d"));
    let verdict = one_line(&db, &["verify", "--json", &scan]);
    assert_eq!(verdict["status"], "verified", "{verdict}");
    assert_eq!(verdict["product"]["name"], "Zentorin");
    assert_eq!(verdict["product"]["ndc"], "12345-777-77");

    let trace = one_line(&db, &["trace", "--json", &scan]);
    assert_eq!(trace["lot"], "ZL2601");
    assert_eq!(trace["expiry"], expiry.format("%Y-%m-%d").to_string());
    assert_eq!(trace["product"]["strength"], "25 mg");
    assert_eq!(trace["product"]["dosage_form"], "TABLET");
    assert_eq!(trace["product"]["container_size"], "30 tablets");
    assert_eq!(trace["product"]["manufacturer"], "Zento Labs Inc");
    let transactions = trace["transactions"].as_array().unwrap();
    assert_eq!(transactions.len(), 1, "{trace}");
    let t = &transactions[0];
    assert_eq!(t["seller"]["name"], "Acme Wholesale");
    assert_eq!(t["seller"]["gln"], gtin("081234500001"));
    assert_eq!(t["seller"]["address"], "Columbus OH");
    assert_eq!(t["buyer"]["name"], "Corner Pharmacy");
    assert_eq!(t["ship_to"]["address"], "1 Main St");
    assert_eq!(t["po"], "urn:epcglobal:cbv:bt:0987654000019:PO-5511");
    assert_eq!(t["invoice"], "urn:epcglobal:cbv:bt:0812345000016:INV-77");
    assert_eq!(t["drop_shipment"], true);
    assert_eq!(t["statement_affirmed"], true);
    assert!(
        t["date"]
            .as_str()
            .unwrap()
            .starts_with("2026-01-05T09:30:00")
    );

    // The archive holds the document byte for byte, under its digest, for six years.
    let archive = one_line(&db, &["archive", "--json"]);
    let digest: String = Sha256::digest(doc.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(archive["sha256"], digest);
    assert_eq!(archive["sender"], "urn:epc:id:sgln:0812345.00001.0");
    assert_eq!(archive["instance_id"], "WHS-2026-0007");
    assert_eq!(archive["events"], 3);
    assert_eq!(t["document"], archive["id"]);
    let received = chrono::DateTime::parse_from_rfc3339(archive["received_at"].as_str().unwrap())
        .unwrap()
        .date_naive();
    let retain =
        chrono::NaiveDate::parse_from_str(archive["retain_until"].as_str().unwrap(), "%Y-%m-%d")
            .unwrap();
    assert!(retain >= received + chrono::Months::new(72), "{archive}");
    let id = archive["id"].to_string();
    let out = tracedesk(&db, &["archive", "--show", &id], b"");
    assert!(out.status.success());
    assert_eq!(out.stdout, doc.as_bytes());
    // Nothing young is ever purged.
    assert!(run_ok(&db, &["archive", "--purge"]).starts_with("0 document"));

    // The same document again: still one archive entry, the same cache.
    run_ok(&db, &["import", "epcis", file.to_str().unwrap()]);
    assert_eq!(
        json_lines(&tracedesk(&db, &["archive", "--json"], b"")).len(),
        1
    );

    // The EPCIS 2.0 answer to a request carries the shipping event, master data and statement.
    let jsonld: Value = serde_json::from_str(&run_ok(&db, &["trace", "--jsonld", &scan])).unwrap();
    let events = jsonld["epcisBody"]["eventList"].as_array().unwrap();
    assert_eq!(events[0]["bizStep"], "shipping");
    assert!(
        events[0]["eventID"]
            .as_str()
            .unwrap()
            .starts_with("ni:///sha-256;")
    );
    assert_eq!(
        jsonld["epcisHeader"]["gs1ushc:dscsaTransactionStatement"]["gs1ushc:affirmTransactionStatement"],
        true
    );

    // The same answer in EPCIS 1.2 XML: our own reader reads it back, and it is valid 1.2.
    let xml = run_ok(&db, &["trace", "--xml", &scan]);
    let mut sink = tracedesk::epcis::read::CollectingSink::default();
    tracedesk::epcis::read::read_document(xml.as_bytes(), &mut sink).unwrap();
    let header = sink.header.unwrap();
    assert!(header.statement.unwrap().affirmed);
    assert!(
        header
            .parties
            .iter()
            .any(|p| p.name.as_deref() == Some("Acme Wholesale"))
    );
    let shipping = &sink.events[0];
    assert_eq!(shipping.biz_step.as_deref(), Some("shipping"));
    assert_eq!(shipping.drop_shipment, Some(true));
    assert_eq!(shipping.lot_number.as_deref(), Some("ZL2601"));
    let file = dir.path().join("trace.xml");
    std::fs::write(&file, &xml).unwrap();
    check_against_the_1_2_schema(&file, dir.path());
}

/// `xmllint --schema` with GS1's EPCIS 1.2 schema when `TRACEDESK_EPCIS12_XSD_DIR` names a copy
/// (`.ci/run` fetches one from PyPI); well-formedness alone, with a notice, otherwise.
fn check_against_the_1_2_schema(file: &Path, scratch: &Path) {
    let lint = |args: &[&str]| {
        std::process::Command::new("xmllint")
            .args(args)
            .arg(file)
            .output()
            .expect("xmllint (libxml2-utils) is needed")
    };
    let out = lint(&["--noout"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let Some(source) = std::env::var_os("TRACEDESK_EPCIS12_XSD_DIR") else {
        eprintln!("notice: TRACEDESK_EPCIS12_XSD_DIR is not set; EPCIS 1.2 schema check skipped");
        return;
    };
    // The schema imports its neighbours as ./X.xsd or ./schemas/X.xsd depending on the copy.
    let schemas = scratch.join("xsd");
    std::fs::create_dir_all(schemas.join("schemas")).unwrap();
    for entry in std::fs::read_dir(&source).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "xsd") {
            let name = path.file_name().unwrap();
            std::fs::copy(&path, schemas.join(name)).unwrap();
            std::fs::copy(&path, schemas.join("schemas").join(name)).unwrap();
        }
    }
    let xsd = schemas.join("EPCglobal-epcis-1_2.xsd");
    let out = lint(&["--noout", "--schema", xsd.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_bad_or_truncated_document_is_refused_whole_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("desk.db");
    let expiry = (today() + chrono::Days::new(400))
        .format("%Y-%m-%d")
        .to_string();
    let doc = wholesaler_document(&expiry, "ZL2601");
    let cases = [
        (
            "truncated",
            doc[..doc.len() * 2 / 3].to_owned(),
            "ends early",
        ),
        // A GS inside the lot: a scan could never carry it.
        (
            "lot with GS",
            wholesaler_document(&expiry, "ZL&#x1D;26"),
            "lotNumber",
        ),
        (
            "long lot",
            wholesaler_document(&expiry, &"L".repeat(21)),
            "lotNumber",
        ),
        (
            "bad check digit",
            doc.replacen(
                "<epc>urn:epc:id:sgtin:0812345.077777.P2</epc></epcList>",
                &format!(
                    "<epc>https://id.gs1.org/01/{}/21/P2</epc></epcList>",
                    bad_gtin()
                ),
                1,
            ),
            "check digit",
        ),
        (
            "not EPCIS",
            "<html><body>hello</body></html>".to_owned(),
            "not an EPCIS document",
        ),
        (
            "impossible date",
            wholesaler_document("2026-02-30", "ZL2601"),
            "itemExpirationDate",
        ),
    ];
    run_ok(&db, &["config", "site_gln", &gtin("098765400001")]);
    for (what, text, message) in cases {
        let file = dir.path().join("bad.xml");
        std::fs::write(&file, &text).unwrap();
        let out = tracedesk(&db, &["import", "epcis", file.to_str().unwrap()], b"");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{what} was accepted");
        assert!(stderr.contains(message), "{what}: {stderr}");
        assert_eq!(stderr.trim().lines().count(), 1, "{what}: {stderr}");
        assert!(
            json_lines(&tracedesk(&db, &["archive", "--json"], b"")).is_empty(),
            "{what}"
        );
        let g = gtin("0081234577777");
        let verdict = one_line(&db, &["verify", "--json", &format!("(01){g}(21)P1")]);
        assert_eq!(
            verdict["reasons"][0], "no_match_gtin_serial",
            "{what}: {verdict}"
        );
        // No scratch copy is left beside the store.
        let leftovers: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| {
                e.file_name().to_string_lossy().contains(".import-")
                    && !e.file_name().to_string_lossy().ends_with("import-lock")
            })
            .collect();
        assert!(leftovers.is_empty(), "{what}: {leftovers:?}");
    }
}

/// A shipping event listing many units imports while a clerk keeps receiving: every receive
/// is answered (none fails on a locked store) and the import completes.
#[test]
fn receiving_goes_on_while_a_big_document_imports() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("desk.db");
    let demo = {
        let mut store = tracedesk::store::Store::open(&db).unwrap();
        tracedesk::store::create_demo(&mut store, today()).unwrap()
    };
    let n = 40_000;
    let mut doc = String::from(
        r#"<e:EPCISDocument xmlns:e="urn:epcglobal:epcis:xsd:1" xmlns:m="urn:epcglobal:cbv:mda"><EPCISBody><EventList><ObjectEvent><eventTime>2026-01-02T08:00:00Z</eventTime><eventTimeZoneOffset>+00:00</eventTimeZoneOffset><epcList>"#,
    );
    for i in 0..n {
        doc.push_str(&format!(
            "<epc>urn:epc:id:sgtin:0812345.077777.B{i:06}</epc>"
        ));
    }
    doc.push_str("</epcList><action>ADD</action><bizStep>urn:epcglobal:cbv:bizstep:commissioning</bizStep><extension><ilmd><m:lotNumber>B1</m:lotNumber></ilmd></extension></ObjectEvent></EventList></EPCISBody></e:EPCISDocument>");
    let file = dir.path().join("big.xml");
    std::fs::write(&file, doc).unwrap();
    let importer = {
        let db = db.clone();
        std::thread::spawn(move || {
            tracedesk(&db, &["import", "epcis", file.to_str().unwrap()], b"")
        })
    };
    let scans: Vec<String> = demo.scans.iter().map(|s| s.scan.clone()).collect();
    let mut answered = 0;
    while !importer.is_finished() || answered < scans.len() {
        let scan = &scans[answered % scans.len()];
        let out = tracedesk(&db, &["receive", "--json", scan], b"");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success(),
            "receive failed during the import: {stderr}"
        );
        assert!(!stderr.contains("locked"), "{stderr}");
        answered += 1;
        if answered > 400 {
            break;
        }
    }
    let import = importer.join().unwrap();
    assert!(
        import.status.success(),
        "{}",
        String::from_utf8_lossy(&import.stderr)
    );
    let g = gtin("0081234577777");
    let last = one_line(
        &db,
        &["verify", "--json", &format!("(01){g}(21)B{:06}", n - 1)],
    );
    assert_ne!(last["reasons"][0], "no_match_gtin_serial", "{last}");
}
