//! `routeros-emulator`: the RouterOS API emulator as a process, for poking at it with real
//! clients (the demo runs it inside `jasiyo-demo`, with the hotspot's login page). Prints
//! the bound address, runs until Ctrl-C.

use clap::Parser;
use jasiyo_tests::routeros_emulator::{EmulatorConfig, RouterOsEmulator};

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
        ..EmulatorConfig::default()
    };
    let listener = tokio::net::TcpListener::bind(flags.listen).await?;
    let emulator = RouterOsEmulator::start_on(listener, config).await;
    println!("routeros-emulator listening on {}", emulator.addr());
    tokio::signal::ctrl_c().await?;
    emulator.stop().await;
    Ok(())
}
