//! What a partner's EPCIS document says, whichever syntax carried it: the document's
//! [`SupplierEvent`]s with their EPC lists ([`EventLists`], read from memory or from scratch
//! storage), the [`DocumentSink`] every reader delivers them to, and the [`ReadError`]s they
//! refuse a document with.
//!
//! The readers ([`crate::epcis::xml_read`], [`crate::epcis::jsonld_read`]) depend on this
//! module and never on each other; [`crate::epcis::read`] picks one by content.

use chrono::{DateTime, FixedOffset, NaiveDate};

use super::document::{DocumentFormat, DocumentHeader};
use super::spill::{LogReader, SpillLog};

/// The five EPCIS 2.0 event types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum EventType {
    Object,
    Aggregation,
    Transaction,
    Transformation,
    Association,
}

impl EventType {
    pub(crate) fn parse(s: &str) -> Option<Self> {
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Action {
    Add,
    Observe,
    Delete,
}

/// A typed business transaction, source or destination reference.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TypedReference {
    /// The type as a bare CBV word (`po`, `desadv`, `owning_party`...), or the URI as written
    /// for a non-CBV type; `None` when absent.
    pub kind: Option<String>,
    pub id: String,
}

/// One `quantityElement`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
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
    /// The event's own `eventID`, when the sender gave one.
    pub event_id: Option<String>,
    /// GS1 US `dropShipment` on a shipping event.
    pub drop_shipment: Option<bool>,
    /// The CBV 2.0 hash ID of the event, computed with the document's context.
    pub hash_id: String,
}

/// The four EPC lists of an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ListKind {
    /// `epcList`
    Epc,
    /// `childEPCs`
    Child,
    /// `inputEPCList`
    Input,
    /// `outputEPCList`
    Output,
}

impl ListKind {
    pub const ALL: [ListKind; 4] = [
        ListKind::Epc,
        ListKind::Child,
        ListKind::Input,
        ListKind::Output,
    ];

    /// The list's element (and JSON-LD key) name.
    pub fn element(self) -> &'static str {
        match self {
            ListKind::Epc => "epcList",
            ListKind::Child => "childEPCs",
            ListKind::Input => "inputEPCList",
            ListKind::Output => "outputEPCList",
        }
    }

    pub(crate) fn from_element(name: &str) -> Option<ListKind> {
        ListKind::ALL.into_iter().find(|k| k.element() == name)
    }

    pub(crate) fn index(self) -> usize {
        self as usize
    }

    pub(crate) fn set(self, event: &mut SupplierEvent, values: Vec<String>) {
        *self.list_mut(event) = values;
    }

    fn list_mut(self, event: &mut SupplierEvent) -> &mut Vec<String> {
        match self {
            ListKind::Epc => &mut event.epc_list,
            ListKind::Child => &mut event.child_epcs,
            ListKind::Input => &mut event.input_epc_list,
            ListKind::Output => &mut event.output_epc_list,
        }
    }
}

/// The EPC lists of one event, read on demand: from the reader's scratch storage for an event
/// read in streaming form (never held whole, however long), or from memory.
pub struct EventLists<'a> {
    source: ListSource<'a>,
}

enum ListSource<'a> {
    /// Tagged records of [`SpillLog`] (see [`list_tag`]), with how many each list holds.
    Spilled {
        log: &'a mut SpillLog,
        counts: [u64; 4],
    },
    Memory([Vec<String>; 4]),
}

/// The tag of a spilled EPC: its list, and whether the event's field tree also holds it (an
/// `epc` element with attributes or elements of its own).
pub(crate) fn list_tag(kind: ListKind, in_tree: bool) -> u8 {
    (kind as u8) | if in_tree { 0x10 } else { 0 }
}

/// The list and the in-tree flag of a tag made by [`list_tag`].
pub(crate) fn untag(tag: u8) -> Option<(ListKind, bool)> {
    let kind = ListKind::ALL.get(usize::from(tag & 0x0f)).copied()?;
    Some((kind, tag & 0x10 != 0))
}

