//! Barcode scanner inputs: handheld 2D scanners in USB-CDC (serial) mode and the same scanners in
//! keyboard-wedge (HID) mode.
//!
//! Whatever the wire, every input must yield the same clean [`Scan`]: the raw bytes of one pack's
//! symbol, the AIM symbology identifier (`]d2`, `]C1`, `]Q3`...) kept when the scanner sends it,
//! and every FNC1 separator as GS (0x1D). Nothing may be dropped, nothing merged: one pack is one
//! scan. The GS1 parser ([`crate::gs1`]) consumes those bytes; this module never interprets GS1.
//!
//! - [`profile`]: scanner families as validated data (USB IDs, suffix, GS substitute, timings,
//!   the programming barcodes a clerk must scan), built in and user supplied.
//! - [`framing`]: splits a serial byte stream into scans (suffix, quiet line, over-long lines,
//!   noise), generic over [`std::io::Read`] so it is tested without hardware.
//! - [`serial`]: the USB-CDC worker thread: opens a port by path or by USB VID/PID, reconnects
//!   when the scanner is unplugged and plugged back, and reports [`ScannerEvent`]s on a channel.
//! - [`wedge`]: a pure assembler that tells a keyboard-wedge scanner's key burst from a person
//!   typing and turns it into a scan, warning about Caps Lock and keyboard-layout damage.
//! - [`probe`]: the scanner test at setup: one known code scanned tells the suffix, AIM prefix
//!   and GS substitute the scanner really sends, and the damage a layout or Caps Lock does.
//!
//! This module must never guess data: when input is damaged it reports it (a warning, a garbage
//! event) instead of passing on bytes that might verify as the wrong pack.

pub mod framing;
pub mod key;
pub mod normalise;
pub mod probe;
pub mod profile;
pub mod serial;
pub mod wedge;

use std::time::SystemTime;

/// One decoded symbol as the scanner sent it, suffix removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scan {
    /// The symbol's bytes: AIM prefix kept when sent, FNC1 as GS (0x1D).
    pub bytes: Vec<u8>,
    /// Wall-clock time the scan's last byte arrived (for receipts and event times).
    pub received_at: SystemTime,
}

/// What a scanner worker reports to the app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScannerEvent {
    /// The scanner's port is open and scans can flow.
    Connected {
        /// The device path that was opened, e.g. `/dev/ttyACM0`.
        port: String,
        /// The name of the profile in use.
        profile: String,
    },
    /// The port went away (unplugged, hung up, read error). The worker keeps trying to reopen it.
    Disconnected {
        /// What happened, in the clerk's terms.
        reason: String,
    },
    /// One complete scan.
    Scan(Scan),
    /// Something the clerk or installer should know about: noise on the line, an over-long
    /// line, a port that cannot be opened (with what to do about it).
    Warning(String),
}
