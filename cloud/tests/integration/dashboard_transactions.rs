//! The dashboard's transactions pages on both databases: the list with each filter, the
//! search by phone as typed, keyset paging, totals, the CSV export (masked for staff,
//! safe in a spreadsheet), and one tenant never reaching another's payments. The detail
//! page and its actions are in `dashboard_transaction_actions.rs`.

use std::collections::HashSet;

use axum::http::{StatusCode, header};
use jasiyo_cloud::model::{Email, NewPayment, NewPlan, PaymentId, PaymentState, Plan, ProviderKind, Router, Tenant};
use jasiyo_cloud::store::Store;
use jasiyo_cloud::store::payments::Provision;
use jasiyo_shared::command::Password;
use jasiyo_shared::{Command, HotspotUser};

use super::dashboard_auth::{Browser, Site, site};

/// Unix ms of an RFC 3339 time.
pub fn ms(text: &str) -> i64 {
    text.parse::<jiff::Timestamp>().unwrap().as_millisecond()
}

/// A business signed up by its owner, with one router "shop" and one plan "1h" (KES 20).
pub struct Shop {
    pub owner: Browser,
    pub tenant: Tenant,
    pub router: Router,
    pub plan: Plan,
}

pub async fn shop(site: &Site, business: &str) -> Shop {
    let mut owner = Browser::new(site);
    let email = format!("owner@{}.example", business.to_lowercase().replace(' ', "-"));
    owner.sign_up(business, &email).await;
    let tenant = site.store.find_tenant(business).await.unwrap().unwrap();
    let router = site.store.create_router(tenant.id, "shop", &format!("hash-{business}"), 0).await.unwrap();
    let plan = plan(site.store.as_ref(), &tenant, "1h", 20).await;
    Shop { owner, tenant, router, plan }
}

pub async fn plan(store: &dyn Store, tenant: &Tenant, name: &str, price_kes: u32) -> Plan {
    let new =
        NewPlan { shared_users: None, name: name.into(), price_kes, duration_secs: 3600, data_mb: None, rate_limit: None, profile: None };
    store.create_plan(tenant.id, &new, 0).await.unwrap()
}

/// A staff member of `tenant`, invited by its owner and signed in.
pub async fn staff(site: &Site, tenant: &Tenant, owner_email: &str) -> Browser {
    let owner = site.store.credentials(&Email::parse(owner_email).unwrap()).await.unwrap().unwrap().account;
    let email = format!("staff-{}@example.com", tenant.id);
    let link = site.accounts.invite_staff(tenant, &owner, &email, "Otieno").await.unwrap();
    let mut staff = Browser::new(site);
    assert_eq!(staff.post(&link[link.find("/dashboard/").unwrap()..], &[("password", "helper-pass")]).await.location(), "/dashboard");
    staff
}

/// A payment on `router` for `plan` from `phone` started `at`; paid with `receipt` when
/// one is given (its hotspot user created by an outbox command, expiring in a day).
pub async fn pay(store: &dyn Store, router: &Router, plan: &Plan, at: i64, phone: &str, receipt: Option<&str>) -> PaymentId {
    let id = PaymentId::random();
    let new = NewPayment {
        id,
        tenant_id: router.tenant_id,
        router_id: router.id,
        plan_id: plan.id,
        provider: ProviderKind::Daraja,
        amount_kes: plan.price_kes,
        msisdn: phone.into(),
        device_mac: None,
        device_ip: None,
        client_ip: None,
        idempotency_key: id.to_string(),
        callback_token_hash: format!("hash-{id}"),
        first_check_at: at + 25_000,
    };
    store.create_payment(&new, at).await.unwrap();
    if let Some(receipt) = receipt {
        let name: String = id.to_string().chars().filter(|c| c.is_ascii_alphanumeric()).take(10).collect();
        let user = HotspotUser {
            name: name.clone(),
            password: Password("482913".into()),
            profile: None,
            mac: None,
            expires_at: None,
            limit_uptime_secs: None,
            limit_bytes_total: None,
            comment: None,
        };
        let expires_at = jasiyo_cloud::store::now_ms() / 1000 + 86_400;
        let provision =
            Provision { username: name, password: "482913".into(), expires_at, upsert: Command::UpsertHotspotUser(user), login: None };
        store.mark_paid(id, Some(receipt), &provision, None, at + 9_000).await.unwrap();
    }
    id
}

