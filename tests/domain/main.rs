//! The pure core against the standards and peer projects' vectors: GS1 syntax, EPCIS reading,
//! hashing and writing; and the layers the code is built in.
//!
//! One test binary for the group (each binary links the whole crate; fewer links, faster CI).

#[path = "../cli_support/mod.rs"]
mod cli_support;

mod architecture;
mod epcis_hash_vectors;
mod epcis_read;
mod epcis_xml_out;
mod gs1_limits;
mod gs1_linters;
mod gs1_robustness;
mod gs1_vectors;
