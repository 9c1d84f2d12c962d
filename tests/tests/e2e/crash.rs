//! Crash test with real processes: the agent is killed with SIGKILL at random moments while
//! commands stream in, over and over; afterwards every command has exactly one result and
//! the cloud agrees with what was sent.

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
