//! The rest of the dashboard's operations as JSON under `/api/v1`, on both databases: each
//! does its job (checked in the store), refuses bad input with a clear error and changes
//! nothing, and another tenant's token gets 404 for this tenant's ids.

use axum::http::StatusCode;
use jasiyo_cloud::model::{PaymentState, Tenant, TenantId};
use jasiyo_cloud::payments::providers_config::open_settings;
use jasiyo_cloud::payments::sealer::Sealer;
use jasiyo_cloud::providers::{PayHeroChannel, ProviderConfig, ProviderKind};
use jasiyo_cloud::store::now_ms;
use jasiyo_cloud::store::testing::{open_payment, paid_payment};
use jasiyo_cloud::token::OperatorScope;
use jasiyo_shared::{Outcome, RouterId, Seq};
use serde_json::Value;

use super::tenant_api::{Api, api};

/// Two tenants, a router of A's, and a token for each.
impl Api {
    /// The tenant's stored settings for `kind`, opened with the key [`super::tenant_api::api`] uses.
    async fn provider_config(&self, tenant: TenantId, kind: ProviderKind) -> ProviderConfig {
        let stored = self.store.provider_settings(tenant, kind).await.unwrap().expect("settings stored");
        open_settings(&Sealer::new([7; 32]), &stored).unwrap()
    }
}

async fn two(api: &Api) -> (Tenant, RouterId, String, String) {
    let a = api.store.create_tenant("A", now_ms()).await.unwrap();
    let b = api.store.create_tenant("B", now_ms()).await.unwrap();
    let router = api.store.create_router(a.id, "shop", "hash", now_ms()).await.unwrap().id;
    let token_a = api.token(OperatorScope::Tenant(a.id)).await;
    let token_b = api.token(OperatorScope::Tenant(b.id)).await;
    (a, router, token_a, token_b)
}

