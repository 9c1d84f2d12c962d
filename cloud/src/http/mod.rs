//! The cloud's HTTP surface, as one router built in a function.

pub mod callbacks;
mod error;
pub mod operator;
pub mod portal;

pub use error::ApiError;

use std::sync::Arc;

use axum::Router;
use axum::extract::FromRef;
use axum::routing::{get, post};

use crate::hub::{Hub, agent_ws};
use crate::payments::Payments;

/// What handlers share.
#[derive(Clone)]
pub struct AppState {
    /// The agents' hub (and through it, the store).
    pub hub: Arc<Hub>,
    /// The payments service (absent in tests of the hub alone).
    pub payments: Option<Arc<Payments>>,
}

impl FromRef<AppState> for Arc<Hub> {
    fn from_ref(state: &AppState) -> Arc<Hub> {
        state.hub.clone()
    }
}

/// All routes.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/agent/v1/ws", get(agent_ws))
        .nest("/api/v1", operator::routes())
        .nest("/api/portal", portal::routes())
        .route("/callbacks/{provider}/{token}", post(callbacks::callback))
        .merge(crate::portal::routes(crate::portal::RecoverLimits::new()))
        .with_state(state)
}

async fn healthz() -> &'static str {
    "ok"
}
