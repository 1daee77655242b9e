//! Keyboard-wedge scan assembly: a scanner in USB HID keyboard mode "types" each symbol into
//! the focused window; this module turns those key and text events back into scans.
//!
//! [`WedgeAssembler`] is pure: the UI maps its toolkit's events to [`WedgeInput`] and passes
//! the time each arrived; a [`WedgeAssembler::poll`] with the current time ends bursts that
//! went quiet. It never reads a clock and never touches a device.
//!
//! How it decides:
//! - a scanner types a whole symbol in one fast burst (keys ~2-30 ms apart); a person rarely
//!   types faster than ~50 ms a key. A burst of at least `min_scan_length` characters with
//!   gaps no longer than `max_key_interval` is a scan; anything else is passed through as
//!   typed input ([`WedgeOutput::Typed`]), so the clerk can still type into a search field;
//! - the scan ends at the profile's suffix key (Enter or Tab) or when the line has been quiet
//!   for `quiet_timeout`;
//! - a burst longer than any barcode ([`MAX_SCAN_BYTES`], e.g. a pasted file or a stuck key) is
//!   dropped as it arrives and reported as [`WedgeOutput::Overlong`] when it ends, so memory
//!   stays bounded;
//! - the GS separator comes back from whatever the scanner sent: with egui-winit an ASCII
//!   control character never arrives as text, so a GS typed as Ctrl+] reaches the app only as a
//!   key press of `]` with Ctrl held, and Enter only as the Enter key; a scanner programmed to
//!   send GS as F8 arrives as that key; a text substitute is undone by [`normalise`];
//! - typing through a keyboard layout or with Caps Lock damages data silently (a lot `AB12`
//!   arriving as `ab12` would verify as the wrong lot), so tell-tale patterns raise a
//!   [`WedgeWarning`] on the scan for the UI to show instead of verifying silently.
//!
//! Y/Z swaps (German layout) cannot be seen in a single value; they are caught through the
//! other symptoms of the same layout (the AIM `]` or `:`/`/` in a Digital Link arriving as
//! other characters, non-ASCII letters such as `ß` or `ö`).

use std::fmt;
use std::time::{Duration, Instant};

use super::key::WedgeKey;
use super::normalise::{normalise, split_aim_prefix};
use super::profile::{GsSubstitute, Profile, WedgeTiming};
use crate::gs1::MAX_SCAN_BYTES;

/// The most inputs one burst may hold: each character of the longest scan may arrive as a key
/// press and its text.
const MAX_BURST_INPUTS: usize = 2 * MAX_SCAN_BYTES;

/// One keyboard event as the UI saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WedgeInput {
    /// Text the toolkit produced (already through the keyboard layout and Caps Lock).
    Text(String),
    /// A key press.
    Key {
        /// Which key.
        key: WedgeKey,
        /// Ctrl held.
        ctrl: bool,
        /// Shift held.
        shift: bool,
        /// Alt held.
        alt: bool,
    },
}

impl WedgeInput {
    /// A key press without modifiers.
    pub fn key(key: WedgeKey) -> Self {
        Self::Key {
            key,
            ctrl: false,
            shift: false,
            alt: false,
        }
    }

    /// A key press with Ctrl held.
    pub fn ctrl(key: WedgeKey) -> Self {
        Self::Key {
            key,
            ctrl: true,
            shift: false,
            alt: false,
        }
    }

    /// Text.
    pub fn text(text: impl Into<String>) -> Self {
        Self::Text(text.into())
    }
}

/// Why a wedge scan may be damaged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WedgeWarning {
    /// Letters arrived with inverted case.
    CapsLock {
        /// What gave it away.
        evidence: String,
    },
    /// The scanner's keyboard layout differs from the desk's.
    KeyboardLayout {
        /// What gave it away.
        evidence: String,
    },
}

impl fmt::Display for WedgeWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::CapsLock { evidence } => write!(
                f,
                "Caps Lock seems to be on ({evidence}): letters in lots and serials arrive with the \
                 wrong case. Turn Caps Lock off and scan again."
            ),
            Self::KeyboardLayout { evidence } => write!(
                f,
                "The scanner's keyboard layout does not match this desk ({evidence}). Set the \
                 scanner's keyboard country to the desk's layout, or switch it to USB-CDC mode, \
                 then scan again."
            ),
        }
    }
}

