//! Splitting a scanner's serial byte stream into scans.
//!
//! A USB-CDC scanner sends each symbol followed by its suffix (CR, LF, CRLF, TAB) or, when
//! configured without one, simply stops sending. [`Deframer`] is the pure state machine (bytes
//! and the time they arrived in, frame events out); [`ScanReader`] drives it from any
//! [`std::io::Read`], so tests feed byte slices and the serial worker feeds a port.
//!
//! Rules, in the order they protect the clerk:
//! - nothing is merged: CR and LF always end a scan (they never occur in GS1 data, and a scanner
//!   set to a different line ending than its profile must not glue two packs together); a
//!   quiet line ends a scan without suffix;
//! - nothing is silently changed: the AIM prefix and GS/RS/EOT are kept byte for byte; a frame
//!   holding other control bytes or invalid UTF-8 (line noise, a wrong baud rate) is reported as
//!   [`FrameEvent::Garbage`], never passed on as a scan;
//! - a runaway line is capped ([`FrameEvent::Overlong`]) and reading resumes at the next
//!   suffix (or quiet gap); the cap never exceeds [`MAX_SCAN_BYTES`], the GS1 parser's own,
//!   so memory stays bounded whatever the device sends;
//! - it never panics, whatever the bytes.

use std::collections::VecDeque;
use std::io::{self, Read};
use std::time::{Duration, Instant};

use super::profile::{Profile, Suffix};
use crate::gs1::MAX_SCAN_BYTES;

/// The default cap on one scan's length: the parser's, as no longer scan could be parsed.
pub const DEFAULT_MAX_SCAN_LEN: usize = MAX_SCAN_BYTES;

const GS: u8 = 0x1D;
const RS: u8 = 0x1E;
const EOT: u8 = 0x04;

/// How to cut a stream into scans.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FramingConfig {
    /// The profile's suffix; its byte ends a scan (CR and LF always do).
    pub suffix: Suffix,
    /// A scan without suffix ends after this much silence.
    pub inter_byte_timeout: Duration,
    /// Longer lines are reported as [`FrameEvent::Overlong`] and dropped. Capped at
    /// [`MAX_SCAN_BYTES`].
    pub max_len: usize,
}

impl FramingConfig {
    /// The framing a profile asks for.
    pub fn from_profile(profile: &Profile) -> Self {
        Self {
            suffix: profile.suffix,
            inter_byte_timeout: profile.inter_byte_timeout,
            max_len: DEFAULT_MAX_SCAN_LEN,
        }
    }
}

/// What the deframer found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FrameEvent {
    /// One scan's bytes, suffix removed.
    Scan(Vec<u8>),
    /// A line longer than the cap was dropped; `dropped` counts its bytes (at least the cap).
    Overlong {
        /// Bytes discarded up to the resynchronising suffix or quiet gap.
        dropped: usize,
    },
    /// A frame of line noise: control bytes other than GS/RS/EOT, or invalid UTF-8.
    Garbage {
        /// The frame as received (capped), for the log.
        bytes: Vec<u8>,
    },
}

/// The pure framing state machine.
#[derive(Debug, Clone)]
pub struct Deframer {
    config: FramingConfig,
    pending: Vec<u8>,
    /// Bytes dropped so far while skipping an over-long line.
    discarding: Option<usize>,
    last_byte_at: Option<Instant>,
    /// The previous byte was CR, so an LF right after it belongs to the same line ending.
    after_cr: bool,
}

impl Deframer {
    /// A deframer with nothing pending.
    pub fn new(config: FramingConfig) -> Self {
        let config = FramingConfig {
            max_len: config.max_len.min(MAX_SCAN_BYTES),
            ..config
        };
        Self {
            config,
            pending: Vec::new(),
            discarding: None,
            last_byte_at: None,
            after_cr: false,
        }
    }

    /// Feeds bytes that arrived at `now`; returns every frame they complete, in order.
    pub fn push(&mut self, bytes: &[u8], now: Instant) -> Vec<FrameEvent> {
        let mut events = Vec::new();
        if bytes.is_empty() {
            return events;
        }
        // A gap before these bytes ends whatever was pending, even if nobody polled in between.
        events.extend(self.poll(now));
        for &byte in bytes {
            let was_after_cr = std::mem::replace(&mut self.after_cr, byte == b'\r');
            if byte == b'\n' && was_after_cr {
                continue;
            }
            if self.is_terminator(byte) {
                events.extend(self.end_frame());
                continue;
            }
            match self.discarding.as_mut() {
                Some(dropped) => *dropped = dropped.saturating_add(1),
                None if self.pending.len() >= self.config.max_len => {
                    self.discarding = Some(self.pending.len() + 1);
                    self.pending.clear();
                }
                None => self.pending.push(byte),
            }
        }
        self.last_byte_at = Some(now);
        events
    }