/// The payment ids a list page links to, in order.
pub fn ids(body: &str) -> Vec<String> {
    body.split("href=\"/dashboard/transactions/").skip(1).map(|rest| rest[..36].to_string()).filter(|id| !id.contains('.')).collect()
}

/// The number on a totals card.
fn total(body: &str, id: &str) -> String {
    let at = body.find(&format!("id=\"{id}\"")).unwrap_or_else(|| panic!("no {id} in {body}"));
    let rest = &body[at..];
    let n = rest.find("class=\"n\">").unwrap() + 10;
    rest[n..n + rest[n..].find('<').unwrap()].to_string()
}

async fn listing_filters_and_search(site: Site) {
    let mut shop = shop(&site, "Filters").await;
    let store = site.store.as_ref();
    let other_router = store.create_router(shop.tenant.id, "back room", "hash-2", 0).await.unwrap();
    let daily = plan(store, &shop.tenant, "Daily", 50).await;
    // Nairobi is UTC+3: 09:00Z is noon there.
    let paid = pay(store, &shop.router, &shop.plan, ms("2026-11-10T09:00:00Z"), "254712345678", Some("SJK3X9Y2ZQ")).await;
    let failed = pay(store, &other_router, &daily, ms("2026-11-10T10:00:00Z"), "254799000111", None).await;
    store.mark_failed(failed, PaymentState::Failed, "wrong_pin", None, ms("2026-11-10T10:01:00Z")).await.unwrap();
    let open = pay(store, &shop.router, &daily, ms("2026-11-07T22:30:00Z"), "254711222333", None).await;
    let [paid, failed, open] = [paid, failed, open].map(|id| id.to_string());

    let all = shop.owner.get("/dashboard/transactions").await;
    assert_eq!(all.status, StatusCode::OK);
    assert_eq!(ids(&all.body), [failed.clone(), paid.clone(), open.clone()], "newest first");
    assert!(all.body.contains("254712345678") && all.body.contains("SJK3X9Y2ZQ") && all.body.contains("wrong_pin"));
    assert!(all.body.contains("2026-11-10 12:00:00 EAT"), "times in the tenant's zone: {}", all.body);
    assert_eq!(
        (total(&all.body, "t-count"), total(&all.body, "t-paid"), total(&all.body, "t-kes")),
        ("3".into(), "1".into(), "KES 20".into())
    );

    let cases: [(String, Vec<&String>); 10] = [
        ("state=paid".into(), vec![&paid]),
        ("state=failed".into(), vec![&failed]),
        (format!("router={}", other_router.id), vec![&failed]),
        (format!("router={}", shop.router.id), vec![&paid, &open]),
        (format!("plan={}", daily.id), vec![&failed, &open]),
        // 22:30Z on the 7th is 01:30 on the 8th in Nairobi.
        ("from=2026-11-08&to=2026-11-08".into(), vec![&open]),
        ("from=2026-11-09".into(), vec![&failed, &paid]),
        ("q=0712+345+678".into(), vec![&paid]),
        ("q=sjk3x9y2zq".into(), vec![&paid]),
        (format!("state=&router=&plan={}&q=%2B254711222333", daily.id), vec![&open]),
    ];
    for (query, expected) in cases {
        let page = shop.owner.get(&format!("/dashboard/transactions?{query}")).await;
        assert_eq!(page.status, StatusCode::OK, "{query}: {}", page.body);
        assert_eq!(ids(&page.body).iter().collect::<Vec<_>>(), expected, "{query}");
        assert_eq!(total(&page.body, "t-count"), expected.len().to_string(), "{query}");
    }
    let by_plan = shop.owner.get(&format!("/dashboard/transactions?plan={}", daily.id)).await;
    assert_eq!((total(&by_plan.body, "t-paid"), total(&by_plan.body, "t-kes")), ("0".into(), "KES 0".into()));

    let other = self::shop(&site, "Elsewhere").await;
    for (query, says) in [
        ("state=bogus", "State"),
        ("from=10/11/2026", "From"),
        ("to=2026-13-01", "To"),
        ("from=2026-11-10&to=2026-11-01", "From is after To"),
        ("router=nope", "Router"),
        (&format!("router={}", other.router.id), "not one of your routers"),
        (&format!("plan={}", other.plan.id), "not one of your plans"),
        ("q=%3Cscript%3E", "Search"),
        ("before=12_nope", "page link"),
        ("before=garbage", "page link"),
    ] {
        let page = shop.owner.get(&format!("/dashboard/transactions?{query}")).await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST, "{query}");
        assert!(page.body.contains(says) && ids(&page.body).is_empty(), "{query}: {}", page.body);
        assert!(!page.body.contains("<script>"), "the search is escaped");
        if !query.starts_with("before") {
            // The export has no pages: it ignores a cursor.
            let csv = shop.owner.get(&format!("/dashboard/transactions.csv?{query}")).await;
            assert_eq!(csv.status, StatusCode::BAD_REQUEST, "{query}");
        }
    }
}

