//! Crash tests with real processes. The agent is killed with SIGKILL at random moments while
//! commands stream in, over and over; afterwards every command has exactly one result and
//! the cloud agrees with what was sent. The cloud is killed in the middle of an STK push;
//! the customer who approves it is served all the same.

use std::collections::BTreeSet;
use std::time::Duration;

use jasiyo_cloud::model::CommandState;
use jasiyo_cloud::store::now_ms;
use jasiyo_cloud::store::testing::Backend;
use jasiyo_shared::Outcome;
use jasiyo_tests::harness::{World, remove_user};
use jasiyo_tests::processes::{AgentProcess, CloudProcess};
use rand::Rng;

const KILLS: usize = 60;
const COMMANDS_PER_ROUND: usize = 8;

async fn agent_survives_sigkill_storm(world: World) {
    let cloud = CloudProcess::spawn(&world.database_url, world.dir.path()).await;
    let store = world.store().await;
    let creds = world.add_router(store.as_ref(), "crashy").await;
    let data_dir = world.agent_dir("crashy");
    let mut rng = rand::rng();
    let mut enqueued = 0;
    for round in 0..KILLS {
        // New commands arrive while the agent starts, connects, journals and applies.
        let mut agent = AgentProcess::spawn(&cloud.ws_url(), &creds, &data_dir);
        for _ in 0..COMMANDS_PER_ROUND {
            store.enqueue_command(creds.id, &remove_user(enqueued), now_ms()).await.unwrap();
            enqueued += 1;
        }
        // Kill after a random number of the agent's log lines: anywhere from start-up to
        // the middle of journalling and applying. If it goes quiet, kill it anyway.
        let lines = rng.random_range(0..14);
        for _ in 0..lines {
            match tokio::time::timeout(Duration::from_secs(3), agent.next_line()).await {
                Ok(Some(_)) => {}
                Ok(None) => panic!("agent exited by itself in round {round}"),
                Err(_) => break,
            }
        }
        agent.kill().await;
    }

    // One last, undisturbed run: everything must be finished, each command exactly once.
    let mut agent = AgentProcess::spawn(&cloud.ws_url(), &creds, &data_dir).detach_output();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let mut poll = tokio::time::interval(Duration::from_millis(100));
    let commands = loop {
        poll.tick().await;
        let commands = store.list_commands(creds.id, 100_000).await.unwrap();
        if commands.iter().all(|c| c.outcome.is_some()) {
            break commands;
        }
        assert!(tokio::time::Instant::now() < deadline, "commands still unfinished after the last restart");
    };
    assert_eq!(commands.len(), enqueued);
    let seqs: BTreeSet<u64> = commands.iter().map(|c| c.seq.0).collect();
    assert_eq!(seqs, (1..=enqueued as u64).collect(), "one row per command, no gaps");
    for command in &commands {
        assert_eq!(command.state, CommandState::Applied, "seq {}", command.seq);
        assert_eq!(command.outcome, Some(Outcome::Applied { note: None }));
        assert!(command.received_at.is_some());
    }
    let _ = agent.kill().await;
    cloud.kill().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_agent_survives_sigkill_storm() {
    let Some(world) = World::new(Backend::Sqlite).await else { return };
    agent_survives_sigkill_storm(world).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_agent_survives_sigkill_storm() {
    let Some(world) = World::new(Backend::Postgres).await else { return };
    agent_survives_sigkill_storm(world).await;
}

/// The cloud is killed (SIGKILL) while the provider holds back the answer to its STK push:
/// the payment is written, its reference never is. The cloud comes back on the same address
/// (the one in the callback URL the provider was given); the customer approves the prompt on
/// the phone; the callback settles the payment, once, and the user is queued for the router.
async fn cloud_killed_during_the_push_loses_no_customer(world: World) {
    use jasiyo_cloud::model::PaymentState;
    use jasiyo_tests::harness::WAIT;
    use jasiyo_tests::payment_emulator::{Delivery, EmulatorAccounts, InjectedFailure, PaymentEmulator, Resolution};
    use jasiyo_tests::shop::{daraja_shop, sealing_key_env};

    let store = world.store().await;
    let creds = world.add_router(store.as_ref(), "till").await;
    let pay = PaymentEmulator::start(EmulatorAccounts::default()).await;
    let plan = daraja_shop(store.as_ref(), &pay).await.unwrap();
    let (_, key) = sealing_key_env();
    let env = [("JASIYO_SEALING_KEY", key.as_str())];

    let cloud = CloudProcess::spawn_with(&world.database_url, world.dir.path(), "127.0.0.1:0", &env).await;
    let addr = cloud.addr;
    pay.fail_next(InjectedFailure::AnswerLost);
    let idempotency_key = format!("crash-{}", now_ms());
    let body = serde_json::json!({"plan_id": plan.id.to_string(), "phone": "0722000700", "mac": "02:AA:BB:CC:DD:70",
        "ip": "10.5.50.70", "idempotency_key": idempotency_key});
    let request = reqwest::Client::new().post(format!("http://{addr}/api/portal/{}/payments", creds.id)).json(&body).send();
    let request = tokio::spawn(request);
    let prompt = pay.wait_for_prompt("0722000700", WAIT).await.expect("the push reached the phone");
    cloud.kill().await;
    assert!(request.await.unwrap().is_err(), "the customer's request died with the cloud");
    let written = store.payment_by_idempotency(creds.id, &idempotency_key).await.unwrap().expect("written before the push");
    assert_eq!((written.state, written.provider_ref.as_deref()), (PaymentState::Initiated, None));
    assert!(written.next_check_at.is_some(), "its check was scheduled when it was written");

    let cloud = CloudProcess::spawn_with(&world.database_url, world.dir.path(), &addr.to_string(), &env).await;
    pay.resolve(&prompt.provider_ref, Resolution::Approve, Delivery::Normal).await.unwrap();
    assert_eq!(pay.callbacks().last().and_then(|c| c.status), Some(200), "the restarted cloud took the callback");
    let paid = store.payment(written.id).await.unwrap().unwrap();
    assert_eq!((paid.state, paid.provider_ref.as_deref()), (PaymentState::Paid, Some(prompt.provider_ref.as_str())));
    assert!(store.entitlement_for_payment(paid.id).await.unwrap().is_some());
    let commands = store.list_commands(creds.id, 10).await.unwrap();
    assert_eq!(commands.iter().filter(|c| c.command.kind() == "upsert_hotspot_user").count(), 1, "one user, once");
    cloud.kill().await;
    pay.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_cloud_killed_during_the_push_loses_no_customer() {
    let Some(world) = World::new(Backend::Sqlite).await else { return };
    cloud_killed_during_the_push_loses_no_customer(world).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_cloud_killed_during_the_push_loses_no_customer() {
    let Some(world) = World::new(Backend::Postgres).await else { return };
    cloud_killed_during_the_push_loses_no_customer(world).await;
}
