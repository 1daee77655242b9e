//! Scanner profiles: what one scanner family sends and how to recognise it, as validated data.
//!
//! A profile is one TOML file (see `scanner-profiles/` at the repository root). The built-in
//! files are embedded in the binary with `include_str!`, so a fresh install knows them; an
//! installer can add or override profiles with TOML files in a directory ([`ProfileSet::load`]).
//! Parsing is strict: unknown keys, malformed USB IDs, unknown suffixes or substitutes are errors
//! that name the file and the field, so a typo never silently changes how scans are read.
//!
//! The one transformation that lives here is [`normalise`]: turning a keyboard-wedge scanner's
//! stand-in for the GS separator back into GS (0x1D). It must never corrupt data, so a substitute
//! that could also occur inside GS1 data must be acknowledged explicitly in the profile
//! (`substitute_may_appear_in_data = true`), and Digital Link URIs (which carry no GS) are never
//! touched.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use super::key::WedgeKey;

/// How a scanner is attached over USB in one of its modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UsbMode {
    /// USB-CDC ACM: a serial port (`/dev/ttyACM*`, `/dev/ttyUSB*`).
    Cdc,
    /// HID keyboard (keyboard wedge): keys typed into the focused window.
    Hid,
}

impl fmt::Display for UsbMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Cdc => "cdc",
            Self::Hid => "hid",
        })
    }
}

/// A USB vendor/product ID pair under which a scanner enumerates in one mode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsbId {
    /// USB vendor ID.
    pub vid: u16,
    /// USB product ID.
    pub pid: u16,
    /// Which interface the device presents with this ID.
    pub mode: UsbMode,
    /// Where the ID comes from or which models use it.
    pub note: Option<String>,
}

impl fmt::Display for UsbId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04x}:{:04x} ({})", self.vid, self.pid, self.mode)
    }
}

/// What the scanner sends after each symbol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Suffix {
    /// Carriage return (0x0D); in keyboard mode the Enter key.
    Cr,
    /// Line feed (0x0A); in keyboard mode the Enter key.
    Lf,
    /// CR LF; in keyboard mode the Enter key.
    CrLf,
    /// Horizontal tab (0x09); in keyboard mode the Tab key.
    Tab,
    /// Nothing: a scan ends when the line goes quiet.
    None,
}

impl Suffix {
    /// The byte that ends a scan on a serial line, if any.
    pub fn terminator(self) -> Option<u8> {
        match self {
            Self::Cr | Self::CrLf => Some(b'\r'),
            Self::Lf => Some(b'\n'),
            Self::Tab => Some(b'\t'),
            Self::None => None,
        }
    }

    /// The key that ends a scan in keyboard-wedge mode, if any.
    pub fn key(self) -> Option<WedgeKey> {
        match self {
            Self::Cr | Self::Lf | Self::CrLf => Some(WedgeKey::Enter),
            Self::Tab => Some(WedgeKey::Tab),
            Self::None => None,
        }
    }

    fn parse(text: &str) -> Option<Self> {
        match text.to_ascii_uppercase().as_str() {
            "CR" => Some(Self::Cr),
            "LF" => Some(Self::Lf),
            "CRLF" => Some(Self::CrLf),
            "TAB" => Some(Self::Tab),
            "NONE" => Some(Self::None),
            _ => None,
        }
    }
}

/// How a scanner transmits the GS separator (FNC1 in the symbol).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GsSubstitute {
    /// GS is sent as the byte 0x1D (serial mode, or a wedge that can type it).
    AsIs,
    /// Keyboard wedge sends GS as Ctrl+] (the ASCII control-key chord for 0x1D). A terminal
    /// turns it into 0x1D; a GUI toolkit reports it as a key press (see [`super::wedge`]).
    CtrlCloseBracket,
    /// The scanner replaces GS with this text (one character such as `~`, or a literal
    /// sequence such as `^]`).
    Text {
        /// The characters sent instead of GS.
        text: String,
        /// The profile's explicit acknowledgement that `text` is made only of characters that
        /// may also occur inside GS1 data (CSET 82), so a real data character would be turned
        /// into a separator. Without it, such a substitute is rejected.
        may_appear_in_data: bool,
    },
    /// The scanner presses this key instead of GS (e.g. F8).
    Key(WedgeKey),
    /// The scanner drops GS altogether. Variable-length fields then run together; the GS1
    /// parser must reject what it cannot split unambiguously.
    Dropped,
}

