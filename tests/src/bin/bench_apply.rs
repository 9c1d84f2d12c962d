//! `bench-apply`: how fast the agent applies journalled commands to a router, and how much
//! memory it uses doing it and idling.
//!
//! A cloud and a RouterOS emulator run in this process; the agent is the real release
//! binary. First the emulator refuses connections while N user creations are delivered, so
//! they pile up in the agent's journal; the agent is stopped. Then the emulator opens and
//! the agent is started again: the time until the emulator holds all N users is the
//! journal-to-router rate (one API connection, independent commands pipelined). The
//! agent's RSS is sampled throughout and once it is idle.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Parser;
use jasiyo_cloud::App;
use jasiyo_cloud::hub::{HubConfig, HubEvent};
use jasiyo_cloud::store::{connect, now_ms};
use jasiyo_cloud::token::AgentToken;
use jasiyo_shared::command::Password;
use jasiyo_shared::{Command, HotspotUser, UnixTime};
use jasiyo_tests::routeros_emulator::{EmulatorConfig, RouterOsEmulator};
use tokio::process::{Child, Command as Process};
use tokio_util::sync::CancellationToken;

#[derive(Parser)]
struct Args {
    /// User creations to apply.
    #[arg(long, default_value_t = 10_000)]
    commands: usize,
    /// The agent binary (release build).
    #[arg(long, default_value = "target/release/jasiyo-agent")]
    agent_bin: PathBuf,
    /// Seconds to let the agent idle before reading its idle RSS.
    #[arg(long, default_value_t = 5)]
    idle_secs: u64,
}

fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn spawn_agent(args: &Args, cloud: &str, router: &str, token: &str, data: &std::path::Path, ros: &str) -> anyhow::Result<Child> {
    Process::new(&args.agent_bin)
        .args(["run", "--cloud-url", cloud, "--router-id", router, "--routeros-addr", ros, "--routeros-password", "secret"])
        .arg("--data-dir")
        .arg(data)
        .env("JASIYO_TOKEN", token)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("starting {}", args.agent_bin.display()))
}

async fn stop(mut child: Child) {
    if let Some(pid) = child.id() {
        let _ = std::process::Command::new("kill").args(["-TERM", &pid.to_string()]).status();
    }
    let _ = tokio::time::timeout(Duration::from_secs(10), child.wait()).await;
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let dir = tempfile::TempDir::new()?;
    let store = connect(None, dir.path()).await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let app = App::with_store(store.clone(), HubConfig { window: 256, ..HubConfig::default() }, listener);
    let cloud_url = format!("ws://{}", app.local_addr());
    let hub = app.hub();
    let shutdown = CancellationToken::new();
    tokio::spawn(app.run(shutdown.clone()));
    let emulator = RouterOsEmulator::start(EmulatorConfig::default()).await;
    emulator.set_refuse_connections(true);

    let tenant = store.create_tenant("bench", now_ms()).await?;
    let token = AgentToken::generate();
    let router = store.create_router(tenant.id, "bench", &token.hash(), now_ms()).await?;
    let expires = UnixTime(now_ms() / 1000 + 86_400);
    for i in 0..args.commands {
        let user = HotspotUser {
            name: format!("bench{i:06}"),
            password: Password(format!("pw{i}")),
            profile: None,
            mac: None,
            expires_at: Some(expires),
            limit_uptime_secs: Some(3600),
            limit_bytes_total: None,
            comment: Some("bench".into()),
        };
        hub.enqueue(router.id, &Command::UpsertHotspotUser(user)).await?;
    }

    // Phase 1: fill the agent's journal while the router refuses.
    let data = dir.path().join("agent");
    let (id, ros) = (router.id.to_string(), emulator.addr().to_string());
    let mut events = hub.subscribe();
    let agent = spawn_agent(&args, &cloud_url, &id, token.expose(), &data, &ros)?;
    let filling = Instant::now();
    let mut received = 0;
    while received < args.commands {
        match tokio::time::timeout(Duration::from_secs(60), events.recv()).await {
            Ok(Ok(HubEvent::Received(r, _))) if r == router.id => received += 1,
            Ok(Ok(_)) | Ok(Err(tokio::sync::broadcast::error::RecvError::Lagged(_))) => {}
            _ => bail!("the agent stopped receiving after {received} commands"),
        }
    }
    let fill_secs = filling.elapsed().as_secs_f64();
    stop(agent).await;

    // Phase 2: the router opens; the restarted agent applies the journal.
    emulator.set_refuse_connections(false);
    let started = Instant::now();
    let agent = spawn_agent(&args, &cloud_url, &id, token.expose(), &data, &ros)?;
    let pid = agent.id().context("agent pid")?;
    let mut peak = 0;
    let mut sample = tokio::time::interval(Duration::from_millis(20));
    while emulator.users().len() < args.commands {
        sample.tick().await;
        peak = peak.max(rss_kib(pid).unwrap_or(0));
        if started.elapsed() > Duration::from_secs(600) {
            bail!("only {} of {} users after 10 minutes", emulator.users().len(), args.commands);
        }
    }
    let apply_secs = started.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_secs(args.idle_secs)).await;
    let idle = rss_kib(pid).unwrap_or(0);
    let adds = emulator.command_log().iter().filter(|c| *c == "/ip/hotspot/user/add").count();
    stop(agent).await;
    shutdown.cancel();

    println!("bench-apply: {} user creations, one RouterOS API connection", args.commands);
    println!("  journal fill (cloud -> agent, received):  {:>8.0} commands/s", args.commands as f64 / fill_secs);
    println!("  journal -> router (start to last user):   {:>8.0} creations/s  (target >= 2000)", args.commands as f64 / apply_secs);
    println!("  adds seen by the router:                  {adds:>8} (= {} expected)", args.commands);
    println!("  agent RSS peak while applying:            {:>8.1} MiB", peak as f64 / 1024.0);
    println!("  agent RSS idle after {}s:                  {:>8.1} MiB  (target < 10)", args.idle_secs, idle as f64 / 1024.0);
    Ok(())
}
