//! TraceDesk's own DataMatrix locator: blobs of ink that look like a symbol, their four edges,
//! their module grid, and a sampled bit matrix handed straight to rxing's bit-matrix decoder.
//!
//! rxing's edge tracer (a port of zxing-cpp's) gives up on shapes it cannot follow: a slim
//! rectangle next to print, modules far larger than it expects, a warped label. This locator
//! asks less of the picture:
//!
//! 1. a symbol's dark modules touch each other and its solid L, so they form one connected
//!    blob of ink (8-connected) in the binarized image; blobs too thin, too small or too solid
//!    (print blocks, text lines, speckle) are dropped. A blob that does not read is tried again
//!    with the specks of ink just around it: a dark timing module between two light ones
//!    touches nothing;
//! 2. the blob's minimum-area rectangle gives each side a direction; each side is then traced
//!    by scanning inwards from outside at every half pixel along it, and the straight line that
//!    the most scans meet first (the lower hull edge of the depth profile, refitted) is the
//!    side: that follows keystone distortion, and the missing modules of the timing sides
//!    (white every other one) fall away as outliers;
//! 3. the two solid sides of the L are the adjacent pair that the scans meet almost everywhere;
//!    the other two are the timing sides, and the module count whose samples along a timing
//!    side alternate best is taken (a damaged side borrows the other side's count; sides too
//!    blurred to count at all are counted by the L's thickness, one module);
//! 4. module centres are sampled through the homography of the four corners from the grey
//!    image (a small average each, so noise does not flip a module), split into ink and paper
//!    by two-means, checked against the finder and timing patterns, and decoded. Reed-Solomon
//!    has the last word, so a wrong guess of size or orientation is just a failed attempt;
//! 5. a grid of the right size whose modules Reed-Solomon rejects is fitted better: its
//!    corners move by half, a quarter and an eighth of a module while the finder and timing
//!    modules sit more firmly on their side of the threshold and every module further from it
//!    (a trace a pixel off breaks 2-3 px modules). A symbol of several data regions is then
//!    fitted region by region, each with its own L and timing, so a bowed or warped label bends
//!    no region far; and modules of unequal widths are sampled where the timing sides' own
//!    dark and light runs put them, instead of evenly.
//!
//! The same sampling reads the corners of a square rxing's tracer found but could not sample
//! ([`read_quad`]), whatever its orientation.
//!
//! Pure: pixels in, symbols out, memory bounded by the image size.

use image::GrayImage;
use rxing::common::BitMatrix;
use rxing::datamatrix::decoder::{Decoder, Version};

use super::symbol::{Symbol, to_symbol};

/// Four corners in pixels, clockwise on screen.
type Quad = [(f32, f32); 4];

/// A blob's minimum-area rectangle must be at least this many pixels on its short side.
const MIN_SIDE: f32 = 14.0;
/// Share of a symbol's rectangle that its ink covers: about half, never nearly all (a solid
/// print block) or almost none (a frame or a line drawing).
const FILL: std::ops::RangeInclusive<f32> = 0.22..=0.8;
/// Blobs examined per image at most (each alone, then with its specks): clutter cannot make a
/// frame arbitrarily slow.
const MAX_BLOBS: usize = 24;
/// Empty pixels around a blob's cut-out, so the side scans start outside it.
const MARGIN: usize = 3;
/// Pixels: the thickest L that [`l_thickness_count`] measures.
const THICKEST_L: f32 = 5.0;
/// Share of a side's scans that must meet its line for it to be part of the L.
const SOLID: f32 = 0.7;
/// Share of the sampled finder and timing modules that must match before a decode is tried.
const PATTERN_MATCH: f32 = 0.8;

/// Every symbol whose blob of ink in `bits` (a binarized copy of `grey` reduced by `scale`)
/// reads, skipping blobs centred in `known` symbols; corners in `grey`'s pixels.
pub(crate) fn read_blobs(
    grey: &GrayImage,
    bits: &BitMatrix,
    scale: f32,
    offset: (f32, f32),
    known: &[Symbol],
) -> Vec<Symbol> {
    let mask = Mask::from_bits(bits);
    let mut found: Vec<Symbol> = Vec::new();
    for blob in mask.blobs() {
        let Some(quad) = blob.rectangle() else {
            continue;
        };
        let (cx, cy) = quad_centre(&quad);
        let centre = (
            (cx - MARGIN as f32 + blob.origin.0 as f32) * scale + offset.0,
            (cy - MARGIN as f32 + blob.origin.1 as f32) * scale + offset.1,
        );
        if known.iter().chain(&found).any(|s| s.contains(centre)) {
            continue;
        }
        let symbol = blob.read(&quad, grey, scale, offset);
        tracing::trace!(
            ?centre,
            pixels = blob.pixels,
            read = symbol.is_some(),
            "blob"
        );
        found.extend(symbol);
    }
    found
}

/// A binarized image as plain booleans (ink is `true`).
struct Mask {
    width: usize,
    height: usize,
    ink: Vec<bool>,
}

/// One connected blob of ink, cut out of its image with a margin.
struct Blob {
    /// Where the blob's bounding box starts in the mask; the cut-out has a margin of
    /// [`MARGIN`] empty pixels around it.
    origin: (usize, usize),
    width: usize,
    height: usize,
    ink: Vec<bool>,
    /// Every pixel of ink in the cut-out, the blob's or not: dots of a timing side that
    /// touch neither the blob nor each other, and are too many to count as its specks.
    all_ink: Vec<bool>,
    /// Convex hull of the blob, cut-out coordinates (pixel corners).
    hull: Vec<(f32, f32)>,
    pixels: usize,
}

impl Mask {
    fn from_bits(bits: &BitMatrix) -> Self {
        let (width, height) = (bits.getWidth() as usize, bits.getHeight() as usize);
        let mut ink = Vec::with_capacity(width * height);
        for y in 0..height {
            ink.extend((0..width).map(|x| bits.get(x as u32, y as u32)));
        }
        Self { width, height, ink }
    }

    /// The blobs that could be symbols, biggest first. A blob takes in the small specks of ink
    /// just around it: a dark timing module whose neighbours are all light touches nothing.
    fn blobs(&self) -> Vec<Blob> {
        let (w, h) = (self.width, self.height);
        let mut label = vec![0u32; w * h];
        // Each label's bounding box (inclusive), indexed by label - 1.
        let mut boxes: Vec<[usize; 4]> = Vec::new();
        let mut stack = Vec::new();
        let mut blobs = Vec::new();
        for start in 0..w * h {
            if !self.ink[start] || label[start] != 0 {
                continue;
            }
            let Ok(id) = u32::try_from(boxes.len() + 1) else {
                break;
            };
            label[start] = id;
            stack.push(start);
            let (mut x0, mut y0, mut x1, mut y1) = (w, h, 0, 0);
            let mut pixels = 0usize;
            while let Some(i) = stack.pop() {
                let (x, y) = (i % w, i / w);
                pixels += 1;
                (x0, y0, x1, y1) = (x0.min(x), y0.min(y), x1.max(x), y1.max(y));
                for ny in y.saturating_sub(1)..=(y + 1).min(h - 1) {
                    for nx in x.saturating_sub(1)..=(x + 1).min(w - 1) {
                        let j = ny * w + nx;
                        if self.ink[j] && label[j] == 0 {
                            label[j] = id;
                            stack.push(j);
                        }
                    }
                }
            }
            boxes.push([x0, y0, x1, y1]);
            let (bw, bh) = (x1 + 1 - x0, y1 + 1 - y0);
            if (bw.min(bh) as f32) < MIN_SIDE || pixels as f32 > 0.9 * (bw * bh) as f32 {
                continue;
            }
            blobs.push((pixels, id));
        }
        blobs.sort_unstable_by_key(|b| std::cmp::Reverse(b.0));
        blobs
            .into_iter()
            .take(MAX_BLOBS * 2)
            // Each blob alone first, then with the specks around it.
            .flat_map(|(own, id)| [(own, id, false), (own, id, true)])
            .filter_map(|(own, id, with_specks)| {
                let [x0, y0, x1, y1] = boxes[id as usize - 1];
                let side = (x1 - x0).max(y1 - y0);
                let grow = 2 + side / 8;
                // Specks no bigger than a large module: timing modules, not print.
                let speck = 2 + side / 8;
                let (gx0, gy0) = (x0.saturating_sub(grow), y0.saturating_sub(grow));
                let (gx1, gy1) = ((x1 + grow).min(w - 1), (y1 + grow).min(h - 1));
                let belongs = |l: u32| {
                    l == id
                        || (with_specks && l != 0 && {
                            let [bx0, by0, bx1, by1] = boxes[l as usize - 1];
                            bx0 >= gx0
                                && by0 >= gy0
                                && bx1 <= gx1
                                && by1 <= gy1
                                && (bx1 - bx0).max(by1 - by0) <= speck
                        })
                };
                let (cw, ch) = (gx1 - gx0 + 1 + 2 * MARGIN, gy1 - gy0 + 1 + 2 * MARGIN);
                let mut ink = vec![false; cw * ch];
                let mut all_ink = vec![false; cw * ch];
                let mut corners = Vec::new();
                let mut pixels = 0usize;
                for y in gy0..=gy1 {
                    let row = &label[y * w + gx0..=y * w + gx1];
                    let at = (y - gy0 + MARGIN) * cw + MARGIN;
                    for (&l, px) in row.iter().zip(&mut all_ink[at..at + row.len()]) {
                        *px = l != 0;
                    }
                    let line = &mut ink[at..][..row.len()];
                    let (mut first, mut last) = (None, None);
                    for (x, (&l, px)) in row.iter().zip(line.iter_mut()).enumerate() {
                        if belongs(l) {
                            *px = true;
                            pixels += 1;
                            first = first.or(Some(x));
                            last = Some(x);
                        }
                    }
                    let (Some(first), Some(last)) = (first, last) else {
                        continue;
                    };
                    let cy = (y - gy0 + MARGIN) as f32;
                    for x in [first as f32, last as f32 + 1.0] {
                        let cx = x + MARGIN as f32;
                        corners.push((cx, cy));
                        corners.push((cx, cy + 1.0));
                    }
                }
                if with_specks && pixels == own {
                    return None;
                }
                let hull = convex_hull(corners);
                let area = polygon_area(&hull);
                let fill = pixels as f32 / area.max(1.0);
                FILL.contains(&fill).then_some(Blob {
                    origin: (gx0, gy0),
                    width: cw,
                    height: ch,
                    ink,
                    all_ink,
                    hull,
                    pixels,
                })
            })
            .take(2 * MAX_BLOBS)
            .collect()
    }
}

