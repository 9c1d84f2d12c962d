//! `serve`: the flags of the running service (`main.rs` builds and runs it).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use crate::http::ServerTimeouts;
use crate::hub::HubConfig;
use crate::payments::held::HoldLimits;
use crate::payments::limits::LimitConfig;

/// Flags of `serve`.
// Debug hides its secrets (the SMTP URL's password): crate::redact.
#[derive(Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "JASIYO_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Serve Prometheus metrics at `/metrics` on this address (e.g. `127.0.0.1:9464`), apart
    /// from `--listen`. Without it no metrics are served: they are never on the public address.
    #[arg(long, env = "JASIYO_METRICS_LISTEN")]
    pub metrics_listen: Option<SocketAddr>,
    /// How providers and agents reach this cloud (callback URLs start with it). Default:
    /// `http://` + the address actually listened on.
    #[arg(long, env = "JASIYO_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// The domain of the customer e-mail Paystack's charge requires (`<phone>@<domain>`): one
    /// you control, since Paystack may send receipts there. Default: `hotspot.` + the public
    /// URL's host (`hotspot.localhost` when that host is an IP address).
    #[arg(long, env = "JASIYO_PAYSTACK_EMAIL_DOMAIN")]
    pub paystack_email_domain: Option<crate::providers::paystack::EmailDomain>,
    /// The heartbeat on agent links.
    #[command(flatten)]
    pub heartbeat: HeartbeatArgs,
    /// Agents between their upgrade and their welcome at most; more (a restart's whole fleet
    /// dialling at once) wait in line for a place.
    #[arg(long, env = "JASIYO_MAX_AGENT_HANDSHAKES", default_value_t = 512, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub max_agent_handshakes: u64,
    /// Agent upgrades waiting in that line at most; more are answered with HTTP 503 and a
    /// `Retry-After` they honour.
    #[arg(long, env = "JASIYO_AGENT_HANDSHAKE_QUEUE", default_value_t = 32_768, value_parser = clap::value_parser!(u64).range(0..=1_000_000))]
    pub agent_handshake_queue: u64,
    /// How long an agent upgrade waits in that line at most before it too is answered 503
    /// (below the agent's connect timeout of 10 s).
    #[arg(long, env = "JASIYO_AGENT_HANDSHAKE_WAIT_SECS", default_value_t = 8, value_parser = clap::value_parser!(u64).range(0..=9))]
    pub agent_handshake_wait_secs: u64,
    /// Proxies or load balancers in front of the cloud, as CIDRs (`10.0.0.0/8,127.0.0.1/32`):
    /// only requests from these have their `X-Forwarded-For` / `Forwarded` / `X-Real-IP`
    /// believed for the client's address (rate limits count it). Default: none.
    #[arg(long, env = "JASIYO_TRUSTED_PROXIES", value_delimiter = ',')]
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// HTTP timeouts against slow clients.
    #[command(flatten)]
    pub timeouts: TimeoutArgs,
    /// Rate limits on starting payments, and the cap on held long polls.
    #[command(flatten)]
    pub limits: LimitArgs,
    /// Start even when the sealing key file (`<data-dir>/secret.key`) can be read by group or
    /// others (a loud warning instead of a refusal). Better: `chmod 600` it.
    #[arg(long, env = "JASIYO_ALLOW_READABLE_KEY_FILE")]
    pub allow_readable_key_file: bool,
    /// The SMTP server the dashboard's mail (password resets, invitations) goes through:
    /// `smtp://user:pass@host:587?tls=required`, `smtps://user:pass@host:465` or
    /// `smtp://127.0.0.1:25`. Without it no mail is sent (`account reset-link` still works).
    #[arg(long, env = "JASIYO_SMTP_URL", hide_env_values = true)]
    pub smtp_url: Option<String>,
    /// The sender of that mail.
    #[arg(long, env = "JASIYO_MAIL_FROM", default_value = "Jasiyo <noreply@localhost>")]
    pub mail_from: String,
    /// Let owners' alert webhooks reach loopback, private and link-local addresses (an
    /// internal monitoring system). Off by default: a webhook could otherwise make the cloud
    /// post to its own network's services.
    #[arg(long, env = "JASIYO_ALLOW_PRIVATE_WEBHOOKS")]
    pub allow_private_webhooks: bool,
    /// Start even when providers could not reach the callbacks: no `--public-url`, one that
    /// is not `https://`, or one with a word Safaricom refuses (a loud warning instead of a
    /// refusal). For running locally against the emulators.
    #[arg(long, env = "JASIYO_ALLOW_UNREACHABLE_CALLBACKS")]
    pub allow_unreachable_callbacks: bool,
    /// Once listening, write the bound address here (for scripts that pass `--listen 127.0.0.1:0`).
    #[arg(long, env = "JASIYO_READY_FILE")]
    pub ready_file: Option<PathBuf>,
}

/// The heartbeat flag, shared by `serve` and `router list` so that a router list tells
/// online from offline the way the running service does.
#[derive(Debug, Args)]
pub struct HeartbeatArgs {
    /// Seconds between heartbeats on agent links; three silent periods mark a router offline.
    #[arg(long, env = "JASIYO_HEARTBEAT_SECS", default_value_t = 15, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub heartbeat_secs: u64,
}

