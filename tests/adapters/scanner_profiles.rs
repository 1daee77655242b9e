//! Every scanner profile shipped in `scanner-profiles/` validates, is built into the binary,
//! and every USB-CDC ID it names has a rule in `udev/99-tracedesk-scanners.rules`.

use std::path::{Path, PathBuf};

use tracedesk::scanner::profile::{self, Profile, ProfileSet, UsbMode};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn shipped() -> Vec<Profile> {
    profile::load_dir(&repo().join("scanner-profiles")).unwrap_or_else(|e| panic!("{e}"))
}

/// `(vid, pid)` pairs of the udev file's active tty rules, lowercase hex.
fn udev_tty_rules(path: &Path) -> Vec<(String, String, String)> {
    let text = std::fs::read_to_string(path).unwrap();
    let attr = |line: &str, name: &str| {
        let key = format!("ATTRS{{{name}}}==\"");
        line.split_once(&key)
            .and_then(|(_, rest)| rest.split_once('"'))
            .map(|(value, _)| value.to_owned())
    };
    text.lines()
        .map(str::trim)
        .filter(|l| !l.starts_with('#') && l.contains("SUBSYSTEM==\"tty\""))
        .filter_map(|l| Some((attr(l, "idVendor")?, attr(l, "idProduct")?, l.to_owned())))
        .collect()
}

#[test]
fn every_shipped_profile_validates_and_names_are_unique() {
    let profiles = shipped();
    assert!(
        profiles.len() >= 6,
        "expected the six built-in families, got {}",
        profiles.len()
    );
    for p in &profiles {
        assert!(
            !p.configure.is_empty(),
            "{}: configure notes missing",
            p.name
        );
        assert!(!p.sources.is_empty(), "{}: sources missing", p.name);
    }
}

#[test]
fn every_shipped_file_is_built_in() {
    let on_disk: Vec<String> = std::fs::read_dir(repo().join("scanner-profiles"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".toml"))
        .collect();
    for name in &on_disk {
        assert!(
            profile::BUILTIN_FILES.iter().any(|(f, _)| f == name),
            "{name} is not embedded in BUILTIN_FILES"
        );
    }
    let builtin = ProfileSet::builtin();
    assert_eq!(builtin.iter().count(), on_disk.len());
    for p in shipped() {
        assert_eq!(builtin.get(&p.name), Some(&p));
    }
}

#[test]
fn every_cdc_usb_id_has_a_udev_rule() {
    let rules_path = repo().join("udev/99-tracedesk-scanners.rules");
    let rules = udev_tty_rules(&rules_path);
    let mut checked = 0;
    for p in shipped() {
        for id in p.usb.iter().filter(|id| id.mode == UsbMode::Cdc) {
            let (vid, pid) = (format!("{:04x}", id.vid), format!("{:04x}", id.pid));
            let rule = rules
                .iter()
                .find(|(v, d, _)| *v == vid && *d == pid)
                .unwrap_or_else(|| panic!("{}: no udev rule for {vid}:{pid}", p.name));
            assert!(
                rule.2.contains("tracedesk-scanner-"),
                "{}: rule lacks the symlink",
                rule.2
            );
            assert!(rule.2.contains("GROUP="), "{}: rule sets no group", rule.2);
            checked += 1;
        }
    }
    assert!(checked >= 5, "only {checked} CDC IDs found");
}

#[test]
fn user_directory_profiles_extend_and_override() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("desk.toml"),
        "name = \"zebra\"\nvendor = \"Zebra, reprogrammed\"\nsuffix = \"LF\"\naim_prefix = true\ngs_substitute = \"text:^]\"\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("other.toml"),
        "name = \"desk-2\"\nvendor = \"x\"\nsuffix = \"TAB\"\naim_prefix = false\ngs_substitute = \"key:F8\"\n",
    )
    .unwrap();
    let set = ProfileSet::load(Some(dir.path())).unwrap();
    assert_eq!(set.get("zebra").unwrap().vendor, "Zebra, reprogrammed");
    assert!(set.get("desk-2").is_some());
    assert_eq!(set.iter().count(), ProfileSet::builtin().iter().count() + 1);
}

#[test]
fn bad_user_profile_names_its_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("broken.toml"),
        "name = \"b\"\nvendor = \"x\"\nsuffix = \"CR\"\naim_prefix = true\ngs_substitute = \"none\"\nbaud = 9600\n",
    )
    .unwrap();
    let err = ProfileSet::load(Some(dir.path())).unwrap_err().to_string();
    assert!(err.contains("broken.toml") && err.contains("baud"), "{err}");
}
