//! EPCIS 1.2 XML out: EPCIS 2.0 JSON-LD events written as one EPCIS 1.2 document, for trading
//! partners who still exchange 1.2 (most US DSCSA partners do).
//!
//! [`Epcis12Writer`] writes the document's start (root element, optional header), then each event
//! as it is handed over, then the end. It holds one event at a time, so an export of 100 000
//! events costs what one event costs. The conversion follows GS1's 2.0-to-1.2 rules (the
//! `convert-2.0-to-1.2.xsl` published with EPCIS 2.0) and the element order of
//! `EPCglobal-epcis-1_2.xsd`:
//! - what 1.2 added after 1.0 sits in the binding's `extension` wrappers: `eventID` and
//!   `errorDeclaration` in `baseExtension`; an ObjectEvent's `quantityList`, `sourceList`,
//!   `destinationList` and `ilmd` in `extension`; the 2.0-only `persistentDisposition` and
//!   `certificationInfo` one `extension` deeper. A TransformationEvent goes inside
//!   `EventList/extension`, an AssociationEvent (unknown to 1.2) two `extension`s deep.
//! - CBV 2.0 bare words and web URIs become the 1.2 URNs (`receiving` ->
//!   `urn:epcglobal:cbv:bizstep:receiving`, `po` -> `urn:epcglobal:cbv:btt:po`); private
//!   vocabulary URIs stay as they are.
//! - user extension fields (`tracedesk:failureReasons`) become namespaced elements after the
//!   standard ones, an array as repeated elements. Their prefixes are declared on the root
//!   (`tracedesk`, `cbvmda`, `gs1ushc`) or come from the event's own `@context`.
//! - the `eventID` is kept as it is: the CBV 2.0 hash ID is defined on an event's content, not
//!   its syntax, so the 1.2 event hashes to the same ID.
//! - EPCs: 1.2 partners expect EPC URNs, and an SGTIN URN needs the length of the GS1 Company
//!   Prefix, which a DataMatrix does not carry. Where the header's master data names the product
//!   by an SGTIN pattern (`urn:epc:idpat:sgtin:030001.0012345.*`, as the GS1 US guideline does),
//!   the pattern gives that length and the unit is written as a URN; otherwise its GS1 Digital
//!   Link URI stays, which the 1.2 schema accepts (an `epc` is any string).
//!
//! An event 1.2 cannot carry (an unknown field, `sensorElementList`, a prefix with no namespace,
//! a character XML cannot hold) is refused whole, its field named by path
//! (`bizTransactionList[0]@type`): nothing of it is written, and the writer can go on.
//!
//! The optional [`Epcis12Header`] carries the SBDH (1.2 requires one in every header), the
//! master data (`EPCClass` and `Location` vocabularies with `cbvmda` attributes) and the GS1 US
//! `dscsaTransactionStatement`, from the same types the readers fill
//! ([`crate::epcis::document`]).
//!
//! Pure: writes only to the `std::io::Write` it is given; the creation date is passed in.

use std::borrow::Cow;
use std::collections::HashMap;
use std::io::{self, Write};

use chrono::{DateTime, FixedOffset};
use serde_json::{Map, Value};

use super::document::{PartyMasterData, ProductMasterData, TransactionStatement};
use super::epc::{Epc, parse_epc, with_check_digit};
use super::event::{TRACEDESK_NAMESPACE, TRACEDESK_PREFIX};
use super::vocab::{NS_EPCIS_1, Vocabulary};
use crate::gs1::{Gtin, Sgtin};

const NS_SBDH: &str = "http://www.unece.org/cefact/namespaces/StandardBusinessDocumentHeader";
const NS_GS1USHC: &str = "http://epcis.gs1us.org/hc/ns";
const NS_MDA: &str = "urn:epcglobal:cbv:mda";
/// Master data attribute names as CBV 1.2 and the GS1 US guideline spell them.
const MDA_ATTRIBUTE: &str = "urn:epcglobal:cbv:mda#";

/// How deep events sit: under the root, `EPCISBody` and `EventList`.
const EVENT_DEPTH: usize = 3;

/// The prefixes declared on the root element, usable by any event's extension fields.
const ROOT_PREFIXES: [(&str, &str); 3] = [
    ("cbvmda", NS_MDA),
    ("gs1ushc", NS_GS1USHC),
    (TRACEDESK_PREFIX, TRACEDESK_NAMESPACE),
];

/// The Standard Business Document Header: who sends the document to whom.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sbdh {
    /// The sender's SGLN URN (`urn:epc:id:sgln:...`) or GLN.
    pub sender: String,
    /// The receiver's SGLN URN or GLN.
    pub receiver: String,
    /// `DocumentIdentification/InstanceIdentifier`: unique for each document sent.
    pub instance_id: String,
}

/// What a 1.2 document says besides its events. 1.2 has no header without an SBDH, hence it is
/// not optional here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Epcis12Header {
    pub sbdh: Sbdh,
    /// The `EPCClass` vocabulary. An element keyed by an SGTIN pattern also lets the writer
    /// spell that product's units as SGTIN URNs.
    pub products: Vec<ProductMasterData>,
    /// The `Location` vocabulary.
    pub parties: Vec<PartyMasterData>,
    pub statement: Option<TransactionStatement>,
}

impl Epcis12Header {
    /// A header with the SBDH alone.
    pub fn new(sbdh: Sbdh) -> Self {
        Epcis12Header {
            sbdh,
            products: Vec::new(),
            parties: Vec::new(),
            statement: None,
        }
    }
}

/// Why a document could not be written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum XmlWriteError {
    #[error("cannot write the EPCIS 1.2 document: {0}")]
    Io(#[from] io::Error),
    #[error("event {index}{}: {field}: {reason}", id.as_deref().map(|id| format!(" ({id})")).unwrap_or_default())]
    Event {
        /// Position among the events written, from 0.
        index: usize,
        /// The event's `eventID`, when it has one.
        id: Option<String>,
        field: String,
        reason: String,
    },
    #[error("header: {field}: {reason}")]
    Header { field: String, reason: String },
}

/// What is wrong with one field, before the event it belongs to is named.
#[derive(Debug)]
struct Problem {
    field: String,
    reason: String,
}

impl Problem {
    fn new(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Problem {
            field: field.into(),
            reason: reason.into(),
        }
    }

    /// This problem, found inside `outer`: `readPoint.ex:shelf`, `epcList[2]`,
    /// `bizTransactionList[0]@type`.
    fn within(self, outer: &str) -> Problem {
        let field = match self.field.chars().next() {
            None => outer.to_owned(),
            Some('[' | '@' | '.') => format!("{outer}{}", self.field),
            Some(_) => format!("{outer}.{}", self.field),
        };
        Problem {
            field,
            reason: self.reason,
        }
    }
}

type Fallible<T = ()> = Result<T, Problem>;

/// Writes one EPCIS 1.2 document, event by event.
///
/// Call [`Self::finish`] after the last event: a writer dropped without it leaves the document
/// unterminated.
#[derive(Debug)]
pub struct Epcis12Writer<W: Write> {
    out: W,
    /// The event being written; written out whole, so a refused event leaves no trace.
    buffer: Xml,
    events: usize,
    /// GS1 Company Prefix length per GTIN-14, from the header's SGTIN patterns.
    prefix_lengths: HashMap<String, usize>,
}

