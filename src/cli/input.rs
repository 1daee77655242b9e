//! Scan input for the command line: one raw scan per argument, or one per line on stdin.
//!
//! Lines are raw bytes (GS is 0x1D; invalid UTF-8 is passed on for the parser to reject), a
//! trailing CR belongs to the line ending, and blank lines are inputs too, so output line N
//! always answers input line N. A line longer than any scan is kept only up to just past
//! [`MAX_SCAN_BYTES`] (the parser then rejects it as too long) and the rest is skipped unread
//! into memory.

use crate::gs1::MAX_SCAN_BYTES;
use std::io::{self, BufRead};

/// Where scans come from.
pub enum ScanInput {
    Args(std::vec::IntoIter<Vec<u8>>),
    Lines(Box<dyn BufRead>),
    /// Scans handed over by a device worker (the serial scanner of `listen`).
    Channel(std::sync::mpsc::Receiver<Vec<u8>>),
}

impl ScanInput {
    /// Scans from arguments when any were given, else from stdin.
    pub fn from_args_or_stdin(args: Vec<std::ffi::OsString>) -> ScanInput {
        if args.is_empty() {
            ScanInput::Lines(Box::new(io::BufReader::new(io::stdin())))
        } else {
            ScanInput::Args(
                args.into_iter()
                    .map(|a| a.into_encoded_bytes())
                    .collect::<Vec<_>>()
                    .into_iter(),
            )
        }
    }

    /// Scans from any reader, one per line.
    pub fn from_reader(reader: impl BufRead + 'static) -> ScanInput {
        ScanInput::Lines(Box::new(reader))
    }
}

impl Iterator for ScanInput {
    type Item = io::Result<Vec<u8>>;

    fn next(&mut self) -> Option<Self::Item> {
        match self {
            ScanInput::Args(args) => args.next().map(Ok),
            ScanInput::Channel(rx) => rx.recv().ok().map(Ok),
            ScanInput::Lines(reader) => read_scan_line(reader.as_mut()).transpose(),
        }
    }
}

/// Reads one line without its line ending; `None` at the end of input.
///
/// At most [`MAX_SCAN_BYTES`] + 1 bytes of a line are kept: a longer line is passed on cut to
/// that length, which the parser answers with `too_long`, and the rest of it is skipped as it
/// is read, never buffered, so memory stays bounded and the next line is still the next scan.
fn read_scan_line(reader: &mut dyn BufRead) -> io::Result<Option<Vec<u8>>> {
    // One byte past the cap is enough for the parser to reject the line; one more keeps a CR
    // that may yet turn out to be part of the line ending.
    const KEEP: usize = MAX_SCAN_BYTES + 2;
    let mut line = Vec::new();
    let mut cut = false;
    let mut read_any = false;
    let mut ended = false;
    while !ended {
        let available = match reader.fill_buf() {
            Ok(available) => available,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if available.is_empty() {
            break;
        }
        read_any = true;
        let newline = available.iter().position(|&b| b == b'\n');
        let content = available
            .get(..newline.unwrap_or(available.len()))
            .unwrap_or_default();
        let room = KEEP.saturating_sub(line.len());
        line.extend_from_slice(content.get(..room.min(content.len())).unwrap_or_default());
        cut |= content.len() > room;
        let used = newline.map_or(available.len(), |at| at + 1);
        ended = newline.is_some();
        reader.consume(used);
    }
    if !read_any {
        return Ok(None);
    }
    if cut {
        line.truncate(MAX_SCAN_BYTES + 1);
    } else if ended && line.last() == Some(&b'\r') {
        line.pop();
    }
    Ok(Some(line))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn lines_keep_blanks_and_drop_line_endings() {
        let input = ScanInput::from_reader(io::Cursor::new(b"a\r\n\nb\x1dc\n\xff\nlast".to_vec()));
        let lines: Vec<Vec<u8>> = input.map(|l| l.unwrap()).collect();
        assert_eq!(
            lines,
            vec![
                b"a".to_vec(),
                b"".to_vec(),
                b"b\x1dc".to_vec(),
                b"\xff".to_vec(),
                b"last".to_vec()
            ]
        );
    }

    fn lines_of(reader: impl io::Read + 'static) -> Vec<Vec<u8>> {
        ScanInput::from_reader(io::BufReader::new(reader))
            .map(|l| l.unwrap())
            .collect()
    }

    #[test]
    fn an_overlong_line_is_cut_past_the_cap_and_the_next_line_follows() {
        let huge = io::repeat(b'7').take(10 * 1024 * 1024);
        let lines = lines_of(huge.chain(&b"\r\nnext\r\n"[..]));
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0], vec![b'7'; MAX_SCAN_BYTES + 1]);
        assert_eq!(lines[1], b"next");
        // The same without a line ending at all.
        let lines = lines_of(io::repeat(b'7').take(10 * 1024 * 1024));
        assert_eq!(lines, vec![vec![b'7'; MAX_SCAN_BYTES + 1]]);
    }

    #[test]
    fn a_line_of_exactly_the_cap_is_kept_whole_whatever_its_line_ending() {
        let line = vec![b'7'; MAX_SCAN_BYTES];
        for ending in [&b"\n"[..], b"\r\n"] {
            let input = [&line[..], ending, b"next\n"].concat();
            assert_eq!(
                lines_of(io::Cursor::new(input)),
                vec![line.clone(), b"next".to_vec()],
                "{ending:?}"
            );
        }
        assert_eq!(lines_of(io::Cursor::new(line.clone())), vec![line]);
        // One byte more, then CR LF: the CR is still the line ending, the line is over the cap.
        let mut input = vec![b'7'; MAX_SCAN_BYTES + 1];
        input.extend_from_slice(b"\r\n");
        assert_eq!(
            lines_of(io::Cursor::new(input)),
            vec![vec![b'7'; MAX_SCAN_BYTES + 1]]
        );
    }
}
