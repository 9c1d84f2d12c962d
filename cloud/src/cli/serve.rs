//! `serve`: the flags of the running service (`main.rs` builds and runs it).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use crate::http::ServerTimeouts;
use crate::hub::HubConfig;

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
    /// The heartbeat on agent links.
    #[command(flatten)]
    pub heartbeat: HeartbeatArgs,
    /// Proxies or load balancers in front of the cloud, as CIDRs (`10.0.0.0/8,127.0.0.1/32`):
    /// only requests from these have their `X-Forwarded-For` / `Forwarded` / `X-Real-IP`
    /// believed for the client's address (rate limits count it). Default: none.
    #[arg(long, env = "JASIYO_TRUSTED_PROXIES", value_delimiter = ',')]
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// HTTP timeouts against slow clients.
    #[command(flatten)]
    pub timeouts: TimeoutArgs,
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
