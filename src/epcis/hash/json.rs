//! JSON-LD events to the syntax-neutral [`Field`] tree.
//!
//! EPCIS 2.0 JSON-LD differs from the XML binding in ways the hash must not see: bare CBV words
//! (`"receiving"`) instead of URIs, CURIEs (`"example:myField"`) instead of XML namespaces, lists
//! without item elements (`"epcList": [...]` instead of `<epcList><epc>`), and business
//! transactions as objects instead of typed elements. This module maps JSON-LD onto the XML
//! shape, so the same event hashes the same in both syntaxes.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use super::Context;
use super::prehash::Field;
use crate::epcis::vocab::Vocabulary;

/// Keys that are never part of an event's content.
const SKIPPED_KEYS: [&str; 5] = ["#text", "rdfs:comment", "comment", "@context", "@xmlns"];

/// Prefixes of the web vocabularies whose bare words JSON-LD expansion resolves.
const STANDARD_VOCABULARY_ROOTS: [&str; 3] = [
    "https://ref.gs1.org/cbv",
    "https://gs1.org/voc",
    "https://ref.gs1.org/voc",
];

/// The fields of one JSON-LD event object, XML-shaped.
pub(crate) fn event_fields(event: &Map<String, Value>, context: &Context) -> Vec<Field> {
    let mut vocabulary = BTreeSet::new();
    collect_vocabulary(event, "", context, &mut vocabulary);
    let converter = Converter {
        context,
        vocabulary: &vocabulary,
    };
    let root = Field {
        name: String::new(),
        value: String::new(),
        children: converter.object_fields(event),
    };
    correct_structure(root).children
}

/// Which vocabulary a string under `key` inside an object held by `parent` is drawn from.
fn vocabulary_at(parent: &str, key: &str) -> Option<Vocabulary> {
    match (parent, key) {
        (_, "bizStep") => Some(Vocabulary::BizStep),
        (_, "disposition") | ("persistentDisposition", "set" | "unset") => {
            Some(Vocabulary::Disposition)
        }
        ("bizTransactionList", "type") => Some(Vocabulary::BizTransactionType),
        ("sourceList" | "destinationList", "type") => Some(Vocabulary::SourceDestinationType),
        ("errorDeclaration", "reason") => Some(Vocabulary::ErrorReason),
        ("sensorReport", "type") => Some(Vocabulary::SensorMeasurementType),
        ("sensorReport", "exception") => Some(Vocabulary::SensorAlarm),
        ("sensorReport", "component") => Some(Vocabulary::SensorComponent),
        _ => None,
    }
}

/// Gathers the standard vocabulary URIs the event's values expand to under JSON-LD (what the
/// reference implementation learns by running JSON-LD expansion).
fn collect_vocabulary(
    object: &Map<String, Value>,
    parent: &str,
    context: &Context,
    out: &mut BTreeSet<String>,
) {
    for (key, value) in object {
        collect_value(value, parent, key, context, out);
    }
}

