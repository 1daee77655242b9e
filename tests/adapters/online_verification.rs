//! `verify --online` against a verification router on loopback, written from the GS1
//! Lightweight Messaging standard as GS1 US profiles it: the responder reads both request forms
//! seen in the field (`/gtin/{gtin}/lot/{lot}/ser/{serial}?exp=` and the Digital Link numeric
//! `/01/{gtin}/10/{lot}/21/{serial}?17=`), checks the credential, echoes the corrUUID and answers
//! verified, a failure reason, a recall, an error status, a wrong corrUUID, or nothing at all.

use crate::cli_support;
use cli_support::{json_lines, today, tracedesk};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const TOKEN: &str = "partner-credential-7f3a";

/// One request the responder saw.
#[derive(Debug, Clone)]
struct Seen {
    path: String,
    query: HashMap<String, String>,
    headers: HashMap<String, String>,
}

fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap();
            out.push(u8::from_str_radix(hex, 16).unwrap());
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

/// The product identifier of a request in either form: (gtin, lot, serial, expiry YYMMDD).
fn identifier(seen: &Seen) -> Option<(String, String, String, String)> {
    let parts: Vec<&str> = seen.path.trim_start_matches('/').split('/').collect();
    let find = |key: &str| {
        parts
            .iter()
            .position(|p| *p == key)
            .and_then(|i| parts.get(i + 1))
            .map(|v| decode(v))
    };
    let (gtin, lot, serial, exp) = if let Some(gtin) = find("gtin") {
        (
            gtin,
            find("lot")?,
            find("ser")?,
            seen.query.get("exp")?.clone(),
        )
    } else {
        (
            find("01")?,
            find("10")?,
            find("21")?,
            seen.query.get("17")?.clone(),
        )
    };
    Some((gtin, lot, serial, exp))
}

/// Answers by the serial: `OK*` verified, `RECALL*` verified with Recalled, `HANG*` never,
/// `BOOM*` HTTP 500, `LIE*` with another corrUUID, anything else No_match_GTIN_Serial.
fn answer(seen: &Seen) -> Option<(u16, String)> {
    if seen.headers.get("authorization").map(String::as_str) != Some(&format!("Bearer {TOKEN}")) {
        return Some((401, r#"{"error":"no credential"}"#.into()));
    }
    let Some((_, _, serial, _)) = identifier(seen) else {
        return Some((400, "{}".into()));
    };
    let corr = seen.query.get("corrUUID").cloned().unwrap_or_default();
    let body = |verified: bool, reason: Value, info: Value, corr: &str| {
        json!({
            "verificationTimestamp": "2026-11-30T10:00:00Z",
            "responderGLN": "0812345000016",
            "corrUUID": corr,
            "data": {"verified": verified, "verificationFailureReason": reason,
                     "additionalInfo": info}
        })
        .to_string()
    };
    Some(if serial.starts_with("OK") {
        (200, body(true, Value::Null, Value::Null, &corr))
    } else if serial.starts_with("RECALL") {
        (200, body(true, Value::Null, json!("Recalled"), &corr))
    } else if serial.starts_with("HANG") {
        return None;
    } else if serial.starts_with("BOOM") {
        (500, "internal error".into())
    } else if serial.starts_with("LIE") {
        (200, body(true, Value::Null, Value::Null, "someone-else"))
    } else {
        (
            200,
            body(false, json!("No_match_GTIN_Serial"), Value::Null, &corr),
        )
    })
}

fn serve(stream: TcpStream, seen: &Mutex<Vec<Seen>>) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).is_err() {
        return;
    }
    let target = request_line
        .split(' ')
        .nth(1)
        .unwrap_or_default()
        .to_owned();
    let mut headers = HashMap::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || line.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_owned());
        }
    }
    let (path, query) = target.split_once('?').unwrap_or((&target, ""));
    let query = query
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_owned(), decode(v)))
        .collect();
    let request = Seen {
        path: path.to_owned(),
        query,
        headers,
    };
    seen.lock().unwrap().push(request.clone());
    let Some((status, body)) = answer(&request) else {
        std::thread::sleep(Duration::from_secs(5));
        return;
    };
    let mut stream = stream;
    let _ = write!(
        stream,
        "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{body}",
        body.len()
    );
}

