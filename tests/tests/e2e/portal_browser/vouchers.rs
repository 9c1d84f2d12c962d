//! "Have a voucher?" in the customer's browser: a wrong code gets its message in place; the
//! right one, typed as printed, posts the hotspot login (the code as user and password) to
//! the router's login endpoint like a paid plan, and the customer lands on the page wanted.
//! A printed card's QR code (the portal with `?voucher=`) opens the voucher form with the
//! code filled in: scanned by a camera (no hotspot variables) the page asks the customer to
//! join the WiFi first and keeps the code, which the router's login page then brings back.

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cards_qr_code_opens_the_voucher_form_filled_in() {
    let Some(p) = portal("voucher-qr", 360, |_| {}).await else { return };
    let store = p.cloud.store().clone();
    let input = VoucherBatchInput {
        plan_id: p.plans["1 hour"].parse().unwrap(),
        count: 1,
        code_length: 8,
        prefix: None,
        price_kes: None,
        valid_until: None,
        routers: vec![p.creds.id],
    };
    let (_, codes) = create_batch(store.as_ref(), p.tenant, input).await.unwrap();
    let code = &codes[0];

    // Scanned with the phone's camera: the portal without the router's variables.
    p.browser.goto(&format!("{}/portal/{}?voucher={}", p.cloud.http_url(), p.creds.id, code.as_str())).await;
    p.until(
        "document.body.getAttribute('data-state') === 'voucher' && document.body.getAttribute('data-reason') === 'voucher_join'",
        "join the WiFi first",
    )
    .await;
    assert_eq!(p.browser.eval("return document.getElementById('vcode').value;", serde_json::json!([])).await, code.grouped());
    assert!(p.browser.text("#verr").await.contains(&code.grouped()), "the message repeats the code");
    p.shot("voucher-qr-camera").await;
    p.browser.click("#vgo").await;
    p.until("document.body.getAttribute('data-reason') === 'voucher_join'", "still: join the WiFi first").await;

    // Joined the WiFi and opened a page: the router's login page sends the device to the
    // portal with its variables, and the kept code is filled in again, ready to connect.
    p.browser.goto(&p.url(&DEVICE)).await;
    p.until_state("voucher").await;
    assert_eq!(p.browser.eval("return document.getElementById('vcode').value;", serde_json::json!([])).await, code.grouped());
    p.browser.click("#vgo").await;
    let posted = p.until_at_orig().await;
    assert_eq!(posted.fields["username"], code.as_str());
    p.stop().await;
}
