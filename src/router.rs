//! # Asking the manufacturer: the verification router client
//!
//! When the local cache cannot answer (no data yet, a suspect pack, a saleable return), the
//! desk asks the manufacturer through a verification router with a GS1 Lightweight Messaging
//! request ([`crate::verify::lms`] builds it and checks the answer). This adapter sends it:
//!
//! - the router URL is `https://` (plain `http://` only to loopback, as for the upstream);
//! - the trading partner's credential is read from a file (never stored in the database, never
//!   logged: it prints as `[redacted]`) and sent to the router's own origin alone; redirects
//!   are never followed (a lookup directory that redirects is reported, not obeyed, so the
//!   credential cannot be carried to a host nobody configured);
//! - every request is short: 0.8 s to connect and 1.8 s in all, so a clerk never waits more
//!   than 2 s; after one failure the rest of a batch is not tried ([`VerificationRouter::ask`]
//!   answers at once), and the questions wait in the store's queue to be asked again;
//! - answers are read to at most 64 KiB.

use crate::net::{
    Origin, Secret, install_crypto_provider, read_within, service_url, unreachable_reason,
};
use crate::verify::lms::{self, Answer, LmsError};
use reqwest::blocking::Client;
use reqwest::header::{self, HeaderName, HeaderValue};
use reqwest::{StatusCode, Url};
use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

/// The setting that holds the router's base URL.
pub const ROUTER_KEY: &str = "verification_router";
/// The setting that holds the path of the file with the trading partner credential.
pub const CREDENTIALS_KEY: &str = "verification_credentials_file";

/// The largest answer read.
const ANSWER_LIMIT: u64 = 64 * 1024;
/// The largest credential file read.
const CREDENTIAL_LIMIT: u64 = 64 * 1024;

/// Why a question was not answered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RouterError {
    #[error("the verification router URL: {0}")]
    Url(String),
    #[error("the verification credential file {path}: {reason}")]
    Credential { path: PathBuf, reason: String },
    #[error("the verification router is unreachable: {0}")]
    Unreachable(String),
    #[error("the verification router was not asked: it failed moments ago ({0})")]
    Skipped(String),
    #[error("the verification router answered HTTP {status}: {message}")]
    Status { status: u16, message: String },
    #[error(
        "the verification router redirected to {0}; redirects are not followed, so the \
         credential goes to the configured router only"
    )]
    Redirect(String),
    #[error("the verification router's answer is larger than {ANSWER_LIMIT} bytes")]
    TooLarge,
    #[error(transparent)]
    Answer(#[from] LmsError),
    #[error("the verification router cannot be used: {0}")]
    Client(String),
}

impl RouterError {
    /// Worth asking again later unchanged: the router or the network failed, not the
    /// question.
    pub fn is_transient(&self) -> bool {
        match self {
            RouterError::Unreachable(_) | RouterError::Skipped(_) | RouterError::TooLarge => true,
            RouterError::Status { status, .. } => *status >= 500 || matches!(status, 408 | 429),
            _ => false,
        }
    }
}

/// Checks a router URL for [`ROUTER_KEY`]; returns it as stored.
pub fn parse_router_url(value: &str) -> Result<String, RouterError> {
    router_url(value)?;
    Ok(value.trim().trim_end_matches('/').to_string())
}

/// The router's base URL by the rule every HTTP client follows ([`service_url`]): https, or
/// plain http only to loopback.
fn router_url(value: &str) -> Result<Url, RouterError> {
    service_url(value, false).map_err(|e| RouterError::Url(e.to_string()))
}

/// The trading partner credential and the header it travels in.
#[derive(Clone)]
pub struct RouterCredential {
    header: HeaderName,
    value: Secret,
}

impl fmt::Debug for RouterCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RouterCredential({}: [redacted])", self.header)
    }
}

