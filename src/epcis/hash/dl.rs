//! Identifier normalisation for the pre-hash string (CBV 2.0 event hash rules 17 and 18): every
//! EPC URN, EPC class URN and EPC pattern URN becomes its canonical GS1 Digital Link URI, and every
//! Digital Link URI is constrained to `https://id.gs1.org`, no query string, and only the finest
//! level of identification.
//!
//! Values that are not GS1 identifiers return `None` and enter the pre-hash string unchanged.
//! Percent-escapes are kept as written (neither decoded nor re-cased), as the reference
//! implementation does; characters that the EPC URN leaves bare but a Digital Link path must
//! escape (`! ( ) * + , :`) are escaped.

use crate::epcis::epc::with_check_digit;

/// Canonical Digital Link form of an EPC URN or Digital Link URI, or `None` when `uri` is neither.
pub(crate) fn canonical_digital_link(uri: &str) -> Option<String> {
    if let Some(body) = uri.strip_prefix("urn:epc:id:") {
        epc_id(body)
    } else if let Some(body) = uri.strip_prefix("urn:epc:class:lgtin:") {
        let (gtin, lot) = gtin_and_rest(body)?;
        serial_chars(lot, 20).then(|| format!("{ROOT}/01/{gtin}/10/{}", escape(lot)))
    } else if let Some(body) = uri.strip_prefix("urn:epc:idpat:") {
        epc_pattern(body)
    } else if uri.starts_with("https://") || uri.starts_with("http://") {
        digital_link(uri)
    } else {
        None
    }
}

const ROOT: &str = "https://id.gs1.org";

/// Escapes the characters an EPC URN may leave bare but a Digital Link path may not.
fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '!' => out.push_str("%21"),
            '(' => out.push_str("%28"),
            ')' => out.push_str("%29"),
            '*' => out.push_str("%2A"),
            '+' => out.push_str("%2B"),
            ',' => out.push_str("%2C"),
            ':' => out.push_str("%3A"),
            other => out.push(other),
        }
    }
    out
}

fn digits(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_digit())
}

/// Characters the EPC Tag Data Standard allows in URN serials (with `%xx` counting as one), 1..=max.
fn serial_chars(s: &str, max: usize) -> bool {
    let bytes = s.as_bytes();
    let mut count = 0;
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let ok = bytes.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                && bytes.get(i + 2).is_some_and(u8::is_ascii_hexdigit);
            if !ok {
                return false;
            }
            i += 3;
        } else if b.is_ascii_alphanumeric() || b"!')(*+,.:;=_-".contains(&b) {
            i += 1;
        } else {
            return false;
        }
        count += 1;
    }
    (1..=max).contains(&count)
}

/// `cp.ref` with a 6..=12 digit company prefix and `cp + ref == total` digits.
fn prefix_and_ref(cp: &str, reference: &str, total: usize) -> bool {
    (6..=12).contains(&cp.len())
        && digits(cp)
        && digits(reference)
        && cp.len() + reference.len() == total
}

/// GTIN-14 from `cp.itemref.rest`, returning the rest unparsed.
fn gtin_and_rest(body: &str) -> Option<(String, &str)> {
    let mut parts = body.splitn(3, '.');
    let (cp, item, rest) = (parts.next()?, parts.next()?, parts.next()?);
    if !prefix_and_ref(cp, item, 13) {
        return None;
    }
    let (indicator, item_rest) = item.split_at_checked(1)?;
    Some((
        with_check_digit(&format!("{indicator}{cp}{item_rest}"))?,
        rest,
    ))
}

/// Key with check digit from `cp.ref.rest` where `cp + ref == total`, plus the rest.
fn key_and_rest(body: &str, total: usize) -> Option<(String, &str)> {
    let mut parts = body.splitn(3, '.');
    let (cp, reference, rest) = (parts.next()?, parts.next()?, parts.next()?);
    prefix_and_ref(cp, reference, total).then_some(())?;
    Some((with_check_digit(&format!("{cp}{reference}"))?, rest))
}

