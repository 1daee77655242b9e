//! Product master data: the FDA NDC Directory's `product.txt` and `package.txt`, and the
//! product CSV (`gtin,ndc,name,strength,form,manufacturer`).

use std::io::{BufRead, BufReader, Cursor, Read};

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::super::bounded::MAX_RECORD_BYTES;
use super::super::{StoreError, gtin_key};
use super::{Change, ImportCounts, ImportError, Records, Row, RowError, at_row, non_empty};
use crate::gs1::{Gtin, Ndc};

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

impl super::super::Store {
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
}

#[cfg(test)]
mod tests {
    use super::*;

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
