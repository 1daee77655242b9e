//! The webcam worker: a V4L2 device on its own thread, new symbols and device status out over a
//! channel.
//!
//! The thread opens `/dev/videoN`, asks for YUYV (or takes MJPG when that is all the camera
//! offers), turns each frame into luma, decodes it with [`DecodeOptions::video`] plus regions of
//! interest where the previous frame had symbols, and sends every *new* symbol once (see
//! [`Debouncer`]). When the device cannot be opened or disappears it says why, in words a clerk
//! or technician can act on, and keeps trying every couple of seconds until stopped.
//!
//! It never blocks the UI (only channel sends), never panics on a frame a camera delivers
//! (short or corrupt frames are skipped), and never interprets the symbols it sends.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Sender;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use image::GrayImage;
use linuxvideo::format::{Format, PixFormat};
use linuxvideo::stream::ReadStream;
use linuxvideo::{BufType, Device, VideoCaptureDevice};

use super::debounce::Debouncer;
use super::decode::{DecodeOptions, decode_luma};
use super::symbol::Symbol;

/// What the camera thread tells the app.
#[derive(Debug)]
#[non_exhaustive]
pub enum CameraEvent {
    /// The device is open and streaming.
    Opened {
        device: PathBuf,
        width: u32,
        height: u32,
        pixel_format: String,
    },
    /// A symbol came into view (sent once while it stays in view).
    Symbol(Symbol),
    /// The device could not be opened; the thread retries by itself.
    Unavailable(CaptureError),
    /// The device stopped delivering frames (unplugged, or taken by another program).
    Lost(CaptureError),
}

/// Why the camera cannot be used, with what to do about it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CaptureError {
    #[error("no camera at {path}: is the webcam plugged in? (`ls /dev/video*` lists the devices)")]
    NoSuchDevice { path: PathBuf },
    #[error(
        "no permission to use the camera at {path}: add the kiosk user to the `video` group \
         (`sudo usermod -aG video $USER`, then log in again)"
    )]
    PermissionDenied { path: PathBuf },
    #[error("the camera at {path} is in use by another program: close it and the kiosk will retry")]
    Busy { path: PathBuf },
    #[error("{path} is not a camera TraceDesk can read: it offers {offered}, not YUYV or MJPG")]
    UnsupportedFormat { path: PathBuf, offered: String },
    #[error("camera {path}: {source}")]
    Device {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

impl CaptureError {
    /// Classifies an OS error from opening or streaming `path`.
    pub fn from_io(path: &Path, source: io::Error) -> Self {
        const EBUSY: i32 = 16;
        const ENODEV: i32 = 19;
        const ENXIO: i32 = 6;
        let path = path.to_owned();
        match (source.kind(), source.raw_os_error()) {
            (io::ErrorKind::NotFound, _) | (_, Some(ENODEV | ENXIO)) => Self::NoSuchDevice { path },
            (io::ErrorKind::PermissionDenied, _) => Self::PermissionDenied { path },
            (_, Some(EBUSY)) => Self::Busy { path },
            _ => Self::Device { path, source },
        }
    }
}

/// Which camera and how.
#[derive(Debug, Clone)]
pub struct CameraConfig {
    pub device: PathBuf,
    /// Requested frame size; the camera may choose another.
    pub width: u32,
    pub height: u32,
    /// How long a symbol must be out of view before it is sent again.
    pub absence: Duration,
    /// Pause between attempts to open a missing or busy camera.
    pub retry_every: Duration,
}

impl Default for CameraConfig {
    fn default() -> Self {
        Self {
            device: PathBuf::from("/dev/video0"),
            width: 1280,
            height: 720,
            absence: super::debounce::DEFAULT_ABSENCE,
            retry_every: Duration::from_secs(2),
        }
    }
}

/// The running camera thread; dropping it stops the thread.
#[derive(Debug)]
pub struct CameraHandle {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl CameraHandle {
    /// Asks the thread to stop and waits for it (at most about one frame or one retry pause).
    pub fn stop(mut self) {
        self.shut_down();
    }

    fn shut_down(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            // A panicked camera thread has nothing left to clean up.
            let _ = thread.join();
        }
    }
}

impl Drop for CameraHandle {
    fn drop(&mut self) {
        self.shut_down();
    }
}

/// Starts the camera thread. It ends when the handle is stopped or dropped, or when the
/// receiving end of `events` is gone.
pub fn spawn(config: CameraConfig, events: Sender<CameraEvent>) -> io::Result<CameraHandle> {
    let stop = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&stop);
    let thread = std::thread::Builder::new()
        .name("camera".to_owned())
        .spawn(move || run(&config, &events, &flag))?;
    Ok(CameraHandle {
        stop,
        thread: Some(thread),
    })
}

