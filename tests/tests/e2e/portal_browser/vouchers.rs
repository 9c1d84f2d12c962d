//! "Have a voucher?" in the customer's browser: a wrong code gets its message in place; the
//! right one, typed as printed, posts the hotspot login (the code as user and password) to
//! the router's login endpoint like a paid plan, and the customer lands on the page wanted.

use std::time::Duration;

use jasiyo_cloud::model::VoucherBatchInput;
use jasiyo_cloud::vouchers::create_batch;

use super::harness::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_voucher_code_logs_the_phone_in() {
    let Some(p) = portal("voucher", 360, |_| {}).await else { return };
    let store = p.cloud.store().clone();
    let input = VoucherBatchInput {
        plan_id: p.plans["1 hour"].parse().unwrap(),
        count: 3,
        code_length: 8,
        prefix: None,
        price_kes: Some(20),
        valid_until: None,
        routers: vec![p.creds.id],
    };
    let (_, codes) = create_batch(store.as_ref(), p.tenant, input).await.unwrap();
    p.cloud.hub.wake(p.creds.id);
    assert!(p.router.wait_until(Duration::from_secs(30), |r| codes.iter().all(|c| r.user(c.as_str()).is_some())).await);

    p.open(&DEVICE).await;
    p.browser.click("#vlink").await;
    p.until_state("voucher").await;
    p.browser.type_into("#vcode", "ZZZZ-ZZZZ").await;
    p.browser.click("#vgo").await;
    p.until("document.body.getAttribute('data-reason') === 'voucher_unknown'", "the wrong code's message").await;
    assert_eq!(p.browser.text("#verr").await, "That voucher code is not valid on this WiFi. Check the code on your card.");
    p.shot("voucher-wrong").await;

    p.browser.type_into("#vcode", &codes[0].grouped().to_lowercase()).await;
    p.browser.click("#vgo").await;
    let posted = p.until_at_orig().await;
    assert_eq!(posted.method, "POST");
    assert_eq!(posted.fields["username"], codes[0].as_str());
    assert_eq!(posted.fields["password"], codes[0].as_str());
    p.stop().await;
}
