//! The Debian package: its maintainer scripts, its man page and, once `.ci/deb` has built one,
//! the package itself.
//!
//! - The maintainer scripts in `assets/deb/` run for real under `/bin/sh`, on a scratch root
//!   (`DPKG_ROOT`) and with a `PATH` that holds only stubs logging their arguments plus the few
//!   harmless tools the scripts use on files (`mkdir`, `chmod`, `stat`): a command the stubs
//!   forget fails as "not found" instead of reaching the machine's users, units or udev.
//! - The man page, clap's definition (`tracedesk --help`) and README's command table name the
//!   same commands, and the man page the same options.
//! - The kiosk unit, the maintainer scripts and `[package.metadata.deb]` agree on names and paths.
//! - With `TRACEDESK_DEB` naming a built package (`.ci/deb` sets it), the package holds exactly
//!   what `[package.metadata.deb]` lists, with its control fields, and its binary runs. Without
//!   it those tests say so on stderr and pass: `cargo test` alone builds no package.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use clap::CommandFactory;
use tempfile::TempDir;

const UNIT: &str = "tracedesk-kiosk.service";

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(relative: &str) -> String {
    let path = repo().join(relative);
    fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

// ---------------------------------------------------------------------------------------------
// Maintainer scripts on a scratch root
// ---------------------------------------------------------------------------------------------

/// Commands the scripts may run that would change the machine: each is a stub that appends its
/// name and arguments to the log (`deb-systemd-helper was-enabled` answers from
/// [`System::was_enabled`]). `getent` is a stub too, logging and answering from [`System::known`].
const STUBS: &[&str] = &[
    "adduser",
    "deluser",
    "delgroup",
    "chown",
    "udevadm",
    "systemctl",
    "deb-systemd-helper",
    "deb-systemd-invoke",
];

/// Real tools the scripts use on files under `DPKG_ROOT` only.
const REAL_TOOLS: &[&str] = &["mkdir", "chmod", "stat"];

struct Scratch {
    dir: TempDir,
}

/// How the stubbed system answers.
struct System<'a> {
    /// `getent` databases and keys that exist, as `("group", "dialout")`.
    known: &'a [(&'a str, &'a str)],
    /// What `deb-systemd-helper was-enabled` says (true on a first install).
    was_enabled: bool,
    /// Whether `$DPKG_ROOT/run` shows a running systemd and udev.
    running: bool,
}

impl Scratch {
    fn new(system: &System) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("bin");
        fs::create_dir_all(&bin).unwrap();
        fs::create_dir_all(dir.path().join("root")).unwrap();
        let log = dir.path().join("calls.log");
        for stub in STUBS {
            let mut body = format!("#!/bin/sh\necho \"{stub} $*\" >> '{}'\n", log.display());
            if *stub == "deb-systemd-helper" && !system.was_enabled {
                body.push_str("[ \"$1 $2\" != '--quiet was-enabled' ] || exit 1\n");
            }
            write_executable(&bin.join(stub), &body);
        }
        let mut getent = format!("#!/bin/sh\necho \"getent $*\" >> '{}'\n", log.display());
        getent.push_str("case \"$1 $2\" in\n");
        for (db, key) in system.known {
            getent.push_str(&format!("    '{db} {key}') echo '{key}:x:1:'; exit 0 ;;\n"));
        }
        getent.push_str("esac\nexit 2\n");
        write_executable(&bin.join("getent"), &getent);
        for tool in REAL_TOOLS {
            let real = ["/usr/bin", "/bin"]
                .iter()
                .map(|dir| Path::new(dir).join(tool))
                .find(|path| path.is_file())
                .unwrap_or_else(|| panic!("no {tool} in /usr/bin or /bin"));
            std::os::unix::fs::symlink(real, bin.join(tool)).unwrap();
        }
        let scratch = Self { dir };
        if system.running {
            fs::create_dir_all(scratch.root().join("run/systemd/system")).unwrap();
            fs::create_dir_all(scratch.root().join("run/udev")).unwrap();
        }
        scratch
    }

    fn root(&self) -> PathBuf {
        self.dir.path().join("root")
    }

    fn state_dir(&self) -> PathBuf {
        self.root().join("var/lib/tracedesk")
    }

    /// Runs `assets/deb/<script> <args>` and returns the stub calls it made, one per line, with
    /// the scratch root written as `$ROOT`.
    fn run(&self, script: &str, args: &[&str]) -> Vec<String> {
        let log = self.dir.path().join("calls.log");
        if log.exists() {
            fs::remove_file(&log).unwrap();
        }
        let out = Command::new("/bin/sh")
            .arg(repo().join("assets/deb").join(script))
            .args(args)
            .env_clear()
            .env("PATH", self.dir.path().join("bin"))
            .env("DPKG_ROOT", self.root())
            .output()
            .unwrap();
        assert!(
            out.status.success() && out.stderr.is_empty(),
            "{script} {args:?}: {}\nstderr: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        let log = fs::read_to_string(log).unwrap_or_default();
        let root = self.root().display().to_string();
        log.lines().map(|l| l.replace(&root, "$ROOT")).collect()
    }
}

