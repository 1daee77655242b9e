//! `tracedesk verify [--json] [--online [--context CONTEXT]] [SCAN...]`: read-only verdicts,
//! one line per input line.
//!
//! With `--online` each unit's line also carries the manufacturer's answer through the
//! verification router (`lms`), or why there is none; the local verdict stands either way.
//!
//! A scan of a case or tote label (SSCC) known from aggregation data answers for every unit it
//! holds: one line for the SSCC, with the children's count and the union of their reasons.

use super::config::open_store;
use super::input::ScanInput;
use crate::desk::online::{self, OnlineError};
use crate::gs1::{self, ParseContext, ParsedScan, Sscc};
use crate::router::VerificationRouter;
use crate::store::{Assessment, Store};
use crate::verify::{ProductIdentifier, Reason, Verdict, lms};
use anyhow::{Context, Result};
use serde_json::{Map, Value, json};
use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;

/// The JSON object `verify --json` prints for one scan (DESIGN.md section 4), plus the
/// parser's `errors` and the reasons' plain-words `labels`.
pub fn verdict_json(
    scan: &ParsedScan,
    verdict: &Verdict,
    assessment: Option<&Assessment>,
) -> Map<String, Value> {
    let product = assessment.and_then(|a| a.product.as_ref()).map(|p| {
        json!({
            "name": p.name,
            "ndc": p.ndc.clone().or_else(|| scan.ndc().map(|n| n.to_string())),
        })
    });
    let mut obj = Map::new();
    obj.insert("status".into(), json!(verdict.status.as_str()));
    obj.insert(
        "reasons".into(),
        json!(verdict.reasons.iter().map(|r| r.code()).collect::<Vec<_>>()),
    );
    obj.insert(
        "labels".into(),
        json!(
            verdict
                .reasons
                .iter()
                .map(|r| r.label())
                .collect::<Vec<_>>()
        ),
    );
    obj.insert("gtin".into(), json!(scan.gtin().map(|g| g.to_string())));
    obj.insert("serial".into(), json!(scan.serial()));
    obj.insert("lot".into(), json!(scan.lot()));
    obj.insert(
        "expiry".into(),
        json!(scan.expiry.map(|d| d.format("%Y-%m-%d").to_string())),
    );
    obj.insert("product".into(), product.unwrap_or(Value::Null));
    obj.insert(
        "errors".into(),
        json!(
            scan.errors
                .iter()
                .map(|e| json!({"code": e.code.as_str(), "message": e.message}))
                .collect::<Vec<_>>()
        ),
    );
    obj
}

/// One human-readable line.
pub fn verdict_text(
    scan: &ParsedScan,
    verdict: &Verdict,
    assessment: Option<&Assessment>,
) -> String {
    let what = match assessment
        .and_then(|a| a.product.as_ref())
        .and_then(|p| p.name.as_deref())
    {
        Some(name) => format!("{name}  {}", scan.hri()),
        None => scan.hri(),
    };
    match verdict.status {
        crate::verify::Status::Verified => format!("VERIFIED  {what}"),
        crate::verify::Status::Failed => {
            let labels: Vec<&str> = verdict.reasons.iter().map(|r| r.label()).collect();
            format!("FAILED  {}  {what}", labels.join("; "))
        }
        crate::verify::Status::Invalid => {
            let messages: Vec<&str> = scan.errors.iter().map(|e| e.message.as_str()).collect();
            let messages = if messages.is_empty() {
                "no GTIN in the scan".to_string()
            } else {
                messages.join("; ")
            };
            format!("INVALID  {messages}")
        }
    }
}

/// How many queued questions one `verify --online` asks again before its own.
const QUEUED_PER_RUN: usize = 20;

/// `--online`: ask the manufacturer too, in this context.
pub struct Online {
    pub context: Option<String>,
}

