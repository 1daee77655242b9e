//! The camera decoder against zxing-cpp's DataMatrix samples and against generated webcam frames.
//!
//! Recall is asserted per sample folder (at least zxing-cpp's own pass thresholds where rxing
//! can reach them, else the exact count reached today, so a regression fails), and on every
//! generated frame every label must be found. Precision is absolute everywhere: a decoded text
//! that differs from the expected one fails the test, whatever the folder.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use image::GrayImage;
use rand::SeedableRng;
use rand::rngs::StdRng;
use tracedesk::camera::synth::{
    Conditions, FRAME_HEIGHT, FRAME_WIDTH, SyntheticFrame, gs1_pack_text, render_frame,
    sample_pack_text,
};
use tracedesk::camera::{DecodeError, DecodeOptions, Region, Symbol, decode_file, decode_luma};

fn vectors() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/vectors/zxing-cpp");
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!(
            "notice: {} is absent; zxing-cpp sample checks skipped",
            dir.display()
        );
        None
    }
}

/// Undoes index.tsv's escaping: `\\` is a backslash, `\xHH` a control character, `\t`/`\n`.
fn unescape(field: &str) -> String {
    let mut out = String::new();
    let mut chars = field.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('\\') => out.push('\\'),
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some('x') => {
                let hex: String = chars.by_ref().take(2).collect();
                let code = u32::from_str_radix(&hex, 16).expect("index.tsv: bad \\x escape");
                out.push(char::from_u32(code).expect("index.tsv: bad \\x code"));
            }
            other => panic!("index.tsv: unknown escape \\{other:?}"),
        }
    }
    out
}

/// What a sample should decode to.
#[derive(Debug, Clone, PartialEq)]
enum Expected {
    Text(String),
    /// Binary content, compared byte for byte (one char per byte in the decoded text).
    Bytes(Vec<u8>),
    /// zxing-cpp's own expectation file says `<unkown>`: nothing to compare with.
    Unknown,
}

struct Sample {
    folder: String,
    path: PathBuf,
    expected: Expected,
    symbology: Option<String>,
}

fn samples(dir: &Path) -> Vec<Sample> {
    let index = std::fs::read_to_string(dir.join("index.tsv")).expect("read index.tsv");
    index
        .lines()
        .filter(|l| !l.starts_with('#') && !l.starts_with("image\t"))
        .map(|line| {
            let cols: Vec<&str> = line.split('\t').collect();
            let rel = cols[0];
            let path = dir.join(rel);
            let expected = match (cols[1], unescape(cols[2])) {
                ("bin", _) => Expected::Bytes(
                    std::fs::read(path.with_extension("bin")).expect("read expected .bin"),
                ),
                (_, text) if text == "<unkown>" => Expected::Unknown,
                (_, text) => Expected::Text(text),
            };
            let symbology = cols
                .get(3)
                .and_then(|meta| {
                    meta.split(';')
                        .find_map(|kv| kv.strip_prefix("symbologyIdentifier="))
                })
                .map(str::to_owned);
            Sample {
                folder: rel.split('/').nth(1).unwrap_or_default().to_owned(),
                path,
                expected,
                symbology,
            }
        })
        .collect()
}

fn matches(symbol: &Symbol, expected: &Expected) -> bool {
    match expected {
        Expected::Text(text) => symbol.text == *text,
        Expected::Bytes(bytes) => {
            symbol.text.chars().map(u32::from).collect::<Vec<_>>()
                == bytes.iter().map(|&b| u32::from(b)).collect::<Vec<_>>()
        }
        Expected::Unknown => true,
    }
}

#[derive(Debug, Default, Clone, Copy, PartialEq)]
struct Tally {
    images: usize,
    decoded: usize,
}