/// A scan assembled from a key burst.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WedgeScan {
    /// The scan's bytes, GS restored.
    pub bytes: Vec<u8>,
    /// Signs of damage; a scan with warnings should be shown to the clerk, not verified
    /// silently.
    pub warnings: Vec<WedgeWarning>,
}

/// What the assembler produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WedgeOutput {
    /// A scanner burst.
    Scan(WedgeScan),
    /// A person's input, passed through in order for the focused field.
    Typed(WedgeInput),
    /// A burst longer than any barcode ([`MAX_SCAN_BYTES`]) was dropped: a paste, a stuck key
    /// or a scanner gone wild, not a pack.
    Overlong {
        /// Bytes the burst held, all discarded.
        dropped: usize,
    },
}

/// Assembles keyboard-wedge scans. See the module documentation.
#[derive(Debug, Clone)]
pub struct WedgeAssembler {
    suffix_key: Option<WedgeKey>,
    gs: GsSubstitute,
    timing: WedgeTiming,
    pending: Vec<WedgeInput>,
    pending_chars: usize,
    /// Bytes the pending scan would hold (text and GS).
    pending_bytes: usize,
    /// Bytes dropped so far while the current burst is over-long.
    dropped: Option<usize>,
    last_at: Option<Instant>,
    /// The last letter key and its Shift state, to compare with the text that follows.
    letter_key: Option<(char, bool)>,
    caps_evidence: Option<String>,
}

impl WedgeAssembler {
    /// An assembler for a profile's suffix, GS substitute and timing.
    pub fn new(profile: &Profile) -> Self {
        Self {
            suffix_key: profile.suffix.key(),
            gs: profile.gs_substitute.clone(),
            timing: profile.wedge,
            pending: Vec::new(),
            pending_chars: 0,
            pending_bytes: 0,
            dropped: None,
            last_at: None,
            letter_key: None,
            caps_evidence: None,
        }
    }

    /// Feeds one event that arrived at `at`; returns what it completed.
    pub fn feed(&mut self, input: WedgeInput, at: Instant) -> Vec<WedgeOutput> {
        let mut out = Vec::new();
        if let Some(last) = self.last_at
            && self.has_pending()
        {
            let gap = at.saturating_duration_since(last);
            // A scan in progress survives a short hiccup (USB or compositor latency); anything
            // slower than a scanner ends what was pending.
            let in_scan = self.in_scan();
            if gap > self.timing.max_key_interval && !(in_scan && gap <= self.timing.quiet_timeout)
            {
                out.extend(self.flush());
            }
        }
        self.last_at = Some(at);
        match input {
            WedgeInput::Text(text) => self.feed_text(text, &mut out),
            WedgeInput::Key {
                key,
                ctrl,
                shift,
                alt,
            } => {
                let input = WedgeInput::Key {
                    key,
                    ctrl,
                    shift,
                    alt,
                };
                if Some(key) == self.suffix_key && !ctrl && !alt {
                    self.end_at_suffix(input, &mut out);
                } else if self.is_gs_key(key, ctrl) {
                    self.admit(1, 1, || input);
                } else {
                    match key {
                        WedgeKey::Letter(c) if !ctrl && !alt => {
                            self.letter_key = Some((c, shift));
                            self.admit(0, 0, || input);
                        }
                        WedgeKey::Other | WedgeKey::Letter(_) => self.admit(0, 0, || input),
                        _ => {
                            // Scanners never press these: a person is at the keyboard.
                            out.extend(self.flush());
                            out.push(WedgeOutput::Typed(input));
                            self.last_at = None;
                        }
                    }
                }
            }
        }
        out
    }

    /// Ends a burst that has gone quiet by `now`. Call it regularly (e.g. every UI frame, or at
    /// [`Self::next_deadline`]).
    pub fn poll(&mut self, now: Instant) -> Vec<WedgeOutput> {
        let Some(last) = self.last_at else {
            return Vec::new();
        };
        if !self.has_pending() {
            return Vec::new();
        }
        let gap = now.saturating_duration_since(last);
        let limit = if self.in_scan() {
            self.timing.quiet_timeout
        } else {
            self.timing.max_key_interval
        };
        if gap > limit {
            self.flush()
        } else {
            Vec::new()
        }
    }

