//! The budgets a payment attempt spends, on every backend: a phone's budget is per client
//! address (nobody else can spend it), routers, tenants and the platform have theirs, a
//! phone that cancelled prompts from one address gets a wait there, and the limits hold
//! across instances sharing a database.

use std::sync::Arc;

use jasiyo_cloud::hub::{Hub, HubConfig};
use jasiyo_cloud::model::{NewPayment, NewPlan, PaymentId, PaymentState, ProviderKind};
use jasiyo_cloud::payments::limits::{LimitConfig, LimitHit};
use jasiyo_cloud::payments::sealer::Sealer;
use jasiyo_cloud::payments::{InitiateRequest, Payments, PaymentsConfig, PortalError};
use jasiyo_cloud::store::testing::{Backend, fresh_store};
use jasiyo_cloud::store::{Store, now_ms};
use jasiyo_shared::RouterId;
use tokio_util::sync::CancellationToken;

/// A fresh store (and the directory it may live in).
async fn fixture(backend: Backend) -> Option<(tempfile::TempDir, Arc<dyn Store>)> {
    let dir = tempfile::TempDir::new().unwrap();
    let store = fresh_store(backend, dir.path()).await?;
    Some((dir, store))
}

/// A payments service (one cloud instance) over `store` with these limits.
fn instance(store: &Arc<dyn Store>, limits: LimitConfig) -> Arc<Payments> {
    let hub = Hub::start(store.clone(), HubConfig::default(), CancellationToken::new());
    let mut config = PaymentsConfig::new("http://127.0.0.1");
    config.limits = limits;
    Payments::new(store.clone(), hub, Sealer::new([7; 32]), config).unwrap()
}

/// Limits that nothing but the one under test reaches.
fn roomy() -> LimitConfig {
    LimitConfig {
        per_phone: 100,
        per_device: usize::MAX,
        per_ip: usize::MAX,
        per_router: 100,
        per_tenant: 100,
        global: 100,
        ..LimitConfig::default()
    }
}

/// An attempt: `Ok(())` when every budget let it through (whatever came after), or the
/// limit that stopped it.
async fn attempt(payments: &Payments, router: RouterId, plan: &str, phone: &str, client: &str) -> Result<(), LimitHit> {
    let request = InitiateRequest {
        plan_id: plan.into(),
        phone: phone.into(),
        idempotency_key: uuid::Uuid::new_v4().to_string(),
        client_ip: Some(client.into()),
        ..InitiateRequest::default()
    };
    match payments.initiate(router, request).await {
        Err(PortalError::RateLimited(hit)) => Err(hit),
        Err(PortalError::RouterNotFound | PortalError::PlanNotFound | PortalError::NoProvider) => Ok(()),
        other => panic!("unexpected answer {other:?}"),
    }
}

async fn nobody_else_can_spend_a_phones_budget((_dir, store): (tempfile::TempDir, Arc<dyn Store>)) {
    let payments = instance(&store, LimitConfig { per_phone: 2, ..roomy() });
    let router = RouterId::new();
    for _ in 0..2 {
        assert_eq!(attempt(&payments, router, "p", "0712345678", "203.0.113.9").await, Ok(()));
    }
    assert_eq!(attempt(&payments, router, "p", "0712345678", "203.0.113.9").await, Err(LimitHit::Phone), "the prankster is stopped");
    assert_eq!(attempt(&payments, router, "p", "0712345678", "198.51.100.7").await, Ok(()), "the phone's owner, elsewhere, is not");
}

async fn routers_and_the_platform_have_budgets((_dir, store): (tempfile::TempDir, Arc<dyn Store>)) {
    let payments = instance(&store, LimitConfig { per_router: 2, global: 3, ..roomy() });
    let (busy, other, plan) = shop(&store).await;
    let tenant = store.router(busy).await.unwrap().unwrap().tenant_id;
    let third = store.create_router(tenant, "three", "h3", now_ms()).await.unwrap().id;
    // Attempts that could never prompt (no such plan, no such router) spend no shared budget.
    for n in 0..5 {
        assert_eq!(attempt(&payments, busy, "no-such-plan", &format!("07110000{n:02}"), "192.0.2.1").await, Ok(()));
        assert_eq!(attempt(&payments, RouterId::new(), &plan, &format!("07110001{n:02}"), "192.0.2.2").await, Ok(()));
    }
    // Different phones from different addresses: only the router's budget is shared.
    assert_eq!(attempt(&payments, busy, &plan, "0712000001", "203.0.113.1").await, Ok(()));
    assert_eq!(attempt(&payments, busy, &plan, "0712000002", "203.0.113.2").await, Ok(()));
    assert_eq!(attempt(&payments, busy, &plan, "0712000003", "203.0.113.3").await, Err(LimitHit::Router));
    assert_eq!(attempt(&payments, other, &plan, "0712000004", "203.0.113.4").await, Ok(()), "another router has its own");
    assert_eq!(attempt(&payments, third, &plan, "0712000005", "203.0.113.5").await, Err(LimitHit::Global));
}

