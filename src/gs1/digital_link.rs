//! GS1 Digital Link URIs: `https://any.host/optional/path/01/{gtin}/10/{lot}/21/{serial}?17=YYMMDD`.
//!
//! A Digital Link carries the same AIs as a barcode's element string, as URI path segments (a
//! primary key and its qualifiers, in a fixed order) and query attributes. This module turns one
//! into elements and back. It accepts any host and path prefix (brands host their own resolvers)
//! but is strict about everything that decides what the data means: qualifier order, duplicate
//! AIs, percent-encoding, and characters a URI may not contain.

use super::ai::{self, AiDef};
use super::element::{Ai, Element, Rules};
use super::error::{ErrorCode, Gs1Error};
use std::collections::BTreeSet;

/// Options for Digital Link parsing beyond the strict defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DlOptions {
    /// Accept GTIN-8/12/13 in the `01` path segment (padded to 14 digits). Off by default, as
    /// the standard requires 14 digits; zero suppression is a common producer mistake.
    pub permit_zero_suppressed_gtin: bool,
    /// Accept convenience alphas (`/gtin/`, `/ser/`, `/lot/`...) in place of numeric AIs.
    pub permit_convenience_alphas: bool,
}

/// The stem used when generating canonical URIs.
pub const CANONICAL_STEM: &str = "https://id.gs1.org";

fn dl_error(message: impl Into<String>) -> Gs1Error {
    Gs1Error::new(ErrorCode::InvalidDigitalLink, message)
}

/// Whether `text` starts like a Digital Link (scheme `http://` or `https://`, either all lower
/// or all upper case).
pub fn looks_like_digital_link(text: &[u8]) -> bool {
    ["http://", "https://", "HTTP://", "HTTPS://"]
        .iter()
        .any(|s| text.starts_with(s.as_bytes()))
}

const ALPHAS: &[(&str, &str)] = &[
    ("sscc", "00"),
    ("gtin", "01"),
    ("lot", "10"),
    ("ser", "21"),
    ("cpv", "22"),
    ("gdti", "253"),
    ("gcn", "255"),
    ("ginc", "401"),
    ("gsin", "402"),
    ("gln", "414"),
    ("glnx", "254"),
    ("payTo", "415"),
    ("party", "417"),
    ("grai", "8003"),
    ("giai", "8004"),
    ("itip", "8006"),
    ("cpid", "8010"),
    ("cpsn", "8011"),
    ("gmn", "8013"),
    ("gsrnp", "8017"),
    ("gsrn", "8018"),
    ("srin", "8019"),
    ("upui", "235"),
];

fn segment_ai(seg: &str, opts: &DlOptions) -> Option<(Ai, &'static AiDef)> {
    let code = if opts.permit_convenience_alphas {
        ALPHAS
            .iter()
            .find(|(alpha, _)| *alpha == seg)
            .map_or(seg, |(_, code)| *code)
    } else {
        seg
    };
    let ai = Ai::new(code.as_bytes())?;
    let def = ai::lookup(ai.as_str())?;
    Some((ai, def))
}

fn hex(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

/// Percent-decode one path segment or query value. `+` means space only in a query.
pub fn unescape(text: &str, is_query: bool) -> Result<String, Gs1Error> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'%' => {
                let decoded = bytes
                    .get(i + 1)
                    .and_then(|&h| hex(h))
                    .zip(bytes.get(i + 2).and_then(|&l| hex(l)))
                    .map(|(h, l)| h * 16 + l)
                    .ok_or_else(|| dl_error(format!("bad percent-escape in \"{text}\"")))?;
                if decoded == 0 {
                    return Err(dl_error("a Digital Link value holds a NUL byte (%00)"));
                }
                out.push(decoded);
                i += 3;
            }
            b'+' if is_query => {
                out.push(b' ');
                i += 1;
            }
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out)
        .map_err(|_| dl_error(format!("\"{text}\" decodes to bytes that are not text")))
}

/// Percent-encode a value for a path segment or a query value: everything outside the URI
/// unreserved set is escaped, so any CSET 82 value survives a round trip.
pub fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn uri_char_ok(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'-' | b'.'
                | b'_'
                | b'~'
                | b':'
                | b'/'
                | b'?'
                | b'#'
                | b'['
                | b']'
                | b'@'
                | b'!'
                | b'$'
                | b'&'
                | b'\''
                | b'('
                | b')'
                | b'*'
                | b'+'
                | b','
                | b';'
                | b'='
                | b'%'
        )
}