/// The negotiated stream: what the camera actually delivers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PixelFormat {
    Yuyv,
    Mjpg,
}

/// Opens the device and negotiates a format, with an actionable error when that fails.
///
/// YUYV is asked for first (its luma needs no decoding); a driver that refuses it, or answers
/// with another format, is asked for MJPG on a freshly opened handle (a device handle that has
/// negotiated a format cannot be asked again).
pub fn open(config: &CameraConfig) -> Result<(VideoCaptureDevice, PixelFormat), CaptureError> {
    let path = &config.device;
    let io_error = |e| CaptureError::from_io(path, e);
    let mut offered = Vec::new();
    for (wanted, ours) in [
        (linuxvideo::format::PixelFormat::YUYV, PixelFormat::Yuyv),
        (linuxvideo::format::PixelFormat::MJPG, PixelFormat::Mjpg),
    ] {
        let device = Device::open(path).map_err(io_error)?;
        if !device
            .supported_buf_types()
            .contains(linuxvideo::BufTypes::VIDEO_CAPTURE)
        {
            return Err(CaptureError::UnsupportedFormat {
                path: path.clone(),
                offered: "no video capture".to_owned(),
            });
        }
        let Format::VideoCapture(current) =
            device.format(BufType::VIDEO_CAPTURE).map_err(io_error)?
        else {
            return Err(CaptureError::UnsupportedFormat {
                path: path.clone(),
                offered: "no video capture".to_owned(),
            });
        };
        offered.push(current.pixel_format().to_string());
        let request = PixFormat::new(config.width, config.height, wanted);
        match device.video_capture(request) {
            Ok(capture) if capture.format().pixel_format() == wanted => return Ok((capture, ours)),
            Ok(capture) => offered.push(capture.format().pixel_format().to_string()),
            // EINVAL: this driver refuses the format outright instead of offering another.
            Err(e) if e.raw_os_error() == Some(22) => {}
            Err(e) => return Err(io_error(e)),
        }
    }
    offered.dedup();
    Err(CaptureError::UnsupportedFormat {
        path: path.clone(),
        offered: offered.join(", "),
    })
}

fn run(config: &CameraConfig, events: &Sender<CameraEvent>, stop: &AtomicBool) {
    let mut last_complaint: Option<String> = None;
    while !stop.load(Ordering::Relaxed) {
        match open(config) {
            Ok((device, format)) => {
                last_complaint = None;
                let (width, height) = (device.format().width(), device.format().height());
                let opened = CameraEvent::Opened {
                    device: config.device.clone(),
                    width,
                    height,
                    pixel_format: format!("{format:?}").to_uppercase(),
                };
                if events.send(opened).is_err() {
                    return;
                }
                let lost = stream(config, device, (width, height, format), events, stop);
                match lost {
                    Some(error) => {
                        tracing::warn!(%error, "camera lost");
                        if events.send(CameraEvent::Lost(error)).is_err() {
                            return;
                        }
                    }
                    None => return,
                }
            }
            Err(error) => {
                // Say it once per kind of trouble, not every retry.
                let message = error.to_string();
                if last_complaint.as_deref() != Some(message.as_str()) {
                    tracing::warn!(%error, "camera unavailable");
                    last_complaint = Some(message);
                    if events.send(CameraEvent::Unavailable(error)).is_err() {
                        return;
                    }
                }
            }
        }
        pause(config.retry_every, stop);
    }
}