/// Andrew's monotone chain; clockwise on screen (y down), no repeated points.
fn convex_hull(mut points: Vec<(f32, f32)>) -> Vec<(f32, f32)> {
    points.sort_unstable_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
    points.dedup();
    if points.len() < 3 {
        return points;
    }
    let cross = |o: (f32, f32), a: (f32, f32), b: (f32, f32)| {
        (a.0 - o.0) * (b.1 - o.1) - (a.1 - o.1) * (b.0 - o.0)
    };
    let mut hull: Vec<(f32, f32)> = Vec::with_capacity(points.len() * 2);
    for pass in [false, true] {
        let floor = hull.len();
        let ordered: Box<dyn Iterator<Item = &(f32, f32)>> = if pass {
            Box::new(points.iter().rev())
        } else {
            Box::new(points.iter())
        };
        for &p in ordered {
            while hull.len() >= floor + 2
                && cross(hull[hull.len() - 2], hull[hull.len() - 1], p) <= 0.0
            {
                hull.pop();
            }
            hull.push(p);
        }
        hull.pop();
    }
    hull
}

/// Absolute area of a polygon (shoelace).
fn polygon_area(points: &[(f32, f32)]) -> f32 {
    signed_area(points).abs()
}

/// Positive when the polygon runs clockwise on screen (y down).
fn signed_area(points: &[(f32, f32)]) -> f32 {
    let n = points.len();
    (0..n)
        .map(|i| {
            let (a, b) = (points[i], points[(i + 1) % n]);
            a.0 * b.1 - b.0 * a.1
        })
        .sum::<f32>()
        / 2.0
}

fn distance(a: (f32, f32), b: (f32, f32)) -> f32 {
    (b.0 - a.0).hypot(b.1 - a.1)
}

fn quad_centre(q: &[(f32, f32); 4]) -> (f32, f32) {
    (
        q.iter().map(|p| p.0).sum::<f32>() / 4.0,
        q.iter().map(|p| p.1).sum::<f32>() / 4.0,
    )
}

/// One traced side: its line (a point and a unit direction), the share of scans that met it,
/// and the modules its alternation suggests (meaningful on a timing side only).
#[derive(Debug, Clone, Copy)]
struct Side {
    point: (f32, f32),
    direction: (f32, f32),
    solid: f32,
    modules: f32,
}

impl Blob {
    /// The blob's minimum-area rectangle, clockwise on screen, in cut-out coordinates.
    fn rectangle(&self) -> Option<[(f32, f32); 4]> {
        let hull = &self.hull;
        if hull.len() < 3 {
            return None;
        }
        let mut best: Option<(f32, [(f32, f32); 4])> = None;
        for i in 0..hull.len() {
            let (a, b) = (hull[i], hull[(i + 1) % hull.len()]);
            let len = distance(a, b);
            if len < 1e-3 {
                continue;
            }
            let u = ((b.0 - a.0) / len, (b.1 - a.1) / len);
            let v = (-u.1, u.0);
            let (mut u0, mut u1, mut v0, mut v1) = (f32::MAX, f32::MIN, f32::MAX, f32::MIN);
            for p in hull {
                let (pu, pv) = (p.0 * u.0 + p.1 * u.1, p.0 * v.0 + p.1 * v.1);
                (u0, u1, v0, v1) = (u0.min(pu), u1.max(pu), v0.min(pv), v1.max(pv));
            }
            let area = (u1 - u0) * (v1 - v0);
            if best.as_ref().is_none_or(|(a, _)| area < *a) {
                let at = |pu: f32, pv: f32| (pu * u.0 + pv * v.0, pu * u.1 + pv * v.1);
                best = Some((area, [at(u0, v0), at(u1, v0), at(u1, v1), at(u0, v1)]));
            }
        }
        let (area, mut quad) = best?;
        let short = { distance(quad[0], quad[1]).min(distance(quad[1], quad[2])) };
        let fill = self.pixels as f32 / area.max(1.0);
        if short < MIN_SIDE || !FILL.contains(&fill) {
            return None;
        }
        if signed_area(&quad) < 0.0 {
            quad.reverse();
        }
        Some(quad)
    }

    fn ink_at(&self, ink: &[bool], x: f32, y: f32) -> bool {
        if x < 0.0 || y < 0.0 {
            return false;
        }
        let (x, y) = (x as usize, y as usize);
        x < self.width && y < self.height && ink.get(y * self.width + x) == Some(&true)
    }

    /// Traces the side of the rectangle from `a` to `b` (clockwise, so inwards is to the right
    /// on screen) in the cut-out `ink`.
    fn trace_side(&self, ink: &[bool], a: (f32, f32), b: (f32, f32), reach: f32) -> Option<Side> {
        let len = distance(a, b);
        if len < 4.0 {
            return None;
        }
        let t = ((b.0 - a.0) / len, (b.1 - a.1) / len);
        // Clockwise on screen with y down: the inside is to the right of the direction.
        let n = (-t.1, t.0);
        const STEP: f32 = 0.5;
        const OUTSIDE: f32 = 2.0;
        let mut profile: Vec<(f32, f32)> = Vec::new();
        let mut s = 0.03 * len;
        while s <= 0.97 * len {
            let base = (a.0 + s * t.0 - OUTSIDE * n.0, a.1 + s * t.1 - OUTSIDE * n.1);
            let mut d = 0.0;
            while d <= reach + OUTSIDE {
                if self.ink_at(ink, base.0 + d * n.0, base.1 + d * n.1) {
                    profile.push((s, d - OUTSIDE));
                    break;
                }
                d += STEP;
            }
            s += STEP;
        }
        if profile.len() < 8 {
            return None;
        }
        let tol = (0.012 * len).max(1.0);
        let (mut alpha, mut beta, mut inliers) = supporting_line(&profile, tol)?;
        let share = |inliers: &[bool]| inliers.iter().filter(|&&i| i).count();
        if (share(&inliers) as f32) < SOLID * profile.len() as f32 {
            // A timing side of separate dots (round modules that do not touch): between the
            // dots the scans reach into the data, and the dots' tips alone may not decide the
            // line. The shallowest depth within a 24th of the side either way of each scan
            // (over a dot for up to 48 modules a side) follows the tips; its line is taken
            // if more scans meet it.
            let reach = (profile.len() / 24).max(2);
            let floor: Vec<(f32, f32)> = profile
                .iter()
                .enumerate()
                .map(|(i, r)| {
                    let window = profile
                        .get(i.saturating_sub(reach)..(i + reach + 1).min(profile.len()))
                        .unwrap_or_default();
                    (r.0, window.iter().map(|w| w.1).fold(f32::MAX, f32::min))
                })
                .collect();
            if let Some((a, b, _)) = supporting_line(&floor, tol) {
                let again: Vec<bool> = profile
                    .iter()
                    .map(|r| (r.1 - (a + b * r.0)).abs() <= tol)
                    .collect();
                if share(&again) > share(&inliers) {
                    (alpha, beta, inliers) = (a, b, again);
                }
            }
        }
        let solid = share(&inliers) as f32 / profile.len() as f32;
        // Alternations along the side: each run of scans meeting the line is a dark timing
        // module, each run missing it a light one. Runs of a single scan are noise.
        let mut runs: Vec<(bool, usize)> = Vec::new();
        for &i in &inliers {
            match runs.last_mut() {
                Some((v, n)) if *v == i => *n += 1,
                _ => runs.push((i, 1)),
            }
        }
        let mut alternations: Vec<bool> = Vec::new();
        for (v, n) in runs {
            if n >= 2 && alternations.last() != Some(&v) {
                alternations.push(v);
            }
        }
        let scanned = profile.last().map_or(0.0, |r| r.0) - profile[0].0;
        // The scans miss the ends of the side, where two runs are cut short.
        let modules = if scanned > 0.0 {
            (alternations.len() as f32 - 0.5) * len / scanned
        } else {
            0.0
        };
        let at = |s: f32| {
            let d = alpha + beta * s;
            (a.0 + s * t.0 + d * n.0, a.1 + s * t.1 + d * n.1)
        };
        let (p0, p1) = (at(0.0), at(len));
        let dl = (p1.0 - p0.0).hypot(p1.1 - p0.1);
        Some(Side {
            point: p0,
            direction: ((p1.0 - p0.0) / dl, (p1.1 - p0.1) / dl),
            solid,
            modules,
        })
    }

    /// The four sides traced from the quadrilateral `quad` (clockwise), and the corners where
    /// they meet: corner k is where side k-1 ends and side k starts.
    fn trace_sides(&self, quad: &Quad) -> Option<(Vec<Side>, Quad)> {
        let reach = distance(quad[0], quad[1]).min(distance(quad[1], quad[2])) / 2.0;
        let mut sides = Vec::with_capacity(4);
        for i in 0..4 {
            sides.push(self.trace_side(&self.ink, quad[i], quad[(i + 1) % 4], reach)?);
        }
        let mut corners = [(0.0f32, 0.0f32); 4];
        for (k, corner) in corners.iter_mut().enumerate() {
            *corner = intersect(&sides[(k + 3) % 4], &sides[k])?;
        }
        // A wild intersection (nearly parallel neighbours) is no quadrilateral.
        let spread = distance(quad[0], quad[2]).max(distance(quad[1], quad[3]));
        let centre = quad_centre(quad);
        corners
            .iter()
            .all(|&c| distance(c, centre) <= spread)
            .then_some((sides, corners))
    }

