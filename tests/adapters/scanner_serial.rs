//! The serial scanner worker end to end over real pseudo-terminals: `serialport`'s
//! `TTYPort::pair()`, and `socat` pty pairs that are killed and restarted to play a scanner
//! being unplugged and plugged back in mid-shift.
//!
//! Every wait is bounded so a failing test fails instead of hanging; no timing is asserted
//! beyond generous bounds.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

use serialport::{SerialPort, TTYPort};
use tracedesk::scanner::ScannerEvent;
use tracedesk::scanner::profile::{Profile, ProfileSet};
use tracedesk::scanner::serial::{self, SerialConfig};

const WAIT: Duration = Duration::from_secs(10);

fn zebra() -> Profile {
    ProfileSet::builtin()
        .get("zebra")
        .cloned()
        .expect("built-in zebra profile")
}

/// Collects events until `done` says so or the bound runs out (then panics with what came).
fn wait_for(
    rx: &Receiver<ScannerEvent>,
    seen: &mut Vec<ScannerEvent>,
    what: &str,
    done: impl Fn(&[ScannerEvent]) -> bool,
) {
    let deadline = Instant::now() + WAIT;
    while !done(seen) {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(event) => seen.push(event),
            Err(_) => panic!("timed out waiting for {what}; events so far: {seen:#?}"),
        }
    }
}

fn scans(events: &[ScannerEvent]) -> Vec<Vec<u8>> {
    events
        .iter()
        .filter_map(|e| match e {
            ScannerEvent::Scan(scan) => Some(scan.bytes.clone()),
            _ => None,
        })
        .collect()
}

fn count(events: &[ScannerEvent], pred: impl Fn(&ScannerEvent) -> bool) -> usize {
    events.iter().filter(|e| pred(e)).count()
}

fn is_connected(e: &ScannerEvent) -> bool {
    matches!(e, ScannerEvent::Connected { .. })
}

fn is_disconnected(e: &ScannerEvent) -> bool {
    matches!(e, ScannerEvent::Disconnected { .. })
}

#[test]
fn scans_flow_over_a_pty_pair_and_hangup_is_reported() {
    let (mut master, slave) = TTYPort::pair().expect("a pseudo-terminal pair");
    let path = slave.name().expect("the pty's device path");
    drop(slave);
    let (tx, rx) = mpsc::channel();
    let handle = serial::spawn(SerialConfig::by_path(&path, zebra()), tx);
    let mut seen = Vec::new();
    wait_for(&rx, &mut seen, "Connected", |s| count(s, is_connected) == 1);

    // A GS1 DataMatrix with AIM prefix and GS, a GS1-128 over two writes, CRLF, line noise,
    // and a scan without suffix that must end when the line goes quiet.
    master
        .write_all(b"]d2010950600013435210AB12\x1d21XYZ\r")
        .unwrap();
    master.write_all(b"]C100095060").unwrap();
    master.flush().unwrap();
    std::thread::sleep(Duration::from_millis(10));
    master.write_all(b"001343527\r\n").unwrap();
    master.write_all(b"\x00\x13\xff\r").unwrap();
    master
        .write_all(b"]Q1https://id.gs1.org/01/09506000134352")
        .unwrap();
    wait_for(&rx, &mut seen, "three scans and a noise warning", |s| {
        scans(s).len() == 3
            && count(
                s,
                |e| matches!(e, ScannerEvent::Warning(w) if w.contains("noise")),
            ) == 1
    });
    assert_eq!(
        scans(&seen),
        vec![
            b"]d2010950600013435210AB12\x1d21XYZ".to_vec(),
            b"]C100095060001343527".to_vec(),
            b"]Q1https://id.gs1.org/01/09506000134352".to_vec(),
        ]
    );

    drop(master);
    wait_for(&rx, &mut seen, "Disconnected", |s| {
        count(s, is_disconnected) == 1
    });
    handle.stop();
}

/// One `socat` process joining two pty links: `scanner` (we write there) and `host` (the
/// worker reads there).
struct Socat {
    child: Child,
}

