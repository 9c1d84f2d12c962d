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
    /// After the idle phase, SIGKILL the cloud, start it again on the same address and report
    /// how long until every agent is back (they reconnect as the real agent does).
    #[arg(long)]
    restart: bool,
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
mod bench {
    use super::*;

    /// How long the cloud may take to write its ready file.
    const READY_TIMEOUT: Duration = Duration::from_secs(60);
    /// How long the cloud has "to settle" after the last agent connected, before memory is read.
    const SETTLE: Duration = Duration::from_secs(3);
    /// How long after the last POST a missing `Deliver` counts as lost.
    const DELIVERY_GRACE: Duration = Duration::from_secs(30);
    /// File descriptors the cloud needs besides agent sockets: listener, database files,
    /// epoll, the operator API connections, stdio. An estimate, for the warning only.
    const CLOUD_FD_OVERHEAD: usize = 64;

    pub async fn run(args: BenchArgs) -> anyhow::Result<()> {
        if args.agents == 0 {
            bail!("--agents must be at least 1");
        }
        let cloud_bin = match &args.cloud_bin {
            Some(path) => path.clone(),
            None => std::env::current_exe()?.with_file_name("jasiyo-cloud"),
        };
        if !cloud_bin.is_file() {
            bail!("no cloud binary at {} (build it, or pass --cloud-bin)", cloud_bin.display());
        }
        let dir = tempfile::Builder::new().prefix("bench-fleet-").tempdir().context("creating a temporary directory")?;
        let database_url = args.database_url.clone().unwrap_or_else(|| format!("sqlite://{}", dir.path().join("jasiyo.db").display()));
        let nofile = proc_stats::nofile_limit("self")?;
        let per_worker = args.agents_per_worker.unwrap_or_else(|| nofile.saturating_sub(512).clamp(100, 10_000) as usize);
        let worker_count = args.agents.div_ceil(per_worker);
        println!(
            "bench-fleet: {} agents in {worker_count} worker process(es), {} commands, {} s idle",
            args.agents, args.commands, args.idle_secs
        );
        println!("open-file limit {nofile} per process (the cloud inherits it)");
        if args.agents + CLOUD_FD_OVERHEAD > nofile as usize {
            println!(
                "WARNING: the cloud may open at most {nofile} files and {} agents need as many sockets plus about \
                 {CLOUD_FD_OVERHEAD} for its database and API: expect roughly {} agents to be refused. \
                 Raise the hard limit (`ulimit -Hn`, systemd LimitNOFILE) to run the full fleet.",
                args.agents,
                args.agents + CLOUD_FD_OVERHEAD - nofile as usize
            );
        }

        let started = Instant::now();
        let provisioned = provision(&database_url, dir.path(), args.agents).await?;
        println!("provisioned {} routers in {:.1} s", provisioned.agents.len(), started.elapsed().as_secs_f64());

        let mut cloud = Cloud::start(&cloud_bin, &database_url, dir.path(), args.heartbeat_secs).await?;
        println!("cloud pid {} listening on {}", cloud.pid, cloud.addr);
        let result = measure(&args, &mut cloud, &provisioned, per_worker, worker_count).await;
        // The log up to here is the measurement's; stop the cloud with the agents still
        // connected (which times its shutdown), then the workers.
        let log = cloud_log_summary(&cloud.log);
        let stopped = cloud.stop().await;
        let (mut summary, fleet) = result?;
        fleet.stop().await;
        summary.cloud_log = log;
        summary.shutdown = Some(stopped?);
        summary.print(&args, &cloud_bin, &database_url);
        if args.keep {
            println!("kept {}", dir.keep().display());
        }
        Ok(())
    }

    /// Everything `measure` found out, printed at the end.
    #[derive(Default)]
    pub struct Summary {
        pub nofile: u64,
        pub workers: usize,
        pub per_worker: usize,
        pub connected: usize,
        pub failures: BTreeMap<String, usize>,
        pub connect_secs: f64,
        pub connect_ok_secs: f64,
        pub rss_before_kib: u64,
        pub rss_connected_kib: u64,
        pub rss_after_kib: u64,
        pub rss_peak: String,
        pub cloud_fds: usize,
        pub cloud_threads: String,
        pub idle_secs: f64,
        pub idle_cloud_cpu: f64,
        pub idle_worker_cpu: f64,
        pub posted: usize,
        pub post_errors: BTreeMap<String, usize>,
        pub post_secs: f64,
        pub post_rtt_ms: Vec<f64>,
        pub latencies_ms: Vec<f64>,
        pub lost: usize,
        pub unexpected_deliveries: usize,
        pub delivery_span_secs: f64,
        pub commands_cloud_cpu: f64,
        pub dropped: BTreeMap<String, usize>,
        pub online_at_end: Option<usize>,
        pub cloud_log: String,
        pub restart: Option<super::restart::Restart>,
        pub shutdown: Option<Duration>,
    }

