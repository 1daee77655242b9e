//! The GS1 Lightweight Messaging Standard for verification of product identifiers, as GS1 US
//! profiles it for DSCSA: the question a dispenser asks a manufacturer (through a verification
//! router) and the answer it gets, as pure values.
//!
//! The request is a GET of `{router}/gtin/{gtin14}/lot/{lot}/ser/{serial}` with the query
//! `exp=YYMMDD&linkType=verificationService&context=...&reqGLN=...&corrUUID=...`; the answer is
//! `{"verificationTimestamp", "responderGLN", "corrUUID", "data": {"verified",
//! "verificationFailureReason", "additionalInfo"}}`. The HTTP side lives in
//! [`crate::router`]; this module builds the path and checks the answer, and never touches the
//! network or the clock.

use crate::gs1::{Gln, Gtin};
use chrono::NaiveDate;
use serde_json::Value;
use std::fmt;

/// Why the requestor asks (the GS1 US `context` word). Free-form words from a newer profile
/// are accepted when they are plain tokens.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Context(String);

impl Context {
    /// A saleable return about to be restocked (the DSCSA case the standard was made for).
    pub const SALEABLE_RETURN: &str = "dscsaSaleableReturn";
    /// A pack under suspect-product investigation, or one the local data cannot vouch for.
    pub const SUSPECT: &str = "dscsaSuspect";

    /// A context word: 1 to 64 ASCII letters, digits, `-` or `_`.
    pub fn parse(word: &str) -> Result<Context, LmsError> {
        let ok = !word.is_empty()
            && word.len() <= 64
            && word
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if ok {
            Ok(Context(word.to_owned()))
        } else {
            Err(LmsError::Context(word.chars().take(80).collect()))
        }
    }

    pub fn saleable_return() -> Context {
        Context(Self::SALEABLE_RETURN.to_owned())
    }

    pub fn suspect() -> Context {
        Context(Self::SUSPECT.to_owned())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One verification question: the four elements of the product identifier, why, and who asks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub gtin: Gtin,
    pub serial: String,
    pub lot: String,
    pub expiry: NaiveDate,
    pub context: Context,
    pub requestor: Gln,
    /// A new UUID per request; the answer must echo it.
    pub corr_uuid: String,
}

impl Request {
    /// The path and query below the router's base URL (no leading `/`). Lot and serial are
    /// percent-encoded: GS1 allows `/`, `?`, `%`, `&` and `#` in them.
    pub fn path_and_query(&self) -> String {
        format!(
            "gtin/{}/lot/{}/ser/{}?exp={}&linkType=verificationService&context={}&reqGLN={}&corrUUID={}",
            self.gtin.as_str(),
            encode(&self.lot),
            encode(&self.serial),
            self.expiry.format("%y%m%d"),
            self.context,
            self.requestor.as_str(),
            encode(&self.corr_uuid),
        )
    }
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The manufacturer's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub verified: bool,
    /// `No_match_GTIN_Serial`, `No_match_GTIN_Serial_Lot`... when not verified.
    pub failure_reason: Option<String>,
    /// `Expired`, `Recalled`, `Suspect`, `Illegitimate`... (several joined by `, `).
    pub additional_info: Option<String>,
    pub responder_gln: Option<String>,
    pub corr_uuid: String,
    pub timestamp: Option<String>,
}

impl Answer {
    /// Plain words for the kiosk: "Manufacturer: verified" or the failure with its details.
    pub fn summary(&self) -> String {
        let mut text = if self.verified {
            "Manufacturer: verified".to_owned()
        } else {
            format!(
                "Manufacturer: NOT verified ({})",
                self.failure_reason.as_deref().unwrap_or("no reason given")
            )
        };
        if let Some(info) = &self.additional_info {
            text.push_str(&format!(", {info}"));
        }
        text
    }

