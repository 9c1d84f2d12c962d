//! `router rotate-token` and `router revoke` run as the real binary (another process) while
//! a cloud on the same SQLite data directory holds the agent's live session.

use std::process::Command;

use jasiyo_cloud::hub::{AgentLimits, HubEvent};
use serde_json::Value;
use tempfile::TempDir;

use crate::raw_agent::{Cloud, RawAgent, next_event};

fn cli(dir: &TempDir, args: &[&str]) -> Result<Value, String> {
    let mut command = Command::new(env!("CARGO_BIN_EXE_jasiyo-cloud"));
    command.env_remove("JASIYO_DATABASE_URL").env("JASIYO_DATA_DIR", dir.path()).env("RUST_LOG", "warn");
    let out = command.args(args).output().expect("run jasiyo-cloud");
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    Ok(serde_json::from_slice(&out.stdout).unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_rotates_and_revokes_under_a_live_session() {
    let dir = TempDir::new().unwrap();
    cli(&dir, &["tenant", "create", "--name", "Kibanda WiFi"]).unwrap();
    let added = cli(&dir, &["router", "add", "--tenant", "Kibanda WiFi", "--name", "gate", "--json"]).unwrap();
    let id = added["id"].as_str().unwrap().parse().unwrap();
    let old = added["token"].as_str().unwrap().to_string();
    let store = jasiyo_cloud::store::connect(None, dir.path()).await.unwrap();
    let cloud = Cloud::start(store, AgentLimits::default()).await;
    let mut agent = RawAgent::welcomed(&cloud, id, &old, None).await;
    let mut events = cloud.hub.subscribe();

    let rotated = cli(&dir, &["router", "rotate-token", &id.to_string(), "--json"]).unwrap();
    let new = rotated["token"].as_str().unwrap().to_string();
    assert_eq!(rotated["id"].as_str(), Some(id.to_string().as_str()), "the router keeps its id");
    assert_ne!(new, old);
    next_event(&mut events, "the old token's session ended", |e| *e == HubEvent::TokenChanged(id)).await;
    agent.closed_without_deliveries().await;
    assert_eq!(RawAgent::connect(&cloud, id, &old).await.err(), Some(401));

    let mut agent = RawAgent::welcomed(&cloud, id, &new, None).await;
    assert_eq!(cli(&dir, &["router", "revoke", &id.to_string(), "--json"]).unwrap()["revoked"], true);
    next_event(&mut events, "the revoked router's session ended", |e| *e == HubEvent::TokenChanged(id)).await;
    agent.closed_without_deliveries().await;
    assert_eq!(RawAgent::connect(&cloud, id, &new).await.err(), Some(401));
    let refused = cli(&dir, &["router", "rotate-token", &id.to_string()]).unwrap_err();
    assert!(refused.contains("revoked"), "{refused}");
    cloud.stop();
}
