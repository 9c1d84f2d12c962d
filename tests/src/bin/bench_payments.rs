//! `bench-payments`: many concurrent customers through the whole money path: portal API
//! initiate -> provider emulator prompt -> approval -> callback -> cloud records and
//! provisions -> agent -> RouterOS emulator. Everything runs in this process (cloud, agent,
//! emulators) over real sockets, on SQLite and on PostgreSQL.
//!
//! Reported: payments per second at full concurrency, and the latency from the moment the
//! approval's callback is sent to the moment the user exists on the router, at a steady
//! rate (p50/p99).
//!
//! With `--cluster N` the cloud is not in this process but N `jasiyo-cloud serve` processes
//! on one PostgreSQL behind HAProxy (`scripts/cluster`): customers and agents go through the
//! balancer, callbacks too, and the cloud's CPU time and PostgreSQL transactions per payment
//! are reported beside the rates.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Parser;
use jasiyo_agent::{Agent, AgentConfig, EdgeConfig, ReconnectPolicy, RouterOsConfig, Token};
use jasiyo_cloud::App;
use jasiyo_cloud::hub::HubConfig;
use jasiyo_cloud::model::NewPlan;
use jasiyo_cloud::payments::PaymentsConfig;
use jasiyo_cloud::payments::providers_config::seal_settings;
use jasiyo_cloud::payments::sealer::Sealer;
use jasiyo_cloud::providers::ProviderKind;
use jasiyo_cloud::store::{connect, now_ms};
use jasiyo_cloud::token::AgentToken;
use jasiyo_tests::payment_emulator::{Delivery, EmulatorAccounts, PaymentEmulator, Resolution};
use jasiyo_tests::routeros_emulator::{EmulatorConfig, RouterOsEmulator};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

#[derive(Parser)]
struct Args {
    /// Payments in the throughput run.
    #[arg(long, default_value_t = 2000)]
    payments: usize,
    /// Customers paying at once in the throughput run.
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// Payments per second in the latency run.
    #[arg(long, default_value_t = 100)]
    rate: u64,
    /// Seconds of the latency run.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Routers the customers are spread over, each with its own agent and emulated router
    /// (one router serialises its payments' commands on its sequence counter).
    #[arg(long, default_value_t = 1)]
    routers: usize,
    /// `sqlite`, `postgres` or `both`.
    #[arg(long, default_value = "both")]
    backend: String,
    /// A PostgreSQL server URL (a fresh database is created on it).
    #[arg(long, env = "TEST_POSTGRES_URL", default_value = "postgres://postgres@127.0.0.1:5432/postgres")]
    postgres: String,
    /// Run the cloud as this many processes behind HAProxy (`scripts/cluster`; PostgreSQL
    /// only) instead of in this process.
    #[arg(long)]
    cluster: Option<usize>,
}

/// The sealing key of the bench's provider settings, given to cluster instances too.
const BENCH_KEY: [u8; 32] = [9; 32];

struct Bench {
    base: String,
    /// The cloud's processes when it runs as a cluster.
    cluster: Option<jasiyo_tests::cluster::Cluster>,
    routers: Vec<BenchRouter>,
    plan_id: String,
    http: reqwest::Client,
    pay: PaymentEmulator,
    _shutdown: tokio_util::sync::DropGuard,
    _dir: tempfile::TempDir,
}

/// A registered router with its agent running against an emulated RouterOS.
struct BenchRouter {
    id: String,
    emulator: RouterOsEmulator,
}

/// The cloud in this process: its address.
async fn cloud_here(store: Arc<dyn jasiyo_cloud::store::Store>, shutdown: &CancellationToken) -> anyhow::Result<String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let mut payments = PaymentsConfig::new(format!("http://{addr}"));
    payments.first_check_after = Duration::from_secs(600); // callbacks settle everything here
    // Every simulated customer comes from 127.0.0.1; real ones have addresses of their own.
    payments.limits.per_ip = usize::MAX;
    // One tenant's routers take every payment of the run: no budget is the bottleneck measured.
    (payments.limits.per_router, payments.limits.per_tenant, payments.limits.global) = (usize::MAX, usize::MAX, usize::MAX);
    let app = App::with_options(store, HubConfig { window: 256, ..HubConfig::default() }, Sealer::new(BENCH_KEY), payments, listener)?;
    tokio::spawn(app.run(shutdown.clone()));
    Ok(addr.to_string())
}

