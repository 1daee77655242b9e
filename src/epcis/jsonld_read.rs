//! The EPCIS 2.0 JSON-LD reader.
//!
//! Suppliers' files can be large, so [`read_jsonld_events`] walks the document with serde and
//! materialises one event at a time: it hands each event to a callback as a typed
//! [`SupplierEvent`] and drops it before reading the next. Memory use does not grow with the
//! number of events; one event is held whole while it is read (up to
//! [`MAX_JSON_EVENT_BYTES`]).
//!
//! Both `EPCISDocument` (`epcisBody.eventList`) and `EPCISQueryDocument`
//! (`epcisBody.queryResults.resultsBody.eventList`) are read. The document's `@context` and
//! `ignoreFields` should precede `epcisBody` (as they do in every published document).

use std::fmt;
use std::io::{BufReader, Read};

use chrono::{DateTime, NaiveDate};
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use super::document::{DocumentFormat, DocumentHeader};
use super::hash::{Context, event_hash_id};
use super::supplier::*;
use super::vocab::Vocabulary;

/// Reads an EPCIS 2.0 JSON-LD document from `reader`, calling `on_event` once per event in
/// document order. Stops at the first error, including one returned by `on_event`.
///
/// The document's `@context` and `ignoreFields` should precede `epcisBody` (as they do in every
/// published document); prefixes that only appear after the events cannot affect them.
pub fn read_jsonld_events<R, F, E>(reader: R, on_event: F) -> Result<ReadSummary, ReadError<E>>
where
    R: Read,
    F: FnMut(SupplierEvent) -> Result<(), E>,
    E: std::error::Error + 'static,
{
    struct Events<F>(F);
    impl<F, E> DocumentSink for Events<F>
    where
        F: FnMut(SupplierEvent) -> Result<(), E>,
        E: std::error::Error + 'static,
    {
        type Error = E;
        fn header(&mut self, _: DocumentHeader) -> Result<(), E> {
            Ok(())
        }
        fn event(&mut self, event: SupplierEvent) -> Result<(), E> {
            (self.0)(event)
        }
    }
    read_jsonld_document(BufReader::new(reader), &mut Events(on_event))
}

/// Reads an EPCIS 2.0 JSON-LD document, header and events, into `sink`.
pub fn read_jsonld_document<R: Read, S: DocumentSink>(
    reader: R,
    sink: &mut S,
) -> Result<ReadSummary, ReadError<S::Error>> {
    let mut walker = Walker {
        sink,
        context: Context::standard(),
        next_index: 0,
        in_event_list: false,
        saw_event_list: false,
        document_type: None,
        header: None,
        header_sent: false,
        failure: None,
        budget: None,
    };
    let budget = std::rc::Rc::new(std::cell::Cell::new(0u64));
    let reader = EventBudget {
        inner: reader,
        used: std::rc::Rc::clone(&budget),
    };
    walker.budget = Some(budget);
    let mut de = serde_json::Deserializer::from_reader(reader);
    let result = DocumentSeed(&mut walker)
        .deserialize(&mut de)
        .and_then(|()| de.end());
    if let Some(failure) = walker.failure.take() {
        return Err(failure);
    }
    let current_event = walker.in_event_list.then_some(walker.next_index);
    if let Err(e) = result {
        return Err(match e.classify() {
            serde_json::error::Category::Io => ReadError::Io(e.into()),
            serde_json::error::Category::Eof => ReadError::Truncated {
                event: current_event,
            },
            _ => ReadError::Syntax {
                event: current_event,
                line: e.line(),
                column: e.column(),
                message: e.to_string(),
            },
        });
    }
    if !walker.saw_event_list {
        return Err(ReadError::NoEventList);
    }
    if !walker.header_sent {
        walker.header_sent = true;
        let header = walker.full_header();
        walker
            .sink
            .header(header)
            .map_err(|source| ReadError::Rejected {
                index: walker.next_index,
                source,
            })?;
    }
    Ok(ReadSummary {
        document_type: walker.document_type,
        events: walker.next_index,
        format: Some(DocumentFormat::JsonLd20),
    })
}