fn epc_id(body: &str) -> Option<String> {
    let (scheme, rest) = body.split_once(':')?;
    match scheme {
        "sgtin" => {
            let (gtin, serial) = gtin_and_rest(rest)?;
            serial_chars(serial, 20).then(|| format!("{ROOT}/01/{gtin}/21/{}", escape(serial)))
        }
        "sscc" => {
            let (cp, serial_ref) = rest.split_once('.')?;
            prefix_and_ref(cp, serial_ref, 17).then_some(())?;
            let (ext, serial_rest) = serial_ref.split_at_checked(1)?;
            Some(format!(
                "{ROOT}/00/{}",
                with_check_digit(&format!("{ext}{cp}{serial_rest}"))?
            ))
        }
        "sgln" => {
            let (gln, ext) = key_and_rest(rest, 12)?;
            serial_chars(ext, 20).then_some(())?;
            Some(if ext == "0" {
                format!("{ROOT}/414/{gln}")
            } else {
                format!("{ROOT}/414/{gln}/254/{}", escape(ext))
            })
        }
        "grai" => {
            let (cp, asset_and_serial) = rest.split_once('.')?;
            let (asset, serial) = asset_and_serial.split_once('.')?;
            prefix_and_ref(cp, asset, 12).then_some(())?;
            serial_chars(serial, 16).then_some(())?;
            let key = with_check_digit(&format!("0{cp}{asset}"))?;
            Some(format!("{ROOT}/8003/{key}{}", escape(serial)))
        }
        "giai" => {
            let (cp, asset) = rest.split_once('.')?;
            ((6..=12).contains(&cp.len()) && digits(cp) && serial_chars(asset, 30 - cp.len()))
                .then(|| format!("{ROOT}/8004/{cp}{}", escape(asset)))
        }
        "gsrn" | "gsrnp" => {
            let (cp, service) = rest.split_once('.')?;
            prefix_and_ref(cp, service, 17).then_some(())?;
            let ai = if scheme == "gsrn" { "8018" } else { "8017" };
            Some(format!(
                "{ROOT}/{ai}/{}",
                with_check_digit(&format!("{cp}{service}"))?
            ))
        }
        "gdti" => {
            let (key, serial) = key_and_rest(rest, 12)?;
            (serial.is_empty() || serial_chars(serial, 17))
                .then(|| format!("{ROOT}/253/{key}{}", escape(serial)))
        }
        "cpi" => {
            let (cp, cp_ref_and_serial) = rest.split_once('.')?;
            let (cp_ref, serial) = cp_ref_and_serial.rsplit_once('.')?;
            let ok = (6..=12).contains(&cp.len())
                && digits(cp)
                && cpi_ref_chars(cp_ref, 30 - cp.len())
                && !serial.is_empty()
                && serial.len() <= 12
                && digits(serial);
            ok.then(|| format!("{ROOT}/8010/{cp}{}/8011/{serial}", escape(cp_ref)))
        }
        "sgcn" => {
            let (key, serial) = key_and_rest(rest, 12)?;
            (!serial.is_empty() && serial.len() <= 12 && digits(serial))
                .then(|| format!("{ROOT}/255/{key}{serial}"))
        }
        "ginc" => {
            let (cp, consignment) = rest.split_once('.')?;
            ((6..=12).contains(&cp.len()) && digits(cp) && serial_chars(consignment, 30 - cp.len()))
                .then(|| format!("{ROOT}/401/{cp}{}", escape(consignment)))
        }
        "gsin" => {
            let (cp, shipper) = rest.split_once('.')?;
            prefix_and_ref(cp, shipper, 16).then_some(())?;
            Some(format!(
                "{ROOT}/402/{}",
                with_check_digit(&format!("{cp}{shipper}"))?
            ))
        }
        "itip" => {
            let (gtin, rest) = gtin_and_rest(rest)?;
            let mut parts = rest.splitn(3, '.');
            let (piece, total, serial) = (parts.next()?, parts.next()?, parts.next()?);
            let ok = piece.len() == 2
                && total.len() == 2
                && digits(piece)
                && digits(total)
                && serial_chars(serial, 20);
            ok.then(|| format!("{ROOT}/8006/{gtin}{piece}{total}/21/{}", escape(serial)))
        }
        "upui" => {
            let (gtin, tpx) = gtin_and_rest(rest)?;
            serial_chars(tpx, 28).then(|| format!("{ROOT}/01/{gtin}/235/{}", escape(tpx)))
        }
        "pgln" => {
            let (cp, party) = rest.split_once('.')?;
            prefix_and_ref(cp, party, 12).then_some(())?;
            Some(format!(
                "{ROOT}/417/{}",
                with_check_digit(&format!("{cp}{party}"))?
            ))
        }
        _ => None,
    }
}