fn write_executable(path: &Path, body: &str) {
    fs::write(path, body).unwrap();
    fs::set_permissions(path, fs::Permissions::from_mode(0o755)).unwrap();
}

fn mode(path: &Path) -> u32 {
    fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

const GROUPS_PRESENT: &[(&str, &str)] =
    &[("group", "dialout"), ("group", "video"), ("group", "audio")];

#[test]
fn first_install_creates_the_user_and_enables_the_kiosk_without_starting_it() {
    let scratch = Scratch::new(&System {
        known: GROUPS_PRESENT,
        was_enabled: true,
        running: true,
    });
    let calls = scratch.run("postinst", &["configure"]);
    assert_eq!(
        calls,
        [
            "adduser --quiet --system --group --home /var/lib/tracedesk --no-create-home tracedesk",
            "getent group dialout",
            "adduser --quiet tracedesk dialout",
            "getent group video",
            "adduser --quiet tracedesk video",
            // No `input` group on this system: skipped, not an error.
            "getent group input",
            "getent group audio",
            "adduser --quiet tracedesk audio",
            "chown tracedesk:tracedesk $ROOT/var/lib/tracedesk",
            "udevadm control --reload-rules",
            "udevadm trigger --subsystem-match=tty --action=change",
            "deb-systemd-helper unmask tracedesk-kiosk.service",
            "deb-systemd-helper --quiet was-enabled tracedesk-kiosk.service",
            "deb-systemd-helper enable tracedesk-kiosk.service",
            "systemctl --system daemon-reload",
        ]
    );
    assert_eq!(mode(&scratch.state_dir()), 0o750);
}

#[test]
fn upgrade_keeps_a_disabled_kiosk_disabled_and_restarts_it_only_if_running() {
    let scratch = Scratch::new(&System {
        known: GROUPS_PRESENT,
        was_enabled: false,
        running: true,
    });
    let calls = scratch.run("postinst", &["configure", "0.1.0-1"]);
    let units: Vec<&String> = calls.iter().filter(|c| c.contains(UNIT)).collect();
    assert_eq!(
        units,
        [
            "deb-systemd-helper unmask tracedesk-kiosk.service",
            "deb-systemd-helper --quiet was-enabled tracedesk-kiosk.service",
            "deb-systemd-helper update-state tracedesk-kiosk.service",
            "deb-systemd-invoke try-restart tracedesk-kiosk.service",
        ]
    );
}

#[test]
fn install_into_a_root_that_is_not_running_leaves_systemd_and_udev_alone() {
    let scratch = Scratch::new(&System {
        known: GROUPS_PRESENT,
        was_enabled: true,
        running: false,
    });
    let calls = scratch.run("postinst", &["configure"]);
    assert!(
        calls.contains(&"deb-systemd-helper enable tracedesk-kiosk.service".to_owned()),
        "{calls:#?}"
    );
    assert!(
        !calls
            .iter()
            .any(|c| c.starts_with("systemctl") || c.starts_with("udevadm")),
        "{calls:#?}"
    );
}

#[test]
fn reinstall_after_purge_hands_back_the_store_file_by_file_and_never_through_a_link() {
    let scratch = Scratch::new(&System {
        known: GROUPS_PRESENT,
        was_enabled: true,
        running: false,
    });
    let state = scratch.state_dir();
    fs::create_dir_all(&state).unwrap();
    fs::set_permissions(&state, fs::Permissions::from_mode(0o700)).unwrap();
    fs::write(state.join("tracedesk.db"), b"records").unwrap();
    // Links someone could have planted to have postinst hand over files outside the store.
    let elsewhere = scratch.dir.path().join("shadow");
    fs::write(&elsewhere, b"secret").unwrap();
    fs::hard_link(&elsewhere, state.join("tracedesk.db-wal")).unwrap();
    std::os::unix::fs::symlink(&elsewhere, state.join("tracedesk.db-shm")).unwrap();

    let calls = scratch.run("postinst", &["configure"]);
    let chowns: Vec<&String> = calls.iter().filter(|c| c.starts_with("chown")).collect();
    assert_eq!(
        chowns,
        [
            "chown tracedesk:tracedesk $ROOT/var/lib/tracedesk",
            "chown tracedesk:tracedesk $ROOT/var/lib/tracedesk/tracedesk.db",
        ]
    );
    assert_eq!(mode(&state), 0o750);
}

#[test]
fn purge_removes_the_user_but_keeps_the_records_locked_to_root() {
    let scratch = Scratch::new(&System {
        known: &[("passwd", "tracedesk"), ("group", "tracedesk")],
        was_enabled: true,
        running: true,
    });
    let state = scratch.state_dir();
    fs::create_dir_all(&state).unwrap();
    fs::set_permissions(&state, fs::Permissions::from_mode(0o750)).unwrap();
    fs::write(state.join("tracedesk.db"), b"six years of records").unwrap();

    let calls = scratch.run("postrm", &["purge"]);
    assert_eq!(
        calls,
        [
            "deb-systemd-helper purge tracedesk-kiosk.service",
            "deb-systemd-helper unmask tracedesk-kiosk.service",
            "chown root:root $ROOT/var/lib/tracedesk",
            "getent passwd tracedesk",
            "deluser --quiet --system tracedesk",
            "getent group tracedesk",
            "delgroup --quiet --system tracedesk",
            "systemctl --system daemon-reload",
            "udevadm control --reload-rules",
        ]
    );
    assert_eq!(
        fs::read(state.join("tracedesk.db")).unwrap(),
        b"six years of records"
    );
    assert_eq!(mode(&state), 0o700);
}

#[test]
fn remove_masks_the_kiosk_and_keeps_user_and_records() {
    let scratch = Scratch::new(&System {
        known: &[("passwd", "tracedesk"), ("group", "tracedesk")],
        was_enabled: true,
        running: true,
    });
    fs::create_dir_all(scratch.state_dir()).unwrap();
    fs::set_permissions(scratch.state_dir(), fs::Permissions::from_mode(0o750)).unwrap();

    assert_eq!(
        scratch.run("prerm", &["remove"]),
        ["deb-systemd-invoke stop tracedesk-kiosk.service"]
    );
    assert_eq!(
        scratch.run("postrm", &["remove"]),
        [
            "deb-systemd-helper mask tracedesk-kiosk.service",
            "systemctl --system daemon-reload",
            "udevadm control --reload-rules",
        ]
    );
    assert_eq!(mode(&scratch.state_dir()), 0o750);
}

#[test]
fn upgrade_neither_stops_the_kiosk_first_nor_masks_it() {
    let scratch = Scratch::new(&System {
        known: &[],
        was_enabled: true,
        running: true,
    });
    assert!(scratch.run("prerm", &["upgrade", "0.1.0-2"]).is_empty());
    assert!(scratch.run("postrm", &["upgrade", "0.1.0-2"]).is_empty());
}

// ---------------------------------------------------------------------------------------------
// The man page, `--help` and README
// ---------------------------------------------------------------------------------------------

/// A synopsis such as `tracedesk dispense / return / restock [--json] [SCAN...]`: the commands
/// it names (`import epcis` for nested ones) and the long options it shows.
fn synopsis(text: &str) -> (Vec<String>, BTreeSet<String>) {
    let mut tokens = text.split_whitespace();
    assert_eq!(tokens.next(), Some("tracedesk"), "{text}");
    let mut commands = Vec::new();
    let mut words: Vec<&str> = Vec::new();
    let mut rest = Vec::new();
    for token in tokens.by_ref() {
        if token == "/" {
            commands.push(words.join(" "));
            words.clear();
        } else if token.bytes().all(|b| b.is_ascii_lowercase()) {
            words.push(token);
        } else {
            rest.push(token);
            break;
        }
    }
    if !words.is_empty() {
        commands.push(words.join(" "));
    }
    let options = rest
        .into_iter()
        .chain(tokens)
        .map(|t| t.trim_matches(|c| matches!(c, '[' | ']' | '\\' | '|')))
        .filter(|t| t.starts_with("--"))
        .map(str::to_owned)
        .collect();
    (commands, options)
}

/// Commands and their long options, keyed by command name.
type Commands = BTreeMap<String, BTreeSet<String>>;

fn commands_of(synopses: impl Iterator<Item = String>) -> Commands {
    let mut commands = Commands::new();
    for line in synopses {
        let (names, options) = synopsis(&line);
        for name in names {
            commands.entry(name).or_default().extend(options.clone());
        }
    }
    commands
}

/// Every visible command clap knows, with its visible long options.
fn help_commands() -> Commands {
    fn walk(cmd: &clap::Command, prefix: &str, into: &mut Commands) {
        for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
            let name = format!("{prefix}{}", sub.get_name());
            if sub.has_subcommands() {
                // A command that also runs on its own (`exceptions [--json]`) is one as well.
                let own: BTreeSet<String> = sub
                    .get_arguments()
                    .filter(|a| !a.is_hide_set())
                    .filter_map(|a| a.get_long())
                    .map(|l| format!("--{l}"))
                    .collect();
                if !sub.is_subcommand_required_set() && !own.is_empty() {
                    into.insert(name.clone(), own);
                }
                walk(sub, &format!("{name} "), into);
            } else {
                let options = sub
                    .get_arguments()
                    .filter(|a| !a.is_hide_set())
                    .filter_map(|a| a.get_long())
                    .map(|l| format!("--{l}"))
                    .collect();
                into.insert(name, options);
            }
        }
    }
    let mut commands = Commands::new();
    walk(&tracedesk::cli::Cli::command(), "", &mut commands);
    commands
}

