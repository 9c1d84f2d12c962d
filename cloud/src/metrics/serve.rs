//! `GET /metrics` on the metrics listener (`serve --metrics-listen`), apart from the public
//! address so that nobody outside sees the numbers unless the operator routes them there.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use super::Metrics;
use crate::hub::Hub;

/// The OpenMetrics text format's content type (Prometheus asks for it, and reads it).
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The metrics listener's routes.
pub fn router(metrics: Metrics, hub: Arc<Hub>) -> Router {
    Router::new().route("/metrics", get(scrape)).with_state((metrics, hub))
}

/// Serves [`router`] on `listener` until `shutdown`.
pub async fn serve(listener: TcpListener, metrics: Metrics, hub: Arc<Hub>, shutdown: CancellationToken) -> std::io::Result<()> {
    axum::serve(listener, router(metrics, hub)).with_graceful_shutdown(shutdown.cancelled_owned()).await
}

async fn scrape(State((metrics, hub)): State<(Metrics, Arc<Hub>)>) -> Response {
    // Stale gauges beat no metrics: the counters still tell, and the failure is logged.
    if let Err(error) = metrics.gauges().refresh(&hub).await {
        tracing::warn!(%error, "metrics: could not read the gauges from the database");
    }
    (StatusCode::OK, [(header::CONTENT_TYPE, CONTENT_TYPE)], metrics.render()).into_response()
}
