//! The USB-CDC (serial) scanner worker: one background thread per scanner that opens the port,
//! cuts its bytes into scans with [`super::framing`], repairs each scan's GS with
//! [`super::normalise`] (so every front end gets the symbol's bytes), and reports
//! [`ScannerEvent`]s on a channel.
//!
//! The port is found by path (`/dev/ttyACM0`, a udev symlink such as
//! `/dev/tracedesk-scanner-0`) or by the USB VID/PID (and optional serial number) of a profile's
//! CDC-mode IDs, through `serialport::available_ports()` (sysfs; no libudev needed).
//!
//! Unplugging is normal at a receiving desk. The worker notices the loss (read error, end of
//! stream, hang-up), reports [`ScannerEvent::Disconnected`], and polls every
//! `reconnect_interval` (250 ms by default) to reopen the same path, or the same USB device on
//! a new path; it reports [`ScannerEvent::Connected`] again when it is back. A partial scan cut
//! by the unplug is discarded with a warning rather than passed on.
//!
//! Errors carry what to do about them (permissions, a busy port, a scanner in the wrong USB
//! mode). Only this file knows about `serialport`; everything it feeds is testable without
//! hardware.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Sender;
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use serialport::{SerialPort, SerialPortType};

use super::framing::{FrameEvent, FramingConfig, Pulled, ScanReader};
use super::normalise::normalise;
use super::profile::Profile;
use super::{Scan, ScannerEvent};

/// The udev rules file shipped with TraceDesk, named in permission errors.
pub const UDEV_RULES: &str = "udev/99-tracedesk-scanners.rules";

/// Which port to open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PortTarget {
    /// A device path.
    Path(PathBuf),
    /// Any serial port whose USB device matches one of the profile's CDC-mode IDs (and this
    /// serial number, when given).
    Usb {
        /// The USB device's serial number, to pick one scanner among several.
        serial_number: Option<String>,
    },
}

/// How to run one scanner worker.
#[derive(Debug, Clone)]
pub struct SerialConfig {
    /// Where the scanner is.
    pub target: PortTarget,
    /// The scanner's profile (framing, baud rate, USB IDs).
    pub profile: Profile,
    /// How often to try reopening a lost port.
    pub reconnect_interval: Duration,
    /// Read time-out: how often the worker wakes to end quiet scans and check for stop.
    pub read_timeout: Duration,
}

impl SerialConfig {
    /// A worker for the port at `path`.
    pub fn by_path(path: impl Into<PathBuf>, profile: Profile) -> Self {
        Self::new(PortTarget::Path(path.into()), profile)
    }

    /// A worker that finds the scanner by the profile's CDC-mode USB IDs.
    pub fn by_usb(profile: Profile, serial_number: Option<String>) -> Self {
        Self::new(PortTarget::Usb { serial_number }, profile)
    }

    fn new(target: PortTarget, profile: Profile) -> Self {
        Self {
            target,
            profile,
            reconnect_interval: Duration::from_millis(250),
            read_timeout: Duration::from_millis(20),
        }
    }
}

/// Why a scanner port could not be opened or found. Each message says what to do.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SerialError {
    /// The user may not open the device.
    #[error(
        "permission denied on {port}: add your user to the dialout group (`sudo usermod -aG dialout $USER`, then log in again) or install {UDEV_RULES}"
    )]
    PermissionDenied {
        /// The device path.
        port: String,
    },
    /// The path does not exist.
    #[error(
        "{port} does not exist: is the scanner plugged in and in USB-CDC (serial) mode? `ls /dev/ttyACM* /dev/serial/by-id/` lists serial devices"
    )]
    NotFound {
        /// The device path.
        port: String,
    },
    /// Another program holds the port.
    #[error(
        "{port} is busy: another program has it open (is TraceDesk already running? ModemManager grabs new ttyACM devices unless {UDEV_RULES} is installed)"
    )]
    Busy {
        /// The device path.
        port: String,
    },
    /// No port matches the profile's USB IDs.
    #[error(
        "no `{profile}` scanner in USB-CDC mode is plugged in (looked for {ids}); if it types into other windows it is in keyboard mode: scan the vendor's USB CDC programming barcode (see the profile's configure notes)"
    )]
    NoDevice {
        /// The profile's name.
        profile: String,
        /// The USB IDs looked for.
        ids: String,
    },
    /// The profile has no CDC-mode USB IDs to look for.
    #[error("profile `{profile}` lists no USB-CDC IDs: give the port path instead (--port)")]
    NoCdcIds {
        /// The profile's name.
        profile: String,
    },
    /// Listing serial ports failed.
    #[error("cannot list serial ports: {0}")]
    Enumerate(String),
    /// Any other failure to open the port.
    #[error("cannot open {port}: {message}")]
    Open {
        /// The device path.
        port: String,
        /// The system's reason.
        message: String,
    },
}