pub fn run(
    db: Option<PathBuf>,
    input: ScanInput,
    json: bool,
    online: Option<Online>,
) -> Result<ExitCode> {
    let mut store = open_store(db)?;
    let today = super::today();
    let ctx = ParseContext::new(today);
    let online = match online {
        None => None,
        Some(o) => {
            let context = match o.context.as_deref() {
                Some(word) => lms::Context::parse(word)?,
                None => lms::Context::saleable_return(),
            };
            // A router that cannot be set up (a credential file gone) is said on each line,
            // like one that cannot be reached: the local verdicts still come.
            let router = online::configured_router(&store).map_err(|e| e.to_string());
            if let Ok(Some(router)) = &router {
                // Questions the router could not take earlier go first: it may be back.
                let round = online::ask_queued(
                    &mut store,
                    router,
                    chrono::Local::now().fixed_offset(),
                    QUEUED_PER_RUN,
                )?;
                if round.answered > 0 {
                    eprintln!("note: {} queued question(s) answered", round.answered);
                }
            }
            Some((context, router))
        }
    };
    let mut out = io::BufWriter::new(io::stdout().lock());
    for line in input {
        let bytes = line.context("reading scans from stdin")?;
        let scan = gs1::parse(&bytes, &ctx);
        let answer = match crate::desk::scan::container_label(&scan) {
            Some(sscc) => verify_container(&store, &scan, &sscc, today, json)?,
            None => {
                let assessment = store.verify(&scan, None, today)?;
                let lms = online.as_ref().map(|(context, router)| {
                    ask_manufacturer(&mut store, router, &scan, context.clone())
                });
                if json {
                    let mut obj = verdict_json(&scan, &assessment.verdict, Some(&assessment));
                    if let Some(lms) = &lms {
                        obj.insert("lms".into(), lms_json(lms));
                    }
                    Value::Object(obj).to_string()
                } else {
                    let mut text = verdict_text(&scan, &assessment.verdict, Some(&assessment));
                    if let Some(lms) = &lms {
                        text.push_str("  |  ");
                        text.push_str(&match lms {
                            Ok(answer) => answer.summary(),
                            Err(error) => format!("Manufacturer not asked: {error}"),
                        });
                    }
                    text
                }
            }
        };
        writeln!(out, "{answer}")?;
        out.flush()?;
    }
    Ok(ExitCode::SUCCESS)
}

fn ask_manufacturer(
    store: &mut Store,
    router: &Result<Option<VerificationRouter>, String>,
    scan: &ParsedScan,
    context: lms::Context,
) -> Result<lms::Answer, String> {
    let router = match router {
        Ok(Some(router)) => router,
        Ok(None) => return Err(OnlineError::NoRouter.to_string()),
        Err(error) => return Err(error.clone()),
    };
    let Some(pid) = ProductIdentifier::from_scan(scan) else {
        return Err("the scan is not a valid GS1 product identifier".into());
    };
    online::ask(
        store,
        router,
        &pid,
        context,
        chrono::Local::now().fixed_offset(),
    )
    .map_err(|e| e.to_string())
}

/// The `lms` member of a verdict line (DESIGN.md section 6).
pub fn lms_json(lms: &Result<lms::Answer, String>) -> Value {
    match lms {
        Ok(a) => json!({
            "verified": a.verified,
            "verificationFailureReason": a.failure_reason,
            "additionalInfo": a.additional_info,
            "responderGLN": a.responder_gln,
            "corrUUID": a.corr_uuid,
        }),
        Err(error) => json!({ "error": error }),
    }
}

fn verify_container(
    store: &Store,
    scan: &ParsedScan,
    sscc: &Sscc,
    today: chrono::NaiveDate,
    json: bool,
) -> Result<String> {
    let children = store.verify_container(sscc, None, today)?;
    let verdict = match &children {
        Some(children) => Verdict::from_reasons(
            children
                .iter()
                .flat_map(|(_, a)| a.verdict.reasons.iter().copied())
                .collect(),
        ),
        None => Verdict::from_reasons(vec![Reason::NoMatchGtinSerial]),
    };
    if json {
        let mut obj = verdict_json(scan, &verdict, None);
        obj.insert("sscc".into(), json!(sscc.as_str()));
        obj.insert(
            "children".into(),
            container_children_json(
                children
                    .as_ref()
                    .map(|c| c.iter().map(|(s, a)| (s, &a.verdict))),
            ),
        );
        Ok(Value::Object(obj).to_string())
    } else {
        let count = children.as_ref().map_or(0, Vec::len);
        Ok(match children {
            Some(_) => format!(
                "{}  case {sscc}: {count} units",
                verdict_text(scan, &verdict, None)
            ),
            None => format!("FAILED  case {sscc} is unknown (no aggregation data)"),
        })
    }
}

/// The `children` list of a container line: each unit with its own status and reasons.
pub fn container_children_json<'a>(
    children: Option<impl Iterator<Item = (&'a crate::gs1::Sgtin, &'a Verdict)>>,
) -> Value {
    match children {
        None => Value::Null,
        Some(children) => Value::Array(
            children
                .map(|(sgtin, verdict)| {
                    json!({
                        "gtin": sgtin.gtin.as_str(),
                        "serial": sgtin.serial,
                        "status": verdict.status.as_str(),
                        "reasons": verdict.reasons.iter().map(|r| r.code()).collect::<Vec<_>>(),
                    })
                })
                .collect(),
        ),
    }
}
