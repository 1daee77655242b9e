//! The CBV 2.0 EPCIS event hash ID: `ni:///sha-256;<hex>?ver=CBV2.0`.
//!
//! An event's hash ID is the SHA-256 of its *pre-hash string*, a canonical text form that is the
//! same whichever way the event was written: JSON-LD or XML, any field order, any namespace
//! prefixes, EPC URNs or Digital Link URIs, local or UTC times, `1.0` or `1`. TraceDesk uses it
//! as the `eventID` of every event it records (so a resent event deduplicates upstream) and to
//! recognise supplier events it has already imported.
//!
//! This is TraceDesk's own implementation of the algorithm published with the GS1 reference
//! implementation (RalphTro/epcis-event-hash-generator) and checked against its test vectors
//! (`tests/domain/epcis_hash_vectors.rs`). Where the reference's behaviour differs from a literal
//! reading of the algorithm text and the published hashes depend on it, the reference wins; the
//! places are commented where they happen.
//!
//! Pure: no I/O, no clock, no network (the JSON-LD context is never fetched; the standard term
//! lists are built in, see [`crate::epcis::vocab`]).

mod canon;
mod dl;
mod json;
pub(crate) mod prehash;
pub(crate) mod xml;

use std::collections::BTreeMap;

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

/// Why an event or document could not be hashed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HashError {
    #[error("the event is not a JSON object")]
    NotAnObject,
    #[error("the event has no \"type\" (ObjectEvent, AggregationEvent, ...)")]
    MissingEventType,
    #[error(
        "the document has no event list (epcisBody.eventList or queryResults.resultsBody.eventList)"
    )]
    NoEventList,
    #[error("the XML document cannot be read: {0}")]
    Xml(String),
    #[error("an event nests elements more than {0} levels deep")]
    TooDeep(usize),
    #[error("event {index} of the document: {source}")]
    InEvent {
        index: usize,
        #[source]
        source: Box<HashError>,
    },
}

/// What a document tells the hash about its events: namespace prefixes from its JSON-LD
/// `@context`, and the extension fields its `ignoreFields` excludes from hashing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Context {
    prefixes: BTreeMap<String, String>,
    ignored_fields: Vec<String>,
}

impl Default for Context {
    fn default() -> Self {
        Self::standard()
    }
}

impl Context {
    /// The prefixes every EPCIS 2.0 document has: `epcis`, `cbv`, `gs1`, `cbvmda`.
    ///
    /// `cbvmda` maps to `urn:epcglobal:cbv:mda` (no trailing colon), the namespace XML documents
    /// declare, so `cbvmda:lotNumber` hashes the same in both syntaxes.
    pub fn standard() -> Self {
        let prefixes = [
            ("epcis", "https://ref.gs1.org/epcis/"),
            ("cbv", crate::epcis::vocab::CBV),
            ("gs1", crate::epcis::vocab::GS1_VOC),
            ("cbvmda", "urn:epcglobal:cbv:mda"),
        ]
        .into_iter()
        .map(|(p, ns)| (p.to_owned(), ns.to_owned()))
        .collect();
        Context {
            prefixes,
            ignored_fields: Vec::new(),
        }
    }

    /// The standard prefixes plus those a JSON-LD `@context` value (string, object or array)
    /// defines as plain strings.
    pub fn from_jsonld_context(context: &Value) -> Self {
        Self::standard().with_jsonld_context(context)
    }

    /// This context plus the prefixes of a JSON-LD `@context` value.
    pub fn with_jsonld_context(mut self, context: &Value) -> Self {
        self.add_jsonld_context(context);
        self
    }

    /// The context of a whole JSON-LD document: its `@context` and any `ignoreFields` list at
    /// document, `epcisBody` or `queryResults` level.
    pub fn for_jsonld_document(document: &Value) -> Self {
        let mut ctx = Self::standard();
        if let Some(c) = document.get("@context") {
            ctx.add_jsonld_context(c);
        }
        let body = document.get("epcisBody");
        let query_results = body.and_then(|b| b.get("queryResults"));
        for level in [Some(document), body, query_results].into_iter().flatten() {
            let Some(object) = level.as_object() else {
                continue;
            };
            for (key, value) in object {
                if key == "ignoreFields" || key.ends_with(":ignoreFields") {
                    for name in value
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(Value::as_str)
                    {
                        let name = ctx.expand_key(name);
                        ctx.ignored_fields.push(name);
                    }
                }
            }
        }
        ctx
    }

