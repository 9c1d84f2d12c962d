//! A RouterOS API emulator: a TCP server that speaks the binary API the way RouterOS 7
//! does for the hotspot menus the agent drives, with switches for the behaviours that
//! differ between versions (`!empty`, MD5 login, tag position) and for faults (refused and
//! dropped connections, slow replies, traps once or on every call).
//!
//! Tests read and plant state through [`RouterOsEmulator`] and wait on
//! [`RouterOsEmulator::changes`], never on sleeps. Texts the reference could not verify are
//! marked "(unverified)" where they are defined.
//!
//! - [`server`] and [`outbox`]: connections, login, tags, `/cancel`; [`switches`]: faults.
//! - [`menus`], [`users`], [`sessions`], [`server_profiles`] (and trials), [`system`]: menus.
//! - [`servlet`]: the hotspot's web pages as RouterOS serves them (which page, variables
//!   filled in, redirects).
//! - [`query`]: print queries; [`state`] and [`user_table`]: the tables; [`time`]: time values.
//! - [`saved`]: the configuration on disk across a kill; [`control`]: the process's HTTP
//!   control channel for tests.

pub mod control;
mod counters;
mod login;
mod menus;
mod outbox;
mod query;
mod saved;
mod server;
pub mod server_profiles;
pub mod servlet;
mod sessions;
mod state;
mod switches;
mod system;
mod time;
mod user_table;
mod users;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub use login::legacy_response;
pub use state::{ActiveRow, CookieRow, HostRow, HotspotUserRow, NewUser, normalise_mac};
pub use time::{format_interval, parse_interval};

use state::{CookieRow as Cookie, RouterState, UserRecord, limit_interval};

/// What RouterOS 7 answers when the API user's group lacks the policy a command needs
/// (`write` for changes, for example): a trap with no category. Not in the reference; the
/// same text appears in several independent codebases that handle real routers.
pub const NOT_ENOUGH_PERMISSIONS: &str = "not enough permissions (9)";

/// How the emulated router behaves.
#[derive(Clone, Debug)]
pub struct EmulatorConfig {
    /// API user name.
    pub username: String,
    /// API password.
    pub password: String,
    /// Pre-6.43 MD5 challenge login instead of the clear-text one.
    pub legacy_login: bool,
    /// RouterOS 7.18+: `!empty` before `!done` when a print has no rows.
    pub empty_replies: bool,
    /// Put `.tag=` right after the reply word instead of last.
    pub tag_first: bool,
    /// `/system/identity` name.
    pub identity: String,
    /// `/system/resource` version.
    pub version: String,
    /// `/system/resource` board name.
    pub board: String,
    /// Hotspot user profiles the router starts with (`default` always exists).
    pub profiles: Vec<String>,
    /// The configuration's file ([`saved`]): booted from if it exists, rewritten on changes.
    pub state_file: Option<PathBuf>,
}

impl Default for EmulatorConfig {
    fn default() -> EmulatorConfig {
        EmulatorConfig {
            username: "admin".into(),
            password: "secret".into(),
            legacy_login: false,
            empty_replies: true,
            tag_first: false,
            identity: "MikroTik".into(),
            version: "7.20.8 (long-term)".into(),
            board: "hAP ax^3".into(),
            profiles: vec!["default".into()],
            state_file: None,
        }
    }
}

/// What the handle and the connection tasks share.
pub(crate) struct Shared {
    pub config: EmulatorConfig,
    pub started: Instant,
    pub state: Mutex<RouterState>,
    pub log: Mutex<Vec<String>>,
    pub changes: watch::Sender<u64>,
    pub connections: AtomicUsize,
    pub refuse: AtomicBool,
    /// Connections closed unanswered by the refuse switch.
    pub refused: AtomicUsize,
    pub drop_after: watch::Sender<Option<usize>>,
    pub delay: Mutex<Duration>,
    /// A pending trap: the command word it waits for (`None`: any command) and its message.
    pub trap_next: Mutex<Option<(Option<String>, String)>>,
    /// Command words trapped on every call, with their message, until switched off.
    pub trap_always: Mutex<HashMap<String, String>>,
    /// Stops the accept loop and every connection.
    pub stop: CancellationToken,
    /// Parent of the current connections' tokens; cancelled and replaced by a kill.
    pub generation: Mutex<CancellationToken>,
    /// The configuration last written to `config.state_file`.
    pub saved: Mutex<String>,
    /// Bumped each time the state file is rewritten: what a reboot keeps changed.
    pub kept_changes: watch::Sender<u64>,
}