struct Walker<'s, S: DocumentSink> {
    sink: &'s mut S,
    context: Context,
    next_index: usize,
    in_event_list: bool,
    saw_event_list: bool,
    document_type: Option<String>,
    /// The document's `epcisHeader`, read before the body in every published document.
    header: Option<DocumentHeader>,
    header_sent: bool,
    /// Set when the walk must stop for a reason that is not a JSON error.
    failure: Option<ReadError<S::Error>>,
    /// Bytes read since the last event was delivered (see [`EventBudget`]).
    budget: Option<std::rc::Rc<std::cell::Cell<u64>>>,
}

/// The most JSON one event (or the part of a document before its first event) may take: room
/// for a shipping event listing millions of EPCs, not for an unbounded one, since an event is
/// held whole in memory while it is read.
pub const MAX_JSON_EVENT_BYTES: u64 = 128 << 20;

/// Counts the bytes read since the walker last reset the count, and refuses to read on past
/// [`MAX_JSON_EVENT_BYTES`].
struct EventBudget<R> {
    inner: R,
    used: std::rc::Rc<std::cell::Cell<u64>>,
}

impl<R: Read> Read for EventBudget<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.used.get() > MAX_JSON_EVENT_BYTES {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("an event longer than {MAX_JSON_EVENT_BYTES} bytes"),
            ));
        }
        let n = self.inner.read(buf)?;
        self.used.set(self.used.get() + n as u64);
        Ok(n)
    }
}

impl<S: DocumentSink> Walker<'_, S> {
    fn full_header(&self) -> DocumentHeader {
        let mut header = self.header.clone().unwrap_or_default();
        header.format = Some(DocumentFormat::JsonLd20);
        header.document_type = self.document_type.clone();
        header
    }

    /// Hands the header over before the first event.
    fn send_header(&mut self) -> bool {
        if self.header_sent {
            return true;
        }
        self.header_sent = true;
        let header = self.full_header();
        match self.sink.header(header) {
            Ok(()) => true,
            Err(source) => {
                self.failure = Some(ReadError::Rejected {
                    index: self.next_index,
                    source,
                });
                false
            }
        }
    }

    fn take_ignore_fields(&mut self, value: &Value) {
        for name in value
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            let expanded = self.context.expand_key(name);
            self.context.add_ignored_field(expanded);
        }
    }

    /// Converts and delivers one event; `false` when reading must stop.
    fn deliver(&mut self, raw: Value) -> bool {
        if let Some(budget) = &self.budget {
            budget.set(0);
        }
        if !self.send_header() {
            return false;
        }
        let index = self.next_index;
        self.next_index += 1;
        let mut event = match SupplierEvent::from_raw(index, raw, &self.context) {
            Ok(event) => event,
            Err(reason) => {
                self.failure = Some(ReadError::InvalidEvent { index, reason });
                return false;
            }
        };
        let delivered = if self.sink.streams_lists() {
            let mut lists = EventLists::take_from(&mut event);
            self.sink.event_with_lists(event, &mut lists)
        } else {
            self.sink.event(event)
        };
        match delivered {
            Ok(()) => true,
            Err(source) => {
                self.failure = Some(ReadError::Rejected { index, source });
                false
            }
        }
    }
}

fn is_ignore_fields(key: &str) -> bool {
    key == "ignoreFields" || key.ends_with(":ignoreFields")
}

/// A serde error that only stops the walk; the real reason is in `Walker::failure`.
fn stop<Er: de::Error>() -> Er {
    Er::custom("reading stopped")
}

struct DocumentSeed<'w, 's, S: DocumentSink>(&'w mut Walker<'s, S>);

