//! The operator's command line: `serve`, and the commands that manage tenants, routers and
//! outboxes directly in the database (each with `--json` for scripts).

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand};
use jasiyo_shared::command::Password;
use jasiyo_shared::{Command, HotspotUser, MacAddress, RouterId, UnixTime};
use serde_json::json;

use crate::model::{NewPlan, PaymentId};
use crate::payments::sealer::Sealer;
use crate::providers::{DarajaAccount, ProviderConfig, ProviderKind, Secret};
use crate::model::{Router, StoredCommand};
use crate::store::{self, Store, now_ms};
use crate::token::AgentToken;

/// The Jasiyo cloud: hotspot payments and the hub routers phone home to.
#[derive(Debug, Parser)]
#[command(name = "jasiyo-cloud", version)]
pub struct Cli {
    /// Database URL: `sqlite://PATH` or `postgres://...`. Default: a SQLite file in the data directory.
    #[arg(long, env = "JASIYO_DATABASE_URL", global = true)]
    pub database_url: Option<String>,
    /// Directory for the embedded database.
    #[arg(long, env = "JASIYO_DATA_DIR", default_value = "jasiyo-data", global = true)]
    pub data_dir: PathBuf,
    /// Key sealing provider credentials at rest: base64 of 32 random bytes. Without it a key
    /// file `<data-dir>/secret.key` is used (created on first use). Every instance sharing a
    /// database needs the same key.
    #[arg(long, env = "JASIYO_SECRET_KEY", hide_env_values = true, global = true)]
    pub secret_key: Option<String>,
    /// What to do.
    #[command(subcommand)]
    pub command: CliCommand,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum CliCommand {
    /// Run the cloud service.
    Serve(ServeArgs),
    /// Manage tenants (router owners).
    #[command(subcommand)]
    Tenant(TenantCommand),
    /// Manage routers and their agent tokens.
    #[command(subcommand)]
    Router(RouterCommand),
    /// Put commands in a router's outbox and look at them.
    #[command(subcommand)]
    Command(CommandCommand),
    /// Manage access to the operator HTTP API.
    #[command(subcommand)]
    Operator(OperatorCommand),
    /// Set a tenant's payment provider.
    #[command(subcommand)]
    Provider(ProviderCommand),
    /// Manage a tenant's plans.
    #[command(subcommand)]
    Plan(PlanCommand),
    /// Look at payments.
    #[command(subcommand)]
    Payment(PaymentCommand),
}

/// `operator ...`
#[derive(Debug, Subcommand)]
pub enum OperatorCommand {
    /// Create an operator API token; prints it once.
    Token {
        /// What it is for (a label).
        #[arg(long)]
        name: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// Flags of `serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "JASIYO_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// How providers and agents reach this cloud (callback URLs start with it). Default:
    /// `http://` + the address actually listened on.
    #[arg(long, env = "JASIYO_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Seconds between heartbeats on agent links; three silent periods mark a router offline.
    #[arg(long, env = "JASIYO_HEARTBEAT_SECS", default_value_t = 15, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub heartbeat_secs: u64,
    /// Once listening, write the bound address here (for scripts that pass `--listen 127.0.0.1:0`).
    #[arg(long, env = "JASIYO_READY_FILE")]
    pub ready_file: Option<PathBuf>,
}

/// `provider ...`
#[derive(Debug, Subcommand)]
pub enum ProviderCommand {
    /// Set (or replace) the tenant's one active provider.
    Set {
        /// The tenant, by id or name.
        #[arg(long)]
        tenant: String,
        /// How providers reach this cloud (for the Paystack webhook URL printed).
        #[arg(long, env = "JASIYO_PUBLIC_URL", default_value = "http://127.0.0.1:8080")]
        public_url: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
        /// Which provider, with its credentials.
        #[command(subcommand)]
        provider: ProviderArgs,
    },
}

/// Credentials per provider.
#[derive(Debug, Subcommand)]
pub enum ProviderArgs {
    /// Safaricom Daraja on the owner's Paybill or Till.
    Daraja {
        /// App consumer key.
        #[arg(long, env = "JASIYO_DARAJA_CONSUMER_KEY", hide_env_values = true)]
        consumer_key: String,
        /// App consumer secret.
        #[arg(long, env = "JASIYO_DARAJA_CONSUMER_SECRET", hide_env_values = true)]
        consumer_secret: String,
        /// Business short code (the paybill, or the store number of a till).
        #[arg(long)]
        short_code: String,
        /// Lipa Na M-Pesa Online passkey.
        #[arg(long, env = "JASIYO_DARAJA_PASSKEY", hide_env_values = true)]
        passkey: String,
        /// Till number (Buy Goods); without it the short code is a paybill.
        #[arg(long)]
        till: Option<String>,
        /// API base URL (default: Safaricom production).
        #[arg(long)]
        base_url: Option<String>,
    },
    /// PayHero v2.
    Payhero {
        /// API username.
        #[arg(long, env = "JASIYO_PAYHERO_USERNAME", hide_env_values = true)]
        username: String,
        /// API password.
        #[arg(long, env = "JASIYO_PAYHERO_PASSWORD", hide_env_values = true)]
        password: String,
        /// Payment channel id.
        #[arg(long)]
        channel_id: u64,
        /// API base URL (default: PayHero production).
        #[arg(long)]
        base_url: Option<String>,
    },
    /// Paystack mobile money (M-Pesa).
    Paystack {
        /// Secret key (`sk_live_...`); also signs webhooks.
        #[arg(long, env = "JASIYO_PAYSTACK_SECRET_KEY", hide_env_values = true)]
        secret_key: String,
        /// API base URL (default: Paystack production).
        #[arg(long)]
        base_url: Option<String>,
    },
}

impl ProviderArgs {
    fn into_config(self) -> ProviderConfig {
        match self {
            ProviderArgs::Daraja { consumer_key, consumer_secret, short_code, passkey, till, base_url } => ProviderConfig::Daraja {
                consumer_key: Secret(consumer_key),
                consumer_secret: Secret(consumer_secret),
                short_code,
                passkey: Secret(passkey),
                account: match till {
                    Some(till_number) => DarajaAccount::Till { till_number },
                    None => DarajaAccount::Paybill,
                },
                base_url,
            },
            ProviderArgs::Payhero { username, password, channel_id, base_url } => {
                ProviderConfig::Payhero { username: Secret(username), password: Secret(password), channel_id, base_url }
            }
            ProviderArgs::Paystack { secret_key, base_url } => ProviderConfig::Paystack { secret_key: Secret(secret_key), base_url },
        }
    }
}

/// `plan ...`
#[derive(Debug, Subcommand)]
pub enum PlanCommand {
    /// Add a plan.
    Add {
        /// The tenant, by id or name.
        #[arg(long)]
        tenant: String,
        /// Its name ("1 hour").
        #[arg(long)]
        name: String,
        /// Price in whole Kenyan shillings.
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..=250_000))]
        price: u32,
        /// How long access lasts (`1h`, `1d`, `7d`).
        #[arg(long, value_parser = humantime::parse_duration)]
        duration: Duration,
        /// Data allowance in MB.
        #[arg(long)]
        data_mb: Option<u64>,
        /// Rate limit shown to customers (`2M/5M`); apply it with a RouterOS profile.
        #[arg(long)]
        rate_limit: Option<String>,
        /// RouterOS hotspot user profile for this plan's users.
        #[arg(long)]
        profile: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// List a tenant's plans.
    List {
        /// The tenant, by id or name.
        #[arg(long)]
        tenant: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// `payment ...`
#[derive(Debug, Subcommand)]
pub enum PaymentCommand {
    /// A router's payments, newest first.
    List {
        /// The router id.
        #[arg(long)]
        router: RouterId,
        /// At most this many.
        #[arg(long, default_value_t = 50)]
        limit: u32,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// One payment with its timeline.
    Show {
        /// The payment id.
        payment: PaymentId,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// `tenant ...`
#[derive(Debug, Subcommand)]
pub enum TenantCommand {
    /// Create a tenant.
    Create {
        /// Its name (unique).
        #[arg(long)]
        name: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// `router ...`
#[derive(Debug, Subcommand)]
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
    /// command at its top, which fetches it from the cloud) carries the router's token.
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
    /// Revoke a router's token: its agent is refused from now on.
    Revoke {
        /// The router id.
        router: RouterId,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

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
#[derive(Debug, Subcommand)]
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
            EnqueueKind::CreateUser {
                name,
                password,
                profile,
                mac,
                expires_in,
                expires_at,
                limit_uptime,
                limit_bytes_total,
                comment,
            } => {
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
            EnqueueKind::LoginDevice { user, password, mac, ip } => {
                Command::LoginDevice { user, password: Password(password), mac, ip }
            }
            EnqueueKind::EndSession { mac } => Command::EndSession { mac },
        };
        command.validate()?;
        Ok(command)
    }
}

/// Runs one management subcommand (not `serve`) against the configured database,
/// writing its output to `out`.
pub async fn run_admin(cli: Cli, out: &mut dyn Write) -> anyhow::Result<()> {
    let store = store::connect(cli.database_url.as_deref(), &cli.data_dir).await?;
    let store = store.as_ref();
    match cli.command {
        CliCommand::Serve(_) => bail!("serve is not a management command"),
        CliCommand::Tenant(TenantCommand::Create { name, json }) => {
            let name = name.trim();
            if name.is_empty() {
                bail!("a tenant needs a name");
            }
            let tenant = store.create_tenant(name, now_ms()).await?;
            if json {
                writeln!(out, "{}", serde_json::to_string(&tenant)?)?;
            } else {
                writeln!(out, "tenant {} created with id {}", tenant.name, tenant.id)?;
            }
        }
        CliCommand::Router(command) => router_command(store, command, out).await?,
        CliCommand::Command(command) => command_command(store, command, out).await?,
        CliCommand::Provider(ProviderCommand::Set { tenant, public_url, json, provider }) => {
            let tenant = store.find_tenant(&tenant).await?.with_context(|| format!("no tenant {tenant:?}"))?;
            let sealer = Sealer::from_env_or_file(cli.secret_key.as_deref(), &cli.data_dir.join("secret.key"))?;
            let config = provider.into_config();
            let kind = config.kind();
            let sealed = sealer.seal(serde_json::to_string(&config)?.as_bytes())?;
            let webhook_token = AgentToken::generate();
            store.set_provider(tenant.id, kind, &sealed, &webhook_token.hash(), now_ms()).await?;
            let webhook = format!("{}/callbacks/{}/{}", public_url.trim_end_matches('/'), kind.as_str(), webhook_token.expose());
            if json {
                writeln!(out, "{}", json!({ "tenant": tenant.id, "provider": kind.as_str(), "webhook_url": webhook }))?;
            } else {
                writeln!(out, "{} is now the payment provider of {} (credentials sealed at rest)", kind.as_str(), tenant.name)?;
                if kind == ProviderKind::Paystack {
                    writeln!(out, "Set this webhook URL on the Paystack dashboard: {webhook}")?;
                }
            }
        }
        CliCommand::Plan(command) => plan_command(store, command, out).await?,
        CliCommand::Payment(command) => payment_command(store, command, out).await?,
        CliCommand::Operator(OperatorCommand::Token { name, json }) => {
            let token = AgentToken::generate();
            store.create_operator_token(&name, &token.hash(), now_ms()).await?;
            if json {
                writeln!(out, "{}", json!({ "name": name, "token": token.expose() }))?;
            } else {
                writeln!(out, "operator token {name}: {}", token.expose())?;
                writeln!(out, "It is shown only now; send it as `Authorization: Bearer <token>` to /api/v1.")?;
            }
        }
    }
    Ok(())
}

async fn plan_command(store: &dyn Store, command: PlanCommand, out: &mut dyn Write) -> anyhow::Result<()> {
    match command {
        PlanCommand::Add { tenant, name, price, duration, data_mb, rate_limit, profile, json } => {
            let tenant = store.find_tenant(&tenant).await?.with_context(|| format!("no tenant {tenant:?}"))?;
            let name = name.trim().to_string();
            if name.is_empty() || name.len() > 40 {
                bail!("a plan needs a name of 1 to 40 characters");
            }
            if duration < Duration::from_secs(60) {
                bail!("a plan lasts at least a minute");
            }
            let plan = NewPlan { name, price_kes: price, duration_secs: duration.as_secs(), data_mb, rate_limit, profile };
            let plan = store.create_plan(tenant.id, &plan, now_ms()).await?;
            if json {
                writeln!(out, "{}", serde_json::to_string(&plan)?)?;
            } else {
                writeln!(out, "plan {} added: {} KES for {} (id {})", plan.name, plan.price_kes, humantime::format_duration(duration), plan.id)?;
            }
        }
        PlanCommand::List { tenant, json } => {
            let tenant = store.find_tenant(&tenant).await?.with_context(|| format!("no tenant {tenant:?}"))?;
            let plans = store.list_plans(tenant.id).await?;
            if json {
                writeln!(out, "{}", serde_json::to_string(&plans)?)?;
            } else {
                for p in plans {
                    let duration = humantime::format_duration(Duration::from_secs(p.duration_secs));
                    writeln!(out, "{}  {:>6} KES  {:<10}  {}", p.id, p.price_kes, duration.to_string(), p.name)?;
                }
            }
        }
    }
    Ok(())
}

async fn payment_command(store: &dyn Store, command: PaymentCommand, out: &mut dyn Write) -> anyhow::Result<()> {
    match command {
        PaymentCommand::List { router, limit, json } => {
            let payments = store.list_payments(router, limit).await?;
            if json {
                writeln!(out, "{}", serde_json::to_string(&payments)?)?;
            } else {
                for p in payments {
                    let reason = p.reason.as_deref().or(p.receipt.as_deref()).unwrap_or("");
                    writeln!(out, "{}  {:>6} KES  {}  {:<10}  {}", p.id, p.amount_kes, p.msisdn, p.state.as_str(), reason)?;
                }
            }
        }
        PaymentCommand::Show { payment, json } => {
            let p = store.payment(payment).await?.with_context(|| format!("no payment {payment}"))?;
            let events = store.payment_events(payment).await?;
            let entitlement = store.entitlement_for_payment(payment).await?;
            if json {
                writeln!(out, "{}", json!({ "payment": p, "timeline": events, "entitlement": entitlement }))?;
            } else {
                writeln!(out, "payment {}: {} KES from {} via {}, {}", p.id, p.amount_kes, p.msisdn, p.provider.as_str(), p.state.as_str())?;
                for e in events {
                    writeln!(out, "  {}  {:<20} {}", e.at, e.kind, e.detail)?;
                }
            }
        }
    }
    Ok(())
}

async fn router_command(store: &dyn Store, command: RouterCommand, out: &mut dyn Write) -> anyhow::Result<()> {
    match command {
        RouterCommand::Add { tenant, name, json } => {
            let tenant = store.find_tenant(&tenant).await?.with_context(|| format!("no tenant {tenant:?}"))?;
            let name = name.trim();
            if name.is_empty() {
                bail!("a router needs a name");
            }
            let token = AgentToken::generate();
            let router = store.create_router(tenant.id, name, &token.hash(), now_ms()).await?;
            if json {
                let value = json!({ "id": router.id, "tenant_id": router.tenant_id, "name": router.name, "token": token.expose() });
                writeln!(out, "{value}")?;
            } else {
                writeln!(out, "router {} added for tenant {}", router.name, tenant.name)?;
                writeln!(out, "router id: {}", router.id)?;
                writeln!(out, "token:     {}", token.expose())?;
                writeln!(out, "The token is shown only now; give it to the agent (JASIYO_TOKEN).")?;
            }
        }
        RouterCommand::List { tenant, json } => {
            let tenant = match tenant {
                Some(t) => Some(store.find_tenant(&t).await?.with_context(|| format!("no tenant {t:?}"))?.id),
                None => None,
            };
            let routers = store.list_routers(tenant).await?;
            print_routers(&routers, json, out)?;
        }
        RouterCommand::Events { router, limit, json } => {
            let events = store.list_events(router, limit).await?;
            if json {
                writeln!(out, "{}", serde_json::to_string(&events)?)?;
            } else {
                for e in &events {
                    writeln!(out, "{}  {}", e.happened_at, serde_json::to_string(&e.event)?)?;
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
            write!(out, "{}", crate::portal::hotspot::install_script(&portal, router, &found.name, token.trim()))?;
        }
        RouterCommand::Revoke { router, json } => {
            let revoked = store.revoke_router(router, now_ms()).await?;
            if store.router(router).await?.is_none() {
                bail!("no router {router}");
            }
            if json {
                writeln!(out, "{}", json!({ "id": router, "revoked": revoked }))?;
            } else if revoked {
                writeln!(out, "router {router} revoked; its agent will be refused")?;
            } else {
                writeln!(out, "router {router} was already revoked")?;
            }
        }
    }
    Ok(())
}

/// A router is shown offline once its agent has been silent this long. Agents ping every
/// heartbeat (15 s by default) and live sessions are re-stamped every heartbeat.
const STALE_AFTER_MS: i64 = 60_000;

fn print_routers(routers: &[Router], json: bool, out: &mut dyn Write) -> anyhow::Result<()> {
    let now = now_ms();
    if json {
        let rows: Vec<_> = routers
            .iter()
            .map(|r| {
                let mut value = serde_json::to_value(r).expect("routers serialise");
                value["online"] = json!(r.is_online(now, STALE_AFTER_MS));
                value["revoked"] = json!(r.revoked_at.is_some());
                value
            })
            .collect();
        writeln!(out, "{}", serde_json::to_string(&rows)?)?;
        return Ok(());
    }
    writeln!(out, "{:<36}  {:<16}  {:<8}  {:<10}  {:<12}  {:>7}  IDENTITY", "ID", "NAME", "LINK", "AGENT", "LAST SEEN", "JOURNAL")?;
    for r in routers {
        let link = if r.revoked_at.is_some() {
            "revoked"
        } else if r.is_online(now, STALE_AFTER_MS) {
            "online"
        } else {
            "offline"
        };
        let seen = r.last_seen_at.map_or("never".to_string(), |t| format!("{}s ago", (now - t).max(0) / 1000));
        let status = r.status.as_ref();
        writeln!(
            out,
            "{:<36}  {:<16}  {:<8}  {:<10}  {:<12}  {:>7}  {}",
            r.id,
            r.name,
            link,
            r.agent_version.as_deref().unwrap_or("-"),
            seen,
            status.map_or("-".to_string(), |s| s.journal_depth.to_string()),
            status.and_then(|s| s.identity.as_deref()).unwrap_or("-"),
        )?;
    }
    Ok(())
}

async fn command_command(store: &dyn Store, command: CommandCommand, out: &mut dyn Write) -> anyhow::Result<()> {
    match command {
        CommandCommand::Enqueue { router, json, kind } => {
            let command = kind.into_command()?;
            let stored = store.enqueue_command(router, &command, now_ms()).await?;
            if json {
                writeln!(out, "{}", serde_json::to_string(&stored)?)?;
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
        writeln!(out, "{}", serde_json::to_string(commands)?)?;
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