impl HeartbeatArgs {
    /// The hub configuration with this heartbeat (the rest at defaults).
    pub fn hub_config(&self) -> HubConfig {
        HubConfig { heartbeat: Duration::from_secs(self.heartbeat_secs), ..HubConfig::default() }
    }
}

/// How long a client may take, so that slow or silent ones cannot hold connections.
#[derive(Debug, Args)]
pub struct TimeoutArgs {
    /// Seconds a client has to send a request's line and headers (and the longest silence
    /// on a kept-alive connection between requests).
    #[arg(long, env = "JASIYO_HEADER_TIMEOUT_SECS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=600))]
    pub header_timeout_secs: u64,
    /// Seconds a request may take to be answered, body included (the portal's long poll
    /// holds for 8).
    #[arg(long, env = "JASIYO_REQUEST_TIMEOUT_SECS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(10..=3600))]
    pub request_timeout_secs: u64,
    /// Seconds a connection may move no byte before it is dropped (agents' WebSocket links
    /// are watched by their heartbeat instead).
    #[arg(long, env = "JASIYO_IDLE_TIMEOUT_SECS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(10..=3600))]
    pub idle_timeout_secs: u64,
}

impl TimeoutArgs {
    /// The server's timeouts.
    pub fn timeouts(&self) -> ServerTimeouts {
        ServerTimeouts {
            header_read: Duration::from_secs(self.header_timeout_secs),
            request: Duration::from_secs(self.request_timeout_secs),
            idle: Duration::from_secs(self.idle_timeout_secs),
        }
    }
}

/// Rate limits on starting payments (see `payments::limits` for what each protects), and
/// the cap on the portal's held long polls. The defaults suit a few hundred hotspots.
#[derive(Debug, Args)]
pub struct LimitArgs {
    /// Payment attempts per phone number from one client address, per limit window.
    #[arg(long, env = "JASIYO_LIMIT_PER_PHONE", default_value_t = LimitConfig::default().per_phone)]
    pub limit_per_phone: usize,
    /// Payment attempts per device (MAC), per limit window.
    #[arg(long, env = "JASIYO_LIMIT_PER_DEVICE", default_value_t = LimitConfig::default().per_device)]
    pub limit_per_device: usize,
    /// Payment attempts per client address, per limit window.
    #[arg(long, env = "JASIYO_LIMIT_PER_IP", default_value_t = LimitConfig::default().per_ip)]
    pub limit_per_ip: usize,
    /// The window of the three limits above, in seconds.
    #[arg(long, env = "JASIYO_LIMIT_WINDOW_SECS", default_value_t = LimitConfig::default().window.as_secs(), value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub limit_window_secs: u64,
    /// STK prompts per router per minute.
    #[arg(long, env = "JASIYO_LIMIT_PER_ROUTER", default_value_t = LimitConfig::default().per_router)]
    pub limit_per_router: usize,
    /// STK prompts per tenant (all its routers) per minute.
    #[arg(long, env = "JASIYO_LIMIT_PER_TENANT", default_value_t = LimitConfig::default().per_tenant)]
    pub limit_per_tenant: usize,
    /// STK prompts on the whole platform per minute.
    #[arg(long, env = "JASIYO_LIMIT_GLOBAL", default_value_t = LimitConfig::default().global)]
    pub limit_global: usize,
    /// Cancelled prompts (per phone and client address, in a day) before new ones wait.
    #[arg(long, env = "JASIYO_FREE_CANCELS", default_value_t = LimitConfig::default().free_cancels)]
    pub free_cancels: u32,
    /// Seconds waited after the first cancellation past the free ones; doubles with each.
    #[arg(long, env = "JASIYO_CANCEL_BACKOFF_SECS", default_value_t = LimitConfig::default().cancel_backoff.as_secs())]
    pub cancel_backoff_secs: u64,
    /// The longest wait after cancellations, in seconds.
    #[arg(long, env = "JASIYO_MAX_BACKOFF_SECS", default_value_t = LimitConfig::default().max_backoff.as_secs())]
    pub max_backoff_secs: u64,
    /// Long polls held at once per client address (over it, the answer comes at once).
    #[arg(long, env = "JASIYO_LONG_POLLS_PER_CLIENT", default_value_t = HoldLimits::default().per_client)]
    pub long_polls_per_client: usize,
    /// Long polls held at once in this instance.
    #[arg(long, env = "JASIYO_LONG_POLLS_TOTAL", default_value_t = HoldLimits::default().total)]
    pub long_polls_total: usize,
}

impl LimitArgs {
    /// The limits on starting payments.
    pub fn limits(&self) -> LimitConfig {
        LimitConfig {
            per_phone: self.limit_per_phone,
            per_device: self.limit_per_device,
            per_ip: self.limit_per_ip,
            window: Duration::from_secs(self.limit_window_secs),
            per_router: self.limit_per_router,
            per_tenant: self.limit_per_tenant,
            global: self.limit_global,
            free_cancels: self.free_cancels,
            cancel_backoff: Duration::from_secs(self.cancel_backoff_secs),
            max_backoff: Duration::from_secs(self.max_backoff_secs),
        }
    }

    /// The caps on held long polls.
    pub fn holds(&self) -> HoldLimits {
        HoldLimits { per_client: self.long_polls_per_client, total: self.long_polls_total }
    }
}
