//! GS1 element strings: `(AI)value` pairs, in the raw form a barcode carries (FNC1 sent as GS,
//! 0x1D) and in the bracketed human-readable form.
//!
//! Splitting a raw element string is where a wrong guess would hurt a patient: a lot number that
//! swallows the serial after it because a separator was lost. So the splitter follows the
//! standard to the letter (predefined-length AIs need no separator; every other value runs to GS
//! or the end) and a value longer than its AI allows is an error, never silently cut.

use super::ai::{self, AiDef, Cset};
use super::error::{ErrorCode, Gs1Error};
use super::lint::{self, Linter};
use std::fmt::{self, Write as _};

/// The GS1 separator (FNC1 as transmitted).
pub const GS: u8 = 0x1D;

/// An Application Identifier: two to four digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Ai {
    digits: [u8; 4],
    len: u8,
}

impl Ai {
    /// An AI from its digits; `None` unless 2 to 4 ASCII digits.
    pub fn new(digits: &[u8]) -> Option<Ai> {
        if !(2..=4).contains(&digits.len()) || !digits.iter().all(u8::is_ascii_digit) {
            return None;
        }
        let mut buf = [0u8; 4];
        buf.get_mut(..digits.len())?.copy_from_slice(digits);
        Some(Ai {
            digits: buf,
            len: digits.len() as u8,
        })
    }

    pub fn as_str(&self) -> &str {
        // Built from ASCII digits only, so this cannot fail; fall back to "" rather than panic.
        std::str::from_utf8(self.as_bytes()).unwrap_or("")
    }

    /// The digits as bytes: the cheap form for comparisons on the hot path.
    pub fn as_bytes(&self) -> &[u8] {
        self.digits.get(..self.len as usize).unwrap_or_default()
    }

    /// Whether this AI is `code` (e.g. `"17"`).
    pub fn is(&self, code: &str) -> bool {
        self.as_bytes() == code.as_bytes()
    }
}

impl fmt::Debug for Ai {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Ai({})", self.as_str())
    }
}

impl fmt::Display for Ai {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One AI with its value, as found in the data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Element {
    pub ai: Ai,
    pub value: String,
    /// `None` for an unknown AI accepted under [`Rules::permit_unknown_ais`].
    pub def: Option<&'static AiDef>,
}

/// Which checks apply. The defaults are the strict ones a pharmacy needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rules {
    /// Accept AIs that are not allocated (their values are only checked against CSET 82).
    pub permit_unknown_ais: bool,
    /// Check required and exclusive AI pairs (a serial needs a GTIN...).
    pub check_associations: bool,
}

impl Default for Rules {
    fn default() -> Rules {
        Rules {
            permit_unknown_ais: false,
            check_associations: true,
        }
    }
}

/// At most this many bytes of a value are quoted in a message: enough to see what went wrong,
/// and a long value quoted in every error would make the errors outgrow the scan.
const QUOTED: usize = 40;

/// Bytes as a message quotes them: GS as `<GS>`, other non-printable bytes in hex, cut after
/// [`QUOTED`] bytes with `…`.
struct Quoted<'a>(&'a [u8]);

impl fmt::Display for Quoted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let head = self.0.get(..QUOTED).unwrap_or(self.0);
        for &b in head {
            match b {
                GS => f.write_str("<GS>")?,
                0x20..=0x7E => f.write_char(char::from(b))?,
                _ => write!(f, "<{b:02X}>")?,
            }
        }
        if head.len() < self.0.len() {
            f.write_str("…")?;
        }
        Ok(())
    }
}

/// Read one AI at the start of `data`: its digits and definition.
fn read_ai(data: &[u8], rules: &Rules) -> Result<(Ai, Option<&'static AiDef>), Gs1Error> {
    let Some(len) = data.get(..2).and_then(ai::ai_length) else {
        let shown = Quoted(data.get(..data.len().min(4)).unwrap_or_default());
        return Err(Gs1Error::new(
            ErrorCode::UnknownAi,
            format!("no GS1 Application Identifier starts with \"{shown}\""),
        ));
    };
    let digits = data.get(..len).filter(|d| d.iter().all(u8::is_ascii_digit));
    let Some(ai) = digits.and_then(Ai::new) else {
        return Err(Gs1Error::new(
            ErrorCode::TruncatedAi,
            format!(
                "the data ends inside an Application Identifier (\"{}\")",
                Quoted(data)
            ),
        ));
    };
    match ai::lookup_bytes(ai.as_bytes()) {
        Some(def) => Ok((ai, Some(def))),
        None if rules.permit_unknown_ais => Ok((ai, None)),
        None => Err(Gs1Error::new(
            ErrorCode::UnknownAi,
            format!("({ai}) is not a GS1 Application Identifier"),
        )),
    }
}

