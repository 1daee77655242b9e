//! Supplier files into the store.
//!
//! Every import is one transaction, streams its input, is idempotent (the same file twice
//! changes nothing the second time) and reports what it did. A malformed line or event fails
//! the whole import with its location, and the store is left exactly as it was: the
//! transaction is never committed.
//!
//! - Product master data: the FDA NDC Directory `product.txt` and `package.txt` as FDA
//!   publishes them (tab-separated, Latin-1/Windows-1252 tolerated), or a CSV with header
//!   `gtin,ndc,name,strength,form,manufacturer`, read by [`ProductReader`]. The format is told
//!   by the header. The two FDA files may be imported in either order: `product.txt` rows are
//!   kept by PRODUCTNDC and join the packages (GTINs) of `package.txt` whenever both are
//!   present. An import sets what its file carries and never erases what it does not: a
//!   `gtin`-only CSV, or a `package.txt` without its `product.txt`, leaves the names,
//!   strengths and manufacturers already known as they are.
//! - Lot recalls: CSV `gtin,lot,reason`, read by [`RecallReader`], the one reader of recall
//!   notices (`import recalls` here, `recall --csv` through [`super::recall`]).
//! - EPCIS documents (any syntax): see [`super::epcis_import`].
//!
//! One file per kind of partner file: [`products`] (the FDA NDC Directory and the product
//! CSV), [`recalls`] (recall notices), and [`units`] (writing announced units, for the EPCIS
//! import, the demo and the generator). This file holds what they share: the bounded record
//! reader that finds columns by header, the errors and the counts.
//!
//! The text readers find columns by header name (any order; case, surrounding spaces and a
//! UTF-8 byte order mark ignored; extra columns ignored) and read the header when they are
//! made, so a front end can refuse a wrong file before it opens, let alone creates, a store.
//! Memory stays bounded whatever the file: a record longer than
//! [`MAX_RECORD_BYTES`](super::bounded::MAX_RECORD_BYTES), a field longer than
//! [`MAX_FIELD_BYTES`] or a NUL byte stops the import at that line ([`super::bounded`]).
//! Values are checked as strictly as a scan's: GTIN check digits, lots as AI 10 allows them,
//! no control characters; one bad value refuses the whole file.

use super::StoreError;
use super::bounded::{Bounded, InputLimit};
use crate::gs1::ai;
use crate::gs1::element::{Ai, Element, validate_value};
use std::fmt;
use std::io::Read;

pub mod products;
pub mod recalls;
pub mod units;

pub use products::ProductReader;
pub(crate) use products::{ProductRow, upsert_product};
pub(crate) use recalls::record_recalls;
pub use recalls::{RecallLine, RecallReader};
pub(crate) use units::{PriorUnit, UnitAnnouncement, UnitWriter};

/// The longest field an import reads, in bytes.
pub const MAX_FIELD_BYTES: usize = 4 * 1024;

/// The longest recall reason kept, in characters: a sentence or two of a recall notice.
pub const MAX_REASON_CHARS: usize = 1000;

/// Why an import failed; the store is unchanged.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ImportError {
    /// A line or event of the file is wrong.
    #[error("{location}: {message}")]
    Malformed { location: String, message: String },
    #[error("reading {source_name}: {source}")]
    Read {
        source_name: String,
        source: std::io::Error,
    },
}

impl ImportError {
    pub(crate) fn at(location: impl Into<String>, message: impl Into<String>) -> ImportError {
        ImportError::Malformed {
            location: location.into(),
            message: message.into(),
        }
    }
}

/// What an import did to one kind of record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ImportCounts {
    pub inserted: u64,
    pub updated: u64,
    pub unchanged: u64,
    /// Records read but not for this store (e.g. excluded NDCs, other sites' shipments).
    pub skipped: u64,
}

impl ImportCounts {
    pub(crate) fn add(&mut self, change: Change) {
        match change {
            Change::Inserted => self.inserted += 1,
            Change::Updated => self.updated += 1,
            Change::Unchanged => self.unchanged += 1,
        }
    }

    pub fn total(&self) -> u64 {
        self.inserted + self.updated + self.unchanged + self.skipped
    }
}

impl fmt::Display for ImportCounts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} inserted, {} updated, {} unchanged, {} skipped",
            self.inserted, self.updated, self.unchanged, self.skipped
        )
    }
}

/// What writing one record did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Change {
    Inserted,
    Updated,
    Unchanged,
}

