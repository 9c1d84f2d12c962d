//! The RouterOS emulator as a child process (`target/<profile>/routeros-emulator`), for
//! tests that kill the router as a power cut or a crash would: SIGKILL, then a start on the
//! same API address with the same state file, so the agent reconnects where it always
//! did and finds what a rebooted router keeps (users, profiles), without what it loses
//! (active sessions, the host table).
//!
//! The handle offers the names tests call on the in-process
//! [`RouterOsEmulator`](crate::routeros_emulator::RouterOsEmulator) (`users`, `active`,
//! `add_host`, `changes`, `wait_until`, `set_refuse_connections`, `kill_connections`,
//! `addr`), but async: each goes over the process's control channel
//! ([`control`](crate::routeros_emulator::control)). Calls other than `wait_until` panic
//! while the process is down; `wait_until` keeps waiting across a restart.
//!
//! It remembers the devices tests put on the network ([`add_host`](RouterProcess::add_host))
//! so that after a reboot they can come back ([`devices_return`](RouterProcess::devices_return)),
//! as devices that stayed on the Wi-Fi do once they send traffic again, and it keeps the
//! times of its reboots, so a checker knows which sessions a reboot may have taken.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use tokio::process::Child;
use tokio::sync::Mutex;
use tokio::time::Instant;

use crate::harness::WAIT;
use crate::processes::spawn_emulator;
use crate::routeros_emulator::control::{Host, RouterSnapshot, RouterUsers};
use crate::routeros_emulator::{ActiveRow, HostRow, HotspotUserRow};

/// How long one long poll of the control channel may wait.
const POLL: Duration = Duration::from_secs(2);

/// A `routeros-emulator` process with a state file and a control channel.
pub struct RouterProcess {
    /// The API address, the same after every restart.
    addr: SocketAddr,
    state_file: PathBuf,
    /// The running process; `None` while it is down.
    running: Mutex<Option<Child>>,
    /// The control address of the running process, for calls that must not wait on `running`.
    control: std::sync::Mutex<Option<SocketAddr>>,
    http: reqwest::Client,
    /// Every device put on the network, latest address per MAC.
    devices: std::sync::Mutex<Vec<Host>>,
    /// Each kill, and when the devices were back after it (`None` until they are).
    reboots: std::sync::Mutex<Vec<Reboot>>,
}

/// One kill of the router and the end of its effects on the host table.
#[derive(Clone, Copy, Debug)]
pub struct Reboot {
    /// When it was SIGKILLed (every session ended then).
    pub killed: Instant,
    /// When the devices were back in the host table, if they are.
    pub devices_back: Option<Instant>,
}

impl RouterProcess {
    /// Starts the emulator on a free port, keeping its state in `dir/router-state.json`.
    pub async fn start(dir: &Path) -> anyhow::Result<RouterProcess> {
        let state_file = dir.join("router-state.json");
        let (child, addr, control) = spawn("127.0.0.1:0".parse()?, &state_file).await?;
        Ok(RouterProcess {
            addr,
            state_file,
            running: Mutex::new(Some(child)),
            control: std::sync::Mutex::new(Some(control)),
            http: reqwest::Client::new(),
            devices: std::sync::Mutex::new(Vec::new()),
            reboots: std::sync::Mutex::new(Vec::new()),
        })
    }

    /// Where the agent connects (the same across restarts).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The file the router keeps its configuration in.
    pub fn state_file(&self) -> &Path {
        &self.state_file
    }

    /// SIGKILL: no warning, nothing flushed but what the state file already holds. The
    /// router stays down until [`restart`](Self::restart).
    pub async fn kill(&self) {
        *self.control.lock().expect("control lock") = None;
        if let Some(mut child) = self.running.lock().await.take() {
            let _ = child.kill().await;
            self.reboots.lock().expect("reboots lock").push(Reboot { killed: Instant::now(), devices_back: None });
        }
    }

