//! `tracedesk listen` end to end: a socat pseudo-terminal pair stands in for a USB-serial
//! scanner that is unplugged and plugged back mid-shift. Every scan sent while it is connected
//! must get exactly one verdict line, in order.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};
use tracedesk::store::{Store, create_demo};

fn socat_available() -> bool {
    Command::new("socat").arg("-V").output().is_ok()
}

/// Start socat with two pty ends linked at `dev` (the "scanner" side the app opens) and
/// `host` (where the test writes, as the scanner would).
fn plug_in(dir: &Path) -> Child {
    let child = Command::new("socat")
        .arg(format!(
            "pty,raw,echo=0,link={}",
            dir.join("scanner").display()
        ))
        .arg(format!(
            "pty,raw,echo=0,link={}",
            dir.join("host").display()
        ))
        .stderr(Stdio::null())
        .spawn()
        .expect("start socat");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !(dir.join("scanner").exists() && dir.join("host").exists()) {
        assert!(Instant::now() < deadline, "socat did not create its ptys");
        std::thread::sleep(Duration::from_millis(20));
    }
    child
}

fn unplug(mut socat: Child, dir: &Path) {
    socat.kill().ok();
    socat.wait().ok();
    let _ = std::fs::remove_file(dir.join("scanner"));
    let _ = std::fs::remove_file(dir.join("host"));
}

fn send(dir: &Path, scan: &str) {
    let mut host = std::fs::OpenOptions::new()
        .write(true)
        .open(dir.join("host"))
        .expect("open host side");
    host.write_all(scan.as_bytes()).unwrap();
    host.write_all(b"\r").unwrap();
    host.flush().unwrap();
}

fn next_line(rx: &mpsc::Receiver<String>) -> serde_json::Value {
    let line = rx
        .recv_timeout(Duration::from_secs(15))
        .expect("a verdict line within 15 s");
    serde_json::from_str(&line).expect("JSON line")
}

/// Waits for the next line of `listen`'s stderr that starts with `state`.
fn wait_for_state(states: &mpsc::Receiver<String>, state: &str) {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match states.recv_timeout(left) {
            Ok(line) if line.starts_with(state) => return,
            Ok(_) => {}
            Err(_) => panic!("listen did not report \"{state}\" within 15 s"),
        }
    }
}

#[test]
fn every_scan_sent_while_connected_gets_one_verdict_across_replugs() {
    if !socat_available() {
        eprintln!("notice: socat is not installed; listen end-to-end test skipped");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("desk.db");
    let demo = {
        let mut store = Store::open(&db).unwrap();
        create_demo(&mut store, chrono::Local::now().date_naive()).unwrap()
    };
    let scans: Vec<String> = demo.scans.iter().map(|s| s.scan.clone()).collect();
    // What `verify` answers for the same scans: `listen` must answer exactly the same.
    let expected: Vec<serde_json::Value> = {
        let mut args = vec!["--db".to_string(), db.to_str().unwrap().to_string()];
        args.extend(["verify".to_string(), "--json".to_string()]);
        args.extend(scans.iter().cloned());
        let out = Command::new(env!("CARGO_BIN_EXE_tracedesk"))
            .args(&args)
            .output()
            .unwrap();
        assert!(out.status.success());
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    assert_eq!(expected.len(), scans.len());
    assert!(expected.iter().any(|v| v["status"] == "verified"));
    assert!(expected.iter().any(|v| v["status"] == "failed"));
    assert!(scans.len() >= 3);

    let socat = plug_in(dir.path());
    let mut app = Command::new(env!("CARGO_BIN_EXE_tracedesk"))
        .args(["--db", db.to_str().unwrap(), "listen", "--json", "--port"])
        .arg(dir.path().join("scanner"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = mpsc::channel();
    let stdout = app.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    // The device's state, as `listen` reports it on stderr: scanning starts once it is open.
    let (states_tx, states) = mpsc::channel();
    let stderr = app.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if states_tx.send(line).is_err() {
                break;
            }
        }
    });
    wait_for_state(&states, "scanner connected");

    let mut socat = Some(socat);
    for round in 0..3 {
        for (scan, want) in scans.iter().zip(&expected) {
            send(dir.path(), scan);
            let got = next_line(&rx);
            assert_eq!(&got, want, "round {round}: {scan:?}");
        }
        // Unplug, plug back in at the same path, and carry on scanning.
        unplug(socat.take().unwrap(), dir.path());
        wait_for_state(&states, "scanner disconnected");
        socat = Some(plug_in(dir.path()));
        // The worker polls to reopen every ~250 ms; the spec allows 2 s.
        wait_for_state(&states, "scanner connected");
    }
    // Nothing extra was printed.
    assert!(rx.recv_timeout(Duration::from_millis(300)).is_err());
    app.kill().ok();
    app.wait().ok();
    if let Some(s) = socat {
        unplug(s, dir.path());
    }
}
