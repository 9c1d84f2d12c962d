//! The HTTP surface without sockets: health, and the operator API's authentication and
//! validation.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use jasiyo_cloud::http::{AppState, router};
use jasiyo_cloud::hub::{Hub, HubConfig};
use jasiyo_cloud::payments::sealer::Sealer;
use jasiyo_cloud::payments::{Payments, PaymentsConfig};
use jasiyo_cloud::store::now_ms;
use jasiyo_cloud::store::testing::{Backend, fresh_store};
use jasiyo_cloud::token::AgentToken;
use serde_json::Value;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

async fn call(app: &axum::Router, method: &str, uri: &str, token: Option<&str>, body: &str) -> (StatusCode, Value) {
    let mut request = Request::builder().method(method).uri(uri).header("content-type", "application/json");
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    let response = app.clone().oneshot(request.body(Body::from(body.to_string())).unwrap()).await.unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::String(String::from_utf8_lossy(&bytes).into())))
}

#[tokio::test]
async fn operator_api_needs_a_token_and_valid_commands() {
    let dir = tempfile::TempDir::new().unwrap();
    let store = fresh_store(Backend::Sqlite, dir.path()).await.unwrap();
    let tenant = store.create_tenant("t", now_ms()).await.unwrap();
    let router_id = store.create_router(tenant.id, "r", "hash", now_ms()).await.unwrap().id;
    let token = AgentToken::generate();
    store.create_operator_token("tests", &token.hash(), now_ms()).await.unwrap();
    let hub = Hub::start(store.clone(), HubConfig::default(), CancellationToken::new());
    let payments = Payments::new(store.clone(), hub.clone(), Sealer::new([7; 32]), PaymentsConfig::new("http://127.0.0.1")).unwrap();
    let app = router(AppState::new(hub, payments));

    let (status, body) = call(&app, "GET", "/healthz", None, "").await;
    assert_eq!((status, body), (StatusCode::OK, Value::String("ok".into())));
    let (status, body) = call(&app, "GET", "/readyz", None, "").await;
    assert_eq!((status, body), (StatusCode::OK, Value::String("ready".into())), "the database answers");

    let commands = format!("/api/v1/routers/{router_id}/commands");
    let good = r#"{"remove_hotspot_user":{"name":"u1"}}"#;
    assert_eq!(call(&app, "POST", &commands, None, good).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(call(&app, "POST", &commands, Some("wrong"), good).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(call(&app, "GET", "/api/v1/routers", Some("wrong"), "").await.0, StatusCode::UNAUTHORIZED);

    let (status, body) = call(&app, "POST", &commands, Some(token.expose()), good).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["seq"], 1);
    assert_eq!(body["state"], "queued");

    let (status, body) = call(&app, "POST", &commands, Some(token.expose()), r#"{"remove_hotspot_user":{"name":""}}"#).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["error"].as_str().unwrap().contains("name"), "{body}");
    let (status, _) = call(&app, "POST", &commands, Some(token.expose()), "{not json").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let other = format!("/api/v1/routers/{}/commands", jasiyo_shared::RouterId::new());
    assert_eq!(call(&app, "POST", &other, Some(token.expose()), good).await.0, StatusCode::NOT_FOUND);

    let (status, body) = call(&app, "GET", &commands, Some(token.expose()), "").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body.as_array().unwrap().len(), 1, "the refused commands changed nothing");
    let (status, body) = call(&app, "GET", "/api/v1/routers", Some(token.expose()), "").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body[0]["online"], false);
    assert_eq!(body[0]["link"], serde_json::json!({ "state": "offline", "since": null }), "never connected");
    assert!(body[0].get("token_hash").is_none(), "hashes are not served");
}
