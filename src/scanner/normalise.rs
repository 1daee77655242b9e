//! The keyboard-wedge normalisation step: what a scanner typed, back into the bytes it read.
//!
//! A scanner in keyboard-wedge mode cannot type GS (0x1D), so its profile names a stand-in
//! ([`GsSubstitute`]); [`normalise`] turns that stand-in back into GS before the GS1 parser
//! sees the scan. Used by the kiosk's wedge and serial paths and by `tracedesk listen`.

use super::profile::GsSubstitute;

/// The keyboard-wedge normalisation step: turns the profile's stand-in for GS back into GS
/// (0x1D) in one scan's bytes.
///
/// Only a text substitute changes bytes: GS sent as is needs nothing; Ctrl+] already arrives as
/// 0x1D through a terminal (the GUI path handles the key press in [`crate::scanner::wedge`]); a function
/// key cannot travel as bytes; a dropped GS cannot be restored (the GS1 parser must reject
/// what it cannot split). Two parts of a scan are never touched, to avoid corrupting data:
/// the AIM symbology identifier (`]d2`: `]` is a plausible substitute) and a Digital Link URI
/// (plain data without GS, where `~` and friends are ordinary characters).
///
/// Risk: a substitute that may occur in CSET 82 data (acknowledged with
/// `substitute_may_appear_in_data`) turns such data characters into separators too; the GS1
/// parser then usually rejects the scan, but can in rare cases split it wrongly.
pub fn normalise(bytes: &[u8], substitute: &GsSubstitute) -> Vec<u8> {
    let GsSubstitute::Text { text, .. } = substitute else {
        return bytes.to_vec();
    };
    let needle = text.as_bytes();
    let (prefix, body) = split_aim_prefix(bytes);
    if needle.is_empty() || is_digital_link(body) {
        return bytes.to_vec();
    }
    let mut out = Vec::with_capacity(bytes.len());
    out.extend_from_slice(prefix);
    let mut rest = body;
    while !rest.is_empty() {
        if rest.starts_with(needle) {
            out.push(0x1D);
            rest = rest.get(needle.len()..).unwrap_or_default();
        } else if let Some((&first, tail)) = rest.split_first() {
            out.push(first);
            rest = tail;
        }
    }
    out
}

/// Splits off a leading AIM symbology identifier (`]` + code character + modifier).
pub fn split_aim_prefix(bytes: &[u8]) -> (&[u8], &[u8]) {
    match bytes {
        [b']', code, modifier, ..]
            if code.is_ascii_alphabetic() && modifier.is_ascii_alphanumeric() =>
        {
            bytes.split_at(3)
        }
        _ => (&[], bytes),
    }
}

fn is_digital_link(body: &[u8]) -> bool {
    let starts = |scheme: &[u8]| {
        body.get(..scheme.len())
            .is_some_and(|head| head.eq_ignore_ascii_case(scheme))
    };
    starts(b"https://") || starts(b"http://")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scanner::key::WedgeKey;

    fn text_sub(s: &str) -> GsSubstitute {
        GsSubstitute::Text {
            text: s.into(),
            may_appear_in_data: false,
        }
    }

    #[test]
    fn normalise_replaces_text_substitute() {
        assert_eq!(
            normalise(b"]d2010950600013435210ABC~21XYZ", &text_sub("~")),
            b"]d2010950600013435210ABC\x1d21XYZ".to_vec()
        );
        assert_eq!(
            normalise(b"10AB^]21X^]", &text_sub("^]")),
            b"10AB\x1d21X\x1d".to_vec()
        );
    }

    #[test]
    fn normalise_keeps_aim_prefix_and_digital_links() {
        assert_eq!(
            normalise(b"]d2010]21", &text_sub("]")),
            b"]d2010\x1d21".to_vec()
        );
        let uri = b"]Q1https://example.com/01/09506000134352/21/a~b";
        assert_eq!(normalise(uri, &text_sub("~")), uri.to_vec());
    }

    #[test]
    fn normalise_leaves_other_substitutes_alone() {
        let data = b"]d2010950600013435210A\x1d21B";
        for sub in [
            GsSubstitute::AsIs,
            GsSubstitute::CtrlCloseBracket,
            GsSubstitute::Dropped,
            GsSubstitute::Key(WedgeKey::Function(8)),
        ] {
            assert_eq!(normalise(data, &sub), data.to_vec());
        }
    }
}
