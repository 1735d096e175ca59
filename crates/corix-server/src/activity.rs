//! When each computer last saw API activity, for auto-stop. Kept in memory and written to the
//! store at most every few seconds per computer, so a restart forgets little and a busy computer
//! does not write on every call.

use crate::store::Store;
use chrono::{DateTime, Utc};
use parking_lot::Mutex;
use std::collections::HashMap;

const PERSIST_EVERY_SECONDS: i64 = 10;

#[derive(Default)]
pub struct Activity {
    /// computer id -> (last seen, last written to the store)
    seen: Mutex<HashMap<String, (DateTime<Utc>, DateTime<Utc>)>>,
}

impl Activity {
    pub fn touch(&self, store: &Store, computer_id: &str) {
        let now = Utc::now();
        let persist = {
            let mut seen = self.seen.lock();
            let entry = seen.entry(computer_id.to_string()).or_insert((now, DateTime::<Utc>::MIN_UTC));
            entry.0 = now;
            let due = (now - entry.1).num_seconds() >= PERSIST_EVERY_SECONDS;
            if due {
                entry.1 = now;
            }
            due
        };
        if persist {
            if let Err(err) = store.set_last_activity(computer_id, &crate::store::now()) {
                tracing::warn!(computer_id, %err, "could not record activity");
            }
        }
    }

    /// The latest activity known: in memory, or as the store last recorded it.
    pub fn last(&self, computer_id: &str, stored: &str) -> DateTime<Utc> {
        let stored = DateTime::parse_from_rfc3339(stored).map(|t| t.with_timezone(&Utc)).unwrap_or(DateTime::<Utc>::MIN_UTC);
        match self.seen.lock().get(computer_id) {
            Some((seen, _)) => (*seen).max(stored),
            None => stored,
        }
    }

    pub fn forget(&self, computer_id: &str) {
        self.seen.lock().remove(computer_id);
    }
}