fn host_ok(host: &str) -> bool {
    if host.is_empty() {
        return false;
    }
    if let Some(inner) = host.strip_prefix('[') {
        // IPv6 literal, optionally followed by :port. Zone IDs are not allowed in URIs here.
        let Some((addr, rest)) = inner.split_once(']') else {
            return false;
        };
        return !addr.is_empty()
            && addr
                .bytes()
                .all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.')
            && (rest.is_empty()
                || rest
                    .strip_prefix(':')
                    .is_some_and(|p| p.bytes().all(|b| b.is_ascii_digit())));
    }
    let (name, port) = match host.rsplit_once(':') {
        Some((name, port)) => (name, Some(port)),
        None => (host, None),
    };
    if port.is_some_and(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit())) {
        return false;
    }
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
        && name
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphanumeric())
}

/// Whether `quals` (qualifier AIs in path order) is an ordered subsequence of `sequence`.
fn follows_sequence(quals: &[Ai], sequence: &str) -> bool {
    let mut allowed = sequence.split(',');
    quals.iter().all(|q| allowed.any(|a| a == q.as_str()))
}

/// Parse a Digital Link URI into its elements: path AIs first (key, then qualifiers), then query
/// attributes in their order.
pub fn parse(uri: &str, rules: &Rules, opts: &DlOptions) -> Result<Vec<Element>, Gs1Error> {
    if let Some(b) = uri.bytes().find(|&b| !uri_char_ok(b)) {
        return Err(dl_error(format!(
            "a Digital Link may not contain \"{}\"",
            (b as char).escape_default()
        )));
    }
    let rest = ["https://", "http://", "HTTPS://", "HTTP://"]
        .iter()
        .find_map(|s| uri.strip_prefix(s))
        .ok_or_else(|| dl_error("a Digital Link starts with http:// or https://"))?;
    // A fragment is never part of the data.
    let rest = rest.split_once('#').map_or(rest, |(r, _)| r);
    let (authority_path, query) = rest.split_once('?').unwrap_or((rest, ""));
    let (host, path) = authority_path
        .split_once('/')
        .ok_or_else(|| dl_error("the Digital Link has no path"))?;
    if !host_ok(host) {
        return Err(dl_error(format!("\"{host}\" is not a valid host name")));
    }
    let segments: Vec<&str> = path.split('/').collect();
    let (key_at, key, key_def, qualifiers) = find_key_path(&segments, opts)?;

    let mut elements = Vec::with_capacity(4 + query.matches('&').count());
    // The AIs already taken, so a repeated one is found without walking all elements again.
    let mut seen = BTreeSet::new();
    let key_value = segments.get(key_at + 1).copied().unwrap_or_default();
    let mut value = unescape(key_value, false)?;
    if key.as_str() == "01"
        && opts.permit_zero_suppressed_gtin
        && matches!(value.len(), 8 | 12 | 13)
    {
        value = format!("{value:0>14}");
    }
    elements.push(Element {
        ai: key,
        value,
        def: Some(key_def),
    });
    seen.insert(key);
    for (i, (ai, def)) in qualifiers.iter().enumerate() {
        let raw = segments
            .get(key_at + 3 + 2 * i)
            .copied()
            .unwrap_or_default();
        seen.insert(*ai);
        elements.push(Element {
            ai: *ai,
            value: unescape(raw, false)?,
            def: Some(def),
        });
    }
    let quals: Vec<Ai> = qualifiers.iter().map(|(ai, _)| *ai).collect();
    let open_sequences: Vec<&str> = key_def
        .dl_key
        .unwrap_or_default()
        .iter()
        .copied()
        .filter(|seq| follows_sequence(&quals, seq))
        .collect();

    for param in query.split('&').filter(|p| !p.is_empty()) {
        let Some((name, raw)) = param.split_once('=') else {
            continue; // a singleton parameter carries no AI
        };
        if !name.bytes().all(|b| b.is_ascii_digit()) || name.is_empty() {
            if let Some(ai) = opts
                .permit_convenience_alphas
                .then(|| segment_ai(name, opts))
                .flatten()
                .map(|(ai, _)| ai)
            {
                push_attribute(&mut elements, &mut seen, ai, raw, rules, &open_sequences)?;
            }
            continue; // other non-numeric parameters are not GS1 data
        }
        let ai = Ai::new(name.as_bytes())
            .ok_or_else(|| dl_error(format!("\"{name}\" is not an Application Identifier")))?;
        push_attribute(&mut elements, &mut seen, ai, raw, rules, &open_sequences)?;
    }
    if opts.permit_zero_suppressed_gtin {
        for el in &mut elements {
            if el.ai.as_str() == "01" && matches!(el.value.len(), 8 | 12 | 13) {
                el.value = format!("{:0>14}", el.value);
            }
        }
    }
    Ok(elements)
}

