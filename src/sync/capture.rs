//! The EPCIS 2.0 REST capture client: `POST /capture` with an EPCISDocument, then follow the
//! capture job at `Location` until upstream says it succeeded or failed.
//!
//! Blocking on purpose: it runs on the sync worker's own plain thread. reqwest's blocking client
//! starts its own small runtime and panics when created or dropped inside another async runtime,
//! so it must never be used from one.
//!
//! Every failure is classified for the worker ([`CaptureError::is_transient`]): unreachable, hung,
//! busy (5xx, 429) or a job that never finishes are worth retrying as they are; a rejection
//! (400, 409, 413, 422, or a failed job) is about the events and makes the worker split the
//! batch; a refusal (401, 403, 404, redirect...) is about the configuration and parks nothing.

use std::sync::Once;
use std::time::{Duration, Instant};

use chrono::{DateTime, SecondsFormat, Utc};
use reqwest::StatusCode;
use reqwest::blocking::{Client, Response};
use reqwest::header::{self, HeaderMap, HeaderValue};
use serde_json::Value;

use super::outbox::QueuedEvent;
use super::retry::parse_retry_after;
use super::upstream::{Credentials, Upstream, UpstreamError};
use crate::epcis::event::{EPCIS_CONTEXT_URL, TRACEDESK_NAMESPACE, TRACEDESK_PREFIX};

const CAPTURE_LIMIT: &str = "GS1-EPCIS-Capture-Limit";
const FILE_SIZE_LIMIT: &str = "GS1-EPCIS-Capture-File-Size-Limit";
const EPCIS_VERSION: &str = "GS1-EPCIS-Version";
/// Upstream's messages are shown to a clerk and stored with parked events; keep them short.
const MAX_MESSAGE_CHARS: usize = 500;

/// Why a capture (or the limits probe) did not succeed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CaptureError {
    #[error("upstream is unreachable: {reason}")]
    Unreachable { reason: String },
    #[error("upstream is busy (HTTP {status}): {message}")]
    Busy {
        status: u16,
        retry_after: Option<Duration>,
        message: String,
    },
    #[error("upstream rejected the events (HTTP {status}): {message}")]
    Rejected { status: u16, message: String },
    #[error(
        "upstream refused the request (HTTP {status}): {message}; check the upstream URL and \
         credentials"
    )]
    Refused { status: u16, message: String },
    #[error("upstream's answer is not EPCIS 2.0 capture: {0}")]
    Protocol(String),
    #[error("upstream's capture job did not finish within {0:?}")]
    JobUnfinished(Duration),
}

impl CaptureError {
    /// Worth retrying unchanged later: the events are fine, upstream or the network is not.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            Self::Unreachable { .. }
                | Self::Busy { .. }
                | Self::Protocol(_)
                | Self::JobUnfinished(_)
        )
    }

    /// How long upstream asked us to wait (`Retry-After`), if it did.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::Busy { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}

/// What upstream accepts per capture request (from `OPTIONS /capture`); `None` = no limit given.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CaptureLimits {
    pub max_events: Option<usize>,
    pub max_bytes: Option<usize>,
}

/// The capture interface as the worker sees it (the HTTP client, or a fake in unit tests).
pub trait CaptureInterface {
    /// Upstream's per-request limits.
    fn limits(&mut self) -> Result<CaptureLimits, CaptureError>;
    /// Sends `events` as one EPCISDocument and waits until upstream confirmed or refused them.
    fn capture(&mut self, events: &[QueuedEvent]) -> Result<(), CaptureError>;
}

/// The blocking HTTP client for one upstream.
#[derive(Debug)]
pub struct CaptureClient {
    http: Client,
    upstream: Upstream,
    limits: Option<CaptureLimits>,
}

/// Installs rustls' ring crypto provider for the process, once (reqwest is built without one).
pub fn install_crypto_provider() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        // Someone else (another adapter, a test) may have installed it already; that is fine.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

