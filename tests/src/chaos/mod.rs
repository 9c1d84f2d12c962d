//! The chaos run: real `jasiyo-cloud`, `jasiyo-agent` and `payment-emulator` processes
//! (Daraja, PayHero and Paystack tenants side by side, each with its own router emulator,
//! agent, and link through a relay), under a stream of customers paying
//! through the real portal API while a fault injector kills, cuts, freezes and fails parts
//! of the system at moments drawn from a printed seed. When the stream ends and the faults
//! stop, the checker waits for quiet and verifies that every payment the provider reports
//! as paid is paid once in the cloud and has exactly one user on the router, and nothing
//! else is.
//!
//! - [`stack`]: the cloud and the payment emulator process, and the faults of the whole system.
//! - [`site`]: one hotspot per provider (Daraja, PayHero, Paystack): tenant, router
//!   process, relay and agent, and the faults of one hotspot.
//! - [`driver`]: the customers, each with an outcome drawn from the mix.
//! - [`recovery`]: a few customers moving their plan to a second device, and its check.
//! - [`faults`]: the injector.
//! - [`check`]: waiting for quiet, and the invariants; [`site_check`]: those of one site.
//! - [`summary`]: what a run found, in total and by provider.
//! - [`journal`]: the agent's journal against the router, after quiet.
//! - [`breakdown`]: where the slow payments spent their time.
//! - [`link_back`]: how fast the link came back after each fault that broke it.
//! - [`stretches`]: how much of the run the faults covered, and how long they ran back to back.

pub mod breakdown;
pub mod check;
pub mod driver;
pub mod faults;
pub mod journal;
pub mod link_back;
pub mod recovery;
pub mod site;
pub mod site_check;
pub mod stack;
pub mod stretches;
pub mod summary;

use std::time::Duration;

use rand::SeedableRng;
use rand::rngs::StdRng;

pub use summary::Summary;

/// What one chaos run does.
#[derive(Clone, Debug)]
pub struct ChaosConfig {
    /// Customers in the stream.
    pub payments: usize,
    /// Customers arriving per second.
    pub rate: f64,
    /// Faults injected while the stream runs, spread over it at random.
    pub faults: usize,
    /// The seed every random choice comes from (customers' outcomes, faults and moments).
    pub seed: u64,
    /// How long the checker waits for the system to settle once every customer is done (the
    /// driver waits for the late approvals, 90-100 s after their prompts, before that).
    pub settle_limit: Duration,
    /// Cloud instances: 1 is one process; more run behind HAProxy (`scripts/cluster`, on
    /// PostgreSQL), and a cloud kill takes one of them down.
    pub instances: usize,
}

impl ChaosConfig {
    /// How long the stream of customers lasts.
    pub fn stream_length(&self) -> Duration {
        Duration::from_secs_f64(self.payments as f64 / self.rate.max(0.001))
    }
}

/// Runs one chaos run on `database_url` (a fresh database) with files under `dir`.
pub async fn run(config: &ChaosConfig, database_url: &str, dir: &std::path::Path) -> anyhow::Result<Summary> {
    let stack = std::sync::Arc::new(stack::Stack::start(database_url, dir, config.instances).await?);
    for site in 0..stack.sites.len() {
        tokio::spawn(site::watch_users(std::sync::Arc::downgrade(&stack), site));
    }
    let started = tokio::time::Instant::now();
    let injector = {
        let (stack, config) = (stack.clone(), config.clone());
        tokio::spawn(async move { faults::inject(&stack, &config, StdRng::seed_from_u64(config.seed ^ 0xfa17)).await })
    };
    let customers = driver::drive(&stack, config, StdRng::seed_from_u64(config.seed)).await;
    let injected = injector.await?;
    stack.heal().await;
    let mut summary = check::check(&stack, &customers, injected, config, started).await?;
    let (journal, disagreements) = journal::compare(&stack).await?;
    summary.journal = Some(journal);
    summary.violations.extend(disagreements);
    stack.stop().await;
    Ok(summary)
}
