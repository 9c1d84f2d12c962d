//! Property test of the payment state machine, on both databases: whatever sequence of
//! callbacks, status-query answers, timeouts, repeats and concurrent successes a payment
//! hears, through the same entry they all take (`Payments::apply`), once it is paid it stays
//! paid with the same user, it is provisioned exactly once (one entitlement, one command
//! creating the user), and an unpaid payment has neither.

use std::sync::Arc;

use jasiyo_cloud::hub::{Hub, HubConfig};
use jasiyo_cloud::model::{PaymentId, PaymentState};
use jasiyo_cloud::payments::sealer::Sealer;
use jasiyo_cloud::payments::{Payments, PaymentsConfig};
use jasiyo_cloud::providers::{FailureReason, PaymentStatus, ProviderEvent};
use jasiyo_cloud::store::now_ms;
use jasiyo_cloud::store::testing::open_payment;
use jasiyo_shared::{Command, RouterId};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use tokio_util::sync::CancellationToken;

use crate::raw_agent::World;

/// What the provider says.
#[derive(Clone, Debug)]
enum Word {
    /// Paid, for this amount (20 is the price), with this receipt and phone.
    Paid { amount: Option<u32>, receipt: Option<&'static str>, phone: Option<&'static str> },
    /// A final failure.
    Failed(FailureReason),
    /// Still waiting.
    Pending,
}

/// One thing the payment hears.
#[derive(Clone, Debug)]
enum Heard {
    /// One word from a callback, a status query or the reconciler's cut-off.
    Once { word: Word, source: &'static str },
    /// The same success several times at once (duplicate callbacks racing a query).
    Together(u8),
}

fn word() -> impl Strategy<Value = Word> {
    let paid = (
        prop::option::of(prop_oneof![4 => Just(20u32), 1 => Just(10u32)]),
        prop::option::of(prop_oneof![Just("SJK3X9Y2ZQ"), Just("TAB1C2D3E4")]),
        prop::option::of(prop_oneof![4 => Just("254712345678"), 1 => Just("254799999999")]),
    )
        .prop_map(|(amount, receipt, phone)| Word::Paid { amount, receipt, phone });
    let reason = prop_oneof![
        Just(FailureReason::Cancelled),
        Just(FailureReason::Timeout),
        Just(FailureReason::WrongPin),
        Just(FailureReason::InsufficientFunds),
        Just(FailureReason::Other("declined".into())),
    ];
    prop_oneof![3 => paid, 3 => reason.prop_map(Word::Failed), 1 => Just(Word::Pending)]
}

fn heard() -> impl Strategy<Value = Heard> {
    prop_oneof![
        6 => (word(), prop_oneof![Just("callback"), Just("query"), Just("reconcile")]).prop_map(|(word, source)| Heard::Once { word, source }),
        1 => (2..5u8).prop_map(Heard::Together),
    ]
}

fn event(payment: PaymentId, word: &Word) -> ProviderEvent {
    let (status, amount_kes, receipt, msisdn) = match word {
        Word::Paid { amount, receipt, phone } => (PaymentStatus::Paid, *amount, receipt.map(str::to_owned), phone.map(str::to_owned)),
        Word::Failed(reason) => (PaymentStatus::Failed(reason.clone()), None, None, None),
        Word::Pending => (PaymentStatus::Pending, None, None, None),
    };
    ProviderEvent {
        provider_ref: format!("ws_CO_{payment}"),
        status,
        amount_kes,
        receipt,
        code: "test".into(),
        description: format!("{word:?}"),
        msisdn,
        our_ref: None,
    }
}

/// Whether the provider's word is a success this payment must honour (its amount and phone).
fn honoured(word: &Word) -> bool {
    matches!(word, Word::Paid { amount, phone, .. } if amount.is_none_or(|a| a == 20) && phone.is_none_or(|p| p == "254712345678"))
}

async fn one_case(world: &World, payments: &Arc<Payments>, router: RouterId, case: u32, story: &[Heard]) {
    let store = &world.store;
    let id = open_payment(store.as_ref(), router, now_ms(), &format!("case{case}")).await;
    store.mark_prompt_sent(id, &format!("ws_CO_{id}"), None, now_ms() + 25_000, now_ms()).await.unwrap();
    let commands_before = store.list_commands(router, 10_000).await.unwrap().len();
    let mut user: Option<String> = None;
    for heard in story {
        let should_pay = match heard {
            Heard::Once { word, source } => {
                let payment = store.payment(id).await.unwrap().unwrap();
                let applied = payments.apply(&payment, event(id, word), source).await;
                assert_eq!(applied.is_ok(), !matches!(word, Word::Paid { .. }) || honoured(word), "{word:?}: {applied:?}");
                honoured(word)
            }
            Heard::Together(n) => {
                let success = Word::Paid { amount: Some(20), receipt: Some("SJK3X9Y2ZQ"), phone: None };
                let all = (0..*n).map(|_| async {
                    let payment = store.payment(id).await.unwrap().unwrap();
                    payments.apply(&payment, event(id, &success), "callback").await
                });
                for applied in futures_util::future::join_all(all).await {
                    applied.unwrap();
                }
                true
            }
        };
        let payment = store.payment(id).await.unwrap().unwrap();
        let entitlement = store.entitlement_for_payment(id).await.unwrap();
        let created: Vec<Command> = store
            .list_commands(router, 10_000)
            .await
            .unwrap()
            .into_iter()
            .map(|c| c.command)
            .filter(|c| matches!(c, Command::UpsertHotspotUser(u) if entitlement.as_ref().is_some_and(|e| e.username == u.name)))
            .collect();
        if user.is_some() || should_pay {
            assert_eq!(payment.state, PaymentState::Paid, "after {heard:?}");
            let entitlement = entitlement.expect("a paid payment has its user");
            if let Some(before) = &user {
                assert_eq!(&entitlement.username, before, "the user changed after {heard:?}");
            }
            user = Some(entitlement.username);
            assert_eq!(created.len(), 1, "provisioned {} times", created.len());
        } else {
            assert_ne!(payment.state, PaymentState::Paid, "after {heard:?}");
            assert!(entitlement.is_none(), "an unpaid payment has a user");
        }
    }
    let commands_after = store.list_commands(router, 10_000).await.unwrap().len();
    assert_eq!(commands_after - commands_before, usize::from(user.is_some()), "one command for a paid payment, none otherwise");
}

async fn paid_stays_paid_and_is_provisioned_once(world: World) {
    let shutdown = CancellationToken::new();
    let hub = Hub::start(world.store.clone(), HubConfig::default(), shutdown.clone());
    let payments = Payments::new(world.store.clone(), hub, Sealer::new([7; 32]), PaymentsConfig::new("http://127.0.0.1")).unwrap();
    let (router, _) = world.router("payments").await;
    let handle = tokio::runtime::Handle::current();
    // Each case (shrinking runs more) on its own router or payment.
    let case = std::sync::atomic::AtomicU32::new(0);
    let mut runner = TestRunner::new(Config { cases: 32, failure_persistence: None, ..Config::default() });
    let result = tokio::task::block_in_place(|| {
        runner.run(&proptest::collection::vec(heard(), 1..12), |story| {
            let case = case.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            handle.block_on(one_case(&world, &payments, router, case, &story));
            Ok(())
        })
    });
    shutdown.cancel();
    if let Err(failure) = result {
        panic!("{failure}");
    }
}

jasiyo_cloud::on_each_backend!(World::new; paid_stays_paid_and_is_provisioned_once);
