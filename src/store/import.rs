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
//! - EPCIS 2.0 JSON-LD documents: see [`super::epcis_import`].
//!
//! The text readers find columns by header name (any order; case, surrounding spaces and a
//! UTF-8 byte order mark ignored; extra columns ignored) and read the header when they are
//! made, so a front end can refuse a wrong file before it opens, let alone creates, a store.
//! Memory stays bounded whatever the file: a record longer than
//! [`MAX_RECORD_BYTES`](super::bounded::MAX_RECORD_BYTES), a field longer than
//! [`MAX_FIELD_BYTES`] or a NUL byte stops the import at that line ([`super::bounded`]).
//! Values are checked as strictly as a scan's: GTIN check digits, lots as AI 10 allows them,
//! no control characters; one bad value refuses the whole file.

use super::bounded::{Bounded, InputLimit, MAX_RECORD_BYTES};
use super::{StoreError, gtin_key};
use crate::gs1::ai;
use crate::gs1::element::{Ai, Element, validate_value};
use crate::gs1::{Gtin, Ndc};
use crate::verify::UnitStatus;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use std::fmt;
use std::io::{BufRead, BufReader, Cursor, Read};

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

/// One line of a recall notice, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecallLine {
    pub line: u64,
    pub gtin: Gtin,
    pub lot: String,
    pub reason: String,
}

/// The one reader of recall notices: CSV with header `gtin,lot,reason` (`reason` optional).
/// Made from a file, it has read and checked the header; each line is checked as a scan's
/// values would be (GTIN check digit, lot per AI 10, reason at most [`MAX_REASON_CHARS`]).
pub struct RecallReader<'a> {
    records: Records<'a>,
    gtin: usize,
    lot: usize,
    reason: Option<usize>,
}

impl<'a> RecallReader<'a> {
    /// Read the header of a recall notice; `source` names it in messages.
    pub fn new(input: impl Read + 'a, source: &str) -> Result<RecallReader<'a>, ImportError> {
        let records = Records::new(Box::new(input), source, false)?;
        Ok(RecallReader {
            gtin: records.require("gtin")?,
            lot: records.require("lot")?,
            reason: records.column("reason")?,
            records,
        })
    }

    /// The next line, checked; `None` at the end of the notice.
    pub fn next_line(&mut self) -> Result<Option<RecallLine>, ImportError> {
        let (gtin_col, lot_col, reason_col) = (self.gtin, self.lot, self.reason);
        let Some(row) = self.records.next_row()? else {
            return Ok(None);
        };
        let check = || -> Result<RecallLine, String> {
            let gtin = Gtin::parse(&row.text(Some(gtin_col), "gtin")?)
                .map_err(|e| format!("gtin: {e}"))?;
            let lot = row.text(Some(lot_col), "lot")?;
            check_lot(&lot)?;
            let reason = row.text(reason_col, "reason")?;
            if reason.chars().count() > MAX_REASON_CHARS {
                return Err(format!(
                    "reason is longer than {MAX_REASON_CHARS} characters"
                ));
            }
            Ok(RecallLine {
                line: row.line,
                gtin,
                lot,
                reason,
            })
        };
        check().map(Some).map_err(|message| row.at(message))
    }
}

impl Iterator for RecallReader<'_> {
    type Item = Result<RecallLine, ImportError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_line().transpose()
    }
}

