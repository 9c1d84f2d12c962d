//! `POST /callbacks/{provider}/{token}`: provider callbacks and webhooks. The raw body is
//! kept (Paystack signs the exact bytes); everything else is the payments service's job.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use serde_json::{Value, json};

use super::AppState;
use crate::providers::ProviderKind;

/// The callback handler.
pub async fn callback(
    State(state): State<AppState>,
    Path((provider, token)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, Json<Value>) {
    let (Some(kind), Some(payments)) = (ProviderKind::parse(&provider), state.payments.as_ref()) else {
        tracing::warn!(%provider, "callback for an unknown provider");
        return (StatusCode::NOT_FOUND, Json(json!({"error": "unknown provider"})));
    };
    let (status, body) = payments.on_callback(kind, &token, &headers, &body).await;
    (status, Json(body))
}
