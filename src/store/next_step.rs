//! What the clerk does with a refused pack: one plain instruction per refusal reason, shown on
//! the kiosk's red card under the reasons ("Put the pack in the quarantine tote and call the
//! pharmacist").
//!
//! Every reason has a default here; a site replaces any of them with its own words through the
//! setting `next_step.<reason code>` (`tracedesk config next_step.expired "..."`, or the kiosk's
//! settings screen), and an empty value goes back to the default. Both front ends read the
//! texts through [`NextSteps`], so the kiosk and `tracedesk config` always agree on what is in
//! force.
//!
//! A scan refused for several reasons gets one instruction, the gravest reason's
//! ([`NextSteps::for_reasons`]): a clerk holding a pack needs one thing to do, and a stolen
//! pack that is also unexpected must go to the quarantine tote, not back to the supplier.

use std::collections::BTreeMap;

use rusqlite::params;

use super::{Store, StoreError};
use crate::verify::Reason;

/// The settings key prefix; the reason's code follows (`next_step.recalled`).
pub const KEY_PREFIX: &str = "next_step.";

/// The longest instruction a site may set, in characters: it has to fit the card in large type.
pub const MAX_CHARS: usize = 200;

/// Reasons from gravest to mildest: the first one a scan has decides its instruction. Every
/// [`Reason`] is listed once (a test checks).
const GRAVITY: [Reason; 15] = [
    Reason::Stolen,
    Reason::Destroyed,
    Reason::Suspect,
    Reason::Decommissioned,
    Reason::Recalled,
    Reason::Quarantined,
    Reason::NoMatchGtinSerial,
    Reason::NoMatchLot,
    Reason::NoMatchExpiry,
    Reason::Expired,
    Reason::UnknownProduct,
    Reason::NotExpected,
    Reason::DuplicateScan,
    Reason::NotInStock,
    Reason::InvalidBarcode,
];

/// The built-in instruction for `reason`, used until the site sets its own.
pub fn default_step(reason: Reason) -> &'static str {
    // A pack the supplier cannot vouch for is suspect product under DSCSA: it is held apart
    // and a pharmacist decides, never shelved and never simply sent back.
    const QUARANTINE: &str =
        "Do not shelve. Put the pack in the quarantine tote and call the pharmacist now.";
    match reason {
        Reason::Stolen | Reason::Destroyed | Reason::Suspect => QUARANTINE,
        Reason::Decommissioned => {
            "Do not shelve: this pack was already dispensed or taken out of use. Put it in the \
             quarantine tote and call the pharmacist."
        }
        Reason::NoMatchGtinSerial | Reason::NoMatchLot | Reason::NoMatchExpiry => {
            "Do not shelve: the supplier's data does not vouch for this pack. Put it in the \
             quarantine tote and call the pharmacist."
        }
        Reason::Recalled => {
            "Do not shelve. Put the pack in the recall tote and tell the pharmacist."
        }
        Reason::Quarantined => {
            "A pharmacist is holding this pack. Put it back in the quarantine tote."
        }
        Reason::Expired => {
            "Do not shelve. Set the pack aside in the returns tote for the supplier."
        }
        Reason::UnknownProduct => {
            "Set the pack aside for the pharmacist: this product is not in the product list yet."
        }
        Reason::NotExpected => {
            "Set the pack aside for the supplier: it is not on this shipment. Tell the \
             pharmacist when the shipment is closed."
        }
        Reason::DuplicateScan => {
            "If you scanned the same pack twice, shelve it as usual. If this is a second pack \
             with the same serial, put it in the quarantine tote and call the pharmacist."
        }
        Reason::NotInStock => {
            "Set the pack aside and call the pharmacist: it was never received here."
        }
        Reason::InvalidBarcode => {
            "Scan the pack again. If it still fails, set it aside for the pharmacist."
        }
    }
}

