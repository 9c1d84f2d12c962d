//! The fault injector: while the customers stream in, at moments drawn from the seed, one
//! fault at a time from the kinds below. Each is over (the process restarted, the link
//! healed) before the next is drawn, so faults overlap the traffic, not each other. The
//! faults of one hotspot (its agent, its router's API or process, its link) strike a site
//! drawn from the seed; the cloud, the provider and the database are everyone's.

use std::collections::BTreeMap;
use std::time::Duration;

use rand::Rng;
use rand::rngs::StdRng;
use tokio::time::Instant;

use super::ChaosConfig;
use super::stack::Stack;

/// A kind of fault.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Fault {
    /// The cloud SIGKILLed and started again.
    CloudKilled,
    /// The agent SIGKILLed and started again.
    AgentKilled,
    /// The router's API down (connections dropped and refused) for a while.
    RouterDown,
    /// The router's process SIGKILLed and booted again from its state file (a power cut).
    RouterKilled,
    /// The agent's link cut.
    LinkCut,
    /// The agent's link frozen (nothing flows, nothing closes) past the heartbeat's limit.
    LinkFrozen,
    /// The provider answering HTTP 500 for a few requests.
    ProviderErrors,
    /// The provider not answering one request at all.
    ProviderHang,
    /// The database not answering the cloud for a while.
    DatabasePaused,
}

impl Fault {
    const ALL: [Fault; 9] = [
        Fault::CloudKilled,
        Fault::AgentKilled,
        Fault::RouterDown,
        Fault::RouterKilled,
        Fault::LinkCut,
        Fault::LinkFrozen,
        Fault::ProviderErrors,
        Fault::ProviderHang,
        Fault::DatabasePaused,
    ];

    /// Its name in the summary.
    pub fn label(self) -> &'static str {
        match self {
            Fault::CloudKilled => "cloud killed",
            Fault::AgentKilled => "agent killed",
            Fault::RouterDown => "router down",
            Fault::RouterKilled => "router killed",
            Fault::LinkCut => "link cut",
            Fault::LinkFrozen => "link frozen",
            Fault::ProviderErrors => "provider 500s",
            Fault::ProviderHang => "provider hang",
            Fault::DatabasePaused => "database paused",
        }
    }

    /// Whether it strikes one site (its agent, router or link) rather than everyone.
    pub fn hits_one_site(self) -> bool {
        matches!(self, Fault::AgentKilled | Fault::RouterDown | Fault::RouterKilled | Fault::LinkCut | Fault::LinkFrozen)
    }
}

/// Faults injected, by kind, and when the last one was over.
#[derive(Debug, Default)]
pub struct Injected {
    /// How many of each kind.
    pub counts: BTreeMap<Fault, usize>,
    /// Each fault with when it began and when it was over, in order.
    pub spans: Vec<(Fault, Instant, Instant)>,
    /// For each of `spans`, the site it struck (`None`: everyone).
    pub sites: Vec<Option<usize>>,
    /// When the last fault was over (the start of the run if there was none).
    pub last_over: Option<Instant>,
}

impl Injected {
    /// The faults that reached site `site`: everyone's and its own, in order.
    pub fn spans_for(&self, site: usize) -> Vec<(Fault, Instant, Instant)> {
        let reached = self.spans.iter().zip(&self.sites).filter(|(_, s)| s.is_none_or(|s| s == site));
        reached.map(|(span, _)| *span).collect()
    }
}

/// Injects `config.faults` faults over the stream's length and returns what it did.
pub async fn inject(stack: &Stack, config: &ChaosConfig, mut rng: StdRng) -> Injected {
    let mut injected = Injected::default();
    if config.faults == 0 {
        return injected;
    }
    let length = config.stream_length();
    let started = Instant::now();
    let mut moments: Vec<Duration> = (0..config.faults).map(|_| length.mul_f64(rng.random_range(0.0..1.0))).collect();
    moments.sort();
    for moment in moments {
        tokio::time::sleep_until(started + moment).await;
        let fault = Fault::ALL[rng.random_range(0..Fault::ALL.len())];
        let site = fault.hits_one_site().then(|| rng.random_range(0..stack.sites.len()));
        let on = &stack.sites[site.unwrap_or(0)];
        let down = Duration::from_millis(rng.random_range(100..1500));
        let (at, began) = (started.elapsed(), Instant::now());
        match fault {
            Fault::CloudKilled => {
                // Drawn only with several instances, so that a seed replays a one-process run.
                let which = if stack.instances() > 1 { rng.random_range(0..stack.instances()) } else { 0 };
                stack.kill_cloud(down, which).await
            }
            Fault::AgentKilled => on.kill_agent(down).await,
            Fault::RouterDown => on.router_outage(down * 2).await,
            Fault::RouterKilled => {
                if let Err(error) = on.kill_router(down).await {
                    eprintln!("chaos: restarting the {} router failed: {error:#}", on.label());
                    continue;
                }
            }
            Fault::LinkCut => on.cut_link(),
            // Three heartbeats (1 s each) of silence, and then some.
            Fault::LinkFrozen => on.freeze_link(Duration::from_millis(rng.random_range(3500..5000))).await,
            Fault::ProviderErrors => stack.provider_errors(rng.random_range(1..5)).await,
            Fault::ProviderHang => stack.provider_hang().await,
            Fault::DatabasePaused => {
                if let Err(error) = stack.pause_database(down * 2).await {
                    eprintln!("chaos: pausing the database failed: {error:#}");
                    continue;
                }
            }
        }
        let place = site.map_or(String::new(), |_| format!(" ({})", on.label()));
        eprintln!("chaos: {:>7.1} s  {}{place}", at.as_secs_f64(), fault.label());
        *injected.counts.entry(fault).or_default() += 1;
        injected.last_over = Some(Instant::now());
        injected.spans.push((fault, began, Instant::now()));
        injected.sites.push(site);
    }
    injected
}
