//! A unit's transaction history as DSCSA defines it (TI/TS), for a regulator's or a partner's
//! request: the product, its lot and expiry, and each transaction that brought it here, with
//! the parties' names and addresses from the partners' master data and the document that said
//! so. Primary-key lookups only, so a trace answers in milliseconds at ten million units.

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
