//! A unit's transaction history as DSCSA defines it (TI/TS), for a regulator's or a partner's
//! request: the product, its lot and expiry, and each transaction that brought it here, with
//! the parties' names and addresses from the partners' master data and the document that said
//! so. Primary-key lookups only, so a trace answers in milliseconds at ten million units.
//!
//! [`csv_rows`] is the one CSV writer of a trace, shared by `tracedesk trace --csv` and the
//! kiosk's export.

use rusqlite::{OptionalExtension, params};

use super::epcis_import::party_gln;
use super::{StoreError, gtin_key};
use crate::gs1::Sgtin;

/// A party or location of a transaction.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TraceParty {
    /// The identifier as the partner wrote it (an SGLN URN, a PGLN...).
    pub id: String,
    pub gln: Option<String>,
    pub name: Option<String>,
    pub address: Option<String>,
}

/// The product, as the master data knows it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TraceProduct {
    pub ndc: Option<String>,
    pub name: Option<String>,
    pub strength: Option<String>,
    pub dosage_form: Option<String>,
    pub container_size: Option<String>,
    pub manufacturer: Option<String>,
}

/// One transaction (TI) and its statement (TS).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TraceTransaction {
    /// When the goods were shipped (the shipping event's time, RFC 3339).
    pub date: String,
    pub seller: Option<TraceParty>,
    pub buyer: Option<TraceParty>,
    pub ship_from: Option<TraceParty>,
    pub ship_to: Option<TraceParty>,
    pub po: Option<String>,
    pub invoice: Option<String>,
    pub desadv: Option<String>,
    pub drop_shipment: Option<bool>,
    pub statement_affirmed: Option<bool>,
    /// The archived document's id (see `tracedesk archive`).
    pub document: Option<i64>,
    /// The shipping event's ID.
    pub event_id: String,
    /// The shipment this desk knows it by.
    pub shipment: String,
}

/// Everything a trace reports about one unit.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Trace {
    pub lot: Option<String>,
    pub expiry: Option<String>,
    pub product: Option<TraceProduct>,
    /// Oldest first.
    pub transactions: Vec<TraceTransaction>,
}

/// The header of a trace CSV: one row per transaction, the unit and product repeated on each.
pub const CSV_HEADER: &str = "gtin,serial,lot,expiry,ndc,name,strength,dosage_form,container_size,\
manufacturer,date,seller_gln,seller_name,seller_address,buyer_gln,buyer_name,buyer_address,\
ship_from_gln,ship_from_name,ship_from_address,ship_to_gln,ship_to_name,ship_to_address,po,\
invoice,desadv,drop_shipment,statement_affirmed,document";

fn csv_field(value: Option<&str>) -> String {
    let v = value.unwrap_or("");
    if v.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", v.replace('"', "\"\""))
    } else {
        v.to_owned()
    }
}

/// A unit's trace as CSV rows under [`CSV_HEADER`]: one per transaction, or one with the
/// transaction columns empty when none is recorded. `tracedesk trace --csv` and the kiosk's
/// export both write these, so a file from either reads the same.
pub fn csv_rows(unit: &Sgtin, trace: &Trace) -> Vec<String> {
    let product = trace.product.clone().unwrap_or_default();
    let head = [
        Some(unit.gtin.as_str()),
        Some(unit.serial.as_str()),
        trace.lot.as_deref(),
        trace.expiry.as_deref(),
        product.ndc.as_deref(),
        product.name.as_deref(),
        product.strength.as_deref(),
        product.dosage_form.as_deref(),
        product.container_size.as_deref(),
        product.manufacturer.as_deref(),
    ]
    .map(csv_field)
    .join(",");
    let party = |p: &Option<TraceParty>| {
        [
            csv_field(p.as_ref().and_then(|p| p.gln.as_deref())),
            csv_field(p.as_ref().and_then(|p| p.name.as_deref())),
            csv_field(p.as_ref().and_then(|p| p.address.as_deref())),
        ]
        .join(",")
    };
    let flag = |b: Option<bool>| b.map(|b| b.to_string());
    if trace.transactions.is_empty() {
        // The transaction columns (date, four parties of three, six references), empty.
        return vec![format!("{head}{}", ",".repeat(19))];
    }
    trace
        .transactions
        .iter()
        .map(|t| {
            [
                head.clone(),
                csv_field(Some(&t.date)),
                party(&t.seller),
                party(&t.buyer),
                party(&t.ship_from),
                party(&t.ship_to),
                csv_field(t.po.as_deref()),
                csv_field(t.invoice.as_deref()),
                csv_field(t.desadv.as_deref()),
                csv_field(flag(t.drop_shipment).as_deref()),
                csv_field(flag(t.statement_affirmed).as_deref()),
                csv_field(t.document.map(|d| d.to_string()).as_deref()),
            ]
            .join(",")
        })
        .collect()
}

/// A whole CSV file for one unit: the header, then its rows, each line ending in a newline.
pub fn csv_document(unit: &Sgtin, trace: &Trace) -> String {
    let mut out = String::from(CSV_HEADER);
    out.push('\n');
    for row in csv_rows(unit, trace) {
        out.push_str(&row);
        out.push('\n');
    }
    out
}

