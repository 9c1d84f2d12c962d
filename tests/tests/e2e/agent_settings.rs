//! The agent's settings from a file (`JASIYO_ENV_FILE`), as the container install script
//! passes them so the token stays out of the container's settings (and so out of `/export`):
//! the real binary, started with nothing else in its environment, connects; the token never
//! appears in its log; a file naming something that is not a setting is refused clearly.

use std::time::Duration;

use jasiyo_cloud::store::testing::Backend;
use jasiyo_tests::harness::World;
use jasiyo_tests::processes::{AgentProcess, CloudProcess};

/// The agent's log until a line containing `needle` (or its end): all of it.
async fn log_until(agent: &mut AgentProcess, needle: &str) -> String {
    let mut log = String::new();
    let read = async {
        while let Some(line) = agent.next_line().await {
            log.push_str(&line);
            log.push('\n');
            if line.contains(needle) {
                return true;
            }
        }
        false
    };
    let found = tokio::time::timeout(Duration::from_secs(20), read).await.unwrap_or(false);
    assert!(found, "no {needle:?} in the agent's log:\n{log}");
    log
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_agent_takes_its_settings_from_a_file() {
    let Some(world) = World::new(Backend::Sqlite).await else { return };
    let cloud = CloudProcess::spawn(&world.database_url, world.dir.path()).await;
    let store = world.store().await;
    let creds = world.add_router(store.as_ref(), "filed").await;
    let file = world.dir.path().join("agent.env");
    std::fs::write(
        &file,
        format!(
            "# written by the install script\nJASIYO_CLOUD_URL={}\nJASIYO_ROUTER_ID={}\nJASIYO_TOKEN={}\nJASIYO_DATA_DIR={}\n",
            cloud.ws_url(),
            creds.id,
            creds.token,
            world.agent_dir("filed").display()
        ),
    )
    .unwrap();

    let mut agent = AgentProcess::spawn_from_env_file(&file);
    let log = log_until(&mut agent, "connected to the cloud").await;
    assert!(log.contains("settings read from the env file"), "{log}");
    assert!(!log.contains(&creds.token), "the token is never logged:\n{log}");
    agent.kill().await;

    std::fs::write(&file, "JASIYO_TOKEN=x\nPATH=/tmp\n").unwrap();
    let mut refused = AgentProcess::spawn_from_env_file(&file);
    let mut said = String::new();
    while let Ok(Some(line)) = tokio::time::timeout(Duration::from_secs(20), refused.next_line()).await {
        said.push_str(&line);
    }
    assert!(said.contains("line 2: \"PATH\" is not a JASIYO_ setting"), "{said}");
}
