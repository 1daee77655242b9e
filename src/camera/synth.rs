//! Synthetic camera frames: GS1 DataMatrix labels photographed the way a desk webcam sees them.
//!
//! The decoder's recall and speed claims are measured against these frames (tests and criterion
//! benchmarks), and the kiosk's demo mode can feed them in place of a webcam. A frame is built
//! deterministically from a seed: each label is encoded with rxing's writer (GS1 mode, so the
//! symbol starts with FNC1 and every GS in the text becomes an FNC1 separator), drawn through a
//! perspective mapping (rotation plus corner skew) with 3x3 supersampling, laid on a printed-pack
//! background, then lit unevenly, blurred and given sensor noise.
//!
//! It must never depend on the decoder: a generator that shared code with the thing it tests
//! could hide the very bugs it exists to find.

use image::GrayImage;
use rand::rngs::StdRng;
use rand::{Rng, RngCore, SeedableRng};
use rxing::common::BitMatrix;
use rxing::datamatrix::encoder::{
    DefaultPlacement, SymbolInfoLookup, SymbolShapeHint, error_correction,
};

/// Width of a generated frame, as a 720p webcam delivers it.
pub const FRAME_WIDTH: u32 = 1280;
/// Height of a generated frame.
pub const FRAME_HEIGHT: u32 = 720;

/// Why a synthetic frame could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SynthError {
    /// The DataMatrix writer refused the text (too long for any symbol, or empty).
    #[error("cannot encode {text:?} as a DataMatrix: {reason}")]
    Encode { text: String, reason: String },
    /// More labels were asked for than fit side by side in one frame.
    #[error("{0} labels do not fit in one frame (at most {1} on this grid)")]
    TooManyLabels(usize, usize),
}

/// How hard the camera makes life for the decoder.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Conditions {
    /// Largest rotation of a label, in degrees either way.
    pub max_rotation_deg: f32,
    /// Largest tilt of a label away from facing the camera, in degrees about each axis
    /// (gives the keystone distortion of a pack held at an angle).
    pub max_tilt_deg: f32,
    /// Box-blur radius in pixels (applied twice, which approximates a Gaussian).
    pub blur_radius: u32,
    /// Peak amplitude of the additive sensor noise, in grey levels.
    pub noise: u8,
    /// Strength of the lighting gradient: 0 is even light, 0.5 halves the light at one side.
    pub uneven_light: f32,
    /// Size of one module in pixels, smallest and largest (capped so a label fits its cell).
    pub module_px: (f32, f32),
    /// Share of the desk lamp's light that reaches the sensor: 1 is a well-lit desk, 0.3 a dim
    /// one. The sensor noise stays the same, so a dim frame is a low-contrast, noisy frame.
    pub exposure: f32,
    /// Columns and rows of the grid the labels are laid out on, one label per cell: fewer
    /// cells leave room for larger modules (a tote held close to the camera).
    pub grid: (u32, u32),
}

impl Default for Conditions {
    fn default() -> Self {
        Self {
            max_rotation_deg: 180.0,
            max_tilt_deg: 25.0,
            blur_radius: 1,
            noise: 12,
            uneven_light: 0.35,
            module_px: (4.0, 7.0),
            exposure: 1.0,
            grid: (3, 2),
        }
    }
}

impl Conditions {
    /// A tote held close to the camera: two packs side by side, modules of 10 to 20 pixels
    /// (capped where a label would not fit its half of the frame), any rotation, a little tilt.
    pub fn close_up() -> Self {
        Self {
            grid: (2, 1),
            module_px: (10.0, 20.0),
            max_tilt_deg: 10.0,
            ..Self::default()
        }
    }

    /// A desk in poor light: a third of the light and strong sensor noise, so paper and ink
    /// are only a few noise levels apart.
    pub fn dim() -> Self {
        Self {
            noise: 28,
            exposure: 0.35,
            ..Self::default()
        }
    }

    /// A webcam in poor light with its gain turned up: under a third of the light, noise
    /// of about 18 grey levels (deviation) and strongly uneven light, so ink and paper are
    /// some 50 levels apart under noise of that order.
    pub fn murky() -> Self {
        Self {
            noise: 45,
            exposure: 0.3,
            uneven_light: 0.5,
            ..Self::default()
        }
    }