async fn routers_are_added_rotated_retried_and_revoked(api: Api) {
    let (a, shop, token_a, token_b) = two(&api).await;
    let (status, added) = api.call("POST", "/api/v1/routers", &token_a, r#"{"name":"kiosk"}"#).await;
    assert_eq!(status, StatusCode::CREATED, "{added}");
    let token = added["token"].as_str().unwrap();
    assert!(added["agent_settings"].as_str().unwrap().contains(token) && added["container_script"].as_str().unwrap().contains(token));
    assert!(added["hotspot_script"].is_string(), "{added}");
    let kiosk: RouterId = added["id"].as_str().unwrap().parse().unwrap();
    assert_eq!(api.store.router(kiosk).await.unwrap().unwrap().tenant_id, a.id);
    let count = api.store.list_routers(Some(a.id)).await.unwrap().len();
    assert_eq!(api.call("POST", "/api/v1/routers", &token_a, r#"{"name":"kiosk"}"#).await.0, StatusCode::CONFLICT);
    let (status, body) = api.call("POST", "/api/v1/routers", &token_a, r#"{"name":"  "}"#).await;
    assert!(status == StatusCode::BAD_REQUEST && body["error"].as_str().unwrap().contains("name"), "{body}");
    assert_eq!(api.store.list_routers(Some(a.id)).await.unwrap().len(), count, "nothing added");

    // Rotate: a new token; the old hash is gone. Another tenant's token cannot.
    let before = api.store.router(kiosk).await.unwrap().unwrap().token_hash;
    assert_eq!(api.call("POST", &format!("/api/v1/routers/{kiosk}/rotate"), &token_b, "").await.0, StatusCode::NOT_FOUND);
    assert_eq!(api.store.router(kiosk).await.unwrap().unwrap().token_hash, before);
    let (status, rotated) = api.call("POST", &format!("/api/v1/routers/{kiosk}/rotate"), &token_a, "").await;
    assert_eq!(status, StatusCode::OK, "{rotated}");
    assert!(rotated["token_update_script"].as_str().unwrap().contains(rotated["token"].as_str().unwrap()));
    assert_ne!(api.store.router(kiosk).await.unwrap().unwrap().token_hash, before);

    // Retry: only a failed command.
    let paid = paid_payment(api.store.as_ref(), shop, now_ms(), now_ms() / 1000 + 3600).await;
    let seq = Seq(api.store.entitlement_for_payment(paid).await.unwrap().unwrap().command_seq);
    let retry = format!("/api/v1/routers/{shop}/commands/{}/retry", seq.0);
    assert_eq!(api.call("POST", &retry, &token_a, "").await.0, StatusCode::CONFLICT, "a pending command is not retried");
    api.store.mark_delivered(shop, &[seq], now_ms()).await.unwrap();
    api.store.record_result(shop, seq, &Outcome::Failed { message: "no such profile".into() }, now_ms()).await.unwrap();
    assert_eq!(api.call("POST", &retry, &token_b, "").await.0, StatusCode::NOT_FOUND);
    assert_eq!(api.call("POST", &format!("/api/v1/routers/{shop}/commands/999/retry"), &token_a, "").await.0, StatusCode::NOT_FOUND);
    let (status, again) = api.call("POST", &retry, &token_a, "").await;
    assert_eq!(status, StatusCode::CREATED, "{again}");
    assert!(again["seq"].as_u64().unwrap() > seq.0 && !again.to_string().contains("482913"), "a new command, no password: {again}");
    assert_eq!(api.store.list_commands(shop, 10).await.unwrap().len(), 2);

    // Revoke, once.
    assert_eq!(api.call("POST", &format!("/api/v1/routers/{kiosk}/revoke"), &token_b, "").await.0, StatusCode::NOT_FOUND);
    assert!(api.store.router(kiosk).await.unwrap().unwrap().revoked_at.is_none());
    let (status, body) = api.call("POST", &format!("/api/v1/routers/{kiosk}/revoke"), &token_a, "").await;
    assert!(status == StatusCode::OK && body["revoked_at"].is_i64(), "{body}");
    assert!(api.store.router(kiosk).await.unwrap().unwrap().revoked_at.is_some());
    assert_eq!(api.call("POST", &format!("/api/v1/routers/{kiosk}/revoke"), &token_a, "").await.0, StatusCode::CONFLICT);
    assert_eq!(api.call("POST", &format!("/api/v1/routers/{kiosk}/rotate"), &token_a, "").await.0, StatusCode::CONFLICT);
}

async fn plans_are_edited_and_switched_off(api: Api) {
    let (a, _, token_a, token_b) = two(&api).await;
    let (_, plan) = api.call("POST", "/api/v1/plans", &token_a, r#"{"name":"Daily","price_kes":50,"duration":"1d"}"#).await;
    api.call("POST", "/api/v1/plans", &token_a, r#"{"name":"Hour","price_kes":10,"duration":"1h"}"#).await;
    let id = plan["id"].as_str().unwrap();
    let uri = format!("/api/v1/plans/{id}");
    let edit = r#"{"name":"Day pass","price_kes":60,"duration":"1d","rate_limit":"2M/2M","shared_users":2}"#;
    assert_eq!(api.call("PUT", &uri, &token_b, edit).await.0, StatusCode::NOT_FOUND);
    let stored = |api: &Api| {
        let store = api.store.clone();
        let id = id.parse().unwrap();
        async move { store.tenant_plan(a.id, id).await.unwrap().unwrap() }
    };
    assert_eq!(stored(&api).await.name, "Daily");
    let (status, body) = api.call("PUT", &uri, &token_a, r#"{"name":"Day pass","price_kes":0,"duration":"1d"}"#).await;
    assert!(status == StatusCode::BAD_REQUEST && body["error"].is_string(), "{body}");
    assert_eq!(api.call("PUT", &uri, &token_a, r#"{"name":"Hour","price_kes":60,"duration":"1d"}"#).await.0, StatusCode::CONFLICT);
    assert_eq!(api.call("PUT", &uri, &token_a, r#"{"name":"Day pass","price_kes":60,"duration":"soon"}"#).await.0, StatusCode::BAD_REQUEST);
    assert_eq!((stored(&api).await.name, stored(&api).await.price_kes), ("Daily".to_string(), 50), "refusals change nothing");
    let (status, body) = api.call("PUT", &uri, &token_a, edit).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let plan = stored(&api).await;
    assert_eq!((plan.name.as_str(), plan.price_kes, plan.shared_users), ("Day pass", 60, Some(2)));
    assert_eq!(plan.rate_limit.as_deref(), Some("2M/2M"));

    let active = format!("{uri}/active");
    assert_eq!(api.call("POST", &active, &token_b, r#"{"active":false}"#).await.0, StatusCode::NOT_FOUND);
    assert_eq!(api.call("POST", &active, &token_a, r#"{"active":"no"}"#).await.0, StatusCode::BAD_REQUEST);
    assert!(stored(&api).await.active);
    let (status, body) = api.call("POST", &active, &token_a, r#"{"active":false}"#).await;
    assert_eq!((status, body["active"].clone()), (StatusCode::OK, Value::Bool(false)));
    assert!(!stored(&api).await.active);
    api.call("POST", &active, &token_a, r#"{"active":true}"#).await;
    assert!(stored(&api).await.active);
}

async fn the_provider_is_set_without_echoing_secrets(api: Api) {
    let (a, _, token_a, token_b) = two(&api).await;
    let (status, body) = api.call("PUT", "/api/v1/provider", &token_a, r#"{"kind":"paystack"}"#).await;
    assert!(status == StatusCode::BAD_REQUEST && body["error"].as_str().unwrap().contains("secret key"), "{body}");
    assert_eq!(api.call("PUT", "/api/v1/provider", &token_a, r#"{"kind":"mpesa"}"#).await.0, StatusCode::BAD_REQUEST);
    assert_eq!(api.store.current_provider(a.id).await.unwrap(), None, "refusals set nothing");

    let (status, body) = api.call("PUT", "/api/v1/provider", &token_a, r#"{"kind":"paystack","secret_key":"sk_test_secret9"}"#).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body["webhook_url"].as_str().unwrap().contains("/callbacks/paystack/"), "{body}");
    assert!(!body.to_string().contains("sk_test_secret9"));
    // Again: the webhook is kept, so no URL.
    let (_, body) = api.call("PUT", "/api/v1/provider", &token_a, r#"{"kind":"paystack","secret_key":"sk_test_other"}"#).await;
    assert_eq!(body["webhook_url"], Value::Null);
    let payhero = r#"{"kind":"payhero","username":"u","password":"p4ss","channel_id":"42"}"#;
    let (status, body) = api.call("PUT", "/api/v1/provider", &token_a, payhero).await;
    assert_eq!((status, body["provider"].as_str(), body["webhook_url"].clone()), (StatusCode::OK, Some("payhero"), Value::Null), "{body}");
    assert!(matches!(
        api.provider_config(a.id, ProviderKind::Payhero).await,
        ProviderConfig::Payhero { channel: PayHeroChannel::Mpesa, .. }
    ));
    let wallet = r#"{"kind":"payhero","username":"u","password":"p4ss","channel_id":"43","payhero_wallet":true}"#;
    assert_eq!(api.call("PUT", "/api/v1/provider", &token_a, wallet).await.0, StatusCode::OK);
    let config = api.provider_config(a.id, ProviderKind::Payhero).await;
    assert!(matches!(config, ProviderConfig::Payhero { channel: PayHeroChannel::Wallet, channel_id: 43, .. }), "{config:?}");

    let (status, history) = api.call("GET", "/api/v1/provider", &token_a, "").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(history["current"]["provider"], "payhero");
    let kinds: Vec<_> = history["changes"].as_array().unwrap().iter().map(|c| c["provider"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["payhero", "payhero", "paystack", "paystack"], "{history}");
    assert!(!history.to_string().contains("p4ss"));
    let (_, theirs) = api.call("GET", "/api/v1/provider", &token_b, "").await;
    assert_eq!((theirs["current"].clone(), theirs["changes"].clone()), (Value::Null, Value::Array(vec![])));
}

async fn payments_are_settled_and_resent(api: Api) {
    let (_, shop, token_a, token_b) = two(&api).await;
    let open = open_payment(api.store.as_ref(), shop, now_ms(), "open").await;
    let state = |id| {
        let store = api.store.clone();
        async move { store.payment(id).await.unwrap().unwrap().state }
    };
    let settle = format!("/api/v1/payments/{open}/settle");
    let good = r#"{"receipt":"sxk9abc1de","reason":"seen on the statement"}"#;
    assert_eq!(api.call("POST", &settle, &token_b, good).await.0, StatusCode::NOT_FOUND);
    let (status, body) = api.call("POST", &settle, &token_a, r#"{"receipt":"x!","reason":"seen"}"#).await;
    assert!(status == StatusCode::BAD_REQUEST && body["error"].as_str().unwrap().contains("receipt"), "{body}");
    assert_eq!(api.call("POST", &settle, &token_a, r#"{"receipt":"SXK9ABC1DE","reason":" "}"#).await.0, StatusCode::BAD_REQUEST);
    assert_ne!(state(open).await, PaymentState::Paid, "refusals change nothing");
    let (status, body) = api.call("POST", &settle, &token_a, good).await;
    assert_eq!((status, body["state"].as_str()), (StatusCode::OK, Some("paid")), "{body}");
    assert_eq!(state(open).await, PaymentState::Paid);
    assert!(api.store.entitlement_for_payment(open).await.unwrap().is_some(), "its user is made");
    assert_eq!(api.call("POST", &settle, &token_a, good).await.0, StatusCode::CONFLICT, "paid already");

    let resend = format!("/api/v1/payments/{open}/resend");
    assert_eq!(api.call("POST", &resend, &token_b, "").await.0, StatusCode::NOT_FOUND);
    let before = api.store.list_commands(shop, 10).await.unwrap().len();
    let (status, body) = api.call("POST", &resend, &token_a, "").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let seq = Seq(body["command_seq"].as_u64().unwrap());
    assert_eq!(api.store.list_commands(shop, 10).await.unwrap().len(), before + 1);
    api.store.record_result(shop, seq, &Outcome::Applied { note: None }, now_ms()).await.unwrap();
    assert_eq!(api.call("POST", &resend, &token_a, "").await.0, StatusCode::CONFLICT, "the router has it");
    let unpaid = open_payment(api.store.as_ref(), shop, now_ms(), "unpaid").await;
    assert_eq!(api.call("POST", &format!("/api/v1/payments/{unpaid}/resend"), &token_a, "").await.0, StatusCode::CONFLICT);
    assert_eq!(api.store.list_commands(shop, 10).await.unwrap().len(), before + 1, "refusals enqueue nothing");
}

async fn users_move_and_alerts_and_the_look_are_set(api: Api) {
    let (a, shop, token_a, token_b) = two(&api).await;
    let paid = paid_payment(api.store.as_ref(), shop, now_ms(), now_ms() / 1000 + 3600).await;
    let user = api.store.entitlement_for_payment(paid).await.unwrap().unwrap().id;
    let moved = format!("/api/v1/users/{user}/move");
    assert_eq!(api.call("POST", &moved, &token_b, r#"{"mac":"02:00:00:00:00:09"}"#).await.0, StatusCode::NOT_FOUND);
    let (status, body) = api.call("POST", &moved, &token_a, r#"{"mac":"not a mac"}"#).await;
    assert!(status == StatusCode::BAD_REQUEST && body["error"].as_str().unwrap().contains("MAC"), "{body}");
    let mac = |api: &Api| {
        let store = api.store.clone();
        async move { store.entitlement_for_payment(paid).await.unwrap().unwrap().device_mac.map(|m| m.to_string()) }
    };
    assert_eq!(mac(&api).await, None);
    let (status, body) = api.call("POST", &moved, &token_a, r#"{"mac":"02:00:00:00:00:09"}"#).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(mac(&api).await.unwrap().to_ascii_uppercase(), "02:00:00:00:00:09");

    // Alerts: thresholds and the webhook (its secret once).
    let (_, alerts) = api.call("GET", "/api/v1/alerts", &token_a, "").await;
    assert_eq!((alerts["thresholds"]["offline_minutes"].as_i64(), alerts["open"].clone()), (Some(10), Value::Array(vec![])), "{alerts}");
    let (status, body) =
        api.call("PUT", "/api/v1/alerts/thresholds", &token_a, r#"{"offline_minutes":0,"quiet_hours":6,"failures":5}"#).await;
    assert!(status == StatusCode::BAD_REQUEST && body["error"].as_str().unwrap().contains("offline"), "{body}");
    assert_eq!(api.store.alert_settings(a.id).await.unwrap().thresholds.offline_minutes, 10);
    let good = r#"{"offline_minutes":30,"quiet_hours":12,"failures":3}"#;
    assert_eq!(api.call("PUT", "/api/v1/alerts/thresholds", &token_a, good).await.0, StatusCode::OK);
    assert_eq!(api.store.alert_settings(a.id).await.unwrap().thresholds.offline_minutes, 30);
    let (status, _) = api.call("PUT", "/api/v1/alerts/webhook", &token_a, r#"{"url":"http://hooks.example.com/x"}"#).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "https only");
    assert!(api.store.alert_settings(a.id).await.unwrap().webhook.is_none());
    let (status, body) = api.call("PUT", "/api/v1/alerts/webhook", &token_a, r#"{"url":"https://hooks.example.com/x"}"#).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let secret = body["secret"].as_str().unwrap();
    let webhook = api.store.alert_settings(a.id).await.unwrap().webhook.unwrap();
    assert_eq!(webhook.url, "https://hooks.example.com/x");
    assert!(secret.len() == 64 && !webhook.sealed_secret.contains(secret), "sealed at rest");
    let (_, alerts) = api.call("GET", "/api/v1/alerts", &token_a, "").await;
    assert!(alerts["webhook_url"] == "https://hooks.example.com/x" && !alerts.to_string().contains(secret), "{alerts}");
    assert_eq!(api.call("GET", "/api/v1/alerts", &token_b, "").await.1["webhook_url"], Value::Null);
    api.call("PUT", "/api/v1/alerts/webhook", &token_a, r#"{"url":null}"#).await;
    assert!(api.store.alert_settings(a.id).await.unwrap().webhook.is_none());

    // The portal's look: checked whole before anything is kept.
    api.store.create_tenant("Taken", now_ms()).await.unwrap();
    let look = r##"{"business":"Mama WiFi","welcome":"Karibu","support_phone":"0712345678","color":"#AA0000","language":"sw"}"##;
    let bad = r##"{"business":"Mama WiFi","color":"red"}"##;
    let (status, body) = api.call("PUT", "/api/v1/portal-look", &token_a, bad).await;
    assert!(status == StatusCode::BAD_REQUEST && body["error"].is_string(), "{body}");
    assert_eq!(api.call("PUT", "/api/v1/portal-look", &token_a, r#"{"business":"Taken"}"#).await.0, StatusCode::CONFLICT);
    assert_eq!(api.store.find_tenant(&a.id.to_string()).await.unwrap().unwrap().name, "A", "refusals rename nothing");
    assert_eq!(api.store.portal_look(a.id).await.unwrap().color, None);
    let (status, body) = api.call("PUT", "/api/v1/portal-look", &token_a, look).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let kept = api.store.portal_look(a.id).await.unwrap();
    assert_eq!((kept.color.as_deref(), kept.language.as_deref(), kept.welcome.as_deref()), (Some("#aa0000"), Some("sw"), Some("Karibu")));
    assert_eq!(api.store.find_tenant(&a.id.to_string()).await.unwrap().unwrap().name, "Mama WiFi");
    assert_eq!(api.call("GET", "/api/v1/portal-look", &token_b, "").await.1["business"], "B");
}

jasiyo_cloud::on_each_backend!(api;
    routers_are_added_rotated_retried_and_revoked,
    plans_are_edited_and_switched_off,
    the_provider_is_set_without_echoing_secrets,
    payments_are_settled_and_resent,
    users_move_and_alerts_and_the_look_are_set
);
