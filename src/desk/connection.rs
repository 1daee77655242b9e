//! "Test the connection": whether the configured upstream and verification router answer, in
//! words for the person who just typed their addresses (the kiosk's settings and first-run
//! setup). Nothing is sent but a probe: `OPTIONS /capture` to the upstream (the capture
//! interface's own limits question) and a GET of the router's base URL with the credential.

use crate::router::RouterError;
use crate::store::Store;
use crate::sync::{CaptureClient, CaptureInterface, Credentials, Upstream};
use std::path::Path;

/// What a probe found, one line each.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ConnectionReport {
    /// `None` when no upstream is set.
    pub upstream: Option<Result<String, String>>,
    /// `None` when no verification router is set.
    pub router: Option<Result<String, String>>,
}

/// The upstream the settings name, with its credentials (a PEM file is a client certificate
/// with its key; anything else a bearer token). `None` when none is set.
pub fn configured_upstream(store: &Store) -> Result<Option<Upstream>, String> {
    let Some(url) = store.setting("upstream_url").map_err(|e| e.to_string())? else {
        return Ok(None);
    };
    let upstream = Upstream::new(&url).map_err(|e| e.to_string())?;
    let credentials = match store
        .setting("credentials_file")
        .map_err(|e| e.to_string())?
    {
        Some(path) => credentials_from_file(Path::new(&path))?,
        None => Credentials::bearer_from_env().unwrap_or_default(),
    };
    Ok(Some(upstream.with_credentials(credentials)))
}

/// Credentials from a file: a PEM file is a client certificate with its key, anything else a
/// bearer token.
pub fn credentials_from_file(path: &Path) -> Result<Credentials, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read the credentials file {}: {e}", path.display()))?;
    if text.contains("-----BEGIN") {
        Ok(Credentials::ClientCertificate(path.to_owned()))
    } else {
        Credentials::bearer_from_file(path).map_err(|e| e.to_string())
    }
}

/// Probes the upstream: its capture interface's limits.
pub fn test_upstream(upstream: Upstream) -> Result<String, String> {
    let shown = upstream.to_string();
    let mut client = CaptureClient::new(upstream).map_err(|e| e.to_string())?;
    let limits = client.limits().map_err(|e| e.to_string())?;
    Ok(match limits.max_events {
        Some(n) => format!("{shown} answered (it takes up to {n} events a request)"),
        None => format!("{shown} answered"),
    })
}

/// Probes both, as the store's settings configure them.
pub fn test_connections(store: &Store) -> ConnectionReport {
    let upstream = match configured_upstream(store) {
        Ok(Some(upstream)) => Some(test_upstream(upstream)),
        Ok(None) => None,
        Err(e) => Some(Err(e)),
    };
    let router = match super::online::configured_router(store) {
        Ok(Some(router)) => Some(
            router
                .check_connection()
                .map(|status| format!("the verification router answered (HTTP {status})"))
                .map_err(|e: RouterError| e.to_string()),
        ),
        Ok(None) => None,
        Err(e) => Some(Err(e.to_string())),
    };
    ConnectionReport { upstream, router }
}
