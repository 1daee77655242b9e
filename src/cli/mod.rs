//! # The command line
//!
//! The contract the acceptance checks drive (`../shared/DESIGN.md` section 4): every subcommand
//! that takes `--json` prints one JSON object per input line, in input order, even for inputs
//! that fail, so output line N always answers input line N. Usage and I/O errors exit non-zero
//! with one line on stderr.
//!
//! Each subcommand lives in its own file and is a thin shell over the library: it reads input,
//! calls the core and the adapters, and prints. No domain rule lives here.
//!
//! Who may run it: the command line acts as the pharmacist (quarantine, dispense, return,
//! recall, settings) without asking for the PIN, so it is for the machine's own account, which
//! holds the store file anyway; the clerk uses the kiosk. Every action it records names that
//! account in its event (`tracedesk:actor` = `cli:<user>`).

mod archive;
mod backup;
mod config;
mod decode;
mod demo;
mod dispense;
mod events;
mod exceptions;
mod find;
mod import;
mod inbox;
mod input;
mod inventory;
mod investigate;
mod kiosk;
mod listen;
mod parse;
mod pin;
mod recall;
mod receive;
mod report;
mod setup;
mod shipment;
mod sync;
mod synth;
mod trace;
mod verify;

pub use config::open_store;
pub use demo::demo_path;
pub use input::ScanInput;
pub use parse::parse_json;
pub use verify::{verdict_json, verdict_text};

use anyhow::Result;
use clap::{Parser, Subcommand};
use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;

/// TraceDesk: verify pharmacy packs at the receiving desk, offline, and record EPCIS events.
#[derive(Debug, Parser)]
#[command(name = "tracedesk", version, about, long_about = None)]
pub struct Cli {
    /// The SQLite store (default: tracedesk.db in the user's data directory).
    #[arg(long, global = true, env = "TRACEDESK_DB")]
    pub db: Option<PathBuf>,