impl<W: Write> Epcis12Writer<W> {
    /// Writes the document's start: root element, header (if any), and the opening of the
    /// event list.
    pub fn new(
        mut out: W,
        creation_date: DateTime<FixedOffset>,
        header: Option<&Epcis12Header>,
    ) -> Result<Self, XmlWriteError> {
        let mut xml = Xml::default();
        xml.raw("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        let created = timestamp(creation_date);
        let mut root: Vec<(&str, &str)> = vec![("xmlns:epcis", NS_EPCIS_1)];
        if header.is_some() {
            root.push(("xmlns:sbdh", NS_SBDH));
        }
        let declarations: Vec<(String, &str)> = ROOT_PREFIXES
            .iter()
            .map(|(prefix, ns)| (format!("xmlns:{prefix}"), *ns))
            .collect();
        root.extend(declarations.iter().map(|(k, v)| (k.as_str(), *v)));
        root.extend([("schemaVersion", "1.2"), ("creationDate", created.as_str())]);
        xml.open("epcis:EPCISDocument", &root)
            .map_err(header_error)?;
        if let Some(header) = header {
            write_header(&mut xml, header, &created).map_err(header_error)?;
        }
        xml.open("EPCISBody", &[]).map_err(header_error)?;
        xml.open("EventList", &[]).map_err(header_error)?;
        debug_assert_eq!(xml.depth, EVENT_DEPTH);
        out.write_all(xml.text.as_bytes())?;
        let prefix_lengths = header
            .map(|h| {
                h.products
                    .iter()
                    .filter_map(|p| prefix_length(&p.id))
                    .collect()
            })
            .unwrap_or_default();
        Ok(Epcis12Writer {
            out,
            buffer: xml,
            events: 0,
            prefix_lengths,
        })
    }

    /// Converts one EPCIS 2.0 JSON-LD event and writes it. On error nothing of the event is
    /// written and the writer can go on with the next one.
    pub fn event(&mut self, event: &Value) -> Result<(), XmlWriteError> {
        // The buffer keeps its capacity from one event to the next: the largest event's size.
        let mut xml = std::mem::take(&mut self.buffer);
        xml.text.clear();
        xml.depth = EVENT_DEPTH;
        let result = match self.convert(&mut xml, event) {
            Ok(()) => self
                .out
                .write_all(xml.text.as_bytes())
                .map_err(XmlWriteError::from),
            Err(problem) => Err(XmlWriteError::Event {
                index: self.events,
                id: event
                    .get("eventID")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
                field: problem.field,
                reason: problem.reason,
            }),
        };
        self.buffer = xml;
        if result.is_ok() {
            self.events += 1;
        }
        result
    }

    /// How many events were written.
    pub fn events_written(&self) -> usize {
        self.events
    }

    /// Closes the document, flushes and hands the output back.
    pub fn finish(mut self) -> Result<W, XmlWriteError> {
        let xml = &mut self.buffer;
        xml.text.clear();
        xml.depth = EVENT_DEPTH;
        for name in ["EventList", "EPCISBody", "epcis:EPCISDocument"] {
            xml.close(name);
        }
        self.out.write_all(xml.text.as_bytes())?;
        self.out.flush()?;
        Ok(self.out)
    }

    fn convert(&self, xml: &mut Xml, event: &Value) -> Fallible {
        let fields = event
            .as_object()
            .ok_or_else(|| Problem::new("event", "is not a JSON object"))?;
        let kind = fields
            .get("type")
            .and_then(Value::as_str)
            .ok_or_else(|| Problem::new("type", "missing"))?;
        let layout = Layout::of(kind)
            .ok_or_else(|| Problem::new("type", format!("'{kind}' is not an EPCIS event type")))?;
        let namespaces = Namespaces::of_event(fields.get("@context"))?;
        for key in fields.keys() {
            if key == "sensorElementList" {
                // Sensor data exists only in 2.0; GS1's 1.2 form of it is a draft no 1.2
                // partner reads, so say so rather than send something half-understood.
                return Err(Problem::new(key.as_str(), "cannot be written in EPCIS 1.2"));
            }
            if !is_extension_key(key) && !layout.knows(key) {
                return Err(Problem::new(
                    key.as_str(),
                    format!("is not a field of an EPCIS {kind}"),
                ));
            }
        }
        let event = EventWriter {
            writer: self,
            fields,
            namespaces: &namespaces,
        };
        for _ in 0..layout.wrappers {
            xml.open("extension", &[])?;
        }
        let local: Vec<(String, &str)> = namespaces
            .local
            .iter()
            .map(|(prefix, ns)| (format!("xmlns:{prefix}"), ns.as_str()))
            .collect();
        let attributes: Vec<(&str, &str)> = local.iter().map(|(k, v)| (k.as_str(), *v)).collect();
        xml.open(layout.name, &attributes)?;
        event.base(xml)?;
        for name in layout.body {
            event.field(xml, name, layout.required(name))?;
        }
        let present = |names: &[&str]| names.iter().any(|n| fields.contains_key(*n));
        if present(layout.extension) || present(layout.extension2) {
            xml.open("extension", &[])?;
            for name in layout.extension {
                event.field(xml, name, false)?;
            }
            if present(layout.extension2) {
                xml.open("extension", &[])?;
                for name in layout.extension2 {
                    event.field(xml, name, false)?;
                }
                xml.close("extension");
            }
            xml.close("extension");
        }
        for (key, value) in fields.iter().filter(|(k, _)| is_extension_key(k)) {
            event.extension(xml, key, value)?;
        }
        xml.close(layout.name);
        for _ in 0..layout.wrappers {
            xml.close("extension");
        }
        Ok(())
    }

    /// The EPC as a 1.2 partner expects it: an SGTIN URN when the company prefix length is
    /// known, else as written.
    fn epc<'a>(&self, value: &'a str) -> Cow<'a, str> {
        if self.prefix_lengths.is_empty() {
            return Cow::Borrowed(value);
        }
        let urn = match parse_epc(value) {
            Ok(Epc::Sgtin { gtin, serial }) => self.prefix_lengths.get(&gtin).and_then(|&len| {
                let gtin = Gtin::parse(&gtin).ok()?;
                Sgtin::new(gtin, &serial).ok()?.epc_urn(len)
            }),
            _ => None,
        };
        urn.map_or(Cow::Borrowed(value), Cow::Owned)
    }
}

fn header_error(problem: Problem) -> XmlWriteError {
    XmlWriteError::Header {
        field: problem.field,
        reason: problem.reason,
    }
}

fn timestamp(t: DateTime<FixedOffset>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3f%:z").to_string()
}