async fn pages_follow_the_cursor(site: Site) {
    let mut shop = shop(&site, "Paging").await;
    let base = ms("2026-11-01T00:00:00Z");
    let mut made = HashSet::new();
    for i in 0..123 {
        // Three payments share each millisecond: the id breaks the ties.
        made.insert(pay(site.store.as_ref(), &shop.router, &shop.plan, base + i / 3, "254712345678", None).await.to_string());
    }
    let mut seen = Vec::new();
    let mut sizes = Vec::new();
    let mut next = Some("/dashboard/transactions".to_string());
    while let Some(uri) = next {
        let page = shop.owner.get(&uri).await;
        assert_eq!(page.status, StatusCode::OK, "{uri}");
        assert_eq!(total(&page.body, "t-count"), "123", "the totals are of the whole set, on every page");
        let found = ids(&page.body);
        sizes.push(found.len());
        seen.extend(found);
        next = page.body.split("id=\"older\" href=\"").nth(1).map(|rest| rest[..rest.find('"').unwrap()].replace("&amp;", "&"));
    }
    assert_eq!(sizes, [50, 50, 23]);
    assert_eq!(seen.len(), 123);
    assert_eq!(seen.iter().cloned().collect::<HashSet<_>>(), made, "no duplicates, no gaps");

    // Paging keeps the filters.
    let paid = pay(site.store.as_ref(), &shop.router, &shop.plan, base + 500, "254712345678", Some("QWE1RTY2UI")).await;
    let page = shop.owner.get("/dashboard/transactions?state=initiated&q=0712345678").await;
    let older = page.body.split("id=\"older\" href=\"").nth(1).unwrap();
    assert!(older.starts_with("/dashboard/transactions?state=initiated&amp;q=0712345678&amp;before="), "{older}");
    assert!(!ids(&page.body).contains(&paid.to_string()));
}

