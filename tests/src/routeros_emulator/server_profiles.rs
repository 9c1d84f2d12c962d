//! `/ip/hotspot/profile` (print, set): the hotspot server profiles, with the free trial's
//! settings (`login-by` containing `trial`, `trial-uptime-limit`, `trial-uptime-reset`,
//! `trial-user-profile`; argument names from RouterOS 7.15.2 to 7.24 `/console/inspect`),
//! and the trial login itself: a device logs in as `T-<MAC>` with no password, for the
//! profile's `trial-uptime-limit`, once per `trial-uptime-reset` per MAC.
//!
//! The emulated hotspot server (`hotspot1`) runs on profile [`SERVER_PROFILE`]. Simplified:
//! a trial is one session per reset period here, where RouterOS counts the trial's uptime
//! (a device that left early could come back for the rest); refusal texts are unverified.

use std::time::SystemTime;

use jasiyo_agent::routeros::sentence::Request;

use super::RouterOsEmulator;
use super::menus::fail;
use super::menus::{Outcome, Output, check_arguments, print, targets};
use super::state::{ActiveRow, RouterState, normalise_mac, pair};
use super::time::{format_interval, parse_interval};

/// The profile the emulated hotspot server uses (what `/ip hotspot setup` creates).
pub const SERVER_PROFILE: &str = "hsprof1";
/// Set arguments of RouterOS 7.24 (`/console/inspect`); all kept as given.
const ARGUMENTS: &[&str] = &[
    "name",
    "dns-name",
    "hotspot-address",
    "html-directory",
    "html-directory-override",
    "http-cookie-lifetime",
    "http-proxy",
    "install-hotspot-queue",
    "login-by",
    "mac-auth-mode",
    "mac-auth-password",
    "nas-port-type",
    "radius-accounting",
    "radius-default-domain",
    "radius-interim-update",
    "radius-location-id",
    "radius-location-name",
    "radius-mac-format",
    "rate-limit",
    "smtp-server",
    "split-user-domain",
    "ssl-certificate",
    "trial-uptime-limit",
    "trial-uptime-reset",
    "trial-user-profile",
    "use-radius",
];
/// Unverified: the router's words when a trial is not offered, or used up for now.
pub const TRIAL_NOT_ALLOWED: &str = "trial user not allowed";
/// Unverified (see [`TRIAL_NOT_ALLOWED`]).
pub const TRIAL_USED: &str = "no more trial time left, try again later";

/// One server profile: its name and its settings over the defaults.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub(crate) struct ServerProfile {
    pub id: String,
    pub name: String,
    pub settings: Vec<(String, String)>,
}

impl ServerProfile {
    /// A profile as RouterOS 7 makes it (`login-by=cookie,http-chap`, trial 30m once a day).
    pub fn new(id: &str, name: &str) -> ServerProfile {
        let settings = [
            ("html-directory", "hotspot"),
            ("login-by", "cookie,http-chap"),
            ("trial-uptime-limit", "30m"),
            ("trial-uptime-reset", "1d"),
            ("trial-user-profile", "default"),
        ];
        ServerProfile { id: id.into(), name: name.into(), settings: settings.iter().map(|(k, v)| pair(k, v)).collect() }
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.settings.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    fn set(&mut self, name: &str, value: &str) {
        match self.settings.iter_mut().find(|(k, _)| k == name) {
            Some(slot) => slot.1 = value.to_string(),
            None => self.settings.push(pair(name, value)),
        }
    }

    /// What `print` shows.
    pub fn to_attributes(&self) -> Vec<(String, String)> {
        let mut out = vec![pair(".id", &self.id), pair("name", &self.name)];
        out.extend(self.settings.iter().cloned());
        out.push(pair("default", if self.name == "default" { "true" } else { "false" }));
        out
    }

    /// Whether devices may log in as trial users, and for how long (ms) per reset (ms).
    fn trial(&self) -> Option<(u64, u64)> {
        let on = self.get("login-by").is_some_and(|l| l.split(',').any(|m| m.trim() == "trial"));
        let limit = self.get("trial-uptime-limit").and_then(parse_interval)?;
        let reset = self.get("trial-uptime-reset").and_then(parse_interval)?;
        on.then_some((limit, reset))
    }
}

/// The server profiles a router starts with.
pub(crate) fn initial() -> Vec<ServerProfile> {
    vec![ServerProfile::new("*0", "default"), ServerProfile::new("*1", SERVER_PROFILE)]
}

/// `/ip/hotspot/profile/<verb>`; `None` for an unknown verb.
pub(crate) fn run(state: &mut RouterState, verb: &str, request: &Request) -> Option<Outcome> {
    Some(match verb {
        "print" => print(state.server_profiles.iter().map(ServerProfile::to_attributes).collect(), request),
        "set" => set(state, request),
        _ => return None,
    })
}

fn set(state: &mut RouterState, request: &Request) -> Outcome {
    check_arguments(request, ARGUMENTS)?;
    let profiles = &mut state.server_profiles;
    let ids = targets(request, |item| profiles.iter().find(|p| p.id == item || p.name == item).map(|p| p.id.clone()))?;
    let given: Vec<&(String, String)> = request.attributes.iter().filter(|(n, _)| !n.starts_with('.') && n != "numbers").collect();
    // Unverified text; a real router names the argument in its own words.
    if given.iter().any(|(n, v)| n.starts_with("trial-uptime") && parse_interval(v).is_none()) {
        return fail("invalid time value for trial-uptime");
    }
    for profile in profiles.iter_mut().filter(|p| ids.contains(&p.id)) {
        for (name, value) in &given {
            let value = if name.starts_with("trial-uptime") { format_interval(parse_interval(value).unwrap_or(0)) } else { value.clone() };
            profile.set(name, &value);
        }
    }
    Ok(Output::done())
}

impl RouterOsEmulator {
    /// A server profile's settings as `print` shows them, if it exists.
    pub fn server_profile(&self, name: &str) -> Option<Vec<(String, String)>> {
        self.state().server_profiles.iter().find(|p| p.name == name).map(ServerProfile::to_attributes)
    }

    /// A device's trial login (`username=T-<MAC>` to the login page, no password): on the
    /// hotspot's server profile, once per reset period per MAC. The trial's uptime limit as
    /// the router prints it (`5m`), or the router's refusal.
    pub fn trial_login(&self, mac: &str, ip: &str) -> Result<String, String> {
        let mac = normalise_mac(mac).ok_or_else(|| super::sessions::HOST_NOT_FOUND.to_string())?;
        let now = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64);
        self.edit(|s| {
            let profile = s.server_profiles.iter().find(|p| p.name == SERVER_PROFILE);
            let Some((limit, reset)) = profile.and_then(ServerProfile::trial) else { return Err(TRIAL_NOT_ALLOWED.to_string()) };
            if s.active.iter().any(|a| a.mac_address == mac) {
                return Err(super::sessions::ALREADY_AUTHORIZED.to_string());
            }
            if s.trial_uses.get(&mac).is_some_and(|started| now < started + reset) {
                return Err(TRIAL_USED.to_string());
            }
            s.trial_uses.insert(mac.clone(), now);
            s.ensure_host(&mac, ip);
            let id = s.active_ids.next();
            let user = format!("T-{mac}");
            s.active.push(ActiveRow { id, user, address: ip.to_string(), mac_address: mac, login_by: "trial".into() });
            Ok(format_interval(limit))
        })
    }
}
