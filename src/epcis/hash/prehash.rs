//! The pre-hash string of one event, built from a syntax-neutral [`Field`] tree.
//!
//! Both readers (JSON-LD and XML) produce the same tree: an event is a list of fields, a field has
//! a name (a bare EPCIS name, or `{namespace}local` for extensions), a value and sub-fields. The
//! string is then assembled in two passes:
//!
//! 1. the canonical property order: each standard field in turn, repeated fields sorted, their
//!    known sub-fields in their own order and their extension sub-fields appended;
//! 2. everything left over (top-level extensions, ILMD, and the business transaction, source and
//!    destination lists), each rendered as `name=value` plus its sub-fields, sorted.
//!
//! The second pass is where the reference implementation places `bizTransactionList`,
//! `sourceList`, `destinationList` and `ilmd`, and where it re-emits sub-fields of standard
//! fields it has no order for (e.g. `bizRules` inside a `sensorReport`). The published hashes
//! depend on those placements, so they are reproduced here deliberately.

use super::canon;

/// One field of an event, in the shape both EPCIS syntaxes share.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Field {
    pub name: String,
    pub value: String,
    pub children: Vec<Field>,
}

impl Field {
    pub fn leaf(name: impl Into<String>, value: impl Into<String>) -> Self {
        Field {
            name: name.into(),
            value: value.into(),
            children: Vec::new(),
        }
    }
}

/// A position in the canonical property order.
struct Prop {
    name: &'static str,
    children: &'static [Prop],
}

const fn leaf(name: &'static str) -> Prop {
    Prop {
        name,
        children: &[],
    }
}

const fn node(name: &'static str, children: &'static [Prop]) -> Prop {
    Prop { name, children }
}

const EPCS: &[Prop] = &[leaf("epc")];
const QUANTITY_ELEMENT: &[Prop] = &[node(
    "quantityElement",
    &[leaf("epcClass"), leaf("quantity"), leaf("uom")],
)];
const SENSOR_METADATA: &[Prop] = &[
    leaf("time"),
    leaf("startTime"),
    leaf("endTime"),
    leaf("deviceID"),
    leaf("deviceMetadata"),
    leaf("rawData"),
    leaf("dataProcessingMethod"),
    leaf("bizRules"),
];
const SENSOR_REPORT: &[Prop] = &[
    leaf("type"),
    leaf("exception"),
    leaf("deviceID"),
    leaf("deviceMetadata"),
    leaf("rawData"),
    leaf("dataProcessingMethod"),
    leaf("time"),
    leaf("microorganism"),
    leaf("chemicalSubstance"),
    leaf("value"),
    leaf("component"),
    leaf("stringValue"),
    leaf("booleanValue"),
    leaf("hexBinaryValue"),
    leaf("uriValue"),
    leaf("minValue"),
    leaf("maxValue"),
    leaf("meanValue"),
    leaf("sDev"),
    leaf("percRank"),
    leaf("percValue"),
    leaf("uom"),
    leaf("coordinateReferenceSystem"),
];

/// CBV 2.0 canonical property order (`eventType` is written before it).
const EVENT_ORDER: &[Prop] = &[
    leaf("eventTime"),
    leaf("eventTimeZoneOffset"),
    leaf("certificationInfo"),
    node("epcList", EPCS),
    leaf("parentID"),
    node("inputEPCList", EPCS),
    node("childEPCs", EPCS),
    node("quantityList", QUANTITY_ELEMENT),
    node("childQuantityList", QUANTITY_ELEMENT),
    node("inputQuantityList", QUANTITY_ELEMENT),
    node("outputEPCList", EPCS),
    node("outputQuantityList", QUANTITY_ELEMENT),
    leaf("action"),
    leaf("transformationID"),
    leaf("bizStep"),
    leaf("disposition"),
    node("persistentDisposition", &[leaf("set"), leaf("unset")]),
    node("readPoint", &[leaf("id")]),
    node("bizLocation", &[leaf("id")]),
    node(
        "sensorElementList",
        &[node(
            "sensorElement",
            &[
                node("sensorMetadata", SENSOR_METADATA),
                node("sensorReport", SENSOR_REPORT),
            ],
        )],
    ),
];

