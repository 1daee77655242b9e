//! Finding and decoding every DataMatrix in one grey image.
//!
//! rxing's `DataMatrixReader` stops at the first symbol that decodes (rxing issue #51), and its
//! multi-reader recurses over quadrants of the image re-running the whole search each time. Here
//! the pieces underneath are driven directly instead: rxing's port of zxing-cpp's edge-tracing
//! detector already walks scan lines over the whole frame and returns *every* square it traces,
//! so each candidate is decoded and kept. Around that sit the passes that make it fast and keep
//! recall high:
//!
//! 1. regions of interest (where the previous video frame had symbols), searched at full size;
//! 2. a coarse pass over a half-size copy of the whole frame (a quarter of the pixels). Symbols
//!    it reads are painted out of its bit matrix. The frame's sensor noise is measured first
//!    (median difference of neighbouring pixels). A noisy frame (a webcam in poor light) is
//!    then searched denoised throughout: a one-pixel Gaussian divides the noise by about 3.5
//!    and keeps the edges of modules of 3 px and more. Texture cells whose grey levels spread
//!    no more than the noise does are never busy, and in a noisy frame their speckle is cleared
//!    before tracing, so a dim, noisy frame costs about what a clean one does. Blobs of ink
//!    left in that matrix that the tracer could not follow (modules of 10-20 px, a slim
//!    rectangle beside print) go to our own finder ([`super::finder`]), which traces their
//!    sides, counts their timing modules and hands rxing's decoder a sampled bit matrix;
//! 3. a fine pass at full size over only the patches of that matrix that still look like a
//!    module grid (dense black/white flips both across and down), each searched alone: print
//!    strokes, box edges and flat background never cost a full-size trace, and each symbol
//!    gets scan lines of its own, so one symbol (or a clump of print) cannot hide another on
//!    the same line. A slim patch (a long rectangular symbol) is also searched whole. A patch
//!    that reads nothing is, in a noisy frame, traced again smoothed (noise frays the edges
//!    the tracer follows), then binarized with a small-window mean, then handed to our own
//!    finder;
//! 4. squares that were traced but did not decode are sampled by our own finder from the
//!    trace's corners (which refines them, see `finder`), then get a closer look
//!    (each threshold, then a 2x enlargement);
//! 5. for still images only, when nothing was found: the image as it came (not denoised)
//!    searched whole at full size, our own
//!    finder at full size, a global-threshold search, rxing's older detector and the "pure
//!    symbol" reader, for clean renders and odd scans. A frame larger than VGA in which
//!    nothing traced like a symbol skips them: it is an empty desk, and they would cost
//!    several times the passes above.
//!
//! Symbols are deduplicated by position (a candidate whose centre lies inside a symbol already
//! decoded is skipped before it costs a decode) and by content.
//!
//! Pure: pixels in, symbols out; no clock, no I/O except in [`decode_file`], never a panic on
//! any image (rxing's errors are all absorbed as "nothing found here").

use std::panic::AssertUnwindSafe;
use std::path::Path;

use image::GrayImage;
use rxing::common::{
    BitArray, BitMatrix, DefaultGridSampler, DetectorRXingResult, GlobalHistogramBinarizer,
    GridSampler, HybridBinarizer, Quadrilateral,
};
use rxing::datamatrix::decoder::Decoder;
use rxing::datamatrix::detector::{Detector, zxing_cpp_detector};
use rxing::{Binarizer, Luma8Source, Point};

use super::finder;
use super::symbol::{Region, Symbol, bounds, quad_contains, to_symbol};

/// How much work a search may spend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Effort {
    /// Live video: the coarse and fine searches only. A miss costs one frame of a stream.
    Video,
    /// Still images: when the fast searches find nothing, also try the slow fallbacks.
    #[default]
    Thorough,
}

/// What [`decode_luma`] should do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeOptions {
    pub effort: Effort,
    /// Where symbols are expected (e.g. where the previous frame had them); searched first at
    /// full resolution.
    pub regions_of_interest: Vec<Region>,
    /// Run the coarse and fine searches on two threads.
    pub parallel: bool,
}

impl Default for DecodeOptions {
    fn default() -> Self {
        Self {
            effort: Effort::Thorough,
            regions_of_interest: Vec::new(),
            parallel: true,
        }
    }
}

impl DecodeOptions {
    /// Options for a live camera stream.
    pub fn video() -> Self {
        Self {
            effort: Effort::Video,
            ..Self::default()
        }
    }
}

/// Why an image file could not be searched.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    #[error("image file {path} does not exist")]
    NotFound { path: String },
    #[error("cannot read image file {path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "{path} is not an image in a format TraceDesk reads (PNG, JPEG, WebP, BMP, PNM, GIF, TIFF)"
    )]
    NotAnImage { path: String },
    #[error("image file {path} is damaged or truncated: {reason}")]
    Damaged { path: String, reason: String },
}

/// Reads an image file and decodes every DataMatrix in it.
pub fn decode_file(path: &Path, opts: &DecodeOptions) -> Result<Vec<Symbol>, DecodeError> {
    let shown = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|source| match source.kind() {
        std::io::ErrorKind::NotFound => DecodeError::NotFound {
            path: shown.clone(),
        },
        _ => DecodeError::Read {
            path: shown.clone(),
            source,
        },
    })?;
    let format = image::guess_format(&bytes).map_err(|_| DecodeError::NotAnImage {
        path: shown.clone(),
    })?;
    let img = image::load_from_memory_with_format(&bytes, format).map_err(|e| match e {
        image::ImageError::Unsupported(_) => DecodeError::NotAnImage {
            path: shown.clone(),
        },
        other => DecodeError::Damaged {
            path: shown.clone(),
            reason: other.to_string(),
        },
    })?;
    Ok(decode_luma(&img.into_luma8(), opts))
}