/// Record each line of `notice` as a lot recall, calling `each` after it; the caller owns the
/// transaction, so a bad line anywhere leaves nothing.
pub(crate) fn record_recalls(
    conn: &Connection,
    notice: RecallReader<'_>,
    mut each: impl FnMut(&RecallLine) -> Result<(), StoreError>,
) -> Result<ImportCounts, StoreError> {
    let mut counts = ImportCounts::default();
    for line in notice {
        let line = line?;
        let key = gtin_key(&line.gtin);
        let existing: Option<String> = conn
            .prepare_cached("SELECT reason FROM lot_recalls WHERE gtin = ?1 AND lot = ?2")?
            .query_row(params![key, line.lot], |r| r.get(0))
            .optional()?;
        let change = match existing {
            None => {
                conn.prepare_cached(
                    "INSERT INTO lot_recalls (gtin, lot, reason) VALUES (?1, ?2, ?3)",
                )?
                .execute(params![key, line.lot, line.reason])?;
                Change::Inserted
            }
            Some(old) if old == line.reason => Change::Unchanged,
            Some(_) => {
                conn.prepare_cached(
                    "UPDATE lot_recalls SET reason = ?3 WHERE gtin = ?1 AND lot = ?2",
                )?
                .execute(params![key, line.lot, line.reason])?;
                Change::Updated
            }
        };
        counts.add(change);
        each(&line)?;
    }
    Ok(counts)
}

/// Where each column of a product file is, by format.
enum ProductColumns {
    FdaProduct(FdaProductColumns),
    FdaPackage(FdaPackageColumns),
    Csv(CsvColumns),
}

/// A product master data file (FDA `product.txt` or `package.txt`, or the product CSV), its
/// header read and its format told.
pub struct ProductReader<'a> {
    records: Records<'a>,
    columns: ProductColumns,
}

impl<'a> ProductReader<'a> {
    /// Read the header and tell the format; `source` names the file in messages.
    pub fn new(input: impl Read + 'a, source: &str) -> Result<ProductReader<'a>, ImportError> {
        // The header line tells the delimiter: FDA files are tab-separated. It is read within
        // the record bound and handed on to the parser, which checks it again.
        let mut input = BufReader::new(input);
        let mut first = Vec::new();
        (&mut input)
            .take(MAX_RECORD_BYTES as u64 + 1)
            .read_until(b'\n', &mut first)
            .map_err(|e| ImportError::Read {
                source_name: source.to_string(),
                source: e,
            })?;
        let tab = first.contains(&b'\t');
        let records = Records::new(Box::new(Cursor::new(first).chain(input)), source, tab)?;
        let columns = if records.has("NDCPACKAGECODE") {
            ProductColumns::FdaPackage(FdaPackageColumns::new(&records)?)
        } else if records.has("PRODUCTNDC") && records.has("PROPRIETARYNAME") {
            ProductColumns::FdaProduct(FdaProductColumns::new(&records)?)
        } else if records.has("gtin") {
            ProductColumns::Csv(CsvColumns::new(&records)?)
        } else {
            return Err(records.at(
                1,
                "not a product file: expected the FDA NDC Directory product.txt or package.txt \
                 header, or the CSV header gtin,ndc,name,strength,form,manufacturer",
            ));
        };
        Ok(ProductReader { records, columns })
    }
}

impl super::Store {
    /// Import product master data (FDA `product.txt` / `package.txt`, or the product CSV).
    /// `source` names the input in messages.
    pub fn import_products(
        &mut self,
        input: impl Read,
        source: &str,
    ) -> Result<ImportCounts, StoreError> {
        self.import_products_from(ProductReader::new(input, source)?)
    }

    /// Import a product file whose header has been read.
    pub fn import_products_from(
        &mut self,
        mut file: ProductReader<'_>,
    ) -> Result<ImportCounts, StoreError> {
        let tx = self
            .conn_mut()
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut counts = ImportCounts::default();
        while let Some(row) = file.records.next_row()? {
            let change = match &file.columns {
                ProductColumns::FdaProduct(cols) => import_fda_product(&tx, cols, &row),
                ProductColumns::FdaPackage(cols) => import_fda_package(&tx, cols, &row),
                ProductColumns::Csv(cols) => import_csv_product(&tx, cols, &row),
            }
            .map_err(|e| at_row(e, &row))?;
            match change {
                Some(change) => counts.add(change),
                None => counts.skipped += 1,
            }
        }
        tx.commit()?;
        Ok(counts)
    }