    async fn measure(
        args: &BenchArgs,
        cloud: &mut Cloud,
        provisioned: &Provisioned,
        per_worker: usize,
        worker_count: usize,
    ) -> anyhow::Result<(Summary, Fleet)> {
        let mut summary = Summary { nofile: proc_stats::nofile_limit("self")?, workers: worker_count, per_worker, ..Summary::default() };
        // Open the API connections first: if the cloud runs out of file descriptors while
        // agents connect, the operator API must still be reachable.
        let mut api = Vec::new();
        for _ in 0..args.post_concurrency.max(1) {
            api.push(ApiConn::open(cloud.addr, &provisioned.operator_token).await?);
        }
        summary.rss_before_kib = proc_stats::rss_kib(cloud.pid)?;

        let mut fleet = Fleet::spawn(args, cloud.addr, &provisioned.agents, worker_count).await?;
        println!("connecting {} agents ({} at a time)...", provisioned.agents.len(), args.connect_concurrency);
        let connect_started = Instant::now();
        let connect_started_us = unix_us();
        fleet.start_connecting().await?;
        let deadline = Instant::now() + Duration::from_secs(120) + Duration::from_millis(20 * args.agents as u64);
        if !fleet.pump_until(deadline, |s| s.connected_reports == worker_count).await? {
            bail!("workers did not finish connecting within {:?}", deadline - connect_started);
        }
        summary.connect_secs = connect_started.elapsed().as_secs_f64();
        summary.connect_ok_secs = (fleet.state.last_connected_us - connect_started_us).max(1) as f64 / 1e6;
        summary.connected = fleet.state.connected;
        summary.failures = fleet.state.failure_reasons.clone();
        println!(
            "connected {} of {} agents, the last after {:.2} s ({:.0} agents/s); all attempts over after {:.2} s",
            summary.connected,
            args.agents,
            summary.connect_ok_secs,
            summary.connected as f64 / summary.connect_ok_secs,
            summary.connect_secs
        );

        tokio::time::sleep(SETTLE).await;
        summary.rss_connected_kib = proc_stats::rss_kib(cloud.pid)?;
        summary.cloud_fds = proc_stats::open_fds(cloud.pid).unwrap_or(0);
        summary.cloud_threads = proc_stats::status_field(cloud.pid, "Threads").unwrap_or_default();

        println!("idling {} s with heartbeats running...", args.idle_secs);
        let pids = fleet.pids();
        let (cloud_before, workers_before) = (proc_stats::cpu_ticks(cloud.pid)?, proc_stats::cpu_ticks_sum(&pids));
        let idle_started = Instant::now();
        tokio::time::sleep(Duration::from_secs(args.idle_secs)).await;
        summary.idle_secs = idle_started.elapsed().as_secs_f64();
        let (cloud_after, workers_after) = (proc_stats::cpu_ticks(cloud.pid)?, proc_stats::cpu_ticks_sum(&pids));
        let hz = proc_stats::clock_ticks_per_sec() as f64;
        summary.idle_cloud_cpu = (cloud_after - cloud_before) as f64 / hz / summary.idle_secs * 100.0;
        summary.idle_worker_cpu = workers_after.saturating_sub(workers_before) as f64 / hz / summary.idle_secs * 100.0;
        summary.rss_after_kib = proc_stats::rss_kib(cloud.pid)?;
        summary.rss_peak = proc_stats::status_field(cloud.pid, "VmHWM").unwrap_or_default();

        if args.restart {
            let limit = Duration::from_secs(120) + Duration::from_millis(20 * args.agents as u64);
            summary.restart = Some(super::restart::run(cloud, &mut fleet, summary.connected, limit).await?);
            api.clear();
            for _ in 0..args.post_concurrency.max(1) {
                api.push(ApiConn::open(cloud.addr, &provisioned.operator_token).await?);
            }
        }
        if args.commands > 0 {
            measure_commands(args, &mut fleet, &mut api, provisioned, cloud.pid, &mut summary).await?;
        }
        fleet.drain();
        summary.dropped = fleet.state.dropped.clone();
        summary.online_at_end = count_online(&mut api[0]).await.ok();
        Ok((summary, fleet))
    }

    async fn measure_commands(
        args: &BenchArgs,
        fleet: &mut Fleet,
        api: &mut Vec<ApiConn>,
        provisioned: &Provisioned,
        cloud_pid: u32,
        summary: &mut Summary,
    ) -> anyhow::Result<()> {
        let targets: Vec<RouterId> =
            provisioned.agents.iter().filter(|a| !fleet.state.failed.contains(&a.index)).map(|a| a.router).collect();
        if targets.is_empty() {
            bail!("no agent connected: nothing to send commands to");
        }
        println!("posting {} commands ({} at a time)...", args.commands, api.len());
        let cpu_before = proc_stats::cpu_ticks(cloud_pid)?;
        let posted = post_commands(std::mem::take(api), Arc::new(targets), args.commands).await;
        *api = posted.conns;
        summary.posted = posted.sent.len();
        summary.post_errors = posted.errors;
        summary.post_secs = posted.elapsed.as_secs_f64();
        summary.post_rtt_ms = posted.rtt_ms;

        let expected: HashMap<(RouterId, u64), i64> = posted.sent.iter().map(|&(r, s, at)| ((r, s), at)).collect();
        let deadline = Instant::now() + DELIVERY_GRACE;
        fleet.pump_until(deadline, |s| expected.keys().all(|k| s.deliveries.contains_key(k))).await?;
        let busy_secs = (proc_stats::cpu_ticks(cloud_pid)? - cpu_before) as f64 / proc_stats::clock_ticks_per_sec() as f64;
        let first_sent = posted.sent.iter().map(|s| s.2).min().unwrap_or(0);
        let mut last_delivered = first_sent;
        let mut csv = String::from("sent_unix_us,router,seq,latency_ms\n");
        for &(router, seq, sent_at) in &posted.sent {
            match fleet.state.deliveries.get(&(router, seq)) {
                Some(&at) => {
                    let latency = (at - sent_at) as f64 / 1000.0;
                    summary.latencies_ms.push(latency);
                    last_delivered = last_delivered.max(at);
                    csv.push_str(&format!("{sent_at},{router},{seq},{latency:.3}\n"));
                }
                None => {
                    summary.lost += 1;
                    csv.push_str(&format!("{sent_at},{router},{seq},\n"));
                }
            }
        }
        if let Some(path) = &args.latency_csv {
            std::fs::write(path, csv).with_context(|| format!("writing {}", path.display()))?;
        }
        summary.unexpected_deliveries =
            fleet.state.deliveries.keys().filter(|k| !expected.contains_key(k)).count() + fleet.state.duplicate_deliveries;
        summary.delivery_span_secs = (last_delivered - first_sent) as f64 / 1e6;
        summary.commands_cloud_cpu = busy_secs / summary.delivery_span_secs.max(1e-3) * 100.0;
        Ok(())
    }

    /// The identities the bench made.
    pub struct Provisioned {
        pub agents: Vec<AgentCred>,
        pub operator_token: String,
    }

