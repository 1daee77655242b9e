//! A small, real EPCIS 2.0 REST server on loopback for the sync tests and benchmark.
//!
//! Plain `std::net` and threads, HTTP/1.1 with keep-alive and `Content-Length` bodies (what
//! reqwest sends). It implements `OPTIONS /capture` (with `GS1-EPCIS-Capture-Limit`),
//! `POST /capture` (202 + `Location`), `GET /capture/{id}` (a capture job, optionally `running`
//! for a few polls) and `GET /events` (an EPCISQueryDocument, `GE_recordTime`, `perPage`,
//! `nextPageToken`, `Link: <...>; rel="next"`).
//!
//! It captures like a real repository: a document is all-or-nothing; every eventID in an
//! accepted document is recorded (re-sends included, so tests can see them), and the dedup set
//! is what a repository would hold. Faults are injected on demand per request: a reset (the
//! request is read, then the connection dropped), a hang (never answered), or any status with
//! an optional `Retry-After`. Events named with [`EpcisServer::reject_event`] make any document
//! holding them fail with 400 and a problem body naming the event.
//!
//! For the credential tests it can point elsewhere: capture job `Location`s and `next` links may
//! name another server ([`State::job_location_base`], [`State::next_link_base`]), a fault may be
//! a redirect or an error answer with a huge body that never ends, and every connection and
//! request is counted, so a test can prove a second server was never contacted at all.
//!
//! It stops by itself: on drop, or at the latest after its lifetime deadline; every loop is
//! bounded by the stop flag and read timeouts.

#![allow(dead_code)]

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// What the next matching request gets instead of a normal answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Read the request, then drop the connection without a word.
    Reset,
    /// Read the request and never answer (until the server stops).
    Hang,
    /// Answer with this status, and `Retry-After` when given.
    Status {
        code: u16,
        retry_after: Option<String>,
    },
    /// Answer with this (3xx) status and `Location`.
    Redirect { code: u16, location: String },
    /// Answer with this status and a `bytes`-byte body, streamed in pieces, all but its last
    /// byte: the answer never ends, until the client hangs up (or its timeout fires).
    EndlessBody { code: u16, bytes: usize },
}

#[derive(Debug, Default)]
pub struct State {
    /// Faults for the next `POST /capture` requests, first first.
    pub capture_faults: VecDeque<Fault>,
    /// Faults for the next `GET /capture/{id}` requests.
    pub job_faults: VecDeque<Fault>,
    /// eventID -> the message of the 400 for any document holding it.
    pub bad_events: HashMap<String, String>,
    /// Announced on `OPTIONS /capture` and enforced (413 above it).
    pub capture_limit: Option<usize>,
    /// How many polls a capture job answers `running: true` before it is done.
    pub job_running_polls: usize,
    /// A pause before answering each `POST /capture` (to make batches slow).
    pub capture_delay: Duration,
    /// Check every received eventID against the CBV 2.0 hash of the event as received.
    pub check_hashes: bool,
    /// Every eventID of every accepted document, in arrival order, re-sends included.
    pub accepted: Vec<String>,
    /// eventIDs whose event did not hash to them.
    pub hash_mismatches: Vec<String>,
    /// Documents that were refused by a fault, a rejection or the limit.
    pub refused_posts: usize,
    pub posts: usize,
    pub faults_hit: usize,
    /// The events `GET /events` serves, each with a `recordTime`.
    pub query_events: Vec<Value>,
    /// The request targets of every `GET /events`.
    pub queries: Vec<String>,
    /// The `Authorization` header of the last request, if any.
    pub authorization: Option<String>,
    /// Connections accepted.
    pub connections: usize,
    /// `METHOD target` of every request read.
    pub requests: Vec<String>,
    /// When set, capture job `Location`s are absolute URLs below this base (another server).
    pub job_location_base: Option<String>,
    /// When set, `next` links are absolute URLs below this base (another server).
    pub next_link_base: Option<String>,
    jobs: HashMap<u64, usize>,
    next_job: u64,
}