/// Component reference of a CPI: upper-case letters, digits, `-`, and the escapes `%23` / `%2F`.
fn cpi_ref_chars(s: &str, max: usize) -> bool {
    let bytes = s.as_bytes();
    let mut count = 0;
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let hex = s.get(i + 1..i + 3).unwrap_or_default();
            if !matches!(hex, "23" | "2F" | "2f") {
                return false;
            }
            i += 3;
        } else if b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-' {
            i += 1;
        } else {
            return false;
        }
        count += 1;
    }
    (1..=max).contains(&count)
}

fn epc_pattern(body: &str) -> Option<String> {
    let (scheme, rest) = body.split_once(':')?;
    let rest = rest.strip_suffix(".*")?;
    match scheme {
        "sgtin" | "upui" => {
            let (cp, item) = rest.split_once('.')?;
            let (gtin, _) = gtin_and_rest(&format!("{cp}.{item}.x"))?;
            Some(format!("{ROOT}/01/{gtin}"))
        }
        "grai" => {
            let (cp, asset) = rest.split_once('.')?;
            prefix_and_ref(cp, asset, 12).then_some(())?;
            Some(format!(
                "{ROOT}/8003/{}",
                with_check_digit(&format!("0{cp}{asset}"))?
            ))
        }
        "gdti" | "sgcn" => {
            let (cp, reference) = rest.split_once('.')?;
            prefix_and_ref(cp, reference, 12).then_some(())?;
            let ai = if scheme == "gdti" { "253" } else { "255" };
            Some(format!(
                "{ROOT}/{ai}/{}",
                with_check_digit(&format!("{cp}{reference}"))?
            ))
        }
        "cpi" => {
            let (cp, cp_ref) = rest.split_once('.')?;
            ((6..=12).contains(&cp.len()) && digits(cp) && cpi_ref_chars(cp_ref, 30 - cp.len()))
                .then(|| format!("{ROOT}/8010/{cp}{}", escape(cp_ref)))
        }
        "itip" => {
            let (gtin, rest) = gtin_and_rest(rest)?;
            let (piece, total) = rest.split_once('.')?;
            let ok = piece.len() == 2 && total.len() == 2 && digits(piece) && digits(total);
            ok.then(|| format!("{ROOT}/8006/{gtin}{piece}{total}"))
        }
        _ => None,
    }
}

/// Primary keys a Digital Link path may start with, long names first mapped to their AI.
fn key_ai(segment: &str) -> Option<&'static str> {
    Some(match segment {
        "01" | "gtin" => "01",
        "8006" | "itip" => "8006",
        "8010" | "cpid" => "8010",
        "414" | "gln" => "414",
        "417" | "party" => "417",
        "8017" | "gsrnp" => "8017",
        "8018" | "gsrn" => "8018",
        "255" | "gcn" => "255",
        "00" | "sscc" => "00",
        "253" | "gdti" => "253",
        "401" | "ginc" => "401",
        "402" | "gsin" => "402",
        "8003" | "grai" => "8003",
        "8004" | "giai" => "8004",
        _ => return None,
    })
}

