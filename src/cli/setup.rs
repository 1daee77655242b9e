//! `tracedesk setup`: the kiosk's first-run steps on a terminal, for headless desks and for
//! scripts.
//!
//! On a terminal it asks, one question at a time, and asks again after a wrong answer: the
//! pharmacy's name, its GLN (the SGLN its events will carry is shown), the GS1 Company Prefix
//! length, the pharmacist PIN twice without echo (only while none is set: `tracedesk pin`
//! changes one), the scanner test (the test code is drawn in the terminal; scanning it tells
//! the suffix, AIM prefix and GS substitute the scanner sends, and warns about Caps Lock and
//! keyboard layouts), the upstream capture URL and the partner inbox folder.
//!
//! From a pipe it reads the same answers, one line each, in that order ([`QUESTIONS`]);
//! missing trailing lines are blank, and a blank optional answer is skipped. The scanner line
//! takes a profile name or the test code as a scanner typed it. The first wrong answer stops
//! the setup naming its line, before anything is written.
//!
//! The answers are checked by the same functions the kiosk's setup screens use
//! ([`crate::store::setup`], [`crate::ui::pin`], [`crate::scanner::probe`]), and applied in
//! one transaction, then the PIN.

use std::io::{self, BufRead, IsTerminal, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};

use super::config::open_store;
use crate::scanner::probe::{self, ProbeReport};
use crate::scanner::profile::ProfileSet;
use crate::store::Store;
use crate::store::setup::{self, SiteAnswers, SiteSetup};
use crate::ui::pin::{self, NewPin};

/// The most stdin a piped setup reads: eight answers fit many times over.
const STDIN_LIMIT: u64 = 64 * 1024;
/// The most one answer typed on the terminal may hold.
const LINE_LIMIT: u64 = 4096;

/// What a piped setup reads, one line each, in this order. The PIN lines are read only while
/// no PIN is set.
pub const QUESTIONS: [&str; 9] = [
    "pharmacy name",
    "site GLN",
    "GS1 Company Prefix length (blank: 7)",
    "pharmacist PIN",
    "pharmacist PIN again",
    "scanner: a profile name, or the test code as scanned (blank: keep)",
    "upstream EPCIS capture URL (blank: none)",
    "partner inbox folder (blank: none)",
    "verification router URL (blank: none)",
];

/// Everything a setup decided, checked.
struct Decided {
    site: SiteSetup,
    pin: Option<NewPin>,
}

