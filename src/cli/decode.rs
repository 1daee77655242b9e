//! `tracedesk decode [--json] IMAGE...`: every DataMatrix in each image, each symbol's data
//! parsed as `parse --json` parses it. One JSON object per image with `--json`; an image that
//! cannot be read is reported on its own line and the others are still decoded.
//!
//! Several files are decoded side by side, one per core, and printed in the order given: a
//! whole image per core splits the work more evenly than the decoder's own two-thread search.

use super::parse::parse_json;
use crate::camera::{self, DecodeOptions};
use crate::gs1::{self, ParseContext};
use anyhow::Result;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;

type Decoded = Result<Vec<camera::Symbol>, camera::DecodeError>;

pub fn run(images: Vec<PathBuf>, json: bool) -> Result<ExitCode> {
    let ctx = ParseContext::new(super::today());
    let mut out = io::BufWriter::new(io::stdout().lock());
    let mut failed = false;
    let mut report = |path: &Path, decoded: Decoded| -> Result<()> {
        failed |= decoded.is_err();
        print_image(&mut out, &ctx, path, decoded, json)
    };

    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(images.len());
    if workers <= 1 {
        // One image: the decoder spreads its own search over the cores.
        for path in &images {
            report(path, camera::decode_file(path, &DecodeOptions::default()))?;
        }
    } else {
        let serial = DecodeOptions {
            parallel: false,
            ..DecodeOptions::default()
        };
        let next = AtomicUsize::new(0);
        let (tx, rx) = mpsc::channel::<(usize, Decoded)>();
        std::thread::scope(|s| -> Result<()> {
            for _ in 0..workers {
                let tx = tx.clone();
                let (next, images, serial) = (&next, &images, &serial);
                s.spawn(move || {
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(path) = images.get(i) else { break };
                        if tx.send((i, camera::decode_file(path, serial))).is_err() {
                            break;
                        }
                    }
                });
            }
            drop(tx);
            // Results arrive in any order; each is printed once all before it are.
            let mut pending = BTreeMap::new();
            let mut printed = 0;
            for (i, decoded) in rx {
                pending.insert(i, decoded);
                while let Some(decoded) = pending.remove(&printed) {
                    if let Some(path) = images.get(printed) {
                        report(path, decoded)?;
                    }
                    printed += 1;
                }
            }
            Ok(())
        })?;
    }
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn print_image(
    out: &mut impl Write,
    ctx: &ParseContext,
    path: &Path,
    decoded: Decoded,
    json: bool,
) -> Result<()> {
    let file = path.display().to_string();
    match decoded {
        Ok(symbols) => {
            if json {
                let symbols: Vec<Value> = symbols
                    .iter()
                    .map(|s| {
                        // The scan as a scanner would send it: AIM identifier first.
                        let mut bytes = s.symbology.as_bytes().to_vec();
                        bytes.extend_from_slice(s.text.as_bytes());
                        let parsed = gs1::parse(&bytes, ctx);
                        let mut obj = match parse_json(&parsed) {
                            Value::Object(map) => map,
                            _ => serde_json::Map::new(),
                        };
                        obj.insert("text".into(), json!(s.text));
                        obj.insert("symbology".into(), json!(s.symbology));
                        obj.insert(
                            "corners".into(),
                            json!(s.corners.iter().map(|(x, y)| [x, y]).collect::<Vec<_>>()),
                        );
                        Value::Object(obj)
                    })
                    .collect();
                writeln!(out, "{}", json!({"file": file, "symbols": symbols}))?;
            } else if symbols.is_empty() {
                writeln!(out, "{file}: no DataMatrix found")?;
            } else {
                for s in &symbols {
                    let mut bytes = s.symbology.as_bytes().to_vec();
                    bytes.extend_from_slice(s.text.as_bytes());
                    let parsed = gs1::parse(&bytes, ctx);
                    let shown = if parsed.ok() {
                        parsed.hri()
                    } else {
                        s.text.replace('\u{1d}', "<GS>")
                    };
                    writeln!(out, "{file}: {} {shown}", s.symbology)?;
                }
            }
        }
        Err(e) => {
            if json {
                writeln!(
                    out,
                    "{}",
                    json!({"file": file, "symbols": [], "error": e.to_string()})
                )?;
            } else {
                eprintln!("tracedesk: {e}");
            }
        }
    }
    out.flush()?;
    Ok(())
}
