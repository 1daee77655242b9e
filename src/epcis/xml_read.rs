//! A streaming reader of EPCIS 1.2 and 2.0 XML documents, as trading partners send them.
//!
//! The document is read with quick-xml one token at a time; only the event being read is held,
//! as the syntax-neutral field tree the hash uses, except its EPC lists: of each list (the
//! first `epcList`, `childEPCs`, `inputEPCList`, `outputEPCList` at the event's level) the `epc`
//! values go to a [`SpillLog`], which keeps a bounded buffer in memory and the rest in the
//! caller's [`Scratch`]. The hash reads them back sorted in canonical form through an
//! [`ExternalSort`], and only for an event whose sink wants its hash ID. So memory is bounded
//! whatever the size of an event (the rest of an event's tree may not exceed
//! [`MAX_EVENT_TREE_BYTES`]). A sink that [streams lists](DocumentSink::streams_lists) reads them
//! through [`EventLists`]; others get them in the event's vectors. Elements are matched by
//! namespace URI and local name, never by
//! prefix: senders choose their prefixes, declare default namespaces, add comments and reorder
//! elements. The XML binding's `extension` and `baseExtension` wrappers are dissolved (EPCIS 1.2
//! puts `ilmd`, `sourceList`, `destinationList`, and whole TransformationEvents inside them).
//!
//! The header (SBDH, `EPCISMasterData`, the GS1 US transaction statement) is handed to the sink
//! before the first event. Every event becomes a [`SupplierEvent`] with its CBV 2.0 hash ID, the
//! same one the JSON-LD reader would give the same event.
//!
//! Hostile input is bounded: one token (a tag with its attributes, or a run of text) may not
//! exceed [`MAX_TOKEN_BYTES`], an event may not nest deeper than [`MAX_DEPTH`] or hold more than
//! [`MAX_EVENT_FIELDS`] fields, and the master data may not exceed [`MAX_VOCABULARY_ELEMENTS`].
//! Errors name the event and the line.

use std::io::{self, BufRead, Read};

use chrono::{DateTime, NaiveDate};
use quick_xml::NsReader;
use quick_xml::errors::SyntaxError;
use quick_xml::events::{BytesRef, BytesStart, Event};
use quick_xml::name::ResolveResult;

use super::document::{DocumentFormat, DocumentHeader, TransactionStatement, VocabularyElement};
use super::hash::prehash::{Field, StreamedLists};
use super::hash::xml::{expand_value, expand_value_cow};
use super::hash::{ListCanon, hash_id_of_streamed_fields};
use super::spill::{ExternalSort, MemoryScratch, Scratch, SpillLog};
use super::supplier::{
    Action, DocumentSink, EventLists, EventType, ListKind, QuantityElement, ReadError, ReadSummary,
    SupplierEvent, TypedReference, list_tag, untag,
};
use super::vocab::{
    GS1_VOC, NS_EPCIS_1, NS_EPCIS_2, NS_QUERY_1, NS_QUERY_2, Vocabulary, is_epcis_namespace,
};

/// The longest single token (tag or text run) accepted.
pub const MAX_TOKEN_BYTES: u64 = 1 << 20;
/// How deep an event's elements may nest.
pub const MAX_DEPTH: usize = 64;
/// How many fields (elements and attributes) one event may hold: room for a shipping event
/// listing a few million EPCs, not for an unbounded one.
pub const MAX_EVENT_FIELDS: usize = 5_000_000;
/// How many master data elements a header may hold.
pub const MAX_VOCABULARY_ELEMENTS: usize = 200_000;
/// How much of an event may be held as its field tree: everything but the `epc` elements of
/// its lists, which go to scratch storage. Counted as names and values plus a hundred bytes a
/// field.
pub const MAX_EVENT_TREE_BYTES: usize = 16 << 20;
/// What one field of the tree is counted as, besides its name and value.
const TREE_FIELD_BYTES: usize = 96;

const NS_SBDH: &str = "http://www.unece.org/cefact/namespaces/StandardBusinessDocumentHeader";
const NS_GS1USHC: &str = "http://epcis.gs1us.org/hc/ns";
const NS_MDA: &str = "urn:epcglobal:cbv:mda";

/// A `BufRead` that counts lines as the parser consumes bytes and refuses a token that grows
/// past [`MAX_TOKEN_BYTES`] before it is buffered whole.
struct Counted<R> {
    inner: R,
    line: u64,
    since_mark: u64,
}

impl<R: BufRead> Counted<R> {
    fn mark(&mut self) {
        self.since_mark = 0;
    }
}

impl<R: BufRead> Read for Counted<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let n = {
            let available = self.fill_buf()?;
            let n = available.len().min(out.len());
            for (to, from) in out.iter_mut().zip(available) {
                *to = *from;
            }
            n
        };
        self.consume(n);
        Ok(n)
    }
}

impl<R: BufRead> BufRead for Counted<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.since_mark > MAX_TOKEN_BYTES {
            return Err(io::Error::new(io::ErrorKind::InvalidData, TokenTooLong));
        }
        self.inner.fill_buf()
    }

    fn consume(&mut self, amt: usize) {
        if let Ok(buffer) = self.inner.fill_buf() {
            let taken = buffer.get(..amt).unwrap_or(buffer);
            self.line += taken.iter().filter(|&&b| b == b'\n').count() as u64;
        }
        self.since_mark += amt as u64;
        self.inner.consume(amt);
    }
}

#[derive(Debug, thiserror::Error)]
#[error("a single tag or text longer than {MAX_TOKEN_BYTES} bytes")]
struct TokenTooLong;

/// Where the reader is in the document, outside events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Place {
    Root,
    Header,
    Sbdh,
    MasterData,
    Vocabulary,
    VocabularyElement,
    Statement,
    Body,
    EventList,
    IgnoreFields,
    Other,
}

/// An element being built inside an event: its field and whether a child element started
/// (text after the first child is not the element's value, as in the hash's XML reading).
struct Open {
    field: Field,
    saw_child: bool,
    wrapper: bool,
    /// Set on a streamed list element, and on a wrapper inside one: its `epc` children go to
    /// the log.
    list: Option<ListKind>,
    /// Set on an `epc` element of a streamed list.
    epc_of: Option<ListKind>,
    /// Whether this element's children are fields of the event itself (the event element, and
    /// the wrappers directly in it).
    top: bool,
}