    /// The L at corner `k` is solid but its timing sides are not: they may be rows of dots
    /// that are neither the blob's nor few enough to be its specks, so their trace fell into
    /// the data. Traced again in all the ink, between the L's ends and the corner that
    /// completes its parallelogram, they meet where the symbol's fourth corner is. Their
    /// module counts and the corners, if both are met by more scans than before.
    fn dotted_timing(
        &self,
        sides: &[Side],
        corners: &Quad,
        k: usize,
    ) -> Option<((f32, f32), Quad)> {
        let (top, right) = (sides.get((k + 1) % 4)?, sides.get((k + 2) % 4)?);
        if top.solid.min(right.solid) >= SOLID {
            return None;
        }
        let (l, a, b) = (corners[k], corners[(k + 1) % 4], corners[(k + 3) % 4]);
        let far = (a.0 + b.0 - l.0, a.1 + b.1 - l.1);
        let reach = distance(l, a).min(distance(l, b)) / 2.0;
        let top2 = self.trace_side(&self.all_ink, a, far, reach)?;
        let right2 = self.trace_side(&self.all_ink, far, b, reach)?;
        if top2.solid <= top.solid || right2.solid <= right.solid {
            return None;
        }
        let mut refined = *corners;
        refined[(k + 1) % 4] = intersect(&sides[k], &top2)?;
        refined[(k + 2) % 4] = intersect(&top2, &right2)?;
        refined[(k + 3) % 4] = intersect(&right2, &sides[(k + 3) % 4])?;
        // Corners that hardly moved were read already.
        let moved = refined
            .iter()
            .zip(corners)
            .any(|(&r, &c)| distance(r, c) > 2.0);
        let spread = distance(l, far);
        (moved && refined.iter().all(|&c| distance(c, l) <= 1.5 * spread))
            .then_some(((top2.modules, right2.modules), refined))
    }

    /// Reads the blob as a symbol; `quad` is its rectangle, clockwise.
    fn read(
        &self,
        quad: &[(f32, f32); 4],
        grey: &GrayImage,
        scale: f32,
        offset: (f32, f32),
    ) -> Option<Symbol> {
        let (mut sides, mut corners) = self.trace_sides(quad)?;
        // The rectangle is only a first guess at a keystoned symbol: its sides' scans near
        // the corners can fall beside the symbol. Traced again between the corners found,
        // every scan crosses the side it is meant for.
        if let Some((again, refined)) = self.trace_sides(&corners) {
            let solid = |s: &[Side]| s.iter().map(|s| s.solid).sum::<f32>();
            if solid(&again) >= solid(&sides) {
                (sides, corners) = (again, refined);
            }
        }
        // In cut-out pixels to grey-image pixels.
        let to_grey = |(x, y): (f32, f32)| {
            (
                (x - MARGIN as f32 + self.origin.0 as f32) * scale + offset.0,
                (y - MARGIN as f32 + self.origin.1 as f32) * scale + offset.1,
            )
        };
        let cut = corners;
        let corners = corners.map(to_grey);
        tracing::trace!(
            solid = ?sides.iter().map(|s| s.solid).collect::<Vec<_>>(),
            modules = ?sides.iter().map(|s| s.modules).collect::<Vec<_>>(),
            ?corners,
            "blob sides"
        );
        // The L's corner k joins sides k-1 and k; likeliest first.
        let mut order: Vec<usize> = (0..4).collect();
        order.sort_by(|&a, &b| {
            let score = |k: usize| sides[(k + 3) % 4].solid + sides[k].solid;
            score(b).total_cmp(&score(a))
        });
        let mut likeliest: Option<(usize, Vec<(u32, u32)>)> = None;
        let symbol = order
            .into_iter()
            .filter(|&k| sides[(k + 3) % 4].solid.min(sides[k].solid) >= SOLID)
            .find_map(|k| {
                let hints = (sides[(k + 1) % 4].modules, sides[(k + 2) % 4].modules);
                let mut tried = Vec::new();
                let symbol = read_with_l(grey, &corners, k, hints, &mut tried).or_else(|| {
                    let (timing, refined) = self.dotted_timing(&sides, &cut, k)?;
                    tracing::trace!(corners = ?refined.map(to_grey), "dotted timing sides");
                    read_with_l(grey, &refined.map(to_grey), k, timing, &mut Vec::new())
                });
                likeliest.get_or_insert((k, tried));
                symbol
            });
        // The likeliest L alone is measured: the thickness reads blurred symbols, but every
        // blob of clutter has some L-like corner, and measuring all of them costs.
        symbol.or_else(|| {
            let (k, tried) = likeliest?;
            read_by_thickness(grey, &corners, k, &tried)
        })
    }
}

/// Reads the symbol whose corners (clockwise on screen) are `corners`, taking each corner in
/// turn as the corner of the L: for a quadrilateral found by other means (a trace rxing
/// could not sample), whose orientation is unknown.
pub(crate) fn read_quad(grey: &GrayImage, corners: [(f32, f32); 4]) -> Option<Symbol> {
    let mut corners = corners;
    if signed_area(&corners) < 0.0 {
        corners.reverse();
    }
    (0..4).find_map(|k| read_with_l(grey, &corners, k, (0.0, 0.0), &mut Vec::new()))
}

/// The corners `corners` (clockwise on screen) reordered for the L at `corners[k]`: top-left,
/// top-right, bottom-right, bottom-left (the L's corner).
fn l_quad(corners: &Quad, k: usize) -> Quad {
    [1, 2, 3, 0].map(|i| corners[(k + i) % 4])
}

/// Reads the symbol with corners `corners` (clockwise on screen) whose L has its corner at
/// `corners[k]`: each timing side is counted from the grey image (`hints`, the blob's own
/// counts of the top and right sides, break ties), the module grid is sampled at each size
/// that exists among the counts, and a sample that matches the finder and timing patterns is
/// decoded. The sizes tried are added to `tried`.
fn read_with_l(
    grey: &GrayImage,
    corners: &Quad,
    k: usize,
    hints: (f32, f32),
    tried: &mut Vec<(u32, u32)>,
) -> Option<Symbol> {
    let quad = l_quad(corners, k);
    let mut cols = timing_counts(grey, quad, Timing::Top, hints.0);
    let mut rows = timing_counts(grey, quad, Timing::Right, hints.1);
    tracing::trace!(?quad, ?cols, ?rows, "timing counted");
    // A damaged timing side may count nothing: most symbols are square, so the other side's
    // count is the next guess.
    let (only_cols, only_rows) = (cols.clone(), rows.clone());
    cols.extend(only_rows);
    rows.extend(only_cols);
    let decoder = Decoder::new();
    let sizes = sizes_among(&cols, &rows);
    tried.extend(&sizes);
    sizes
        .into_iter()
        .find_map(|(c, r)| read_grid(&decoder, grey, quad, c, r, true))
}

/// Reads the symbol with corners `corners` whose L is at `corners[k]` by the L's thickness,
/// for timing sides too blurred or noisy to count (modules of two or three pixels, whose
/// samples drift off the modules within a few of them): the L is one module thick, so a
/// side's length over it is the count. Blur thins or thickens the L by up to a third at that
/// size, so every even count in that bracket whose grid exists and was not `tried` is a
/// candidate; the two whose grids match the patterns best are read.
fn read_by_thickness(
    grey: &GrayImage,
    corners: &Quad,
    k: usize,
    tried: &[(u32, u32)],
) -> Option<Symbol> {
    let quad = l_quad(corners, k);
    let bracket = |estimate: Option<f32>| -> Vec<u32> {
        estimate.map_or_else(Vec::new, |e| {
            let (lo, hi) = (
                (0.75 * e / 2.0).floor() as u32,
                (1.3 * e / 2.0).ceil() as u32,
            );
            let mut counts: Vec<u32> = (lo.max(4)..=hi.min(72)).map(|half| half * 2).collect();
            counts.sort_by(|a, b| (*a as f32 - e).abs().total_cmp(&(*b as f32 - e).abs()));
            counts
        })
    };
    let (across, up) = (
        l_thickness_count(grey, quad, Timing::Top),
        l_thickness_count(grey, quad, Timing::Right),
    );
    tracing::trace!(?across, ?up, "counted by the L's thickness");
    let decoder = Decoder::new();
    // Most blobs measured here are clutter, solid ink among them (which matches the L and
    // half the timing modules): the timing sides must alternate more often than not at
    // the size, and a grid sampled at the module centres alone (a fifth of the work) must
    // roughly match the patterns, before the grid is read.
    let (top, right) = (Timing::Top.geometry(quad)?, Timing::Right.geometry(quad)?);
    let roughly = |cols: u32, rows: u32| {
        let alternate = alternation(grey, Timing::Top, &top, cols)
            + alternation(grey, Timing::Right, &right, rows);
        if alternate < 2.0 * 0.6 {
            return None;
        }
        sample_values(grey, quad, cols, rows, &[(0.0, 0.0)])
            .and_then(|values| to_bits(&values, cols, rows))
            .map(|bits| pattern_match(&bits))
            .filter(|&matched| matched >= PATTERN_MATCH - 0.1)
    };
    let mut sizes: Vec<(f32, (u32, u32))> = sizes_among(&bracket(across), &bracket(up))
        .into_iter()
        .filter(|size| !tried.contains(size))
        .filter_map(|(c, r)| Some((roughly(c, r)?, (c, r))))
        .collect();
    // A real but damaged symbol matches at several sizes, and reading one (refining its
    // corners) costs a hundred samplings: the two best matches only.
    sizes.sort_by(|a, b| b.0.total_cmp(&a.0));
    sizes
        .into_iter()
        .take(2)
        .find_map(|(_, (c, r))| read_grid(&decoder, grey, quad, c, r, false))
}