/// The settings key of `reason`'s instruction.
pub fn key(reason: Reason) -> String {
    format!("{KEY_PREFIX}{}", reason.code())
}

/// Whether `key` names an instruction setting, well formed or not (`next_step.` anything).
pub fn is_key(key: &str) -> bool {
    key.starts_with(KEY_PREFIX)
}

/// The reason a `next_step.<code>` key names, or what is wrong with the key.
pub fn reason_of_key(key: &str) -> Result<Reason, String> {
    let code = key.strip_prefix(KEY_PREFIX).unwrap_or(key);
    Reason::from_code(code).ok_or_else(|| {
        let codes: Vec<&str> = Reason::ALL.iter().map(|r| r.code()).collect();
        format!(
            "\"{code}\" is not a refusal reason; reasons: {}",
            codes.join(", ")
        )
    })
}

/// An instruction as a site typed it, checked: one line of plain text that fits the card.
/// `None` for an empty text, which means "back to the default".
pub fn check_text(text: &str) -> Result<Option<String>, String> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    if text.chars().any(char::is_control) {
        return Err("one line of plain text, without tabs or line breaks".into());
    }
    let chars = text.chars().count();
    if chars > MAX_CHARS {
        return Err(format!(
            "{chars} characters; at most {MAX_CHARS} fit the refusal card"
        ));
    }
    Ok(Some(text.to_owned()))
}

/// The instructions in force at this site: its own where it set one, the defaults elsewhere.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NextSteps {
    site: BTreeMap<Reason, String>,
}

impl NextSteps {
    /// The defaults with the site's own texts over them (texts are checked as when set).
    pub fn with_site_texts(
        texts: impl IntoIterator<Item = (Reason, String)>,
    ) -> Result<Self, String> {
        let mut site = BTreeMap::new();
        for (reason, text) in texts {
            let checked = check_text(&text).map_err(|e| format!("{}: {e}", key(reason)))?;
            if let Some(text) = checked {
                site.insert(reason, text);
            }
        }
        Ok(Self { site })
    }

    /// The instruction for `reason`.
    pub fn text(&self, reason: Reason) -> &str {
        self.site
            .get(&reason)
            .map_or_else(|| default_step(reason), String::as_str)
    }

    /// The site's own text for `reason`, if it set one.
    pub fn site_text(&self, reason: Reason) -> Option<&str> {
        self.site.get(&reason).map(String::as_str)
    }

    /// The one instruction for a scan refused for `reasons`: the gravest reason's. `None` when
    /// there is no reason (a verified pack).
    pub fn for_reasons(&self, reasons: &[Reason]) -> Option<&str> {
        GRAVITY
            .iter()
            .find(|r| reasons.contains(r))
            .map(|&r| self.text(r))
    }
}