struct Walker<'s, S: DocumentSink> {
    sink: &'s mut S,
    header: DocumentHeader,
    header_sent: bool,
    /// The stack of places for elements outside events.
    places: Vec<Place>,
    /// Names (namespace, local) of the elements open outside events.
    names: Vec<(Option<String>, String)>,
    text: String,
    vocabulary_type: String,
    vocabulary_element: Option<VocabularyElement>,
    attribute_id: Option<String>,
    vocabulary_elements: usize,
    /// The event being built, innermost element last.
    event: Vec<Open>,
    event_fields: usize,
    event_line: u64,
    next_index: usize,
    saw_event_list: bool,
    /// Names an `ignoreFields` element lists: left out of every event's hash.
    ignored: Vec<String>,
    scratch: &'s mut dyn Scratch,
    /// The `epc` values of the event's lists in document order, tagged with [`list_tag`]: of
    /// each list name, the first element at the event's level is streamed (a later one, which
    /// no sender writes, stays in the tree).
    log: SpillLog,
    /// The canonical forms of the streamed EPCs, sorted for the hash.
    sort: ExternalSort,
    /// Of each list: `epc` elements kept out of the tree, `None` when the list is not streamed.
    streamed: [Option<u64>; 4],
    /// Of each list: every `epc` element in the log.
    listed: [u64; 4],
    tree_bytes: usize,
    /// The text buffer of the last streamed `epc`, reused by the next.
    spare_value: String,
}

/// Reads an EPCIS 1.2 or 2.0 XML document. `reader` should be buffered.
pub fn read_xml_document<R: BufRead, S: DocumentSink>(
    reader: R,
    sink: &mut S,
) -> Result<ReadSummary, ReadError<S::Error>> {
    read_xml_document_with(reader, sink, &mut MemoryScratch)
}

/// [`read_xml_document`], with what an event lists beyond a bounded buffer kept in `scratch`.
pub fn read_xml_document_with<R: BufRead, S: DocumentSink>(
    reader: R,
    sink: &mut S,
    scratch: &mut dyn Scratch,
) -> Result<ReadSummary, ReadError<S::Error>> {
    read_xml(
        reader,
        sink,
        scratch,
        SpillLog::new(),
        ExternalSort::new(ListKind::ALL.len()),
    )
}

fn read_xml<R: BufRead, S: DocumentSink>(
    reader: R,
    sink: &mut S,
    scratch: &mut dyn Scratch,
    log: SpillLog,
    sort: ExternalSort,
) -> Result<ReadSummary, ReadError<S::Error>> {
    let mut xml = NsReader::from_reader(Counted {
        inner: reader,
        line: 1,
        since_mark: 0,
    });
    xml.config_mut().expand_empty_elements = true;
    xml.config_mut().check_end_names = true;
    let mut walker = Walker {
        sink,
        header: DocumentHeader::default(),
        header_sent: false,
        places: Vec::new(),
        names: Vec::new(),
        text: String::new(),
        vocabulary_type: String::new(),
        vocabulary_element: None,
        attribute_id: None,
        vocabulary_elements: 0,
        event: Vec::new(),
        event_fields: 0,
        event_line: 0,
        next_index: 0,
        saw_event_list: false,
        ignored: Vec::new(),
        scratch,
        log,
        sort,
        streamed: [None; 4],
        listed: [0; 4],
        tree_bytes: 0,
        spare_value: String::new(),
    };
    let mut buf = Vec::new();
    let mut root_closed = false;
    loop {
        buf.clear();
        xml.get_mut().mark();
        let line = xml.get_ref().line;
        let (raw_ns, event) = match xml.read_resolved_event_into(&mut buf) {
            Ok(read) => read,
            Err(e) => return Err(walker.xml_error(line, e)),
        };
        match event {
            // The bulk of a big document: an `epc` of a streamed list, without attributes.
            Event::Start(start)
                if walker.in_streamed_list()
                    && start.local_name().as_ref() == b"epc"
                    && start.attributes_raw().iter().all(u8::is_ascii_whitespace)
                    && match &raw_ns {
                        ResolveResult::Unbound => true,
                        ResolveResult::Bound(n) => std::str::from_utf8(n.as_ref())
                            .is_ok_and(|n| is_epcis_namespace(Some(n))),
                        ResolveResult::Unknown(_) => false,
                    } =>
            {
                walker.start_listed_epc(line)?;
            }
            Event::Start(start) => {
                if root_closed {
                    return Err(syntax(line, None, "content after the document element"));
                }
                let ns = resolved(&raw_ns, line)?;
                let (ns_local, attributes) = element(&xml, &ns, &start, line)?;
                walker.start(ns_local, attributes, line)?;
            }
            Event::End(_) => {
                walker.end(line)?;
                if walker.places.is_empty() && walker.event.is_empty() {
                    root_closed = true;
                }
            }
            Event::Text(t) => {
                let text = t
                    .decode()
                    .map_err(|e| syntax(line, walker.current_event(), e.to_string()))?;
                walker.text(&text, line)?;
            }
            Event::CData(c) => {
                let text = c
                    .decode()
                    .map_err(|e| syntax(line, walker.current_event(), e.to_string()))?;
                walker.text(&text, line)?;
            }
            Event::GeneralRef(r) => {
                let c = entity(&r).map_err(|m| syntax(line, walker.current_event(), m))?;
                walker.text(c.encode_utf8(&mut [0; 4]), line)?;
            }
            Event::DocType(_) => {
                // A DTD could declare entities that expand without bound: EPCIS never has one.
                return Err(syntax(line, None, "a DOCTYPE declaration is not allowed"));
            }
            Event::Empty(_) | Event::Comment(_) | Event::Decl(_) | Event::PI(_) => {}
            Event::Eof => break,
        }
    }
    if !root_closed {
        if walker.places.is_empty() && walker.next_index == 0 && !walker.header_sent {
            return Err(ReadError::NotEpcis("the file is empty".into()));
        }
        return Err(ReadError::Truncated {
            event: walker.current_event(),
        });
    }
    if !walker.saw_event_list {
        return Err(ReadError::NoEventList);
    }
    walker.send_header()?;
    Ok(ReadSummary {
        document_type: walker.header.document_type.clone(),
        events: walker.next_index,
        format: walker.header.format,
    })
}

fn syntax<E: std::error::Error + 'static>(
    line: u64,
    event: Option<usize>,
    message: impl Into<String>,
) -> ReadError<E> {
    ReadError::Xml {
        line,
        event,
        message: message.into(),
    }
}

fn resolved<E: std::error::Error + 'static>(
    ns: &ResolveResult<'_>,
    line: u64,
) -> Result<Option<String>, ReadError<E>> {
    match ns {
        ResolveResult::Bound(n) => Ok(Some(String::from_utf8_lossy(n.as_ref()).into_owned())),
        ResolveResult::Unbound => Ok(None),
        ResolveResult::Unknown(prefix) => Err(syntax(
            line,
            None,
            format!(
                "the namespace prefix '{}' is not declared",
                String::from_utf8_lossy(prefix)
            ),
        )),
    }
}

