//! The control channel of the `routeros-emulator` process: a small HTTP server on a port of
//! its own through which a test reads the router's tables and stands in for the physical
//! world (a device showing up on the hotspot network, the router refusing or dropping API
//! connections). It is not the router's API: the agent never sees it.
//!
//! - `GET /state` answers a [`RouterSnapshot`]. With `?after=N&wait_ms=M` it first waits (up
//!   to M ms) until the change counter is no longer N: a long poll, so a test waits on
//!   changes instead of polling.
//! - `GET /users?after=N&wait_ms=M` answers [`RouterUsers`], the users alone, once the
//!   state file's change counter is no longer N (or M ms passed): cheaper to follow than
//!   `/state`, whose counter moves with every command.
//! - `POST /hosts` with `[{"mac": .., "ip": ..}, ..]`: devices are on the network (the host
//!   table), each as [`RouterOsEmulator::add_host`].
//! - `POST /refuse` with `{"refuse": true|false}`: new API connections closed at once, or not.
//! - `POST /kill-connections`: every open API connection closed now.
//!
//! The `POST`s answer 204 once done.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use super::{ActiveRow, HostRow, HotspotUserRow, RouterOsEmulator};
use crate::long_poll::wait_past;

/// What the router holds now, as `GET /state` answers it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RouterSnapshot {
    /// The change counter ([`RouterOsEmulator::changes`]); it starts again from 0 when the
    /// process does.
    pub changes: u64,
    /// API connections open now.
    pub connections: usize,
    /// `/ip/hotspot/user`, in `.id` order.
    pub users: Vec<HotspotUserRow>,
    /// `/ip/hotspot/active`.
    pub active: Vec<ActiveRow>,
    /// `/ip/hotspot/host`.
    pub hosts: Vec<HostRow>,
}

/// What `GET /users` answers.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RouterUsers {
    /// [`RouterOsEmulator::kept_changes`]: bumped when what a reboot keeps changed.
    pub kept_changes: u64,
    /// `/ip/hotspot/user`, in `.id` order.
    pub users: Vec<HotspotUserRow>,
}

/// `GET /state` and `GET /users` parameters.
#[derive(Deserialize)]
struct Wait {
    after: Option<u64>,
    wait_ms: Option<u64>,
}

/// One device of a `POST /hosts` body.
#[derive(Serialize, Deserialize)]
pub struct Host {
    /// Its MAC, in any form the router accepts.
    pub mac: String,
    /// Its IP on the hotspot network.
    pub ip: String,
}

/// `POST /refuse` body.
#[derive(Deserialize)]
struct Refuse {
    refuse: bool,
}

/// Serves the control channel for `emulator` on `listener` until `stop` fires.
pub async fn serve(listener: TcpListener, emulator: Arc<RouterOsEmulator>, stop: CancellationToken) -> std::io::Result<()> {
    let app = Router::new()
        .route("/state", get(state))
        .route("/users", get(users))
        .route("/hosts", post(hosts))
        .route("/refuse", post(refuse))
        .route("/kill-connections", post(kill_connections))
        .with_state(emulator);
    axum::serve(listener, app).with_graceful_shutdown(stop.cancelled_owned()).await
}

async fn state(State(emulator): State<Arc<RouterOsEmulator>>, Query(wait): Query<Wait>) -> Json<RouterSnapshot> {
    wait_past(&mut emulator.changes(), wait.after, wait.wait_ms).await;
    Json(snapshot(&emulator))
}

async fn users(State(emulator): State<Arc<RouterOsEmulator>>, Query(wait): Query<Wait>) -> Json<RouterUsers> {
    let mut kept = emulator.kept_changes();
    wait_past(&mut kept, wait.after, wait.wait_ms).await;
    // The counter before the rows: a change between the two is seen again, never missed.
    let kept_changes = *kept.borrow();
    Json(RouterUsers { kept_changes, users: emulator.users() })
}

/// The router's tables and counters now.
pub fn snapshot(emulator: &RouterOsEmulator) -> RouterSnapshot {
    RouterSnapshot {
        changes: *emulator.changes().borrow(),
        connections: emulator.connections(),
        users: emulator.users(),
        active: emulator.active(),
        hosts: emulator.hosts(),
    }
}

async fn hosts(State(emulator): State<Arc<RouterOsEmulator>>, Json(hosts): Json<Vec<Host>>) -> StatusCode {
    for host in hosts {
        emulator.add_host(&host.mac, &host.ip);
    }
    StatusCode::NO_CONTENT
}

async fn refuse(State(emulator): State<Arc<RouterOsEmulator>>, Json(refuse): Json<Refuse>) -> StatusCode {
    emulator.set_refuse_connections(refuse.refuse);
    StatusCode::NO_CONTENT
}

async fn kill_connections(State(emulator): State<Arc<RouterOsEmulator>>) -> StatusCode {
    emulator.kill_connections();
    StatusCode::NO_CONTENT
}
