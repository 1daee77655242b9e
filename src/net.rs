//! The rules every HTTP client of TraceDesk follows, whoever it talks to (the upstream EPCIS
//! interface in [`crate::sync`], manufacturers through the verification router in
//! [`crate::router`]):
//!
//! - [`service_url`]: a service's base URL is https, or plain http only to loopback (or when
//!   the user explicitly allowed it); it has a host, and ends in `/` so endpoints resolve
//!   below it. The setup screens and `tracedesk config` check typed URLs with it too, so a URL
//!   one accepts is never refused by another;
//! - [`Origin`]: the scheme, host and port credentials may go to, and nothing else;
//! - [`Secret`]: a credential that never prints;
//! - answers are read with a bound ([`read_within`], [`read_prefix`]), and transport failures
//!   are described in words a clerk can act on ([`unreachable_reason`]).

use std::fmt;
use std::io::{self, Read};
use std::net::IpAddr;
use std::sync::Once;

use reqwest::Url;

/// Set to `1`, this environment variable lets a service's URL use plain http to any host (a
/// gateway on an isolated network, say): the user's explicit opt-out, for the upstream alone.
pub const ALLOW_INSECURE_HTTP_ENV: &str = "TRACEDESK_ALLOW_INSECURE_HTTP";

/// Whether the user opted out of https for the upstream ([`ALLOW_INSECURE_HTTP_ENV`]).
pub fn insecure_http_allowed() -> bool {
    std::env::var(ALLOW_INSECURE_HTTP_ENV).is_ok_and(|v| v == "1")
}

/// Why a typed URL cannot be a service's base URL.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    #[error("{url:?} is not a valid URL: {reason}")]
    Invalid { url: String, reason: String },
    #[error("{0:?} must start with https://")]
    UnsupportedScheme(String),
    #[error("{0} uses plain http to a host that is not loopback; use https")]
    InsecureHttp(String),
}