impl SerialError {
    fn from_open(port: &str, error: &serialport::Error) -> Self {
        use serialport::ErrorKind as K;
        use std::io::ErrorKind as Io;
        let port = port.to_owned();
        match error.kind() {
            K::Io(Io::PermissionDenied) => Self::PermissionDenied { port },
            K::Io(Io::NotFound) => Self::NotFound { port },
            K::NoDevice | K::Io(Io::WouldBlock) => Self::Busy { port },
            _ => Self::Open {
                port,
                message: error.to_string(),
            },
        }
    }
}

/// A USB device's identity, remembered so a scanner that comes back on a new path is found.
#[derive(Debug, Clone, PartialEq, Eq)]
struct UsbIdentity {
    vid: u16,
    pid: u16,
    serial_number: Option<String>,
}

impl fmt::Display for UsbIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04x}:{:04x}", self.vid, self.pid)?;
        if let Some(serial) = &self.serial_number {
            write!(f, " serial {serial}")?;
        }
        Ok(())
    }
}

/// A USB serial port as seen by enumeration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsbSerialPort {
    /// Device path.
    pub port: String,
    /// Vendor ID.
    pub vid: u16,
    /// Product ID.
    pub pid: u16,
    /// Serial number, if the device reports one.
    pub serial_number: Option<String>,
}

/// Lists USB serial ports. Empty (not an error) on a system without `/sys/class/tty`.
pub fn usb_serial_ports() -> Result<Vec<UsbSerialPort>, SerialError> {
    // serialport's sysfs enumeration panics when /sys/class/tty is missing (containers).
    if cfg!(target_os = "linux") && !Path::new("/sys/class/tty").is_dir() {
        return Ok(Vec::new());
    }
    let ports = serialport::available_ports().map_err(|e| SerialError::Enumerate(e.to_string()))?;
    Ok(ports
        .into_iter()
        .filter_map(|p| match p.port_type {
            SerialPortType::UsbPort(usb) => Some(UsbSerialPort {
                port: p.port_name,
                vid: usb.vid,
                pid: usb.pid,
                serial_number: usb.serial_number,
            }),
            _ => None,
        })
        .collect())
}

/// Finds the port of a scanner matching the profile's CDC-mode IDs (and serial number).
pub fn find_port(profile: &Profile, serial_number: Option<&str>) -> Result<String, SerialError> {
    let ids: Vec<_> = profile.cdc_ids().collect();
    if ids.is_empty() {
        return Err(SerialError::NoCdcIds {
            profile: profile.name.clone(),
        });
    }
    let ports = usb_serial_ports()?;
    ports
        .into_iter()
        .filter(|p| ids.iter().any(|id| id.vid == p.vid && id.pid == p.pid))
        .find(|p| serial_number.is_none() || p.serial_number.as_deref() == serial_number)
        .map(|p| p.port)
        .ok_or_else(|| SerialError::NoDevice {
            profile: profile.name.clone(),
            ids: ids
                .iter()
                .map(|id| format!("{:04x}:{:04x}", id.vid, id.pid))
                .collect::<Vec<_>>()
                .join(", ")
                + &serial_number
                    .map(|s| format!(" with serial {s}"))
                    .unwrap_or_default(),
        })
}

/// Opens a serial port for reading scans.
pub fn open_port(
    path: &str,
    profile: &Profile,
    read_timeout: Duration,
) -> Result<Box<dyn SerialPort>, SerialError> {
    serialport::new(path, profile.baud_rate)
        .timeout(read_timeout)
        .open()
        .map_err(|e| SerialError::from_open(path, &e))
}

