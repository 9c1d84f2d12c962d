//! Vouchers in Transactions, on both databases: a code's first use is a cash sale at its
//! batch's price, listed newest first with its router, device and time, filtered and paged
//! like payments, and totalled apart from M-Pesa (the store, the dashboard's "Cash
//! (voucher)" tab and its CSV, the overview, and the tenant API's `kind=voucher`); staff
//! see codes masked; another tenant sees none.

use axum::http::StatusCode;
use jasiyo_cloud::model::VoucherBatchInput;
use jasiyo_cloud::store::now_ms;
use jasiyo_cloud::store::voucher_sales::{SaleCursor, SaleFilter, SaleTotals};
use jasiyo_cloud::token::OperatorScope;
use jasiyo_cloud::vouchers::create_batch;
use jasiyo_shared::{MacAddress, RouterId};

use super::dashboard_auth::{Site, site};
use super::dashboard_transactions::{ms, pay, plan, shop, staff};
use super::tenant_api::{Api, api};

fn mac(last: u8) -> MacAddress {
    MacAddress([0x02, 0, 0, 0, 0, last])
}

fn batch(plan: jasiyo_cloud::model::PlanId, router: RouterId, count: u32, price: Option<u32>) -> VoucherBatchInput {
    VoucherBatchInput { plan_id: plan, count, code_length: 8, prefix: None, price_kes: price, valid_until: None, routers: vec![router] }
}