type Attributes = Vec<(Option<String>, String, String)>;
/// An element's namespace (if any) and local name.
type ElementName = (Option<String>, String);

/// The element's (namespace, local name) and its attributes, namespace declarations left out.
fn element<R: BufRead, E: std::error::Error + 'static>(
    xml: &NsReader<R>,
    ns: &Option<String>,
    start: &BytesStart<'_>,
    line: u64,
) -> Result<(ElementName, Attributes), ReadError<E>> {
    let local = String::from_utf8_lossy(start.local_name().as_ref()).into_owned();
    let mut attributes = Vec::new();
    for attribute in start.attributes() {
        let attribute = attribute.map_err(|e| syntax(line, None, e.to_string()))?;
        let key = attribute.key.as_ref();
        if key == b"xmlns" || key.starts_with(b"xmlns:") {
            continue;
        }
        let (attr_ns, attr_local) = xml.resolver().resolve_attribute(attribute.key);
        let attr_ns = resolved(&attr_ns, line)?;
        let value = attribute
            .decoded_and_normalized_value(quick_xml::XmlVersion::Implicit1_0, xml.decoder())
            .map_err(|e| syntax(line, None, e.to_string()))?;
        attributes.push((
            attr_ns,
            String::from_utf8_lossy(attr_local.as_ref()).into_owned(),
            value.into_owned(),
        ));
    }
    Ok(((ns.clone(), local), attributes))
}

fn entity(r: &BytesRef<'_>) -> Result<char, String> {
    if r.is_char_ref() {
        return match r.resolve_char_ref() {
            Ok(Some(c)) => Ok(c),
            _ => Err("an invalid character reference".into()),
        };
    }
    let name = r.decode().map_err(|e| e.to_string())?;
    match name.as_ref() {
        "amp" => Ok('&'),
        "lt" => Ok('<'),
        "gt" => Ok('>'),
        "quot" => Ok('"'),
        "apos" => Ok('\''),
        other => Err(format!("the entity &{other}; is not defined")),
    }
}

fn qualified(ns: &Option<String>, local: &str) -> String {
    match ns {
        Some(ns) => format!("{{{ns}}}{local}"),
        None => local.to_owned(),
    }
}

fn is_event_name(local: &str) -> bool {
    EventType::parse(local).is_some()
}