/// The man page's text with roff's font escapes and hyphen escapes removed.
fn man_text() -> String {
    read("assets/deb/tracedesk.1")
        .replace("\\-", "-")
        .replace("\\fB", "")
        .replace("\\fI", "")
        .replace("\\fR", "")
        .replace("\\fP", "")
}

fn man_commands() -> Commands {
    let text = man_text();
    commands_of(
        text.lines()
            .filter(|l| l.starts_with("tracedesk "))
            .map(str::to_owned),
    )
}

fn readme_commands() -> Commands {
    let readme = read("README.md");
    commands_of(readme.lines().filter_map(|line| {
        let cell = line.strip_prefix("| `tracedesk")?;
        let (synopsis, _) = cell.split_once("` |")?;
        Some(format!("tracedesk{synopsis}"))
    }))
}

#[test]
fn man_page_readme_and_help_name_the_same_commands() {
    let help = help_commands();
    let names = |c: &Commands| c.keys().cloned().collect::<Vec<_>>();
    assert!(help.contains_key("import epcis") && help.contains_key("parse"));
    assert_eq!(
        names(&man_commands()),
        names(&help),
        "assets/deb/tracedesk.1 (COMMANDS) against `tracedesk --help`: add or remove the \
         command in the man page"
    );
    assert_eq!(
        names(&readme_commands()),
        names(&help),
        "README.md's command table against `tracedesk --help`: add or remove the row"
    );
}

