//! Down-sync: new supplier events (shipping, commissioning, status changes) from upstream's
//! EPCIS 2.0 query interface, resuming where the last pull stopped.
//!
//! `GET {base}/events?GE_recordTime=<cursor>&orderBy=recordTime&orderDirection=ASC&perPage=N`
//! plus the caller's filters (e.g. `EQ_bizLocation`), then every `Link: <...>; rel="next"` page.
//! Each page's events go to a callback (the store's EPCIS import); after the callback accepted a
//! page, the cursor (the latest `recordTime` seen, as the store's UTC text) is saved through
//! [`PullCursor`] (on the store, [`crate::store::pull_cursor`]), so a pull interrupted at any
//! point resumes from the last page it finished. `GE_recordTime` is inclusive, so the
//! events at the cursor's instant come again: the consumer must treat an event it already has
//! (same hash ID) as a no-op, which the store's import does.
//!
//! Page tokens are not persisted: they expire on most servers, while a recordTime never does.
//!
//! A `next` link is resolved against the page it came with and followed only within the
//! configured upstream's origin (the client's [`CaptureClient::request`] refuses any other, so
//! a page naming another host, port or scheme cannot draw the credentials there). A page is
//! read up to [`EventQuery::max_page_bytes`] and refused beyond it.

use chrono::{DateTime, Utc};
use reqwest::header::{self, HeaderMap};
use reqwest::{Method, Url};
use serde_json::Value;

use super::capture::{CaptureClient, CaptureError, failure, unreachable};
use super::outbox::OutboxError;
use crate::net::read_within;
use crate::store::{Store, timestamp};

/// What to ask the query interface for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventQuery {
    /// Query parameters besides the cursor and ordering, e.g. `("EQ_bizLocation", gln_uri)`.
    pub filters: Vec<(String, String)>,
    pub per_page: usize,
    /// A bound on pages per pull, so a server that keeps linking to itself cannot loop us.
    pub max_pages: usize,
    /// The largest page read, in bytes (the page is parsed whole, so this bounds memory).
    pub max_page_bytes: u64,
}

impl Default for EventQuery {
    fn default() -> Self {
        Self {
            filters: Vec::new(),
            per_page: 500,
            max_pages: 10_000,
            // 500 events of a few kilobytes each, with a wide margin for verbose servers.
            max_page_bytes: 64 * 1024 * 1024,
        }
    }
}

/// Why a pull stopped early. Everything before the failing page is kept, cursor included.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PullError {
    #[error(transparent)]
    Upstream(#[from] CaptureError),
    #[error("upstream's query answer is not an EPCIS document: {0}")]
    NotADocument(String),
    #[error("upstream's query page is larger than {limit} bytes; ask for fewer events per page")]
    PageTooLarge { limit: u64 },
    #[error("the pulled events could not be stored: {0}")]
    Consumer(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error(transparent)]
    Cursor(#[from] OutboxError),
}

/// What a pull brought.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PullReport {
    pub pages: usize,
    pub events: usize,
    /// The cursor now saved (unchanged when nothing new came).
    pub cursor: Option<String>,
}

/// Where the pull cursor is kept between pulls.
pub trait PullCursor {
    fn load_cursor(&mut self) -> Result<Option<String>, OutboxError>;
    fn save_cursor(&mut self, cursor: &str) -> Result<(), OutboxError>;
}

/// The store keeps the cursor in its settings ([`crate::store::pull_cursor`]).
impl PullCursor for Store {
    fn load_cursor(&mut self) -> Result<Option<String>, OutboxError> {
        Ok(self.pull_cursor()?)
    }

    fn save_cursor(&mut self, cursor: &str) -> Result<(), OutboxError> {
        Ok(self.set_pull_cursor(cursor)?)
    }
}

/// Pulls every page of new events, handing each page to `on_page` (with the cursor's store,
/// which is usually also where the events go) and saving the cursor after it.
pub fn pull_events<S, E>(
    client: &CaptureClient,
    query: &EventQuery,
    cursor_store: &mut S,
    mut on_page: impl FnMut(&mut S, &[Value]) -> Result<(), E>,
) -> Result<PullReport, PullError>
where
    S: PullCursor,
    E: std::error::Error + Send + Sync + 'static,
{
    let mut cursor = cursor_store.load_cursor()?;
    let mut report = PullReport {
        cursor: cursor.clone(),
        ..PullReport::default()
    };
    let mut next = Some(first_page_url(client, query, cursor.as_deref())?);
    while let Some(url) = next.take() {
        if report.pages >= query.max_pages {
            tracing::warn!(pages = report.pages, "pull stopped at its page bound");
            break;
        }
        let response = client
            .request(Method::GET, url.clone())?
            .header(header::ACCEPT, "application/ld+json, application/json")
            .send()
            .map_err(|err| unreachable(&err))?;
        if !response.status().is_success() {
            return Err(failure(response).into());
        }
        next = next_link(response.headers(), &url);
        let limit = query.max_page_bytes;
        if response
            .content_length()
            .is_some_and(|length| length > limit)
        {
            return Err(PullError::PageTooLarge { limit });
        }
        let bytes = read_within(response, limit)
            .map_err(|err| unreachable(&err))?
            .ok_or(PullError::PageTooLarge { limit })?;
        let document: Value = serde_json::from_slice(&bytes)
            .map_err(|err| PullError::NotADocument(err.to_string()))?;
        let events = page_events(&document)?;
        on_page(cursor_store, events).map_err(|err| PullError::Consumer(Box::new(err)))?;
        report.pages += 1;
        report.events += events.len();
        if let Some(latest) = latest_record_time(events, cursor.as_deref()) {
            cursor_store.save_cursor(&latest)?;
            cursor = Some(latest);
        }
    }
    report.cursor = cursor;
    Ok(report)
}