/// Reads a grid of `cols` x `rows` modules at `quad` (top-left, top-right, bottom-right,
/// bottom-left): evenly sampled if it matches the finder and timing patterns, fitted better
/// if Reed-Solomon rejects that, region by region, and at last (if `uneven`) sampled where
/// the timing sides' own runs put the modules.
fn read_grid(
    decoder: &Decoder,
    grey: &GrayImage,
    quad: Quad,
    cols: u32,
    rows: u32,
    uneven: bool,
) -> Option<Symbol> {
    let decode = |bits: &BitMatrix| {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| decoder.decode(bits)))
            .ok()
            .and_then(Result::ok)
    };
    let bits = sample(grey, quad, cols, rows)?;
    let matched = pattern_match(&bits);
    tracing::trace!(cols, rows, matched, "grid sampled");
    if matched >= PATTERN_MATCH {
        if let Some(result) = decode(&bits) {
            return to_symbol(&result, quad);
        }
        // The right size and orientation, but modules wrong: the corners may be a
        // little off. Moved to where the grid fits best, the modules are sampled again.
        if let Some(refined) = refine(grey, quad, cols, rows) {
            let result = sample(grey, refined, cols, rows).and_then(|bits| decode(&bits));
            tracing::trace!(cols, rows, read = result.is_some(), "grid refined");
            if let Some(result) = result {
                return to_symbol(&result, refined);
            }
            // A larger symbol on a curved or warped pack: each data region, with its own
            // finder and timing modules, fitted and sampled on its own.
            let result = sample_regions(grey, refined, cols, rows).and_then(|bits| decode(&bits));
            tracing::trace!(cols, rows, read = result.is_some(), "regions refined");
            if let Some(result) = result {
                return to_symbol(&result, refined);
            }
            // A badly blurred symbol: each module's value is part its neighbours', so a lone
            // module hardly crosses the threshold. Taken apart again, module by module.
            let result = sample_values(grey, refined, cols, rows, &SPOTS)
                .and_then(|values| to_bits(&sharpen(&values, cols as usize), cols, rows))
                .and_then(|bits| decode(&bits));
            tracing::trace!(cols, rows, read = result.is_some(), "grid sharpened");
            if let Some(result) = result {
                return to_symbol(&result, refined);
            }
        }
    }
    if !uneven {
        return None;
    }
    // Modules of unequal widths (an uneven print, a warped label), which an even grid
    // samples off their centres: sampled where the timing sides' own runs put them.
    let uneven = timing_runs(grey, quad, Timing::Top, cols)
        .zip(timing_runs(grey, quad, Timing::Right, rows))
        .and_then(|(across, up)| sample_at(grey, quad, &across, &up))
        .filter(|bits| pattern_match(bits) >= PATTERN_MATCH)
        .and_then(|bits| decode(&bits));
    tracing::trace!(cols, rows, read = uneven.is_some(), "timing runs");
    uneven.and_then(|result| to_symbol(&result, quad))
}

/// The module count along the timing side `side` of the symbol `corners` (top-left,
/// top-right, bottom-right, bottom-left) that the L suggests: the L's side across `side`
/// (the left side for the top, the bottom for the right side) is one module thick. It is
/// scanned inwards a quarter pixel at a time at points along it; a scan whose dark run ends
/// on a light data module measures one module, one ending on dark data more, so a low
/// quantile of the runs is the module. `None` if too few scans cross a dark run, or if the L
/// is thicker than [`THICKEST_L`]: timing sides of modules that big are counted by their own
/// alternation, and a symbol that size which still does not read is damaged, not blurred.
fn l_thickness_count(grey: &GrayImage, corners: Quad, side: Timing) -> Option<f32> {
    const SCANS: usize = 16;
    let (h, len, _) = side.geometry(corners)?;
    // Quarter pixels, over the outer quarter of the symbol (two modules at least) and at
    // most 16 pixels (a run of two of the thickest modules measured, with room to spare).
    let step = 0.25 / len;
    let steps = (len as usize).min(64);
    let mut values = Vec::with_capacity(SCANS * steps);
    for j in 0..SCANS {
        // The middle of the side: its ends meet the other sides.
        let along = 0.15 + 0.7 * (j as f32 + 0.5) / SCANS as f32;
        for i in 0..steps {
            let (u, v) = side.l_point(along, i as f32 * step);
            values.push(h.map(u, v).and_then(|(x, y)| bilinear(grey, x, y))?);
        }
    }
    let threshold = two_means(&values);
    // The scan may start a pixel outside a slightly generous trace.
    let lead = 6.min(steps);
    let mut runs: Vec<usize> = values
        .chunks(steps)
        .filter_map(|scan| {
            let first = scan.get(..lead)?.iter().position(|&v| v < threshold)?;
            let length = scan.get(first..)?.iter().position(|&v| v >= threshold)?;
            Some(length)
        })
        .collect();
    if runs.len() < SCANS / 3 {
        return None;
    }
    runs.sort_unstable();
    // In quarter pixels.
    let module = *runs.get(runs.len() / 4)? as f32;
    (module > 0.0 && module <= 4.0 * THICKEST_L).then(|| 1.0 / (module * step))
}

/// The line (depth = alpha + beta * s) that a side's scan profile (`(s, depth)` pairs in scan
/// order) lies on, and which scans meet it: of the edges of the profile's lower convex hull
/// (lines below every depth), the one that most scans meet within `tol`, fitted to those.
fn supporting_line(profile: &[(f32, f32)], tol: f32) -> Option<(f32, f32, Vec<bool>)> {
    let meets = |p: (f32, f32), q: (f32, f32), r: &(f32, f32)| {
        let slope = (q.1 - p.1) / (q.0 - p.0).max(1e-3);
        (r.1 - (p.1 + slope * (r.0 - p.0))).abs() <= tol
    };
    let (p, q) = lower_hull(profile)
        .windows(2)
        .map(|w| (w[0], w[1]))
        .max_by_key(|&(p, q)| profile.iter().filter(|r| meets(p, q, r)).count())?;
    let inliers: Vec<bool> = profile.iter().map(|r| meets(p, q, r)).collect();
    let (alpha, beta) = fit_line(
        profile
            .iter()
            .zip(&inliers)
            .filter(|(_, i)| **i)
            .map(|(r, _)| *r),
    )?;
    Some((alpha, beta, inliers))
}

/// The lower convex hull of points sorted by their first coordinate.
fn lower_hull(points: &[(f32, f32)]) -> Vec<(f32, f32)> {
    let mut hull: Vec<(f32, f32)> = Vec::new();
    for &p in points {
        while hull.len() >= 2 {
            let (o, a) = (hull[hull.len() - 2], hull[hull.len() - 1]);
            if (a.0 - o.0) * (p.1 - o.1) - (a.1 - o.1) * (p.0 - o.0) <= 0.0 {
                hull.pop();
            } else {
                break;
            }
        }
        hull.push(p);
    }
    hull
}

/// Least squares `y = alpha + beta x`.
fn fit_line(points: impl Iterator<Item = (f32, f32)>) -> Option<(f32, f32)> {
    let (mut n, mut sx, mut sy, mut sxx, mut sxy) = (0.0f32, 0.0, 0.0, 0.0, 0.0);
    for (x, y) in points {
        n += 1.0;
        sx += x;
        sy += y;
        sxx += x * x;
        sxy += x * y;
    }
    let den = n * sxx - sx * sx;
    if n < 2.0 || den.abs() < 1e-6 {
        return None;
    }
    let beta = (n * sxy - sx * sy) / den;
    Some(((sy - beta * sx) / n, beta))
}

fn intersect(a: &Side, b: &Side) -> Option<(f32, f32)> {
    let den = a.direction.0 * b.direction.1 - a.direction.1 * b.direction.0;
    if den.abs() < 0.2 {
        return None;
    }
    let (dx, dy) = (b.point.0 - a.point.0, b.point.1 - a.point.1);
    let t = (dx * b.direction.1 - dy * b.direction.0) / den;
    Some((a.point.0 + t * a.direction.0, a.point.1 + t * a.direction.1))
}

/// Module counts of a timing side of the symbol `corners` (top-left, top-right, bottom-right,
/// bottom-left), from its end next to the L (a dark module) to the light corner module, best
/// first: for each even count the module centres half a module in from the edge are sampled
/// through the symbol's perspective, and the counts whose samples alternate best are kept. A wrong
/// count samples some modules twice or skips every other one, and the alternation breaks.
fn timing_counts(grey: &GrayImage, corners: Quad, side: Timing, hint: f32) -> Vec<u32> {
    let Some(geometry) = side.geometry(corners) else {
        return Vec::new();
    };
    let len = geometry.1;
    // At least about one and a half pixels a module.
    let most = ((len / 1.5) as u32).min(144);
    let mut scored: Vec<(f32, u32)> = (8..=most)
        .step_by(2)
        .map(|count| (alternation(grey, side, &geometry, count), count))
        .filter(|&(score, _)| score >= 0.8)
        .collect();
    // No even spacing fits (a label printed or photographed unevenly, modules of unequal
    // widths): the counts whose dark and light runs, counted along the side, number as many
    // as the count itself.
    if scored.is_empty() {
        for count in (8..=most).step_by(2) {
            if timing_runs(grey, corners, side, count).is_some() {
                scored.push((0.8, count));
            }
        }
    }
    // Best alternation first; between equals, the count nearest the blob's own estimate.
    scored.sort_by(|a, b| {
        b.0.total_cmp(&a.0).then(
            (a.1 as f32 - hint)
                .abs()
                .total_cmp(&(b.1 as f32 - hint).abs()),
        )
    });
    let mut counts: Vec<u32> = scored.into_iter().take(4).map(|(_, count)| count).collect();
    // The runs themselves, counted half a module in from the side (by the likeliest count, or
    // the blob's estimate): an uneven grid can alternate by chance at some wrong even count,
    // and its own count never scores.
    let guess = counts.first().map_or(hint.round().max(8.0) as u32, |&c| c);
    if let Some(runs) = timing_runs_at(grey, corners, side, guess) {
        let count = runs.len() as u32;
        if count >= 8
            && count.is_multiple_of(2)
            && !counts.contains(&count)
            && timing_runs(grey, corners, side, count).is_some()
        {
            counts.push(count);
        }
    }
    counts
}

