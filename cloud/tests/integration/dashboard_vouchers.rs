//! The dashboard's vouchers on both databases: an owner creates a batch (it goes into the
//! router's outbox), sees its codes counted, prints the A4 sheet (each code once), downloads
//! the CSV and revokes a code and the batch; another tenant's owner can neither see, print,
//! download nor revoke it.

use axum::http::StatusCode;
use jasiyo_cloud::model::NewPlan;
use jasiyo_cloud::store::now_ms;

use super::dashboard_auth::{Browser, Site, site};

async fn owners_sell_vouchers_and_only_their_own(site: Site) {
    let mut a = Browser::new(&site);
    a.sign_up("Vouchers A", "a@vouchers.example").await;
    let mut b = Browser::new(&site);
    b.sign_up("Vouchers B", "b@vouchers.example").await;
    let tenant = site.store.find_tenant("Vouchers A").await.unwrap().unwrap();
    let router = site.store.create_router(tenant.id, "counter", "hash-a", now_ms()).await.unwrap();
    let plan = NewPlan {
        name: "Day pass".into(),
        price_kes: 50,
        duration_secs: 86_400,
        data_mb: None,
        rate_limit: None,
        profile: None,
        shared_users: None,
    };
    let plan = site.store.create_plan(tenant.id, &plan, now_ms()).await.unwrap();

    let page = a.get("/dashboard/vouchers").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("New batch") && page.body.contains("counter") && page.body.contains("No voucher batches yet"));
    let csrf = page.csrf();
    let (plan_id, router_id) = (plan.id.to_string(), router.id.to_string());
    let refused = a
        .post("/dashboard/vouchers", &[("csrf", &csrf), ("plan", &plan_id), ("count", "30"), ("length", "3"), ("router", &router_id)])
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.body.contains("7 to 16"), "{}", refused.body);
    let form = [
        ("csrf", csrf.as_str()),
        ("plan", &plan_id),
        ("count", "30"),
        ("prefix", "kb"),
        ("price", "50"),
        ("valid_until", "2099-01-31"),
        ("router", &router_id),
    ];
    let created = a.post("/dashboard/vouchers", &form).await;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.body);
    let url = created.location().to_string();
    let batch_id = url.rsplit('/').next().unwrap().to_string();
    let queued = site.store.list_commands(router.id, 100).await.unwrap();
    assert_eq!(queued.iter().map(|c| c.command.user_names().len()).collect::<Vec<_>>(), vec![30], "a user per code in the outbox");

    let batch = a.get(&url).await;
    assert_eq!(batch.status, StatusCode::OK);
    assert!(batch.body.contains(r#"id="unused">30<"#), "{}", batch.body);
    let codes = site.store.voucher_codes(tenant.id, batch_id.parse().unwrap(), now_ms() / 1000).await.unwrap();
    assert!(codes.iter().all(|l| batch.body.contains(&l.code.grouped())));

    // A code used on the portal: the cash it brought is counted apart from M-Pesa.
    let mac = "02:00:00:00:00:09".parse().unwrap();
    site.store.redeem_voucher(router.id, &codes[5].code, mac, now_ms()).await.unwrap();
    let list = a.get("/dashboard/vouchers").await.body;
    assert!(list.contains(r#"id="cash">KES 50<"#) && list.contains(r#"id="sold">1<"#), "{list}");

    // The print sheet: every code exactly once, 30 cards on two A4 pages, both languages.
    let print = a.get(&format!("{url}/print")).await;
    assert_eq!(print.status, StatusCode::OK);
    for line in &codes {
        assert_eq!(print.body.matches(&line.code.grouped()).count(), 1, "each code once on the sheet");
    }
    assert_eq!(print.body.matches(r#"class="v""#).count(), 30);
    assert_eq!(print.body.matches(r#"class="sheet""#).count(), 2);
    assert!(print.body.contains("Vouchers A") && print.body.contains("Day pass · KES 50") && print.body.contains("Una vocha?"));
    let csv = a.get(&format!("{url}/csv")).await;
    assert_eq!(csv.headers["content-type"], "text/csv; charset=utf-8");
    assert_eq!(csv.body.lines().count(), 31);

    // Another tenant: not found everywhere, and nothing changes.
    for path in [url.clone(), format!("{url}/print"), format!("{url}/csv")] {
        assert_eq!(b.get(&path).await.status, StatusCode::NOT_FOUND, "{path}");
    }
    assert!(!b.get("/dashboard/vouchers").await.body.contains(&batch_id[..8]));
    let csrf_b = b.get("/dashboard/vouchers").await.csrf();
    assert_eq!(b.post(&format!("{url}/revoke"), &[("csrf", &csrf_b)]).await.status, StatusCode::NOT_FOUND);
    assert!(site.store.voucher_batch(tenant.id, batch_id.parse().unwrap()).await.unwrap().unwrap().revoked_at.is_none());
    // Nor can anyone revoke without the form's token.
    assert_eq!(a.post(&format!("{url}/revoke"), &[]).await.status, StatusCode::FORBIDDEN);

    // The owner revokes one code, then the batch: removals queued, the sheet empties.
    let one = a.post(&format!("{url}/revoke"), &[("csrf", &csrf), ("code", codes[0].code.as_str())]).await;
    assert!(one.location().contains("1+code"), "{}", one.location());
    let all = a.post(&format!("{url}/revoke"), &[("csrf", &csrf)]).await;
    assert!(all.location().contains("29+code"), "{}", all.location());
    assert!(a.get(&url).await.body.contains(r#"id="revoked">30<"#));
    assert_eq!(a.get(&format!("{url}/print")).await.body.matches(r#"class="v""#).count(), 0);
    assert_eq!(site.store.list_commands(router.id, 100).await.unwrap().len(), 31, "the load, then 30 removals");
}

/// A code used on a second router shows on the batch's code list, naming that router.
async fn a_code_used_on_two_routers_shows_on_the_code_list(site: Site) {
    let mut a = Browser::new(&site);
    a.sign_up("Vouchers Two", "two@vouchers.example").await;
    let tenant = site.store.find_tenant("Vouchers Two").await.unwrap().unwrap();
    let front = site.store.create_router(tenant.id, "front room", "hash-two-front", now_ms()).await.unwrap().id;
    let back = site.store.create_router(tenant.id, "back room", "hash-two-back", now_ms()).await.unwrap().id;
    let plan = NewPlan {
        name: "Day pass".into(),
        price_kes: 50,
        duration_secs: 86_400,
        data_mb: None,
        rate_limit: None,
        profile: None,
        shared_users: None,
    };
    let plan = site.store.create_plan(tenant.id, &plan, now_ms()).await.unwrap();
    let input = jasiyo_cloud::model::VoucherBatchInput {
        plan_id: plan.id,
        count: 2,
        code_length: 8,
        prefix: None,
        price_kes: None,
        valid_until: None,
        routers: vec![front, back],
    };
    let (batch, codes) = jasiyo_cloud::vouchers::create_batch(site.store.as_ref(), tenant.id, input).await.unwrap();
    let used = vec![jasiyo_shared::UserUsage { name: codes[0].as_str().into(), bytes_in: 10, bytes_out: 10 }];
    site.store.record_usage(front, &used, now_ms()).await.unwrap();
    let page = a.get(&format!("/dashboard/vouchers/{}", batch.id)).await;
    assert!(!page.body.contains("also used on"), "not yet");
    site.store.record_usage(back, &used, now_ms()).await.unwrap();
    let page = a.get(&format!("/dashboard/vouchers/{}", batch.id)).await;
    assert_eq!(page.body.matches("also used on back room at once: ended there").count(), 1, "{}", page.body);
}

jasiyo_cloud::on_each_backend!(site; owners_sell_vouchers_and_only_their_own, a_code_used_on_two_routers_shows_on_the_code_list);