    /// Import lot recalls from a CSV with header `gtin,lot,reason`.
    pub fn import_recalls(
        &mut self,
        input: impl Read,
        source: &str,
    ) -> Result<ImportCounts, StoreError> {
        self.import_recalls_from(RecallReader::new(input, source)?)
    }

    /// Import a recall notice whose header has been read.
    pub fn import_recalls_from(
        &mut self,
        notice: RecallReader<'_>,
    ) -> Result<ImportCounts, StoreError> {
        let tx = self
            .conn_mut()
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let counts = record_recalls(&tx, notice, |_| Ok(()))?;
        tx.commit()?;
        Ok(counts)
    }
}

struct FdaProductColumns {
    product_ndc: usize,
    proprietary: Option<usize>,
    suffix: Option<usize>,
    nonproprietary: Option<usize>,
    form: Option<usize>,
    labeler: Option<usize>,
    strength: Option<usize>,
    unit: Option<usize>,
    exclude: Option<usize>,
}

impl FdaProductColumns {
    fn new(c: &Records<'_>) -> Result<FdaProductColumns, ImportError> {
        Ok(FdaProductColumns {
            product_ndc: c.require("PRODUCTNDC")?,
            proprietary: c.column("PROPRIETARYNAME")?,
            suffix: c.column("PROPRIETARYNAMESUFFIX")?,
            nonproprietary: c.column("NONPROPRIETARYNAME")?,
            form: c.column("DOSAGEFORMNAME")?,
            labeler: c.column("LABELERNAME")?,
            strength: c.column("ACTIVE_NUMERATOR_STRENGTH")?,
            unit: c.column("ACTIVE_INGRED_UNIT")?,
            exclude: c.column("NDC_EXCLUDE_FLAG")?,
        })
    }
}

struct FdaPackageColumns {
    product_ndc: usize,
    package_code: usize,
    exclude: Option<usize>,
}

impl FdaPackageColumns {
    fn new(c: &Records<'_>) -> Result<FdaPackageColumns, ImportError> {
        Ok(FdaPackageColumns {
            product_ndc: c.require("PRODUCTNDC")?,
            package_code: c.require("NDCPACKAGECODE")?,
            exclude: c.column("NDC_EXCLUDE_FLAG")?,
        })
    }
}

struct CsvColumns {
    gtin: usize,
    ndc: Option<usize>,
    name: Option<usize>,
    strength: Option<usize>,
    form: Option<usize>,
    manufacturer: Option<usize>,
}

impl CsvColumns {
    fn new(c: &Records<'_>) -> Result<CsvColumns, ImportError> {
        Ok(CsvColumns {
            gtin: c.require("gtin")?,
            ndc: c.column("ndc")?,
            name: c.column("name")?,
            strength: c.column("strength")?,
            form: c.column("form")?,
            manufacturer: c.column("manufacturer")?,
        })
    }
}

/// Product-level facts (name, strength, form, manufacturer) shared by every package; `None`
/// where the source said nothing.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
struct ProductFacts {
    name: Option<String>,
    strength: Option<String>,
    form: Option<String>,
    manufacturer: Option<String>,
}

impl ProductFacts {
    /// These facts laid over `old`: what a source does not carry keeps its known value.
    fn over(self, old: ProductFacts) -> ProductFacts {
        ProductFacts {
            name: self.name.or(old.name),
            strength: self.strength.or(old.strength),
            form: self.form.or(old.form),
            manufacturer: self.manufacturer.or(old.manufacturer),
        }
    }
}

/// Multi-ingredient strengths come as parallel `;`-separated lists: "5; 325" and "mg/1; mg/1".
fn strength(numerators: &str, units: &str) -> Option<String> {
    if numerators.is_empty() {
        return None;
    }
    let nums: Vec<&str> = numerators.split(';').map(str::trim).collect();
    let units: Vec<&str> = units.split(';').map(str::trim).collect();
    let parts: Vec<String> = nums
        .iter()
        .enumerate()
        .map(|(i, n)| match units.get(i) {
            Some(u) if !u.is_empty() => format!("{n} {u}"),
            _ => (*n).to_string(),
        })
        .collect();
    Some(parts.join("; "))
}

fn excluded(row: &Row<'_>, col: Option<usize>) -> Result<bool, RowError> {
    // "E" = excluded from the directory (not a marketed drug); "N" and "Y" are listed.
    let flag = row
        .text(col, "NDC_EXCLUDE_FLAG")
        .map_err(RowError::Invalid)?;
    Ok(flag.eq_ignore_ascii_case("E"))
}

fn import_fda_product(
    conn: &Connection,
    cols: &FdaProductColumns,
    row: &Row<'_>,
) -> Result<Option<Change>, RowError> {
    let text = |col: Option<usize>, name: &str| row.text(col, name).map_err(RowError::Invalid);
    let product_ndc = text(Some(cols.product_ndc), "PRODUCTNDC")?;
    if !valid_product_ndc(&product_ndc) {
        return Err(RowError::Invalid(format!(
            "PRODUCTNDC \"{product_ndc}\" is not a labeler-product code like 0002-1433"
        )));
    }
    if excluded(row, cols.exclude)? {
        return Ok(None);
    }
    let mut name = text(cols.proprietary, "PROPRIETARYNAME")?;
    let suffix = text(cols.suffix, "PROPRIETARYNAMESUFFIX")?;
    if !suffix.is_empty() {
        name = format!("{name} {suffix}");
    }
    if name.is_empty() {
        name = text(cols.nonproprietary, "NONPROPRIETARYNAME")?;
    }
    let facts = ProductFacts {
        name: non_empty(name),
        strength: strength(
            &text(cols.strength, "ACTIVE_NUMERATOR_STRENGTH")?,
            &text(cols.unit, "ACTIVE_INGRED_UNIT")?,
        ),
        form: non_empty(text(cols.form, "DOSAGEFORMNAME")?),
        manufacturer: non_empty(text(cols.labeler, "LABELERNAME")?),
    };
    let existing = fda_facts(conn, &product_ndc)?;
    let (change, facts) = match existing {
        Some(old) => {
            let merged = facts.over(old.clone());
            if merged == old {
                return Ok(Some(Change::Unchanged));
            }
            (Change::Updated, merged)
        }
        None => (Change::Inserted, facts),
    };
    conn.prepare_cached(
        "INSERT INTO fda_products (product_ndc, name, strength, form, manufacturer)
         VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT(product_ndc) DO UPDATE SET name = excluded.name,
            strength = excluded.strength, form = excluded.form,
            manufacturer = excluded.manufacturer",
    )?
    .execute(params![
        product_ndc,
        facts.name,
        facts.strength,
        facts.form,
        facts.manufacturer
    ])?;
    // Packages imported earlier get the product's facts now, where it has them.
    conn.prepare_cached(
        "UPDATE products SET name = coalesce(?2, name), strength = coalesce(?3, strength),
            form = coalesce(?4, form), manufacturer = coalesce(?5, manufacturer)
         WHERE product_ndc = ?1",
    )?
    .execute(params![
        product_ndc,
        facts.name,
        facts.strength,
        facts.form,
        facts.manufacturer
    ])?;
    Ok(Some(change))
}

fn fda_facts(conn: &Connection, product_ndc: &str) -> Result<Option<ProductFacts>, RowError> {
    Ok(conn
        .prepare_cached(
            "SELECT name, strength, form, manufacturer FROM fda_products WHERE product_ndc = ?1",
        )?
        .query_row([product_ndc], |r| {
            Ok(ProductFacts {
                name: r.get(0)?,
                strength: r.get(1)?,
                form: r.get(2)?,
                manufacturer: r.get(3)?,
            })
        })
        .optional()?)
}

fn valid_product_ndc(text: &str) -> bool {
    let parts: Vec<&str> = text.split('-').collect();
    matches!(parts.as_slice(), [a, b]
        if matches!((a.len(), b.len()), (4, 4) | (5, 3) | (5, 4))
        && a.bytes().chain(b.bytes()).all(|c| c.is_ascii_digit()))
}

fn import_fda_package(
    conn: &Connection,
    cols: &FdaPackageColumns,
    row: &Row<'_>,
) -> Result<Option<Change>, RowError> {
    let text = |col: usize, name: &str| row.text(Some(col), name).map_err(RowError::Invalid);
    let code = text(cols.package_code, "NDCPACKAGECODE")?;
    let ndc = Ndc::parse(&code).map_err(|e| RowError::Invalid(format!("NDCPACKAGECODE: {e}")))?;
    if ndc.layout().is_none() {
        return Err(RowError::Invalid(format!(
            "NDCPACKAGECODE \"{code}\" has no dashes: its labeler-product-package layout is needed"
        )));
    }
    let product_ndc = text(cols.product_ndc, "PRODUCTNDC")?;
    // The package code is the product code plus the package part; a row where they disagree
    // would join this GTIN to another product's name.
    let of_product = code
        .strip_prefix(product_ndc.as_str())
        .is_some_and(|rest| rest.starts_with('-'));
    if !valid_product_ndc(&product_ndc) || !of_product {
        return Err(RowError::Invalid(format!(
            "PRODUCTNDC \"{product_ndc}\" is not the labeler-product part of NDCPACKAGECODE \
             \"{code}\""
        )));
    }
    if excluded(row, cols.exclude)? {
        return Ok(None);
    }
    let facts = fda_facts(conn, &product_ndc)?.unwrap_or_default();
    let gtin = Gtin::from_ndc(&ndc, 0);
    let product = ProductRow {
        ndc: Some(ndc.to_string()),
        product_ndc: Some(product_ndc),
        facts,
    };
    Ok(Some(upsert_product(conn, &gtin, &product)?))
}

fn import_csv_product(
    conn: &Connection,
    cols: &CsvColumns,
    row: &Row<'_>,
) -> Result<Option<Change>, RowError> {
    let text = |col: Option<usize>, name: &str| row.text(col, name).map_err(RowError::Invalid);
    let gtin_text = text(Some(cols.gtin), "gtin")?;
    let ndc_text = text(cols.ndc, "ndc")?;
    let ndc = if ndc_text.is_empty() {
        None
    } else {
        Some(Ndc::parse(&ndc_text).map_err(|e| RowError::Invalid(format!("ndc: {e}")))?)
    };
    let gtin = match (gtin_text.is_empty(), &ndc) {
        (false, _) => {
            Gtin::parse(&gtin_text).map_err(|e| RowError::Invalid(format!("gtin: {e}")))?
        }
        (true, Some(ndc)) => Gtin::from_ndc(ndc, 0),
        (true, None) => return Err(RowError::Invalid("gtin and ndc are both empty".into())),
    };
    if let (Some(ndc), Some(carried)) = (&ndc, gtin.ndc())
        && ndc.digits() != carried.digits()
    {
        return Err(RowError::Invalid(format!(
            "ndc {ndc} does not match GTIN {gtin} (which carries NDC {carried})"
        )));
    }
    let product = ProductRow {
        ndc: ndc.map(|n| n.to_string()),
        product_ndc: None,
        facts: ProductFacts {
            name: non_empty(text(cols.name, "name")?),
            strength: non_empty(text(cols.strength, "strength")?),
            form: non_empty(text(cols.form, "form")?),
            manufacturer: non_empty(text(cols.manufacturer, "manufacturer")?),
        },
    };
    Ok(Some(upsert_product(conn, &gtin, &product)?))
}

/// Product master data as one source states it; `None` where it says nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ProductRow {
    ndc: Option<String>,
    product_ndc: Option<String>,
    facts: ProductFacts,
}

