//! The cloud's HTTP surface. Every route is listed once, in [`router`]; every handler lives
//! in this module, one file per audience, and calls the domain services (`payments`,
//! `hub`); rendering is `portal`'s. Errors become HTTP responses only here.
//!
//! - [`portal_page`], [`portal_api`], [`portal_vouchers`]: customers on the captive portal.
//! - [`hotspot`]: routers fetching their hotspot files.
//! - [`callbacks`]: payment providers' callbacks and webhooks.
//! - [`agents`]: agents phoning home (WebSocket).
//! - [`operator`]: the operator's API; [`tenant_api`]: the owners' dashboard operations
//!   (payments, plans, users, routers, provider, alerts, portal look) over the same tokens.
//! - [`dashboard`]: the router owners' dashboard.

mod agents;
mod callbacks;
pub mod client;
pub mod dashboard;
mod error;
mod hotspot;
mod html;
mod operator;
mod portal_api;
mod portal_page;
mod portal_vouchers;
pub mod request_id;
pub mod server;
mod tenant_api;

pub use error::ApiError;

use std::sync::Arc;

use axum::Router;
use axum::extract::FromRef;
use axum::http::{HeaderMap, header};
use axum::routing::{get, post, put};

pub use client::{ClientAddr, TrustedProxies};
pub use server::ServerTimeouts;

use crate::accounts::Accounts;
use crate::hub::Hub;
use crate::payments::Payments;

/// What handlers share; each takes the part it needs (`State<Arc<Hub>>`,
/// `State<Arc<Payments>>`).
#[derive(Clone)]
pub struct AppState {
    /// The agents' hub (and through it, the store).
    pub hub: Arc<Hub>,
    /// The payments service.
    pub payments: Arc<Payments>,
    /// The proxies whose forwarding headers tell the client's address.
    pub proxies: Arc<TrustedProxies>,
    /// The dashboard's accounts and sessions.
    pub accounts: Arc<Accounts>,
}

impl AppState {
    /// The state over these services, trusting no proxy, with an accounts service that
    /// sends no mail (tests).
    pub fn new(hub: Arc<Hub>, payments: Arc<Payments>) -> AppState {
        let config = crate::accounts::AccountsConfig::new(payments.config().public_url.clone());
        let accounts = Accounts::new(payments.store().clone(), config, Arc::new(crate::notify::NoMailer));
        AppState { hub, payments, proxies: Arc::default(), accounts }
    }
}

impl FromRef<AppState> for Arc<Accounts> {
    fn from_ref(state: &AppState) -> Arc<Accounts> {
        state.accounts.clone()
    }
}

impl FromRef<AppState> for Arc<TrustedProxies> {
    fn from_ref(state: &AppState) -> Arc<TrustedProxies> {
        state.proxies.clone()
    }
}

impl FromRef<AppState> for Arc<Hub> {
    fn from_ref(state: &AppState) -> Arc<Hub> {
        state.hub.clone()
    }
}

impl FromRef<AppState> for Arc<Payments> {
    fn from_ref(state: &AppState) -> Arc<Payments> {
        state.payments.clone()
    }
}

