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
pub(crate) fn prehash(
    event_type: &str,
    mut fields: Vec<Field>,
    ignored_fields: &[String],
) -> String {
    fields.retain(|f| !ignored_fields.contains(&f.name));
    let mut out = format!("eventType={event_type}");
    out.push_str(&ordered(&mut fields, EVENT_ORDER));
    fields.retain(|f| !IGNORED.contains(&f.name.as_str()));
    out.push_str(&unordered(&fields));
    out
}

/// First pass: consumes the fields of `order` from `fields`, leaving only what it did not use.
fn ordered(fields: &mut Vec<Field>, order: &[Prop]) -> String {
    let extensions = take_nested_extensions(fields);
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
fn take_nested_extensions(fields: &mut Vec<Field>) -> Vec<Field> {
    if fields.len() <= 1
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
    let text = field.value.trim();
    let text = if text.is_empty() {
        String::new()
    } else if is_timestamp_name(&field.name) {
        canon::timestamp(text).unwrap_or_else(|| text.to_owned())
    } else {
        canon::value(text)
    };
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
