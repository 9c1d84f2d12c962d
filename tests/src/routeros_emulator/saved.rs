//! The router's configuration on disk (`EmulatorConfig::state_file`), so that a killed
//! emulator comes back the way a rebooted RouterOS does: with what it keeps in its
//! configuration, without what it keeps only in memory.
//!
//! Kept: hotspot users (with their counters), user profiles, server profiles, MAC cookies,
//! the identity, each table's `.id` counter, and the trial uses per MAC. Lost: the host
//! table (devices refill it as they send traffic) and the active sessions (every device
//! logs in again), as on a real router; see `docs/routeros-notes.md`, "A reboot". Cookies
//! and trial uses are kept unverified: no source says what a reboot does to them.
//!
//! The file is rewritten after every command that changed what is kept, before the
//! command's reply is queued, as a temporary file renamed over the old one: a SIGKILL at any
//! moment leaves the old file or the new one, never a torn one, and a change the router
//! acknowledged is on disk. No fsync: the emulator models a process kill, not a power cut.
//! The whole file is rewritten each time: with 10,000 users (2.5 MB) that is about 2.3 ms
//! of serialising and 2.7 ms of writing per change in a release build on the 2-core test
//! machine, held under the state lock; fine for the chaos run, an append-only log would be
//! the next step if a run with far more users needs it.

use std::collections::HashMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::server_profiles::ServerProfile;
use super::state::{CookieRow, Ids, Profile, RouterState, UserRecord};
use super::{EmulatorConfig, RouterOsEmulator, Shared};

/// What a reboot keeps, as read back.
#[derive(Deserialize)]
struct Saved {
    identity: String,
    users: Vec<UserRecord>,
    last_user_id: u32,
    profiles: Vec<Profile>,
    last_profile_id: u32,
    server_profiles: Vec<ServerProfile>,
    cookies: Vec<CookieRow>,
    last_cookie_id: u32,
    trial_uses: HashMap<String, u64>,
}

/// The same, borrowed from the running state for writing (no copy of every user).
#[derive(Serialize)]
struct Saving<'a> {
    identity: &'a str,
    users: Vec<&'a UserRecord>,
    last_user_id: u32,
    profiles: &'a [Profile],
    last_profile_id: u32,
    server_profiles: &'a [ServerProfile],
    cookies: &'a [CookieRow],
    last_cookie_id: u32,
    trial_uses: &'a HashMap<String, u64>,
}

/// The state a starting emulator boots with: the state file's if there is one, else a new
/// router with the configured identity and profiles. Panics on a file it cannot read (a
/// test tool: better loud than a router silently reset).
pub(crate) fn boot(config: &EmulatorConfig) -> RouterState {
    match config.state_file.as_deref().map(load) {
        Some(Ok(Some(state))) => state,
        Some(Err(error)) => panic!("the emulator's state file is unreadable: {error:#}"),
        Some(Ok(None)) | None => RouterState::new(&config.identity, &config.profiles),
    }
}

impl Shared {
    /// Writes what a reboot keeps to the state file, if there is one and it changed. Called
    /// with the state locked, so writes follow the changes' order.
    pub(crate) fn save(&self, state: &RouterState) {
        let Some(path) = &self.config.state_file else { return };
        let text = to_text(state);
        let mut last = self.saved.lock().expect("saved lock");
        if *last == text {
            return;
        }
        match write(path, &text) {
            Ok(()) => {
                *last = text;
                self.kept_changes.send_modify(|n| *n += 1);
            }
            Err(error) => tracing::error!(%error, path = %path.display(), "the emulator could not write its state file"),
        }
    }
}

impl RouterOsEmulator {
    /// A counter bumped each time the state file is rewritten (what a reboot keeps, users
    /// among it, changed); never bumped without a state file.
    pub fn kept_changes(&self) -> tokio::sync::watch::Receiver<u64> {
        self.shared.kept_changes.subscribe()
    }
}

/// The kept part of `state`, as the file holds it.
pub(crate) fn to_text(state: &RouterState) -> String {
    let saved = Saving {
        identity: &state.identity,
        users: state.users.iter().collect(),
        last_user_id: state.user_ids.0,
        profiles: &state.profiles,
        last_profile_id: state.profile_ids.0,
        server_profiles: &state.server_profiles,
        cookies: &state.cookies,
        last_cookie_id: state.cookie_ids.0,
        trial_uses: &state.trial_uses,
    };
    serde_json::to_string(&saved).unwrap_or_default()
}