#[test]
fn man_page_shows_every_option_of_every_command_and_no_other() {
    let help = help_commands();
    for (name, options) in man_commands() {
        let known = help.get(&name).cloned().unwrap_or_default();
        assert_eq!(
            options, known,
            "`tracedesk {name}`: the man page's options against `tracedesk {name} --help`"
        );
    }
    let text = man_text();
    let (global, _) = text
        .split_once(".SH OPTIONS")
        .and_then(|(_, rest)| rest.split_once(".SH COMMANDS"))
        .expect("the man page has OPTIONS then COMMANDS");
    for arg in tracedesk::cli::Cli::command().get_arguments() {
        if let Some(long) = arg.get_long() {
            assert!(
                global.contains(&format!("--{long}")),
                "OPTIONS lacks --{long}"
            );
        }
    }
    assert!(global.contains("--help") && global.contains("--version"));
}

#[test]
fn readme_shows_only_options_the_commands_have() {
    let help = help_commands();
    for (name, options) in readme_commands() {
        let known = &help[&name];
        let unknown: Vec<&String> = options.difference(known).collect();
        assert!(
            unknown.is_empty(),
            "README: `tracedesk {name}` has no {unknown:?}"
        );
    }
}

#[test]
fn man_page_and_changelog_carry_the_crate_version() {
    let version = env!("CARGO_PKG_VERSION");
    let th = read("assets/deb/tracedesk.1")
        .lines()
        .find(|l| l.starts_with(".TH "))
        .map(str::to_owned)
        .expect("a .TH line");
    assert!(th.contains(&format!("\"tracedesk {version}\"")), "{th}");
    let changelog = read("assets/deb/changelog");
    let first = changelog.lines().next().unwrap_or_default();
    assert!(
        first.starts_with(&format!("tracedesk ({version}-{}) ", deb_revision())),
        "assets/deb/changelog must start with this version's entry: {first}"
    );
}