impl<'de, S: DocumentSink> DeserializeSeed<'de> for DocumentSeed<'_, '_, S> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de, S: DocumentSink> Visitor<'de> for DocumentSeed<'_, '_, S> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an EPCIS document object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "@context" => {
                    let context: Value = map.next_value()?;
                    let current = std::mem::take(&mut self.0.context);
                    self.0.context = current.with_jsonld_context(&context);
                }
                "type" => self.0.document_type = Some(map.next_value()?),
                "epcisHeader" => {
                    let header: Value = map.next_value()?;
                    self.0.header = Some(jsonld_header(&header));
                }
                "epcisBody" => map.next_value_seed(Section {
                    walker: &mut *self.0,
                    level: Level::Body,
                })?,
                k if is_ignore_fields(k) => {
                    let value: Value = map.next_value()?;
                    self.0.take_ignore_fields(&value);
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

#[derive(Clone, Copy)]
enum Level {
    Body,
    QueryResults,
    ResultsBody,
}

/// `epcisBody`, `queryResults` or `resultsBody`: objects on the way to the event list.
struct Section<'w, 's, S: DocumentSink> {
    walker: &'w mut Walker<'s, S>,
    level: Level,
}

impl<'de, S: DocumentSink> DeserializeSeed<'de> for Section<'_, '_, S> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de, S: DocumentSink> Visitor<'de> for Section<'_, '_, S> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let walker = self.walker;
        while let Some(key) = map.next_key::<String>()? {
            match (self.level, key.as_str()) {
                (Level::Body | Level::ResultsBody, "eventList") => {
                    walker.saw_event_list = true;
                    map.next_value_seed(EventListSeed(&mut *walker))?;
                }
                (Level::Body, "event") => {
                    walker.saw_event_list = true;
                    let event: Value = map.next_value()?;
                    if !walker.deliver(event) {
                        return Err(stop());
                    }
                }
                (Level::Body, "queryResults") => map.next_value_seed(Section {
                    walker: &mut *walker,
                    level: Level::QueryResults,
                })?,
                (Level::QueryResults, "resultsBody") => map.next_value_seed(Section {
                    walker: &mut *walker,
                    level: Level::ResultsBody,
                })?,
                (_, k) if is_ignore_fields(k) => {
                    let value: Value = map.next_value()?;
                    walker.take_ignore_fields(&value);
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

struct EventListSeed<'w, 's, S: DocumentSink>(&'w mut Walker<'s, S>);

impl<'de, S: DocumentSink> DeserializeSeed<'de> for EventListSeed<'_, '_, S> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de, S: DocumentSink> Visitor<'de> for EventListSeed<'_, '_, S> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of events")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        self.0.in_event_list = true;
        // One event in memory at a time: each is converted, handed over and dropped.
        loop {
            if let Err(source) = self.0.sink.event_starts() {
                self.0.failure = Some(ReadError::Rejected {
                    index: self.0.next_index,
                    source,
                });
                return Err(stop());
            }
            let Some(event) = seq.next_element::<Value>()? else {
                break;
            };
            if !self.0.deliver(event) {
                return Err(stop());
            }
        }
        self.0.in_event_list = false;
        Ok(())
    }
}

impl SupplierEvent {
    fn from_raw(index: usize, raw: Value, context: &Context) -> Result<SupplierEvent, String> {
        let object = raw.as_object().ok_or("the event is not a JSON object")?;
        let type_name = object
            .get("type")
            .and_then(Value::as_str)
            .ok_or("the event has no \"type\"")?;
        let event_type = EventType::parse(type_name)
            .ok_or_else(|| format!("unknown event type '{type_name}'"))?;
        let event_time = match object.get("eventTime") {
            Some(Value::String(s)) => DateTime::parse_from_rfc3339(s)
                .map_err(|e| format!("eventTime '{s}' is not an RFC 3339 date-time ({e})"))?,
            Some(_) => return Err("eventTime is not a string".into()),
            None => return Err("eventTime is missing".into()),
        };
        let action = match object.get("action") {
            None => None,
            Some(v) => Some(match v.as_str() {
                Some("ADD") => Action::Add,
                Some("OBSERVE") => Action::Observe,
                Some("DELETE") => Action::Delete,
                _ => return Err(format!("action {v} is not ADD, OBSERVE or DELETE")),
            }),
        };
        let word = |key: &str, vocabulary: Vocabulary| -> Result<Option<String>, String> {
            optional_string(object, key).map(|v| v.map(|s| vocabulary.bare_word(&s)))
        };
        let (persistent_disposition_set, persistent_disposition_unset) =
            match object.get("persistentDisposition") {
                None => (Vec::new(), Vec::new()),
                Some(Value::Object(p)) => {
                    let words = |key: &str| -> Result<Vec<String>, String> {
                        Ok(string_list(p, key, "persistentDisposition")?
                            .iter()
                            .map(|s| Vocabulary::Disposition.bare_word(s))
                            .collect())
                    };
                    (words("set")?, words("unset")?)
                }
                Some(_) => return Err("persistentDisposition is not an object".into()),
            };
        let (lot_number, item_expiration_date) = ilmd(object, context)?;
        let hash_id = event_hash_id(&raw, context).map_err(|e| e.to_string())?;
        Ok(SupplierEvent {
            index,
            event_type,
            action,
            event_time,
            biz_step: word("bizStep", Vocabulary::BizStep)?,
            disposition: word("disposition", Vocabulary::Disposition)?,
            persistent_disposition_set,
            persistent_disposition_unset,
            epc_list: string_list(object, "epcList", "event")?,
            parent_id: optional_string(object, "parentID")?,
            child_epcs: string_list(object, "childEPCs", "event")?,
            input_epc_list: string_list(object, "inputEPCList", "event")?,
            output_epc_list: string_list(object, "outputEPCList", "event")?,
            quantity_list: quantities(object, "quantityList")?,
            child_quantity_list: quantities(object, "childQuantityList")?,
            biz_transactions: references(
                object,
                "bizTransactionList",
                "bizTransaction",
                Vocabulary::BizTransactionType,
            )?,
            sources: references(
                object,
                "sourceList",
                "source",
                Vocabulary::SourceDestinationType,
            )?,
            destinations: references(
                object,
                "destinationList",
                "destination",
                Vocabulary::SourceDestinationType,
            )?,
            read_point: location(object, "readPoint")?,
            biz_location: location(object, "bizLocation")?,
            lot_number,
            item_expiration_date,
            event_id: optional_string(object, "eventID")?,
            drop_shipment: drop_shipment(object)?,
            hash_id,
        })
    }
}

/// GS1 US `dropShipment`, under any prefix the context binds to its namespace.
fn drop_shipment(object: &Map<String, Value>) -> Result<Option<bool>, String> {
    let Some((key, value)) = object
        .iter()
        .find(|(k, _)| k.rsplit(':').next() == Some("dropShipment"))
    else {
        return Ok(None);
    };
    match value {
        Value::Bool(b) => Ok(Some(*b)),
        Value::String(s) => super::document::xml_bool(s)
            .map(Some)
            .ok_or_else(|| format!("{key} '{s}' is not true or false")),
        other => Err(format!("{key} {other} is not true or false")),
    }
}

/// The header of a JSON-LD document: the SBDH where a sender includes one, the master data
/// vocabularies and the GS1 US transaction statement.
fn jsonld_header(header: &Value) -> DocumentHeader {
    use super::document::{TransactionStatement, VocabularyElement, apply_attribute, xml_bool};
    let mut out = DocumentHeader::default();
    let local = |k: &str| k.rsplit(':').next().unwrap_or(k).to_owned();
    let Some(object) = header.as_object() else {
        return out;
    };
    for (key, value) in object {
        match local(key).as_str() {
            "StandardBusinessDocumentHeader" => {
                let text = |path: &[&str]| {
                    let mut v = value;
                    for p in path {
                        v = v
                            .as_object()?
                            .iter()
                            .find(|(k, _)| local(k) == *p)
                            .map(|(_, v)| v)?;
                    }
                    match v {
                        Value::String(s) => Some(s.trim().to_owned()),
                        Value::Object(o) => o
                            .iter()
                            .find(|(k, _)| k.as_str() == "#text" || k.as_str() == "@value")
                            .and_then(|(_, v)| v.as_str())
                            .map(|s| s.trim().to_owned()),
                        _ => None,
                    }
                };
                out.sender =
                    text(&["sender", "identifier"]).or_else(|| text(&["Sender", "Identifier"]));
                out.receiver =
                    text(&["receiver", "identifier"]).or_else(|| text(&["Receiver", "Identifier"]));
                out.instance_id = text(&["documentIdentification", "instanceIdentifier"])
                    .or_else(|| text(&["DocumentIdentification", "InstanceIdentifier"]));
            }
            "epcisMasterData" => {
                let lists = value
                    .get("vocabularyList")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten();
                for vocabulary in lists {
                    let vtype = vocabulary.get("type").and_then(Value::as_str).unwrap_or("");
                    let elements = vocabulary
                        .get("vocabularyElementList")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten();
                    for element in elements {
                        let id = element.get("id").and_then(Value::as_str).unwrap_or("");
                        let mut e = VocabularyElement::new(vtype, id);
                        for attribute in element
                            .get("attributes")
                            .and_then(Value::as_array)
                            .into_iter()
                            .flatten()
                        {
                            let (Some(aid), Some(v)) = (
                                attribute.get("id").and_then(Value::as_str),
                                attribute.get("attribute"),
                            ) else {
                                continue;
                            };
                            let text = match v {
                                Value::String(s) => s.clone(),
                                Value::Number(n) => n.to_string(),
                                _ => continue,
                            };
                            apply_attribute(vtype, &mut e, aid, text);
                        }
                        e.finish(&mut out);
                    }
                }
            }
            "dscsaTransactionStatement" => {
                let mut statement = TransactionStatement::default();
                if let Some(o) = value.as_object() {
                    for (k, v) in o {
                        match (local(k).as_str(), v) {
                            ("affirmTransactionStatement", Value::Bool(b)) => {
                                statement.affirmed = *b
                            }
                            ("affirmTransactionStatement", Value::String(s)) => {
                                statement.affirmed = xml_bool(s).unwrap_or(false)
                            }
                            ("legalNotice", Value::String(s)) => {
                                statement.legal_notice = Some(s.trim().to_owned())
                            }
                            _ => {}
                        }
                    }
                }
                out.statement = Some(statement);
            }
            _ => {}
        }
    }
    out
}

fn optional_string(object: &Map<String, Value>, key: &str) -> Result<Option<String>, String> {
    match object.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.trim().to_owned())),
        Some(other) => Err(format!("{key} should be a string, not {other}")),
    }
}