impl ProductRow {
    pub(crate) fn new(
        ndc: Option<String>,
        name: &str,
        strength: &str,
        form: &str,
        manufacturer: &str,
    ) -> ProductRow {
        ProductRow {
            ndc,
            product_ndc: None,
            facts: ProductFacts {
                name: non_empty(name.to_string()),
                strength: non_empty(strength.to_string()),
                form: non_empty(form.to_string()),
                manufacturer: non_empty(manufacturer.to_string()),
            },
        }
    }

    /// This row laid over `old`: what this source does not carry keeps its known value.
    fn over(self, old: ProductRow) -> ProductRow {
        ProductRow {
            ndc: self.ndc.or(old.ndc),
            product_ndc: self.product_ndc.or(old.product_ndc),
            facts: self.facts.over(old.facts),
        }
    }
}

/// Store what `row` carries for `gtin`, keeping every value it leaves out: a partial file
/// (a `gtin`-only CSV, a `package.txt` alone) must never erase master data.
pub(crate) fn upsert_product(
    conn: &Connection,
    gtin: &Gtin,
    row: &ProductRow,
) -> Result<Change, StoreError> {
    let existing: Option<ProductRow> = conn
        .prepare_cached(
            "SELECT ndc, product_ndc, name, strength, form, manufacturer FROM products
             WHERE gtin = ?1",
        )?
        .query_row([gtin_key(gtin)], |r| {
            Ok(ProductRow {
                ndc: r.get(0)?,
                product_ndc: r.get(1)?,
                facts: ProductFacts {
                    name: r.get(2)?,
                    strength: r.get(3)?,
                    form: r.get(4)?,
                    manufacturer: r.get(5)?,
                },
            })
        })
        .optional()?;
    let (change, row) = match existing {
        Some(old) => {
            let merged = row.clone().over(old.clone());
            if merged == old {
                return Ok(Change::Unchanged);
            }
            (Change::Updated, merged)
        }
        None => (Change::Inserted, row.clone()),
    };
    conn.prepare_cached(
        "INSERT INTO products (gtin, ndc, product_ndc, name, strength, form, manufacturer)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT(gtin) DO UPDATE SET ndc = excluded.ndc, product_ndc = excluded.product_ndc,
            name = excluded.name, strength = excluded.strength, form = excluded.form,
            manufacturer = excluded.manufacturer",
    )?
    .execute(params![
        gtin_key(gtin),
        row.ndc,
        row.product_ndc,
        row.facts.name,
        row.facts.strength,
        row.facts.form,
        row.facts.manufacturer
    ])?;
    Ok(change)
}

