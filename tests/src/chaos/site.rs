//! One hotspot of the chaos run: a tenant paid through one provider (Daraja, PayHero or
//! Paystack), its plan, its router (a RouterOS emulator process of its own, with its own
//! state file and control address), the agent process on it, and the agent's link to the
//! cloud through a [`Relay`] of its own. The sites share the cloud, its database and the
//! payment emulator; the faults that strike one hotspot (agent killed, router down or
//! killed, link cut or frozen) are methods here.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use jasiyo_cloud::model::ProviderKind;
use jasiyo_cloud::store::{Store, now_ms};
use jasiyo_cloud::token::AgentToken;
use tokio::process::Child;
use tokio::sync::Mutex as AsyncMutex;
use tokio::time::Instant;

use crate::harness::RouterCreds;
use crate::payment_process::PaymentProcess;
use crate::processes::AgentProcess;
use crate::relay::Relay;
use crate::routeros_process::RouterProcess;
use crate::shop::{Shop, shop};

/// The providers of the run, one site each, in the order customers are spread over them.
pub const PROVIDERS: [ProviderKind; 3] = [ProviderKind::Daraja, ProviderKind::Payhero, ProviderKind::Paystack];

/// A provider's name in the summary.
pub fn provider_label(kind: ProviderKind) -> &'static str {
    match kind {
        ProviderKind::Daraja => "Daraja",
        ProviderKind::Payhero => "PayHero",
        ProviderKind::Paystack => "Paystack",
    }
}

/// A site's rows in the database, written before the cloud starts.
pub struct Prepared {
    kind: ProviderKind,
    creds: RouterCreds,
    shop: Shop,
}

/// Writes a tenant paying through `kind` on `pay`, its plan and its router.
pub async fn prepare(store: &dyn Store, kind: ProviderKind, pay: &PaymentProcess) -> anyhow::Result<Prepared> {
    let tenant = store.create_tenant(&format!("chaos-{}", kind.as_str()), now_ms()).await?;
    let token = AgentToken::generate();
    let router = store.create_router(tenant.id, &format!("chaos {}", provider_label(kind)), &token.hash(), now_ms()).await?;
    let creds = RouterCreds { id: router.id, token: token.expose().to_string() };
    let shop = shop(store, tenant.id, kind, pay).await?;
    Ok(Prepared { kind, creds, shop })
}

/// One running hotspot.
pub struct Site {
    /// The provider its tenant is paid through.
    pub kind: ProviderKind,
    /// Its router in the cloud.
    pub creds: RouterCreds,
    /// The plan its customers buy.
    pub plan_id: String,
    /// Its MikroTik, emulated, as a process of its own (SIGKILLed by
    /// [`Fault::RouterKilled`](super::faults::Fault::RouterKilled)).
    pub router: RouterProcess,
    /// Between its agent and the cloud.
    pub relay: Relay,
    /// When each user name was first seen on its router.
    pub first_seen: Arc<Mutex<HashMap<String, Instant>>>,
    agent_dir: PathBuf,
    agent: AsyncMutex<Option<Child>>,
}

impl Site {
    /// Starts the router emulator (its state file under `dir/router-<provider>`), the relay
    /// to `cloud_addr` and the agent (its data under `dir/agent-<provider>`); for Paystack,
    /// points the emulator's dashboard webhook at the tenant's URL.
    pub async fn start(prepared: Prepared, pay: &PaymentProcess, cloud_addr: SocketAddr, dir: &std::path::Path) -> anyhow::Result<Site> {
        let Prepared { kind, creds, shop } = prepared;
        if kind == ProviderKind::Paystack {
            pay.set_paystack_webhook(&shop.paystack_webhook(&format!("http://{cloud_addr}"))).await;
        }
        let router_dir = dir.join(format!("router-{}", kind.as_str()));
        std::fs::create_dir_all(&router_dir)?;
        let site = Site {
            kind,
            creds,
            plan_id: shop.plan.id.to_string(),
            router: RouterProcess::start(&router_dir).await?,
            relay: Relay::start(cloud_addr).await,
            first_seen: Arc::new(Mutex::new(HashMap::new())),
            agent_dir: dir.join(format!("agent-{}", kind.as_str())),
            agent: AsyncMutex::new(None),
        };
        site.start_agent().await;
        Ok(site)
    }

