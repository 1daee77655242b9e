//! The scanner test: scan one known code and learn what this scanner really sends.
//!
//! Setting a desk up, the installer scans [`TEST_CODE`] (shown on the kiosk's screen, or
//! printed by `tracedesk setup` on a terminal). Because every character of it is known, what
//! arrives tells how the scanner is configured: the suffix that ends a scan (Enter, Tab or
//! nothing), whether it sends the AIM symbology identifier (`]d2`), and what stands for the GS
//! separator (Ctrl+], a function key, a text substitute, or nothing at all). It also shows
//! damage a real pack would suffer silently: letters with inverted case (Caps Lock) and
//! characters typed through another keyboard layout (Y and Z swapped, AZERTY digits, `]`
//! arriving as `+`).
//!
//! [`analyse`] is pure: the front ends turn what they received into [`WedgeInput`]s (the kiosk
//! its key events, a terminal its bytes: [`inputs_from_bytes`]) and say how the burst ended.
//! It never reads a device or a clock. [`ProbeReport::profile`] then picks the built-in profile
//! that reads this scanner as it is.

use std::fmt;

use super::key::WedgeKey;
use super::profile::{GsSubstitute, Profile, ProfileSet, Suffix};
use super::wedge::{AZERTY_DIGITS, MANGLED_AIM_FLAG, WedgeInput, WedgeWarning};
use crate::gs1::MAX_SCAN_BYTES;

/// What the test symbol holds, GS (0x1D) as the FNC1 separator, without AIM prefix: GS1's
/// example GTIN, a fixed expiry, then a lot and a serial chosen to show damage: upper and
/// lower case letters (Caps Lock), Y, Z, Q, A and W (QWERTZ and AZERTY move them), every digit
/// (AZERTY shifts the digit row).
pub const TEST_CODE: &str = "01095060001343521729123110Yz5Qa0\u{1d}21Wy3684Zq79";

/// The test code's element string before the separator, and after it.
const HEAD: &str = "01095060001343521729123110Yz5Qa0";
const TAIL: &str = "21Wy3684Zq79";

/// The AIM symbology identifier a scanner sends before a GS1 DataMatrix.
const AIM_DATAMATRIX: &str = "]d2";

/// How a burst ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProbeEnd {
    /// The Enter key (a CR, LF or CR LF suffix).
    Enter,
    /// The Tab key.
    Tab,
    /// Nothing: the keys stopped.
    Quiet,
}

/// What the test scan showed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeReport {
    /// What ends a scan.
    pub suffix: Suffix,
    /// Whether the scanner sends `]d2` first.
    pub aim_prefix: bool,
    /// What stands for GS.
    pub gs: GsSubstitute,
    /// Damage a real pack would suffer: every one must be fixed before packs are received.
    pub warnings: Vec<WedgeWarning>,
}

/// Why a scan is not the test code at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProbeError {
    #[error("nothing arrived; scan the test code")]
    Empty,
    #[error("this is not the test code (\"{received}\" arrived); scan the code shown, not a pack")]
    NotTheTestCode { received: String },
}

impl ProbeReport {
    /// The built-in keyboard-wedge profile that reads this scanner as it is configured, if
    /// one does (`generic-hid` preferred). AIM prefix or not, any profile reads the scan: the
    /// parser takes both.
    pub fn profile<'a>(&self, profiles: &'a ProfileSet) -> Option<&'a Profile> {
        let fits = |p: &&Profile| {
            p.cdc_ids().next().is_none()
                && p.suffix.key() == self.suffix.key()
                && p.gs_substitute == self.gs
        };
        profiles
            .get("generic-hid")
            .filter(fits)
            .or_else(|| profiles.iter().find(fits))
    }

    /// Whether packs would be read as sent: no damage, and a separator the parser can use.
    pub fn is_clean(&self) -> bool {
        self.warnings.is_empty() && self.gs != GsSubstitute::Dropped
    }
}

impl fmt::Display for ProbeReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let suffix = match self.suffix {
            Suffix::Tab => "Tab",
            Suffix::None => "none (the scan ends when the keys stop)",
            _ => "Enter",
        };
        let aim = if self.aim_prefix { "yes (]d2)" } else { "no" };
        write!(
            f,
            "suffix: {suffix}; AIM prefix: {aim}; GS separator: {}",
            self.gs
        )
    }
}

