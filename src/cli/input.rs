//! Scan input for the command line: one raw scan per argument, or one per line on stdin.
//!
//! Lines are raw bytes (GS is 0x1D; invalid UTF-8 is passed on for the parser to reject), a
//! trailing CR belongs to the line ending, and blank lines are inputs too, so output line N
//! always answers input line N.

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
            ScanInput::Lines(reader) => {
                let mut line = Vec::new();
                match reader.read_until(b'\n', &mut line) {
                    Ok(0) => None,
                    Ok(_) => {
                        if line.last() == Some(&b'\n') {
                            line.pop();
                            if line.last() == Some(&b'\r') {
                                line.pop();
                            }
                        }
                        Some(Ok(line))
                    }
                    Err(e) => Some(Err(e)),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