impl CaptureClient {
    pub fn new(upstream: Upstream) -> Result<Self, UpstreamError> {
        Ok(Self {
            http: http_client(&upstream)?,
            upstream,
            limits: None,
        })
    }

    pub fn upstream(&self) -> &Upstream {
        &self.upstream
    }

    /// The underlying HTTP client (shared with the query side of [`crate::sync::pull`]).
    pub(crate) fn http(&self) -> &Client {
        &self.http
    }

    fn probe_limits(&self) -> Result<CaptureLimits, CaptureError> {
        let url = self.endpoint("capture")?;
        let response = self
            .http
            .request(reqwest::Method::OPTIONS, url)
            .send()
            .map_err(|err| unreachable(&err))?;
        let status = response.status();
        if status.is_success() {
            let headers = response.headers();
            return Ok(CaptureLimits {
                max_events: header_number(headers, CAPTURE_LIMIT).filter(|n| *n > 0),
                max_bytes: header_number(headers, FILE_SIZE_LIMIT).filter(|n| *n > 0),
            });
        }
        // Many servers do not implement OPTIONS; that only means "no limits announced".
        if matches!(
            status,
            StatusCode::NOT_FOUND | StatusCode::METHOD_NOT_ALLOWED | StatusCode::NOT_IMPLEMENTED
        ) {
            return Ok(CaptureLimits::default());
        }
        Err(failure(response))
    }

    fn endpoint(&self, path: &str) -> Result<reqwest::Url, CaptureError> {
        self.upstream
            .endpoint(path)
            .map_err(|err| CaptureError::Protocol(err.to_string()))
    }

    fn follow_job(&self, location: &str) -> Result<(), CaptureError> {
        let url = self.upstream.base().join(location).map_err(|_| {
            CaptureError::Protocol(format!("bad capture job Location {location:?}"))
        })?;
        let limit = self.upstream.timeouts().capture_job;
        let started = Instant::now();
        let mut pause = Duration::from_millis(5);
        loop {
            let response = self
                .http
                .get(url.clone())
                .header(header::ACCEPT, "application/json")
                .send()
                .map_err(|err| unreachable(&err))?;
            if !response.status().is_success() {
                return Err(match failure(response) {
                    // The job is gone (upstream restarted?): nothing is confirmed, send again.
                    CaptureError::Refused { status: 404, .. } => {
                        CaptureError::Protocol("the capture job disappeared".to_owned())
                    }
                    other => other,
                });
            }
            let job = read_json(response)?;
            match job_outcome(&job) {
                JobOutcome::Running => {}
                JobOutcome::Succeeded => return Ok(()),
                JobOutcome::Failed(error) => return Err(error),
            }
            if started.elapsed() >= limit {
                return Err(CaptureError::JobUnfinished(limit));
            }
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_secs(1));
        }
    }
}

impl CaptureInterface for CaptureClient {
    fn limits(&mut self) -> Result<CaptureLimits, CaptureError> {
        if let Some(limits) = self.limits {
            return Ok(limits);
        }
        let limits = self.probe_limits()?;
        tracing::debug!(?limits, "upstream capture limits");
        self.limits = Some(limits);
        Ok(limits)
    }

    fn capture(&mut self, events: &[QueuedEvent]) -> Result<(), CaptureError> {
        let url = self.endpoint("capture")?;
        let body = capture_document(events, Utc::now());
        let response = self
            .http
            .post(url)
            .header(header::CONTENT_TYPE, "application/ld+json")
            .header(header::ACCEPT, "application/json")
            .body(body)
            .send()
            .map_err(|err| unreachable(&err))?;
        match response.status() {
            StatusCode::ACCEPTED => {
                let location = response
                    .headers()
                    .get(header::LOCATION)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned)
                    .ok_or_else(|| {
                        CaptureError::Protocol("202 Accepted without a Location".to_owned())
                    })?;
                self.follow_job(&location)
            }
            // A synchronous capture interface confirms in the answer itself.
            status if status.is_success() => Ok(()),
            _ => Err(failure(response)),
        }
    }
}