    /// When the next [`Self::poll`] could produce something, if anything is pending.
    pub fn next_deadline(&self) -> Option<Instant> {
        let last = self.last_at.filter(|_| self.has_pending())?;
        let wait = if self.in_scan() {
            self.timing.quiet_timeout
        } else {
            self.timing.max_key_interval
        };
        last.checked_add(wait + Duration::from_millis(1))
    }

    /// Whether a burst is under way (possibly one being dropped).
    fn has_pending(&self) -> bool {
        !self.pending.is_empty() || self.dropped.is_some()
    }

    /// Whether the pending burst is long enough to be a scan rather than typing.
    fn in_scan(&self) -> bool {
        self.dropped.is_some() || self.pending_chars >= self.timing.min_scan_length
    }

    /// Adds one input holding `chars` characters in `bytes` bytes to the burst, or drops the
    /// burst once it outgrows any barcode: from then on inputs are only counted, never kept
    /// (`input` is not even built).
    fn admit(&mut self, bytes: usize, chars: usize, input: impl FnOnce() -> WedgeInput) {
        let total = self.pending_bytes.saturating_add(bytes);
        if self.dropped.is_none()
            && total <= MAX_SCAN_BYTES
            && self.pending.len() < MAX_BURST_INPUTS
        {
            self.pending_bytes = total;
            self.pending_chars += chars;
            self.pending.push(input());
        } else {
            let dropped = self.dropped.map_or(total, |d| d.saturating_add(bytes));
            self.reset_burst();
            self.dropped = Some(dropped);
        }
    }

    /// Forgets the pending burst.
    fn reset_burst(&mut self) {
        self.pending.clear();
        self.pending_chars = 0;
        self.pending_bytes = 0;
        self.dropped = None;
        self.caps_evidence = None;
        self.letter_key = None;
    }

    /// Ends a burst that was dropped for its length.
    fn take_overlong(&mut self) -> Option<WedgeOutput> {
        let dropped = self.dropped?;
        self.reset_burst();
        Some(WedgeOutput::Overlong { dropped })
    }

    fn is_gs_key(&self, key: WedgeKey, ctrl: bool) -> bool {
        match &self.gs {
            GsSubstitute::CtrlCloseBracket => key == WedgeKey::CloseBracket && ctrl,
            GsSubstitute::Key(gs_key) => key == *gs_key,
            _ => false,
        }
    }

    fn feed_text(&mut self, text: String, out: &mut Vec<WedgeOutput>) {
        if let Some((letter, shift)) = self.letter_key.take() {
            let mut chars = text.chars();
            if let (Some(c), None) = (chars.next(), chars.next())
                && c.eq_ignore_ascii_case(&letter)
                && c.is_ascii_alphabetic()
                && c.is_ascii_uppercase() != shift
                && self.caps_evidence.is_none()
            {
                let key = if shift { "Shift+" } else { "" };
                self.caps_evidence = Some(format!("key {key}{letter} typed \"{c}\""));
            }
        }
        // Some platforms do deliver line endings, tabs or GS as text: honour them.
        let suffix_key = self.suffix_key;
        let is_suffix = |c: char| match suffix_key {
            Some(WedgeKey::Enter) => c == '\r' || c == '\n',
            Some(WedgeKey::Tab) => c == '\t',
            _ => false,
        };
        // Pieces are copied only when kept, so a huge paste is counted, never duplicated.
        let mut rest = text.as_str();
        while let Some((at, c)) = rest.char_indices().find(|&(_, c)| is_suffix(c)) {
            self.push_text(rest.get(..at).unwrap_or_default());
            let key = suffix_key.unwrap_or(WedgeKey::Enter);
            self.end_at_suffix(WedgeInput::key(key), out);
            rest = rest.get(at + c.len_utf8()..).unwrap_or_default();
        }
        self.push_text(rest);
    }

    fn push_text(&mut self, text: &str) {
        if !text.is_empty() {
            let chars = text.chars().count();
            self.admit(text.len(), chars, || WedgeInput::Text(text.to_owned()));
        }
    }

    fn end_at_suffix(&mut self, suffix: WedgeInput, out: &mut Vec<WedgeOutput>) {
        if let Some(overlong) = self.take_overlong() {
            out.push(overlong);
        } else if self.in_scan() {
            out.push(self.take_scan());
        } else {
            out.extend(self.take_typed());
            out.push(WedgeOutput::Typed(suffix));
        }
        self.last_at = None;
    }

