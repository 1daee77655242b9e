//! The command line, driven as a user drives it: the real binary, real store files.
//!
//! One test binary for the group (each binary links the whole crate; fewer links, faster CI).

#[path = "../cli_support/mod.rs"]
mod cli_support;

mod cli_config;
mod cli_import;
mod cli_inventory;
mod cli_listen;
mod cli_pin;
mod cli_setup;
mod cli_store;
