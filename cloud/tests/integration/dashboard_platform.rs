//! The platform operator's view on both databases: only operators see it; it lists every
//! tenant with its routers and payments; suspending a tenant ends its people's sessions and
//! stops its portals selling, and resuming undoes both.

use axum::http::StatusCode;
use jasiyo_cloud::accounts::passwords;
use jasiyo_cloud::model::{Email, NewAccount, Role};
use jasiyo_cloud::store::now_ms;
use jasiyo_cloud::store::testing::paid_payment;

use super::dashboard_auth::{Browser, Site, site};

async fn operators_see_and_suspend_tenants(site: Site) {
    let operator = NewAccount {
        tenant_id: None,
        email: Email::parse("ops@jasiyo.example").unwrap(),
        name: "Ops".into(),
        phone: None,
        role: Role::Operator,
    };
    site.store.create_account(&operator, Some(&passwords::hash("operator-pass").await.unwrap()), now_ms()).await.unwrap();
    let mut owner = Browser::new(&site);
    owner.sign_up("Shop One", "one@shop.example").await;
    let tenant = site.store.find_tenant("Shop One").await.unwrap().unwrap();
    let router = site.store.create_router(tenant.id, "shop", "hash", now_ms()).await.unwrap();
    paid_payment(site.store.as_ref(), router.id, now_ms(), now_ms() / 1000 + 3600).await;
    assert_eq!(owner.get("/dashboard/platform").await.status, StatusCode::FORBIDDEN, "owners do not see the platform");

    let mut ops = Browser::new(&site);
    let signed = ops.post("/dashboard/login", &[("email", "ops@jasiyo.example"), ("password", "operator-pass")]).await;
    assert_eq!(signed.location(), "/dashboard/platform");
    let page = ops.get("/dashboard/platform").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Shop One") && page.body.contains("daraja: 1 started, 1 paid, KES 20, 0.0% failing"), "{}", page.body);
    assert_eq!(ops.get("/dashboard").await.location(), "/dashboard/platform", "an operator has no tenant pages");

    // Suspend: the owner's session ends, the portal sells nothing.
    let csrf = page.csrf();
    let path = format!("/dashboard/platform/tenants/{}/suspend", tenant.id);
    let owner_csrf = owner.get("/dashboard").await.csrf();
    assert_eq!(owner.post(&path, &[("csrf", owner_csrf.as_str())]).await.status, StatusCode::FORBIDDEN);
    assert_eq!(ops.post(&path, &[]).await.status, StatusCode::FORBIDDEN, "no CSRF token");
    assert!(site.store.find_tenant("Shop One").await.unwrap().unwrap().suspended_at.is_none());
    assert!(ops.post(&path, &[("csrf", csrf.as_str())]).await.location().starts_with("/dashboard/platform"));
    assert!(site.store.find_tenant("Shop One").await.unwrap().unwrap().suspended_at.is_some());
    assert_eq!(owner.get("/dashboard").await.location(), "/dashboard/login");
    assert!(ops.get("/dashboard/platform").await.body.contains("suspended"));
    let portal = format!("/portal/{}", router.id);
    assert_eq!(Browser::new(&site).get(&portal).await.status, StatusCode::NOT_FOUND, "a suspended tenant's portal sells nothing");

    let resume = format!("/dashboard/platform/tenants/{}/resume", tenant.id);
    ops.post(&resume, &[("csrf", csrf.as_str())]).await;
    let back = Browser::new(&site).post("/dashboard/login", &[("email", "one@shop.example"), ("password", "s3cret-pass")]).await;
    assert_eq!(back.location(), "/dashboard", "resumed: the owner signs in again");
    assert_eq!(Browser::new(&site).get(&portal).await.status, StatusCode::OK, "and its portal sells again");
}

jasiyo_cloud::on_each_backend!(site; operators_see_and_suspend_tenants);
