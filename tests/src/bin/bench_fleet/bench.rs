//! The bench: provisioning, the phases (connect, settle, idle, optional restart, commands)
//! and what they measured ([`Summary`], printed by `summary.rs`).

use super::cloud::{Cloud, cloud_log_summary};
use super::fleet::Fleet;
use super::post::{ApiConn, count_online, post_commands};
use super::*;

/// How long the cloud has "to settle" after the last agent connected, before memory is read.
pub(crate) const SETTLE: Duration = Duration::from_secs(3);
/// How long after the last POST a missing `Deliver` counts as lost.
pub(crate) const DELIVERY_GRACE: Duration = Duration::from_secs(30);
/// File descriptors the cloud needs besides agent sockets: listener, database files,
/// epoll, the operator API connections, stdio. An estimate, for the warning only.
pub(crate) const CLOUD_FD_OVERHEAD: usize = 64;

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

    let mut cloud = match args.cluster {
        Some(n) => Cloud::start_cluster(&cloud_bin, &database_url, dir.path(), args.heartbeat_secs, n.into()).await?,
        None => Cloud::start(&cloud_bin, &database_url, dir.path(), args.heartbeat_secs).await?,
    };
    match cloud.balancer_pid {
        Some(balancer) => println!(
            "{} instances (pids {:?}, API on {:?}) behind HAProxy (pid {balancer}) on {}",
            cloud.pids.len(),
            cloud.pids,
            cloud.api_addrs,
            cloud.addr
        ),
        None => println!("cloud pid {} listening on {}", cloud.pid(), cloud.addr),
    }
    let result = measure(&args, &mut cloud, &provisioned, per_worker, worker_count).await;
    // The log up to here is the measurement's; stop the cloud with the agents still
    // connected (which times its shutdown), then the workers.
    let log = cloud_log_summary(&cloud.logs);
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
    /// CPU seconds the cloud and the bench workers spent while the fleet first connected.
    pub connect_cpu_secs: (f64, f64),
    pub rss_before_kib: u64,
    pub rss_connected_kib: u64,
    pub rss_after_kib: u64,
    pub rss_peak: String,
    pub cloud_fds: usize,
    pub cloud_threads: String,
    pub idle_secs: f64,
    pub idle_cloud_cpu: f64,
    pub idle_balancer_cpu: Option<f64>,
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