/// Decodes every sample (optionally rotated by `quarter_turns` x 90 degrees), fails on any
/// misread, and returns how many images of each folder gave their expected text.
fn run_samples(dir: &Path, quarter_turns: u32) -> BTreeMap<String, Tally> {
    let mut tallies: BTreeMap<String, Tally> = BTreeMap::new();
    let mut misreads = Vec::new();
    for sample in samples(dir)
        .iter()
        .filter(|s| s.folder.starts_with("datamatrix"))
    {
        let tally = tallies.entry(sample.folder.clone()).or_default();
        tally.images += 1;
        let img = image::open(&sample.path).expect("open sample").into_luma8();
        let img = match quarter_turns % 4 {
            1 => image::imageops::rotate90(&img),
            2 => image::imageops::rotate180(&img),
            3 => image::imageops::rotate270(&img),
            _ => img,
        };
        let symbols = decode_luma(&img, &DecodeOptions::default());
        for symbol in &symbols {
            if !matches(symbol, &sample.expected) {
                misreads.push(format!("{}: read {:?}", sample.path.display(), symbol.text));
            }
        }
        let hit = symbols.iter().find(|s| matches(s, &sample.expected));
        if let (Some(hit), Expected::Text(_) | Expected::Bytes(_)) = (hit, &sample.expected) {
            tally.decoded += 1;
            // zxing-cpp reports GS1 DMRE as ]d8; TraceDesk reports every GS1 symbol as ]d2.
            if let Some(want) = &sample.symbology {
                let want = if want == "]d8" { "]d2" } else { want.as_str() };
                if want == "]d2" || want == "]d1" {
                    assert_eq!(hit.symbology, want, "{}", sample.path.display());
                }
            }
        } else if !matches!(sample.expected, Expected::Unknown) {
            eprintln!(
                "not decoded ({quarter_turns}x90): {}",
                sample.path.display()
            );
        }
    }
    assert!(misreads.is_empty(), "misreads: {misreads:#?}");
    tallies
}

fn report(label: &str, tallies: &BTreeMap<String, Tally>) {
    let mut err = std::io::stderr().lock();
    for (folder, t) in tallies {
        let _ = writeln!(err, "{label} {folder}: {}/{} decoded", t.decoded, t.images);
    }
}

/// Per folder: zxing-cpp's own pass threshold (THRESHOLDS.md; `None` where its runner does not
/// use the folder) and what TraceDesk reaches today where that is less.
///
/// Where TraceDesk genuinely falls short the exact count is asserted, so both a regression
/// and an improvement show up (update the number then). Per folder:
/// - datamatrix-1 `eci-mixed.png` (threshold met) switches to an ECI character set rxing does not
///   know; it reads since TraceDesk reports such data as its bytes (as zxing-cpp counts it).
/// - datamatrix-1 `distorted.png` reads since a grid that fails evenly spaced is sampled where
///   its timing sides' own runs put the modules.
/// - datamatrix-3 (threshold met): `#794.png`, a stretched, damaged real pack. The 2x2-region
///   photos read since each region is fitted and sampled on its own.
/// - datamatrix-5: the real-world pack photos of zxing-cpp issue 794.
const UPRIGHT: [(&str, Option<usize>, usize); 5] = [
    ("datamatrix-1", Some(30), 30),
    ("datamatrix-2", Some(13), 13),
    ("datamatrix-3", Some(26), 26),
    ("datamatrix-4", Some(21), 21),
    ("datamatrix-5", None, 3),
];

/// datamatrix-1 turned by 90, 180 and 270 degrees: zxing-cpp's threshold is 28 each.
const ROTATED_DM1: [(u32, usize, usize); 3] = [(1, 28, 28), (2, 28, 28), (3, 28, 28)];

fn check_floor(what: &str, decoded: usize, zxing: Option<usize>, ours: usize) {
    match zxing {
        Some(threshold) if ours >= threshold => {
            assert!(
                decoded >= threshold,
                "{what}: {decoded} < zxing-cpp's {threshold}"
            );
        }
        _ => assert_eq!(
            decoded, ours,
            "{what}: count changed (zxing-cpp: {zxing:?})"
        ),
    }
}

