//! `bench-fleet`: how many agents one cloud holds, what each costs it, and how fast a command
//! reaches its router. Run it through `scripts/bench-fleet`, which raises the open-file limit
//! and builds the release binaries first.
//!
//! The bench provisions a tenant, N routers and an operator token straight into a fresh
//! database, starts `jasiyo-cloud serve` as a child process, connects N protocol-only agents
//! (hello, heartbeats, acknowledgements; no journal, no RouterOS) and measures the cloud's
//! memory per agent, its idle CPU with heartbeats running, and the latency from a POST to the
//! operator API to the `Deliver` arriving at the agent.
//!
//! The agents live in worker processes (this binary again, as the hidden `worker`
//! subcommand), each holding at most `--agents-per-worker` links: one process cannot hold
//! 20,000 sockets under a 20,000 open-file hard limit, which is what our benchmark machine
//! (a container without CAP_SYS_RESOURCE) allows. A worker tells the bench what happens one
//! line at a time on its stdout (see [`Report`]). Workers stamp each `Deliver` with the wall
//! clock and the bench stamps each POST with the same clock; both run on one machine, so the
//! difference is the latency.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand};
use futures_util::{StreamExt, TryStreamExt};
use jasiyo_shared::RouterId;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin};
use tokio::sync::mpsc;
use tokio::time::Instant;

#[path = "bench_fleet/restart.rs"]
mod restart;

/// Benchmarks one `jasiyo-cloud` against a fleet of simulated agents.
#[derive(Debug, Parser)]
#[command(name = "bench-fleet", args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    role: Option<Role>,
    #[command(flatten)]
    bench: BenchArgs,
}

#[derive(Debug, Subcommand)]
enum Role {
    /// Internal: holds a share of the agents for a running bench (reads them on stdin).
    #[command(hide = true)]
    Worker(WorkerArgs),
}

/// Flags of the bench itself.
#[derive(Debug, Args)]
struct BenchArgs {
    /// Agents to connect.
    #[arg(long, default_value_t = 20_000)]
    agents: usize,
    /// Commands to enqueue through the operator API for the latency measurement.
    #[arg(long, default_value_t = 1_000)]
    commands: usize,
    /// Seconds of idling (heartbeats only) over which the cloud's CPU use is measured.
    #[arg(long, default_value_t = 20)]
    idle_secs: u64,
    /// The cloud's database (`sqlite://PATH` or `postgres://...`). Default: SQLite in a temporary directory.
    #[arg(long)]
    database_url: Option<String>,
    /// The cloud binary. Default: `jasiyo-cloud` next to this binary.
    #[arg(long)]
    cloud_bin: Option<PathBuf>,
    /// Heartbeat period the cloud is started with, in seconds.
    #[arg(long, default_value_t = 15)]
    heartbeat_secs: u64,
    /// Agent connections being set up at once, over all workers.
    #[arg(long, default_value_t = 256)]
    connect_concurrency: usize,
    /// Operator API requests in flight at once.
    #[arg(long, default_value_t = 32)]
    post_concurrency: usize,
    /// Agents per worker process. Default: what this process's open-file limit allows, at most 10,000.
    #[arg(long)]
    agents_per_worker: Option<usize>,
    /// Loopback addresses agents connect from (127.0.0.2 upwards), so ephemeral ports never run out.
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u8).range(1..=250))]
    source_addrs: u8,
    /// Run the worker processes at this niceness (`nice -n`, 0-19), so the cloud gets the
    /// CPU before the simulated agents, as it would with the agents on their own routers.
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u8).range(0..=19))]
    worker_nice: u8,
    /// After the idle phase, SIGKILL the cloud, start it again on the same address and report
    /// how long until every agent is back (they reconnect as the real agent does).
    #[arg(long)]
    restart: bool,
    /// Run the cloud as this many instances on one PostgreSQL (`--database-url postgres://...`,
    /// a database that exists) behind HAProxy (`scripts/cluster`): agents connect through the
    /// balancer, and the operator API is asked on each instance in turn, so most commands are
    /// enqueued on an instance other than the one holding their agent's link. Numbers are
    /// summed over the instances; HAProxy's CPU is shown apart.
    #[arg(long, value_parser = clap::value_parser!(u16).range(2..=16))]
    cluster: Option<u16>,
    /// Keep the temporary directory (database, cloud log) and print where it is.
    #[arg(long)]
    keep: bool,
    /// Write one line per command (`sent_unix_us,router,seq,latency_ms`, empty latency if lost)
    /// here, to see when slow deliveries happened.
    #[arg(long)]
    latency_csv: Option<PathBuf>,
}

/// Flags of a worker, set by the bench.
#[derive(Debug, Args)]
struct WorkerArgs {
    /// The cloud's address.
    #[arg(long)]
    cloud: SocketAddr,
    /// Agent connections this worker sets up at once.
    #[arg(long)]
    connect_concurrency: usize,
    /// As for the bench.
    #[arg(long)]
    source_addrs: u8,
    /// Dial again when a link ends, as the real agent does (the bench's `--restart`).
    #[arg(long)]
    reconnect: bool,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.role {
        Some(Role::Worker(args)) => worker::run(args).await,
        None => bench::run(cli.bench).await,
    }
}

/// One simulated agent's identity, as the bench hands it to a worker: `agent INDEX ROUTER TOKEN`.
#[derive(Clone, Debug)]
struct AgentCred {
    index: usize,
    router: RouterId,
    token: String,
}

