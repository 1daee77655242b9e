//! A scan longer than any barcode is refused at once with `too_long`, whatever its form and
//! however it arrives; a scan up to the cap is parsed whole, however many elements it holds.
//! These tests check answers only: how fast parsing is, is the benchmarks' business.

#[allow(dead_code)] // shared with the other CLI tests; this file needs no dates
use crate::cli_support;
use chrono::NaiveDate;
use cli_support::{json_lines, tracedesk};
use tracedesk::gs1::{self, ErrorCode, MAX_SCAN_BYTES, ParseContext};

const TEN_MB: usize = 10 * 1024 * 1024;

fn ctx() -> ParseContext {
    ParseContext::new(NaiveDate::from_ymd_opt(2026, 11, 24).unwrap())
}

/// `head`, then `unit` repeated until there are at least `len` bytes.
fn repeated(head: &str, unit: &str, len: usize) -> Vec<u8> {
    let count = len.saturating_sub(head.len()).div_ceil(unit.len());
    let mut bytes = head.as_bytes().to_vec();
    bytes.extend_from_slice(unit.repeat(count).as_bytes());
    bytes
}

fn assert_too_long(bytes: &[u8], form: &str) {
    let scan = gs1::parse(bytes, &ctx());
    assert_eq!(scan.errors.len(), 1, "{form}: {:?}", scan.errors);
    let error = &scan.errors[0];
    assert_eq!(error.code, ErrorCode::TooLong, "{form}");
    assert_eq!(error.code.as_str(), "too_long");
    assert!(
        error.message.contains(&bytes.len().to_string())
            && error.message.contains(&MAX_SCAN_BYTES.to_string()),
        "{form}: {}",
        error.message
    );
    assert!(
        scan.elements.is_empty() && scan.symbology.is_none(),
        "{form}"
    );
}

#[test]
fn ten_megabyte_scans_are_too_long_in_every_form() {
    let forms = [
        (
            "bracketed",
            repeated("(01)09506000134352", "(10)ABC", TEN_MB),
        ),
        ("raw", repeated("0109506000134352", "10ABC\x1d", TEN_MB)),
        (
            "AIM raw",
            repeated("]d20109506000134352", "10ABC\x1d", TEN_MB),
        ),
        (
            "Digital Link",
            repeated("https://id.gs1.org", "/01/09506000134352", TEN_MB),
        ),
        (
            "ISO 15434 envelope",
            repeated("[)>\x1e05\x1d0109506000134352", "10ABC\x1d", TEN_MB),
        ),
        ("garbage", vec![0xFF; TEN_MB]),
    ];
    for (form, bytes) in forms {
        assert!(bytes.len() >= TEN_MB);
        assert_too_long(&bytes, form);
    }
}

/// A bracketed scan of exactly `len` bytes: a GTIN, as many `(91)A` as fit, and a `(92)` value
/// taking up the rest.
fn bracketed_of_len(len: usize) -> String {
    let head = "(01)09506000134352";
    let room = len - head.len() - "(92)".len();
    let tail = room % "(91)A".len() + 60;
    let units = (room - tail) / "(91)A".len();
    let text = format!("{head}{}(92){}", "(91)A".repeat(units), "Z".repeat(tail));
    assert_eq!(text.len(), len);
    text
}

#[test]
fn a_scan_of_exactly_the_cap_is_parsed_whole_and_one_more_byte_is_too_long() {
    let text = bracketed_of_len(MAX_SCAN_BYTES);
    let scan = gs1::parse(text.as_bytes(), &ctx());
    assert!(scan.ok(), "{:?}", scan.errors.first());
    let units = text.matches("(91)A").count();
    assert_eq!(scan.elements.len(), units + 2);
    assert_eq!(
        scan.gtin().map(|g| g.to_string()).as_deref(),
        Some("09506000134352")
    );
    assert!(
        scan.elements[1..=units]
            .iter()
            .all(|e| e.ai.is("91") && e.value == "A")
    );
    assert_eq!(scan.hri(), text);

    assert_too_long(bracketed_of_len(MAX_SCAN_BYTES + 1).as_bytes(), "cap + 1");
}

#[test]
fn a_raw_scan_just_under_the_cap_is_parsed_whole() {
    // Thousands of elements, the most a scan can hold, with every problem collected.
    let mut raw = repeated("]d20109506000134352", "91A\x1d", MAX_SCAN_BYTES - 16);
    raw.extend_from_slice(b"21S1");
    assert!(raw.len() <= MAX_SCAN_BYTES);
    let units = (raw.len() - "]d20109506000134352".len() - "21S1".len()) / "91A\x1d".len();
    let scan = gs1::parse(&raw, &ctx());
    assert!(scan.ok(), "{:?}", scan.errors.first());
    assert_eq!(scan.elements.len(), units + 2);
    assert_eq!(scan.serial(), Some("S1"));

    // The same AI with a different value each time: every repeat is reported, once.
    let mut differing = b"]d20109506000134352".to_vec();
    let repeats = (MAX_SCAN_BYTES - differing.len()) / "910000\x1d".len();
    for i in 0..repeats {
        differing.extend_from_slice(format!("91{i:04}\x1d").as_bytes());
    }
    assert!(differing.len() <= MAX_SCAN_BYTES);
    let scan = gs1::parse(&differing, &ctx());
    assert_eq!(scan.elements.len(), repeats + 1);
    assert_eq!(scan.errors.len(), repeats - 1);
    assert!(scan.errors.iter().all(|e| e.code == ErrorCode::DuplicateAi));
    assert!(
        scan.errors[repeats - 2]
            .message
            .contains(&format!("{:04}", repeats - 1))
    );
}

#[test]
fn cli_answers_a_huge_line_with_one_error_and_reads_on() {
    let dir = tempfile::tempdir().unwrap();
    // 50 MB without a newline, then a pack's scan.
    let mut input = vec![b'7'; 50 * 1024 * 1024];
    input.extend_from_slice(b"\n]d2010950600013435221S1\n");
    let out = tracedesk(&dir.path().join("t.db"), &["parse", "--json"], &input);
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert_eq!(lines[0]["ok"], false);
    assert_eq!(lines[0]["errors"][0]["code"], "too_long");
    assert_eq!(lines[0]["errors"].as_array().map(Vec::len), Some(1));
    assert_eq!(lines[1]["ok"], true, "{}", lines[1]);
    assert_eq!(lines[1]["gtin"], "09506000134352");
    assert_eq!(lines[1]["serial"], "S1");
}
