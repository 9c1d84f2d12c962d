//! The portal when M-Pesa is in trouble: busy, refusing, rate limits, an unanswered push.

use std::time::Duration;

use jasiyo_tests::payment_emulator::{Delivery, InjectedFailure, Resolution};
use serde_json::json;

use super::harness::*;

/// The provider busy, then failing, then too many tries: each its own message, no prompt
/// reaches the phone, and no dead end.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provider_trouble_and_rate_limits_are_explained() {
    let Some(p) = portal("provider", 360, |c| c.limits.per_phone = 2).await else { return };
    p.open(&DEVICE).await;
    p.pay.fail_next(InjectedFailure::DarajaLockSubscriber);
    p.choose_and_pay("1 hour", "0722000666").await;
    p.until_reason("provider_busy").await;
    assert_eq!(p.browser.text("#msg").await, "M-Pesa is busy right now. Please try again in a minute.");
    // Credentials refused (the push, then the fresh token Daraja's client asks for).
    p.pay.fail_next(InjectedFailure::Unauthorized);
    p.pay.fail_next(InjectedFailure::Unauthorized);
    p.browser.click("#retry").await;
    p.until_reason("provider_error").await;
    assert!(p.browser.text("#msg").await.contains("No money was taken"));
    p.shot("provider-error").await;
    p.browser.click("#retry").await;
    p.until_reason("rate_limited").await;
    assert!(p.browser.text("#msg").await.starts_with("Too many tries."));
    p.shot("rate-limited").await;
    assert!(p.pay.prompts().iter().all(|prompt| prompt.msisdn != "254722000666"), "no prompt reached the phone");
    p.browser.click("#back").await;
    p.until_state("choose").await;
    p.stop().await;
}

/// M-Pesa does not answer the push (its gateway timed out after passing it on): the page
/// does not say "failed" (a second push could charge twice) but "if your phone shows it,
/// approve it", and keeps following the payment; the customer approves and is online.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unconfirmed_prompt_is_followed_to_online() {
    let Some(p) = portal("unconfirmed", 360, |c| c.http.timeout = Duration::from_millis(500)).await else { return };
    p.open(&DEVICE).await;
    p.pay.fail_next(InjectedFailure::AnswerLost);
    p.choose_and_pay("1 hour", "0722000667").await;
    let prompt = p.prompt("0722000667").await;
    p.until("document.getElementById('waittitle').textContent.indexOf('did not confirm') >= 0", "the unconfirmed notice").await;
    assert_eq!(
        p.browser.text("#waittitle").await,
        "M-Pesa did not confirm the prompt. If your phone shows it, enter your PIN; do not pay again."
    );
    assert_eq!(p.browser.eval("return document.body.getAttribute('data-state');", json!([])).await, "wait");
    p.shot("unconfirmed").await;
    p.pay.resolve(&prompt.provider_ref, Resolution::Approve, Delivery::Normal).await.unwrap();
    p.until_at_orig().await;
    assert_eq!(p.pay.prompts().len(), 1, "never a second prompt");
    p.stop().await;
}