fn write_header(xml: &mut Xml, header: &Epcis12Header, created: &str) -> Fallible {
    let sbdh = &header.sbdh;
    xml.open("EPCISHeader", &[])?;
    xml.open("sbdh:StandardBusinessDocumentHeader", &[])?;
    header_leaf(xml, "sbdh:HeaderVersion", &[], "1.0")?;
    for (role, id) in [
        ("sbdh:Sender", &sbdh.sender),
        ("sbdh:Receiver", &sbdh.receiver),
    ] {
        let authority = if id.starts_with("urn:epc:id:sgln:") {
            "SGLN"
        } else {
            "GS1"
        };
        xml.open(role, &[])?;
        header_leaf(xml, "sbdh:Identifier", &[("Authority", authority)], id)
            .map_err(|p| p.within(role))?;
        xml.close(role);
    }
    xml.open("sbdh:DocumentIdentification", &[])?;
    header_leaf(xml, "sbdh:Standard", &[], "EPCglobal")?;
    header_leaf(xml, "sbdh:TypeVersion", &[], "1.0")?;
    header_leaf(xml, "sbdh:InstanceIdentifier", &[], &sbdh.instance_id)?;
    header_leaf(xml, "sbdh:Type", &[], "Events")?;
    header_leaf(xml, "sbdh:CreationDateAndTime", &[], created)?;
    xml.close("sbdh:DocumentIdentification");
    xml.close("sbdh:StandardBusinessDocumentHeader");

    if !header.products.is_empty() || !header.parties.is_empty() {
        xml.open("extension", &[])?;
        xml.open("EPCISMasterData", &[])?;
        xml.open("VocabularyList", &[])?;
        let products = header.products.iter().map(|p| {
            let ndc = p.ndc.as_deref();
            let attributes = [
                ("additionalTradeItemIdentification", ndc),
                (
                    "additionalTradeItemIdentificationTypeCode",
                    ndc.map(|_| "US_FDA_NDC"),
                ),
                ("regulatedProductName", p.name.as_deref()),
                (
                    "manufacturerOfTradeItemPartyName",
                    p.manufacturer.as_deref(),
                ),
                ("dosageFormType", p.dosage_form.as_deref()),
                ("strengthDescription", p.strength.as_deref()),
                ("netContentDescription", p.net_content.as_deref()),
            ];
            (p.id.as_str(), attributes.to_vec())
        });
        vocabulary(xml, "urn:epcglobal:epcis:vtype:EPCClass", products)?;
        let parties = header.parties.iter().map(|p| {
            let attributes = [
                ("name", p.name.as_deref()),
                ("streetAddressOne", p.street1.as_deref()),
                ("streetAddressTwo", p.street2.as_deref()),
                ("city", p.city.as_deref()),
                ("state", p.state.as_deref()),
                ("postalCode", p.postal_code.as_deref()),
                ("countryCode", p.country.as_deref()),
            ];
            (p.id.as_str(), attributes.to_vec())
        });
        vocabulary(xml, "urn:epcglobal:epcis:vtype:Location", parties)?;
        xml.close("VocabularyList");
        xml.close("EPCISMasterData");
        xml.close("extension");
    }

    // The schema admits other namespaces' elements after `extension`: where GS1 US puts it.
    if let Some(statement) = &header.statement {
        xml.open("gs1ushc:dscsaTransactionStatement", &[])?;
        let affirmed = if statement.affirmed { "true" } else { "false" };
        header_leaf(xml, "gs1ushc:affirmTransactionStatement", &[], affirmed)?;
        if let Some(notice) = &statement.legal_notice {
            header_leaf(xml, "gs1ushc:legalNotice", &[], notice)?;
        }
        xml.close("gs1ushc:dscsaTransactionStatement");
    }
    xml.close("EPCISHeader");
    Ok(())
}

/// A header element; a problem names it.
fn header_leaf(xml: &mut Xml, name: &str, attributes: &[(&str, &str)], text: &str) -> Fallible {
    xml.leaf(name, attributes, text).map_err(|p| p.within(name))
}

/// One `Vocabulary` with its elements and their non-empty `cbvmda` attributes; nothing when
/// there are no elements (1.2 wants at least one in a `VocabularyElementList`).
fn vocabulary<'a>(
    xml: &mut Xml,
    vocabulary_type: &str,
    elements: impl ExactSizeIterator<Item = (&'a str, Vec<(&'static str, Option<&'a str>)>)>,
) -> Fallible {
    if elements.len() == 0 {
        return Ok(());
    }
    xml.open("Vocabulary", &[("type", vocabulary_type)])?;
    xml.open("VocabularyElementList", &[])?;
    for (id, attributes) in elements {
        xml.open("VocabularyElement", &[("id", id)])
            .map_err(|p| p.within("VocabularyElement"))?;
        for (name, value) in attributes {
            let Some(value) = value else { continue };
            let attribute_id = format!("{MDA_ATTRIBUTE}{name}");
            xml.leaf("attribute", &[("id", &attribute_id)], value)
                .map_err(|p| Problem::new(format!("{id} {name}"), p.reason))?;
        }
        xml.close("VocabularyElement");
    }
    xml.close("VocabularyElementList");
    xml.close("Vocabulary");
    Ok(())
}

/// The GTIN-14 and GS1 Company Prefix length an SGTIN pattern or LGTIN class names.
fn prefix_length(id: &str) -> Option<(String, usize)> {
    let id = id.trim();
    let body = id
        .strip_prefix("urn:epc:idpat:sgtin:")
        .or_else(|| id.strip_prefix("urn:epc:class:lgtin:"))?;
    let mut parts = body.split('.');
    let (prefix, item) = (parts.next()?, parts.next()?);
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(prefix) || !digits(item) || prefix.len() + item.len() != 13 {
        return None;
    }
    if !(6..=12).contains(&prefix.len()) {
        return None;
    }
    let (indicator, rest) = item.split_at(1);
    let gtin = with_check_digit(&format!("{indicator}{prefix}{rest}"))?;
    Some((gtin, prefix.len()))
}

/// Where each field of an event type goes in 1.2.
struct Layout {
    name: &'static str,
    /// `extension` wrappers around the event inside `EventList`.
    wrappers: usize,
    /// Fields in the event element itself, after the common ones, in schema order.
    body: &'static [&'static str],
    /// Fields in the event's `extension`, in schema order.
    extension: &'static [&'static str],
    /// Fields in `extension/extension`: 2.0 additions.
    extension2: &'static [&'static str],
    /// Fields 1.2 requires, written empty when the event has none.
    required: &'static [&'static str],
}

/// The fields every event type shares, written first.
const BASE: [&str; 5] = [
    "eventTime",
    "recordTime",
    "eventTimeZoneOffset",
    "eventID",
    "errorDeclaration",
];
/// Fields 2.0 added to every event type, kept one `extension` deeper.
const ADDED_IN_2_0: &[&str] = &["persistentDisposition", "certificationInfo"];

impl Layout {
    fn of(kind: &str) -> Option<Layout> {
        Some(match kind {
            "ObjectEvent" => Layout {
                name: "ObjectEvent",
                wrappers: 0,
                body: &[
                    "epcList",
                    "action",
                    "bizStep",
                    "disposition",
                    "readPoint",
                    "bizLocation",
                    "bizTransactionList",
                ],
                extension: &["quantityList", "sourceList", "destinationList", "ilmd"],
                extension2: ADDED_IN_2_0,
                required: &["epcList", "action"],
            },
            "AggregationEvent" => Layout {
                name: "AggregationEvent",
                wrappers: 0,
                body: &[
                    "parentID",
                    "childEPCs",
                    "action",
                    "bizStep",
                    "disposition",
                    "readPoint",
                    "bizLocation",
                    "bizTransactionList",
                ],
                extension: &["childQuantityList", "sourceList", "destinationList"],
                extension2: ADDED_IN_2_0,
                required: &["childEPCs", "action"],
            },
            "TransactionEvent" => Layout {
                name: "TransactionEvent",
                wrappers: 0,
                body: &[
                    "bizTransactionList",
                    "parentID",
                    "epcList",
                    "action",
                    "bizStep",
                    "disposition",
                    "readPoint",
                    "bizLocation",
                ],
                extension: &["quantityList", "sourceList", "destinationList"],
                extension2: ADDED_IN_2_0,
                required: &["bizTransactionList", "epcList", "action"],
            },
            "TransformationEvent" => Layout {
                name: "TransformationEvent",
                wrappers: 1,
                body: &[
                    "inputEPCList",
                    "inputQuantityList",
                    "outputEPCList",
                    "outputQuantityList",
                    "transformationID",
                    "bizStep",
                    "disposition",
                    "readPoint",
                    "bizLocation",
                    "bizTransactionList",
                    "sourceList",
                    "destinationList",
                    "ilmd",
                ],
                // A TransformationEvent's own `extension` holds what 2.0 added.
                extension: ADDED_IN_2_0,
                extension2: &[],
                required: &[],
            },
            "AssociationEvent" => Layout {
                name: "AssociationEvent",
                wrappers: 2,
                body: &[
                    "parentID",
                    "childEPCs",
                    "childQuantityList",
                    "action",
                    "bizStep",
                    "disposition",
                    "readPoint",
                    "bizLocation",
                    "bizTransactionList",
                    "sourceList",
                    "destinationList",
                    "persistentDisposition",
                    "certificationInfo",
                ],
                extension: &[],
                extension2: &[],
                required: &["action"],
            },
            _ => return None,
        })
    }