impl State {
    /// The dedup set: what the repository holds.
    pub fn distinct(&self) -> BTreeSet<String> {
        self.accepted.iter().cloned().collect()
    }
}

struct Shared {
    state: Mutex<State>,
    stop: AtomicBool,
    deadline: Instant,
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
    fn stopping(&self) -> bool {
        self.stop.load(Ordering::Relaxed) || Instant::now() >= self.deadline
    }
}

pub struct EpcisServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    acceptor: Option<JoinHandle<()>>,
}

/// A loopback port with nothing listening on it (for "connection refused").
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

impl EpcisServer {
    /// A server on a free loopback port that stops by itself after two minutes at the latest.
    pub fn start() -> Self {
        Self::start_on(0, Duration::from_secs(120))
    }

    /// A server on `port` (0 = any) that stops by itself after `lifetime`.
    pub fn start_on(port: u16, lifetime: Duration) -> Self {
        Self::start_at("127.0.0.1", port, lifetime)
    }

    /// A server on loopback address `ip` (e.g. `127.0.0.2`, another host as far as URLs go)
    /// and `port` (0 = any) that stops by itself after `lifetime`.
    pub fn start_at(ip: &str, port: u16, lifetime: Duration) -> Self {
        let listener = TcpListener::bind((ip, port)).unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let shared = Arc::new(Shared {
            state: Mutex::new(State::default()),
            stop: AtomicBool::new(false),
            deadline: Instant::now() + lifetime,
        });
        let acceptor = {
            let shared = Arc::clone(&shared);
            std::thread::spawn(move || accept_loop(listener, shared))
        };
        Self {
            addr,
            shared,
            acceptor: Some(acceptor),
        }
    }

    /// The base URL, e.g. `http://127.0.0.1:40123/`.
    pub fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// The server's state, to set up faults or read what arrived.
    pub fn state(&self) -> MutexGuard<'_, State> {
        self.shared.state()
    }

    pub fn inject_capture(&self, fault: Fault) {
        self.state().capture_faults.push_back(fault);
    }

    pub fn inject_job(&self, fault: Fault) {
        self.state().job_faults.push_back(fault);
    }

    pub fn reject_event(&self, event_id: &str, message: &str) {
        self.state()
            .bad_events
            .insert(event_id.to_owned(), message.to_owned());
    }

    pub fn stop(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
    }
}

impl Drop for EpcisServer {
    fn drop(&mut self) {
        self.stop();
    }
}

fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    let mut connections = Vec::new();
    while !shared.stopping() {
        match listener.accept() {
            Ok((stream, _)) => {
                shared.state().connections += 1;
                let shared = Arc::clone(&shared);
                connections.push(std::thread::spawn(move || serve(stream, &shared)));
            }
            Err(err) if err.kind() == std::io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(2));
            }
            Err(_) => std::thread::sleep(Duration::from_millis(10)),
        }
        connections.retain(|c: &JoinHandle<()>| !c.is_finished());
    }
    for connection in connections {
        let _ = connection.join();
    }
}

struct Request {
    method: String,
    target: String,
    authorization: Option<String>,
    body: Vec<u8>,
}

struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Answer {
    fn json(status: u16, body: &Value) -> Self {
        Self {
            status,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: body.to_string().into_bytes(),
        }
    }
    fn empty(status: u16) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }
    fn header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_owned(), value.into()));
        self
    }
}

enum Reply {
    Answer(Answer),
    /// An answer announcing a `bytes`-byte body, all of it but the last byte written.
    Endless {
        status: u16,
        bytes: usize,
    },
    Reset,
    Hang,
}

