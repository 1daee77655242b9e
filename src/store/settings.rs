//! The site's settings: what `tracedesk config`, the setup screens and the kiosk's settings
//! screen write, each value checked (by the module it configures) before it is stored, and the
//! typed readers of the few the store itself needs (the site's GLN, the expiry horizons).

use std::path::Path;

use rusqlite::OptionalExtension;

use super::{Store, StoreError, backup, exceptions, next_step, pin, put_setting, setup};
use crate::gs1::Gln;

/// Settings `tracedesk config` knows; values are checked before they are stored.
pub const KNOWN_SETTINGS: &[&str] = &[
    "site_name",
    "site_gln",
    "upstream_url",
    "credentials_file",
    "scanner_profile",
    "company_prefix_len",
    "expiry_thresholds",
    "kiosk_camera",
    "inbox_dir",
    backup::DIR_KEY,
    backup::KEEP_KEY,
    exceptions::GRACE_KEY,
    exceptions::CONTACT_KEY,
    crate::router::ROUTER_KEY,
    crate::router::CREDENTIALS_KEY,
];

/// The expiry watch horizons in days when `expiry_thresholds` is not set.
pub const DEFAULT_EXPIRY_THRESHOLDS: [u32; 3] = [30, 60, 90];

impl Store {
    pub fn setting(&self, key: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .conn
            .prepare_cached("SELECT value FROM settings WHERE key = ?1")?
            .query_row([key], |r| r.get(0))
            .optional()?)
    }

    /// All settings, sorted by key.
    pub fn settings(&self) -> Result<Vec<(String, String)>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT key, value FROM settings ORDER BY key")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Set a known setting after checking its value; returns the value as stored (a GLN is
    /// normalised to its 13 digits).
    pub fn set_setting(&mut self, key: &str, value: &str) -> Result<String, StoreError> {
        let invalid = |message: String| StoreError::InvalidSetting {
            key: key.to_string(),
            message,
        };
        let value = value.trim();
        let stored = match key {
            // The setup's own checks, so `config` accepts exactly what setup does.
            "site_name" => setup::site_name(value).map_err(|e| invalid(e.message))?,
            "site_gln" => setup::site_gln(value)
                .map_err(|e| invalid(e.message))?
                .as_str()
                .to_string(),
            "upstream_url" => setup::upstream_url(value)
                .map_err(|e| invalid(e.message))?
                .ok_or_else(|| invalid("must not be empty".into()))?,
            "company_prefix_len" => match value {
                "" => return Err(invalid("must not be empty".into())),
                _ => setup::prefix_len(value)
                    .map_err(|e| invalid(e.message))?
                    .to_string(),
            },
            "expiry_thresholds" => {
                let days = parse_thresholds(value).map_err(invalid)?;
                days.iter()
                    .map(u32::to_string)
                    .collect::<Vec<_>>()
                    .join(",")
            }
            "kiosk_camera" => match value {
                "on" | "off" => value.to_string(),
                _ => return Err(invalid("must be on or off".into())),
            },
            "inbox_dir" => setup::inbox_dir(value)
                .map_err(|e| invalid(e.message))?
                .ok_or_else(|| invalid("must not be empty".into()))?
                .to_string_lossy()
                .into_owned(),
            // Absolute, because the kiosk and the command line may run from any directory.
            backup::DIR_KEY => backup::parse_dir(value).map_err(invalid)?,
            exceptions::GRACE_KEY => exceptions::parse_grace_days(value)
                .map_err(invalid)?
                .to_string(),
            exceptions::CONTACT_KEY => exceptions::parse_contact_email(value).map_err(invalid)?,
            crate::router::ROUTER_KEY => {
                crate::router::parse_router_url(value).map_err(|e| invalid(e.to_string()))?
            }
            crate::router::CREDENTIALS_KEY => {
                // Only the path is stored: the credential itself never enters the database.
                let path = Path::new(value);
                if !path.is_absolute() {
                    return Err(invalid(format!("\"{value}\" is not an absolute path")));
                }
                crate::router::RouterCredential::from_file(path)
                    .map_err(|e| invalid(e.to_string()))?;
                value.to_string()
            }
            backup::KEEP_KEY => backup::parse_keep(value).map_err(invalid)?.to_string(),
            // The PIN is changed only by whoever knows the current one (`tracedesk pin`, the
            // kiosk's settings): a hash written here would replace it without.
            _ if key == "kiosk_pin" || pin::PIN_KEYS.contains(&key) => {
                return Err(invalid(
                    "the pharmacist PIN is not set through config: run `tracedesk pin`, which \
                     asks for the current PIN"
                        .into(),
                ));
            }
            "credentials_file" | "scanner_profile" => {
                if value.is_empty() {
                    return Err(invalid("must not be empty".into()));
                }
                value.to_string()
            }
            // One setting per refusal reason; an empty text goes back to the default.
            _ if next_step::is_key(key) => {
                let reason = next_step::reason_of_key(key).map_err(invalid)?;
                return self.set_next_step(reason, value);
            }
            _ => return Err(StoreError::UnknownSetting(key.to_string())),
        };
        put_setting(&self.conn, key, &stored)?;
        Ok(stored)
    }

    /// The expiry watch horizons in days, ascending (setting `expiry_thresholds`, default
    /// 30, 60 and 90).
    pub fn expiry_thresholds(&self) -> Result<Vec<u32>, StoreError> {
        match self.setting("expiry_thresholds")? {
            Some(text) => parse_thresholds(&text)
                .map_err(|e| StoreError::Corrupt(format!("expiry_thresholds: {e}"))),
            None => Ok(DEFAULT_EXPIRY_THRESHOLDS.to_vec()),
        }
    }

    /// This site's GLN, when configured.
    pub fn site_gln(&self) -> Result<Option<Gln>, StoreError> {
        self.setting("site_gln")?
            .map(|v| Gln::parse(&v).map_err(|e| StoreError::Corrupt(format!("site_gln: {e}"))))
            .transpose()
    }
}

/// Comma-separated day counts, 1 to 3650 each; returned sorted and deduplicated.
fn parse_thresholds(text: &str) -> Result<Vec<u32>, String> {
    let mut days = text
        .split(',')
        .map(|part| match part.trim().parse::<u32>() {
            Ok(n @ 1..=3650) => Ok(n),
            _ => Err(format!(
                "\"{}\" is not a number of days (1 to 3650); write e.g. 30,60,90",
                part.trim()
            )),
        })
        .collect::<Result<Vec<_>, _>>()?;
    days.sort_unstable();
    days.dedup();
    Ok(days)
}