/// Split a raw element string (FNC1 as GS) into elements. A leading and a trailing GS are
/// tolerated. Stops at the first structural error: past it, field boundaries are unknowable.
pub fn split_raw(data: &[u8], rules: &Rules) -> Result<Vec<Element>, Gs1Error> {
    // One UTF-8 check for the whole message; values are then cut out as `&str` slices.
    let text = std::str::from_utf8(data).map_err(|e| {
        Gs1Error::new(
            ErrorCode::NonAsciiCharacter,
            format!(
                "the data holds bytes that are not text (at byte {})",
                e.valid_up_to() + 1
            ),
        )
    })?;
    let not_text = |ai: Ai| {
        Gs1Error::new(
            ErrorCode::NonAsciiCharacter,
            format!("({ai}) holds characters outside ASCII"),
        )
    };
    let gs = GS as char;
    let mut rest = text.strip_prefix(gs).unwrap_or(text);
    if rest.is_empty() {
        return Err(Gs1Error::new(
            ErrorCode::EmptyScan,
            "the scan holds no data",
        ));
    }
    let mut elements = Vec::with_capacity(4);
    while !rest.is_empty() {
        let (ai, def) = read_ai(rest.as_bytes(), rules)?;
        let after_ai = rest
            .get(ai.as_bytes().len()..)
            .ok_or_else(|| not_text(ai))?;
        let (value, next) = match def.filter(|d| d.predefined) {
            Some(def) => {
                let (len, _) = def.length_bounds();
                if after_ai.len() < len {
                    return Err(Gs1Error::new(
                        ErrorCode::ValueTooShort,
                        format!(
                            "({ai}) {} needs {len} characters, the data has only {}",
                            def.title,
                            after_ai.len()
                        ),
                    ));
                }
                let value = after_ai.get(..len).ok_or_else(|| not_text(ai))?;
                let next = after_ai.get(len..).ok_or_else(|| not_text(ai))?;
                (value, next.strip_prefix(gs).unwrap_or(next))
            }
            None => match after_ai.as_bytes().iter().position(|&b| b == GS) {
                // GS is ASCII, so both cuts fall on character boundaries.
                Some(end) => (
                    after_ai.get(..end).unwrap_or_default(),
                    after_ai.get(end + 1..).unwrap_or_default(),
                ),
                None => (after_ai, ""),
            },
        };
        if value.as_bytes().contains(&GS) {
            return Err(Gs1Error::new(
                ErrorCode::InvalidCharacter,
                format!("({ai}) has a separator (GS) inside its fixed-length value"),
            ));
        }
        if let Some(def) = def {
            let (_, max) = def.length_bounds();
            if value.len() > max {
                return Err(Gs1Error::new(
                    ErrorCode::ValueTooLong,
                    format!(
                        "({ai}) {} may hold at most {max} characters but runs to {} (\"{}\"): \
                         a separator (FNC1/GS) is probably missing, so the field boundary is unknown",
                        def.title,
                        value.len(),
                        Quoted(value.as_bytes())
                    ),
                ));
            }
        }
        elements.push(Element {
            ai,
            value: value.to_owned(),
            def,
        });
        rest = next;
    }
    Ok(elements)
}

