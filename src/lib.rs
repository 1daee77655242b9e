//! # TraceDesk
//!
//! A pharmacy receiving-desk kiosk. A clerk scans every saleable unit's GS1 DataMatrix; TraceDesk
//! answers locally and offline whether the unit is genuine and expected, records an EPCIS 2.0 event
//! for every receipt or failure, and syncs those events upstream when the network is back.
//!
//! ## Layers
//!
//! Data flows one way: **scan -> parse -> verify -> record -> sync**.
//!
//! - Pure core (values in, values out; no I/O, no clock, no threads):
//!   [`gs1`] (turning scanner bytes into validated identifiers), [`verify`] (verdict rules),
//!   [`epcis`] (EPCIS 2.0 events and their CBV 2.0 hash IDs), [`exceptions`] (DSCSA
//!   receiving exceptions and the PDG messages about them).
//! - The rules every HTTP client follows: [`net`] (a service's URL, the one origin credentials
//!   may go to, secrets that never print, bounded reads).
//! - Adapters around the core, each owning one kind of I/O:
//!   [`store`] (SQLite; the only module that names it), [`scanner`] (serial and keyboard-wedge
//!   scanners), [`camera`] (DataMatrix decoding from images and webcams), [`sync`] (the EPCIS
//!   capture client), [`inbox`] (partner documents dropped in a folder), [`router`] (asking
//!   manufacturers through a verification router).
//! - Use cases that join adapters, written once for both edges: [`desk`].
//! - Edges: [`ui`] (the egui kiosk) and [`cli`] (the command line).
//!
//! No module imports one that imports it back; `tests/domain/architecture.rs` checks these
//! layers from the source.
//!
//! Nothing in the core imports egui, rusqlite, serialport or reqwest.

// What a user, a partner or a device feeds the program must fail with a message, never a
// panic: outside tests, no `unwrap`, no `expect`, no index or slice that is not checked.
#![cfg_attr(
    not(test),
    warn(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)
)]

pub mod camera;
pub mod cli;
pub mod desk;
pub mod epcis;
pub mod exceptions;
pub mod gs1;
pub mod inbox;
pub mod net;
pub mod router;
pub mod scanner;
pub mod store;
pub mod sync;
pub mod ui;
pub mod verify;