    /// Creates a tenant, `n` routers with fresh tokens and an operator token, in-process, and
    /// closes the store again before the cloud opens it.
    async fn provision(database_url: &str, dir: &Path, n: usize) -> anyhow::Result<Provisioned> {
        use jasiyo_cloud::store::{self, now_ms};
        use jasiyo_cloud::token::AgentToken;

        let store = store::connect(Some(database_url), dir).await?;
        let now = now_ms();
        // A fresh name, so repeated runs against one PostgreSQL database do not collide.
        let tenant = store.create_tenant(&format!("bench-fleet-{now}"), now).await?;
        let agents: Vec<AgentCred> = futures_util::stream::iter(0..n)
            .map(|index| {
                let store = store.clone();
                async move {
                    let token = AgentToken::generate();
                    let router = store.create_router(tenant.id, &format!("bench-{index:05}"), &token.hash(), now).await?;
                    anyhow::Ok(AgentCred { index, router: router.id, token: token.expose().to_string() })
                }
            })
            .buffered(16)
            .try_collect()
            .await
            .context("creating routers")?;
        let operator = AgentToken::generate();
        store.create_operator_token("bench-fleet", &operator.hash(), now).await?;
        drop(store);
        Ok(Provisioned { agents, operator_token: operator.expose().to_string() })
    }

    /// The cloud under test, as a child process.
    pub struct Cloud {
        child: Child,
        pub pid: u32,
        pub addr: SocketAddr,
        pub log: PathBuf,
        /// How it was started, to start it again.
        bin: PathBuf,
        database_url: String,
        dir: PathBuf,
        heartbeat_secs: u64,
    }

    impl Cloud {
        async fn start(bin: &Path, database_url: &str, dir: &Path, heartbeat_secs: u64) -> anyhow::Result<Cloud> {
            Cloud::start_on(bin, database_url, dir, heartbeat_secs, "127.0.0.1:0").await
        }

        /// SIGKILLs it and starts it again on the same address (its log goes on in the same file).
        pub async fn restart(&mut self) -> anyhow::Result<()> {
            self.child.kill().await?;
            let _ = std::fs::remove_file(self.dir.join("addr"));
            let listen = self.addr.to_string();
            *self = Cloud::start_on(&self.bin, &self.database_url, &self.dir, self.heartbeat_secs, &listen).await?;
            Ok(())
        }

        async fn start_on(bin: &Path, database_url: &str, dir: &Path, heartbeat_secs: u64, listen: &str) -> anyhow::Result<Cloud> {
            let ready = dir.join("addr");
            let log = dir.join("cloud.log");
            let log_file = std::fs::OpenOptions::new().create(true).append(true).open(&log)?;
            let mut child = tokio::process::Command::new(bin)
                .arg("--database-url")
                .arg(database_url)
                .arg("--data-dir")
                .arg(dir)
                .args([
                    "serve",
                    "--listen",
                    listen,
                    "--allow-unreachable-callbacks",
                    "--heartbeat-secs",
                    &heartbeat_secs.to_string(),
                    "--ready-file",
                ])
                .arg(&ready)
                .env("RUST_LOG", "warn")
                .env("NO_COLOR", "1")
                .stdin(Stdio::null())
                .stdout(log_file.try_clone()?)
                .stderr(log_file)
                .kill_on_drop(true)
                .spawn()
                .with_context(|| format!("starting {}", bin.display()))?;
            let pid = child.id().context("the cloud exited at once")?;
            let deadline = Instant::now() + READY_TIMEOUT;
            let addr = loop {
                if let Ok(text) = tokio::fs::read_to_string(&ready).await {
                    break text.trim().parse().with_context(|| format!("ready file holds {text:?}"))?;
                }
                if let Some(status) = child.try_wait()? {
                    bail!("the cloud exited ({status}) before it was ready; its log:\n{}", read_tail(&log, 40));
                }
                if Instant::now() > deadline {
                    bail!("the cloud wrote no ready file within {READY_TIMEOUT:?}; its log:\n{}", read_tail(&log, 40));
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            };
            let (bin, database_url, dir) = (bin.to_path_buf(), database_url.to_string(), dir.to_path_buf());
            Ok(Cloud { child, pid, addr, log, bin, database_url, dir, heartbeat_secs })
        }

        /// SIGTERM, then waits (SIGKILL after 30 s); returns how long it took to exit.
        async fn stop(mut self) -> anyhow::Result<Duration> {
            let started = Instant::now();
            // `kill` rather than libc: this crate forbids unsafe code.
            let sent = tokio::process::Command::new("kill").args(["-TERM", &self.pid.to_string()]).status().await?;
            if !sent.success() {
                bail!("could not send SIGTERM to the cloud (pid {})", self.pid);
            }
            match tokio::time::timeout(Duration::from_secs(30), self.child.wait()).await {
                Ok(status) => {
                    let status = status?;
                    if !status.success() {
                        println!("cloud exited with {status}");
                    }
                }
                Err(_) => {
                    println!("cloud still running 30 s after SIGTERM: killing it");
                    self.child.kill().await?;
                }
            }
            Ok(started.elapsed())
        }
    }

    fn read_tail(path: &Path, lines: usize) -> String {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }

    /// Counts WARN and ERROR lines in the cloud's log and shows the commonest messages.
    fn cloud_log_summary(path: &Path) -> String {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        let mut by_message: BTreeMap<String, usize> = BTreeMap::new();
        let (mut warns, mut errors) = (0, 0);
        for line in text.lines() {
            let level = if line.contains(" WARN ") {
                warns += 1;
                "WARN"
            } else if line.contains("ERROR ") {
                errors += 1;
                "ERROR"
            } else {
                continue;
            };
            // Drop the timestamp and the per-router span so equal messages group together.
            let message = line.split_once(level).map_or(line, |(_, rest)| rest).trim();
            let message = match (message.find("agent{"), message.find("}: ")) {
                (Some(start), Some(end)) if start < end => {
                    format!("{}agent{{..}}{}", &message[..start], &message[end + 1..])
                }
                _ => message.to_string(),
            };
            *by_message.entry(format!("{level} {message}")).or_default() += 1;
        }
        let mut common: Vec<(String, usize)> = by_message.into_iter().collect();
        common.sort_by_key(|(_, count)| std::cmp::Reverse(*count));
        let mut out = format!("{warns} WARN, {errors} ERROR lines");
        for (message, count) in common.iter().take(6) {
            out.push_str(&format!("\n    {count:>6} x {}", shorten(message, 150)));
        }
        out
    }

