//! The demo's live view: one line per event on the terminal, each with the time since the
//! customer's payment began, so a newcomer watches the money side (from the cloud, see
//! [`super::cloud_watch`]) and the router side (from the emulated router itself, here)
//! move together.
//!
//! ```text
//!   +0.00s  cloud   payment 3f2a6c1d… initiated: 10 KES for "1 hour" via daraja
//!   +0.01s  cloud   prompt sent to the phone (provider reference ws_CO_0712…)
//!   +5.31s  cloud   callback from the provider: 0 The service request is processed successfully.
//!   +5.31s  cloud   paid: receipt JDFH5P09NN
//!   +5.31s  cloud   hotspot login made: user NRSB23 until 1796648939
//!   +5.33s  cloud   command #1 delivered to the agent (create the hotspot user)
//!   +5.34s  router  hotspot user NRSB23 added (limit-uptime 1h)
//!   +5.35s  cloud   command #1 applied on the router
//!   +5.36s  router  device 02:00:00:00:00:01 logged in as NRSB23 by the agent (API)
//! ```

use std::collections::HashSet;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use jasiyo_cloud::store::now_ms;
use tokio_util::sync::CancellationToken;

use crate::routeros_emulator::RouterOsEmulator;

/// How long a line is held before it is printed, so that the cloud's lines (read from its
/// API a little after they happened) and the router's come out in the order they happened.
const HOLD_MS: i64 = 500;
/// How often held lines are looked at.
const FLUSH_EVERY: Duration = Duration::from_millis(100);

/// One line waiting to be printed.
struct Held {
    at: i64,
    side: &'static str,
    text: String,
}

/// Writes the live view's lines to stdout in time order, timed from the newest payment's
/// start. Lines are printed by [`Printer::run`].
#[derive(Default)]
pub struct Printer {
    /// When the newest payment began (Unix ms), once there is one.
    payment_started: Mutex<Option<i64>>,
    /// Lines not yet printed.
    held: Mutex<Vec<Held>>,
}

impl Printer {
    /// A new payment began at `at` (Unix ms): lines are timed from it.
    pub fn payment_started(&self, at: i64) {
        let mut started = self.payment_started.lock().expect("printer lock");
        if started.is_none_or(|s| s < at) {
            *started = Some(at);
        }
    }

    /// A line from the cloud's side, for an event that happened at `at` (Unix ms).
    pub fn cloud_at(&self, at: i64, text: &str) {
        self.hold(at, "cloud ", text);
    }

    /// A line from the router's side, happening now.
    pub fn router(&self, text: &str) {
        self.hold(now_ms(), "router", text);
    }

    fn hold(&self, at: i64, side: &'static str, text: &str) {
        self.held.lock().expect("printer lock").push(Held { at, side, text: text.to_string() });
    }

    /// Prints the lines held long enough (every line with `all`), oldest first.
    pub fn flush(&self, all: bool) {
        let mut out = std::io::stdout().lock();
        for line in self.take_due(all, now_ms()) {
            let _ = writeln!(out, "{line}");
        }
        let _ = out.flush();
    }

    /// The lines held long enough at `now` (every line with `all`), oldest first, as printed.
    fn take_due(&self, all: bool, now: i64) -> Vec<String> {
        let due = now - HOLD_MS;
        let mut ready: Vec<Held> = {
            let mut held = self.held.lock().expect("printer lock");
            let (ready, keep) = std::mem::take(&mut *held).into_iter().partition(|h| all || h.at <= due);
            *held = keep;
            ready
        };
        // Stable: lines of the same millisecond keep the order they were noted in.
        ready.sort_by_key(|h| h.at);
        let started = *self.payment_started.lock().expect("printer lock");
        ready
            .into_iter()
            .map(|line| {
                let since = match started {
                    Some(start) => format!("{:+7.2}s", (line.at - start) as f64 / 1000.0),
                    None => format!("{:>8}", "-"),
                };
                format!("{since}  {}  {}", line.side, line.text)
            })
            .collect()
    }

    /// Prints held lines as they come due, until `stop`; then the rest.
    pub async fn run(self: Arc<Self>, stop: CancellationToken) {
        loop {
            tokio::select! {
                _ = stop.cancelled() => return self.flush(true),
                _ = tokio::time::sleep(FLUSH_EVERY) => self.flush(false),
            }
        }
    }
}

/// Prints what changes on the emulated router (hotspot users added or removed, devices
/// logged in or out) until `stop`: woken by the emulator's change counter, never polling.
pub async fn watch_router(router: Arc<RouterOsEmulator>, printer: Arc<Printer>, stop: CancellationToken) {
    let mut changes = router.changes();
    let mut users: HashSet<String> = router.users().into_iter().map(|u| u.name).collect();
    let mut sessions: HashSet<(String, String)> = router.active().into_iter().map(|a| (a.mac_address, a.user)).collect();
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            changed = changes.changed() => if changed.is_err() { return },
        }
        let now_users = router.users();
        for user in &now_users {
            if users.insert(user.name.clone()) {
                let limit = user.limit_uptime.as_deref().map(|l| format!(" (limit-uptime {l})")).unwrap_or_default();
                printer.router(&format!("hotspot user {} added{limit}", user.name));
            }
        }
        let names: HashSet<String> = now_users.into_iter().map(|u| u.name).collect();
        for gone in users.difference(&names) {
            printer.router(&format!("hotspot user {gone} removed"));
        }
        users = names;
        let active = router.active();
        for session in &active {
            let key = (session.mac_address.clone(), session.user.clone());
            // Logins through the stand-in page print their own line.
            if sessions.insert(key) && session.login_by != "http-chap" {
                printer.router(&format!("device {} logged in as {} by the agent (API)", session.mac_address, session.user));
            }
        }
        let now: HashSet<(String, String)> = active.into_iter().map(|a| (a.mac_address, a.user)).collect();
        for (mac, user) in sessions.difference(&now) {
            printer.router(&format!("device {mac} ({user}) logged out"));
        }
        sessions = now;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_come_out_in_the_order_things_happened_once_held_long_enough() {
        let printer = Printer::default();
        let now = 1_000_000;
        printer.hold(now - 900, "router", "user added");
        printer.cloud_at(now - 2_000, "paid");
        printer.cloud_at(now - 100, "applied");
        assert_eq!(printer.take_due(false, now), ["       -  cloud   paid", "       -  router  user added"]);
        printer.payment_started(now - 3_000);
        assert_eq!(printer.take_due(false, now), Vec::<String>::new(), "applied is held a little longer");
        assert_eq!(printer.take_due(true, now), ["  +2.90s  cloud   applied"]);
    }
}
