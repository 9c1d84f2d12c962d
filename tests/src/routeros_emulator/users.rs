//! `/ip/hotspot/user` (add, set, remove, print) and `/ip/hotspot/user/profile` (add, set,
//! remove, print), with the router's exact trap texts where they are known.

use jasiyo_agent::routeros::sentence::Request;

use super::menus::{Outcome, Output, check_arguments, fail, print, remove, targets};
use super::query::Row;
use super::state::{HotspotUserRow, Profile, RouterState, UserRecord, limit_interval, normalise_mac, parse_bool};

/// Exact RouterOS texts (reference section 1.9).
pub(crate) const DUPLICATE_USER: &str = "failure: already have user with this name for this server";
pub(crate) const NO_SUCH_PROFILE: &str = "input does not match any value of profile";
/// Seen in client code that handles real routers (`server=` naming no hotspot server).
pub(crate) const NO_SUCH_SERVER: &str = "input does not match any value of server";
/// Unverified texts: plausible, not checked against a router.
pub(crate) const MISSING_NAME: &str = "failure: name must be set";
pub(crate) const DUPLICATE_PROFILE: &str = "failure: already have profile with this name";
pub(crate) const DEFAULT_PROFILE: &str = "failure: cannot remove default profile";

/// Arguments the emulator models.
const USER_ARGUMENTS: &[&str] =
    &["name", "password", "profile", "server", "mac-address", "limit-uptime", "limit-bytes-total", "comment", "disabled"];
/// Arguments a 7.24 router also takes; kept and printed back as given.
const USER_EXTRAS: &[&str] = &["address", "limit-bytes-in", "limit-bytes-out", "email", "routes", "otp-secret"];
/// Profile arguments (7.24); all kept as given.
const PROFILE_ARGUMENTS: &[&str] = &[
    "name",
    "rate-limit",
    "shared-users",
    "session-timeout",
    "idle-timeout",
    "keepalive-timeout",
    "status-autorefresh",
    "add-mac-cookie",
    "mac-cookie-timeout",
    "address-pool",
    "address-list",
    "transparent-proxy",
    "parent-queue",
    "queue-type",
    "insert-queue-before",
    "incoming-filter",
    "outgoing-filter",
    "incoming-packet-mark",
    "outgoing-packet-mark",
    "on-login",
    "on-logout",
    "open-status-page",
    "advertise",
    "advertise-interval",
    "advertise-timeout",
    "advertise-url",
];

/// `/ip/hotspot/user/<verb>`; `None` for an unknown verb.
pub(crate) fn user(state: &mut RouterState, verb: &str, request: &Request) -> Option<Outcome> {
    Some(match verb {
        "add" => add_user(state, request),
        "set" => set_user(state, request),
        "remove" => state.users.edit(|rows| remove(rows, request, |u| &u.row.id)),
        "print" => print(matching_by_name(state, request), request),
        _ => return None,
    })
}

/// The rows a user print starts from. A lone `?name=x` query (what clients send to find a
/// user) looks the name up directly instead of rendering every user, so the emulator stays
/// fast with tens of thousands of users; the query still runs on the result.
fn matching_by_name(state: &RouterState, request: &Request) -> Vec<Row> {
    let by_name = match request.queries.as_slice() {
        [query] => query.strip_prefix("name=").or_else(|| query.strip_prefix("=name=")),
        _ => None,
    };
    match by_name {
        Some(name) => state.users.by_name(name).map(UserRecord::to_attributes).into_iter().collect(),
        None => state.users.iter().map(UserRecord::to_attributes).collect(),
    }
}

fn all_user_arguments() -> Vec<&'static str> {
    USER_ARGUMENTS.iter().chain(USER_EXTRAS).copied().collect()
}

fn add_user(state: &mut RouterState, request: &Request) -> Outcome {
    check_arguments(request, &all_user_arguments())?;
    let Some(name) = request.get("name").filter(|n| !n.is_empty()) else { return fail(MISSING_NAME) };
    if state.user_by_name(name).is_some() {
        return fail(DUPLICATE_USER);
    }
    let row = HotspotUserRow {
        id: String::new(),
        name: name.to_string(),
        password: String::new(),
        profile: "default".to_string(),
        mac_address: None,
        limit_uptime: None,
        limit_bytes_total: None,
        comment: None,
        disabled: false,
        bytes_in: 0,
        bytes_out: 0,
    };
    let mut record = UserRecord { row, extra: Vec::new() };
    apply_user_arguments(state, &mut record, request)?;
    record.row.id = state.user_ids.next();
    let id = record.row.id.clone();
    state.users.push(record);
    Ok(Output::ret(id))
}

fn set_user(state: &mut RouterState, request: &Request) -> Outcome {
    let mut allowed = all_user_arguments();
    allowed.push("numbers");
    check_arguments(request, &allowed)?;
    // `numbers` may name a user as well as an id, as on the console.
    let ids = targets(request, |item| state.users.by_id(item).or_else(|| state.users.by_name(item)).map(|u| u.row.id.clone()))?;
    let mut updated = Vec::new();
    for id in &ids {
        let mut record = state.users.by_id(id).cloned().expect("resolved above");
        apply_user_arguments(state, &mut record, request)?;
        if record.row.name.is_empty() {
            return fail(MISSING_NAME);
        }
        if state.users.by_name(&record.row.name).is_some_and(|u| &u.row.id != id) {
            return fail(DUPLICATE_USER);
        }
        updated.push(record);
    }
    for record in updated {
        state.users.replace(record);
    }
    Ok(Output::done())
}

