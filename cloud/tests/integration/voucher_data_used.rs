//! Per code, the data it used, on both databases: the usage the agent reports for a voucher
//! code's hotspot user is kept on the code (the router it logged in on only: a report from
//! a router the batch is not on, or from a second router, changes nothing) and shown on
//! the dashboard's batch page; the print sheet puts a QR code of the router's portal with
//! the code on each card when asked (`?qr=1`).

use axum::http::StatusCode;
use jasiyo_cloud::model::{NewPlan, VoucherBatchInput, VoucherState};
use jasiyo_cloud::store::now_ms;
use jasiyo_cloud::vouchers::create_batch;
use jasiyo_shared::UserUsage;

use super::dashboard_auth::{Browser, Site, site};

fn usage(name: &str, bytes_in: u64, bytes_out: u64) -> UserUsage {
    UserUsage { name: name.into(), bytes_in, bytes_out }
}

async fn each_code_shows_the_data_it_used(site: Site) {
    let mut owner = Browser::new(&site);
    owner.sign_up("Data Used", "owner@data.example").await;
    let store = &site.store;
    let tenant = store.find_tenant("Data Used").await.unwrap().unwrap();
    let gate = store.create_router(tenant.id, "gate", "hash-gate", now_ms()).await.unwrap();
    let back = store.create_router(tenant.id, "back", "hash-back", now_ms()).await.unwrap();
    let plan = NewPlan {
        name: "1 hour".into(),
        price_kes: 20,
        duration_secs: 3600,
        data_mb: None,
        rate_limit: None,
        profile: None,
        shared_users: None,
    };
    let plan = store.create_plan(tenant.id, &plan, now_ms()).await.unwrap();
    let input = VoucherBatchInput {
        plan_id: plan.id,
        count: 3,
        code_length: 8,
        prefix: None,
        price_kes: Some(20),
        valid_until: None,
        routers: vec![gate.id],
    };
    let (batch, codes) = create_batch(store.as_ref(), tenant.id, input).await.unwrap();
    let (used, other) = (codes[0].as_str(), codes[1].as_str());

    // A router the batch is not on reports traffic for a code: nothing changes.
    store.record_usage(back.id, &[usage(used, 1, 1)], now_ms()).await.unwrap();
    let lines = store.voucher_codes(tenant.id, batch.id, now_ms() / 1000).await.unwrap();
    assert!(lines.iter().all(|l| l.usage.is_none() && l.state == VoucherState::Unused));

    // Its own router reports the code's totals (it logged in there while the cloud was
    // away): in use, with its data; later totals replace earlier ones.
    store.record_usage(gate.id, &[usage(used, 1_000_000, 12_300_000)], now_ms()).await.unwrap();
    let reported = now_ms();
    store.record_usage(gate.id, &[usage(used, 1_100_000, 12_400_000), usage("NOT-A-CODE", 5, 5)], reported).await.unwrap();
    let lines = store.voucher_codes(tenant.id, batch.id, now_ms() / 1000).await.unwrap();
    let line = lines.iter().find(|l| l.code.as_str() == used).unwrap();
    assert_eq!(line.state, VoucherState::InUse);
    let data = line.usage.expect("the code's data is kept");
    assert_eq!((data.bytes_in, data.bytes_out, data.at), (1_100_000, 12_400_000, reported));
    assert!(lines.iter().filter(|l| l.code.as_str() != used).all(|l| l.usage.is_none()));

    // A code in use on the portal through `gate` is the gate's: a report from elsewhere is
    // not its data (the batch is loaded on `gate` only, so `back` was refused already).
    site.store.redeem_voucher(gate.id, &codes[1], "02:00:00:00:00:07".parse().unwrap(), now_ms()).await.unwrap();
    store.record_usage(gate.id, &[usage(other, 0, 0)], now_ms()).await.unwrap();
    let lines = store.voucher_codes(tenant.id, batch.id, now_ms() / 1000).await.unwrap();
    assert!(lines.iter().find(|l| l.code.as_str() == other).unwrap().usage.is_none(), "no traffic, no data used");

    // The batch page shows it, in words.
    let url = format!("/dashboard/vouchers/{}", batch.id);
    let page = owner.get(&url).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("<th>Data used</th>"), "{}", page.body);
    assert!(page.body.contains(r#"<td class="used">12.4 MB down, 1.1 MB up</td>"#), "{}", page.body);
    assert_eq!(page.body.matches(r#"<td class="used">-</td>"#).count(), 2);
    assert!(page.body.contains(&format!(r#"href="{url}/print?qr=1""#)));

    // The sheet with QR codes: one inline SVG per card, each card's code once in text.
    let sheet = owner.get(&format!("{url}/print?qr=1")).await;
    assert_eq!(sheet.status, StatusCode::OK);
    assert_eq!(sheet.body.matches("<svg").count(), 3);
    assert_eq!(sheet.body.matches(r#"class="v qr""#).count(), 3);
    for code in &codes {
        assert_eq!(sheet.body.matches(&code.grouped()).count(), 1);
    }
    assert_eq!(owner.get(&format!("{url}/print")).await.body.matches("<svg").count(), 0, "QR codes only when asked");
}

jasiyo_cloud::on_each_backend!(site; each_code_shows_the_data_it_used);
