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
//! batch; a refusal (401, 403, 404, a redirect, a job at another origin...) is about the
//! configuration and parks nothing.
//!
//! Every request is built by [`CaptureClient::request`], the one place that attaches the
//! credentials, and only after [`Upstream::check_origin`] agreed: a capture job `Location` or a
//! redirect naming another origin is refused, never contacted (redirects are not followed at
//! all). Answers are read only as far as they are used ([`read_within`], [`read_prefix`]): a
//! failing upstream's 50 MB error page costs the first few kilobytes, not 50 MB.

use std::borrow::Cow;
use std::time::{Duration, Instant};

use chrono::{DateTime, SecondsFormat, Utc};
use reqwest::blocking::{Client, RequestBuilder, Response};
use reqwest::header::{self, HeaderMap, HeaderValue};
use reqwest::{Method, StatusCode, Url};
use serde_json::Value;

use super::outbox::QueuedEvent;
use super::retry::parse_retry_after;
use super::upstream::{Credentials, Upstream, UpstreamError};
use crate::epcis::event::{EPCIS_CONTEXT_URL, TRACEDESK_NAMESPACE, TRACEDESK_PREFIX};
pub use crate::net::install_crypto_provider;
use crate::net::{ForeignOrigin, read_prefix, read_within, unreachable_reason};

const CAPTURE_LIMIT: &str = "GS1-EPCIS-Capture-Limit";
const FILE_SIZE_LIMIT: &str = "GS1-EPCIS-Capture-File-Size-Limit";
const EPCIS_VERSION: &str = "GS1-EPCIS-Version";
/// Upstream's messages are shown to a clerk and stored with parked events; keep them short.
const MAX_MESSAGE_CHARS: usize = 500;
/// How much of an error answer is read for its message (which keeps 500 characters at most).
const ERROR_BODY_LIMIT: u64 = 4 * 1024;
/// The largest capture job answer read: a job is a few hundred bytes, with room for a long list
/// of errors.
const JOB_BODY_LIMIT: u64 = 1024 * 1024;

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
    /// Upstream pointed us (a capture job, a next page) at another origin; nothing was sent.
    #[error(transparent)]
    ForeignOrigin(#[from] ForeignOrigin),
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
    /// `Bearer <token>`, marked sensitive (so `Debug` shows no token); added by
    /// [`CaptureClient::request`] alone.
    authorization: Option<HeaderValue>,
    upstream: Upstream,
    limits: Option<CaptureLimits>,
}

impl CaptureClient {
    pub fn new(upstream: Upstream) -> Result<Self, UpstreamError> {
        let authorization = match upstream.credentials() {
            Credentials::Bearer(token) => {
                let mut value = HeaderValue::from_str(&format!("Bearer {}", token.expose()))
                    .map_err(|_| {
                        UpstreamError::Client(
                            "the bearer token holds characters a header cannot".into(),
                        )
                    })?;
                value.set_sensitive(true);
                Some(value)
            }
            Credentials::None | Credentials::ClientCertificate(_) => None,
        };
        Ok(Self {
            http: http_client(&upstream)?,
            authorization,
            upstream,
            limits: None,
        })
    }

    pub fn upstream(&self) -> &Upstream {
        &self.upstream
    }

    /// A request to `url` carrying the credentials, or the refusal when `url` is not in the
    /// configured origin (logged, and nothing sent). Every request to upstream, the query side
    /// of [`crate::sync::pull`] included, is built here.
    pub(crate) fn request(&self, method: Method, url: Url) -> Result<RequestBuilder, CaptureError> {
        if let Err(refusal) = self.upstream.check_origin(&url) {
            tracing::warn!(%refusal, "request to another origin refused");
            return Err(refusal.into());
        }
        let request = self.http.request(method, url);
        Ok(match &self.authorization {
            Some(value) => request.header(header::AUTHORIZATION, value.clone()),
            None => request,
        })
    }

    fn probe_limits(&self) -> Result<CaptureLimits, CaptureError> {
        let url = self.endpoint("capture")?;
        let response = self
            .request(Method::OPTIONS, url)?
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
                .request(Method::GET, url.clone())?
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
            .request(Method::POST, url)?
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
        // Never followed: a redirected POST turns into a GET, and a followed redirect would be
        // a request that skipped `CaptureClient::request`'s origin check. A redirect is reported
        // as a configuration problem instead.
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("TraceDesk/", env!("CARGO_PKG_VERSION")));
    match upstream.credentials() {
        // Attached per request, by `CaptureClient::request`.
        Credentials::None | Credentials::Bearer(_) => {}
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
    // A body that cannot be read still has a status worth reporting: the message is a bonus.
    let bytes = read_prefix(response, ERROR_BODY_LIMIT).unwrap_or_default();
    let text = text_of(&bytes);
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
    let bytes = read_within(response, JOB_BODY_LIMIT)
        .map_err(|err| unreachable(&err))?
        .ok_or_else(|| {
            CaptureError::Protocol(format!(
                "the capture job answer is larger than {JOB_BODY_LIMIT} bytes"
            ))
        })?;
    serde_json::from_slice(&bytes)
        .map_err(|err| CaptureError::Protocol(format!("the capture job is not JSON: {err}")))
}

/// Text from a body's first bytes, which may end inside a UTF-8 sequence.
fn text_of(bytes: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(bytes) {
        Ok(text) => Cow::Borrowed(text),
        // Only the cut at the end: drop the partial character rather than show U+FFFD.
        Err(err) if err.error_len().is_none() => {
            String::from_utf8_lossy(bytes.get(..err.valid_up_to()).unwrap_or(bytes))
        }
        Err(_) => String::from_utf8_lossy(bytes),
    }
}

fn header_number(headers: &HeaderMap, name: &str) -> Option<usize> {
    headers.get(name)?.to_str().ok()?.trim().parse().ok()
}

/// A transport failure (sending, or reading an answer's body) as the capture client reports it.
pub(crate) fn unreachable(err: &(dyn std::error::Error + 'static)) -> CaptureError {
    CaptureError::Unreachable {
        reason: unreachable_reason(err),
    }
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
    fn a_body_cut_inside_a_character_loses_only_that_character() {
        let text = "délai dépassé";
        let cut = &text.as_bytes()[..text.find('é').unwrap_or_default() + 1];
        assert_eq!(text_of(cut), "d");
        assert_eq!(text_of(text.as_bytes()), text);
        assert_eq!(text_of(b"a\xffb"), "a\u{fffd}b");
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
