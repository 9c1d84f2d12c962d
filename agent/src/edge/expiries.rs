//! The expiries of the entitlements in the journal, kept in memory in time order, so the
//! maintenance loop finds the next expiry (and the due ones) without reading every
//! entitlement back from disk each time a command arrives.

use std::collections::{BTreeSet, HashMap};

use jasiyo_shared::UnixTime;

/// Name → expiry, and the same ordered by time.
#[derive(Debug, Default)]
pub struct Expiries {
    by_name: HashMap<String, i64>,
    by_time: BTreeSet<(i64, String)>,
}

impl Expiries {
    /// Records (or moves) `name`'s expiry; `None` forgets it (a user without an expiry).
    pub fn set(&mut self, name: &str, expires_at: Option<UnixTime>) {
        self.remove(name);
        if let Some(at) = expires_at {
            self.by_name.insert(name.to_string(), at.0);
            self.by_time.insert((at.0, name.to_string()));
        }
    }

    /// Forgets `name`.
    pub fn remove(&mut self, name: &str) {
        if let Some(at) = self.by_name.remove(name) {
            self.by_time.remove(&(at, name.to_string()));
        }
    }

    /// The earliest expiry.
    pub fn earliest(&self) -> Option<UnixTime> {
        self.by_time.first().map(|(at, _)| UnixTime(*at))
    }

    /// Names whose expiry is at or before `now`, earliest first.
    pub fn due(&self, now: UnixTime) -> Vec<String> {
        self.by_time.iter().take_while(|(at, _)| *at <= now.0).map(|(_, name)| name.clone()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordered_by_time_and_movable() {
        let mut e = Expiries::default();
        e.set("b", Some(UnixTime(20)));
        e.set("a", Some(UnixTime(10)));
        e.set("c", Some(UnixTime(30)));
        e.set("forever", None);
        assert_eq!(e.earliest(), Some(UnixTime(10)));
        assert_eq!(e.due(UnixTime(20)), vec!["a", "b"]);
        e.set("a", Some(UnixTime(40)));
        assert_eq!(e.due(UnixTime(25)), vec!["b"]);
        e.remove("b");
        assert_eq!(e.earliest(), Some(UnixTime(30)));
        e.set("c", None);
        assert_eq!(e.due(UnixTime(100)), vec!["a"]);
    }
}
