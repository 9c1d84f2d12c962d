//! The control channel of the `payment-emulator` process: a small HTTP server on a port of
//! its own through which a test harness plays the customers' handsets and the provider's
//! bad days, and reads what a real provider would not show (every prompt, every callback
//! sent). It is not the providers' API: the cloud never sees it.
//!
//! - `GET /prompts` answers [`Prompts`]: the change counter and every prompt, oldest first.
//!   `?msisdn=..&pending=true` keeps the pending prompts on one number (any common form);
//!   `?after=N&wait_ms=M` first waits (up to M ms) until the counter is no longer N: a long
//!   poll, so a harness waits on changes instead of polling.
//! - `GET /prompts/{ref}` answers one [`Prompt`](super::Prompt), 404 if unknown.
//! - `POST /resolve` with a [`Resolve`]: as [`PaymentEmulator::resolve`] (it answers once
//!   the callbacks `resolve` waits for are answered); 204, or 409 with the error's text.
//! - `POST /fail-next` with an [`InjectedFailure`] (e.g. `"ServerError"`): queued as
//!   [`PaymentEmulator::fail_next`].
//! - `GET /callbacks` answers every [`CallbackRecord`] so far.
//! - `POST /paystack-webhook` with `{"url": ..}`: as [`PaymentEmulator::set_paystack_webhook`].
//!
//! The `POST`s answer 204 once done.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::long_poll::wait_past;

use super::{CallbackRecord, Delivery, InjectedFailure, PaymentEmulator, Prompt, PromptState, Resolution, normalise_msisdn};

/// What `GET /prompts` answers.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Prompts {
    /// [`PaymentEmulator::changes`], read before the prompts: a change between the two is
    /// seen again, never missed. It starts from 0 when the process does.
    pub changes: u64,
    /// Injected failures not yet taken by a request.
    pub failures_pending: usize,
    /// The prompts asked for, oldest first.
    pub prompts: Vec<Prompt>,
}

/// `POST /resolve` body.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Resolve {
    /// The prompt's provider reference.
    pub provider_ref: String,
    /// What the customer did.
    pub resolution: Resolution,
    /// How the callback travels.
    pub delivery: Delivery,
}

/// `POST /paystack-webhook` body.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Webhook {
    /// The Paystack dashboard webhook URL.
    pub url: String,
}

/// `GET /prompts` parameters.
#[derive(Deserialize)]
struct Filter {
    after: Option<u64>,
    wait_ms: Option<u64>,
    msisdn: Option<String>,
    #[serde(default)]
    pending: bool,
}

/// Serves the control channel for `emulator` on `listener` until `stop` fires.
pub async fn serve(listener: TcpListener, emulator: Arc<PaymentEmulator>, stop: CancellationToken) -> std::io::Result<()> {
    let app = Router::new()
        .route("/prompts", get(prompts))
        .route("/prompts/{reference}", get(prompt))
        .route("/resolve", post(resolve))
        .route("/fail-next", post(fail_next))
        .route("/callbacks", get(callbacks))
        .route("/paystack-webhook", post(paystack_webhook))
        .with_state(emulator);
    axum::serve(listener, app).with_graceful_shutdown(stop.cancelled_owned()).await
}

async fn prompts(State(emulator): State<Arc<PaymentEmulator>>, Query(filter): Query<Filter>) -> Json<Prompts> {
    let mut changes = emulator.changes();
    wait_past(&mut changes, filter.after, filter.wait_ms).await;
    let counter = *changes.borrow();
    let msisdn = filter.msisdn.map(|m| normalise_msisdn(&m).unwrap_or(m));
    let state = emulator.shared.state();
    let prompts = state
        .records
        .iter()
        .map(|r| &r.prompt)
        .filter(|p| msisdn.as_ref().is_none_or(|m| &p.msisdn == m))
        .filter(|p| !filter.pending || p.state == PromptState::Pending)
        .cloned()
        .collect();
    let failures_pending = state.failures.len();
    Json(Prompts { changes: counter, failures_pending, prompts })
}

async fn prompt(State(emulator): State<Arc<PaymentEmulator>>, Path(reference): Path<String>) -> Response {
    match emulator.prompt(&reference) {
        Some(prompt) => Json(prompt).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn resolve(State(emulator): State<Arc<PaymentEmulator>>, Json(body): Json<Resolve>) -> Response {
    match emulator.resolve(&body.provider_ref, body.resolution, body.delivery).await {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(error) => (StatusCode::CONFLICT, format!("{error:#}")).into_response(),
    }
}

async fn fail_next(State(emulator): State<Arc<PaymentEmulator>>, Json(failure): Json<InjectedFailure>) -> StatusCode {
    emulator.fail_next(failure);
    StatusCode::NO_CONTENT
}

async fn callbacks(State(emulator): State<Arc<PaymentEmulator>>) -> Json<Vec<CallbackRecord>> {
    Json(emulator.callbacks())
}

async fn paystack_webhook(State(emulator): State<Arc<PaymentEmulator>>, Json(webhook): Json<Webhook>) -> StatusCode {
    emulator.set_paystack_webhook(&webhook.url);
    StatusCode::NO_CONTENT
}