fn string_list(object: &Map<String, Value>, key: &str, owner: &str) -> Result<Vec<String>, String> {
    match object.get(key) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, item)| {
                item.as_str()
                    .map(|s| s.trim().to_owned())
                    .ok_or_else(|| format!("{owner} {key}[{i}] is not a string"))
            })
            .collect(),
        // JSON-LD lets a one-element set be written without brackets.
        Some(Value::String(s)) => Ok(vec![s.trim().to_owned()]),
        Some(_) => Err(format!("{owner} {key} is not a list")),
    }
}

fn location(object: &Map<String, Value>, key: &str) -> Result<Option<String>, String> {
    match object.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.trim().to_owned())),
        Some(Value::Object(o)) => match o.get("id") {
            Some(Value::String(s)) => Ok(Some(s.trim().to_owned())),
            _ => Err(format!("{key} has no \"id\"")),
        },
        Some(_) => Err(format!("{key} should be an object with an \"id\"")),
    }
}

fn objects<'v>(
    object: &'v Map<String, Value>,
    key: &str,
) -> Result<Vec<&'v Map<String, Value>>, String> {
    match object.get(key) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, item)| {
                item.as_object()
                    .ok_or_else(|| format!("{key}[{i}] is not an object"))
            })
            .collect(),
        Some(Value::Object(o)) => Ok(vec![o]),
        Some(_) => Err(format!("{key} is not a list")),
    }
}