impl Shared {
    /// Tells `changes()` watchers something happened.
    pub fn bump(&self) {
        self.changes.send_modify(|n| *n += 1);
    }
}

/// A running emulator on a local port. Dropping it stops it; [`stop`](Self::stop) also
/// waits for its connections to close.
pub struct RouterOsEmulator {
    addr: SocketAddr,
    shared: Arc<Shared>,
    accept: Option<JoinHandle<()>>,
}

impl RouterOsEmulator {
    /// Starts on `127.0.0.1` on an ephemeral port.
    pub async fn start(config: EmulatorConfig) -> RouterOsEmulator {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind the RouterOS emulator");
        RouterOsEmulator::start_on(listener, config).await
    }

    /// Starts on a listener the caller bound.
    pub async fn start_on(listener: TcpListener, config: EmulatorConfig) -> RouterOsEmulator {
        let addr = listener.local_addr().expect("listener address");
        let stop = CancellationToken::new();
        let state = saved::boot(&config);
        let shared = Arc::new(Shared {
            saved: Mutex::new(saved::to_text(&state)),
            kept_changes: watch::channel(0).0,
            state: Mutex::new(state),
            config,
            started: Instant::now(),
            log: Mutex::new(Vec::new()),
            changes: watch::channel(0).0,
            connections: AtomicUsize::new(0),
            refuse: AtomicBool::new(false),
            refused: AtomicUsize::new(0),
            drop_after: watch::channel(None).0,
            delay: Mutex::new(Duration::ZERO),
            trap_next: Mutex::new(None),
            trap_always: Mutex::new(HashMap::new()),
            generation: Mutex::new(stop.child_token()),
            stop,
        });
        let accept = tokio::spawn(server::accept_loop(listener, shared.clone()));
        RouterOsEmulator { addr, shared, accept: Some(accept) }
    }

    /// Where clients connect.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The configuration it runs with.
    pub fn config(&self) -> &EmulatorConfig {
        &self.shared.config
    }

