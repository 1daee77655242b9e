//! The down-sync's cursor: where the last pull from upstream's query interface stopped.
//!
//! One row of the `settings` table, [`PULL_CURSOR_SETTING`], holding the latest `recordTime`
//! pulled as the store's `timestamp` text. It is not a setting `tracedesk config` takes: only the
//! pull ([`crate::sync::pull`]) moves it, after the page it covers was stored.

use super::{Store, StoreError, put_setting};

/// The `settings` key holding the pull cursor.
pub const PULL_CURSOR_SETTING: &str = "sync_pull_cursor";

impl Store {
    /// The cursor the last pull saved, if any.
    pub fn pull_cursor(&self) -> Result<Option<String>, StoreError> {
        self.setting(PULL_CURSOR_SETTING)
    }

    /// Save where the next pull starts.
    pub fn set_pull_cursor(&mut self, cursor: &str) -> Result<(), StoreError> {
        put_setting(self.conn(), PULL_CURSOR_SETTING, cursor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cursor_is_kept_and_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("t.db")).unwrap();
        assert_eq!(store.pull_cursor().unwrap(), None);
        store.set_pull_cursor("2026-11-20T08:00:24.000Z").unwrap();
        store.set_pull_cursor("2026-11-20T09:00:00.000Z").unwrap();
        assert_eq!(
            store.pull_cursor().unwrap().as_deref(),
            Some("2026-11-20T09:00:00.000Z")
        );
        drop(store);
        let store = Store::open(&dir.path().join("t.db")).unwrap();
        assert_eq!(
            store.pull_cursor().unwrap().as_deref(),
            Some("2026-11-20T09:00:00.000Z")
        );
    }
}
