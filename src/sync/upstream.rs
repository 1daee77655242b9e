//! Where upstream is and how TraceDesk proves who it is: the validated base URL of an EPCIS 2.0
//! REST interface, the credentials, and the timeouts.
//!
//! Rules enforced here, once, so nothing downstream has to remember them:
//! - plain `http://` is refused unless the host is loopback or the user opted out explicitly
//!   ([`Upstream::allow_insecure_http`]); a bearer token must never cross a network in clear;
//! - credentials are read from a file or the environment and never appear in `Debug` output,
//!   logs or error messages (they are never written to the database either: nothing here
//!   serialises them);
//! - credentials go to the configured [`Origin`] alone (the URL and origin rules themselves are
//!   [`crate::net`]'s, shared with the verification router): [`Upstream::check_origin`] is the one
//!   decision every request makes first, so a `Location` or `Link` naming another host, port or
//!   scheme (an https upstream pointing at plain http, say) is refused before anything is sent.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use reqwest::Url;

use crate::net::{ForeignOrigin, Origin, Secret, UrlError, service_url, without_user_info};

/// The environment variable that may carry the bearer token.
pub const TOKEN_ENV: &str = "TRACEDESK_UPSTREAM_TOKEN";

/// Why the upstream cannot be used as configured.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum UpstreamError {
    #[error("the upstream URL {url:?} is not a valid URL: {reason}")]
    InvalidUrl { url: String, reason: String },
    #[error("the upstream URL {0:?} must start with https:// or http://")]
    UnsupportedScheme(String),
    #[error(
        "the upstream {0} uses plain http to a host that is not loopback; use https, or allow \
         insecure http explicitly"
    )]
    InsecureHttp(String),
    #[error("the upstream token file {path} cannot be read: {source}")]
    TokenFile {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the upstream token in {0} is empty")]
    EmptyToken(String),
    #[error("the client certificate {path} cannot be read: {source}")]
    ClientCertificate {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the client certificate {path} is not a PEM certificate and key: {reason}")]
    InvalidClientCertificate { path: PathBuf, reason: String },
    #[error("the HTTP client cannot be set up: {0}")]
    Client(String),
}

/// How TraceDesk authenticates to upstream.
#[derive(Debug, Clone, Default)]
pub enum Credentials {
    /// No authentication (a test server, or a gateway on the local network that needs none).
    #[default]
    None,
    /// `Authorization: Bearer <token>`.
    Bearer(Secret),
    /// Mutual TLS: a PEM file holding the client certificate chain and its private key.
    ClientCertificate(PathBuf),
}

impl Credentials {
    /// A bearer token read from `path` (the file holds the token alone; a trailing newline is
    /// fine).
    pub fn bearer_from_file(path: &Path) -> Result<Self, UpstreamError> {
        let token = std::fs::read_to_string(path).map_err(|source| UpstreamError::TokenFile {
            path: path.to_owned(),
            source,
        })?;
        let secret = Secret::new(token);
        if secret.is_empty() {
            return Err(UpstreamError::EmptyToken(path.display().to_string()));
        }
        Ok(Self::Bearer(secret))
    }

    /// A bearer token from [`TOKEN_ENV`], if it is set and not empty.
    pub fn bearer_from_env() -> Option<Self> {
        let secret = Secret::new(std::env::var(TOKEN_ENV).ok()?);
        (!secret.is_empty()).then_some(Self::Bearer(secret))
    }
}

/// Timeouts for every request to upstream. A hung upstream must never hang the worker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// Establishing the TCP (and TLS) connection.
    pub connect: Duration,
    /// One whole request, from sending to the last byte of the answer.
    pub request: Duration,
    /// How long a capture job may stay `running` before the attempt counts as failed (the
    /// events are then sent again later; upstream deduplicates them by eventID).
    pub capture_job: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            connect: Duration::from_secs(5),
            request: Duration::from_secs(30),
            capture_job: Duration::from_secs(120),
        }
    }
}

/// A validated upstream EPCIS 2.0 REST interface.
#[derive(Debug, Clone)]
pub struct Upstream {
    base: Url,
    origin: Origin,
    credentials: Credentials,
    timeouts: Timeouts,
}

impl Upstream {
    /// The upstream at `base` (e.g. `https://epcis.example.com/epcis/`), requiring https unless
    /// the host is loopback.
    pub fn new(base: &str) -> Result<Self, UpstreamError> {
        Self::parse(base, false)
    }

    /// Like [`Upstream::new`] but accepting plain http to any host: the user's explicit opt-out
    /// (for a gateway on an isolated network, say).
    pub fn allow_insecure_http(base: &str) -> Result<Self, UpstreamError> {
        Self::parse(base, true)
    }

