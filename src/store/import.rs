//! Supplier files into the store.
//!
//! Every import is one transaction, streams its input (memory does not grow with the file),
//! is idempotent (the same file twice changes nothing the second time) and reports what it did.
//! A malformed line or event fails the whole import with its location, and the store is left
//! exactly as it was: the transaction is never committed.
//!
//! - Product master data: the FDA NDC Directory `product.txt` and `package.txt` as FDA
//!   publishes them (tab-separated, Latin-1/Windows-1252 tolerated), or a CSV with header
//!   `gtin,ndc,name,strength,form,manufacturer`. The format is told by the header. The two FDA
//!   files may be imported in either order: `product.txt` rows are kept by PRODUCTNDC and join
//!   the packages (GTINs) of `package.txt` whenever both are present.
//! - Lot recalls: CSV `gtin,lot,reason`.
//! - EPCIS 2.0 JSON-LD documents: see [`super::epcis_import`].

use super::{StoreError, gtin_key};
use crate::gs1::{Gtin, Ndc};
use crate::verify::UnitStatus;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use std::fmt;
use std::io::Read;

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

/// The kinds of product file, told by the header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ProductFormat {
    FdaProduct,
    FdaPackage,
    Csv,
}

/// Column positions found by name in a header.
struct Columns(Vec<String>);

impl Columns {
    fn find(&self, name: &str) -> Option<usize> {
        self.0.iter().position(|c| c.eq_ignore_ascii_case(name))
    }

    fn require(&self, name: &str, source: &str) -> Result<usize, ImportError> {
        self.find(name).ok_or_else(|| {
            ImportError::at(
                format!("{source}: line 1"),
                format!("the header has no {name} column"),
            )
        })
    }
}

fn field(record: &csv::ByteRecord, col: Option<usize>) -> String {
    col.and_then(|c| record.get(c))
        .map(decode_field)
        .unwrap_or_default()
}

fn read_error(source: &str) -> impl Fn(csv::Error) -> ImportError + '_ {
    move |e| {
        let line = e.position().map(|p| p.line()).unwrap_or(0);
        match e.into_kind() {
            csv::ErrorKind::Io(io) => ImportError::Read {
                source_name: source.to_string(),
                source: io,
            },
            other => ImportError::at(format!("{source}: line {line}"), format!("{other:?}")),
        }
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
        // Sniff the delimiter from the header line: FDA files are tab-separated.
        let mut input = std::io::BufReader::with_capacity(1 << 16, input);
        let header_line = {
            use std::io::BufRead;
            let buf = input.fill_buf().map_err(|e| ImportError::Read {
                source_name: source.to_string(),
                source: e,
            })?;
            let end = buf.iter().position(|&b| b == b'\n').unwrap_or(buf.len());
            decode_field(buf.get(..end).unwrap_or_default())
        };
        let tab = header_line.contains('\t');
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(if tab { b'\t' } else { b',' })
            // FDA fields hold bare quotes ("12" TUBE"), never quoted fields.
            .quoting(!tab)
            .flexible(tab)
            .from_reader(input);
        let header = reader.byte_headers().map_err(read_error(source))?.clone();
        let columns = Columns(header.iter().map(decode_field).collect());
        let format = if columns.find("NDCPACKAGECODE").is_some() {
            ProductFormat::FdaPackage
        } else if columns.find("PRODUCTNDC").is_some() && columns.find("PROPRIETARYNAME").is_some()
        {
            ProductFormat::FdaProduct
        } else if columns.find("gtin").is_some() {
            ProductFormat::Csv
        } else {
            return Err(ImportError::at(
                format!("{source}: line 1"),
                "not a product file: expected the FDA NDC Directory product.txt or package.txt \
                 header, or the CSV header gtin,ndc,name,strength,form,manufacturer",
            )
            .into());
        };
        let tx = self
            .conn_mut()
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut counts = ImportCounts::default();
        let mut record = csv::ByteRecord::new();
        let fda_product_cols = FdaProductColumns::new(&columns, source);
        let fda_package_cols = FdaPackageColumns::new(&columns, source);
        let csv_cols = CsvColumns::new(&columns, source);
        while reader
            .read_byte_record(&mut record)
            .map_err(read_error(source))?
        {
            let line = record.position().map(|p| p.line()).unwrap_or(0);
            let at = |message: String| ImportError::at(format!("{source}: line {line}"), message);
            if record.iter().all(|f| f.iter().all(u8::is_ascii_whitespace)) {
                continue;
            }
            let change = match format {
                ProductFormat::FdaProduct => {
                    let cols = fda_product_cols.as_ref().map_err(clone_err)?;
                    import_fda_product(&tx, cols, &record).map_err(|e| at_store(e, &at))?
                }
                ProductFormat::FdaPackage => {
                    let cols = fda_package_cols.as_ref().map_err(clone_err)?;
                    import_fda_package(&tx, cols, &record).map_err(|e| at_store(e, &at))?
                }
                ProductFormat::Csv => {
                    let cols = csv_cols.as_ref().map_err(clone_err)?;
                    import_csv_product(&tx, cols, &record).map_err(|e| at_store(e, &at))?
                }
            };
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
        let mut reader = csv::ReaderBuilder::new()
            .trim(csv::Trim::All)
            .from_reader(std::io::BufReader::with_capacity(1 << 16, input));
        let header = reader.byte_headers().map_err(read_error(source))?.clone();
        let columns = Columns(header.iter().map(decode_field).collect());
        let gtin_col = columns.require("gtin", source)?;
        let lot_col = columns.require("lot", source)?;
        let reason_col = columns.find("reason");
        let tx = self
            .conn_mut()
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut counts = ImportCounts::default();
        let mut record = csv::ByteRecord::new();
        while reader
            .read_byte_record(&mut record)
            .map_err(read_error(source))?
        {
            let line = record.position().map(|p| p.line()).unwrap_or(0);
            let at = |message: String| ImportError::at(format!("{source}: line {line}"), message);
            let gtin_text = field(&record, Some(gtin_col));
            let gtin = Gtin::parse(&gtin_text).map_err(|e| at(format!("gtin: {e}")))?;
            let lot = field(&record, Some(lot_col));
            if lot.is_empty() {
                return Err(at("lot is empty".into()).into());
            }
            let reason = field(&record, reason_col);
            let existing: Option<String> = tx
                .prepare_cached("SELECT reason FROM lot_recalls WHERE gtin = ?1 AND lot = ?2")?
                .query_row(params![gtin_key(&gtin), lot], |r| r.get(0))
                .optional()?;
            let change = match existing {
                None => {
                    tx.prepare_cached(
                        "INSERT INTO lot_recalls (gtin, lot, reason) VALUES (?1, ?2, ?3)",
                    )?
                    .execute(params![gtin_key(&gtin), lot, reason])?;
                    Change::Inserted
                }
                Some(old) if old == reason => Change::Unchanged,
                Some(_) => {
                    tx.prepare_cached(
                        "UPDATE lot_recalls SET reason = ?3 WHERE gtin = ?1 AND lot = ?2",
                    )?
                    .execute(params![gtin_key(&gtin), lot, reason])?;
                    Change::Updated
                }
            };
            counts.add(change);
        }
        tx.commit()?;
        Ok(counts)
    }
}