    fn state(&self) -> std::sync::MutexGuard<'_, RouterState> {
        self.shared.state.lock().expect("state lock")
    }

    /// Changes the state and tells watchers.
    fn edit<T>(&self, f: impl FnOnce(&mut RouterState) -> T) -> T {
        let out = {
            let mut state = self.state();
            let out = f(&mut state);
            self.shared.save(&state);
            out
        };
        self.shared.bump();
        out
    }

    /// Every hotspot user, in `.id` order.
    pub fn users(&self) -> Vec<HotspotUserRow> {
        self.state().users.iter().map(|u| u.row.clone()).collect()
    }

    /// The hotspot user called `name`.
    pub fn user(&self, name: &str) -> Option<HotspotUserRow> {
        self.state().user_by_name(name).map(|u| u.row.clone())
    }

    /// Deletes a user as an operator at the console would; false if there was none.
    pub fn remove_user_by_hand(&self, name: &str) -> bool {
        self.edit(|s| {
            let before = s.users.len();
            s.users.edit(|rows| rows.retain(|u| u.row.name != name));
            s.users.len() != before
        })
    }

    /// Plants a user the agent did not make (its profile is created if missing) and returns
    /// its `.id`. Panics on a name already taken or a limit or MAC the router would refuse.
    pub fn add_user_by_hand(&self, user: NewUser) -> String {
        let mac_address = user.mac_address.as_deref().map(|m| normalise_mac(m).unwrap_or_else(|| panic!("bad MAC {m}")));
        let limit_uptime = match user.limit_uptime.as_deref() {
            Some(text) => limit_interval(text).unwrap_or_else(|()| panic!("bad limit-uptime {text}")),
            None => None,
        };
        self.edit(|s| {
            assert!(s.user_by_name(&user.name).is_none(), "user {} exists", user.name);
            s.ensure_profile(&user.profile);
            let id = s.user_ids.next();
            let row = HotspotUserRow {
                id: id.clone(),
                name: user.name,
                password: user.password,
                profile: user.profile,
                mac_address,
                limit_uptime,
                limit_bytes_total: user.limit_bytes_total.filter(|b| *b != 0),
                comment: user.comment,
                disabled: user.disabled,
                bytes_in: 0,
                bytes_out: 0,
            };
            s.users.push(UserRecord { row, extra: Vec::new() });
            id
        })
    }

    /// Makes a device visible to the hotspot (needed before `active/login`). A MAC already
    /// known gets the new address.
    pub fn add_host(&self, mac: &str, ip: &str) {
        self.edit(|s| s.ensure_host(mac, ip));
    }

    /// The devices the hotspot sees.
    pub fn hosts(&self) -> Vec<HostRow> {
        self.state().hosts.clone()
    }

    /// The logged-in sessions.
    pub fn active(&self) -> Vec<ActiveRow> {
        self.state().active.clone()
    }

    /// Plants a session as if the device had logged in through the portal (`login-by`
    /// `http-chap`); the device is added to the hosts if missing. Returns its `.id`.
    pub fn add_active(&self, user: &str, mac: &str, ip: &str) -> String {
        self.edit(|s| {
            s.ensure_host(mac, ip);
            let id = s.active_ids.next();
            let mac_address = normalise_mac(mac).unwrap_or_else(|| mac.to_string());
            s.active.push(ActiveRow { id: id.clone(), user: user.into(), address: ip.into(), mac_address, login_by: "http-chap".into() });
            id
        })
    }

    /// The MAC cookies.
    pub fn cookies(&self) -> Vec<CookieRow> {
        self.state().cookies.clone()
    }

    /// Plants a MAC cookie; returns its `.id`.
    pub fn add_cookie(&self, user: &str, mac: &str) -> String {
        self.edit(|s| {
            let id = s.cookie_ids.next();
            let mac_address = normalise_mac(mac).unwrap_or_else(|| mac.to_string());
            s.cookies.push(Cookie { id: id.clone(), user: user.into(), mac_address });
            id
        })
    }

    /// `/system/identity` name.
    pub fn identity(&self) -> String {
        self.state().identity.clone()
    }

    /// Command words received on logged-in connections, in order (`/login` excluded;
    /// `/cancel`, `/quit`, unknown and trapped commands included).
    pub fn command_log(&self) -> Vec<String> {
        self.shared.log.lock().expect("log lock").clone()
    }

    /// A counter bumped on every state change (by a command or by hand), every command
    /// run, and every connection opened, closed or refused: wait on it instead of sleeping.
    pub fn changes(&self) -> watch::Receiver<u64> {
        self.shared.changes.subscribe()
    }

    /// Waits until `check` holds, re-checking on every change; false on timeout.
    pub async fn wait_until(&self, timeout: Duration, mut check: impl FnMut(&RouterOsEmulator) -> bool) -> bool {
        let mut changes = self.changes();
        tokio::time::timeout(timeout, async {
            while !check(self) {
                if changes.changed().await.is_err() {
                    return;
                }
            }
        })
        .await
        .is_ok()
            && check(self)
    }

    /// Client connections open now.
    pub fn connections(&self) -> usize {
        self.shared.connections.load(Ordering::SeqCst)
    }

    /// Stops accepting, closes every connection and waits (up to 5 s) for them to end.
    pub async fn stop(mut self) {
        self.shared.stop.cancel();
        if let Some(accept) = self.accept.take() {
            let _ = accept.await;
        }
        self.wait_until(Duration::from_secs(5), |e| e.connections() == 0).await;
    }
}

impl Drop for RouterOsEmulator {
    fn drop(&mut self) {
        self.shared.stop.cancel();
    }
}
