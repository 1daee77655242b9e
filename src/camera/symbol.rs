//! What the camera reads: a [`Symbol`] (its text as a scanner would send it, its symbology
//! identifier, and its corners in the image) and the [`Region`]s of an image that searches
//! work on. Both the decoder's passes and the finder make symbols here.

use rxing::common::DecoderRXingResult;

use super::codewords;

/// One decoded symbol.
#[derive(Debug, Clone, PartialEq)]
pub struct Symbol {
    /// The data as a scanner would transmit it after the symbology identifier: GS (0x1D) for
    /// each FNC1 separator, no leading FNC1. Byte-mode data, and data in an ECI character set
    /// the decoder does not know, appears as one char per byte.
    pub text: String,
    /// AIM symbology identifier: `]d2` for GS1 DataMatrix (square or rectangular), `]d1` plain,
    /// `]d3`..`]d6` for AIM-FNC1 and ECI variants.
    pub symbology: String,
    /// Corners of the symbol in image pixels, in the detector's order (clockwise from the
    /// corner of the L-shaped finder pattern as it appears in the image).
    pub corners: [(f32, f32); 4],
}

impl Symbol {
    /// Whether the symbol carries a GS1 element string (it started with FNC1).
    pub fn is_gs1(&self) -> bool {
        self.symbology == "]d2" || self.symbology == "]d5"
    }

    /// Centre of the symbol in image pixels.
    pub fn centre(&self) -> (f32, f32) {
        let (sx, sy) = self
            .corners
            .iter()
            .fold((0.0, 0.0), |(ax, ay), (x, y)| (ax + x, ay + y));
        (sx / 4.0, sy / 4.0)
    }

    /// The axis-aligned box around the symbol (clipped at the image origin).
    pub fn bounds(&self) -> Region {
        bounds(&self.corners)
    }

    pub(crate) fn contains(&self, p: (f32, f32)) -> bool {
        quad_contains(&self.corners, p)
    }
}

/// A rectangle of an image, in pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Region {
    pub x: u32,
    pub y: u32,
    pub width: u32,
    pub height: u32,
}

impl Region {
    /// This region grown by `factor` of its size on every side and clipped to `w` x `h`.
    pub fn grown(&self, factor: f32, w: u32, h: u32) -> Region {
        let dx = (self.width as f32 * factor) as u32 + 8;
        let dy = (self.height as f32 * factor) as u32 + 8;
        let x = self.x.saturating_sub(dx).min(w);
        let y = self.y.saturating_sub(dy).min(h);
        Region {
            x,
            y,
            width: (self.x + self.width + dx).min(w).saturating_sub(x),
            height: (self.y + self.height + dy).min(h).saturating_sub(y),
        }
    }

    pub(crate) fn area(&self) -> u64 {
        u64::from(self.width) * u64::from(self.height)
    }

    pub(crate) fn covers(&self, other: &Region) -> bool {
        self.x <= other.x
            && self.y <= other.y
            && self.x + self.width >= other.x + other.width
            && self.y + self.height >= other.y + other.height
    }
}

/// Whether `p` lies inside a convex quadrilateral, whichever way it winds.
pub(crate) fn quad_contains(corners: &[(f32, f32); 4], p: (f32, f32)) -> bool {
    let mut sign = 0.0f32;
    let next = corners.iter().cycle().skip(1);
    for (&a, &b) in corners.iter().zip(next) {
        let cross = (b.0 - a.0) * (p.1 - a.1) - (b.1 - a.1) * (p.0 - a.0);
        if cross != 0.0 {
            if sign != 0.0 && cross.signum() != sign {
                return false;
            }
            sign = cross.signum();
        }
    }
    true
}

pub(crate) fn to_symbol(result: &DecoderRXingResult, corners: [(f32, f32); 4]) -> Option<Symbol> {
    // rxing transcodes text in the ECI character sets it knows. Where a symbol switches to
    // one it does not know, its text would be guessed: the bytes themselves are reported
    // instead, one char per byte, as a scanner without ECI processing sends them (and as
    // Base 256 data without an ECI appears anyway).
    let text = if result.getContentType() == "UnknownECI" {
        codewords::data_bytes(result.getRawBytes())?
            .into_iter()
            .map(char::from)
            .collect()
    } else {
        result.getText().to_owned()
    };
    Some(Symbol {
        text,
        symbology: format!("]d{}", result.getSymbologyModifier()),
        corners,
    })
}

/// The axis-aligned box around a quadrilateral, clipped at the image origin.
pub(crate) fn bounds(corners: &[(f32, f32); 4]) -> Region {
    let xs = corners.map(|c| c.0);
    let ys = corners.map(|c| c.1);
    let min = |v: [f32; 4]| v.into_iter().fold(f32::MAX, f32::min).max(0.0);
    let max = |v: [f32; 4]| v.into_iter().fold(f32::MIN, f32::max).max(0.0);
    let (x0, y0) = (min(xs), min(ys));
    Region {
        x: x0 as u32,
        y: y0 as u32,
        width: (max(xs) - x0).ceil() as u32,
        height: (max(ys) - y0).ceil() as u32,
    }
}
