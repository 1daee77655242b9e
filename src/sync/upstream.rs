//! Where upstream is and how TraceDesk proves who it is: the validated base URL of an EPCIS 2.0
//! REST interface, the credentials, and the timeouts.
//!
//! Rules enforced here, once, so nothing downstream has to remember them:
//! - plain `http://` is refused unless the host is loopback or the user opted out explicitly
//!   ([`Upstream::allow_insecure_http`]); a bearer token must never cross a network in clear;
//! - credentials are read from a file or the environment and never appear in `Debug` output,
//!   logs or error messages (they are never written to the database either: nothing here
//!   serialises them);
//! - credentials go to the configured [`Origin`] alone: [`Upstream::check_origin`] is the one
//!   decision every request makes first, so a `Location` or `Link` naming another host, port or
//!   scheme (an https upstream pointing at plain http, say) is refused before anything is sent.

use std::fmt;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use reqwest::Url;

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

/// The scheme, host and port that credentials may go to (the origin of RFC 6454, for the two
/// schemes TraceDesk speaks).
///
/// Built from a parsed URL, so hosts compare as the URL parser normalised them (domain names in
/// lowercase, IP addresses in canonical form) and a default port equals its explicit spelling
/// (`https://h/` and `https://h:443/` are one origin). User info is no part of an origin:
/// `https://upstream.example@elsewhere.example/` is the origin of `elsewhere.example`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    scheme: String,
    /// As `Url::host_str` gives it: IPv6 addresses keep their brackets.
    host: String,
    port: u16,
}

impl Origin {
    /// The origin of `url`, or `None` when it has none TraceDesk would talk to (no host, or a
    /// scheme other than http and https).
    pub fn of(url: &Url) -> Option<Self> {
        let scheme = url.scheme();
        if !matches!(scheme, "http" | "https") {
            return None;
        }
        Some(Self {
            scheme: scheme.to_owned(),
            host: url.host_str()?.to_owned(),
            port: url.port_or_known_default()?,
        })
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://{}:{}", self.scheme, self.host, self.port)
    }
}

/// A request to a URL outside the configured upstream's origin, refused before it was sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "refused to contact {url}: its origin {found} is not the configured upstream's origin \
     {expected}, the only one TraceDesk's credentials may go to"
)]
pub struct ForeignOrigin {
    /// The refused URL, without user info.
    pub url: String,
    /// Its origin, or what it has instead.
    pub found: String,
    pub expected: Origin,
}

/// A secret that prints as `[redacted]`, so a `{:?}` in a log line cannot leak it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value (surrounding whitespace, such as a file's final newline, dropped).
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into().trim().to_owned())
    }

    /// The secret itself, for the one place that sends it.
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
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
        if secret.0.is_empty() {
            return Err(UpstreamError::EmptyToken(path.display().to_string()));
        }
        Ok(Self::Bearer(secret))
    }

    /// A bearer token from [`TOKEN_ENV`], if it is set and not empty.
    pub fn bearer_from_env() -> Option<Self> {
        let secret = Secret::new(std::env::var(TOKEN_ENV).ok()?);
        (!secret.0.is_empty()).then_some(Self::Bearer(secret))
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
        let mut url = Url::parse(base.trim()).map_err(|err| UpstreamError::InvalidUrl {
            url: base.to_owned(),
            reason: err.to_string(),
        })?;
        match url.scheme() {
            "https" => {}
            "http" if allow_insecure_http || is_loopback(&url) => {}
            "http" => return Err(UpstreamError::InsecureHttp(url.to_string())),
            _ => return Err(UpstreamError::UnsupportedScheme(base.to_owned())),
        }
        if url.cannot_be_a_base() || url.host().is_none() {
            return Err(UpstreamError::InvalidUrl {
                url: base.to_owned(),
                reason: "it has no host".to_owned(),
            });
        }
        // Endpoints are resolved relative to the base, so `https://h/epcis` must behave like
        // `https://h/epcis/` (otherwise `capture` would replace `epcis`).
        if !url.path().ends_with('/') {
            let path = format!("{}/", url.path());
            url.set_path(&path);
        }
        url.set_query(None);
        url.set_fragment(None);
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

fn without_user_info(url: &Url) -> Url {
    let mut shown = url.clone();
    // Both fail only for URLs without a host, which have no user info to hide.
    let _ = shown.set_username("");
    let _ = shown.set_password(None);
    shown
}

fn is_loopback(url: &Url) -> bool {
    let Some(host) = url.host_str() else {
        return false;
    };
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    match bare.parse::<IpAddr>() {
        Ok(ip) => ip.is_loopback(),
        Err(_) => bare.eq_ignore_ascii_case("localhost"),
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