/// Finds and decodes every DataMatrix in `img`.
pub fn decode_luma(img: &GrayImage, opts: &DecodeOptions) -> Vec<Symbol> {
    let mut found = Vec::new();
    if img.width() == 0 || img.height() == 0 {
        return found;
    }
    let original = img;
    let mut small = halve(img);
    let mut contrast = Contrast::measure(&small);
    // Halving averages four pixels: the full frame's noise is twice the half-size frame's.
    let noisy = contrast.noise * 2.0 >= NOISY;
    tracing::trace!(noise = contrast.noise * 2.0, noisy, "frame measured");
    // A noisy frame (a webcam in poor light) is searched denoised: averaged over about a
    // module's width the noise falls to a third, while modules of 3 px and more keep their
    // edges. Every pass below then sees structure instead of speckle.
    let denoised;
    let img = if noisy {
        denoised = denoise(img);
        small = halve(&denoised);
        contrast = Contrast::measure(&small);
        &denoised
    } else {
        img
    };
    for region in &opts.regions_of_interest {
        let region = region.grown(0.5, img.width(), img.height());
        merge(&mut found, search_region(img, region, Threshold::Local));
    }

    // The coarse pass: the whole frame at half size, a quarter of the pixels to binarize and
    // trace. Symbols it decodes are painted out of its bit matrix, so what stays busy there is
    // what it could not read.
    let mut failed = Vec::new();
    let mut busy = Vec::new();
    if small.width() >= 16 && small.height() >= 16 {
        // Then the same half-size frame thresholded against small-window means: it keeps
        // fine modules next to print that the hybrid threshold breaks up.
        for threshold in [Threshold::Local, Threshold::Mean] {
            let Some(mut bits) = binarize(small.as_raw(), small.width(), small.height(), threshold)
            else {
                continue;
            };
            // Sensor noise thresholded against its own mean is speckle everywhere: the tracer
            // would follow it over the whole frame and every cell would look busy. (Milder
            // noise leaves too little speckle to pay for the clearing.)
            if noisy {
                contrast.clear_speckle(&mut bits);
            }
            // Symbols already read cost nothing twice.
            for symbol in &found {
                paint_white(&mut bits, &symbol.corners.map(|(x, y)| (x / 2.0, y / 2.0)));
            }
            let (coarse, coarse_failed) = detect_all(&mut bits, 2.0, (0.0, 0.0));
            tracing::trace!(
                ?threshold,
                read = coarse.len(),
                failed = coarse_failed.len(),
                "coarse pass"
            );
            merge(&mut found, coarse);
            failed.extend(coarse_failed);
            if threshold == Threshold::Local {
                // Blobs of ink the tracer could not follow (large modules, slim rectangles
                // beside print) are located and sampled by our own finder.
                let blobs = finder::read_blobs(img, &bits, 2.0, (0.0, 0.0), &found);
                tracing::trace!(read = blobs.len(), "coarse blobs");
                // What the finder read is painted out too, so it is not busy below.
                for symbol in &blobs {
                    paint_white(&mut bits, &symbol.corners.map(|(x, y)| (x / 2.0, y / 2.0)));
                }
                merge(&mut found, blobs);
                busy = busy_regions(&bits, &contrast, 2, img.dimensions(), !noisy);
            }
        }
    }

    // The fine pass: each busy patch alone at full size, where a symbol too fine for the coarse
    // pass gets scan lines of its own.
    busy.retain(|r| {
        !opts
            .regions_of_interest
            .iter()
            .any(|roi| roi.grown(0.5, img.width(), img.height()).covers(r))
    });
    tracing::trace!(?busy, "busy patches");
    for (symbols, region_failed) in search_regions(img, &busy, opts.parallel, noisy) {
        merge(&mut found, symbols);
        failed.extend(region_failed);
    }

    // A frame low in contrast all over (a pack under glare, a faded print) with busy texture
    // nothing was read in: a symbol of large modules there defeats the hybrid threshold,
    // whose 8-pixel blocks inside one module, all ink or all paper, fall under its minimum
    // range and count as paper, so its L breaks up. Against one threshold from the frame's
    // histogram it is whole again, for our own finder. (Only then: in a frame of ordinary
    // contrast that pass finds nothing new and costs a fifth more.)
    let unread = busy.iter().any(|r| {
        !found.iter().any(|s| {
            let (x, y) = quad_centre(&s.corners);
            (r.x as f32..(r.x + r.width) as f32).contains(&x)
                && (r.y as f32..(r.y + r.height) as f32).contains(&y)
        })
    });
    if unread
        && spread(&small) < LOW_CONTRAST
        && let Some(mut bits) = binarize(
            small.as_raw(),
            small.width(),
            small.height(),
            Threshold::Global,
        )
    {
        for symbol in &found {
            paint_white(&mut bits, &symbol.corners.map(|(x, y)| (x / 2.0, y / 2.0)));
        }
        let blobs = finder::read_blobs(img, &bits, 2.0, (0.0, 0.0), &found);
        tracing::trace!(read = blobs.len(), "low-contrast frame");
        merge(&mut found, blobs);
    }

    // Candidates that were traced but did not decode get a closer look on their own.
    let traced = !failed.is_empty();
    for corners in failed {
        let centre = quad_centre(&corners);
        if found.iter().any(|s| s.contains(centre)) {
            continue;
        }
        // The trace's own corners, sampled by our finder: rxing's sampler gave up on them.
        if let Some(symbol) = finder::read_quad(img, corners) {
            tracing::trace!(?corners, "trace sampled by the finder");
            merge(&mut found, vec![symbol]);
            continue;
        }
        let region = bounds(&corners).grown(0.5, img.width(), img.height());
        let closer = close_look(img, region, noisy);
        tracing::trace!(?region, read = closer.len(), "closer look");
        merge(&mut found, closer);
    }

    // The whole-frame fallbacks are for clean renders and odd scans. A camera-sized frame in
    // which nothing even traced like a symbol is an empty desk, noisy or not: searching all
    // of it again at full size would cost several times the passes above and find nothing
    // (on every generated and independent frame set, they found nothing the passes above had
    // not). A small image is always searched: it costs little, and a symbol filling it can
    // defeat the finder's assumptions.
    let large = u64::from(img.width()) * u64::from(img.height()) > SMALL_IMAGE_PIXELS;
    let hopeless = large && !traced;
    if found.is_empty() && opts.effort == Effort::Thorough && !hopeless {
        tracing::trace!("whole-frame fallbacks");
        // The image as it came: a still image measured as noisy may be a symbol of fine
        // modules filling it, which the denoising blurred.
        let (fine, _) = fine_search(original);
        merge(&mut found, fine);
        if found.is_empty() {
            merge(&mut found, blob_search(original));
        }
        if found.is_empty() {
            merge(&mut found, fallback_search(original));
        }
    }
    found
}

/// Grey levels between the 5th and the 95th percentile of an image's pixels.
fn spread(img: &GrayImage) -> u8 {
    let mut histogram = [0u64; 256];
    for p in img.as_raw() {
        histogram[usize::from(*p)] += 1;
    }
    let total: u64 = histogram.iter().sum();
    let percentile = |p: u64| {
        let mut seen = 0u64;
        histogram
            .iter()
            .position(|&c| {
                seen += c;
                seen * 100 > total * p
            })
            .unwrap_or(0)
    };
    u8::try_from(percentile(95).saturating_sub(percentile(5))).unwrap_or(u8::MAX)
}

/// Half-size frames whose [`spread`] is under this many grey levels are low in contrast all
/// over: the generated low-contrast frames spread over 12-29, the dim and murky ones over 30-51,
/// ordinary ones over 60 and more.
const LOW_CONTRAST: u8 = 30;

/// Images up to this many pixels (VGA) always get the whole-frame fallbacks.
const SMALL_IMAGE_PIXELS: u64 = 640 * 480;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Threshold {
    /// zxing's hybrid binarizer: 8x8 blocks against the mean of their 5x5 block neighbourhood.
    Local,
    /// One threshold for the whole image, from its histogram.
    Global,
    /// Each pixel against the mean of a small window around it: follows the fine, blurred
    /// modules of a small symbol that the 40-pixel neighbourhoods of `Local` smear over.
    Mean,
}

fn binarize(luma: &[u8], width: u32, height: u32, threshold: Threshold) -> Option<BitMatrix> {
    let source = Luma8Source::new_with_slice(luma, width, height).ok()?;
    match threshold {
        Threshold::Local => HybridBinarizer::new(source)
            .get_black_matrix()
            .ok()
            .cloned(),
        Threshold::Global => GlobalHistogramBinarizer::new(source)
            .get_black_matrix()
            .ok()
            .cloned(),
        Threshold::Mean => mean_threshold(luma, width, height),
    }
}

/// Half-side of the [`Threshold::Mean`] window, in pixels.
const MEAN_RADIUS: usize = 6;
/// Below this much contrast within its window a pixel is taken as background (white): flat
/// areas and sensor noise must not turn into speckle.
const MEAN_MIN_CONTRAST: u32 = 12;