/// Parse the bracketed form `(01)09506000134352(10)ABC`; `\(` stands for a literal `(`.
pub fn split_bracketed(text: &str, rules: &Rules) -> Result<Vec<Element>, Gs1Error> {
    let syntax = |msg: String| Gs1Error::new(ErrorCode::BracketSyntax, msg);
    let bytes = text.as_bytes();
    if bytes.is_empty() {
        return Err(Gs1Error::new(
            ErrorCode::EmptyScan,
            "the scan holds no data",
        ));
    }
    // Once for the whole text: values are then built byte by byte as characters.
    if !text.is_ascii() {
        return Err(Gs1Error::new(
            ErrorCode::NonAsciiCharacter,
            "the scan holds characters outside ASCII",
        ));
    }
    let mut elements = Vec::with_capacity(4);
    let mut pos = 0;
    while pos < bytes.len() {
        if bytes.get(pos) != Some(&b'(') {
            return Err(syntax(format!(
                "expected \"(\" to open an AI at position {}",
                pos + 1
            )));
        }
        let close = bytes
            .get(pos + 1..)
            .and_then(|r| r.iter().position(|&b| b == b')'))
            .map(|i| pos + 1 + i)
            .ok_or_else(|| syntax("an AI opened with \"(\" is never closed".into()))?;
        let digits = bytes.get(pos + 1..close).unwrap_or_default();
        let ai = Ai::new(digits).ok_or_else(|| {
            Gs1Error::new(
                ErrorCode::UnknownAi,
                format!("\"({})\" is not an Application Identifier", Quoted(digits)),
            )
        })?;
        let def = match ai::lookup(ai.as_str()) {
            Some(def) => Some(def),
            None if rules.permit_unknown_ais => None,
            None => {
                return Err(Gs1Error::new(
                    ErrorCode::UnknownAi,
                    format!("({ai}) is not a GS1 Application Identifier"),
                ));
            }
        };
        let mut value = String::new();
        let mut i = close + 1;
        while let Some(&b) = bytes.get(i) {
            match b {
                b'\\' if bytes.get(i + 1) == Some(&b'(') => {
                    value.push('(');
                    i += 2;
                }
                b'(' => break,
                _ => {
                    value.push(b as char);
                    i += 1;
                }
            }
        }
        if value.is_empty() {
            return Err(Gs1Error::new(
                ErrorCode::EmptyValue,
                format!("({ai}) has no value"),
            ));
        }
        elements.push(Element { ai, value, def });
        pos = i;
    }
    Ok(elements)
}

fn cset_ok(cset: Cset, b: u8) -> bool {
    match cset {
        Cset::Numeric => b.is_ascii_digit(),
        Cset::Cset82 => matches!(b, b'!' | b'"' | b'%'..=b'?' | b'A'..=b'Z' | b'_' | b'a'..=b'z'),
        Cset::Cset39 => matches!(b, b'#' | b'-' | b'/' | b'0'..=b'9' | b'A'..=b'Z'),
        Cset::Cset64 => matches!(b, b'-' | b'0'..=b'9' | b'A'..=b'Z' | b'_' | b'a'..=b'z' | b'='),
    }
}

fn cset_name(cset: Cset) -> &'static str {
    match cset {
        Cset::Numeric => "digits only",
        Cset::Cset82 => "GS1 character set 82",
        Cset::Cset39 => "GS1 character set 39",
        Cset::Cset64 => "GS1 character set 64",
    }
}

/// Check one element's value against its AI: lengths, character sets, content checks.
pub fn validate_value(element: &Element) -> Result<(), Gs1Error> {
    let ai = element.ai;
    let value = element.value.as_bytes();
    let Some(def) = element.def else {
        return match value.iter().position(|&b| !cset_ok(Cset::Cset82, b)) {
            Some(i) => Err(bad_char(ai, value, i, Cset::Cset82)),
            None => Ok(()),
        };
    };
    if value.is_empty() {
        return Err(Gs1Error::new(
            ErrorCode::EmptyValue,
            format!("({ai}) {} has no value", def.title),
        ));
    }
    let (min, max) = def.length_bounds();
    if value.len() < min {
        return Err(Gs1Error::new(
            ErrorCode::ValueTooShort,
            format!(
                "({ai}) {} needs {} characters, got {}",
                def.title,
                if min == max {
                    min.to_string()
                } else {
                    format!("at least {min}")
                },
                value.len()
            ),
        ));
    }
    if value.len() > max {
        return Err(Gs1Error::new(
            ErrorCode::ValueTooLong,
            format!(
                "({ai}) {} may hold at most {max} characters, got {}",
                def.title,
                value.len()
            ),
        ));
    }
    let mut pos = 0;
    for part in def.parts {
        let remaining = value.len() - pos;
        if remaining == 0 && part.optional {
            break;
        }
        let take = if part.is_fixed() {
            part.max as usize
        } else {
            remaining.min(part.max as usize)
        };
        let Some(text) = element.value.get(pos..pos + take) else {
            return Err(Gs1Error::new(
                ErrorCode::ValueTooShort,
                format!("({ai}) {} is incomplete", def.title),
            ));
        };
        if let Some(i) = text.bytes().position(|b| !cset_ok(part.cset, b)) {
            return Err(bad_char(ai, value, pos + i, part.cset));
        }
        // Base64url has padding rules beyond its character set.
        let cset_linter = (part.cset == Cset::Cset64).then_some(Linter::Cset64);
        for &linter in part.linters.iter().chain(cset_linter.iter()) {
            if let Err(e) = lint::lint(linter, text) {
                return Err(lint_error(ai, def, linter, text, &e));
            }
        }
        pos += take;
    }
    if pos < value.len() {
        return Err(Gs1Error::new(
            ErrorCode::ValueTooLong,
            format!("({ai}) {} has extra characters at the end", def.title),
        ));
    }
    Ok(())
}