impl<S: DocumentSink> Walker<'_, S> {
    fn current_event(&self) -> Option<usize> {
        (!self.event.is_empty()).then_some(self.next_index)
    }

    fn xml_error(&self, line: u64, e: quick_xml::Error) -> ReadError<S::Error> {
        match e {
            quick_xml::Error::Io(io) if io.kind() == io::ErrorKind::InvalidData => {
                syntax(line, self.current_event(), io.to_string())
            }
            quick_xml::Error::Io(io) => match std::sync::Arc::try_unwrap(io) {
                Ok(io) => ReadError::Io(io),
                Err(shared) => ReadError::Io(io::Error::new(shared.kind(), shared.to_string())),
            },
            quick_xml::Error::Syntax(
                SyntaxError::UnclosedTag
                | SyntaxError::UnclosedComment
                | SyntaxError::UnclosedCData
                | SyntaxError::UnclosedDoctype
                | SyntaxError::UnclosedPI
                | SyntaxError::UnclosedXmlDecl,
            ) if !self.places.is_empty() => ReadError::Truncated {
                event: self.current_event(),
            },
            quick_xml::Error::Syntax(s) if self.places.is_empty() && self.next_index == 0 => {
                ReadError::NotEpcis(format!("not an XML document ({s})"))
            }
            other => syntax(line, self.current_event(), other.to_string()),
        }
    }

    fn send_header(&mut self) -> Result<(), ReadError<S::Error>> {
        if !self.header_sent {
            self.header_sent = true;
            self.sink
                .header(self.header.clone())
                .map_err(|source| ReadError::Rejected {
                    index: self.next_index,
                    source,
                })?;
        }
        Ok(())
    }

    fn start(
        &mut self,
        (ns, local): ElementName,
        attributes: Attributes,
        line: u64,
    ) -> Result<(), ReadError<S::Error>> {
        self.text.clear();
        // Below the document element, the EPCIS namespaces mean what no namespace means: the
        // schema leaves these elements unqualified, and some senders qualify them anyway.
        let below_root = !self.places.is_empty() || !self.event.is_empty();
        let ns = if !below_root || !is_epcis_namespace(ns.as_deref()) {
            ns
        } else {
            None
        };
        if !self.event.is_empty() {
            return self.start_in_event(&ns, &local, attributes, line);
        }
        let parent = self.places.last().copied();
        let no_ns = ns.is_none();
        let place = match parent {
            None if is_event_name(&local) && (no_ns || is_epcis_namespace(ns.as_deref())) => {
                // A lone event, as some systems capture one at a time.
                self.header.format = Some(if ns.as_deref() == Some(NS_EPCIS_2) {
                    DocumentFormat::Xml20
                } else {
                    DocumentFormat::Xml12
                });
                self.saw_event_list = true;
                self.send_header()?;
                self.event_line = line;
                self.begin_event();
                return self.start_in_event(&None, &local, attributes, line);
            }
            None => {
                let format = match ns.as_deref() {
                    Some(NS_EPCIS_1 | NS_QUERY_1) => DocumentFormat::Xml12,
                    Some(NS_EPCIS_2 | NS_QUERY_2) => DocumentFormat::Xml20,
                    _ => {
                        return Err(ReadError::NotEpcis(format!(
                            "the document element is {}, not an EPCIS document",
                            qualified(&ns, &local)
                        )));
                    }
                };
                if local != "EPCISDocument" && local != "EPCISQueryDocument" {
                    return Err(ReadError::NotEpcis(format!(
                        "the document element is {local}, not EPCISDocument"
                    )));
                }
                self.header.format = Some(format);
                self.header.document_type = Some(local.clone());
                if let Some((_, _, v)) = attributes
                    .iter()
                    .find(|(n, l, _)| n.is_none() && l == "creationDate")
                {
                    self.header.creation_date = DateTime::parse_from_rfc3339(v.trim()).ok();
                }
                Place::Root
            }
            Some(Place::IgnoreFields) => {
                if self.ignored.len() < 1000 {
                    self.ignored.push(qualified(&ns, &local));
                }
                Place::Other
            }
            Some(_) if local == "ignoreFields" => Place::IgnoreFields,
            Some(Place::Root) if no_ns && local == "EPCISHeader" => Place::Header,
            Some(Place::Root)
                if no_ns
                    && matches!(local.as_str(), "EPCISBody" | "QueryResults" | "resultsBody") =>
            {
                self.send_header()?;
                Place::Body
            }
            Some(Place::Header) if ns.as_deref() == Some(NS_SBDH) => Place::Sbdh,
            Some(Place::Header) if no_ns && local == "extension" => Place::Header,
            Some(Place::Header) if no_ns && local == "EPCISMasterData" => Place::MasterData,
            Some(Place::Header) if ns.as_deref() == Some(NS_GS1USHC) => {
                if local == "dscsaTransactionStatement" {
                    self.header
                        .statement
                        .get_or_insert_with(TransactionStatement::default);
                    Place::Statement
                } else {
                    Place::Other
                }
            }
            Some(Place::Sbdh) => Place::Sbdh,
            Some(Place::MasterData) if no_ns && local == "Vocabulary" => {
                self.vocabulary_type = attributes
                    .iter()
                    .find(|(n, l, _)| n.is_none() && l == "type")
                    .map(|(_, _, v)| v.clone())
                    .unwrap_or_default();
                Place::Vocabulary
            }
            Some(Place::MasterData) => Place::MasterData,
            Some(Place::Vocabulary) if no_ns && local == "VocabularyElement" => {
                self.vocabulary_elements += 1;
                if self.vocabulary_elements > MAX_VOCABULARY_ELEMENTS {
                    return Err(syntax(
                        line,
                        None,
                        format!("more than {MAX_VOCABULARY_ELEMENTS} master data elements"),
                    ));
                }
                let id = attributes
                    .iter()
                    .find(|(n, l, _)| n.is_none() && l == "id")
                    .map(|(_, _, v)| v.as_str())
                    .unwrap_or_default();
                self.vocabulary_element = Some(VocabularyElement::new(&self.vocabulary_type, id));
                Place::VocabularyElement
            }
            Some(Place::Vocabulary) => Place::Vocabulary,
            Some(Place::VocabularyElement) if no_ns && local == "attribute" => {
                self.attribute_id = attributes
                    .iter()
                    .find(|(n, l, _)| n.is_none() && l == "id")
                    .map(|(_, _, v)| v.clone());
                Place::Other
            }
            Some(Place::Statement) => Place::Statement,
            Some(Place::Body) if no_ns && local == "EventList" => {
                self.saw_event_list = true;
                Place::EventList
            }
            Some(Place::Body) => Place::Body,
            Some(Place::EventList) if no_ns && local == "extension" => Place::EventList,
            Some(Place::EventList) if no_ns && is_event_name(&local) => {
                self.sink
                    .event_starts()
                    .map_err(|source| ReadError::Rejected {
                        index: self.next_index,
                        source,
                    })?;
                self.event_line = line;
                self.begin_event();
                return self.start_in_event(&ns, &local, attributes, line);
            }
            _ => Place::Other,
        };
        self.places.push(place);
        self.names.push((ns, local));
        Ok(())
    }

    fn start_in_event(
        &mut self,
        ns: &Option<String>,
        local: &str,
        attributes: Attributes,
        line: u64,
    ) -> Result<(), ReadError<S::Error>> {
        if self.event.len() > MAX_DEPTH {
            return Err(syntax(
                line,
                self.current_event(),
                format!("elements nest deeper than {MAX_DEPTH}"),
            ));
        }
        self.event_fields += 1 + attributes.len();
        if self.event_fields > MAX_EVENT_FIELDS {
            return Err(syntax(
                line,
                self.current_event(),
                format!("the event holds more than {MAX_EVENT_FIELDS} fields"),
            ));
        }
        let (parent_list, parent_top) = match self.event.last_mut() {
            Some(parent) => {
                parent.saw_child = true;
                (parent.list, parent.top)
            }
            None => (None, false),
        };
        let is_event = self.event.is_empty();
        let unqualified = ns.is_none();
        let wrapper = unqualified && matches!(local, "extension" | "baseExtension") && !is_event;
        let epc_of = parent_list.filter(|_| unqualified && !wrapper && local == "epc");
        let list = if wrapper {
            parent_list
        } else if let Some(kind) = ListKind::from_element(local).filter(|_| unqualified)
            && parent_top
            && let Some(slot @ None) = self.streamed.get_mut(kind.index())
        {
            *slot = Some(0);
            Some(kind)
        } else {
            None
        };
        let name = qualified(ns, local);
        // A streamed `epc` is counted only if it turns out to stay in the tree.
        let mut bytes = if epc_of.is_some() {
            0
        } else {
            name.len() + TREE_FIELD_BYTES
        };
        let children: Vec<Field> = attributes
            .into_iter()
            .map(|(n, l, v)| Field::leaf(qualified(&n, &l), expand_value(&v)))
            .collect();
        bytes += children
            .iter()
            .map(|c| c.name.len() + c.value.len() + TREE_FIELD_BYTES)
            .sum::<usize>();
        self.grow_tree(bytes, line)?;
        self.event.push(Open {
            field: Field {
                name,
                value: String::new(),
                children,
            },
            saw_child: false,
            wrapper,
            list,
            epc_of,
            top: is_event || (wrapper && parent_top),
        });
        Ok(())
    }

    /// Whether the element being read is a streamed list (or a wrapper in one).
    fn in_streamed_list(&self) -> bool {
        self.event.last().is_some_and(|open| open.list.is_some())
    }

    /// [`Self::start_in_event`] for an `epc` without attributes in a streamed list: nothing of it
    /// goes to the tree unless it turns out to hold an element, so nothing is allocated for it.
    fn start_listed_epc(&mut self, line: u64) -> Result<(), ReadError<S::Error>> {
        if self.event.len() > MAX_DEPTH {
            return Err(syntax(
                line,
                self.current_event(),
                format!("elements nest deeper than {MAX_DEPTH}"),
            ));
        }
        self.event_fields += 1;
        if self.event_fields > MAX_EVENT_FIELDS {
            return Err(syntax(
                line,
                self.current_event(),
                format!("the event holds more than {MAX_EVENT_FIELDS} fields"),
            ));
        }
        let Some(parent) = self.event.last_mut() else {
            return Ok(());
        };
        parent.saw_child = true;
        let epc_of = parent.list;
        let mut value = std::mem::take(&mut self.spare_value);
        value.clear();
        self.event.push(Open {
            field: Field {
                name: String::new(),
                value,
                children: Vec::new(),
            },
            saw_child: false,
            wrapper: false,
            list: None,
            epc_of,
            top: false,
        });
        Ok(())
    }

    /// Resets what is kept per event.
    fn begin_event(&mut self) {
        self.event_fields = 0;
        self.tree_bytes = 0;
        self.streamed = [None; 4];
        self.listed = [0; 4];
        self.log.clear();
        self.sort.clear();
    }

    /// Counts `bytes` more of the event's field tree, refusing an event past
    /// [`MAX_EVENT_TREE_BYTES`].
    fn grow_tree(&mut self, bytes: usize, line: u64) -> Result<(), ReadError<S::Error>> {
        self.tree_bytes = self.tree_bytes.saturating_add(bytes);
        if self.tree_bytes > MAX_EVENT_TREE_BYTES {
            return Err(syntax(
                line,
                self.current_event(),
                format!(
                    "the event's fields other than its EPC lists take more than {MAX_EVENT_TREE_BYTES} bytes"
                ),
            ));
        }
        Ok(())
    }

    fn text(&mut self, text: &str, line: u64) -> Result<(), ReadError<S::Error>> {
        if let Some(open) = self.event.last_mut() {
            if !open.saw_child {
                open.field.value.push_str(text);
                if open.field.value.len() as u64 > MAX_TOKEN_BYTES {
                    return Err(syntax(
                        line,
                        self.current_event(),
                        format!("a value longer than {MAX_TOKEN_BYTES} bytes"),
                    ));
                }
            }
            return Ok(());
        }
        if matches!(
            self.places.last(),
            Some(Place::Sbdh | Place::Statement | Place::Other)
        ) {
            self.text.push_str(text);
            if self.text.len() as u64 > MAX_TOKEN_BYTES {
                return Err(syntax(
                    line,
                    None,
                    format!("a value longer than {MAX_TOKEN_BYTES} bytes"),
                ));
            }
        }
        Ok(())
    }

    fn end(&mut self, line: u64) -> Result<(), ReadError<S::Error>> {
        if let Some(mut open) = self.event.pop() {
            if let Some(kind) = open.epc_of {
                let in_tree = !open.field.children.is_empty();
                let value = expand_value_cow(open.field.value.trim());
                self.log
                    .push(
                        list_tag(kind, in_tree),
                        value.as_bytes(),
                        &mut *self.scratch,
                    )
                    .map_err(ReadError::Io)?;
                if let Some(n) = self.listed.get_mut(kind.index()) {
                    *n += 1;
                }
                if !in_tree {
                    drop(value);
                    if let Some(Some(n)) = self.streamed.get_mut(kind.index()) {
                        *n += 1;
                    }
                    // Its text buffer serves the next one.
                    self.spare_value = open.field.value;
                    return Ok(());
                }
                let value = value.into_owned();
                open.field.value = value;
                // Its name was left out by `start_listed_epc`.
                if open.field.name.is_empty() {
                    open.field.name.push_str("epc");
                }
                self.grow_tree(open.field.name.len() + TREE_FIELD_BYTES, line)?;
            } else {
                open.field.value = expand_value(open.field.value.trim());
            }
            self.grow_tree(open.field.value.len(), line)?;
            match self.event.last_mut() {
                Some(parent) if open.wrapper => parent.field.children.extend(open.field.children),
                Some(parent) => parent.field.children.push(open.field),
                None => return self.finish_event(open.field),
            }
            return Ok(());
        }
        let text = std::mem::take(&mut self.text);
        let value = text.trim();
        let (ns, local) = self.names.pop().unwrap_or_default();
        let place = self.places.pop();
        let parent = self.places.last().copied();
        match (place, parent) {
            (Some(Place::Sbdh), _) if ns.as_deref() == Some(NS_SBDH) => {
                self.sbdh_value(&local, value);
            }
            (Some(Place::Statement), _) if ns.as_deref() == Some(NS_GS1USHC) => {
                if let Some(statement) = self.header.statement.as_mut() {
                    match local.as_str() {
                        "affirmTransactionStatement" => {
                            statement.affirmed = super::document::xml_bool(value).unwrap_or(false);
                        }
                        "legalNotice" if !value.is_empty() => {
                            statement.legal_notice = Some(value.to_owned());
                        }
                        _ => {}
                    }
                }
            }
            (Some(Place::Other), Some(Place::VocabularyElement)) if local == "attribute" => {
                if let (Some(element), Some(id)) =
                    (self.vocabulary_element.as_mut(), self.attribute_id.take())
                {
                    super::document::apply_attribute(
                        &self.vocabulary_type,
                        element,
                        &id,
                        value.to_owned(),
                    );
                }
            }
            (Some(Place::VocabularyElement), _) => {
                if let Some(element) = self.vocabulary_element.take() {
                    element.finish(&mut self.header);
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// Leaf values of the SBDH; the enclosing element tells sender from receiver.
    fn sbdh_value(&mut self, local: &str, value: &str) {
        if value.is_empty() {
            return;
        }
        let parent = self.names.last().map(|(_, l)| l.as_str());
        match (parent, local) {
            (Some("Sender"), "Identifier") => self.header.sender = Some(value.to_owned()),
            (Some("Receiver"), "Identifier") => self.header.receiver = Some(value.to_owned()),
            (Some("DocumentIdentification"), "InstanceIdentifier") => {
                self.header.instance_id = Some(value.to_owned());
            }
            (Some("DocumentIdentification"), "CreationDateAndTime")
                if self.header.creation_date.is_none() =>
            {
                self.header.creation_date = DateTime::parse_from_rfc3339(value).ok();
            }
            _ => {}
        }
    }

    fn finish_event(&mut self, event: Field) -> Result<(), ReadError<S::Error>> {
        let index = self.next_index;
        self.next_index += 1;
        let event_line = self.event_line;
        let mut supplier =
            from_fields(index, &event).map_err(|reason| ReadError::InvalidEvent {
                index,
                reason: format!("(line {event_line}) {reason}"),
            })?;
        let streams = self.sink.streams_lists();
        if !streams {
            let mut lists = EventLists::spilled(&mut self.log, self.listed);
            for kind in ListKind::ALL {
                let mut cursor = lists.cursor(kind);
                let mut values = Vec::new();
                while let Some(epc) = cursor.next().map_err(ReadError::Io)? {
                    values.push(epc.to_owned());
                }
                kind.set(&mut supplier, values);
            }
        }
        if self.sink.wants_hash_id(&supplier) {
            supplier.hash_id = self.hash_id(event).map_err(ReadError::Io)?;
        }
        let delivered = if streams {
            let mut lists = EventLists::spilled(&mut self.log, self.listed);
            self.sink.event_with_lists(supplier, &mut lists)
        } else {
            self.sink.event(supplier)
        };
        delivered.map_err(|source| ReadError::Rejected { index, source })?;
        self.begin_event();
        Ok(())
    }

    /// The event's hash ID: its streamed EPCs are sorted in canonical form in bounded memory
    /// and fed to the hash with the rest of the tree.
    fn hash_id(&mut self, event: Field) -> io::Result<String> {
        if self.streamed.iter().any(Option::is_some) {
            let mut canon = ListCanon::default();
            let mut reader = self.log.reader();
            while let Some((tag, value)) = reader.next_record()? {
                let Some((kind, false)) = untag(tag) else {
                    continue;
                };
                let value = std::str::from_utf8(value)
                    .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
                if let Some(canonical) = canon.value(value) {
                    self.sort
                        .push(kind as u8, canonical.as_bytes(), &mut *self.scratch)?;
                }
            }
            self.sort.finish(&mut *self.scratch)?;
        }
        let mut lists = Sorted {
            sort: &mut self.sort,
            streamed: self.streamed,
        };
        hash_id_of_streamed_fields(&event.name, event.children, &self.ignored, &mut lists)
    }
}

/// The streamed lists of an event, sorted, as the hash reads them.
struct Sorted<'a> {
    sort: &'a mut ExternalSort,
    streamed: [Option<u64>; 4],
}

impl StreamedLists for Sorted<'_> {
    type Error = io::Error;
    fn streamed(&self, list: &str) -> Option<u64> {
        let kind = ListKind::from_element(list)?;
        self.streamed.get(kind.index()).copied().flatten()
    }
    fn visit_sorted(&mut self, list: &str, visit: &mut dyn FnMut(&[u8]) -> bool) -> io::Result<()> {
        match ListKind::from_element(list) {
            Some(kind) => self.sort.visit(kind as u8, visit),
            None => Ok(()),
        }
    }
}

/// The value of the first field named `name`.
fn value<'f>(fields: &'f [Field], name: &str) -> Option<&'f str> {
    fields
        .iter()
        .find(|f| f.name == name)
        .map(|f| f.value.as_str())
        .filter(|v| !v.is_empty())
}

