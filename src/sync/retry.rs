//! When to try upstream again after a transient failure: capped exponential backoff with
//! jitter, overridden by the server's own `Retry-After`.
//!
//! The schedule is persisted per event in the outbox (`next_attempt_at`), so it is computed here
//! as a plain delay rather than driven by a retry loop: the worker defers a failed batch to
//! `now + delay`, sleeps, and the outbox hands the batch back when it is due, across restarts.
//!
//! Jitter keeps a fleet of kiosks that lost the network together from hammering upstream in
//! lockstep when it comes back.

use std::time::Duration;

use chrono::{DateTime, Utc};
use rand::Rng;

/// Capped exponential backoff with "equal jitter": the n-th consecutive failure waits a random
/// time between half and all of `min(cap, base * 2^(n-1))`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    pub base: Duration,
    pub cap: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            base: Duration::from_secs(1),
            cap: Duration::from_secs(300),
        }
    }
}

impl Backoff {
    /// The ceiling of the delay after `failures` consecutive failures (1 = the first failure).
    pub fn ceiling(&self, failures: u32) -> Duration {
        let doublings = failures.saturating_sub(1).min(31);
        self.base
            .checked_mul(1 << doublings)
            .map_or(self.cap, |delay| delay.min(self.cap))
    }

    /// The delay after `failures` consecutive failures, jittered with `rng`.
    pub fn delay(&self, failures: u32, rng: &mut impl Rng) -> Duration {
        let ceiling = self.ceiling(failures);
        let half = ceiling / 2;
        let spread = ceiling.saturating_sub(half).as_millis();
        let spread = u64::try_from(spread).unwrap_or(u64::MAX);
        half + Duration::from_millis(rng.random_range(0..=spread))
    }

    /// The delay before the next attempt: the server's `Retry-After` when it gave one (capped,
    /// so a misconfigured server cannot silence the desk for a week), else the jittered backoff.
    pub fn next_delay(
        &self,
        failures: u32,
        retry_after: Option<Duration>,
        rng: &mut impl Rng,
    ) -> Duration {
        match retry_after {
            Some(wait) => wait.min(self.cap.max(Duration::from_secs(3600))),
            None => self.delay(failures, rng),
        }
    }
}

/// Reads a `Retry-After` header value: either delay-seconds or an HTTP-date (RFC 9110 10.2.3).
/// A date in the past means "now". Anything else is ignored (`None`).
pub fn parse_retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    // IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT") is an RFC 2822 date; chrono reads "GMT".
    let at = DateTime::parse_from_rfc2822(value)
        .ok()?
        .with_timezone(&Utc);
    Some((at - now).to_std().unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    #[test]
    fn the_ceiling_doubles_up_to_the_cap() {
        let backoff = Backoff {
            base: Duration::from_millis(100),
            cap: Duration::from_secs(1),
        };
        let ceilings: Vec<u128> = (1..=6).map(|n| backoff.ceiling(n).as_millis()).collect();
        assert_eq!(ceilings, [100, 200, 400, 800, 1000, 1000]);
        assert_eq!(backoff.ceiling(u32::MAX), Duration::from_secs(1));
    }

    #[test]
    fn jitter_stays_between_half_and_the_ceiling_and_varies() {
        let backoff = Backoff::default();
        let mut rng = StdRng::seed_from_u64(7);
        let delays: Vec<Duration> = (0..50).map(|_| backoff.delay(4, &mut rng)).collect();
        for delay in &delays {
            assert!(*delay >= Duration::from_secs(4) && *delay <= Duration::from_secs(8));
        }
        assert!(delays.iter().any(|d| *d != delays[0]), "no jitter");
    }

    #[test]
    fn retry_after_wins_over_backoff() {
        let backoff = Backoff::default();
        let mut rng = StdRng::seed_from_u64(1);
        assert_eq!(
            backoff.next_delay(1, Some(Duration::from_secs(7)), &mut rng),
            Duration::from_secs(7)
        );
        assert_eq!(
            backoff.next_delay(1, Some(Duration::from_secs(864_000)), &mut rng),
            Duration::from_secs(3600)
        );
    }

    #[test]
    fn retry_after_reads_seconds_and_http_dates() {
        let now = DateTime::parse_from_rfc3339("1994-11-06T08:49:30Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(
            parse_retry_after("120", now),
            Some(Duration::from_secs(120))
        );
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", now),
            Some(Duration::from_secs(7))
        );
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-5", now), None);
    }
}
