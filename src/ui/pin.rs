//! The pharmacist PIN: what a new PIN must be, its salted argon2 hash, and a brake on guessing
//! that survives a restart.
//!
//! The store keeps only the PHC string of an argon2id hash with a random salt; the PIN itself
//! lives in memory only while it is typed. A PIN has at least [`MIN_PIN_LENGTH`] digits: four
//! digits fall to an offline search of the hash in seconds, six take a million hashes. Hashing
//! is slow by design, so the kiosk's desk worker does it, never the UI thread. A hash made with
//! older, weaker parameters keeps working until the PIN is changed (argon2 reads its
//! parameters from the hash).
//!
//! [`PinGate`] is the brake, pure (the caller passes the time): after each wrong PIN the next
//! attempt waits longer (1 s, 2 s, 4 s ... capped at five minutes), so a six-digit PIN cannot
//! be walked through at the desk, while a pharmacist who mistypes once barely notices. Its
//! count and lockout live in the store ([`crate::store::pin`]), so restarting the kiosk resets
//! nothing. [`check`] and [`change`] are the only ways in, for the kiosk and `tracedesk pin`
//! alike; both count a wrong PIN and refuse to check one at all while locked.

use std::fmt;
use std::time::Duration;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use chrono::{DateTime, TimeDelta, Utc};

use crate::store::{PinRecord, Store, StoreError};

/// The shortest PIN accepted when setting one.
pub const MIN_PIN_LENGTH: usize = 6;
/// The longest PIN accepted (and the most digits the pad takes).
pub const MAX_PIN_LENGTH: usize = 12;
/// The longest wait between attempts.
const MAX_DELAY: Duration = Duration::from_secs(300);
/// Wrong attempts allowed before the delays start.
const FREE_ATTEMPTS: u32 = 1;

/// Argon2id memory per hash, in KiB: 64 MiB, RFC 9106's second recommended setting. With
/// three passes a check takes a fraction of a second on a kiosk PC, and each guess offline
/// costs the same.
const MEMORY_KIB: u32 = 64 * 1024;
const PASSES: u32 = 3;
/// The most a stored hash may ask for when a PIN is checked against it: a hash written by
/// someone else asking for gigabytes would stall the kiosk or abort it out of memory.
const MAX_MEMORY_KIB: u32 = 256 * 1024;
const MAX_PASSES: u32 = 10;

/// Why a PIN was not set or not accepted, in words for the pharmacist.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PinError {
    #[error("a PIN has at least {MIN_PIN_LENGTH} digits")]
    TooShort,
    #[error("a PIN has at most {MAX_PIN_LENGTH} digits")]
    TooLong,
    #[error("a PIN is digits only")]
    NotDigits,
    #[error("the two new PINs differ")]
    Mismatch,
    #[error("no pharmacist PIN is set yet")]
    NotSet,
    #[error("a PIN is set: the current PIN is needed to change it")]
    CurrentNeeded,
    #[error("wrong PIN{}", next_attempt(.wait))]
    Wrong { wait: Option<Duration> },
    #[error("too many wrong PINs: not checked; try again in {} s", seconds(.wait))]
    Locked { wait: Duration },
    #[error("the stored PIN hash is not one TraceDesk can check ({0}); set a new PIN")]
    BadHash(String),
    #[error("cannot hash the PIN: {0}")]
    Hash(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn seconds(wait: &Duration) -> u64 {
    wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
}

fn next_attempt(wait: &Option<Duration>) -> String {
    wait.map(|w| format!("; the next attempt in {} s", seconds(&w)))
        .unwrap_or_default()
}

/// A PIN fit to be set: [`MIN_PIN_LENGTH`] to [`MAX_PIN_LENGTH`] ASCII digits.
#[derive(Clone, PartialEq, Eq)]
pub struct NewPin(String);

impl fmt::Debug for NewPin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never in a log line or a panic message.
        f.write_str("NewPin(..)")
    }
}

impl NewPin {
    pub fn parse(text: &str) -> Result<NewPin, PinError> {
        if !text.chars().all(|c| c.is_ascii_digit()) {
            return Err(PinError::NotDigits);
        }
        match text.len() {
            n if n < MIN_PIN_LENGTH => Err(PinError::TooShort),
            n if n > MAX_PIN_LENGTH => Err(PinError::TooLong),
            _ => Ok(NewPin(text.to_owned())),
        }
    }

