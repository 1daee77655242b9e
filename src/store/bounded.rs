//! Partner text files kept within bounds before any parser buffers them.
//!
//! The `csv` crate holds a whole record in memory, and an input file is whatever a partner, a
//! broken export or a mistyped path makes it: one 300 MB line, or `/dev/zero`'s endless NULs.
//! [`Bounded`] sits between the file and the parser and fails as soon as one record grows past
//! [`MAX_RECORD_BYTES`], or a NUL byte shows the input is not text, naming the line. Memory
//! then stays bounded whatever the file, and the failure comes after at most one record's worth
//! of reading, not after the whole file.
//!
//! With CSV quoting on it follows quotes as the `csv` crate does (a quote opens a field only at
//! the field's start), so a quoted field that runs over several lines counts as one record: a
//! missing closing quote cannot make one record swallow the file either.

use std::io::{self, Read};

/// The longest record (line) an import reads: far above any real product or recall line.
pub const MAX_RECORD_BYTES: usize = 64 * 1024;

/// Why a [`Bounded`] reader stopped. `line` is where the offending record starts (1-based).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InputLimit {
    #[error("line longer than {MAX_RECORD_BYTES} bytes")]
    LineTooLong { line: u64 },
    #[error("a quoted field runs on past {MAX_RECORD_BYTES} bytes (is its closing quote missing?)")]
    QuoteTooLong { line: u64 },
    #[error("not a text file (it holds NUL bytes)")]
    NotText { line: u64 },
}

impl InputLimit {
    /// The line the problem is on.
    pub fn line(&self) -> u64 {
        match self {
            InputLimit::LineTooLong { line }
            | InputLimit::QuoteTooLong { line }
            | InputLimit::NotText { line } => *line,
        }
    }

    /// The limit behind an I/O error a [`Bounded`] reader returned, when that is what it is.
    pub fn from_io(error: &io::Error) -> Option<&InputLimit> {
        error.get_ref()?.downcast_ref()
    }
}

/// How the bytes of a record group into fields, as far as record length is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    /// Quoting off (FDA tab files hold bare quotes): every line ending ends a record.
    Unquotable,
    Start,
    Unquoted,
    Quoted,
    /// A quote inside a quoted field: the closing one, or the first half of `""`.
    QuoteInQuoted,
}

/// A reader that fails once a record exceeds [`MAX_RECORD_BYTES`] or a NUL byte appears.
#[derive(Debug)]
pub struct Bounded<R> {
    inner: R,
    delimiter: u8,
    field: Field,
    /// The current physical line (1-based).
    line: u64,
    /// Where the current record started.
    record_line: u64,
    record_len: usize,
    /// Once failed, always failed: a parser retrying must not read past the limit.
    failed: Option<InputLimit>,
}

impl<R: Read> Bounded<R> {
    /// `quoting`: whether `"` quotes fields as in CSV; `delimiter` matters only then.
    pub fn new(inner: R, delimiter: u8, quoting: bool) -> Bounded<R> {
        Bounded {
            inner,
            delimiter,
            field: if quoting {
                Field::Start
            } else {
                Field::Unquotable
            },
            line: 1,
            record_line: 1,
            record_len: 0,
            failed: None,
        }
    }

    fn step(&mut self, b: u8) -> Result<(), InputLimit> {
        if b == 0 {
            return Err(InputLimit::NotText { line: self.line });
        }
        let quoted = self.field == Field::Quoted;
        let line_end = matches!(b, b'\n' | b'\r');
        if b == b'\n' {
            self.line += 1;
        }
        self.field = match (self.field, b) {
            (Field::Unquotable, _) => Field::Unquotable,
            (Field::Quoted, b'"') => Field::QuoteInQuoted,
            (Field::Quoted, _) => Field::Quoted,
            (Field::QuoteInQuoted, b'"') | (Field::Start, b'"') => Field::Quoted,
            _ if b == self.delimiter || line_end => Field::Start,
            _ => Field::Unquoted,
        };
        if line_end && !quoted {
            self.record_len = 0;
            self.record_line = self.line;
            return Ok(());
        }
        self.record_len += 1;
        if self.record_len > MAX_RECORD_BYTES {
            let line = self.record_line;
            return Err(if self.line > line {
                InputLimit::QuoteTooLong { line }
            } else {
                InputLimit::LineTooLong { line }
            });
        }
        Ok(())
    }
}

