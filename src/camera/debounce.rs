//! Deciding which camera reads are new.
//!
//! A webcam sees the same pack in frame after frame while the clerk holds it up; the app must
//! get it once. A text is new when it has not been seen for the absence period (1.5 s by
//! default): while it stays in view, even with a few frames missed, it is not sent again; once
//! the pack has been put down long enough, showing it again counts as a new scan (the clerk may
//! really mean to scan it twice, and the duplicate check belongs to verification, not here).
//!
//! Pure: the caller passes the clock reading in, so tests drive time by hand.

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// How long a text must have been out of view before it counts as new again.
pub const DEFAULT_ABSENCE: Duration = Duration::from_millis(1500);

/// Remembers when each text was last seen.
#[derive(Debug, Clone)]
pub struct Debouncer {
    absence: Duration,
    last_seen: HashMap<String, Instant>,
}

impl Default for Debouncer {
    fn default() -> Self {
        Self::new(DEFAULT_ABSENCE)
    }
}

impl Debouncer {
    pub fn new(absence: Duration) -> Self {
        Self {
            absence,
            last_seen: HashMap::new(),
        }
    }

    /// Records that `text` was read at `now`; true when this read is new and should be sent.
    pub fn observe(&mut self, text: &str, now: Instant) -> bool {
        self.forget_absent(now);
        match self.last_seen.get_mut(text) {
            Some(seen) => {
                // Clock readings from another thread may arrive slightly out of order.
                *seen = (*seen).max(now);
                false
            }
            None => {
                self.last_seen.insert(text.to_owned(), now);
                true
            }
        }
    }

    /// Drops texts out of view for the absence period, so memory stays bounded by what is in
    /// view (and so they count as new when they come back).
    pub fn forget_absent(&mut self, now: Instant) {
        let absence = self.absence;
        self.last_seen
            .retain(|_, seen| now.saturating_duration_since(*seen) < absence);
    }

    /// How many texts are currently considered in view.
    pub fn in_view(&self) -> usize {
        self.last_seen.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn first_read_is_new_repeats_are_not() {
        let t0 = Instant::now();
        let mut d = Debouncer::default();
        assert!(d.observe("A", t0));
        assert!(!d.observe("A", t0 + ms(40)));
        assert!(!d.observe("A", t0 + ms(80)));
        assert!(d.observe("B", t0 + ms(80)), "a different pack is new");
    }

    #[test]
    fn staying_in_view_never_resends_however_long() {
        let t0 = Instant::now();
        let mut d = Debouncer::default();
        assert!(d.observe("A", t0));
        for frame in 1..300 {
            assert!(!d.observe("A", t0 + ms(frame * 33)), "frame {frame}");
        }
    }

    #[test]
    fn short_gaps_do_not_count_as_absence() {
        let t0 = Instant::now();
        let mut d = Debouncer::default();
        assert!(d.observe("A", t0));
        // Missed for 1.4 s (blur, a hand in the way), then seen again: same scan.
        assert!(!d.observe("A", t0 + ms(1400)));
        assert!(!d.observe("A", t0 + ms(2800)));
    }

    #[test]
    fn back_after_the_absence_period_is_new() {
        let t0 = Instant::now();
        let mut d = Debouncer::default();
        assert!(d.observe("A", t0));
        assert!(!d.observe("A", t0 + ms(500)));
        assert!(d.observe("A", t0 + ms(500) + DEFAULT_ABSENCE));
    }

    #[test]
    fn absent_texts_are_forgotten() {
        let t0 = Instant::now();
        let mut d = Debouncer::new(ms(100));
        d.observe("A", t0);
        d.observe("B", t0 + ms(60));
        assert_eq!(d.in_view(), 2);
        d.forget_absent(t0 + ms(120));
        assert_eq!(d.in_view(), 1);
        d.forget_absent(t0 + ms(200));
        assert_eq!(d.in_view(), 0);
    }

    #[test]
    fn out_of_order_clock_readings_do_not_rewind() {
        let t0 = Instant::now();
        let mut d = Debouncer::new(ms(100));
        d.observe("A", t0 + ms(90));
        assert!(
            !d.observe("A", t0),
            "an older reading is still the same scan"
        );
        assert!(!d.observe("A", t0 + ms(180)), "last seen stays at 90 ms");
    }
}