    /// Its provider's name in the summary.
    pub fn label(&self) -> &'static str {
        provider_label(self.kind)
    }

    async fn start_agent(&self) {
        let agent = AgentProcess::spawn_routeros(&self.relay.ws_url(), &self.creds, &self.agent_dir, self.router.addr());
        *self.agent.lock().await = Some(agent.detach_output());
    }

    /// Whether the cloud shows the router connected within `limit`.
    pub async fn wait_connected(&self, store: &dyn Store, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        let mut tick = tokio::time::interval(Duration::from_millis(50));
        while Instant::now() < deadline {
            tick.tick().await;
            if let Ok(Some(router)) = store.router(self.creds.id).await
                && router.online_session.is_some()
            {
                return true;
            }
        }
        false
    }

    /// SIGKILL the agent, wait `down`, start it again on the same journal.
    pub async fn kill_agent(&self, down: Duration) {
        if let Some(mut old) = self.agent.lock().await.take() {
            let _ = old.kill().await;
        }
        tokio::time::sleep(down).await;
        self.start_agent().await;
    }

    /// SIGKILL the agent and leave it down (after quiet: its journal is read then).
    pub async fn kill_agent_for_good(&self) {
        if let Some(mut agent) = self.agent.lock().await.take() {
            let _ = agent.kill().await;
        }
    }

    /// The agent's data directory (its journal is in `journal/` there).
    pub fn agent_dir(&self) -> PathBuf {
        self.agent_dir.clone()
    }

    /// The router reboots: its API connections drop and it refuses new ones for `down`.
    pub async fn router_outage(&self, down: Duration) {
        self.router.set_refuse_connections(true).await;
        self.router.kill_connections().await;
        tokio::time::sleep(down).await;
        self.router.set_refuse_connections(false).await;
    }

    /// The router loses power: SIGKILL, down for `down`, booted from its state file on the
    /// same address (users kept, sessions and hosts lost); then the devices on its network
    /// show up in its host table again, as they do once they send traffic.
    pub async fn kill_router(&self, down: Duration) -> anyhow::Result<()> {
        self.router.kill_and_restart(down).await?;
        self.router.devices_return().await;
        Ok(())
    }

    /// Every connection through the relay is cut (the agent sees a reset).
    pub fn cut_link(&self) {
        self.relay.cut();
    }

    /// Bytes stop flowing both ways, nothing closes, for `held`.
    pub async fn freeze_link(&self, held: Duration) {
        self.relay.set_frozen(true);
        tokio::time::sleep(held).await;
        self.relay.set_frozen(false);
    }

    /// Ends its lasting faults: the link flows, the router takes connections.
    pub async fn heal(&self) {
        self.relay.set_frozen(false);
        self.router.set_refuse_connections(false).await;
    }
}

/// Records when each user name first appears on the site's router, on every change of its
/// users (a long poll of its control channel: one fetch per change of the users, not per
/// command), across the router's reboots, until the stack is gone.
pub async fn watch_users(stack: std::sync::Weak<super::stack::Stack>, site: usize) {
    // The users' change counter starts again with each router process: after a reboot the
    // last one seen means nothing, and the users are fetched at once.
    let mut after: Option<(usize, u64)> = None;
    loop {
        let Some(stack) = stack.upgrade() else { return };
        let site = &stack.sites[site];
        let reboots = site.router.reboots().len();
        let since = after.filter(|(seen_at, _)| *seen_at == reboots).map(|(_, changes)| changes);
        match site.router.users_after(since, Duration::from_secs(1)).await {
            Ok(users) => {
                let now = Instant::now();
                let mut seen = site.first_seen.lock().expect("first-seen lock");
                for user in users.users {
                    seen.entry(user.name).or_insert(now);
                }
                after = Some((reboots, users.kept_changes));
            }
            // Down for a reboot: look again shortly.
            Err(_) => {
                after = None;
                drop(stack);
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}
