//! `jasiyo-cloud`: parses flags, installs logging, and runs the service or one management
//! command.

use std::time::Duration;

use clap::Parser;
use jasiyo_cloud::cli::{Cli, CliCommand};
use jasiyo_cloud::hub::{HandshakeLimits, HubConfig};
use jasiyo_cloud::payments::sealer::KeyFileAccess;
use jasiyo_cloud::{App, CloudConfig};
use tokio_util::sync::CancellationToken;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    jasiyo_cloud::logging::install(cli.log_format);
    let CliCommand::Serve(serve) = &cli.command else {
        return jasiyo_cloud::cli::run_admin(cli, &mut std::io::stdout()).await;
    };
    // Before listening: two different sealing keys must stop the service, not serve it.
    let sealing_key = jasiyo_cloud::cli::sealing_key(cli.sealing_key.as_deref())?;
    // Nor may callbacks that no provider can reach.
    let unreachable = jasiyo_cloud::payments::public_url::problems(serve.public_url.as_deref());
    if !unreachable.is_empty() {
        let list: Vec<String> = unreachable.iter().map(ToString::to_string).collect();
        if !serve.allow_unreachable_callbacks {
            anyhow::bail!(
                "providers could not reach this cloud's callbacks: {}. Fix --public-url, or pass --allow-unreachable-callbacks to run anyway (locally, against emulators)",
                list.join("; ")
            );
        }
        // A plain line stands out for a person; a JSON log must hold nothing but JSON.
        if cli.log_format == jasiyo_cloud::logging::LogFormat::Text {
            eprintln!("WARNING: providers cannot reach this cloud's callbacks: {}", list.join("; "));
        }
        tracing::warn!(problems = ?list, "serving with callbacks providers cannot reach (--allow-unreachable-callbacks)");
    }
    raise_open_file_limit();
    let listener = bind(serve.listen)?;
    let public_url = serve.public_url.clone().unwrap_or_else(|| format!("http://{}", listener.local_addr().expect("bound")));
    let config = CloudConfig {
        database_url: cli.database_url.clone(),
        data_dir: cli.data_dir.clone(),
        public_url,
        hub: HubConfig {
            handshakes: HandshakeLimits {
                max_under_way: serve.max_agent_handshakes as usize,
                max_waiting: serve.agent_handshake_queue as usize,
                max_wait: Duration::from_secs(serve.agent_handshake_wait_secs),
            },
            ..serve.heartbeat.hub_config()
        },
        sealing_key,
        trusted_proxies: jasiyo_cloud::http::TrustedProxies::new(serve.trusted_proxies.clone()),
        timeouts: serve.timeouts.timeouts(),
        limits: serve.limits.limits(),
        holds: serve.limits.holds(),
        key_file_access: if serve.allow_readable_key_file { KeyFileAccess::AllowReadable } else { KeyFileAccess::OwnerOnly },
        paystack_email_domain: serve.paystack_email_domain.clone(),
    };
    let mut app = App::build(config, listener).await?;
    if serve.allow_private_webhooks {
        app = app.with_alerts(jasiyo_cloud::alerts::AlertsConfig { allow_private_webhooks: true, ..Default::default() });
    }
    if let Some(addr) = serve.metrics_listen {
        app = app.with_metrics_listener(tokio::net::TcpListener::bind(addr).await?);
    }
    if let Some(url) = &serve.smtp_url {
        app = app.with_mailer(std::sync::Arc::new(jasiyo_cloud::notify::SmtpMailer::new(url, &serve.mail_from)?));
    }
    if let Some(path) = &serve.ready_file {
        // Write then rename, so a reader never sees a half-written address.
        let partial = path.with_extension("partial");
        std::fs::write(&partial, app.local_addr().to_string())?;
        std::fs::rename(&partial, path)?;
    }
    let shutdown = CancellationToken::new();
    tokio::spawn(cancel_on_signal(shutdown.clone()));
    app.run(shutdown).await
}

/// Binds with a long accept queue: thousands of agents reconnect at once after an outage,
/// and the default backlog (128) would make most of them wait for a SYN retransmit.
fn bind(addr: std::net::SocketAddr) -> anyhow::Result<tokio::net::TcpListener> {
    let socket = if addr.is_ipv4() { tokio::net::TcpSocket::new_v4()? } else { tokio::net::TcpSocket::new_v6()? };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    Ok(socket.listen(4096)?)
}

/// Each connected agent holds a socket: lift the soft open-file limit to the hard one.
fn raise_open_file_limit() {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => tracing::info!(open_files = limit, "open-file limit"),
        Err(error) => tracing::warn!(%error, "could not raise the open-file limit"),
    }
}

/// Cancels `shutdown` on SIGINT or SIGTERM.
async fn cancel_on_signal(shutdown: CancellationToken) {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).expect("SIGTERM handler");
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
    tracing::info!("shutting down");
    shutdown.cancel();
}
