//! The router's tables as the emulator keeps them: hotspot users and profiles, hosts,
//! active sessions, MAC cookies and the identity. Rows read by tests are plain structs;
//! `to_attributes` gives the `=name=value` pairs a `print` shows.

use serde::{Deserialize, Serialize};

use super::time;
use super::user_table::UserTable;

/// One `/ip/hotspot/user` entry as tests see it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HotspotUserRow {
    /// `.id`, like `*1`.
    pub id: String,
    /// Login name.
    pub name: String,
    /// Clear-text password.
    pub password: String,
    /// User-profile name.
    pub profile: String,
    /// MAC the user is bound to, upper-case with colons.
    pub mac_address: Option<String>,
    /// Cumulative online time allowed, as the router prints it (`1h30m`).
    pub limit_uptime: Option<String>,
    /// Byte cap (in + out).
    pub limit_bytes_total: Option<u64>,
    /// Free text.
    pub comment: Option<String>,
    /// `disabled=yes`.
    pub disabled: bool,
    /// Bytes received from the user's devices (upload), as `bytes-in` prints it: counted
    /// by the router, read-only to the API (tests set it, see
    /// [`RouterOsEmulator::set_user_bytes`](super::RouterOsEmulator::set_user_bytes)).
    pub bytes_in: u64,
    /// Bytes sent to the user's devices (download), as `bytes-out` prints it.
    pub bytes_out: u64,
}

/// A user planted by a test (not made through the API), see
/// [`RouterOsEmulator::add_user_by_hand`](super::RouterOsEmulator::add_user_by_hand).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewUser {
    /// Login name.
    pub name: String,
    /// Clear-text password.
    pub password: String,
    /// User-profile name (it is created if missing).
    pub profile: String,
    /// MAC binding, in any separator style the router accepts.
    pub mac_address: Option<String>,
    /// Limit in any input form the router accepts (`5400`, `1h30m`, `01:30:00`).
    pub limit_uptime: Option<String>,
    /// Byte cap.
    pub limit_bytes_total: Option<u64>,
    /// Free text.
    pub comment: Option<String>,
    /// Disabled.
    pub disabled: bool,
}

impl NewUser {
    /// A user in profile `default` with no limits.
    pub fn new(name: &str, password: &str) -> NewUser {
        NewUser {
            name: name.to_string(),
            password: password.to_string(),
            profile: "default".to_string(),
            mac_address: None,
            limit_uptime: None,
            limit_bytes_total: None,
            comment: None,
            disabled: false,
        }
    }
}

/// One `/ip/hotspot/active` session.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActiveRow {
    /// `.id`.
    pub id: String,
    /// The user name.
    pub user: String,
    /// The device's IP.
    pub address: String,
    /// The device's MAC.
    pub mac_address: String,
    /// How it logged in (`http-chap`, ...).
    pub login_by: String,
}

/// One `/ip/hotspot/cookie` entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CookieRow {
    /// `.id`.
    pub id: String,
    /// The user name.
    pub user: String,
    /// The device's MAC.
    pub mac_address: String,
}

/// One `/ip/hotspot/host` entry: a device the hotspot sees.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostRow {
    /// `.id`.
    pub id: String,
    /// The device's MAC.
    pub mac_address: String,
    /// The device's IP.
    pub address: String,
}

/// A user as stored: the public row plus arguments the emulator keeps but does not model
/// (`email`, `address`, `limit-bytes-in`, ...), printed back as given.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct UserRecord {
    pub row: HotspotUserRow,
    pub extra: Vec<(String, String)>,
}

/// A user profile: its name and the arguments given to it, over the defaults.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct Profile {
    pub id: String,
    pub name: String,
    pub settings: Vec<(String, String)>,
}

/// `.id` allocation for one table: `*1`, `*2`, ... in upper-case hex, never reused.
#[derive(Debug, Default)]
pub(crate) struct Ids(pub u32);

impl Ids {
    pub fn next(&mut self) -> String {
        self.0 += 1;
        format!("*{:X}", self.0)
    }
}

