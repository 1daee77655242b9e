//! Product and recall files as partners really send them, through the real binary and the
//! store on real files: columns in any order, partial product files, ragged rows and bad
//! values named by line, endless or binary inputs refused with bounded memory, missing files
//! that leave no store behind, and a recall that is contained whole or not at all.

use crate::cli_support;
use chrono::Utc;
use cli_support::{json_lines, today, tracedesk};
use rusqlite::Connection;
use serde_json::Value;
use std::cell::Cell;
use std::collections::BTreeSet;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::rc::Rc;
use tracedesk::gs1::Gtin;
use tracedesk::store::Store;
use tracedesk::store::synth::{SynthSpec, SynthUnit, generate};

const PRODUCTS_CSV: &str = "gtin,ndc,name,strength,form,manufacturer\n\
00359999101015,59999-101-01,Amoxicillin,500 mg/1,CAPSULE,Demo Pharma\n";

/// Every row of every table, and the schema itself: equal dumps mean an unchanged store.
fn dump(db: &Path) -> Vec<String> {
    let conn = Connection::open(db).unwrap();
    let mut lines = Vec::new();
    let tables: Vec<(String, String)> = conn
        .prepare("SELECT name, sql FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    for (table, sql) in tables {
        lines.push(sql);
        let mut stmt = conn.prepare(&format!("SELECT * FROM \"{table}\"")).unwrap();
        let width = stmt.column_count();
        let mut rows = stmt.query([]).unwrap();
        while let Some(row) = rows.next().unwrap() {
            let values: Vec<rusqlite::types::Value> =
                (0..width).map(|i| row.get(i).unwrap()).collect();
            lines.push(format!("{table}: {values:?}"));
        }
    }
    lines
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn arg(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// The one line a failed run printed on stderr.
fn failure(out: &Output) -> String {
    assert!(!out.status.success(), "expected a failure");
    let stderr = String::from_utf8(out.stderr.clone()).unwrap();
    assert_eq!(stderr.lines().count(), 1, "one line on stderr: {stderr}");
    stderr.trim_end().to_string()
}

fn success(out: &Output) -> String {
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

fn scan(u: &SynthUnit) -> String {
    format!(
        "(01){}(17){}(10){}(21){}",
        u.gtin,
        u.expiry.format("%y%m%d"),
        u.lot,
        u.serial
    )
}

/// A supplier's data (2 products, 4 lots of 10 units), the first 20 units received here.
/// Returns the store and the units of the first lot that were accepted.
fn received_store(dir: &Path) -> (PathBuf, Vec<SynthUnit>) {
    let db = dir.join("desk.db");
    let spec = SynthSpec {
        units: 40,
        products: 2,
        lots: 4,
        shipment_size: 20,
    };
    let mut store = Store::open(&db).unwrap();
    generate(&mut store, &spec, today(), Utc::now(), |_| {}).unwrap();
    drop(store);
    let units: Vec<SynthUnit> = (0..20).map(|i| spec.unit(i, today()).unwrap()).collect();
    let input: String = units.iter().map(|u| scan(u) + "\n").collect();
    let lines = json_lines(&tracedesk(
        &db,
        &["receive", "--shipment", "ASN-SYN-0000000", "--json"],
        input.as_bytes(),
    ));
    let accepted: Vec<SynthUnit> = units
        .into_iter()
        .zip(&lines)
        .filter(|(_, l)| l["received"] == Value::Bool(true))
        .map(|(u, _)| u)
        .collect();
    let first = accepted.first().expect("a unit accepted").clone();
    let lot: Vec<SynthUnit> = accepted
        .into_iter()
        .filter(|u| u.gtin == first.gtin && u.lot == first.lot)
        .collect();
    assert!(
        lot.len() >= 3,
        "only {} units of the lot accepted",
        lot.len()
    );
    (db, lot)
}

fn key(u: &SynthUnit) -> (String, String) {
    (u.gtin.as_str().to_owned(), u.serial.clone())
}

#[test]
fn recall_csv_reads_columns_by_name_in_any_order_and_quarantines_the_lot() {
    let dir = tempfile::tempdir().unwrap();
    let (db, lot) = received_store(dir.path());
    let events_before = json_lines(&tracedesk(&db, &["events", "--json"], b"")).len();
    // Columns reordered, names in another case with spaces around, an extra column, a BOM.
    let notice = write(
        dir.path(),
        "notice.csv",
        &format!(
            "\u{feff} Reason ,Notice No, LOT ,GTIN\n\"Class II, particulates\",N-1,{},{}\n",
            lot[0].lot, lot[0].gtin
        ),
    );
    let lines = json_lines(&tracedesk(
        &db,
        &["recall", "--json", "--csv", arg(&notice), "--quarantine"],
        b"",
    ));
    let listed: BTreeSet<(String, String)> = lines
        .iter()
        .map(|l| {
            (
                l["gtin"].as_str().unwrap().to_owned(),
                l["serial"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(listed, lot.iter().map(key).collect());
    assert!(lines.iter().all(|l| l["quarantined_now"] == true));
    let events = json_lines(&tracedesk(&db, &["events", "--json"], b""));
    assert_eq!(events.len() - events_before, lot.len());
    let reason = Connection::open(&db)
        .unwrap()
        .query_row("SELECT reason FROM lot_recalls", [], |r| {
            r.get::<_, String>(0)
        })
        .unwrap();
    assert_eq!(reason, "Class II, particulates");
    // `import recalls` reads the same notice the same way: nothing left to change.
    let out = tracedesk(&db, &["import", "recalls", arg(&notice)], b"");
    assert_eq!(
        success(&out),
        "recalls: 0 inserted, 0 updated, 1 unchanged, 0 skipped\n"
    );
}

#[test]
fn a_recall_notice_with_a_bad_line_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (db, lot) = received_store(dir.path());
    let before = dump(&db);
    // Line 2 recalls a lot with units on hand; line 3's lot is one character too long.
    let notice = write(
        dir.path(),
        "notice.csv",
        &format!(
            "lot,gtin,reason\n{},{},contamination\nL23456789012345678901,{},x\n",
            lot[0].lot, lot[0].gtin, lot[0].gtin
        ),
    );
    for args in [
        vec!["recall", "--json", "--csv", arg(&notice), "--quarantine"],
        vec!["import", "recalls", arg(&notice)],
    ] {
        let message = failure(&tracedesk(&db, &args, b""));
        assert!(message.contains("notice.csv: line 3: lot:"), "{message}");
        assert!(message.contains("at most 20 characters"), "{message}");
        assert_eq!(dump(&db), before, "{args:?} left nothing behind");
    }
}

#[test]
fn a_failure_while_holding_units_leaves_neither_recall_nor_holds() {
    let dir = tempfile::tempdir().unwrap();
    let (db, lot) = received_store(dir.path());
    // The second hold fails, as a full disk or a crash would make it: the lot recall and the
    // first hold, already written in the transaction, must go with it.
    Connection::open(&db)
        .unwrap()
        .execute_batch(
            "CREATE TRIGGER second_hold_fails BEFORE INSERT ON holds
             WHEN (SELECT count(*) FROM holds) >= 1
             BEGIN SELECT RAISE(ABORT, 'disk full'); END;",
        )
        .unwrap();
    let before = dump(&db);
    let notice = write(
        dir.path(),
        "notice.csv",
        &format!(
            "gtin,lot,reason\n{},{},contamination\n",
            lot[0].gtin, lot[0].lot
        ),
    );
    let message = failure(&tracedesk(
        &db,
        &["recall", "--csv", arg(&notice), "--quarantine"],
        b"",
    ));
    assert!(message.contains("disk full"), "{message}");
    assert_eq!(dump(&db), before);
}

#[test]
fn a_partial_product_file_never_erases_master_data() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("p.db");
    let full = write(dir.path(), "full.csv", PRODUCTS_CSV);
    success(&tracedesk(&db, &["import", "products", arg(&full)], b""));
    let gtin_only = write(dir.path(), "gtins.csv", "gtin\n00359999101015\n");
    let out = tracedesk(&db, &["import", "products", arg(&gtin_only)], b"");
    assert_eq!(
        success(&out),
        "products: 0 inserted, 0 updated, 1 unchanged, 0 skipped\n"
    );
    let package = write(
        dir.path(),
        "package.txt",
        "PRODUCTID\tPRODUCTNDC\tNDCPACKAGECODE\tPACKAGEDESCRIPTION\tNDC_EXCLUDE_FLAG\n\
         59999-101_x\t59999-101\t59999-101-01\t30 CAPSULE in 1 BOTTLE\tN\n",
    );
    success(&tracedesk(&db, &["import", "products", arg(&package)], b""));
    // A file that carries one new fact sets that one alone.
    let renamed = write(
        dir.path(),
        "renamed.csv",
        "GTIN,Name\n00359999101015,Amoxicillin Trihydrate\n",
    );
    success(&tracedesk(&db, &["import", "products", arg(&renamed)], b""));
    let store = Store::open(&db).unwrap();
    let p = store
        .product(&Gtin::parse("00359999101015").unwrap())
        .unwrap()
        .unwrap();
    assert_eq!(p.name.as_deref(), Some("Amoxicillin Trihydrate"));
    assert_eq!(p.ndc.as_deref(), Some("59999-101-01"));
    assert_eq!(p.strength.as_deref(), Some("500 mg/1"));
    assert_eq!(p.form.as_deref(), Some("CAPSULE"));
    assert_eq!(p.manufacturer.as_deref(), Some("Demo Pharma"));
}

#[test]
fn ragged_rows_and_bad_values_are_named_by_line_and_store_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("v.db");
    let full = write(dir.path(), "full.csv", PRODUCTS_CSV);
    success(&tracedesk(&db, &["import", "products", arg(&full)], b""));
    let before = dump(&db);
    let good_rows = "00359999202309,,Atorvastatin,20 mg/1,TABLET,Demo\n".repeat(4);
    let cases: Vec<(&str, &str, String, &str)> = vec![
        (
            "products",
            "ragged.csv",
            format!("{PRODUCTS_CSV}{good_rows}00359999303907,,Metformin,850 mg/1\n"),
            "ragged.csv: line 7: 4 fields, the header has 6",
        ),
        (
            "products",
            "check.csv",
            "gtin,name\n00359999101016,Wrong check digit\n".into(),
            "check.csv: line 2: gtin: \"00359999101016\": check digit is wrong",
        ),
        (
            "products",
            "long.csv",
            format!("gtin,ndc,name\n00359999101015,,{}\n", "n".repeat(5000)),
            "long.csv: line 2: field 3 (name) is longer than 4096 bytes",
        ),
        (
            "products",
            "package.txt",
            "PRODUCTNDC\tNDCPACKAGECODE\n59999-202\t59999-101-01\n".into(),
            "package.txt: line 2: PRODUCTNDC \"59999-202\" is not the labeler-product part",
        ),
        (
            "recalls",
            "space.csv",
            "gtin,lot,reason\n00359999101015,LOT 1,x\n".into(),
            "space.csv: line 2: lot: (10) has \" \" at position 4, outside GS1 character set 82",
        ),
        (
            "recalls",
            "empty_lot.csv",
            "gtin,lot,reason\n00359999101015,L1,x\n00359999101015,,x\n".into(),
            "empty_lot.csv: line 3: lot is empty",
        ),
        (
            "recalls",
            "reason.csv",
            format!("gtin,lot,reason\n00359999101015,L1,{}\n", "r".repeat(1001)),
            "reason.csv: line 2: reason is longer than 1000 characters",
        ),
        (
            "recalls",
            "break.csv",
            "gtin,lot,reason\n00359999101015,L1,\"two\nlines\"\n".into(),
            "break.csv: line 2: reason holds a control character (U+000A) at character 4",
        ),
        (
            "recalls",
            "twice.csv",
            "gtin,lot,reason,LOT\n00359999101015,L1,x,L2\n".into(),
            "twice.csv: line 1: the header has two lot columns",
        ),
        (
            "recalls",
            "nolot.csv",
            "gtin,batch,reason\n00359999101015,L1,x\n".into(),
            "nolot.csv: line 1: the header has no lot column",
        ),
    ];
    for (kind, name, text, expected) in cases {
        let file = write(dir.path(), name, &text);
        let message = failure(&tracedesk(&db, &["import", kind, arg(&file)], b""));
        assert!(message.contains(expected), "{name}: {message}");
        assert!(!message.contains("Error"), "no debug text: {message}");
        assert_eq!(dump(&db), before, "{name} stored nothing");
    }
}

/// An input made on the fly, `head` then `fill` repeated (for `len` bytes, or for ever),
/// counting what was read: a 100 MB file costs the test neither disk nor memory.
struct Generated {
    head: std::io::Cursor<Vec<u8>>,
    fill: &'static [u8],
    left: Option<u64>,
    read: Rc<Cell<u64>>,
}

impl Generated {
    fn endless(head: &str, fill: &'static [u8]) -> Generated {
        Generated {
            head: std::io::Cursor::new(head.as_bytes().to_vec()),
            fill,
            left: None,
            read: Rc::default(),
        }
    }

    fn sized(head: &str, fill: &'static [u8], len: u64) -> Generated {
        Generated {
            left: Some(len),
            ..Generated::endless(head, fill)
        }
    }
}

impl Read for Generated {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let mut n = self.head.read(buf)?;
        if n == 0 {
            n = match self.left {
                Some(left) => buf.len().min(usize::try_from(left).unwrap_or(usize::MAX)),
                None => buf.len(),
            };
            for (b, f) in buf.iter_mut().take(n).zip(self.fill.iter().cycle()) {
                *b = *f;
            }
            if let Some(left) = &mut self.left {
                *left -= n as u64;
            }
        }
        self.read.set(self.read.get() + n as u64);
        Ok(n)
    }
}

enum Kind {
    Products,
    Recalls,
}

#[test]
fn endless_and_huge_inputs_fail_at_their_line_after_reading_little() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("s.db")).unwrap();
    let before = dump(store.path());
    let hundred_mb = 100 << 20;
    let cases = [
        (
            Kind::Recalls,
            Generated::endless("", b"\0"),
            "input: line 1: not a text file",
        ),
        (
            Kind::Products,
            Generated::endless("", b"\0"),
            "input: line 1: not a text file",
        ),
        (
            Kind::Recalls,
            Generated::sized("gtin,lot,reason\n", b"x", hundred_mb),
            "input: line 2: line longer than 65536 bytes",
        ),
        (
            Kind::Products,
            Generated::sized("", b"gtin,", hundred_mb),
            "input: line 1: line longer than 65536 bytes",
        ),
        (
            Kind::Products,
            Generated::endless("PRODUCTNDC\tNDCPACKAGECODE\n", b"0\t"),
            "input: line 2: line longer than 65536 bytes",
        ),
        (
            Kind::Recalls,
            Generated::endless("gtin,lot,reason\n00359999101015,L1,\"", b"unterminated\n"),
            "input: line 2: a quoted field runs on past 65536 bytes",
        ),
    ];
    for (kind, input, expected) in cases {
        let read = Rc::clone(&input.read);
        let err = match kind {
            Kind::Products => store.import_products(input, "input").unwrap_err(),
            Kind::Recalls => store.import_recalls(input, "input").unwrap_err(),
        };
        assert!(err.to_string().starts_with(expected), "{expected}: {err}");
        // Refused after about one record's worth, whatever the input's size.
        assert!(
            read.get() < 1 << 20,
            "{expected}: read {} bytes",
            read.get()
        );
    }
    assert_eq!(dump(store.path()), before);
}

#[test]
fn dev_zero_is_refused_as_not_text_and_creates_no_store() {
    let zero = Path::new("/dev/zero");
    if !zero.exists() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("never.db");
    for args in [
        vec!["import", "recalls", "/dev/zero"],
        vec!["import", "products", "/dev/zero"],
        vec!["recall", "--csv", "/dev/zero", "--quarantine"],
    ] {
        let message = failure(&tracedesk(&db, &args, b""));
        assert_eq!(
            message,
            "tracedesk: /dev/zero: line 1: not a text file (it holds NUL bytes)"
        );
        assert!(!db.exists(), "{args:?} created the store");
    }
}

#[test]
fn a_missing_or_wrong_input_creates_no_store() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("never.db");
    let missing = dir.path().join("nonexistent.csv");
    let not_products = write(dir.path(), "hello.csv", "hello,world\n1,2\n");
    let not_recalls = write(dir.path(), "recalls.csv", "gtin,reason\n");
    let cases: Vec<(Vec<&str>, String)> = vec![
        (
            vec!["import", "products", arg(&missing)],
            format!("cannot open {}", missing.display()),
        ),
        (
            vec!["import", "recalls", arg(&missing)],
            format!("cannot open {}", missing.display()),
        ),
        (
            vec!["import", "epcis", arg(&missing)],
            format!("cannot open {}", missing.display()),
        ),
        (
            vec!["recall", "--csv", arg(&missing), "--quarantine"],
            format!("cannot open {}", missing.display()),
        ),
        (
            vec!["import", "products", arg(dir.path())],
            format!("{} is a directory", dir.path().display()),
        ),
        (
            vec!["import", "products", arg(&not_products)],
            "line 1: not a product file".into(),
        ),
        (
            vec!["recall", "--csv", arg(&not_recalls)],
            "line 1: the header has no lot column".into(),
        ),
    ];
    for (args, expected) in cases {
        let out = tracedesk(&db, &args, b"");
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let message = failure(&out);
        assert!(message.starts_with("tracedesk: "), "{message}");
        assert!(message.contains(&expected), "{args:?}: {message}");
        assert!(!db.exists(), "{args:?} created the store");
    }
}