fn field<'f>(fields: &'f [Field], name: &str) -> Option<&'f Field> {
    fields.iter().find(|f| f.name == name)
}

fn references(
    fields: &[Field],
    list: &str,
    item: &str,
    vocabulary: Vocabulary,
) -> Vec<TypedReference> {
    field(fields, list)
        .map(|l| {
            l.children
                .iter()
                .filter(|c| c.name == item)
                .map(|c| TypedReference {
                    kind: value(&c.children, "type").map(|t| vocabulary.bare_word(t)),
                    id: c.value.clone(),
                })
                .collect()
        })
        .unwrap_or_default()
}

fn quantities(fields: &[Field], list: &str) -> Result<Vec<QuantityElement>, String> {
    let Some(l) = field(fields, list) else {
        return Ok(Vec::new());
    };
    l.children
        .iter()
        .filter(|c| c.name == "quantityElement")
        .map(|q| {
            let epc_class = value(&q.children, "epcClass")
                .ok_or_else(|| format!("a {list} element has no epcClass"))?
                .to_owned();
            let quantity = match value(&q.children, "quantity") {
                None => None,
                Some(s) => Some(
                    s.parse::<f64>()
                        .map_err(|_| format!("{list} quantity '{s}' is not a number"))?,
                ),
            };
            Ok(QuantityElement {
                epc_class,
                quantity,
                uom: value(&q.children, "uom").map(str::to_owned),
            })
        })
        .collect()
}

