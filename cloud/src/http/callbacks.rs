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
use crate::providers::{CallbackError, ProviderKind};

/// The callback handler.
pub async fn callback(
    State(payments): State<Arc<Payments>>,
    Path((provider, token)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(kind) = ProviderKind::parse(&provider) else {
        tracing::warn!(%provider, "callback for an unknown provider");
        return (StatusCode::NOT_FOUND, Json(json!({"error": "unknown provider"}))).into_response();
    };
    match payments.on_callback(kind, &token, &headers, &body).await {
        Ok(CallbackOutcome::Acknowledged(ack)) => (StatusCode::OK, Json(ack)).into_response(),
        Ok(CallbackOutcome::Ignored(_)) => (StatusCode::OK, Json(json!({"status": "ignored"}))).into_response(),
        Err(refused) => refused.into_response(),
    }
}

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        let status = match &self {
            Refused::UnknownToken => StatusCode::NOT_FOUND,
            Refused::Callback(CallbackError::BadSignature) => StatusCode::UNAUTHORIZED,
            Refused::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::BAD_REQUEST,
        };
        // What went wrong inside was logged by the payments service; the provider learns only
        // that it should retry.
        let message = if matches!(self, Refused::Internal(_)) { "internal error".to_string() } else { self.to_string() };
        (status, Json(json!({"error": message}))).into_response()
    }
}