/// Share of `count` module centres along the timing side `side` (its [`Timing::geometry`])
/// that fall dark and light in turn from the L, sampled half a module in through the
/// symbol's perspective (under keystone the modules along a side shrink towards the far end).
fn alternation(
    grey: &GrayImage,
    side: Timing,
    (h, len, across): &(Homography, f32, f32),
    count: u32,
) -> f32 {
    let depth = 0.5 * (len / count as f32) / across;
    let values: Vec<f32> = (0..count)
        .map(|i| {
            let (u, v) = side.point((i as f32 + 0.5) / count as f32, depth);
            h.map(u, v)
                .and_then(|(x, y)| bilinear(grey, x, y))
                .unwrap_or(255.0)
        })
        .collect();
    let threshold = two_means(&values);
    let right = values
        .iter()
        .enumerate()
        .filter(|&(i, &v)| (v < threshold) == (i % 2 == 0))
        .count();
    right as f32 / count.max(1) as f32
}

/// The centres (0 to 1 along the side, from its end next to the L) of the `count` modules of a
/// timing side, from the dark and light runs met half a module in, every half pixel; `None`
/// unless the runs alternate from dark and number exactly `count`. Unlike an even spacing this
/// follows modules of unequal widths.
fn timing_runs(grey: &GrayImage, corners: Quad, side: Timing, count: u32) -> Option<Vec<f32>> {
    timing_runs_at(grey, corners, side, count).filter(|runs| runs.len() == count as usize)
}

/// The centres of the dark and light runs of a timing side, met half a module in for a side
/// of `count` modules; `None` unless they alternate from dark.
fn timing_runs_at(grey: &GrayImage, corners: Quad, side: Timing, count: u32) -> Option<Vec<f32>> {
    let (h, len, across) = side.geometry(corners)?;
    if count < 2 {
        return None;
    }
    let depth = 0.5 * (len / count as f32) / across;
    let steps = ((2.0 * len) as usize).clamp(16, 4096);
    let mut values = Vec::with_capacity(steps);
    for i in 0..steps {
        let f = (i as f32 + 0.5) / steps as f32;
        let (u, v) = side.point(f, depth);
        values.push(h.map(u, v).and_then(|(x, y)| bilinear(grey, x, y))?);
    }
    let threshold = two_means(&values);
    // Runs as (dark, first step, last step); a run of one step is noise and joins its
    // neighbour.
    let mut runs: Vec<(bool, usize, usize)> = Vec::new();
    for (i, &v) in values.iter().enumerate() {
        let dark = v < threshold;
        match runs.last_mut() {
            Some(run) if run.0 == dark => run.2 = i,
            _ => runs.push((dark, i, i)),
        }
    }
    let mut merged: Vec<(bool, usize, usize)> = Vec::new();
    for run in runs {
        match merged.last_mut() {
            Some(last) if run.2 == run.1 || last.0 == run.0 => last.2 = run.2,
            _ => merged.push(run),
        }
    }
    let alternates = merged.iter().enumerate().all(|(i, r)| r.0 == (i % 2 == 0));
    alternates.then(|| {
        merged
            .iter()
            .map(|&(_, a, b)| (a + b + 1) as f32 / 2.0 / steps as f32)
            .collect()
    })
}

/// Samples the module grid at the centres the timing sides give (`cols` across from
/// the top, `rows` up from the bottom, see [`timing_runs`]) instead of evenly.
fn sample_at(grey: &GrayImage, corners: Quad, cols: &[f32], rows: &[f32]) -> Option<BitMatrix> {
    let h = Homography::square_to_quad(corners)?;
    let (w, n) = (cols.len(), rows.len());
    let mut values = Vec::with_capacity(w * n);
    // Rows from the top: the right side's centres run upwards.
    for &v in rows.iter().rev() {
        for &u in cols {
            let (x, y) = h.map(u, 1.0 - v)?;
            values.push(bilinear(grey, x, y)?);
        }
    }
    to_bits(&values, u32::try_from(w).ok()?, u32::try_from(n).ok()?)
}

/// The timing side a count is taken along: the top from the top-left corner, or the right
/// side up from the bottom-right corner (both start on a dark module of the L).
#[derive(Debug, Clone, Copy)]
enum Timing {
    Top,
    Right,
}

impl Timing {
    /// The symbol's homography, the side's length and the mean length across to the
    /// opposite side, in pixels; `None` for a side too short to count along.
    fn geometry(self, corners: Quad) -> Option<(Homography, f32, f32)> {
        let [tl, tr, br, bl] = corners;
        let (len, across) = match self {
            Timing::Top => (
                distance(tl, tr),
                (distance(tl, bl) + distance(tr, br)) / 2.0,
            ),
            Timing::Right => (
                distance(br, tr),
                (distance(tl, tr) + distance(bl, br)) / 2.0,
            ),
        };
        if len < 8.0 || across < 1.0 {
            return None;
        }
        Some((Homography::square_to_quad(corners)?, len, across))
    }

    /// The unit-square point `along` (0 to 1) the side from its end next to the L, `depth`
    /// in from its edge.
    fn point(self, along: f32, depth: f32) -> (f32, f32) {
        match self {
            Timing::Top => (along, depth),
            Timing::Right => (1.0 - depth, 1.0 - along),
        }
    }

    /// The unit-square point `along` (0 to 1, from the top or from the left) the L's side
    /// across this timing side, `depth` in from its edge: the left side for the top, the
    /// bottom for the right side.
    fn l_point(self, along: f32, depth: f32) -> (f32, f32) {
        match self {
            Timing::Top => (depth, along),
            Timing::Right => (along, 1.0 - depth),
        }
    }
}

/// Symbol sizes (columns, rows) that exist among the counted ones, in order of preference.
fn sizes_among(cols: &[u32], rows: &[u32]) -> Vec<(u32, u32)> {
    let mut sizes = Vec::new();
    for (ci, &c) in cols.iter().enumerate() {
        for (ri, &r) in rows.iter().enumerate() {
            if Version::getVersionForDimensions(r, c).is_ok() {
                sizes.push((ci + ri, (c, r)));
            }
        }
    }
    sizes.sort_by_key(|&(rank, _)| rank);
    sizes.into_iter().map(|(_, size)| size).collect()
}

/// Samples `cols` x `rows` module centres of the quadrilateral `[tl, tr, br, bl]` from `grey`
/// and splits them into ink (`true`) and paper.
fn sample(grey: &GrayImage, corners: [(f32, f32); 4], cols: u32, rows: u32) -> Option<BitMatrix> {
    to_bits(
        &sample_values(grey, corners, cols, rows, &SPOTS)?,
        cols,
        rows,
    )
}

/// Module values (row by row) split into ink (`true`) and paper by two-means.
fn to_bits(values: &[f32], cols: u32, rows: u32) -> Option<BitMatrix> {
    let threshold = two_means(values);
    let mut bits = BitMatrix::new(cols, rows).ok()?;
    for (i, &v) in values.iter().enumerate() {
        if v < threshold {
            bits.set(i as u32 % cols, i as u32 / cols);
        }
    }
    Some(bits)
}

/// Where a module is sampled, in modules from its centre: five points, so sensor noise
/// averages out and a slightly misplaced grid still lands mostly inside the module.
const SPOTS: [(f32, f32); 5] = [
    (0.0, 0.0),
    (-0.2, -0.2),
    (0.2, -0.2),
    (-0.2, 0.2),
    (0.2, 0.2),
];

/// The grey value of each module, row by row: the mean of the `spots` around its centre.
fn sample_values(
    grey: &GrayImage,
    corners: [(f32, f32); 4],
    cols: u32,
    rows: u32,
    spots: &[(f32, f32)],
) -> Option<Vec<f32>> {
    let h = Homography::square_to_quad(corners)?;
    let mut values = Vec::with_capacity((cols * rows) as usize);
    for y in 0..rows {
        for x in 0..cols {
            let mut sum = 0.0;
            for &(dx, dy) in spots {
                let u = (x as f32 + 0.5 + dx) / cols as f32;
                let v = (y as f32 + 0.5 + dy) / rows as f32;
                let (px, py) = h.map(u, v)?;
                sum += bilinear(grey, px, py)?;
            }
            values.push(sum / spots.len().max(1) as f32);
        }
    }
    Some(values)
}

/// How well a grid sampled at `corners` sits on the modules: the finder and timing modules
/// on the dark or light side of the two-means threshold as they should be, by how far, plus
/// how far every module lies from the threshold (a grid off by part of a module samples
/// edges, which are mid-grey).
fn fit(grey: &GrayImage, corners: [(f32, f32); 4], cols: u32, rows: u32) -> Option<f32> {
    // The centres alone: a fifth of the work, and the search runs it a hundred times.
    let values = sample_values(grey, corners, cols, rows, &[(0.0, 0.0)])?;
    let threshold = two_means(&values);
    let (w, h) = (cols as usize, rows as usize);
    let mut score = 0.0;
    for (i, &v) in values.iter().enumerate() {
        let (x, y) = (i % w, i / w);
        let margin = threshold - v;
        let dark = if y + 1 == h || x == 0 {
            Some(true)
        } else if y == 0 {
            Some(x % 2 == 0)
        } else if x + 1 == w {
            Some(y % 2 == 1)
        } else {
            None
        };
        score += match dark {
            Some(true) => margin,
            Some(false) => -margin,
            None => margin.abs() / 2.0,
        };
    }
    Some(score / values.len().max(1) as f32)
}