// ---------------------------------------------------------------------------------------------
// `[package.metadata.deb]`, the unit and the package
// ---------------------------------------------------------------------------------------------

fn deb_metadata() -> toml::Table {
    let manifest: toml::Table = read("Cargo.toml").parse().unwrap();
    manifest["package"]["metadata"]["deb"]
        .as_table()
        .cloned()
        .expect("[package.metadata.deb]")
}

/// cargo-deb's default revision is 1.
fn deb_revision() -> String {
    deb_metadata()
        .get("revision")
        .and_then(|r| r.as_str().map(str::to_owned))
        .unwrap_or_else(|| "1".to_owned())
}

/// `[package.metadata.deb].assets` as (source, path in the package, mode), the way cargo-deb
/// installs them: a destination ending in `/` is a directory, man pages are gzipped.
fn assets() -> Vec<(String, String, u32)> {
    let meta = deb_metadata();
    let list = meta["assets"].as_array().expect("assets is a list");
    list.iter()
        .map(|asset| {
            let fields: Vec<&str> = asset
                .as_array()
                .expect("each asset is [source, dest, mode]")
                .iter()
                .map(|f| f.as_str().expect("asset fields are strings"))
                .collect();
            let [source, dest, mode] = fields[..] else {
                panic!("asset {fields:?} is not [source, dest, mode]")
            };
            let mut dest = dest.trim_start_matches('/').to_owned();
            if dest.ends_with('/') {
                dest.push_str(source.rsplit('/').next().unwrap_or(source));
            }
            if dest.starts_with("usr/share/man/") {
                dest.push_str(".gz");
            }
            let mode = u32::from_str_radix(mode, 8).expect("octal mode");
            (source.to_owned(), dest, mode)
        })
        .collect()
}

fn unit_value<'a>(unit: &'a str, key: &str) -> Vec<&'a str> {
    unit.lines()
        .filter_map(|l| l.strip_prefix(key)?.strip_prefix('='))
        .collect()
}