impl super::Store {
    /// The unit's trace, or `None` when no partner ever announced it.
    pub fn trace(&self, unit: &Sgtin) -> Result<Option<Trace>, StoreError> {
        let conn = self.conn();
        let key = gtin_key(&unit.gtin);
        let row: Option<(Option<String>, Option<String>, Option<i64>)> = conn
            .prepare_cached(
                "SELECT l.lot, l.expiry, u.shipment FROM units u LEFT JOIN lots l ON l.id = u.lot
                 WHERE u.gtin = ?1 AND u.serial = ?2",
            )?
            .query_row(params![key, unit.serial], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .optional()?;
        let Some((lot, expiry, shipment)) = row else {
            return Ok(None);
        };
        let product = conn
            .prepare_cached(
                "SELECT ndc, name, strength, form, container_size, manufacturer FROM products
                 WHERE gtin = ?1",
            )?
            .query_row([key], |r| {
                Ok(TraceProduct {
                    ndc: r.get(0)?,
                    name: r.get(1)?,
                    strength: r.get(2)?,
                    dosage_form: r.get(3)?,
                    container_size: r.get(4)?,
                    manufacturer: r.get(5)?,
                })
            })
            .optional()?;
        let mut transactions = Vec::new();
        if let Some(shipment) = shipment {
            let mut stmt = conn.prepare_cached(
                "SELECT t.date, t.seller, t.buyer, t.ship_from, t.ship_to, t.po, t.invoice,
                        t.desadv, t.drop_shipment, t.statement_affirmed, t.document, t.event_id,
                        s.name
                 FROM transactions t JOIN shipments s ON s.id = t.shipment
                 WHERE t.shipment = ?1 ORDER BY t.date, t.id",
            )?;
            type Row = (
                String,
                [Option<String>; 7],
                Option<bool>,
                Option<bool>,
                Option<i64>,
                String,
                String,
            );
            let rows: Vec<Row> = stmt
                .query_map([shipment], |r| {
                    Ok((
                        r.get(0)?,
                        [
                            r.get(1)?,
                            r.get(2)?,
                            r.get(3)?,
                            r.get(4)?,
                            r.get(5)?,
                            r.get(6)?,
                            r.get(7)?,
                        ],
                        r.get(8)?,
                        r.get(9)?,
                        r.get(10)?,
                        r.get(11)?,
                        r.get(12)?,
                    ))
                })?
                .collect::<Result<_, _>>()?;
            for (
                date,
                [seller, buyer, from, to, po, invoice, desadv],
                drop,
                affirmed,
                doc,
                event,
                name,
            ) in rows
            {
                transactions.push(TraceTransaction {
                    date,
                    seller: self.party(seller)?,
                    buyer: self.party(buyer)?,
                    ship_from: self.party(from)?,
                    ship_to: self.party(to)?,
                    po,
                    invoice,
                    desadv,
                    drop_shipment: drop,
                    statement_affirmed: affirmed,
                    document: doc,
                    event_id: event,
                    shipment: name,
                });
            }
        }
        let empty = |s: Option<String>| s.filter(|s| !s.is_empty());
        Ok(Some(Trace {
            lot: empty(lot),
            expiry: empty(expiry),
            product,
            transactions,
        }))
    }

    /// A party's name and address: by the identifier as written, else by its GLN.
    fn party(&self, id: Option<String>) -> Result<Option<TraceParty>, StoreError> {
        let Some(id) = id else {
            return Ok(None);
        };
        let gln = party_gln(&id);
        let conn = self.conn();
        let mut found: Option<(Option<String>, Option<String>)> = conn
            .prepare_cached("SELECT name, address FROM parties WHERE id = ?1")?
            .query_row([&id], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        if found.is_none()
            && let Some(gln) = &gln
        {
            found = conn
                .prepare_cached("SELECT name, address FROM parties WHERE gln = ?1 LIMIT 1")?
                .query_row([gln], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()?;
        }
        let (name, address) = found.unwrap_or_default();
        Ok(Some(TraceParty {
            id,
            gln,
            name,
            address,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gs1::Gtin;

    fn unit() -> Sgtin {
        Sgtin::new(Gtin::parse("00812345777772").unwrap(), "P1").unwrap()
    }

    fn records(text: &str) -> Vec<csv::StringRecord> {
        csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(text.as_bytes())
            .records()
            .collect::<Result<_, _>>()
            .unwrap()
    }

    #[test]
    fn every_row_has_the_header_s_columns_and_awkward_names_survive() {
        let seller = TraceParty {
            id: "urn:epc:id:sgln:0812345.00001.0".into(),
            gln: Some("0812345000016".into()),
            name: Some("Acme, \"the\" Wholesaler".into()),
            address: Some("1 Main St\nColumbus OH".into()),
        };
        let trace = Trace {
            lot: Some("ZL2601".into()),
            expiry: Some("2027-03-31".into()),
            product: None,
            transactions: vec![TraceTransaction {
                date: "2026-01-05T09:30:00-05:00".into(),
                seller: Some(seller),
                po: Some("PO-5511".into()),
                drop_shipment: Some(true),
                statement_affirmed: Some(false),
                document: Some(7),
                ..TraceTransaction::default()
            }],
        };
        let header = records(CSV_HEADER).remove(0);
        let rows = records(&csv_document(&unit(), &trace));
        assert_eq!(rows.len(), 2, "header and one transaction");
        assert_eq!(rows[0], header);
        let row = &rows[1];
        assert_eq!(row.len(), header.len());
        let field = |name: &str| &row[header.iter().position(|h| h == name).unwrap()];
        assert_eq!(field("gtin"), "00812345777772");
        assert_eq!(field("seller_name"), "Acme, \"the\" Wholesaler");
        assert_eq!(field("seller_address"), "1 Main St\nColumbus OH");
        assert_eq!(field("po"), "PO-5511");
        assert_eq!(field("drop_shipment"), "true");
        assert_eq!(field("statement_affirmed"), "false");
        assert_eq!(field("document"), "7");

        let bare = Trace {
            transactions: Vec::new(),
            ..trace
        };
        let rows = records(&csv_document(&unit(), &bare));
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[1].len(), header.len());
        assert_eq!(&rows[1][2], "ZL2601");
        assert!(rows[1].iter().skip(10).all(str::is_empty));
    }
}