    fn knows(&self, key: &str) -> bool {
        matches!(key, "type" | "@context")
            || BASE.contains(&key)
            || self.body.contains(&key)
            || self.extension.contains(&key)
            || self.extension2.contains(&key)
    }

    fn required(&self, name: &str) -> bool {
        self.required.contains(&name)
    }
}

/// A user extension field: a prefixed name (`tracedesk:failureReasons`).
fn is_extension_key(key: &str) -> bool {
    key.contains(':') && !key.starts_with('@')
}

/// The prefixes an event declares in its own `@context`, beyond the root's.
struct Namespaces {
    local: Vec<(String, String)>,
}

impl Namespaces {
    fn of_event(context: Option<&Value>) -> Fallible<Namespaces> {
        let mut local = Vec::new();
        let mut add = |map: &Map<String, Value>| -> Fallible {
            for (prefix, ns) in map {
                let Some(ns) = ns.as_str() else { continue };
                if prefix.starts_with('@') || prefix.contains(':') {
                    continue;
                }
                if ROOT_PREFIXES.contains(&(prefix.as_str(), ns)) {
                    continue;
                }
                if !is_ncname(prefix) {
                    return Err(Problem::new(
                        "@context",
                        format!("prefix '{prefix}' is not an XML name"),
                    ));
                }
                local.push((prefix.clone(), ns.to_owned()));
            }
            Ok(())
        };
        match context {
            Some(Value::Object(map)) => add(map)?,
            Some(Value::Array(items)) => {
                for map in items.iter().filter_map(Value::as_object) {
                    add(map)?;
                }
            }
            _ => {}
        }
        Ok(Namespaces { local })
    }

    fn knows(&self, prefix: &str) -> bool {
        ROOT_PREFIXES.iter().any(|(p, _)| *p == prefix)
            || self.local.iter().any(|(p, _)| p == prefix)
    }
}

/// One event being converted.
struct EventWriter<'a, W: Write> {
    writer: &'a Epcis12Writer<W>,
    fields: &'a Map<String, Value>,
    namespaces: &'a Namespaces,
}