#[test]
fn zxing_samples_upright_meet_zxing_cpp_thresholds() {
    let Some(dir) = vectors() else { return };
    let tallies = run_samples(&dir, 0);
    report("0deg", &tallies);
    for (folder, zxing, ours) in UPRIGHT {
        let decoded = tallies.get(folder).map_or(0, |t| t.decoded);
        check_floor(folder, decoded, zxing, ours);
    }
}

#[test]
fn zxing_samples_rotated_meet_zxing_cpp_thresholds() {
    let Some(dir) = vectors() else { return };
    for (turns, zxing, ours) in ROTATED_DM1 {
        let tallies = run_samples(&dir, turns);
        report(&format!("{}deg", turns * 90), &tallies);
        let decoded = tallies.get("datamatrix-1").map_or(0, |t| t.decoded);
        check_floor(
            &format!("datamatrix-1 at {}deg", turns * 90),
            decoded,
            Some(zxing),
            ours,
        );
    }
}

#[test]
fn gs1_samples_keep_separators_and_report_d2() {
    let Some(dir) = vectors() else { return };
    let expected =
        "01095040000591012112345678p901\u{1D}101234567p\u{1D}171411208200http://www.gs1.org/demo/";
    for name in [
        "samples/datamatrix-1/gs1-figure-4.15.1-2-32x32.png",
        "samples/datamatrix-4/gs1-figure-4.15.1-2-44x20.png",
    ] {
        let symbols = decode_file(&dir.join(name), &DecodeOptions::default()).expect("decode");
        assert_eq!(symbols.len(), 1, "{name}");
        assert_eq!(symbols[0].text, expected, "{name}");
        assert_eq!(symbols[0].symbology, "]d2", "{name}");
        assert!(symbols[0].is_gs1());
    }
}

fn assert_all_found(frame: &SyntheticFrame, symbols: &[Symbol], what: &str) {
    for symbol in symbols {
        assert!(
            frame.labels.iter().any(|l| l.text == symbol.text),
            "{what}: misread {:?}",
            symbol.text
        );
        assert_eq!(symbol.symbology, "]d2", "{what}");
    }
    for label in &frame.labels {
        let found = symbols.iter().find(|s| s.text == label.text);
        let found = found.unwrap_or_else(|| panic!("{what}: missed label at {:?}", label.centre()));
        // The reported position must be where the label is.
        let (fx, fy) = found.centre();
        let (lx, ly) = label.centre();
        assert!(
            (fx - lx).hypot(fy - ly) < 12.0,
            "{what}: reported at {fx},{fy}, label at {lx},{ly}"
        );
    }
    assert_eq!(
        symbols.len(),
        frame.labels.len(),
        "{what}: duplicates in {symbols:?}"
    );
}

#[test]
fn every_label_in_generated_frames_is_found() {
    let mut rng = StdRng::seed_from_u64(20_240_601);
    for seed in 0..24u64 {
        let labels = (seed % 6 + 1) as usize;
        let texts: Vec<String> = (0..labels).map(|i| sample_pack_text(&mut rng, i)).collect();
        let frame = render_frame(&texts, &Conditions::default(), seed).expect("render");
        let symbols = decode_luma(&frame.image, &DecodeOptions::default());
        assert_all_found(&frame, &symbols, &format!("frame {seed} ({labels} labels)"));
    }
}

#[test]
fn harsh_frames_blur_noise_and_light() {
    // Stronger noise and lighting than the default frames. (A blur radius of 2 on 5-7 px
    // modules, which smears modules into their neighbours, defeats rxing: 15 of 24 found.)
    let harsh = Conditions {
        blur_radius: 1,
        noise: 28,
        uneven_light: 0.55,
        module_px: (4.5, 7.0),
        ..Conditions::default()
    };
    let mut rng = StdRng::seed_from_u64(77);
    for seed in 100..108u64 {
        let texts: Vec<String> = (0..3).map(|i| sample_pack_text(&mut rng, i)).collect();
        let frame = render_frame(&texts, &harsh, seed).expect("render");
        let symbols = decode_luma(&frame.image, &DecodeOptions::default());
        assert_all_found(&frame, &symbols, &format!("harsh frame {seed}"));
    }
}