fn pause(total: Duration, stop: &AtomicBool) {
    let until = Instant::now() + total;
    while !stop.load(Ordering::Relaxed) && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Streams until the device fails (returns why) or the thread should end (returns `None`).
fn stream(
    config: &CameraConfig,
    device: VideoCaptureDevice,
    (width, height, format): (u32, u32, PixelFormat),
    events: &Sender<CameraEvent>,
    stop: &AtomicBool,
) -> Option<CaptureError> {
    let path = &config.device;
    let mut frames: ReadStream = match device.into_stream() {
        Ok(frames) => frames,
        Err(e) => return Some(CaptureError::from_io(path, e)),
    };
    let mut tracker = FrameTracker::new(config.absence);
    while !stop.load(Ordering::Relaxed) {
        // The luma copy is made inside the callback so the driver gets its buffer back at once.
        let luma = frames.dequeue(|buffer| {
            if buffer.is_error() {
                return Ok(None);
            }
            Ok(match format {
                PixelFormat::Yuyv => yuyv_to_luma(&buffer, width, height),
                PixelFormat::Mjpg => mjpg_to_luma(&buffer),
            })
        });
        let luma = match luma {
            Ok(luma) => luma,
            Err(e) => return Some(CaptureError::from_io(path, e)),
        };
        let Some(luma) = luma else {
            tracing::debug!("skipped a short or corrupt camera frame");
            continue;
        };
        for symbol in tracker.new_symbols(&luma, Instant::now()) {
            if events.send(CameraEvent::Symbol(symbol)).is_err() {
                return None;
            }
        }
    }
    None
}

/// The per-stream decoding state: where the last symbols were, and which are new.
#[derive(Debug)]
pub struct FrameTracker {
    debouncer: Debouncer,
    options: DecodeOptions,
}

impl FrameTracker {
    pub fn new(absence: Duration) -> Self {
        Self {
            debouncer: Debouncer::new(absence),
            options: DecodeOptions::video(),
        }
    }

    /// Decodes one frame and returns the symbols not already reported while in view.
    pub fn new_symbols(&mut self, frame: &GrayImage, now: Instant) -> Vec<Symbol> {
        let symbols = decode_luma(frame, &self.options);
        self.options.regions_of_interest = symbols.iter().map(Symbol::bounds).collect();
        self.debouncer.forget_absent(now);
        symbols
            .into_iter()
            .filter(|s| self.debouncer.observe(&s.text, now))
            .collect()
    }
}

/// The Y bytes of a packed YUYV (4:2:2) frame; `None` when the buffer is too short.
pub fn yuyv_to_luma(frame: &[u8], width: u32, height: u32) -> Option<GrayImage> {
    let pixels = (width as usize).checked_mul(height as usize)?;
    let bytes = frame.get(..pixels.checked_mul(2)?)?;
    let luma = bytes.iter().step_by(2).copied().collect();
    GrayImage::from_raw(width, height, luma)
}

/// A decoded MJPG frame as luma; `None` when the JPEG is corrupt.
pub fn mjpg_to_luma(frame: &[u8]) -> Option<GrayImage> {
    image::load_from_memory_with_format(frame, image::ImageFormat::Jpeg)
        .ok()
        .map(|img| img.into_luma8())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::camera::synth::{Conditions, render_frame, sample_pack_text};
    use rand::SeedableRng;

    #[test]
    fn yuyv_keeps_the_luma_bytes() {
        let frame = [10, 128, 20, 129, 30, 127, 40, 126];
        let luma = yuyv_to_luma(&frame, 2, 2).unwrap();
        assert_eq!(luma.as_raw(), &vec![10, 20, 30, 40]);
        assert!(yuyv_to_luma(&frame[..7], 2, 2).is_none(), "short frame");
        assert!(
            yuyv_to_luma(&frame, u32::MAX, u32::MAX).is_none(),
            "absurd size"
        );
    }

    #[test]
    fn corrupt_mjpg_is_skipped() {
        assert!(mjpg_to_luma(b"\xFF\xD8\xFF garbage").is_none());
        let mut jpeg = Vec::new();
        GrayImage::from_pixel(8, 8, image::Luma([200]))
            .write_to(
                &mut std::io::Cursor::new(&mut jpeg),
                image::ImageFormat::Jpeg,
            )
            .unwrap();
        assert_eq!(mjpg_to_luma(&jpeg).unwrap().dimensions(), (8, 8));
    }

    #[test]
    fn opening_a_missing_device_says_so() {
        let config = CameraConfig {
            device: PathBuf::from("/dev/video-tracedesk-missing"),
            ..CameraConfig::default()
        };
        let err = open(&config).err().expect("no such device");
        assert!(matches!(err, CaptureError::NoSuchDevice { .. }), "{err}");
        assert!(err.to_string().contains("plugged in"), "{err}");
    }

    #[test]
    fn os_errors_become_actionable_messages() {
        let path = Path::new("/dev/video0");
        let denied = CaptureError::from_io(path, io::Error::from(io::ErrorKind::PermissionDenied));
        assert!(denied.to_string().contains("video` group"), "{denied}");
        let busy = CaptureError::from_io(path, io::Error::from_raw_os_error(16));
        assert!(matches!(busy, CaptureError::Busy { .. }));
        let gone = CaptureError::from_io(path, io::Error::from_raw_os_error(19));
        assert!(matches!(gone, CaptureError::NoSuchDevice { .. }));
    }

    #[test]
    fn worker_reports_a_missing_camera_and_stops_cleanly() {
        let (tx, rx) = std::sync::mpsc::channel();
        let config = CameraConfig {
            device: PathBuf::from("/dev/video-tracedesk-missing"),
            retry_every: Duration::from_millis(20),
            ..CameraConfig::default()
        };
        let handle = spawn(config, tx).unwrap();
        let first = rx.recv_timeout(Duration::from_secs(5)).unwrap();
        assert!(matches!(
            first,
            CameraEvent::Unavailable(CaptureError::NoSuchDevice { .. })
        ));
        // The same trouble is not repeated on every retry.
        assert!(rx.recv_timeout(Duration::from_millis(200)).is_err());
        handle.stop();
    }

    #[test]
    fn a_pack_held_up_is_sent_once_then_again_after_it_was_put_down() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(3);
        let text = sample_pack_text(&mut rng, 0);
        let frame = render_frame(std::slice::from_ref(&text), &Conditions::default(), 5).unwrap();
        let empty = render_frame(&[], &Conditions::default(), 6).unwrap();
        let t0 = Instant::now();
        let mut tracker = FrameTracker::new(Duration::from_millis(1500));
        let texts = |v: Vec<Symbol>| v.into_iter().map(|s| s.text).collect::<Vec<_>>();
        assert_eq!(
            texts(tracker.new_symbols(&frame.image, t0)),
            vec![text.clone()]
        );
        assert!(
            tracker
                .new_symbols(&frame.image, t0 + Duration::from_millis(33))
                .is_empty()
        );
        assert!(
            tracker
                .new_symbols(&empty.image, t0 + Duration::from_millis(800))
                .is_empty()
        );
        assert_eq!(
            texts(tracker.new_symbols(&frame.image, t0 + Duration::from_millis(2000))),
            vec![text]
        );
    }
}