/// All routes.
pub fn router(state: AppState) -> Router {
    let metrics = state.hub.metrics().clone();
    let proxies = state.proxies.clone();
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        // Agents.
        .route(jasiyo_shared::AGENT_WS_PATH, get(agents::agent_ws))
        // Customers on the captive portal.
        .route("/portal/ping.gif", get(portal_page::ping))
        .route("/portal/{router}", get(portal_page::page))
        .route("/api/portal/{router}/plans", get(portal_api::plans))
        .route("/api/portal/{router}/payments", post(portal_api::initiate))
        .route("/api/portal/{router}/recover", post(portal_api::recover))
        .route("/api/portal/{router}/voucher", post(portal_vouchers::voucher))
        .route("/api/portal/payments/{payment}", get(portal_api::poll))
        .route("/api/portal/payments/{payment}/next", get(portal_api::next))
        .route("/api/portal/payments/{payment}/release", post(portal_api::release))
        // Routers fetching their hotspot files.
        .route("/hotspot/{router}/{file}", get(hotspot::hotspot_file))
        // Payment providers.
        .route("/callbacks/{provider}/{token}", post(callbacks::callback))
        // The operator's API.
        .route("/api/v1/routers", get(operator::list_routers).post(tenant_api::routers::add))
        .route("/api/v1/routers/{router}/commands", get(operator::list_commands).post(operator::enqueue))
        .route("/api/v1/routers/{router}/rotate", post(tenant_api::routers::rotate))
        .route("/api/v1/routers/{router}/revoke", post(tenant_api::routers::revoke))
        .route("/api/v1/routers/{router}/commands/{seq}/retry", post(tenant_api::routers::retry))
        .route("/api/v1/payments", get(tenant_api::payments::payments))
        .route("/api/v1/payments/{payment}", get(tenant_api::payments::payment))
        .route("/api/v1/payments/{payment}/recheck", post(tenant_api::payments::recheck))
        .route("/api/v1/payments/{payment}/settle", post(tenant_api::payments::settle))
        .route("/api/v1/payments/{payment}/resend", post(tenant_api::payments::resend))
        .route("/api/v1/provider", get(tenant_api::provider::provider).put(tenant_api::provider::set_provider))
        .route("/api/v1/provider/check", post(tenant_api::provider::check_provider))
        .route("/api/v1/plans", get(tenant_api::plans::plans).post(tenant_api::plans::add_plan_api))
        .route("/api/v1/plans/{id}", put(tenant_api::plans::edit_plan_api))
        .route("/api/v1/plans/{id}/active", post(tenant_api::plans::set_plan_active))
        .route("/api/v1/plans/{id}/move", post(tenant_api::plans::move_plan_api))
        .route("/api/v1/users", get(tenant_api::users::users))
        .route("/api/v1/users/{id}/extend", post(tenant_api::users::extend_user))
        .route("/api/v1/users/{id}/end", post(tenant_api::users::end_user))
        .route("/api/v1/users/{id}/move", post(tenant_api::users::move_user))
        .route("/api/v1/alerts", get(tenant_api::alerts::alerts))
        .route("/api/v1/alerts/thresholds", put(tenant_api::alerts::set_thresholds))
        .route("/api/v1/alerts/webhook", put(tenant_api::alerts::set_webhook))
        .route("/api/v1/portal-look", get(tenant_api::look::look).put(tenant_api::look::set_look))
        // Router owners.
        .merge(dashboard::routes())
        .with_state(state)
        // Outermost: every request is counted under its route template and status.
        .layer(axum::middleware::from_fn_with_state(metrics, crate::metrics::http::track))
        // Around that: the request id, on the response and on every log line of the request.
        .layer(axum::middleware::from_fn_with_state(proxies, request_id::request_id))
}

/// Alive: answers without touching anything (cheap enough to ask every second).
async fn healthz() -> &'static str {
    "ok"
}

/// How long `/readyz` waits for the database: a health check wants a quick answer, and a
/// database that is away makes the pool wait for its whole acquire timeout (10 s).
const READY_WITHIN: std::time::Duration = std::time::Duration::from_secs(2);

/// Ready for traffic: the database answers, within [`READY_WITHIN`] (for a load balancer's
/// health check).
async fn readyz(axum::extract::State(payments): axum::extract::State<Arc<Payments>>) -> (axum::http::StatusCode, &'static str) {
    let ping = tokio::time::timeout(READY_WITHIN, payments.store().ping()).await;
    match ping.map_err(|_| format!("no answer within {READY_WITHIN:?}")).and_then(|p| p.map_err(|e| e.to_string())) {
        Ok(()) => (axum::http::StatusCode::OK, "ready"),
        Err(error) => {
            tracing::warn!(%error, "not ready: the database does not answer");
            (axum::http::StatusCode::SERVICE_UNAVAILABLE, "database unavailable")
        }
    }
}

/// The token of an `Authorization: Bearer <token>` header.
fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "))
}
