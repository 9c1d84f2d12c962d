//! `routeros-emulator`: the RouterOS API emulator as a process, for poking at it with real
//! clients and for tests that kill the router (the demo runs it inside `jasiyo-demo`, with
//! the hotspot's login page). Prints the bound addresses on standard output, runs until
//! Ctrl-C. With `--state` it keeps its configuration in a file and boots from it, as a
//! rebooted router does; with `--control` it serves the test's control channel
//! (`jasiyo_tests::routeros_emulator::control`).

use std::sync::Arc;

use clap::Parser;
use jasiyo_tests::routeros_emulator::{EmulatorConfig, RouterOsEmulator, control};
use tokio_util::sync::CancellationToken;

/// A RouterOS API (binary protocol) emulator with the hotspot menus.
#[derive(Parser, Debug)]
#[command(version)]
struct Flags {
    /// Address to listen on (port 0 picks a free one).
    #[arg(long, env = "JASIYO_EMULATOR_LISTEN", default_value = "127.0.0.1:8728")]
    listen: std::net::SocketAddr,
    /// API user name.
    #[arg(long, env = "JASIYO_EMULATOR_USER", default_value = "admin")]
    user: String,
    /// API password.
    #[arg(long, env = "JASIYO_EMULATOR_PASSWORD", default_value = "secret", hide_env_values = true)]
    password: String,
    /// Pre-6.43 MD5 challenge login instead of clear text.
    #[arg(long)]
    legacy_login: bool,
    /// Behave like RouterOS before 7.18: no `!empty` for prints without rows.
    #[arg(long)]
    no_empty: bool,
    /// Put `.tag=` right after the reply word instead of last.
    #[arg(long)]
    tag_first: bool,
    /// A hotspot user profile to create (repeatable; `default` always exists).
    #[arg(long = "profile", value_name = "NAME")]
    profiles: Vec<String>,
    /// Keep the configuration (users, profiles...) in this file, rewritten on every change,
    /// and boot from it if it exists; hosts and active sessions are lost, as in a reboot.
    #[arg(long, value_name = "FILE")]
    state: Option<std::path::PathBuf>,
    /// Serve the control channel (state as JSON, devices appearing, connection faults) here.
    #[arg(long, value_name = "ADDR")]
    control: Option<std::net::SocketAddr>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .with_writer(std::io::stderr)
        .init();
    let flags = Flags::parse();
    let mut profiles = vec!["default".to_string()];
    profiles.extend(flags.profiles);
    let config = EmulatorConfig {
        username: flags.user,
        password: flags.password,
        legacy_login: flags.legacy_login,
        empty_replies: !flags.no_empty,
        tag_first: flags.tag_first,
        profiles,
        state_file: flags.state,
        ..EmulatorConfig::default()
    };
    let listener = tokio::net::TcpListener::bind(flags.listen).await?;
    let emulator = Arc::new(RouterOsEmulator::start_on(listener, config).await);
    println!("routeros-emulator listening on {}", emulator.addr());
    let stop = CancellationToken::new();
    let control = match flags.control {
        Some(addr) => {
            let listener = tokio::net::TcpListener::bind(addr).await?;
            println!("routeros-emulator control on {}", listener.local_addr()?);
            Some(tokio::spawn(control::serve(listener, emulator.clone(), stop.clone())))
        }
        None => None,
    };
    tokio::signal::ctrl_c().await?;
    stop.cancel();
    if let Some(control) = control {
        control.await??;
    }
    if let Ok(emulator) = Arc::try_unwrap(emulator) {
        emulator.stop().await;
    }
    Ok(())
}
