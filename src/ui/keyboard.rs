//! Keyboard-wedge scans taken at the application level, before any widget sees the keys.
//!
//! A scanner in keyboard mode types into whatever has focus. At a receiving desk nothing should
//! need focus: [`WedgeKeys::take_scans`] runs in eframe's `raw_input_hook`, lifts the scanner's
//! keystrokes out of the frame's input and hands them to the pure
//! [`WedgeAssembler`](crate::scanner::wedge::WedgeAssembler). What the assembler decides a person
//! typed is put back (Escape still closes a dialog), and while a text field has focus (the PIN,
//! a setting) keys go to the field untouched.
//!
//! egui-winit never delivers ASCII control characters as text: a wedge GS arrives only as the
//! `]` key with Ctrl held, Enter only as the Enter key. Tests must feed those key events, not a
//! text `"\x1D"`, or they prove nothing about a real scanner.
//!
//! During the setup's scanner test [`ProbeKeys`] takes the keys instead, raw: the test wants
//! to see what the scanner sends before any profile interprets it.

use std::time::{Duration, Instant};

use egui::{Event, Key, Modifiers, RawInput};

use crate::gs1::MAX_SCAN_BYTES;
use crate::scanner::key::WedgeKey;
use crate::scanner::probe::ProbeEnd;
use crate::scanner::profile::Profile;
use crate::scanner::wedge::{WedgeAssembler, WedgeInput, WedgeOutput, WedgeScan};

/// Keys arrive in per-frame batches: a frame drawn in 40 ms delivers a scanner's keys 40 ms
/// apart even when the scanner typed them 5 ms apart. With no field focused nobody types text
/// anyway, so the kiosk allows at least this gap inside a burst.
const FRAME_BATCH_ALLOWANCE: Duration = Duration::from_millis(80);
/// And at least this much quiet before a burst without suffix is complete.
const QUIET_ALLOWANCE: Duration = Duration::from_millis(150);

/// The wedge assembler wired to egui's input.
#[derive(Debug, Clone)]
pub struct WedgeKeys {
    assembler: WedgeAssembler,
}

impl WedgeKeys {
    /// For a scanner profile (its suffix, GS substitute and timing).
    pub fn new(profile: &Profile) -> Self {
        let mut profile = profile.clone();
        profile.wedge.max_key_interval = profile.wedge.max_key_interval.max(FRAME_BATCH_ALLOWANCE);
        profile.wedge.quiet_timeout = profile.wedge.quiet_timeout.max(QUIET_ALLOWANCE);
        Self {
            assembler: WedgeAssembler::new(&profile),
        }
    }

    /// Takes the scanner's keys out of `raw` and returns the scans completed by `now`.
    /// With `text_focus` (a text field is being typed into) the keys are left alone.
    pub fn take_scans(
        &mut self,
        raw: &mut RawInput,
        text_focus: bool,
        now: Instant,
    ) -> Vec<WedgeScan> {
        let mut scans = Vec::new();
        if text_focus {
            collect(self.assembler.poll(now), &mut scans, &mut Vec::new());
            return scans;
        }
        let mut kept = Vec::with_capacity(raw.events.len());
        let mut typed = Vec::new();
        for event in std::mem::take(&mut raw.events) {
            match wedge_input(&event) {
                Some(input) => collect(self.assembler.feed(input, now), &mut scans, &mut typed),
                None => kept.push(event),
            }
        }
        collect(self.assembler.poll(now), &mut scans, &mut typed);
        kept.extend(typed.into_iter().filter_map(egui_event));
        raw.events = kept;
        scans
    }

    /// When a pending burst could end by itself (the UI asks for a repaint then).
    pub fn next_deadline(&self) -> Option<Instant> {
        self.assembler.next_deadline()
    }
}

fn collect(outputs: Vec<WedgeOutput>, scans: &mut Vec<WedgeScan>, typed: &mut Vec<WedgeInput>) {
    for output in outputs {
        match output {
            WedgeOutput::Scan(scan) => scans.push(scan),
            WedgeOutput::Typed(input) => typed.push(input),
            WedgeOutput::Overlong { dropped } => tracing::warn!(
                dropped,
                "a keyboard burst longer than any barcode was ignored (a paste or a stuck key?)"
            ),
        }
    }
}