    /// Create (if needed) and open a demo store with products, a shipment, a recalled lot and
    /// a stolen unit.
    #[arg(long)]
    pub demo: bool,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Parse scans (arguments, or one raw scan per line on stdin) into GS1 elements.
    Parse {
        /// One JSON object per input line.
        #[arg(long, conflicts_with = "hri")]
        json: bool,
        /// One bracketed `(01)...(21)...` line per input, or `ERROR: message`.
        #[arg(long)]
        hri: bool,
        /// Scans; when none are given, stdin is read.
        scans: Vec<OsString>,
    },
    /// Import supplier data into the store.
    Import {
        #[command(subcommand)]
        what: ImportCommand,
    },
    /// Verify scans against the store (read-only).
    Verify {
        #[arg(long)]
        json: bool,
        /// Also ask the manufacturer through the verification router (GS1 Lightweight
        /// Messaging); the local verdict stands whatever the router does.
        #[arg(long)]
        online: bool,
        /// Why the manufacturer is asked: dscsaSaleableReturn (the default), dscsaSuspect...
        #[arg(long, requires = "online")]
        context: Option<String>,
        scans: Vec<OsString>,
    },
    /// Verify scans and record each receipt durably before printing its verdict.
    Receive {
        /// The shipment (PO, ASN or SSCC) being received.
        #[arg(long)]
        shipment: Option<String>,
        #[arg(long)]
        json: bool,
        scans: Vec<OsString>,
    },
    /// Show a shipment's reconciliation: expected, received, missing, unexpected.
    Shipment {
        /// Shipment ID (PO, ASN or SSCC); without it, list shipments.
        id: Option<String>,
        #[arg(long)]
        json: bool,
        /// Close the shipment: what never came, what came without data and what came with
        /// data that disagrees become exception cases.
        #[arg(long, requires = "id", conflicts_with = "csv")]
        close: bool,
        /// Print the reconciliation as CSV.
        #[arg(long, conflicts_with = "json")]
        csv: bool,
    },
    /// Set or change the pharmacist PIN (asks for the current one).
    Pin {
        /// Read the PINs from stdin, one per line (the current one when a PIN is set, then the
        /// new one), for setup scripts; without it, the PINs are asked on the terminal.
        #[arg(long)]
        stdin: bool,
    },
    /// Set this desk up: pharmacy name, site GLN (its SGLN shown), pharmacist PIN, scanner
    /// test, upstream and partner inbox. Asks on a terminal; from a pipe, reads one answer a
    /// line in that order.
    Setup,
    /// Show or set this site's settings (site GLN, upstream URL...).
    Config {
        /// Setting to show or set; without it, show all.
        key: Option<String>,
        /// New value.
        value: Option<String>,
    },
    /// Send queued events to an EPCIS 2.0 capture interface (and pull new supplier events).
    Sync {
        /// Base URL of the EPCIS 2.0 REST interface (default: the configured upstream).
        #[arg(long)]
        upstream: Option<String>,
        /// Drain the outbox once and exit instead of running until interrupted.
        #[arg(long)]
        once: bool,
    },
    /// Decode every DataMatrix in image files.
    Decode {
        #[arg(long)]
        json: bool,
        #[arg(required = true)]
        images: Vec<std::path::PathBuf>,
    },
    /// The headless scanner loop: a verdict line per scan from a serial scanner.
    Listen {
        /// Serial device path, e.g. /dev/ttyACM0.
        #[arg(long, conflicts_with = "profile")]
        port: Option<PathBuf>,
        /// Scanner profile name (finds the device by USB VID/PID).
        #[arg(long)]
        profile: Option<String>,
        /// Record receipts (as `receive`) instead of read-only verdicts.
        #[arg(long)]
        receive: bool,
        #[arg(long)]
        json: bool,
    },
    /// Units on hand.
    Inventory {
        #[arg(long)]
        json: bool,
        #[arg(long)]
        gtin: Option<String>,
        #[arg(long)]
        lot: Option<String>,
        /// Only units expiring within this many days (expired ones included).
        #[arg(long)]
        expiring: Option<u32>,
        /// Only units whose unit or lot is recalled.
        #[arg(long)]
        recalled: bool,
    },
    /// The recorded EPCIS events.
    Events {
        /// One complete event per line instead of one EPCISDocument.
        #[arg(long, conflicts_with = "xml")]
        json: bool,
        /// One EPCIS 1.2 XML document, for partners who still exchange 1.2.
        #[arg(long)]
        xml: bool,
        /// Only this unit's events (its audit export).
        #[arg(long, value_name = "SCAN")]
        unit: Option<OsString>,
    },
    /// Each unit's transaction history (DSCSA TI/TS) for a regulator's or partner's request.
    Trace {
        /// One JSON object per input line.
        #[arg(long, conflicts_with_all = ["csv", "xml", "jsonld"])]
        json: bool,
        /// One CSV row per transaction (a header first).
        #[arg(long, conflicts_with_all = ["xml", "jsonld"])]
        csv: bool,
        /// One EPCIS 1.2 XML document with the units' events, master data and statement.
        #[arg(long, conflicts_with = "jsonld")]
        xml: bool,
        /// One EPCIS 2.0 JSON-LD document with the units' events, master data and statement.
        #[arg(long)]
        jsonld: bool,
        /// Scans; when none are given, stdin is read.
        scans: Vec<OsString>,
    },
    /// DSCSA exception cases: list them, report them to a partner (PDG), apply a response,
    /// resolve them.
    Exceptions {
        #[arg(long)]
        json: bool,
        /// Only the open cases.
        #[arg(long)]
        open: bool,
        /// Only the cases of this shipment.
        #[arg(long)]
        shipment: Option<String>,
        #[command(subcommand)]
        action: Option<exceptions::ExceptionsCommand>,
    },
    /// Hold a pack as suspect product and show its lot's investigation: how many packages to
    /// verify with the manufacturer (at least 3 or 10 %), how many were, how many failed.
    Investigate {
        #[arg(long)]
        json: bool,
        /// Why it is suspect (the hold's reason).
        #[arg(long)]
        reason: Option<String>,
        scan: OsString,
    },
    /// Import the documents waiting in the partner inbox (`config inbox_dir`) once each.
    Inbox {
        /// One JSON object per file.
        #[arg(long)]
        json: bool,
    },
    /// The trading-partner documents kept as received (TI/TS archive).
    Archive {
        /// One JSON object per document.
        #[arg(long)]
        json: bool,
        /// Write one document's exact bytes to stdout.
        #[arg(long, value_name = "ID", conflicts_with = "purge")]
        show: Option<i64>,
        /// Remove the documents whose retention period has ended (never a younger one).
        #[arg(long)]
        purge: bool,
    },
    /// A unit's whole history here as one EPCIS 2.0 document (same as `events --unit`).
    Audit { scan: OsString },
    /// Verify and record units dispensed to patients.
    Dispense {
        #[arg(long)]
        json: bool,
        scans: Vec<OsString>,
    },
    /// Verify and record units returned to the supplier.
    Return {
        #[arg(long)]
        json: bool,
        scans: Vec<OsString>,
    },
    /// Verify saleable returns (DSCSA) and put them back in stock.
    Restock {
        #[arg(long)]
        json: bool,
        scans: Vec<OsString>,
    },
    /// Units on hand expired and expiring within the configured thresholds.
    Expiry {
        #[arg(long)]
        json: bool,
    },
    /// Recall containment: every affected unit received here; optionally quarantine them.
    Recall {
        #[arg(long)]
        json: bool,
        #[arg(long)]
        gtin: Option<String>,
        #[arg(long)]
        lot: Option<String>,
        /// A recall notice, CSV `gtin,lot,reason`; its lots are recorded as recalled.
        #[arg(long)]
        csv: Option<PathBuf>,
        /// Put every affected unit on hand on hold (events recorded).
        #[arg(long)]
        quarantine: bool,
    },
    /// Search by product name, NDC, GTIN, lot or serial.
    Find {
        #[arg(long)]
        json: bool,
        /// At most this many units.
        #[arg(long, default_value_t = 200)]
        limit: usize,
        text: String,
    },
    /// Receipts per day, verification failures by reason, expiry horizon.
    Report {
        #[arg(long, conflicts_with = "csv")]
        json: bool,
        #[arg(long)]
        csv: bool,
        /// How many days back the receipt numbers go.
        #[arg(long, default_value_t = 30)]
        days: u32,
    },
    /// Copy the store, consistent while the kiosk works, to DEST (a file, or a directory to
    /// write tracedesk-YYYYMMDD-HHMMSS.db into); DEST keeps its previous content until the copy
    /// is whole and checked.
    Backup { dest: PathBuf },
    /// Replace the store with a backup, after checking it; the store it replaces is kept as
    /// <db>.before-restore-YYYYMMDD-HHMMSS. The kiosk and `sync` must be stopped.
    Restore { src: PathBuf },
    /// Fill a store with synthetic supplier data, for benchmarks (10M units by default).
    #[command(hide = true)]
    Synth {
        #[arg(long, default_value_t = 10_000_000)]
        units: u64,
        #[arg(long, default_value_t = 5_000)]
        products: u32,
        #[arg(long, default_value_t = 200_000)]
        lots: u32,
    },
}

