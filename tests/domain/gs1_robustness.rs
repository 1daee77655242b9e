//! The parser never panics and never accepts garbage silently: random and mutated scans, a
//! deterministic stand-in for the cargo-fuzz target in tests/fuzz (run that one for depth).

use chrono::NaiveDate;
use rand::{Rng, SeedableRng, rngs::StdRng};
use tracedesk::gs1::{self, ParseContext};

const SEEDS: &[&[u8]] = &[
    b"]d20100307773105025172811001023A45\x1d21SN0001",
    b"(01)09506000134352(17)261231(10)23A(21)S1",
    b"https://x.example/01/09506000134352/10/23A/21/S1?17=261231",
    b"]C100106141411234567897",
    b"[)>\x1e05\x1d0109506000134352\x1d21A\x1e\x04",
    b"]E02112345678900",
];

#[test]
fn random_and_mutated_scans_never_panic_and_valid_ones_round_trip() {
    let ctx = ParseContext::new(NaiveDate::from_ymd_opt(2026, 11, 24).unwrap());
    let mut rng = StdRng::seed_from_u64(0x7ace_de5c);
    let mut valid = 0;
    // A longer soak: TRACEDESK_FUZZ_ITERATIONS=5000000 cargo test --release --test gs1_robustness
    let iterations: usize = std::env::var("TRACEDESK_FUZZ_ITERATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(60_000);
    for i in 0..iterations {
        let mut data: Vec<u8> = if i % 3 == 0 {
            (0..rng.random_range(0..64)).map(|_| rng.random()).collect()
        } else {
            SEEDS[i % SEEDS.len()].to_vec()
        };
        for _ in 0..rng.random_range(0..4) {
            if data.is_empty() {
                break;
            }
            let at = rng.random_range(0..data.len());
            match rng.random_range(0..4) {
                0 => data[at] = rng.random(),
                1 => {
                    data.remove(at);
                }
                2 => {
                    const ALPHABET: &[u8] = b"0123456789()\x1d/%?&=";
                    data.insert(at, ALPHABET[rng.random_range(0..ALPHABET.len())]);
                }
                _ => data.truncate(at),
            }
        }
        let scan = gs1::parse(&data, &ctx);
        if scan.ok() {
            valid += 1;
            assert!(!scan.elements.is_empty());
            let again = gs1::parse(scan.hri().as_bytes(), &ctx);
            assert!(
                again.ok(),
                "{:?} -> {} failed: {:?}",
                data,
                scan.hri(),
                again.errors
            );
            assert_eq!(again.elements, scan.elements, "{data:?}");
        } else {
            assert!(!scan.errors.is_empty());
            assert!(scan.errors.iter().all(|e| !e.message.is_empty()));
        }
    }
    // Mutations keep some inputs valid: the round-trip check above is exercised.
    assert!(valid > 1_000, "only {valid} valid inputs");
}