/// Everything the emulated router holds.
#[derive(Debug, Default)]
pub(crate) struct RouterState {
    pub users: UserTable,
    pub user_ids: Ids,
    pub profiles: Vec<Profile>,
    pub profile_ids: Ids,
    pub hosts: Vec<HostRow>,
    pub host_ids: Ids,
    pub active: Vec<ActiveRow>,
    pub active_ids: Ids,
    pub cookies: Vec<CookieRow>,
    pub cookie_ids: Ids,
    pub identity: String,
    /// `/ip/hotspot/profile`.
    pub server_profiles: Vec<super::server_profiles::ServerProfile>,
    /// When each MAC (upper case, colons) last started a trial (Unix ms).
    pub trial_uses: std::collections::HashMap<String, u64>,
}

impl RouterState {
    /// A router with `identity` and the given profiles (plus `default`, which every router has).
    pub fn new(identity: &str, profiles: &[String]) -> RouterState {
        // The built-in default profile is `*0` on a real router.
        let mut state = RouterState {
            identity: identity.to_string(),
            profiles: vec![Profile { id: "*0".into(), name: "default".into(), settings: Vec::new() }],
            server_profiles: super::server_profiles::initial(),
            ..RouterState::default()
        };
        for name in profiles {
            state.ensure_profile(name);
        }
        state
    }

    /// Adds profile `name` unless it exists.
    pub fn ensure_profile(&mut self, name: &str) {
        if !self.has_profile(name) {
            let id = self.profile_ids.next();
            self.profiles.push(Profile { id, name: name.to_string(), settings: Vec::new() });
        }
    }

    pub fn has_profile(&self, name: &str) -> bool {
        self.profiles.iter().any(|p| p.name == name)
    }

    pub fn user_by_name(&self, name: &str) -> Option<&UserRecord> {
        self.users.by_name(name)
    }

    /// Adds a host unless one with that MAC exists (then its address is updated).
    pub fn ensure_host(&mut self, mac: &str, ip: &str) {
        let mac = normalise_mac(mac).unwrap_or_else(|| mac.to_string());
        if let Some(host) = self.hosts.iter_mut().find(|h| h.mac_address == mac) {
            host.address = ip.to_string();
        } else {
            let id = self.host_ids.next();
            self.hosts.push(HostRow { id, mac_address: mac, address: ip.to_string() });
        }
    }

    /// The `shared-users` setting of a profile (1 unless set).
    pub fn shared_users(&self, profile: &str) -> usize {
        self.profiles
            .iter()
            .find(|p| p.name == profile)
            .and_then(|p| p.settings.iter().find(|(k, _)| k == "shared-users"))
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(1)
    }
}

impl UserRecord {
    /// The columns `/ip/hotspot/user/print` shows; unset optional fields are left out, as
    /// the router does.
    pub fn to_attributes(&self) -> Vec<(String, String)> {
        let r = &self.row;
        let mut out = vec![
            pair(".id", &r.id),
            pair("server", "all"),
            pair("name", &r.name),
            pair("password", &r.password),
            pair("profile", &r.profile),
        ];
        if let Some(mac) = &r.mac_address {
            out.push(pair("mac-address", mac));
        }
        if let Some(limit) = &r.limit_uptime {
            out.push(pair("limit-uptime", limit));
        }
        if let Some(bytes) = r.limit_bytes_total {
            out.push(pair("limit-bytes-total", &bytes.to_string()));
        }
        out.extend(self.extra.iter().cloned());
        out.push(pair("uptime", "0s"));
        out.push(pair("bytes-in", &r.bytes_in.to_string()));
        out.push(pair("bytes-out", &r.bytes_out.to_string()));
        for (name, value) in [("packets-in", "0"), ("packets-out", "0"), ("dynamic", "false")] {
            out.push(pair(name, value));
        }
        out.push(pair("disabled", bool_text(r.disabled)));
        if let Some(comment) = &r.comment {
            out.push(pair("comment", comment));
        }
        out
    }
}

