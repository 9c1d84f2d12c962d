//! Logging a device in from the router side, so that doing it again gives the outcome the
//! first time gave. A `LoginDevice` applied just before the agent was killed is applied
//! again after the restart; the router then refuses it ("already authorized", or "no more
//! sessions are allowed for user" when the user allows one device, depending on which check
//! the router makes first). What counts is who the device is logged in as:
//!
//! - as this user: success, "already logged in";
//! - as another user (an older plan's, say): that session is ended and the device is logged
//!   in as the user it paid for;
//! - not at all: the refusal stands ("no more sessions" then means another device holds the
//!   user), except while the router is still authorizing it through its own login page.
//!
//! Any other refusal is looked into in the hotspot's host table: a device seen there now
//! (at another address, or just back after a reboot emptied the table) is tried once more
//! where it is, and that try's outcome stands; a device not seen at all is waited for (see
//! [`super::waiting`]).

use jasiyo_shared::MacAddress;
use std::net::Ipv4Addr;
use tracing::info;

use super::{Edge, EdgeError};
use crate::routeros::ApiError;

/// What RouterOS says when a device it is asked to log in is already logged in, or being
/// logged in by the hotspot's own login page at that moment (the words vary by version).
const ALREADY_IN: [&str; 3] = ["already authorized", "already logged in", "already authorizing"];

/// What RouterOS says when the user already has as many sessions as its profile allows.
const NO_MORE_SESSIONS: &str = "no more sessions are allowed";

/// The note of a login that found the device already in as its user.
pub const ALREADY_LOGGED_IN: &str = "already logged in";

impl Edge {
    /// Logs `mac` (at `ip`) in as `user`, idempotently (see the module's documentation).
    pub(super) async fn login(&self, user: &str, password: &str, mac: MacAddress, ip: Ipv4Addr) -> Result<Option<String>, EdgeError> {
        let _turn = self.turn.read().await;
        let refusal = match self.login_now(user, password, mac, ip).await {
            Err(EdgeError::Router(e)) if !e.is_transient() => e,
            other => return other,
        };
        let Some(address) = self.router.host_address(mac).await? else {
            return Ok(Some(self.wait_for_device(user, password, mac)));
        };
        // Seen now: at another address (DHCP gave it a new one), or just back (a reboot
        // emptied the host table and the device returned since the refusal). One more try
        // where it is decides; a refusal for any other reason is given again.
        let note = self.login_now(user, password, mac, address).await.inspect_err(|_| {
            info!(%mac, %address, user, first = %refusal, "device on the hotspot, login refused again");
        })?;
        if address == ip {
            return Ok(note);
        }
        info!(%mac, %address, was = %ip, user, "device is on the hotspot at another address; logged in there");
        Ok(Some(note.unwrap_or_else(|| format!("logged in at {address}, the device's address now"))))
    }

    /// Logs `mac` in at `ip`, once; the caller holds a turn on the router.
    pub(super) async fn login_now(&self, user: &str, password: &str, mac: MacAddress, ip: Ipv4Addr) -> Result<Option<String>, EdgeError> {
        let refusal = match self.router.login_device(user, password, mac, ip).await {
            Ok(()) => return Ok(None),
            Err(e) if refused_because_in(&e) => e,
            Err(e) => return Err(e.into()),
        };
        let sessions = self.router.active_sessions(None, Some(mac)).await?;
        if sessions.iter().any(|s| s.user == user) {
            return Ok(Some(ALREADY_LOGGED_IN.into()));
        }
        if sessions.is_empty() {
            // Nothing to see yet: the router's own page is part-way through logging it in,
            // or (no more sessions) the user is held by another device: a real refusal.
            return if refusal.is_trap_containing(NO_MORE_SESSIONS) { Err(refusal.into()) } else { Ok(Some(ALREADY_LOGGED_IN.into())) };
        }
        let previous: Vec<String> = sessions.iter().map(|s| s.user.clone()).collect();
        for session in &sessions {
            match self.router.remove_active(&session.id).await {
                Ok(()) => {}
                Err(e) if e.is_trap_containing("no such item") => {}
                Err(e) => return Err(e.into()),
            }
        }
        self.router.login_device(user, password, mac, ip).await?;
        info!(%mac, user, previous = ?previous, "device was logged in as another user; switched");
        Ok(Some(format!("was logged in as {}; switched", previous.join(", "))))
    }
}

/// Whether a refused login may only mean that the device (or the user) is already in.
fn refused_because_in(error: &ApiError) -> bool {
    ALREADY_IN.iter().any(|text| error.is_trap_containing(text)) || error.is_trap_containing(NO_MORE_SESSIONS)
}
