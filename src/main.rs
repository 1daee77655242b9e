//! The `tracedesk` binary: the kiosk when run without a subcommand, the command line otherwise.
//! All work happens in [`tracedesk::cli`]; this only turns its outcome into an exit code.

use std::process::ExitCode;

fn main() -> ExitCode {
    match tracedesk::cli::run() {
        Ok(code) => code,
        Err(err) => {
            // One line on stderr, the cause chain joined, as scripts expect.
            let chain: Vec<String> = err.chain().map(|c| c.to_string()).collect();
            eprintln!("tracedesk: {}", chain.join(": "));
            ExitCode::from(2)
        }
    }
}