/// A responder on loopback; returns its base URL and what it saw.
fn responder() -> (String, Arc<Mutex<Vec<Seen>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/vrs", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let log = Arc::clone(&log);
            std::thread::spawn(move || serve(stream, &log));
        }
    });
    (url, seen)
}

fn check_digit(body: &str) -> String {
    let sum: u32 = body
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| u32::from(b - b'0') * if i % 2 == 0 { 3 } else { 1 })
        .sum();
    format!("{body}{}", (10 - sum % 10) % 10)
}

fn run_ok(db: &Path, args: &[&str]) {
    let out = tracedesk(db, args, b"");
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn the_manufacturers_answer_joins_each_verdict() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("desk.db");
    let (url, seen) = responder();
    let site = check_digit("098765400001");
    let credential = dir.path().join("vrs-credential");
    std::fs::write(&credential, format!("{TOKEN}\n")).unwrap();
    run_ok(&db, &["config", "site_gln", &site]);
    run_ok(&db, &["config", "verification_router", &url]);
    run_ok(
        &db,
        &[
            "config",
            "verification_credentials_file",
            credential.to_str().unwrap(),
        ],
    );
    let g = check_digit("0081234577777");
    let exp = (today() + chrono::Days::new(300))
        .format("%y%m%d")
        .to_string();
    let scan = |serial: &str| format!("(01){g}(21){serial}(10)L%1/2(17){exp}");
    let stdin = [
        scan("OK1"),
        scan("NOPE"),
        scan("RECALL1"),
        scan("BOOM"),
        "garbage".to_owned(),
    ]
    .join("\n");
    let out = tracedesk(
        &db,
        &["verify", "--online", "--json", "--context", "dscsaSuspect"],
        stdin.as_bytes(),
    );
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 5);
    // The local verdict stands: the cache knows none of these packs.
    assert!(lines.iter().all(|l| l["status"] != "verified"));
    let ok = &lines[0]["lms"];
    assert_eq!(ok["verified"], true, "{ok}");
    assert_eq!(ok["responderGLN"], "0812345000016");
    let nope = &lines[1]["lms"];
    assert_eq!(nope["verified"], false);
    assert_eq!(nope["verificationFailureReason"], "No_match_GTIN_Serial");
    assert_eq!(lines[2]["lms"]["additionalInfo"], "Recalled");
    assert!(
        lines[3]["lms"]["error"].as_str().unwrap().contains("500"),
        "{}",
        lines[3]
    );
    assert!(lines[4]["lms"]["error"].is_string());

    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 4, "the garbage line is not sent: {seen:#?}");
    let mut corr = Vec::new();
    for (request, line) in seen.iter().zip(&lines) {
        let (gtin, lot, _, e) = identifier(request).unwrap();
        assert_eq!(gtin, g);
        assert_eq!(lot, "L%1/2", "lot and serial travel percent-encoded");
        assert_eq!(e, exp);
        assert_eq!(request.query["linkType"], "verificationService");
        assert_eq!(request.query["context"], "dscsaSuspect");
        assert_eq!(request.query["reqGLN"], site);
        if let Some(echoed) = line["lms"]["corrUUID"].as_str() {
            assert_eq!(request.query["corrUUID"], echoed);
        }
        corr.push(request.query["corrUUID"].clone());
    }
    corr.sort();
    corr.dedup();
    assert_eq!(corr.len(), 4, "a new corrUUID for every request");
    // The credential never enters the store.
    let bytes = std::fs::read(&db).unwrap();
    assert!(!bytes.windows(TOKEN.len()).any(|w| w == TOKEN.as_bytes()));
}

