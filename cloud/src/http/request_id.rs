//! A request id on every HTTP request: the one a trusted proxy sent in `X-Request-Id`
//! (`--trusted-proxies`, the same list that lets a proxy name the client's address), or a
//! new one. Everything logged while the request is handled is inside a `request` span
//! carrying it as `request_id`, and the response carries it back in `X-Request-Id`, so a
//! customer's or a proxy's report finds its log lines.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

use super::TrustedProxies;

/// The header, in requests from a trusted proxy and in every response.
pub const HEADER: &str = "x-request-id";

/// The longest id accepted from a proxy.
const MAX_LEN: usize = 128;

/// The middleware: wrap the router with `axum::middleware::from_fn_with_state(proxies, request_id)`.
pub async fn request_id(State(proxies): State<Arc<TrustedProxies>>, request: Request, next: Next) -> Response {
    let peer = request.extensions().get::<ConnectInfo<SocketAddr>>().map(|info| info.0.ip());
    let given = peer
        .filter(|peer| proxies.trusts(*peer))
        .and_then(|_| request.headers().get(HEADER))
        .and_then(|value| value.to_str().ok())
        .filter(|id| acceptable(id));
    let id = given.map(str::to_string).unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string());
    let span = tracing::info_span!("request", request_id = %id, method = %request.method());
    let mut response = next.run(request).instrument(span).await;
    // Checked above (or generated): always a valid header value.
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(HEADER, value);
    }
    response
}

/// Whether a proxy's id is short and plain enough to log and send back as it is.
fn acceptable(id: &str) -> bool {
    !id.is_empty() && id.len() <= MAX_LEN && id.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::acceptable;

    #[test]
    fn only_short_plain_ids_are_taken_from_proxies() {
        assert!(acceptable("5f0c2a1e-77b3-4a8e-9d6f-0e1f2a3b4c5d"));
        assert!(acceptable("req.01:a_b"));
        assert!(!acceptable(""));
        assert!(!acceptable("two words"));
        assert!(!acceptable("line\nbreak"));
        assert!(!acceptable(&"x".repeat(129)));
    }
}