/// The cloud as `n` processes behind HAProxy on `database_url`, with the limits lifted as
/// in [`cloud_here`] (through their flags' environment variables).
async fn cloud_cluster(dir: &std::path::Path, database_url: &str, n: usize) -> jasiyo_tests::cluster::Cluster {
    use base64::Engine;
    let key = base64::engine::general_purpose::STANDARD.encode(BENCH_KEY);
    let many = "1000000000";
    let env = [
        ("JASIYO_SEALING_KEY", key.as_str()),
        ("JASIYO_LIMIT_PER_IP", many),
        ("JASIYO_LIMIT_PER_ROUTER", many),
        ("JASIYO_LIMIT_PER_TENANT", many),
        ("JASIYO_LIMIT_GLOBAL", many),
        ("RUST_LOG", "warn"),
    ];
    jasiyo_tests::cluster::Cluster::start(&dir.join("cluster"), database_url, n, &env).await
}

async fn setup(database_url: Option<String>, routers: usize, cluster: Option<usize>) -> anyhow::Result<Bench> {
    let dir = tempfile::TempDir::new()?;
    let store = connect(database_url.as_deref(), dir.path()).await?;
    let shutdown = CancellationToken::new();
    let (addr, cluster) = match (cluster, database_url.as_deref()) {
        (Some(n), Some(url)) => {
            let cluster = cloud_cluster(dir.path(), url, n).await;
            (cluster.balancer.clone(), Some(cluster))
        }
        (Some(_), None) => anyhow::bail!("--cluster runs on PostgreSQL only"),
        (None, _) => (cloud_here(store.clone(), &shutdown).await?, None),
    };

    let tenant = store.create_tenant("bench", now_ms()).await?;
    let plan = NewPlan {
        shared_users: None,
        name: "1 hour".into(),
        price_kes: 10,
        duration_secs: 3600,
        data_mb: None,
        rate_limit: None,
        profile: None,
    };
    let plan = store.create_plan(tenant.id, &plan, now_ms()).await?;
    let pay = PaymentEmulator::start(EmulatorAccounts::default()).await;
    let config = jasiyo_tests::harness::provider_config(ProviderKind::Daraja, &pay);
    let sealed = seal_settings(&Sealer::new(BENCH_KEY), tenant.id, &config)?;
    store.set_provider(tenant.id, ProviderKind::Daraja, &sealed, Some(&AgentToken::generate().hash()), now_ms()).await?;

    let mut bench_routers = Vec::new();
    for n in 0..routers {
        let token = AgentToken::generate();
        let router = store.create_router(tenant.id, &format!("bench{n}"), &token.hash(), now_ms()).await?;
        let emulator = RouterOsEmulator::start(EmulatorConfig::default()).await;
        let agent_config = AgentConfig {
            cloud_url: format!("ws://{addr}"),
            router_id: router.id,
            token: Token::new(token.expose().to_string()),
            data_dir: dir.path().join(format!("agent{n}")),
            ca_file: None,
            reconnect: ReconnectPolicy::fast_for_tests(),
            status_interval: Duration::from_secs(60),
            clock_offset_secs: 0,
        };
        let routeros = RouterOsConfig {
            addr: emulator.addr().to_string(),
            username: "admin".into(),
            password: jasiyo_shared::command::Password("secret".into()),
            tls: None,
            timeout: Duration::from_secs(5),
        };
        let agent = Agent::open_routeros(agent_config, routeros, EdgeConfig::default())?;
        let mut state = agent.link_state();
        tokio::spawn(agent.run(shutdown.clone()));
        tokio::time::timeout(Duration::from_secs(10), state.wait_for(|s| *s == jasiyo_agent::LinkState::Connected)).await??;
        bench_routers.push(BenchRouter { id: router.id.to_string(), emulator });
    }
    Ok(Bench {
        base: format!("http://{addr}"),
        cluster,
        routers: bench_routers,
        plan_id: plan.id.to_string(),
        http: reqwest::Client::new(),
        pay,
        _shutdown: shutdown.drop_guard(),
        _dir: dir,
    })
}

