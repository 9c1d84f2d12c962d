//! The `jasiyo-agent` binary: parses flags, installs logging, runs the agent until a signal.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::{Parser, Subcommand};
use std::time::Duration;

use jasiyo_agent::routeros::{RouterTls, RouterTrust};
use jasiyo_agent::{Agent, AgentConfig, EdgeConfig, LoggingExecutor, ReconnectPolicy, RouterOsConfig, Token};
use jasiyo_shared::RouterId;
use jasiyo_shared::command::Password;
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
    #[command(after_help = "Settings may also come from a file: JASIYO_ENV_FILE=<path> names a file of JASIYO_...=value lines \
                            that fill in what the environment does not set (keeps the token out of a container's settings).")]
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
    #[command(flatten)]
    routeros: RouterOsArgs,
    /// For tests only: seconds added to this machine's clock as the agent reads it, to try
    /// a router with a wrong clock. Never set it in production.
    #[arg(long, env = "JASIYO_AGENT_CLOCK_OFFSET_SECS", hide = true, default_value_t = 0, allow_hyphen_values = true)]
    clock_offset_secs: i64,
}

/// Where the router's API is. Without `--routeros-addr` the agent only logs commands (for
/// trying the link out without a router).
#[derive(Debug, clap::Args)]
struct RouterOsArgs {
    /// `host:port` of the RouterOS API: 8728 plain, 8729 API-SSL (with `--routeros-tls`).
    #[arg(long, env = "JASIYO_ROUTEROS_ADDR")]
    routeros_addr: Option<String>,
    /// API user; its group needs the `api`, `read`, `write` (and `sensitive`) policies.
    #[arg(long, env = "JASIYO_ROUTEROS_USER", default_value = "admin")]
    routeros_user: String,
    /// The API user's password (prefer the environment variable). Never logged.
    #[arg(long, env = "JASIYO_ROUTEROS_PASSWORD", hide_env_values = true, default_value = "", hide_default_value = true, value_parser = parse_password)]
    routeros_password: Password,
    /// Use API-SSL. RouterOS needs a certificate on `/ip service api-ssl`: without one it
    /// offers only anonymous DH, which rustls does not support.
    #[arg(long, env = "JASIYO_ROUTEROS_TLS")]
    routeros_tls: bool,
    /// Trust the router's certificate if this CA (PEM) signed it.
    #[arg(long, env = "JASIYO_ROUTEROS_CA_FILE", conflicts_with = "routeros_cert_pin_file")]
    routeros_ca_file: Option<PathBuf>,
    /// Trust exactly this certificate (PEM or DER), e.g. the router's self-signed one.
    #[arg(long, env = "JASIYO_ROUTEROS_CERT_PIN_FILE")]
    routeros_cert_pin_file: Option<PathBuf>,
    /// Name to check the certificate against with `--routeros-ca-file` (default: the host).
    #[arg(long, env = "JASIYO_ROUTEROS_SERVER_NAME")]
    routeros_server_name: Option<String>,
    /// Seconds one API command may take.
    #[arg(long, env = "JASIYO_ROUTEROS_TIMEOUT_SECS", default_value_t = 10)]
    routeros_timeout_secs: u64,
    /// Seconds between reconciliations of the router's users with the journal.
    #[arg(long, env = "JASIYO_RECONCILE_SECS", default_value_t = 300)]
    reconcile_secs: u64,
}

fn parse_password(text: &str) -> Result<Password, String> {
    Ok(Password(text.to_string()))
}

impl RouterOsArgs {
    /// The RouterOS settings, or `None` when no router is configured.
    fn config(&self) -> anyhow::Result<Option<RouterOsConfig>> {
        let Some(addr) = self.routeros_addr.clone() else { return Ok(None) };
        let tls = if self.routeros_tls {
            let trust = match (&self.routeros_ca_file, &self.routeros_cert_pin_file) {
                (Some(ca), None) => RouterTrust::CaFile(ca.clone()),
                (None, Some(pin)) => RouterTrust::Pinned(pin.clone()),
                _ => anyhow::bail!(
                    "--routeros-tls needs --routeros-ca-file or --routeros-cert-pin-file: {}",
                    jasiyo_agent::routeros::tls::ADH_HINT
                ),
            };
            let host = addr.rsplit_once(':').map_or(addr.as_str(), |(host, _)| host).trim_matches(['[', ']']);
            let server_name = self.routeros_server_name.clone().unwrap_or_else(|| host.to_string());
            Some(RouterTls { server_name, trust })
        } else {
            None
        };
        Ok(Some(RouterOsConfig {
            addr,
            username: self.routeros_user.clone(),
            password: self.routeros_password.clone(),
            tls,
            timeout: Duration::from_secs(self.routeros_timeout_secs.max(1)),
        }))
    }
}

fn main() -> anyhow::Result<()> {
    // Routers have little memory: one worker is plenty for one link and one router, and
    // few threads for journal writes (each thread costs a stack and a malloc arena).
    tokio::runtime::Builder::new_multi_thread().worker_threads(1).max_blocking_threads(2).enable_all().build()?.block_on(run())
}

/// The settings file read, and the names it gave values to.
type FromFile = Option<(PathBuf, Vec<String>)>;

/// The command line, with the settings file's values (if one is named) as defaults: the
/// parsed flags, and the file with the names it set.
fn parse_cli() -> anyhow::Result<(Cli, FromFile)> {
    use clap::{CommandFactory, FromArgMatches};
    let Some((path, pairs)) = jasiyo_agent::env_file::load().map_err(anyhow::Error::msg)? else {
        return Ok((Cli::parse(), None));
    };
    let (command, used) = jasiyo_agent::env_file::apply(Cli::command(), &pairs).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    let cli = Cli::from_arg_matches(&command.get_matches()).map_err(|e| e.exit())?;
    Ok((cli, Some((path, used))))
}

async fn run() -> anyhow::Result<()> {
    let (cli, env_file) = parse_cli()?;
    let Cmd::Run(args) = cli.command;
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info"))
        // tungstenite traces the whole upgrade request, bearer token included: whatever
        // RUST_LOG says, that line must never be written.
        .add_directive("tungstenite::handshake::client=debug".parse()?);
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init();
    if let Some((path, names)) = env_file {
        info!(file = %path.display(), settings = ?names, "settings read from the env file");
    }

    let config = AgentConfig {
        cloud_url: args.cloud_url,
        router_id: args.router_id,
        token: args.token,
        data_dir: args.data_dir,
        ca_file: args.ca_file,
        reconnect: ReconnectPolicy::default(),
        status_interval: AgentConfig::DEFAULT_STATUS_INTERVAL,
        clock_offset_secs: args.clock_offset_secs,
    };
    let agent = match args.routeros.config()? {
        Some(routeros) => {
            let edge = EdgeConfig { reconcile_every: Duration::from_secs(args.routeros.reconcile_secs.max(1)), ..EdgeConfig::default() };
            Agent::open_routeros(config, routeros, edge)
        }
        None => {
            tracing::warn!("no --routeros-addr: commands are only logged, not applied to a router");
            Agent::open(config, Arc::new(LoggingExecutor))
        }
    }
    .context("cannot start the agent")?;

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
