//! Reconciliation's store side on both databases: due checks are claimed under a lease, so
//! instances sharing a database never ask about one payment at the same time, and a claim
//! whose checker died comes back when its lease runs out; a callback's reference is adopted
//! only by a payment that has none; a late receipt fills only a paid payment's empty one;
//! a cloud starting up asks about recent open payments at once. Prompt slots: claimed all
//! or none, and a device's released only by the payment holding it.

use std::collections::HashSet;
use std::sync::Arc;

use jasiyo_cloud::model::{PaymentId, PaymentState};
use jasiyo_cloud::store::testing::{Backend, fresh_database_url, open_payment, paid_payment};
use jasiyo_cloud::store::{Store, connect};
use tempfile::TempDir;

/// Two stores on one fresh database (two instances' pools), and a router with `n` open
/// payments whose first check is due at 25 s after 1 000.
struct Fixture {
    stores: [Arc<dyn Store>; 2],
    payments: Vec<PaymentId>,
    _dir: TempDir,
}

async fn fixture(backend: Backend) -> Option<Fixture> {
    let dir = TempDir::new().unwrap();
    let url = fresh_database_url(backend, dir.path()).await?;
    let one = connect(Some(&url), dir.path()).await.unwrap();
    let two = connect(Some(&url), dir.path()).await.unwrap();
    let tenant = one.create_tenant("t", 1).await.unwrap();
    let router = one.create_router(tenant.id, "r", "hash", 1).await.unwrap().id;
    let mut payments = Vec::new();
    for n in 0..40 {
        payments.push(open_payment(one.as_ref(), router, 1_000, &format!("p{n}")).await);
    }
    Some(Fixture { stores: [one, two], payments, _dir: dir })
}

const DUE: i64 = 1_000 + 25_000;

async fn instances_never_claim_one_payment_twice(f: Fixture) {
    let [one, two] = &f.stores;
    let (a, b) = tokio::join!(one.claim_due_payments(DUE, DUE + 60_000, 30), two.claim_due_payments(DUE, DUE + 60_000, 30));
    let (a, b) = (a.unwrap(), b.unwrap());
    let a: HashSet<PaymentId> = a.iter().map(|p| p.id).collect();
    let b: HashSet<PaymentId> = b.iter().map(|p| p.id).collect();
    assert!(a.is_disjoint(&b), "claimed by both: {:?}", a.intersection(&b).collect::<Vec<_>>());
    // PostgreSQL: the instance that waited on the other's rows skipped them; the rest are
    // claimed at the next pass, and nothing is claimed twice.
    let rest: HashSet<PaymentId> = one.claim_due_payments(DUE + 1, DUE + 60_000, 100).await.unwrap().iter().map(|p| p.id).collect();
    assert!(rest.is_disjoint(&a) && rest.is_disjoint(&b));
    assert_eq!(a.len() + b.len() + rest.len(), f.payments.len(), "every due payment claimed once");
    assert!(one.claim_due_payments(DUE + 1, DUE + 60_000, 100).await.unwrap().is_empty(), "leased");
    // A checker that died: its claims come back when the lease runs out.
    let back = two.claim_due_payments(DUE + 60_000, DUE + 120_000, 100).await.unwrap();
    assert_eq!(back.len(), f.payments.len());
    // Not yet due: not claimed.
    assert!(one.claim_due_payments(DUE - 1, DUE + 60_000, 100).await.unwrap().is_empty());
}

async fn a_reference_is_adopted_once(f: Fixture) {
    let store = &f.stores[0];
    let id = f.payments[0];
    assert!(store.adopt_reference(id, Some("ws_CO_1"), None, 2_000).await.unwrap());
    assert!(!store.adopt_reference(id, Some("ws_CO_2"), None, 3_000).await.unwrap(), "it has one now");
    let payment = store.payment(id).await.unwrap().unwrap();
    assert_eq!((payment.state, payment.provider_ref.as_deref()), (PaymentState::Pending, Some("ws_CO_1")));
    let kinds: Vec<String> = store.payment_events(id).await.unwrap().into_iter().map(|e| e.kind).collect();
    assert_eq!(kinds, ["initiated", "prompt_sent", "reference_adopted"]);
    // PayHero's callbacks carry the secondary reference.
    assert!(store.adopt_reference(f.payments[1], None, Some("ws_CO_3"), 2_000).await.unwrap());
    let payment = store.payment(f.payments[1]).await.unwrap().unwrap();
    assert_eq!((payment.provider_ref.as_deref(), payment.secondary_ref.as_deref()), (None, Some("ws_CO_3")));
}

