//! The HTTP side: one router for all three providers and the phone page, plus what their
//! handlers share: auth headers, injected faults in each provider's error shape, and
//! answering a push so that an auto-resolution's callback never overtakes the answer.

use std::convert::Infallible;
use std::sync::Arc;
use std::task::Poll;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use futures_util::StreamExt;
use futures_util::stream;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

use super::state::{Endpoint, Shared};
use super::{InjectedFailure, Provider, daraja, delivery, payhero, paystack, phone};

/// Serves until the emulator stops.
pub(crate) async fn serve(listener: TcpListener, shared: Arc<Shared>) {
    let stop = shared.stop.clone();
    let app = router(shared);
    if let Err(error) = axum::serve(listener, app).with_graceful_shutdown(stop.cancelled_owned()).await {
        tracing::warn!(%error, "payment emulator server ended");
    }
}

/// Every route, at the providers' real paths.
pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/oauth/v1/generate", get(daraja::oauth))
        .route("/mpesa/stkpush/v1/processrequest", post(daraja::push))
        .route("/mpesa/stkpushquery/v1/query", post(daraja::query))
        .route("/api/v2/payments", post(payhero::push))
        .route("/api/v2/transaction-status", get(payhero::status))
        .route("/api/v2/wallets", get(payhero::wallets))
        .route("/charge", post(paystack::charge))
        .route("/transaction/verify/{reference}", get(paystack::verify))
        .route("/balance", get(paystack::balance))
        .route("/phone", get(phone::page))
        .route("/phone/{provider_ref}/{action}", post(phone::act))
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(shared.clone(), latency))
        .with_state(shared)
}

/// Every provider request (not the phone page) waits the emulator's latency first, as the
/// real APIs take their time; the requests in flight (and their peak) are counted.
async fn latency(
    axum::extract::State(shared): axum::extract::State<Arc<Shared>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    if request.uri().path().starts_with("/phone") {
        return next.run(request).await;
    }
    let _in_flight = shared.in_flight();
    let wait = shared.latency();
    if !wait.is_zero() {
        tokio::time::sleep(wait).await;
    }
    next.run(request).await
}

/// Daraja's answer to an unknown path (the other providers' are unverified; theirs would
/// differ only in body).
async fn not_found() -> Response {
    daraja_error(StatusCode::NOT_FOUND, "404.001.01", "Resource not found")
}

/// A JSON answer.
pub(crate) fn json_response(status: StatusCode, body: Value) -> Response {
    (status, axum::Json(body)).into_response()
}

/// Daraja's error shape: `{"requestId","errorCode","errorMessage"}`.
pub(crate) fn daraja_error(status: StatusCode, code: &str, message: &str) -> Response {
    let request_id = format!("{}-{}-1", rand::random_range(10_000..100_000), rand::random_range(10_000_000..100_000_000));
    json_response(status, json!({"requestId": request_id, "errorCode": code, "errorMessage": message}))
}

/// PayHero's error shape (unverified: its docs show no error body).
pub(crate) fn payhero_error(status: StatusCode, code: &str, message: &str) -> Response {
    json_response(status, json!({"success": false, "error_code": code, "error_message": message, "status_code": status.as_u16()}))
}

/// Paystack's error shape: `{"status":false,"message":…}`.
pub(crate) fn paystack_error(status: StatusCode, message: &str) -> Response {
    json_response(status, json!({"status": false, "message": message}))
}

/// `Authorization: Basic base64(user:password)` decoded.
pub(crate) fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let encoded = value.strip_prefix("Basic ")?;
    let decoded = String::from_utf8(BASE64.decode(encoded.trim()).ok()?).ok()?;
    let (user, password) = decoded.split_once(':')?;
    Some((user.to_string(), password.to_string()))
}

/// The token of `Authorization: Bearer <token>`.
pub(crate) fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers.get(header::AUTHORIZATION)?.to_str().ok()?.strip_prefix("Bearer ").map(str::trim)
}

/// If a fault is queued for `endpoint`, the answer it calls for (a `Hang` answers only
/// when the emulator stops, and then with a 503 nobody reads).
pub(crate) async fn injected(shared: &Shared, endpoint: Endpoint) -> Option<Response> {
    let failure = shared.take_failure(endpoint)?;
    tracing::info!(?failure, ?endpoint, "payment emulator: injected failure");
    let provider = endpoint.provider();
    Some(match failure {
        InjectedFailure::Hang => {
            shared.stop.cancelled().await;
            StatusCode::SERVICE_UNAVAILABLE.into_response()
        }
        InjectedFailure::AnswerLost => unreachable!("taken when a prompt is answered"),
        InjectedFailure::DarajaLockSubscriber => daraja::lock_subscriber(),
        InjectedFailure::DarajaSpikeArrest => {
            daraja_error(StatusCode::INTERNAL_SERVER_ERROR, "500.003.02", "Error Occurred: Spike Arrest Violation")
        }
        InjectedFailure::ServerError => match provider {
            Provider::Daraja => daraja_error(StatusCode::INTERNAL_SERVER_ERROR, "500.003.1001", "Internal Server Error"),
            Provider::PayHero => payhero_error(StatusCode::INTERNAL_SERVER_ERROR, "INTERNAL_ERROR", "internal server error"),
            Provider::Paystack => paystack_error(StatusCode::INTERNAL_SERVER_ERROR, "An error occurred"),
        },
        InjectedFailure::Unauthorized => match endpoint {
            Endpoint::DarajaOauth => daraja::bad_authentication(),
            Endpoint::DarajaPush | Endpoint::DarajaQuery => daraja::invalid_token(),
            Endpoint::PayHeroPush | Endpoint::PayHeroStatus => payhero::unauthorized(),
            Endpoint::PaystackCharge | Endpoint::PaystackVerify => paystack::invalid_key(),
        },
    })
}

/// The answer to a request that created prompt `provider_ref`. With auto-resolution on,
/// the body is streamed and the prompt resolved only once the body has been handed to
/// the connection, so the callback cannot overtake the answer.
pub(crate) fn answer_new_prompt(shared: &Arc<Shared>, provider_ref: String, status: StatusCode, body: Value) -> Response {
    if shared.take_answer_lost() {
        tracing::info!(provider_ref, "payment emulator: injected failure: the push's answer is lost");
        let stop = shared.stop.clone();
        let never = stream::once(async move {
            stop.cancelled().await;
            Err::<Bytes, std::io::Error>(std::io::Error::other("the emulator stopped"))
        });
        return (status, [(header::CONTENT_TYPE, "application/json")], Body::from_stream(never)).into_response();
    }
    let Some((resolution, delivery)) = shared.state().auto else {
        return json_response(status, body);
    };
    let (sent, written) = oneshot::channel::<()>();
    let shared = shared.clone();
    tokio::spawn(async move {
        // An error means the body was dropped unsent (the client left): resolve anyway.
        let _ = written.await;
        if let Err(error) = delivery::resolve(&shared, &provider_ref, resolution, delivery).await {
            tracing::warn!(%error, provider_ref, "payment emulator: auto-resolution");
        }
    });
    let bytes = Bytes::from(serde_json::to_vec(&body).expect("JSON body"));
    let mut sent = Some(sent);
    let chunks = stream::once(async move { Ok::<_, Infallible>(bytes) }).chain(stream::poll_fn(move |_| {
        if let Some(sent) = sent.take() {
            let _ = sent.send(());
        }
        Poll::Ready(None)
    }));
    (status, [(header::CONTENT_TYPE, "application/json")], Body::from_stream(chunks)).into_response()
}