impl EventLists<'_> {
    /// Moves an event's lists out of it (the JSON-LD reader's events, or any event built in
    /// memory).
    pub fn take_from(event: &mut SupplierEvent) -> EventLists<'static> {
        EventLists {
            source: ListSource::Memory(
                ListKind::ALL.map(|kind| std::mem::take(kind.list_mut(event))),
            ),
        }
    }

    pub(crate) fn spilled(log: &mut SpillLog, counts: [u64; 4]) -> EventLists<'_> {
        EventLists {
            source: ListSource::Spilled { log, counts },
        }
    }

    /// How many EPCs the list holds.
    pub fn len(&self, kind: ListKind) -> u64 {
        match &self.source {
            ListSource::Spilled { counts, .. } => counts.get(kind.index()).copied().unwrap_or(0),
            ListSource::Memory(lists) => lists.get(kind.index()).map_or(0, |l| l.len() as u64),
        }
    }

    pub fn is_empty(&self, kind: ListKind) -> bool {
        self.len(kind) == 0
    }

    /// Reads one list from its start, in document order.
    pub fn cursor(&mut self, kind: ListKind) -> ListCursor<'_> {
        ListCursor {
            inner: match &mut self.source {
                ListSource::Spilled { log, .. } => CursorInner::Spilled {
                    reader: log.reader(),
                    kind,
                },
                ListSource::Memory(lists) => CursorInner::Memory(
                    lists
                        .get(kind.index())
                        .map(|l| l.iter())
                        .unwrap_or_default(),
                ),
            },
        }
    }
}

/// Reads one list of an [`EventLists`]: `while let Some(epc) = cursor.next()? { ... }`.
pub struct ListCursor<'a> {
    inner: CursorInner<'a>,
}

enum CursorInner<'a> {
    Spilled {
        reader: LogReader<'a>,
        kind: ListKind,
    },
    Memory(std::slice::Iter<'a, String>),
}

impl ListCursor<'_> {
    /// The next EPC as written (trimmed), or `None` after the last.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> std::io::Result<Option<&str>> {
        match &mut self.inner {
            CursorInner::Memory(items) => Ok(items.next().map(String::as_str)),
            CursorInner::Spilled { reader, kind } => {
                let kind = *kind;
                match reader.next_matching(|tag| untag(tag).is_some_and(|(k, _)| k == kind))? {
                    None => Ok(None),
                    Some((_, value)) => std::str::from_utf8(value)
                        .map(Some)
                        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e)),
                }
            }
        }
    }
}

/// What a completed read saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadSummary {
    /// `EPCISDocument` or `EPCISQueryDocument` (the document's `type`), if given.
    pub document_type: Option<String>,
    pub events: usize,
    pub format: Option<DocumentFormat>,
}

/// Where a reader delivers what it reads: the header once, before the first event (or at the
/// end of a JSON-LD document whose header follows its body), then each event in order.
pub trait DocumentSink {
    type Error: std::error::Error + 'static;
    fn header(&mut self, header: DocumentHeader) -> Result<(), Self::Error>;
    fn event(&mut self, event: SupplierEvent) -> Result<(), Self::Error>;
    /// Called before the reader starts reading an event (which may take a while for an event
    /// listing many EPCs): a sink holding a lock can let go of it here.
    fn event_starts(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }
    /// Whether the sink takes each event's EPC lists through [`Self::event_with_lists`], read
    /// on demand, rather than in the event's vectors (which hold a whole list in memory).
    fn streams_lists(&self) -> bool {
        false
    }
    /// Whether the event needs its hash ID; when not, `hash_id` stays empty and the XML reader
    /// saves sorting the event's EPCs. Asked once the event is read, before it is delivered
    /// (for a sink that streams lists, with its lists still empty). The JSON-LD reader
    /// computes every hash ID anyway.
    fn wants_hash_id(&mut self, _event: &SupplierEvent) -> bool {
        true
    }
    /// An event whose lists are read through `lists` (its vectors are empty); called instead
    /// of [`Self::event`] when [`Self::streams_lists`] says so.
    fn event_with_lists(
        &mut self,
        event: SupplierEvent,
        lists: &mut EventLists<'_>,
    ) -> Result<(), Self::Error> {
        let _ = lists;
        self.event(event)
    }
}

/// A sink that keeps everything (for tests and small documents).
#[derive(Debug, Default)]
pub struct CollectingSink {
    pub header: Option<DocumentHeader>,
    pub events: Vec<SupplierEvent>,
}

impl DocumentSink for CollectingSink {
    type Error = std::convert::Infallible;
    fn header(&mut self, header: DocumentHeader) -> Result<(), Self::Error> {
        self.header = Some(header);
        Ok(())
    }
    fn event(&mut self, event: SupplierEvent) -> Result<(), Self::Error> {
        self.events.push(event);
        Ok(())
    }
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
    #[error("the XML is not well-formed at line {line}{}: {message}", in_event(*event))]
    Xml {
        line: u64,
        event: Option<usize>,
        message: String,
    },
    #[error("not an EPCIS document: {0}")]
    NotEpcis(String),
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
