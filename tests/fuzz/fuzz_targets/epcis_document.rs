//! Fuzz the partner document readers: any bytes a trading partner (or an attacker posing as
//! one) sends must be read or refused with an error, never a panic, whichever syntax the first
//! bytes suggest (EPCIS 1.2 or 2.0 XML, 2.0 JSON-LD). Scratch storage is in memory here.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tracedesk::epcis::read::{CollectingSink, read_document};

fuzz_target!(|data: &[u8]| {
    let mut sink = CollectingSink::default();
    if read_document(data, &mut sink).is_ok() {
        // A document read whole names each event it delivered once.
        assert!(sink.events.len() <= data.len());
    }
});