    fn shorten(text: &str, max: usize) -> String {
        match text.char_indices().nth(max) {
            Some((cut, _)) => format!("{}...", &text[..cut]),
            None => text.to_string(),
        }
    }

    /// The worker processes and what they have reported so far.
    pub struct Fleet {
        workers: Vec<(Child, ChildStdin)>,
        events: mpsc::UnboundedReceiver<Option<Report>>,
        pub state: FleetState,
    }

    /// What the workers have reported.
    #[derive(Default)]
    pub struct FleetState {
        pub connected_reports: usize,
        pub connected: usize,
        pub last_connected_us: i64,
        pub failed: HashSet<usize>,
        pub failure_reasons: BTreeMap<String, usize>,
        pub dropped: BTreeMap<String, usize>,
        pub deliveries: HashMap<(RouterId, u64), i64>,
        pub duplicate_deliveries: usize,
        /// When each agent was last welcomed again after its link ended.
        pub back: HashMap<usize, i64>,
        /// Upgrades answered with 503 before those welcomes.
        pub busy_answers: usize,
    }

    impl FleetState {
        fn apply(&mut self, report: Report) {
            match report {
                Report::Failed { index, reason } => {
                    self.failed.insert(index);
                    *self.failure_reasons.entry(reason).or_default() += 1;
                }
                Report::Connected { ok, last_us } => {
                    self.connected_reports += 1;
                    self.connected += ok;
                    self.last_connected_us = self.last_connected_us.max(last_us);
                }
                Report::Delivered { router, seq, at_us } => {
                    if self.deliveries.insert((router, seq), at_us).is_some() {
                        self.duplicate_deliveries += 1;
                    }
                }
                Report::Dropped { reason, .. } => *self.dropped.entry(reason).or_default() += 1,
                Report::Back { index, at_us, busy } => {
                    self.back.insert(index, at_us);
                    self.busy_answers += busy;
                }
            }
        }
    }

    impl Fleet {
        /// Starts the workers and hands each its agents (agent `i` to worker `i % count`, so
        /// consecutive routers, and so the commands, are spread over all workers).
        async fn spawn(args: &BenchArgs, cloud: SocketAddr, agents: &[AgentCred], count: usize) -> anyhow::Result<Fleet> {
            let exe = std::env::current_exe()?;
            let (tx, events) = mpsc::unbounded_channel();
            let mut workers = Vec::new();
            for w in 0..count {
                let mut child = tokio::process::Command::new(&exe)
                    .arg("worker")
                    .arg("--cloud")
                    .arg(cloud.to_string())
                    .arg("--connect-concurrency")
                    .arg(args.connect_concurrency.div_ceil(count).max(1).to_string())
                    .arg("--source-addrs")
                    .arg(args.source_addrs.to_string())
                    .args(args.restart.then_some("--reconnect"))
                    .stdin(Stdio::piped())
                    .stdout(Stdio::piped())
                    .stderr(Stdio::inherit())
                    .kill_on_drop(true)
                    .spawn()
                    .context("starting a worker")?;
                let mut stdin = child.stdin.take().expect("piped");
                let stdout = child.stdout.take().expect("piped");
                let tx = tx.clone();
                tokio::spawn(async move {
                    let mut lines = BufReader::new(stdout).lines();
                    while let Ok(Some(line)) = lines.next_line().await {
                        match Report::parse(&line) {
                            Some(report) => {
                                let _ = tx.send(Some(report));
                            }
                            None => eprintln!("worker {w}: unreadable report {line:?}"),
                        }
                    }
                    let _ = tx.send(None);
                });
                let mut batch = String::new();
                for agent in agents.iter().skip(w).step_by(count) {
                    batch.push_str(&agent.to_line());
                }
                stdin.write_all(batch.as_bytes()).await.context("handing agents to a worker")?;
                workers.push((child, stdin));
            }
            Ok(Fleet { workers, events, state: FleetState::default() })
        }

        async fn start_connecting(&mut self) -> anyhow::Result<()> {
            for (_, stdin) in &mut self.workers {
                stdin.write_all(b"connect\n").await?;
                stdin.flush().await?;
            }
            Ok(())
        }

        fn pids(&self) -> Vec<u32> {
            self.workers.iter().filter_map(|(child, _)| child.id()).collect()
        }

        /// Applies reports until `done` holds (true) or `deadline` passes (false).
        pub async fn pump_until(&mut self, deadline: Instant, done: impl Fn(&FleetState) -> bool) -> anyhow::Result<bool> {
            while !done(&self.state) {
                match tokio::time::timeout_at(deadline, self.events.recv()).await {
                    Err(_) => return Ok(false),
                    Ok(Some(Some(report))) => self.state.apply(report),
                    Ok(Some(None)) | Ok(None) => bail!("a worker exited during the bench (see its output above)"),
                }
            }
            Ok(true)
        }

        /// Applies the reports already received.
        pub fn drain(&mut self) {
            while let Ok(Some(report)) = self.events.try_recv() {
                self.state.apply(report);
            }
        }

        async fn stop(mut self) {
            for (child, stdin) in &mut self.workers {
                let _ = stdin.write_all(b"stop\n").await;
                let _ = tokio::time::timeout(Duration::from_secs(10), child.wait()).await;
            }
        }
    }

    /// What posting the commands produced.
    struct Posted {
        conns: Vec<ApiConn>,
        /// `(router, seq, sent at)` of each command the API accepted.
        sent: Vec<(RouterId, u64, i64)>,
        errors: BTreeMap<String, usize>,
        rtt_ms: Vec<f64>,
        elapsed: Duration,
    }

