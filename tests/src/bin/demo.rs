//! `jasiyo-demo`: the demo's emulated MikroTik for `scripts/run-local`. Runs the RouterOS
//! API emulator the agent drives, the hotspot login endpoint the portal posts the paid
//! login to, and the live view: one line per event on stdout. Writes what the script
//! prints (the router's API address, the login URL, the portal URL) to `--ready-file` as
//! JSON once up, and runs until Ctrl-C or SIGTERM.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use clap::Parser;
use jasiyo_tests::demo::cloud_watch::{CloudWatch, watch_cloud};
use jasiyo_tests::demo::hotspot::{self, Chap, Device};
use jasiyo_tests::demo::live::{Printer, watch_router};
use jasiyo_tests::demo::portal_url;
use jasiyo_tests::routeros_emulator::{EmulatorConfig, RouterOsEmulator, normalise_mac};
use tokio_util::sync::CancellationToken;

/// The demo's emulated MikroTik: RouterOS API, hotspot login page, live view.
#[derive(Parser, Debug)]
#[command(version)]
struct Flags {
    /// Where the RouterOS API listens (the agent connects here).
    #[arg(long, default_value = "127.0.0.1:0")]
    router_listen: SocketAddr,
    /// Where the hotspot login page listens (the customer's browser posts here).
    #[arg(long, default_value = "127.0.0.1:0")]
    hotspot_listen: SocketAddr,
    /// The host the browser reaches the login page at (default: the listen address; needed
    /// when that is 0.0.0.0). It must be one a hotspot can have: a private or loopback
    /// address, or a local name.
    #[arg(long)]
    public_host: Option<String>,
    /// The cloud as the browser reaches it (`http://127.0.0.1:8080`).
    #[arg(long)]
    cloud_url: String,
    /// The demo's router id in the cloud.
    #[arg(long)]
    router_id: String,
    /// An operator token for the demo's tenant, for the live view.
    #[arg(long, env = "JASIYO_DEMO_API_TOKEN", hide_env_values = true)]
    api_token: String,
    /// The customer's device on the hotspot: MAC.
    #[arg(long, default_value = "02:00:00:00:00:01")]
    device_mac: String,
    /// The customer's device on the hotspot: IP.
    #[arg(long, default_value = "10.5.50.2")]
    device_ip: std::net::Ipv4Addr,
    /// A JSON file written once everything is up.
    #[arg(long)]
    ready_file: Option<PathBuf>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .with_writer(std::io::stderr)
        .init();
    let flags = Flags::parse();
    let mac = normalise_mac(&flags.device_mac).ok_or_else(|| anyhow::anyhow!("--device-mac: not a MAC address"))?;
    let device = Device { mac, ip: flags.device_ip.to_string() };

    let listener = tokio::net::TcpListener::bind(flags.router_listen).await?;
    let router = Arc::new(RouterOsEmulator::start_on(listener, EmulatorConfig::default()).await);
    // The phone is on the hotspot: the router sees it before it logs in.
    router.add_host(&device.mac, &device.ip);

    let printer = Arc::new(Printer::default());
    let chap = Chap::random();
    let hotspot_listener = tokio::net::TcpListener::bind(flags.hotspot_listen).await?;
    let hotspot_addr = hotspot_listener.local_addr()?;
    let host = match &flags.public_host {
        Some(host) => host.clone(),
        None if hotspot_addr.ip().is_unspecified() => anyhow::bail!("--public-host is needed with an unspecified listen address"),
        None => hotspot_addr.ip().to_string(),
    };
    let login_url = format!("http://{host}:{}/login", hotspot_addr.port());
    let stop = CancellationToken::new();
    let app = hotspot::router(router.clone(), device.clone(), chap.clone(), printer.clone());
    let serving = tokio::spawn({
        let stop = stop.clone();
        async move { axum::serve(hotspot_listener, app).with_graceful_shutdown(stop.cancelled_owned()).await }
    });
    let watching_router = tokio::spawn(watch_router(router.clone(), printer.clone(), stop.clone()));
    let watch = CloudWatch { base: flags.cloud_url.clone(), token: flags.api_token.clone(), router: flags.router_id.clone() };
    let watching_cloud = tokio::spawn(watch_cloud(watch, printer.clone(), stop.clone()));
    let printing = tokio::spawn(printer.run(stop.clone()));

    let portal = portal_url(&flags.cloud_url, &flags.router_id, &device, &login_url, &chap);
    tracing::info!(router_api = %router.addr(), login = %login_url, "demo router up");
    if let Some(path) = &flags.ready_file {
        let ready = serde_json::json!({ "router_api": router.addr().to_string(), "login_url": login_url, "portal_url": portal });
        let partial = path.with_extension("partial");
        std::fs::write(&partial, ready.to_string())?;
        std::fs::rename(&partial, path)?;
    }

    shutdown_signal().await;
    stop.cancel();
    let _ = tokio::join!(serving, watching_router, watching_cloud, printing);
    if let Ok(router) = Arc::try_unwrap(router) {
        router.stop().await;
    }
    Ok(())
}

/// Ctrl-C, or SIGTERM from the script's clean-up.
async fn shutdown_signal() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).expect("SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}
