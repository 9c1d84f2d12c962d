//! Data used per hotspot user, end to end: the router counts a paid customer's traffic
//! (`bytes-in`/`bytes-out` on the RouterOS emulator), the agent reads it at its
//! reconciliation and reports the totals that changed (protocol 2), and the cloud shows
//! them in `/api/v1/users`. On SQLite and PostgreSQL.

use jasiyo_cloud::providers::ProviderKind;
use jasiyo_cloud::store::now_ms;
use jasiyo_cloud::token::{AgentToken, OperatorScope, OperatorToken, operator_token_id};
use jasiyo_tests::harness::*;
use jasiyo_tests::payment_emulator::{Delivery, Resolution};
use serde_json::Value;

use crate::payments::shop_custom;

async fn the_data_a_customer_used_reaches_the_owner(world: World) {
    let s = shop_custom(world, ProviderKind::Daraja, |_| {}, 3600, 0, |_| {}).await;
    let (id, reference) = s.pay("0712 345 678").await;
    s.pay.resolve(&reference, Resolution::Approve, Delivery::Normal).await.unwrap();
    let view = s.until_view(id, "online", |v| v["stage"] == "online").await;
    let username = view["login"]["username"].as_str().unwrap().to_string();

    let tenant = s.store().find_tenant("test-tenant").await.unwrap().unwrap();
    let secret = AgentToken::generate();
    let token = OperatorToken {
        id: operator_token_id(&secret.hash()),
        name: "usage".into(),
        scope: OperatorScope::Tenant(tenant.id),
        created_at: now_ms(),
        expires_at: None,
        revoked_at: None,
    };
    s.store().create_scoped_operator_token(&token, &secret.hash()).await.unwrap();
    let users = async || -> Value {
        let url = format!("{}/api/v1/users", s.cloud.http_url());
        s.http.get(url).bearer_auth(secret.expose()).send().await.unwrap().json().await.unwrap()
    };
    // Nothing counted yet, or (the agent's reconciliation already read the new user) zero.
    let first = users().await;
    let used = &first[0]["data_used"];
    assert!(used.is_null() || (used["bytes_in"] == 0 && used["bytes_out"] == 0), "nothing counted yet: {first}");

    for (up, down) in [(1_100_000u64, 12_400_000u64), (2_000_000, 30_000_000)] {
        assert!(s.router.set_user_bytes(&username, up, down));
        let user = username.clone();
        s.cloud
            .until("the data used recorded", async |store: &dyn jasiyo_cloud::store::Store| {
                let lines = store.tenant_users(tenant.id, &Default::default(), None, 10).await.unwrap();
                lines.iter().any(|l| l.entitlement.username == user && l.usage.is_some_and(|u| (u.bytes_in, u.bytes_out) == (up, down)))
            })
            .await;
        let listed = users().await;
        assert_eq!(listed[0]["username"], username.as_str());
        assert_eq!((listed[0]["data_used"]["bytes_in"].as_u64(), listed[0]["data_used"]["bytes_out"].as_u64()), (Some(up), Some(down)));
    }
    s.stop().await;
}

jasiyo_cloud::on_each_backend!(World::new; the_data_a_customer_used_reaches_the_owner);