impl RouterCredential {
    /// Reads a credential file. It holds either one `Header-Name: value` line (the header the
    /// router expects the credential in) or the token alone, sent as
    /// `Authorization: Bearer <token>`.
    pub fn from_file(path: &Path) -> Result<RouterCredential, RouterError> {
        let fail = |reason: String| RouterError::Credential {
            path: path.to_owned(),
            reason,
        };
        let file = std::fs::File::open(path).map_err(|e| fail(e.to_string()))?;
        let mut text = String::new();
        file.take(CREDENTIAL_LIMIT + 1)
            .read_to_string(&mut text)
            .map_err(|e| fail(format!("not readable as text ({e})")))?;
        if text.len() as u64 > CREDENTIAL_LIMIT {
            return Err(fail(format!("larger than {CREDENTIAL_LIMIT} bytes")));
        }
        let line = text
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty() && !l.starts_with('#'))
            .ok_or_else(|| fail("it is empty".into()))?;
        let named = line.split_once(':').and_then(|(name, value)| {
            let name = name.trim();
            let plain = !name.is_empty()
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
            plain
                .then(|| HeaderName::from_bytes(name.as_bytes()).ok())
                .flatten()
                .map(|h| (h, value.trim()))
        });
        let (header, value) = match named {
            Some((header, value)) => (header, value.to_owned()),
            None => (header::AUTHORIZATION, format!("Bearer {line}")),
        };
        if value.is_empty() {
            return Err(fail("the credential is empty".into()));
        }
        if HeaderValue::from_str(&value).is_err() {
            return Err(fail(
                "the credential holds characters a header cannot".into(),
            ));
        }
        Ok(RouterCredential {
            header,
            value: Secret::new(value),
        })
    }

    fn header_value(&self) -> Result<HeaderValue, RouterError> {
        let mut value = HeaderValue::from_str(self.value.expose())
            .map_err(|_| RouterError::Client("the credential is not a header value".into()))?;
        value.set_sensitive(true);
        Ok(value)
    }
}

/// A configured verification router.
#[derive(Debug)]
pub struct VerificationRouter {
    http: Client,
    base: Url,
    origin: Origin,
    credential: Option<RouterCredential>,
    /// The failure that makes the rest of this batch skip the router.
    failed: Mutex<Option<String>>,
}

impl VerificationRouter {
    /// The router at `base` (validated as [`parse_router_url`] does), sending `credential`.
    pub fn new(base: &str, credential: Option<RouterCredential>) -> Result<Self, RouterError> {
        Self::with_timeouts(
            base,
            credential,
            Duration::from_millis(800),
            Duration::from_millis(1800),
        )
    }

