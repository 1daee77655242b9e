//! Conformance of `tracedesk::gs1::lint` with the GS1 Syntax Engine's own linter unit tests.
//!
//! `gs1-syntax-engine/linter_unit_tests.tsv` lists every `UNIT_TEST_PASS`/`UNIT_TEST_FAIL` of the
//! reference linters: the linter, the component value, the expected `GS1_LINTER_*` result and the
//! expected highlight (`*` around the offending part). Every row must agree on both the result
//! and the highlight.
//!
//! Two kinds of upstream rows need the test harness's help, never an exemption:
//! - rows whose value is the placeholder `data`: upstream builds those buffers in C loops, so the
//!   same buffers are rebuilt here from the loops ([`rebuilt_rows`]);
//! - rows that expect a GS1 Company Prefix register to answer "not allocated" or "offline":
//!   upstream injects a test register, configured per test; the same configuration is given here
//!   ([`register_for`]).

use std::cell::Cell;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use tracedesk::gs1::lint::{GcpLookup, GcpStatus, LintCode, LintContext, Linter, lint_with};

fn vectors_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/vectors/gs1-syntax-engine")
}

/// Undo the TSV escaping: `\\`, `\t`, `\n` and `\xHH`.
fn unescape(field: &str) -> String {
    let mut out = String::with_capacity(field.len());
    let mut chars = field.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('\\') => out.push('\\'),
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some('x') => {
                let hex: String = chars.by_ref().take(2).collect();
                let byte = u8::from_str_radix(&hex, 16).expect("\\xHH escape");
                out.push(char::from(byte));
            }
            other => panic!("unknown escape \\{other:?} in {field:?}"),
        }
    }
    out
}

/// One upstream unit test.
#[derive(Debug, Clone)]
struct Row {
    linter: String,
    value: String,
    /// `GS1_LINTER_OK` or a failure name.
    expected: String,
    /// The value with `*` around the part to blame; empty for passes.
    highlight: String,
    source: String,
}

fn read_rows(path: &Path) -> Vec<Row> {
    let text = std::fs::read_to_string(path).expect("readable vectors");
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .skip(1) // column header
        .map(|line| {
            let fields: Vec<&str> = line.split('\t').collect();
            assert_eq!(fields.len(), 7, "malformed row {line:?}");
            Row {
                linter: fields[0].to_owned(),
                value: unescape(fields[2]),
                expected: fields[3].to_owned(),
                highlight: unescape(fields[4]),
                source: format!("{}:{}", fields[5], fields[6]),
            }
        })
        .collect()
}

/// The buffers upstream builds in C for the `gcppos1`/`gcppos2` tests (GCP_MIN_LENGTH = 4),
/// as (value, expected result, expected highlight).
fn rebuilt_rows(source: &str) -> Option<Vec<(&'static str, &'static str, &'static str)>> {
    const OK: &str = "GS1_LINTER_OK";
    const SHORT: &str = "GS1_LINTER_TOO_SHORT_FOR_GCP";
    const PREFIX: &str = "GS1_LINTER_INVALID_GCP_PREFIX";
    let rows = match source {
        "lint_gcppos1.c:169" => vec![("01234", OK, "")],
        "lint_gcppos1.c:171" => vec![("0123", OK, "")],
        "lint_gcppos1.c:189" => vec![
            ("012", SHORT, "*012*"),
            ("01", SHORT, "*01*"),
            ("0", SHORT, "*0*"),
            ("", SHORT, "**"),
        ],
        "lint_gcppos1.c:199" => vec![("0123A", OK, "")],
        "lint_gcppos1.c:216" => vec![
            ("012AA", PREFIX, "012*A*A"),
            ("01AAA", PREFIX, "01*A*AA"),
            ("0AAAA", PREFIX, "0*A*AAA"),
            ("AAAAA", PREFIX, "*A*AAAA"),
        ],
        "lint_gcppos2.c:114" => vec![("I01234", OK, "")],
        "lint_gcppos2.c:116" => vec![("I0123", OK, "")],
        "lint_gcppos2.c:134" => vec![
            ("I012", SHORT, "I*012*"),
            ("I01", SHORT, "I*01*"),
            ("I0", SHORT, "I*0*"),
        ],
        "lint_gcppos2.c:150" => vec![("I", SHORT, "*I*"), ("", SHORT, "**")],
        "lint_gcppos2.c:161" => vec![("I0123A", OK, "")],
        "lint_gcppos2.c:178" => vec![
            ("I012AA", PREFIX, "I012*A*A"),
            ("I01AAA", PREFIX, "I01*A*AA"),
            ("I0AAAA", PREFIX, "I0*A*AAA"),
            ("IAAAAA", PREFIX, "I*A*AAAA"),
        ],
        _ => return None,
    };
    Some(rows)
}

/// Upstream's test register: answers "allocated" for the first `countdown` prefixes it is asked
/// about, then `status`.
struct TestRegister {
    status: GcpStatus,
    countdown: Cell<u32>,
}

impl GcpLookup for TestRegister {
    fn status(&self, _component: &str) -> GcpStatus {
        match self.countdown.get() {
            0 => self.status,
            n => {
                self.countdown.set(n - 1);
                GcpStatus::Allocated
            }
        }
    }
}

