//! The cloud's HTTP surface, as one router built in a function.

mod error;
pub mod operator;

pub use error::ApiError;

use std::sync::Arc;

use axum::Router;
use axum::extract::FromRef;
use axum::routing::get;

use crate::hub::{Hub, agent_ws};

/// What handlers share.
#[derive(Clone)]
pub struct AppState {
    /// The agents' hub (and through it, the store).
    pub hub: Arc<Hub>,
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
        .with_state(state)
}

async fn healthz() -> &'static str {
    "ok"
}
