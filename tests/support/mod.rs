//! Shared pieces of the sync tests: the loopback EPCIS server and queued-event fixtures.

pub mod epcis_server;
pub mod fixtures;
