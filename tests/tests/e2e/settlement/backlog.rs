//! A backlog of open payments (a cloud back from a restart, callbacks lost meanwhile) is
//! asked about side by side, not one payment at a time: with a provider that takes its
//! time to answer, that is the difference between seconds and minutes for the customers.

use std::time::Duration;

use jasiyo_cloud::model::PaymentState;
use jasiyo_cloud::providers::ProviderKind;
use jasiyo_cloud::store::now_ms;
use jasiyo_tests::harness::{WAIT, World};
use jasiyo_tests::payment_emulator::{Delivery, Resolution};

use crate::payments::{shop_with, uuid};

const BACKLOG: usize = 40;

async fn a_backlog_is_asked_about_side_by_side(world: World) {
    let s = shop_with(world, ProviderKind::Daraja, |c| {
        c.first_check_after = Duration::from_secs(3600); // only the hastening below makes them due
        (c.limits.per_ip, c.limits.per_router, c.limits.per_tenant, c.limits.global) = (usize::MAX, usize::MAX, usize::MAX, usize::MAX);
    })
    .await;
    let mut keys = Vec::new();
    for n in 0..BACKLOG {
        let (phone, key) = (format!("07220007{n:02}"), uuid());
        let (status, body) = s.start_payment_from(&phone, &key, &format!("02:AB:00:00:00:{n:02X}")).await;
        assert_eq!(status, 201, "{body}");
        let prompt = s.pay.wait_for_prompt(&phone, WAIT).await.expect("prompt");
        s.pay.resolve(&prompt.provider_ref, Resolution::Approve, Delivery::Lost).await.unwrap();
        keys.push(key);
    }
    // Every answer now takes a while, as real Daraja's do; all the checks fall due at once.
    s.pay.set_latency(Duration::from_millis(400));
    assert_eq!(s.store().hasten_checks(0, now_ms()).await.unwrap(), BACKLOG as u64);
    let mut changes = s.cloud.payments.changes();
    let all_paid = async {
        loop {
            let mut paid = 0;
            for key in &keys {
                let payment = s.store().payment_by_idempotency(s.creds.id, key).await.unwrap().unwrap();
                paid += usize::from(payment.state == PaymentState::Paid);
            }
            if paid == BACKLOG {
                return;
            }
            changes.changed().await.unwrap();
        }
    };
    tokio::time::timeout(WAIT, all_paid).await.expect("every payment of the backlog settled");
    let peak = s.pay.peak_requests();
    assert!(peak >= 16, "at most {peak} status queries at once: the backlog was asked about one by one");
    s.stop().await;
}

jasiyo_cloud::on_each_backend!(World::new; a_backlog_is_asked_about_side_by_side);