/// Decode one field: UTF-8 when it is, else Windows-1252 (FDA files are not always UTF-8).
pub(crate) fn decode_field(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(text) => text.trim().to_string(),
        Err(_) => bytes
            .iter()
            .map(|&b| windows_1252(b))
            .collect::<String>()
            .trim()
            .to_string(),
    }
}

fn windows_1252(b: u8) -> char {
    const HIGH: [char; 32] = [
        '€', '\u{81}', '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', '\u{8D}', 'Ž',
        '\u{8F}', '\u{90}', '‘', '’', '“', '”', '•', '–', '—', '˜', '™', 'š', '›', 'œ', '\u{9D}',
        'ž', 'Ÿ',
    ];
    match b {
        0x80..=0x9F => HIGH
            .get(usize::from(b - 0x80))
            .copied()
            .unwrap_or('\u{FFFD}'),
        _ => char::from(b),
    }
}

fn non_empty(s: String) -> Option<String> {
    if s.is_empty() { None } else { Some(s) }
}

fn fields(n: usize) -> String {
    if n == 1 {
        "1 field".to_string()
    } else {
        format!("{n} fields")
    }
}

/// A `csv` error as the user should read it: the line, and what is wrong in plain words.
fn csv_error(source: &str, e: csv::Error) -> ImportError {
    let at =
        |line: u64, message: String| ImportError::at(format!("{source}: line {line}"), message);
    let line = e.position().map_or(0, csv::Position::line);
    match e.kind() {
        csv::ErrorKind::UnequalLengths {
            pos,
            expected_len,
            len,
        } => {
            let line = pos.as_ref().map_or(line, csv::Position::line);
            let len = usize::try_from(*len).unwrap_or(usize::MAX);
            return at(
                line,
                format!("{}, the header has {expected_len}", fields(len)),
            );
        }
        csv::ErrorKind::Io(io) => {
            if let Some(limit) = InputLimit::from_io(io) {
                return at(limit.line(), limit.to_string());
            }
        }
        _ => {}
    }
    let message = e.to_string();
    match e.into_kind() {
        csv::ErrorKind::Io(io) => ImportError::Read {
            source_name: source.to_string(),
            source: io,
        },
        _ => at(line, message),
    }
}

/// A header-led delimited file, read record by record within bounds.
struct Records<'a> {
    source: String,
    reader: csv::Reader<Bounded<Box<dyn Read + 'a>>>,
    /// Column names as the header gives them, decoded and trimmed.
    header: Vec<String>,
    record: csv::ByteRecord,
}

/// One record that is not blank, and where it is.
struct Row<'r> {
    source: &'r str,
    line: u64,
    record: &'r csv::ByteRecord,
}

impl<'a> Records<'a> {
    /// Read the header. `tab`: the FDA dialect (tab-separated, no quoting, rows that may stop
    /// short of the header); else CSV, every row as long as the header.
    fn new(input: Box<dyn Read + 'a>, source: &str, tab: bool) -> Result<Records<'a>, ImportError> {
        let delimiter = if tab { b'\t' } else { b',' };
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(delimiter)
            // FDA fields hold bare quotes ("12" TUBE"), never quoted fields.
            .quoting(!tab)
            .flexible(tab)
            .from_reader(Bounded::new(input, delimiter, !tab));
        let header = reader
            .byte_headers()
            .map_err(|e| csv_error(source, e))?
            .iter()
            .map(|name| {
                decode_field(name)
                    .trim_start_matches('\u{feff}')
                    .trim()
                    .to_string()
            })
            .collect();
        let records = Records {
            source: source.to_string(),
            reader,
            header,
            record: csv::ByteRecord::new(),
        };
        if let Some(long) = records
            .header
            .iter()
            .find(|name| name.len() > MAX_FIELD_BYTES)
        {
            let shown: String = long.chars().take(20).collect();
            return Err(records.at(1, format!("header column \"{shown}...\" is too long")));
        }
        Ok(records)
    }

    fn at(&self, line: u64, message: impl Into<String>) -> ImportError {
        ImportError::at(format!("{}: line {line}", self.source), message)
    }

    fn has(&self, name: &str) -> bool {
        self.header.iter().any(|h| h.eq_ignore_ascii_case(name))
    }

    /// The position of column `name`; a header naming it twice is ambiguous, so refused.
    fn column(&self, name: &str) -> Result<Option<usize>, ImportError> {
        let mut found = self
            .header
            .iter()
            .enumerate()
            .filter(|(_, h)| h.eq_ignore_ascii_case(name))
            .map(|(i, _)| i);
        match (found.next(), found.next()) {
            (Some(_), Some(_)) => Err(self.at(1, format!("the header has two {name} columns"))),
            (first, _) => Ok(first),
        }
    }

    fn require(&self, name: &str) -> Result<usize, ImportError> {
        self.column(name)?
            .ok_or_else(|| self.at(1, format!("the header has no {name} column")))
    }

    /// The next record that is not blank; `None` at the end of the file.
    fn next_row(&mut self) -> Result<Option<Row<'_>>, ImportError> {
        loop {
            let more = self
                .reader
                .read_byte_record(&mut self.record)
                .map_err(|e| csv_error(&self.source, e))?;
            if !more {
                return Ok(None);
            }
            let line = self.record.position().map_or(0, csv::Position::line);
            if self
                .record
                .iter()
                .all(|f| f.iter().all(u8::is_ascii_whitespace))
            {
                continue;
            }
            if let Some(i) = self.record.iter().position(|f| f.len() > MAX_FIELD_BYTES) {
                let name = self
                    .header
                    .get(i)
                    .map_or(String::new(), |h| format!(" ({h})"));
                return Err(self.at(
                    line,
                    format!(
                        "field {}{name} is longer than {MAX_FIELD_BYTES} bytes",
                        i + 1
                    ),
                ));
            }
            return Ok(Some(Row {
                source: &self.source,
                line,
                record: &self.record,
            }));
        }
    }
}