#[test]
fn unit_scripts_and_assets_agree_on_names_and_paths() {
    let assets = assets();
    let installed = |path: &str| assets.iter().any(|(_, dest, _)| dest == path);
    let unit_source = assets
        .iter()
        .find(|(_, dest, _)| dest.starts_with("usr/lib/systemd/system/"))
        .map(|(source, dest, _)| {
            assert!(dest.ends_with(UNIT), "{dest}");
            source
        })
        .expect("the kiosk unit is an asset");
    let unit = read(unit_source);

    let exec = unit_value(&unit, "ExecStart").concat();
    let binaries: Vec<&str> = exec
        .split_whitespace()
        .filter(|w| w.starts_with('/'))
        .collect();
    assert_eq!(binaries, ["/usr/bin/cage", "/usr/bin/tracedesk"]);
    assert!(installed("usr/bin/tracedesk"));
    let depends = deb_metadata()["depends"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(depends.split(", ").any(|d| d == "cage"), "{depends}");

    for script in ["postinst", "prerm", "postrm"] {
        let text = read(&format!("assets/deb/{script}"));
        assert!(text.contains(UNIT), "{script} names another unit");
        assert_eq!(mode(&repo().join("assets/deb").join(script)) & 0o111, 0o111);
    }
    let postinst = read("assets/deb/postinst");
    assert_eq!(unit_value(&unit, "User"), ["tracedesk"]);
    assert!(postinst.contains("USER_NAME=tracedesk\n"));
    // The store the kiosk opens is in the directory systemd gives the user, which postinst makes.
    let state = unit_value(&unit, "StateDirectory").concat();
    assert!(postinst.contains(&format!("STATE_DIR=/var/lib/{state}\n")));
    assert!(
        unit_value(&unit, "Environment")
            .contains(&format!("TRACEDESK_DB=/var/lib/{state}/tracedesk.db").as_str())
    );
    assert!(installed(
        "usr/lib/udev/rules.d/99-tracedesk-scanners.rules"
    ));
}

/// The package `.ci/deb` built, when it says so; `None` (and a note) otherwise.
fn built_package() -> Option<PathBuf> {
    let Some(deb) = std::env::var_os("TRACEDESK_DEB") else {
        eprintln!("TRACEDESK_DEB is not set: no built package to check (.ci/deb sets it)");
        return None;
    };
    let deb = PathBuf::from(deb);
    assert!(
        deb.is_file(),
        "TRACEDESK_DEB={}: no such file",
        deb.display()
    );
    Some(deb)
}

fn dpkg_deb(args: &[&str], deb: &Path) -> String {
    let out: Output = Command::new("dpkg-deb")
        .args(args)
        .arg(deb)
        .output()
        .expect("dpkg-deb runs");
    assert!(
        out.status.success(),
        "dpkg-deb {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// `dpkg-deb --contents`: regular files and their modes, paths without the leading `./`.
fn package_files(deb: &Path) -> BTreeMap<String, u32> {
    dpkg_deb(&["--contents"], deb)
        .lines()
        .filter(|l| l.starts_with('-'))
        .map(|l| {
            let perms = &l[1..10];
            let path = l.rsplit_once(" ./").map(|(_, p)| p).unwrap_or(l);
            let bits = perms
                .bytes()
                .fold(0, |acc, b| (acc << 1) | u32::from(b != b'-'));
            (path.to_owned(), bits)
        })
        .collect()
}

#[test]
fn built_package_holds_exactly_the_listed_assets() {
    let Some(deb) = built_package() else { return };
    let files = package_files(&deb);
    let mut expected: BTreeMap<String, u32> = assets()
        .into_iter()
        .map(|(_, dest, mode)| (dest, mode))
        .collect();
    // Written by the packager: copyright from the metadata, the changelog gzipped.
    expected.insert("usr/share/doc/tracedesk/copyright".into(), 0o644);
    expected.insert("usr/share/doc/tracedesk/changelog.Debian.gz".into(), 0o644);
    assert_eq!(files, expected);
}

#[test]
fn built_package_control_fields_come_from_the_metadata() {
    let Some(deb) = built_package() else { return };
    let meta = deb_metadata();
    let field = |name: &str| {
        dpkg_deb(&["--field"], &deb)
            .lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(": ").map(str::to_owned))
    };
    assert_eq!(field("Package").as_deref(), Some("tracedesk"));
    let version = format!("{}-{}", env!("CARGO_PKG_VERSION"), deb_revision());
    assert_eq!(field("Version"), Some(version));
    assert_eq!(field("Maintainer").as_deref(), meta["maintainer"].as_str());
    assert_eq!(field("Recommends").as_deref(), meta["recommends"].as_str());

    // `$auto` became the libraries the binary links; every named dependency is there.
    let depends = field("Depends").expect("Depends");
    assert!(!depends.contains('$'), "{depends}");
    assert!(
        depends.split(", ").any(|d| d.starts_with("libc6 (>= ")),
        "{depends}"
    );
    let listed = meta["depends"].as_str().expect("depends is a string");
    for dependency in listed.split(", ").filter(|d| *d != "$auto") {
        assert!(
            depends.split(", ").any(|d| d == dependency),
            "{dependency} missing from {depends}"
        );
    }

    let control = tempfile::tempdir().unwrap();
    let out = Command::new("dpkg-deb")
        .arg("--control")
        .arg(&deb)
        .arg(control.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for script in ["postinst", "prerm", "postrm"] {
        let packaged = control.path().join(script);
        assert_eq!(
            fs::read_to_string(&packaged).unwrap(),
            read(&format!("assets/deb/{script}")),
            "{script} differs from assets/deb/{script}"
        );
        assert_eq!(mode(&packaged), 0o755, "{script}");
    }
}

#[test]
fn built_package_binary_is_this_tracedesk_and_works() {
    let Some(deb) = built_package() else { return };
    let unpacked = tempfile::tempdir().unwrap();
    let out = Command::new("dpkg-deb")
        .arg("--extract")
        .arg(&deb)
        .arg(unpacked.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let binary = unpacked.path().join("usr/bin/tracedesk");

    let version = Command::new(&binary).arg("--version").output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&version.stdout).trim(),
        format!("tracedesk {}", env!("CARGO_PKG_VERSION"))
    );
    let parse = Command::new(&binary)
        .args([
            "parse",
            "--hri",
            "]d20100307773105025172811001023A45\u{1d}21SN0001",
        ])
        .output()
        .unwrap();
    assert!(
        parse.status.success(),
        "{}",
        String::from_utf8_lossy(&parse.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&parse.stdout).trim(),
        "(01)00307773105025(17)281100(10)23A45(21)SN0001"
    );
}