/// The base URL of a service, checked: https (plain http only to a loopback host, or to any
/// host when `allow_insecure_http`, the user's explicit opt-out), with a host, without query or
/// fragment, ending in `/` (so that `https://h/epcis` behaves like `https://h/epcis/`: endpoints
/// are resolved relative to it, and `capture` must not replace `epcis`).
pub fn service_url(text: &str, allow_insecure_http: bool) -> Result<Url, UrlError> {
    let mut url = Url::parse(text.trim()).map_err(|err| UrlError::Invalid {
        url: text.to_owned(),
        reason: err.to_string(),
    })?;
    match url.scheme() {
        "https" => {}
        "http" if allow_insecure_http || is_loopback(&url) => {}
        "http" => return Err(UrlError::InsecureHttp(url.to_string())),
        _ => return Err(UrlError::UnsupportedScheme(text.to_owned())),
    }
    if url.cannot_be_a_base() || url.host().is_none() {
        return Err(UrlError::Invalid {
            url: text.to_owned(),
            reason: "it has no host".to_owned(),
        });
    }
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    url.set_query(None);
    url.set_fragment(None);
    Ok(url)
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

    /// Whether there is nothing to send (an empty token file, say).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
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

/// Installs rustls' ring crypto provider for the process, once (reqwest is built without one).
pub fn install_crypto_provider() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        // Someone else (another adapter, a test) may have installed it already; that is fine.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// The whole of `body` when it holds at most `limit` bytes, else `None` after reading no more
/// than `limit + 1` of them.
pub fn read_within(body: impl Read, limit: u64) -> io::Result<Option<Vec<u8>>> {
    let bytes = read_prefix(body, limit.saturating_add(1))?;
    Ok((bytes.len() as u64 <= limit).then_some(bytes))
}

/// The first `limit` bytes of `body` (all of it when shorter); the rest is never read.
pub fn read_prefix(body: impl Read, limit: u64) -> io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    body.take(limit).read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// Describes a transport failure (sending, or reading an answer's body) in words a clerk can
/// act on (never the request itself: the URL is fine to show, the headers are not).
pub fn unreachable_reason(err: &(dyn std::error::Error + 'static)) -> String {
    let is_reqwest = |e: &(dyn std::error::Error + 'static), test: fn(&reqwest::Error) -> bool| {
        e.downcast_ref::<reqwest::Error>().is_some_and(test)
    };
    let io_kind = causes(err).find_map(|e| e.downcast_ref::<io::Error>().map(io::Error::kind));
    if causes(err).any(|e| is_reqwest(e, reqwest::Error::is_timeout))
        || io_kind == Some(io::ErrorKind::TimedOut)
    {
        "no answer in time (timed out)".to_owned()
    } else {
        match io_kind {
            Some(io::ErrorKind::ConnectionRefused) => "connection refused".to_owned(),
            Some(io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionAborted) => {
                "connection reset".to_owned()
            }
            _ if causes(err).any(|e| is_reqwest(e, reqwest::Error::is_connect)) => {
                "cannot connect".to_owned()
            }
            _ => {
                // reqwest's Display names the URL; the innermost cause says what happened.
                let innermost = causes(err).last().map(ToString::to_string);
                format!("connection dropped ({})", innermost.unwrap_or_default())
            }
        }
    }
}

/// `err` and its causes. An `io::Error`'s `source` skips the error it wraps (reqwest's body
/// reader wraps a timeout that way), so that one is looked into directly.
fn causes<'a>(
    err: &'a (dyn std::error::Error + 'static),
) -> impl Iterator<Item = &'a (dyn std::error::Error + 'static)> {
    std::iter::successors(Some(err), |e| {
        match e.downcast_ref::<io::Error>().and_then(io::Error::get_ref) {
            Some(inner) => Some(inner as &(dyn std::error::Error + 'static)),
            None => e.source(),
        }
    })
}

/// `url` as it may be shown: without user info (a user may have typed `https://user:pass@h/`).
pub fn without_user_info(url: &Url) -> Url {
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
    fn a_service_url_is_https_or_loopback_http_and_ends_in_a_slash() {
        let url = service_url(" https://epcis.example.com/epcis?x=1#f ", false).unwrap();
        assert_eq!(url.as_str(), "https://epcis.example.com/epcis/");
        assert!(service_url("http://127.0.0.1:8080/r", false).is_ok());
        assert!(service_url("http://[::1]/r", false).is_ok());
        assert!(service_url("http://localhost/r", false).is_ok());
        assert!(matches!(
            service_url("http://router.example.com/", false),
            Err(UrlError::InsecureHttp(_))
        ));
        assert!(service_url("http://router.example.com/", true).is_ok());
        assert!(matches!(
            service_url("ftp://router.example.com/", false),
            Err(UrlError::UnsupportedScheme(_))
        ));
        assert!(matches!(
            service_url("router.example.com", false),
            Err(UrlError::Invalid { .. })
        ));
    }

    #[test]
    fn a_secret_never_prints() {
        let secret = Secret::new(" s3cr3t\n");
        assert_eq!(format!("{secret:?}"), "[redacted]");
        assert_eq!(secret.expose(), "s3cr3t");
    }

    /// A reader that counts what was taken from it.
    struct Counting<R> {
        inner: R,
        read: u64,
    }

    impl<R: Read> Read for Counting<R> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.inner.read(buf)?;
            self.read += n as u64;
            Ok(n)
        }
    }

    fn endless() -> Counting<io::Repeat> {
        Counting {
            inner: io::repeat(b'x'),
            read: 0,
        }
    }

    #[test]
    fn bodies_are_read_no_further_than_their_limit() {
        let mut body = endless();
        assert_eq!(read_prefix(&mut body, 4096).unwrap().len(), 4096);
        assert_eq!(body.read, 4096);

        let mut body = endless();
        assert_eq!(read_within(&mut body, 1000).unwrap(), None);
        assert_eq!(body.read, 1001);

        let exact = read_within(&b"{\"running\":true}"[..], 16).unwrap();
        assert_eq!(exact.as_deref(), Some(&b"{\"running\":true}"[..]));
        assert_eq!(read_within(&b"{\"running\":true}"[..], 15).unwrap(), None);
        assert_eq!(read_prefix(&b"short"[..], 4096).unwrap(), b"short");
    }
}