    /// A new PIN typed twice.
    pub fn confirmed(first: &str, again: &str) -> Result<NewPin, PinError> {
        let pin = NewPin::parse(first)?;
        if first != again {
            return Err(PinError::Mismatch);
        }
        Ok(pin)
    }
}

fn hasher() -> Result<Argon2<'static>, PinError> {
    let params =
        Params::new(MEMORY_KIB, PASSES, 1, None).map_err(|e| PinError::Hash(e.to_string()))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// Hashes a new PIN with a fresh random salt (PHC string).
pub fn hash(pin: &NewPin) -> Result<String, PinError> {
    let salt_bytes: [u8; 16] = rand::random();
    let salt = SaltString::encode_b64(&salt_bytes).map_err(|e| PinError::Hash(e.to_string()))?;
    hasher()?
        .hash_password(pin.0.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| PinError::Hash(e.to_string()))
}

/// Whether `pin` matches the stored hash, with the parameters the hash names (within bounds).
pub fn verify(pin: &str, stored: &str) -> Result<bool, PinError> {
    let parsed = PasswordHash::new(stored).map_err(|e| PinError::BadHash(e.to_string()))?;
    let params = Params::try_from(&parsed).map_err(|e| PinError::BadHash(e.to_string()))?;
    if params.m_cost() > MAX_MEMORY_KIB || params.t_cost() > MAX_PASSES {
        return Err(PinError::BadHash(format!(
            "it asks for {} KiB and {} passes",
            params.m_cost(),
            params.t_cost()
        )));
    }
    match hasher()?.verify_password(pin.as_bytes(), &parsed) {
        Ok(()) => Ok(true),
        Err(argon2::password_hash::Error::Password) => Ok(false),
        Err(e) => Err(PinError::BadHash(e.to_string())),
    }
}

/// Counts wrong PINs and says when the next attempt is allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PinGate {
    failures: u32,
    locked_until: Option<DateTime<Utc>>,
}

impl PinGate {
    /// The brake as the store last recorded it.
    pub fn of(record: &PinRecord) -> PinGate {
        PinGate {
            failures: record.failures,
            locked_until: record.locked_until,
        }
    }

    fn store_in(self, record: &mut PinRecord) {
        record.failures = self.failures;
        record.locked_until = self.locked_until;
    }

    /// How long until an attempt is allowed; `None` when one is allowed now.
    pub fn wait(&self, now: DateTime<Utc>) -> Option<Duration> {
        self.locked_until
            .and_then(|until| (until - now).to_std().ok())
            .filter(|d| !d.is_zero())
    }

