//! Milliseconds per frame for the camera decoder, against rxing used the plain way.
//!
//! Frames: generated 1280x720 webcam frames (rotated, tilted, blurred, noisy) with one and with
//! four GS1 DataMatrix labels; noisy, dim and murky frames; empty frames, clean and noisy;
//! large modules close up; and zxing-cpp's DataMatrix sample images (when `../shared/vectors`
//! is present). "plain rxing" is the naive use the decoder replaces:
//! `GenericMultipleBarcodeReader<DataMatrixReader>` with try-harder on a `HybridBinarizer`.

use std::path::Path;

use criterion::{Criterion, criterion_group, criterion_main};
use image::GrayImage;
use rand::SeedableRng;
use rand::rngs::StdRng;
use rxing::common::HybridBinarizer;
use rxing::datamatrix::DataMatrixReader;
use rxing::multi::{GenericMultipleBarcodeReader, MultipleBarcodeReader};
use rxing::{BinaryBitmap, DecodeHints, Luma8Source};
use tracedesk::camera::synth::{Conditions, render_frame, sample_pack_text};
use tracedesk::camera::{DecodeOptions, decode_luma};

fn plain_rxing(img: &GrayImage) -> usize {
    let Ok(source) = Luma8Source::new_with_slice(img.as_raw(), img.width(), img.height()) else {
        return 0;
    };
    let mut bitmap = BinaryBitmap::new(HybridBinarizer::new(source));
    let hints = DecodeHints {
        TryHarder: Some(true),
        ..DecodeHints::default()
    };
    GenericMultipleBarcodeReader::new(DataMatrixReader)
        .decode_multiple_with_hints(&mut bitmap, &hints)
        .map_or(0, |found| found.len())
}

fn frames(labels: usize, count: u64) -> Vec<GrayImage> {
    frames_in(&Conditions::default(), labels, count)
}

fn frames_in(conditions: &Conditions, labels: usize, count: u64) -> Vec<GrayImage> {
    let mut rng = StdRng::seed_from_u64(1000 + labels as u64);
    (0..count)
        .filter_map(|seed| {
            let texts: Vec<String> = (0..labels).map(|i| sample_pack_text(&mut rng, i)).collect();
            render_frame(&texts, conditions, seed).ok()
        })
        .map(|frame| frame.image)
        .collect()
}

fn zxing_samples() -> Vec<GrayImage> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/vectors/zxing-cpp/samples");
    let mut images = Vec::new();
    for folder in [
        "datamatrix-1",
        "datamatrix-2",
        "datamatrix-3",
        "datamatrix-4",
        "datamatrix-5",
    ] {
        let Ok(entries) = std::fs::read_dir(root.join(folder)) else {
            continue;
        };
        let mut paths: Vec<_> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        paths.sort();
        images.extend(
            paths
                .iter()
                .filter_map(|p| image::open(p).ok())
                .map(|i| i.into_luma8()),
        );
    }
    images
}

fn bench_set(c: &mut Criterion, name: &str, images: &[GrayImage]) {
    if images.is_empty() {
        eprintln!("{name}: no images, skipped");
        return;
    }
    let mut group = c.benchmark_group(name);
    group.sample_size(10);
    let opts = DecodeOptions::default();
    group.bench_function("tracedesk (whole set)", |b| {
        b.iter(|| {
            images
                .iter()
                .map(|i| decode_luma(i, &opts).len())
                .sum::<usize>()
        })
    });
    let serial = DecodeOptions {
        parallel: false,
        ..DecodeOptions::default()
    };
    group.bench_function("tracedesk one core (whole set)", |b| {
        b.iter(|| {
            images
                .iter()
                .map(|i| decode_luma(i, &serial).len())
                .sum::<usize>()
        })
    });
    let video = DecodeOptions::video();
    group.bench_function("tracedesk video effort (whole set)", |b| {
        b.iter(|| {
            images
                .iter()
                .map(|i| decode_luma(i, &video).len())
                .sum::<usize>()
        })
    });
    group.bench_function("plain rxing (whole set)", |b| {
        b.iter(|| images.iter().map(plain_rxing).sum::<usize>())
    });
    group.finish();
    eprintln!(
        "{name}: {} images; divide the times above by that for ms per image",
        images.len()
    );
}

fn camera_decode(c: &mut Criterion) {
    bench_set(c, "frames_1_symbol", &frames(1, 8));
    bench_set(c, "frames_4_symbols", &frames(4, 8));
    // A desk webcam in poor light: the frames a live camera must still keep up with (the goal
    // is under 33 ms a frame on one core).
    bench_set(
        c,
        "frames_noisy_2_symbols",
        &frames_in(&Conditions::noisy(), 2, 8),
    );
    bench_set(
        c,
        "frames_dim_2_symbols",
        &frames_in(&Conditions::dim(), 2, 8),
    );
    bench_set(
        c,
        "frames_murky_2_symbols",
        &frames_in(&Conditions::murky(), 2, 8),
    );
    bench_set(
        c,
        "frames_noisy_empty",
        &frames_in(&Conditions::noisy(), 0, 8),
    );
    // A desk with nothing on it costs little, in clean light as in poor.
    bench_set(c, "frames_empty", &frames(0, 8));
    bench_set(
        c,
        "frames_large_modules",
        &frames_in(&Conditions::close_up(), 2, 8),
    );
    bench_set(c, "zxing_datamatrix_samples", &zxing_samples());
}

criterion_group!(benches, camera_decode);
criterion_main!(benches);
