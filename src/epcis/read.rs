//! A streaming reader of supplier EPCIS 2.0 JSON-LD documents.
//!
//! Suppliers send shipping, commissioning and aggregation events (announcing units with lot and
//! expiry) and status events (recalled, stolen, destroyed...). Those files can be large, so
//! [`read_jsonld_events`] walks the document with serde and materialises one event at a time: it
//! hands each event to a callback as a typed [`SupplierEvent`] and drops it before reading the
//! next. Memory use does not grow with the number of events.
//!
//! Both `EPCISDocument` (`epcisBody.eventList`) and `EPCISQueryDocument`
//! (`epcisBody.queryResults.resultsBody.eventList`) are read. CBV words are normalised to bare
//! words however they are spelt; identifiers are passed on as written (use
//! [`crate::epcis::parse_epc`]). Errors name the event by its position in the list.
//!
//! Reads only from the `std::io::Read` it is given; never opens files itself.

use std::fmt;
use std::io::{BufReader, Read};

use chrono::{DateTime, FixedOffset, NaiveDate};
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use super::hash::{Context, event_hash_id};
use super::vocab::Vocabulary;

/// The five EPCIS 2.0 event types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventType {
    Object,
    Aggregation,
    Transaction,
    Transformation,
    Association,
}

impl EventType {
    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "ObjectEvent" => EventType::Object,
            "AggregationEvent" => EventType::Aggregation,
            "TransactionEvent" => EventType::Transaction,
            "TransformationEvent" => EventType::Transformation,
            "AssociationEvent" => EventType::Association,
            _ => return None,
        })
    }
}

/// The EPCIS `action` field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    Add,
    Observe,
    Delete,
}

/// A typed business transaction, source or destination reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypedReference {
    /// The type as a bare CBV word (`po`, `desadv`, `owning_party`...), or the URI as written
    /// for a non-CBV type; `None` when absent.
    pub kind: Option<String>,
    pub id: String,
}

/// One `quantityElement`.
#[derive(Debug, Clone, PartialEq)]
pub struct QuantityElement {
    pub epc_class: String,
    pub quantity: Option<f64>,
    pub uom: Option<String>,
}

/// One event of a supplier document, with the fields TraceDesk acts on.
#[derive(Debug, Clone, PartialEq)]
pub struct SupplierEvent {
    /// Position in the document's event list, from 0.
    pub index: usize,
    pub event_type: EventType,
    pub action: Option<Action>,
    pub event_time: DateTime<FixedOffset>,
    /// Bare CBV word (`shipping`), or the URI as written for a private vocabulary.
    pub biz_step: Option<String>,
    /// Bare CBV word (`recalled`), or the URI as written for a private vocabulary.
    pub disposition: Option<String>,
    /// `persistentDisposition.set`, as bare words.
    pub persistent_disposition_set: Vec<String>,
    /// `persistentDisposition.unset`, as bare words.
    pub persistent_disposition_unset: Vec<String>,
    pub epc_list: Vec<String>,
    pub parent_id: Option<String>,
    pub child_epcs: Vec<String>,
    pub input_epc_list: Vec<String>,
    pub output_epc_list: Vec<String>,
    pub quantity_list: Vec<QuantityElement>,
    pub child_quantity_list: Vec<QuantityElement>,
    pub biz_transactions: Vec<TypedReference>,
    pub sources: Vec<TypedReference>,
    pub destinations: Vec<TypedReference>,
    pub read_point: Option<String>,
    pub biz_location: Option<String>,
    /// ILMD `cbvmda:lotNumber`.
    pub lot_number: Option<String>,
    /// ILMD `cbvmda:itemExpirationDate`.
    pub item_expiration_date: Option<NaiveDate>,
    /// The CBV 2.0 hash ID of the event, computed with the document's context.
    pub hash_id: String,
    /// The event as it appeared in the document.
    pub raw: Value,
}

/// What a completed read saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadSummary {
    /// `EPCISDocument` or `EPCISQueryDocument` (the document's `type`), if given.
    pub document_type: Option<String>,
    pub events: usize,
}

