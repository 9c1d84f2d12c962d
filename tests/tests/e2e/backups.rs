//! A backup taken with the real `jasiyo-cloud backup` while payments flow, restored with
//! `jasiyo-cloud restore` into a fresh cloud: the router's agent (its journal kept)
//! reconnects, every command the restored database holds is finished without being applied
//! twice, the numbering moves past what the agent applied after the backup, and the next
//! payment reaches the router. No user the router had is lost.

use std::path::Path;

use jasiyo_cloud::model::PaymentId;
use jasiyo_cloud::providers::ProviderKind;
use jasiyo_cloud::store::testing::Backend;
use jasiyo_cloud::store::{Store, connect};
use jasiyo_shared::Outcome;
use jasiyo_tests::harness::*;
use jasiyo_tests::payment_emulator::{Delivery, Resolution};
use jasiyo_tests::processes::binary;
use serde_json::json;

use crate::payments::{shop_with, uuid};

/// Runs `jasiyo-cloud ARGS` to its end: whether it succeeded, and what it printed.
async fn cloud_cli(args: &[&str]) -> (bool, String) {
    let output = tokio::process::Command::new(binary("jasiyo-cloud")).args(args).env("RUST_LOG", "warn").output().await.unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    (output.status.success(), text)
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_while_payments_flow_restores_and_the_agent_catches_up() {
    let Some(world) = World::new(Backend::Sqlite).await else { return };
    let s = shop_with(world, ProviderKind::Daraja, |_| {}).await;
    let backup = s.world.dir.path().join("backup.db");
    let payments = 4;
    let flow = async {
        for i in 0..payments {
            let (mac, ip) = (format!("02:AA:BB:CC:EE:{i:02X}"), format!("10.5.51.{}", 10 + i));
            s.router.add_host(&mac, &ip);
            let (id, reference) = s.pay_at(&format!("07220005{i:02}"), &mac, &ip).await;
            s.pay.resolve(&reference, Resolution::Approve, Delivery::Normal).await.unwrap();
            s.until_view(id, "paid", |v| v["status"] == "paid").await;
        }
    };
    let take_backup = async {
        // Once the first payment is paid, while the others are on their way.
        s.cloud.until("a payment paid", async |store: &dyn Store| !store.list_commands(s.creds.id, 10).await.unwrap().is_empty()).await;
        cloud_cli(&["--database-url", &s.world.database_url, "backup", "--to", path(&backup)]).await
    };
    let ((), (ok, said)) = tokio::join!(flow, take_backup);
    assert!(ok && said.contains("backed up"), "{said}");
    assert!(s.router.wait_until(WAIT, |r| r.users().len() == payments).await, "every payment's user on the router");
    let before: Vec<String> = s.router.users().into_iter().map(|u| u.name).collect();

    let old_high = s.store().list_commands(s.creds.id, 100).await.unwrap().iter().map(|c| c.seq).max().unwrap();

    // The cloud is lost; a fresh one gets the backup.
    s.agent.stop().await;
    s.cloud.stop().await;
    let (ok, said) = cloud_cli(&["--database-url", &s.world.database_url, "restore", "--from", path(&backup)]).await;
    assert!(!ok && said.contains("--force"), "a database with data is not replaced unasked: {said}");
    let fresh = tempfile::TempDir::new().unwrap();
    let (ok, said) = cloud_cli(&["--data-dir", path(fresh.path()), "restore", "--from", path(&backup)]).await;
    assert!(ok && said.contains("restored"), "{said}");
    let url = format!("sqlite://{}", fresh.path().join("jasiyo.db").display());
    let restored_commands = connect(Some(&url), fresh.path()).await.unwrap().list_commands(s.creds.id, 100).await.unwrap().len();
    assert!(
        restored_commands >= 1 && restored_commands as i64 <= old_high.as_i64(),
        "the backup holds some of the commands: {restored_commands}"
    );
    eprintln!("the backup holds {restored_commands} commands; the agent applied up to {old_high:?}");

    let cloud = TestCloud::start(&url, fresh.path(), fast_hub()).await;
    let mut agent = TestAgent::start_routeros(&cloud.ws_url(), &s.creds, &s.world.agent_dir("r"), s.router.addr(), fast_edge());
    agent.connected().await;
    cloud.until_finished(s.creds.id, restored_commands).await;

    // The next payment, through the restored cloud, reaches the router.
    let body = json!({"plan_id": s.plan, "phone": "0722000599", "mac": "02:AA:BB:CC:EE:99", "ip": "10.5.51.99", "idempotency_key": uuid()});
    s.router.add_host("02:AA:BB:CC:EE:99", "10.5.51.99");
    let started = s.http.post(format!("{}/api/portal/{}/payments", cloud.http_url(), s.creds.id)).json(&body).send().await.unwrap();
    assert_eq!(started.status().as_u16(), 201);
    let id: PaymentId = started.json::<serde_json::Value>().await.unwrap()["id"].as_str().unwrap().parse().unwrap();
    let prompt = s.pay.wait_for_prompt("254722000599", WAIT).await.expect("a prompt");
    s.pay.resolve(&prompt.provider_ref, Resolution::Approve, Delivery::Normal).await.unwrap();
    let router = s.creds.id;
    cloud
        .until("the new payment's user sent and every command finished", async |store: &dyn Store| {
            let commands = store.list_commands(router, 100).await.unwrap();
            store.entitlement_for_payment(id).await.unwrap().is_some() && commands.iter().all(|c| c.outcome.is_some())
        })
        .await;
    let user = cloud.store().entitlement_for_payment(id).await.unwrap().unwrap().username;
    let after: Vec<String> = s.router.users().into_iter().map(|u| u.name).collect();
    assert!(after.contains(&user), "the new payment's user {user} is on the router: {after:?}");
    assert!(before.iter().all(|name| after.contains(name)), "no user lost: {before:?} -> {after:?}");
    let commands = cloud.store().list_commands(s.creds.id, 100).await.unwrap();
    for command in &commands {
        assert!(matches!(command.outcome, Some(Outcome::Applied { .. })), "{:?}: {:?}", command.seq, command.outcome);
    }
    let newest = commands.iter().map(|c| c.seq).max().unwrap();
    assert!(newest > old_high, "numbered past what the agent applied after the backup: {newest:?} after {old_high:?}");
    agent.stop().await;
    cloud.stop().await;
}