fn bad_char(ai: Ai, value: &[u8], i: usize, cset: Cset) -> Gs1Error {
    let shown = Quoted(value.get(i..=i).unwrap_or_default());
    Gs1Error::new(
        ErrorCode::InvalidCharacter,
        format!(
            "({ai}) has \"{shown}\" at position {}, outside {}",
            i + 1,
            cset_name(cset)
        ),
    )
}

fn lint_error(ai: Ai, def: &AiDef, linter: Linter, text: &str, e: &lint::LintError) -> Gs1Error {
    let code = ErrorCode::from_lint(e.code);
    let culprit = text.get(e.span.clone()).unwrap_or(text);
    let what = match code {
        ErrorCode::CheckDigit => "check digit is wrong".to_string(),
        ErrorCode::InvalidDate => format!("\"{text}\" is not a valid date or time"),
        _ => format!("\"{culprit}\" fails the {linter:?} check"),
    };
    Gs1Error::new(
        code,
        format!("({ai}) {}: {what} ({})", def.title, e.code.gs1_name()),
    )
}

/// Check the message as a whole: repeated AIs agree, required AIs are present, exclusive AIs are
/// not together. Returns every problem, not just the first.
pub fn validate_message(elements: &[Element], rules: &Rules) -> Vec<Gs1Error> {
    let present = PresentAis::new(elements);
    let mut errors = Vec::new();
    for (i, el) in elements.iter().enumerate() {
        if let Some(prev) = present
            .first(el.ai)
            .filter(|&first| first != i)
            .and_then(|first| elements.get(first))
            && prev.value != el.value
        {
            errors.push(Gs1Error::new(
                ErrorCode::DuplicateAi,
                format!(
                    "({}) appears twice with different values (\"{}\" and \"{}\")",
                    el.ai,
                    Quoted(prev.value.as_bytes()),
                    Quoted(el.value.as_bytes())
                ),
            ));
        }
    }
    if !rules.check_associations {
        return errors;
    }
    for (i, el) in elements.iter().enumerate() {
        let Some(def) = el.def else { continue };
        // A repeated AI is checked once, at its first occurrence.
        if present.first(el.ai) != Some(i) {
            continue;
        }
        for group in def.requires {
            let satisfied = group.iter().any(|alt| {
                if alt.contains('+') {
                    alt.split('+').all(|pattern| present.has(pattern))
                } else {
                    present.has(alt)
                }
            });
            if !satisfied {
                errors.push(Gs1Error::new(
                    ErrorCode::MissingRequiredAi,
                    format!(
                        "({}) {} needs {} in the same barcode",
                        el.ai,
                        def.title,
                        describe_alternatives(group)
                    ),
                ));
            }
        }
        for pattern in def.excludes {
            // The other AI named by the pattern that comes first in the data.
            let Some((other_ai, other_at)) = present.first_match(pattern, Some(el.ai)) else {
                continue;
            };
            // Report each pair once, from the first AI of the pair in the data.
            let first_of_pair = i < other_at;
            let mutual = elements
                .get(other_at)
                .and_then(|other| other.def)
                .is_some_and(|d| {
                    d.excludes
                        .iter()
                        .any(|p| ai::matches_pattern(el.ai.as_str(), p))
                });
            if first_of_pair || !mutual {
                errors.push(Gs1Error::new(
                    ErrorCode::ExclusiveAis,
                    format!("({}) and ({other_ai}) must not appear together", el.ai),
                ));
            }
        }
    }
    errors.extend(digital_signature_needs_serialised_key(elements));
    errors
}