    /// Adds (or replaces) a namespace prefix.
    pub fn with_prefix(mut self, prefix: impl Into<String>, namespace: impl Into<String>) -> Self {
        self.prefixes.insert(prefix.into(), namespace.into());
        self
    }

    /// Excludes a top-level field (`{namespace}local` or a bare name) from the hash.
    pub fn ignoring_field(mut self, name: impl Into<String>) -> Self {
        self.ignored_fields.push(name.into());
        self
    }

    pub(crate) fn add_ignored_field(&mut self, name: String) {
        self.ignored_fields.push(name);
    }

    fn add_jsonld_context(&mut self, context: &Value) {
        match context {
            Value::Array(items) => items.iter().for_each(|c| self.add_jsonld_context(c)),
            Value::Object(terms) => {
                for (prefix, ns) in terms {
                    if let Some(ns) = ns.as_str().filter(|_| !prefix.starts_with('@')) {
                        self.prefixes.insert(prefix.clone(), ns.to_owned());
                    }
                }
            }
            // A context URL carries no prefixes TraceDesk can use without fetching it.
            _ => {}
        }
    }

    fn split_curie<'s>(&self, s: &'s str) -> Option<(&str, &'s str)> {
        let (prefix, local) = s.split_once(':')?;
        self.prefixes.get(prefix).map(|ns| (ns.as_str(), local))
    }

    /// `prefix:local` -> `{namespace}local` for a field name.
    pub(crate) fn expand_key(&self, key: &str) -> String {
        match self.split_curie(key) {
            Some((ns, local)) => format!("{{{ns}}}{local}"),
            None => key.to_owned(),
        }
    }

    /// `prefix:local` -> `namespace` + `local`, for any known prefix.
    pub(crate) fn expand_curie(&self, value: &str) -> Option<String> {
        self.split_curie(value)
            .map(|(ns, local)| format!("{ns}{local}"))
    }

    /// Like [`Self::expand_curie`], but only for the GS1 standard vocabularies: user CURIEs in
    /// values stay as written, as they do in XML.
    pub(crate) fn expand_standard_curie(&self, value: &str) -> Option<String> {
        self.split_curie(value)
            .filter(|(ns, _)| {
                ns.starts_with("https://ref.gs1.org") || ns.starts_with("https://gs1.org")
            })
            .map(|(ns, local)| format!("{ns}{local}"))
    }
}

/// The pre-hash string of a JSON-LD event (for debugging and conformance tests).
pub fn prehash(event: &Value, context: &Context) -> Result<String, HashError> {
    let object = event.as_object().ok_or(HashError::NotAnObject)?;
    let event_type = object
        .get("type")
        .and_then(Value::as_str)
        .ok_or(HashError::MissingEventType)?;
    let own_context;
    let context = if object.contains_key("@context") {
        own_context = context_with_event_context(context, object);
        &own_context
    } else {
        context
    };
    let fields = json::event_fields(object, context);
    Ok(prehash::prehash(
        event_type,
        fields,
        &context.ignored_fields,
    ))
}

/// The CBV 2.0 event hash ID of a JSON-LD event, e.g.
/// `ni:///sha-256;6ae9...39d7?ver=CBV2.0`.
pub fn event_hash_id(event: &Value, context: &Context) -> Result<String, HashError> {
    prehash(event, context).map(|p| hash_id_of_prehash(&p))
}

/// Wraps a pre-hash string's SHA-256 in the `ni:` URI of CBV 2.0.
pub fn hash_id_of_prehash(prehash: &str) -> String {
    hash_id_of_digest(Sha256::digest(prehash.as_bytes()).as_slice())
}

fn hash_id_of_digest(digest: &[u8]) -> String {
    let mut out = String::with_capacity(14 + 64 + 11);
    out.push_str("ni:///sha-256;");
    for &byte in digest {
        out.push(hex_digit(byte >> 4));
        out.push(hex_digit(byte & 0x0f));
    }
    out.push_str("?ver=CBV2.0");
    out
}

fn hex_digit(nibble: u8) -> char {
    char::from_digit(u32::from(nibble), 16).unwrap_or('0')
}