fn push_attribute(
    elements: &mut Vec<Element>,
    seen: &mut BTreeSet<Ai>,
    ai: Ai,
    raw: &str,
    rules: &Rules,
    open_sequences: &[&str],
) -> Result<(), Gs1Error> {
    let def = ai::lookup(ai.as_str());
    let def = match def {
        Some(def) if def.dl_attribute => Some(def),
        Some(_) => {
            return Err(dl_error(format!(
                "({ai}) may not be a Digital Link query attribute"
            )));
        }
        None if rules.permit_unknown_ais => None,
        None => {
            return Err(dl_error(format!(
                "({ai}) in the query is not a GS1 Application Identifier"
            )));
        }
    };
    if open_sequences
        .iter()
        .any(|seq| seq.split(',').any(|q| q == ai.as_str()))
    {
        return Err(dl_error(format!(
            "({ai}) qualifies the primary key, so it belongs in the path, not the query"
        )));
    }
    if !seen.insert(ai) {
        return Err(dl_error(format!(
            "({ai}) appears more than once in the Digital Link"
        )));
    }
    let value = unescape(raw, true)?;
    if value.is_empty() {
        return Err(dl_error(format!("({ai}) has no value")));
    }
    elements.push(Element { ai, value, def });
    Ok(())
}

type KeyPath = (usize, Ai, &'static AiDef, Vec<(Ai, &'static AiDef)>);

/// Find where the GS1 part of the path starts: the leftmost position from which the remaining
/// segments form a primary key and qualifiers in a permitted order. Everything before is the
/// stem (any path prefix a brand's resolver uses).
fn find_key_path(segments: &[&str], opts: &DlOptions) -> Result<KeyPath, Gs1Error> {
    let n = segments.len();
    let mut start = n % 2;
    while start + 2 <= n {
        if let Some(found) = key_path_at(segments, start, opts) {
            return Ok(found);
        }
        start += 2;
    }
    Err(dl_error(
        "the Digital Link path has no GS1 primary key (such as /01/{GTIN}) with valid qualifiers",
    ))
}

fn key_path_at(segments: &[&str], start: usize, opts: &DlOptions) -> Option<KeyPath> {
    let (key, def) = segment_ai(segments.get(start)?, opts)?;
    let sequences = def.dl_key?;
    // More qualifier pairs than the longest permitted sequence can never be in order: say so
    // before reading them, so that trying every start stays linear in the path's length.
    let pairs = segments.len().saturating_sub(start + 2).div_ceil(2);
    let longest = sequences
        .iter()
        .map(|seq| seq.split(',').count())
        .max()
        .unwrap_or(0);
    if pairs > longest {
        return None;
    }
    let mut qualifiers = Vec::new();
    let mut i = start + 2;
    while i + 1 < segments.len() + 1 && i < segments.len() {
        let (q, qdef) = segment_ai(segments.get(i)?, opts)?;
        qualifiers.push((q, qdef));
        i += 2;
    }
    let quals: Vec<Ai> = qualifiers.iter().map(|(q, _)| *q).collect();
    let ordered = quals.is_empty() || sequences.iter().any(|seq| follows_sequence(&quals, seq));
    let values_present = (start + 1..segments.len())
        .step_by(2)
        .all(|v| segments.get(v).is_some_and(|s| !s.is_empty()));
    (ordered && values_present).then_some((start, key, def, qualifiers))
}

/// The canonical Digital Link of elements: primary key, its qualifiers in the standard order in
/// the path, every other DL attribute in the query, on `stem` (default `https://id.gs1.org`).
pub fn generate(elements: &[Element], stem: Option<&str>) -> Result<String, Gs1Error> {
    generate_with(elements, stem, false)
}

