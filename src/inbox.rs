//! The partner inbox: a folder (`config inbox_dir`) where a portal download or an AS2/SFTP
//! gateway drops trading partners' EPCIS documents.
//!
//! [`process`] imports each new file once, in name order, and moves it out of the way: into
//! `done/` when it was imported, into `failed/` with a `<name>.reason.txt` beside it when it was
//! refused (a refused document changes nothing in the store). Files still being written (changed
//! within the last [`SETTLE`]), hidden files and the usual partial-upload names (`*.part`,
//! `*.tmp`, `*.filepart`) are left for a later pass. The caller passes the time in and decides
//! when to look again; the kiosk does it on a thread of its own, so receiving never waits.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use chrono::{DateTime, Utc};

use crate::store::Store;

/// How long a file must have been left alone before it is taken.
pub const SETTLE: Duration = Duration::from_secs(2);
/// Files larger than this are refused unread (moved to `failed/`).
pub const MAX_FILE_BYTES: u64 = 4 << 30;

/// What became of one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboxOutcome {
    /// The file's name in the inbox.
    pub name: String,
    /// Where it is now.
    pub moved_to: PathBuf,
    /// A one-line summary of the import, or why it was refused.
    pub result: Result<String, String>,
}

/// Why the inbox itself could not be read or tidied.
#[derive(Debug, thiserror::Error)]
pub enum InboxError {
    #[error("cannot read the inbox {}: {source}", path.display())]
    Read { path: PathBuf, source: io::Error },
    #[error("cannot move {} to {}: {source}", from.display(), to.display())]
    Move {
        from: PathBuf,
        to: PathBuf,
        source: io::Error,
    },
}

fn waiting(name: &str) -> bool {
    name.starts_with('.')
        || [".part", ".tmp", ".filepart", ".partial", ".crdownload"]
            .iter()
            .any(|suffix| name.to_ascii_lowercase().ends_with(suffix))
}

/// The files ready to import, in name order.
pub fn ready_files(dir: &Path, now: SystemTime) -> Result<Vec<PathBuf>, InboxError> {
    let read_err = |source| InboxError::Read {
        path: dir.to_path_buf(),
        source,
    };
    let mut files = Vec::new();
    for entry in fs::read_dir(dir).map_err(read_err)? {
        let entry = entry.map_err(read_err)?;
        let Ok(meta) = entry.metadata() else {
            continue;
        };
        let name = entry.file_name().to_string_lossy().into_owned();
        if !meta.is_file() || waiting(&name) {
            continue;
        }
        let settled = meta
            .modified()
            .ok()
            .and_then(|m| now.duration_since(m).ok())
            .is_some_and(|age| age >= SETTLE);
        if settled {
            files.push(entry.path());
        }
    }
    files.sort();
    Ok(files)
}

/// A free path for `name` in `dir` (a second file of the same name gets the time added).
fn destination(dir: &Path, name: &str, now: DateTime<Utc>) -> PathBuf {
    let plain = dir.join(name);
    if !plain.exists() {
        return plain;
    }
    let stamp = now.format("%Y%m%dT%H%M%S%.3fZ");
    for n in 0u32.. {
        let candidate = if n == 0 {
            dir.join(format!("{name}.{stamp}"))
        } else {
            dir.join(format!("{name}.{stamp}.{n}"))
        };
        if !candidate.exists() {
            return candidate;
        }
    }
    plain
}

fn move_to(file: &Path, dir: &Path, name: &str, now: DateTime<Utc>) -> Result<PathBuf, InboxError> {
    fs::create_dir_all(dir).map_err(|source| InboxError::Move {
        from: file.to_path_buf(),
        to: dir.to_path_buf(),
        source,
    })?;
    let to = destination(dir, name, now);
    fs::rename(file, &to).map_err(|source| InboxError::Move {
        from: file.to_path_buf(),
        to: to.clone(),
        source,
    })?;
    Ok(to)
}

/// Imports every ready file of `dir` into `store`, moving each to `done/` or `failed/`.
pub fn process(
    store: &mut Store,
    dir: &Path,
    now: DateTime<Utc>,
) -> Result<Vec<InboxOutcome>, InboxError> {
    let mut outcomes = Vec::new();
    for file in ready_files(dir, SystemTime::from(now))? {
        let name = file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let result = import_one(store, &file, &name, now);
        let (folder, result) = match result {
            Ok(summary) => ("done", Ok(summary)),
            Err(reason) => ("failed", Err(reason)),
        };
        let moved_to = move_to(&file, &dir.join(folder), &name, now)?;
        if let Err(reason) = &result {
            let mut note = moved_to.clone().into_os_string();
            note.push(".reason.txt");
            // The reason is also returned and shown; a note that cannot be written loses nothing.
            if let Err(e) = fs::write(&note, format!("{reason}\n")) {
                tracing::warn!(error = %e, "cannot write the inbox failure note");
            }
        }
        match &result {
            Ok(summary) => tracing::info!(file = %name, %summary, "inbox document imported"),
            Err(reason) => tracing::warn!(file = %name, %reason, "inbox document refused"),
        }
        outcomes.push(InboxOutcome {
            name,
            moved_to,
            result,
        });
    }
    Ok(outcomes)
}