    fn flush(&mut self) -> Vec<WedgeOutput> {
        if let Some(overlong) = self.take_overlong() {
            vec![overlong]
        } else if self.in_scan() {
            vec![self.take_scan()]
        } else {
            self.take_typed()
        }
    }

    fn take_typed(&mut self) -> Vec<WedgeOutput> {
        let typed = std::mem::take(&mut self.pending);
        self.reset_burst();
        typed.into_iter().map(WedgeOutput::Typed).collect()
    }

    fn take_scan(&mut self) -> WedgeOutput {
        let mut raw = Vec::new();
        let pending = std::mem::take(&mut self.pending);
        for input in pending {
            match input {
                WedgeInput::Text(text) => raw.extend_from_slice(text.as_bytes()),
                WedgeInput::Key { key, ctrl, .. } if self.is_gs_key(key, ctrl) => raw.push(0x1D),
                WedgeInput::Key { .. } => {}
            }
        }
        let bytes = normalise(&raw, &self.gs);
        let warnings = damage_warnings(&bytes, self.caps_evidence.take());
        self.reset_burst();
        WedgeOutput::Scan(WedgeScan { bytes, warnings })
    }
}

/// Characters a US-layout `]` becomes on common European layouts (German/Italian/Spanish `+`,
/// French `$`, Swiss `¨`, Nordic `å`, ...).
pub(super) const MANGLED_AIM_FLAG: &[char] = &[
    '+', '$', '¨', '*', 'ü', 'Ü', 'å', 'Å', 'ç', '^', '`', '´', '#', 'ù',
];
/// What the unshifted digit row types on AZERTY.
pub(super) const AZERTY_DIGITS: &str = "&é\"'(-è_çà";