    /// Strong sensor noise and uneven light at full exposure.
    pub fn noisy() -> Self {
        Self {
            noise: 28,
            uneven_light: 0.55,
            ..Self::default()
        }
    }
}

/// Where a label landed in the frame: the text it encodes and the symbol's four corners
/// (top-left, top-right, bottom-right, bottom-left of the unrotated symbol), in pixels.
#[derive(Debug, Clone, PartialEq)]
pub struct PlacedLabel {
    pub text: String,
    pub corners: [(f32, f32); 4],
}

/// A generated frame and what is on it.
#[derive(Debug, Clone)]
pub struct SyntheticFrame {
    pub image: GrayImage,
    pub labels: Vec<PlacedLabel>,
}

impl PlacedLabel {
    /// Centre of the symbol in frame pixels.
    pub fn centre(&self) -> (f32, f32) {
        let (sx, sy) = self
            .corners
            .iter()
            .fold((0.0, 0.0), |(ax, ay), (x, y)| (ax + x, ay + y));
        (sx / 4.0, sy / 4.0)
    }
}

/// A GS1 element string in the form a scanner transmits it (GS between variable-length fields,
/// no leading FNC1), built from a pack's identifiers.
pub fn gs1_pack_text(gtin: &str, expiry: &str, lot: &str, serial: &str) -> String {
    format!("01{gtin}17{expiry}10{lot}\u{1D}21{serial}")
}

/// A plausible pack text for label `index` of a frame: a real check-digit GTIN, a lot and a
/// serial that differ from label to label.
pub fn sample_pack_text(rng: &mut StdRng, index: usize) -> String {
    let mut body: Vec<u32> = vec![0, 9, 5, 0, 6, 0, 0];
    body.extend((0..6).map(|_| rng.random_range(0..10)));
    let check = gtin_check_digit(&body);
    let gtin: String = body
        .iter()
        .chain(std::iter::once(&check))
        .filter_map(|d| char::from_digit(*d, 10))
        .collect();
    let year = rng.random_range(26..35);
    let month = rng.random_range(1..13);
    let lot: String = (0..rng.random_range(4..9))
        .map(|_| {
            let alphabet = b"ABCDEFGHJKLMNPRSTUVWXYZ0123456789";
            char::from(alphabet[rng.random_range(0..alphabet.len())])
        })
        .collect();
    let serial = format!("S{index}{:010}", rng.random_range(0..10_000_000_000u64));
    gs1_pack_text(&gtin, &format!("{year:02}{month:02}00"), &lot, &serial)
}

fn gtin_check_digit(body: &[u32]) -> u32 {
    let sum: u32 = body
        .iter()
        .rev()
        .enumerate()
        .map(|(i, d)| if i % 2 == 0 { d * 3 } else { *d })
        .sum();
    (10 - sum % 10) % 10
}