/// How upstream configured its test register for the rows that need one. The coupon rows with a
/// countdown of 1 let the coupon's first company prefix through and fail the second.
fn register_for(source: &str) -> Option<TestRegister> {
    use GcpStatus::{NotAllocated, Unavailable};
    let (status, countdown) = match source {
        "lint_gcppos1.c:221" | "lint_gcppos2.c:183" | "lint_couponcode.c:1431" => (NotAllocated, 0),
        "lint_gcppos1.c:223" | "lint_gcppos2.c:185" | "lint_couponcode.c:1433" => (Unavailable, 0),
        "lint_couponcode.c:1438" | "lint_couponcode.c:1446" | "lint_couponcode.c:1454" => {
            (NotAllocated, 1)
        }
        "lint_couponcode.c:1441" | "lint_couponcode.c:1449" | "lint_couponcode.c:1457" => {
            (Unavailable, 1)
        }
        _ => return None,
    };
    Some(TestRegister {
        status,
        countdown: Cell::new(countdown),
    })
}

/// Rows that cannot be reproduced, with the reason. Any other disagreement fails the test.
const NOT_REPRODUCIBLE: &[(&str, &str)] = &[];

/// Run one case and describe any disagreement.
fn check(
    linter: Linter,
    value: &str,
    expected: &str,
    highlight: &str,
    context: &LintContext<'_>,
) -> Result<(), String> {
    let (got, got_highlight) = match lint_with(linter, value, context) {
        Ok(()) => ("GS1_LINTER_OK", String::new()),
        Err(error) => {
            let span = error.span.clone();
            let marked = match (
                value.get(..span.start),
                value.get(span.clone()),
                value.get(span.end..),
            ) {
                (Some(before), Some(bad), Some(after)) => format!("{before}*{bad}*{after}"),
                _ => return Err(format!("span {span:?} is not on character boundaries")),
            };
            (error.code.gs1_name(), marked)
        }
    };
    if got != expected || got_highlight != highlight {
        return Err(format!(
            "{linter} on {value:?}: expected {expected} {highlight:?}, got {got} {got_highlight:?}"
        ));
    }
    Ok(())
}

#[test]
fn linter_unit_tests_from_the_gs1_syntax_engine() {
    let path = vectors_dir().join("linter_unit_tests.tsv");
    if !path.exists() {
        eprintln!("skipping: {} not found", path.display());
        return;
    }
    let rows = read_rows(&path);
    assert!(rows.len() > 5000, "only {} rows read", rows.len());

    // linter name -> (agreed, run)
    let mut tally: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    let mut failures = Vec::new();
    let mut exempted = Vec::new();

    for row in &rows {
        let linter = Linter::from_name(&row.linter)
            .unwrap_or_else(|| panic!("{}: unknown linter {}", row.source, row.linter));
        if row.expected != "GS1_LINTER_OK" {
            assert!(
                LintCode::from_gs1_name(&row.expected).is_some(),
                "{}: no LintCode for {}",
                row.source,
                row.expected
            );
        }
        let cases: Vec<(String, String, String)> = match rebuilt_rows(&row.source) {
            Some(rebuilt) => {
                assert_eq!(
                    row.value, "data",
                    "{} is no longer a placeholder row",
                    row.source
                );
                assert!(
                    rebuilt.iter().all(|case| case.1 == row.expected),
                    "{}",
                    row.source
                );
                rebuilt
                    .into_iter()
                    .map(|(value, expected, highlight)| {
                        (value.into(), expected.into(), highlight.into())
                    })
                    .collect()
            }
            None => vec![(
                row.value.clone(),
                row.expected.clone(),
                row.highlight.clone(),
            )],
        };
        for (value, expected, highlight) in cases {
            let register = register_for(&row.source);
            let context = LintContext {
                gcp_lookup: register.as_ref().map(|r| r as &dyn GcpLookup),
                ..LintContext::default()
            };
            let entry = tally.entry(row.linter.clone()).or_default();
            entry.1 += 1;
            match check(linter, &value, &expected, &highlight, &context) {
                Ok(()) => entry.0 += 1,
                Err(why) => match NOT_REPRODUCIBLE
                    .iter()
                    .find(|(source, _)| *source == row.source)
                {
                    Some((_, reason)) => exempted.push(format!("{}: {why} ({reason})", row.source)),
                    None => failures.push(format!("{}: {why}", row.source)),
                },
            }
        }
    }

    let (agreed, run) = tally
        .values()
        .fold((0, 0), |acc, t| (acc.0 + t.0, acc.1 + t.1));
    for (linter, (ok, total)) in &tally {
        eprintln!("{linter:>16}: {ok:>4}/{total:<4}");
    }
    eprintln!(
        "{:>16}: {agreed:>4}/{run:<4} ({} upstream rows)",
        "total",
        rows.len()
    );
    for line in &exempted {
        eprintln!("not reproducible: {line}");
    }
    assert!(
        failures.is_empty(),
        "{} disagreements:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert_eq!(tally.len(), Linter::ALL.len(), "every linter is exercised");
}
