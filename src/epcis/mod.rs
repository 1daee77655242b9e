//! EPCIS 2.0: the events TraceDesk records and the supplier events it imports.
//!
//! - [`hash`]: the CBV 2.0 event hash ID, TraceDesk's `eventID` and the key for recognising an
//!   event seen before, for JSON-LD and XML events alike.
//! - [`event`]: builds TraceDesk's own ObjectEvents (receipt, failed verification, hold, release,
//!   dispense, decommission, destroy, returns) as EPCIS 2.0 JSON-LD and wraps them in documents.
//! - [`read`]: streams supplier EPCIS 2.0 JSON-LD documents event by event, in constant memory.
//! - [`epc`]: EPC URNs and GS1 Digital Link URIs as typed identifiers.
//! - [`vocab`]: the CBV words and their URIs.
//!
//! Pure core: values in, values out. Nothing here touches files, the network, the database or the
//! clock; readers take any `std::io::Read`, and event times are passed in.

pub mod epc;
pub mod event;
pub mod hash;
pub mod read;
pub mod vocab;

pub use epc::{Epc, EpcError, parse_epc};
pub use hash::{Context, HashError, event_hash_id, prehash};