impl<W: Write> EventWriter<'_, W> {
    fn base(&self, xml: &mut Xml) -> Fallible {
        for name in ["eventTime", "recordTime", "eventTimeZoneOffset"] {
            let required = name != "recordTime";
            self.field(xml, name, required)?;
        }
        let id = self.fields.get("eventID");
        let error = self.fields.get("errorDeclaration");
        if id.is_some() || error.is_some() {
            xml.open("baseExtension", &[])?;
            self.field(xml, "eventID", false)?;
            if let Some(error) = error {
                self.error_declaration(xml, error)?;
            }
            xml.close("baseExtension");
        }
        Ok(())
    }

    fn field(&self, xml: &mut Xml, name: &str, required: bool) -> Fallible {
        let Some(value) = self.fields.get(name) else {
            return match name {
                "epcList" | "childEPCs" if required => {
                    xml.empty(name);
                    Ok(())
                }
                _ if required => Err(Problem::new(name, "missing; EPCIS 1.2 requires it")),
                _ => Ok(()),
            };
        };
        self.value(xml, name, value, required)
            .map_err(|p| p.within(name))
    }

    /// Writes a standard field's value; problems are named relative to the field.
    fn value(&self, xml: &mut Xml, name: &str, value: &Value, required: bool) -> Fallible {
        match name {
            "epcList" | "childEPCs" | "inputEPCList" | "outputEPCList" => {
                xml.open(name, &[])?;
                for (i, epc) in array(value)?.iter().enumerate() {
                    let epc = text(epc).map_err(|p| indexed(i, p))?;
                    xml.leaf("epc", &[], &self.writer.epc(epc))
                        .map_err(|p| indexed(i, p))?;
                }
                xml.close(name);
            }
            "parentID" => xml.leaf(name, &[], &self.writer.epc(text(value)?))?,
            "quantityList" | "childQuantityList" | "inputQuantityList" | "outputQuantityList" => {
                self.quantity_list(xml, name, value)?
            }
            "bizStep" => vocabulary_leaf(xml, name, Vocabulary::BizStep, value)?,
            "disposition" => vocabulary_leaf(xml, name, Vocabulary::Disposition, value)?,
            "readPoint" | "bizLocation" => self.location(xml, name, value)?,
            "bizTransactionList" => {
                let kinds = Vocabulary::BizTransactionType;
                self.typed_list(xml, name, "bizTransaction", kinds, value, required)?
            }
            "sourceList" | "destinationList" => {
                let item = if name == "sourceList" {
                    "source"
                } else {
                    "destination"
                };
                let kinds = Vocabulary::SourceDestinationType;
                self.typed_list(xml, name, item, kinds, value, false)?
            }
            "ilmd" => {
                let ilmd = value
                    .as_object()
                    .ok_or_else(|| Problem::new("", "is not an object"))?;
                xml.open(name, &[])?;
                for (key, value) in ilmd.iter().filter(|(k, _)| !k.starts_with('@')) {
                    self.extension(xml, key, value)?;
                }
                xml.close(name);
            }
            "persistentDisposition" => self.persistent_disposition(xml, value)?,
            "certificationInfo" => {
                let items = match value {
                    Value::Array(items) => items.as_slice(),
                    single => std::slice::from_ref(single),
                };
                for (i, item) in items.iter().enumerate() {
                    let item = text(item).map_err(|p| indexed(i, p))?;
                    xml.leaf(name, &[], item).map_err(|p| indexed(i, p))?;
                }
            }
            // eventTime, recordTime, eventTimeZoneOffset, eventID, action, transformationID
            _ => xml.leaf(name, &[], text(value)?)?,
        }
        Ok(())
    }

    fn quantity_list(&self, xml: &mut Xml, name: &str, value: &Value) -> Fallible {
        xml.open(name, &[])?;
        for (i, element) in array(value)?.iter().enumerate() {
            let element = element
                .as_object()
                .ok_or_else(|| indexed(i, Problem::new("", "is not an object")))?;
            let class = element
                .get("epcClass")
                .ok_or_else(|| indexed(i, Problem::new(".epcClass", "missing")))?;
            xml.open("quantityElement", &[])?;
            xml.leaf("epcClass", &[], text(class).map_err(|p| indexed(i, p))?)?;
            if let Some(quantity) = element.get("quantity") {
                let quantity = decimal(quantity).map_err(|p| indexed(i, p))?;
                xml.leaf("quantity", &[], &quantity)?;
                if let Some(uom) = element.get("uom") {
                    xml.leaf("uom", &[], text(uom).map_err(|p| indexed(i, p))?)?;
                }
            }
            xml.close("quantityElement");
        }
        xml.close(name);
        Ok(())
    }

    fn location(&self, xml: &mut Xml, name: &str, value: &Value) -> Fallible {
        let location = value
            .as_object()
            .ok_or_else(|| Problem::new("", "is not an object with an id"))?;
        let id = location
            .get("id")
            .ok_or_else(|| Problem::new(".id", "missing"))?;
        xml.open(name, &[])?;
        xml.leaf("id", &[], text(id)?)?;
        for (key, value) in location.iter().filter(|(k, _)| is_extension_key(k)) {
            self.extension(xml, key, value)?;
        }
        xml.close(name);
        Ok(())
    }

    /// `bizTransactionList`, `sourceList`, `destinationList`: URIs with a CBV type.
    fn typed_list(
        &self,
        xml: &mut Xml,
        name: &str,
        item: &str,
        vocabulary: Vocabulary,
        value: &Value,
        required: bool,
    ) -> Fallible {
        let items = array(value)?;
        if items.is_empty() {
            // 1.2 lists need an entry; an empty optional list says nothing.
            return if required {
                Err(Problem::new("", "is empty; EPCIS 1.2 requires an entry"))
            } else {
                Ok(())
            };
        }
        xml.open(name, &[])?;
        for (i, entry) in items.iter().enumerate() {
            let entry = entry
                .as_object()
                .ok_or_else(|| indexed(i, Problem::new("", "is not an object")))?;
            let id = entry
                .get(item)
                .ok_or_else(|| indexed(i, Problem::new(format!(".{item}"), "missing")))?;
            let id = text(id).map_err(|p| indexed(i, p))?;
            let kind = match entry.get("type") {
                Some(kind) => Some(to_urn(vocabulary, text(kind).map_err(|p| indexed(i, p))?)),
                None => None,
            };
            let attributes: Vec<(&str, &str)> = kind.iter().map(|k| ("type", k.as_str())).collect();
            xml.leaf(item, &attributes, id).map_err(|p| indexed(i, p))?;
        }
        xml.close(name);
        Ok(())
    }

    fn persistent_disposition(&self, xml: &mut Xml, value: &Value) -> Fallible {
        let map = value
            .as_object()
            .ok_or_else(|| Problem::new("", "is not an object"))?;
        xml.open("persistentDisposition", &[])?;
        // The 2.0 schema's order.
        for part in ["unset", "set"] {
            let Some(words) = map.get(part) else { continue };
            for word in array(words)? {
                let urn = to_urn(Vocabulary::Disposition, text(word)?);
                xml.leaf(part, &[], &urn)?;
            }
        }
        xml.close("persistentDisposition");
        Ok(())
    }

    fn error_declaration(&self, xml: &mut Xml, value: &Value) -> Fallible {
        let at = |p: Problem| p.within("errorDeclaration");
        let map = value
            .as_object()
            .ok_or_else(|| at(Problem::new("", "is not an object")))?;
        let time = map
            .get("declarationTime")
            .ok_or_else(|| at(Problem::new(".declarationTime", "missing")))?;
        xml.open("errorDeclaration", &[])?;
        xml.leaf("declarationTime", &[], text(time).map_err(at)?)?;
        if let Some(reason) = map.get("reason") {
            let reason = to_urn(Vocabulary::ErrorReason, text(reason).map_err(at)?);
            xml.leaf("reason", &[], &reason)?;
        }
        if let Some(ids) = map.get("correctiveEventIDs") {
            xml.open("correctiveEventIDs", &[])?;
            for id in array(ids).map_err(at)? {
                xml.leaf("correctiveEventID", &[], text(id).map_err(at)?)?;
            }
            xml.close("correctiveEventIDs");
        }
        for (key, value) in map.iter().filter(|(k, _)| is_extension_key(k)) {
            self.extension(xml, key, value).map_err(at)?;
        }
        xml.close("errorDeclaration");
        Ok(())
    }

    /// A user extension field, as a namespaced element (repeated for an array, nested for an
    /// object).
    fn extension(&self, xml: &mut Xml, key: &str, value: &Value) -> Fallible {
        // 1.2 admits only other namespaces' elements here.
        if !key.contains(':') {
            return Err(Problem::new(key, "needs a namespace prefix"));
        }
        self.extension_at(xml, key, value, 0)
    }

    fn extension_at(&self, xml: &mut Xml, key: &str, value: &Value, depth: usize) -> Fallible {
        // As deep as the readers accept.
        if depth > super::xml_read::MAX_DEPTH {
            return Err(Problem::new(key, "nests too deep"));
        }
        let name = self.element_name(key)?;
        match value {
            Value::Array(items) => {
                for item in items {
                    if item.is_array() {
                        return Err(Problem::new(key, "holds an array in an array"));
                    }
                    self.extension_at(xml, key, item, depth + 1)?;
                }
            }
            Value::Object(children) => {
                xml.open(name, &[])?;
                for (child, value) in children.iter().filter(|(k, _)| !k.starts_with('@')) {
                    self.extension_at(xml, child, value, depth + 1)
                        .map_err(|p| p.within(key))?;
                }
                xml.close(name);
            }
            Value::Null => xml.empty(name),
            scalar => xml
                .leaf(name, &[], &scalar_text(scalar))
                .map_err(|p| p.within(key))?,
        }
        Ok(())
    }

    /// The element name of an extension key: `prefix:local` with a declared prefix, or a bare
    /// local name (allowed inside an extension element only).
    fn element_name<'k>(&self, key: &'k str) -> Fallible<&'k str> {
        let local = match key.split_once(':') {
            Some((prefix, local)) => {
                if !self.namespaces.knows(prefix) {
                    return Err(Problem::new(
                        key,
                        format!("prefix '{prefix}' is not declared (no namespace for it)"),
                    ));
                }
                local
            }
            None => key,
        };
        if is_ncname(local) {
            Ok(key)
        } else {
            Err(Problem::new(key, "is not an XML element name"))
        }
    }
}

fn indexed(i: usize, p: Problem) -> Problem {
    p.within(&format!("[{i}]"))
}

fn array(value: &Value) -> Fallible<&Vec<Value>> {
    value
        .as_array()
        .ok_or_else(|| Problem::new("", "is not an array"))
}

fn text(value: &Value) -> Fallible<&str> {
    value
        .as_str()
        .ok_or_else(|| Problem::new("", format!("is not a string: {value}")))
}

fn scalar_text(value: &Value) -> Cow<'_, str> {
    match value {
        Value::String(s) => Cow::Borrowed(s),
        Value::Bool(true) => Cow::Borrowed("true"),
        Value::Bool(false) => Cow::Borrowed("false"),
        other => Cow::Owned(other.to_string()),
    }
}

/// A JSON number as an `xsd:decimal` (no exponent).
fn decimal(value: &Value) -> Fallible<String> {
    let number = value
        .as_number()
        .ok_or_else(|| Problem::new(".quantity", format!("is not a number: {value}")))?;
    if number.is_i64() || number.is_u64() {
        return Ok(number.to_string());
    }
    match number.as_f64() {
        // Rust prints every finite f64 in plain decimal notation.
        Some(x) if x.is_finite() => Ok(format!("{x}")),
        _ => Err(Problem::new(".quantity", "is not a finite number")),
    }
}

/// A CBV term as its 1.2 URN; a private vocabulary URI as written.
fn to_urn(vocabulary: Vocabulary, value: &str) -> String {
    let word = vocabulary.bare_word(value);
    match vocabulary.legacy_urn_prefix() {
        Some(prefix) if vocabulary.words().contains(&word.as_str()) => format!("{prefix}{word}"),
        _ => value.trim().to_owned(),
    }
}

fn vocabulary_leaf(xml: &mut Xml, name: &str, vocabulary: Vocabulary, value: &Value) -> Fallible {
    xml.leaf(name, &[], &to_urn(vocabulary, text(value)?))
}

