//! Logins waiting for their device. A `LoginDevice` for a device the hotspot does not see
//! now (not in `/ip/hotspot/host`: it left, or the router rebooted, which empties the host
//! table, and the phone has not reconnected yet) cannot be done at that moment, and failing
//! it would leave a paid customer offline after a reboot they had no part in.
//!
//! So the command is answered at once (the commands after it are not held up): applied,
//! with a note that the login waits for the device. The maintenance loop then looks for the
//! device every [`LOOK_EVERY`] and logs it in as soon as the hotspot sees it again, at the
//! address it has then (DHCP may have given it another), for up to [`WAIT`]. A device that
//! does not come back in that time, or a refusal then, is logged and left to its browser's
//! own login (the portal's form login). Waiting logins are kept in memory only: an agent
//! restarted meanwhile leaves the device to its browser in the same way.

use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::time::Duration;

use jasiyo_shared::MacAddress;
use tokio::time::Instant;
use tracing::{info, warn};

use super::Edge;

/// How long a login waits for its device to come back.
pub const WAIT: Duration = Duration::from_secs(120);

/// How often the hotspot's host table is read for the devices waited for.
pub const LOOK_EVERY: Duration = Duration::from_secs(2);

/// One login waiting for its device.
#[derive(Clone)]
struct Waiting {
    user: String,
    password: String,
    /// Until when the device is waited for.
    until: Instant,
}

/// The logins waiting, by device, and when the host table is next read for them.
#[derive(Default)]
pub(super) struct WaitingLogins {
    by_mac: HashMap<MacAddress, Waiting>,
    next_look: Option<Instant>,
}

impl WaitingLogins {
    /// When the maintenance loop should next look for the devices, if any is waited for.
    pub(super) fn next_look(&self) -> Option<Instant> {
        self.next_look.filter(|_| !self.by_mac.is_empty())
    }
}

impl Edge {
    /// Waits for `mac` to come back, to log it in as `user` then (a later login for the same
    /// device replaces an earlier one); returns the command's note.
    pub(super) fn wait_for_device(&self, user: &str, password: &str, mac: MacAddress) -> String {
        let now = Instant::now();
        let mut waiting = self.waiting();
        waiting.by_mac.insert(mac, Waiting { user: user.into(), password: password.into(), until: now + WAIT });
        let look = now + LOOK_EVERY;
        waiting.next_look = Some(waiting.next_look.map_or(look, |at| at.min(look)));
        drop(waiting);
        info!(%mac, user, wait_secs = WAIT.as_secs(), "device not on the hotspot now; its login waits for it");
        self.changed.notify_one();
        format!("device not on the hotspot now; logged in when it is back (waiting up to {} s)", WAIT.as_secs())
    }

    /// Logs in the devices waited for that are back; gives up on those waited for too long.
    /// Does nothing before the next look is due.
    pub(super) async fn log_in_returned_devices(&self) {
        let now = Instant::now();
        let due: Vec<(MacAddress, Waiting)> = {
            let mut waiting = self.waiting();
            if waiting.next_look().is_none_or(|at| at > now) {
                return;
            }
            waiting.next_look = Some(now + LOOK_EVERY);
            waiting.by_mac.iter().map(|(mac, w)| (*mac, w.clone())).collect()
        };
        for (mac, login) in due {
            let done = self.try_waiting_login(mac, &login, now).await;
            if done {
                let mut waiting = self.waiting();
                // Only if a newer login for the device did not replace this one meanwhile.
                if waiting.by_mac.get(&mac).is_some_and(|w| w.until == login.until) {
                    waiting.by_mac.remove(&mac);
                }
            }
        }
    }

    /// One look for a device waited for; whether its wait is over (logged in, refused, or
    /// waited for too long).
    async fn try_waiting_login(&self, mac: MacAddress, login: &Waiting, now: Instant) -> bool {
        let _turn = self.turn.read().await;
        let address: Ipv4Addr = match self.router.host_address(mac).await {
            Ok(Some(address)) => address,
            Ok(None) | Err(_) if now >= login.until => {
                warn!(%mac, user = login.user, "device did not come back to the hotspot in time; its login is left to its browser");
                return true;
            }
            Ok(None) => return false,
            Err(e) if e.is_transient() => return false,
            Err(e) => {
                warn!(%mac, error = %e, "cannot read the hotspot's hosts; the login waiting for the device is left to its browser");
                return true;
            }
        };
        match self.login_now(&login.user, &login.password, mac, address).await {
            Ok(note) => {
                info!(%mac, %address, user = login.user, note = note.as_deref().unwrap_or(""), "device back on the hotspot; logged in");
                true
            }
            Err(super::EdgeError::Router(e)) if e.is_transient() => false,
            Err(e) => {
                warn!(%mac, %address, user = login.user, error = %e, "device back on the hotspot, but its login was refused");
                true
            }
        }
    }

    pub(super) fn waiting(&self) -> std::sync::MutexGuard<'_, WaitingLogins> {
        self.waiting.lock().unwrap_or_else(|p| p.into_inner())
    }
}
