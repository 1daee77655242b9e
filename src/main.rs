//! The `tracedesk` binary: the kiosk when run without a subcommand, the command line otherwise.
//! All work happens in [`tracedesk::cli`]; this only turns its outcome into an exit code.

#![warn(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::process::ExitCode;

fn main() -> ExitCode {
    match tracedesk::cli::run() {
        Ok(code) => code,
        Err(err) => {
            eprintln!("tracedesk: {}", one_line(&err));
            ExitCode::from(2)
        }
    }
}

/// The cause chain joined on one line, as scripts expect. Many messages already end with their
/// cause's words ("cannot read X: No such file"): a cause said just before is not said again.
fn one_line(err: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in err.chain() {
        let text = cause.to_string().replace(['\n', '\r'], " ");
        if text.is_empty() || line.ends_with(&text) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&text);
    }
    line
}
