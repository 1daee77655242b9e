//! # What a desk does, written once
//!
//! Use cases that join several adapters (the store, the verification router) so that the
//! command line and the kiosk call the same function. Each takes its store, its clients and
//! the time as arguments: nothing here reads the clock or the settings on its own.
//!
//! - [`online`]: ask the manufacturer about a pack through the verification router, record the
//!   question and its answer, queue it when the router cannot be reached, and ask the queue
//!   again later.
//! - [`connection`]: whether the configured upstream and router answer (the settings' "Test
//!   the connection").
//! - [`export`]: the files a desk hands out (a shipment's reconciliation, the report), one
//!   writer each.
//! - [`scan`]: what a scan names (a pack, or a case or tote label).

pub mod connection;
pub mod export;
pub mod online;
pub mod scan;