/// The module grid of a GS1 DataMatrix for `text` (GS = FNC1 separator), no quiet zone.
///
/// Encoded in ASCII mode (digit pairs packed, as most pharma printers do) by hand rather than
/// through `DataMatrixWriter`: rxing 0.9.3's GS1 path (the minimal encoder) trips an internal
/// `assert!` whenever it puts an FNC1 into C40 mode, which upper-case lots and serials provoke.
/// rxing's own error-correction and module placement do the rest.
pub fn encode_gs1_datamatrix(text: &str, shape: SymbolShapeHint) -> Result<BitMatrix, SynthError> {
    let fail = |reason: String| SynthError::Encode {
        text: text.to_owned(),
        reason,
    };
    let mut data: Vec<u8> = vec![FNC1];
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while let Some(&c) = chars.get(i) {
        match (c, chars.get(i + 1)) {
            (a, Some(b)) if a.is_ascii_digit() && b.is_ascii_digit() => {
                let pair = (a as u8 - b'0') * 10 + (*b as u8 - b'0');
                data.push(130 + pair);
                i += 2;
                continue;
            }
            ('\u{1D}', _) => data.push(FNC1),
            (a, _) if a.is_ascii() => data.push(a as u8 + 1),
            (a, _) => return Err(fail(format!("{a:?} is not ASCII"))),
        }
        i += 1;
    }
    let lookup = SymbolInfoLookup::new();
    let info = lookup
        .lookup_with_codewords_shape_size_fail(data.len() as u32, shape, &None, &None, true)
        .ok()
        .flatten()
        .ok_or_else(|| fail("too long for any DataMatrix size".to_owned()))?;
    // Pad to capacity: 129 first, then the 253-state pseudo-random pad of ISO/IEC 16022 5.2.3.
    let capacity = info.getDataCapacity() as usize;
    if data.len() < capacity {
        data.push(129);
    }
    while data.len() < capacity {
        let position = data.len() + 1;
        let pad = 129 + (149 * position) % 253 + 1;
        data.push(if pad > 254 { pad - 254 } else { pad } as u8);
    }
    let codewords: String = data.iter().map(|&b| char::from(b)).collect();
    let with_ecc =
        error_correction::encodeECC200(&codewords, info).map_err(|e| fail(e.to_string()))?;
    let dims = (|| -> rxing::common::Result<_> {
        Ok((
            info.getSymbolDataWidth()?,
            info.getSymbolDataHeight()?,
            info.getSymbolWidth()?,
            info.getSymbolHeight()?,
        ))
    })()
    .map_err(|e| fail(e.to_string()))?;
    let (data_w, data_h, symbol_w, symbol_h) = dims;
    let mut placement = DefaultPlacement::new(with_ecc, data_w as usize, data_h as usize);
    placement.place().map_err(|e| fail(e.to_string()))?;

    // Each data region is framed by a solid L (left, bottom) and a clock track (top, right).
    let region_w = data_w / ((symbol_w - data_w) / 2);
    let region_h = data_h / ((symbol_h - data_h) / 2);
    let mut bits = BitMatrix::new(symbol_w, symbol_h).map_err(|e| fail(e.to_string()))?;
    for y in 0..symbol_h {
        let (ry, my) = (y / (region_h + 2), y % (region_h + 2));
        for x in 0..symbol_w {
            let (rx, mx) = (x / (region_w + 2), x % (region_w + 2));
            let dark = if mx == 0 || my == region_h + 1 {
                true
            } else if my == 0 {
                x % 2 == 0
            } else if mx == region_w + 1 {
                y % 2 == 1
            } else {
                placement.getBit(
                    (rx * region_w + mx - 1) as usize,
                    (ry * region_h + my - 1) as usize,
                )
            };
            if dark {
                bits.set(x, y);
            }
        }
    }
    Ok(bits)
}

const FNC1: u8 = 232;

