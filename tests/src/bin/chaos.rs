//! `chaos`: the chaos run (see `jasiyo_tests::chaos`) on SQLite, PostgreSQL or both. Prints
//! the seed (pass it back with `--seed` to replay the same customers and faults), the faults
//! as they happen, and a summary per database; exits non-zero if any payment was lost or
//! served twice, or the system did not settle.

use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use jasiyo_tests::chaos::{self, ChaosConfig};

#[derive(Parser)]
struct Args {
    /// Customers in the stream.
    #[arg(long, default_value_t = 300)]
    payments: usize,
    /// Customers arriving per second.
    #[arg(long, default_value_t = 10.0)]
    rate: f64,
    /// Faults injected over the stream.
    #[arg(long, default_value_t = 30)]
    faults: usize,
    /// The seed (random when not given; printed either way).
    #[arg(long)]
    seed: Option<u64>,
    /// How long to wait for quiet once every customer is done (late approvals come 90-100 s
    /// after their prompts), in seconds. Callbacks lost on purpose are found by
    /// reconciliation, whose first check comes 10 s after the push.
    #[arg(long, default_value_t = 120)]
    settle_secs: u64,
    /// `sqlite`, `postgres` or `both`.
    #[arg(long, default_value = "both")]
    backend: String,
    /// Cloud instances: more than one run behind HAProxy (`scripts/cluster`; PostgreSQL only),
    /// and each cloud kill takes one of them down.
    #[arg(long, default_value_t = 1)]
    instances: usize,
    /// A PostgreSQL server URL (a fresh database is created on it and dropped after).
    #[arg(long, env = "TEST_POSTGRES_URL", default_value = "postgres://postgres@127.0.0.1:5432/postgres")]
    postgres: String,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let seed = args.seed.unwrap_or_else(rand::random);
    let config = ChaosConfig {
        payments: args.payments,
        rate: args.rate,
        faults: args.faults,
        seed,
        settle_limit: Duration::from_secs(args.settle_secs),
        instances: args.instances,
    };
    anyhow::ensure!(args.instances >= 1, "--instances must be at least 1");
    anyhow::ensure!(args.instances == 1 || args.backend == "postgres", "several instances need --backend postgres");
    println!(
        "chaos: seed {seed}, {} customers at {}/s, {} faults, {} cloud instance(s) (replay with --seed {seed})",
        config.payments, config.rate, config.faults, config.instances
    );
    let mut ok = true;
    if args.backend == "sqlite" || args.backend == "both" {
        let dir = tempfile::TempDir::new()?;
        let url = format!("sqlite://{}", dir.path().join("cloud.db").display());
        let summary = chaos::run(&config, &url, dir.path()).await?;
        println!("SQLite:\n{summary}");
        ok &= summary.ok();
    }
    if args.backend == "postgres" || args.backend == "both" {
        let name = format!("jasiyo_chaos_{}", std::process::id());
        let mut admin = <sqlx::PgConnection as sqlx::Connection>::connect(&args.postgres).await.context("connect to PostgreSQL")?;
        sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut admin).await?;
        let (head, _) = args.postgres.rsplit_once('/').context("database URL")?;
        let dir = tempfile::TempDir::new()?;
        let result = chaos::run(&config, &format!("{head}/{name}"), dir.path()).await;
        sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(&mut admin).await.ok();
        let summary = result?;
        println!("PostgreSQL:\n{summary}");
        ok &= summary.ok();
    }
    anyhow::ensure!(ok, "chaos: invariants broken (seed {seed})");
    println!("chaos: nothing lost, nothing doubled (seed {seed})");
    Ok(())
}