    /// Posts `count` commands round-robin over `targets`, one task per API connection.
    async fn post_commands(conns: Vec<ApiConn>, targets: Arc<Vec<RouterId>>, count: usize) -> Posted {
        let next = Arc::new(AtomicUsize::new(0));
        let started = Instant::now();
        let tasks: Vec<_> = conns
            .into_iter()
            .map(|mut conn| {
                let (next, targets) = (next.clone(), targets.clone());
                tokio::spawn(async move {
                    let mut out = (Vec::new(), Vec::new(), BTreeMap::<String, usize>::new());
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i >= count {
                            break;
                        }
                        let router = targets[i % targets.len()];
                        match post_one(&mut conn, router, i).await {
                            Ok((seq, sent_at, rtt)) => {
                                out.0.push((router, seq, sent_at));
                                out.1.push(rtt);
                            }
                            Err(error) => *out.2.entry(format!("{error:#}")).or_default() += 1,
                        }
                    }
                    (conn, out)
                })
            })
            .collect();
        let mut posted =
            Posted { conns: Vec::new(), sent: Vec::new(), errors: BTreeMap::new(), rtt_ms: Vec::new(), elapsed: Duration::ZERO };
        for task in tasks {
            let (conn, (sent, rtt, errors)) = task.await.expect("poster task panicked");
            posted.conns.push(conn);
            posted.sent.extend(sent);
            posted.rtt_ms.extend(rtt);
            for (error, n) in errors {
                *posted.errors.entry(error).or_default() += n;
            }
        }
        posted.elapsed = started.elapsed();
        posted
    }

    /// Posts one command; returns its sequence number, when it was sent and the round trip.
    async fn post_one(conn: &mut ApiConn, router: RouterId, i: usize) -> anyhow::Result<(u64, i64, f64)> {
        let command = jasiyo_shared::Command::RemoveHotspotUser { name: format!("bench-{i}") };
        let body = serde_json::to_string(&command)?;
        let path = format!("/api/v1/routers/{router}/commands");
        let sent_at = unix_us();
        let started = Instant::now();
        let (status, reply) = conn.request("POST", &path, &body).await?;
        let rtt = started.elapsed().as_secs_f64() * 1000.0;
        if status != 201 {
            bail!("HTTP {status}: {}", shorten(&String::from_utf8_lossy(&reply), 100));
        }
        let stored: serde_json::Value = serde_json::from_slice(&reply).context("reading the stored command")?;
        let seq = stored["seq"].as_u64().context("no seq in the reply")?;
        Ok((seq, sent_at, rtt))
    }

    /// How many routers the cloud itself reports online.
    async fn count_online(conn: &mut ApiConn) -> anyhow::Result<usize> {
        let (status, body) = conn.request("GET", "/api/v1/routers", "").await?;
        if status != 200 {
            bail!("HTTP {status}");
        }
        let routers: Vec<serde_json::Value> = serde_json::from_slice(&body)?;
        Ok(routers.iter().filter(|r| r["online"] == serde_json::Value::Bool(true)).count())
    }

    /// Nearest-rank percentile of sorted values.
    fn percentile(sorted: &[f64], q: f64) -> f64 {
        if sorted.is_empty() {
            return f64::NAN;
        }
        let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
        sorted[rank - 1]
    }

    fn verdict(ok: bool) -> &'static str {
        if ok { "PASS" } else { "FAIL" }
    }

    fn mib(kib: u64) -> f64 {
        kib as f64 / 1024.0
    }

    impl Summary {
        fn print(&mut self, args: &BenchArgs, cloud_bin: &Path, database_url: &str) {
            let backend = database_url.split(':').next().unwrap_or("?");
            let line = "=".repeat(78);
            println!("\n{line}\nbench-fleet summary\n{line}");
            println!("cloud              {} ({backend}, heartbeat {} s)", cloud_bin.display(), args.heartbeat_secs);
            println!(
                "open-file limit    {} per process; agents in {} worker process(es) of up to {}",
                self.nofile, self.workers, self.per_worker
            );
            let failed = args.agents - self.connected;
            let target = if args.agents < 20_000 { "n/a (fleet smaller than the target)" } else { verdict(self.connected >= 20_000) };
            println!(
                "agents             {} connected of {} ({failed} failed)        target 20,000 connected: {target}",
                self.connected, args.agents,
            );
            for (reason, n) in &self.failures {
                println!("    {n:>6} x {}", shorten(reason, 120));
            }
            println!(
                "connect rate       {:.0} agents/s ({} connected within {:.2} s, {} at a time; every attempt over after {:.2} s)",
                self.connected as f64 / self.connect_ok_secs,
                self.connected,
                self.connect_ok_secs,
                args.connect_concurrency,
                self.connect_secs
            );
            let grown = self.rss_connected_kib.saturating_sub(self.rss_before_kib);
            let per_agent = grown as f64 / self.connected.max(1) as f64;
            println!(
                "cloud RSS          {:.1} MiB before, {:.1} MiB connected (+{:.1} MiB), {:.1} MiB after idling (peak {})",
                mib(self.rss_before_kib),
                mib(self.rss_connected_kib),
                mib(grown),
                mib(self.rss_after_kib),
                self.rss_peak
            );
            println!(
                "memory per agent   {per_agent:.1} KiB (RSS growth / connected agents)     target <= 32 KiB: {}",
                verdict(per_agent <= 32.0)
            );
            println!("cloud process      {} open fds, {} threads once connected", self.cloud_fds, self.cloud_threads);
            println!(
                "idle CPU           cloud {:.2} % of one core over {:.1} s (bench workers {:.2} %)",
                self.idle_cloud_cpu, self.idle_secs, self.idle_worker_cpu
            );
            if let Some(restart) = &self.restart {
                restart.print();
            }
            if args.commands > 0 {
                self.print_commands(args);
            }
            if !self.dropped.is_empty() {
                println!("links dropped after connecting:");
                for (reason, n) in &self.dropped {
                    println!("    {n:>6} x {}", shorten(reason, 120));
                }
            }
            match self.online_at_end {
                Some(online) => {
                    println!("cloud's own count  {online} routers online (GET /api/v1/routers, at the end)")
                }
                None => println!("cloud's own count  unavailable (GET /api/v1/routers failed)"),
            }
            println!("cloud log          {}", self.cloud_log);
            if let Some(shutdown) = self.shutdown {
                println!("cloud shutdown     {:.2} s after SIGTERM, with {} agents connected", shutdown.as_secs_f64(), self.connected);
            }
            println!("{line}");
        }

        fn print_commands(&mut self, args: &BenchArgs) {
            let refused: usize = self.post_errors.values().sum();
            println!(
                "commands           {} posted, {refused} refused, {} delivered, {} lost, {} unexpected deliveries",
                self.posted,
                self.latencies_ms.len(),
                self.lost,
                self.unexpected_deliveries
            );
            for (error, n) in &self.post_errors {
                println!("    {n:>6} x {}", shorten(error, 120));
            }
            self.latencies_ms.sort_by(f64::total_cmp);
            self.post_rtt_ms.sort_by(f64::total_cmp);
            let l = &self.latencies_ms;
            let p99 = percentile(l, 0.99);
            println!(
                "latency            POST sent -> Deliver received: p50 {:.1} ms, p90 {:.1}, p99 {:.1}, max {:.1}   target p99 < 50 ms: {}",
                percentile(l, 0.5),
                percentile(l, 0.9),
                p99,
                l.last().copied().unwrap_or(f64::NAN),
                verdict(p99 < 50.0 && self.lost == 0 && self.posted == args.commands)
            );
            let r = &self.post_rtt_ms;
            println!(
                "POST round trip    p50 {:.1} ms, p90 {:.1}, p99 {:.1}, max {:.1} ({} in flight)",
                percentile(r, 0.5),
                percentile(r, 0.9),
                percentile(r, 0.99),
                r.last().copied().unwrap_or(f64::NAN),
                args.post_concurrency
            );
            println!(
                "throughput         {:.0} commands/s enqueued ({:.2} s), {:.0} commands/s first POST to last Deliver ({:.2} s)",
                self.posted as f64 / self.post_secs,
                self.post_secs,
                self.latencies_ms.len() as f64 / self.delivery_span_secs,
                self.delivery_span_secs
            );
            println!(
                "cloud CPU          {:.0} % of one core while commands flowed (CPU time / first POST to last Deliver)",
                self.commands_cloud_cpu
            );
        }
    }
}