/// Pixel against the mean of the (2r+1)^2 window around it (clipped at the image edges):
/// column sums over the window's rows slide down the image, a row sum slides along them.
fn mean_threshold(luma: &[u8], width: u32, height: u32) -> Option<BitMatrix> {
    let (w, h) = (width as usize, height as usize);
    if luma.len() < w * h || w == 0 || h == 0 {
        return None;
    }
    let r = MEAN_RADIUS;
    let mut columns = vec![0u32; w];
    for line in luma.chunks_exact(w).take(r.min(h - 1) + 1) {
        for (c, &v) in columns.iter_mut().zip(line) {
            *c += u32::from(v);
        }
    }
    let mut bits = BitMatrix::new(width, height).ok()?;
    let mut row_bits = BitArray::with_size(w);
    for y in 0..h {
        if y > 0 {
            if y + r < h {
                for (c, &v) in columns.iter_mut().zip(&luma[(y + r) * w..(y + r + 1) * w]) {
                    *c += u32::from(v);
                }
            }
            if y > r {
                let gone = y - r - 1;
                for (c, &v) in columns.iter_mut().zip(&luma[gone * w..(gone + 1) * w]) {
                    *c -= u32::from(v);
                }
            }
        }
        let rows_in = (y + r + 1).min(h) - y.saturating_sub(r);
        let line = &luma[y * w..(y + 1) * w];
        let mut total: u32 = columns[..=r.min(w - 1)].iter().sum();
        let mut word = 0usize;
        for x in 0..w {
            if x > 0 {
                if x + r < w {
                    total += columns[x + r];
                }
                if x > r {
                    total -= columns[x - r - 1];
                }
            }
            let count = (((x + r + 1).min(w) - x.saturating_sub(r)) * rows_in) as u32;
            if u32::from(line[x]) * count + MEAN_MIN_CONTRAST * count < total {
                word |= 1 << (x % usize::BITS as usize);
            }
            if (x + 1) % usize::BITS as usize == 0 || x + 1 == w {
                row_bits.setBulk(x - x % usize::BITS as usize, word);
                word = 0;
            }
        }
        bits.setRow(y as u32, &row_bits);
    }
    Some(bits)
}

/// Most symbols one search will pull out of one image; a guard, real frames hold a handful.
const MAX_ROUNDS: usize = 12;

/// Every symbol the edge-tracing detector finds in `bits`, corners scaled by `scale` and
/// shifted by `offset`; candidates that do not decode are returned for a closer look.
///
/// The detector gives up on a scan line at its first symbol and then skips the next lines, so
/// one run misses symbols that share lines with another. Each round therefore paints the
/// symbols it found white and runs the detector again, until a round finds nothing new.
fn detect_all(bits: &mut BitMatrix, scale: f32, offset: (f32, f32)) -> Candidates {
    let mut symbols: Vec<Symbol> = Vec::new();
    let mut failed = Vec::new();
    let mut seen: Vec<[(f32, f32); 4]> = Vec::new();
    let mut decoded = Vec::new();
    let decoder = Decoder::new();
    for _ in 0..MAX_ROUNDS {
        // rxing has panicking corners (index arithmetic on odd geometry); one frame's bad
        // luck must not take the camera thread or the CLI down with it.
        let detected = std::panic::catch_unwind(AssertUnwindSafe(|| {
            zxing_cpp_detector::detect(bits, true, true)
        }));
        let Ok(Ok(candidates)) = detected else {
            break;
        };
        let mut fresh = Vec::new();
        for candidate in candidates {
            let local = to_frame(candidate.getPoints(), 1.0, (0.0, 0.0));
            let centre = quad_centre(&local);
            if seen.iter().chain(&fresh).any(|q| quad_contains(q, centre)) {
                continue;
            }
            let corners = local.map(|(x, y)| (x * scale + offset.0, y * scale + offset.1));
            let decoded_bits =
                std::panic::catch_unwind(AssertUnwindSafe(|| decoder.decode(candidate.getBits())));
            match decoded_bits.unwrap_or(Err(rxing::Exceptions::FORMAT)) {
                Ok(result) => {
                    symbols.extend(to_symbol(&result, corners));
                    decoded.push(local);
                }
                // Not painted out: a bad trace may cover part of a real symbol.
                Err(_) => failed.push(corners),
            }
            fresh.push(local);
        }
        if fresh.is_empty() {
            break;
        }
        for quad in &decoded {
            paint_white(bits, quad);
        }
        decoded.clear();
        seen.extend(fresh);
    }
    (symbols, failed)
}

/// Clears a symbol (grown a little to swallow its edge) so the next detector run looks past it.
fn paint_white(bits: &mut BitMatrix, quad: &[(f32, f32); 4]) {
    let (cx, cy) = quad_centre(quad);
    let grown = quad.map(|(x, y)| (cx + (x - cx) * 1.12, cy + (y - cy) * 1.12));
    let (w, h) = (bits.getWidth(), bits.getHeight());
    let lo = |v: f32, m: u32| (v.floor().max(0.0) as u32).min(m);
    let hi = |v: f32, m: u32| (v.ceil().max(0.0) as u32 + 1).min(m);
    let xs = grown.map(|c| c.0);
    let ys = grown.map(|c| c.1);
    let (x0, x1) = (
        lo(xs.into_iter().fold(f32::MAX, f32::min), w),
        hi(xs.into_iter().fold(f32::MIN, f32::max), w),
    );
    let (y0, y1) = (
        lo(ys.into_iter().fold(f32::MAX, f32::min), h),
        hi(ys.into_iter().fold(f32::MIN, f32::max), h),
    );
    for y in y0..y1 {
        for x in x0..x1 {
            if quad_contains(&grown, (x as f32 + 0.5, y as f32 + 0.5)) {
                bits.unset(x, y);
            }
        }
    }
}

fn to_frame(points: &[Point], scale: f32, offset: (f32, f32)) -> [(f32, f32); 4] {
    let mut corners = [(0.0, 0.0); 4];
    for (c, p) in corners.iter_mut().zip(points) {
        *c = (p.x * scale + offset.0, p.y * scale + offset.1);
    }
    corners
}

fn quad_centre(c: &[(f32, f32); 4]) -> (f32, f32) {
    (
        (c[0].0 + c[1].0 + c[2].0 + c[3].0) / 4.0,
        (c[0].1 + c[1].1 + c[2].1 + c[3].1) / 4.0,
    )
}

type Candidates = (Vec<Symbol>, Vec<[(f32, f32); 4]>);

/// The image smoothed by a 5-tap binomial kernel (1 4 6 4 1)/16 along rows, then down
/// columns: a Gaussian of one pixel's deviation, which divides uncorrelated noise by about 3.5.
/// Edge pixels repeat outward.
fn denoise(img: &GrayImage) -> GrayImage {
    let (w, h) = (img.width() as usize, img.height() as usize);
    if w < 5 || h < 5 {
        return img.clone();
    }
    // The kernel's weighted sum, at 16 times scale.
    let five = |a: u32, b: u32, c: u32, d: u32, e: u32| a + 4 * b + 6 * c + 4 * d + e;
    // Rows, kept at 16 times scale (at most 4080) so the columns round only once.
    let mut rows = vec![0u16; w * h];
    for (line, out) in img.as_raw().chunks_exact(w).zip(rows.chunks_exact_mut(w)) {
        let at = |x: usize| line.get(x.min(w - 1)).map_or(0, |&v| u32::from(v));
        for (x, o) in out.iter_mut().enumerate() {
            let sum = match line.get(x.wrapping_sub(2)..x + 3) {
                Some(&[a, b, c, d, e]) => five(a.into(), b.into(), c.into(), d.into(), e.into()),
                _ => five(
                    at(x.saturating_sub(2)),
                    at(x.saturating_sub(1)),
                    at(x),
                    at(x + 1),
                    at(x + 2),
                ),
            };
            // At most 16 x 255.
            *o = u16::try_from(sum).unwrap_or(u16::MAX);
        }
    }
    // Then columns, a whole output row at a time from five input rows.
    let mut out = vec![0u8; w * h];
    let row = |y: usize| {
        rows.get(y.min(h - 1) * w..(y.min(h - 1) + 1) * w)
            .unwrap_or(&[])
    };
    for (y, target) in out.chunks_exact_mut(w).enumerate() {
        let (r0, r1, r2, r3, r4) = (
            row(y.saturating_sub(2)),
            row(y.saturating_sub(1)),
            row(y),
            row(y + 1),
            row(y + 2),
        );
        for (((((o, &a), &b), &c), &d), &e) in
            target.iter_mut().zip(r0).zip(r1).zip(r2).zip(r3).zip(r4)
        {
            let v = five(a.into(), b.into(), c.into(), d.into(), e.into());
            *o = ((v + 128) / 256).min(255) as u8;
        }
    }
    GrayImage::from_raw(img.width(), img.height(), out).unwrap_or_else(|| img.clone())
}