fn first_page_url(
    client: &CaptureClient,
    query: &EventQuery,
    cursor: Option<&str>,
) -> Result<Url, PullError> {
    let mut url = client
        .upstream()
        .endpoint("events")
        .map_err(|err| CaptureError::Protocol(err.to_string()))?;
    {
        let mut pairs = url.query_pairs_mut();
        if let Some(cursor) = cursor {
            pairs.append_pair("GE_recordTime", cursor);
        }
        pairs
            .append_pair("orderBy", "recordTime")
            .append_pair("orderDirection", "ASC")
            .append_pair("perPage", &query.per_page.max(1).to_string());
        for (name, value) in &query.filters {
            pairs.append_pair(name, value);
        }
    }
    Ok(url)
}

/// The events of an EPCISQueryDocument (`epcisBody.queryResults.resultsBody.eventList`) or a
/// plain EPCISDocument (`epcisBody.eventList`). A page without a body is refused; an empty list
/// is fine.
fn page_events(document: &Value) -> Result<&[Value], PullError> {
    let body = document
        .get("epcisBody")
        .ok_or_else(|| PullError::NotADocument("it has no epcisBody".to_owned()))?;
    let list = body
        .get("queryResults")
        .and_then(|q| q.get("resultsBody"))
        .and_then(|r| r.get("eventList"))
        .or_else(|| body.get("eventList"));
    match list {
        Some(Value::Array(events)) => Ok(events),
        Some(_) => Err(PullError::NotADocument(
            "its eventList is not a list".to_owned(),
        )),
        None => Ok(&[]),
    }
}

/// The latest `recordTime` among `events` and the current cursor, as UTC text.
fn latest_record_time(events: &[Value], cursor: Option<&str>) -> Option<String> {
    let parse = |text: &str| {
        DateTime::parse_from_rfc3339(text)
            .ok()
            .map(|t| t.with_timezone(&Utc))
    };
    let current = cursor.and_then(parse);
    let latest = events
        .iter()
        .filter_map(|e| e.get("recordTime").and_then(Value::as_str))
        .filter_map(parse)
        .max()?;
    (current.is_none_or(|c| latest > c)).then(|| timestamp(latest))
}

/// The `rel="next"` target of a `Link` header (RFC 8288), resolved against the page's URL.
fn next_link(headers: &HeaderMap, page: &Url) -> Option<Url> {
    headers
        .get_all(header::LINK)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .find_map(|link| {
            let (target, params) = link.trim().split_once(';')?;
            let is_next = params.split(';').any(|p| {
                let p = p.trim().replace(' ', "");
                p.eq_ignore_ascii_case("rel=\"next\"") || p.eq_ignore_ascii_case("rel=next")
            });
            let target = target.trim().strip_prefix('<')?.strip_suffix('>')?;
            is_next.then(|| page.join(target).ok()).flatten()
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;
    use serde_json::json;

    #[test]
    fn next_links_are_found_among_others_and_resolved() {
        let page = Url::parse("https://h.example/epcis/events?perPage=2").unwrap();
        let mut headers = HeaderMap::new();
        headers.insert(
            header::LINK,
            HeaderValue::from_static(
                r#"<https://h.example/prev>; rel="prev", </epcis/events?nextPageToken=abc>; rel="next""#,
            ),
        );
        assert_eq!(
            next_link(&headers, &page).unwrap().as_str(),
            "https://h.example/epcis/events?nextPageToken=abc"
        );
        assert_eq!(next_link(&HeaderMap::new(), &page), None);
    }

    #[test]
    fn query_and_plain_documents_both_give_their_events() {
        let query =
            json!({"epcisBody": {"queryResults": {"resultsBody": {"eventList": [{"a": 1}]}}}});
        assert_eq!(page_events(&query).unwrap().len(), 1);
        let plain = json!({"epcisBody": {"eventList": [{"a": 1}, {"b": 2}]}});
        assert_eq!(page_events(&plain).unwrap().len(), 2);
        assert!(page_events(&json!({"epcisBody": {}})).unwrap().is_empty());
        assert!(page_events(&json!({"nope": 1})).is_err());
        assert!(page_events(&json!({"epcisBody": {"eventList": 3}})).is_err());
    }

    #[test]
    fn the_cursor_only_moves_forward_in_utc() {
        let events = [
            json!({"recordTime": "2026-01-01T10:00:00+02:00"}),
            json!({"recordTime": "2026-01-01T09:00:00Z"}),
            json!({"recordTime": "garbage"}),
        ];
        assert_eq!(
            latest_record_time(&events, None).as_deref(),
            Some("2026-01-01T09:00:00.000Z")
        );
        assert_eq!(
            latest_record_time(&events, Some("2026-01-01T09:30:00.000Z")),
            None
        );
        assert_eq!(latest_record_time(&[], None), None);
    }
}