#[derive(Debug, Subcommand)]
pub enum ImportCommand {
    /// EPCIS 2.0 JSON-LD documents from suppliers.
    Epcis {
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Product master data: FDA NDC Directory product.txt / package.txt, or CSV
    /// `gtin,ndc,name,strength,form,manufacturer`.
    Products { file: PathBuf },
    /// Lot recalls: CSV `gtin,lot,reason`.
    Recalls { file: PathBuf },
}

/// Run the command line; the binary's `main` turns the result into an exit code.
pub fn run() -> Result<ExitCode> {
    let cli = Cli::parse();
    tracing_init();
    let db = cli.db.clone();
    match cli.command {
        None if cli.demo => {
            let path = demo_path(db.clone())?;
            demo::run(db)?;
            kiosk::run(path, true)
        }
        None => {
            let path = match db {
                Some(path) => path,
                None => crate::store::Store::default_path()?,
            };
            kiosk::run(path, false)
        }
        Some(Command::Parse { json, hri, scans }) => {
            parse::run(ScanInput::from_args_or_stdin(scans), json, hri)
        }
        Some(Command::Import { what }) => import::run(db, what),
        Some(Command::Verify {
            json,
            online,
            context,
            scans,
        }) => verify::run(
            db,
            ScanInput::from_args_or_stdin(scans),
            json,
            online.then_some(verify::Online { context }),
        ),
        Some(Command::Receive {
            shipment,
            json,
            scans,
        }) => receive::run(db, ScanInput::from_args_or_stdin(scans), shipment, json),
        Some(Command::Shipment {
            id,
            json,
            close,
            csv,
        }) => match (close, id) {
            (true, Some(id)) => shipment::close(db, &id, json),
            (_, id) => shipment::run(db, id, json, csv),
        },
        Some(Command::Exceptions {
            json,
            open,
            shipment,
            action,
        }) => match action {
            Some(action) => exceptions::run(db, action),
            None => exceptions::list(db, json, open, shipment),
        },
        Some(Command::Config { key, value }) => config::run(db, key, value),
        Some(Command::Pin { stdin }) => pin::run(db, stdin),
        Some(Command::Setup) => setup::run(db),
        Some(Command::Decode { json, images }) => decode::run(images, json),
        Some(Command::Sync { upstream, once }) => sync::run(db, upstream, once),
        Some(Command::Listen {
            port,
            profile,
            receive,
            json,
        }) => listen::run(db, port, profile, receive, json),
        Some(Command::Inventory {
            json,
            gtin,
            lot,
            expiring,
            recalled,
        }) => inventory::run(
            db,
            inventory::InventoryArgs {
                json,
                gtin,
                lot,
                expiring,
                recalled,
            },
        ),
        Some(Command::Events { json, xml, unit }) => {
            let format = match (json, xml) {
                (true, _) => events::Format::Lines,
                (false, true) => events::Format::Xml12,
                (false, false) => events::Format::Document,
            };
            events::run(db, format, unit.map(OsString::into_encoded_bytes))
        }
        Some(Command::Trace {
            json,
            csv,
            xml,
            jsonld,
            scans,
        }) => {
            let format = if json {
                trace::Format::Json
            } else if csv {
                trace::Format::Csv
            } else if xml {
                trace::Format::Xml
            } else if jsonld {
                trace::Format::JsonLd
            } else {
                trace::Format::Text
            };
            trace::run(db, ScanInput::from_args_or_stdin(scans), format)
        }
        Some(Command::Inbox { json }) => inbox::run(db, json),
        Some(Command::Investigate { json, reason, scan }) => {
            investigate::run(db, scan, reason, json)
        }
        Some(Command::Archive { json, show, purge }) => archive::run(db, json, show, purge),
        Some(Command::Audit { scan }) => events::run(
            db,
            events::Format::Document,
            Some(scan.into_encoded_bytes()),
        ),
        Some(Command::Dispense { json, scans }) => dispense::run(
            db,
            ScanInput::from_args_or_stdin(scans),
            crate::verify::Movement::Dispense,
            json,
        ),
        Some(Command::Return { json, scans }) => dispense::run(
            db,
            ScanInput::from_args_or_stdin(scans),
            crate::verify::Movement::ReturnToSupplier,
            json,
        ),
        Some(Command::Restock { json, scans }) => dispense::run(
            db,
            ScanInput::from_args_or_stdin(scans),
            crate::verify::Movement::Restock,
            json,
        ),
        Some(Command::Expiry { json }) => report::expiry(db, json),
        Some(Command::Recall {
            json,
            gtin,
            lot,
            csv,
            quarantine,
        }) => recall::run(
            db,
            recall::RecallArgs {
                json,
                gtin,
                lot,
                csv,
                quarantine,
            },
        ),
        Some(Command::Find { json, limit, text }) => find::run(db, &text, json, limit),
        Some(Command::Report { json, csv, days }) => {
            let format = if json {
                report::Format::Json
            } else if csv {
                report::Format::Csv
            } else {
                report::Format::Text
            };
            report::run(db, format, days)
        }
        Some(Command::Backup { dest }) => backup::backup(db, dest),
        Some(Command::Restore { src }) => backup::restore(db, src),
        Some(Command::Synth {
            units,
            products,
            lots,
        }) => synth::run(db, units, products, lots),
    }
}

fn tracing_init() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("TRACEDESK_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    // Logs go to stderr so stdout stays machine-readable; colour codes only when a person
    // watches it, not into a journal or a log file.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}

/// Today's date in local time: the one place the command line reads the clock for parsing.
pub fn today() -> chrono::NaiveDate {
    chrono::Local::now().date_naive()
}