/// A worker: connects its agents, keeps them alive, reports deliveries.
mod worker {
    use super::*;
    use jasiyo_agent::link::backoff::Backoff;
    use jasiyo_shared::{AgentMessage, CloudMessage, Hello, MAX_FRAME_BYTES, Outcome, PROTOCOL_VERSION, decode, encode};
    use tokio::net::{TcpSocket, TcpStream};
    use tokio::sync::Semaphore;
    use tokio_tungstenite::WebSocketStream;
    use tokio_tungstenite::tungstenite;
    use tokio_tungstenite::tungstenite::Message;
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    use tokio_tungstenite::tungstenite::http::HeaderValue;
    use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

    /// Each step of setting up a link (TCP, WebSocket upgrade, hello) gets this long.
    const STEP_TIMEOUT: Duration = Duration::from_secs(15);
    /// The shortest heartbeat honoured, whatever the cloud says (as the real agent does).
    const MIN_HEARTBEAT: Duration = Duration::from_secs(1);

    type Ws = WebSocketStream<TcpStream>;

    pub async fn run(args: WorkerArgs) -> anyhow::Result<()> {
        let mut lines = BufReader::new(tokio::io::stdin()).lines();
        let mut agents = Vec::new();
        while let Some(line) = lines.next_line().await? {
            if line == "connect" {
                break;
            }
            agents.push(AgentCred::parse(&line).with_context(|| format!("worker: unexpected line {line:?}"))?);
        }
        let (out, reports) = mpsc::unbounded_channel();
        tokio::spawn(write_reports(reports));
        let gate = Arc::new(Semaphore::new(args.connect_concurrency.max(1)));
        let (done_tx, mut done) = mpsc::unbounded_channel::<Option<i64>>();
        let total = agents.len();
        for agent in agents {
            let source = source_addr(agent.index, args.source_addrs);
            tokio::spawn(agent_task(agent, args.cloud, source, gate.clone(), done_tx.clone(), out.clone(), args.reconnect));
        }
        let (mut ok, mut last_us) = (0, 0);
        for _ in 0..total {
            if let Some(Some(at)) = done.recv().await {
                ok += 1;
                last_us = last_us.max(at);
            }
        }
        let _ = out.send(Report::Connected { ok, last_us });
        // Hold the links until the bench says stop (or goes away); exiting closes them all.
        while let Some(line) = lines.next_line().await? {
            if line == "stop" {
                break;
            }
        }
        std::process::exit(0)
    }

    /// Writes reports to stdout, flushing whenever the queue runs dry.
    async fn write_reports(mut reports: mpsc::UnboundedReceiver<Report>) -> std::io::Result<()> {
        let mut stdout = tokio::io::BufWriter::new(tokio::io::stdout());
        while let Some(report) = reports.recv().await {
            stdout.write_all(report.to_line().as_bytes()).await?;
            while let Ok(more) = reports.try_recv() {
                stdout.write_all(more.to_line().as_bytes()).await?;
            }
            stdout.flush().await?;
        }
        Ok(())
    }

    async fn agent_task(
        agent: AgentCred,
        cloud: SocketAddr,
        source: Ipv4Addr,
        gate: Arc<Semaphore>,
        done: mpsc::UnboundedSender<Option<i64>>,
        out: mpsc::UnboundedSender<Report>,
        reconnect: bool,
    ) {
        let permit = gate.acquire_owned().await.expect("the gate is never closed");
        let link = connect(&agent, cloud, source).await;
        drop(permit);
        let (mut ws, mut heartbeat) = match link {
            Ok(link) => link,
            Err(error) => {
                let _ = out.send(Report::Failed { index: agent.index, reason: format!("{error:#}") });
                let _ = done.send(None);
                return;
            }
        };
        let _ = done.send(Some(unix_us()));
        loop {
            let reason = serve(&mut ws, heartbeat, &agent, &out).await;
            let _ = out.send(Report::Dropped { index: agent.index, reason });
            if !reconnect {
                return;
            }
            (ws, heartbeat) = come_back(&agent, cloud, source, &out).await;
        }
    }