/// Builds a 1280x720 frame holding one label per text, each in its own cell of the grid
/// (3x2 unless the conditions say otherwise).
pub fn render_frame(
    texts: &[String],
    conditions: &Conditions,
    seed: u64,
) -> Result<SyntheticFrame, SynthError> {
    let (cols, rows) = (
        conditions.grid.0.max(1) as usize,
        conditions.grid.1.max(1) as usize,
    );
    if texts.len() > cols * rows {
        return Err(SynthError::TooManyLabels(texts.len(), cols * rows));
    }
    let mut rng = StdRng::seed_from_u64(seed);
    let (w, h) = (FRAME_WIDTH as usize, FRAME_HEIGHT as usize);
    let mut canvas = pack_background(&mut rng, w, h);

    // Cells of the grid, visited in a shuffled order so label positions vary between seeds.
    let (cell_w, cell_h) = (w as f32 / cols as f32, h as f32 / rows as f32);
    let mut cells: Vec<usize> = (0..cols * rows).collect();
    for i in (1..cells.len()).rev() {
        cells.swap(i, rng.random_range(0..=i));
    }

    let mut labels = Vec::with_capacity(texts.len());
    for (text, cell) in texts.iter().zip(cells) {
        // About one label in four is rectangular, as on slim vials, when the text fits one.
        let modules = if rng.random_bool(0.25) {
            encode_gs1_datamatrix(text, SymbolShapeHint::FORCE_RECTANGLE)
                .or_else(|_| encode_gs1_datamatrix(text, SymbolShapeHint::FORCE_SQUARE))?
        } else {
            encode_gs1_datamatrix(text, SymbolShapeHint::FORCE_SQUARE)?
        };
        let (mw, mh) = (modules.getWidth() as f32, modules.getHeight() as f32);
        let quiet = 2.0;
        let longest = mw.max(mh) + 2.0 * quiet;
        // Keep the rotated, skewed label inside its cell whatever module size was drawn.
        let fit = 0.55 * cell_w.min(cell_h) / longest;
        let module_px = rng
            .random_range(conditions.module_px.0..=conditions.module_px.1)
            .min(fit);
        let half_w = (mw / 2.0 + quiet) * module_px;
        let half_h = (mh / 2.0 + quiet) * module_px;
        let slack_x = (cell_w / 2.0 - half_w.max(half_h) * 1.75).max(0.0);
        let slack_y = (cell_h / 2.0 - half_w.max(half_h) * 1.75).max(0.0);
        let cx =
            (cell % cols) as f32 * cell_w + cell_w / 2.0 + rng.random_range(-1.0..=1.0) * slack_x;
        let cy =
            (cell / cols) as f32 * cell_h + cell_h / 2.0 + rng.random_range(-1.0..=1.0) * slack_y;
        let angle = rng
            .random_range(-conditions.max_rotation_deg..=conditions.max_rotation_deg)
            .to_radians();
        let (sin, cos) = angle.sin_cos();
        // Tilt in 3D about the label's own axes, then project with a webcam-like focal length
        // (about three label widths away), then rotate in the image plane.
        let tilt = conditions.max_tilt_deg.to_radians();
        let (ax, ay) = (
            rng.random_range(-tilt..=tilt),
            rng.random_range(-tilt..=tilt),
        );
        let focal = 3.0 * 2.0 * half_w.max(half_h);
        let label_corners = [
            (-half_w, -half_h),
            (half_w, -half_h),
            (half_w, half_h),
            (-half_w, half_h),
        ]
        .map(|(x, y)| {
            let (y1, z1) = (y * ax.cos(), y * ax.sin());
            let (x2, z2) = (x * ay.cos() + z1 * ay.sin(), -x * ay.sin() + z1 * ay.cos());
            let k = focal / (focal + z2);
            let (px, py) = (x2 * k, y1 * k);
            (cx + px * cos - py * sin, cy + px * sin + py * cos)
        });
        let paper = rng.random_range(215.0..=245.0);
        let ink = rng.random_range(20.0..=60.0);
        let quad = Quad::new(label_corners);
        draw_label(&mut canvas, w, h, &quad, &modules, quiet, paper, ink);
        let span_u = |m: f32| (quiet + m) / (mw + 2.0 * quiet);
        let span_v = |m: f32| (quiet + m) / (mh + 2.0 * quiet);
        let corners = [
            quad.map(span_u(0.0), span_v(0.0)),
            quad.map(span_u(mw), span_v(0.0)),
            quad.map(span_u(mw), span_v(mh)),
            quad.map(span_u(0.0), span_v(mh)),
        ];
        labels.push(PlacedLabel {
            text: text.clone(),
            corners,
        });
    }

    apply_lighting(&mut canvas, w, h, conditions.uneven_light, &mut rng);
    if conditions.exposure != 1.0 {
        let gain = conditions.exposure.clamp(0.0, 1.0);
        canvas.iter_mut().for_each(|px| *px *= gain);
    }
    for _ in 0..2 {
        box_blur(&mut canvas, w, h, conditions.blur_radius as usize);
    }
    // Triangular sensor noise. A xorshift seeded from the frame's generator: the cryptographic
    // StdRng is needlessly slow for a million draws in unoptimised test builds.
    let mut state = rng.next_u64() | 1;
    let amplitude = f32::from(conditions.noise) / 255.0;
    let mut pixels = Vec::with_capacity(w * h);
    for v in canvas {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let n = (f32::from(state as u8) + f32::from((state >> 8) as u8) - 255.0) * amplitude;
        pixels.push((v + n).clamp(0.0, 255.0) as u8);
    }
    let image = GrayImage::from_raw(FRAME_WIDTH, FRAME_HEIGHT, pixels)
        .unwrap_or_else(|| GrayImage::new(FRAME_WIDTH, FRAME_HEIGHT));
    Ok(SyntheticFrame { image, labels })
}

