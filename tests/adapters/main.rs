//! The adapters around the core, on real parts: SQLite files, partner documents, HTTP over
//! loopback, pseudo-terminal scanners.
//!
//! One test binary for the group (each binary links the whole crate; fewer links, faster CI).

#[path = "../cli_support/mod.rs"]
mod cli_support;
#[path = "../support/mod.rs"]
mod support;

mod exceptions;
mod online_verification;
mod partner_documents;
mod partner_robustness;
mod scanner_profiles;
mod scanner_serial;
mod store_actions;
mod store_backup;
mod store_cache;
mod sync_capture;
mod sync_cli;
mod sync_pull;
