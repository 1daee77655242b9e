//! EPCIS 2.0 (and 1.x) XML documents to the syntax-neutral [`Field`] tree.
//!
//! Attributes become sub-fields, namespaced names become `{namespace}local`, the `extension` and
//! `baseExtension` wrappers of the XML binding disappear (their content belongs to the parent),
//! and values written as `gs1:`/`cbv:` CURIEs are expanded.

use roxmltree::{Document, Node};

use super::HashError;
use super::prehash::Field;
use crate::epcis::vocab::{CBV, GS1_VOC};

/// One event of an XML document: its type (`ObjectEvent`, ...) and fields.
pub(crate) struct XmlEvent {
    pub event_type: String,
    pub fields: Vec<Field>,
}

/// The events of an EPCIS XML document (or query document) in order, and the names its
/// `ignoreFields` element lists.
pub(crate) fn document_events(xml: &str) -> Result<(Vec<XmlEvent>, Vec<String>), HashError> {
    let doc = Document::parse(xml).map_err(|e| HashError::Xml(e.to_string()))?;
    let event_list = doc
        .descendants()
        .find(|n| n.is_element() && n.tag_name().name() == "EventList" && unqualified(*n))
        .ok_or(HashError::NoEventList)?;
    let ignored = doc
        .descendants()
        .filter(|n| n.is_element() && n.tag_name().name() == "ignoreFields")
        .flat_map(|n| n.children().filter(Node::is_element).map(qualified_name))
        .collect();
    let mut events = Vec::new();
    for node in element_children(event_list) {
        let field = element_field(node, 0)?;
        events.push(XmlEvent {
            event_type: field.name,
            fields: field.children,
        });
    }
    Ok((events, ignored))
}

/// No namespace, or an EPCIS one: senders sometimes qualify what the schema leaves unqualified.
fn unqualified(node: Node<'_, '_>) -> bool {
    let ns = node.tag_name().namespace();
    ns.is_none() || crate::epcis::vocab::is_epcis_namespace(ns)
}

fn is_wrapper(node: Node<'_, '_>) -> bool {
    unqualified(node) && matches!(node.tag_name().name(), "extension" | "baseExtension")
}

/// Element children with `extension` wrappers dissolved.
fn element_children<'a, 'input>(node: Node<'a, 'input>) -> Vec<Node<'a, 'input>> {
    let mut out = Vec::new();
    for child in node.children().filter(Node::is_element) {
        if is_wrapper(child) {
            out.extend(element_children(child));
        } else {
            out.push(child);
        }
    }
    out
}

fn qualified_name(node: Node<'_, '_>) -> String {
    let tag = node.tag_name();
    match tag.namespace() {
        Some(ns) if !unqualified(node) => format!("{{{ns}}}{}", tag.name()),
        _ => tag.name().to_owned(),
    }
}

/// Deeper than any EPCIS event needs; stops hostile documents from exhausting the stack.
const MAX_DEPTH: usize = 64;

fn element_field(node: Node<'_, '_>, depth: usize) -> Result<Field, HashError> {
    if depth > MAX_DEPTH {
        return Err(HashError::TooDeep(MAX_DEPTH));
    }
    let mut children: Vec<Field> = node
        .attributes()
        .map(|a| {
            let name = match a.namespace() {
                Some(ns) => format!("{{{ns}}}{}", a.name()),
                None => a.name().to_owned(),
            };
            Field::leaf(name, expand_value(a.value()))
        })
        .collect();
    for child in element_children(node) {
        children.push(element_field(child, depth + 1)?);
    }
    Ok(Field {
        name: qualified_name(node),
        value: expand_value(leading_text(node).trim()),
        children,
    })
}

/// The element's own text: what precedes its first child element.
fn leading_text(node: Node<'_, '_>) -> String {
    let mut text = String::new();
    for child in node.children() {
        if child.is_element() {
            break;
        }
        if let Some(t) = child.text().filter(|_| child.is_text()) {
            text.push_str(t);
        }
    }
    text
}

/// [`expand_value`], borrowing the value when it has nothing to expand.
pub(crate) fn expand_value_cow(value: &str) -> std::borrow::Cow<'_, str> {
    if value.starts_with("gs1:") || value.starts_with("cbv:") {
        std::borrow::Cow::Owned(expand_value(value))
    } else {
        std::borrow::Cow::Borrowed(value)
    }
}

/// `gs1:` and `cbv:` CURIEs in a value, expanded (the streaming reader shares this rule).
pub(crate) fn expand_value(value: &str) -> String {
    let mut out = value.to_owned();
    for (prefix, uri) in [("gs1:", GS1_VOC), ("cbv:", CBV)] {
        if out.starts_with(prefix) {
            out = out.replace(prefix, uri);
        }
    }
    out
}