async fn a_late_receipt_fills_only_an_empty_one(f: Fixture) {
    let store = &f.stores[0];
    assert!(!store.record_late_receipt(f.payments[0], "SJK0000001", 2_000).await.unwrap(), "not paid");
    let router = store.payment(f.payments[0]).await.unwrap().unwrap().router_id;
    let paid = paid_payment(store.as_ref(), router, 3_000, 9_999).await;
    assert!(!store.record_late_receipt(paid, "SJK0000002", 4_000).await.unwrap(), "it has one");
    assert_eq!(store.payment(paid).await.unwrap().unwrap().receipt.as_deref(), Some("SJK3X9Y2ZQ"));
}

/// A prompt's slots (phone, device) are claimed all or none: a device busy with another
/// prompt leaves the new phone free, not held by a payment that is never created.
async fn prompt_slots_are_claimed_all_or_none(f: Fixture) {
    let store = &f.stores[0];
    let router = store.payment(f.payments[0]).await.unwrap().unwrap().router_id;
    let (a, b, c) = (PaymentId::random(), PaymentId::random(), PaymentId::random());
    let slots = |phone: &str| vec![format!("phone:{phone}"), "mac:02:00:00:00:00:01".to_string()];
    assert!(store.claim_prompt(router, &slots("254700000001"), a, 2_000, 300_000).await.unwrap());
    assert!(!store.claim_prompt(router, &slots("254700000002"), b, 2_001, 300_000).await.unwrap(), "the device is busy");
    let phone_only = vec!["phone:254700000002".to_string()];
    assert!(store.claim_prompt(router, &phone_only, c, 2_002, 300_000).await.unwrap(), "the phone was left free");
}

/// A cloud starting up asks at once about the open payments of the last few minutes (their
/// callbacks may have come while it was down); paid ones and older ones keep their schedule.
async fn checks_of_recent_open_payments_are_brought_forward(f: Fixture) {
    let store = &f.stores[0];
    let router = store.payment(f.payments[0]).await.unwrap().unwrap().router_id;
    let paid = paid_payment(store.as_ref(), router, 2_000, 2_500).await;
    let old = open_payment(store.as_ref(), router, 500, "old").await;
    let hastened = store.hasten_checks(1_000, 3_000).await.unwrap();
    assert_eq!(hastened, f.payments.len() as u64, "the recent open ones");
    let due: HashSet<PaymentId> = store.claim_due_payments(3_000, 90_000, 100).await.unwrap().iter().map(|p| p.id).collect();
    assert_eq!(due, f.payments.iter().copied().collect::<HashSet<_>>());
    assert!(!due.contains(&paid) && !due.contains(&old));
}

/// "Start again" lets go of the device's slot, and only while its own payment holds it; the
/// phone's slot stays held.
async fn a_device_slot_is_released_only_by_its_holder(f: Fixture) {
    let store = &f.stores[0];
    let router = store.payment(f.payments[0]).await.unwrap().unwrap().router_id;
    let (a, b, c) = (PaymentId::random(), PaymentId::random(), PaymentId::random());
    let mac = "mac:02:00:00:00:00:02";
    let slots = |phone: &str| vec![format!("phone:{phone}"), mac.to_string()];
    assert!(store.claim_prompt(router, &slots("254700000011"), a, 2_000, 300_000).await.unwrap());
    assert!(!store.release_device_claim(router, mac, b).await.unwrap(), "not b's to release");
    assert!(!store.claim_prompt(router, &slots("254700000012"), b, 2_001, 300_000).await.unwrap(), "still held by a");
    assert!(!store.release_device_claim(router, "phone:254700000011", b).await.unwrap());
    assert!(store.release_device_claim(router, mac, a).await.unwrap());
    assert!(!store.release_device_claim(router, mac, a).await.unwrap(), "once");
    assert!(store.claim_prompt(router, &slots("254700000012"), b, 2_002, 300_000).await.unwrap(), "the device is free");
    assert!(!store.claim_prompt(router, &slots("254700000011"), c, 2_003, 300_000).await.unwrap(), "a's phone is not");
}

jasiyo_cloud::on_each_backend!(
    fixture;
    checks_of_recent_open_payments_are_brought_forward,
    prompt_slots_are_claimed_all_or_none,
    a_device_slot_is_released_only_by_its_holder,
    instances_never_claim_one_payment_twice,
    a_reference_is_adopted_once,
    a_late_receipt_fills_only_an_empty_one,
);
