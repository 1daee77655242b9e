//! # The GS1 core: from scanner bytes to a validated product identifier
//!
//! Everything TraceDesk does starts from one scan, and this is the part that must never be
//! wrong. It is pure: values in, values out; no I/O, no clock (today's date is passed in), no
//! threads.
//!
//! - [`scan`] finds the form a scan arrived in (AIM symbology identifier, raw element string,
//!   bracketed, GS1 Digital Link, ISO/IEC 15434 envelope) and runs the whole pipeline.
//! - [`element`] splits and checks element strings; [`digital_link`] parses and generates
//!   Digital Link URIs; [`ai`] is the Application Identifier table; [`lint`] the content checks
//!   of each AI component; [`date`] GS1 dates.
//! - [`ident`] holds the identifiers as types valid by construction: [`Gtin`], [`Sscc`],
//!   [`Gln`], [`Ndc`], [`Sgtin`].
//!
//! Keyboard-wedge damage (a GS sent as another key) is repaired before this module sees the
//! bytes, by the scanner adapter using the scanner's profile.
//!
//! Every scan is capped at [`MAX_SCAN_BYTES`] and parsed in time linear in its length: a
//! runaway line or a pasted file gets a `too_long` error, never a stall.
//!
//! It must never guess: when a separator is missing and a field boundary is ambiguous, the scan
//! is rejected with a reason.

pub mod ai;
pub mod date;
pub mod digital_link;
pub mod element;
pub mod error;
pub mod ident;
pub mod lint;
pub mod scan;

pub use element::{Ai, Element, GS, Rules};
pub use error::{ErrorCode, Gs1Error};
pub use ident::{Gln, Gtin, IdentError, Ndc, NdcLayout, Sgtin, Sscc};
pub use scan::{Form, MAX_SCAN_BYTES, ParseContext, ParsedScan, Symbology, parse};