/// Applies `add`/`set` arguments to a copy of a user; nothing is stored on failure.
fn apply_user_arguments(state: &RouterState, record: &mut UserRecord, request: &Request) -> Result<(), super::menus::Failure> {
    let row = &mut record.row;
    for (name, value) in &request.attributes {
        let value = value.as_str();
        match name.as_str() {
            "name" => row.name = value.to_string(),
            "password" => row.password = value.to_string(),
            "profile" if state.has_profile(value) => row.profile = value.to_string(),
            "profile" => return fail(NO_SUCH_PROFILE),
            // The emulator has no hotspot servers: only `all` exists.
            "server" if value != "all" => return fail(NO_SUCH_SERVER),
            "mac-address" if value.is_empty() => row.mac_address = None,
            // `00:00:00:00:00:00` means "any device", the same as unset (printing it as
            // absent is unverified).
            "mac-address" => {
                let mac = normalise_mac(value).ok_or_else(|| invalid("mac-address"))?;
                row.mac_address = (mac != "00:00:00:00:00:00").then_some(mac);
            }
            "limit-uptime" if value.is_empty() => row.limit_uptime = None,
            "limit-uptime" => row.limit_uptime = limit_interval(value).map_err(|_| invalid("limit-uptime"))?,
            "limit-bytes-total" if value.is_empty() => row.limit_bytes_total = None,
            "limit-bytes-total" => {
                let bytes: u64 = value.parse().map_err(|_| invalid("limit-bytes-total"))?;
                row.limit_bytes_total = (bytes != 0).then_some(bytes);
            }
            "comment" => row.comment = (!value.is_empty()).then(|| value.to_string()),
            "disabled" => row.disabled = parse_bool(value).ok_or_else(|| invalid("disabled"))?,
            extra if USER_EXTRAS.contains(&extra) => set_setting(&mut record.extra, extra, value),
            _ => {}
        }
    }
    Ok(())
}

/// A value the router would not parse. The wording is unverified.
fn invalid(argument: &str) -> super::menus::Failure {
    super::menus::Failure(format!("invalid value for argument {argument}"))
}

/// Sets (or, with an empty value, clears) one kept setting.
fn set_setting(settings: &mut Vec<(String, String)>, name: &str, value: &str) {
    settings.retain(|(k, _)| k != name);
    if !value.is_empty() {
        settings.push((name.to_string(), value.to_string()));
    }
}

/// `/ip/hotspot/user/profile/<verb>`; `None` for an unknown verb.
pub(crate) fn profile(state: &mut RouterState, verb: &str, request: &Request) -> Option<Outcome> {
    Some(match verb {
        "add" => add_profile(state, request),
        "set" => set_profile(state, request),
        "remove" => remove_profile(state, request),
        "print" => print(state.profiles.iter().map(Profile::to_attributes).collect(), request),
        _ => return None,
    })
}

fn add_profile(state: &mut RouterState, request: &Request) -> Outcome {
    check_arguments(request, PROFILE_ARGUMENTS)?;
    let Some(name) = request.get("name").filter(|n| !n.is_empty()) else { return fail(MISSING_NAME) };
    if state.has_profile(name) {
        return fail(DUPLICATE_PROFILE);
    }
    let mut profile = Profile { id: state.profile_ids.next(), name: name.to_string(), settings: Vec::new() };
    apply_profile_arguments(&mut profile, request);
    let id = profile.id.clone();
    state.profiles.push(profile);
    Ok(Output::ret(id))
}

fn set_profile(state: &mut RouterState, request: &Request) -> Outcome {
    let mut allowed = PROFILE_ARGUMENTS.to_vec();
    allowed.push("numbers");
    check_arguments(request, &allowed)?;
    let ids = targets(request, |item| state.profiles.iter().find(|p| p.id == item || p.name == item).map(|p| p.id.clone()))?;
    if let Some(name) = request.get("name")
        && state.profiles.iter().any(|p| p.name == name && !ids.contains(&p.id))
    {
        return fail(DUPLICATE_PROFILE);
    }
    for profile in state.profiles.iter_mut().filter(|p| ids.contains(&p.id)) {
        apply_profile_arguments(profile, request);
    }
    Ok(Output::done())
}

fn apply_profile_arguments(profile: &mut Profile, request: &Request) {
    for (name, value) in &request.attributes {
        match name.as_str() {
            "name" => profile.name = value.clone(),
            setting if PROFILE_ARGUMENTS.contains(&setting) => set_setting(&mut profile.settings, setting, value),
            _ => {}
        }
    }
}

fn remove_profile(state: &mut RouterState, request: &Request) -> Outcome {
    let ids = targets(request, |item| state.profiles.iter().find(|p| p.id == item).map(|p| p.id.clone()))?;
    if state.profiles.iter().any(|p| p.name == "default" && ids.contains(&p.id)) {
        return fail(DEFAULT_PROFILE);
    }
    remove(&mut state.profiles, request, |p| &p.id)
}

impl super::RouterOsEmulator {
    /// Adds a hotspot user profile unless it exists.
    pub fn add_profile(&self, name: &str) {
        self.edit(|s| s.ensure_profile(name));
    }

    /// The profile names.
    pub fn profiles(&self) -> Vec<String> {
        self.state().profiles.iter().map(|p| p.name.clone()).collect()
    }

    /// A profile's settings as `print` shows them (defaults included), if it exists.
    pub fn profile(&self, name: &str) -> Option<Vec<(String, String)>> {
        self.state().profiles.iter().find(|p| p.name == name).map(|p| p.to_attributes())
    }
}
