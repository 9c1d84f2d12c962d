//! The Jasiyo edge agent: keeps an outbound WebSocket to the cloud ([`link`]), writes every
//! delivered command to a local [`journal`] before acknowledging it, and applies commands in
//! order through an [`Executor`] (RouterOS, or a logger until that exists).
//!
//! `main.rs` only parses flags and calls [`Agent::open`] and [`Agent::run`]; tests run the
//! agent in-process the same way.

#![warn(missing_docs)]

pub mod clock;
pub mod config;
pub mod counters;
pub mod edge;
pub mod env_file;
pub mod executor;
pub mod journal;
pub mod link;
pub mod routeros;

use std::sync::Arc;

use anyhow::Context;
use tokio::sync::{Notify, watch};
use tokio_util::sync::CancellationToken;
use tracing::{Instrument, info, info_span, warn};

pub use clock::Clock;
pub use config::{AgentConfig, ReconnectPolicy, Token};
pub use counters::Counters;
pub use edge::{Edge, EdgeConfig};
pub use executor::{ApplyFuture, ExecError, Executor, LoggingExecutor};
pub use journal::Journal;
pub use link::LinkState;
pub use routeros::{Router, RouterOsConfig};

use executor::Applier;
use jasiyo_shared::{RouterStatus, UserUsage};
use link::Link;

/// A ready-to-run agent: configuration checked, journal open.
pub struct Agent {
    link: Link,
    applier: Applier,
    journal: Journal,
    /// The RouterOS edge's maintenance (expiry, reconciliation, status), when there is one.
    edge: Option<Arc<Edge>>,
}

/// What carries out commands, built once the journal is open.
struct Backend {
    executor: Arc<dyn Executor>,
    edge: Option<Arc<Edge>>,
    status: watch::Receiver<RouterStatus>,
    /// What keeps the backend from doing its job, if anything.
    problem: watch::Receiver<Option<String>>,
    /// Data counters of the hotspot users the backend manages.
    usage: watch::Receiver<Vec<UserUsage>>,
}

impl Agent {
    /// Checks the configuration, builds the TLS set-up and opens the journal in
    /// `<data_dir>/journal` (moving a damaged one aside and starting fresh). Commands go to
    /// `executor`.
    pub fn open(config: AgentConfig, executor: Arc<dyn Executor>) -> anyhow::Result<Agent> {
        Self::open_with(config, move |_, _, _, _, _| {
            Ok(Backend {
                executor,
                edge: None,
                status: watch::channel(RouterStatus::default()).1,
                problem: watch::channel(None).1,
                usage: watch::channel(Vec::new()).1,
            })
        })
    }

    /// Like [`Agent::open`], with commands applied on the RouterOS router at `routeros`,
    /// expiries enforced and drift repaired there.
    pub fn open_routeros(config: AgentConfig, routeros: RouterOsConfig, edge_config: EdgeConfig) -> anyhow::Result<Agent> {
        let router = Router::new(routeros).context("invalid RouterOS API settings")?;
        info!(router_api = router.addr(), "commands will be applied on RouterOS");
        Self::open_with(config, move |journal, reset, results, clock, counters| {
            let edge = Edge::new(router.counting(counters), journal.clone(), edge_config, reset, results, clock);
            Ok(Backend { executor: edge.clone(), status: edge.status(), problem: edge.problem(), usage: edge.usage(), edge: Some(edge) })
        })
    }

    fn open_with(
        config: AgentConfig,
        backend: impl FnOnce(&Journal, bool, Arc<Notify>, Arc<Clock>, Arc<Counters>) -> anyhow::Result<Backend>,
    ) -> anyhow::Result<Agent> {
        let endpoint = config.endpoint()?;
        let request = link::build_request(&endpoint, config.router_id, &config.token)
            .with_context(|| format!("cannot build a request for {endpoint}"))?;
        let connector = link::tls::connector(config.ca_file.as_deref())?;
        let (journal, journal_reset) =
            Journal::open(&config.data_dir).with_context(|| format!("cannot open the journal in {}", config.data_dir.display()))?;
        if journal_reset {
            warn!(data_dir = %config.data_dir.display(), "starting with an empty journal; the cloud will re-deliver unfinished commands");
        }
        info!(router = %config.router_id, %endpoint, journal_depth = journal.depth(), "agent ready");

        let clock = Arc::new(Clock::new(config.clock_offset_secs, last_skew(&journal)));
        if config.clock_offset_secs != 0 {
            warn!(offset_secs = config.clock_offset_secs, "the clock is offset for a test (JASIYO_AGENT_CLOCK_OFFSET_SECS)");
        }
        let work = Arc::new(Notify::new());
        let results = Arc::new(Notify::new());
        let (last_error_tx, last_error) = watch::channel(None);
        // Waiters see `Connecting` until the first attempt ends: a `Disconnected` state
        // always means a real attempt failed (or the agent stopped).
        let (state, _) = watch::channel(LinkState::Connecting);
        let counters = Arc::new(Counters::new(clock.local_ms()));
        let Backend { executor, edge, status: router_status, problem, usage } =
            backend(&journal, journal_reset, results.clone(), clock.clone(), counters.clone())?;
        let applier = Applier::new(journal.clone(), executor, work.clone(), results.clone(), &config.reconnect, last_error_tx)
            .counting(counters.clone());
        let link = Link {
            request,
            router_id: config.router_id,
            connector,
            policy: config.reconnect,
            status_interval: config.status_interval,
            journal: journal.clone(),
            journal_reset,
            work,
            results,
            last_error,
            router_status,
            problem,
            state,
            protocol: jasiyo_shared::PROTOCOL_VERSION,
            fallback_logged: false,
            clock,
            usage,
            counters,
        };
        Ok(Agent { link, applier, journal, edge })
    }

    /// Follows the link's state (for tests, and for health reporting).
    pub fn link_state(&self) -> watch::Receiver<LinkState> {
        self.link.state.subscribe()
    }

    /// Runs the link and the apply loop until `shutdown` is cancelled, then flushes the
    /// journal and returns.
    pub async fn run(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let Agent { link, applier, journal, edge } = self;
        let span = info_span!("apply", router = %link.router_id);
        let applying = tokio::spawn(applier.run(shutdown.clone()).instrument(span));
        let maintaining = edge.map(|edge| {
            let span = info_span!("edge", router = %link.router_id);
            tokio::spawn(edge.run_maintenance(shutdown.clone()).instrument(span))
        });
        link.run(shutdown).await;
        applying.await.context("the apply loop panicked")?;
        if let Some(maintaining) = maintaining {
            maintaining.await.context("the edge maintenance loop panicked")?;
        }
        journal.off_thread(|j| j.flush()).await.context("cannot flush the journal")?;
        info!("agent stopped; journal flushed");
        Ok(())
    }
}

/// The clock skew last measured and kept in the journal, or 0 (unknown).
fn last_skew(journal: &Journal) -> i64 {
    match journal.clock_skew_ms() {
        Ok(skew) => skew.unwrap_or(0),
        Err(e) => {
            warn!(error = %e, "cannot read the last clock skew; taking the router's clock as right until the cloud is reached");
            0
        }
    }
}
