//! A router reached through the API: opens a connection when first needed, and a new one
//! whenever the last one died (`!fatal`, closed, broken). Callers just `call`.

use std::sync::Arc;
use std::time::Duration;

use jasiyo_shared::command::Password;
use tokio::net::TcpStream;

use super::client::{Client, Response};
use super::error::ApiError;
use super::sentence::Request;
use super::tls::{ADH_HINT, RouterTls, connector};

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
    connections: std::sync::atomic::AtomicU64,
}

impl Router {
    /// Checks the settings (TLS files are read now, so mistakes show at start-up).
    pub fn new(config: RouterOsConfig) -> Result<Router, ApiError> {
        let tls = config.tls.as_ref().map(connector).transpose()?;
        Ok(Router { config, tls, current: tokio::sync::Mutex::new(None), connections: std::sync::atomic::AtomicU64::new(0) })
    }

    /// The API address, for logs.
    pub fn addr(&self) -> &str {
        &self.config.addr
    }

    /// Runs one command, connecting first if needed. A failure that killed the connection
    /// drops it, so the next call reconnects.
    pub async fn call(&self, request: Request) -> Result<Response, ApiError> {
        let client = self.client().await?;
        let result = client.call(request).await;
        if result.is_err() && client.dead().is_some() {
            self.forget(&client).await;
        }
        result
    }

    /// How many connections have been opened (and logged in) so far: a change means the
    /// router may have changed while we were away.
    pub fn connections_made(&self) -> u64 {
        self.connections.load(std::sync::atomic::Ordering::SeqCst)
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
        self.connections.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
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
