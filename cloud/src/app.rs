//! The cloud service: built from a configuration and a listener, run until shutdown.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use axum::serve::ListenerExt;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::http::{AppState, router};
use crate::hub::{Hub, HubConfig};
use crate::store::{self, Store};

/// Everything `serve` needs.
#[derive(Clone, Debug)]
pub struct CloudConfig {
    /// `sqlite://...` or `postgres://...`; `None` means a SQLite file in `data_dir`.
    pub database_url: Option<String>,
    /// Where the embedded database lives.
    pub data_dir: PathBuf,
    /// How providers and agents reach this cloud (used in links the cloud hands out).
    pub public_url: String,
    /// Hub tuning.
    pub hub: HubConfig,
}

/// A built, not yet running, cloud.
pub struct App {
    listener: TcpListener,
    hub: Arc<Hub>,
    tasks: CancellationToken,
}

impl App {
    /// Opens the store (running migrations) and prepares the service on `listener`.
    pub async fn build(config: CloudConfig, listener: TcpListener) -> anyhow::Result<App> {
        let store = store::connect(config.database_url.as_deref(), &config.data_dir).await?;
        Ok(Self::with_store(store, config.hub, listener))
    }

    /// Prepares the service over an already opened store.
    pub fn with_store(store: Arc<dyn Store>, hub: HubConfig, listener: TcpListener) -> App {
        let tasks = CancellationToken::new();
        let hub = Hub::start(store, hub, tasks.clone());
        App { listener, hub, tasks }
    }

    /// The address it listens on (useful when bound to port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().expect("a bound listener has an address")
    }

    /// The agents' hub, for enqueueing commands and watching events.
    pub fn hub(&self) -> Arc<Hub> {
        self.hub.clone()
    }

    /// Serves until `shutdown` is cancelled, then closes agent sessions and returns.
    pub async fn run(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let app = router(AppState { hub: self.hub.clone() });
        let tasks = self.tasks.clone();
        let stop = shutdown.clone();
        tracing::info!(addr = %self.local_addr(), "cloud listening");
        // Frames to agents are small and latency matters: no Nagle.
        let listener = self.listener.tap_io(|tcp| {
            let _ = tcp.set_nodelay(true);
        });
        let served = axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                stop.cancelled().await;
                // WebSocket sessions never end on their own: tell them to.
                tasks.cancel();
            })
            .await
            .context("serving HTTP");
        self.tasks.cancel();
        served
    }
}