/// [`generate`], optionally carrying unknown AIs (accepted under
/// [`Rules::permit_unknown_ais`]) as query attributes.
pub fn generate_with(
    elements: &[Element],
    stem: Option<&str>,
    allow_unknown_attributes: bool,
) -> Result<String, Gs1Error> {
    let stem = stem.unwrap_or(CANONICAL_STEM).trim_end_matches('/');
    let key = elements
        .iter()
        .find(|e| e.def.is_some_and(|d| d.dl_key.is_some()))
        .ok_or_else(|| dl_error("no AI in the data can be a Digital Link primary key"))?;
    let sequences = key.def.and_then(|d| d.dl_key).unwrap_or_default();
    let mut uri = format!("{stem}/{}/{}", key.ai, escape(&key.value));
    let mut used = vec![key.ai];
    // The first permitted sequence whose qualifiers are present decides the path.
    let sequence = sequences.iter().find(|seq| {
        seq.split(',')
            .any(|q| elements.iter().any(|e| e.ai.as_str() == q))
    });
    if let Some(seq) = sequence {
        for q in seq.split(',') {
            if let Some(el) = elements.iter().find(|e| e.ai.as_str() == q) {
                uri.push_str(&format!("/{}/{}", el.ai, escape(&el.value)));
                used.push(el.ai);
            }
        }
    }
    let mut sep = '?';
    // Attributes: predefined-length AIs first, then the rest, each in data order; an AI repeated
    // with the same value is written once.
    let rest: Vec<&Element> = elements.iter().filter(|e| !used.contains(&e.ai)).collect();
    let (fixed, variable): (Vec<&Element>, Vec<&Element>) = rest
        .into_iter()
        .partition(|e| e.def.is_some_and(|d| d.predefined));
    let mut written: BTreeSet<(Ai, &str)> = BTreeSet::new();
    for el in fixed.into_iter().chain(variable) {
        if !written.insert((el.ai, el.value.as_str())) {
            continue;
        }
        if el.def.is_none() && !allow_unknown_attributes {
            return Err(dl_error(format!(
                "({}) is not a known AI, so it cannot be a Digital Link attribute",
                el.ai
            )));
        }
        if el.def.is_some_and(|d| !d.dl_attribute) {
            return Err(dl_error(format!(
                "({}) cannot be carried in a Digital Link",
                el.ai
            )));
        }
        uri.push(sep);
        uri.push_str(&format!("{}={}", el.ai, escape(&el.value)));
        sep = '&';
    }
    Ok(uri)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dl(uri: &str) -> Result<Vec<(String, String)>, Gs1Error> {
        parse(uri, &Rules::default(), &DlOptions::default()).map(|els| {
            els.into_iter()
                .map(|e| (e.ai.to_string(), e.value))
                .collect()
        })
    }

    #[test]
    fn pharma_link_with_path_prefix_and_query() {
        let els =
            dl("https://brand.example/x/y/01/09506000134352/10/AB%2F1/21/S%20N?17=261231").unwrap();
        assert_eq!(
            els,
            vec![
                ("01".into(), "09506000134352".into()),
                ("10".into(), "AB/1".into()),
                ("21".into(), "S N".into()),
                ("17".into(), "261231".into()),
            ]
        );
    }

    #[test]
    fn qualifiers_out_of_order_or_in_query_are_rejected() {
        assert!(dl("https://a/01/09506000134352/21/S/10/L").is_err());
        assert!(dl("https://a/01/09506000134352?10=L").is_err());
        assert!(dl("https://a/01/09506000134352/10/L?10=L").is_err());
        assert!(dl("https://a/01/09506000134352/").is_err());
        assert!(dl("https://a/b").is_err());
        assert!(dl("https://a/01/09506000134352 x").is_err());
    }

    #[test]
    fn generate_puts_qualifiers_in_path_and_attributes_in_query() {
        let els = parse(
            "https://a/01/09506000134352/10/L%201/21/S?17=261231",
            &Rules::default(),
            &DlOptions::default(),
        )
        .unwrap();
        assert_eq!(
            generate(&els, None).unwrap(),
            "https://id.gs1.org/01/09506000134352/10/L%201/21/S?17=261231"
        );
    }

    #[test]
    fn a_long_stem_of_key_like_segments_is_stem() {
        // Only the last key has a qualifier path that fits: everything before it is the stem.
        let uri = format!(
            "https://a{}/01/09506000134352/10/L?17=261231",
            "/01/09506000134352".repeat(300)
        );
        assert_eq!(
            dl(&uri).unwrap(),
            vec![
                ("01".into(), "09506000134352".into()),
                ("10".into(), "L".into()),
                ("17".into(), "261231".into()),
            ]
        );
        let repeated = "https://a/01/09506000134352?17=261231&17=261231";
        assert!(dl(repeated).unwrap_err().message.contains("more than once"));
    }

    #[test]
    fn escape_and_unescape_round_trip_cset82() {
        let value = "!\"%&'()*+,-./:;<=>?_AZaz09";
        assert_eq!(unescape(&escape(value), false).unwrap(), value);
        assert_eq!(unescape(&escape(value), true).unwrap(), value);
        assert!(unescape("%G1", false).is_err());
        assert!(unescape("%4", false).is_err());
    }
}