    /// Dials again until welcomed, the way the real agent does: its reconnect policy (the
    /// first try spread over `[0, initial]`, then doubling delays with jitter) and a 503's
    /// `Retry-After` honoured with jitter.
    async fn come_back(agent: &AgentCred, cloud: SocketAddr, source: Ipv4Addr, out: &mpsc::UnboundedSender<Report>) -> (Ws, Duration) {
        let policy = jasiyo_agent::ReconnectPolicy::default();
        let mut backoff = Backoff::new(policy.initial, policy.max).spread_first();
        let (mut hint, mut busy) = (None, 0);
        loop {
            let delay = match hint.take() {
                Some(hint) => backoff.next_delay_at_least(hint),
                None => backoff.next_delay(),
            };
            tokio::time::sleep(delay).await;
            match connect(agent, cloud, source).await {
                Ok(link) => {
                    let _ = out.send(Report::Back { index: agent.index, at_us: unix_us(), busy });
                    return link;
                }
                Err(error) => {
                    if let Some(tungstenite::Error::Http(response)) = error.downcast_ref::<tungstenite::Error>()
                        && response.status() == tungstenite::http::StatusCode::SERVICE_UNAVAILABLE
                    {
                        busy += 1;
                        let seconds = response.headers().get("retry-after").and_then(|v| v.to_str().ok()?.trim().parse::<u64>().ok());
                        hint = seconds.map(Duration::from_secs);
                    }
                }
            }
        }
    }

    async fn step<T>(what: &str, work: impl Future<Output = anyhow::Result<T>>) -> anyhow::Result<T> {
        match tokio::time::timeout(STEP_TIMEOUT, work).await {
            Ok(result) => result.with_context(|| what.to_string()),
            Err(_) => bail!("{what}: timed out after {STEP_TIMEOUT:?}"),
        }
    }

    /// TCP from `source`, WebSocket upgrade with the agent's credentials, hello, welcome.
    async fn connect(agent: &AgentCred, cloud: SocketAddr, source: Ipv4Addr) -> anyhow::Result<(Ws, Duration)> {
        let stream = step("TCP connect", async {
            let socket = TcpSocket::new_v4()?;
            socket.bind(SocketAddr::new(source.into(), 0))?;
            let stream = socket.connect(cloud).await?;
            stream.set_nodelay(true)?;
            Ok(stream)
        })
        .await?;
        let mut request = format!("ws://{cloud}/agent/v1/ws").into_client_request()?;
        request.headers_mut().insert("authorization", HeaderValue::from_str(&format!("Bearer {}", agent.token))?);
        request.headers_mut().insert("x-jasiyo-router-id", HeaderValue::from_str(&agent.router.to_string())?);
        // Small buffers, as the cloud uses: 20,000 links with the 128 KiB defaults would need gigabytes.
        let config = WebSocketConfig::default()
            .read_buffer_size(4 * 1024)
            .write_buffer_size(0)
            .max_message_size(Some(MAX_FRAME_BYTES))
            .max_frame_size(Some(MAX_FRAME_BYTES));
        let mut ws = step("WebSocket handshake", async {
            let (ws, _) = tokio_tungstenite::client_async_with_config(request, stream, Some(config)).await?;
            Ok(ws)
        })
        .await?;
        let hello = Hello { protocol: PROTOCOL_VERSION, agent_version: "bench-fleet".into(), journal_high: None, journal_reset: false };
        send(&mut ws, &AgentMessage::Hello(hello)).await.context("sending hello")?;
        let welcome = step("waiting for Welcome", async {
            match recv(&mut ws).await? {
                CloudMessage::Welcome(welcome) => Ok(welcome),
                CloudMessage::WelcomeAt(at) => Ok(at.welcome()),
                CloudMessage::Rejected(reason) => bail!("rejected: {reason}"),
                other => bail!("expected Welcome, got {other:?}"),
            }
        })
        .await?;
        Ok((ws, Duration::from_millis(u64::from(welcome.heartbeat_ms)).max(MIN_HEARTBEAT)))
    }

    async fn send(ws: &mut Ws, message: &AgentMessage) -> anyhow::Result<()> {
        use futures_util::SinkExt;
        ws.send(Message::Binary(encode(message)?.into())).await?;
        Ok(())
    }

    /// The next protocol message, skipping WebSocket-level control frames.
    async fn recv(ws: &mut Ws) -> anyhow::Result<CloudMessage> {
        loop {
            match ws.next().await {
                None => bail!("the cloud closed the link"),
                Some(Err(error)) => return Err(error.into()),
                Some(Ok(Message::Binary(frame))) => return Ok(decode(&frame)?),
                Some(Ok(Message::Close(close))) => bail!("the cloud closed the link: {close:?}"),
                Some(Ok(_)) => {}
            }
        }
    }

    /// Heartbeats and deliveries until the link ends; returns why it ended.
    async fn serve(ws: &mut Ws, heartbeat: Duration, agent: &AgentCred, out: &mpsc::UnboundedSender<Report>) -> String {
        let mut ping = tokio::time::interval_at(Instant::now() + heartbeat, heartbeat);
        ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut nonce = 0;
        loop {
            let result = tokio::select! {
                _ = ping.tick() => {
                    nonce += 1;
                    send(ws, &AgentMessage::Ping { nonce }).await
                }
                message = recv(ws) => match message {
                    Ok(message) => on_message(ws, message, agent, out).await,
                    Err(error) => Err(error),
                },
            };
            if let Err(error) = result {
                return format!("{error:#}");
            }
        }
    }

    async fn on_message(ws: &mut Ws, message: CloudMessage, agent: &AgentCred, out: &mpsc::UnboundedSender<Report>) -> anyhow::Result<()> {
        match message {
            CloudMessage::Deliver(delivery) => {
                let at_us = unix_us();
                let _ = out.send(Report::Delivered { router: agent.router, seq: delivery.seq.0, at_us });
                send(ws, &AgentMessage::Received { seq: delivery.seq }).await?;
                send(ws, &AgentMessage::Result { seq: delivery.seq, outcome: Outcome::Applied { note: None } }).await
            }
            CloudMessage::Ping { nonce } => send(ws, &AgentMessage::Pong { nonce }).await,
            CloudMessage::Pong { .. } | CloudMessage::ResultAck { .. } | CloudMessage::ReportAck { .. } => Ok(()),
            CloudMessage::Welcome(_) | CloudMessage::WelcomeAt(_) => bail!("a second Welcome"),
            CloudMessage::Rejected(reason) => bail!("rejected mid-session: {reason}"),
        }
    }
}