/// Owns a running worker. Dropping it (or [`ScannerHandle::stop`]) stops the thread and waits
/// for it.
#[derive(Debug)]
pub struct ScannerHandle {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl ScannerHandle {
    /// Stops the worker and waits for it to finish.
    pub fn stop(mut self) {
        self.shutdown();
    }

    /// Whether the worker thread is still running.
    pub fn is_running(&self) -> bool {
        self.thread.as_ref().is_some_and(|t| !t.is_finished())
    }

    fn shutdown(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take()
            && thread.join().is_err()
        {
            tracing::error!("scanner worker thread panicked");
        }
    }
}

impl Drop for ScannerHandle {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Starts a worker thread for one scanner. Events go to `tx`; the worker ends when the handle
/// is stopped or dropped, or when the receiver is gone.
pub fn spawn(config: SerialConfig, tx: Sender<ScannerEvent>) -> ScannerHandle {
    let stop = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&stop);
    let thread = std::thread::Builder::new()
        .name(format!("scanner-{}", config.profile.name))
        .spawn(move || Worker::new(config, tx, flag).run());
    let thread = match thread {
        Ok(t) => Some(t),
        Err(e) => {
            tracing::error!("cannot start the scanner worker thread: {e}");
            None
        }
    };
    ScannerHandle { stop, thread }
}

struct Worker {
    config: SerialConfig,
    tx: Sender<ScannerEvent>,
    stop: Arc<AtomicBool>,
    /// The USB device last connected, to find it again on a new path.
    identity: Option<UsbIdentity>,
    /// The last open failure reported, so a waiting worker does not repeat itself.
    last_error: Option<String>,
}

/// How a connection ended.
enum Ended {
    Stopped,
    Lost(String),
}

impl Worker {
    fn new(config: SerialConfig, tx: Sender<ScannerEvent>, stop: Arc<AtomicBool>) -> Self {
        Self {
            config,
            tx,
            stop,
            identity: None,
            last_error: None,
        }
    }

    fn stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    /// Sends an event; `false` when nobody listens any more.
    fn send(&self, event: ScannerEvent) -> bool {
        self.tx.send(event).is_ok()
    }

    fn run(mut self) {
        while !self.stopped() {
            match self.open() {
                Ok((port, path)) => {
                    self.last_error = None;
                    tracing::info!(port = %path, profile = %self.config.profile.name, "scanner connected");
                    if !self.send(ScannerEvent::Connected {
                        port: path.clone(),
                        profile: self.config.profile.name.clone(),
                    }) {
                        return;
                    }
                    match self.read_scans(port) {
                        Ended::Stopped => return,
                        Ended::Lost(reason) => {
                            tracing::warn!(port = %path, "scanner disconnected: {reason}");
                            if !self.send(ScannerEvent::Disconnected { reason }) {
                                return;
                            }
                        }
                    }
                }
                Err(e) => {
                    let message = e.to_string();
                    if self.last_error.as_deref() != Some(message.as_str()) {
                        tracing::warn!("{message}");
                        if !self.send(ScannerEvent::Warning(message.clone())) {
                            return;
                        }
                        self.last_error = Some(message);
                    }
                }
            }
            self.sleep(self.config.reconnect_interval);
        }
    }

    fn sleep(&self, total: Duration) {
        let until = Instant::now() + total;
        while !self.stopped() {
            let now = Instant::now();
            if now >= until {
                break;
            }
            std::thread::sleep((until - now).min(Duration::from_millis(25)));
        }
    }

    fn open(&mut self) -> Result<(Box<dyn SerialPort>, String), SerialError> {
        let profile = &self.config.profile;
        let path = match &self.config.target {
            PortTarget::Path(path) => {
                let path = path.to_string_lossy().into_owned();
                match (Path::new(&path).exists(), &self.identity) {
                    // The device came back under another name (ttyACM0 -> ttyACM1).
                    (false, Some(identity)) => find_by_identity(identity)?.unwrap_or(path),
                    _ => path,
                }
            }
            PortTarget::Usb { serial_number } => find_port(profile, serial_number.as_deref())?,
        };
        let port = open_port(&path, profile, self.config.read_timeout)?;
        if self.identity.is_none() {
            self.identity = identity_of(&path);
        }
        Ok((port, path))
    }

