//! A site's setup: who this desk is (name, GLN and the SGLN events name it by) and where its
//! data goes (upstream capture interface, partner inbox), checked in one place.
//!
//! The kiosk's first-run screens, its settings screen, `tracedesk setup` and `tracedesk config`
//! all check what a person typed with these functions, so a value one of them accepts is never
//! refused by another. [`SiteAnswers::check`] turns the answers as typed into a [`SiteSetup`]
//! that is valid by construction, and [`Store::apply_site_setup`] writes it in one
//! transaction: a setup is in force whole or not at all.
//!
//! The pharmacist PIN is part of every setup but not of this module: its rules and its hash
//! live in [`crate::ui::pin`], which both front ends call after applying the site.

use std::path::{Path, PathBuf};

use rusqlite::params;

use super::{Store, StoreError};
use crate::gs1::Gln;

/// The GS1 Company Prefix length assumed until the site says otherwise (the usual length of
/// a US prefix, and of GS1's example GLNs).
pub const DEFAULT_PREFIX_LEN: u8 = 7;

/// The longest site name, in characters: it heads exports and fits the status bar.
pub const MAX_SITE_NAME: usize = 80;

/// What is wrong with one answer, in words for the person typing it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct SetupError {
    /// The answer, as the form labels it ("site GLN").
    pub field: &'static str,
    /// What is wrong and what would be right.
    pub message: String,
}

fn error(field: &'static str, message: impl Into<String>) -> SetupError {
    SetupError {
        field,
        message: message.into(),
    }
}

/// The pharmacy's name: one line, 1 to [`MAX_SITE_NAME`] characters.
pub fn site_name(text: &str) -> Result<String, SetupError> {
    let name = text.trim();
    if name.is_empty() {
        return Err(error("site name", "must not be empty"));
    }
    if name.chars().any(char::is_control) {
        return Err(error("site name", "one line of plain text"));
    }
    let chars = name.chars().count();
    if chars > MAX_SITE_NAME {
        return Err(error(
            "site name",
            format!("{chars} characters; at most {MAX_SITE_NAME}"),
        ));
    }
    Ok(name.to_owned())
}

/// The site's GLN: 13 digits with a valid check digit.
pub fn site_gln(text: &str) -> Result<Gln, SetupError> {
    Gln::parse(text.trim()).map_err(|e| error("site GLN", format!("not a GLN: {e}")))
}

/// The length of the GS1 Company Prefix inside the GLN (6 to 12 digits); empty for the
/// default ([`DEFAULT_PREFIX_LEN`]).
pub fn prefix_len(text: &str) -> Result<u8, SetupError> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(DEFAULT_PREFIX_LEN);
    }
    match text.parse::<u8>() {
        Ok(n @ 6..=12) => Ok(n),
        _ => Err(error(
            "GS1 Company Prefix length",
            "a GS1 Company Prefix has 6 to 12 digits",
        )),
    }
}

/// The site's SGLN, as EPCIS events name a location (`urn:epc:id:sgln:0614141.00002.0`).
pub fn sgln(gln: &Gln, prefix_len: u8) -> String {
    // `prefix_len` passed [`prefix_len`], so the URN exists; the Digital Link is the fallback
    // that needs no prefix length at all.
    gln.sgln_urn(usize::from(prefix_len))
        .unwrap_or_else(|| gln.digital_link())
}

/// The upstream EPCIS capture interface, without a trailing slash; `None` when left empty.
/// The URL rule is the sync client's own ([`crate::net::service_url`]): https, or plain http
/// only to loopback unless the user opted out ([`crate::net::ALLOW_INSECURE_HTTP_ENV`]), so a
/// URL saved here is one `tracedesk sync` will use.
pub fn upstream_url(text: &str) -> Result<Option<String>, SetupError> {
    let url = text.trim();
    if url.is_empty() {
        return Ok(None);
    }
    crate::net::service_url(url, crate::net::insecure_http_allowed())
        .map_err(|e| error("upstream URL", e.to_string()))?;
    Ok(Some(url.trim_end_matches('/').to_owned()))
}