    /// As [`VerificationRouter::new`], with other timeouts.
    pub fn with_timeouts(
        base: &str,
        credential: Option<RouterCredential>,
        connect: Duration,
        total: Duration,
    ) -> Result<Self, RouterError> {
        let base = router_url(base)?;
        let origin = Origin::of(&base)
            .ok_or_else(|| RouterError::Url(format!("{base} has no host and port")))?;
        install_crypto_provider();
        let http = Client::builder()
            .connect_timeout(connect)
            .timeout(total)
            .tls_backend_rustls()
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("TraceDesk/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| RouterError::Client(e.to_string()))?;
        Ok(Self {
            http,
            base,
            origin,
            credential,
            failed: Mutex::new(None),
        })
    }

    /// Forgets an earlier failure: the next question is sent again (a new round of retries).
    pub fn reset(&self) {
        *self.failed.lock().unwrap_or_else(PoisonError::into_inner) = None;
    }

    /// Asks one question. After a transient failure, later questions through this handle are
    /// not sent (they fail at once with [`RouterError::Skipped`]): a router that is down costs
    /// one timeout per batch, not one per scan.
    pub fn ask(&self, request: &lms::Request) -> Result<Answer, RouterError> {
        // A poisoned lock only means another thread panicked while writing a message.
        let earlier = self
            .failed
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        if let Some(reason) = earlier {
            return Err(RouterError::Skipped(reason));
        }
        let result = self.send(request);
        if let Err(e) = &result
            && e.is_transient()
        {
            *self.failed.lock().unwrap_or_else(PoisonError::into_inner) = Some(e.to_string());
        }
        result
    }

    /// Whether the router answers at its base URL with this credential: any answer but a
    /// server error or a refused credential (401, 403) counts.
    pub fn check_connection(&self) -> Result<u16, RouterError> {
        let mut builder = self
            .http
            .get(self.base.clone())
            .header(header::ACCEPT, "application/json");
        if let Some(credential) = &self.credential {
            builder = builder.header(credential.header.clone(), credential.header_value()?);
        }
        let response = builder
            .send()
            .map_err(|e| RouterError::Unreachable(reason(&e)))?;
        let status = response.status();
        if status.is_server_error() || matches!(status.as_u16(), 401 | 403) {
            return Err(RouterError::Status {
                status: status.as_u16(),
                message: message_or_reason(String::new(), status),
            });
        }
        Ok(status.as_u16())
    }

    fn send(&self, request: &lms::Request) -> Result<Answer, RouterError> {
        let url = self
            .base
            .join(&request.path_and_query())
            .map_err(|e| RouterError::Url(e.to_string()))?;
        // The path is ours and relative, so the origin cannot change; checked all the same,
        // as the one rule the credential depends on.
        if Origin::of(&url).as_ref() != Some(&self.origin) {
            return Err(RouterError::Url(format!(
                "{url} is outside the router's origin {}",
                self.origin
            )));
        }
        let mut builder = self
            .http
            .get(url)
            .header(header::ACCEPT, "application/json");
        if let Some(credential) = &self.credential {
            builder = builder.header(credential.header.clone(), credential.header_value()?);
        }
        let response = builder
            .send()
            .map_err(|e| RouterError::Unreachable(reason(&e)))?;
        let status = response.status();
        if status.is_redirection() {
            let to = response
                .headers()
                .get(header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("(no Location)")
                .chars()
                .take(200)
                .collect();
            return Err(RouterError::Redirect(to));
        }
        let body = read_within(response, ANSWER_LIMIT)
            .map_err(|e| RouterError::Unreachable(reason(&e)))?;
        if !status.is_success() {
            let message = body
                .as_deref()
                .map(|b| String::from_utf8_lossy(b).chars().take(200).collect())
                .unwrap_or_default();
            return Err(RouterError::Status {
                status: status.as_u16(),
                message: message_or_reason(message, status),
            });
        }
        let body = body.ok_or(RouterError::TooLarge)?;
        Ok(lms::parse_answer(&body, &request.corr_uuid)?)
    }
}

fn message_or_reason(message: String, status: StatusCode) -> String {
    let message: String = message.chars().filter(|c| !c.is_control()).collect();
    let message = message.trim();
    if message.is_empty() {
        status.canonical_reason().unwrap_or("no message").to_owned()
    } else {
        message.to_owned()
    }
}

fn reason(err: &(dyn std::error::Error + 'static)) -> String {
    unreachable_reason(err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn router_urls_need_https_or_loopback() {
        assert!(parse_router_url("https://vrs.example.com/api/").is_ok());
        assert_eq!(
            parse_router_url("http://127.0.0.1:9/vrs/").unwrap(),
            "http://127.0.0.1:9/vrs"
        );
        assert!(parse_router_url("http://vrs.example.com/").is_err());
        assert!(parse_router_url("vrs").is_err());
    }

    #[test]
    fn credential_files_name_their_header_or_hold_a_token() {
        let dir = tempfile::tempdir().unwrap();
        let token = dir.path().join("token");
        std::fs::write(&token, "abc.def\n").unwrap();
        let c = RouterCredential::from_file(&token).unwrap();
        assert_eq!(c.header, header::AUTHORIZATION);
        assert_eq!(c.value.expose(), "Bearer abc.def");
        assert!(!format!("{c:?}").contains("abc"));
        let named = dir.path().join("named");
        std::fs::write(&named, "# partner credential\nX-Credential: vp-jwt\n").unwrap();
        let c = RouterCredential::from_file(&named).unwrap();
        assert_eq!(c.header.as_str(), "x-credential");
        assert_eq!(c.value.expose(), "vp-jwt");
        let empty = dir.path().join("empty");
        std::fs::write(&empty, "\n").unwrap();
        assert!(RouterCredential::from_file(&empty).is_err());
        assert!(RouterCredential::from_file(&dir.path().join("none")).is_err());
    }
}
