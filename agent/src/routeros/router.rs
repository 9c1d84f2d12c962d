//! A router reached through the API: opens a connection when first needed, and a new one
//! whenever the last one died (`!fatal`, closed, broken). Callers just `call`; the edge's
//! maintenance also follows the connections coming and going, to repair the router as soon
//! as it is back.

use std::sync::Arc;
use std::time::Duration;

use jasiyo_shared::command::Password;
use tokio::net::TcpStream;
use tokio::sync::watch;

use super::client::{Client, Response};
use super::error::ApiError;
use super::sentence::Request;
use super::tls::{ADH_HINT, RouterTls, connector};
use crate::counters::Counters;

/// Where the router's API is and how to log in.
#[derive(Clone, Debug)]
pub struct RouterOsConfig {
    /// `host:port` of the API (8728 plain, 8729 API-SSL).
    pub addr: String,
    /// API user (its group needs the `api`, `read` and `write` policies).
    pub username: String,
    /// Its password; never logged.
    pub password: Password,
    /// API-SSL settings; `None` for plain API.
    pub tls: Option<RouterTls>,
    /// How long one command (and connecting) may take.
    pub timeout: Duration,
}

/// The router, with at most one live connection.
pub struct Router {
    config: RouterOsConfig,
    tls: Option<(tokio_rustls::TlsConnector, rustls::pki_types::ServerName<'static>)>,
    current: tokio::sync::Mutex<Option<Arc<Client>>>,
    connections: Arc<watch::Sender<Connections>>,
    /// Where failed calls and new connections are counted.
    counters: Arc<Counters>,
}

/// How many API connections have been opened (and logged in) and lost so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Connections {
    /// Opened and logged in.
    pub opened: u64,
    /// Found unusable afterwards (closed, broken, `!fatal`) or dropped.
    pub lost: u64,
}

impl Router {
    /// Checks the settings (TLS files are read now, so mistakes show at start-up).
    pub fn new(config: RouterOsConfig) -> Result<Router, ApiError> {
        let tls = config.tls.as_ref().map(connector).transpose()?;
        Ok(Router {
            config,
            tls,
            current: tokio::sync::Mutex::new(None),
            connections: Arc::new(watch::channel(Connections::default()).0),
            counters: Arc::new(Counters::new(0)),
        })
    }

    /// Counts failed calls (by kind) and new connections into `counters` from now on.
    pub fn counting(mut self, counters: Arc<Counters>) -> Router {
        self.counters = counters;
        self
    }

    /// The API address, for logs.
    pub fn addr(&self) -> &str {
        &self.config.addr
    }

    /// Runs one command, connecting first if needed. A failure that killed the connection
    /// drops it, so the next call reconnects.
    pub async fn call(&self, request: Request) -> Result<Response, ApiError> {
        let result = self.call_uncounted(request).await;
        if let Err(error) = &result {
            self.counters.routeros_error(error);
        }
        result
    }

    async fn call_uncounted(&self, request: Request) -> Result<Response, ApiError> {
        let client = self.client().await?;
        let result = client.call(request).await;
        if result.is_err() && client.dead().is_some() {
            self.forget(&client).await;
        }
        result
    }

    /// How many connections have been opened and lost so far: a change means the router
    /// may have changed while we were away.
    pub fn connection_counts(&self) -> Connections {
        *self.connections.borrow()
    }

    /// Follows [`Router::connection_counts`]: a loss is seen as soon as the router closes
    /// the connection, even while no command is running.
    pub fn connections(&self) -> watch::Receiver<Connections> {
        self.connections.subscribe()
    }

    /// Closes the current connection (the next call opens a new one).
    pub async fn disconnect(&self) {
        self.current.lock().await.take();
    }

    async fn forget(&self, dead: &Arc<Client>) {
        let mut current = self.current.lock().await;
        if current.as_ref().is_some_and(|c| Arc::ptr_eq(c, dead)) {
            current.take();
        }
    }

    async fn client(&self) -> Result<Arc<Client>, ApiError> {
        let mut current = self.current.lock().await;
        if let Some(client) = current.as_ref() {
            if client.dead().is_none() {
                return Ok(client.clone());
            }
        }
        current.take();
        let client =
            Arc::new(tokio::time::timeout(self.config.timeout, self.connect()).await.map_err(|_| ApiError::Timeout(self.config.timeout))??);
        tracing::info!(router_api = %self.config.addr, tls = self.tls.is_some(), "logged in to the router API");
        *current = Some(client.clone());
        self.connections.send_modify(|c| c.opened += 1);
        self.counters.router_connected();
        let (connections, closed) = (self.connections.clone(), client.closed());
        tokio::spawn(async move {
            closed.await;
            connections.send_modify(|c| c.lost += 1);
        });
        Ok(client)
    }

    async fn connect(&self) -> Result<Client, ApiError> {
        let tcp =
            TcpStream::connect(&self.config.addr).await.map_err(|e| ApiError::Io(format!("connecting to {}: {e}", self.config.addr)))?;
        let _ = tcp.set_nodelay(true);
        let (user, password, timeout) = (&self.config.username, &self.config.password.0, self.config.timeout);
        match &self.tls {
            None => Client::login(tcp, user, password, timeout).await,
            Some((connector, name)) => {
                let stream = connector
                    .connect(name.clone(), tcp)
                    .await
                    .map_err(|e| ApiError::Tls(format!("handshake with {} failed: {e}. {ADH_HINT}", self.config.addr)))?;
                Client::login(stream, user, password, timeout).await
            }
        }
    }
}