/// Writes announced units, remembering the last lot row so that units arriving grouped by lot
/// (as commissioning events and generated data do) cost one lot lookup per lot, not per unit.
pub(crate) struct UnitWriter {
    last_lot: Option<(i64, String, String, i64)>,
}

/// One unit as an event or generator announces it; `None` fields leave what is stored.
#[derive(Debug, Clone, Copy)]
pub(crate) struct UnitAnnouncement<'a> {
    pub gtin: i64,
    pub serial: &'a str,
    /// `(lot, ISO expiry)`; either may be empty when unknown.
    pub lot: Option<(&'a str, &'a str)>,
    pub status: Option<UnitStatus>,
    pub shipment: Option<i64>,
}

impl UnitWriter {
    pub(crate) fn new() -> UnitWriter {
        UnitWriter { last_lot: None }
    }

    fn lot_id(
        &mut self,
        conn: &Connection,
        gtin: i64,
        lot: &str,
        expiry: &str,
    ) -> Result<i64, StoreError> {
        if let Some((g, l, e, id)) = &self.last_lot
            && *g == gtin
            && l == lot
            && e == expiry
        {
            return Ok(*id);
        }
        let found: Option<i64> = conn
            .prepare_cached("SELECT id FROM lots WHERE gtin = ?1 AND lot = ?2 AND expiry = ?3")?
            .query_row(params![gtin, lot, expiry], |r| r.get(0))
            .optional()?;
        let id = match found {
            Some(id) => id,
            None => {
                conn.prepare_cached("INSERT INTO lots (gtin, lot, expiry) VALUES (?1, ?2, ?3)")?
                    .execute(params![gtin, lot, expiry])?;
                conn.last_insert_rowid()
            }
        };
        self.last_lot = Some((gtin, lot.to_string(), expiry.to_string(), id));
        Ok(id)
    }

