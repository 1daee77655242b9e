//! The camera adapter: DataMatrix symbols from still images and webcam frames.
//!
//! [`decode`] turns a grey image into the symbols on it (every one, deduplicated, with its
//! AIM symbology identifier and GS-separated text, exactly as a hardware scanner would send
//! them), so the rest of the app treats a camera read like any other scan. [`debounce`] decides
//! which reads of a live stream are new. [`capture`] (feature `camera`) runs a V4L2 webcam on
//! its own thread and sends new symbols and device status over a channel. [`synth`] draws
//! realistic test frames for the tests, benchmarks and the demo mode.
//!
//! This module never interprets the symbol's content (that is `gs1`'s job) and never touches
//! the UI: it hands out text and status over plain values and channels.

mod codewords;
pub mod debounce;
#[allow(
    clippy::indexing_slicing,
    reason = "pixel loops over images whose bounds the loop ranges come from"
)]
pub mod decode;
#[allow(
    clippy::indexing_slicing,
    reason = "pixel loops over a blob's bounding box and the sampled grid, bounded by both"
)]
mod finder;
pub mod symbol;
#[allow(
    clippy::indexing_slicing,
    reason = "pixel loops over the frame being drawn, bounded by its own size"
)]
pub mod synth;

#[cfg(feature = "camera")]
pub mod capture;

pub use debounce::Debouncer;
pub use decode::{DecodeError, DecodeOptions, Effort, decode_file, decode_luma};
pub use symbol::{Region, Symbol};