/// Half-size copy by 2x2 averaging (image's generic `thumbnail` is several times slower).
fn halve(img: &GrayImage) -> GrayImage {
    let (w, h) = (img.width() / 2, img.height() / 2);
    let stride = img.width() as usize;
    let src = img.as_raw();
    let mut out = Vec::with_capacity(w as usize * h as usize);
    for pair in src.chunks_exact(stride).collect::<Vec<_>>().chunks_exact(2) {
        let (top, bottom) = (pair[0], pair[1]);
        out.extend(
            top.chunks_exact(2)
                .zip(bottom.chunks_exact(2))
                .map(|(a, b)| {
                    ((u16::from(a[0]) + u16::from(a[1]) + u16::from(b[0]) + u16::from(b[1]) + 2)
                        / 4) as u8
                }),
        );
    }
    GrayImage::from_raw(w, h, out).unwrap_or_default()
}

fn fine_search(img: &GrayImage) -> Candidates {
    let Some(mut bits) = binarize(img.as_raw(), img.width(), img.height(), Threshold::Local) else {
        return Candidates::default();
    };
    let (mut symbols, mut failed) = detect_all(&mut bits, 1.0, (0.0, 0.0));
    // The detector's scan lines start at the image edges, and a bad trace early on a line can
    // hide a symbol further along it. The two overlapping halves (found symbols already painted
    // out) give those symbols lines of their own.
    let w = bits.getWidth();
    let half = w * 3 / 5;
    for left in [0, w - half] {
        let Some(mut tile) = crop_bits(&bits, left, half) else {
            continue;
        };
        let (more, more_failed) = detect_all(&mut tile, 1.0, (left as f32, 0.0));
        merge(&mut symbols, more);
        failed.extend(more_failed);
    }
    (symbols, failed)
}

/// Columns `left..left + width` of `bits` (rxing's own `BitMatrix::crop` misplaces the bits).
fn crop_bits(bits: &BitMatrix, left: u32, width: u32) -> Option<BitMatrix> {
    let height = bits.getHeight();
    let mut tile = BitMatrix::new(width, height).ok()?;
    for y in 0..height {
        for x in 0..width {
            if bits.try_get(left + x, y)? {
                tile.set(x, y);
            }
        }
    }
    Some(tile)
}

/// A traced square that did not decode: its neighbourhood alone, with each threshold, then
/// enlarged (small modules blurred into their neighbours sample better interpolated).
fn close_look(img: &GrayImage, region: Region, noisy: bool) -> Vec<Symbol> {
    let smoothed = noisy.then_some((Threshold::Local, true));
    for (threshold, smooth) in [(Threshold::Local, false), (Threshold::Global, false)]
        .into_iter()
        .chain(smoothed)
    {
        let found = trace_region(img, region, threshold, smooth).0;
        if !found.is_empty() {
            return found;
        }
    }
    if region.width < 16 || region.height < 16 {
        return Vec::new();
    }
    let crop =
        image::imageops::crop_imm(img, region.x, region.y, region.width, region.height).to_image();
    let big = image::imageops::resize(
        &crop,
        crop.width() * 2,
        crop.height() * 2,
        image::imageops::FilterType::Triangle,
    );
    let whole = Region {
        x: 0,
        y: 0,
        width: big.width(),
        height: big.height(),
    };
    search_region(&big, whole, Threshold::Local)
        .into_iter()
        .map(|s| Symbol {
            corners: s
                .corners
                .map(|(x, y)| (x / 2.0 + region.x as f32, y / 2.0 + region.y as f32)),
            ..s
        })
        .collect()
}

/// Full-resolution search of one rectangle of the image.
fn search_region(img: &GrayImage, region: Region, threshold: Threshold) -> Vec<Symbol> {
    trace_region(img, region, threshold, false).0
}

/// Full-resolution search of one rectangle of the image, with the traces that did not decode;
/// `smooth` first averages each pixel with its neighbours, so sensor noise does not fray the
/// module edges the tracer follows.
fn trace_region(img: &GrayImage, region: Region, threshold: Threshold, smooth: bool) -> Candidates {
    if region.width < 16 || region.height < 16 {
        return Candidates::default();
    }
    let mut crop =
        image::imageops::crop_imm(img, region.x, region.y, region.width, region.height).to_image();
    if smooth {
        crop = image::imageops::filter3x3(
            &crop,
            &[1.0, 2.0, 1.0, 2.0, 4.0, 2.0, 1.0, 2.0, 1.0].map(|k: f32| k / 16.0),
        );
    }
    binarize(crop.as_raw(), crop.width(), crop.height(), threshold)
        .map(|mut bits| detect_all(&mut bits, 1.0, (region.x as f32, region.y as f32)))
        .unwrap_or_default()
}

/// Our own finder on one rectangle of the image at full size (smoothed first when noisy).
fn blob_region(img: &GrayImage, region: Region, smooth: bool) -> Vec<Symbol> {
    if region.width < 16 || region.height < 16 {
        return Vec::new();
    }
    let mut crop =
        image::imageops::crop_imm(img, region.x, region.y, region.width, region.height).to_image();
    if smooth {
        crop = image::imageops::filter3x3(
            &crop,
            &[1.0, 2.0, 1.0, 2.0, 4.0, 2.0, 1.0, 2.0, 1.0].map(|k: f32| k / 16.0),
        );
    }
    let Some(bits) = binarize(crop.as_raw(), crop.width(), crop.height(), Threshold::Local) else {
        return Vec::new();
    };
    let (dx, dy) = (region.x as f32, region.y as f32);
    finder::read_blobs(&crop, &bits, 1.0, (0.0, 0.0), &[])
        .into_iter()
        .map(|s| Symbol {
            corners: s.corners.map(|(x, y)| (x + dx, y + dy)),
            ..s
        })
        .collect()
}

/// One busy patch at full size: traced, traced smoothed when the frame is noisy, traced
/// against small-window means, then handed to our own finder.
fn search_patch(img: &GrayImage, r: Region, noisy: bool) -> Candidates {
    let (symbols, mut failed) = trace_region(img, r, Threshold::Local, false);
    if !symbols.is_empty() {
        return traced(r, "traced", (symbols, failed));
    }
    // In a noisy frame, frayed edges are the likeliest reason: smoothed, they
    // trace again.
    if noisy {
        let (symbols, more_failed) = trace_region(img, r, Threshold::Local, true);
        failed.extend(more_failed);
        if !symbols.is_empty() {
            return traced(r, "traced", (symbols, failed));
        }
    }
    // Nothing read here: the hybrid threshold can break the edges of small or
    // blurred modules next to print; the small-window mean keeps them.
    let (symbols, more_failed) = trace_region(img, r, Threshold::Mean, false);
    failed.extend(more_failed);
    if !symbols.is_empty() {
        return traced(r, "traced", (symbols, failed));
    }
    // Still nothing: a symbol the tracer cannot follow at all (print crossing its
    // quiet zone, a slim rectangle) may still be a blob our own finder reads.
    traced(r, "finder", (blob_region(img, r, noisy), failed))
}

fn traced(region: Region, how: &str, found: Candidates) -> Candidates {
    tracing::trace!(
        ?region,
        how,
        read = found.0.len(),
        failed = found.1.len(),
        "busy patch"
    );
    found
}

