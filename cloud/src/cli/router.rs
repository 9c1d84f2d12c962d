//! `router ...`: adding routers (and their agent tokens), listing them with their link
//! state, what their agents did on their own, their install script, their free trial,
//! revoking them.

use std::collections::HashMap;
use std::io::Write;

use anyhow::{Context, bail};
use clap::Subcommand;
use jasiyo_shared::RouterId;
use jiff::tz::TimeZone;
use serde_json::json;

use super::serve::HeartbeatArgs;
use crate::model::{Router, TenantId};
use crate::store::{Store, now_ms};
use crate::time::{DEFAULT_TIME_ZONE, since_with_age, zone_or_default};
use crate::token::AgentToken;

/// `router ...`
#[derive(Subcommand)] // Debug hides its secrets: crate::redact.
pub enum RouterCommand {
    /// Add a router; prints its id and a fresh agent token, once.
    Add {
        /// The owning tenant, by id or name.
        #[arg(long)]
        tenant: String,
        /// The router's name (unique per tenant).
        #[arg(long)]
        name: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// List routers with their link state and last status.
    List {
        /// Only this tenant's (id or name).
        #[arg(long)]
        tenant: Option<String>,
        /// The heartbeat the cloud runs with, which decides when a silent router is offline.
        #[command(flatten)]
        heartbeat: HeartbeatArgs,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show what a router's agent did on its own (expiries, repairs), newest first.
    Events {
        /// The router id.
        router: RouterId,
        /// At most this many.
        #[arg(long, default_value_t = 100)]
        limit: u32,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Print the RouterOS script that installs the hotspot pages sending customers to the
    /// portal, and the walled-garden entries the portal needs. The script (and the one-line
    /// command at its top, which fetches it from the cloud) carries the router's download
    /// credential, made from its token: it downloads these files and nothing else.
    InstallScript {
        /// The router id.
        router: RouterId,
        /// The router's agent token, as `router add` printed it (checked against its hash).
        #[arg(long, env = "JASIYO_TOKEN", hide_env_values = true)]
        token: String,
        /// How routers and customers reach this cloud.
        #[arg(long, env = "JASIYO_PUBLIC_URL", default_value = "http://127.0.0.1:8080")]
        public_url: String,
    },
    /// Print the RouterOS script that installs the agent as a container on the router itself
    /// (RouterOS 7.21 or later, arm64/arm/x86): device-mode check, NTP, an API user with
    /// minimal rights and a new random password, the container's network and firewall rule,
    /// and the container with the agent's settings. It carries the token: print it only for
    /// the router's owner.
    ContainerScript {
        /// The router id.
        router: RouterId,
        /// The router's agent token, as `router add` printed it (checked against its hash).
        #[arg(long, env = "JASIYO_TOKEN", hide_env_values = true)]
        token: String,
        /// How the agent reaches this cloud.
        #[arg(long, env = "JASIYO_PUBLIC_URL", default_value = "http://127.0.0.1:8080")]
        public_url: String,
    },
    /// Give a router a new agent token, keeping its id (its hotspot pages keep working);
    /// prints the token, once. The old token stops working at once: a live session on it
    /// is ended.
    RotateToken {
        /// The router id.
        router: RouterId,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Turn the router's free trial on (`--minutes N`, once a day per device; its portal
    /// then offers "Try free for N minutes") or off (`--off`). The router enforces it.
    Trial {
        /// The router id.
        router: RouterId,
        /// Minutes of free use per device per day (1 to 60).
        #[arg(long, conflicts_with = "off", required_unless_present = "off")]
        minutes: Option<u32>,
        /// Turn the trial off.
        #[arg(long)]
        off: bool,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Revoke a router's token: its agent is refused from now on, and a live session is
    /// ended (on whichever cloud instance holds it).
    Revoke {
        /// The router id.
        router: RouterId,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// Runs `router ...`.
pub(super) async fn run(store: &dyn Store, command: RouterCommand, out: &mut dyn Write) -> anyhow::Result<()> {
    match command {
        RouterCommand::Add { tenant, name, json } => {
            let tenant = store.find_tenant(&tenant).await?.with_context(|| format!("no tenant {tenant:?}"))?;
            let (router, token) = crate::routers::add_router(store, tenant.id, &name).await?;
            if json {
                let value = json!({ "id": router.id, "tenant_id": router.tenant_id, "name": router.name, "token": token.expose() });
                writeln!(out, "{value}")?;
            } else {
                writeln!(out, "router {} added for tenant {}", router.name, tenant.name)?;
                write!(out, "{}", crate::routers::token_notice(router.id, token.expose()))?;
            }
        }
        RouterCommand::List { tenant, heartbeat, json } => {
            let tenant = match tenant {
                Some(t) => Some(store.find_tenant(&t).await?.with_context(|| format!("no tenant {t:?}"))?.id),
                None => None,
            };
            let routers = store.list_routers(tenant).await?;
            let stale_after_ms = heartbeat.hub_config().stale_after().as_millis() as i64;
            let mut zones = HashMap::new();
            for router in &routers {
                if let std::collections::hash_map::Entry::Vacant(entry) = zones.entry(router.tenant_id) {
                    entry.insert(super::zones::of_tenant(store, router.tenant_id).await?);
                }
            }
            print_routers(&routers, &zones, stale_after_ms, json, out)?;
        }
        RouterCommand::Events { router, limit, json } => {
            let events = store.list_events(router, limit).await?;
            let tz = super::zones::of_router(store, router).await?;
            if json {
                let mut value = serde_json::to_value(&events)?;
                crate::time::with_rfc3339(&mut value, &tz);
                writeln!(out, "{value}")?;
            } else {
                for e in &events {
                    writeln!(out, "{}  {}", crate::time::show_secs(e.happened_at, &tz), serde_json::to_string(&e.event)?)?;
                }
            }
        }
        RouterCommand::InstallScript { router, token, public_url } => {
            let found = store.router(router).await?.with_context(|| format!("no router {router}"))?;
            if found.revoked_at.is_some() {
                bail!("router {router} is revoked");
            }
            if !crate::token::verify_token(token.trim(), &found.token_hash) {
                bail!("that is not router {router}'s token");
            }
            let portal = crate::portal::hotspot::PortalHost::parse(&public_url).map_err(anyhow::Error::msg)?;
            // The script downloads with a credential made from the token, good for nothing else.
            write!(out, "{}", crate::routers::hotspot_script(store, &portal, &found, &token).await?)?;
        }
        RouterCommand::ContainerScript { router, token, public_url } => {
            let found = store.router(router).await?.with_context(|| format!("no router {router}"))?;
            if found.revoked_at.is_some() {
                bail!("router {router} is revoked");
            }
            if !crate::token::verify_token(token.trim(), &found.token_hash) {
                bail!("that is not router {router}'s token");
            }
            write!(out, "{}", crate::routers::container_script(&public_url, &found, token.trim()))?;
        }
        RouterCommand::RotateToken { router, json } => {
            let found = store.router(router).await?.with_context(|| format!("no router {router}"))?;
            if found.revoked_at.is_some() {
                bail!("router {router} is revoked; add it again instead");
            }
            let token = AgentToken::generate();
            if !store.rotate_router_token(router, &token.hash(), now_ms()).await? {
                bail!("router {router} was revoked meanwhile");
            }
            if json {
                writeln!(out, "{}", json!({ "id": router, "token": token.expose() }))?;
            } else {
                writeln!(out, "router {} has a new token; the old one no longer works", found.name)?;
                write!(out, "{}", crate::routers::token_notice(router, token.expose()))?;
            }
        }
        RouterCommand::Trial { router, minutes, off, json } => {
            let minutes = if off { None } else { minutes };
            let seq = crate::trial::set_trial(store, router, minutes).await.with_context(|| format!("router {router}"))?;
            if json {
                writeln!(out, "{}", json!({ "id": router, "trial_minutes": minutes, "command_seq": seq.0 }))?;
            } else {
                match minutes {
                    Some(m) => writeln!(out, "free trial on router {router}: {m} minutes once a day per device (command #{})", seq.0)?,
                    None => writeln!(out, "free trial off on router {router} (command #{})", seq.0)?,
                }
            }
        }
        RouterCommand::Revoke { router, json } => {
            let revoked = store.revoke_router(router, now_ms()).await?;
            if store.router(router).await?.is_none() {
                bail!("no router {router}");
            }
            if json {
                writeln!(out, "{}", json!({ "id": router, "revoked": revoked }))?;
            } else if revoked {
                writeln!(out, "router {router} revoked; its agent is disconnected and will be refused")?;
            } else {
                writeln!(out, "router {router} was already revoked")?;
            }
        }
    }
    Ok(())
}

/// Prints routers with their link state and since when (in each owner's time zone, from
/// `zones`): offline once silent for `stale_after_ms` (live sessions are re-stamped every
/// heartbeat, see [`crate::hub::HubConfig::stale_after`]).
fn print_routers(
    routers: &[Router],
    zones: &HashMap<TenantId, TimeZone>,
    stale_after_ms: i64,
    json: bool,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    let now = now_ms();
    if json {
        let rows = routers
            .iter()
            .map(|r| {
                let mut value = serde_json::to_value(r)?;
                value["online"] = json!(r.is_online(now, stale_after_ms));
                value["link"] = json!(r.link(now, stale_after_ms));
                value["revoked"] = json!(r.revoked_at.is_some());
                Ok(value)
            })
            .collect::<serde_json::Result<Vec<_>>>()?;
        writeln!(out, "{}", serde_json::to_string(&rows)?)?;
        return Ok(());
    }
    writeln!(
        out,
        "{:<36}  {:<16}  {:<8}  {:<24}  {:<10}  {:<12}  {:>7}  {:<16}  IDENTITY",
        "ID", "NAME", "LINK", "SINCE", "AGENT", "LAST SEEN", "JOURNAL", "CLOCK"
    )?;
    for r in routers {
        let link = r.link(now, stale_after_ms);
        let state = if r.revoked_at.is_some() {
            "revoked"
        } else if link.is_online() {
            "online"
        } else {
            "offline"
        };
        let tz = zones.get(&r.tenant_id).cloned().unwrap_or_else(|| zone_or_default(DEFAULT_TIME_ZONE));
        let since = link.since().map_or("-".to_string(), |t| since_with_age(t, now, &tz));
        let seen = r.last_seen_at.map_or("never".to_string(), |t| format!("{}s ago", (now - t).max(0) / 1000));
        let status = r.status.as_ref();
        writeln!(
            out,
            "{:<36}  {:<16}  {:<8}  {:<24}  {:<10}  {:<12}  {:>7}  {:<16}  {}",
            r.id,
            r.name,
            state,
            since,
            r.agent_version.as_deref().unwrap_or("-"),
            seen,
            status.map_or("-".to_string(), |s| s.journal_depth.to_string()),
            r.clock_skew_ms.map_or("-".to_string(), crate::model::describe_skew),
            status.and_then(|s| s.identity.as_deref()).unwrap_or("-"),
        )?;
    }
    Ok(())
}