/// A terminal's bytes as the key events a desk would see: GS as the Ctrl+] chord (the only
/// way a keyboard types it), CR/LF as Enter, TAB as Tab, everything else as text.
pub fn inputs_from_bytes(bytes: &[u8]) -> (Vec<WedgeInput>, ProbeEnd) {
    let text = String::from_utf8_lossy(bytes);
    let mut inputs = Vec::new();
    let mut end = ProbeEnd::Quiet;
    for c in text.chars() {
        match c {
            '\u{1d}' => inputs.push(WedgeInput::ctrl(WedgeKey::CloseBracket)),
            '\r' | '\n' => {
                end = ProbeEnd::Enter;
                break;
            }
            '\t' => {
                end = ProbeEnd::Tab;
                break;
            }
            c => inputs.push(WedgeInput::text(c.to_string())),
        }
    }
    (inputs, end)
}

/// One received character, or what stood for GS.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Char(char),
    Gs(GsSubstitute),
}

/// What the scanner's test scan shows. `inputs` are the burst's events in order (letter key
/// events are ignored: the text carries the case), `end` how it ended.
pub fn analyse(inputs: &[WedgeInput], end: ProbeEnd) -> Result<ProbeReport, ProbeError> {
    let mut pieces = Vec::new();
    for input in inputs.iter().take(2 * MAX_SCAN_BYTES) {
        match input {
            WedgeInput::Text(text) => pieces.extend(text.chars().map(|c| match c {
                '\u{1d}' => Piece::Gs(GsSubstitute::AsIs),
                c => Piece::Char(c),
            })),
            WedgeInput::Key {
                key: WedgeKey::CloseBracket,
                ctrl: true,
                ..
            } => pieces.push(Piece::Gs(GsSubstitute::CtrlCloseBracket)),
            WedgeInput::Key {
                key: key @ WedgeKey::Function(_),
                ..
            } => pieces.push(Piece::Gs(GsSubstitute::Key(*key))),
            WedgeInput::Key { .. } => {}
        }
    }
    if pieces.is_empty() {
        return Err(ProbeError::Empty);
    }
    let received: String = pieces
        .iter()
        .map(|p| match p {
            Piece::Char(c) => c.to_string(),
            Piece::Gs(_) => "<GS>".to_owned(),
        })
        .collect();
    let not_it = || ProbeError::NotTheTestCode {
        received: received.chars().take(60).collect(),
    };
    let mut warnings = Vec::new();

    // The AIM prefix, possibly through another layout (`]` is the key layouts move most).
    let (aim_prefix, body) = match pieces.as_slice() {
        [
            Piece::Char(flag),
            Piece::Char(code),
            Piece::Char(modifier),
            rest @ ..,
        ] if code.eq_ignore_ascii_case(&'d') && fold(*modifier) == '2' => {
            let sent = format!("{flag}{code}{modifier}");
            if *flag == ']' {
                (true, rest)
            } else if MANGLED_AIM_FLAG.contains(flag) {
                warnings.push(WedgeWarning::KeyboardLayout {
                    evidence: format!("AIM prefix arrived as \"{sent}\" instead of \"]d2\""),
                });
                (true, rest)
            } else {
                (false, pieces.as_slice())
            }
        }
        _ => (false, pieces.as_slice()),
    };

    // Split off the known head and tail: what lies between stands for GS.
    let head_len = HEAD.chars().count();
    let tail_len = TAIL.chars().count();
    let chars_in = |pieces: &[Piece]| -> Option<String> {
        pieces
            .iter()
            .map(|p| match p {
                Piece::Char(c) => Some(*c),
                Piece::Gs(_) => None,
            })
            .collect()
    };
    if body.len() < head_len + tail_len {
        return Err(not_it());
    }
    let (head, rest) = body.split_at(head_len);
    let (middle, tail) = rest.split_at(rest.len() - tail_len);
    let (Some(head), Some(tail)) = (chars_in(head), chars_in(tail)) else {
        return Err(not_it());
    };
    let expected: String = [HEAD, TAIL].concat();
    let got = [head.as_str(), tail.as_str()].concat();
    if !same_folded(&got, &expected) {
        return Err(not_it());
    }
    let gs = match middle {
        [] => GsSubstitute::Dropped,
        [Piece::Gs(gs)] => gs.clone(),
        _ => match chars_in(middle) {
            Some(text) if text.chars().all(|c| c.is_ascii_graphic()) => GsSubstitute::Text {
                text,
                may_appear_in_data: false,
            },
            _ => return Err(not_it()),
        },
    };
    if aim_prefix && head.starts_with(AIM_DATAMATRIX) {
        // `]d2` twice: the symbol itself does not hold it.
        return Err(not_it());
    }
    warnings.extend(damage(&got, &expected));
    let suffix = match end {
        ProbeEnd::Enter => Suffix::Cr,
        ProbeEnd::Tab => Suffix::Tab,
        ProbeEnd::Quiet => Suffix::None,
    };
    Ok(ProbeReport {
        suffix,
        aim_prefix,
        gs,
        warnings,
    })
}