/// A printed carton: mid-grey board with darker and lighter print blocks and thin text lines,
/// so the detector meets edges that are not symbols.
fn pack_background(rng: &mut StdRng, w: usize, h: usize) -> Vec<f32> {
    let base = rng.random_range(120.0..=190.0);
    let mut canvas = vec![base; w * h];
    for _ in 0..14 {
        let (bw, bh) = (rng.random_range(40..320), rng.random_range(20..200));
        let (x0, y0) = (rng.random_range(0..w - bw), rng.random_range(0..h - bh));
        let shade = rng.random_range(40.0..=235.0);
        fill_rect(&mut canvas, w, x0, y0, bw, bh, shade);
    }
    for _ in 0..40 {
        let (lw, lh) = (rng.random_range(30..200), rng.random_range(3..8));
        let (x0, y0) = (rng.random_range(0..w - lw), rng.random_range(0..h - lh));
        fill_rect(
            &mut canvas,
            w,
            x0,
            y0,
            lw,
            lh,
            rng.random_range(10.0..=80.0),
        );
    }
    canvas
}

fn fill_rect(canvas: &mut [f32], w: usize, x0: usize, y0: usize, bw: usize, bh: usize, v: f32) {
    for row in canvas.chunks_exact_mut(w).skip(y0).take(bh) {
        for px in row.iter_mut().skip(x0).take(bw) {
            *px = v;
        }
    }
}

/// Draws the label (symbol plus quiet zone on white paper) through `quad`, 3x3 samples a pixel.
#[allow(clippy::too_many_arguments)]
fn draw_label(
    canvas: &mut [f32],
    w: usize,
    h: usize,
    quad: &Quad,
    modules: &BitMatrix,
    quiet: f32,
    paper: f32,
    ink: f32,
) {
    let (mw, mh) = (modules.getWidth() as f32, modules.getHeight() as f32);
    let xs = quad.corners.map(|c| c.0);
    let ys = quad.corners.map(|c| c.1);
    let lo = |v: [f32; 4]| v.iter().copied().fold(f32::MAX, f32::min).floor().max(0.0) as usize;
    let hi = |v: [f32; 4], m: usize| {
        (v.iter().copied().fold(f32::MIN, f32::max).ceil() as usize).min(m - 1)
    };
    const SUB: [f32; 3] = [1.0 / 6.0, 0.5, 5.0 / 6.0];
    for y in lo(ys)..=hi(ys, h) {
        for x in lo(xs)..=hi(xs, w) {
            let mut hits = 0u32;
            let mut dark = 0u32;
            for sy in SUB {
                for sx in SUB {
                    let Some((u, v)) = quad.unmap(x as f32 + sx, y as f32 + sy) else {
                        continue;
                    };
                    if !(0.0..1.0).contains(&u) || !(0.0..1.0).contains(&v) {
                        continue;
                    }
                    hits += 1;
                    let mx = u * (mw + 2.0 * quiet) - quiet;
                    let my = v * (mh + 2.0 * quiet) - quiet;
                    if mx >= 0.0
                        && my >= 0.0
                        && mx < mw
                        && my < mh
                        && modules.get(mx as u32, my as u32)
                    {
                        dark += 1;
                    }
                }
            }
            if hits > 0 {
                let cover = hits as f32 / 9.0;
                let label = paper + (ink - paper) * dark as f32 / hits as f32;
                let px = &mut canvas[y * w + x];
                *px = *px * (1.0 - cover) + label * cover;
            }
        }
    }
}

/// A light gradient in a random direction plus a soft hot spot, as a desk lamp gives.
fn apply_lighting(canvas: &mut [f32], w: usize, h: usize, strength: f32, rng: &mut StdRng) {
    if strength <= 0.0 {
        return;
    }
    let dir = rng.random_range(0.0..std::f32::consts::TAU);
    let (dx, dy) = (dir.cos(), dir.sin());
    let (hx, hy) = (
        rng.random_range(0.0..w as f32),
        rng.random_range(0.0..h as f32),
    );
    let diag = ((w * w + h * h) as f32).sqrt();
    for (y, row) in canvas.chunks_exact_mut(w).enumerate() {
        for (x, px) in row.iter_mut().enumerate() {
            let (fx, fy) = (x as f32 - w as f32 / 2.0, y as f32 - h as f32 / 2.0);
            let ramp = 0.5 + (fx * dx + fy * dy) / diag;
            let d2 = ((x as f32 - hx).powi(2) + (y as f32 - hy).powi(2)) / (diag * diag / 9.0);
            let gain = 1.0 - strength * ramp + 0.25 * strength * (-d2).exp();
            *px *= gain;
        }
    }
}