impl GsSubstitute {
    fn parse(text: &str, may_appear_in_data: bool) -> Result<Self, String> {
        let lower = text.to_ascii_lowercase();
        match lower.as_str() {
            "none" | "gs" => return Ok(Self::AsIs),
            "ctrl+]" => return Ok(Self::CtrlCloseBracket),
            "dropped" => return Ok(Self::Dropped),
            _ => {}
        }
        if let Some(key) = text.strip_prefix("key:") {
            return WedgeKey::from_name(key)
                .filter(|key| matches!(key, WedgeKey::Function(_)))
                .map(Self::Key)
                .ok_or_else(|| {
                    format!("`{key}` is not a key a scanner can send for GS (use F1..F24)")
                });
        }
        if let Some(sub) = text.strip_prefix("text:") {
            if sub.is_empty() {
                return Err("`text:` needs the character(s) the scanner sends for GS".into());
            }
            if sub.chars().any(|c| c.is_control() || !c.is_ascii()) {
                return Err(format!("`{sub}` must be printable ASCII"));
            }
            return Ok(Self::Text {
                text: sub.to_owned(),
                may_appear_in_data,
            });
        }
        Err(format!(
            "`{text}` is not a GS substitute: use \"none\", \"ctrl+]\", \"dropped\", \"key:F8\" or \"text:~\""
        ))
    }
}

impl fmt::Display for GsSubstitute {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::AsIs => f.write_str("GS as sent"),
            Self::CtrlCloseBracket => f.write_str("Ctrl+]"),
            Self::Text { text, .. } => write!(f, "text `{text}`"),
            Self::Key(key) => write!(f, "key {key}"),
            Self::Dropped => f.write_str("dropped"),
        }
    }
}

/// Keyboard-wedge timing: how a scanner's key burst differs from a person typing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WedgeTiming {
    /// The longest gap between two keys of one scanner burst. Scanners type at roughly
    /// 2-30 ms a key; people rarely faster than 50 ms.
    pub max_key_interval: Duration,
    /// How long a burst without suffix must stay quiet before it counts as finished.
    pub quiet_timeout: Duration,
    /// Fewer characters than this in a burst is a person (GS1 data is never this short).
    pub min_scan_length: usize,
}

impl Default for WedgeTiming {
    fn default() -> Self {
        Self {
            max_key_interval: Duration::from_millis(30),
            quiet_timeout: Duration::from_millis(100),
            min_scan_length: 6,
        }
    }
}

/// One scanner family's profile, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    /// Unique name, used with `--profile` and in settings.
    pub name: String,
    /// Manufacturer.
    pub vendor: String,
    /// USB IDs per mode.
    pub usb: Vec<UsbId>,
    /// What ends each scan.
    pub suffix: Suffix,
    /// Whether the scanner is expected to send the AIM symbology identifier (`]d2`...).
    pub aim_prefix: bool,
    /// How GS travels.
    pub gs_substitute: GsSubstitute,
    /// Serial mode: a scan without suffix ends after this much silence.
    pub inter_byte_timeout: Duration,
    /// Keyboard-wedge timing.
    pub wedge: WedgeTiming,
    /// Serial mode baud rate (ignored by true USB-CDC devices, used by USB-RS232 adapters).
    pub baud_rate: u32,
    /// The programming barcodes or settings the clerk must scan to set the device up.
    pub configure: Vec<String>,
    /// Where the facts in this profile come from.
    pub sources: Vec<String>,
}