fn collect_value(
    value: &Value,
    parent: &str,
    key: &str,
    context: &Context,
    out: &mut BTreeSet<String>,
) {
    match value {
        Value::String(s) => {
            let expanded = match vocabulary_at(parent, key) {
                Some(vocabulary) => vocabulary
                    .expand(s)
                    .or_else(|| context.expand_curie(s))
                    .unwrap_or_else(|| s.clone()),
                None => s.clone(),
            };
            if STANDARD_VOCABULARY_ROOTS
                .iter()
                .any(|root| expanded.starts_with(root))
            {
                out.insert(expanded);
            }
        }
        Value::Array(items) => {
            for item in items {
                collect_value(item, parent, key, context, out);
            }
        }
        Value::Object(inner) => collect_vocabulary(inner, key, context, out),
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

struct Converter<'a> {
    context: &'a Context,
    vocabulary: &'a BTreeSet<String>,
}

impl Converter<'_> {
    fn object_fields(&self, object: &Map<String, Value>) -> Vec<Field> {
        let mut fields = Vec::with_capacity(object.len());
        for (key, value) in object {
            if SKIPPED_KEYS.contains(&key.as_str()) || key.starts_with("@xmlns") {
                continue;
            }
            let name = self.context.expand_key(key);
            self.push_fields(&name, value, &mut fields);
        }
        fields
    }

    /// A JSON array becomes one field per item, as repeated XML elements would.
    fn push_fields(&self, name: &str, value: &Value, fields: &mut Vec<Field>) {
        match value {
            Value::Array(items) => {
                for item in items {
                    self.push_fields(name, item, fields);
                }
            }
            Value::Object(object) => fields.push(Field {
                name: name.to_owned(),
                value: object
                    .get("#text")
                    .map(|t| self.scalar(t))
                    .unwrap_or_default(),
                children: self.object_fields(object),
            }),
            scalar => fields.push(Field::leaf(name, self.scalar(scalar))),
        }
    }

    fn scalar(&self, value: &Value) -> String {
        match value {
            Value::String(s) => {
                let s = self.bare_word_uri(s).unwrap_or(s);
                self.context
                    .expand_standard_curie(s)
                    .unwrap_or_else(|| s.to_owned())
            }
            Value::Bool(b) => b.to_string(),
            Value::Number(n) => n.to_string(),
            // null is not valid EPCIS; treat it as an empty value rather than the text "None"
            // the reference would produce.
            Value::Null | Value::Array(_) | Value::Object(_) => String::new(),
        }
    }

    /// The one standard vocabulary URI the bare word `s` abbreviates, if exactly one matches.
    fn bare_word_uri(&self, s: &str) -> Option<&str> {
        let mut matches = self.vocabulary.iter().filter(|uri| {
            uri.strip_suffix(s)
                .is_some_and(|head| head.ends_with('-') || head.ends_with('/'))
        });
        let first = matches.next()?;
        matches.next().is_none().then_some(first.as_str())
    }
}

/// Reshapes JSON lists and objects into the XML element structure.
fn correct_structure(field: Field) -> Field {
    let Field {
        name,
        value,
        children,
    } = field;
    let mut kept = Vec::with_capacity(children.len());
    let mut lists: Vec<Field> = Vec::new();
    let mut child_epcs: Vec<Field> = Vec::new();
    for child in children {
        if let Some(item_name) = child.name.strip_suffix("List") {
            let item = Field {
                name: item_name.to_owned(),
                value: child.value,
                children: child.children,
            };
            match lists.iter_mut().find(|l| l.name == child.name) {
                Some(list) => list.children.push(item),
                None => lists.push(Field {
                    name: child.name,
                    value: String::new(),
                    children: vec![item],
                }),
            }
        } else if child.name == "childEPCs" {
            child_epcs.push(Field::leaf("epc", child.value));
        } else {
            kept.push(child);
        }
    }
    kept.extend(lists);
    if !child_epcs.is_empty() {
        kept.push(Field {
            name: "childEPCs".to_owned(),
            value: String::new(),
            children: child_epcs,
        });
    }
    let children = kept.into_iter().map(correct_structure).collect();
    rename_to_xml(Field {
        name,
        value,
        children,
    })
}

fn rename_to_xml(mut field: Field) -> Field {
    match field.name.as_str() {
        "readPoint" | "bizLocation" if field.children.is_empty() && !field.value.is_empty() => {
            let id = std::mem::take(&mut field.value);
            field.children.push(Field::leaf("id", id));
        }
        "bizTransaction" | "source" | "destination" => {
            if let Some(i) = field.children.iter().position(|c| c.name == field.name) {
                let id = field.children.remove(i);
                field.value = id.value;
            }
        }
        "inputEPC" | "outputEPC" => field.name = "epc".to_owned(),
        "inputQuantity" | "outputQuantity" | "childQuantity" => {
            field.name = "quantityElement".to_owned()
        }
        "quantity" if !field.children.is_empty() => field.name = "quantityElement".to_owned(),
        _ => {}
    }
    field
}