/// A tenant with two routers and a plan, no provider: attempts that pass every budget end
/// at "payments not configured".
async fn shop(store: &Arc<dyn Store>) -> (RouterId, RouterId, String) {
    let tenant = store.create_tenant("t", now_ms()).await.unwrap();
    let one = store.create_router(tenant.id, "one", "h1", now_ms()).await.unwrap().id;
    let two = store.create_router(tenant.id, "two", "h2", now_ms()).await.unwrap().id;
    let plan = NewPlan {
        shared_users: None,
        name: "1h".into(),
        price_kes: 20,
        duration_secs: 3600,
        data_mb: None,
        rate_limit: None,
        profile: None,
    };
    let plan = store.create_plan(tenant.id, &plan, now_ms()).await.unwrap();
    (one, two, plan.id.to_string())
}

async fn a_tenant_has_a_budget_across_its_routers((_dir, store): (tempfile::TempDir, Arc<dyn Store>)) {
    let (one, two, plan) = shop(&store).await;
    let payments = instance(&store, LimitConfig { per_tenant: 2, ..roomy() });
    assert_eq!(attempt(&payments, one, &plan, "0712000001", "203.0.113.1").await, Ok(()));
    assert_eq!(attempt(&payments, two, &plan, "0712000002", "203.0.113.2").await, Ok(()));
    assert_eq!(attempt(&payments, one, &plan, "0712000003", "203.0.113.3").await, Err(LimitHit::Tenant));
}

async fn cancelled_prompts_back_off_from_that_address((_dir, store): (tempfile::TempDir, Arc<dyn Store>)) {
    let (router, _, plan) = shop(&store).await;
    let tenant = store.router(router).await.unwrap().unwrap().tenant_id;
    // Three prompts from the prankster's address, each cancelled on the phone.
    for n in 0..3 {
        let new = NewPayment {
            id: PaymentId::random(),
            tenant_id: tenant,
            router_id: router,
            plan_id: plan.parse().unwrap(),
            provider: ProviderKind::Daraja,
            amount_kes: 20,
            msisdn: "254712345678".into(),
            device_mac: None,
            device_ip: None,
            client_ip: Some("203.0.113.9".into()),
            idempotency_key: format!("k{n}"),
            callback_token_hash: format!("h{n}"),
            first_check_at: now_ms() + 25_000,
        };
        let payment = store.create_payment(&new, now_ms()).await.unwrap();
        assert!(store.mark_failed(payment.id, PaymentState::Cancelled, "cancelled", None, now_ms()).await.unwrap());
    }
    let payments = instance(&store, LimitConfig { free_cancels: 2, ..roomy() });
    assert_eq!(attempt(&payments, router, &plan, "0712345678", "203.0.113.9").await, Err(LimitHit::Backoff));
    assert_eq!(attempt(&payments, router, &plan, "0712999999", "203.0.113.9").await, Ok(()), "other phones are not held back");
    assert_eq!(attempt(&payments, router, &plan, "0712345678", "198.51.100.7").await, Ok(()), "the owner pays from their own device");
    let relaxed = instance(&store, LimitConfig { free_cancels: 3, ..roomy() });
    assert_eq!(attempt(&relaxed, router, &plan, "0712345678", "203.0.113.9").await, Ok(()), "within the free cancellations");
}

async fn limits_hold_across_instances((_dir, store): (tempfile::TempDir, Arc<dyn Store>)) {
    let (router, _, plan) = shop(&store).await;
    let limits = LimitConfig { per_ip: 2, ..roomy() };
    let (first, second) = (instance(&store, limits), instance(&store, limits));
    assert_eq!(attempt(&first, router, &plan, "0712000001", "203.0.113.1").await, Ok(()));
    assert_eq!(attempt(&first, router, &plan, "0712000002", "203.0.113.1").await, Ok(()));
    // Counted in memory only, the other instance would let this through.
    assert_eq!(attempt(&second, router, &plan, "0712000003", "203.0.113.1").await, Err(LimitHit::Ip));
    // Spent windows are deleted in the background; current ones are kept.
    assert_eq!(first.forget_old_counters().await.unwrap(), 0);
}

jasiyo_cloud::on_each_backend!(
    fixture;
    nobody_else_can_spend_a_phones_budget,
    routers_and_the_platform_have_budgets,
    a_tenant_has_a_budget_across_its_routers,
    cancelled_prompts_back_off_from_that_address,
    limits_hold_across_instances,
);