/// A router as it boots from `text`: the kept tables, no hosts, no sessions.
pub(crate) fn from_text(text: &str) -> anyhow::Result<RouterState> {
    let saved: Saved = serde_json::from_str(text)?;
    let mut state = RouterState {
        identity: saved.identity,
        user_ids: Ids(saved.last_user_id),
        profiles: saved.profiles,
        profile_ids: Ids(saved.last_profile_id),
        server_profiles: saved.server_profiles,
        cookies: saved.cookies,
        cookie_ids: Ids(saved.last_cookie_id),
        trial_uses: saved.trial_uses,
        ..RouterState::default()
    };
    for user in saved.users {
        state.users.push(user);
    }
    Ok(state)
}

/// Reads the file; `None` if there is none yet (a router booting for the first time).
pub(crate) fn load(path: &Path) -> anyhow::Result<Option<RouterState>> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(from_text(&text)?)),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(error) => Err(error.into()),
    }
}

/// Whether an API command may change what a reboot keeps: not a print, and not on the
/// runtime tables (sessions, hosts), whose commands (in the emulator) touch nothing kept.
/// Spares serialising every user for each login or session removed.
pub(crate) fn may_change_kept(command: &str) -> bool {
    !(command.ends_with("/print") || command.starts_with("/ip/hotspot/active/") || command.starts_with("/ip/hotspot/host/"))
}

/// Replaces the file with `text`: written beside it, then renamed over it.
pub(crate) fn write(path: &Path, text: &str) -> std::io::Result<()> {
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(".tmp");
    std::fs::write(&temporary, text)?;
    std::fs::rename(&temporary, path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::routeros_emulator::state::{ActiveRow, HostRow, HotspotUserRow};

    #[test]
    fn a_reboot_keeps_the_configuration_and_forgets_hosts_and_sessions() {
        let mut state = RouterState::new("shop", &["plan-1h".to_string()]);
        let id = state.user_ids.next();
        let row = HotspotUserRow {
            id,
            name: "ABC234".into(),
            password: "123456".into(),
            profile: "plan-1h".into(),
            mac_address: Some("02:C0:00:00:00:07".into()),
            limit_uptime: Some("1h".into()),
            limit_bytes_total: None,
            comment: Some("jasiyo exp=1900000000".into()),
            disabled: false,
            bytes_in: 5,
            bytes_out: 7,
        };
        state.users.push(UserRecord { row: row.clone(), extra: vec![("email".into(), "a@b.c".into())] });
        state.hosts.push(HostRow { id: "*1".into(), mac_address: "02:C0:00:00:00:07".into(), address: "10.5.50.7".into() });
        state.active.push(ActiveRow {
            id: "*1".into(),
            user: "ABC234".into(),
            address: "10.5.50.7".into(),
            mac_address: "02:C0:00:00:00:07".into(),
            login_by: "http-chap".into(),
        });

        let mut booted = from_text(&to_text(&state)).expect("the file reads back");
        assert_eq!(booted.identity, "shop");
        assert_eq!(booted.user_by_name("ABC234").map(|u| u.row.clone()), Some(row));
        assert_eq!(booted.user_by_name("ABC234").map(|u| u.extra.clone()), Some(vec![("email".into(), "a@b.c".into())]));
        assert!(booted.has_profile("plan-1h") && booted.has_profile("default"));
        assert!(booted.hosts.is_empty() && booted.active.is_empty(), "hosts and sessions are lost");
        assert_eq!(booted.user_ids.next(), "*2", ".id values are not reused after a reboot");
    }

    #[test]
    fn only_commands_on_kept_tables_rewrite_the_file() {
        for kept in ["/ip/hotspot/user/add", "/ip/hotspot/user/remove", "/ip/hotspot/user/profile/set", "/system/identity/set"] {
            assert!(may_change_kept(kept), "{kept}");
        }
        for runtime in ["/ip/hotspot/user/print", "/ip/hotspot/active/login", "/ip/hotspot/active/remove", "/ip/hotspot/host/print"] {
            assert!(!may_change_kept(runtime), "{runtime}");
        }
    }

    #[test]
    fn the_file_is_replaced_whole() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let path = dir.path().join("router.json");
        assert!(load(&path).expect("no file is not an error").is_none());
        let state = RouterState::new("one", &[]);
        write(&path, &to_text(&state)).expect("write");
        write(&path, &to_text(&RouterState::new("two", &[]))).expect("write again");
        assert_eq!(load(&path).expect("read").map(|s| s.identity), Some("two".to_string()));
        assert!(!dir.path().join("router.json.tmp").exists(), "the temporary file was renamed");
    }
}
