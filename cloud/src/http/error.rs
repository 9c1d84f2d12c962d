//! The one error type of the HTTP API: a status and a clear message for the caller, with
//! internal details logged once here and never sent.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::store::StoreError;

/// An API failure.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// Missing or wrong credentials.
    #[error("unauthorized")]
    Unauthorized,
    /// The thing named does not exist (or is not the caller's).
    #[error("{0} not found")]
    NotFound(String),
    /// The request is well-formed HTTP but its content is wrong.
    #[error("{0}")]
    BadRequest(String),
    /// Something failed on our side.
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
    /// The thing's state does not allow the change (nothing was changed).
    #[error("{0}")]
    Conflict(String),
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound(what) => ApiError::NotFound(what),
            StoreError::Conflict(what) => ApiError::BadRequest(format!("{what} already exists")),
            other => ApiError::Internal(other.into()),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = match &self {
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::Internal(error) => {
                tracing::error!(error = format!("{error:#}"), "request failed");
                StatusCode::INTERNAL_SERVER_ERROR
            }
        };
        (status, Json(json!({ "error": self.to_string() }))).into_response()
    }
}