/// Searches each region at full size, on two threads when asked and worth it.
fn search_regions(
    img: &GrayImage,
    regions: &[Region],
    parallel: bool,
    noisy: bool,
) -> Vec<Candidates> {
    let search = |part: &[Region]| -> Vec<Candidates> {
        part.iter().map(|&r| search_patch(img, r, noisy)).collect()
    };
    if !parallel || regions.len() < 2 {
        return search(regions);
    }
    // Split by area, largest first, so both threads get about the same number of pixels.
    let mut sorted = regions.to_vec();
    sorted.sort_unstable_by_key(|r| std::cmp::Reverse(r.area()));
    let (mut left, mut right) = (Vec::new(), Vec::new());
    let (mut left_area, mut right_area) = (0u64, 0u64);
    for r in sorted {
        if left_area <= right_area {
            left_area += r.area();
            left.push(r);
        } else {
            right_area += r.area();
            right.push(r);
        }
    }
    std::thread::scope(|s| {
        let other = s.spawn(|| search(&right));
        let mut out = search(&left);
        out.extend(other.join().unwrap_or_default());
        out
    })
}

/// Side of a texture cell, in pixels of the half-size bit matrix.
const CELL: u32 = 8;
/// Black/white flips a cell needs along its rows, and again down its columns, to look like
/// DataMatrix modules. A module grid flips about `32 / module side` times each way per cell,
/// so this keeps modules up to about 3 half-size pixels (6 in the frame), the sizes the coarse
/// pass reads worst; a straight edge, however it is turned, flips at most 8 times each way.
/// Bigger modules are read by the coarse pass itself.
const BUSY_FLIPS: u32 = 10;
/// Fewer busy cells than this together are a speck of print or noise, not a symbol (the
/// smallest symbol worth reading, 10x10 modules of 3 pixels, spans 4 cells).
const MIN_PATCH_CELLS: usize = 3;
/// A quiet cell with at least this many busy neighbours (of 8) is a hole in a symbol.
const HOLE_NEIGHBOURS: usize = 5;
/// Side of the windows a big busy patch is searched in, in cells (256 frame pixels), and
/// their stride: every symbol up to 128 pixels across lies whole inside one window.
const TILE_CELLS: usize = 16;
const TILE_STRIDE: usize = 8;
/// The patches of `bits` (a `scale`-times reduced binarized frame) that flip between black
/// and white often both along rows and down columns, as a module grid does, in full-size
/// pixels with a margin for the quiet zone and the finder's solid edges. Print strokes and
/// box edges flip one way only; flat areas not at all. `bridge` joins patches across
/// one-cell gaps in line (off in a noisy frame, see [`busy_cells`]).
fn busy_regions(
    bits: &BitMatrix,
    contrast: &Contrast,
    scale: u32,
    (full_width, full_height): (u32, u32),
    bridge: bool,
) -> Vec<Region> {
    let cells = busy_cells(bits, contrast, bridge);
    // The noise was measured on the reduced frame; reducing averages it down by `scale`.
    let noisy = contrast.noise * scale as f32 >= NOISY;
    let unit = (CELL * scale) as usize;
    let to_region = |(x0, y0, x1, y1): CellBox| {
        Region {
            x: (x0 * unit) as u32,
            y: (y0 * unit) as u32,
            width: ((x1 - x0 + 1) * unit) as u32,
            height: ((y1 - y0 + 1) * unit) as u32,
        }
        .grown(0.25, full_width, full_height)
    };
    let mut regions = Vec::new();
    for patch in cells.patches() {
        if patch.len() < MIN_PATCH_CELLS {
            continue;
        }
        let Some((x0, y0, x1, y1)) = extent(patch.iter().copied()) else {
            continue;
        };
        // A symbol spans about as much down as across, whatever its rotation; in a noisy frame
        // a patch one cell thin is a line of print frayed by the noise (a symbol that small,
        // under 16 half-size pixels across, would not read through that noise anyway).
        if noisy && (x0 == x1 || y0 == y1) {
            continue;
        }
        if x1 - x0 < TILE_CELLS && y1 - y0 < TILE_CELLS {
            regions.push(to_region((x0, y0, x1, y1)));
            continue;
        }
        // A slim patch may be one slim rectangular symbol (up to 144 modules long) that no
        // window holds whole: searched whole as well.
        if (x1 - x0).min(y1 - y0) < TILE_CELLS / 2 {
            regions.push(to_region((x0, y0, x1, y1)));
        }
        // A big patch is clutter (print, other packs) around and between symbols. rxing's
        // tracer gives up on a scan line at the first odd shape it meets, so a symbol deep
        // inside clutter is searched in overlapping windows of about its own size, each cut
        // down to the busy cells it holds.
        for ty in window_starts(y0, y1) {
            for tx in window_starts(x0, x1) {
                let inside: Vec<(usize, usize)> = patch
                    .iter()
                    .copied()
                    .filter(|&(x, y)| {
                        (tx..tx + TILE_CELLS).contains(&x) && (ty..ty + TILE_CELLS).contains(&y)
                    })
                    .collect();
                if inside.len() >= MIN_PATCH_CELLS
                    && let Some(cell_box) = extent(inside.into_iter())
                {
                    regions.push(to_region(cell_box));
                }
            }
        }
    }
    regions
}

/// Inclusive cell rectangle: left, top, right, bottom.
type CellBox = (usize, usize, usize, usize);

/// The smallest cell rectangle holding every cell.
fn extent(cells: impl Iterator<Item = (usize, usize)>) -> Option<CellBox> {
    cells.fold(None, |acc, (x, y)| {
        Some(match acc {
            None => (x, y, x, y),
            Some((x0, y0, x1, y1)) => (x0.min(x), y0.min(y), x1.max(x), y1.max(y)),
        })
    })
}

/// Where the windows over cells `lo..=hi` start: every `TILE_STRIDE` cells, the last one
/// flush with `hi`.
fn window_starts(lo: usize, hi: usize) -> Vec<usize> {
    let last = (hi + 1).saturating_sub(TILE_CELLS).max(lo);
    let mut starts: Vec<usize> = (lo..=last).step_by(TILE_STRIDE).collect();
    if starts.last() != Some(&last) {
        starts.push(last);
    }
    starts
}

/// Which cells of a bit matrix look like a module grid.
struct BusyCells {
    cols: usize,
    rows: usize,
    busy: Vec<bool>,
}

/// Each cell's black/white flips along its rows and down its columns.
struct Flips {
    cols: usize,
    rows: usize,
    across: Vec<u32>,
    down: Vec<u32>,
}

fn count_flips(bits: &BitMatrix) -> Flips {
    let (w, h) = (bits.getWidth() as usize, bits.getHeight() as usize);
    let cell = CELL as usize;
    let (cols, rows) = (w / cell, h / cell);
    let mut across = vec![0u32; cols * rows];
    let mut down = vec![0u32; cols * rows];
    let read = |y: usize, into: &mut [bool]| {
        for (x, bit) in into.iter_mut().enumerate() {
            *bit = bits.get(x as u32, y as u32);
        }
    };
    let mut line = vec![false; w];
    let mut below = vec![false; w];
    if rows > 0 {
        read(0, &mut line);
    }
    for y in 0..rows * cell {
        // The last row of the matrix has nothing below it: it counts as no flip.
        if y + 1 < h {
            read(y + 1, &mut below);
        } else {
            below.copy_from_slice(&line);
        }
        let base = (y / cell) * cols;
        for x in 0..cols * cell {
            let i = base + x / cell;
            let right = line.get(x + 1).copied().unwrap_or(line[x]);
            across[i] += u32::from(line[x] != right);
            down[i] += u32::from(line[x] != below[x]);
        }
        std::mem::swap(&mut line, &mut below);
    }
    Flips {
        cols,
        rows,
        across,
        down,
    }
}