/// The corners moved, one coordinate at a time, by half, a quarter and an eighth of a module
/// while the grid fits the modules better: a trace's corners can be a pixel or two off, which
/// at 2-3 px a module breaks the sampling.
fn refine(
    grey: &GrayImage,
    corners: [(f32, f32); 4],
    cols: u32,
    rows: u32,
) -> Option<[(f32, f32); 4]> {
    let [tl, tr, br, bl] = corners;
    let module = ((distance(tl, tr) + distance(bl, br)) / (2 * cols) as f32)
        .min((distance(tl, bl) + distance(tr, br)) / (2 * rows) as f32);
    let mut best = corners;
    let mut best_fit = fit(grey, best, cols, rows)?;
    for step in [0.5, 0.25, 0.125].map(|f| f * module) {
        for _ in 0..3 {
            let mut moved = false;
            for corner in 0..4 {
                for (dx, dy) in [(step, 0.0), (-step, 0.0), (0.0, step), (0.0, -step)] {
                    let mut trial = best;
                    if let Some(c) = trial.get_mut(corner) {
                        *c = (c.0 + dx, c.1 + dy);
                    }
                    if let Some(f) = fit(grey, trial, cols, rows)
                        && f > best_fit
                    {
                        (best, best_fit, moved) = (trial, f, true);
                    }
                }
            }
            if !moved {
                break;
            }
        }
    }
    Some(best)
}

/// Samples a symbol of several data regions region by region: each region (its data plus its
/// own L and timing modules) is located through the symbol's homography, its corners refined
/// against its own patterns, and its modules split into ink and paper by their own threshold,
/// so a warped pack or uneven light bends no region far. `None` for a one-region symbol.
fn sample_regions(
    grey: &GrayImage,
    corners: [(f32, f32); 4],
    cols: u32,
    rows: u32,
) -> Option<BitMatrix> {
    let version = Version::getVersionForDimensions(rows, cols).ok()?;
    let (rc, rr) = (
        version.getDataRegionSizeColumns() + 2,
        version.getDataRegionSizeRows() + 2,
    );
    let (nx, ny) = (cols / rc.max(1), rows / rr.max(1));
    if nx * ny < 2 || nx * rc != cols || ny * rr != rows {
        return None;
    }
    let h = Homography::square_to_quad(corners)?;
    let mut bits = BitMatrix::new(cols, rows).ok()?;
    for j in 0..ny {
        for i in 0..nx {
            let (u0, u1) = (
                (i * rc) as f32 / cols as f32,
                ((i + 1) * rc) as f32 / cols as f32,
            );
            let (v0, v1) = (
                (j * rr) as f32 / rows as f32,
                ((j + 1) * rr) as f32 / rows as f32,
            );
            let region = [
                h.map(u0, v0)?,
                h.map(u1, v0)?,
                h.map(u1, v1)?,
                h.map(u0, v1)?,
            ];
            let region = refine(grey, region, rc, rr)?;
            let values = sample_values(grey, region, rc, rr, &SPOTS)?;
            let threshold = two_means(&values);
            for (k, &v) in values.iter().enumerate() {
                if v < threshold {
                    let (x, y) = (k as u32 % rc, k as u32 / rc);
                    bits.set(i * rc + x, j * rr + y);
                }
            }
        }
    }
    Some(bits)
}

/// Module values (row by row, `width` a row) with the blur between neighbours undone to first
/// order: each moves away from the mean of its four neighbours (those inside the grid) by as
/// much as it differs from it.
fn sharpen(values: &[f32], width: usize) -> Vec<f32> {
    if width == 0 {
        return values.to_vec();
    }
    let at = |x: usize, y: usize| values.get(y * width + x).copied();
    values
        .iter()
        .enumerate()
        .map(|(i, &v)| {
            let (x, y) = (i % width, i / width);
            let neighbours = [
                x.checked_sub(1).and_then(|x| at(x, y)),
                (x + 1 < width).then(|| at(x + 1, y)).flatten(),
                y.checked_sub(1).and_then(|y| at(x, y)),
                at(x, y + 1),
            ];
            let (sum, n) = neighbours
                .iter()
                .flatten()
                .fold((0.0, 0.0), |(s, n), &w| (s + w, n + 1.0));
            if n > 0.0 {
                v + SHARPEN * (v - sum / n)
            } else {
                v
            }
        })
        .collect()
}

/// How strongly [`sharpen`] undoes the blur.
const SHARPEN: f32 = 1.0;

/// The threshold halfway between the means of the dark and the light values.
fn two_means(values: &[f32]) -> f32 {
    let mut threshold = values.iter().sum::<f32>() / values.len().max(1) as f32;
    for _ in 0..8 {
        let (mut lo, mut nlo, mut hi, mut nhi) = (0.0, 0usize, 0.0, 0usize);
        for &v in values {
            if v < threshold {
                lo += v;
                nlo += 1;
            } else {
                hi += v;
                nhi += 1;
            }
        }
        if nlo == 0 || nhi == 0 {
            break;
        }
        threshold = (lo / nlo as f32 + hi / nhi as f32) / 2.0;
    }
    threshold
}

fn bilinear(grey: &GrayImage, x: f32, y: f32) -> Option<f32> {
    let (w, h) = (grey.width() as f32, grey.height() as f32);
    // Pixel centres sit at half-integers.
    let (x, y) = (x - 0.5, y - 0.5);
    if !(0.0..w - 1.0).contains(&x) || !(0.0..h - 1.0).contains(&y) {
        return (x > -1.0 && y > -1.0 && x < w && y < h).then(|| {
            let (cx, cy) = (x.round().clamp(0.0, w - 1.0), y.round().clamp(0.0, h - 1.0));
            f32::from(grey.get_pixel(cx as u32, cy as u32).0[0])
        });
    }
    let (x0, y0) = (x.floor() as u32, y.floor() as u32);
    let (fx, fy) = (x - x0 as f32, y - y0 as f32);
    let p = |dx: u32, dy: u32| f32::from(grey.get_pixel(x0 + dx, y0 + dy).0[0]);
    let top = p(0, 0) * (1.0 - fx) + p(1, 0) * fx;
    let bottom = p(0, 1) * (1.0 - fx) + p(1, 1) * fx;
    Some(top * (1.0 - fy) + bottom * fy)
}

/// Share of the finder (solid left column and bottom row) and timing (alternating top row and
/// right column) modules that the sampled matrix gets right.
fn pattern_match(bits: &BitMatrix) -> f32 {
    let (w, h) = (bits.getWidth(), bits.getHeight());
    let mut right = 0u32;
    let mut total = 0u32;
    let mut check = |x: u32, y: u32, dark: bool| {
        total += 1;
        right += u32::from(bits.get(x, y) == dark);
    };
    for x in 0..w {
        check(x, h - 1, true);
        check(x, 0, x % 2 == 0);
    }
    for y in 0..h {
        check(0, y, true);
        check(w - 1, y, y % 2 == 1 || y == h - 1);
    }
    right as f32 / total.max(1) as f32
}

/// The projective map from the unit square onto a quadrilateral (Heckbert's square-to-quad).
struct Homography([f32; 9]);

impl Homography {
    fn square_to_quad(corners: [(f32, f32); 4]) -> Option<Self> {
        let [(x0, y0), (x1, y1), (x2, y2), (x3, y3)] = corners;
        let (sx, sy) = (x0 - x1 + x2 - x3, y0 - y1 + y2 - y3);
        let (dx1, dx2, dy1, dy2) = (x1 - x2, x3 - x2, y1 - y2, y3 - y2);
        let den = dx1 * dy2 - dx2 * dy1;
        if den.abs() < f32::EPSILON {
            return None;
        }
        let g = (sx * dy2 - dx2 * sy) / den;
        let h = (dx1 * sy - sx * dy1) / den;
        Some(Self([
            x1 - x0 + g * x1,
            x3 - x0 + h * x3,
            x0,
            y1 - y0 + g * y1,
            y3 - y0 + h * y3,
            y0,
            g,
            h,
            1.0,
        ]))
    }