impl Store {
    /// The refusal instructions in force here.
    pub fn next_steps(&self) -> Result<NextSteps, StoreError> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT key, value FROM settings WHERE key >= ?1 AND key < ?2 ORDER BY key",
        )?;
        // `next_step.` up to `next_step/`: the keys with the prefix, by the primary key.
        let rows = stmt.query_map(params![KEY_PREFIX, "next_step/"], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
        })?;
        let mut texts = Vec::new();
        for row in rows {
            let (key, value) = row?;
            let reason = reason_of_key(&key)
                .map_err(|e| StoreError::Corrupt(format!("setting {key}: {e}")))?;
            texts.push((reason, value));
        }
        NextSteps::with_site_texts(texts).map_err(StoreError::Corrupt)
    }

    /// Sets the site's instruction for `reason`; an empty text goes back to the default.
    /// Returns the instruction now in force.
    pub fn set_next_step(&mut self, reason: Reason, text: &str) -> Result<String, StoreError> {
        let key = key(reason);
        let checked = check_text(text).map_err(|message| StoreError::InvalidSetting {
            key: key.clone(),
            message,
        })?;
        match checked {
            Some(text) => {
                self.conn().execute(
                    "INSERT INTO settings (key, value) VALUES (?1, ?2)
                     ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                    params![key, text],
                )?;
                Ok(text)
            }
            None => {
                self.conn()
                    .execute("DELETE FROM settings WHERE key = ?1", [&key])?;
                Ok(default_step(reason).to_owned())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reason_has_a_default_and_a_place_in_the_gravity_order() {
        for reason in Reason::ALL {
            assert_eq!(
                GRAVITY.iter().filter(|&&r| r == reason).count(),
                1,
                "{reason}"
            );
            let text = default_step(reason);
            assert!(check_text(text).unwrap().is_some(), "{reason}: {text}");
        }
    }

    #[test]
    fn the_gravest_reason_decides_the_instruction() {
        let steps = NextSteps::default();
        // Stolen and not on the shipment: quarantine, not back to the supplier.
        let stolen = steps
            .for_reasons(&[Reason::NotExpected, Reason::Stolen])
            .unwrap();
        assert_eq!(stolen, default_step(Reason::Stolen));
        assert!(stolen.contains("quarantine tote"));
        assert_eq!(
            steps.for_reasons(&[Reason::NotExpected]),
            Some(default_step(Reason::NotExpected))
        );
        assert_eq!(steps.for_reasons(&[]), None);
    }

    #[test]
    fn a_site_text_replaces_the_default_for_its_reason_only() {
        let steps = NextSteps::with_site_texts([(
            Reason::Expired,
            "  Put it in the blue bin (Dr Ames).  ".to_owned(),
        )])
        .unwrap();
        assert_eq!(
            steps.text(Reason::Expired),
            "Put it in the blue bin (Dr Ames)."
        );
        assert_eq!(steps.text(Reason::Recalled), default_step(Reason::Recalled));
        assert_eq!(steps.site_text(Reason::Recalled), None);
    }

    #[test]
    fn texts_are_one_line_that_fits_the_card() {
        assert_eq!(check_text("   "), Ok(None));
        assert!(check_text("first line\nsecond").is_err());
        assert!(check_text("a\tb").is_err());
        assert!(check_text(&"x".repeat(MAX_CHARS)).is_ok());
        let long = check_text(&"é".repeat(MAX_CHARS + 1)).unwrap_err();
        assert!(long.contains("201 characters"), "{long}");
    }

    #[test]
    fn keys_name_a_reason_code() {
        assert_eq!(reason_of_key("next_step.recalled"), Ok(Reason::Recalled));
        assert_eq!(key(Reason::NoMatchLot), "next_step.no_match_lot");
        let wrong = reason_of_key("next_step.broken").unwrap_err();
        assert!(
            wrong.contains("\"broken\" is not a refusal reason"),
            "{wrong}"
        );
        assert!(wrong.contains("duplicate_scan"), "{wrong}");
    }

    #[test]
    fn the_store_keeps_site_texts_and_an_empty_one_restores_the_default() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("s.db")).unwrap();
        assert_eq!(store.next_steps().unwrap(), NextSteps::default());
        let set = store
            .set_next_step(Reason::Recalled, "Red tote, shelf 3.")
            .unwrap();
        assert_eq!(set, "Red tote, shelf 3.");
        // Another setting after the prefix range is not read as an instruction.
        store
            .set_setting("scanner_profile", "zebra-ds2208")
            .unwrap();
        let steps = store.next_steps().unwrap();
        assert_eq!(steps.text(Reason::Recalled), "Red tote, shelf 3.");
        assert_eq!(steps.site_text(Reason::Expired), None);
        assert!(store.set_next_step(Reason::Recalled, "a\nb").is_err());
        let reset = store.set_next_step(Reason::Recalled, "").unwrap();
        assert_eq!(reset, default_step(Reason::Recalled));
        assert_eq!(store.next_steps().unwrap(), NextSteps::default());
    }
}