/// The cells of a bit matrix that look like a module grid: dense flips both ways, in a cell
/// of the grey frame with more contrast than its noise; with `bridge`, gaps in lines of them
/// too (see [`BusyCells::bridges`]).
fn busy_cells(bits: &BitMatrix, contrast: &Contrast, bridge: bool) -> BusyCells {
    let Flips {
        cols,
        rows,
        across,
        down,
    } = count_flips(bits);
    let busy: Vec<bool> = across
        .iter()
        .zip(&down)
        .enumerate()
        .map(|(i, (&a, &d))| a >= BUSY_FLIPS && d >= BUSY_FLIPS && contrast.lively(i))
        .collect();
    let mut cells = BusyCells { cols, rows, busy };
    // A cell inside a symbol can fall short where modules clump into larger black or white
    // areas; one mostly surrounded by busy cells is taken as busy, so a symbol is not split.
    // A slim rectangle (8 or 12 modules, one or two cells thick) has few neighbours to
    // surround a gap: there a quiet cell between two busy ones, in line, is taken as busy.
    // Not in a noisy frame: its speckle lines up often enough to cost more searching than
    // a slim symbol that small would repay through that noise (measured: a tenth more
    // time on murky frames, nothing more read).
    let holes: Vec<usize> = (0..cells.busy.len())
        .filter(|&i| {
            !cells.busy[i]
                && (cells.neighbours(i).filter(|&j| cells.busy[j]).count() >= HOLE_NEIGHBOURS
                    || (bridge && cells.bridges(i)))
        })
        .collect();
    for i in holes {
        cells.busy[i] = true;
    }
    cells
}

impl BusyCells {
    /// The cells around cell `i` (itself included), clipped at the edges.
    fn neighbours(&self, i: usize) -> impl Iterator<Item = usize> + use<'_> {
        let (cx, cy) = (i % self.cols, i / self.cols);
        (cy.saturating_sub(1)..=(cy + 1).min(self.rows - 1)).flat_map(move |ny| {
            (cx.saturating_sub(1)..=(cx + 1).min(self.cols - 1)).map(move |nx| ny * self.cols + nx)
        })
    }

    /// Whether cell `i` lies between two busy cells, left and right or above and below.
    fn bridges(&self, i: usize) -> bool {
        let (x, y) = (i % self.cols, i / self.cols);
        let busy =
            |x: usize, y: usize| x < self.cols && y < self.rows && self.busy[y * self.cols + x];
        (x > 0 && busy(x - 1, y) && busy(x + 1, y)) || (y > 0 && busy(x, y - 1) && busy(x, y + 1))
    }

    /// Connected groups of busy cells (touching at an edge or a corner), as (column, row)s.
    fn patches(&self) -> Vec<Vec<(usize, usize)>> {
        let mut seen = vec![false; self.busy.len()];
        let mut patches = Vec::new();
        let mut stack = Vec::new();
        for start in 0..self.busy.len() {
            if !self.busy[start] || seen[start] {
                continue;
            }
            seen[start] = true;
            stack.push(start);
            let mut patch = Vec::new();
            while let Some(i) = stack.pop() {
                patch.push((i % self.cols, i / self.cols));
                for j in self.neighbours(i) {
                    if self.busy[j] && !seen[j] {
                        seen[j] = true;
                        stack.push(j);
                    }
                }
            }
            patches.push(patch);
        }
        patches
    }
}

/// How far a cell's grey levels must spread, in multiples of the frame's noise, to hold
/// structure: pure noise spreads by one noise level (give or take a tenth over a cell's 64
/// pixels), a module grid by about half its ink-to-paper contrast.
const NOISE_GATE: f32 = 2.0;
/// Sensor noise (grey levels, full size) above which the coarse pass clears speckle and
/// full-size searches that read nothing try again smoothed (noise frays module edges for the
/// tracer). The default generated frames stay below it.
const NOISY: f32 = 8.0;
/// Below this spread a cell is flat whatever the noise (clean renders have none).
const MIN_CELL_SPREAD: f32 = 4.0;

/// Which texture cells of the half-size grey frame (the same [`CELL`] grid as the bit
/// matrices) hold more contrast than the frame's sensor noise.
struct Contrast {
    cols: usize,
    rows: usize,
    lively: Vec<bool>,
    /// The frame's sensor noise, see [`noise_level`].
    noise: f32,
}

impl Contrast {
    fn measure(grey: &GrayImage) -> Self {
        let (w, h) = (grey.width() as usize, grey.height() as usize);
        let cell = CELL as usize;
        let (cols, rows) = (w / cell, h / cell);
        let noise = noise_level(grey);
        let gate = (NOISE_GATE * noise).max(MIN_CELL_SPREAD);
        let mut sum = vec![0u64; cols * rows];
        let mut squares = vec![0u64; cols * rows];
        for (y, line) in grey
            .as_raw()
            .chunks_exact(w.max(1))
            .take(rows * cell)
            .enumerate()
        {
            let base = (y / cell) * cols;
            for (x, &v) in line[..cols * cell].iter().enumerate() {
                let v = u64::from(v);
                sum[base + x / cell] += v;
                squares[base + x / cell] += v * v;
            }
        }
        let n = (cell * cell) as f32;
        let lively = sum
            .iter()
            .zip(&squares)
            .map(|(&s, &q)| {
                let mean = s as f32 / n;
                (q as f32 / n - mean * mean).max(0.0).sqrt() >= gate
            })
            .collect();
        Self {
            cols,
            rows,
            lively,
            noise,
        }
    }

    /// Every cell counts as lively (a frame measured as noiseless and all texture).
    #[cfg(test)]
    fn everywhere(bits: &BitMatrix) -> Self {
        let (cols, rows) = (
            (bits.getWidth() / CELL) as usize,
            (bits.getHeight() / CELL) as usize,
        );
        Self {
            cols,
            rows,
            lively: vec![true; cols * rows],
            noise: 0.0,
        }
    }

    fn lively(&self, i: usize) -> bool {
        self.lively.get(i).copied().unwrap_or(true)
    }

    /// Clears the cells of `bits` that flip like a module grid where the grey frame has no more
    /// contrast than its noise. Quiet cells that do not flip stay: the inside of a large module
    /// or of the finder's solid bars is flat too.
    fn clear_speckle(&self, bits: &mut BitMatrix) {
        let flips = count_flips(bits);
        if (flips.cols, flips.rows) != (self.cols, self.rows) {
            return;
        }
        for (i, (&a, &d)) in flips.across.iter().zip(&flips.down).enumerate() {
            if self.lively(i) || a + d < SPECKLE_FLIPS {
                continue;
            }
            let (x0, y0) = ((i % self.cols) as u32 * CELL, (i / self.cols) as u32 * CELL);
            for y in y0..y0 + CELL {
                for x in x0..x0 + CELL {
                    bits.unset(x, y);
                }
            }
        }
    }
}

/// Flips (across plus down) above which a quiet cell is speckle: a straight edge through a
/// cell flips at most 16 times.
const SPECKLE_FLIPS: u32 = 12;

/// The frame's sensor noise (standard deviation, grey levels), from the median absolute
/// difference between horizontal neighbours: edges are too few to move the median, so it
/// measures the noise whatever the frame shows.
fn noise_level(grey: &GrayImage) -> f32 {
    let w = grey.width() as usize;
    let mut histogram = [0u32; 256];
    let mut count = 0u32;
    // Every other row is plenty for a median.
    for line in grey.as_raw().chunks_exact(w.max(1)).step_by(2) {
        for pair in line.windows(2) {
            histogram[usize::from(pair[0].abs_diff(pair[1]))] += 1;
            count += 1;
        }
    }
    let mut seen = 0u32;
    let median = histogram
        .iter()
        .position(|&n| {
            seen += n;
            seen * 2 >= count
        })
        .unwrap_or(0) as f32;
    // For Gaussian noise of deviation s a neighbour difference has deviation s * sqrt(2), and
    // its median absolute value is 0.6745 times that. The half-level offset undoes the
    // rounding of the histogram bins.
    (median + 0.5) / (0.6745 * std::f32::consts::SQRT_2)
}