impl Profile {
    /// Parses and validates one profile from TOML text.
    pub fn from_toml(text: &str) -> Result<Self, ProfileError> {
        let raw: RawProfile = toml::from_str(text).map_err(|e| ProfileError::Syntax {
            message: e.message().to_owned(),
            span: e.span().map(|s| line_col(text, s.start)),
        })?;
        raw.validate()
    }

    /// The USB IDs under which this scanner is a serial port.
    pub fn cdc_ids(&self) -> impl Iterator<Item = &UsbId> {
        self.usb.iter().filter(|id| id.mode == UsbMode::Cdc)
    }

    /// Whether this profile claims the given USB device.
    pub fn matches_usb(&self, vid: u16, pid: u16) -> bool {
        self.usb.iter().any(|id| id.vid == vid && id.pid == pid)
    }
}

fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

/// Why a profile was rejected.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProfileError {
    /// TOML syntax error, unknown key, missing key or wrong type.
    #[error("{}{message}", span.map(|(l, c)| format!("line {l}, column {c}: ")).unwrap_or_default())]
    Syntax {
        /// What the TOML reader said.
        message: String,
        /// Line and column, when known.
        span: Option<(usize, usize)>,
    },
    /// A field holds a value outside its allowed set or range.
    #[error("`{field}`: {message}")]
    Invalid {
        /// The offending field.
        field: &'static str,
        /// What is wrong and what is allowed.
        message: String,
    },
    /// A file could not be read.
    #[error("cannot read scanner profile {path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The operating system's reason.
        source: std::io::Error,
    },
    /// A profile file is invalid; wraps the reason with the file name.
    #[error("scanner profile {path}: {source}")]
    InFile {
        /// The file.
        path: PathBuf,
        /// The reason.
        source: Box<ProfileError>,
    },
    /// Two profiles in one directory share a name.
    #[error("two scanner profiles are named `{name}` ({first} and {second})")]
    DuplicateName {
        /// The shared name.
        name: String,
        /// The first file.
        first: PathBuf,
        /// The second file.
        second: PathBuf,
    },
}

fn invalid(field: &'static str, message: impl Into<String>) -> ProfileError {
    ProfileError::Invalid {
        field,
        message: message.into(),
    }
}

/// A USB ID as written in TOML: `0x05e0`, `"05e0"` or `1504`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum RawUsbNumber {
    Int(i64),
    Text(String),
}