    fn parse(base: &str, allow_insecure_http: bool) -> Result<Self, UpstreamError> {
        let url = service_url(base, allow_insecure_http).map_err(|err| match err {
            UrlError::Invalid { url, reason } => UpstreamError::InvalidUrl { url, reason },
            UrlError::UnsupportedScheme(url) => UpstreamError::UnsupportedScheme(url),
            UrlError::InsecureHttp(url) => UpstreamError::InsecureHttp(url),
        })?;
        let origin = Origin::of(&url).ok_or_else(|| UpstreamError::InvalidUrl {
            url: base.to_owned(),
            reason: "it has no origin (host and port)".to_owned(),
        })?;
        Ok(Self {
            base: url,
            origin,
            credentials: Credentials::None,
            timeouts: Timeouts::default(),
        })
    }

    /// Uses these credentials for every request.
    pub fn with_credentials(mut self, credentials: Credentials) -> Self {
        self.credentials = credentials;
        self
    }

    /// Uses these timeouts for every request.
    pub fn with_timeouts(mut self, timeouts: Timeouts) -> Self {
        self.timeouts = timeouts;
        self
    }

    /// The base URL, always ending in `/`.
    pub fn base(&self) -> &Url {
        &self.base
    }

    /// The only origin requests (and with them the credentials) may go to.
    pub fn origin(&self) -> &Origin {
        &self.origin
    }

    /// Whether a request to `url` may be sent: only when it is in the configured origin. Every
    /// request goes through this, whatever URL upstream's answers (`Location`, `Link`) named.
    pub fn check_origin(&self, url: &Url) -> Result<(), ForeignOrigin> {
        match Origin::of(url) {
            Some(origin) if origin == self.origin => Ok(()),
            found => Err(ForeignOrigin {
                url: without_user_info(url).to_string(),
                found: found.map_or_else(
                    || format!("(none: a {}: URL without host or port)", url.scheme()),
                    |origin| origin.to_string(),
                ),
                expected: self.origin.clone(),
            }),
        }
    }

    pub fn credentials(&self) -> &Credentials {
        &self.credentials
    }

    pub fn timeouts(&self) -> Timeouts {
        self.timeouts
    }

    /// An endpoint below the base, e.g. `capture` or `events`.
    pub(crate) fn endpoint(&self, path: &str) -> Result<Url, UpstreamError> {
        self.base
            .join(path)
            .map_err(|err| UpstreamError::InvalidUrl {
                url: format!("{}{path}", self.base),
                reason: err.to_string(),
            })
    }
}