impl Bench {
    /// One customer: returns the callback-to-router latency.
    async fn customer(&self, n: usize) -> anyhow::Result<Duration> {
        let phone = format!("07{:08}", n % 100_000_000);
        let mac = format!("02:00:{:02X}:{:02X}:{:02X}:{:02X}", (n >> 24) & 0xff, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff);
        let router = &self.routers[n % self.routers.len()];
        let body = json!({ "plan_id": self.plan_id, "phone": phone, "mac": mac, "idempotency_key": format!("bench-{n}") });
        let response = self.http.post(format!("{}/api/portal/{}/payments", self.base, router.id)).json(&body).send().await?;
        let view: Value = response.json().await?;
        let id = view["id"].as_str().with_context(|| format!("initiate refused: {view}"))?.to_string();
        let msisdn = format!("2547{}", &phone[2..]);
        let prompt = self.pay.wait_for_prompt(&msisdn, Duration::from_secs(30)).await.context("no prompt")?;
        let sent = Instant::now();
        self.pay.resolve(&prompt.provider_ref, Resolution::Approve, Delivery::Normal).await?;
        // Only the page that started the payment sees its login: with the view key it got.
        let key = view["view_key"].as_str().unwrap_or_default().to_string();
        let view: Value =
            self.http.get(format!("{}/api/portal/payments/{id}", self.base)).header("x-view-key", key).send().await?.json().await?;
        let username = view["login"]["username"].as_str().with_context(|| format!("not paid: {view}"))?.to_string();
        let mut changes = router.emulator.changes();
        let wait = async {
            while router.emulator.user(&username).is_none() {
                changes.changed().await.ok();
            }
        };
        tokio::time::timeout(Duration::from_secs(30), wait).await.context("user never reached the router")?;
        Ok(sent.elapsed())
    }
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

async fn run(label: &str, database_url: Option<String>, args: &Args) -> anyhow::Result<()> {
    let bench = Arc::new(setup(database_url.clone(), args.routers.max(1), args.cluster).await?);
    let costs_before = Costs::read(&bench, database_url.as_deref()).await;
    // Throughput: `concurrency` customers at a time.
    let started = Instant::now();
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut workers = Vec::new();
    for _ in 0..args.concurrency {
        let (bench, next, total) = (bench.clone(), next.clone(), args.payments);
        workers.push(tokio::spawn(async move {
            let mut failures = 0;
            loop {
                let n = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                if n >= total {
                    return failures;
                }
                if let Err(e) = bench.customer(n).await {
                    eprintln!("payment {n}: {e:#}");
                    failures += 1;
                }
            }
        }));
    }
    let mut failures = 0;
    for worker in workers {
        failures += worker.await?;
    }
    let throughput = args.payments as f64 / started.elapsed().as_secs_f64();
    let costs = Costs::read(&bench, database_url.as_deref()).await.per_payment(&costs_before, args.payments);

    // Latency at a steady rate.
    let count = (args.rate * args.seconds) as usize;
    let mut tick = tokio::time::interval(Duration::from_micros(1_000_000 / args.rate.max(1)));
    let mut tasks = Vec::new();
    for i in 0..count {
        tick.tick().await;
        let bench = bench.clone();
        tasks.push(tokio::spawn(async move { bench.customer(1_000_000 + i).await }));
    }
    let mut latencies = Vec::new();
    for task in tasks {
        match task.await? {
            Ok(latency) => latencies.push(latency),
            Err(e) => {
                eprintln!("paced payment: {e:#}");
                failures += 1;
            }
        }
    }
    latencies.sort();
    let users: usize = bench.routers.iter().map(|r| r.emulator.users().len()).sum();
    println!("{label}:");
    println!(
        "  throughput: {throughput:>7.0} payments/s ({} payments, {} at a time, {} router(s))   target >= 500/s on PostgreSQL",
        args.payments,
        args.concurrency,
        bench.routers.len()
    );
    println!(
        "  callback -> user on router at {} payments/s: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms   target p99 < 50 ms",
        args.rate,
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99),
        percentile(&latencies, 1.0)
    );
    println!("  users on the router: {users} (= {} payments), failures: {failures}", args.payments + count);
    if let Some(cluster) = &bench.cluster {
        println!(
            "  per payment in the throughput run: cloud CPU {:.2} ms over {} instance(s), HAProxy CPU {:.2} ms, PostgreSQL transactions {:.1}",
            costs.cloud_cpu * 1000.0,
            cluster.instances.len(),
            costs.balancer_cpu * 1000.0,
            costs.transactions
        );
    }
    Ok(())
}