#[test]
fn dim_noisy_frames_read_every_label() {
    let mut rng = StdRng::seed_from_u64(99);
    for seed in 0..6u64 {
        let texts: Vec<String> = (0..2).map(|i| sample_pack_text(&mut rng, i)).collect();
        let frame = render_frame(&texts, &Conditions::dim(), seed).expect("render");
        for options in [DecodeOptions::default(), DecodeOptions::video()] {
            let symbols = decode_luma(&frame.image, &options);
            assert_all_found(&frame, &symbols, &format!("dim frame {seed}"));
        }
    }
}

/// A webcam in poor light with its gain up (`Conditions::murky`): ink and paper some 50 grey
/// levels apart under noise of about 18. zxing-cpp 3.1.1 reads 2 of 13 such labels in the
/// side-by-side frame set; TraceDesk must read nearly all of these, and misread none.
#[test]
fn murky_frames_read_nearly_every_label_and_misread_none() {
    let mut rng = StdRng::seed_from_u64(4242);
    let (mut labels, mut read) = (0, 0);
    for seed in 300..308u64 {
        let texts: Vec<String> = (0..2).map(|i| sample_pack_text(&mut rng, i)).collect();
        let frame = render_frame(&texts, &Conditions::murky(), seed).expect("render");
        let symbols = decode_luma(&frame.image, &DecodeOptions::default());
        for symbol in &symbols {
            assert!(
                texts.contains(&symbol.text),
                "frame {seed}: misread {:?}",
                symbol.text
            );
        }
        labels += texts.len();
        read += texts
            .iter()
            .filter(|t| symbols.iter().any(|s| &s.text == *t))
            .count();
    }
    eprintln!("murky frames: {read} of {labels} labels read");
    assert!(read >= MURKY_FLOOR, "{read} of {labels} labels read");
}

/// Labels of the 16 in the murky frames above that must be read: 13 are today (7 before the
/// frame was denoised first); fewer is a regression.
const MURKY_FLOOR: usize = 13;

#[test]
fn noisy_frames_without_symbols_give_nothing() {
    for (seed, conditions) in [
        (40, Conditions::dim()),
        (41, Conditions::dim()),
        (42, Conditions::noisy()),
        (43, Conditions::close_up()),
    ] {
        let frame = render_frame(&[], &conditions, seed).expect("render");
        let symbols = decode_luma(&frame.image, &DecodeOptions::default());
        assert!(symbols.is_empty(), "frame {seed}: {symbols:?}");
    }
}

#[test]
fn large_modules_close_to_the_camera_are_found() {
    // Two packs of a tote held close: 10 to 20 px modules, any rotation, square and slim
    // rectangular symbols, sometimes beside dark print. Live video must read them too.
    let mut rng = StdRng::seed_from_u64(99);
    for seed in 0..8u64 {
        let texts: Vec<String> = (0..2).map(|i| sample_pack_text(&mut rng, i)).collect();
        let frame = render_frame(&texts, &Conditions::close_up(), seed).expect("render");
        for options in [DecodeOptions::default(), DecodeOptions::video()] {
            let symbols = decode_luma(&frame.image, &options);
            assert_all_found(&frame, &symbols, &format!("close frame {seed}"));
        }
    }
}

#[test]
fn large_modules_in_dim_light_are_found() {
    let dim_close = Conditions {
        noise: 20,
        exposure: 0.5,
        ..Conditions::close_up()
    };
    let mut rng = StdRng::seed_from_u64(123);
    for seed in 20..24u64 {
        let texts: Vec<String> = (0..2).map(|i| sample_pack_text(&mut rng, i)).collect();
        let frame = render_frame(&texts, &dim_close, seed).expect("render");
        let symbols = decode_luma(&frame.image, &DecodeOptions::video());
        assert_all_found(&frame, &symbols, &format!("dim close frame {seed}"));
    }
}