pub(crate) async fn measure(
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
    for i in 0..args.post_concurrency.max(1) {
        api.push(ApiConn::open(cloud.api_addrs[i % cloud.api_addrs.len()], &provisioned.operator_token).await?);
    }
    summary.rss_before_kib = cloud.rss_kib()?;

    let mut fleet = Fleet::spawn(args, cloud.addr, &provisioned.agents, worker_count).await?;
    println!("connecting {} agents ({} at a time)...", provisioned.agents.len(), args.connect_concurrency);
    let connect_started = Instant::now();
    let connect_started_us = unix_us();
    let ticks_before = (cloud.cpu_ticks()?, proc_stats::cpu_ticks_sum(&fleet.pids()));
    fleet.start_connecting().await?;
    let deadline = Instant::now() + Duration::from_secs(120) + Duration::from_millis(20 * args.agents as u64);
    if !fleet.pump_until(deadline, |s| s.connected_reports == worker_count).await? {
        bail!("workers did not finish connecting within {:?}", deadline - connect_started);
    }
    summary.connect_secs = connect_started.elapsed().as_secs_f64();
    summary.connect_ok_secs = (fleet.state.last_connected_us - connect_started_us).max(1) as f64 / 1e6;
    summary.connected = fleet.state.connected;
    let hz = proc_stats::clock_ticks_per_sec() as f64;
    summary.connect_cpu_secs = (
        cloud.cpu_ticks()?.saturating_sub(ticks_before.0) as f64 / hz,
        proc_stats::cpu_ticks_sum(&fleet.pids()).saturating_sub(ticks_before.1) as f64 / hz,
    );
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
    summary.rss_connected_kib = cloud.rss_kib()?;
    summary.cloud_fds = cloud.open_fds();
    summary.cloud_threads = cloud.status_field("Threads");

    println!("idling {} s with heartbeats running...", args.idle_secs);
    let pids = fleet.pids();
    let balancer = cloud.balancer_pid.map_or(0, |pid| proc_stats::cpu_ticks(pid).unwrap_or(0));
    let (cloud_before, workers_before) = (cloud.cpu_ticks()?, proc_stats::cpu_ticks_sum(&pids));
    let idle_started = Instant::now();
    tokio::time::sleep(Duration::from_secs(args.idle_secs)).await;
    summary.idle_secs = idle_started.elapsed().as_secs_f64();
    let (cloud_after, workers_after) = (cloud.cpu_ticks()?, proc_stats::cpu_ticks_sum(&pids));
    let hz = proc_stats::clock_ticks_per_sec() as f64;
    summary.idle_cloud_cpu = (cloud_after - cloud_before) as f64 / hz / summary.idle_secs * 100.0;
    summary.idle_worker_cpu = workers_after.saturating_sub(workers_before) as f64 / hz / summary.idle_secs * 100.0;
    let balancer_after = cloud.balancer_pid.map_or(0, |pid| proc_stats::cpu_ticks(pid).unwrap_or(0));
    summary.idle_balancer_cpu = cloud.balancer_pid.map(|_| (balancer_after - balancer) as f64 / hz / summary.idle_secs * 100.0);
    summary.rss_after_kib = cloud.rss_kib()?;
    summary.rss_peak = cloud.status_field("VmHWM");

    if args.restart {
        let limit = Duration::from_secs(120) + Duration::from_millis(20 * args.agents as u64);
        summary.restart = Some(super::restart::run(cloud, &mut fleet, summary.connected, limit).await?);
        api.clear();
        for i in 0..args.post_concurrency.max(1) {
            api.push(ApiConn::open(cloud.api_addrs[i % cloud.api_addrs.len()], &provisioned.operator_token).await?);
        }
    }
    if args.commands > 0 {
        measure_commands(args, &mut fleet, &mut api, provisioned, cloud, &mut summary).await?;
    }
    fleet.drain();
    summary.dropped = fleet.state.dropped.clone();
    summary.online_at_end = count_online(&mut api[0]).await.ok();
    Ok((summary, fleet))
}

pub(crate) async fn measure_commands(
    args: &BenchArgs,
    fleet: &mut Fleet,
    api: &mut Vec<ApiConn>,
    provisioned: &Provisioned,
    cloud: &Cloud,
    summary: &mut Summary,
) -> anyhow::Result<()> {
    let targets: Vec<RouterId> = provisioned.agents.iter().filter(|a| !fleet.state.failed.contains(&a.index)).map(|a| a.router).collect();
    if targets.is_empty() {
        bail!("no agent connected: nothing to send commands to");
    }
    println!("posting {} commands ({} at a time)...", args.commands, api.len());
    let cpu_before = cloud.cpu_ticks()?;
    let posted = post_commands(std::mem::take(api), Arc::new(targets), args.commands).await;
    *api = posted.conns;
    summary.posted = posted.sent.len();
    summary.post_errors = posted.errors;
    summary.post_secs = posted.elapsed.as_secs_f64();
    summary.post_rtt_ms = posted.rtt_ms;

    let expected: HashMap<(RouterId, u64), i64> = posted.sent.iter().map(|&(r, s, at)| ((r, s), at)).collect();
    let deadline = Instant::now() + DELIVERY_GRACE;
    fleet.pump_until(deadline, |s| expected.keys().all(|k| s.deliveries.contains_key(k))).await?;
    let busy_secs = (cloud.cpu_ticks()? - cpu_before) as f64 / proc_stats::clock_ticks_per_sec() as f64;
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
pub(crate) async fn provision(database_url: &str, dir: &Path, n: usize) -> anyhow::Result<Provisioned> {
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
