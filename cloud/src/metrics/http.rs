//! HTTP requests by route and status: a middleware that labels each request with its
//! matched route template (`/api/portal/{router}/payments`, never the raw path, so a
//! router id or a scan of random paths makes no new series) and its response status.

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use super::{Metrics, latency_buckets};

/// Route, method and status.
type RequestLabels = [(&'static str, String); 3];

/// Latencies by route.
type RouteDurations = Family<[(&'static str, String); 1], Histogram, fn() -> Histogram>;

/// The HTTP layer's series.
#[derive(Clone)]
pub struct HttpMetrics {
    requests: Family<RequestLabels, Counter>,
    durations: RouteDurations,
}

fn histogram() -> Histogram {
    Histogram::new(latency_buckets())
}

impl HttpMetrics {
    pub(super) fn register(registry: &mut Registry) -> HttpMetrics {
        let metrics = HttpMetrics { requests: Family::default(), durations: Family::new_with_constructor(histogram as fn() -> Histogram) };
        registry.register("http_requests", "HTTP requests by route template, method and status", metrics.requests.clone());
        registry.register(
            "http_request_seconds",
            "Time to answer HTTP requests (to the response's head), by route template",
            metrics.durations.clone(),
        );
        metrics
    }

    /// Counts one answered request.
    pub fn request(&self, route: &str, method: &str, status: u16, took: std::time::Duration) {
        let labels = [("route", route.to_string()), ("method", method.to_string()), ("status", status.to_string())];
        self.requests.get_or_create(&labels).inc();
        self.durations.get_or_create(&[("route", route.to_string())]).observe(took.as_secs_f64());
    }
}

/// The middleware: wrap the router with `axum::middleware::from_fn_with_state(metrics, track)`.
/// A request no route matched counts under the route `unmatched`.
pub async fn track(State(metrics): State<Metrics>, request: Request, next: Next) -> Response {
    let route = request.extensions().get::<MatchedPath>().map(|p| p.as_str().to_string()).unwrap_or_else(|| "unmatched".into());
    let method = request.method().clone();
    let started = Instant::now();
    let response = next.run(request).await;
    // Methods outside the standard ones (anything a client makes up) share one label.
    let method = if is_standard(&method) { method.as_str() } else { "other" };
    metrics.http().request(&route, method, response.status().as_u16(), started.elapsed());
    response
}

fn is_standard(method: &axum::http::Method) -> bool {
    use axum::http::Method;
    [Method::GET, Method::POST, Method::PUT, Method::DELETE, Method::PATCH, Method::HEAD, Method::OPTIONS].contains(method)
}