fn qualifier_ai(segment: &str) -> &str {
    match segment {
        "cpv" => "22",
        "lot" => "10",
        "ser" => "21",
        other => other,
    }
}

/// Characters the canonical form admits in alphanumeric AI values (CSET 82 minus the ones a
/// path must escape), plus `%` for values that arrive already percent-encoded.
fn dl_value(s: &str, max: usize) -> bool {
    s.len() <= max
        && s.bytes().all(|b| {
            b.is_ascii_alphanumeric()
                || matches!(b, b'"' | b'\'' | b'-' | b'.' | b';'..=b'?' | b'_' | b'%')
        })
}

fn digital_link(uri: &str) -> Option<String> {
    let (_, after_scheme) = uri.split_once("://")?;
    let without_query = after_scheme.split(['?', '#']).next()?;
    let (_, path) = without_query.split_once('/')?;
    let segments: Vec<&str> = path.split('/').collect();
    // The resolver's own path prefix ends where the first GS1 primary key starts.
    let start = segments.windows(2).position(|w| match w {
        [ai, value] => {
            key_ai(ai).is_some()
                && value.len() > 4
                && value.bytes().take(4).all(|b| b.is_ascii_digit())
        }
        _ => false,
    })?;
    let mut rest = segments.get(start..)?.iter().copied();
    let ai = key_ai(rest.next()?)?;
    let mut value = rest.next()?.to_owned();
    let mut qualifiers: Vec<(&str, &str)> = Vec::new();
    loop {
        match (rest.next(), rest.next()) {
            (Some(q), Some(v)) => qualifiers.push((qualifier_ai(q), v)),
            (Some(""), None) | (None, _) => break,
            (Some(_), None) => return None,
        }
    }
    if ai == "01" {
        value = match value.len() {
            8 | 12 | 13 => format!("{value:0>14}"),
            _ => value,
        };
    }
    if matches!(ai, "01" | "8006") {
        // Only the finest granularity: no CPV, and no lot when a serial is present.
        qualifiers.retain(|(q, _)| *q != "22");
        if qualifiers.iter().any(|(q, _)| *q == "21") {
            qualifiers.retain(|(q, _)| *q != "10");
        }
    }
    let valid_key = match ai {
        "00" => value.len() == 18 && digits(&value),
        "01" => value.len() == 14 && digits(&value),
        "8006" | "8017" | "8018" => value.len() == 18 && digits(&value),
        "402" => value.len() == 17 && digits(&value),
        "414" | "417" => value.len() == 13 && digits(&value),
        "253" => {
            value.get(..13).is_some_and(digits) && value.get(13..).is_some_and(|s| dl_value(s, 17))
        }
        "255" => value.len() >= 13 && value.len() <= 25 && digits(&value),
        "8003" => {
            value.get(..14).is_some_and(digits) && value.get(14..).is_some_and(|s| dl_value(s, 16))
        }
        "401" | "8004" => dl_value(&value, 30),
        "8010" => {
            value.len() <= 30
                && value.bytes().all(|b| {
                    b.is_ascii_uppercase()
                        || b.is_ascii_digit()
                        || matches!(b, b'#' | b'-' | b'/' | b'%')
                })
        }
        _ => false,
    };
    let valid_qualifiers = match (ai, qualifiers.as_slice()) {
        (_, []) => true,
        ("01", [("21" | "10", v)]) | ("8006", [("21" | "10", v)]) | ("414", [("254", v)]) => {
            dl_value(v, 20)
        }
        ("01", [("235", v)]) => dl_value(v, 28),
        ("8010", [("8011", v)]) => v.len() <= 12 && digits(v),
        _ => false,
    };
    if !(valid_key && valid_qualifiers) {
        return None;
    }
    let mut out = format!("{ROOT}/{ai}/{value}");
    for (q, v) in qualifiers {
        out.push('/');
        out.push_str(q);
        out.push('/');
        out.push_str(v);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::canonical_digital_link as dl;

    #[test]
    fn every_epc_scheme_maps_to_its_digital_link() {
        let cases = [
            (
                "urn:epc:id:sgtin:4012345.011111.9876",
                "https://id.gs1.org/01/04012345111118/21/9876",
            ),
            (
                "urn:epc:id:sscc:4012345.3111111111",
                "https://id.gs1.org/00/340123451111111111",
            ),
            (
                "urn:epc:id:sgln:4012345.00005.122",
                "https://id.gs1.org/414/4012345000054/254/122",
            ),
            (
                "urn:epc:id:sgln:4012345.00005.0",
                "https://id.gs1.org/414/4012345000054",
            ),
            (
                "urn:epc:id:grai:4012345.00022.334455",
                "https://id.gs1.org/8003/04012345000221334455",
            ),
            (
                "urn:epc:id:giai:4012345.ABC345",
                "https://id.gs1.org/8004/4012345ABC345",
            ),
            (
                "urn:epc:id:gsrn:4012345.0000006765",
                "https://id.gs1.org/8018/401234500000067657",
            ),
            (
                "urn:epc:id:gsrnp:4012345.0000000007",
                "https://id.gs1.org/8017/401234500000000074",
            ),
            (
                "urn:epc:id:gdti:987659999999..9",
                "https://id.gs1.org/253/98765999999929",
            ),
            (
                "urn:epc:id:cpi:0614141.11111111111111-A%23%2F.1234",
                "https://id.gs1.org/8010/061414111111111111111-A%23%2F/8011/1234",
            ),
            (
                "urn:epc:id:sgcn:4012345.99999.44",
                "https://id.gs1.org/255/401234599999044",
            ),
            (
                "urn:epc:id:ginc:0614141.xyz47%2F11",
                "https://id.gs1.org/401/0614141xyz47%2F11",
            ),
            (
                "urn:epc:id:gsin:4012345.222333444",
                "https://id.gs1.org/402/40123452223334442",
            ),
            (
                "urn:epc:id:itip:4012345.011111.01.02.987",
                "https://id.gs1.org/8006/040123451111180102/21/987",
            ),
            (
                "urn:epc:id:upui:1234567.098765.51qIgY)%3C%26Jp3*j7'SDB",
                "https://id.gs1.org/01/01234567987651/235/51qIgY%29%3C%26Jp3%2Aj7'SDB",
            ),
            (
                "urn:epc:id:pgln:999999999999.",
                "https://id.gs1.org/417/9999999999994",
            ),
            (
                "urn:epc:class:lgtin:4012345.012345.Lot987",
                "https://id.gs1.org/01/04012345123456/10/Lot987",
            ),
            (
                "urn:epc:idpat:sgtin:4054739.099914.*",
                "https://id.gs1.org/01/04054739999148",
            ),
            (
                "urn:epc:idpat:itip:4012345.012345.01.02.*",
                "https://id.gs1.org/8006/040123451234560102",
            ),
        ];
        for (urn, want) in cases {
            assert_eq!(dl(urn).as_deref(), Some(want), "{urn}");
        }
    }

    #[test]
    fn digital_links_are_constrained() {
        assert_eq!(
            dl("https://example.com/gtin/09780345418913/21/765tz?abc=211121").as_deref(),
            Some("https://id.gs1.org/01/09780345418913/21/765tz")
        );
        assert_eq!(
            dl("https://example.com/p/01/9780345418913/22/A/10/L/21/S").as_deref(),
            Some("https://id.gs1.org/01/09780345418913/21/S")
        );
        assert_eq!(dl("https://example.com/about"), None);
        assert_eq!(dl("https://id.gs1.org/01/09780345418/21/S"), None);
        assert_eq!(dl("urn:epc:id:sgtin:4012345.011111."), None);
        assert_eq!(dl("geo:50.9,6.9"), None);
    }
}
