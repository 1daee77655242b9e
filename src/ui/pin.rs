//! The pharmacist PIN: salted argon2 hashes and a gate that slows down guessing.
//!
//! The store keeps only the PHC string of an argon2id hash with a random salt; the PIN itself
//! lives in memory only while it is typed. Hashing is slow by design, so the desk worker does it
//! ([`super::desk::DeskRequest::CheckPin`]), never the UI thread.
//!
//! [`PinGate`] is pure (the caller passes the time): after each wrong PIN the next attempt waits
//! longer (1 s, 2 s, 4 s ... capped at five minutes), so a four-digit PIN cannot be walked
//! through at the desk, while a pharmacist who mistypes once barely notices.

use std::time::{Duration, Instant};

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};

use super::desk::DeskError;

/// The shortest PIN accepted when setting one.
pub const MIN_PIN_LENGTH: usize = 4;
/// The longest wait between attempts.
const MAX_DELAY: Duration = Duration::from_secs(300);
/// Wrong attempts allowed before the delays start.
const FREE_ATTEMPTS: u32 = 1;

/// Hashes a new PIN with a fresh random salt (PHC string).
pub fn hash(pin: &str) -> Result<String, DeskError> {
    if pin.chars().count() < MIN_PIN_LENGTH || !pin.chars().all(|c| c.is_ascii_digit()) {
        return Err(DeskError(format!(
            "A PIN is at least {MIN_PIN_LENGTH} digits, digits only."
        )));
    }
    let salt_bytes: [u8; 16] = rand::random();
    let salt = SaltString::encode_b64(&salt_bytes)
        .map_err(|e| DeskError(format!("cannot make a salt for the PIN: {e}")))?;
    Argon2::default()
        .hash_password(pin.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| DeskError(format!("cannot hash the PIN: {e}")))
}

/// Whether `pin` matches the stored hash. A stored hash that does not parse matches nothing.
pub fn verify(pin: &str, stored: &str) -> bool {
    PasswordHash::new(stored)
        .map(|parsed| {
            Argon2::default()
                .verify_password(pin.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

/// Counts wrong PINs and says when the next attempt is allowed.
#[derive(Debug, Clone, Default)]
pub struct PinGate {
    failures: u32,
    locked_until: Option<Instant>,
}

impl PinGate {
    /// How long until an attempt is allowed; `None` when one is allowed now.
    pub fn wait(&self, now: Instant) -> Option<Duration> {
        self.locked_until
            .and_then(|until| until.checked_duration_since(now))
            .filter(|d| !d.is_zero())
    }

    /// Records a wrong PIN at `now`.
    pub fn failed(&mut self, now: Instant) {
        self.failures = self.failures.saturating_add(1);
        let excess = self.failures.saturating_sub(FREE_ATTEMPTS);
        if excess > 0 {
            let delay = Duration::from_secs(1u64 << (excess - 1).min(16)).min(MAX_DELAY);
            self.locked_until = now.checked_add(delay);
        }
    }

    /// A right PIN resets the count.
    pub fn succeeded(&mut self) {
        *self = Self::default();
    }

    /// Wrong PINs since the last right one.
    pub fn failures(&self) -> u32 {
        self.failures
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_is_salted_and_verifies() {
        let a = hash("2468").unwrap();
        let b = hash("2468").unwrap();
        assert_ne!(a, b, "two hashes of one PIN must differ by their salt");
        assert!(a.starts_with("$argon2id$"));
        assert!(verify("2468", &a));
        assert!(verify("2468", &b));
        assert!(!verify("2469", &a));
        assert!(!verify("2468", "not a hash"));
    }

    #[test]
    fn short_or_non_digit_pins_are_refused() {
        assert!(hash("123").is_err());
        assert!(hash("12a4").is_err());
    }

    #[test]
    fn delays_grow_after_the_first_mistake() {
        let start = Instant::now();
        let mut gate = PinGate::default();
        assert_eq!(gate.wait(start), None);
        gate.failed(start);
        assert_eq!(gate.wait(start), None, "one mistype costs nothing");
        gate.failed(start);
        assert_eq!(gate.wait(start), Some(Duration::from_secs(1)));
        gate.failed(start);
        assert_eq!(gate.wait(start), Some(Duration::from_secs(2)));
        gate.failed(start);
        assert_eq!(gate.wait(start), Some(Duration::from_secs(4)));
        assert_eq!(gate.wait(start + Duration::from_secs(5)), None);
        for _ in 0..40 {
            gate.failed(start);
        }
        assert_eq!(gate.wait(start), Some(MAX_DELAY));
        gate.succeeded();
        assert_eq!(gate.wait(start), None);
        assert_eq!(gate.failures(), 0);
    }
}