    /// Ends a pending scan if the line has been quiet for the inter-byte timeout.
    pub fn poll(&mut self, now: Instant) -> Option<FrameEvent> {
        let quiet = self.last_byte_at.is_some_and(|last| {
            now.saturating_duration_since(last) >= self.config.inter_byte_timeout
        });
        if quiet { self.end_frame() } else { None }
    }

    /// The stream ended: whatever is pending is a final frame.
    pub fn finish(&mut self) -> Option<FrameEvent> {
        self.end_frame()
    }

    /// Whether a partial scan is waiting for its end.
    pub fn has_pending(&self) -> bool {
        !self.pending.is_empty() || self.discarding.is_some()
    }

    /// Drops any partial scan (e.g. when the device went away mid-scan); returns its length.
    pub fn discard(&mut self) -> usize {
        let len = self.pending.len() + self.discarding.unwrap_or(0);
        self.pending.clear();
        self.discarding = None;
        self.after_cr = false;
        self.last_byte_at = None;
        len
    }

    fn is_terminator(&self, byte: u8) -> bool {
        byte == b'\r' || byte == b'\n' || self.config.suffix.terminator() == Some(byte)
    }

    fn end_frame(&mut self) -> Option<FrameEvent> {
        self.last_byte_at = None;
        if let Some(dropped) = self.discarding.take() {
            return Some(FrameEvent::Overlong { dropped });
        }
        if self.pending.is_empty() {
            return None;
        }
        let frame = std::mem::take(&mut self.pending);
        Some(if is_clean(&frame) {
            FrameEvent::Scan(frame)
        } else {
            FrameEvent::Garbage { bytes: frame }
        })
    }
}

/// Whether a frame can be a scan: printable text (UTF-8), GS, RS and EOT only.
fn is_clean(frame: &[u8]) -> bool {
    let controls_ok = frame
        .iter()
        .all(|&b| !(b.is_ascii_control()) || matches!(b, GS | RS | EOT));
    controls_ok && std::str::from_utf8(frame).is_ok()
}

/// What one [`ScanReader::pull`] produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pulled {
    /// A frame event.
    Event(FrameEvent),
    /// The read timed out with nothing complete: a chance to check for shutdown.
    Idle,
    /// The stream reached its end (all frames already returned).
    EndOfStream,
}

/// Reads frames from any byte source. Read time-outs (`TimedOut`, `WouldBlock`) count as a
/// quiet line, so a serial port opened with a short timeout ends suffix-less scans on time.
#[derive(Debug)]
pub struct ScanReader<R> {
    reader: R,
    deframer: Deframer,
    queued: VecDeque<FrameEvent>,
    ended: bool,
    buf: Box<[u8]>,
}

impl<R: Read> ScanReader<R> {
    /// Wraps a reader.
    pub fn new(reader: R, config: FramingConfig) -> Self {
        Self {
            reader,
            deframer: Deframer::new(config),
            queued: VecDeque::new(),
            ended: false,
            buf: vec![0; 512].into_boxed_slice(),
        }
    }

