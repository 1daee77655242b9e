//! Reading supplier EPCIS documents: one reader per syntax, one model.
//!
//! [`read_document`] recognises the syntax by content (XML for EPCIS 1.2 and 2.0, handed to
//! [`crate::epcis::xml_read`]; JSON for EPCIS 2.0 JSON-LD, handed to
//! [`crate::epcis::jsonld_read`]) and delivers the same
//! [`DocumentHeader`](crate::epcis::document::DocumentHeader) and
//! [`SupplierEvent`]s (the model, in [`crate::epcis::supplier`], re-exported here) to a
//! [`DocumentSink`] whichever it was.
//!
//! Suppliers send shipping, commissioning and aggregation events (announcing units with lot and
//! expiry) and status events (recalled, stolen, destroyed...). CBV words are normalised to bare
//! words however they are spelt; identifiers are passed on as written (use
//! [`crate::epcis::parse_epc`]). Errors name the event by its position in the list.
//!
//! A JSON-LD event is held whole while it is read (up to [`MAX_JSON_EVENT_BYTES`]); an XML event
//! keeps its EPC lists in scratch storage ([`read_document_with`]), and a sink may read them
//! one EPC at a time ([`DocumentSink::streams_lists`], [`EventLists`]).
//!
//! Reads only from the `std::io::Read` it is given and writes only to the scratch files it is
//! given; never opens files itself.

use std::io::{BufRead, BufReader, Read};

use super::spill::{MemoryScratch, Scratch};

pub use super::jsonld_read::{MAX_JSON_EVENT_BYTES, read_jsonld_document, read_jsonld_events};
pub use super::supplier::*;

/// Reads any supported EPCIS document, recognising its syntax from its first bytes. Big EPC
/// lists are held in memory; [`read_document_with`] puts them in scratch files instead.
pub fn read_document<R: Read, S: DocumentSink>(
    reader: R,
    sink: &mut S,
) -> Result<ReadSummary, ReadError<S::Error>> {
    read_document_with(reader, sink, &mut MemoryScratch)
}

/// [`read_document`], keeping what an XML event lists beyond a bounded buffer in `scratch`:
/// memory then stays bounded whatever the size of an event.
pub fn read_document_with<R: Read, S: DocumentSink>(
    reader: R,
    sink: &mut S,
    scratch: &mut dyn Scratch,
) -> Result<ReadSummary, ReadError<S::Error>> {
    let mut reader = BufReader::with_capacity(64 * 1024, reader);
    let first = loop {
        let buffer = reader.fill_buf().map_err(ReadError::Io)?;
        let Some(&first) = buffer.first() else {
            return Err(ReadError::NotEpcis("the file is empty".into()));
        };
        // A UTF-8 byte order mark, then blank space, may precede either syntax.
        let skip = if buffer.starts_with(b"\xEF\xBB\xBF") {
            3
        } else if first.is_ascii_whitespace() {
            1
        } else {
            break first;
        };
        reader.consume(skip);
    };
    match first {
        b'<' => super::xml_read::read_xml_document_with(reader, sink, scratch),
        b'{' => read_jsonld_document(reader, sink),
        _ => Err(ReadError::NotEpcis(
            "it is neither XML nor JSON (an EPCIS document starts with '<' or '{')".into(),
        )),
    }
}
