//! Rate limits on payment attempts, so that a prankster cannot flood a stranger's phone
//! with prompts or a router owner's account with pushes, and cannot spend a victim's
//! budget either. What is counted, and why (see also [`super::budgets`]):
//!
//! - **per phone, from one client address** (`per_phone`): the phone's budget is kept per
//!   address, so attempts from someone else's address never lock its owner out of paying
//!   from their own device (prompts to a phone are held back by the "one prompt in flight
//!   per phone" guard and by the backoff after cancellations instead);
//! - per device MAC (`per_device`) and per client address (`per_ip`), over `window`;
//! - per router (`per_router`), per tenant (`per_tenant`) and in total (`global`) per
//!   minute: what protects an owner's (and the platform's) provider quota from STK spam
//!   to random phones, from however many addresses;
//! - the backoff per phone and address after cancelled prompts (see
//!   [`super::budgets`]).
//!
//! This file is the first tier, in memory per instance: cheap, checked before anything is
//! looked up, bounded in memory whatever arrives. The second tier counts the same in the
//! database, so that the limits hold across instances ([`super::budgets`]).

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Keys (phones per address, devices, addresses, routers, tenants) remembered at most; each is a few dozen bytes plus a
/// few instants, so this bounds the limiter to some tens of megabytes whatever arrives.
/// Addresses are the socket's (or a trusted proxy's word), never a header's raw text.
pub const MAX_KEYS: usize = 100_000;

/// Attempts allowed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LimitConfig {
    /// Per phone number from one client address, per `window`.
    pub per_phone: usize,
    /// Per device MAC, per `window`.
    pub per_device: usize,
    /// Per client IP, per `window`.
    pub per_ip: usize,
    /// The window of the three above.
    pub window: Duration,
    /// Per router, per minute.
    pub per_router: usize,
    /// Per tenant (all its routers), per minute.
    pub per_tenant: usize,
    /// In total, per minute.
    pub global: usize,
    /// Cancelled prompts (per phone and address, in a day) allowed before the backoff.
    pub free_cancels: u32,
    /// The wait after the first cancellation past `free_cancels`; it doubles with each.
    pub cancel_backoff: Duration,
    /// The longest wait.
    pub max_backoff: Duration,
}

impl Default for LimitConfig {
    fn default() -> Self {
        LimitConfig {
            per_phone: 5,
            per_device: 5,
            per_ip: 30,
            window: Duration::from_secs(10 * 60),
            per_router: 20,
            per_tenant: 120,
            global: 1200,
            free_cancels: 2,
            cancel_backoff: Duration::from_secs(60),
            max_backoff: Duration::from_secs(60 * 60),
        }
    }
}

/// The window of the router, tenant and global budgets.
pub const MINUTE: Duration = Duration::from_secs(60);

/// Which limit was hit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LimitHit {
    /// Too many attempts for this phone.
    Phone,
    /// Too many attempts from this device.
    Device,
    /// Too many attempts from this address.
    Ip,
    /// Too many prompts on this router this minute.
    Router,
    /// Too many prompts for this owner this minute.
    Tenant,
    /// Too many prompts on the platform this minute.
    Global,
    /// This phone cancelled prompts from this address: wait.
    Backoff,
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

    /// The limits.
    pub fn config(&self) -> &LimitConfig {
        &self.config
    }

    /// Counts one attempt for `phone` (from `ip`), `device` and `ip`, unless a limit is
    /// already reached (then nothing is counted).
    pub fn check(&self, phone: &str, device: Option<&str>, ip: Option<&str>) -> Result<(), LimitHit> {
        self.check_keys(&self.keys_of(phone, device, ip))
    }

    /// The keys, limits and windows of an attempt for `phone`, `device` and `ip`.
    pub fn keys_of(&self, phone: &str, device: Option<&str>, ip: Option<&str>) -> Vec<LimitKey> {
        let c = &self.config;
        [
            Some(LimitKey::new(format!("p:{phone}|{}", ip.unwrap_or("-")), c.per_phone, c.window, LimitHit::Phone)),
            device.map(|d| LimitKey::new(format!("d:{d}"), c.per_device, c.window, LimitHit::Device)),
            ip.map(|i| LimitKey::new(format!("i:{i}"), c.per_ip, c.window, LimitHit::Ip)),
        ]
        .into_iter()
        .flatten()
        .collect()
    }

    /// Counts one attempt against each key, unless one of them is already at its limit
    /// (then nothing is counted).
    pub fn check_keys(&self, keys: &[LimitKey]) -> Result<(), LimitHit> {
        let now = Instant::now();
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        for key in keys {
            let times = seen.entry(key.key.clone()).or_default();
            while times.front().is_some_and(|t| now.duration_since(*t) > key.window) {
                times.pop_front();
            }
            if times.len() >= key.limit {
                return Err(key.hit);
            }
        }
        for key in keys {
            seen.entry(key.key.clone()).or_default().push_back(now);
        }
        if seen.len() > MAX_KEYS {
            // A key quiet for longer than the longest window counts nothing any more.
            let longest = self.config.window.max(MINUTE);
            seen.retain(|_, times| times.back().is_some_and(|t| now.duration_since(*t) <= longest));
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

/// One thing counted: its key, how many per window, and which limit it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LimitKey {
    /// `p:<phone>|<address>`, `d:<mac>`, `i:<address>`, `r:<router>`, `t:<tenant>`, `g`.
    pub key: String,
    /// Attempts allowed per window.
    pub limit: usize,
    /// The window.
    pub window: Duration,
    /// What to answer when it is reached.
    pub hit: LimitHit,
}

impl LimitKey {
    /// A key.
    pub fn new(key: String, limit: usize, window: Duration, hit: LimitHit) -> LimitKey {
        LimitKey { key, limit, window, hit }
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
        let limits = RateLimits::new(LimitConfig { per_phone: 2, per_device: 3, per_ip: 4, ..LimitConfig::default() });
        assert!(limits.check("p1", Some("d1"), Some("ip")).is_ok());
        assert!(limits.check("p1", Some("d1"), Some("ip")).is_ok());
        assert_eq!(limits.check("p1", Some("d2"), Some("ip")), Err(LimitHit::Phone));
        assert!(limits.check("p2", Some("d1"), Some("ip")).is_ok());
        assert_eq!(limits.check("p3", Some("d1"), Some("ip")), Err(LimitHit::Device));
        assert!(limits.check("p4", Some("d9"), Some("ip")).is_ok());
        assert_eq!(limits.check("p5", None, Some("ip")), Err(LimitHit::Ip));
    }

    #[test]
    fn a_phone_budget_is_per_address() {
        let limits = RateLimits::new(LimitConfig { per_phone: 2, ..LimitConfig::default() });
        assert!(limits.check("victim", None, Some("attacker")).is_ok());
        assert!(limits.check("victim", None, Some("attacker")).is_ok());
        assert_eq!(limits.check("victim", None, Some("attacker")), Err(LimitHit::Phone));
        assert!(limits.check("victim", None, Some("victim's own")).is_ok(), "the owner still pays from their own address");
    }
}