fn references(
    object: &Map<String, Value>,
    list: &str,
    id_key: &str,
    vocabulary: Vocabulary,
) -> Result<Vec<TypedReference>, String> {
    objects(object, list)?
        .into_iter()
        .enumerate()
        .map(|(i, item)| {
            let id = item
                .get(id_key)
                .and_then(Value::as_str)
                .ok_or_else(|| format!("{list}[{i}] has no \"{id_key}\""))?;
            let kind = match item.get("type") {
                None => None,
                Some(Value::String(t)) => Some(vocabulary.bare_word(t)),
                Some(_) => return Err(format!("{list}[{i}] type is not a string")),
            };
            Ok(TypedReference {
                kind,
                id: id.trim().to_owned(),
            })
        })
        .collect()
}

fn quantities(object: &Map<String, Value>, list: &str) -> Result<Vec<QuantityElement>, String> {
    objects(object, list)?
        .into_iter()
        .enumerate()
        .map(|(i, item)| {
            let epc_class = item
                .get("epcClass")
                .and_then(Value::as_str)
                .ok_or_else(|| format!("{list}[{i}] has no \"epcClass\""))?
                .trim()
                .to_owned();
            let quantity = match item.get("quantity") {
                None | Some(Value::Null) => None,
                Some(Value::Number(n)) => n.as_f64(),
                Some(Value::String(s)) => Some(
                    s.trim()
                        .parse::<f64>()
                        .map_err(|_| format!("{list}[{i}] quantity '{s}' is not a number"))?,
                ),
                Some(other) => return Err(format!("{list}[{i}] quantity {other} is not a number")),
            };
            let uom = item.get("uom").and_then(Value::as_str).map(str::to_owned);
            Ok(QuantityElement {
                epc_class,
                quantity,
                uom,
            })
        })
        .collect()
}