    /// Starts the router again on the same API address and state file (after a kill; a
    /// running one is killed first). The port was just freed; it is retried for a while in
    /// case something else holds it for a moment.
    pub async fn restart(&self) -> anyhow::Result<()> {
        let mut running = self.running.lock().await;
        if let Some(mut old) = running.take() {
            let _ = old.kill().await;
        }
        let deadline = Instant::now() + WAIT;
        let (child, control) = loop {
            match spawn(self.addr, &self.state_file).await {
                Ok((child, _, control)) => break (child, control),
                Err(error) if Instant::now() < deadline => {
                    tracing::debug!(%error, "the router's restart failed; trying again");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Err(error) => return Err(error.context("restarting the RouterOS emulator")),
            }
        };
        *running = Some(child);
        *self.control.lock().expect("control lock") = Some(control);
        Ok(())
    }

    /// A reboot as a crash: SIGKILL, down for `down`, started again.
    pub async fn kill_and_restart(&self, down: Duration) -> anyhow::Result<()> {
        self.kill().await;
        tokio::time::sleep(down).await;
        self.restart().await
    }

    /// Every device put on the network so far comes back to the host table (after a
    /// reboot emptied it), and the reboots before now are marked over.
    pub async fn devices_return(&self) {
        let devices: Vec<serde_json::Value> =
            self.devices.lock().expect("devices lock").iter().map(|d| serde_json::json!({ "mac": d.mac, "ip": d.ip })).collect();
        self.post("/hosts", serde_json::Value::Array(devices)).await;
        let now = Instant::now();
        for reboot in self.reboots.lock().expect("reboots lock").iter_mut() {
            reboot.devices_back.get_or_insert(now);
        }
    }

    /// The kills so far, in order.
    pub fn reboots(&self) -> Vec<Reboot> {
        self.reboots.lock().expect("reboots lock").clone()
    }

    /// Whether a reboot may have taken a session made at or after `at`: one was under way
    /// then or came later (its devices were not back before `at`). A login the agent made
    /// after the devices came back must still be there.
    pub fn reboot_since(&self, at: Instant) -> bool {
        self.reboots().iter().any(|r| r.devices_back.is_none_or(|back| back >= at))
    }

    /// Whether the process is running.
    pub fn is_up(&self) -> bool {
        self.control.lock().expect("control lock").is_some()
    }

    fn url(&self, path: &str) -> anyhow::Result<String> {
        let control = self.control.lock().expect("control lock").context("the router process is down")?;
        Ok(format!("http://{control}{path}"))
    }

    /// The router's tables now.
    pub async fn snapshot(&self) -> anyhow::Result<RouterSnapshot> {
        Ok(self.http.get(self.url("/state")?).send().await?.error_for_status()?.json().await?)
    }

    /// The tables once the change counter differs from `after`, or after `wait` if not.
    pub async fn snapshot_after(&self, after: u64, wait: Duration) -> anyhow::Result<RouterSnapshot> {
        let url = self.url(&format!("/state?after={after}&wait_ms={}", wait.as_millis()))?;
        Ok(self.http.get(url).send().await?.error_for_status()?.json().await?)
    }

    /// The users once the state file's counter differs from `after` (`None`: at once), or
    /// after `wait` if not: to follow the users without fetching every table on each command.
    pub async fn users_after(&self, after: Option<u64>, wait: Duration) -> anyhow::Result<RouterUsers> {
        let query = after.map_or(String::new(), |after| format!("?after={after}&wait_ms={}", wait.as_millis()));
        Ok(self.http.get(self.url(&format!("/users{query}"))?).send().await?.error_for_status()?.json().await?)
    }

    async fn try_post(&self, path: &str, body: serde_json::Value) -> anyhow::Result<()> {
        self.http.post(self.url(path)?).json(&body).send().await?.error_for_status()?;
        Ok(())
    }

    async fn post(&self, path: &str, body: serde_json::Value) {
        let sent = self.try_post(path, body).await;
        sent.unwrap_or_else(|error| panic!("the router's control channel failed ({path}): {error:#}"));
    }

    /// Every hotspot user, in `.id` order.
    pub async fn users(&self) -> Vec<HotspotUserRow> {
        self.snapshot().await.expect("the router answers").users
    }

    /// The logged-in sessions.
    pub async fn active(&self) -> Vec<ActiveRow> {
        self.snapshot().await.expect("the router answers").active
    }

    /// The devices the hotspot sees.
    pub async fn hosts(&self) -> Vec<HostRow> {
        self.snapshot().await.expect("the router answers").hosts
    }

    /// The change counter (it starts from 0 again with each process).
    pub async fn changes(&self) -> u64 {
        self.snapshot().await.expect("the router answers").changes
    }

    /// A device is on the hotspot network (needed before it can be logged in). While the
    /// router is down it is only remembered: it shows up with
    /// [`devices_return`](Self::devices_return) once the router is back.
    pub async fn add_host(&self, mac: &str, ip: &str) {
        {
            let mut devices = self.devices.lock().expect("devices lock");
            devices.retain(|d| d.mac != mac);
            devices.push(Host { mac: mac.to_string(), ip: ip.to_string() });
        }
        // Remembered first: a reboot that began before this line is over only once
        // `devices_return` (which reads the list after the restart) has run.
        if let Err(error) = self.try_post("/hosts", serde_json::json!([{ "mac": mac, "ip": ip }])).await {
            tracing::debug!(error = %format!("{error:#}"), mac, "a device appeared while the router was down");
        }
    }

    /// While on, new API connections are accepted and closed at once.
    pub async fn set_refuse_connections(&self, refuse: bool) {
        self.post("/refuse", serde_json::json!({ "refuse": refuse })).await;
    }

    /// Closes every open API connection now.
    pub async fn kill_connections(&self) {
        self.post("/kill-connections", serde_json::json!({})).await;
    }

    /// Waits until `check` holds, re-checking on every change (a long poll, no fixed
    /// sleeps) and across a restart; false on timeout.
    pub async fn wait_until(&self, limit: Duration, mut check: impl FnMut(&RouterSnapshot) -> bool) -> bool {
        let deadline = Instant::now() + limit;
        let mut seen = None;
        while Instant::now() < deadline {
            let wait = POLL.min(deadline.saturating_duration_since(Instant::now()));
            let answer = match seen {
                Some(after) => self.snapshot_after(after, wait).await,
                None => self.snapshot().await,
            };
            match answer {
                Ok(snapshot) => {
                    if check(&snapshot) {
                        return true;
                    }
                    seen = Some(snapshot.changes);
                }
                // Down or restarting: ask again a little later.
                Err(_) => {
                    seen = None;
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
        false
    }
}

/// Starts `routeros-emulator` on `listen` with `state_file` and a control channel on a free
/// port; returns it with its API and control addresses once it has printed them.
async fn spawn(listen: SocketAddr, state_file: &Path) -> anyhow::Result<(Child, SocketAddr, SocketAddr)> {
    let listen = listen.to_string();
    let args: [&std::ffi::OsStr; 6] =
        ["--listen".as_ref(), listen.as_ref(), "--state".as_ref(), state_file.as_os_str(), "--control".as_ref(), "127.0.0.1:0".as_ref()];
    let prefixes = ["routeros-emulator listening on ", "routeros-emulator control on "];
    let (child, [addr, control]) = spawn_emulator("routeros-emulator", args, prefixes).await?;
    Ok((child, addr, control))
}