/// Top-level fields that never enter the hash.
const IGNORED: [&str; 4] = ["recordTime", "eventID", "type", "errorDeclaration"];

/// Fields rendered as `type=...` followed by their identifier.
const TYPED_IDENTIFIERS: [&str; 3] = ["bizTransaction", "source", "destination"];

/// The pre-hash string of an event of `event_type` made of `fields`; fields named in
/// `ignored_fields` (a document's `ignoreFields`) are left out.
pub(crate) fn prehash(event_type: &str, fields: Vec<Field>, ignored_fields: &[String]) -> String {
    let mut out = String::new();
    let Ok(()) = write_prehash(
        event_type,
        fields,
        ignored_fields,
        &mut NoLists,
        &mut |bytes| {
            out.push_str(&String::from_utf8_lossy(bytes));
            true
        },
    );
    out
}

/// The EPC lists a streaming reader kept out of an event's field tree: of the event's first
/// `epcList`, `childEPCs`, `inputEPCList` and `outputEPCList` element each, the `epc` elements
/// that hold nothing but text (the others stay in the tree). The tree keeps the list element
/// itself, with what else it holds.
pub(crate) trait StreamedLists {
    type Error;
    /// How many `epc` elements of the first `list` element were kept out of the tree, empty
    /// ones included; `None` when that list was not streamed.
    fn streamed(&self, list: &str) -> Option<u64>;
    /// Visits the non-empty values of those elements in canonical form ([`canon::value`]),
    /// sorted bytewise, until `visit` returns `false`.
    fn visit_sorted(
        &mut self,
        list: &str,
        visit: &mut dyn FnMut(&[u8]) -> bool,
    ) -> Result<(), Self::Error>;
}

/// An event whose lists are all in its tree.
struct NoLists;

impl StreamedLists for NoLists {
    type Error = std::convert::Infallible;
    fn streamed(&self, _: &str) -> Option<u64> {
        None
    }
    fn visit_sorted(
        &mut self,
        _: &str,
        _: &mut dyn FnMut(&[u8]) -> bool,
    ) -> Result<(), Self::Error> {
        Ok(())
    }
}

/// Writes the pre-hash string of an event to `out` piece by piece (the pieces of a streamed
/// list one EPC at a time, so that a million-EPC event is never one string).
pub(crate) fn write_prehash<L: StreamedLists + ?Sized>(
    event_type: &str,
    mut fields: Vec<Field>,
    ignored_fields: &[String],
    lists: &mut L,
    out: &mut dyn FnMut(&[u8]) -> bool,
) -> Result<(), L::Error> {
    fields.retain(|f| !ignored_fields.contains(&f.name));
    out(b"eventType=");
    out(event_type.as_bytes());
    ordered_event(&mut fields, lists, out)?;
    fields.retain(|f| !IGNORED.contains(&f.name.as_str()));
    out(unordered(&fields).as_bytes());
    Ok(())
}

/// [`ordered`] at the event's level, where a list may be streamed.
fn ordered_event<L: StreamedLists + ?Sized>(
    fields: &mut Vec<Field>,
    lists: &mut L,
    out: &mut dyn FnMut(&[u8]) -> bool,
) -> Result<(), L::Error> {
    let extensions = take_nested_extensions(fields, 0);
    for prop in EVENT_ORDER {
        if !fields.iter().any(|f| f.name == prop.name) {
            continue;
        }
        let streamed = lists.streamed(prop.name);
        let mut stream_taken = false;
        let mut stream_part = None;
        let mut parts = Vec::new();
        let mut kept = Vec::with_capacity(fields.len());
        for mut field in std::mem::take(fields) {
            if field.name == prop.name {
                match streamed {
                    Some(count) if !stream_taken => {
                        stream_taken = true;
                        stream_part = streamed_list_part(&mut field, prop.name, count, lists)?;
                    }
                    _ => {
                        let part = ordered_field(&mut field, prop.children);
                        if !part.is_empty() {
                            parts.push(part);
                        }
                    }
                }
                if field.children.is_empty() {
                    continue;
                }
            }
            kept.push(field);
        }
        *fields = kept;
        parts.sort_unstable();
        let mut parts = parts.into_iter().peekable();
        if let Some(streamed) = stream_part {
            // Only another element of the same list name can sort before it: rare, and
            // compared without building the streamed part.
            while let Some(part) = parts.peek() {
                if streamed.compare(part.as_bytes(), lists)? != std::cmp::Ordering::Greater {
                    break;
                }
                out(part.as_bytes());
                parts.next();
            }
            streamed.emit(lists, out)?;
        }
        for part in parts {
            out(part.as_bytes());
        }
    }
    if !extensions.is_empty() {
        out(unordered(&extensions).as_bytes());
    }
    Ok(())
}