/// A character with the damage this test looks for undone: case, the letters QWERTZ and AZERTY
/// move, the AZERTY digit row.
fn fold(c: char) -> char {
    if let Some(digit) = AZERTY_DIGITS.chars().position(|a| a == c) {
        // `&é"'(-è_çà` is 1234567890.
        return char::from_digit(((digit + 1) % 10) as u32, 10).unwrap_or(c);
    }
    match c.to_ascii_lowercase() {
        'z' | 'w' => 'y',
        'q' => 'a',
        lower => lower,
    }
}

fn same_folded(got: &str, expected: &str) -> bool {
    got.chars().count() == expected.chars().count()
        && got
            .chars()
            .zip(expected.chars())
            .all(|(g, e)| fold(g) == fold(e))
}

/// The damage between what arrived and what the symbol holds (same length, same when folded).
fn damage(got: &str, expected: &str) -> Vec<WedgeWarning> {
    let mut warnings = Vec::new();
    let pairs: Vec<(char, char)> = got.chars().zip(expected.chars()).collect();
    let inverted: Vec<&(char, char)> = pairs
        .iter()
        .filter(|(g, e)| g != e && g.is_ascii_alphabetic() && g.eq_ignore_ascii_case(e))
        .collect();
    if let Some((g, e)) = inverted.first() {
        warnings.push(WedgeWarning::CapsLock {
            evidence: format!("\"{e}\" arrived as \"{g}\""),
        });
    }
    if let Some((g, e)) = pairs.iter().find(|(g, e)| !g.eq_ignore_ascii_case(e)) {
        warnings.push(WedgeWarning::KeyboardLayout {
            evidence: format!("\"{e}\" arrived as \"{g}\""),
        });
    }
    warnings
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The test code as a US-layout wedge types it: text, GS as `gs`, then `end`.
    fn typed(aim: &str, head: &str, gs: &[WedgeInput], tail: &str) -> Vec<WedgeInput> {
        let mut inputs: Vec<WedgeInput> = format!("{aim}{head}")
            .chars()
            .map(|c| WedgeInput::text(c.to_string()))
            .collect();
        inputs.extend_from_slice(gs);
        inputs.extend(tail.chars().map(|c| WedgeInput::text(c.to_string())));
        inputs
    }

    fn chord() -> Vec<WedgeInput> {
        vec![WedgeInput::ctrl(WedgeKey::CloseBracket)]
    }

    #[test]
    fn the_test_code_is_a_valid_gs1_element_string() {
        let scan = crate::gs1::parse(
            TEST_CODE.as_bytes(),
            &crate::gs1::ParseContext::new(chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap()),
        );
        assert!(scan.errors.is_empty(), "{:?}", scan.errors);
        assert_eq!(scan.lot(), Some("Yz5Qa0"));
        assert_eq!(scan.serial(), Some("Wy3684Zq79"));
        assert_eq!(TEST_CODE, format!("{HEAD}\u{1d}{TAIL}"));
    }

    #[test]
    fn a_generic_us_wedge_is_recognised() {
        let report = analyse(&typed("", HEAD, &chord(), TAIL), ProbeEnd::Enter).unwrap();
        assert_eq!(report.suffix, Suffix::Cr);
        assert!(!report.aim_prefix);
        assert_eq!(report.gs, GsSubstitute::CtrlCloseBracket);
        assert!(report.is_clean());
        let profiles = ProfileSet::builtin();
        assert_eq!(report.profile(&profiles).unwrap().name, "generic-hid");
    }

    #[test]
    fn aim_prefix_tab_suffix_and_a_function_key_for_gs() {
        let f8 = [WedgeInput::key(WedgeKey::Function(8))];
        let report = analyse(&typed("]d2", HEAD, &f8, TAIL), ProbeEnd::Tab).unwrap();
        assert!(report.aim_prefix);
        assert_eq!(report.suffix, Suffix::Tab);
        assert_eq!(report.gs, GsSubstitute::Key(WedgeKey::Function(8)));
        assert!(report.warnings.is_empty());
    }

    #[test]
    fn a_text_substitute_or_a_dropped_separator_is_named() {
        let tilde = [WedgeInput::text("~")];
        let report = analyse(&typed("", HEAD, &tilde, TAIL), ProbeEnd::Quiet).unwrap();
        assert_eq!(report.suffix, Suffix::None);
        assert_eq!(
            report.gs,
            GsSubstitute::Text {
                text: "~".into(),
                may_appear_in_data: false
            }
        );
        let dropped = analyse(&typed("", HEAD, &[], TAIL), ProbeEnd::Enter).unwrap();
        assert_eq!(dropped.gs, GsSubstitute::Dropped);
        assert!(!dropped.is_clean(), "fields run together without GS");
        assert_eq!(dropped.profile(&ProfileSet::builtin()), None);
    }

    #[test]
    fn caps_lock_inverts_every_letter() {
        let flip = |s: &str| -> String {
            s.chars()
                .map(|c| {
                    if c.is_ascii_uppercase() {
                        c.to_ascii_lowercase()
                    } else {
                        c.to_ascii_uppercase()
                    }
                })
                .collect()
        };
        let report = analyse(
            &typed("]d2", &flip(HEAD), &chord(), &flip(TAIL)),
            ProbeEnd::Enter,
        )
        .unwrap();
        assert!(report.aim_prefix);
        assert!(matches!(
            report.warnings.as_slice(),
            [WedgeWarning::CapsLock { evidence }] if evidence == "\"Y\" arrived as \"y\""
        ));
        assert!(!report.is_clean());
    }

    #[test]
    fn a_german_layout_swaps_y_and_z_and_moves_the_aim_flag() {
        let swap = |s: &str| -> String {
            s.chars()
                .map(|c| match c {
                    'y' => 'z',
                    'z' => 'y',
                    'Y' => 'Z',
                    'Z' => 'Y',
                    c => c,
                })
                .collect()
        };
        let report = analyse(
            &typed("+d2", &swap(HEAD), &chord(), &swap(TAIL)),
            ProbeEnd::Enter,
        )
        .unwrap();
        assert!(report.aim_prefix);
        let evidence: Vec<String> = report.warnings.iter().map(|w| w.to_string()).collect();
        assert_eq!(report.warnings.len(), 2, "{evidence:?}");
        assert!(
            evidence[0].contains("AIM prefix arrived as \"+d2\""),
            "{evidence:?}"
        );
        assert!(
            evidence[1].contains("\"Y\" arrived as \"Z\""),
            "{evidence:?}"
        );
    }

    #[test]
    fn an_azerty_digit_row_is_a_layout_problem() {
        let azerty = |s: &str| -> String {
            s.chars()
                .map(|c| match c.to_digit(10) {
                    Some(d) => AZERTY_DIGITS
                        .chars()
                        .nth((d as usize + 9) % 10)
                        .unwrap_or(c),
                    None => c,
                })
                .collect()
        };
        let report = analyse(
            &typed("", &azerty(HEAD), &chord(), &azerty(TAIL)),
            ProbeEnd::Enter,
        )
        .unwrap();
        assert!(matches!(
            report.warnings.as_slice(),
            [WedgeWarning::KeyboardLayout { evidence }] if evidence == "\"0\" arrived as \"à\""
        ));
    }

    #[test]
    fn anything_else_is_not_the_test_code() {
        let pack = typed("]d2", "0100359999101015172811301", &chord(), "21AMX0001");
        assert!(matches!(
            analyse(&pack, ProbeEnd::Enter),
            Err(ProbeError::NotTheTestCode { .. })
        ));
        assert_eq!(analyse(&[], ProbeEnd::Enter), Err(ProbeError::Empty));
        // Two separators are not a substitute.
        let twice = typed("", HEAD, &[chord(), chord()].concat(), TAIL);
        assert!(analyse(&twice, ProbeEnd::Enter).is_err());
    }

    #[test]
    fn terminal_bytes_read_as_a_wedge_types_them() {
        let bytes = format!("]d2{TEST_CODE}\r\n");
        let (inputs, end) = inputs_from_bytes(bytes.as_bytes());
        assert_eq!(end, ProbeEnd::Enter);
        let report = analyse(&inputs, end).unwrap();
        assert!(report.aim_prefix);
        assert_eq!(report.gs, GsSubstitute::CtrlCloseBracket);
        assert_eq!(
            report.to_string(),
            "suffix: Enter; AIM prefix: yes (]d2); GS separator: Ctrl+]"
        );
    }
}