/// The AIs of a message, for the whole-message checks to look AIs up in.
///
/// A real scan holds a handful of elements, searched directly. A longer message is indexed
/// once (its distinct AIs sorted, each with where it first occurs) so that the checks never walk
/// every element again for every element: thousands of elements cost thousands of steps, not
/// millions.
enum PresentAis<'a> {
    Few(&'a [Element]),
    Many(Vec<(Ai, usize)>),
}

/// Up to this many elements, searching beats building an index.
const FEW_ELEMENTS: usize = 16;

impl PresentAis<'_> {
    fn new(elements: &[Element]) -> PresentAis<'_> {
        if elements.len() <= FEW_ELEMENTS {
            return PresentAis::Few(elements);
        }
        let mut by_ai: Vec<(Ai, usize)> = elements.iter().map(|e| e.ai).zip(0..).collect();
        // (AI, position) pairs are unique, so an unstable sort is deterministic; the first
        // occurrence of each AI sorts first and survives the dedup.
        by_ai.sort_unstable();
        by_ai.dedup_by_key(|&mut (ai, _)| ai);
        PresentAis::Many(by_ai)
    }

    /// Where `ai` first occurs, if it does.
    fn first(&self, ai: Ai) -> Option<usize> {
        match self {
            PresentAis::Few(elements) => elements.iter().position(|e| e.ai == ai),
            PresentAis::Many(by_ai) => {
                let at = by_ai.binary_search_by_key(&ai, |&(a, _)| a).ok()?;
                by_ai.get(at).map(|&(_, first)| first)
            }
        }
    }

    /// Whether any AI matches `pattern` (`n` for any digit).
    fn has(&self, pattern: &str) -> bool {
        self.first_match(pattern, None).is_some()
    }

    /// Of the AIs matching `pattern` other than `except`, the one that occurs first in the data,
    /// with where.
    fn first_match(&self, pattern: &str, except: Option<Ai>) -> Option<(Ai, usize)> {
        let matches =
            |ai: Ai| Some(ai) != except && ai::matches_pattern_bytes(ai.as_bytes(), pattern);
        match self {
            PresentAis::Few(elements) => elements
                .iter()
                .enumerate()
                .find(|(_, e)| matches(e.ai))
                .map(|(at, e)| (e.ai, at)),
            PresentAis::Many(by_ai) => {
                // Every match sorts between the pattern with `n` read as 0 and as 9.
                let (low, high) = pattern_bounds(pattern)?;
                let start = by_ai.partition_point(|&(ai, _)| ai < low);
                by_ai
                    .get(start..)
                    .unwrap_or_default()
                    .iter()
                    .take_while(|&&(ai, _)| ai <= high)
                    .filter(|&&(ai, _)| matches(ai))
                    .min_by_key(|&&(_, at)| at)
                    .copied()
            }
        }
    }
}

/// The smallest and largest AI a pattern such as `31nn` can match.
fn pattern_bounds(pattern: &str) -> Option<(Ai, Ai)> {
    let len = u8::try_from(pattern.len())
        .ok()
        .filter(|l| (2..=4).contains(l))?;
    let (mut low, mut high) = ([0u8; 4], [0u8; 4]);
    for ((l, h), p) in low.iter_mut().zip(high.iter_mut()).zip(pattern.bytes()) {
        (*l, *h) = if p == b'n' { (b'0', b'9') } else { (p, p) };
    }
    Some((Ai { digits: low, len }, Ai { digits: high, len }))
}

/// A digital signature (8030) must sign a serialised key: GDTI (253), GCN (255) and GRAI (8003)
/// qualify only with their optional serial component present.
fn digital_signature_needs_serialised_key(elements: &[Element]) -> Option<Gs1Error> {
    elements.iter().find(|e| e.ai.is("8030"))?;
    let unserialised = elements.iter().find(|e| {
        let base_len = match e.ai.as_str() {
            "253" | "255" => 13,
            "8003" => 14,
            _ => return false,
        };
        e.value.len() <= base_len
    })?;
    let has_other_key = elements.iter().any(|e| {
        matches!(e.ai.as_str(), "00" | "8004" | "8017" | "8018" | "8010") || e.ai.as_str() == "21"
    });
    (!has_other_key).then(|| {
        Gs1Error::new(
            ErrorCode::MissingRequiredAi,
            format!(
                "(8030) DIGSIG signs a serialised key, but ({}) has no serial component",
                unserialised.ai
            ),
        )
    })
}