fn http_client(upstream: &Upstream) -> Result<Client, UpstreamError> {
    install_crypto_provider();
    let timeouts = upstream.timeouts();
    let mut headers = HeaderMap::new();
    headers.insert(EPCIS_VERSION, HeaderValue::from_static("2.0.0"));
    let mut builder = Client::builder()
        .connect_timeout(timeouts.connect)
        .timeout(timeouts.request)
        .tls_backend_rustls()
        // A redirected POST turns into a GET, and a token must not follow to another host:
        // a redirect is reported as a configuration problem instead.
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("TraceDesk/", env!("CARGO_PKG_VERSION")));
    match upstream.credentials() {
        Credentials::None => {}
        Credentials::Bearer(token) => {
            let mut value =
                HeaderValue::from_str(&format!("Bearer {}", token.expose())).map_err(|_| {
                    UpstreamError::Client(
                        "the bearer token holds characters a header cannot".into(),
                    )
                })?;
            value.set_sensitive(true);
            headers.insert(header::AUTHORIZATION, value);
        }
        Credentials::ClientCertificate(path) => {
            let pem = std::fs::read(path).map_err(|source| UpstreamError::ClientCertificate {
                path: path.clone(),
                source,
            })?;
            let identity = reqwest::Identity::from_pem(&pem).map_err(|err| {
                UpstreamError::InvalidClientCertificate {
                    path: path.clone(),
                    reason: err.to_string(),
                }
            })?;
            builder = builder.identity(identity);
        }
    }
    builder
        .default_headers(headers)
        .build()
        .map_err(|err| UpstreamError::Client(err.to_string()))
}

/// The EPCISDocument carrying `events`. The events are already JSON text as recorded, so they
/// are spliced in rather than parsed and re-serialised (the bytes hashed are the bytes sent).
pub fn capture_document(events: &[QueuedEvent], creation_date: DateTime<Utc>) -> String {
    let head = document_head(creation_date);
    let size = head.len() + events.iter().map(|e| e.json.len() + 1).sum::<usize>() + 4;
    let mut body = String::with_capacity(size);
    body.push_str(&head);
    for (i, event) in events.iter().enumerate() {
        if i > 0 {
            body.push(',');
        }
        body.push_str(&event.json);
    }
    body.push_str("]}}");
    body
}

/// The bytes a document adds around its events (for splitting batches by size).
pub fn document_overhead() -> usize {
    document_head(DateTime::<Utc>::UNIX_EPOCH).len() + 3
}

fn document_head(creation_date: DateTime<Utc>) -> String {
    // The same context as `epcis::event::epcis_document`: TraceDesk's extension fields
    // (`tracedesk:...`) must resolve, or upstream would hash them differently.
    let context = serde_json::json!([EPCIS_CONTEXT_URL, { TRACEDESK_PREFIX: TRACEDESK_NAMESPACE }]);
    format!(
        r#"{{"@context":{context},"type":"EPCISDocument","schemaVersion":"2.0","creationDate":"{}","epcisBody":{{"eventList":["#,
        creation_date.to_rfc3339_opts(SecondsFormat::Millis, true)
    )
}

enum JobOutcome {
    Running,
    Succeeded,
    Failed(CaptureError),
}