/// A minimal HTTP/1.1 client over one keep-alive connection, enough for the operator API.
struct ApiConn {
    addr: SocketAddr,
    auth: String,
    stream: Option<BufReader<tokio::net::TcpStream>>,
}

impl ApiConn {
    async fn open(addr: SocketAddr, token: &str) -> anyhow::Result<ApiConn> {
        let mut conn = ApiConn { addr, auth: format!("Bearer {token}"), stream: None };
        conn.reconnect().await?;
        Ok(conn)
    }

    async fn reconnect(&mut self) -> anyhow::Result<()> {
        let stream = tokio::net::TcpStream::connect(self.addr).await.context("connecting to the operator API")?;
        stream.set_nodelay(true)?;
        self.stream = Some(BufReader::new(stream));
        Ok(())
    }

    /// Sends one request and reads the whole response: `(status, body)`.
    async fn request(&mut self, method: &str, path: &str, body: &str) -> anyhow::Result<(u16, Vec<u8>)> {
        use tokio::io::AsyncReadExt;
        if self.stream.is_none() {
            self.reconnect().await?;
        }
        let stream = self.stream.as_mut().expect("connected above");
        let request = format!(
            "{method} {path} HTTP/1.1\r\nhost: {}\r\nauthorization: {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
            self.addr,
            self.auth,
            body.len()
        );
        stream.get_mut().write_all(request.as_bytes()).await?;
        let mut line = String::new();
        stream.read_line(&mut line).await?;
        let status: u16 = line.split(' ').nth(1).and_then(|s| s.parse().ok()).with_context(|| format!("bad status line {line:?}"))?;
        let (mut length, mut chunked, mut close) = (None, false, false);
        loop {
            line.clear();
            if stream.read_line(&mut line).await? == 0 {
                bail!("connection closed in the response headers");
            }
            let header = line.trim_end();
            if header.is_empty() {
                break;
            }
            let (name, value) = header.split_once(':').unwrap_or((header, ""));
            let (name, value) = (name.to_ascii_lowercase(), value.trim().to_ascii_lowercase());
            match name.as_str() {
                "content-length" => length = Some(value.parse::<usize>()?),
                "transfer-encoding" => chunked = value.contains("chunked"),
                "connection" => close = value == "close",
                _ => {}
            }
        }
        let mut body = Vec::new();
        if chunked {
            loop {
                line.clear();
                stream.read_line(&mut line).await?;
                let size = usize::from_str_radix(line.trim().split(';').next().unwrap_or(""), 16)?;
                let mut chunk = vec![0; size + 2];
                stream.read_exact(&mut chunk).await?;
                body.extend_from_slice(&chunk[..size]);
                if size == 0 {
                    break;
                }
            }
        } else if let Some(length) = length {
            body.resize(length, 0);
            stream.read_exact(&mut body).await?;
        } else {
            stream.read_to_end(&mut body).await?;
            close = true;
        }
        if close {
            self.stream = None;
        }
        Ok((status, body))
    }
}

/// Reading another process's numbers from `/proc`.
mod proc_stats {
    use super::*;

    /// Resident set size (`VmRSS`) in KiB.
    pub fn rss_kib(pid: u32) -> anyhow::Result<u64> {
        let value = status_field(pid, "VmRSS")?;
        value.split_whitespace().next().and_then(|v| v.parse().ok()).with_context(|| format!("VmRSS {value:?}"))
    }

    /// One `Name:` field of `/proc/PID/status`, trimmed.
    pub fn status_field(pid: u32, name: &str) -> anyhow::Result<String> {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
        status
            .lines()
            .find_map(|l| l.strip_prefix(name).and_then(|rest| rest.strip_prefix(':')))
            .map(|v| v.trim().to_string())
            .with_context(|| format!("no {name} in /proc/{pid}/status"))
    }

    /// User plus system CPU time, in clock ticks.
    pub fn cpu_ticks(pid: u32) -> anyhow::Result<u64> {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
        // Fields after the parenthesised command name: state is the first, utime the 12th.
        let after_name = stat.rsplit_once(')').map(|(_, rest)| rest).context("malformed stat")?;
        let fields: Vec<&str> = after_name.split_whitespace().collect();
        let field = |i: usize| fields.get(i).and_then(|v| v.parse::<u64>().ok()).context("malformed stat");
        Ok(field(11)? + field(12)?)
    }

    /// The sum over several processes (missing ones count as zero).
    pub fn cpu_ticks_sum(pids: &[u32]) -> u64 {
        pids.iter().map(|&pid| cpu_ticks(pid).unwrap_or(0)).sum()
    }

    /// `getconf CLK_TCK` (100 on every Linux we know).
    pub fn clock_ticks_per_sec() -> u64 {
        std::process::Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|out| String::from_utf8(out.stdout).ok())
            .and_then(|text| text.trim().parse().ok())
            .unwrap_or(100)
    }

    /// Open file descriptors of a process.
    pub fn open_fds(pid: u32) -> anyhow::Result<usize> {
        Ok(std::fs::read_dir(format!("/proc/{pid}/fd"))?.count())
    }

    /// The soft open-file limit of `pid` (`self` for this process).
    pub fn nofile_limit(pid: &str) -> anyhow::Result<u64> {
        let limits = std::fs::read_to_string(format!("/proc/{pid}/limits"))?;
        let line = limits.lines().find(|l| l.starts_with("Max open files")).context("no open-file limit")?;
        let soft = line.trim_start_matches("Max open files").split_whitespace().next().unwrap_or("");
        Ok(if soft == "unlimited" { u64::MAX } else { soft.parse()? })
    }
}

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