/// Separable box blur with clamped edges (running sums, so the radius costs nothing).
fn box_blur(canvas: &mut [f32], w: usize, h: usize, radius: usize) {
    if radius == 0 || w == 0 || h == 0 {
        return;
    }
    let mut line = vec![0.0; w.max(h)];
    let mut out = vec![0.0; w.max(h)];
    for y in 0..h {
        line[..w].copy_from_slice(&canvas[y * w..(y + 1) * w]);
        blur_line(&line[..w], &mut out[..w], radius);
        canvas[y * w..(y + 1) * w].copy_from_slice(&out[..w]);
    }
    for x in 0..w {
        for y in 0..h {
            line[y] = canvas[y * w + x];
        }
        blur_line(&line[..h], &mut out[..h], radius);
        for y in 0..h {
            canvas[y * w + x] = out[y];
        }
    }
}

fn blur_line(line: &[f32], out: &mut [f32], radius: usize) {
    let last = line.len() - 1;
    let at = |i: isize| line[(i.max(0) as usize).min(last)];
    let r = radius as isize;
    let mut sum: f32 = (-r..=r).map(at).sum();
    let norm = 1.0 / (2 * radius + 1) as f32;
    for (i, o) in out.iter_mut().enumerate() {
        *o = sum * norm;
        let i = i as isize;
        sum += at(i + r + 1) - at(i - r);
    }
}

/// A projective map from the unit square onto a quadrilateral (Heckbert's square-to-quad).
pub(crate) struct Quad {
    corners: [(f32, f32); 4],
    /// Row-major 3x3 matrix taking (u, v, 1) to homogeneous frame coordinates.
    forward: [f32; 9],
    inverse: [f32; 9],
}

impl Quad {
    pub(crate) fn new(corners: [(f32, f32); 4]) -> Self {
        let [(x0, y0), (x1, y1), (x2, y2), (x3, y3)] = corners;
        let (sx, sy) = (x0 - x1 + x2 - x3, y0 - y1 + y2 - y3);
        let (dx1, dx2, dy1, dy2) = (x1 - x2, x3 - x2, y1 - y2, y3 - y2);
        let den = dx1 * dy2 - dx2 * dy1;
        let (g, hh) = if den.abs() < f32::EPSILON {
            (0.0, 0.0)
        } else {
            ((sx * dy2 - dx2 * sy) / den, (dx1 * sy - sx * dy1) / den)
        };
        let forward = [
            x1 - x0 + g * x1,
            x3 - x0 + hh * x3,
            x0,
            y1 - y0 + g * y1,
            y3 - y0 + hh * y3,
            y0,
            g,
            hh,
            1.0,
        ];
        Self {
            corners,
            forward,
            inverse: adjugate(&forward),
        }
    }

    fn map(&self, u: f32, v: f32) -> (f32, f32) {
        let m = &self.forward;
        let z = m[6] * u + m[7] * v + m[8];
        (
            (m[0] * u + m[1] * v + m[2]) / z,
            (m[3] * u + m[4] * v + m[5]) / z,
        )
    }

    /// The unit-square point that `map` takes to (x, y).
    pub(crate) fn unmap(&self, x: f32, y: f32) -> Option<(f32, f32)> {
        let m = &self.inverse;
        let z = m[6] * x + m[7] * y + m[8];
        (z.abs() > f32::EPSILON).then(|| {
            (
                (m[0] * x + m[1] * y + m[2]) / z,
                (m[3] * x + m[4] * y + m[5]) / z,
            )
        })
    }
}

