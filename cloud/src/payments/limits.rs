//! Rate limits on payment attempts per phone, per device and per client IP, so a prankster
//! cannot flood a stranger's phone with prompts or a router owner's account with pushes.
//!
//! Counted in memory per cloud instance (a sliding window of attempt times). With several
//! instances behind a load balancer the effective limit is at most instances × limit; the
//! "one prompt in flight per phone and per device" guard is enforced in the database.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Keys (phones, devices, addresses) remembered at most; each is a few dozen bytes plus a
/// few instants, so this bounds the limiter to some tens of megabytes whatever arrives.
/// Addresses are the socket's (or a trusted proxy's word), never a header's raw text.
pub const MAX_KEYS: usize = 100_000;

/// Attempts allowed per window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LimitConfig {
    /// Per phone number.
    pub per_phone: usize,
    /// Per device MAC.
    pub per_device: usize,
    /// Per client IP.
    pub per_ip: usize,
    /// The window.
    pub window: Duration,
}

impl Default for LimitConfig {
    fn default() -> Self {
        LimitConfig { per_phone: 5, per_device: 5, per_ip: 30, window: Duration::from_secs(10 * 60) }
    }
}

/// Which limit was hit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LimitHit {
    /// Too many attempts for this phone.
    Phone,
    /// Too many attempts from this device.
    Device,
    /// Too many attempts from this address.
    Ip,
}

/// The limiter.
#[derive(Debug, Default)]
pub struct RateLimits {
    config: LimitConfig,
    seen: Mutex<HashMap<String, VecDeque<Instant>>>,
}

impl RateLimits {
    /// Keys remembered now.
    pub fn keys(&self) -> usize {
        self.seen.lock().unwrap_or_else(|p| p.into_inner()).len()
    }
}

impl RateLimits {
    /// A limiter with these limits.
    pub fn new(config: LimitConfig) -> RateLimits {
        RateLimits { config, seen: Mutex::default() }
    }

    /// Counts one attempt, unless a limit is already reached (then nothing is counted).
    pub fn check(&self, phone: &str, device: Option<&str>, ip: Option<&str>) -> Result<(), LimitHit> {
        let now = Instant::now();
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        let keys: Vec<(String, usize, LimitHit)> = [
            Some((format!("p:{phone}"), self.config.per_phone, LimitHit::Phone)),
            device.map(|d| (format!("d:{d}"), self.config.per_device, LimitHit::Device)),
            ip.map(|i| (format!("i:{i}"), self.config.per_ip, LimitHit::Ip)),
        ]
        .into_iter()
        .flatten()
        .collect();
        for (key, limit, hit) in &keys {
            let times = seen.entry(key.clone()).or_default();
            while times.front().is_some_and(|t| now.duration_since(*t) > self.config.window) {
                times.pop_front();
            }
            if times.len() >= *limit {
                return Err(*hit);
            }
        }
        for (key, _, _) in keys {
            seen.entry(key).or_default().push_back(now);
        }
        if seen.len() > MAX_KEYS {
            let window = self.config.window;
            seen.retain(|_, times| times.back().is_some_and(|t| now.duration_since(*t) <= window));
            // Still full of live keys (a flood from many addresses): forget the quietest
            // tenth, so memory stays bounded whatever arrives.
            if seen.len() > MAX_KEYS {
                let mut last: Vec<Instant> = seen.values().filter_map(|times| times.back().copied()).collect();
                let cut = last.len() / 10;
                let (_, boundary, _) = last.select_nth_unstable(cut);
                let boundary = *boundary;
                seen.retain(|_, times| times.back().is_some_and(|t| *t > boundary));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flood_of_addresses_stays_bounded() {
        let limits = RateLimits::new(LimitConfig::default());
        for i in 0..(MAX_KEYS as u32 + 50_000) {
            let ip = std::net::Ipv4Addr::from(i).to_string();
            let _ = limits.check(&format!("2547{i:08}"), None, Some(&ip));
        }
        assert!(limits.keys() <= MAX_KEYS + 1, "{} keys", limits.keys());
    }

    #[test]
    fn each_limit_is_counted_separately() {
        let limits = RateLimits::new(LimitConfig { per_phone: 2, per_device: 3, per_ip: 4, window: Duration::from_secs(60) });
        assert!(limits.check("p1", Some("d1"), Some("ip")).is_ok());
        assert!(limits.check("p1", Some("d1"), Some("ip")).is_ok());
        assert_eq!(limits.check("p1", Some("d2"), Some("ip")), Err(LimitHit::Phone));
        assert!(limits.check("p2", Some("d1"), Some("ip")).is_ok());
        assert_eq!(limits.check("p3", Some("d1"), Some("ip")), Err(LimitHit::Device));
        assert!(limits.check("p4", Some("d9"), Some("ip")).is_ok());
        assert_eq!(limits.check("p5", None, Some("ip")), Err(LimitHit::Ip));
    }
}