    /// Insert or update one unit. A new unit without a status is active.
    pub(crate) fn write(
        &mut self,
        conn: &Connection,
        unit: &UnitAnnouncement<'_>,
    ) -> Result<Change, StoreError> {
        self.write_tracked(conn, unit).map(|(change, _)| change)
    }

    /// [`Self::write`], also giving what an updated unit held before (for an import's undo).
    pub(crate) fn write_tracked(
        &mut self,
        conn: &Connection,
        unit: &UnitAnnouncement<'_>,
    ) -> Result<(Change, Option<PriorUnit>), StoreError> {
        let lot = match unit.lot {
            Some((lot, expiry)) => Some(self.lot_id(conn, unit.gtin, lot, expiry)?),
            None => None,
        };
        // Insert first: in a bulk announcement almost every unit is new, and a conflict-free
        // insert costs one b-tree descent where look-then-insert costs two.
        let inserted = conn
            .prepare_cached(
                "INSERT INTO units (gtin, serial, lot, status, shipment)
                 VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (gtin, serial) DO NOTHING",
            )?
            .execute(params![
                unit.gtin,
                unit.serial,
                lot,
                unit.status.unwrap_or_default().code(),
                unit.shipment
            ])?;
        if inserted > 0 {
            return Ok((Change::Inserted, None));
        }
        let old: (Option<i64>, u8, Option<i64>) = conn
            .prepare_cached(
                "SELECT lot, status, shipment FROM units WHERE gtin = ?1 AND serial = ?2",
            )?
            .query_row(params![unit.gtin, unit.serial], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })?;
        let new = (
            lot.or(old.0),
            unit.status.map(UnitStatus::code).unwrap_or(old.1),
            unit.shipment.or(old.2),
        );
        if new == old {
            return Ok((Change::Unchanged, None));
        }
        conn.prepare_cached(
            "UPDATE units SET lot = ?3, status = ?4, shipment = ?5
             WHERE gtin = ?1 AND serial = ?2",
        )?
        .execute(params![unit.gtin, unit.serial, new.0, new.1, new.2])?;
        Ok((
            Change::Updated,
            Some(PriorUnit {
                lot: old.0,
                status: old.1,
                shipment: old.2,
            }),
        ))
    }
}