fn clone_err(e: &ImportError) -> ImportError {
    match e {
        ImportError::Malformed { location, message } => ImportError::at(location, message),
        ImportError::Read {
            source_name,
            source,
        } => ImportError::Read {
            source_name: source_name.clone(),
            source: std::io::Error::new(source.kind(), source.to_string()),
        },
    }
}

/// Row errors get the line; SQL errors stay what they are.
fn at_store(e: RowError, at: &impl Fn(String) -> ImportError) -> StoreError {
    match e {
        RowError::Invalid(message) => at(message).into(),
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
    fn new(c: &Columns, source: &str) -> Result<FdaProductColumns, ImportError> {
        Ok(FdaProductColumns {
            product_ndc: c.require("PRODUCTNDC", source)?,
            proprietary: c.find("PROPRIETARYNAME"),
            suffix: c.find("PROPRIETARYNAMESUFFIX"),
            nonproprietary: c.find("NONPROPRIETARYNAME"),
            form: c.find("DOSAGEFORMNAME"),
            labeler: c.find("LABELERNAME"),
            strength: c.find("ACTIVE_NUMERATOR_STRENGTH"),
            unit: c.find("ACTIVE_INGRED_UNIT"),
            exclude: c.find("NDC_EXCLUDE_FLAG"),
        })
    }
}

struct FdaPackageColumns {
    product_ndc: usize,
    package_code: usize,
    exclude: Option<usize>,
}

impl FdaPackageColumns {
    fn new(c: &Columns, source: &str) -> Result<FdaPackageColumns, ImportError> {
        Ok(FdaPackageColumns {
            product_ndc: c.require("PRODUCTNDC", source)?,
            package_code: c.require("NDCPACKAGECODE", source)?,
            exclude: c.find("NDC_EXCLUDE_FLAG"),
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
    fn new(c: &Columns, source: &str) -> Result<CsvColumns, ImportError> {
        Ok(CsvColumns {
            gtin: c.require("gtin", source)?,
            ndc: c.find("ndc"),
            name: c.find("name"),
            strength: c.find("strength"),
            form: c.find("form"),
            manufacturer: c.find("manufacturer"),
        })
    }
}

/// Product-level facts (name, strength, form, manufacturer) shared by every package.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
struct ProductFacts {
    name: Option<String>,
    strength: Option<String>,
    form: Option<String>,
    manufacturer: Option<String>,
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

fn excluded(record: &csv::ByteRecord, col: Option<usize>) -> bool {
    // "E" = excluded from the directory (not a marketed drug); "N" and "Y" are listed.
    field(record, col).eq_ignore_ascii_case("E")
}

fn import_fda_product(
    conn: &Connection,
    cols: &FdaProductColumns,
    record: &csv::ByteRecord,
) -> Result<Option<Change>, RowError> {
    let product_ndc = field(record, Some(cols.product_ndc));
    if !valid_product_ndc(&product_ndc) {
        return Err(RowError::Invalid(format!(
            "PRODUCTNDC \"{product_ndc}\" is not a labeler-product code like 0002-1433"
        )));
    }
    if excluded(record, cols.exclude) {
        return Ok(None);
    }
    let mut name = field(record, cols.proprietary);
    let suffix = field(record, cols.suffix);
    if !suffix.is_empty() {
        name = format!("{name} {suffix}");
    }
    if name.is_empty() {
        name = field(record, cols.nonproprietary);
    }
    let facts = ProductFacts {
        name: non_empty(name),
        strength: strength(&field(record, cols.strength), &field(record, cols.unit)),
        form: non_empty(field(record, cols.form)),
        manufacturer: non_empty(field(record, cols.labeler)),
    };
    let existing: Option<ProductFacts> = conn
        .prepare_cached(
            "SELECT name, strength, form, manufacturer FROM fda_products WHERE product_ndc = ?1",
        )?
        .query_row([&product_ndc], |r| {
            Ok(ProductFacts {
                name: r.get(0)?,
                strength: r.get(1)?,
                form: r.get(2)?,
                manufacturer: r.get(3)?,
            })
        })
        .optional()?;
    let change = match existing {
        Some(old) if old == facts => Change::Unchanged,
        Some(_) => Change::Updated,
        None => Change::Inserted,
    };
    if change != Change::Unchanged {
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
        // Packages imported earlier get the product's facts now.
        conn.prepare_cached(
            "UPDATE products SET name = ?2, strength = ?3, form = ?4, manufacturer = ?5
             WHERE product_ndc = ?1",
        )?
        .execute(params![
            product_ndc,
            facts.name,
            facts.strength,
            facts.form,
            facts.manufacturer
        ])?;
    }
    Ok(Some(change))
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
    record: &csv::ByteRecord,
) -> Result<Option<Change>, RowError> {
    let code = field(record, Some(cols.package_code));
    let ndc = Ndc::parse(&code).map_err(|e| RowError::Invalid(format!("NDCPACKAGECODE: {e}")))?;
    if ndc.layout().is_none() {
        return Err(RowError::Invalid(format!(
            "NDCPACKAGECODE \"{code}\" has no dashes: its labeler-product-package layout is needed"
        )));
    }
    let product_ndc = field(record, Some(cols.product_ndc));
    if excluded(record, cols.exclude) {
        return Ok(None);
    }
    let facts: ProductFacts = conn
        .prepare_cached(
            "SELECT name, strength, form, manufacturer FROM fda_products WHERE product_ndc = ?1",
        )?
        .query_row([&product_ndc], |r| {
            Ok(ProductFacts {
                name: r.get(0)?,
                strength: r.get(1)?,
                form: r.get(2)?,
                manufacturer: r.get(3)?,
            })
        })
        .optional()?
        .unwrap_or_default();
    let gtin = Gtin::from_ndc(&ndc, 0);
    let row = ProductRow {
        ndc: Some(ndc.to_string()),
        product_ndc: non_empty(product_ndc),
        facts,
    };
    Ok(Some(upsert_product(conn, &gtin, &row)?))
}

fn import_csv_product(
    conn: &Connection,
    cols: &CsvColumns,
    record: &csv::ByteRecord,
) -> Result<Option<Change>, RowError> {
    let gtin_text = field(record, Some(cols.gtin));
    let ndc_text = field(record, cols.ndc);
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
    let row = ProductRow {
        ndc: ndc.map(|n| n.to_string()),
        product_ndc: None,
        facts: ProductFacts {
            name: non_empty(field(record, cols.name)),
            strength: non_empty(field(record, cols.strength)),
            form: non_empty(field(record, cols.form)),
            manufacturer: non_empty(field(record, cols.manufacturer)),
        },
    };
    Ok(Some(upsert_product(conn, &gtin, &row)?))
}

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
}

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
    let change = match existing {
        Some(old) if &old == row => return Ok(Change::Unchanged),
        Some(_) => Change::Updated,
        None => Change::Inserted,
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
    fn product_ndcs() {
        assert!(valid_product_ndc("0002-1433"));
        assert!(valid_product_ndc("50090-123"));
        assert!(valid_product_ndc("50090-1234"));
        assert!(!valid_product_ndc("0002-1433-80"));
        assert!(!valid_product_ndc("00a2-1433"));
    }
}