#[test]
fn the_reference_pack_reads_exactly() {
    let text = gs1_pack_text("09506000134352", "261231", "ABC123", "SER0001");
    assert_eq!(text, "01095060001343521726123110ABC123\u{1D}21SER0001");
    let frame =
        render_frame(std::slice::from_ref(&text), &Conditions::default(), 3).expect("render");
    let symbols = decode_luma(&frame.image, &DecodeOptions::default());
    assert_all_found(&frame, &symbols, "reference pack");
}

#[test]
fn region_of_interest_finds_the_symbol_in_video_mode() {
    let mut rng = StdRng::seed_from_u64(5);
    let texts: Vec<String> = (0..2).map(|i| sample_pack_text(&mut rng, i)).collect();
    let frame = render_frame(&texts, &Conditions::default(), 11).expect("render");
    let first = decode_luma(&frame.image, &DecodeOptions::video());
    assert_all_found(&frame, &first, "first video frame");
    let hinted = DecodeOptions {
        regions_of_interest: first.iter().map(Symbol::bounds).collect(),
        ..DecodeOptions::video()
    };
    let again = decode_luma(&frame.image, &hinted);
    assert_all_found(&frame, &again, "hinted video frame");
}

#[test]
fn frames_without_symbols_give_nothing() {
    let frame = render_frame(&[], &Conditions::default(), 9).expect("render");
    assert!(decode_luma(&frame.image, &DecodeOptions::default()).is_empty());
    assert!(
        decode_luma(
            &GrayImage::new(FRAME_WIDTH, FRAME_HEIGHT),
            &DecodeOptions::default()
        )
        .is_empty()
    );
    assert!(decode_luma(&GrayImage::new(0, 0), &DecodeOptions::default()).is_empty());
    assert!(decode_luma(&GrayImage::new(1, 1), &DecodeOptions::default()).is_empty());
    // A region hint outside the image is harmless.
    let stray = DecodeOptions {
        regions_of_interest: vec![Region {
            x: 5000,
            y: 5000,
            width: 100,
            height: 100,
        }],
        ..DecodeOptions::video()
    };
    assert!(decode_luma(&frame.image, &stray).is_empty());
}

#[test]
fn bad_files_are_errors_not_panics() {
    let dir = tempfile::tempdir().expect("tempdir");
    let missing = dir.path().join("nope.png");
    assert!(matches!(
        decode_file(&missing, &DecodeOptions::default()),
        Err(DecodeError::NotFound { .. })
    ));

    let text = dir.path().join("notes.png");
    std::fs::write(&text, b"these are not pixels").expect("write");
    let err = decode_file(&text, &DecodeOptions::default()).unwrap_err();
    assert!(matches!(err, DecodeError::NotAnImage { .. }), "{err}");

    // A real PNG cut in half.
    let frame = render_frame(&[], &Conditions::default(), 1).expect("render");
    let mut png = Vec::new();
    frame
        .image
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .expect("encode png");
    let truncated = dir.path().join("cut.png");
    std::fs::write(&truncated, &png[..png.len() / 2]).expect("write");
    let err = decode_file(&truncated, &DecodeOptions::default()).unwrap_err();
    assert!(matches!(err, DecodeError::Damaged { .. }), "{err}");
    assert!(err.to_string().contains("cut.png"), "{err}");

    let folder = dir.path().join("a-folder.png");
    std::fs::create_dir(&folder).expect("mkdir");
    assert!(decode_file(&folder, &DecodeOptions::default()).is_err());
}

#[test]
fn decode_file_reads_a_saved_frame() {
    let text = gs1_pack_text("09506000134352", "261231", "ABC123", "SER0001");
    let frame =
        render_frame(std::slice::from_ref(&text), &Conditions::default(), 4).expect("render");
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("frame.png");
    frame.image.save(&path).expect("save");
    let symbols = decode_file(&path, &DecodeOptions::default()).expect("decode");
    assert_all_found(&frame, &symbols, "saved frame");
}