/// What a unit row held before an update.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PriorUnit {
    pub lot: Option<i64>,
    pub status: u8,
    pub shipment: Option<i64>,
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
    fn multi_ingredient_strengths_pair_up() {
        assert_eq!(
            strength("5; 325", "mg/1; mg/1").as_deref(),
            Some("5 mg/1; 325 mg/1")
        );
        assert_eq!(strength("10", "").as_deref(), Some("10"));
        assert_eq!(strength("", "mg"), None);
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

    #[test]
    fn a_row_laid_over_another_keeps_what_it_leaves_out() {
        let known = ProductRow::new(
            Some("59999-101-01".into()),
            "Amoxicillin",
            "500 mg",
            "",
            "Demo",
        );
        let partial = ProductRow::new(None, "Amoxicillin Trihydrate", "", "CAPSULE", "");
        assert_eq!(
            partial.over(known),
            ProductRow::new(
                Some("59999-101-01".into()),
                "Amoxicillin Trihydrate",
                "500 mg",
                "CAPSULE",
                "Demo"
            )
        );
    }

    #[test]
    fn product_ndcs() {
        assert!(valid_product_ndc("0002-1433"));
        assert!(valid_product_ndc("50090-123"));
        assert!(valid_product_ndc("50090-1234"));
        assert!(!valid_product_ndc("0002-1433-80"));
        assert!(!valid_product_ndc("00a2-1433"));
    }
}