impl fmt::Display for Upstream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The base URL never carries credentials (they live in `Credentials`), but a user may
        // have typed `https://user:pass@host/`; never echo that.
        write!(f, "{}", without_user_info(&self.base))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_is_accepted_and_the_base_gets_a_trailing_slash() {
        let upstream = Upstream::new("https://epcis.example.com/api").unwrap();
        assert_eq!(upstream.base().as_str(), "https://epcis.example.com/api/");
        assert_eq!(
            upstream.endpoint("capture").unwrap().as_str(),
            "https://epcis.example.com/api/capture"
        );
    }

    #[test]
    fn plain_http_is_refused_except_to_loopback_or_when_allowed() {
        assert!(matches!(
            Upstream::new("http://epcis.example.com/"),
            Err(UpstreamError::InsecureHttp(_))
        ));
        assert!(Upstream::new("http://127.0.0.1:8080/").is_ok());
        assert!(Upstream::new("http://[::1]:8080/").is_ok());
        assert!(Upstream::new("http://localhost:8080/").is_ok());
        assert!(Upstream::allow_insecure_http("http://epcis.example.com/").is_ok());
        assert!(matches!(
            Upstream::new("ftp://epcis.example.com/"),
            Err(UpstreamError::UnsupportedScheme(_))
        ));
        assert!(matches!(
            Upstream::new("not a url"),
            Err(UpstreamError::InvalidUrl { .. })
        ));
    }

    fn url(text: &str) -> Url {
        Url::parse(text).unwrap()
    }

    fn admits(base: &str, target: &str) -> bool {
        Upstream::new(base)
            .unwrap()
            .check_origin(&url(target))
            .is_ok()
    }

    #[test]
    fn only_the_configured_scheme_host_and_port_are_admitted() {
        let base = "https://epcis.example.com/api/";
        assert!(admits(base, "https://epcis.example.com/api/capture/7"));
        assert!(admits(base, "https://epcis.example.com/elsewhere?x=1#f"));
        // Default ports are the same port, spelt or not.
        assert!(admits(base, "https://epcis.example.com:443/api/capture/7"));
        assert!(admits(
            "https://epcis.example.com:443/",
            "https://epcis.example.com/"
        ));
        assert!(admits("http://127.0.0.1/", "http://127.0.0.1:80/x"));
        // Host names are case-insensitive.
        assert!(admits(base, "https://EPCIS.Example.COM/api/"));
        assert!(admits(
            "https://EPCIS.example.com/",
            "https://epcis.example.com/"
        ));

        // Downgrade to plain http, on the default or the same explicit port.
        assert!(!admits(base, "http://epcis.example.com/api/capture/7"));
        assert!(!admits(
            "https://epcis.example.com:8443/",
            "http://epcis.example.com:8443/"
        ));
        assert!(!admits(base, "https://epcis.example.com:8443/api/"));
        assert!(!admits(base, "https://epcis.example.com:80/api/"));
        assert!(!admits(base, "https://evil.example.com/api/"));
        assert!(!admits(base, "https://example.com/api/"));
        assert!(!admits(base, "https://sub.epcis.example.com/api/"));
        // A trailing dot names the same host in DNS, but strictness costs nothing here.
        assert!(!admits(base, "https://epcis.example.com./api/"));
        assert!(!admits(base, "ftp://epcis.example.com/"));
        assert!(!admits(base, "data:text/plain,hello"));
    }

    #[test]
    fn ip_hosts_compare_in_canonical_form() {
        let base = "http://[::1]:8080/";
        assert!(admits(base, "http://[0:0:0:0:0:0:0:1]:8080/capture"));
        assert!(admits(base, "http://[::1]:8080/capture"));
        assert!(!admits(base, "http://[::2]:8080/capture"));
        assert!(!admits(base, "http://[::1]:8081/capture"));
        assert!(!admits(base, "http://127.0.0.1:8080/capture"));
        assert!(!admits(base, "http://localhost:8080/capture"));
        assert!(!admits("http://127.0.0.1:8080/", "http://127.0.0.2:8080/"));
        assert!(!admits("http://127.0.0.1:8080/", "http://[::1]:8080/"));
    }

    #[test]
    fn user_info_is_no_part_of_the_origin() {
        let base = "https://epcis.example.com/";
        assert!(admits(base, "https://user:pw@epcis.example.com/capture"));
        assert!(admits(
            "https://me@epcis.example.com/",
            "https://epcis.example.com/"
        ));
        // What follows the `@` is the host.
        assert!(!admits(
            base,
            "https://epcis.example.com@evil.example/capture"
        ));
        assert!(!admits(base, "https://epcis.example.com:443@evil.example/"));
    }

    #[test]
    fn a_refusal_names_both_origins_and_hides_user_info() {
        let upstream = Upstream::new("https://epcis.example.com/api").unwrap();
        assert_eq!(
            upstream.origin().to_string(),
            "https://epcis.example.com:443"
        );
        let refusal = upstream
            .check_origin(&url("http://user:hunter2@epcis.example.com/api/capture/1"))
            .unwrap_err();
        assert_eq!(refusal.found, "http://epcis.example.com:80");
        assert_eq!(refusal.url, "http://epcis.example.com/api/capture/1");
        let message = refusal.to_string();
        assert!(message.contains("http://epcis.example.com:80"), "{message}");
        assert!(
            message.contains("https://epcis.example.com:443"),
            "{message}"
        );
        assert!(!message.contains("hunter2"), "{message}");
        let odd = upstream
            .check_origin(&url("mailto:x@y.example"))
            .unwrap_err();
        assert!(odd.found.contains("mailto"), "{}", odd.found);
    }

    #[test]
    fn secrets_never_print() {
        let credentials = Credentials::Bearer(Secret::new("s3cr3t-token\n"));
        let upstream = Upstream::new("https://user:pw@h.example/")
            .unwrap()
            .with_credentials(credentials);
        let shown = format!("{upstream:?} {upstream}");
        assert!(!shown.contains("s3cr3t"), "{shown}");
        assert!(shown.contains("[redacted]"));
        assert!(!upstream.to_string().contains("pw"));
    }

    #[test]
    fn token_files_are_trimmed_and_must_not_be_empty() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        std::fs::write(&path, "abc\n").unwrap();
        match Credentials::bearer_from_file(&path).unwrap() {
            Credentials::Bearer(secret) => assert_eq!(secret.expose(), "abc"),
            other => panic!("{other:?}"),
        }
        std::fs::write(&path, "\n").unwrap();
        assert!(matches!(
            Credentials::bearer_from_file(&path),
            Err(UpstreamError::EmptyToken(_))
        ));
    }
}