/// Reads an EPCIS 2.0 capture job: `{"captureID", "running", "success", "errors": [...]}`.
fn job_outcome(job: &Value) -> JobOutcome {
    let running = job.get("running").and_then(Value::as_bool);
    let success = job.get("success").and_then(Value::as_bool);
    match (running, success) {
        (Some(true), _) => JobOutcome::Running,
        (None, None) => JobOutcome::Failed(CaptureError::Protocol(
            "the capture job says neither \"running\" nor \"success\"".to_owned(),
        )),
        (_, Some(true)) => JobOutcome::Succeeded,
        (_, _) => {
            let errors = job
                .get("errors")
                .and_then(Value::as_array)
                .map(Vec::as_slice)
                .unwrap_or_default();
            // An implementation exception is upstream's trouble, not the events'.
            let upstream_fault = errors.iter().any(|e| {
                e.get("status")
                    .and_then(Value::as_u64)
                    .is_some_and(|s| s >= 500)
                    || e.get("type")
                        .and_then(Value::as_str)
                        .is_some_and(|t| t.contains("ImplementationException"))
            });
            let message = errors
                .iter()
                .map(problem_message)
                .filter(|m| !m.is_empty())
                .collect::<Vec<_>>()
                .join("; ");
            let message = if message.is_empty() {
                "the capture job failed without saying why".to_owned()
            } else {
                shorten(&message)
            };
            JobOutcome::Failed(if upstream_fault {
                CaptureError::Busy {
                    status: 500,
                    retry_after: None,
                    message,
                }
            } else {
                CaptureError::Rejected {
                    status: 400,
                    message,
                }
            })
        }
    }
}

/// An RFC 7807 problem's most useful words: `detail`, else `title`, else `type`.
fn problem_message(problem: &Value) -> String {
    ["detail", "title", "type"]
        .iter()
        .find_map(|key| problem.get(*key).and_then(Value::as_str))
        .map(str::to_owned)
        .unwrap_or_default()
}

