//! Generated webcam frames saved as PNG files and read back through `decode_file`, the path
//! `tracedesk decode` takes.
//!
//! With `TRACEDESK_FRAMES_DIR` set, the frames (and a `frames.json` listing each file's
//! expected texts) are written there and kept, so the same files can be fed to `tracedesk
//! decode` and to another decoder for a side-by-side timing; `TRACEDESK_FRAMES` sets how many
//! (default 12). Either way every label of every saved frame must read back exactly. The
//! `tracedesk decode` command, which decodes several files at once, must report them in order.

use std::path::{Path, PathBuf};

use rand::SeedableRng;
use rand::rngs::StdRng;
use tracedesk::camera::synth::{Conditions, render_frame, sample_pack_text};
use tracedesk::camera::{DecodeOptions, decode_file};

#[test]
fn saved_frames_read_back_through_decode_file() {
    let kept = std::env::var_os("TRACEDESK_FRAMES_DIR").map(PathBuf::from);
    let count: u64 = std::env::var("TRACEDESK_FRAMES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(12);
    let scratch = tempfile::tempdir().expect("tempdir");
    let dir = kept.clone().unwrap_or_else(|| scratch.path().to_owned());
    std::fs::create_dir_all(&dir).expect("create frames directory");

    let mut rng = StdRng::seed_from_u64(4242);
    let mut listing = serde_json::Map::new();
    let mut wrong = Vec::new();
    for seed in 0..count {
        let labels = (seed % 6 + 1) as usize;
        let texts: Vec<String> = (0..labels).map(|i| sample_pack_text(&mut rng, i)).collect();
        let frame = render_frame(&texts, &Conditions::default(), 9000 + seed).expect("render");
        let name = format!("frame-{seed:03}.png");
        let path = dir.join(&name);
        frame.image.save(&path).expect("save frame");
        listing.insert(name.clone(), serde_json::json!(texts));

        let symbols = decode_file(&path, &DecodeOptions::default()).expect("decode saved frame");
        let mut read: Vec<&str> = symbols.iter().map(|s| s.text.as_str()).collect();
        let mut want: Vec<&str> = texts.iter().map(String::as_str).collect();
        read.sort_unstable();
        want.sort_unstable();
        if read != want {
            wrong.push(format!("{name}: read {read:?}, want {want:?}"));
        }
    }
    if kept.is_some() {
        std::fs::write(
            dir.join("frames.json"),
            serde_json::to_string_pretty(&listing).expect("listing as JSON"),
        )
        .expect("write frames.json");
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}

#[test]
fn decode_command_reports_files_in_the_order_given() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut rng = StdRng::seed_from_u64(31);
    let mut args = Vec::new();
    let mut expected = Vec::new();
    for seed in 0..4u64 {
        let labels = (seed % 3 + 1) as usize;
        let texts: Vec<String> = (0..labels).map(|i| sample_pack_text(&mut rng, i)).collect();
        let frame = render_frame(&texts, &Conditions::default(), 500 + seed).expect("render");
        let path = dir.path().join(format!("pack-{seed}.png"));
        frame.image.save(&path).expect("save frame");
        args.push(path.display().to_string());
        expected.push(Some(texts));
        if seed == 1 {
            // An unreadable file in the middle is reported in its place; the rest still decode.
            args.push(dir.path().join("missing.png").display().to_string());
            expected.push(None);
        }
    }
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_tracedesk"))
        .arg("decode")
        .arg("--json")
        .args(&args)
        .output()
        .expect("run tracedesk decode");
    assert_eq!(
        output.status.code(),
        Some(1),
        "a missing file fails the run"
    );
    let stdout = String::from_utf8(output.stdout).expect("UTF-8 output");
    let lines: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect();
    assert_eq!(lines.len(), args.len(), "{stdout}");
    for ((line, arg), want) in lines.iter().zip(&args).zip(&expected) {
        assert_eq!(line["file"], arg.as_str());
        let mut read: Vec<&str> = line["symbols"]
            .as_array()
            .expect("symbols array")
            .iter()
            .filter_map(|s| s["text"].as_str())
            .collect();
        read.sort_unstable();
        match want {
            Some(texts) => {
                // Exactly what the library reads from that file, and nothing that is not there.
                let mut library: Vec<String> =
                    decode_file(Path::new(arg), &DecodeOptions::default())
                        .expect("decode in process")
                        .into_iter()
                        .map(|s| s.text)
                        .collect();
                library.sort_unstable();
                assert_eq!(read, library, "{arg}");
                assert!(!read.is_empty(), "{arg}");
                assert!(read.iter().all(|r| texts.iter().any(|t| t == r)), "{arg}");
                assert!(line.get("error").is_none(), "{arg}");
            }
            None => {
                assert!(read.is_empty());
                let error = line["error"].as_str().expect("error message");
                assert!(error.contains("missing.png"), "{error}");
            }
        }
    }
}

/// Frame sets by category for a side-by-side run against another decoder, written only when
/// `TRACEDESK_FRAME_SETS_DIR` is set (`cargo test --test camera_frames frame_sets -- --ignored`):
/// one subdirectory per category, each with its PNG frames and a `frames.json` of expected
/// texts. Every frame must hold what the listing says (the generator's own bookkeeping).
#[test]
#[ignore = "writes frame sets for benchmarking; needs TRACEDESK_FRAME_SETS_DIR"]
fn frame_sets_for_side_by_side_runs() {
    let Some(root) = std::env::var_os("TRACEDESK_FRAME_SETS_DIR").map(PathBuf::from) else {
        return;
    };
    let per_set: u64 = std::env::var("TRACEDESK_FRAMES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(8);
    let still = Conditions {
        max_rotation_deg: 0.0,
        max_tilt_deg: 0.0,
        blur_radius: 0,
        noise: 3,
        uneven_light: 0.1,
        ..Conditions::default()
    };
    let sets: [(&str, Conditions, usize); 9] = [
        ("clean", still, 2),
        (
            "rotated",
            Conditions {
                max_tilt_deg: 5.0,
                ..Conditions::default()
            },
            3,
        ),
        ("noisy", Conditions::noisy(), 3),
        ("dim", Conditions::dim(), 2),
        ("murky", Conditions::murky(), 2),
        (
            "small",
            Conditions {
                module_px: (2.5, 3.5),
                ..Conditions::default()
            },
            3,
        ),
        ("large", Conditions::close_up(), 2),
        ("totes", Conditions::default(), 6),
        ("empty", Conditions::noisy(), 0),
    ];
    let mut rng = StdRng::seed_from_u64(777);
    for (set, (name, conditions, most)) in sets.iter().enumerate() {
        let dir = root.join(name);
        std::fs::create_dir_all(&dir).expect("create frame set directory");
        let mut listing = serde_json::Map::new();
        for i in 0..per_set {
            let labels = if *most == 0 {
                0
            } else {
                (i as usize % most) + 1
            };
            let texts: Vec<String> = (0..labels).map(|k| sample_pack_text(&mut rng, k)).collect();
            let seed = 70_000 + set as u64 * 1000 + i;
            let frame = render_frame(&texts, conditions, seed).expect("render");
            assert_eq!(frame.labels.len(), texts.len());
            let file = format!("{name}-{i:03}.png");
            frame.image.save(dir.join(&file)).expect("save frame");
            listing.insert(file, serde_json::json!(texts));
        }
        std::fs::write(
            dir.join("frames.json"),
            serde_json::to_string_pretty(&listing).expect("listing as JSON"),
        )
        .expect("write frames.json");
    }
}