fn describe_alternatives(group: &[&str]) -> String {
    let alts: Vec<String> = group
        .iter()
        .map(|alt| {
            alt.split('+')
                .map(|a| format!("({a})"))
                .collect::<Vec<_>>()
                .join(" with ")
        })
        .collect();
    match alts.as_slice() {
        [one] => one.clone(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
        [] => String::new(),
    }
}

/// The bracketed form of elements: `(01)09506000134352(21)ABC`, `(` in values escaped as `\(`.
pub fn to_bracketed(elements: &[Element]) -> String {
    let mut out = String::with_capacity(elements.iter().map(|e| e.value.len() + 6).sum());
    for el in elements {
        out.push('(');
        out.push_str(el.ai.as_str());
        out.push(')');
        for c in el.value.chars() {
            if c == '(' {
                out.push('\\');
            }
            out.push(c);
        }
    }
    out
}

/// The raw form of elements with FNC1 as GS, separators only where the standard needs them.
pub fn to_raw(elements: &[Element]) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, el) in elements.iter().enumerate() {
        out.extend_from_slice(el.ai.as_str().as_bytes());
        out.extend_from_slice(el.value.as_bytes());
        let predefined = el.def.is_some_and(|d| d.predefined);
        if !predefined && i + 1 < elements.len() {
            out.push(GS);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(s: &str) -> Result<Vec<Element>, Gs1Error> {
        split_raw(s.replace('^', "\x1d").as_bytes(), &Rules::default())
    }

    fn pairs(els: &[Element]) -> Vec<(String, String)> {
        els.iter()
            .map(|e| (e.ai.to_string(), e.value.clone()))
            .collect()
    }

    #[test]
    fn predefined_length_ais_need_no_separator() {
        let els = raw("010950600013435217261231102024A^21SER1").unwrap();
        assert_eq!(
            pairs(&els),
            vec![
                ("01".into(), "09506000134352".into()),
                ("17".into(), "261231".into()),
                ("10".into(), "2024A".into()),
                ("21".into(), "SER1".into()),
            ]
        );
    }

    #[test]
    fn missing_separator_is_rejected_not_guessed() {
        // A lot of 16 characters followed by 21 with no GS: "LOT1234567890123" + "21ABCDEFG"
        let err = raw("010950600013435210LOT123456789012321ABCDEFG").unwrap_err();
        assert_eq!(err.code, ErrorCode::ValueTooLong);
        assert!(err.message.contains("separator"), "{}", err.message);
    }

    #[test]
    fn leading_and_trailing_gs_are_tolerated() {
        assert_eq!(raw("^0109506000134352^").unwrap().len(), 1);
        assert_eq!(raw("^10ABC^").unwrap().len(), 1);
    }

    #[test]
    fn truncated_and_unknown_ais_fail_clearly() {
        assert_eq!(raw("0109506").unwrap_err().code, ErrorCode::ValueTooShort);
        assert_eq!(raw("891234").unwrap_err().code, ErrorCode::UnknownAi);
        assert_eq!(raw("1").unwrap_err().code, ErrorCode::UnknownAi);
        assert_eq!(raw("3106123456").unwrap_err().code, ErrorCode::UnknownAi);
        assert_eq!(raw("").unwrap_err().code, ErrorCode::EmptyScan);
        assert_eq!(raw("^").unwrap_err().code, ErrorCode::EmptyScan);
    }

    #[test]
    fn bracketed_form_round_trips() {
        let els = split_bracketed("(01)09506000134352(10)A\\(B(21)X", &Rules::default()).unwrap();
        assert_eq!(els[1].value, "A(B");
        assert_eq!(to_bracketed(&els), "(01)09506000134352(10)A\\(B(21)X");
        assert_eq!(
            split_bracketed("(01", &Rules::default()).unwrap_err().code,
            ErrorCode::BracketSyntax
        );
        assert_eq!(
            split_bracketed("(10)", &Rules::default()).unwrap_err().code,
            ErrorCode::EmptyValue
        );
        assert_eq!(
            split_bracketed("01)x", &Rules::default()).unwrap_err().code,
            ErrorCode::BracketSyntax
        );
    }

    #[test]
    fn raw_form_puts_separators_only_after_variable_length_values() {
        let els =
            split_bracketed("(01)09506000134352(10)AB(17)261231(21)S", &Rules::default()).unwrap();
        assert_eq!(
            to_raw(&els),
            b"010950600013435210AB\x1d1726123121S".to_vec()
        );
    }

    #[test]
    fn values_are_checked_against_their_ai() {
        let check = |s: &str| {
            let els = split_bracketed(s, &Rules::default()).unwrap();
            els.iter().try_for_each(validate_value)
        };
        assert!(check("(10)ABC-1.2/3").is_ok());
        assert_eq!(
            check("(10)AB C").unwrap_err().code,
            ErrorCode::InvalidCharacter
        );
        assert_eq!(
            check("(01)0950600013435A").unwrap_err().code,
            ErrorCode::InvalidCharacter
        );
        assert_eq!(
            check("(01)095060001343").unwrap_err().code,
            ErrorCode::ValueTooShort
        );
        assert_eq!(
            check("(10)123456789012345678901").unwrap_err().code,
            ErrorCode::ValueTooLong
        );
    }

    #[test]
    fn associations_are_enforced() {
        let msg = |s: &str| {
            let els = split_bracketed(s, &Rules::default()).unwrap();
            let errors = validate_message(&els, &Rules::default());
            // Long messages are checked through an index, short ones by search: padded with
            // copies of its first element (which add no problem), the message must give the
            // same errors.
            let mut long = els.clone();
            long.extend(std::iter::repeat_n(els[0].clone(), FEW_ELEMENTS));
            assert_eq!(validate_message(&long, &Rules::default()), errors, "{s}");
            errors.into_iter().map(|e| e.code).collect::<Vec<_>>()
        };
        assert_eq!(msg("(21)ABC"), vec![ErrorCode::MissingRequiredAi]);
        assert!(msg("(01)09506000134352(21)ABC").is_empty());
        assert_eq!(
            msg("(01)09506000134352(03)09506000134352"),
            vec![ErrorCode::ExclusiveAis]
        );
        assert_eq!(
            msg("(01)09506000134352(10)A(10)B"),
            vec![ErrorCode::DuplicateAi]
        );
        assert!(msg("(01)09506000134352(10)A(10)A").is_empty());
        assert_eq!(
            msg("(7004)12(01)09506000134352"),
            vec![ErrorCode::MissingRequiredAi]
        );
        // `n` patterns: a price needs a quantity (30 or 31nn...), two net weights in kg exclude
        // each other (reported once).
        assert_eq!(
            msg("(01)09506000134352(3922)1234"),
            vec![ErrorCode::MissingRequiredAi]
        );
        assert!(msg("(01)09506000134352(3103)000500(3922)1234").is_empty());
        assert_eq!(
            msg("(01)09506000134352(3102)000500(3103)000500"),
            vec![ErrorCode::ExclusiveAis]
        );
    }

    #[test]
    fn long_messages_are_checked_like_short_ones() {
        // Far more elements than a scan holds: every repeat of (10) with another value is a
        // duplicate, reported once each, in data order; the required GTIN is found once.
        let mut text = String::from("(21)S(01)09506000134352");
        for i in 0..1000 {
            text.push_str(&format!("(10)L{i}"));
        }
        let els = split_bracketed(&text, &Rules::default()).unwrap();
        let errors = validate_message(&els, &Rules::default());
        assert_eq!(errors.len(), 999);
        assert!(errors.iter().all(|e| e.code == ErrorCode::DuplicateAi));
        assert!(
            errors[0].message.contains("\"L0\" and \"L1\""),
            "{}",
            errors[0].message
        );
        assert!(
            errors[998].message.contains("\"L999\""),
            "{}",
            errors[998].message
        );
    }

    #[test]
    fn long_values_are_cut_in_messages() {
        let long = "A".repeat(5000);
        let els = split_bracketed(&format!("(90){long}(90)B"), &Rules::default()).unwrap();
        let errors = validate_message(&els, &Rules::default());
        assert_eq!(errors.len(), 1);
        assert!(errors[0].message.len() < 200, "{}", errors[0].message);
        assert!(errors[0].message.contains("AAAA…"), "{}", errors[0].message);
    }
}