/// Classifies an unsuccessful answer.
pub(crate) fn failure(response: Response) -> CaptureError {
    let status = response.status();
    let retry_after = response
        .headers()
        .get(header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| parse_retry_after(v, Utc::now()));
    let redirect_target = response
        .headers()
        .get(header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let message = response_message(response, status);
    let code = status.as_u16();
    match code {
        408 | 425 | 429 | 500..=599 => CaptureError::Busy {
            status: code,
            retry_after,
            message,
        },
        400 | 409 | 413 | 422 => CaptureError::Rejected {
            status: code,
            message,
        },
        300..=399 => CaptureError::Refused {
            status: code,
            message: format!(
                "redirected to {}",
                redirect_target.as_deref().unwrap_or("an unnamed place")
            ),
        },
        _ => CaptureError::Refused {
            status: code,
            message,
        },
    }
}

fn response_message(response: Response, status: StatusCode) -> String {
    let text = response.text().unwrap_or_default();
    let from_problem = serde_json::from_str::<Value>(&text)
        .ok()
        .map(|v| problem_message(&v))
        .filter(|m| !m.is_empty());
    let message =
        from_problem.unwrap_or_else(|| text.split_whitespace().collect::<Vec<_>>().join(" "));
    if message.is_empty() {
        status
            .canonical_reason()
            .unwrap_or("no explanation given")
            .to_owned()
    } else {
        shorten(&message)
    }
}

fn shorten(message: &str) -> String {
    let mut short: String = message.chars().take(MAX_MESSAGE_CHARS).collect();
    if short.len() < message.len() {
        short.push('…');
    }
    short
}

fn read_json(response: Response) -> Result<Value, CaptureError> {
    let bytes = response.bytes().map_err(|err| unreachable(&err))?;
    serde_json::from_slice(&bytes)
        .map_err(|err| CaptureError::Protocol(format!("the capture job is not JSON: {err}")))
}

fn header_number(headers: &HeaderMap, name: &str) -> Option<usize> {
    headers.get(name)?.to_str().ok()?.trim().parse().ok()
}

/// Describes a transport failure in words a clerk can act on (never the request itself: the
/// URL is fine to show, the headers are not).
pub(crate) fn unreachable(err: &reqwest::Error) -> CaptureError {
    let io_kind = std::iter::successors(Some(err as &(dyn std::error::Error + 'static)), |e| {
        e.source()
    })
    .find_map(|e| e.downcast_ref::<std::io::Error>().map(std::io::Error::kind));
    let reason = if err.is_timeout() || io_kind == Some(std::io::ErrorKind::TimedOut) {
        "no answer in time (timed out)".to_owned()
    } else {
        match io_kind {
            Some(std::io::ErrorKind::ConnectionRefused) => "connection refused".to_owned(),
            Some(std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::ConnectionAborted) => {
                "connection reset".to_owned()
            }
            _ if err.is_connect() => "cannot connect".to_owned(),
            _ => {
                // reqwest's Display names the URL; the innermost cause says what happened.
                let innermost =
                    std::iter::successors(Some(err as &(dyn std::error::Error + 'static)), |e| {
                        e.source()
                    })
                    .last()
                    .map(ToString::to_string)
                    .unwrap_or_default();
                format!("connection dropped ({innermost})")
            }
        }
    };
    CaptureError::Unreachable { reason }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event(id: &str) -> QueuedEvent {
        QueuedEvent {
            event_id: id.to_owned(),
            json: json!({"type": "ObjectEvent", "eventID": id}).to_string(),
        }
    }

    #[test]
    fn the_document_is_valid_json_with_the_events_in_order() {
        let events = [event("a"), event("b")];
        let body = capture_document(&events, Utc::now());
        let document: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(document["type"], "EPCISDocument");
        assert_eq!(document["schemaVersion"], "2.0");
        assert_eq!(document["@context"][0], EPCIS_CONTEXT_URL);
        assert_eq!(
            document["@context"][1][TRACEDESK_PREFIX],
            TRACEDESK_NAMESPACE
        );
        let ids: Vec<&str> = document["epcisBody"]["eventList"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["eventID"].as_str().unwrap())
            .collect();
        assert_eq!(ids, ["a", "b"]);
        assert_eq!(
            body.len(),
            document_overhead() + events.iter().map(|e| e.json.len()).sum::<usize>() + 1
        );
        let empty: Value = serde_json::from_str(&capture_document(&[], Utc::now())).unwrap();
        assert_eq!(empty["epcisBody"]["eventList"], json!([]));
    }

    #[test]
    fn capture_jobs_are_read_per_epcis_2() {
        assert!(matches!(
            job_outcome(&json!({"captureID": "1", "running": true, "success": true})),
            JobOutcome::Running
        ));
        assert!(matches!(
            job_outcome(&json!({"captureID": "1", "running": false, "success": true})),
            JobOutcome::Succeeded
        ));
        let JobOutcome::Failed(garbage) = job_outcome(&json!({"captureID": "1"})) else {
            panic!("a job without state must not count as running or done")
        };
        assert!(garbage.is_transient());
        let JobOutcome::Failed(rejected) = job_outcome(&json!({
            "running": false, "success": false,
            "errors": [{"type": "epcisException:ValidationException", "title": "Invalid event",
                        "detail": "event 3: bad epc"}]
        })) else {
            panic!("a failed job must fail")
        };
        assert_eq!(
            rejected,
            CaptureError::Rejected {
                status: 400,
                message: "event 3: bad epc".to_owned()
            }
        );
        let JobOutcome::Failed(busy) = job_outcome(&json!({
            "running": false, "success": false,
            "errors": [{"type": "epcisException:ImplementationException", "status": 500}]
        })) else {
            panic!("a failed job must fail")
        };
        assert!(busy.is_transient());
    }

    #[test]
    fn long_messages_are_shortened_on_a_char_boundary() {
        let long = "é".repeat(MAX_MESSAGE_CHARS + 10);
        let short = shorten(&long);
        assert_eq!(short.chars().count(), MAX_MESSAGE_CHARS + 1);
        assert!(short.ends_with('…'));
        assert_eq!(shorten("fine"), "fine");
    }
}
