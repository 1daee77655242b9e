//! The camera as a kiosk [`Feed`]: the V4L2 worker's symbols become scans on the same path as
//! the wedge and serial scanners, and its device state goes to the status bar.
//!
//! The camera worker (`crate::camera::capture`, feature `camera`) knows nothing of egui; this
//! forwards its events on a small thread of its own and wakes the UI. It never interprets a
//! symbol: the bytes go to the desk exactly as a hardware scanner would send them (AIM
//! symbology identifier first, GS separators kept).

use super::Feed;
use crate::camera::Symbol;

/// The bytes a hardware scanner would send for `symbol`: its AIM identifier, then its data.
/// Byte-mode data arrives as one char per byte and is sent back as those bytes; text with wider
/// characters (an ECI symbol) is sent as UTF-8.
pub fn scan_bytes(symbol: &Symbol) -> Vec<u8> {
    let mut bytes = symbol.symbology.as_bytes().to_vec();
    let latin: Option<Vec<u8>> = symbol
        .text
        .chars()
        .map(|c| u8::try_from(u32::from(c)).ok())
        .collect();
    match latin {
        Some(data) => bytes.extend(data),
        None => bytes.extend(symbol.text.as_bytes()),
    }
    bytes
}

/// The camera at `device` as a feed (the setting "camera on" starts it).
#[cfg(feature = "camera")]
pub fn camera_feed(device: std::path::PathBuf) -> Feed {
    use super::{CameraState, KioskEvent};
    use crate::camera::capture::{self, CameraConfig, CameraEvent};

    Box::new(move |events, ctx| {
        let (tx, rx) = std::sync::mpsc::channel();
        let config = CameraConfig {
            device,
            ..CameraConfig::default()
        };
        let handle = match capture::spawn(config, tx) {
            Ok(handle) => handle,
            Err(e) => {
                let reason = format!("cannot start the camera thread: {e}");
                let _ = events.send(KioskEvent::Camera(CameraState::Unavailable { reason }));
                return;
            }
        };
        let forwarding = std::thread::Builder::new()
            .name("camera-forward".into())
            .spawn(move || {
                // Dropping the handle stops the camera when the kiosk's channel closes.
                let _handle = handle;
                for event in rx {
                    let event = match event {
                        CameraEvent::Symbol(symbol) => KioskEvent::CameraScan(scan_bytes(&symbol)),
                        CameraEvent::Opened { device, .. } => {
                            KioskEvent::Camera(CameraState::Reading {
                                device: device.display().to_string(),
                            })
                        }
                        CameraEvent::Unavailable(e) | CameraEvent::Lost(e) => {
                            KioskEvent::Camera(CameraState::Unavailable {
                                reason: e.to_string(),
                            })
                        }
                    };
                    if events.send(event).is_err() {
                        break;
                    }
                    ctx.request_repaint();
                }
            });
        if let Err(e) = forwarding {
            tracing::warn!("cannot start the camera forwarding thread: {e}");
        }
    })
}

/// Without camera support the setting can only be reported as unusable.
#[cfg(not(feature = "camera"))]
pub fn camera_feed(_device: std::path::PathBuf) -> Feed {
    use super::{CameraState, KioskEvent};

    Box::new(|events, ctx| {
        let reason = "this build of TraceDesk has no camera support".to_owned();
        let _ = events.send(KioskEvent::Camera(CameraState::Unavailable { reason }));
        ctx.request_repaint();
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn symbol(text: &str) -> Symbol {
        Symbol {
            text: text.to_owned(),
            symbology: "]d2".into(),
            corners: [(0.0, 0.0); 4],
        }
    }

    #[test]
    fn a_gs1_symbol_is_sent_as_a_scanner_sends_it() {
        let bytes = scan_bytes(&symbol("0100359999101015\u{1d}21AMX0001"));
        assert_eq!(bytes, b"]d20100359999101015\x1d21AMX0001");
    }

    #[test]
    fn byte_mode_data_keeps_its_bytes_and_wide_text_is_utf8() {
        assert_eq!(scan_bytes(&symbol("A\u{e9}")), b"]d2A\xe9");
        assert_eq!(scan_bytes(&symbol("A\u{20ac}")), "]d2A\u{20ac}".as_bytes());
    }
}