fn serve(stream: TcpStream, shared: &Shared) {
    let _ = stream.set_read_timeout(Some(Duration::from_millis(50)));
    let _ = stream.set_nodelay(true);
    let mut stream = stream;
    let mut buffer = Vec::new();
    loop {
        let Some(request) = read_request(&mut stream, &mut buffer, shared) else {
            return;
        };
        match handle(&request, shared) {
            Reply::Answer(answer) => {
                if write_answer(&mut stream, &answer).is_err() {
                    return;
                }
            }
            Reply::Endless { status, bytes } => {
                let _ = write_endless(&mut stream, status, bytes, shared);
                return;
            }
            Reply::Reset => return,
            Reply::Hang => {
                while !shared.stopping() {
                    std::thread::sleep(Duration::from_millis(20));
                }
                return;
            }
        }
    }
}

/// Reads one request; `None` when the client went away or the server is stopping.
fn read_request(stream: &mut TcpStream, buffer: &mut Vec<u8>, shared: &Shared) -> Option<Request> {
    let mut chunk = [0u8; 64 * 1024];
    let header_end = loop {
        if let Some(end) = find(buffer, b"\r\n\r\n") {
            break end;
        }
        if !fill(stream, buffer, &mut chunk, shared)? {
            return None;
        }
    };
    let head = String::from_utf8_lossy(&buffer[..header_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut first = lines.next()?.split(' ');
    let method = first.next()?.to_owned();
    let target = first.next()?.to_owned();
    let headers: Vec<(&str, &str)> = lines.filter_map(|l| l.split_once(':')).collect();
    let header = |wanted: &str| {
        headers
            .iter()
            .find(|(name, _)| name.trim().eq_ignore_ascii_case(wanted))
            .map(|(_, v)| v.trim().to_owned())
    };
    let length = header("content-length")
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(0);
    let authorization = header("authorization");
    let body_start = header_end + 4;
    while buffer.len() < body_start + length {
        if !fill(stream, buffer, &mut chunk, shared)? {
            return None;
        }
    }
    let body = buffer[body_start..body_start + length].to_vec();
    buffer.drain(..body_start + length);
    Some(Request {
        method,
        target,
        authorization,
        body,
    })
}

/// Reads more bytes: `Some(true)` got some, `Some(false)` the peer closed, `None` stopping.
fn fill(
    stream: &mut TcpStream,
    buffer: &mut Vec<u8>,
    chunk: &mut [u8],
    shared: &Shared,
) -> Option<bool> {
    loop {
        if shared.stopping() {
            return None;
        }
        match stream.read(chunk) {
            Ok(0) => return Some(false),
            Ok(n) => {
                buffer.extend_from_slice(&chunk[..n]);
                return Some(true);
            }
            Err(err)
                if matches!(
                    err.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(_) => return Some(false),
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn write_answer(stream: &mut TcpStream, answer: &Answer) -> std::io::Result<()> {
    let mut head = format!(
        "HTTP/1.1 {} {}\r\nContent-Length: {}\r\n",
        answer.status,
        reason(answer.status),
        answer.body.len()
    );
    for (name, value) in &answer.headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    let mut bytes = head.into_bytes();
    bytes.extend_from_slice(&answer.body);
    stream.write_all(&bytes)?;
    stream.flush()
}

/// Writes the body in pieces (the server never holds it whole) but the last byte, then waits
/// for the client to hang up.
fn write_endless(
    stream: &mut TcpStream,
    status: u16,
    bytes: usize,
    shared: &Shared,
) -> std::io::Result<()> {
    let head = format!(
        "HTTP/1.1 {status} {}\r\nContent-Type: text/html\r\nContent-Length: {bytes}\r\n\r\n",
        reason(status)
    );
    stream.write_all(head.as_bytes())?;
    let piece = b"<p>Service unavailable, please try again later.</p>\n".repeat(1024);
    let mut left = bytes.saturating_sub(1);
    while left > 0 {
        if shared.stopping() {
            return Ok(());
        }
        let n = left.min(piece.len());
        stream.write_all(&piece[..n])?;
        left -= n;
    }
    stream.flush()?;
    let mut scratch = [0u8; 1024];
    while !shared.stopping() {
        match stream.read(&mut scratch) {
            Ok(0) => return Ok(()),
            Ok(_) => {}
            Err(err)
                if matches!(
                    err.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(err) => return Err(err),
        }
    }
    Ok(())
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        202 => "Accepted",
        204 => "No Content",
        400 => "Bad Request",
        404 => "Not Found",
        413 => "Payload Too Large",
        429 => "Too Many Requests",
        503 => "Service Unavailable",
        _ => "Whatever",
    }
}

fn fault_reply(fault: Fault) -> Reply {
    match fault {
        Fault::Reset => Reply::Reset,
        Fault::Hang => Reply::Hang,
        Fault::Redirect { code, location } => {
            Reply::Answer(Answer::empty(code).header("Location", location))
        }
        Fault::EndlessBody { code, bytes } => Reply::Endless {
            status: code,
            bytes,
        },
        Fault::Status { code, retry_after } => {
            let mut answer = Answer::json(
                code,
                &json!({"type": "epcisException:ImplementationException", "title": "injected fault", "status": code}),
            );
            if let Some(after) = retry_after {
                answer = answer.header("Retry-After", after);
            }
            Reply::Answer(answer)
        }
    }
}

fn handle(request: &Request, shared: &Shared) -> Reply {
    {
        let mut state = shared.state();
        state.authorization = request.authorization.clone();
        state
            .requests
            .push(format!("{} {}", request.method, request.target));
    }
    let (path, query) = request
        .target
        .split_once('?')
        .unwrap_or((request.target.as_str(), ""));
    match (request.method.as_str(), path) {
        ("OPTIONS", "/capture") => {
            let limit = shared.state().capture_limit;
            let mut answer = Answer::empty(204).header("Allow", "OPTIONS, GET, POST");
            if let Some(limit) = limit {
                answer = answer.header("GS1-EPCIS-Capture-Limit", limit.to_string());
            }
            Reply::Answer(answer)
        }
        ("POST", "/capture") => capture(request, shared),
        ("GET", p) if p.starts_with("/capture/") => job(p, shared),
        ("GET", "/events") => events(query, shared),
        _ => Reply::Answer(Answer::json(404, &json!({"title": "no such resource"}))),
    }
}

fn capture(request: &Request, shared: &Shared) -> Reply {
    let (fault, delay) = {
        let mut state = shared.state();
        state.posts += 1;
        let fault = state.capture_faults.pop_front();
        if fault.is_some() {
            state.faults_hit += 1;
            state.refused_posts += 1;
        }
        (fault, state.capture_delay)
    };
    if let Some(fault) = fault {
        return fault_reply(fault);
    }
    if !delay.is_zero() {
        std::thread::sleep(delay);
    }
    let bad_request = |detail: String| {
        Reply::Answer(Answer::json(
            400,
            &json!({"type": "epcisException:ValidationException", "title": "Invalid document", "status": 400, "detail": detail}),
        ))
    };
    let Ok(document) = serde_json::from_slice::<Value>(&request.body) else {
        shared.state().refused_posts += 1;
        return bad_request("the body is not JSON".into());
    };
    let Some(events) = document
        .pointer("/epcisBody/eventList")
        .and_then(Value::as_array)
    else {
        shared.state().refused_posts += 1;
        return bad_request("no epcisBody.eventList".into());
    };
    let ids: Vec<String> = events
        .iter()
        .map(|e| {
            e.get("eventID")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        })
        .collect();
    let mut state = shared.state();
    if let Some(limit) = state.capture_limit
        && ids.len() > limit
    {
        state.refused_posts += 1;
        return Reply::Answer(Answer::json(
            413,
            &json!({"title": "too many events", "status": 413}),
        ));
    }
    if let Some(message) = ids.iter().find_map(|id| state.bad_events.get(id)).cloned() {
        state.refused_posts += 1;
        return bad_request(message);
    }
    if state.check_hashes {
        let hashes =
            tracedesk::epcis::hash::jsonld_document_hash_ids(&document).unwrap_or_default();
        for (id, hash) in ids
            .iter()
            .zip(hashes.iter().map(Some).chain(std::iter::repeat(None)))
        {
            if hash != Some(id) {
                state.hash_mismatches.push(id.clone());
            }
        }
    }
    state.accepted.extend(ids);
    let job = state.next_job;
    state.next_job += 1;
    let polls = state.job_running_polls;
    state.jobs.insert(job, polls);
    let location = match &state.job_location_base {
        Some(base) => format!("{}/capture/{job}", base.trim_end_matches('/')),
        None => format!("/capture/{job}"),
    };
    Reply::Answer(Answer::empty(202).header("Location", location))
}

fn job(path: &str, shared: &Shared) -> Reply {
    let mut state = shared.state();
    if let Some(fault) = state.job_faults.pop_front() {
        state.faults_hit += 1;
        return fault_reply(fault);
    }
    let id = path.trim_start_matches("/capture/");
    let Some(remaining) = id
        .parse::<u64>()
        .ok()
        .and_then(|id| state.jobs.get_mut(&id))
    else {
        return Reply::Answer(Answer::json(404, &json!({"title": "no such capture job"})));
    };
    let running = *remaining > 0;
    *remaining = remaining.saturating_sub(1);
    Reply::Answer(Answer::json(
        200,
        &json!({"captureID": id, "running": running, "success": !running, "captureErrorBehaviour": "rollback", "errors": []}),
    ))
}

fn events(query: &str, shared: &Shared) -> Reply {
    let params: HashMap<String, String> = query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (decode(k), decode(v)))
        .collect();
    let mut state = shared.state();
    state.queries.push(query.to_owned());
    let since = params
        .get("GE_recordTime")
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok());
    let per_page = params
        .get("perPage")
        .and_then(|n| n.parse::<usize>().ok())
        .unwrap_or(100)
        .max(1);
    let offset = params
        .get("nextPageToken")
        .and_then(|n| n.parse::<usize>().ok())
        .unwrap_or(0);
    let record_time = |e: &Value| {
        e.get("recordTime")
            .and_then(Value::as_str)
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
    };
    let mut matching: Vec<&Value> = state
        .query_events
        .iter()
        .filter(|e| since.is_none_or(|s| record_time(e).is_some_and(|t| t >= s)))
        .collect();
    matching.sort_by_key(|e| record_time(e));
    let page: Vec<Value> = matching
        .iter()
        .skip(offset)
        .take(per_page)
        .map(|e| (*e).clone())
        .collect();
    let more = matching.len() > offset + per_page;
    let body = json!({
        "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
        "type": "EPCISQueryDocument",
        "schemaVersion": "2.0",
        "creationDate": "2026-11-24T00:00:00Z",
        "epcisBody": {"queryResults": {"queryName": "SimpleEventQuery", "resultsBody": {"eventList": page}}}
    });
    let mut answer = Answer::json(200, &body);
    if more {
        // Only the token: a real server keeps the query behind it.
        let next = format!(
            "/events?nextPageToken={}&perPage={per_page}{}",
            offset + per_page,
            params
                .get("GE_recordTime")
                .map(|t| format!("&GE_recordTime={}", encode(t)))
                .unwrap_or_default()
        );
        let base = state
            .next_link_base
            .as_deref()
            .map_or("", |base| base.trim_end_matches('/'));
        answer = answer.header("Link", format!("<{base}{next}>; rel=\"next\""));
    }
    Reply::Answer(answer)
}

fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(b) => {
                        out.push(b);
                        i += 3;
                        continue;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            b'+' => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
