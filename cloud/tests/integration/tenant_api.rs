//! The dashboard's operations as JSON under `/api/v1` on both databases: a tenant token
//! reads its tenant's payments (filtered, with totals), a payment's timeline, plans and
//! hotspot users, adds a plan and moves it in the portal's order, extends and ends a user; another tenant's ids answer 404;
//! a platform token names the tenant.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use jasiyo_cloud::http::{AppState, router};
use jasiyo_cloud::hub::{Hub, HubConfig};
use jasiyo_cloud::payments::sealer::Sealer;
use jasiyo_cloud::payments::{Payments, PaymentsConfig};
use jasiyo_cloud::store::testing::{Backend, fresh_store, paid_payment};
use jasiyo_cloud::store::{Store, now_ms};
use jasiyo_cloud::token::{AgentToken, OperatorScope, OperatorToken, operator_token_id};
use serde_json::Value;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

pub(crate) struct Api {
    pub(crate) app: axum::Router,
    pub(crate) store: Arc<dyn Store>,
    _dir: tempfile::TempDir,
}

pub(crate) async fn api(backend: Backend) -> Option<Api> {
    let dir = tempfile::TempDir::new().unwrap();
    let store = fresh_store(backend, dir.path()).await?;
    let hub = Hub::start(store.clone(), HubConfig::default(), CancellationToken::new());
    let payments = Payments::new(store.clone(), hub.clone(), Sealer::new([7; 32]), PaymentsConfig::new("http://127.0.0.1")).unwrap();
    Some(Api { app: router(AppState::new(hub, payments)), store, _dir: dir })
}

impl Api {
    pub(crate) async fn token(&self, scope: OperatorScope) -> String {
        let secret = AgentToken::generate();
        let token = OperatorToken {
            id: operator_token_id(&secret.hash()),
            name: "t".into(),
            scope,
            created_at: now_ms(),
            expires_at: None,
            revoked_at: None,
        };
        self.store.create_scoped_operator_token(&token, &secret.hash()).await.unwrap();
        secret.expose().to_string()
    }

    pub(crate) async fn call(&self, method: &str, uri: &str, token: &str, body: &str) -> (StatusCode, Value) {
        let request = Request::builder()
            .method(method)
            .uri(uri)
            .header("content-type", "application/json")
            .header("authorization", format!("Bearer {token}"))
            .body(Body::from(body.to_string()))
            .unwrap();
        let response = self.app.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
    }
}