impl Profile {
    /// Default columns of a fresh profile on RouterOS 7, overridden by what was set.
    pub fn to_attributes(&self) -> Vec<(String, String)> {
        let mut out = vec![pair(".id", &self.id), pair("name", &self.name)];
        let defaults = [
            ("idle-timeout", "none"),
            ("keepalive-timeout", "2m"),
            ("status-autorefresh", "1m"),
            ("shared-users", "1"),
            ("add-mac-cookie", "true"),
            ("mac-cookie-timeout", "3d"),
            ("transparent-proxy", "true"),
            ("open-status-page", "always"),
        ];
        for (name, value) in defaults {
            let set = self.settings.iter().find(|(k, _)| k == name);
            out.push(pair(name, set.map_or(value, |(_, v)| v.as_str())));
        }
        out.extend(self.settings.iter().filter(|(k, _)| !defaults.iter().any(|(d, _)| d == k)).cloned());
        out.push(pair("default", bool_text(self.name == "default")));
        out
    }
}

impl ActiveRow {
    /// The columns `/ip/hotspot/active/print` shows (counters are always zero here).
    pub fn to_attributes(&self) -> Vec<(String, String)> {
        vec![
            pair(".id", &self.id),
            pair("server", "hotspot1"),
            pair("user", &self.user),
            pair("address", &self.address),
            pair("mac-address", &self.mac_address),
            pair("login-by", &self.login_by),
            pair("uptime", "0s"),
            pair("idle-time", "0s"),
            pair("bytes-in", "0"),
            pair("bytes-out", "0"),
            pair("radius", "false"),
        ]
    }
}

impl CookieRow {
    /// The columns `/ip/hotspot/cookie/print` shows.
    pub fn to_attributes(&self) -> Vec<(String, String)> {
        vec![pair(".id", &self.id), pair("user", &self.user), pair("mac-address", &self.mac_address), pair("expires-in", "3d")]
    }
}

impl HostRow {
    /// The columns `/ip/hotspot/host/print` shows; `authorized` when a session uses the MAC.
    pub fn to_attributes(&self, authorized: bool) -> Vec<(String, String)> {
        vec![
            pair(".id", &self.id),
            pair("mac-address", &self.mac_address),
            pair("address", &self.address),
            pair("to-address", &self.address),
            pair("server", "hotspot1"),
            pair("authorized", bool_text(authorized)),
            pair("bypassed", "false"),
            pair("uptime", "0s"),
        ]
    }
}

/// An interval input normalised to the printed form; `0` means "no limit" and is stored
/// as unset (unverified: a real router may print `0s`).
pub(crate) fn limit_interval(text: &str) -> Result<Option<String>, ()> {
    match time::parse_interval(text) {
        Some(0) => Ok(None),
        Some(ms) => Ok(Some(time::format_interval(ms))),
        None => Err(()),
    }
}

/// A MAC in any separator style the router accepts (`:`, `-`, `.` or none), printed
/// upper-case with colons. `None` if it is not 12 hex digits.
pub fn normalise_mac(text: &str) -> Option<String> {
    let hex: String = text.chars().filter(|c| !matches!(c, ':' | '-' | '.')).collect();
    if hex.len() != 12 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    let upper = hex.to_ascii_uppercase();
    Some(upper.as_bytes().chunks(2).map(|c| String::from_utf8_lossy(c).into_owned()).collect::<Vec<_>>().join(":"))
}

/// `yes`/`true` and `no`/`false` as the API accepts them.
pub(crate) fn parse_bool(text: &str) -> Option<bool> {
    match text {
        "yes" | "true" => Some(true),
        "no" | "false" => Some(false),
        _ => None,
    }
}

/// Booleans as RouterOS 7 prints them.
pub(crate) fn bool_text(value: bool) -> &'static str {
    if value { "true" } else { "false" }
}

pub(crate) fn pair(name: &str, value: &str) -> (String, String) {
    (name.to_string(), value.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn macs_in_every_style_normalise() {
        for input in ["aa:bb:cc:dd:ee:0f", "AA-BB-CC-DD-EE-0F", "aabb.ccdd.ee0f", "AABBCCDDEE0F"] {
            assert_eq!(normalise_mac(input).as_deref(), Some("AA:BB:CC:DD:EE:0F"));
        }
        assert_eq!(normalise_mac("AA:BB"), None);
        assert_eq!(normalise_mac("GG:BB:CC:DD:EE:FF"), None);
    }

    #[test]
    fn ids_are_hex_and_never_reused() {
        let mut ids = Ids::default();
        let all: Vec<String> = (0..11).map(|_| ids.next()).collect();
        assert_eq!(all[0], "*1");
        assert_eq!(all[9], "*A");
        assert_eq!(all[10], "*B");
    }
}