    /// Records a wrong PIN at `now`.
    pub fn failed(&mut self, now: DateTime<Utc>) {
        self.failures = self.failures.saturating_add(1);
        if let Some(delay) = delay(self.failures) {
            self.locked_until = now.checked_add_signed(delay);
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

    /// A lockout reaching further than the failures earn means the clock was set back since:
    /// count it from `now` instead, or the kiosk would stay locked until the clock caught up.
    fn settle(&mut self, now: DateTime<Utc>) {
        let earned = delay(self.failures).and_then(|d| now.checked_add_signed(d));
        if let (Some(until), Some(earned)) = (self.locked_until, earned)
            && until > earned
        {
            self.locked_until = Some(earned);
        }
    }
}

/// The lockout after `failures` wrong PINs in a row.
fn delay(failures: u32) -> Option<TimeDelta> {
    let excess = failures.checked_sub(FREE_ATTEMPTS).filter(|&e| e > 0)?;
    let delay = Duration::from_secs(1u64 << (excess - 1).min(16)).min(MAX_DELAY);
    TimeDelta::from_std(delay).ok()
}

/// Lets one attempt through the brake at `now` and gives the hash to check it against. The
/// attempt is counted as wrong until it proves right, so attempts made at once from the kiosk
/// and the command line all count.
fn admit(record: &mut PinRecord, now: DateTime<Utc>) -> Result<String, PinError> {
    let Some(hash) = record.hash.clone() else {
        return Err(PinError::NotSet);
    };
    let mut gate = PinGate::of(record);
    gate.settle(now);
    let wait = gate.wait(now);
    if wait.is_none() {
        gate.failed(now);
    }
    gate.store_in(record);
    match wait {
        Some(wait) => Err(PinError::Locked { wait }),
        None => Ok(hash),
    }
}

/// Checks `pin` at `now`: `Ok` when it is the PIN in force, which resets the count of wrong
/// ones. Refused without checking while locked; a wrong PIN is counted in the store.
pub fn check(store: &mut Store, pin: &str, now: DateTime<Utc>) -> Result<(), PinError> {
    let hash = store.update_pin_record(|record| admit(record, now))??;
    if verify(pin, &hash)? {
        store.update_pin_record(|record| {
            // Unless the PIN was changed meanwhile, which made its own reset.
            if record.hash.as_deref() == Some(hash.as_str()) {
                let mut gate = PinGate::of(record);
                gate.succeeded();
                gate.store_in(record);
            }
        })?;
        Ok(())
    } else {
        let wait = PinGate::of(&store.pin_record()?).wait(now);
        Err(PinError::Wrong { wait })
    }
}

/// Sets `new` as the PIN at `now`. When a PIN is set, `current` must be it (checked and
/// counted as [`check`] does); `None` is accepted only while no PIN is set.
pub fn change(
    store: &mut Store,
    current: Option<&str>,
    new: &NewPin,
    now: DateTime<Utc>,
) -> Result<(), PinError> {
    let in_force = store.update_pin_record(|record| match (&record.hash, current) {
        (None, _) => Ok(None),
        (Some(_), None) => Err(PinError::CurrentNeeded),
        (Some(_), Some(_)) => admit(record, now).map(Some),
    })??;
    if let (Some(in_force), Some(current)) = (&in_force, current)
        && !verify(current, in_force)?
    {
        let wait = PinGate::of(&store.pin_record()?).wait(now);
        return Err(PinError::Wrong { wait });
    }
    let hash = hash(new)?;
    store.update_pin_record(|record| {
        *record = PinRecord {
            hash: Some(hash),
            ..PinRecord::default()
        };
    })?;
    tracing::info!(
        actor = store.actor().unwrap_or(""),
        "pharmacist PIN changed"
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_790_000_000 + seconds, 0).unwrap()
    }

    fn pin(text: &str) -> NewPin {
        NewPin::parse(text).unwrap()
    }

    fn store(dir: &tempfile::TempDir) -> Store {
        Store::open(&dir.path().join("pin.db")).unwrap()
    }

    #[test]
    fn new_pins_are_six_to_twelve_digits() {
        assert!(matches!(NewPin::parse("12345"), Err(PinError::TooShort)));
        assert!(matches!(NewPin::parse("1234"), Err(PinError::TooShort)));
        assert!(matches!(NewPin::parse("12a456"), Err(PinError::NotDigits)));
        assert!(matches!(NewPin::parse("12345６"), Err(PinError::NotDigits)));
        assert!(matches!(
            NewPin::parse("1234567890123"),
            Err(PinError::TooLong)
        ));
        assert!(NewPin::parse("123456").is_ok());
        assert!(NewPin::parse("123456789012").is_ok());
        assert!(matches!(
            NewPin::confirmed("246813", "246812"),
            Err(PinError::Mismatch)
        ));
        assert_eq!(
            PinError::TooShort.to_string(),
            "a PIN has at least 6 digits"
        );
        assert_eq!(format!("{:?}", pin("246813")), "NewPin(..)");
    }

    #[test]
    fn hash_is_salted_argon2id_and_verifies() {
        let a = hash(&pin("246813")).unwrap();
        let b = hash(&pin("246813")).unwrap();
        assert_ne!(a, b, "two hashes of one PIN must differ by their salt");
        assert!(a.starts_with("$argon2id$v=19$m=65536,t=3,p=1$"), "{a}");
        assert!(verify("246813", &a).unwrap());
        assert!(verify("246813", &b).unwrap());
        assert!(!verify("246814", &a).unwrap());
        assert!(matches!(
            verify("246813", "not a hash"),
            Err(PinError::BadHash(_))
        ));
    }

    #[test]
    fn a_hash_made_with_the_old_parameters_still_verifies() {
        // What stores made before six-digit PINs hold: argon2's defaults, four digits.
        let salt = SaltString::encode_b64(&[7u8; 16]).unwrap();
        let old = Argon2::default()
            .hash_password(b"2468", &salt)
            .unwrap()
            .to_string();
        assert!(old.contains("m=19456,t=2"), "{old}");
        assert!(verify("2468", &old).unwrap());
        assert!(!verify("2469", &old).unwrap());
    }

    #[test]
    fn a_hash_asking_for_gigabytes_is_refused_unchecked() {
        let huge = "$argon2id$v=19$m=4194304,t=3,p=1$BwcHBwcHBwcHBwcHBwcHBw$\
                    AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
        assert!(matches!(verify("246813", huge), Err(PinError::BadHash(_))));
    }

    #[test]
    fn delays_grow_after_the_first_mistake() {
        let mut gate = PinGate::default();
        assert_eq!(gate.wait(at(0)), None);
        gate.failed(at(0));
        assert_eq!(gate.wait(at(0)), None, "one mistype costs nothing");
        gate.failed(at(0));
        assert_eq!(gate.wait(at(0)), Some(Duration::from_secs(1)));
        gate.failed(at(0));
        assert_eq!(gate.wait(at(0)), Some(Duration::from_secs(2)));
        gate.failed(at(0));
        assert_eq!(gate.wait(at(0)), Some(Duration::from_secs(4)));
        assert_eq!(gate.wait(at(5)), None);
        for _ in 0..40 {
            gate.failed(at(0));
        }
        assert_eq!(gate.wait(at(0)), Some(MAX_DELAY));
        gate.succeeded();
        assert_eq!(gate.wait(at(0)), None);
        assert_eq!(gate.failures(), 0);
    }

    #[test]
    fn a_clock_set_back_does_not_lock_for_longer_than_earned() {
        let mut gate = PinGate::default();
        for _ in 0..3 {
            gate.failed(at(3600));
        }
        assert_eq!(gate.wait(at(0)), Some(Duration::from_secs(3602)));
        gate.settle(at(0));
        assert_eq!(gate.wait(at(0)), Some(Duration::from_secs(2)));
    }

    #[test]
    fn wrong_pins_and_the_lockout_survive_reopening_the_store() {
        let dir = tempfile::tempdir().unwrap();
        change(&mut store(&dir), None, &pin("246813"), at(0)).unwrap();

        let mut first = store(&dir);
        assert!(matches!(
            check(&mut first, "111111", at(10)),
            Err(PinError::Wrong { wait: None })
        ));
        let second = check(&mut first, "222222", at(10));
        assert!(
            matches!(second, Err(PinError::Wrong { wait: Some(w) }) if w == Duration::from_secs(1)),
            "{second:?}"
        );
        drop(first);

        // A restart: the count and the lockout are read back from the file.
        let mut again = store(&dir);
        let record = again.pin_record().unwrap();
        assert_eq!(record.failures, 2);
        assert_eq!(record.locked_until, Some(at(11)));
        let locked = check(&mut again, "246813", at(10));
        assert!(
            matches!(locked, Err(PinError::Locked { wait }) if wait == Duration::from_secs(1)),
            "even the right PIN is not checked while locked: {locked:?}"
        );
        assert_eq!(again.pin_record().unwrap().failures, 2, "not counted");

        // The third wrong one locks for longer.
        assert!(matches!(
            check(&mut again, "333333", at(11)),
            Err(PinError::Wrong { wait: Some(w) }) if w == Duration::from_secs(2)
        ));
        check(&mut again, "246813", at(13)).unwrap();
        assert_eq!(again.pin_record().unwrap().failures, 0);
        assert_eq!(again.pin_record().unwrap().locked_until, None);
    }

    #[test]
    fn changing_the_pin_needs_the_current_one_and_counts_a_wrong_one() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = store(&dir);
        assert!(matches!(
            check(&mut s, "246813", at(0)),
            Err(PinError::NotSet)
        ));
        change(&mut s, None, &pin("246813"), at(0)).unwrap();
        assert!(matches!(
            change(&mut s, None, &pin("135790"), at(1)),
            Err(PinError::CurrentNeeded)
        ));
        assert!(matches!(
            change(&mut s, Some("000000"), &pin("135790"), at(1)),
            Err(PinError::Wrong { .. })
        ));
        assert_eq!(s.pin_record().unwrap().failures, 1);
        check(&mut s, "000000", at(2)).unwrap_err();
        assert!(matches!(
            change(&mut s, Some("246813"), &pin("135790"), at(2)),
            Err(PinError::Locked { .. })
        ));
        change(&mut s, Some("246813"), &pin("135790"), at(5)).unwrap();
        assert_eq!(s.pin_record().unwrap().failures, 0);
        check(&mut s, "135790", at(6)).unwrap();
        assert!(matches!(
            check(&mut s, "246813", at(7)),
            Err(PinError::Wrong { .. })
        ));
    }
}