/// Our own finder over the whole frame at full size, with each threshold in turn.
fn blob_search(img: &GrayImage) -> Vec<Symbol> {
    for threshold in [Threshold::Local, Threshold::Global] {
        let Some(bits) = binarize(img.as_raw(), img.width(), img.height(), threshold) else {
            continue;
        };
        let found = finder::read_blobs(img, &bits, 1.0, (0.0, 0.0), &[]);
        if !found.is_empty() {
            return found;
        }
    }
    Vec::new()
}

/// Slow paths for still images that the fast searches missed.
fn fallback_search(img: &GrayImage) -> Vec<Symbol> {
    let whole = Region {
        x: 0,
        y: 0,
        width: img.width(),
        height: img.height(),
    };
    let found = search_region(img, whole, Threshold::Global);
    if !found.is_empty() {
        return found;
    }
    for threshold in [Threshold::Local, Threshold::Global] {
        let Some(bits) = binarize(img.as_raw(), img.width(), img.height(), threshold) else {
            continue;
        };
        if let Some(symbol) = legacy_detector(&bits).or_else(|| pure_symbol(&bits)) {
            return vec![symbol];
        }
    }
    // Small photos (a close-up crop): the edge tracer wants a few pixels per module and smooth
    // edges, which an interpolated enlargement gives it.
    for factor in [2u32, 3] {
        if img.width().max(img.height()) * factor > MAX_UPSCALED_SIDE {
            break;
        }
        let big = image::imageops::resize(
            img,
            img.width() * factor,
            img.height() * factor,
            image::imageops::FilterType::Triangle,
        );
        let region = Region {
            x: 0,
            y: 0,
            width: big.width(),
            height: big.height(),
        };
        for threshold in [Threshold::Local, Threshold::Global] {
            let found = search_region(&big, region, threshold);
            if !found.is_empty() {
                let f = factor as f32;
                return found
                    .into_iter()
                    .map(|s| Symbol {
                        corners: s.corners.map(|(x, y)| (x / f, y / f)),
                        ..s
                    })
                    .collect();
            }
        }
    }
    Vec::new()
}

/// Small images are also searched enlarged, up to this side, when nothing else worked.
const MAX_UPSCALED_SIDE: u32 = 1200;

/// rxing's port of the older zxing (Java) detector, which copes with some symbols the
/// edge tracer does not (e.g. a finder pattern touching the image border).
fn legacy_detector(bits: &BitMatrix) -> Option<Symbol> {
    let detected = Detector::new(bits).ok()?.detect().ok()?;
    let result = Decoder::new().decode(detected.getBits()).ok()?;
    to_symbol(&result, to_frame(detected.getPoints(), 1.0, (0.0, 0.0)))
}

/// A clean, unrotated render with only the symbol on it: read the modules off directly.
fn pure_symbol(bits: &BitMatrix) -> Option<Symbol> {
    let [left, top, width, height] = bits.getEnclosingRectangle()?;
    // The top edge of the finder alternates one module black, one white: its first run is
    // one module wide.
    let module = (left..left + width)
        .take_while(|&x| bits.get(x, top))
        .count() as u32;
    if module == 0 {
        return None;
    }
    let (cols, rows) = (width / module, height / module);
    if cols < 8 || rows < 8 {
        return None;
    }
    let src = Quadrilateral::new(
        Point::new(left as f32, top as f32),
        Point::new((left + width) as f32, top as f32),
        Point::new((left + width) as f32, (top + height) as f32),
        Point::new(left as f32, (top + height) as f32),
    );
    let dst = Quadrilateral::new(
        Point::new(0.0, 0.0),
        Point::new(cols as f32, 0.0),
        Point::new(cols as f32, rows as f32),
        Point::new(0.0, rows as f32),
    );
    let (grid, _) = DefaultGridSampler
        .sample_grid_detailed(bits, cols, rows, dst, src)
        .ok()?;
    let result = Decoder::new().decode(&grid).ok()?;
    to_symbol(&result, to_frame(src.points(), 1.0, (0.0, 0.0)))
}