    /// Whether the manufacturer calls the pack illegitimate (not verified for a reason other
    /// than missing data, or flagged suspect or illegitimate).
    pub fn flags_illegitimate(&self) -> bool {
        self.additional_info.as_deref().is_some_and(|info| {
            info.split(", ")
                .any(|w| w.eq_ignore_ascii_case("Illegitimate"))
        })
    }
}

/// Why a question could not be asked or an answer not used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LmsError {
    #[error("\"{0}\" is not a verification context (a word such as dscsaSaleableReturn)")]
    Context(String),
    #[error("the router's answer is not JSON: {0}")]
    NotJson(String),
    #[error("the router's answer has no {0}")]
    Missing(&'static str),
    #[error("the router's answer is for another request (corrUUID {got:?}, asked {sent:?})")]
    CorrUuidMismatch { sent: String, got: String },
    #[error("the router's answer has a {0} that is not text")]
    NotText(&'static str),
}

/// Longest text kept from an answer's field: the kiosk shows them, a log holds them.
const MAX_FIELD: usize = 200;

/// Reads and checks an answer to the request whose corrUUID was `sent`.
pub fn parse_answer(body: &[u8], sent: &str) -> Result<Answer, LmsError> {
    let value: Value =
        serde_json::from_slice(body).map_err(|e| LmsError::NotJson(e.to_string()))?;
    let corr = text_field(&value, "corrUUID")?.ok_or(LmsError::Missing("corrUUID"))?;
    if corr != sent {
        return Err(LmsError::CorrUuidMismatch {
            sent: sent.to_owned(),
            got: corr,
        });
    }
    let data = value.get("data").ok_or(LmsError::Missing("data"))?;
    let verified = data
        .get("verified")
        .and_then(Value::as_bool)
        .ok_or(LmsError::Missing("data.verified (true or false)"))?;
    let failure_reason = text_field(data, "verificationFailureReason")?;
    let additional_info = match data.get("additionalInfo") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(clean(s)),
        Some(Value::Array(items)) => {
            let words: Vec<String> = items
                .iter()
                .filter_map(Value::as_str)
                .map(clean)
                .filter(|s| !s.is_empty())
                .collect();
            (!words.is_empty()).then(|| words.join(", "))
        }
        Some(_) => return Err(LmsError::NotText("additionalInfo")),
    }
    .filter(|s| !s.is_empty());
    Ok(Answer {
        verified,
        failure_reason: failure_reason.filter(|s| !s.is_empty()),
        additional_info,
        responder_gln: text_field(&value, "responderGLN")?,
        corr_uuid: corr,
        timestamp: text_field(&value, "verificationTimestamp")?,
    })
}

fn text_field(value: &Value, name: &'static str) -> Result<Option<String>, LmsError> {
    match value.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(clean(s))),
        Some(_) => Err(LmsError::NotText(name)),
    }
}

/// Control characters dropped and the length bounded: an answer is shown and logged.
fn clean(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_control())
        .take(MAX_FIELD)
        .collect::<String>()
        .trim()
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> Request {
        Request {
            gtin: Gtin::parse("00300010123455").unwrap(),
            serial: "A/1 &?".into(),
            lot: "L%1".into(),
            expiry: NaiveDate::from_ymd_opt(2027, 3, 31).unwrap(),
            context: Context::saleable_return(),
            requestor: Gln::parse("0399999999991").unwrap(),
            corr_uuid: "0b7c1d7e-1111-4a4a-9999-123456789abc".into(),
        }
    }

    #[test]
    fn the_path_encodes_lot_and_serial() {
        assert_eq!(
            request().path_and_query(),
            "gtin/00300010123455/lot/L%251/ser/A%2F1%20%26%3F?exp=270331\
             &linkType=verificationService&context=dscsaSaleableReturn\
             &reqGLN=0399999999991&corrUUID=0b7c1d7e-1111-4a4a-9999-123456789abc"
        );
    }

    #[test]
    fn contexts_are_plain_words() {
        assert!(Context::parse("dscsaSuspect").is_ok());
        assert!(Context::parse("a&b=c").is_err());
        assert!(Context::parse("").is_err());
    }

    #[test]
    fn answers_are_checked_against_the_request() {
        let ok = br#"{"verificationTimestamp":"2026-11-30T10:00:00Z","responderGLN":"0300010000006",
            "corrUUID":"c1","data":{"verified":false,"verificationFailureReason":"No_match_GTIN_Serial_Lot",
            "additionalInfo":["Recalled","Suspect"]}}"#;
        let a = parse_answer(ok, "c1").unwrap();
        assert!(!a.verified);
        assert_eq!(
            a.failure_reason.as_deref(),
            Some("No_match_GTIN_Serial_Lot")
        );
        assert_eq!(a.additional_info.as_deref(), Some("Recalled, Suspect"));
        assert_eq!(a.responder_gln.as_deref(), Some("0300010000006"));
        assert!(a.summary().contains("NOT verified"));
        assert!(matches!(
            parse_answer(ok, "c2"),
            Err(LmsError::CorrUuidMismatch { .. })
        ));
        assert_eq!(
            parse_answer(br#"{"corrUUID":"c1","data":{}}"#, "c1"),
            Err(LmsError::Missing("data.verified (true or false)"))
        );
        assert_eq!(
            parse_answer(br#"{"data":{"verified":true}}"#, "c1"),
            Err(LmsError::Missing("corrUUID"))
        );
        assert!(matches!(
            parse_answer(b"<html>", "c1"),
            Err(LmsError::NotJson(_))
        ));
        let verified = parse_answer(
            br#"{"corrUUID":"c1","data":{"verified":true,"additionalInfo":"Illegitimate"}}"#,
            "c1",
        )
        .unwrap();
        assert!(verified.verified && verified.flags_illegitimate());
    }
}