/// An XML NCName, as far as EPCIS names go: a letter or `_`, then letters, digits, `.`, `-`,
/// `_` (any non-ASCII letter is let through as a name character).
fn is_ncname(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_alphabetic() || c == '_')
        && chars.all(|c| c.is_alphanumeric() || matches!(c, '.' | '-' | '_' | '\u{B7}'))
}

/// A character XML 1.0 can carry (`\t`, `\n`, `\r` and everything from U+0020, less U+FFFE and
/// U+FFFF; Rust strings hold no surrogates).
fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r') || (c >= ' ' && !matches!(c, '\u{FFFE}' | '\u{FFFF}'))
}

/// The document being written, with its indentation.
#[derive(Debug, Default)]
struct Xml {
    text: String,
    depth: usize,
}

impl Xml {
    fn raw(&mut self, s: &str) {
        self.text.push_str(s);
    }

    fn indent(&mut self) {
        for _ in 0..self.depth {
            self.text.push_str("  ");
        }
    }

    fn start_tag(&mut self, name: &str, attributes: &[(&str, &str)]) -> Fallible {
        self.indent();
        self.text.push('<');
        self.text.push_str(name);
        for (key, value) in attributes {
            self.text.push(' ');
            self.text.push_str(key);
            self.text.push_str("=\"");
            escape_into(&mut self.text, value, true)
                .map_err(|r| Problem::new(format!("@{key}"), r))?;
            self.text.push('"');
        }
        Ok(())
    }

    fn open(&mut self, name: &str, attributes: &[(&str, &str)]) -> Fallible {
        self.start_tag(name, attributes)?;
        self.text.push_str(">\n");
        self.depth += 1;
        Ok(())
    }

    fn close(&mut self, name: &str) {
        self.depth = self.depth.saturating_sub(1);
        self.indent();
        self.text.push_str("</");
        self.text.push_str(name);
        self.text.push_str(">\n");
    }

    fn empty(&mut self, name: &str) {
        self.indent();
        self.text.push('<');
        self.text.push_str(name);
        self.text.push_str("/>\n");
    }

    fn leaf(&mut self, name: &str, attributes: &[(&str, &str)], text: &str) -> Fallible {
        self.start_tag(name, attributes)?;
        self.text.push('>');
        escape_into(&mut self.text, text, false).map_err(|r| Problem::new("", r))?;
        self.text.push_str("</");
        self.text.push_str(name);
        self.text.push_str(">\n");
        Ok(())
    }
}