/// Adds `more` to `found`, skipping symbols already there (same text at an overlapping place).
fn merge(found: &mut Vec<Symbol>, more: Vec<Symbol>) {
    for symbol in more {
        let centre = symbol.centre();
        let duplicate = found
            .iter()
            .any(|f| f.text == symbol.text && (f.contains(centre) || symbol.contains(f.centre())));
        if !duplicate {
            found.push(symbol);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A bit matrix of `side` x `side` modules of `module` pixels, black where `dark` says.
    fn grid(side: u32, module: u32, dark: impl Fn(u32, u32) -> bool) -> BitMatrix {
        let px = side * module;
        let mut bits = BitMatrix::new(px, px).expect("matrix");
        for y in 0..px {
            for x in 0..px {
                if dark(x / module, y / module) {
                    bits.set(x, y);
                }
            }
        }
        bits
    }

    /// A fixed pseudo-random module pattern (about half dark).
    fn scatter(x: u32, y: u32) -> bool {
        let mut z = (u64::from(x) << 32 | u64::from(y)).wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        (z ^ (z >> 31)) & 1 == 1
    }

    #[test]
    fn a_module_grid_is_busy_and_gives_one_region() {
        // Modules of 2 half-size pixels (4 in the frame): what the fine pass is for.
        let bits = grid(60, 2, scatter);
        let cells = busy_cells(&bits, &Contrast::everywhere(&bits), true);
        let busy = cells.busy.iter().filter(|&&b| b).count();
        assert!(
            busy * 10 >= cells.busy.len() * 8,
            "{busy} of {}",
            cells.busy.len()
        );
        let regions = busy_regions(&bits, &Contrast::everywhere(&bits), 2, (240, 240), true);
        assert_eq!(regions.len(), 1, "{regions:?}");
        assert!(regions[0].width >= 200 && regions[0].height >= 200);
    }

    #[test]
    fn edges_stripes_and_flat_areas_are_not_busy() {
        // A diagonal straight edge flips at most once per row and column of a cell.
        let diagonal = grid(96, 1, |x, y| x > y);
        // Horizontal print lines flip down the columns only.
        let lines = grid(96, 1, |_, y| y % 4 == 0);
        let flat = BitMatrix::new(96, 96).expect("matrix");
        for (what, bits) in [("diagonal", diagonal), ("lines", lines), ("flat", flat)] {
            let contrast = Contrast::everywhere(&bits);
            assert!(
                !busy_cells(&bits, &contrast, true).busy.contains(&true),
                "{what}"
            );
            assert!(
                busy_regions(&bits, &contrast, 2, (192, 192), true).is_empty(),
                "{what}"
            );
        }
    }

    #[test]
    fn one_cell_thin_patches_count_as_print_only_in_a_noisy_frame() {
        // Module-like texture in the top cell row only: twelve cells long, one cell tall.
        let bits = grid(48, 2, |x, y| y < 4 && scatter(x, y));
        let clean = Contrast::everywhere(&bits);
        assert_eq!(busy_regions(&bits, &clean, 2, (192, 192), true).len(), 1);
        let noisy = Contrast {
            noise: NOISY,
            ..Contrast::everywhere(&bits)
        };
        assert!(busy_regions(&bits, &noisy, 2, (192, 192), true).is_empty());
        // A patch two cells tall stays, noise or not.
        let taller = grid(48, 2, |x, y| y < 8 && scatter(x, y));
        assert_eq!(busy_regions(&taller, &noisy, 2, (192, 192), true).len(), 1);
    }

    #[test]
    fn a_slim_symbol_with_a_quiet_cell_stays_one_patch() {
        // Texture two cells tall and twelve long, but one cell (columns 16-19 of modules)
        // clumped into flat paper, as long light runs of a slim rectangle can be.
        let bits = grid(48, 2, |x, y| {
            y < 8 && !(16..20).contains(&x) && scatter(x, y)
        });
        let contrast = Contrast::everywhere(&bits);
        let flips = count_flips(&bits);
        let quiet = |i: usize| flips.across[i] < BUSY_FLIPS || flips.down[i] < BUSY_FLIPS;
        assert!(
            quiet(4) && quiet(flips.cols + 4),
            "the gap is not busy by itself"
        );
        let regions = busy_regions(&bits, &contrast, 2, (192, 192), true);
        assert_eq!(regions.len(), 1, "{regions:?}");
        assert!(regions[0].x == 0 && regions[0].width >= 180, "{regions:?}");
        // Not bridged where bridging is off (a noisy frame).
        assert_eq!(
            busy_regions(&bits, &contrast, 2, (192, 192), false).len(),
            2
        );
        // Two texture patches three cells apart stay apart.
        let apart = grid(48, 2, |x, y| {
            y < 8 && !(12..24).contains(&x) && scatter(x, y)
        });
        assert_eq!(
            busy_regions(&apart, &contrast, 2, (192, 192), true).len(),
            2
        );
    }

    #[test]
    fn a_big_patch_is_searched_in_overlapping_windows() {
        // 60 x 60 cells of modules: far bigger than one window.
        let bits = grid(240, 2, scatter);
        let regions = busy_regions(&bits, &Contrast::everywhere(&bits), 2, (960, 960), true);
        assert!(regions.len() > 4, "{}", regions.len());
        let window = (TILE_CELLS as u32 * CELL * 2) as f32 * 1.5 + 16.0;
        assert!(
            regions
                .iter()
                .all(|r| r.width as f32 <= window && r.height as f32 <= window),
            "{regions:?}"
        );
        // Together they cover the whole patch.
        for (x, y) in [(10, 10), (480, 480), (950, 950), (950, 10), (10, 950)] {
            assert!(
                regions.iter().any(
                    |r| (r.x..r.x + r.width).contains(&x) && (r.y..r.y + r.height).contains(&y)
                ),
                "({x}, {y}) not covered"
            );
        }
    }

    #[test]
    fn a_slim_patch_longer_than_a_window_is_also_searched_whole() {
        // Three cells wide and forty tall: a slim rectangular symbol longer than a window.
        let bits = grid(160, 2, |x, y| x < 12 && scatter(x, y));
        let regions = busy_regions(&bits, &Contrast::everywhere(&bits), 2, (640, 640), true);
        let tall = 40 * CELL * 2;
        assert!(
            regions.iter().any(|r| r.y == 0 && r.height >= tall),
            "{regions:?}"
        );
        // The windows are still there for clutter.
        assert!(regions.len() > 1, "{regions:?}");
    }

    #[test]
    fn spread_measures_the_middle_ninety_percent_of_grey_levels() {
        // 100 pixels: grey levels 0..100, one each.
        let ramp = GrayImage::from_fn(10, 10, |x, y| image::Luma([(y * 10 + x) as u8]));
        assert_eq!(spread(&ramp), 90);
        assert_eq!(spread(&GrayImage::from_pixel(8, 8, image::Luma([77]))), 0);
        assert_eq!(spread(&GrayImage::new(0, 0)), 0);
    }

    #[test]
    fn denoising_keeps_flat_areas_and_steps_and_divides_noise() {
        let step = GrayImage::from_fn(40, 40, |x, _| image::Luma([if x < 20 { 40 } else { 200 }]));
        let smooth = denoise(&step);
        // Flat on both sides, the step's middle still halfway, the image the same size.
        assert_eq!(smooth.dimensions(), (40, 40));
        assert_eq!(smooth.get_pixel(5, 5).0[0], 40);
        assert_eq!(smooth.get_pixel(35, 35).0[0], 200);
        let mid =
            (u16::from(smooth.get_pixel(19, 9).0[0]) + u16::from(smooth.get_pixel(20, 9).0[0])) / 2;
        assert!((110..=130).contains(&mid), "{mid}");
        // A checkerboard of +-30 (worst-case noise) around 128 flattens to nearly 128.
        let noise = GrayImage::from_fn(40, 40, |x, y| {
            image::Luma([if (x + y) % 2 == 0 { 158 } else { 98 }])
        });
        let calm = denoise(&noise);
        assert!(
            calm.pixels()
                .skip(100)
                .take(100)
                .all(|p| p.0[0].abs_diff(128) <= 4)
        );
        // Tiny images come back as they are.
        let tiny = GrayImage::from_pixel(3, 3, image::Luma([7]));
        assert_eq!(denoise(&tiny), tiny);
    }

    #[test]
    fn window_starts_step_and_end_flush() {
        assert_eq!(window_starts(0, 5), vec![0]);
        assert_eq!(
            window_starts(0, 39),
            vec![0, TILE_STRIDE, 2 * TILE_STRIDE, 40 - TILE_CELLS]
        );
        let starts = window_starts(7, 60);
        assert_eq!(starts.first(), Some(&7));
        assert_eq!(starts.last().map(|s| s + TILE_CELLS), Some(61));
        assert!(
            starts
                .windows(2)
                .all(|w| w[1] > w[0] && w[1] - w[0] <= TILE_STRIDE)
        );
    }

    #[test]
    fn mean_threshold_matches_the_window_mean_pixel_by_pixel() {
        // Wider than one 64-bit word and not a multiple of it, with edges on every side.
        let (w, h) = (150usize, 37usize);
        let luma: Vec<u8> = (0..w * h)
            .map(|i| {
                if scatter((i % w / 3) as u32, (i / w / 3) as u32) {
                    30
                } else {
                    220
                }
            })
            .collect();
        let bits = mean_threshold(&luma, w as u32, h as u32).expect("bits");
        let r = MEAN_RADIUS;
        for y in 0..h {
            for x in 0..w {
                let (ys, xs) = (
                    y.saturating_sub(r)..(y + r + 1).min(h),
                    x.saturating_sub(r)..(x + r + 1).min(w),
                );
                let count = (ys.len() * xs.len()) as u32;
                let luma = &luma;
                let total: u32 = ys
                    .flat_map(|yy| xs.clone().map(move |xx| u32::from(luma[yy * w + xx])))
                    .sum();
                let dark = u32::from(luma[y * w + x]) * count + MEAN_MIN_CONTRAST * count < total;
                assert_eq!(bits.get(x as u32, y as u32), dark, "({x}, {y})");
            }
        }
    }

    #[test]
    fn mean_threshold_marks_ink_and_leaves_flat_paper_white() {
        let (w, h) = (40u32, 30u32);
        let mut luma = vec![200u8; (w * h) as usize];
        for y in 10..20 {
            for x in 10..20 {
                luma[(y * w + x) as usize] = 40;
            }
        }
        let bits = mean_threshold(&luma, w, h).expect("bits");
        assert!(bits.get(12, 12) && bits.get(19, 19));
        assert!(!bits.get(2, 2) && !bits.get(25, 15) && !bits.get(39, 29));
        // Faint texture below the contrast floor stays white.
        let faint: Vec<u8> = (0..w * h).map(|i| 180 + (i % 3) as u8).collect();
        let bits = mean_threshold(&faint, w, h).expect("bits");
        assert!((0..h).all(|y| (0..w).all(|x| !bits.get(x, y))));
        assert!(mean_threshold(&luma[..10], w, h).is_none());
    }
}