/// A list field whose EPCs are streamed: `head` (name and value), then the EPC parts (the
/// streamed ones merged with `extras`, those still in the tree), then `tail` (its extensions).
struct StreamPart {
    head: String,
    list: &'static str,
    extras: Vec<String>,
    tail: String,
}

/// [`ordered_field`] of a list field with streamed EPCs, or `None` when it renders as nothing.
fn streamed_list_part<L: StreamedLists + ?Sized>(
    field: &mut Field,
    list: &'static str,
    streamed: u64,
    lists: &mut L,
) -> Result<Option<StreamPart>, L::Error> {
    let extensions = take_nested_extensions(&mut field.children, streamed);
    let mut extras = Vec::new();
    let mut kept = Vec::with_capacity(field.children.len());
    for mut child in std::mem::take(&mut field.children) {
        if child.name == "epc" {
            let part = ordered_field(&mut child, &[]);
            if !part.is_empty() {
                extras.push(part);
            }
            if child.children.is_empty() {
                continue;
            }
        }
        kept.push(child);
    }
    field.children = kept;
    extras.sort_unstable();
    let tail = if extensions.is_empty() {
        String::new()
    } else {
        unordered(&extensions)
    };
    let text = field_text(field);
    let mut any_streamed = false;
    lists.visit_sorted(list, &mut |_| {
        any_streamed = true;
        false
    })?;
    if text.is_empty() && extras.is_empty() && !any_streamed && tail.is_empty() {
        return Ok(None);
    }
    let mut head = field.name.clone();
    if !text.is_empty() {
        head.push('=');
        head.push_str(&text);
    }
    Ok(Some(StreamPart {
        head,
        list,
        extras,
        tail,
    }))
}

impl StreamPart {
    /// Hands the part's bytes to `out` in order, until `out` returns `false`.
    fn emit<L: StreamedLists + ?Sized>(
        &self,
        lists: &mut L,
        out: &mut dyn FnMut(&[u8]) -> bool,
    ) -> Result<(), L::Error> {
        if !out(self.head.as_bytes()) {
            return Ok(());
        }
        let mut going = true;
        let mut extras = self.extras.iter().peekable();
        lists.visit_sorted(self.list, &mut |value| {
            // Every extra is `epc=` and a canonical value, as each streamed part is.
            while let Some(extra) =
                extras.next_if(|e| e.as_bytes().get(4..).unwrap_or_default() < value)
            {
                if !out(extra.as_bytes()) {
                    going = false;
                    return false;
                }
            }
            going = out(b"epc=") && out(value);
            going
        })?;
        if !going {
            return Ok(());
        }
        for extra in extras {
            if !out(extra.as_bytes()) {
                return Ok(());
            }
        }
        out(self.tail.as_bytes());
        Ok(())
    }

    /// How the part's bytes compare with `other`.
    fn compare<L: StreamedLists + ?Sized>(
        &self,
        other: &[u8],
        lists: &mut L,
    ) -> Result<std::cmp::Ordering, L::Error> {
        use std::cmp::Ordering;
        let mut rest = other;
        let mut result = None;
        self.emit(lists, &mut |chunk| {
            let n = chunk.len().min(rest.len());
            let (mine, theirs) = (chunk.get(..n), rest.get(..n));
            match mine.cmp(&theirs) {
                Ordering::Equal if chunk.len() > rest.len() => result = Some(Ordering::Greater),
                Ordering::Equal => rest = rest.get(n..).unwrap_or_default(),
                unequal => result = Some(unequal),
            }
            result.is_none()
        })?;
        Ok(result.unwrap_or(if rest.is_empty() {
            Ordering::Equal
        } else {
            Ordering::Less
        }))
    }
}