#[test]
fn a_router_that_lies_hangs_or_is_down_never_stops_the_desk() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("desk.db");
    let (url, seen) = responder();
    let credential = dir.path().join("token");
    std::fs::write(&credential, TOKEN).unwrap();
    run_ok(&db, &["config", "site_gln", &check_digit("098765400001")]);
    run_ok(
        &db,
        &[
            "config",
            "verification_credentials_file",
            credential.to_str().unwrap(),
        ],
    );
    let g = check_digit("0081234577777");
    let exp = (today() + chrono::Days::new(300))
        .format("%y%m%d")
        .to_string();
    let scan = |serial: &str| format!("(01){g}(21){serial}(10)L1(17){exp}");

    // An answer for another request is not taken.
    run_ok(&db, &["config", "verification_router", &url]);
    let lines = json_lines(&tracedesk(
        &db,
        &["verify", "--online", "--json", &scan("LIE1")],
        b"",
    ));
    assert!(
        lines[0]["lms"]["error"]
            .as_str()
            .unwrap()
            .contains("another request")
    );

    // A hung router costs one timeout; the scans after it are answered at once, all queued.
    let stdin = [scan("HANG1"), scan("OK2"), scan("OK3")].join("\n");
    let lines = json_lines(&tracedesk(
        &db,
        &["verify", "--online", "--json"],
        stdin.as_bytes(),
    ));
    assert_eq!(lines.len(), 3);
    assert!(
        lines[0]["lms"]["error"]
            .as_str()
            .unwrap()
            .contains("timed out"),
        "{}",
        lines[0]
    );
    for line in &lines[1..] {
        let error = line["lms"]["error"].as_str().unwrap();
        assert!(error.contains("queued"), "{error}");
        assert_eq!(line["status"], "failed", "the local verdict stands");
    }
    let asked = |serial: &str| {
        seen.lock()
            .unwrap()
            .iter()
            .filter(|s| identifier(s).is_some_and(|(_, _, s, _)| s == serial))
            .count()
    };
    assert_eq!(asked("OK2"), 0, "skipped after the timeout");

    // A router that is down: the connection is refused, every scan answered.
    let closed = TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = format!("http://{}/vrs", closed.local_addr().unwrap());
    drop(closed);
    run_ok(&db, &["config", "verification_router", &dead]);
    let lines = json_lines(&tracedesk(
        &db,
        &["verify", "--online", "--json", &scan("OK4")],
        b"",
    ));
    assert!(
        lines[0]["lms"]["error"]
            .as_str()
            .unwrap()
            .contains("unreachable")
    );

    // The router is back: the queued questions are asked first, then the new one.
    run_ok(&db, &["config", "verification_router", &url]);
    let out = tracedesk(&db, &["verify", "--online", "--json", &scan("OK5")], b"");
    let lines = json_lines(&out);
    assert_eq!(lines[0]["lms"]["verified"], true);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("queued question(s) answered"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(asked("OK2"), 1);
    assert_eq!(asked("OK3"), 1);
    assert_eq!(asked("OK4"), 1);
    // A queued question keeps its corrUUID.
    let seen = seen.lock().unwrap();
    assert!(seen.iter().all(|s| s.query.contains_key("corrUUID")));
}

#[test]
fn without_a_router_the_line_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("desk.db");
    let lines = json_lines(&tracedesk(
        &db,
        &[
            "verify",
            "--online",
            "--json",
            "(01)00812345777774(21)X(10)L(17)300101",
        ],
        b"",
    ));
    assert!(
        lines[0]["lms"]["error"]
            .as_str()
            .unwrap()
            .contains("verification_router")
    );
    // A router URL in clear text to another host is refused when it is set.
    let out = tracedesk(
        &db,
        &["config", "verification_router", "http://vrs.example.com/"],
        b"",
    );
    assert!(!out.status.success());
}