pub fn run(db: Option<PathBuf>) -> Result<ExitCode> {
    let mut store = open_store(db)?;
    let pin_needed = store.pin_record()?.hash.is_none();
    let in_force = store.site_answers()?;
    let decided = if io::stdin().is_terminal() {
        from_terminal(&in_force, pin_needed)?
    } else {
        let mut text = String::new();
        io::stdin()
            .lock()
            .take(STDIN_LIMIT)
            .read_to_string(&mut text)
            .context("reading the setup's answers from stdin (one per line, as text)")?;
        from_lines(&text, pin_needed)?
    };
    store.apply_site_setup(&decided.site)?;
    if let Some(new) = &decided.pin {
        pin::change(&mut store, None, new, chrono::Utc::now())?;
    }
    summary(&store, &decided)?;
    // Test the connection: said, never fatal (the desk works offline).
    let report = crate::desk::connection::test_connections(&store);
    for (what, result) in [
        ("Upstream", report.upstream),
        ("Verification router", report.router),
    ] {
        match result {
            Some(Ok(ok)) => eprintln!("{what}: {ok}"),
            Some(Err(e)) => eprintln!("{what}: NOT reached now ({e}); the desk works offline"),
            None => {}
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn summary(store: &Store, decided: &Decided) -> Result<()> {
    let site = &decided.site;
    let mut out = io::stdout().lock();
    let or_none = |v: Option<String>| v.unwrap_or_else(|| "(none)".to_owned());
    writeln!(out, "Pharmacy: {}", site.name)?;
    writeln!(
        out,
        "Site GLN: {} (SGLN {})",
        site.gln.as_str(),
        site.sgln()
    )?;
    writeln!(
        out,
        "Scanner profile: {}",
        or_none(store.setting("scanner_profile")?)
    )?;
    writeln!(out, "Upstream: {}", or_none(store.setting("upstream_url")?))?;
    writeln!(
        out,
        "Partner inbox: {}",
        or_none(store.setting("inbox_dir")?)
    )?;
    writeln!(
        out,
        "Verification router: {}",
        or_none(store.setting(crate::router::ROUTER_KEY)?)
    )?;
    let pin = if decided.pin.is_some() {
        "set"
    } else {
        "unchanged (tracedesk pin changes it)"
    };
    writeln!(out, "Pharmacist PIN: {pin}")?;
    writeln!(out, "This desk is set up.")?;
    Ok(())
}

/// The scanner answer: a profile's name, or the test code as a scanner typed it.
fn scanner_answer(line: &str, profiles: &ProfileSet) -> Result<Option<String>, String> {
    if line.trim().is_empty() {
        return Ok(None);
    }
    if let Some(profile) = profiles.get(line.trim()) {
        return Ok(Some(profile.name.clone()));
    }
    // The line ended at Enter (a terminal cannot tell the scanner's Enter from a person's).
    let (inputs, end) = probe::inputs_from_bytes(format!("{line}\n").as_bytes());
    let report = probe::analyse(&inputs, end).map_err(|e| e.to_string())?;
    ready_profile(&report, profiles).map(Some)
}

/// The profile a clean test scan asks for, or what must be fixed first.
fn ready_profile(report: &ProbeReport, profiles: &ProfileSet) -> Result<String, String> {
    if let Some(warning) = report.warnings.first() {
        return Err(format!("{report}; {warning}"));
    }
    if !report.is_clean() {
        return Err(format!(
            "{report}: the scanner drops the GS separator, so lots and serials would run \
             together; program it to send GS"
        ));
    }
    report
        .profile(profiles)
        .map(|p| p.name.clone())
        .ok_or_else(|| {
            format!(
                "{report}: no built-in profile reads this scanner as it is set up; program it to \
                 send Enter after each scan and GS as Ctrl+]"
            )
        })
}

/// The answers of a piped setup.
fn from_lines(text: &str, pin_needed: bool) -> Result<Decided> {
    let lines: Vec<&str> = text.lines().map(|l| l.trim_end_matches('\r')).collect();
    // The questions asked, with the line each answer is on.
    let asked: Vec<usize> = (0..QUESTIONS.len())
        .filter(|&q| pin_needed || !(3..=4).contains(&q))
        .collect();
    if lines.len() > asked.len() {
        bail!(
            "stdin holds {} lines; setup reads at most {}: {}",
            lines.len(),
            asked.len(),
            asked
                .iter()
                .filter_map(|&q| QUESTIONS.get(q).copied())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let answer = |question: usize| -> (usize, &str) {
        let at = asked.iter().position(|&q| q == question).unwrap_or(0);
        (at + 1, lines.get(at).copied().unwrap_or(""))
    };
    let wrong = |line: usize, problem: String| anyhow::anyhow!("stdin line {line}: {problem}");
    // Checked in the order asked, so the first wrong line is the one named.
    let checked = |question: usize, check: fn(&str) -> Result<(), setup::SetupError>| {
        let (line, text) = answer(question);
        check(text).map_err(|e| wrong(line, e.to_string()))
    };
    checked(0, |t| setup::site_name(t).map(drop))?;
    checked(1, |t| setup::site_gln(t).map(drop))?;
    checked(2, |t| setup::prefix_len(t).map(drop))?;
    let pin = if pin_needed {
        let (line, first) = answer(3);
        let (again_line, again) = answer(4);
        NewPin::parse(first).map_err(|e| wrong(line, format!("PIN: {e}")))?;
        Some(NewPin::confirmed(first, again).map_err(|e| wrong(again_line, format!("PIN: {e}")))?)
    } else {
        None
    };
    let (line, scanner) = answer(5);
    let scanner_profile = scanner_answer(scanner, &ProfileSet::builtin())
        .map_err(|e| wrong(line, format!("scanner: {e}")))?
        .unwrap_or_default();
    checked(6, |t| setup::upstream_url(t).map(drop))?;
    checked(7, |t| setup::inbox_dir(t).map(drop))?;
    checked(8, |t| setup::verification_router(t).map(drop))?;
    let answers = SiteAnswers {
        name: answer(0).1.to_owned(),
        gln: answer(1).1.to_owned(),
        prefix_len: answer(2).1.to_owned(),
        scanner_profile,
        upstream_url: answer(6).1.to_owned(),
        inbox_dir: answer(7).1.to_owned(),
        verification_router: answer(8).1.to_owned(),
    };
    let site = answers.check()?;
    Ok(Decided { site, pin })
}

/// Asks on stderr and reads one line from the terminal.
fn ask(question: &str, in_force: &str) -> Result<String> {
    let mut stderr = io::stderr();
    if in_force.is_empty() {
        write!(stderr, "{question}: ")?;
    } else {
        write!(stderr, "{question} [{in_force}]: ")?;
    }
    stderr.flush()?;
    let mut line = String::new();
    let read = io::stdin()
        .lock()
        .take(LINE_LIMIT)
        .read_line(&mut line)
        .context("reading the answer")?;
    if read == 0 {
        bail!("the terminal closed before the setup was done; nothing was written");
    }
    let line = line.trim_end_matches(['\r', '\n']);
    Ok(if line.trim().is_empty() {
        in_force.to_owned()
    } else {
        line.to_owned()
    })
}

/// Asks until `check` accepts the answer.
fn ask_until<T>(
    question: &str,
    in_force: &str,
    mut check: impl FnMut(&str) -> Result<T, String>,
) -> Result<T> {
    loop {
        let answer = ask(question, in_force)?;
        match check(&answer) {
            Ok(value) => return Ok(value),
            Err(problem) => writeln!(io::stderr(), "  {problem}")?,
        }
    }
}

fn from_terminal(in_force: &SiteAnswers, pin_needed: bool) -> Result<Decided> {
    let mut err = io::stderr();
    writeln!(err, "Set up this desk (Enter keeps the value in brackets).")?;
    let mut answers = SiteAnswers {
        name: ask_until("Pharmacy name", &in_force.name, |a| {
            setup::site_name(a).map_err(|e| e.to_string())
        })?,
        ..SiteAnswers::default()
    };
    let gln = ask_until("Site GLN (13 digits)", &in_force.gln, |a| {
        setup::site_gln(a).map_err(|e| e.to_string())
    })?;
    answers.gln = gln.as_str().to_owned();
    let prefix = ask_until(
        "GS1 Company Prefix length",
        if in_force.prefix_len.is_empty() {
            "7"
        } else {
            &in_force.prefix_len
        },
        |a| setup::prefix_len(a).map_err(|e| e.to_string()),
    )?;
    answers.prefix_len = prefix.to_string();
    writeln!(err, "  SGLN in events: {}", setup::sgln(&gln, prefix))?;

    let pin = if pin_needed {
        loop {
            let first = super::pin::ask_hidden(&format!(
                "Pharmacist PIN ({} to {} digits): ",
                pin::MIN_PIN_LENGTH,
                pin::MAX_PIN_LENGTH
            ))?;
            if let Err(e) = NewPin::parse(&first) {
                writeln!(err, "  {e}")?;
                continue;
            }
            let again = super::pin::ask_hidden("PIN again: ")?;
            match NewPin::confirmed(&first, &again) {
                Ok(pin) => break Some(pin),
                Err(e) => writeln!(err, "  {e}; choose the PIN again")?,
            }
        }
    } else {
        writeln!(err, "A pharmacist PIN is set (tracedesk pin changes it).")?;
        None
    };

    let profiles = ProfileSet::builtin();
    draw_test_code(&mut err)?;
    let keep = if in_force.scanner_profile.is_empty() {
        "to skip".to_owned()
    } else {
        format!("to keep {}", in_force.scanner_profile)
    };
    writeln!(
        err,
        "Scan the code above with the desk's scanner (a scanner that sends nothing after a \
         scan needs Enter pressed). Or type a profile name ({}), or press Enter {keep}.",
        profiles
            .iter()
            .map(|p| p.name.as_str())
            .collect::<Vec<_>>()
            .join(", "),
    )?;
    answers.scanner_profile = ask_until("Scanner", "", |a| {
        scanner_answer(a, &profiles).map(|p| p.unwrap_or_else(|| in_force.scanner_profile.clone()))
    })?;
    if !answers.scanner_profile.is_empty() {
        writeln!(err, "  Scanner profile: {}", answers.scanner_profile)?;
    }

    answers.upstream_url = ask_until(
        "Upstream EPCIS capture URL (optional)",
        &in_force.upstream_url,
        |a| {
            setup::upstream_url(a)
                .map(Option::unwrap_or_default)
                .map_err(|e| e.to_string())
        },
    )?;
    answers.inbox_dir = ask_until(
        "Partner inbox folder (optional)",
        &in_force.inbox_dir,
        |a| {
            setup::inbox_dir(a)
                .map(|d| {
                    d.map(|d| d.to_string_lossy().into_owned())
                        .unwrap_or_default()
                })
                .map_err(|e| e.to_string())
        },
    )?;
    answers.verification_router = ask_until(
        "Verification router URL, to ask manufacturers (optional)",
        &in_force.verification_router,
        |a| {
            setup::verification_router(a)
                .map(Option::unwrap_or_default)
                .map_err(|e| e.to_string())
        },
    )?;
    let site = answers.check()?;
    Ok(Decided { site, pin })
}

/// The test code in the terminal: two module rows per line of half blocks, black on white
/// whatever the terminal's colours, with its quiet zone.
fn draw_test_code(out: &mut impl Write) -> Result<()> {
    let Some(modules) = crate::ui::setup::test_code_modules() else {
        writeln!(
            out,
            "(the test code cannot be drawn; type a profile name instead)"
        )?;
        return Ok(());
    };
    for line in half_blocks(&modules) {
        writeln!(out, "{line}")?;
    }
    Ok(())
}

/// The rows of `modules` (dark = true) as terminal lines with a two-module quiet zone: each
/// character is an upper half block whose foreground is the upper module and background the
/// lower, in explicit black and white.
fn half_blocks(modules: &[Vec<bool>]) -> Vec<String> {
    const QUIET: usize = 2;
    let side = modules.len() + 2 * QUIET;
    let dark = |x: usize, y: usize| -> bool {
        x.checked_sub(QUIET)
            .zip(y.checked_sub(QUIET))
            .and_then(|(mx, my)| modules.get(my)?.get(mx).copied())
            .unwrap_or(false)
    };
    (0..side)
        .step_by(2)
        .map(|y| {
            let mut line = String::new();
            for x in 0..side {
                let fg = if dark(x, y) { 30 } else { 97 };
                let bg = if dark(x, y + 1) { 40 } else { 107 };
                line.push_str(&format!("\x1b[{fg};{bg}m▀"));
            }
            line.push_str("\x1b[0m");
            line
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn half_blocks_draw_two_rows_per_line_with_the_quiet_zone() {
        let modules = vec![vec![true, false], vec![false, true]];
        let lines = half_blocks(&modules);
        // 2 modules + 2x2 quiet = 6 rows, 3 lines of 6 cells.
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[0].matches('▀').count(), 6);
        // Line 2 holds module rows 2 and 3: the symbol's rows 0 and 1 at columns 2 and 3.
        let cells: Vec<&str> = lines[1].split('▀').collect();
        assert_eq!(cells[2], "\x1b[30;107m", "dark over light");
        assert_eq!(cells[3], "\x1b[97;40m", "light over dark");
        assert!(lines.iter().all(|l| l.ends_with("\x1b[0m")));
    }
}