/// The adjugate of a 3x3 matrix: its inverse up to scale, which is all a homography needs.
fn adjugate(m: &[f32; 9]) -> [f32; 9] {
    [
        m[4] * m[8] - m[5] * m[7],
        m[2] * m[7] - m[1] * m[8],
        m[1] * m[5] - m[2] * m[4],
        m[5] * m[6] - m[3] * m[8],
        m[0] * m[8] - m[2] * m[6],
        m[2] * m[3] - m[0] * m[5],
        m[3] * m[7] - m[4] * m[6],
        m[1] * m[6] - m[0] * m[7],
        m[0] * m[4] - m[1] * m[3],
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_gives_the_same_frame() {
        let texts = vec![gs1_pack_text(
            "09506000134352",
            "261231",
            "ABC123",
            "SER0001",
        )];
        let a = render_frame(&texts, &Conditions::default(), 7).unwrap();
        let b = render_frame(&texts, &Conditions::default(), 7).unwrap();
        let c = render_frame(&texts, &Conditions::default(), 8).unwrap();
        assert_eq!(a.image, b.image);
        assert_eq!(a.labels, b.labels);
        assert_ne!(a.image, c.image);
    }

    #[test]
    fn labels_stay_inside_the_frame() {
        let mut rng = StdRng::seed_from_u64(1);
        for seed in 0..20 {
            let texts: Vec<String> = (0..6).map(|i| sample_pack_text(&mut rng, i)).collect();
            let frame = render_frame(&texts, &Conditions::default(), seed).unwrap();
            for label in &frame.labels {
                for (x, y) in label.corners {
                    assert!((0.0..FRAME_WIDTH as f32).contains(&x), "x {x} seed {seed}");
                    assert!((0.0..FRAME_HEIGHT as f32).contains(&y), "y {y} seed {seed}");
                }
            }
        }
    }

    #[test]
    fn quad_maps_corners_and_back() {
        let quad = Quad::new([(10.0, 20.0), (110.0, 25.0), (105.0, 130.0), (5.0, 118.0)]);
        for (uv, xy) in [(0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0)]
            .iter()
            .zip(quad.corners)
        {
            let (x, y) = quad.map(uv.0, uv.1);
            assert!((x - xy.0).abs() < 1e-3 && (y - xy.1).abs() < 1e-3);
            let (u, v) = quad.unmap(x, y).unwrap();
            assert!((u - uv.0).abs() < 1e-4 && (v - uv.1).abs() < 1e-4);
        }
    }

    #[test]
    fn gtin_check_digit_matches_a_known_gtin() {
        // 09506000134352 is GS1's own example GTIN.
        assert_eq!(
            gtin_check_digit(&[0, 9, 5, 0, 6, 0, 0, 0, 1, 3, 4, 3, 5]),
            2
        );
    }

    #[test]
    fn exposure_darkens_the_frame_and_grid_bounds_the_labels() {
        let texts = vec![gs1_pack_text("09506000134352", "261231", "ABC", "S1")];
        let lit = render_frame(&texts, &Conditions::default(), 3).unwrap();
        let dim = Conditions {
            exposure: 0.3,
            noise: 0,
            ..Conditions::default()
        };
        let dark = render_frame(&texts, &dim, 3).unwrap();
        let mean = |img: &GrayImage| {
            img.as_raw().iter().map(|&v| f64::from(v)).sum::<f64>() / img.as_raw().len() as f64
        };
        assert!(mean(&dark.image) < 0.4 * mean(&lit.image));
        let big = Conditions {
            grid: (2, 1),
            module_px: (16.0, 16.0),
            max_tilt_deg: 0.0,
            ..Conditions::default()
        };
        let frame = render_frame(&texts, &big, 3).unwrap();
        let [a, b, ..] = frame.labels[0].corners;
        // The label's top edge is 16 px per module (12 to 14 modules for this text).
        assert!((a.0 - b.0).hypot(a.1 - b.1) >= 12.0 * 16.0);
        let three = vec![texts[0].clone(); 3];
        assert!(matches!(
            render_frame(&three, &big, 0),
            Err(SynthError::TooManyLabels(3, 2))
        ));
    }

    #[test]
    fn too_many_labels_is_an_error() {
        let texts = vec!["0109506000134352".to_owned(); 7];
        assert!(matches!(
            render_frame(&texts, &Conditions::default(), 0),
            Err(SynthError::TooManyLabels(7, 6))
        ));
    }
}