/// The scanner-relevant part of an egui event; `None` leaves the event to egui.
fn wedge_input(event: &Event) -> Option<WedgeInput> {
    match event {
        Event::Text(text) => Some(WedgeInput::Text(text.clone())),
        Event::Key {
            key,
            pressed: true,
            modifiers,
            ..
        } => {
            let wedge_key = match key {
                Key::Enter => WedgeKey::Enter,
                Key::Tab => WedgeKey::Tab,
                Key::Escape => WedgeKey::Escape,
                Key::Backspace => WedgeKey::Backspace,
                // Without Ctrl, `]` is an ordinary character that also arrives as text (the
                // AIM prefix `]d2`): only the chord is the GS separator.
                Key::CloseBracket if modifiers.ctrl => WedgeKey::CloseBracket,
                other => function_key(*other).or_else(|| letter_key(*other))?,
            };
            Some(WedgeInput::Key {
                key: wedge_key,
                ctrl: modifiers.ctrl,
                shift: modifiers.shift,
                alt: modifiers.alt,
            })
        }
        _ => None,
    }
}

fn function_key(key: Key) -> Option<WedgeKey> {
    let name = key.name();
    let n: u8 = name.strip_prefix('F')?.parse().ok()?;
    (1..=24).contains(&n).then_some(WedgeKey::Function(n))
}

fn letter_key(key: Key) -> Option<WedgeKey> {
    let name = key.name();
    let mut chars = name.chars();
    match (chars.next(), chars.next()) {
        (Some(c), None) if c.is_ascii_alphabetic() => {
            Some(WedgeKey::Letter(c.to_ascii_uppercase()))
        }
        _ => None,
    }
}

/// Puts back what a person typed (only keys matter: with no field focused text goes nowhere).
fn egui_event(input: WedgeInput) -> Option<Event> {
    let WedgeInput::Key {
        key,
        ctrl,
        shift,
        alt,
    } = input
    else {
        return None;
    };
    let key = match key {
        WedgeKey::Enter => Key::Enter,
        WedgeKey::Tab => Key::Tab,
        WedgeKey::Escape => Key::Escape,
        WedgeKey::Backspace => Key::Backspace,
        WedgeKey::CloseBracket => Key::CloseBracket,
        WedgeKey::Function(n) => Key::from_name(&format!("F{n}"))?,
        WedgeKey::Letter(c) => Key::from_name(&c.to_string())?,
        WedgeKey::Other => return None,
    };
    Some(Event::Key {
        key,
        physical_key: None,
        pressed: true,
        repeat: false,
        modifiers: Modifiers {
            ctrl,
            shift,
            alt,
            command: ctrl,
            ..Modifiers::default()
        },
    })
}

/// How long the scanner test waits after the last key before it takes a burst without suffix
/// as whole: far longer than any scanner's gap between keys, short enough to feel immediate.
const PROBE_QUIET: Duration = Duration::from_millis(400);

/// The scanner test's keys ([`crate::scanner::probe`]): every scanner-relevant event of one
/// burst, exactly as it arrived, until Enter, Tab or a pause. While it listens no key reaches
/// the wedge or a widget, so nothing of the test code is read as a pack.
#[derive(Debug, Default)]
pub struct ProbeKeys {
    inputs: Vec<WedgeInput>,
    last: Option<Instant>,
}

