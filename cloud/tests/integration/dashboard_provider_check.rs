//! "Test connection" for each provider, through the dashboard and `/api/v1/provider/check`,
//! on both databases: a stand-in provider answers PayHero's service-wallet query and
//! Paystack's balance in their documented shapes, and refuses wrong credentials with 401 as
//! they do; the page and the API say what the provider said.

use axum::extract::Query;
use axum::http::{HeaderMap, StatusCode, header};
use axum::routing::get;
use base64::Engine;
use jasiyo_cloud::payments::sealer::Sealer;
use jasiyo_cloud::payments::set_provider;
use jasiyo_cloud::providers::{ProviderConfig, Secret};
use jasiyo_cloud::store::{Store, now_ms};
use jasiyo_cloud::token::{AgentToken, OperatorScope, OperatorToken, operator_token_id};
use serde_json::{Value, json};

use super::dashboard_auth::{Browser, Site, site};

const PAYHERO_AUTH: (&str, &str) = ("ph_user", "ph_pass");
const PAYSTACK_KEY: &str = "sk_test_standin";

fn authorization(headers: &HeaderMap) -> &str {
    headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).unwrap_or("")
}

/// PayHero's `GET /api/v2/wallets` and Paystack's `GET /balance`, each checking its
/// credentials; the base URL.
async fn stand_in() -> (String, tokio::task::JoinHandle<()>) {
    let basic = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", PAYHERO_AUTH.0, PAYHERO_AUTH.1)));
    let wallets = move |headers: HeaderMap, Query(query): Query<Value>| async move {
        if authorization(&headers) != basic {
            return (StatusCode::UNAUTHORIZED, axum::Json(json!({"success": false, "error_message": "invalid API credentials"})));
        }
        assert_eq!(query["wallet_type"], "service_wallet");
        let wallet = json!({"id": 22156, "account_id": 22183, "wallet_type": "service_wallet", "currency": "KES",
            "available_balance": 15101.36, "created_at": "2024-01-12T08:36:38.209573Z", "updated_at": "2024-01-15T12:40:33.157508Z"});
        (StatusCode::OK, axum::Json(wallet))
    };
    let balance = |headers: HeaderMap| async move {
        if authorization(&headers) != format!("Bearer {PAYSTACK_KEY}") {
            return (StatusCode::UNAUTHORIZED, axum::Json(json!({"status": false, "message": "Invalid key"})));
        }
        (
            StatusCode::OK,
            axum::Json(json!({"status": true, "message": "Balances retrieved", "data": [{"currency": "KES", "balance": 250050}]})),
        )
    };
    let app = axum::Router::new().route("/api/v2/wallets", get(wallets)).route("/balance", get(balance));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (base, server)
}

fn payhero(base: &str, password: &str) -> ProviderConfig {
    ProviderConfig::Payhero {
        username: Secret(PAYHERO_AUTH.0.into()),
        password: Secret(password.into()),
        channel_id: 911,
        channel: Default::default(),
        base_url: Some(base.into()),
    }
}

fn paystack(base: &str, key: &str) -> ProviderConfig {
    ProviderConfig::Paystack { secret_key: Secret(key.into()), base_url: Some(base.into()) }
}

/// A tenant-scoped API token for `tenant`.
async fn api_token(store: &dyn Store, tenant: jasiyo_cloud::model::TenantId) -> String {
    let secret = AgentToken::generate();
    let token = OperatorToken {
        id: operator_token_id(&secret.hash()),
        name: "script".into(),
        scope: OperatorScope::Tenant(tenant),
        created_at: now_ms(),
        expires_at: None,
        revoked_at: None,
    };
    store.create_scoped_operator_token(&token, &secret.hash()).await.unwrap();
    secret.expose().to_string()
}

async fn each_provider_says_what_it_answered(site: Site) {
    let (base, server) = stand_in().await;
    let mut owner = Browser::new(&site);
    owner.sign_up("Checked", "owner@checked.example").await;
    let tenant = site.store.find_tenant("Checked").await.unwrap().unwrap();
    let csrf = owner.get("/dashboard/settings/provider").await.csrf();
    let mut script = Browser::new(&site);
    let bearer = format!("Bearer {}", api_token(site.store.as_ref(), tenant.id).await);
    let none = script.request("POST", "/api/v1/provider/check", &[], &[("authorization", &bearer)]).await;
    assert_eq!(none.status, StatusCode::NOT_FOUND, "no provider yet: {}", none.body);

    let sealer = Sealer::new([7; 32]);
    let cases = [
        (payhero(&base, PAYHERO_AUTH.1), "payhero", true, "PayHero service wallet balance KES 15101.36"),
        (payhero(&base, "wrong-password"), "payhero", false, "invalid API credentials"),
        (paystack(&base, PAYSTACK_KEY), "paystack", true, "Paystack: Balances retrieved (KES 2500.50)"),
        (paystack(&base, "sk_test_wrong"), "paystack", false, "Invalid key"),
    ];
    for (config, kind, accepted, said) in cases {
        set_provider(site.store.as_ref(), &sealer, "http://127.0.0.1", tenant.id, &config, false).await.unwrap();
        let page = owner.post("/dashboard/settings/provider/check", &[("csrf", &csrf)]).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        let verdict = if accepted { "accepted the credentials" } else { "did not accept the connection" };
        assert!(page.body.contains(&format!("{kind} {verdict}")) && page.body.contains(said), "{kind}: {}", page.body);
        assert!(!page.body.contains("wrong-password") && !page.body.contains("sk_test_wrong"), "no secret shown back");

        let api = script.request("POST", "/api/v1/provider/check", &[], &[("authorization", &bearer)]).await;
        assert_eq!(api.status, StatusCode::OK, "{}", api.body);
        let body: Value = serde_json::from_str(&api.body).unwrap();
        assert_eq!((body["provider"].as_str(), body["ok"].as_bool()), (Some(kind), Some(accepted)), "{body}");
        assert!(body["said"].as_str().unwrap().contains(said), "{body}");
    }
    let anonymous = script.request("POST", "/api/v1/provider/check", &[], &[]).await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    server.abort();
}

jasiyo_cloud::on_each_backend!(site; each_provider_says_what_it_answered);