/// Looks for the tell-tale signs of Caps Lock and keyboard-layout damage in a wedge scan.
fn damage_warnings(bytes: &[u8], caps_key_evidence: Option<String>) -> Vec<WedgeWarning> {
    let mut warnings = Vec::new();
    let text = String::from_utf8_lossy(bytes);
    let (prefix, body_bytes) = split_aim_prefix(bytes);
    let body = String::from_utf8_lossy(body_bytes);

    let caps = caps_key_evidence.or_else(|| {
        // `]D2` (Code One) and lowercase `]c`, `]q`, `]l` are not what a pharmacy pack carries;
        // they are `]d2`, `]C1`, `]Q3`, `]L2` with the case flipped.
        match prefix {
            [b']', b'D', m] if m.is_ascii_digit() => Some(format!(
                "AIM prefix \"]D{}\" instead of \"]d{}\"",
                *m as char, *m as char
            )),
            [b']', c @ (b'c' | b'q' | b'l'), m] => Some(format!(
                "AIM prefix \"]{}{}\" instead of \"]{}{}\"",
                *c as char,
                *m as char,
                c.to_ascii_uppercase() as char,
                *m as char
            )),
            _ => None,
        }
        .or_else(|| {
            (body.starts_with("HTTPS://") || body.starts_with("HTTP://"))
                .then(|| "web address arrived as \"HTTPS://\"".to_owned())
        })
    });
    if let Some(evidence) = caps {
        warnings.push(WedgeWarning::CapsLock { evidence });
    }

    let mut chars = text.chars();
    let first_three = (chars.next(), chars.next(), chars.next());
    let layout = match first_three {
        (Some(flag), Some(code), Some(modifier))
            if MANGLED_AIM_FLAG.contains(&flag)
                && "dCQeEL".contains(code)
                && (modifier.is_ascii_digit() || AZERTY_DIGITS.contains(modifier)) =>
        {
            Some(format!(
                "AIM prefix arrived as \"{flag}{code}{modifier}\" instead of \"]{code}…\""
            ))
        }
        _ => None,
    }
    .or_else(|| {
        let lower = body.to_lowercase();
        (lower.starts_with("htt")
            && !lower.starts_with("http://")
            && !lower.starts_with("https://"))
        .then(|| {
            format!(
                "web address arrived as \"{}\"",
                body.chars().take(8).collect::<String>()
            )
        })
    })
    .or_else(|| {
        let mut b = body.chars();
        match (b.next(), b.next(), b.next()) {
            (Some(open @ (')' | '*')), Some(d1), Some(d2))
                if d1.is_ascii_digit() && d2.is_ascii_digit() =>
            {
                Some(format!(
                    "bracketed AI arrived as \"{open}{d1}{d2}…\" instead of \"({d1}{d2}…\""
                ))
            }
            _ => None,
        }
    })
    .or_else(|| {
        text.chars()
            .find(|c| !c.is_ascii())
            .map(|c| format!("character \"{c}\" cannot occur in GS1 data"))
    });
    if let Some(evidence) = layout {
        warnings.push(WedgeWarning::KeyboardLayout { evidence });
    }
    warnings
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scanner::profile::Suffix;

    fn profile(gs: GsSubstitute, suffix: Suffix) -> Profile {
        let mut p = Profile::from_toml(
            "name = \"t\"\nvendor = \"t\"\nsuffix = \"CR\"\naim_prefix = true\ngs_substitute = \"ctrl+]\"\n",
        )
        .unwrap();
        p.gs_substitute = gs;
        p.suffix = suffix;
        p
    }

    /// Feeds events `gap_ms` apart starting at `start`, collecting outputs.
    fn burst(
        asm: &mut WedgeAssembler,
        start: Instant,
        gap_ms: u64,
        events: impl IntoIterator<Item = WedgeInput>,
    ) -> (Vec<WedgeOutput>, Instant) {
        let mut out = Vec::new();
        let mut t = start;
        for e in events {
            out.extend(asm.feed(e, t));
            t += Duration::from_millis(gap_ms);
        }
        (out, t)
    }

    fn chars(s: &str) -> Vec<WedgeInput> {
        s.chars().map(|c| WedgeInput::text(c.to_string())).collect()
    }

    fn scans(out: &[WedgeOutput]) -> Vec<&WedgeScan> {
        out.iter()
            .filter_map(|o| match o {
                WedgeOutput::Scan(s) => Some(s),
                WedgeOutput::Typed(_) | WedgeOutput::Overlong { .. } => None,
            })
            .collect()
    }

    /// `]d2` + (01) GTIN + (10) lot, GS (Ctrl+]), (21) serial, Enter.
    fn gs1_burst(gs: WedgeInput) -> Vec<WedgeInput> {
        let mut events = chars("]d20109506000134352");
        events.extend(chars("10AB12"));
        events.push(gs);
        events.extend(chars("21XYZ"));
        events.push(WedgeInput::key(WedgeKey::Enter));
        events
    }

    #[test]
    fn fast_burst_with_ctrl_bracket_and_enter_is_one_scan_with_gs() {
        let mut asm = WedgeAssembler::new(&profile(GsSubstitute::CtrlCloseBracket, Suffix::Cr));
        let (out, _) = burst(
            &mut asm,
            Instant::now(),
            8,
            gs1_burst(WedgeInput::ctrl(WedgeKey::CloseBracket)),
        );
        assert_eq!(out.len(), 1, "{out:?}");
        let scan = scans(&out)[0];
        assert_eq!(scan.bytes, b"]d2010950600013435210AB12\x1d21XYZ".to_vec());
        assert!(scan.warnings.is_empty(), "{:?}", scan.warnings);
    }

    #[test]
    fn function_key_substitute_becomes_gs() {
        let mut asm = WedgeAssembler::new(&profile(
            GsSubstitute::Key(WedgeKey::Function(8)),
            Suffix::Cr,
        ));
        let (out, _) = burst(
            &mut asm,
            Instant::now(),
            5,
            gs1_burst(WedgeInput::key(WedgeKey::Function(8))),
        );
        assert_eq!(
            scans(&out)[0].bytes,
            b"]d2010950600013435210AB12\x1d21XYZ".to_vec()
        );
    }

    #[test]
    fn text_substitute_becomes_gs() {
        let gs = GsSubstitute::Text {
            text: "~".into(),
            may_appear_in_data: false,
        };
        let mut asm = WedgeAssembler::new(&profile(gs, Suffix::Cr));
        let (out, _) = burst(
            &mut asm,
            Instant::now(),
            5,
            gs1_burst(WedgeInput::text("~")),
        );
        assert_eq!(
            scans(&out)[0].bytes,
            b"]d2010950600013435210AB12\x1d21XYZ".to_vec()
        );
    }

    #[test]
    fn two_bursts_back_to_back_are_two_scans() {
        let mut asm = WedgeAssembler::new(&profile(GsSubstitute::CtrlCloseBracket, Suffix::Cr));
        let mut events = gs1_burst(WedgeInput::ctrl(WedgeKey::CloseBracket));
        events.extend(chars("]d20104012345678901"));
        events.push(WedgeInput::key(WedgeKey::Enter));
        let (out, _) = burst(&mut asm, Instant::now(), 6, events);
        let got: Vec<_> = scans(&out).iter().map(|s| s.bytes.clone()).collect();
        assert_eq!(
            got,
            vec![
                b"]d2010950600013435210AB12\x1d21XYZ".to_vec(),
                b"]d20104012345678901".to_vec()
            ]
        );
        assert_eq!(out.len(), 2);
    }

    #[test]
    fn slow_typing_is_passed_through_not_a_scan() {
        let mut asm = WedgeAssembler::new(&profile(GsSubstitute::CtrlCloseBracket, Suffix::Cr));
        let mut events = chars("12345678");
        events.push(WedgeInput::key(WedgeKey::Enter));
        let (mut out, end) = burst(&mut asm, Instant::now(), 120, events);
        out.extend(asm.poll(end + Duration::from_secs(1)));
        assert!(scans(&out).is_empty(), "{out:?}");
        let typed: Vec<_> = out
            .iter()
            .map(|o| match o {
                WedgeOutput::Typed(i) => i.clone(),
                other => panic!("not typed: {other:?}"),
            })
            .collect();
        let mut expected = chars("12345678");
        expected.push(WedgeInput::key(WedgeKey::Enter));
        assert_eq!(typed, expected);
    }

    #[test]
    fn short_fast_input_then_enter_is_typed() {
        // Two keys rolled over quickly by a person, then Enter.
        let mut asm = WedgeAssembler::new(&profile(GsSubstitute::CtrlCloseBracket, Suffix::Cr));
        let mut events = chars("ok");
        events.push(WedgeInput::key(WedgeKey::Enter));
        let (out, _) = burst(&mut asm, Instant::now(), 10, events);
        assert!(scans(&out).is_empty());
        assert_eq!(out.len(), 3);
    }

    #[test]
    fn burst_without_suffix_ends_on_timeout() {
        let mut asm = WedgeAssembler::new(&profile(GsSubstitute::CtrlCloseBracket, Suffix::None));
        let (out, end) = burst(&mut asm, Instant::now(), 5, chars("]d20109506000134352"));
        assert!(out.is_empty());
        assert!(asm.poll(end).is_empty(), "must wait for the quiet timeout");
        let deadline = asm.next_deadline().unwrap();
        let out = asm.poll(deadline);
        assert_eq!(scans(&out)[0].bytes, b"]d20109506000134352".to_vec());
        assert!(asm.poll(deadline + Duration::from_secs(1)).is_empty());
    }

    #[test]
    fn short_hiccup_inside_a_scan_does_not_split_it() {
        let mut asm = WedgeAssembler::new(&profile(GsSubstitute::CtrlCloseBracket, Suffix::Cr));
        let (out, t) = burst(&mut asm, Instant::now(), 5, chars("]d2010950600"));
        assert!(out.is_empty());
        let mut rest = chars("0134352");
        rest.push(WedgeInput::key(WedgeKey::Enter));
        let (out, _) = burst(&mut asm, t + Duration::from_millis(60), 5, rest);
        assert_eq!(scans(&out)[0].bytes, b"]d20109506000134352".to_vec());
    }

    #[test]
    fn caps_lock_inverted_burst_warns() {
        let mut asm = WedgeAssembler::new(&profile(GsSubstitute::CtrlCloseBracket, Suffix::Cr));
        let mut events = chars("]D2010950600013435210ab12");
        events.push(WedgeInput::key(WedgeKey::Enter));
        let (out, _) = burst(&mut asm, Instant::now(), 5, events);
        let scan = scans(&out)[0];
        assert!(
            matches!(scan.warnings.as_slice(), [WedgeWarning::CapsLock { .. }]),
            "{:?}",
            scan.warnings
        );
        assert!(scan.warnings[0].to_string().contains("Caps Lock"));
    }

    #[test]
    fn caps_lock_seen_from_shift_state() {
        let mut asm = WedgeAssembler::new(&profile(GsSubstitute::CtrlCloseBracket, Suffix::Cr));
        let mut events = chars("0109506000134352");
        events.extend(chars("10"));
        // Scanner presses A without Shift (it wants "a"); Caps Lock makes it "A".
        events.push(WedgeInput::key(WedgeKey::Letter('A')));
        events.push(WedgeInput::text("A"));
        events.push(WedgeInput::key(WedgeKey::Enter));
        let (out, _) = burst(&mut asm, Instant::now(), 5, events);
        let scan = scans(&out)[0];
        assert_eq!(scan.bytes, b"010950600013435210A".to_vec());
        assert!(
            matches!(scan.warnings.as_slice(), [WedgeWarning::CapsLock { .. }]),
            "{:?}",
            scan.warnings
        );
    }

    #[test]
    fn shift_matching_case_is_fine() {
        let mut asm = WedgeAssembler::new(&profile(GsSubstitute::CtrlCloseBracket, Suffix::Cr));
        let mut events = chars("]d2010950600013435210");
        events.push(WedgeInput::Key {
            key: WedgeKey::Letter('A'),
            ctrl: false,
            shift: true,
            alt: false,
        });
        events.push(WedgeInput::text("A"));
        events.push(WedgeInput::key(WedgeKey::Enter));
        let (out, _) = burst(&mut asm, Instant::now(), 5, events);
        assert!(scans(&out)[0].warnings.is_empty());
    }

    #[test]
    fn uppercase_digital_link_scheme_warns_caps() {
        let mut asm = WedgeAssembler::new(&profile(GsSubstitute::CtrlCloseBracket, Suffix::Cr));
        let mut events = chars("HTTPS://EXAMPLE.COM/01/09506000134352");
        events.push(WedgeInput::key(WedgeKey::Enter));
        let (out, _) = burst(&mut asm, Instant::now(), 5, events);
        assert!(matches!(
            scans(&out)[0].warnings.as_slice(),
            [WedgeWarning::CapsLock { .. }]
        ));
    }

    fn layout_warning(typed: &str) -> Vec<WedgeWarning> {
        let mut asm = WedgeAssembler::new(&profile(GsSubstitute::CtrlCloseBracket, Suffix::Cr));
        let mut events = chars(typed);
        events.push(WedgeInput::key(WedgeKey::Enter));
        let (out, _) = burst(&mut asm, Instant::now(), 5, events);
        scans(&out)[0].warnings.clone()
    }

    #[test]
    fn german_layout_burst_warns() {
        // A US-layout scanner typing "]d2..." into a German (QWERTZ) desk: `]` becomes `+`.
        let w = layout_warning("+d2010950600013435210AB12");
        assert!(
            matches!(w.as_slice(), [WedgeWarning::KeyboardLayout { .. }]),
            "{w:?}"
        );
        // "https://" becomes "httpsÖ--" (`:` is Shift+ö, `/` is `-`).
        let w = layout_warning("httpsÖ--id.gs1.org-01-09506000134352");
        assert!(
            matches!(w.as_slice(), [WedgeWarning::KeyboardLayout { .. }]),
            "{w:?}"
        );
        assert!(w[0].to_string().contains("httpsÖ--"));
        // "(01)" becomes ")01=".
        let w = layout_warning(")01=09506000134352");
        assert!(
            matches!(w.as_slice(), [WedgeWarning::KeyboardLayout { .. }]),
            "{w:?}"
        );
        // `-` in a lot becomes `ß`.
        let w = layout_warning("010950600013435210Aß1");
        assert!(
            matches!(w.as_slice(), [WedgeWarning::KeyboardLayout { .. }]),
            "{w:?}"
        );
    }

    #[test]
    fn french_layout_burst_warns() {
        // "]d2" on AZERTY: `]` is `$`, unshifted `2` is `é`; the digits become symbols.
        let w = layout_warning("$déà&àç");
        assert!(
            matches!(w.as_slice(), [WedgeWarning::KeyboardLayout { .. }]),
            "{w:?}"
        );
        let w = layout_warning("httpsM!!id.gs1.org");
        assert!(
            matches!(w.as_slice(), [WedgeWarning::KeyboardLayout { .. }]),
            "{w:?}"
        );
    }

    #[test]
    fn clean_scans_do_not_warn() {
        for clean in [
            "]d2010950600013435210AB12",
            "]C100095060001343527",
            "https://id.gs1.org/01/09506000134352",
            "(01)09506000134352(10)AB",
        ] {
            assert!(layout_warning(clean).is_empty(), "{clean}");
        }
    }

    #[test]
    fn person_pressing_backspace_is_passed_through() {
        let mut asm = WedgeAssembler::new(&profile(GsSubstitute::CtrlCloseBracket, Suffix::Cr));
        let t = Instant::now();
        assert!(asm.feed(WedgeInput::text("x"), t).is_empty());
        let out = asm.feed(
            WedgeInput::key(WedgeKey::Backspace),
            t + Duration::from_millis(200),
        );
        assert_eq!(
            out,
            vec![
                WedgeOutput::Typed(WedgeInput::text("x")),
                WedgeOutput::Typed(WedgeInput::key(WedgeKey::Backspace))
            ]
        );
    }

    #[test]
    fn a_huge_paste_is_dropped_without_being_kept_and_scanning_goes_on() {
        let mut asm = WedgeAssembler::new(&profile(GsSubstitute::CtrlCloseBracket, Suffix::Cr));
        let t = Instant::now();
        let paste = format!("{}\r]d20109506000134352\r", "7".repeat(10 * 1024 * 1024));
        let out = asm.feed(WedgeInput::Text(paste), t);
        assert_eq!(out.len(), 2, "{:?}", out.first());
        assert_eq!(
            out[0],
            WedgeOutput::Overlong {
                dropped: 10 * 1024 * 1024
            }
        );
        assert_eq!(scans(&out)[0].bytes, b"]d20109506000134352".to_vec());
    }

    #[test]
    fn a_burst_past_the_cap_is_dropped_as_it_arrives_and_reported_when_it_ends() {
        let mut asm = WedgeAssembler::new(&profile(GsSubstitute::CtrlCloseBracket, Suffix::None));
        let start = Instant::now();
        // A stuck key: one character every 2 ms, far past any barcode's length.
        let (out, end) = burst(&mut asm, start, 2, chars(&"7".repeat(MAX_SCAN_BYTES + 500)));
        assert!(out.is_empty(), "{:?}", out.first());
        assert!(asm.pending.is_empty() && asm.pending.capacity() <= MAX_BURST_INPUTS);
        let deadline = asm.next_deadline().unwrap();
        assert!(deadline > end);
        assert_eq!(
            asm.poll(deadline),
            vec![WedgeOutput::Overlong {
                dropped: MAX_SCAN_BYTES + 500
            }]
        );
        assert!(asm.next_deadline().is_none());
        // Exactly the cap, with its GS, is still a scan.
        let mut events = chars(&"7".repeat(MAX_SCAN_BYTES - 1));
        events.push(WedgeInput::ctrl(WedgeKey::CloseBracket));
        let (out, _) = burst(&mut asm, deadline + Duration::from_secs(1), 2, events);
        assert!(out.is_empty());
        let out = asm.poll(deadline + Duration::from_secs(60));
        assert_eq!(scans(&out)[0].bytes.len(), MAX_SCAN_BYTES);
    }

    #[test]
    fn endless_keys_without_text_are_dropped_too() {
        let mut asm = WedgeAssembler::new(&profile(GsSubstitute::CtrlCloseBracket, Suffix::Cr));
        let mut events = chars("]d2010950600013435210");
        events.extend((0..MAX_BURST_INPUTS).map(|_| WedgeInput::key(WedgeKey::Other)));
        events.push(WedgeInput::key(WedgeKey::Enter));
        let (out, _) = burst(&mut asm, Instant::now(), 1, events);
        assert_eq!(out, vec![WedgeOutput::Overlong { dropped: 21 }]);
        assert!(asm.pending.capacity() <= MAX_BURST_INPUTS);
    }

    #[test]
    fn key_names_parse() {
        assert_eq!(WedgeKey::from_name("f8"), Some(WedgeKey::Function(8)));
        assert_eq!(WedgeKey::from_name("Enter"), Some(WedgeKey::Enter));
        assert_eq!(WedgeKey::from_name("F25"), None);
        assert_eq!(WedgeKey::from_name("banana"), None);
    }
}