fn import_one(
    store: &mut Store,
    file: &Path,
    name: &str,
    now: DateTime<Utc>,
) -> Result<String, String> {
    let size = fs::metadata(file)
        .map_err(|e| format!("cannot read {name}: {e}"))?
        .len();
    if size > MAX_FILE_BYTES {
        return Err(format!("{name} is larger than {MAX_FILE_BYTES} bytes"));
    }
    let reader = fs::File::open(file).map_err(|e| format!("cannot open {name}: {e}"))?;
    let report = store
        .import_epcis([(name.to_owned(), io::BufReader::new(reader))], now)
        .map_err(|e| e.to_string())?;
    Ok(format!(
        "{} events, {} units new, {} updated, {} shipment(s)",
        report.events,
        report.units.inserted,
        report.units.updated,
        report.shipments.inserted + report.shipments.unchanged
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"<e:EPCISDocument xmlns:e="urn:epcglobal:epcis:xsd:1" xmlns:m="urn:epcglobal:cbv:mda"><EPCISBody><EventList><ObjectEvent><eventTime>2026-01-02T08:00:00Z</eventTime><eventTimeZoneOffset>+00:00</eventTimeZoneOffset><epcList><epc>urn:epc:id:sgtin:0812345.077777.X1</epc></epcList><action>ADD</action><bizStep>urn:epcglobal:cbv:bizstep:commissioning</bizStep><extension><ilmd><m:lotNumber>L1</m:lotNumber></ilmd></extension></ObjectEvent></EventList></EPCISBody></e:EPCISDocument>"#;

    #[test]
    fn each_file_is_imported_once_and_moved_aside_with_its_outcome() {
        let dir = tempfile::tempdir().unwrap();
        let inbox = dir.path().join("inbox");
        fs::create_dir(&inbox).unwrap();
        let mut store = Store::open(&dir.path().join("s.db")).unwrap();
        fs::write(inbox.join("a-good.xml"), GOOD).unwrap();
        fs::write(inbox.join("b-bad.xml"), &GOOD[..GOOD.len() / 2]).unwrap();
        fs::write(inbox.join("c.xml.part"), GOOD).unwrap();
        fs::write(inbox.join(".hidden.xml"), GOOD).unwrap();
        // The files' modification times are now: an inbox pass "now" must wait for them.
        let written = Utc::now();
        assert!(process(&mut store, &inbox, written).unwrap().is_empty());

        let later = written + chrono::TimeDelta::seconds(10);
        let outcomes = process(&mut store, &inbox, later).unwrap();
        assert_eq!(outcomes.len(), 2, "{outcomes:?}");
        assert_eq!(outcomes[0].name, "a-good.xml");
        assert!(
            outcomes[0]
                .result
                .as_ref()
                .unwrap()
                .starts_with("1 events, 1 units new")
        );
        assert_eq!(outcomes[0].moved_to, inbox.join("done/a-good.xml"));
        let reason = outcomes[1].result.as_ref().unwrap_err();
        assert!(reason.contains("ends early"), "{reason}");
        assert!(inbox.join("failed/b-bad.xml").exists());
        let note = fs::read_to_string(inbox.join("failed/b-bad.xml.reason.txt")).unwrap();
        assert!(note.contains("ends early"));
        assert_eq!(store.archived_documents().unwrap().len(), 1);

        // Nothing is taken twice; a file of a name seen before keeps both copies.
        assert!(process(&mut store, &inbox, later).unwrap().is_empty());
        fs::write(inbox.join("a-good.xml"), GOOD).unwrap();
        let again = process(&mut store, &inbox, later + chrono::TimeDelta::seconds(10)).unwrap();
        assert_eq!(again.len(), 1);
        assert_ne!(again[0].moved_to, inbox.join("done/a-good.xml"));
        assert!(inbox.join("done/a-good.xml").exists());
        assert!(inbox.join("c.xml.part").exists() && inbox.join(".hidden.xml").exists());
    }
}