/// The CBV master data attribute a (possibly prefixed) ILMD key names, if it is one.
fn mda_attribute(key: &str, context: &Context) -> Option<String> {
    for full in ["urn:epcglobal:cbv:mda:", "urn:epcglobal:cbv:mda#"] {
        if let Some(local) = key.strip_prefix(full) {
            return Some(local.to_owned());
        }
    }
    let expanded = context.expand_key(key);
    ["{urn:epcglobal:cbv:mda}", "{urn:epcglobal:cbv:mda:}"]
        .iter()
        .find_map(|ns| expanded.strip_prefix(ns).map(str::to_owned))
}

fn ilmd(
    object: &Map<String, Value>,
    context: &Context,
) -> Result<(Option<String>, Option<NaiveDate>), String> {
    let ilmd = match object.get("ilmd") {
        None | Some(Value::Null) => return Ok((None, None)),
        Some(Value::Object(ilmd)) => ilmd,
        Some(_) => return Err("ilmd is not an object".into()),
    };
    let mut lot = None;
    let mut expiry = None;
    for (key, value) in ilmd {
        match mda_attribute(key, context).as_deref() {
            Some("lotNumber") => {
                let s = value
                    .as_str()
                    .ok_or_else(|| format!("ilmd {key} is not a string"))?;
                lot = Some(s.trim().to_owned());
            }
            Some("itemExpirationDate") => {
                let s = value
                    .as_str()
                    .ok_or_else(|| format!("ilmd {key} is not a string"))?;
                let date = NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
                    .map_err(|_| format!("ilmd {key} '{s}' is not a date (YYYY-MM-DD)"))?;
                expiry = Some(date);
            }
            _ => {}
        }
    }
    Ok((lot, expiry))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::convert::Infallible;

    fn read_all(json: &str) -> Result<Vec<SupplierEvent>, ReadError<Infallible>> {
        let mut events = Vec::new();
        read_jsonld_events(json.as_bytes(), |e| {
            events.push(e);
            Ok::<(), Infallible>(())
        })?;
        Ok(events)
    }

    #[test]
    fn mda_keys_in_every_spelling() {
        let ctx = Context::standard().with_prefix("mda", "urn:epcglobal:cbv:mda:");
        assert_eq!(
            mda_attribute("cbvmda:lotNumber", &ctx).as_deref(),
            Some("lotNumber")
        );
        assert_eq!(
            mda_attribute("mda:lotNumber", &ctx).as_deref(),
            Some("lotNumber")
        );
        assert_eq!(
            mda_attribute("urn:epcglobal:cbv:mda:lotNumber", &ctx).as_deref(),
            Some("lotNumber")
        );
        assert_eq!(mda_attribute("example:lotNumber", &ctx), None);
    }

    #[test]
    fn single_event_body_and_missing_list() {
        let doc = r#"{"type":"EPCISDocument","epcisBody":{"event":{"type":"ObjectEvent","eventTime":"2024-01-01T00:00:00Z","action":"OBSERVE"}}}"#;
        assert_eq!(read_all(doc).unwrap().len(), 1);
        let none = r#"{"type":"EPCISDocument","epcisBody":{}}"#;
        assert!(matches!(read_all(none), Err(ReadError::NoEventList)));
    }
}