/// The verification router manufacturers are asked through: https (plain http only to
/// loopback, as [`crate::router::parse_router_url`] rules); `None` when left empty.
pub fn verification_router(text: &str) -> Result<Option<String>, SetupError> {
    if text.trim().is_empty() {
        return Ok(None);
    }
    crate::router::parse_router_url(text)
        .map(Some)
        .map_err(|e| error("verification router", e.to_string()))
}

/// The folder partners' documents are dropped in: absolute (the kiosk and the command line
/// run from any directory) and existing; `None` when left empty.
pub fn inbox_dir(text: &str) -> Result<Option<PathBuf>, SetupError> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    let path = Path::new(text);
    if !path.is_absolute() {
        return Err(error(
            "partner inbox folder",
            format!("\"{text}\" is not an absolute path"),
        ));
    }
    if !path.is_dir() {
        return Err(error(
            "partner inbox folder",
            format!("{text} is not a folder"),
        ));
    }
    Ok(Some(path.to_path_buf()))
}

/// A setup's answers as typed; empty strings are unanswered optional questions.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SiteAnswers {
    pub name: String,
    pub gln: String,
    /// Empty for [`DEFAULT_PREFIX_LEN`].
    pub prefix_len: String,
    /// The scanner profile's name; empty to keep the one in force.
    pub scanner_profile: String,
    pub upstream_url: String,
    pub inbox_dir: String,
    pub verification_router: String,
}

/// A checked setup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SiteSetup {
    pub name: String,
    pub gln: Gln,
    pub prefix_len: u8,
    /// `None`: the profile in force is kept.
    pub scanner_profile: Option<String>,
    /// `None`: the upstream in force (or none) is kept.
    pub upstream_url: Option<String>,
    /// `None`: the inbox in force (or none) is kept.
    pub inbox_dir: Option<PathBuf>,
    /// `None`: the router in force (or none) is kept.
    pub verification_router: Option<String>,
}

impl SiteSetup {
    /// The site's SGLN.
    pub fn sgln(&self) -> String {
        sgln(&self.gln, self.prefix_len)
    }
}

impl SiteAnswers {
    /// The setup these answers make, or the first answer that is wrong (in the order asked).
    pub fn check(&self) -> Result<SiteSetup, SetupError> {
        let profile = self.scanner_profile.trim();
        Ok(SiteSetup {
            name: site_name(&self.name)?,
            gln: site_gln(&self.gln)?,
            prefix_len: prefix_len(&self.prefix_len)?,
            scanner_profile: (!profile.is_empty()).then(|| profile.to_owned()),
            upstream_url: upstream_url(&self.upstream_url)?,
            inbox_dir: inbox_dir(&self.inbox_dir)?,
            verification_router: verification_router(&self.verification_router)?,
        })
    }
}

impl Store {
    /// Whether this store still needs its setup: no site GLN yet.
    pub fn needs_setup(&self) -> Result<bool, StoreError> {
        Ok(self.setting("site_gln")?.is_none())
    }

    /// The answers in force, to start a setup run again from (empty where unset).
    pub fn site_answers(&self) -> Result<SiteAnswers, StoreError> {
        let get = |key: &str| self.setting(key).map(Option::unwrap_or_default);
        Ok(SiteAnswers {
            name: get("site_name")?,
            gln: get("site_gln")?,
            prefix_len: get("company_prefix_len")?,
            scanner_profile: get("scanner_profile")?,
            upstream_url: get("upstream_url")?,
            inbox_dir: get("inbox_dir")?,
            verification_router: get(crate::router::ROUTER_KEY)?,
        })
    }