/// A manufacturer's EPCIS 1.2 document: `serials` of product 0812345.077777 commissioned with
/// lot `lot` and shipped to the pharmacy under `po`.
fn shipped(serials: &[String], lot: &str, expiry: &str, po: &str) -> String {
    let epcs: String = serials
        .iter()
        .map(|s| format!("<epc>urn:epc:id:sgtin:0812345.077777.{s}</epc>"))
        .collect();
    format!(
        r#"<e:EPCISDocument xmlns:e="urn:epcglobal:epcis:xsd:1" xmlns:m="urn:epcglobal:cbv:mda" schemaVersion="1.2" creationDate="2026-01-05T10:00:00Z">
<EPCISHeader><extension><EPCISMasterData><VocabularyList><Vocabulary type="urn:epcglobal:epcis:vtype:EPCClass"><VocabularyElementList>
<VocabularyElement id="urn:epc:idpat:sgtin:0812345.077777.*"><attribute id="urn:epcglobal:cbv:mda#regulatedProductName">Zentorin</attribute></VocabularyElement>
</VocabularyElementList></Vocabulary></VocabularyList></EPCISMasterData></extension></EPCISHeader>
<EPCISBody><EventList>
<ObjectEvent><eventTime>2026-01-02T08:00:00Z</eventTime><eventTimeZoneOffset>+00:00</eventTimeZoneOffset><epcList>{epcs}</epcList><action>ADD</action><bizStep>urn:epcglobal:cbv:bizstep:commissioning</bizStep><extension><ilmd><m:lotNumber>{lot}</m:lotNumber><m:itemExpirationDate>{expiry}</m:itemExpirationDate></ilmd></extension></ObjectEvent>
<ObjectEvent><eventTime>2026-01-05T09:30:00Z</eventTime><eventTimeZoneOffset>+00:00</eventTimeZoneOffset><epcList>{epcs}</epcList><action>OBSERVE</action><bizStep>urn:epcglobal:cbv:bizstep:shipping</bizStep><bizTransactionList><bizTransaction type="urn:epcglobal:cbv:btt:po">{po}</bizTransaction></bizTransactionList><extension><destinationList><destination type="urn:epcglobal:cbv:sdt:owning_party">urn:epc:id:sgln:0987654.00001.0</destination></destinationList></extension></ObjectEvent>
</EventList></EPCISBody></e:EPCISDocument>"#
    )
}

#[test]
fn a_suspect_pack_puts_a_sample_of_its_lot_to_the_manufacturer() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("desk.db");
    let (url, _seen) = responder();
    let credential = dir.path().join("token");
    std::fs::write(&credential, TOKEN).unwrap();
    run_ok(&db, &["config", "site_gln", &check_digit("098765400001")]);
    run_ok(&db, &["config", "verification_router", &url]);
    run_ok(
        &db,
        &[
            "config",
            "verification_credentials_file",
            credential.to_str().unwrap(),
        ],
    );
    let expiry = today() + chrono::Days::new(300);
    // Eleven packs the manufacturer vouches for, one it does not know.
    let mut serials: Vec<String> = (1..=11).map(|i| format!("OK{i:02}")).collect();
    serials.push("NOPE12".into());
    let po = "urn:epcglobal:cbv:bt:0987654000019:PO-77";
    let doc = dir.path().join("ti.xml");
    std::fs::write(
        &doc,
        shipped(&serials, "L1", &expiry.format("%Y-%m-%d").to_string(), po),
    )
    .unwrap();
    run_ok(&db, &["import", "epcis", doc.to_str().unwrap()]);
    let g = check_digit("0081234577777");
    let exp = expiry.format("%y%m%d").to_string();
    let scan = |serial: &str| format!("(01){g}(21){serial}(10)L1(17){exp}");
    let all: Vec<String> = serials.iter().map(|s| scan(s)).collect();
    let received = json_lines(&tracedesk(
        &db,
        &["receive", "--shipment", po, "--json"],
        all.join("\n").as_bytes(),
    ));
    assert!(received.iter().all(|r| r["status"] == "verified"));

    let status = |db: &Path| {
        json_lines(&tracedesk(
            db,
            &["investigate", "--json", &scan("OK01")],
            b"",
        ))[0]
            .clone()
    };
    let first = status(&db);
    assert_eq!(first["on_hand"], 12);
    assert_eq!(first["required"], 3, "3 is more than 10 % of 12");
    assert_eq!(first["checked"], 0);
    // The suspect pack is held: it verifies as suspect now.
    let held = &json_lines(&tracedesk(&db, &["verify", "--json", &scan("OK01")], b""))[0];
    assert!(
        held["reasons"]
            .as_array()
            .unwrap()
            .contains(&json!("suspect")),
        "{held}"
    );

    let sample = [scan("OK02"), scan("OK03"), scan("NOPE12")].join("\n");
    json_lines(&tracedesk(
        &db,
        &["verify", "--online", "--json", "--context", "dscsaSuspect"],
        sample.as_bytes(),
    ));
    let after = status(&db);
    assert_eq!(after["checked"], 3);
    assert_eq!(after["failed"], 1);
    assert_eq!(after["remaining"], 0);
    assert_eq!(after["sample_done"], true);
}