impl Socat {
    fn start(dir: &Path) -> Option<Self> {
        let scanner = dir.join("scanner");
        let host = dir.join("host");
        let child = Command::new("socat")
            .arg("-d")
            .arg("-d")
            .arg(format!("pty,raw,echo=0,link={}", scanner.display()))
            .arg(format!("pty,raw,echo=0,link={}", host.display()))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        let socat = Self { child };
        let deadline = Instant::now() + WAIT;
        while !(scanner.exists() && host.exists()) {
            assert!(
                Instant::now() < deadline,
                "socat did not create its pty links"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        Some(socat)
    }

    /// Pulls the plug: the process dies at once, then the stale device names go, as udev
    /// removes a device node.
    fn unplug(mut self, dir: &Path) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        for name in ["scanner", "host"] {
            let _ = std::fs::remove_file(dir.join(name));
        }
    }
}

impl Drop for Socat {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn socat_available() -> bool {
    Command::new("socat")
        .arg("-V")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn write_scan(link: &Path, scan: &[u8]) {
    let mut port = std::fs::OpenOptions::new()
        .write(true)
        .open(link)
        .expect("open the scanner end");
    port.write_all(scan).unwrap();
    port.write_all(b"\r").unwrap();
}

#[test]
fn unplug_and_replug_loses_and_repeats_nothing() {
    if !socat_available() {
        eprintln!(
            "socat is not installed: skipping the unplug/replug test (apt-get install socat)"
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let link: PathBuf = dir.path().join("scanner");
    let mut socat = Socat::start(dir.path()).expect("socat starts");
    let (tx, rx) = mpsc::channel();
    let handle = serial::spawn(SerialConfig::by_path(dir.path().join("host"), zebra()), tx);
    let mut seen = Vec::new();
    wait_for(&rx, &mut seen, "first Connected", |s| {
        count(s, is_connected) == 1
    });

    let mut written: Vec<Vec<u8>> = Vec::new();
    let mut serial_no = 0;
    let mut next_scan = || {
        serial_no += 1;
        format!("]d20109506000134352\x1d21SHIFT{serial_no:04}").into_bytes()
    };
    for round in 1..=3 {
        // The scanner is plugged in (a freshly restarted socat in rounds 2 and 3: writes start
        // before the worker has necessarily reopened the port).
        for _ in 0..5 {
            let scan = next_scan();
            write_scan(&link, &scan);
            written.push(scan);
        }
        let expected = written.len();
        wait_for(&rx, &mut seen, "this round's scans", |s| {
            scans(s).len() >= expected
        });
        wait_for(&rx, &mut seen, "Connected for this round", |s| {
            count(s, is_connected) == round
        });

        socat.unplug(dir.path());
        wait_for(&rx, &mut seen, "Disconnected", |s| {
            count(s, is_disconnected) == round
        });
        std::thread::sleep(Duration::from_millis(300));
        socat = Socat::start(dir.path()).expect("socat restarts");
    }
    let scan = next_scan();
    write_scan(&link, &scan);
    written.push(scan);
    let expected = written.len();
    wait_for(&rx, &mut seen, "the last scan", |s| {
        scans(s).len() >= expected
    });

    assert_eq!(scans(&seen), written, "every scan exactly once, in order");
    assert_eq!(count(&seen, is_connected), 4);
    assert_eq!(count(&seen, is_disconnected), 3);
    handle.stop();
    drop(socat);
}

#[test]
fn stopping_a_worker_that_waits_for_a_device_is_prompt() {
    let dir = tempfile::tempdir().unwrap();
    let (tx, rx) = mpsc::channel();
    let handle = serial::spawn(
        SerialConfig::by_path(dir.path().join("absent"), zebra()),
        tx,
    );
    let mut seen = Vec::new();
    wait_for(&rx, &mut seen, "a warning that says what to do", |s| {
        count(
            s,
            |e| matches!(e, ScannerEvent::Warning(w) if w.contains("does not exist") && w.contains("USB-CDC")),
        ) == 1
    });
    std::thread::sleep(Duration::from_millis(600));
    // Retries every 250 ms must not repeat the same warning.
    while let Ok(event) = rx.try_recv() {
        seen.push(event);
    }
    assert_eq!(seen.len(), 1, "{seen:#?}");
    assert!(handle.is_running());
    let started = Instant::now();
    handle.stop();
    assert!(started.elapsed() < WAIT);
}