/// What the cloud's processes and its database have spent so far (cluster runs only).
#[derive(Default)]
struct Costs {
    cloud_cpu: f64,
    balancer_cpu: f64,
    transactions: f64,
}

impl Costs {
    async fn read(bench: &Bench, database_url: Option<&str>) -> Costs {
        let (Some(cluster), Some(url)) = (&bench.cluster, database_url) else { return Costs::default() };
        // PostgreSQL's counters reach pg_stat_database within a second of each commit.
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let pids = cluster.pids();
        let (instances, balancer) = pids.split_at(pids.len().saturating_sub(1));
        let cpu = |pids: &[u32]| pids.iter().map(|pid| jasiyo_tests::cluster::Cluster::cpu_seconds(*pid)).sum::<f64>();
        let name = url.rsplit('/').next().unwrap_or_default().to_string();
        let transactions = async {
            let mut db = <sqlx::PgConnection as sqlx::Connection>::connect(url).await.ok()?;
            let row: (i64,) = sqlx::query_as("SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = $1")
                .bind(&name)
                .fetch_one(&mut db)
                .await
                .ok()?;
            Some(row.0 as f64)
        };
        Costs { cloud_cpu: cpu(instances), balancer_cpu: cpu(balancer), transactions: transactions.await.unwrap_or(f64::NAN) }
    }

    fn per_payment(self, before: &Costs, payments: usize) -> Costs {
        let n = payments.max(1) as f64;
        Costs {
            cloud_cpu: (self.cloud_cpu - before.cloud_cpu) / n,
            balancer_cpu: (self.balancer_cpu - before.balancer_cpu) / n,
            transactions: (self.transactions - before.transactions) / n,
        }
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    match args.cluster {
        Some(n) => {
            println!("bench-payments: Daraja emulator, agent and RouterOS emulator in-process; the cloud as {n} process(es) behind HAProxy")
        }
        None => println!("bench-payments: Daraja emulator, in-process cloud + agent + RouterOS emulator"),
    }
    if (args.backend == "sqlite" || args.backend == "both") && args.cluster.is_none() {
        run("SQLite", None, &args).await?;
    }
    if args.backend == "postgres" || args.backend == "both" {
        let name = format!("jasiyo_bench_{}", std::process::id());
        let mut admin = <sqlx::PgConnection as sqlx::Connection>::connect(&args.postgres).await.context("connect to PostgreSQL")?;
        sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut admin).await?;
        let (head, _) = args.postgres.rsplit_once('/').context("database URL")?;
        let result = run("PostgreSQL", Some(format!("{head}/{name}")), &args).await;
        sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(&mut admin).await.ok();
        result?;
    }
    Ok(())
}