    /// Returns the next event, [`Pulled::Idle`] after a read time-out, or the end of stream.
    /// I/O errors other than time-outs and interruptions are returned (the device is gone).
    pub fn pull(&mut self) -> io::Result<Pulled> {
        loop {
            if let Some(event) = self.queued.pop_front() {
                return Ok(Pulled::Event(event));
            }
            if self.ended {
                return Ok(Pulled::EndOfStream);
            }
            match self.reader.read(&mut self.buf) {
                Ok(0) => {
                    self.ended = true;
                    self.queued.extend(self.deframer.finish());
                }
                Ok(n) => {
                    let chunk = self.buf.get(..n).unwrap_or_default();
                    let events = self.deframer.push(chunk, Instant::now());
                    self.queued.extend(events);
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock
                    ) =>
                {
                    return Ok(match self.deframer.poll(Instant::now()) {
                        Some(event) => Pulled::Event(event),
                        None => Pulled::Idle,
                    });
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// The deframer, e.g. to discard a partial scan after a read error.
    pub fn deframer_mut(&mut self) -> &mut Deframer {
        &mut self.deframer
    }

    /// Gives the reader back.
    pub fn into_inner(self) -> R {
        self.reader
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(suffix: Suffix) -> FramingConfig {
        FramingConfig {
            suffix,
            inter_byte_timeout: Duration::from_millis(50),
            max_len: 64,
        }
    }

    fn scans(events: &[FrameEvent]) -> Vec<&[u8]> {
        events
            .iter()
            .filter_map(|e| match e {
                FrameEvent::Scan(b) => Some(b.as_slice()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn splits_on_cr_and_keeps_aim_prefix_and_gs() {
        let mut d = Deframer::new(config(Suffix::Cr));
        let t = Instant::now();
        let events = d.push(b"]d2010950600013435210AB\x1d21X\r]C1001234\r", t);
        assert_eq!(
            scans(&events),
            vec![&b"]d2010950600013435210AB\x1d21X"[..], b"]C1001234"]
        );
    }

    #[test]
    fn crlf_is_one_line_ending_and_empty_lines_vanish() {
        let mut d = Deframer::new(config(Suffix::CrLf));
        let events = d.push(b"AAAA\r\nBBBB\r\n\r\n", Instant::now());
        assert_eq!(scans(&events), vec![&b"AAAA"[..], b"BBBB"]);
        assert_eq!(events.len(), 2);
    }

    #[test]
    fn line_ending_mismatch_never_merges_scans() {
        // Profile says CR, scanner sends LF.
        let mut d = Deframer::new(config(Suffix::Cr));
        let events = d.push(b"AAAA\nBBBB\n", Instant::now());
        assert_eq!(scans(&events), vec![&b"AAAA"[..], b"BBBB"]);
    }

    #[test]
    fn scan_split_across_reads_is_joined() {
        let mut d = Deframer::new(config(Suffix::Cr));
        let t = Instant::now();
        assert!(d.push(b"]d201095", t).is_empty());
        let events = d.push(b"06000134352\r", t + Duration::from_millis(5));
        assert_eq!(scans(&events), vec![&b"]d20109506000134352"[..]]);
    }

    #[test]
    fn quiet_line_ends_a_scan_without_suffix() {
        let mut d = Deframer::new(config(Suffix::None));
        let t = Instant::now();
        assert!(d.push(b"0109506000134352", t).is_empty());
        assert_eq!(d.poll(t + Duration::from_millis(10)), None);
        assert_eq!(
            d.poll(t + Duration::from_millis(60)),
            Some(FrameEvent::Scan(b"0109506000134352".to_vec()))
        );
        // Bytes after a gap start a new scan even without a poll in between.
        d.push(b"AAAA", t + Duration::from_millis(100));
        let events = d.push(b"BBBB", t + Duration::from_millis(200));
        assert_eq!(scans(&events), vec![&b"AAAA"[..]]);
        assert_eq!(d.finish(), Some(FrameEvent::Scan(b"BBBB".to_vec())));
    }

    #[test]
    fn tab_suffix() {
        let mut d = Deframer::new(config(Suffix::Tab));
        let events = d.push(b"AAAA\tBBBB\t", Instant::now());
        assert_eq!(scans(&events), vec![&b"AAAA"[..], b"BBBB"]);
    }

    #[test]
    fn overlong_line_is_reported_and_reading_resynchronises() {
        let mut d = Deframer::new(config(Suffix::Cr));
        let mut input = vec![b'7'; 100];
        input.extend_from_slice(b"\r]d2OK\r");
        let events = d.push(&input, Instant::now());
        assert_eq!(
            events,
            vec![
                FrameEvent::Overlong { dropped: 100 },
                FrameEvent::Scan(b"]d2OK".to_vec())
            ]
        );
    }

    #[test]
    fn exactly_max_len_is_a_scan() {
        let mut d = Deframer::new(config(Suffix::Cr));
        let mut input = vec![b'7'; 64];
        input.push(b'\r');
        assert_eq!(
            d.push(&input, Instant::now()),
            vec![FrameEvent::Scan(vec![b'7'; 64])]
        );
    }

    #[test]
    fn the_default_cap_is_the_parsers_and_memory_stays_bounded() {
        let profile = Profile::from_toml(
            "name = \"t\"\nvendor = \"t\"\nsuffix = \"CR\"\naim_prefix = true\ngs_substitute = \"ctrl+]\"\n",
        )
        .unwrap();
        let mut d = Deframer::new(FramingConfig::from_profile(&profile));
        let t = Instant::now();
        // 10 MB of a runaway line, fed as a serial port delivers it.
        let chunk = vec![b'7'; 64 * 1024];
        for _ in 0..160 {
            assert!(d.push(&chunk, t).is_empty());
            assert!(d.pending.capacity() <= MAX_SCAN_BYTES);
        }
        let events = d.push(b"\r]d2OK\r", t);
        assert_eq!(
            events,
            vec![
                FrameEvent::Overlong {
                    dropped: 160 * 64 * 1024
                },
                FrameEvent::Scan(b"]d2OK".to_vec())
            ]
        );
        let mut exact = vec![b'7'; MAX_SCAN_BYTES];
        exact.push(b'\r');
        assert_eq!(
            d.push(&exact, t),
            vec![FrameEvent::Scan(vec![b'7'; MAX_SCAN_BYTES])]
        );
    }

    #[test]
    fn no_configuration_lifts_the_cap() {
        let mut d = Deframer::new(FramingConfig {
            max_len: usize::MAX,
            ..config(Suffix::Cr)
        });
        let mut input = vec![b'7'; MAX_SCAN_BYTES + 1];
        input.push(b'\r');
        assert_eq!(
            d.push(&input, Instant::now()),
            vec![FrameEvent::Overlong {
                dropped: MAX_SCAN_BYTES + 1
            }]
        );
    }

    #[test]
    fn noise_is_garbage_not_a_scan() {
        let mut d = Deframer::new(config(Suffix::Cr));
        let events = d.push(b"\x00\xff\x13\x80\r]d2OK\r\xc3\x28\r", Instant::now());
        assert_eq!(
            events,
            vec![
                FrameEvent::Garbage {
                    bytes: b"\x00\xff\x13\x80".to_vec()
                },
                FrameEvent::Scan(b"]d2OK".to_vec()),
                FrameEvent::Garbage {
                    bytes: b"\xc3\x28".to_vec()
                },
            ]
        );
    }

    #[test]
    fn iso15434_envelope_controls_are_kept() {
        let mut d = Deframer::new(config(Suffix::Cr));
        let envelope = b"[)>\x1e06\x1d01095060001343521\x1e\x04";
        let mut input = envelope.to_vec();
        input.push(b'\r');
        assert_eq!(
            d.push(&input, Instant::now()),
            vec![FrameEvent::Scan(envelope.to_vec())]
        );
    }

    #[test]
    fn utf8_plain_data_is_a_scan() {
        let mut d = Deframer::new(config(Suffix::Cr));
        assert_eq!(
            d.push("Grüße\r".as_bytes(), Instant::now()),
            vec![FrameEvent::Scan("Grüße".into())]
        );
    }

    #[test]
    fn arbitrary_bytes_never_panic() {
        let mut d = Deframer::new(config(Suffix::CrLf));
        let t = Instant::now();
        let mut seed: u32 = 12345;
        for i in 0..2000u32 {
            let chunk: Vec<u8> = (0..(i % 37))
                .map(|_| {
                    seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
                    (seed >> 16) as u8
                })
                .collect();
            for event in d.push(&chunk, t + Duration::from_millis(u64::from(i))) {
                if let FrameEvent::Scan(bytes) = event {
                    assert!(
                        bytes.len() <= 64 && !bytes.contains(&b'\r') && !bytes.contains(&b'\n')
                    );
                }
            }
        }
    }

    /// A reader that hands out scripted chunks and time-outs.
    struct Script(VecDeque<Option<&'static [u8]>>);

    impl Read for Script {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            match self.0.pop_front() {
                None => Ok(0),
                Some(None) => Err(io::Error::new(io::ErrorKind::TimedOut, "quiet")),
                Some(Some(chunk)) => {
                    let n = chunk.len().min(buf.len());
                    buf[..n].copy_from_slice(&chunk[..n]);
                    Ok(n)
                }
            }
        }
    }

    #[test]
    fn scan_reader_uses_timeouts_and_eof() {
        let script = Script(VecDeque::from([
            Some(&b"]d2AAAA"[..]),
            None,
            Some(b"BBBB\rCCCC"),
        ]));
        let cfg = FramingConfig {
            inter_byte_timeout: Duration::ZERO,
            ..config(Suffix::Cr)
        };
        let mut reader = ScanReader::new(script, cfg);
        let mut got = Vec::new();
        loop {
            match reader.pull().unwrap() {
                Pulled::Event(e) => got.push(e),
                Pulled::Idle => {}
                Pulled::EndOfStream => break,
            }
        }
        assert_eq!(
            got,
            vec![
                FrameEvent::Scan(b"]d2AAAA".to_vec()),
                FrameEvent::Scan(b"BBBB".to_vec()),
                FrameEvent::Scan(b"CCCC".to_vec()),
            ]
        );
    }

    #[test]
    fn scan_reader_reports_device_errors() {
        struct Broken;
        impl Read for Broken {
            fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
                Err(io::Error::new(io::ErrorKind::BrokenPipe, "hung up"))
            }
        }
        let mut reader = ScanReader::new(Broken, config(Suffix::Cr));
        assert_eq!(reader.pull().unwrap_err().kind(), io::ErrorKind::BrokenPipe);
    }
}