impl Row<'_> {
    fn at(&self, message: impl Into<String>) -> ImportError {
        ImportError::at(format!("{}: line {}", self.source, self.line), message)
    }

    /// The field in column `col` (empty when the column or the field is absent), decoded and
    /// trimmed. Control characters (a line break in a quoted field among them) are refused:
    /// nothing stored from a partner file may carry them into a screen, a label or an event.
    fn text(&self, col: Option<usize>, name: &str) -> Result<String, String> {
        let text = col
            .and_then(|c| self.record.get(c))
            .map(decode_field)
            .unwrap_or_default();
        match text.chars().enumerate().find(|(_, c)| c.is_control()) {
            Some((i, c)) => Err(format!(
                "{name} holds a control character (U+{:04X}) at character {}",
                u32::from(c),
                i + 1
            )),
            None => Ok(text),
        }
    }
}

/// Row errors get the line; SQL errors stay what they are.
fn at_row(e: RowError, row: &Row<'_>) -> StoreError {
    match e {
        RowError::Invalid(message) => row.at(message).into(),
        RowError::Store(e) => e,
    }
}

pub(crate) enum RowError {
    Invalid(String),
    Store(StoreError),
}

impl From<rusqlite::Error> for RowError {
    fn from(e: rusqlite::Error) -> Self {
        RowError::Store(e.into())
    }
}

impl From<StoreError> for RowError {
    fn from(e: StoreError) -> Self {
        RowError::Store(e)
    }
}

/// A lot as a scan would carry it in AI 10: 1 to 20 characters of GS1 character set 82.
fn check_lot(lot: &str) -> Result<(), String> {
    if lot.is_empty() {
        return Err("lot is empty".into());
    }
    let (Some(ai), Some(def)) = (Ai::new(b"10"), ai::lookup("10")) else {
        return Err("AI 10 is missing from the AI table".into());
    };
    let element = Element {
        ai,
        value: lot.to_string(),
        def: Some(def),
    };
    validate_value(&element).map_err(|e| format!("lot: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latin1_fields_decode() {
        assert_eq!(decode_field(b"Caf\xe9"), "Café");
        assert_eq!(decode_field(b"\x93quoted\x94"), "“quoted”");
        assert_eq!(decode_field(" plain ".as_bytes()), "plain");
    }

    #[test]
    fn lots_follow_ai_10() {
        assert_eq!(check_lot("23A45"), Ok(()));
        assert_eq!(check_lot("A-1/B_2.x%\"!"), Ok(()));
        assert_eq!(check_lot(&"L".repeat(20)), Ok(()));
        assert!(check_lot(&"L".repeat(21)).is_err());
        assert!(check_lot("LOT 1").is_err());
        assert!(check_lot("LOTé").is_err());
        assert_eq!(check_lot(""), Err("lot is empty".to_string()));
    }
}