impl RawUsbNumber {
    fn to_u16(&self, field: &'static str) -> Result<u16, ProfileError> {
        match self {
            Self::Int(n) => u16::try_from(*n)
                .map_err(|_| invalid(field, format!("{n} is not a 16-bit USB ID (0..65535)"))),
            Self::Text(text) => {
                let hex = text
                    .strip_prefix("0x")
                    .or_else(|| text.strip_prefix("0X"))
                    .unwrap_or(text);
                if hex.is_empty() || hex.len() > 4 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return Err(invalid(
                        field,
                        format!(
                            "\"{text}\" is not a USB ID: write four hex digits, e.g. \"0x05e0\""
                        ),
                    ));
                }
                u16::from_str_radix(hex, 16).map_err(|e| invalid(field, format!("\"{text}\": {e}")))
            }
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawUsb {
    vid: RawUsbNumber,
    pid: RawUsbNumber,
    mode: String,
    note: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWedge {
    max_key_interval_ms: Option<u64>,
    quiet_timeout_ms: Option<u64>,
    min_scan_length: Option<usize>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProfile {
    name: String,
    vendor: String,
    #[serde(default)]
    usb: Vec<RawUsb>,
    suffix: String,
    aim_prefix: bool,
    gs_substitute: String,
    #[serde(default)]
    substitute_may_appear_in_data: bool,
    inter_byte_timeout_ms: Option<u64>,
    #[serde(default)]
    wedge: RawWedge,
    baud_rate: Option<u32>,
    #[serde(default)]
    configure: Vec<String>,
    #[serde(default)]
    sources: Vec<String>,
}

/// Characters of GS1 CSET 82 (GS1 General Specifications, figure 7.11-1): everything a
/// CSET 82 value may contain. A GS substitute made only of these could be real data.
fn is_cset82(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!\"%&'()*+,-./:;<=>?_".contains(c)
}

impl RawProfile {
    fn validate(self) -> Result<Profile, ProfileError> {
        let name = self.name.trim().to_owned();
        if name.is_empty() {
            return Err(invalid("name", "must not be empty"));
        }
        let vendor = self.vendor.trim().to_owned();
        if vendor.is_empty() {
            return Err(invalid("vendor", "must not be empty"));
        }
        let mut usb = Vec::with_capacity(self.usb.len());
        for raw in &self.usb {
            let mode = match raw.mode.to_ascii_lowercase().as_str() {
                "cdc" => UsbMode::Cdc,
                "hid" => UsbMode::Hid,
                other => {
                    return Err(invalid(
                        "usb.mode",
                        format!("\"{other}\" is not a USB mode: use \"cdc\" or \"hid\""),
                    ));
                }
            };
            let id = UsbId {
                vid: raw.vid.to_u16("usb.vid")?,
                pid: raw.pid.to_u16("usb.pid")?,
                mode,
                note: raw.note.clone(),
            };
            if id.vid == 0 {
                return Err(invalid("usb.vid", "0x0000 is not a vendor ID"));
            }
            if usb
                .iter()
                .any(|u: &UsbId| u.vid == id.vid && u.pid == id.pid)
            {
                return Err(invalid("usb", format!("{id} is listed twice")));
            }
            usb.push(id);
        }
        let suffix = Suffix::parse(&self.suffix).ok_or_else(|| {
            invalid(
                "suffix",
                format!(
                    "\"{}\" is not a suffix: use CR, LF, CRLF, TAB or none",
                    self.suffix
                ),
            )
        })?;
        let gs_substitute =
            GsSubstitute::parse(&self.gs_substitute, self.substitute_may_appear_in_data)
                .map_err(|m| invalid("gs_substitute", m))?;
        match &gs_substitute {
            GsSubstitute::Text {
                text,
                may_appear_in_data: false,
            } if text.chars().all(is_cset82) => {
                return Err(invalid(
                    "gs_substitute",
                    format!(
                        "\"{text}\" can occur inside GS1 data (CSET 82), so a real data character \
                         would become a separator; program the scanner to send a character outside \
                         CSET 82 (e.g. ~ or ^]) or set substitute_may_appear_in_data = true to accept the risk"
                    ),
                ));
            }
            GsSubstitute::Text { text, .. }
                if suffix
                    .terminator()
                    .is_some_and(|t| text.contains(char::from(t))) =>
            {
                return Err(invalid("gs_substitute", "must differ from the suffix"));
            }
            _ => {}
        }
        if self.substitute_may_appear_in_data && !matches!(gs_substitute, GsSubstitute::Text { .. })
        {
            return Err(invalid(
                "substitute_may_appear_in_data",
                "only applies to a \"text:...\" GS substitute",
            ));
        }
        let inter_byte_ms = self.inter_byte_timeout_ms.unwrap_or(50);
        if !(5..=5000).contains(&inter_byte_ms) {
            return Err(invalid(
                "inter_byte_timeout_ms",
                format!("{inter_byte_ms} ms is outside 5..5000"),
            ));
        }
        let defaults = WedgeTiming::default();
        let key_ms = self
            .wedge
            .max_key_interval_ms
            .unwrap_or(defaults.max_key_interval.as_millis() as u64);
        if !(1..=200).contains(&key_ms) {
            return Err(invalid(
                "wedge.max_key_interval_ms",
                format!("{key_ms} ms is outside 1..200"),
            ));
        }
        let quiet_ms = self
            .wedge
            .quiet_timeout_ms
            .unwrap_or(defaults.quiet_timeout.as_millis() as u64);
        if quiet_ms < key_ms || quiet_ms > 5000 {
            return Err(invalid(
                "wedge.quiet_timeout_ms",
                format!("{quiet_ms} ms must lie between max_key_interval_ms ({key_ms}) and 5000"),
            ));
        }
        let min_scan_length = self
            .wedge
            .min_scan_length
            .unwrap_or(defaults.min_scan_length);
        if !(2..=64).contains(&min_scan_length) {
            return Err(invalid(
                "wedge.min_scan_length",
                format!("{min_scan_length} is outside 2..64"),
            ));
        }
        let baud_rate = self.baud_rate.unwrap_or(9600);
        if !(300..=4_000_000).contains(&baud_rate) {
            return Err(invalid(
                "baud_rate",
                format!("{baud_rate} is outside 300..4000000"),
            ));
        }
        Ok(Profile {
            name,
            vendor,
            usb,
            suffix,
            aim_prefix: self.aim_prefix,
            gs_substitute,
            inter_byte_timeout: Duration::from_millis(inter_byte_ms),
            wedge: WedgeTiming {
                max_key_interval: Duration::from_millis(key_ms),
                quiet_timeout: Duration::from_millis(quiet_ms),
                min_scan_length,
            },
            baud_rate,
            configure: self.configure,
            sources: self.sources,
        })
    }
}

/// The profiles shipped inside the binary: (file name, TOML text).
pub const BUILTIN_FILES: &[(&str, &str)] = &[
    (
        "zebra.toml",
        include_str!("../../scanner-profiles/zebra.toml"),
    ),
    (
        "honeywell.toml",
        include_str!("../../scanner-profiles/honeywell.toml"),
    ),
    (
        "datalogic.toml",
        include_str!("../../scanner-profiles/datalogic.toml"),
    ),
    (
        "newland.toml",
        include_str!("../../scanner-profiles/newland.toml"),
    ),
    (
        "generic-hid.toml",
        include_str!("../../scanner-profiles/generic-hid.toml"),
    ),
    (
        "generic-cdc.toml",
        include_str!("../../scanner-profiles/generic-cdc.toml"),
    ),
];

/// The set of known profiles: built-in ones, overridden or extended by user files.
#[derive(Debug, Clone, Default)]
pub struct ProfileSet {
    profiles: Vec<Profile>,
}

impl ProfileSet {
    /// The built-in profiles only. A built-in file that fails validation is logged and left out
    /// (the test suite keeps that from shipping).
    pub fn builtin() -> Self {
        let profiles = BUILTIN_FILES
            .iter()
            .filter_map(|(file, text)| match Profile::from_toml(text) {
                Ok(profile) => Some(profile),
                Err(e) => {
                    tracing::error!("built-in scanner profile {file} is invalid: {e}");
                    None
                }
            })
            .collect();
        Self { profiles }
    }

    /// Built-in profiles plus every `*.toml` file in `user_dir` (when given and present); a
    /// user profile with a built-in's name replaces it.
    pub fn load(user_dir: Option<&Path>) -> Result<Self, ProfileError> {
        let mut set = Self::builtin();
        if let Some(dir) = user_dir.filter(|d| d.is_dir()) {
            for profile in load_dir(dir)? {
                set.insert(profile);
            }
        }
        Ok(set)
    }

    /// Adds a profile, replacing any with the same name (case-insensitive).
    pub fn insert(&mut self, profile: Profile) {
        match self
            .profiles
            .iter_mut()
            .find(|p| p.name.eq_ignore_ascii_case(&profile.name))
        {
            Some(existing) => *existing = profile,
            None => self.profiles.push(profile),
        }
    }

    /// The profile with this name (case-insensitive).
    pub fn get(&self, name: &str) -> Option<&Profile> {
        self.profiles
            .iter()
            .find(|p| p.name.eq_ignore_ascii_case(name))
    }

    /// The profile claiming this USB device, if any.
    pub fn for_usb(&self, vid: u16, pid: u16) -> Option<&Profile> {
        self.profiles.iter().find(|p| p.matches_usb(vid, pid))
    }

    /// All profiles.
    pub fn iter(&self) -> impl Iterator<Item = &Profile> {
        self.profiles.iter()
    }
}

/// Loads and validates every `*.toml` file in a directory, in file-name order.
pub fn load_dir(dir: &Path) -> Result<Vec<Profile>, ProfileError> {
    let io_err = |source| ProfileError::Io {
        path: dir.to_path_buf(),
        source,
    };
    let mut paths = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io_err)? {
        let path = entry.map_err(io_err)?.path();
        if path.extension().is_some_and(|e| e == "toml") && path.is_file() {
            paths.push(path);
        }
    }
    paths.sort();
    let mut loaded: Vec<(PathBuf, Profile)> = Vec::with_capacity(paths.len());
    for path in paths {
        let text = std::fs::read_to_string(&path).map_err(|source| ProfileError::Io {
            path: path.clone(),
            source,
        })?;
        let profile = Profile::from_toml(&text).map_err(|e| ProfileError::InFile {
            path: path.clone(),
            source: Box::new(e),
        })?;
        if let Some((first, _)) = loaded
            .iter()
            .find(|(_, p)| p.name.eq_ignore_ascii_case(&profile.name))
        {
            return Err(ProfileError::DuplicateName {
                name: profile.name,
                first: first.clone(),
                second: path,
            });
        }
        loaded.push((path, profile));
    }
    Ok(loaded.into_iter().map(|(_, p)| p).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"
name = "Test"
vendor = "Acme"
suffix = "CR"
aim_prefix = true
gs_substitute = "none"
"#;

    fn with(extra: &str) -> String {
        format!("{MINIMAL}{extra}")
    }

    #[test]
    fn minimal_profile_gets_defaults() {
        let p = Profile::from_toml(MINIMAL).unwrap();
        assert_eq!(p.name, "Test");
        assert_eq!(p.suffix, Suffix::Cr);
        assert_eq!(p.gs_substitute, GsSubstitute::AsIs);
        assert_eq!(p.inter_byte_timeout, Duration::from_millis(50));
        assert_eq!(p.baud_rate, 9600);
        assert_eq!(p.wedge, WedgeTiming::default());
    }

    #[test]
    fn usb_ids_accept_hex_strings_and_integers() {
        let p = Profile::from_toml(&with(
            "[[usb]]\nvid = \"0x05e0\"\npid = \"1701\"\nmode = \"cdc\"\n[[usb]]\nvid = 1504\npid = 0x1200\nmode = \"HID\"\n",
        ))
        .unwrap();
        assert_eq!(p.usb.len(), 2);
        assert_eq!(
            (p.usb[0].vid, p.usb[0].pid, p.usb[0].mode),
            (0x05e0, 0x1701, UsbMode::Cdc)
        );
        assert_eq!(
            (p.usb[1].vid, p.usb[1].pid, p.usb[1].mode),
            (0x05e0, 0x1200, UsbMode::Hid)
        );
        assert_eq!(p.cdc_ids().count(), 1);
        assert!(p.matches_usb(0x05e0, 0x1200));
    }

    #[test]
    fn unknown_key_is_named() {
        let err = Profile::from_toml(&with("colour = \"red\"\n")).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("colour"), "{msg}");
        assert!(msg.contains("line 7"), "{msg}");
    }

    #[test]
    fn bad_vid_is_explained() {
        let err = Profile::from_toml(&with(
            "[[usb]]\nvid = \"0xZZ\"\npid = \"0x0001\"\nmode = \"cdc\"\n",
        ))
        .unwrap_err();
        assert!(err.to_string().contains("usb.vid"), "{err}");
        let err = Profile::from_toml(&with("[[usb]]\nvid = 70000\npid = 1\nmode = \"cdc\"\n"))
            .unwrap_err();
        assert!(err.to_string().contains("70000"), "{err}");
        let err = Profile::from_toml(&with("[[usb]]\nvid = 1\npid = 1\nmode = \"bluetooth\"\n"))
            .unwrap_err();
        assert!(err.to_string().contains("bluetooth"), "{err}");
    }

    #[test]
    fn bad_suffix_is_explained() {
        let err = Profile::from_toml(&MINIMAL.replace("\"CR\"", "\"ETX\"")).unwrap_err();
        assert!(
            err.to_string().contains("suffix") && err.to_string().contains("ETX"),
            "{err}"
        );
    }

    #[test]
    fn substitutes_parse() {
        let parse =
            |s: &str| Profile::from_toml(&MINIMAL.replace("\"none\"", s)).map(|p| p.gs_substitute);
        assert_eq!(parse("\"ctrl+]\"").unwrap(), GsSubstitute::CtrlCloseBracket);
        assert_eq!(parse("\"dropped\"").unwrap(), GsSubstitute::Dropped);
        assert_eq!(
            parse("\"key:F8\"").unwrap(),
            GsSubstitute::Key(WedgeKey::Function(8))
        );
        assert_eq!(
            parse("\"text:^]\"").unwrap(),
            GsSubstitute::Text {
                text: "^]".into(),
                may_appear_in_data: false
            }
        );
        assert!(parse("\"key:Q\"").is_err());
        assert!(parse("\"sometimes\"").is_err());
        assert!(parse("\"text:\"").is_err());
    }

    #[test]
    fn cset82_substitute_needs_acknowledgement() {
        let text = MINIMAL.replace("\"none\"", "\"text:%\"");
        let err = Profile::from_toml(&text).unwrap_err();
        assert!(err.to_string().contains("CSET 82"), "{err}");
        let ok =
            Profile::from_toml(&format!("{text}substitute_may_appear_in_data = true\n")).unwrap();
        assert_eq!(
            ok.gs_substitute,
            GsSubstitute::Text {
                text: "%".into(),
                may_appear_in_data: true
            }
        );
    }

    #[test]
    fn acknowledgement_without_text_substitute_is_rejected() {
        assert!(Profile::from_toml(&with("substitute_may_appear_in_data = true\n")).is_err());
    }

    #[test]
    fn timings_are_range_checked() {
        assert!(Profile::from_toml(&with("inter_byte_timeout_ms = 0\n")).is_err());
        assert!(
            Profile::from_toml(&with(
                "[wedge]\nmax_key_interval_ms = 50\nquiet_timeout_ms = 20\n"
            ))
            .is_err()
        );
        assert!(Profile::from_toml(&with("[wedge]\nmin_scan_length = 1\n")).is_err());
        assert!(Profile::from_toml(&with("baud_rate = 10\n")).is_err());
    }

    #[test]
    fn builtin_profiles_all_validate() {
        let set = ProfileSet::builtin();
        assert_eq!(set.iter().count(), BUILTIN_FILES.len());
        assert!(set.for_usb(0x05e0, 0x1200).is_some());
    }

    #[test]
    fn user_profile_overrides_builtin() {
        let mut set = ProfileSet::builtin();
        let before = set.iter().count();
        let name = set.iter().next().unwrap().name.clone();
        let mut replacement = Profile::from_toml(MINIMAL).unwrap();
        replacement.name = name.to_uppercase();
        set.insert(replacement);
        assert_eq!(set.iter().count(), before);
        assert_eq!(set.get(&name).unwrap().vendor, "Acme");
    }
}
