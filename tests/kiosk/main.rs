//! The egui kiosk, driven through egui_kittest on a real store.
//!
//! One test binary for the group (each binary links the whole crate; fewer links, faster CI).

#[path = "../ui_support/mod.rs"]
mod ui_support;

mod ui_backup;
mod ui_exceptions;
mod ui_inventory;
mod ui_kiosk;
mod ui_refusal;
mod ui_reports;
mod ui_setup;
mod ui_trace;