async fn a_tenant_token_runs_the_dashboard_operations(api: Api) {
    let a = api.store.create_tenant("A", now_ms()).await.unwrap();
    let b = api.store.create_tenant("B", now_ms()).await.unwrap();
    let router = api.store.create_router(a.id, "shop", "hash", now_ms()).await.unwrap();
    let paid = paid_payment(api.store.as_ref(), router.id, now_ms(), now_ms() / 1000 + 3600).await;
    let token_a = api.token(OperatorScope::Tenant(a.id)).await;
    let token_b = api.token(OperatorScope::Tenant(b.id)).await;
    let platform = api.token(OperatorScope::Platform).await;

    let (status, body) = api.call("GET", "/api/v1/payments?state=paid&q=0712345678", &token_a, "").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["payments"][0]["id"], paid.to_string());
    assert_eq!(body["payments"][0]["router_name"], "shop");
    assert!(body["payments"][0]["created_at_rfc3339"].as_str().unwrap().ends_with("+03:00"), "{body}");
    assert_eq!(body["totals"]["paid_kes"], 20);
    let (status, body) = api.call("GET", "/api/v1/payments?state=nonsense", &token_a, "").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (_, body) = api.call("GET", "/api/v1/payments", &token_b, "").await;
    assert_eq!(body["payments"], Value::Array(vec![]), "B sees none of A's payments");

    let (status, body) = api.call("GET", &format!("/api/v1/payments/{paid}"), &token_a, "").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body["timeline"].as_array().unwrap().iter().any(|e| e["kind"] == "paid"), "{body}");
    assert_eq!(api.call("GET", &format!("/api/v1/payments/{paid}"), &token_b, "").await.0, StatusCode::NOT_FOUND);
    assert_eq!(api.call("POST", &format!("/api/v1/payments/{paid}/recheck"), &token_b, "").await.0, StatusCode::NOT_FOUND);
    let (status, body) = api.call("GET", &format!("/api/v1/payments/{paid}?tenant={}", a.id), &platform, "").await;
    assert_eq!((status, body["payment"]["id"].clone()), (StatusCode::OK, Value::String(paid.to_string())));
    assert_eq!(api.call("GET", "/api/v1/payments", &platform, "").await.0, StatusCode::BAD_REQUEST, "a platform token names the tenant");
    assert_eq!(api.call("GET", &format!("/api/v1/payments?tenant={}", a.id), &token_b, "").await.0, StatusCode::NOT_FOUND);

    let plan = r#"{"name":"Daily","price_kes":50,"duration":"1d","data_mb":2000}"#;
    let (status, body) = api.call("POST", "/api/v1/plans", &token_a, plan).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(
        api.call("POST", "/api/v1/plans", &token_a, r#"{"name":"Free","price_kes":0,"duration":"1h"}"#).await.0,
        StatusCode::BAD_REQUEST
    );
    let (_, plans) = api.call("GET", "/api/v1/plans", &token_a, "").await;
    assert_eq!(plans.as_array().unwrap().len(), 2);
    assert_eq!(api.call("GET", "/api/v1/plans", &token_b, "").await.1, Value::Array(vec![]));
    // Moved in the portal's order; another tenant's token cannot.
    let daily = plans.as_array().unwrap().iter().find(|p| p["name"] == "Daily").unwrap()["id"].as_str().unwrap().to_string();
    assert_eq!(plans[1]["id"], daily.as_str(), "the longer plan comes after: {plans}");
    let moved = format!("/api/v1/plans/{daily}/move");
    assert_eq!(api.call("POST", &moved, &token_b, r#"{"position":1}"#).await.0, StatusCode::NOT_FOUND);
    assert_eq!(api.call("POST", &moved, &token_a, r#"{"to":"sideways"}"#).await.0, StatusCode::BAD_REQUEST);
    let (status, body) = api.call("POST", &moved, &token_a, r#"{"position":1}"#).await;
    assert_eq!((status, body["position"].as_u64()), (StatusCode::OK, Some(1)), "{body}");
    let (_, plans) = api.call("GET", "/api/v1/plans", &token_a, "").await;
    assert_eq!((plans[0]["id"].as_str(), plans[0]["position"].as_u64()), (Some(daily.as_str()), Some(1)), "{plans}");

    let (_, users) = api.call("GET", "/api/v1/users", &token_a, "").await;
    assert_eq!(users[0]["username"], "KX7Q2M");
    assert!(!users.to_string().contains("482913"), "no hotspot password: {users}");
    let user = users[0]["id"].as_str().unwrap().to_string();
    assert_eq!(api.call("POST", &format!("/api/v1/users/{user}/extend"), &token_b, r#"{"by":"1d"}"#).await.0, StatusCode::NOT_FOUND);
    let (status, body) = api.call("POST", &format!("/api/v1/users/{user}/extend"), &token_a, r#"{"by":"1d"}"#).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["expires_at"].as_i64().unwrap(), users[0]["expires_at"].as_i64().unwrap() + 86_400);
    let (status, _) = api.call("POST", &format!("/api/v1/users/{user}/end"), &token_a, "").await;
    assert_eq!(status, StatusCode::OK);
    let (_, active) = api.call("GET", "/api/v1/users", &token_a, "").await;
    assert_eq!(active, Value::Array(vec![]), "an ended user leaves the active list");
}

/// Data used, as a router's agent reports it: only that router's users take it (the same
/// user name on another router, or another tenant's, is untouched), and the API shows it.
async fn a_routers_usage_report_reaches_only_its_own_users(api: Api) {
    use jasiyo_shared::UserUsage;
    let a = api.store.create_tenant("A", now_ms()).await.unwrap();
    let b = api.store.create_tenant("B", now_ms()).await.unwrap();
    let shop = api.store.create_router(a.id, "shop", "hash-1", now_ms()).await.unwrap().id;
    let kiosk = api.store.create_router(a.id, "kiosk", "hash-2", now_ms()).await.unwrap().id;
    let theirs = api.store.create_router(b.id, "theirs", "hash-3", now_ms()).await.unwrap().id;
    for router in [shop, kiosk, theirs] {
        // The same user name on each router.
        paid_payment(api.store.as_ref(), router, now_ms(), now_ms() / 1000 + 3600).await;
    }
    let usage = [
        UserUsage { name: "KX7Q2M".into(), bytes_in: 1_100_000, bytes_out: 12_400_000 },
        UserUsage { name: "NOSUCH".into(), bytes_in: 1, bytes_out: 1 },
    ];
    assert_eq!(api.store.record_usage(shop, &usage, now_ms()).await.unwrap(), 1, "the shop's one user; no other");

    let token_a = api.token(OperatorScope::Tenant(a.id)).await;
    let (_, users) = api.call("GET", "/api/v1/users", &token_a, "").await;
    let used = |router: &str| users.as_array().unwrap().iter().find(|u| u["router_name"] == router).unwrap()["data_used"].clone();
    assert_eq!(used("shop")["bytes_in"], 1_100_000);
    assert_eq!(used("shop")["bytes_out"], 12_400_000);
    assert_eq!(used("kiosk"), Value::Null, "the same name on another router is another user");
    let token_b = api.token(OperatorScope::Tenant(b.id)).await;
    let (_, users) = api.call("GET", "/api/v1/users", &token_b, "").await;
    assert_eq!(users[0]["data_used"], Value::Null, "another tenant's user is untouched");

    // A later report replaces the totals (they are the router's running counters).
    let later = [UserUsage { name: "KX7Q2M".into(), bytes_in: 2_000_000, bytes_out: 30_000_000 }];
    api.store.record_usage(shop, &later, now_ms()).await.unwrap();
    let (_, users) = api.call("GET", "/api/v1/users", &token_a, "").await;
    let shop_user = users.as_array().unwrap().iter().find(|u| u["router_name"] == "shop").unwrap();
    assert_eq!(
        (shop_user["data_used"]["bytes_in"].as_i64(), shop_user["data_used"]["bytes_out"].as_i64()),
        (Some(2_000_000), Some(30_000_000))
    );
}

jasiyo_cloud::on_each_backend!(api; a_tenant_token_runs_the_dashboard_operations, a_routers_usage_report_reaches_only_its_own_users);