/// The [`SupplierEvent`] of one event's field tree, without its lists (they are in the log) and
/// its hash ID.
fn from_fields(index: usize, event: &Field) -> Result<SupplierEvent, String> {
    let event_type = EventType::parse(&event.name)
        .ok_or_else(|| format!("unknown event type '{}'", event.name))?;
    let fields = &event.children;
    let event_time = match value(fields, "eventTime") {
        Some(s) => DateTime::parse_from_rfc3339(s)
            .map_err(|e| format!("eventTime '{s}' is not an XML date-time with zone ({e})"))?,
        None => return Err("eventTime is missing".into()),
    };
    let action = match value(fields, "action") {
        None => None,
        Some("ADD") => Some(Action::Add),
        Some("OBSERVE") => Some(Action::Observe),
        Some("DELETE") => Some(Action::Delete),
        Some(other) => return Err(format!("action '{other}' is not ADD, OBSERVE or DELETE")),
    };
    let word =
        |name: &str, vocabulary: Vocabulary| value(fields, name).map(|v| vocabulary.bare_word(v));
    let persistent = |name: &str| -> Vec<String> {
        field(fields, "persistentDisposition")
            .map(|p| {
                p.children
                    .iter()
                    .filter(|c| c.name == name)
                    .map(|c| Vocabulary::Disposition.bare_word(&c.value))
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut lot_number = None;
    let mut item_expiration_date = None;
    if let Some(ilmd) = field(fields, "ilmd") {
        for f in &ilmd.children {
            let local = f
                .name
                .strip_prefix(&format!("{{{NS_MDA}}}"))
                .or_else(|| f.name.strip_prefix(&format!("{{{NS_MDA}:}}")))
                .or_else(|| f.name.strip_prefix(&format!("{{{GS1_VOC}}}")));
            match local {
                Some("lotNumber") => lot_number = Some(f.value.clone()),
                Some("itemExpirationDate") => {
                    item_expiration_date = Some(
                        NaiveDate::parse_from_str(&f.value, "%Y-%m-%d").map_err(|_| {
                            format!(
                                "ilmd itemExpirationDate '{}' is not a date (YYYY-MM-DD)",
                                f.value
                            )
                        })?,
                    );
                }
                _ => {}
            }
        }
    }
    let drop_shipment = match value(fields, &format!("{{{NS_GS1USHC}}}dropShipment")) {
        None => None,
        Some(v) => Some(
            super::document::xml_bool(v)
                .ok_or_else(|| format!("dropShipment '{v}' is not true or false"))?,
        ),
    };
    let location = |name: &str| {
        field(fields, name)
            .and_then(|f| value(&f.children, "id"))
            .map(str::to_owned)
    };
    Ok(SupplierEvent {
        index,
        event_type,
        action,
        event_time,
        biz_step: word("bizStep", Vocabulary::BizStep),
        disposition: word("disposition", Vocabulary::Disposition),
        persistent_disposition_set: persistent("set"),
        persistent_disposition_unset: persistent("unset"),
        epc_list: Vec::new(),
        parent_id: value(fields, "parentID").map(str::to_owned),
        child_epcs: Vec::new(),
        input_epc_list: Vec::new(),
        output_epc_list: Vec::new(),
        quantity_list: quantities(fields, "quantityList")?,
        child_quantity_list: quantities(fields, "childQuantityList")?,
        biz_transactions: references(
            fields,
            "bizTransactionList",
            "bizTransaction",
            Vocabulary::BizTransactionType,
        ),
        sources: references(
            fields,
            "sourceList",
            "source",
            Vocabulary::SourceDestinationType,
        ),
        destinations: references(
            fields,
            "destinationList",
            "destination",
            Vocabulary::SourceDestinationType,
        ),
        read_point: location("readPoint"),
        biz_location: location("bizLocation"),
        lot_number,
        item_expiration_date,
        event_id: value(fields, "eventID").map(str::to_owned),
        drop_shipment,
        hash_id: String::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::epcis::read::CollectingSink;

    fn read(xml: &str) -> Result<CollectingSink, String> {
        let mut sink = CollectingSink::default();
        read_xml_document(xml.as_bytes(), &mut sink).map_err(|e| e.to_string())?;
        Ok(sink)
    }

    const DOC: &str = r#"<?xml version="1.0"?>
<!-- a comment before the root -->
<e:EPCISDocument xmlns:e="urn:epcglobal:epcis:xsd:1" xmlns:m="urn:epcglobal:cbv:mda"
    xmlns:us="http://epcis.gs1us.org/hc/ns" xmlns:h="http://www.unece.org/cefact/namespaces/StandardBusinessDocumentHeader"
    schemaVersion="1.2" creationDate="2024-01-02T03:04:05Z">
  <EPCISHeader>
    <h:StandardBusinessDocumentHeader>
      <h:Sender><h:Identifier Authority="GS1">urn:epc:id:sgln:030001.111111.0</h:Identifier></h:Sender>
      <h:Receiver><h:Identifier>urn:epc:id:sgln:039999.999999.0</h:Identifier></h:Receiver>
      <h:DocumentIdentification><h:InstanceIdentifier>INV-1</h:InstanceIdentifier></h:DocumentIdentification>
    </h:StandardBusinessDocumentHeader>
    <us:dscsaTransactionStatement><us:affirmTransactionStatement>true</us:affirmTransactionStatement></us:dscsaTransactionStatement>
  </EPCISHeader>
  <EPCISBody><EventList>
    <ObjectEvent>
      <action>ADD</action>
      <epcList><epc>urn:epc:id:sgtin:030001.0012345.11</epc></epcList>
      <eventTimeZoneOffset>-05:00</eventTimeZoneOffset>
      <eventTime>2023-03-27T06:45:16Z</eventTime>
      <bizStep>urn:epcglobal:cbv:bizstep:commissioning</bizStep>
      <extension><ilmd><m:lotNumber>A&amp;1</m:lotNumber><m:itemExpirationDate>2025-03-27</m:itemExpirationDate></ilmd></extension>
    </ObjectEvent>
    <extension><TransformationEvent><eventTime>2023-03-27T06:45:16Z</eventTime><eventTimeZoneOffset>+00:00</eventTimeZoneOffset></TransformationEvent></extension>
  </EventList></EPCISBody>
</e:EPCISDocument>"#;

    #[test]
    fn prefixes_order_comments_and_extensions_do_not_matter() {
        let sink = read(DOC).unwrap();
        let header = sink.header.unwrap();
        assert_eq!(header.format, Some(DocumentFormat::Xml12));
        assert_eq!(
            header.sender.as_deref(),
            Some("urn:epc:id:sgln:030001.111111.0")
        );
        assert_eq!(
            header.receiver.as_deref(),
            Some("urn:epc:id:sgln:039999.999999.0")
        );
        assert_eq!(header.instance_id.as_deref(), Some("INV-1"));
        assert!(header.statement.unwrap().affirmed);
        assert_eq!(sink.events.len(), 2);
        let e = &sink.events[0];
        assert_eq!(e.lot_number.as_deref(), Some("A&1"));
        assert_eq!(e.item_expiration_date, NaiveDate::from_ymd_opt(2025, 3, 27));
        assert_eq!(e.biz_step.as_deref(), Some("commissioning"));
        assert_eq!(e.epc_list, vec!["urn:epc:id:sgtin:030001.0012345.11"]);
        assert_eq!(sink.events[1].event_type, EventType::Transformation);
        // The streaming reader's hash equals the whole-document reader's.
        let whole = crate::epcis::hash::xml_document_hash_ids(DOC).unwrap();
        assert_eq!(
            whole,
            vec![e.hash_id.clone(), sink.events[1].hash_id.clone()]
        );
    }

    #[test]
    fn truncated_hostile_and_foreign_documents_are_refused() {
        let cut = &DOC[..DOC.len() - 40];
        assert!(
            read(cut).unwrap_err().contains("ends early"),
            "{}",
            read(cut).unwrap_err()
        );
        let not = read("<html><body/></html>").unwrap_err();
        assert!(not.contains("not an EPCIS document"), "{not}");
        let dtd = "<!DOCTYPE x [<!ENTITY a \"aaaa\">]><e:EPCISDocument xmlns:e=\"urn:epcglobal:epcis:xsd:1\"/>";
        assert!(read(dtd).unwrap_err().contains("DOCTYPE"));
        let undeclared = "<x:EPCISDocument/>";
        assert!(read(undeclared).is_err());
        let bad_time = DOC.replace(
            "2023-03-27T06:45:16Z</eventTime>\n      <bizStep>",
            "yesterday</eventTime><bizStep>",
        );
        let err = read(&bad_time).unwrap_err();
        assert!(err.contains("event 0") && err.contains("line"), "{err}");
        let long = format!(
            "<e:EPCISDocument xmlns:e=\"urn:epcglobal:epcis:xsd:1\"><EPCISBody><EventList><ObjectEvent><eventTime>{}</eventTime></ObjectEvent></EventList></EPCISBody></e:EPCISDocument>",
            "9".repeat(3 << 20)
        );
        assert!(read(&long).unwrap_err().contains("longer than"));
    }

    /// A sink that streams lists, keeping what it is given.
    #[derive(Default)]
    struct Streaming {
        events: Vec<SupplierEvent>,
        skip_hash: bool,
    }

    impl DocumentSink for Streaming {
        type Error = io::Error;
        fn header(&mut self, _: DocumentHeader) -> io::Result<()> {
            Ok(())
        }
        fn event(&mut self, event: SupplierEvent) -> io::Result<()> {
            self.events.push(event);
            Ok(())
        }
        fn streams_lists(&self) -> bool {
            true
        }
        fn wants_hash_id(&mut self, event: &SupplierEvent) -> bool {
            assert!(event.epc_list.is_empty() && event.child_epcs.is_empty());
            !self.skip_hash
        }
        fn event_with_lists(
            &mut self,
            mut event: SupplierEvent,
            lists: &mut EventLists<'_>,
        ) -> io::Result<()> {
            for kind in ListKind::ALL {
                let mut values = Vec::new();
                let mut cursor = lists.cursor(kind);
                while let Some(epc) = cursor.next()? {
                    values.push(epc.to_owned());
                }
                assert_eq!(values.len() as u64, lists.len(kind));
                kind.set(&mut event, values);
            }
            self.events.push(event);
            Ok(())
        }
    }

    /// Reads with buffers of a few bytes, so that every list and sort goes through its file.
    fn read_spilling(xml: &str) -> Result<Vec<SupplierEvent>, String> {
        let mut sink = Streaming::default();
        read_xml(
            xml.as_bytes(),
            &mut sink,
            &mut MemoryScratch,
            SpillLog::with_limit(3),
            ExternalSort::with_limit(ListKind::ALL.len(), 40),
        )
        .map_err(|e| e.to_string())?;
        Ok(sink.events)
    }

    fn assert_same_reading(xml: &str, what: &str) {
        let whole = crate::epcis::hash::xml_document_hash_ids(xml)
            .unwrap_or_else(|e| panic!("{what}: {e}"));
        let held = read(xml).unwrap_or_else(|e| panic!("{what}: {e}")).events;
        let spilled = read_spilling(xml).unwrap_or_else(|e| panic!("{what}: {e}"));
        let held_ids: Vec<&str> = held.iter().map(|e| e.hash_id.as_str()).collect();
        let spilled_ids: Vec<&str> = spilled.iter().map(|e| e.hash_id.as_str()).collect();
        assert_eq!(held_ids, whole, "{what}: held in memory");
        assert_eq!(spilled_ids, whole, "{what}: spilled");
        assert_eq!(held, spilled, "{what}: the events differ");
    }

    #[test]
    fn streamed_lists_hash_as_the_whole_document_reader_does() {
        let epc = |i: u32| format!("<epc>urn:epc:id:sgtin:0614141.107346.{i}</epc>");
        let many: String = (0..300).rev().map(epc).collect();
        let event = |body: &str| {
            format!(
                "<ObjectEvent><eventTime>2024-01-01T00:00:00Z</eventTime>\
                 <eventTimeZoneOffset>+00:00</eventTimeZoneOffset>{body}<action>OBSERVE</action>\
                 </ObjectEvent>"
            )
        };
        let events = [
            // Unsorted, with an empty epc, a wrapper, an epc with an attribute, an extension
            // of the list and the list's own attribute.
            event(&format!(
                "<epcList a=\"1\">{many}<epc/><epc x=\"y\">urn:epc:id:sgtin:0614141.107346.5</epc>\
                 <extension>{}</extension><x:f xmlns:x=\"http://ext.example/\">1</x:f>{}</epcList>",
                epc(7),
                epc(3)
            )),
            // One streamed EPC beside one extension: the level counts as two fields.
            event(&format!(
                "<epcList>{}<x:f xmlns:x=\"http://ext.example/\">1</x:f></epcList>",
                epc(1)
            )),
            // A second list of the same name sorting before, and one after, the first.
            event(&format!(
                "<epcList>{many}</epcList><epcList>{}</epcList><epcList>{}</epcList>",
                epc(0),
                epc(9)
            )),
            // Lists inside a wrapper at the event's level; an epc with an element of its own;
            // text after an element.
            event(&format!(
                "<extension><childEPCs>{many}</childEPCs></extension>\
                 <outputEPCList><epc>urn:epc:id:sgtin:0614141.107346.8<q>1</q>x</epc>{}</outputEPCList>\
                 <epcList/><inputEPCList>  </inputEPCList>",
                epc(2)
            )),
        ]
        .concat();
        let doc = |events: &str, extra: &str| {
            format!(
                "<e:EPCISDocument xmlns:e=\"urn:epcglobal:epcis:xsd:1\"><EPCISBody>{extra}<EventList>{events}</EventList></EPCISBody></e:EPCISDocument>"
            )
        };
        assert_same_reading(&doc(&events, ""), "edge cases");
        assert_same_reading(
            &doc(&events, "<ignoreFields><epcList/></ignoreFields>"),
            "an ignored list",
        );
        let spilled = read_spilling(&doc(&events, "")).unwrap();
        assert_eq!(spilled[0].epc_list.len(), 300 + 4);
        assert_eq!(spilled[0].epc_list[300], "");
        assert_eq!(
            spilled[2].epc_list.len(),
            300,
            "only the first list is the event's"
        );
        assert_eq!(
            spilled[3].output_epc_list,
            [
                "urn:epc:id:sgtin:0614141.107346.8",
                "urn:epc:id:sgtin:0614141.107346.2"
            ]
        );
        // A sink that needs no hash ID gets none, and the same lists.
        let mut sink = Streaming {
            skip_hash: true,
            ..Streaming::default()
        };
        read_xml_document(doc(&events, "").as_bytes(), &mut sink).unwrap();
        assert!(sink.events.iter().all(|e| e.hash_id.is_empty()));
        assert_eq!(sink.events[0].epc_list, spilled[0].epc_list);
    }

    #[test]
    fn streamed_lists_hash_as_the_reference_vectors_do() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../shared/vectors/epcis-event-hash-generator");
        let mut read_files = 0;
        for sub in ["examples", "expected_equal"] {
            let Ok(entries) = std::fs::read_dir(dir.join(sub)) else {
                eprintln!("notice: {} is absent; not checked", dir.display());
                return;
            };
            for entry in entries {
                let path = entry.unwrap().path();
                if path.extension().and_then(|e| e.to_str()) != Some("xml") {
                    continue;
                }
                let xml = std::fs::read_to_string(&path).unwrap();
                assert_same_reading(&xml, &path.display().to_string());
                read_files += 1;
            }
        }
        assert!(read_files >= 20, "{read_files} documents");
    }

    #[test]
    fn an_event_too_big_to_hold_is_refused_but_its_lists_are_not() {
        let values = "<bizTransaction>x</bizTransaction>".repeat(MAX_EVENT_TREE_BYTES / 100);
        let doc = format!(
            "<e:EPCISDocument xmlns:e=\"urn:epcglobal:epcis:xsd:1\"><EPCISBody><EventList><ObjectEvent>\
             <eventTime>2024-01-01T00:00:00Z</eventTime><bizTransactionList>{values}</bizTransactionList>\
             </ObjectEvent></EventList></EPCISBody></e:EPCISDocument>"
        );
        let err = read(&doc).unwrap_err();
        assert!(err.contains("other than its EPC lists"), "{err}");
        let epcs =
            "<epc>urn:epc:id:sgtin:0614141.107346.1</epc>".repeat(MAX_EVENT_TREE_BYTES / 100);
        let doc = doc.replace(
            &format!("<bizTransactionList>{values}</bizTransactionList>"),
            &format!("<epcList>{epcs}</epcList>"),
        );
        let events = read_spilling(&doc).unwrap();
        assert_eq!(events[0].epc_list.len(), MAX_EVENT_TREE_BYTES / 100);
    }
}