impl<R: Read> Read for Bounded<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if let Some(limit) = &self.failed {
            return Err(io::Error::new(io::ErrorKind::InvalidData, limit.clone()));
        }
        let n = self.inner.read(buf)?;
        for &b in buf.get(..n).unwrap_or_default() {
            if let Err(limit) = self.step(b) {
                self.failed = Some(limit.clone());
                return Err(io::Error::new(io::ErrorKind::InvalidData, limit));
            }
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all(input: &[u8], quoting: bool) -> Result<usize, InputLimit> {
        let mut out = Vec::new();
        Bounded::new(input, b',', quoting)
            .read_to_end(&mut out)
            .map_err(|e| InputLimit::from_io(&e).cloned().expect("a limit error"))
    }

    fn long(n: usize) -> Vec<u8> {
        vec![b'x'; n]
    }

    #[test]
    fn records_up_to_the_limit_pass_and_one_byte_more_fails_naming_its_line() {
        let mut ok = b"a,b\n".to_vec();
        ok.extend(long(MAX_RECORD_BYTES));
        ok.extend(b"\r\n");
        ok.extend(long(MAX_RECORD_BYTES));
        assert_eq!(read_all(&ok, true), Ok(ok.len()));
        let mut too_long = b"a,b\nc,d\n".to_vec();
        too_long.extend(long(MAX_RECORD_BYTES + 1));
        assert_eq!(
            read_all(&too_long, true),
            Err(InputLimit::LineTooLong { line: 3 })
        );
        assert_eq!(
            read_all(&too_long, false),
            Err(InputLimit::LineTooLong { line: 3 })
        );
    }

    #[test]
    fn a_quoted_field_over_many_lines_is_one_record() {
        let mut input = b"a,b\n1,\"".to_vec();
        for _ in 0..MAX_RECORD_BYTES / 4 {
            input.extend(b"xx\r\n");
        }
        input.extend(b"\"\n");
        assert_eq!(
            read_all(&input, true),
            Err(InputLimit::QuoteTooLong { line: 2 })
        );
        // Without quoting, the same bytes are many short lines.
        assert_eq!(read_all(&input, false), Ok(input.len()));
    }

    #[test]
    fn quotes_count_only_where_csv_sees_them() {
        // A bare quote inside a field (FDA: 12" TUBE) and an escaped quote open nothing: the
        // long tail after them is many short lines, not one open quoted field.
        let mut input = b"a,b\n12\" TUBE,\"say \"\"hi\"\"\"\n".to_vec();
        for _ in 0..MAX_RECORD_BYTES {
            input.extend(b"x,y\n");
        }
        assert_eq!(read_all(&input, true), Ok(input.len()));
    }

    #[test]
    fn a_nul_byte_is_not_text() {
        assert_eq!(
            read_all(b"gtin,lot\nab\0c\n", true),
            Err(InputLimit::NotText { line: 2 })
        );
    }

    #[test]
    fn an_endless_input_fails_after_one_record() {
        let mut reader = Bounded::new(io::repeat(b'7'), b',', true);
        let mut sink = Vec::new();
        let err = reader.read_to_end(&mut sink).unwrap_err();
        assert_eq!(
            InputLimit::from_io(&err),
            Some(&InputLimit::LineTooLong { line: 1 })
        );
        // What was read before the failure is about one record, whatever the input's size.
        assert!(sink.len() <= 2 * MAX_RECORD_BYTES, "{}", sink.len());
        // And it stays failed.
        assert!(reader.read(&mut [0; 16]).is_err());
    }
}