async fn sales_are_listed_paged_and_totalled_apart(site: Site) {
    let mut shop = shop(&site, "Cash Sales").await;
    let store = site.store.as_ref();
    let tenant = shop.tenant.id;
    let back = store.create_router(tenant, "back room", "hash-back", 0).await.unwrap();
    let daily = plan(store, &shop.tenant, "Daily", 50).await;
    let (_, priced) = create_batch(store, tenant, batch(shop.plan.id, shop.router.id, 4, Some(30))).await.unwrap();
    let (_, free) = create_batch(store, tenant, batch(daily.id, back.id, 2, None)).await.unwrap();
    // Nairobi is UTC+3.
    store.redeem_voucher(shop.router.id, &priced[0], mac(1), ms("2026-11-10T09:00:00Z")).await.unwrap();
    store.redeem_voucher(shop.router.id, &priced[1], mac(2), ms("2026-11-10T10:00:00Z")).await.unwrap();
    store.redeem_voucher(back.id, &free[0], mac(3), ms("2026-11-11T08:00:00Z")).await.unwrap();
    pay(store, &shop.router, &shop.plan, ms("2026-11-10T09:30:00Z"), "254712345678", Some("SJK3X9Y2ZQ")).await;

    // The store: newest first, unsold codes absent, totals at the batch's price.
    let all = store.voucher_sales(tenant, &SaleFilter::default(), None, 10).await.unwrap();
    let codes: Vec<&str> = all.iter().map(|s| s.code.as_str()).collect();
    assert_eq!(codes, [free[0].as_str(), priced[1].as_str(), priced[0].as_str()]);
    assert_eq!((all[1].router_name.as_deref(), all[1].device_mac, all[1].price_kes), (Some("shop"), Some(mac(2)), Some(30)));
    assert_eq!((all[0].plan_name.as_str(), all[0].price_kes), ("Daily", None));
    assert_eq!(store.voucher_sale_totals(tenant, &SaleFilter::default()).await.unwrap(), SaleTotals { count: 3, kes: 60 });
    let on_shop = SaleFilter { router: Some(shop.router.id), ..SaleFilter::default() };
    assert_eq!(store.voucher_sale_totals(tenant, &on_shop).await.unwrap(), SaleTotals { count: 2, kes: 60 });
    let day = SaleFilter { from_ms: Some(ms("2026-11-10T09:30:00Z")), to_ms: Some(ms("2026-11-11T00:00:00Z")), ..SaleFilter::default() };
    assert_eq!(store.voucher_sale_totals(tenant, &day).await.unwrap(), SaleTotals { count: 1, kes: 30 });
    let after = SaleCursor { sold_at: all[1].sold_at, code: all[1].code.as_str().to_string() };
    let older = store.voucher_sales(tenant, &SaleFilter::default(), Some(&after), 10).await.unwrap();
    assert_eq!(older.iter().map(|s| s.code.as_str()).collect::<Vec<_>>(), [priced[0].as_str()]);
    // M-Pesa totals do not count them.
    let mpesa = store.payment_totals(tenant, &Default::default()).await.unwrap();
    assert_eq!((mpesa.count, mpesa.paid_kes), (1, 20));

    // The dashboard's M-Pesa tab: its totals, and the cash card apart.
    let page = shop.owner.get("/dashboard/transactions").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains(r#"id="t-kes""#) && page.body.contains("KES 20"), "{}", page.body);
    assert!(page.body.contains(r#"id="t-cash""#) && page.body.contains("KES 60") && page.body.contains("3 sold"), "{}", page.body);
    assert!(!page.body.contains(priced[0].as_str()), "no codes on the M-Pesa tab");
    // The cash tab: each sale with its kind, router, device and price.
    let cash = shop.owner.get("/dashboard/transactions?kind=voucher").await;
    assert_eq!(cash.status, StatusCode::OK);
    for code in [&priced[0], &priced[1], &free[0]] {
        assert_eq!(cash.body.matches(code.as_str()).count(), 1, "{}", cash.body);
    }
    assert!(!cash.body.contains(priced[2].as_str()), "unsold codes are not sales");
    assert!(
        cash.body.contains("Cash (voucher)") && cash.body.contains("02:00:00:00:00:02") && cash.body.contains("2026-11-10 13:00:00 EAT")
    );
    assert!(cash.body.contains(r#"id="t-kes"><div class="l">Cash total</div><div class="n">KES 60<"#), "{}", cash.body);
    assert!(!cash.body.contains("SJK3X9Y2ZQ"), "no M-Pesa payments on the cash tab");
    let filtered = shop.owner.get(&format!("/dashboard/transactions?kind=voucher&router={}", back.id)).await;
    assert!(filtered.body.contains(free[0].as_str()) && !filtered.body.contains(priced[0].as_str()));
    let searched = shop.owner.get(&format!("/dashboard/transactions?kind=voucher&q={}", priced[1].grouped().to_lowercase())).await;
    assert!(searched.body.contains(priced[1].as_str()) && !searched.body.contains(priced[0].as_str()), "{}", searched.body);
    assert_eq!(shop.owner.get("/dashboard/transactions?kind=cheque").await.status, StatusCode::BAD_REQUEST);
    // Its CSV: one line per sale, kind voucher.
    let csv = shop.owner.get("/dashboard/transactions.csv?kind=voucher").await;
    assert_eq!(csv.headers["content-type"], "text/csv; charset=utf-8");
    let lines: Vec<&str> = csv.body.lines().collect();
    assert_eq!(lines.len(), 4, "{}", csv.body);
    assert!(
        lines[0].starts_with("time,kind,")
            && lines[2].contains(",voucher,shop,1h,")
            && lines[2].ends_with(&format!(",30,{}", all[1].batch_id))
    );
    // The overview shows this month's cash apart (the sales above are in the past: none today).
    let overview = shop.owner.get("/dashboard").await;
    assert!(overview.body.contains(r#"id="cash""#), "{}", overview.body);

    // Staff see the codes masked; another business sees no sales.
    let mut staff = staff(&site, &shop.tenant, "owner@cash-sales.example").await;
    let masked = staff.get("/dashboard/transactions?kind=voucher").await.body;
    assert!(!masked.contains(priced[0].as_str()) && masked.contains(&priced[0].as_str()[4..]), "{masked}");
    let mut other = super::dashboard_transactions::shop(&site, "Other Cash").await;
    let theirs = other.owner.get("/dashboard/transactions?kind=voucher").await.body;
    assert!(theirs.contains("No voucher sales match.") && !theirs.contains(priced[0].as_str()));
}

async fn the_api_lists_voucher_sales_as_their_own_kind(api: Api) {
    let a = api.store.create_tenant("A", now_ms()).await.unwrap();
    let b = api.store.create_tenant("B", now_ms()).await.unwrap();
    let router = api.store.create_router(a.id, "shop", "hash", now_ms()).await.unwrap();
    let plan = plan(api.store.as_ref(), &a, "1h", 20).await;
    let (_, codes) = create_batch(api.store.as_ref(), a.id, batch(plan.id, router.id, 3, Some(40))).await.unwrap();
    for (i, code) in codes.iter().enumerate() {
        api.store.redeem_voucher(router.id, code, mac(i as u8), now_ms() - 1000 * i as i64).await.unwrap();
    }
    let (token_a, token_b) = (api.token(OperatorScope::Tenant(a.id)).await, api.token(OperatorScope::Tenant(b.id)).await);
    let (status, body) = api.call("GET", "/api/v1/payments?kind=voucher&limit=2", &token_a, "").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["totals"]["count"], 3);
    assert_eq!(body["totals"]["kes"], 120);
    assert_eq!(body["sales"][0]["kind"], "voucher");
    assert_eq!(body["sales"][0]["code"], codes[0].as_str());
    assert_eq!(body["sales"][0]["price_kes"], 40);
    assert_eq!(body["sales"][0]["router_name"], "shop");
    assert!(body["sales"][0]["sold_at_rfc3339"].as_str().unwrap().ends_with("+03:00"), "{body}");
    let next = body["next"].as_str().expect("a next page").to_string();
    let (_, rest) = api.call("GET", &format!("/api/v1/payments?kind=voucher&before={next}"), &token_a, "").await;
    assert_eq!(rest["sales"].as_array().unwrap().len(), 1);
    assert_eq!(rest["sales"][0]["code"], codes[2].as_str());
    // The payments listing keeps M-Pesa's totals and names the cash apart.
    let (_, payments) = api.call("GET", "/api/v1/payments", &token_a, "").await;
    assert_eq!((payments["totals"]["paid_kes"].as_i64(), payments["voucher_totals"]["kes"].as_i64()), (Some(0), Some(120)));
    let (_, theirs) = api.call("GET", "/api/v1/payments?kind=voucher", &token_b, "").await;
    assert_eq!(theirs["totals"]["count"], 0);
    assert_eq!(api.call("GET", "/api/v1/payments?kind=cheque", &token_a, "").await.0, StatusCode::BAD_REQUEST);
}

mod dashboard {
    use super::*;
    jasiyo_cloud::on_each_backend!(site; sales_are_listed_paged_and_totalled_apart);
}

mod tenant_api {
    use super::*;
    jasiyo_cloud::on_each_backend!(api; the_api_lists_voucher_sales_as_their_own_kind);
}
