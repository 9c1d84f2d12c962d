//! `bench-reconcile`: how fast a backlog of open payments is settled by asking the provider,
//! as after a cloud restart during which every callback was lost. N customers approve their
//! prompts, no callback arrives, the provider emulator then answers every request after a
//! fixed latency (real Daraja takes about a second), and all N payments fall due at once.
//! Reported: the time until every one is paid, and the most status queries at once.

use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use jasiyo_cloud::model::PaymentState;
use jasiyo_cloud::store::now_ms;
use jasiyo_cloud::store::testing::Backend;
use jasiyo_tests::harness::World;
use jasiyo_tests::payment_emulator::{Delivery, EmulatorAccounts, PaymentEmulator, Resolution};
use jasiyo_tests::shop::daraja_shop;
use serde_json::{Value, json};
use tokio::time::Instant;

#[derive(Parser)]
struct Args {
    /// Open payments in the backlog.
    #[arg(long, default_value_t = 1000)]
    payments: usize,
    /// How long the provider takes to answer each request, in milliseconds.
    #[arg(long, default_value_t = 1000)]
    latency_ms: u64,
    /// `sqlite`, `postgres` or `both` (PostgreSQL: TEST_POSTGRES_URL).
    #[arg(long, default_value = "sqlite")]
    backend: String,
}

async fn run(backend: Backend, args: &Args) -> anyhow::Result<()> {
    let Some(world) = World::new(backend).await else { return Ok(()) };
    let cloud = world
        .cloud_with_payments(|c| {
            c.first_check_after = Duration::from_secs(24 * 3600); // due only when made due below
            c.reconcile_tick = Duration::from_secs(1); // production values from here on
            c.http.timeout = Duration::from_secs(15);
            c.check_every = Duration::from_secs(20);
            (c.limits.per_ip, c.limits.per_router, c.limits.per_tenant, c.limits.global) = (usize::MAX, usize::MAX, usize::MAX, usize::MAX);
        })
        .await;
    let store = world.store().await;
    let creds = world.add_router(store.as_ref(), "r1").await;
    let pay = PaymentEmulator::start(EmulatorAccounts::default()).await;
    let plan = daraja_shop(store.as_ref(), &pay).await?;
    pay.set_auto(Some((Resolution::Approve, Delivery::Lost)));
    let http = reqwest::Client::new();
    let url = format!("{}/api/portal/{}/payments", cloud.http_url(), creds.id);
    for n in 0..args.payments {
        let mac = format!("02:AB:{:02X}:{:02X}:{:02X}:{:02X}", (n >> 24) & 0xff, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff);
        let body = json!({"plan_id": plan.id.to_string(), "phone": format!("0722{n:06}"), "mac": mac, "idempotency_key": format!("k{n}")});
        let answer: Value = http.post(&url).json(&body).send().await?.json().await?;
        anyhow::ensure!(answer["id"].is_string(), "payment {n} refused: {answer}");
    }
    pay.set_latency(Duration::from_millis(args.latency_ms));
    let started = Instant::now();
    store.hasten_checks(0, now_ms()).await?;
    let mut changes = cloud.payments.changes();
    loop {
        let paid = store.list_payments(creds.id, u32::MAX).await?.iter().filter(|p| p.state == PaymentState::Paid).count();
        if paid == args.payments {
            break;
        }
        tokio::time::timeout(Duration::from_secs(600), changes.changed()).await.context("stalled")??;
    }
    println!(
        "{backend:?}: {} open payments settled by status queries in {:.1} s at {} ms per provider answer; at most {} queries at once",
        args.payments,
        started.elapsed().as_secs_f64(),
        args.latency_ms,
        pay.peak_requests()
    );
    cloud.stop().await;
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if args.backend == "sqlite" || args.backend == "both" {
        run(Backend::Sqlite, &args).await?;
    }
    if args.backend == "postgres" || args.backend == "both" {
        run(Backend::Postgres, &args).await?;
    }
    Ok(())
}
