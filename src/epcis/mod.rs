//! EPCIS 2.0: the events TraceDesk records and the supplier events it imports.
//!
//! - [`hash`]: the CBV 2.0 event hash ID, TraceDesk's `eventID` and the key for recognising an
//!   event seen before, for JSON-LD and XML events alike.
//! - [`event`]: builds TraceDesk's own ObjectEvents (receipt, failed verification, hold, release,
//!   dispense, decommission, destroy, returns) as EPCIS 2.0 JSON-LD and wraps them in documents.
//! - [`read`]: reads supplier EPCIS documents (1.2 XML, 2.0 XML, 2.0 JSON-LD, recognised by
//!   content) event by event, in constant memory, into one model.
//! - [`xml_read`]: the streaming XML reader behind it.
//! - [`spill`]: where an event's EPC lists go beyond a bounded buffer (scratch files the
//!   caller provides), so a million-EPC event costs the memory of a small one.
//! - [`xml_write`]: writes events as one EPCIS 1.2 XML document, streaming, for partners on 1.2.
//! - [`document`]: the document header: SBDH parties, master data, the DSCSA statement.
//! - [`epc`]: EPC URNs and GS1 Digital Link URIs as typed identifiers.
//! - [`vocab`]: the CBV words and their URIs.
//!
//! Pure core: values in, values out. Nothing here touches files, the network, the database or the
//! clock; readers take any `std::io::Read`, and event times are passed in.

pub mod document;
pub mod epc;
pub mod event;
pub mod hash;
pub mod jsonld_read;
pub mod read;
pub mod spill;
pub mod supplier;
pub mod vocab;
pub mod xml_read;
pub mod xml_write;

pub use epc::{Epc, EpcError, parse_epc};
pub use hash::{Context, HashError, event_hash_id, prehash};
