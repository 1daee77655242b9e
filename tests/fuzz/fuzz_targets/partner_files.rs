//! Fuzz the text files partners send besides EPCIS: recall notices (CSV) and PDG exception
//! responses (JSON). Each must be read line by line or refused with a message, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tracedesk::exceptions::pdg::parse_response;
use tracedesk::store::RecallReader;

fuzz_target!(|data: &[u8]| {
    if let Ok(notice) = RecallReader::new(data, "fuzz.csv") {
        for line in notice {
            if line.is_err() {
                break;
            }
        }
    }
    let _ = parse_response(data);
});
