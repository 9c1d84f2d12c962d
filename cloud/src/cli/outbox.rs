//! `command ...`: a router's outbox, by hand: enqueue a protocol command, list what is
//! queued, delivered and applied (hotspot passwords never shown).

use std::io::Write;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use clap::Subcommand;
use jasiyo_shared::command::Password;
use jasiyo_shared::{Command, HotspotUser, MacAddress, RouterId, UnixTime};

use crate::model::StoredCommand;
use crate::redact::without_passwords;
use crate::store::{Store, now_ms};

/// `command ...`
#[derive(Debug, Subcommand)]
pub enum CommandCommand {
    /// Append a command to a router's outbox.
    Enqueue {
        /// The router id.
        #[arg(long)]
        router: RouterId,
        /// Print JSON.
        #[arg(long)]
        json: bool,
        /// The command.
        #[command(subcommand)]
        kind: EnqueueKind,
    },
    /// Show a router's commands, newest first, with state and result.
    List {
        /// The router id.
        #[arg(long)]
        router: RouterId,
        /// At most this many.
        #[arg(long, default_value_t = 100)]
        limit: u32,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// The command kinds an operator can enqueue.
// Debug hides its secrets: crate::redact.
#[derive(Subcommand)]
pub enum EnqueueKind {
    /// Create (or update) a hotspot user.
    CreateUser {
        /// Login name.
        #[arg(long)]
        name: String,
        /// Login password.
        #[arg(long)]
        password: String,
        /// RouterOS user profile.
        #[arg(long)]
        profile: Option<String>,
        /// Bind to this device MAC.
        #[arg(long)]
        mac: Option<MacAddress>,
        /// Expire after this long (e.g. `1h`, `30m`, `1d 2h`).
        #[arg(long, conflicts_with = "expires_at", value_parser = humantime::parse_duration)]
        expires_in: Option<Duration>,
        /// Expire at this RFC 3339 time (e.g. `2026-12-01T18:00:00Z`).
        #[arg(long, value_parser = humantime::parse_rfc3339_weak)]
        expires_at: Option<SystemTime>,
        /// Total online time allowed (e.g. `1h`).
        #[arg(long, value_parser = humantime::parse_duration)]
        limit_uptime: Option<Duration>,
        /// Total bytes allowed, up and down.
        #[arg(long)]
        limit_bytes_total: Option<u64>,
        /// Free text for the owner.
        #[arg(long)]
        comment: Option<String>,
    },
    /// Remove a hotspot user.
    RemoveUser {
        /// Login name.
        #[arg(long)]
        name: String,
    },
    /// Log a device into the hotspot as a user.
    LoginDevice {
        /// Hotspot user.
        #[arg(long)]
        user: String,
        /// Its password.
        #[arg(long)]
        password: String,
        /// The device's MAC.
        #[arg(long)]
        mac: MacAddress,
        /// The device's IP.
        #[arg(long)]
        ip: std::net::Ipv4Addr,
    },
    /// End a device's active session.
    EndSession {
        /// The device's MAC.
        #[arg(long)]
        mac: MacAddress,
    },
}

impl EnqueueKind {
    /// The protocol command this asks for, validated.
    pub fn into_command(self) -> anyhow::Result<Command> {
        let command = match self {
            EnqueueKind::CreateUser { name, password, profile, mac, expires_in, expires_at, limit_uptime, limit_bytes_total, comment } => {
                let expires_at = match (expires_in, expires_at) {
                    (Some(after), _) => Some(SystemTime::now() + after),
                    (None, at) => at,
                };
                let expires_at = expires_at
                    .map(|at| at.duration_since(UNIX_EPOCH).context("expiry before 1970").map(|d| UnixTime(d.as_secs() as i64)))
                    .transpose()?;
                Command::UpsertHotspotUser(HotspotUser {
                    name,
                    password: Password(password),
                    profile,
                    mac,
                    expires_at,
                    limit_uptime_secs: limit_uptime.map(|d| d.as_secs()),
                    limit_bytes_total,
                    comment,
                })
            }
            EnqueueKind::RemoveUser { name } => Command::RemoveHotspotUser { name },
            EnqueueKind::LoginDevice { user, password, mac, ip } => Command::LoginDevice { user, password: Password(password), mac, ip },
            EnqueueKind::EndSession { mac } => Command::EndSession { mac },
        };
        command.validate()?;
        Ok(command)
    }
}

/// Runs `command ...`.
pub(super) async fn run(store: &dyn Store, command: CommandCommand, out: &mut dyn Write) -> anyhow::Result<()> {
    match command {
        CommandCommand::Enqueue { router, json, kind } => {
            let command = kind.into_command()?;
            let stored = store.enqueue_command(router, &command, now_ms()).await?;
            if json {
                writeln!(out, "{}", without_passwords(serde_json::to_value(&stored)?))?;
            } else {
                writeln!(out, "enqueued {} as seq {} (id {})", command.kind(), stored.seq, stored.id)?;
            }
        }
        CommandCommand::List { router, limit, json } => {
            let commands = store.list_commands(router, limit).await?;
            print_commands(&commands, json, out)?;
        }
    }
    Ok(())
}

fn print_commands(commands: &[StoredCommand], json: bool, out: &mut dyn Write) -> anyhow::Result<()> {
    if json {
        // Hotspot passwords show as `***`.
        writeln!(out, "{}", without_passwords(serde_json::to_value(commands)?))?;
        return Ok(());
    }
    writeln!(out, "{:>6}  {:<20}  {:<10}  RESULT", "SEQ", "KIND", "STATE")?;
    for c in commands {
        let result = match &c.outcome {
            None => String::new(),
            Some(jasiyo_shared::Outcome::Applied { note }) => note.clone().unwrap_or_else(|| "applied".into()),
            Some(jasiyo_shared::Outcome::Failed { message }) => message.clone(),
        };
        writeln!(out, "{:>6}  {:<20}  {:<10}  {}", c.seq, c.command.kind(), c.state.as_str(), result)?;
    }
    Ok(())
}