async fn csv_export_is_masked_for_staff(site: Site) {
    let mut shop = shop(&site, "Export").await;
    let store = site.store.as_ref();
    let tricky = store.create_router(shop.tenant.id, "=HYPERLINK(\"x\"),shop", "hash-t", 0).await.unwrap();
    let base = ms("2026-11-02T06:00:00Z");
    let mut made = Vec::new();
    for i in 0..1003 {
        let receipt = (i % 2 == 0).then(|| format!("RCP{i:07}"));
        made.push(pay(store, &shop.router, &shop.plan, base + i, "254712345678", receipt.as_deref()).await);
    }
    let odd = pay(store, &tricky, &shop.plan, base - 1, "254799888777", None).await;

    let csv = shop.owner.get("/dashboard/transactions.csv").await;
    assert_eq!(csv.status, StatusCode::OK);
    assert!(csv.headers[header::CONTENT_DISPOSITION].to_str().unwrap().starts_with("attachment"));
    assert!(csv.headers[header::CONTENT_TYPE].to_str().unwrap().starts_with("text/csv"));
    let lines: Vec<&str> = csv.body.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert_eq!(lines[0], "time,router,plan,phone,amount_kes,provider,receipt,state,reason,payment_id");
    assert_eq!(lines.len(), 1 + 1004, "every payment, across the export's batches");
    assert!(lines[1].ends_with(&made[1002].to_string()) && lines[1].contains(",254712345678,20,daraja,RCP0001002,paid,"), "{}", lines[1]);
    let ids: HashSet<&str> = lines[1..].iter().map(|l| &l[l.len() - 36..]).collect();
    assert_eq!(ids.len(), 1004);
    let last = lines.last().unwrap();
    assert!(last.contains("\"'=HYPERLINK(\"\"x\"\"),shop\"") && last.ends_with(&odd.to_string()), "neutralised and quoted: {last}");

    let paid_only = shop.owner.get("/dashboard/transactions.csv?state=paid").await;
    assert_eq!(paid_only.body.split("\r\n").filter(|l| !l.is_empty()).count(), 1 + 502);

    let mut helper = staff(&site, &shop.tenant, "owner@export.example").await;
    let masked = helper.get("/dashboard/transactions.csv").await;
    assert_eq!(masked.status, StatusCode::OK);
    assert!(!masked.body.contains("254712345678") && !masked.body.contains("254799888777"), "no full phone for staff");
    assert!(masked.body.contains(",•••••••••678,") && masked.body.contains(",•••••••••777,"));
    let page = helper.get("/dashboard/transactions").await;
    assert!(!page.body.contains("254712345678") && page.body.contains("•••••••••678"));
    assert_eq!(shop.owner.get("/dashboard/transactions").await.status, StatusCode::OK);
}

async fn tenants_never_see_each_others_transactions(site: Site) {
    let mut a = shop(&site, "Tenant A").await;
    let mut b = shop(&site, "Tenant B").await;
    let theirs = pay(site.store.as_ref(), &a.router, &a.plan, ms("2026-11-03T08:00:00Z"), "254712345678", Some("ABC1DEF2GH")).await;
    let ours = pay(site.store.as_ref(), &b.router, &b.plan, ms("2026-11-03T09:00:00Z"), "254700000001", None).await;

    assert_eq!(a.owner.get(&format!("/dashboard/transactions/{theirs}")).await.status, StatusCode::OK);
    for uri in [
        format!("/dashboard/transactions/{theirs}"),
        format!("/dashboard/transactions/{}", PaymentId::random()),
        "/dashboard/transactions/garbage".into(),
    ] {
        let page = b.owner.get(&uri).await;
        assert_eq!(page.status, StatusCode::NOT_FOUND, "{uri}");
        assert!(page.body.contains("No such payment") && !page.body.contains("ABC1DEF2GH"), "{uri}");
    }
    let list = b.owner.get("/dashboard/transactions").await;
    assert_eq!(ids(&list.body), [ours.to_string()]);
    let search = b.owner.get("/dashboard/transactions?q=ABC1DEF2GH").await;
    assert!(ids(&search.body).is_empty() && total(&search.body, "t-count") == "0");
    let csv = b.owner.get("/dashboard/transactions.csv").await;
    assert!(!csv.body.contains(&theirs.to_string()) && csv.body.contains(&ours.to_string()));
    let filtered = b.owner.get(&format!("/dashboard/transactions.csv?router={}", a.router.id)).await;
    assert_eq!(filtered.status, StatusCode::BAD_REQUEST);
    assert!(!filtered.body.contains(&theirs.to_string()));
    let page = b.owner.get(&format!("/dashboard/transactions?router={}", a.router.id)).await;
    assert!(ids(&page.body).is_empty());
}

jasiyo_cloud::on_each_backend!(site;
    listing_filters_and_search,
    pages_follow_the_cursor,
    csv_export_is_masked_for_staff,
    tenants_never_see_each_others_transactions,
);
