//! `tracedesk decode [--json] IMAGE...`: every DataMatrix in each image, each symbol's data
//! parsed as `parse --json` parses it. One JSON object per image with `--json`; an image that
//! cannot be read is reported on its own line and the others are still decoded.

use super::parse::parse_json;
use crate::camera::{self, DecodeOptions};
use crate::gs1::{self, ParseContext};
use anyhow::Result;
use serde_json::{Value, json};
use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;

pub fn run(images: Vec<PathBuf>, json: bool) -> Result<ExitCode> {
    let ctx = ParseContext::new(super::today());
    let opts = DecodeOptions::default();
    let mut out = io::BufWriter::new(io::stdout().lock());
    let mut failed = false;
    for path in images {
        let file = path.display().to_string();
        match camera::decode_file(&path, &opts) {
            Ok(symbols) => {
                if json {
                    let symbols: Vec<Value> = symbols
                        .iter()
                        .map(|s| {
                            // The scan as a scanner would send it: AIM identifier first.
                            let mut bytes = s.symbology.as_bytes().to_vec();
                            bytes.extend_from_slice(s.text.as_bytes());
                            let parsed = gs1::parse(&bytes, &ctx);
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
                        let parsed = gs1::parse(&bytes, &ctx);
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
                failed = true;
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
    }
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