    /// Writes a checked setup in one transaction.
    pub fn apply_site_setup(&mut self, setup: &SiteSetup) -> Result<(), StoreError> {
        let prefix = setup.prefix_len.to_string();
        let inbox = setup
            .inbox_dir
            .as_ref()
            .map(|dir| dir.to_string_lossy().into_owned());
        let values = [
            ("site_name", Some(setup.name.as_str())),
            ("site_gln", Some(setup.gln.as_str())),
            ("company_prefix_len", Some(prefix.as_str())),
            ("scanner_profile", setup.scanner_profile.as_deref()),
            ("upstream_url", setup.upstream_url.as_deref()),
            ("inbox_dir", inbox.as_deref()),
            (
                crate::router::ROUTER_KEY,
                setup.verification_router.as_deref(),
            ),
        ];
        let tx = self.conn_mut().transaction()?;
        for (key, value) in values {
            if let Some(value) = value {
                tx.execute(
                    "INSERT INTO settings (key, value) VALUES (?1, ?2)
                     ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                    params![key, value],
                )?;
            }
        }
        tx.commit()?;
        tracing::info!("site set up: {} ({})", setup.name, setup.sgln());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answers() -> SiteAnswers {
        SiteAnswers {
            name: " Main Street Pharmacy ".into(),
            gln: "0614141000029".into(),
            ..SiteAnswers::default()
        }
    }

    #[test]
    fn a_gln_with_a_wrong_check_digit_is_refused_and_a_good_one_gives_its_sgln() {
        let wrong = site_gln("0614141000028").unwrap_err();
        assert_eq!(wrong.field, "site GLN");
        assert!(
            wrong.to_string().starts_with("site GLN: not a GLN:"),
            "{wrong}"
        );
        let gln = site_gln(" 0614141000029 ").unwrap();
        assert_eq!(sgln(&gln, 7), "urn:epc:id:sgln:0614141.00002.0");
        assert_eq!(sgln(&gln, 9), "urn:epc:id:sgln:061414100.002.0");
    }

    #[test]
    fn each_answer_is_checked_in_the_order_asked() {
        let setup = answers().check().unwrap();
        assert_eq!(setup.name, "Main Street Pharmacy");
        assert_eq!(setup.prefix_len, DEFAULT_PREFIX_LEN);
        assert_eq!((setup.upstream_url, setup.inbox_dir), (None, None));

        let mut bad = answers();
        bad.name = "  ".into();
        bad.gln = "123".into();
        assert_eq!(bad.check().unwrap_err().field, "site name");
        bad.name = "Pharmacy".into();
        assert_eq!(bad.check().unwrap_err().field, "site GLN");
        let mut bad = answers();
        bad.prefix_len = "13".into();
        assert_eq!(bad.check().unwrap_err().field, "GS1 Company Prefix length");
        bad.prefix_len = "9".into();
        bad.upstream_url = "ftp://x".into();
        assert_eq!(bad.check().unwrap_err().field, "upstream URL");
        bad.upstream_url = "https://epcis.example.com/capture/".into();
        bad.inbox_dir = "relative/dir".into();
        assert_eq!(bad.check().unwrap_err().field, "partner inbox folder");
        bad.inbox_dir = String::new();
        let setup = bad.check().unwrap();
        assert_eq!(
            setup.upstream_url.as_deref(),
            Some("https://epcis.example.com/capture")
        );
        assert_eq!(setup.prefix_len, 9);
    }

    #[test]
    fn names_are_one_short_line() {
        assert!(site_name("A\nB").is_err());
        assert!(site_name(&"x".repeat(MAX_SITE_NAME)).is_ok());
        assert!(site_name(&"x".repeat(MAX_SITE_NAME + 1)).is_err());
        assert!(upstream_url("https://").is_err());
        assert!(upstream_url("https://a b").is_err());
    }

    #[test]
    fn a_setup_is_applied_whole_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("s.db")).unwrap();
        assert!(store.needs_setup().unwrap());
        let mut typed = answers();
        typed.inbox_dir = dir.path().to_string_lossy().into_owned();
        typed.scanner_profile = "zebra-ds2208".into();
        let setup = typed.check().unwrap();
        store.apply_site_setup(&setup).unwrap();
        assert!(!store.needs_setup().unwrap());
        let back = store.site_answers().unwrap();
        assert_eq!(back.name, "Main Street Pharmacy");
        assert_eq!(back.gln, "0614141000029");
        assert_eq!(back.prefix_len, "7");
        assert_eq!(back.scanner_profile, "zebra-ds2208");
        assert_eq!(back.upstream_url, "");
        assert_eq!(back.inbox_dir, typed.inbox_dir);
        // The answers read back check as the same setup.
        assert_eq!(back.check().unwrap(), setup);
    }
}
