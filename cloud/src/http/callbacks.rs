//! `POST /callbacks/{provider}/{token}`: provider callbacks and webhooks. The raw body is
//! kept (Paystack signs the exact bytes); settling is the payments service's job, and
//! this file only words its outcome for the provider.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::payments::Payments;
use crate::payments::settle::{CallbackOutcome, Refused};
use crate::providers::ProviderKind;

/// The callback handler.
pub async fn callback(
    State(payments): State<Arc<Payments>>,
    Path((provider, token)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(kind) = ProviderKind::parse(&provider) else {
        tracing::warn!(%provider, "callback for an unknown provider");
        return refused();
    };
    match payments.on_callback_kept(kind, &token, &headers, &body).await {
        Ok(CallbackOutcome::Acknowledged(ack)) => (StatusCode::OK, Json(ack)).into_response(),
        Ok(CallbackOutcome::Ignored(_)) => (StatusCode::OK, Json(json!({"status": "ignored"}))).into_response(),
        Err(refused) => refused.into_response(),
    }
}

/// The one answer to every refused callback, whatever the reason (unknown token, bad
/// signature, wrong reference, amount or phone): a caller probing callback URLs learns
/// nothing. The reason is in the log.
fn refused() -> Response {
    (StatusCode::BAD_REQUEST, Json(json!({"error": "callback refused"}))).into_response()
}

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        match self {
            // Our fault: the provider should deliver again. What went wrong is in the log.
            Refused::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, Json(json!({"error": "internal error"}))).into_response(),
            _ => refused(),
        }
    }
}