/// Why a document could not be read to the end.
#[derive(Debug, thiserror::Error)]
pub enum ReadError<E: std::error::Error + 'static> {
    #[error("the document is not valid JSON at line {line}, column {column}{}: {message}", in_event(*event))]
    Syntax {
        /// The event being read when the error was found.
        event: Option<usize>,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("the document ends early{}", in_event(*event))]
    Truncated { event: Option<usize> },
    #[error("event {index}: {reason}")]
    InvalidEvent { index: usize, reason: String },
    #[error(
        "the document has no event list (epcisBody.eventList or queryResults.resultsBody.eventList)"
    )]
    NoEventList,
    #[error("cannot read the document: {0}")]
    Io(#[source] std::io::Error),
    #[error("event {index} was not accepted: {source}")]
    Rejected {
        index: usize,
        #[source]
        source: E,
    },
}

fn in_event(event: Option<usize>) -> String {
    event
        .map(|i| format!(" (in event {i})"))
        .unwrap_or_default()
}

/// Reads an EPCIS 2.0 JSON-LD document from `reader`, calling `on_event` once per event in
/// document order. Stops at the first error, including one returned by `on_event`.
///
/// The document's `@context` and `ignoreFields` should precede `epcisBody` (as they do in every
/// published document); prefixes that only appear after the events cannot affect them.
pub fn read_jsonld_events<R, F, E>(reader: R, mut on_event: F) -> Result<ReadSummary, ReadError<E>>
where
    R: Read,
    F: FnMut(SupplierEvent) -> Result<(), E>,
    E: std::error::Error + 'static,
{
    let mut walker = Walker {
        on_event: &mut on_event,
        context: Context::standard(),
        next_index: 0,
        in_event_list: false,
        saw_event_list: false,
        document_type: None,
        failure: None,
    };
    let mut de = serde_json::Deserializer::from_reader(BufReader::new(reader));
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
    Ok(ReadSummary {
        document_type: walker.document_type,
        events: walker.next_index,
    })
}

struct Walker<'f, F, E: std::error::Error + 'static> {
    on_event: &'f mut F,
    context: Context,
    next_index: usize,
    in_event_list: bool,
    saw_event_list: bool,
    document_type: Option<String>,
    /// Set when the walk must stop for a reason that is not a JSON error.
    failure: Option<ReadError<E>>,
}

impl<F, E> Walker<'_, F, E>
where
    F: FnMut(SupplierEvent) -> Result<(), E>,
    E: std::error::Error + 'static,
{
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
        let index = self.next_index;
        self.next_index += 1;
        let event = match SupplierEvent::from_raw(index, raw, &self.context) {
            Ok(event) => event,
            Err(reason) => {
                self.failure = Some(ReadError::InvalidEvent { index, reason });
                return false;
            }
        };
        match (self.on_event)(event) {
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

struct DocumentSeed<'w, 'f, F, E: std::error::Error + 'static>(&'w mut Walker<'f, F, E>);

impl<'de, F, E> DeserializeSeed<'de> for DocumentSeed<'_, '_, F, E>
where
    F: FnMut(SupplierEvent) -> Result<(), E>,
    E: std::error::Error + 'static,
{
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de, F, E> Visitor<'de> for DocumentSeed<'_, '_, F, E>
where
    F: FnMut(SupplierEvent) -> Result<(), E>,
    E: std::error::Error + 'static,
{
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
struct Section<'w, 'f, F, E: std::error::Error + 'static> {
    walker: &'w mut Walker<'f, F, E>,
    level: Level,
}

impl<'de, F, E> DeserializeSeed<'de> for Section<'_, '_, F, E>
where
    F: FnMut(SupplierEvent) -> Result<(), E>,
    E: std::error::Error + 'static,
{
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de, F, E> Visitor<'de> for Section<'_, '_, F, E>
where
    F: FnMut(SupplierEvent) -> Result<(), E>,
    E: std::error::Error + 'static,
{
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

struct EventListSeed<'w, 'f, F, E: std::error::Error + 'static>(&'w mut Walker<'f, F, E>);

impl<'de, F, E> DeserializeSeed<'de> for EventListSeed<'_, '_, F, E>
where
    F: FnMut(SupplierEvent) -> Result<(), E>,
    E: std::error::Error + 'static,
{
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de, F, E> Visitor<'de> for EventListSeed<'_, '_, F, E>
where
    F: FnMut(SupplierEvent) -> Result<(), E>,
    E: std::error::Error + 'static,
{
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of events")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        self.0.in_event_list = true;
        // One event in memory at a time: each is converted, handed over and dropped.
        while let Some(event) = seq.next_element::<Value>()? {
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
            hash_id,
            raw,
        })
    }
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