    fn read_scans(&self, port: Box<dyn SerialPort>) -> Ended {
        let mut reader = ScanReader::new(port, FramingConfig::from_profile(&self.config.profile));
        loop {
            if self.stopped() {
                return Ended::Stopped;
            }
            let pulled = reader.pull();
            let event = match pulled {
                Ok(Pulled::Idle) => continue,
                // A scanner that cannot send GS sends its profile's stand-in: repaired here,
                // so every front end gets the bytes the symbol holds.
                Ok(Pulled::Event(FrameEvent::Scan(bytes))) => ScannerEvent::Scan(Scan {
                    bytes: normalise(&bytes, &self.config.profile.gs_substitute),
                    received_at: SystemTime::now(),
                }),
                Ok(Pulled::Event(FrameEvent::Overlong { dropped })) => {
                    ScannerEvent::Warning(format!(
                        "a scan of {dropped} bytes was too long and was ignored: is this really a pack's code? scan it again"
                    ))
                }
                Ok(Pulled::Event(FrameEvent::Garbage { bytes })) => ScannerEvent::Warning(format!(
                    "{} bytes of noise on the scanner line were ignored (wrong baud rate or a loose cable?); scan again",
                    bytes.len()
                )),
                Ok(Pulled::EndOfStream) => {
                    self.warn_partial(&mut reader);
                    return Ended::Lost("the scanner closed the line".to_owned());
                }
                Err(e) => {
                    self.warn_partial(&mut reader);
                    return Ended::Lost(format!(
                        "the scanner went away ({e}); waiting for it to come back"
                    ));
                }
            };
            if !self.send(event) {
                return Ended::Stopped;
            }
        }
    }

    fn warn_partial<R: std::io::Read>(&self, reader: &mut ScanReader<R>) {
        let partial = reader.deframer_mut().discard();
        if partial > 0 {
            self.send(ScannerEvent::Warning(format!(
                "a scan was cut off when the scanner went away ({partial} bytes ignored); scan that pack again"
            )));
        }
    }
}

/// The USB identity of the device behind `path`, if it is a USB serial port.
fn identity_of(path: &str) -> Option<UsbIdentity> {
    let real = std::fs::canonicalize(path).ok()?;
    usb_serial_ports()
        .ok()?
        .into_iter()
        .find(|p| std::fs::canonicalize(&p.port).ok().as_ref() == Some(&real))
        .map(|p| UsbIdentity {
            vid: p.vid,
            pid: p.pid,
            serial_number: p.serial_number,
        })
}

fn find_by_identity(identity: &UsbIdentity) -> Result<Option<String>, SerialError> {
    Ok(usb_serial_ports()?
        .into_iter()
        .find(|p| {
            p.vid == identity.vid
                && p.pid == identity.pid
                && p.serial_number == identity.serial_number
        })
        .map(|p| p.port))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_errors_carry_help() {
        let e = SerialError::from_open(
            "/dev/ttyACM0",
            &serialport::Error::new(
                serialport::ErrorKind::Io(std::io::ErrorKind::PermissionDenied),
                "denied",
            ),
        );
        let msg = e.to_string();
        assert!(
            msg.contains("/dev/ttyACM0") && msg.contains("dialout") && msg.contains(UDEV_RULES),
            "{msg}"
        );
        let e = SerialError::from_open(
            "/dev/ttyACM0",
            &serialport::Error::new(serialport::ErrorKind::NoDevice, "busy"),
        );
        assert!(matches!(e, SerialError::Busy { .. }));
    }

    #[test]
    fn missing_path_is_not_found() {
        let profile = crate::scanner::profile::ProfileSet::builtin()
            .get("zebra")
            .cloned()
            .unwrap();
        let err = open_port(
            "/nonexistent/tracedesk-scanner",
            &profile,
            Duration::from_millis(10),
        )
        .unwrap_err();
        assert!(matches!(err, SerialError::NotFound { .. }), "{err}");
    }

    #[test]
    fn profile_without_cdc_ids_says_so() {
        let profile = crate::scanner::profile::ProfileSet::builtin()
            .get("generic-hid")
            .cloned()
            .unwrap();
        assert!(matches!(
            find_port(&profile, None),
            Err(SerialError::NoCdcIds { .. })
        ));
    }
}