/// Escapes text or an attribute value. `\r` (and in attributes `\t`, `\n`) become character
/// references so a parser's end-of-line and attribute normalisation give the value back as
/// it was.
fn escape_into(out: &mut String, text: &str, attribute: bool) -> Result<(), String> {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' if attribute => out.push_str("&quot;"),
            '\r' => out.push_str("&#13;"),
            '\n' if attribute => out.push_str("&#10;"),
            '\t' if attribute => out.push_str("&#9;"),
            c if is_xml_char(c) => out.push(c),
            c => {
                return Err(format!(
                    "holds the character U+{:04X}, which XML cannot carry",
                    c as u32
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::epcis::document::{DocumentFormat, DocumentHeader};
    use crate::epcis::event::{
        BizTransaction, BizTransactionKind, DeskAction, DeskEvent, Unit, build_event,
        tracedesk_context,
    };
    use crate::epcis::event_hash_id;
    use crate::epcis::read::{CollectingSink, SupplierEvent, read_document};
    use chrono::NaiveDate;
    use serde_json::json;

    fn time() -> DateTime<FixedOffset> {
        DateTime::parse_from_rfc3339("2026-03-02T09:15:30.250+01:00").unwrap()
    }

    fn desk_event(action: DeskAction) -> Value {
        let input = DeskEvent {
            action,
            actor: Some("cli:clerk".into()),
            event_time: time(),
            units: vec![
                Unit {
                    gtin: "00359999101015".into(),
                    serial: "A/B<1>&\"x\"".into(),
                },
                Unit {
                    gtin: "09506000134352".into(),
                    serial: "S2".into(),
                },
            ],
            read_point: Some("urn:epc:id:sgln:4012345.00011.0".into()),
            biz_location: Some("https://id.gs1.org/414/4012345000115".into()),
            biz_transactions: vec![
                BizTransaction {
                    kind: BizTransactionKind::PurchaseOrder,
                    id: "urn:epcglobal:cbv:bt:4012345000009:PO4711&2".into(),
                },
                BizTransaction {
                    kind: BizTransactionKind::DespatchAdvice,
                    id: "urn:epcglobal:cbv:bt:4012345000009:ASN1".into(),
                },
            ],
            lot: Some("L0T-7".into()),
            expiry: NaiveDate::from_ymd_opt(2027, 1, 31),
            failure_reasons: if action == DeskAction::VerificationFailed {
                vec!["recalled".into(), "expired".into()]
            } else {
                vec![]
            },
        };
        build_event(&input).unwrap()
    }

    /// An event carrying what 2.0 and 1.1/1.2 added, with its hash ID as `eventID`.
    fn rich_event() -> Value {
        let mut event = json!({
            "@context": [{"ex": "https://example.com/ns/"}],
            "type": "ObjectEvent",
            "eventTime": "2026-03-02T09:15:30.250+01:00",
            "recordTime": "2026-03-02T09:16:00.000+01:00",
            "eventTimeZoneOffset": "+01:00",
            "errorDeclaration": {
                "declarationTime": "2026-03-03T10:00:00.000+01:00",
                "reason": "incorrect_data",
                "correctiveEventIDs": ["urn:uuid:404d95fc-9457-4a51-bd6a-0bba133845a8"],
                "ex:by": "pharmacist"
            },
            "epcList": ["https://id.gs1.org/01/00359999101015/21/AMX0001"],
            "action": "ADD",
            "bizStep": "commissioning",
            "disposition": "https://ref.gs1.org/cbv/Disp-active",
            "persistentDisposition": {"set": ["completeness_verified"], "unset": ["completeness_inferred"]},
            "readPoint": {"id": "urn:epc:id:sgln:4012345.00011.0", "ex:shelf": "B2"},
            "bizTransactionList": [{"type": "inv", "bizTransaction": "urn:epcglobal:cbv:bt:4012345000009:INV1"}],
            "quantityList": [{"epcClass": "urn:epc:class:lgtin:4012345.012345.998877", "quantity": 2.5, "uom": "KGM"}],
            "sourceList": [{"type": "owning_party", "source": "urn:epc:id:pgln:4012345.00000"}],
            "destinationList": [{"type": "location", "destination": "urn:epc:id:sgln:4012345.00012.0"}],
            "ilmd": {"cbvmda:lotNumber": "L1", "cbvmda:itemExpirationDate": "2027-01-31"},
            "certificationInfo": "https://cert.example.com/1",
            "ex:temperature": {"ex:value": 4, "ex:unit": "CEL"},
            "tracedesk:failureReasons": ["a", "b"]
        });
        let id = event_hash_id(&event, &tracedesk_context()).unwrap();
        event["eventID"] = json!(id);
        event
    }

    fn write(header: Option<&Epcis12Header>, events: &[Value]) -> String {
        let mut writer = Epcis12Writer::new(Vec::new(), time(), header).unwrap();
        for event in events {
            writer.event(event).unwrap();
        }
        String::from_utf8(writer.finish().unwrap()).unwrap()
    }

    fn read(xml: &str) -> CollectingSink {
        let mut sink = CollectingSink::default();
        let summary =
            read_document(xml.as_bytes(), &mut sink).unwrap_or_else(|e| panic!("{e}\n{xml}"));
        assert_eq!(summary.format, Some(DocumentFormat::Xml12));
        sink
    }

    fn assert_same_ids(events: &[Value], read: &[SupplierEvent]) {
        assert_eq!(read.len(), events.len());
        for (event, back) in events.iter().zip(read) {
            let id = event["eventID"].as_str().unwrap();
            assert_eq!(back.event_id.as_deref(), Some(id));
            assert_eq!(back.hash_id, id, "event {} changed in 1.2", back.index);
        }
    }

    fn position(xml: &str, needle: &str) -> usize {
        xml.find(needle)
            .unwrap_or_else(|| panic!("no {needle} in\n{xml}"))
    }

    #[test]
    fn every_desk_event_reads_back_with_its_id() {
        let events: Vec<Value> = DeskAction::ALL.into_iter().map(desk_event).collect();
        let xml = write(None, &events);
        let back = read(&xml);
        assert_same_ids(&events, &back.events);
        assert_eq!(back.header.unwrap().creation_date, Some(time()));
        let receipt = &back.events[0];
        assert_eq!(receipt.biz_step.as_deref(), Some("receiving"));
        assert_eq!(
            receipt.epc_list,
            [
                "https://id.gs1.org/01/00359999101015/21/A%2FB%3C1%3E%26%22x%22",
                "https://id.gs1.org/01/09506000134352/21/S2"
            ]
        );
        assert_eq!(receipt.biz_transactions[0].kind.as_deref(), Some("po"));
        assert_eq!(
            receipt.biz_transactions[0].id,
            "urn:epcglobal:cbv:bt:4012345000009:PO4711&2"
        );
        assert!(xml.contains("<bizStep>urn:epcglobal:cbv:bizstep:receiving</bizStep>"));
        assert!(xml.contains("<disposition>urn:epcglobal:cbv:disp:in_progress</disposition>"));
        assert!(xml.contains(r#"<bizTransaction type="urn:epcglobal:cbv:btt:po">"#));
        assert!(xml.contains("PO4711&amp;2</bizTransaction>"));
        assert!(xml.contains(
            "<tracedesk:failureReasons>recalled</tracedesk:failureReasons>\n        \
             <tracedesk:failureReasons>expired</tracedesk:failureReasons>"
        ));
    }

    #[test]
    fn fields_go_where_1_2_puts_them() {
        let event = rich_event();
        let xml = write(None, std::slice::from_ref(&event));
        let order = [
            "<eventTime>",
            "<recordTime>",
            "<eventTimeZoneOffset>",
            "<baseExtension>",
            "<eventID>",
            "<errorDeclaration>",
            "<declarationTime>",
            "<reason>urn:epcglobal:cbv:er:incorrect_data</reason>",
            "<correctiveEventIDs>",
            "<ex:by>pharmacist</ex:by>",
            "</baseExtension>",
            "<epcList>",
            "<action>ADD</action>",
            "<bizStep>urn:epcglobal:cbv:bizstep:commissioning</bizStep>",
            "<disposition>urn:epcglobal:cbv:disp:active</disposition>",
            "<readPoint>",
            "<ex:shelf>B2</ex:shelf>",
            "<bizTransactionList>",
            "<extension>",
            "<quantityList>",
            "<quantity>2.5</quantity>",
            r#"<source type="urn:epcglobal:cbv:sdt:owning_party">"#,
            r#"<destination type="urn:epcglobal:cbv:sdt:location">"#,
            "<ilmd>",
            "<cbvmda:lotNumber>L1</cbvmda:lotNumber>",
            "</ilmd>",
            "<extension>",
            "<unset>urn:epcglobal:cbv:disp:completeness_inferred</unset>",
            "<set>urn:epcglobal:cbv:disp:completeness_verified</set>",
            "<certificationInfo>",
            "</extension>",
            "</extension>",
            "<ex:temperature>",
            "<ex:value>4</ex:value>",
            "<tracedesk:failureReasons>a</tracedesk:failureReasons>",
            "</ObjectEvent>",
        ];
        let mut at = 0;
        for needle in order {
            let found = xml[at..]
                .find(needle)
                .unwrap_or_else(|| panic!("{needle} missing after byte {at}:\n{xml}"));
            at += found + needle.len();
        }
        assert!(xml.contains(r#"<ObjectEvent xmlns:ex="https://example.com/ns/">"#));
        let back = read(&xml);
        assert_same_ids(std::slice::from_ref(&event), &back.events);
        let back = &back.events[0];
        assert_eq!(back.lot_number.as_deref(), Some("L1"));
        assert_eq!(back.sources[0].kind.as_deref(), Some("owning_party"));
        assert_eq!(back.persistent_disposition_set, ["completeness_verified"]);
        assert_eq!(back.quantity_list[0].quantity, Some(2.5));
    }

    #[test]
    fn other_event_types_take_their_1_2_places() {
        let mut events = vec![
            json!({
                "type": "AggregationEvent",
                "eventTime": "2026-03-02T09:15:30.250+01:00",
                "eventTimeZoneOffset": "+01:00",
                "parentID": "urn:epc:id:sscc:4012345.0000000001",
                "childEPCs": ["urn:epc:id:sgtin:4012345.011111.1"],
                "action": "ADD",
                "bizStep": "packing",
                "childQuantityList": [{"epcClass": "urn:epc:class:lgtin:4012345.012345.998877", "quantity": 10}]
            }),
            json!({
                "type": "TransactionEvent",
                "eventTime": "2026-03-02T09:15:30.250+01:00",
                "eventTimeZoneOffset": "+01:00",
                "bizTransactionList": [{"type": "po", "bizTransaction": "urn:epcglobal:cbv:bt:4012345000009:PO1"}],
                "epcList": ["urn:epc:id:sgtin:4012345.011111.1"],
                "action": "ADD"
            }),
            json!({
                "type": "TransformationEvent",
                "eventTime": "2026-03-02T09:15:30.250+01:00",
                "eventTimeZoneOffset": "+01:00",
                "inputEPCList": ["urn:epc:id:sgtin:4012345.011111.1"],
                "outputEPCList": ["urn:epc:id:sgtin:4012345.011111.2"],
                "transformationID": "urn:epc:id:gdti:4012345.00001.1",
                "ilmd": {"cbvmda:lotNumber": "L2"},
                "persistentDisposition": {"set": ["active"]}
            }),
            json!({
                "type": "AssociationEvent",
                "eventTime": "2026-03-02T09:15:30.250+01:00",
                "eventTimeZoneOffset": "+01:00",
                "parentID": "urn:epc:id:grai:4012345.55555.987",
                "childEPCs": ["urn:epc:id:giai:4000001.12345"],
                "action": "ADD",
                "bizStep": "assembling"
            }),
        ];
        for event in &mut events {
            let id = event_hash_id(event, &tracedesk_context()).unwrap();
            event["eventID"] = json!(id);
        }
        let xml = write(None, &events);
        assert!(position(&xml, "<parentID>") < position(&xml, "<childEPCs>"));
        assert!(position(&xml, "<TransactionEvent>\n") < position(&xml, "<bizTransactionList>"));
        assert!(
            position(&xml, "<bizTransactionList>")
                < position(
                    &xml,
                    "<epc>urn:epc:id:sgtin:4012345.011111.1</epc>\n        </epcList>"
                )
        );
        assert!(xml.contains("<extension>\n        <TransformationEvent>"));
        assert!(xml.contains("<extension>\n        <extension>\n          <AssociationEvent>"));
        let back = read(&xml);
        assert_same_ids(&events, &back.events);
        assert_eq!(back.events[2].lot_number.as_deref(), Some("L2"));
    }

    #[test]
    fn header_parts_read_back_and_name_units_by_urn() {
        let header = Epcis12Header {
            sbdh: Sbdh {
                sender: "urn:epc:id:sgln:0359999.00000.0".into(),
                receiver: "urn:epc:id:sgln:4012345.00011.0".into(),
                instance_id: "TD-0001".into(),
            },
            products: vec![ProductMasterData {
                id: "urn:epc:idpat:sgtin:0359999.010101.*".into(),
                ndc: Some("59999-101-01".into()),
                name: Some("Amoxicillin <500 mg>".into()),
                manufacturer: Some("Demo & Sons".into()),
                dosage_form: Some("CAPSULE".into()),
                strength: Some("500 mg".into()),
                net_content: None,
            }],
            parties: vec![PartyMasterData {
                id: "urn:epc:id:sgln:0359999.00000.0".into(),
                name: Some("Demo Pharma".into()),
                street1: Some("1 Main St".into()),
                city: Some("Springfield".into()),
                state: Some("IL".into()),
                postal_code: Some("62701".into()),
                country: Some("US".into()),
                ..Default::default()
            }],
            statement: Some(TransactionStatement {
                affirmed: true,
                legal_notice: Some("Seller has complied with FDCA Sec. 582.".into()),
            }),
        };
        let events = [desk_event(DeskAction::ReceiveVerified)];
        let xml = write(Some(&header), &events);
        let back = read(&xml);
        assert_same_ids(&events, &back.events);
        // The pattern gives the company prefix length of the first unit's GTIN only.
        assert_eq!(
            back.events[0].epc_list,
            [
                "urn:epc:id:sgtin:0359999.010101.A%2FB%3C1%3E%26%22x%22",
                "https://id.gs1.org/01/09506000134352/21/S2"
            ]
        );
        let read_header = back.header.unwrap();
        let expected = DocumentHeader {
            format: Some(DocumentFormat::Xml12),
            document_type: read_header.document_type.clone(),
            creation_date: Some(time()),
            sender: Some(header.sbdh.sender.clone()),
            receiver: Some(header.sbdh.receiver.clone()),
            instance_id: Some(header.sbdh.instance_id.clone()),
            products: header.products.clone(),
            parties: header.parties.clone(),
            statement: header.statement.clone(),
        };
        assert_eq!(read_header, expected);
        assert!(
            position(&xml, "</sbdh:StandardBusinessDocumentHeader>")
                < position(&xml, "<EPCISMasterData>")
        );
        assert!(
            position(&xml, "</extension>") < position(&xml, "<gs1ushc:dscsaTransactionStatement>")
        );
    }

    #[test]
    fn a_header_xml_cannot_carry_is_refused_by_name() {
        let mut header = Epcis12Header::new(Sbdh {
            sender: "urn:epc:id:sgln:0359999.00000.0".into(),
            receiver: "urn:epc:id:sgln:4012345.00011.0".into(),
            instance_id: "TD\u{7}1".into(),
        });
        let message = Epcis12Writer::new(Vec::new(), time(), Some(&header))
            .unwrap_err()
            .to_string();
        assert_eq!(
            message,
            "header: sbdh:InstanceIdentifier: holds the character U+0007, which XML cannot carry"
        );
        header.sbdh.instance_id = "TD-1".into();
        header.parties.push(PartyMasterData {
            id: "urn:epc:id:sgln:0359999.00000.\u{0}".into(),
            ..Default::default()
        });
        let message = Epcis12Writer::new(Vec::new(), time(), Some(&header))
            .unwrap_err()
            .to_string();
        assert!(
            message.starts_with("header: VocabularyElement@id: "),
            "{message}"
        );
    }

    #[test]
    fn prefix_lengths_come_from_valid_patterns_only() {
        assert_eq!(
            prefix_length("urn:epc:idpat:sgtin:0359999.010101.*"),
            Some(("00359999101015".to_owned(), 7))
        );
        assert_eq!(
            prefix_length("urn:epc:class:lgtin:4012345.012345.998877"),
            Some(("04012345123456".to_owned(), 7))
        );
        for bad in [
            "urn:epc:idpat:sgtin:0359999.01010.*",
            "urn:epc:idpat:sgtin:03599.99010101.*",
            "urn:epc:idpat:sgtin:0359999.0101a1.*",
            "urn:epc:idpat:sgtin:",
            "https://id.gs1.org/01/00359999101015",
        ] {
            assert_eq!(prefix_length(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_bad_event_is_refused_whole_and_named() {
        let good = desk_event(DeskAction::Hold);
        let mut control = good.clone();
        control["tracedesk:lotNumber"] = json!("L\u{1}");
        let mut unknown = good.clone();
        unknown["colour"] = json!("red");
        let mut undeclared = good.clone();
        undeclared["ex:colour"] = json!("red");
        let mut no_action = good.clone();
        no_action.as_object_mut().unwrap().shift_remove("action");
        let mut bad_type = good.clone();
        bad_type["type"] = json!("QuantityEvent");
        let mut bad_epc = good.clone();
        bad_epc["epcList"][1] = json!("urn:epc:id:sgtin:1.2.\u{1b}");
        let mut bad_type_attribute = good.clone();
        bad_type_attribute["bizTransactionList"][1]["type"] = json!("x\u{8}");
        let mut sensors = good.clone();
        sensors["sensorElementList"] = json!([]);
        let mut nested = good.clone();
        nested["readPoint"]["ex:shelf"] = json!({"tracedesk:row": "\u{2}"});

        let mut writer = Epcis12Writer::new(Vec::new(), time(), None).unwrap();
        let refusals = [
            (&control, "tracedesk:lotNumber", "U+0001"),
            (&unknown, "colour", "not a field of an EPCIS ObjectEvent"),
            (&undeclared, "ex:colour", "prefix 'ex' is not declared"),
            (&no_action, "action", "EPCIS 1.2 requires it"),
            (&bad_type, "type", "not an EPCIS event type"),
            (&bad_epc, "epcList[1]: ", "U+001B"),
            (
                &bad_type_attribute,
                "bizTransactionList[1]@type: ",
                "U+0008",
            ),
            (
                &nested,
                "readPoint.ex:shelf: ",
                "prefix 'ex' is not declared",
            ),
            (
                &sensors,
                "sensorElementList: ",
                "cannot be written in EPCIS 1.2",
            ),
        ];
        writer.event(&good).unwrap();
        for (event, field, reason) in refusals {
            let message = writer.event(event).unwrap_err().to_string();
            assert!(message.starts_with("event 1 (ni:///sha-256;"), "{message}");
            assert!(
                message.contains(field) && message.contains(reason),
                "{message}"
            );
        }
        writer.event(&good).unwrap();
        assert_eq!(writer.events_written(), 2);
        let xml = String::from_utf8(writer.finish().unwrap()).unwrap();
        assert_eq!(read(&xml).events.len(), 2);
    }

    #[test]
    fn text_that_xml_would_change_is_escaped() {
        let mut event = desk_event(DeskAction::Hold);
        event["tracedesk:note"] = json!("a\r\nb <c> & \"d\"\t");
        let id = event_hash_id(&event, &tracedesk_context()).unwrap();
        event["eventID"] = json!(id);
        let xml = write(None, std::slice::from_ref(&event));
        assert!(xml.contains("<tracedesk:note>a&#13;\nb &lt;c&gt; &amp; \"d\"\t</tracedesk:note>"));
        assert_same_ids(std::slice::from_ref(&event), &read(&xml).events);

        let mut out = String::new();
        escape_into(&mut out, "x\"\n\t\r", true).unwrap();
        assert_eq!(out, "x&quot;&#10;&#9;&#13;");
        assert!(escape_into(&mut String::new(), "\u{FFFF}", false).is_err());
    }
}