/// The event list of an EPCISDocument or EPCISQueryDocument (or the single `epcisBody.event`).
pub fn jsonld_document_events(document: &Value) -> Result<Vec<&Value>, HashError> {
    let body = document.get("epcisBody").ok_or(HashError::NoEventList)?;
    if let Some(list) = body.get("eventList") {
        return list
            .as_array()
            .map(|l| l.iter().collect())
            .ok_or(HashError::NoEventList);
    }
    if let Some(list) = body.pointer("/queryResults/resultsBody/eventList") {
        return list
            .as_array()
            .map(|l| l.iter().collect())
            .ok_or(HashError::NoEventList);
    }
    body.get("event")
        .map(|e| vec![e])
        .ok_or(HashError::NoEventList)
}

/// Pre-hash strings of every event of a JSON-LD document, in document order.
pub fn jsonld_document_prehashes(document: &Value) -> Result<Vec<String>, HashError> {
    let context = Context::for_jsonld_document(document);
    jsonld_document_events(document)?
        .into_iter()
        .enumerate()
        .map(|(index, event)| {
            prehash(event, &context).map_err(|e| HashError::InEvent {
                index,
                source: Box::new(e),
            })
        })
        .collect()
}

/// Hash IDs of every event of a JSON-LD document, in document order.
pub fn jsonld_document_hash_ids(document: &Value) -> Result<Vec<String>, HashError> {
    Ok(jsonld_document_prehashes(document)?
        .iter()
        .map(|p| hash_id_of_prehash(p))
        .collect())
}

/// Pre-hash strings of every event of an EPCIS XML document, in document order.
pub fn xml_document_prehashes(xml: &str) -> Result<Vec<String>, HashError> {
    let (events, ignored) = xml::document_events(xml)?;
    Ok(events
        .into_iter()
        .map(|e| prehash::prehash(&e.event_type, e.fields, &ignored))
        .collect())
}

/// The hash ID of an event read into fields with its big lists kept out of the tree (the
/// streaming XML reader's form for an event of any size): the pre-hash string is never built
/// whole, it is hashed as it is written.
pub(crate) fn hash_id_of_streamed_fields<L: prehash::StreamedLists + ?Sized>(
    event_type: &str,
    fields: Vec<prehash::Field>,
    ignored: &[String],
    lists: &mut L,
) -> Result<String, L::Error> {
    let mut digest = Sha256::new();
    prehash::write_prehash(event_type, fields, ignored, lists, &mut |bytes| {
        digest.update(bytes);
        true
    })?;
    Ok(hash_id_of_digest(digest.finalize().as_slice()))
}

/// The form an `epc` value of a list takes in the pre-hash string (`None` for an empty one,
/// which adds nothing to it).
pub(crate) fn canonical_list_value(value: &str) -> Option<String> {
    let text = value.trim();
    if text.is_empty() {
        return None;
    }
    Some(canon::value(text)).filter(|v| !v.is_empty())
}

/// [`canonical_list_value`] for the values of a big list: the bulk of one is a product's SGTIN
/// URNs with plain serials, whose canonical form is the product's Digital Link stem and the
/// serial. The stem of the last product is kept (taken from the full rules the first time).
#[derive(Debug, Default)]
pub(crate) struct ListCanon {
    /// `company prefix.item reference` and the Digital Link up to the serial.
    last: Option<(String, String)>,
}

impl ListCanon {
    pub(crate) fn value(&mut self, value: &str) -> Option<String> {
        let Some((product, serial)) = plain_sgtin(value) else {
            return canonical_list_value(value);
        };
        if let Some((known, stem)) = &self.last
            && known == product
        {
            return Some(format!("{stem}{serial}"));
        }
        let full = canonical_list_value(value)?;
        if let Some(stem) = full.strip_suffix(serial).filter(|s| s.ends_with("/21/")) {
            self.last = Some((product.to_owned(), stem.to_owned()));
        }
        Some(full)
    }
}

/// The `company prefix.item reference` and serial of an SGTIN URN whose serial the Digital Link
/// keeps as it is (1-20 characters, none escaped); such a URN is nothing the vocabulary or
/// number rules change.
fn plain_sgtin(value: &str) -> Option<(&str, &str)> {
    let body = value.strip_prefix("urn:epc:id:sgtin:")?;
    let mut parts = body.splitn(3, '.');
    let (cp, item, serial) = (parts.next()?, parts.next()?, parts.next()?);
    let plain = (1..=20).contains(&serial.len())
        && serial
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"'.;=_-".contains(&b));
    if !plain {
        return None;
    }
    Some((body.get(..cp.len() + 1 + item.len())?, serial))
}

