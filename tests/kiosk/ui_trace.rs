//! What trading partners sent, at the kiosk: the pharmacist's view of a pack's transactions
//! (DSCSA TI/TS) and its CSV export, and the partner inbox imported in the background with its
//! outcome on the status bar. Driven through egui_kittest on a real demo store (`ui_support`).

use crate::ui_support;
use std::fs;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, SystemTime};

use chrono::DateTime;
use tracedesk::gs1::{Gtin, Sgtin};
use tracedesk::store::Store;
use tracedesk::ui::inbox_watch::InboxWatch;
use ui_support::{Kiosk, PIN, kiosk_configured, kiosk_on, store, with_pin};

/// The partner's product: GTIN 00812345777772 (`urn:epc:id:sgtin:0812345.077777.*`).
const GTIN: &str = "00812345777772";
/// The pharmacy (buyer, ship-to) in the partner's document.
const SITE_GLN: &str = "0987654000016";

/// A wholesaler's TI/TS document in EPCIS 1.2 XML: master data with names and addresses, the
/// transaction statement, units P1 and P2 commissioned with `expiry` (YYYY-MM-DD), packed in a
/// case and shipped to the pharmacy as a drop shipment under PO-5511 and INV-77.
fn partner_document(expiry: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<EPCISDocument xmlns="urn:epcglobal:epcis:xsd:1" xmlns:mda="urn:epcglobal:cbv:mda"
    xmlns:us="http://epcis.gs1us.org/hc/ns" schemaVersion="1.2" creationDate="2026-01-05T10:00:00Z">
  <EPCISHeader>
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
      <us:affirmTransactionStatement>true</us:affirmTransactionStatement>
    </us:dscsaTransactionStatement>
  </EPCISHeader>
  <EPCISBody><EventList>
    <ObjectEvent>
      <eventTime>2026-01-02T08:00:00Z</eventTime><eventTimeZoneOffset>-05:00</eventTimeZoneOffset>
      <epcList><epc>urn:epc:id:sgtin:0812345.077777.P1</epc><epc>urn:epc:id:sgtin:0812345.077777.P2</epc></epcList>
      <action>ADD</action><bizStep>urn:epcglobal:cbv:bizstep:commissioning</bizStep>
      <disposition>urn:epcglobal:cbv:disp:active</disposition>
      <extension><ilmd><mda:lotNumber>ZL2601</mda:lotNumber><mda:itemExpirationDate>{expiry}</mda:itemExpirationDate></ilmd></extension>
    </ObjectEvent>
    <AggregationEvent>
      <eventTime>2026-01-04T08:00:00Z</eventTime><eventTimeZoneOffset>-05:00</eventTimeZoneOffset>
      <parentID>urn:epc:id:sscc:0812345.1000000042</parentID>
      <childEPCs><epc>urn:epc:id:sgtin:0812345.077777.P1</epc><epc>urn:epc:id:sgtin:0812345.077777.P2</epc></childEPCs>
      <action>ADD</action><bizStep>urn:epcglobal:cbv:bizstep:packing</bizStep>
    </AggregationEvent>
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

/// The demo's saleable expiry as YYYY-MM-DD, read from the demo store, so the partner's units
/// expire when the scans typed by `Kiosk::pack` say they do.
fn demo_expiry(store: &Store) -> String {
    let amoxicillin = Sgtin::new(Gtin::parse("00359999101015").unwrap(), "AMX0001").unwrap();
    store
        .trace(&amoxicillin)
        .unwrap()
        .and_then(|t| t.expiry)
        .expect("the demo pack has an expiry")
}

/// When the partner's document arrived (after its events).
fn received_at() -> chrono::DateTime<chrono::Utc> {
    DateTime::parse_from_rfc3339("2026-01-06T12:00:00Z")
        .unwrap()
        .to_utc()
}

/// A demo store that knows this site and has imported the partner's document.
fn with_partner_document(store: &mut Store) {
    store.set_setting("site_gln", SITE_GLN).unwrap();
    let doc = partner_document(&demo_expiry(store));
    store
        .import_epcis(
            [("ti-ts-0007.xml".to_owned(), doc.as_bytes())],
            received_at(),
        )
        .unwrap();
}

fn open_pharmacist(k: &mut Kiosk) {
    k.click("Pharmacist");
    k.enter_pin(PIN);
    k.wait_for("Pharmacist check");
}

/// `tracedesk --db DB trace --csv SCAN`, as a regulator's request is answered at the command line.
fn cli_trace_csv(db: &Path, scan: &str) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_tracedesk"))
        .arg("--db")
        .arg(db)
        .args(["trace", "--csv", scan])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn the_pharmacist_sees_the_partners_transaction_and_exports_what_the_cli_prints() {
    let mut k = kiosk_on(with_partner_document, with_pin);
    open_pharmacist(&mut k);
    k.scan(&k.pack(GTIN, "ZL2601", "P1"));
    k.wait_for("Acme Wholesale, Columbus OH");
    assert!(k.shows("Corner Pharmacy, 1 Main St"));
    assert!(k.shows("Zentorin 25 mg TABLET, 30 tablets"));
    assert!(k.shows("NDC 12345-777-77 · made by Zento Labs Inc"));
    assert!(k.shows("Lot ZL2601"));
    assert!(k.shows("2026-01-05T09:30:00"));
    assert!(k.shows("urn:epcglobal:cbv:bt:0987654000019:PO-5511"));
    assert!(k.shows("urn:epcglobal:cbv:bt:0812345000016:INV-77"));
    assert!(k.shows("Drop shipment"));
    assert!(k.shows("Transaction statement affirmed"));
    assert!(!k.shows("No transaction data for this pack"));

    k.click("Export trace");
    let file = k.exports.join(format!("trace-{GTIN}-P1.csv"));
    k.wait_for(&format!("Saved {}", file.display()));
    let exported = fs::read_to_string(&file).unwrap();
    let scan = format!("(01){GTIN}(21)P1");
    assert_eq!(exported, cli_trace_csv(&k.db, &scan));
    let lines: Vec<&str> = exported.lines().collect();
    assert_eq!(lines.len(), 2, "{exported}");
    assert!(lines[1].contains("Acme Wholesale"), "{exported}");
    assert!(lines[1].contains(",true,true,"), "{exported}");
}

#[test]
fn a_pack_no_partner_described_says_so_plainly() {
    let mut k = kiosk_on(with_partner_document, with_pin);
    open_pharmacist(&mut k);
    // Announced by the demo's supplier, but with no transaction behind it.
    k.scan(&k.pack("00359999101015", "LA2401", "AMX0004"));
    k.wait_for("No transaction data for this pack");
    assert!(k.shows("Lot LA2401"));
    assert!(!k.shows("Transaction statement"));

    // Unknown to every partner: nothing to show, nothing to export.
    k.scan(&k.pack("00359999404017", "LX0001", "UNK0001"));
    k.wait_for("Serial unknown to supplier");
    assert!(k.shows("No transaction data for this pack"));
    assert!(!k.shows("Export trace"));
}

/// Writes `contents` to `path` as a partner's gateway would, long enough ago to be taken.
fn drop_file(path: &Path, contents: &[u8]) {
    fs::write(path, contents).unwrap();
    let long_ago = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    fs::File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_modified(long_ago)
        .unwrap();
}

#[test]
fn the_inbox_is_imported_in_the_background_and_the_status_bar_says_how_it_went() {
    let inbox = tempfile::tempdir().unwrap();
    let folder = inbox.path().to_owned();
    let mut expiry = String::new();
    let mut k = kiosk_configured(
        |store| {
            store.set_setting("site_gln", SITE_GLN).unwrap();
            store
                .set_setting("inbox_dir", folder.to_str().unwrap())
                .unwrap();
            expiry = demo_expiry(store);
        },
        |_| {},
        |config, db| {
            config.inbox = Some(InboxWatch {
                db: db.to_owned(),
                every: Duration::from_millis(20),
            });
        },
    );
    let doc = partner_document(&expiry);

    drop_file(
        &folder.join("ti-ts-0006.xml"),
        &doc.as_bytes()[..doc.len() / 2],
    );
    k.wait_for("Inbox: REFUSED ti-ts-0006.xml — ");
    assert!(k.shows("ends early"));
    assert!(folder.join("failed/ti-ts-0006.xml").exists());
    assert!(store(&k.db).archived_documents().unwrap().is_empty());

    drop_file(&folder.join("ti-ts-0007.xml"), doc.as_bytes());
    k.wait_for("Inbox: imported ti-ts-0007.xml at ");
    assert!(!k.shows("REFUSED"), "a success clears the refusal");
    assert!(folder.join("done/ti-ts-0007.xml").exists());
    let unit = Sgtin::new(Gtin::parse(GTIN).unwrap(), "P1").unwrap();
    let trace = store(&k.db)
        .trace(&unit)
        .unwrap()
        .expect("the unit is known");
    assert_eq!(trace.transactions.len(), 1);
    assert_eq!(trace.transactions[0].statement_affirmed, Some(true));
}

#[test]
fn the_inbox_folder_is_set_in_settings_and_a_bad_one_is_refused_with_the_store_s_words() {
    let mut k = kiosk_on(|_| {}, with_pin);
    k.click("Settings");
    k.enter_pin(PIN);
    k.wait_for("Partner inbox folder");
    let set_folder = |k: &mut Kiosk, folder: &str| {
        k.harness
            .state_mut()
            .settings
            .settings
            .as_mut()
            .expect("settings loaded")
            .inbox_dir = folder.to_owned();
        k.click("Save");
    };
    set_folder(&mut k, "partner/inbox");
    k.wait_for("Not saved: inbox_dir: \"partner/inbox\" is not an absolute path");
    assert_eq!(store(&k.db).setting("inbox_dir").unwrap(), None);

    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().to_str().unwrap().to_owned();
    set_folder(&mut k, &path);
    k.wait_for("Saved.");
    assert_eq!(store(&k.db).setting("inbox_dir").unwrap(), Some(path));
}