impl AgentCred {
    fn to_line(&self) -> String {
        format!("agent {} {} {}\n", self.index, self.router, self.token)
    }

    fn parse(line: &str) -> Option<AgentCred> {
        match line.split(' ').collect::<Vec<_>>()[..] {
            ["agent", index, router, token] => {
                Some(AgentCred { index: index.parse().ok()?, router: router.parse().ok()?, token: token.to_string() })
            }
            _ => None,
        }
    }
}

/// What a worker tells the bench, one line each on its stdout.
#[derive(Debug, PartialEq)]
enum Report {
    /// Agent `index` could not connect: `failed INDEX REASON`.
    Failed { index: usize, reason: String },
    /// Every agent of the worker has tried once and `ok` of them are connected, the last at
    /// wall-clock time `last_us` (0 if none): `connected OK LAST_US`.
    Connected { ok: usize, last_us: i64 },
    /// An agent got a `Deliver` at this wall-clock time: `delivered ROUTER SEQ UNIX_MICROS`.
    Delivered { router: RouterId, seq: u64, at_us: i64 },
    /// A connected agent's link ended: `dropped INDEX REASON`.
    Dropped { index: usize, reason: String },
    /// An agent whose link ended was welcomed again at this wall-clock time, after `busy`
    /// answers of HTTP 503: `back INDEX UNIX_MICROS BUSY`.
    Back { index: usize, at_us: i64, busy: usize },
}

impl Report {
    fn to_line(&self) -> String {
        let one_line = |reason: &str| reason.replace(['\n', '\r'], " ");
        match self {
            Report::Failed { index, reason } => format!("failed {index} {}\n", one_line(reason)),
            Report::Connected { ok, last_us } => format!("connected {ok} {last_us}\n"),
            Report::Delivered { router, seq, at_us } => format!("delivered {router} {seq} {at_us}\n"),
            Report::Dropped { index, reason } => format!("dropped {index} {}\n", one_line(reason)),
            Report::Back { index, at_us, busy } => format!("back {index} {at_us} {busy}\n"),
        }
    }

    fn parse(line: &str) -> Option<Report> {
        let (kind, rest) = line.split_once(' ')?;
        let index_and_reason = |rest: &str| -> Option<(usize, String)> {
            let (index, reason) = rest.split_once(' ')?;
            Some((index.parse().ok()?, reason.to_string()))
        };
        match kind {
            "failed" => index_and_reason(rest).map(|(index, reason)| Report::Failed { index, reason }),
            "dropped" => index_and_reason(rest).map(|(index, reason)| Report::Dropped { index, reason }),
            "connected" => {
                let (ok, last_us) = rest.split_once(' ')?;
                Some(Report::Connected { ok: ok.parse().ok()?, last_us: last_us.parse().ok()? })
            }
            "back" => match rest.split(' ').collect::<Vec<_>>()[..] {
                [index, at_us, busy] => {
                    Some(Report::Back { index: index.parse().ok()?, at_us: at_us.parse().ok()?, busy: busy.parse().ok()? })
                }
                _ => None,
            },
            "delivered" => match rest.split(' ').collect::<Vec<_>>()[..] {
                [router, seq, at_us] => {
                    Some(Report::Delivered { router: router.parse().ok()?, seq: seq.parse().ok()?, at_us: at_us.parse().ok()? })
                }
                _ => None,
            },
            _ => None,
        }
    }
}

/// Microseconds since the Unix epoch: the clock the bench and its workers share.
fn unix_us() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_micros() as i64)
}

/// The loopback address agent `index` connects from.
fn source_addr(index: usize, source_addrs: u8) -> Ipv4Addr {
    Ipv4Addr::new(127, 0, 0, 2 + (index % usize::from(source_addrs)) as u8)
}

/// The bench: provisioning, the cloud process, the phases and the summary.
#[path = "bench_fleet/bench.rs"]
mod bench;
#[path = "bench_fleet/cloud.rs"]
mod cloud;
#[path = "bench_fleet/fleet.rs"]
mod fleet;
#[path = "bench_fleet/post.rs"]
mod post;
#[path = "bench_fleet/proc_stats.rs"]
mod proc_stats;
#[path = "bench_fleet/summary.rs"]
mod summary;
#[path = "bench_fleet/worker.rs"]
mod worker;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_survive_their_line_format() {
        let router = RouterId::new();
        for report in [
            Report::Failed { index: 7, reason: "TCP connect: refused\nsecond line".into() },
            Report::Connected { ok: 19_999, last_us: 1_700_000_000_000_000 },
            Report::Delivered { router, seq: 3, at_us: 1_700_000_000_000_000 },
            Report::Dropped { index: 0, reason: "the cloud closed the link".into() },
            Report::Back { index: 12, at_us: 1_700_000_000_000_000, busy: 3 },
        ] {
            let line = report.to_line();
            assert_eq!(line.matches('\n').count(), 1, "{line:?}");
            let parsed = Report::parse(line.trim_end()).expect("parses");
            match (&report, &parsed) {
                (Report::Failed { index, .. }, Report::Failed { index: i, reason }) => {
                    assert_eq!(index, i);
                    assert_eq!(reason, "TCP connect: refused second line");
                }
                _ => assert_eq!(report, parsed),
            }
        }
        let cred = AgentCred { index: 4, router, token: "ab".repeat(32) };
        let back = AgentCred::parse(cred.to_line().trim_end()).expect("parses");
        assert_eq!((back.index, back.router, back.token), (cred.index, cred.router, cred.token));
    }
}
