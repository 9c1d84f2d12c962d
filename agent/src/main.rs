//! The `jasiyo-agent` binary: parses flags, installs logging, runs the agent until a signal.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::{Parser, Subcommand};
use jasiyo_agent::{Agent, AgentConfig, LoggingExecutor, ReconnectPolicy, Token};
use jasiyo_shared::RouterId;
use tokio_util::sync::CancellationToken;
use tracing::info;
use tracing_subscriber::EnvFilter;

/// The Jasiyo edge agent: phones home to the cloud, journals commands, applies them on the
/// router.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Connect to the cloud and apply its commands until stopped (SIGINT or SIGTERM).
    Run(RunArgs),
}

#[derive(Debug, clap::Args)]
struct RunArgs {
    /// The cloud's base URL (ws://, wss://, http:// or https://); the agent connects to
    /// `<URL>/agent/v1/ws`.
    #[arg(long, env = "JASIYO_CLOUD_URL")]
    cloud_url: String,
    /// This router's id, as shown on the dashboard.
    #[arg(long, env = "JASIYO_ROUTER_ID")]
    router_id: RouterId,
    /// This router's secret token (prefer the environment variable: flags show in `ps`).
    #[arg(long, env = "JASIYO_TOKEN", hide_env_values = true)]
    token: Token,
    /// Directory for the agent's journal (keep it on storage that survives restarts).
    #[arg(long, env = "JASIYO_DATA_DIR")]
    data_dir: PathBuf,
    /// A PEM file of extra CA certificates to trust (for a cloud with a private CA).
    #[arg(long, env = "JASIYO_CA_FILE")]
    ca_file: Option<PathBuf>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let Cmd::Run(args) = Cli::parse().command;
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info"))
        // tungstenite traces the whole upgrade request, bearer token included: whatever
        // RUST_LOG says, that line must never be written.
        .add_directive("tungstenite::handshake::client=debug".parse()?);
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init();

    let config = AgentConfig {
        cloud_url: args.cloud_url,
        router_id: args.router_id,
        token: args.token,
        data_dir: args.data_dir,
        ca_file: args.ca_file,
        reconnect: ReconnectPolicy::default(),
        status_interval: AgentConfig::DEFAULT_STATUS_INTERVAL,
    };
    let agent = Agent::open(config, Arc::new(LoggingExecutor)).context("cannot start the agent")?;

    let shutdown = CancellationToken::new();
    tokio::spawn(cancel_on_signal(shutdown.clone()));
    agent.run(shutdown).await
}

/// Cancels `shutdown` on the first SIGINT or SIGTERM.
async fn cancel_on_signal(shutdown: CancellationToken) {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => {
                tokio::select! {
                    _ = interrupt => {}
                    _ = terminate.recv() => {}
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM; only SIGINT stops the agent");
                let _ = interrupt.await;
            }
        }
    }
    #[cfg(not(unix))]
    let _ = interrupt.await;
    info!("shutdown signal received; stopping");
    shutdown.cancel();
}