/// Hash IDs of every event of an EPCIS XML document, in document order.
pub fn xml_document_hash_ids(xml: &str) -> Result<Vec<String>, HashError> {
    Ok(xml_document_prehashes(xml)?
        .iter()
        .map(|p| hash_id_of_prehash(p))
        .collect())
}

/// An event object's `@context` (EPCIS 2.0 allows one per event) added to a document context.
fn context_with_event_context(context: &Context, event: &Map<String, Value>) -> Context {
    let mut ctx = context.clone();
    if let Some(c) = event.get("@context") {
        ctx.add_jsonld_context(c);
    }
    ctx
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn reference_event() -> Value {
        json!({
            "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld",
                         {"example": "https://ns.example.com/epcis/"}],
            "type": "EPCISDocument",
            "epcisBody": {"eventList": [{
                "type": "ObjectEvent",
                "eventTime": "2020-03-04T11:00:30.000+01:00",
                "eventTimeZoneOffset": "+01:00",
                "recordTime": "2020-03-04T11:00:30.999+01:00",
                "epcList": ["urn:epc:id:sscc:4012345.0000000333",
                            "urn:epc:id:sscc:4012345.0000000111",
                            "urn:epc:id:sscc:4012345.0000000222"],
                "action": "OBSERVE",
                "bizStep": "departing",
                "readPoint": {"id": "urn:epc:id:sgln:4012345.00011.987"},
                "example:myField1": {"example:mySubField1": "2", "example:mySubField2": "5"},
                "example:myField2": "0",
                "example:myField3": {"example:mySubField3": ["3", "1"]}
            }]}
        })
    }

    #[test]
    fn a_list_canonicalises_as_each_value_alone_would() {
        let values = [
            "urn:epc:id:sgtin:0614141.107346.2018",
            "urn:epc:id:sgtin:0614141.107346.A-1_x.y;z=1'",
            "urn:epc:id:sgtin:0614141.107346.2019",
            "urn:epc:id:sgtin:0614141.107346.a%2Fb",
            "urn:epc:id:sgtin:0614141.107346.x!y",
            "urn:epc:id:sgtin:0614141.107346.123456789012345678901",
            "urn:epc:id:sgtin:0614141.107346.",
            "urn:epc:id:sgtin:4012345.011111.1",
            "urn:epc:id:sgtin:0614141.107346.3",
            "urn:epc:id:sgtin:0614141.10734.6",
            "urn:epc:id:sgtin:06141411.07346.6",
            "urn:epc:id:sscc:0614141.1234567890",
            "https://id.gs1.org/01/00614141073467/21/2018",
            "  urn:epc:id:sgtin:0614141.107346.4  ",
            "42",
            "",
        ];
        let mut canon = ListCanon::default();
        for _ in 0..2 {
            for value in values {
                assert_eq!(canon.value(value), canonical_list_value(value), "{value}");
            }
        }
    }

    #[test]
    fn reference_example_one() {
        let ids = jsonld_document_hash_ids(&reference_event()).unwrap();
        assert_eq!(
            ids,
            [
                "ni:///sha-256;6ae96341e0acc6d7a261364751f60e68278a81cdf51da0abb6b4e617014e39d7?ver=CBV2.0"
            ]
        );
    }

    #[test]
    fn json_and_xml_spellings_of_a_receipt_hash_equal() {
        let json_doc = json!({
            "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld",
                         {"tracedesk": "urn:tracedesk:epcis:"}],
            "type": "EPCISDocument",
            "epcisBody": {"eventList": [{
                "type": "ObjectEvent",
                "eventTime": "2026-03-02T09:15:30.250+01:00",
                "eventTimeZoneOffset": "+01:00",
                "epcList": ["https://id.gs1.org/01/09506000134352/21/SN1"],
                "action": "OBSERVE",
                "bizStep": "receiving",
                "disposition": "in_progress",
                "readPoint": {"id": "urn:epc:id:sgln:4012345.00011.0"},
                "bizTransactionList": [{"type": "po", "bizTransaction": "urn:epcglobal:cbv:bt:4012345000009:PO1"}],
                "ilmd": {"cbvmda:lotNumber": "L1", "cbvmda:itemExpirationDate": "2027-01-31"},
                "tracedesk:failureReasons": ["expired"]
            }]}
        });
        let xml = r#"<epcis:EPCISDocument xmlns:epcis="urn:epcglobal:epcis:xsd:2"
            xmlns:cbvmda="urn:epcglobal:cbv:mda" xmlns:td="urn:tracedesk:epcis:" schemaVersion="2.0">
          <EPCISBody><EventList><ObjectEvent>
            <eventTime>2026-03-02T08:15:30.25Z</eventTime>
            <eventTimeZoneOffset>+01:00</eventTimeZoneOffset>
            <epcList><epc>urn:epc:id:sgtin:9506000.013435.SN1</epc></epcList>
            <action>OBSERVE</action>
            <bizStep>urn:epcglobal:cbv:bizstep:receiving</bizStep>
            <disposition>cbv:Disp-in_progress</disposition>
            <readPoint><id>https://id.gs1.org/414/4012345000115</id></readPoint>
            <bizTransactionList>
              <bizTransaction type="urn:epcglobal:cbv:btt:po">urn:epcglobal:cbv:bt:4012345000009:PO1</bizTransaction>
            </bizTransactionList>
            <extension><ilmd>
              <cbvmda:itemExpirationDate>2027-01-31</cbvmda:itemExpirationDate>
              <cbvmda:lotNumber>L1</cbvmda:lotNumber>
            </ilmd></extension>
            <td:failureReasons>expired</td:failureReasons>
          </ObjectEvent></EventList></EPCISBody>
        </epcis:EPCISDocument>"#;
        let from_json = jsonld_document_prehashes(&json_doc).unwrap();
        let from_xml = xml_document_prehashes(xml).unwrap();
        assert_eq!(from_json, from_xml);
    }

    #[test]
    fn odd_values_never_panic_and_stay_deterministic() {
        let odd = json!({
            "type": "ObjectEvent",
            "eventTime": "+262143-12-31T23:59:59.9999Z",
            "eventTimeZoneOffset": "+99:99",
            "epcList": ["urn:epc:id:sgtin:", "urn:epc:id:sgtin:1.2.3", "https://", "https://x/01/", "urn:epc:id:cpi:0614141..1",
                        "urn:epc:idpat:sgtin:.*", "https://id.gs1.org/01/1234/21/%", null, [[1]], {"#text": 5}],
            "action": null,
            "quantityList": [{}, {"quantity": 1e308}, {"quantity": -0.0, "epcClass": "urn:epc:class:lgtin:..."}],
            "bizStep": "1_000",
            "readPoint": "urn:epc:id:sgln:4012345.00011.0",
            "sensorElementList": [{"sensorReport": [{"value": "1e-400", "time": "2020-02-30T00:00:00Z"}]}],
            "example:x": {"example:yList": [{"a": "ü"}, "é"]},
            "certificationInfo": ["b", "a"]
        });
        let first = prehash(&odd, &Context::standard()).unwrap();
        assert_eq!(prehash(&odd, &Context::standard()).unwrap(), first);
        assert!(
            first.starts_with("eventType=ObjectEventeventTime=+262143-12-31T23:59:59.9999Z"),
            "{first}"
        );
        assert!(
            first.contains("certificationInfo=acertificationInfo=b"),
            "{first}"
        );
        assert!(
            first.contains("readPointid=https://id.gs1.org/414/4012345000115"),
            "{first}"
        );
    }

    #[test]
    fn hostile_xml_nesting_is_refused() {
        let deep = format!(
            "<d><EventList><ObjectEvent>{}{}</ObjectEvent></EventList></d>",
            "<a>".repeat(500),
            "</a>".repeat(500)
        );
        assert_eq!(xml_document_prehashes(&deep), Err(HashError::TooDeep(64)));
        assert!(matches!(
            xml_document_prehashes("<EventList>"),
            Err(HashError::Xml(_))
        ));
        assert_eq!(
            xml_document_prehashes("<doc/>"),
            Err(HashError::NoEventList)
        );
    }

    #[test]
    fn event_without_type_is_an_error_naming_the_event() {
        let doc = json!({"epcisBody": {"eventList": [{"type": "ObjectEvent"}, {"action": "ADD"}]}});
        assert_eq!(
            jsonld_document_prehashes(&doc),
            Err(HashError::InEvent {
                index: 1,
                source: Box::new(HashError::MissingEventType)
            })
        );
    }
}