impl ProbeKeys {
    /// Takes the keys out of `raw`; returns the burst once it ended by `now`.
    pub fn take(
        &mut self,
        raw: &mut RawInput,
        now: Instant,
    ) -> Option<(Vec<WedgeInput>, ProbeEnd)> {
        let mut ended = None;
        raw.events.retain(|event| {
            let Some(input) = wedge_input(event) else {
                return true;
            };
            if ended.is_some() {
                // After the end: not the test's, left to the frame.
                return true;
            }
            match input {
                WedgeInput::Key {
                    key: WedgeKey::Enter,
                    ..
                } => ended = Some(ProbeEnd::Enter),
                WedgeInput::Key {
                    key: WedgeKey::Tab, ..
                } => ended = Some(ProbeEnd::Tab),
                input if self.inputs.len() < 2 * MAX_SCAN_BYTES => self.inputs.push(input),
                // Longer than any barcode: counted as the test's failure, never kept.
                _ => {}
            }
            self.last = Some(now);
            false
        });
        let quiet = self
            .last
            .is_some_and(|last| now.saturating_duration_since(last) > PROBE_QUIET);
        let end = ended.or_else(|| quiet.then_some(ProbeEnd::Quiet))?;
        self.last = None;
        Some((std::mem::take(&mut self.inputs), end))
    }

    /// When a burst without suffix will count as ended, if one is under way.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.last
            .and_then(|last| last.checked_add(PROBE_QUIET + Duration::from_millis(1)))
    }

    /// Forgets a burst under way (the test was left).
    pub fn reset(&mut self) {
        *self = Self::default();
    }
}

/// The events a US-layout keyboard-wedge scanner produces through egui-winit for `data`:
/// printable characters as text (plus their letter keys), GS (0x1D) as Ctrl+], then Enter.
/// Used by tests and by the screenshot script; a real scanner produces the same.
pub fn scanner_burst(data: &[u8]) -> Vec<Event> {
    let mut events = Vec::new();
    let key = |key: Key, modifiers: Modifiers| Event::Key {
        key,
        physical_key: Some(key),
        pressed: true,
        repeat: false,
        modifiers,
    };
    for &byte in data {
        if byte == 0x1D {
            events.push(key(Key::CloseBracket, Modifiers::CTRL));
        } else {
            let c = char::from(byte);
            if c.is_ascii_alphabetic()
                && let Some(k) = Key::from_name(&c.to_ascii_uppercase().to_string())
            {
                let shift = if c.is_ascii_uppercase() {
                    Modifiers::SHIFT
                } else {
                    Modifiers::NONE
                };
                events.push(key(k, shift));
            }
            events.push(Event::Text(c.to_string()));
        }
    }
    events.push(key(Key::Enter, Modifiers::NONE));
    events
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scanner::profile::ProfileSet;

    fn wedge() -> WedgeKeys {
        WedgeKeys::new(ProfileSet::builtin().get("generic-hid").unwrap())
    }

    #[test]
    fn a_burst_becomes_one_scan_and_leaves_no_keys_behind() {
        let mut keys = wedge();
        let mut raw = RawInput {
            events: scanner_burst(b"0100307773105025\x1d10LOT7\x1d17281130"),
            ..RawInput::default()
        };
        raw.events.push(Event::PointerGone);
        let scans = keys.take_scans(&mut raw, false, Instant::now());
        assert_eq!(scans.len(), 1);
        assert_eq!(scans[0].bytes, b"0100307773105025\x1d10LOT7\x1d17281130");
        assert_eq!(raw.events, vec![Event::PointerGone]);
    }

    #[test]
    fn text_focus_leaves_keys_to_the_field() {
        let mut keys = wedge();
        let burst = scanner_burst(b"123456789");
        let mut raw = RawInput {
            events: burst.clone(),
            ..RawInput::default()
        };
        assert!(keys.take_scans(&mut raw, true, Instant::now()).is_empty());
        assert_eq!(raw.events, burst);
    }

    #[test]
    fn escape_from_a_person_is_put_back() {
        let mut keys = wedge();
        let now = Instant::now();
        let mut raw = RawInput {
            events: vec![Event::Key {
                key: Key::Escape,
                physical_key: None,
                pressed: true,
                repeat: false,
                modifiers: Modifiers::NONE,
            }],
            ..RawInput::default()
        };
        assert!(keys.take_scans(&mut raw, false, now).is_empty());
        assert!(matches!(
            raw.events.as_slice(),
            [Event::Key {
                key: Key::Escape,
                pressed: true,
                ..
            }]
        ));
    }
}