#[test]
fn a_saleable_return_is_restocked_only_when_the_manufacturer_verifies_it() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("desk.db");
    let (url, seen) = responder();
    let credential = dir.path().join("token");
    std::fs::write(&credential, TOKEN).unwrap();
    run_ok(&db, &["config", "site_gln", &check_digit("098765400001")]);
    let expiry = today() + chrono::Days::new(300);
    let serials = vec!["OKR1".to_owned(), "NOPER2".to_owned()];
    let po = "urn:epcglobal:cbv:bt:0987654000019:PO-78";
    let doc = dir.path().join("ti.xml");
    std::fs::write(
        &doc,
        shipped(&serials, "L1", &expiry.format("%Y-%m-%d").to_string(), po),
    )
    .unwrap();
    run_ok(&db, &["import", "epcis", doc.to_str().unwrap()]);
    let g = check_digit("0081234577777");
    let exp = expiry.format("%y%m%d").to_string();
    let scans = [
        format!("(01){g}(21)OKR1(10)L1(17){exp}"),
        format!("(01){g}(21)NOPER2(10)L1(17){exp}"),
    ]
    .join("\n");
    for command in ["receive", "dispense"] {
        let lines = json_lines(&tracedesk(&db, &[command, "--json"], scans.as_bytes()));
        assert!(
            lines.iter().all(|l| l["status"] == "verified"),
            "{lines:#?}"
        );
    }
    // Both come back as saleable returns; the router is set now.
    run_ok(&db, &["config", "verification_router", &url]);
    run_ok(
        &db,
        &[
            "config",
            "verification_credentials_file",
            credential.to_str().unwrap(),
        ],
    );
    let lines = json_lines(&tracedesk(&db, &["restock", "--json"], scans.as_bytes()));
    assert_eq!(lines[0]["lms"]["verified"], true);
    assert_eq!(lines[0]["recorded"], true);
    assert_eq!(lines[1]["lms"]["verified"], false);
    assert_eq!(lines[1]["recorded"], false, "{}", lines[1]);
    let asked: Vec<String> = seen
        .lock()
        .unwrap()
        .iter()
        .map(|s| s.query["context"].clone())
        .collect();
    assert_eq!(asked, ["dscsaSaleableReturn", "dscsaSaleableReturn"]);
    let on_hand = json_lines(&tracedesk(&db, &["inventory", "--json"], b""));
    let state: Vec<(&str, &str)> = on_hand
        .iter()
        .map(|u| (u["serial"].as_str().unwrap(), u["status"].as_str().unwrap()))
        .collect();
    assert_eq!(state, [("OKR1", "active")], "{on_hand:#?}");
}

#[test]
fn the_settings_connection_test_says_what_answers() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("desk.db");
    let (url, seen) = responder();
    let closed = TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = format!("http://{}/epcis", closed.local_addr().unwrap());
    drop(closed);
    let credential = dir.path().join("token");
    std::fs::write(&credential, "not-the-partners\n").unwrap();
    let mut store = tracedesk::store::Store::open(&db).unwrap();
    store.set_setting("upstream_url", &dead).unwrap();
    store.set_setting("verification_router", &url).unwrap();
    store
        .set_setting(
            "verification_credentials_file",
            credential.to_str().unwrap(),
        )
        .unwrap();
    let report = tracedesk::desk::connection::test_connections(&store);
    let upstream = report.upstream.expect("an upstream is set").unwrap_err();
    assert!(upstream.contains("unreachable"), "{upstream}");
    // The router answers, but not to this credential.
    let router = report.router.expect("a router is set").unwrap_err();
    assert!(router.contains("401"), "{router}");
    std::fs::write(&credential, format!("{TOKEN}\n")).unwrap();
    let report = tracedesk::desk::connection::test_connections(&store);
    assert!(report.router.unwrap().is_ok());
    assert!(
        seen.lock()
            .unwrap()
            .iter()
            .all(|s| s.headers.contains_key("authorization"))
    );
}
