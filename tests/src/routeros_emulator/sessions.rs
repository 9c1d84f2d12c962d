//! `/ip/hotspot/active` (print, remove, login), `/ip/hotspot/cookie` (print, remove) and
//! `/ip/hotspot/host` (print): the devices the hotspot sees and who is logged in.

use jasiyo_agent::routeros::sentence::Request;

use super::menus::{Outcome, Output, check_arguments, fail, print, remove};
use super::state::{ActiveRow, CookieRow, RouterState, normalise_mac};

// Texts for a refused `active/login`. All unverified: they follow the hotspot's own
// login-page errors, which the API may word differently.
pub(crate) const HOST_NOT_FOUND: &str = "failure: host not found";
pub(crate) const BAD_CREDENTIALS: &str = "invalid username or password";
pub(crate) const USER_DISABLED: &str = "user is disabled";
pub(crate) const MAC_NOT_ALLOWED: &str = "your MAC address is not allowed";
pub(crate) const ALREADY_AUTHORIZED: &str = "failure: host already authorized";
pub(crate) const NO_MORE_SESSIONS: &str = "no more sessions are allowed for user";

/// What `active/login` records as `login-by` (unverified: the router's value for an API
/// login is not documented in the reference).
pub(crate) const API_LOGIN_BY: &str = "http-pap";

/// `/ip/hotspot/{active,cookie,host}/<verb>`; `None` for an unknown verb.
pub(crate) fn run(state: &mut RouterState, menu: &str, verb: &str, request: &Request) -> Option<Outcome> {
    Some(match (menu, verb) {
        ("/ip/hotspot/active", "print") => print(state.active.iter().map(ActiveRow::to_attributes).collect(), request),
        ("/ip/hotspot/active", "remove") => remove(&mut state.active, request, |a| &a.id),
        ("/ip/hotspot/active", "login") => login(state, request),
        ("/ip/hotspot/cookie", "print") => print(state.cookies.iter().map(CookieRow::to_attributes).collect(), request),
        ("/ip/hotspot/cookie", "remove") => remove(&mut state.cookies, request, |c| &c.id),
        ("/ip/hotspot/host", "print") => {
            let rows = state.hosts.iter().map(|h| h.to_attributes(state.active.iter().any(|a| a.mac_address == h.mac_address)));
            print(rows.collect(), request)
        }
        _ => return None,
    })
}

/// Logs a device in from the router side: the device must be in the host table (found by
/// `ip` and/or `mac-address`) and the credentials must match an enabled user.
fn login(state: &mut RouterState, request: &Request) -> Outcome {
    check_arguments(request, &["user", "password", "mac-address", "ip", "domain"])?;
    let mac = match request.get("mac-address").filter(|m| !m.is_empty()) {
        Some(m) => Some(normalise_mac(m).ok_or_else(|| super::menus::Failure(HOST_NOT_FOUND.into()))?),
        None => None,
    };
    let ip = request.get("ip").filter(|i| !i.is_empty());
    if mac.is_none() && ip.is_none() {
        return fail(HOST_NOT_FOUND);
    }
    let Some(host) =
        state.hosts.iter().find(|h| mac.as_ref().is_none_or(|m| &h.mac_address == m) && ip.is_none_or(|i| h.address == i)).cloned()
    else {
        return fail(HOST_NOT_FOUND);
    };
    let name = request.get("user").unwrap_or("");
    let Some(user) = state.user_by_name(name).map(|u| u.row.clone()) else { return fail(BAD_CREDENTIALS) };
    if user.password != request.get("password").unwrap_or("") {
        return fail(BAD_CREDENTIALS);
    }
    if user.disabled {
        return fail(USER_DISABLED);
    }
    if user.mac_address.as_ref().is_some_and(|bound| bound != &host.mac_address && bound != "00:00:00:00:00:00") {
        return fail(MAC_NOT_ALLOWED);
    }
    if state.active.iter().any(|a| a.mac_address == host.mac_address) {
        return fail(ALREADY_AUTHORIZED);
    }
    if state.active.iter().filter(|a| a.user == user.name).count() >= state.shared_users(&user.profile) {
        return fail(NO_MORE_SESSIONS);
    }
    let id = state.active_ids.next();
    state.active.push(ActiveRow {
        id,
        user: user.name,
        address: host.address,
        mac_address: host.mac_address,
        login_by: API_LOGIN_BY.to_string(),
    });
    Ok(Output::done())
}

impl super::RouterOsEmulator {
    /// Ends a session as the router does when its time runs out (or an operator removes
    /// it at the console); false if there was none with this `.id`.
    pub fn end_session_by_hand(&self, id: &str) -> bool {
        self.edit(|s| {
            let before = s.active.len();
            s.active.retain(|a| a.id != id);
            s.active.len() != before
        })
    }
}