    fn map(&self, u: f32, v: f32) -> Option<(f32, f32)> {
        let m = &self.0;
        let z = m[6] * u + m[7] * v + m[8];
        (z.abs() > f32::EPSILON).then(|| {
            (
                (m[0] * u + m[1] * v + m[2]) / z,
                (m[3] * u + m[4] * v + m[5]) / z,
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::camera::synth::{Quad as SquareToQuad, encode_gs1_datamatrix, gs1_pack_text};
    use rxing::datamatrix::encoder::SymbolShapeHint;

    /// `modules` drawn `module` pixels a module, turned by `angle` degrees about the centre of a
    /// `side`-pixel image: ink 40 on paper 210, 3x3 samples a pixel.
    fn draw(modules: &BitMatrix, module: f32, angle: f32, side: u32) -> GrayImage {
        let (mw, mh) = (modules.getWidth() as f32, modules.getHeight() as f32);
        let (sin, cos) = angle.to_radians().sin_cos();
        let c = side as f32 / 2.0;
        draw_mapped(modules, (side, side), |x, y| {
            let (dx, dy) = (x - c, y - c);
            let (u, v) = (dx * cos + dy * sin, -dx * sin + dy * cos);
            Some((u / module + mw / 2.0, v / module + mh / 2.0))
        })
    }

    fn threshold(img: &GrayImage) -> BitMatrix {
        let mut bits = BitMatrix::new(img.width(), img.height()).expect("matrix");
        for (x, y, p) in img.enumerate_pixels() {
            if p.0[0] < 125 {
                bits.set(x, y);
            }
        }
        bits
    }

    fn text() -> String {
        gs1_pack_text("09506000134352", "261231", "ABC123", "SER0001")
    }

    #[test]
    fn reads_turned_square_and_rectangular_symbols_with_large_modules() {
        for (shape, module, angle) in [
            (SymbolShapeHint::FORCE_SQUARE, 14.0, 33.0),
            (SymbolShapeHint::FORCE_RECTANGLE, 11.0, -120.0),
            (SymbolShapeHint::FORCE_SQUARE, 6.0, 200.0),
        ] {
            let modules = encode_gs1_datamatrix(&text(), shape).expect("encode");
            let img = draw(&modules, module, angle, 480);
            let found = read_blobs(&img, &threshold(&img), 1.0, (0.0, 0.0), &[]);
            assert_eq!(found.len(), 1, "{shape:?} {module} px at {angle} deg");
            assert_eq!(found[0].text, text());
            assert_eq!(found[0].symbology, "]d2");
            let (cx, cy) = found[0].centre();
            assert!((cx - 240.0).hypot(cy - 240.0) < 4.0, "centre {cx},{cy}");
        }
    }

    #[test]
    fn reads_from_a_half_size_matrix_and_skips_known_symbols() {
        let modules =
            encode_gs1_datamatrix(&text(), SymbolShapeHint::FORCE_SQUARE).expect("encode");
        let img = draw(&modules, 12.0, 70.0, 480);
        let half = image::imageops::resize(&img, 240, 240, image::imageops::FilterType::Triangle);
        let found = read_blobs(&img, &threshold(&half), 2.0, (0.0, 0.0), &[]);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].text, text());
        // Already read: not read again.
        assert!(read_blobs(&img, &threshold(&half), 2.0, (0.0, 0.0), &found).is_empty());
    }

    #[test]
    fn solid_blocks_frames_and_stripes_read_nothing() {
        let img = GrayImage::from_fn(300, 300, |x, y| {
            let block = (20..120).contains(&x) && (20..120).contains(&y);
            let frame = (150..280).contains(&x)
                && (150..280).contains(&y)
                && !((156..274).contains(&x) && (156..274).contains(&y));
            let stripes = (150..280).contains(&x) && (20..120).contains(&y) && (x / 6) % 2 == 0;
            image::Luma([if block || frame || stripes { 30 } else { 220 }])
        });
        assert!(read_blobs(&img, &threshold(&img), 1.0, (0.0, 0.0), &[]).is_empty());
    }

    #[test]
    fn timing_counts_find_the_module_count() {
        let modules =
            encode_gs1_datamatrix(&text(), SymbolShapeHint::FORCE_SQUARE).expect("encode");
        let n = modules.getWidth();
        let img = draw(&modules, 8.0, 0.0, 300);
        // Unturned: top-left and top-right corners of the symbol.
        let half = n as f32 * 4.0;
        let (tl, tr) = ((150.0 - half, 150.0 - half), (150.0 + half, 150.0 - half));
        let (br, bl) = ((150.0 + half, 150.0 + half), (150.0 - half, 150.0 + half));
        let counts = timing_counts(&img, [tl, tr, br, bl], Timing::Top, 0.0);
        assert_eq!(counts.first(), Some(&n), "{counts:?}");
        let counts = timing_counts(&img, [tl, tr, br, bl], Timing::Right, 0.0);
        assert_eq!(counts.first(), Some(&n), "{counts:?}");
    }

    /// `modules` drawn into a `w` x `h` image wherever `unwarp` maps a pixel (its centre, in
    /// 3x3 samples) into the symbol's module coordinates; ink 40 on paper 210.
    fn draw_mapped(
        modules: &BitMatrix,
        (w, h): (u32, u32),
        unwarp: impl Fn(f32, f32) -> Option<(f32, f32)>,
    ) -> GrayImage {
        let (mw, mh) = (modules.getWidth() as f32, modules.getHeight() as f32);
        GrayImage::from_fn(w, h, |x, y| {
            let mut ink = 0u32;
            for sy in [1.0 / 6.0, 0.5, 5.0 / 6.0] {
                for sx in [1.0 / 6.0, 0.5, 5.0 / 6.0] {
                    if let Some((mx, my)) = unwarp(x as f32 + sx, y as f32 + sy)
                        && mx >= 0.0
                        && my >= 0.0
                        && mx < mw
                        && my < mh
                        && modules.get(mx as u32, my as u32)
                    {
                        ink += 1;
                    }
                }
            }
            image::Luma([(210 - ink * 170 / 9) as u8])
        })
    }

    /// `modules` drawn upright, `module` pixels a module with 30 pixels of paper around,
    /// blurred by `sigma`, and the symbol's exact corners.
    fn upright_blurred(modules: &BitMatrix, module: f32, sigma: f32) -> (GrayImage, Quad) {
        let (x0, side) = (30.0, module * modules.getWidth() as f32);
        let img = draw(modules, module, 0.0, (side + 2.0 * x0) as u32);
        let (a, b) = (x0, x0 + side);
        (
            image::imageops::blur(&img, sigma),
            [(a, a), (b, a), (b, b), (a, b)],
        )
    }

    /// The text of an evenly sampled `n` x `n` grid with these corners, if it decodes.
    fn sampled_text(img: &GrayImage, corners: Quad, n: u32) -> Option<String> {
        sample(img, corners, n, n).and_then(|bits| decodes(&bits))
    }

    fn decodes(bits: &BitMatrix) -> Option<String> {
        Decoder::new()
            .decode(bits)
            .ok()
            .map(|r| r.getText().to_owned())
    }

    /// `modules` printed in dots of `radius` modules, `module` pixels apart, turned by `angle`
    /// degrees about the centre of a 320-pixel image and keystoned (the bottom 12 % wider than
    /// the top), then blurred a little. From a radius of about half a module, dots touch
    /// their dark neighbours in a row or column but not across a light module: the L is
    /// solid, the timing sides are rows of separate specks.
    fn draw_dots(modules: &BitMatrix, radius: f32, module: f32, angle: f32) -> GrayImage {
        let (cols, rows) = (modules.getWidth() as f32, modules.getHeight() as f32);
        let (sin, cos) = angle.to_radians().sin_cos();
        let (w, h) = (cols * module, rows * module);
        let at = |u: f32, v: f32| {
            let (x, y) = ((u - 0.5) * w * (1.0 + 0.12 * (v - 0.5)), (v - 0.5) * h);
            (160.0 + x * cos - y * sin, 160.0 + x * sin + y * cos)
        };
        let projection =
            SquareToQuad::new([at(0.0, 0.0), at(1.0, 0.0), at(1.0, 1.0), at(0.0, 1.0)]);
        let img = draw_mapped(modules, (320, 320), |x, y| {
            let (u, v) = projection.unmap(x, y)?;
            let (mx, my) = (u * cols, v * rows);
            // The dark module whose dot covers the point: its own or a neighbour's.
            [(0.0, 0.0), (-1.0, 0.0), (1.0, 0.0), (0.0, -1.0), (0.0, 1.0)]
                .into_iter()
                .map(|(dx, dy)| (mx.floor() + dx + 0.5, my.floor() + dy + 0.5))
                .find(|&(cx, cy)| {
                    (0.0..cols).contains(&cx)
                        && (0.0..rows).contains(&cy)
                        && modules.get(cx as u32, cy as u32)
                        && (mx - cx).hypot(my - cy) < radius
                })
        });
        image::imageops::blur(&img, 0.6)
    }

    #[test]
    fn symbols_printed_in_dots_are_traced_along_their_dotted_timing_sides() {
        for (shape, radius, module, angle) in [
            (SymbolShapeHint::FORCE_SQUARE, 0.5, 4.0, 10.0),
            (SymbolShapeHint::FORCE_SQUARE, 0.5, 4.0, 62.0),
            (SymbolShapeHint::FORCE_SQUARE, 0.53, 5.0, 35.0),
            (SymbolShapeHint::FORCE_RECTANGLE, 0.47, 3.2, 150.0),
        ] {
            let modules = encode_gs1_datamatrix(&text(), shape).expect("encode");
            let img = draw_dots(&modules, radius, module, angle);
            let found = read_blobs(&img, &threshold(&img), 1.0, (0.0, 0.0), &[]);
            let what = format!("{shape:?}, dots of {radius}, {module} px at {angle} deg");
            assert_eq!(found.len(), 1, "{what}");
            assert_eq!(found[0].text, text(), "{what}");
        }
    }

    #[test]
    fn dotted_timing_sides_are_traced_in_all_the_ink_beside_stray_specks() {
        // Print specks in a ring around the label, five modules out: taken in as the blob's
        // specks they spoil its outline, left out they leave the timing dots out too.
        let text = text();
        for (radius, module, angle) in [(0.45, 3.0, 62.0), (0.47, 4.0, 10.0), (0.5, 5.0, 150.0)] {
            let modules =
                encode_gs1_datamatrix(&text, SymbolShapeHint::FORCE_RECTANGLE).expect("encode");
            let mut img = draw_dots(&modules, radius, module, angle);
            let ring = modules.getWidth() as f32 * module / 2.0 + 5.0 * module;
            for step in 0..48 {
                let t = step as f32 / 48.0 * std::f32::consts::TAU;
                let (x, y) = (
                    (160.0 + ring * t.cos()) as u32,
                    (160.0 + ring * t.sin()) as u32,
                );
                for (dx, dy) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
                    if let Some(p) = img.get_pixel_mut_checked(x + dx, y + dy) {
                        p.0[0] = 40;
                    }
                }
            }
            let found = read_blobs(&img, &threshold(&img), 1.0, (0.0, 0.0), &[]);
            let what = format!("dots of {radius}, {module} px at {angle} deg");
            assert_eq!(found.len(), 1, "{what}");
            assert_eq!(found[0].text, text, "{what}");
        }
    }

    #[test]
    fn a_keystoned_rectangle_is_counted_and_read_through_its_perspective() {
        let modules =
            encode_gs1_datamatrix(&text(), SymbolShapeHint::FORCE_RECTANGLE).expect("encode");
        let (cols, rows) = (modules.getWidth(), modules.getHeight());
        assert!(
            cols >= 3 * rows / 2,
            "{cols}x{rows} is not a long rectangle"
        );
        // The far (right) end a little over half as tall as the near one, as a pack held at
        // an angle: module widths along the long side shrink by as much.
        let corners = [(20.0, 20.0), (460.0, 80.0), (460.0, 180.0), (20.0, 240.0)];
        let projection = SquareToQuad::new(corners);
        let img = draw_mapped(&modules, (480, 260), |x, y| {
            projection
                .unmap(x, y)
                .map(|(u, v)| (u * cols as f32, v * rows as f32))
        });
        assert_eq!(
            timing_counts(&img, corners, Timing::Top, 0.0).first(),
            Some(&cols)
        );
        assert_eq!(
            timing_counts(&img, corners, Timing::Right, 0.0).first(),
            Some(&rows)
        );
        // Whichever corner the quadrilateral starts at, and in either direction.
        let mut reversed = corners;
        reversed.reverse();
        for quad in [
            corners,
            [corners[2], corners[3], corners[0], corners[1]],
            reversed,
        ] {
            let symbol = read_quad(&img, quad).expect("read");
            assert_eq!(symbol.text, text());
        }
    }

    #[test]
    fn corners_a_module_off_are_refined_until_the_grid_reads() {
        let modules =
            encode_gs1_datamatrix(&text(), SymbolShapeHint::FORCE_SQUARE).expect("encode");
        let n = modules.getWidth();
        // 3 px modules, softened by a blur as a webcam's optics would.
        let (x0, side) = (30.0, 3.0 * n as f32);
        let sharp = draw(&modules, 3.0, 0.0, (side + 2.0 * x0) as u32);
        let img = image::imageops::blur(&sharp, 1.0);
        let (a, b) = (
            (sharp.width() as f32 - side) / 2.0,
            (sharp.width() as f32 + side) / 2.0,
        );
        let exact = [(a, a), (b, a), (b, b), (a, b)];
        assert_eq!(sampled_text(&img, exact, n), Some(text()));
        // Each corner pushed 1.5 px (half a module) a different way: the straight sampling
        // fails, the refined one reads.
        let off = [
            (a - 1.5, a + 1.5),
            (b + 1.5, a + 1.5),
            (b - 1.5, b - 1.5),
            (a + 1.5, b + 1.5),
        ];
        assert_eq!(sampled_text(&img, off, n), None);
        let refined = refine(&img, off, n, n).expect("refine");
        assert_eq!(sampled_text(&img, refined, n), Some(text()));
        for (r, e) in refined.iter().zip(exact) {
            assert!(
                (r.0 - e.0).hypot(r.1 - e.1) < 1.0,
                "{refined:?} vs {exact:?}"
            );
        }
    }

    #[test]
    fn scratched_timing_sides_are_counted_by_the_thickness_of_the_l() {
        let mut modules =
            encode_gs1_datamatrix(&text(), SymbolShapeHint::FORCE_SQUARE).expect("encode");
        let n = modules.getWidth();
        // A scratch along each timing side, inking over half its modules from the third
        // one on: the alternation no longer counts them.
        for i in 2..2 + n / 2 {
            modules.set(i, 0);
            modules.set(n - 1, n - 1 - i);
        }
        let (img, corners) = upright_blurred(&modules, 3.0, 0.8);
        for timing in [Timing::Top, Timing::Right] {
            let counts = timing_counts(&img, corners, timing, n as f32);
            assert!(!counts.contains(&n), "{timing:?} counted {counts:?}");
            let thick = l_thickness_count(&img, corners, timing).expect("the L measured");
            assert!(
                (thick - n as f32).abs() <= 0.2 * n as f32,
                "{timing:?}: {thick}"
            );
        }
        // Its exact corners alone, by the timing sides' counts, do not read.
        assert!(read_quad(&img, corners).is_none());
        let found = read_blobs(&img, &threshold(&img), 1.0, (0.0, 0.0), &[]);
        assert_eq!(found.len(), 1, "read by the L's count");
        assert_eq!(found[0].text, text());
    }

    #[test]
    fn a_badly_blurred_symbol_reads_once_its_modules_are_sharpened() {
        let modules =
            encode_gs1_datamatrix(&text(), SymbolShapeHint::FORCE_SQUARE).expect("encode");
        let n = modules.getWidth();
        // 6 px modules under a blur of half a module: lone modules lose most of their contrast.
        let (img, corners) = upright_blurred(&modules, 6.0, 3.2);
        assert_eq!(sampled_text(&img, corners, n), None, "reads unsharpened");
        let sharpened = sample_values(&img, corners, n, n, &SPOTS)
            .and_then(|values| to_bits(&sharpen(&values, n as usize), n, n))
            .and_then(|bits| decodes(&bits));
        assert_eq!(sharpened, Some(text()));
        let symbol = read_quad(&img, corners).expect("read");
        assert_eq!(symbol.text, text());
    }

    #[test]
    fn sharpening_restores_a_lone_module_and_keeps_flat_areas() {
        // A dark module blurred into its light neighbours, in a 3 x 3 grid.
        let values = [
            150.0, 130.0, 150.0, 130.0, 110.0, 130.0, 150.0, 130.0, 150.0,
        ];
        let sharp = sharpen(&values, 3);
        assert!(sharp[4] <= 90.0, "{sharp:?}");
        assert!(sharp[0] > 150.0, "{sharp:?}");
        assert_eq!(sharpen(&[100.0; 6], 3), vec![100.0; 6]);
        assert_eq!(sharpen(&[100.0, 50.0], 0), vec![100.0, 50.0]);
    }

    #[test]
    fn a_bowed_symbol_of_four_regions_reads_region_by_region() {
        let long = gs1_pack_text(
            "09506000134352",
            "261231",
            "LOT0123456789ABCDEFG",
            "SER0123456789ABCDEFG",
        );
        let modules = encode_gs1_datamatrix(&long, SymbolShapeHint::FORCE_SQUARE).expect("encode");
        let n = modules.getWidth();
        assert!(n >= 32, "{n}x{n} has one data region");
        // 6 px modules; the label bowed down across its middle, as on a curved vial.
        let (m, x0) = (6.0, 24.0);
        let side = m * n as f32;
        let size = (side + 2.0 * x0) as u32;
        let corners = [
            (x0, x0),
            (x0 + side, x0),
            (x0 + side, x0 + side),
            (x0, x0 + side),
        ];
        for bow in [0.6, 1.2] {
            let img = draw_mapped(&modules, (size, size), |x, y| {
                let t = ((x - x0) / side).clamp(0.0, 1.0);
                let y = y - bow * m * (std::f32::consts::PI * t).sin();
                Some(((x - x0) / m, (y - x0) / m))
            });
            // One homography for the whole symbol misses the bow in the middle.
            let whole = refine(&img, corners, n, n).expect("refine");
            assert_eq!(sampled_text(&img, whole, n), None, "bow {bow}");
            let regions = sample_regions(&img, whole, n, n).expect("regions");
            assert_eq!(decodes(&regions), Some(long.clone()), "bow {bow}");
            // The whole chain reads the milder bow; at the stronger one the timing sides are
            // too curved to count along a straight line, and the size must come from
            // elsewhere.
            if bow < 1.0 {
                assert_eq!(read_quad(&img, corners).map(|s| s.text), Some(long.clone()));
            }
        }
    }

    #[test]
    fn modules_of_unequal_widths_are_sampled_where_the_timing_runs_put_them() {
        let modules =
            encode_gs1_datamatrix(&text(), SymbolShapeHint::FORCE_SQUARE).expect("encode");
        let n = modules.getWidth();
        // 5 px modules on average, but squeezed and stretched by up to 40 % across the
        // symbol both ways, as an unevenly fed printer or a warped label gives them.
        let (m, x0) = (5.0, 20.0);
        let side = m * n as f32;
        let size = (side + 2.0 * x0) as u32;
        let uneven = |p: f32| {
            let t = (p - x0) / side;
            let tau = std::f32::consts::TAU;
            n as f32 * (t + 0.06 * (tau * t).sin())
        };
        let img = draw_mapped(&modules, (size, size), |x, y| Some((uneven(x), uneven(y))));
        let corners = [
            (x0, x0),
            (x0 + side, x0),
            (x0 + side, x0 + side),
            (x0, x0 + side),
        ];
        // An even grid misses; refining its corners cannot bend it.
        assert_eq!(sampled_text(&img, corners, n), None);
        let refined = refine(&img, corners, n, n).expect("refine");
        assert_eq!(sampled_text(&img, refined, n), None);
        // The timing sides give every module's centre.
        let across = timing_runs(&img, corners, Timing::Top, n).expect("top runs");
        let up = timing_runs(&img, corners, Timing::Right, n).expect("right runs");
        assert_eq!((across.len(), up.len()), (n as usize, n as usize));
        let bits = sample_at(&img, corners, &across, &up).expect("sample");
        assert_eq!(decodes(&bits), Some(text()));
        // A count the runs do not give is refused.
        assert!(timing_runs(&img, corners, Timing::Top, n + 2).is_none());
        // And the whole chain reads it.
        assert_eq!(read_quad(&img, corners).map(|s| s.text), Some(text()));
    }

    #[test]
    fn sizes_among_keeps_real_symbol_sizes_in_order() {
        assert_eq!(sizes_among(&[36], &[16]), vec![(36, 16)]);
        assert!(sizes_among(&[30], &[30]).is_empty());
        assert_eq!(sizes_among(&[16, 18], &[16, 18]), vec![(16, 16), (18, 18)]);
    }

    #[test]
    fn convex_hull_drops_inner_points_and_runs_clockwise() {
        let hull = convex_hull(vec![
            (0.0, 0.0),
            (4.0, 0.0),
            (2.0, 1.0),
            (4.0, 4.0),
            (0.0, 4.0),
            (1.0, 3.0),
        ]);
        assert_eq!(hull.len(), 4, "{hull:?}");
        assert!(signed_area(&hull) > 0.0);
        assert_eq!(polygon_area(&hull), 16.0);
    }
}