/// First pass: consumes the fields of `order` from `fields`, leaving only what it did not use.
fn ordered(fields: &mut Vec<Field>, order: &[Prop]) -> String {
    let extensions = take_nested_extensions(fields, 0);
    let mut out = String::new();
    for prop in order {
        if !fields.iter().any(|f| f.name == prop.name) {
            continue;
        }
        let mut parts = Vec::new();
        // One pass that keeps what is left: removing matched fields one at a time would make
        // a list of n EPCs cost n^2.
        let mut kept = Vec::with_capacity(fields.len());
        for mut field in std::mem::take(fields) {
            if field.name == prop.name {
                let part = ordered_field(&mut field, prop.children);
                if !part.is_empty() {
                    parts.push(part);
                }
                if field.children.is_empty() {
                    continue;
                }
            }
            kept.push(field);
        }
        *fields = kept;
        parts.sort_unstable();
        out.extend(parts);
    }
    if !extensions.is_empty() {
        out.push_str(&unordered(&extensions));
    }
    out
}

/// Extension sub-fields of a standard field (`readPoint`, `sensorMetadata`, ...) go right after
/// that field's own sub-fields.
///
/// As in the reference implementation: only at levels with more than one field, never at a level
/// holding an `eventTime` or `action` (the event itself), and only for namespaces ending in `/`.
/// `streamed` counts the level's fields kept out of the tree (a streamed list's EPCs).
fn take_nested_extensions(fields: &mut Vec<Field>, streamed: u64) -> Vec<Field> {
    if fields.len() as u64 + streamed <= 1
        || fields
            .iter()
            .any(|f| f.name.contains("eventTime") || f.name.contains("action"))
    {
        return Vec::new();
    }
    let is_extension = |f: &Field| f.name.contains('{') && f.name.contains("/}");
    let (extensions, rest): (Vec<Field>, Vec<Field>) =
        std::mem::take(fields).into_iter().partition(is_extension);
    *fields = rest;
    extensions
}

fn ordered_field(field: &mut Field, order: &[Prop]) -> String {
    let sub = if order.is_empty() {
        String::new()
    } else {
        ordered(&mut field.children, order)
    };
    let text = field_text(field);
    if text.is_empty() && sub.is_empty() {
        return String::new();
    }
    let mut out = field.name.clone();
    if !text.is_empty() {
        out.push('=');
        out.push_str(&text);
    }
    out.push_str(&sub);
    out
}

/// A field's own value in canonical form (empty when it has none).
fn field_text(field: &Field) -> String {
    let text = field.value.trim();
    if text.is_empty() {
        String::new()
    } else if is_timestamp_name(&field.name) {
        canon::timestamp(text).unwrap_or_else(|| text.to_owned())
    } else {
        canon::value(text)
    }
}

fn is_timestamp_name(name: &str) -> bool {
    let lower = name.to_lowercase();
    lower.contains("time") && !lower.contains("offset")
}

/// Second pass: `name=value` plus sub-fields, siblings sorted.
fn unordered(fields: &[Field]) -> String {
    let mut parts: Vec<String> = fields.iter().map(unordered_field).collect();
    parts.sort_unstable();
    parts.concat()
}

fn unordered_field(field: &Field) -> String {
    let mut out = String::new();
    if TYPED_IDENTIFIERS.contains(&field.name.as_str()) {
        // The type comes first, then the identifier (CBV 2.0 rule 13 as the reference reads it).
        let (types, others): (Vec<&Field>, Vec<&Field>) =
            field.children.iter().partition(|c| c.name == "type");
        for t in types {
            out.push_str(&name_value(t));
        }
        out.push_str(&name_value(field));
        let others: Vec<Field> = others.into_iter().cloned().collect();
        out.push_str(&unordered(&others));
    } else {
        out.push_str(&name_value(field));
        out.push_str(&unordered(&field.children));
    }
    out
}

fn name_value(field: &Field) -> String {
    let text = field.value.trim();
    if text.is_empty() {
        field.name.clone()
    } else {
        format!("{}={}", field.name, canon::value(text))
    }
}
