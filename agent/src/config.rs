//! What the agent is told at start-up: where the cloud is, who it is, its secret, its data.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use jasiyo_shared::{AGENT_WS_PATH, RouterId};

/// Everything an [`Agent`](crate::Agent) needs. Built by `main` from flags and environment,
/// or directly by tests.
#[derive(Clone, Debug)]
pub struct AgentConfig {
    /// The cloud's base URL: `ws://`, `wss://`, `http://` or `https://` (the latter two mean
    /// `ws://` and `wss://`). The agent dials `<cloud_url>/agent/v1/ws`.
    pub cloud_url: String,
    /// The router this agent speaks for.
    pub router_id: RouterId,
    /// The router's secret token, sent as a bearer token on every connection.
    pub token: Token,
    /// Where the agent keeps its journal.
    pub data_dir: PathBuf,
    /// An extra PEM file of CA certificates to trust besides the built-in web roots
    /// (for a cloud with a private CA).
    pub ca_file: Option<PathBuf>,
    /// How eagerly to reconnect, and to retry commands the router could not take yet.
    pub reconnect: ReconnectPolicy,
    /// How often to report the router's status while connected.
    pub status_interval: Duration,
    /// For tests only: seconds added to the router's wall clock as the agent reads it, to
    /// run an agent with a wrong clock (`JASIYO_AGENT_CLOCK_OFFSET_SECS`). 0 in production.
    pub clock_offset_secs: i64,
}

impl AgentConfig {
    /// The status interval used when none is given: often enough for a dashboard, rarely
    /// enough to cost nothing on a slow uplink.
    pub const DEFAULT_STATUS_INTERVAL: Duration = Duration::from_secs(60);

    /// The WebSocket URL the agent dials, derived from [`AgentConfig::cloud_url`].
    pub fn endpoint(&self) -> Result<String, ConfigError> {
        endpoint_url(&self.cloud_url)
    }
}

/// A configuration value that cannot work.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// The cloud URL's scheme is not one of `ws`, `wss`, `http`, `https`.
    #[error("cloud URL {0:?} must start with ws://, wss://, http:// or https://")]
    BadScheme(String),
    /// The cloud URL has no host.
    #[error("cloud URL {0:?} has no host")]
    NoHost(String),
}

/// Turns the cloud's base URL into the agent endpoint's WebSocket URL.
fn endpoint_url(base: &str) -> Result<String, ConfigError> {
    let trimmed = base.trim();
    let Some((scheme, rest)) = trimmed.split_once("://") else {
        return Err(ConfigError::BadScheme(base.to_string()));
    };
    let scheme = match scheme.to_ascii_lowercase().as_str() {
        "ws" | "http" => "ws",
        "wss" | "https" => "wss",
        _ => return Err(ConfigError::BadScheme(base.to_string())),
    };
    let rest = rest.trim_end_matches('/');
    if rest.is_empty() || rest.starts_with('/') {
        return Err(ConfigError::NoHost(base.to_string()));
    }
    Ok(format!("{scheme}://{rest}{AGENT_WS_PATH}"))
}

/// The router's secret. Its `Debug` output is `Token(***)`, so it never reaches a log by
/// accident; [`Token::expose`] is the one way to read it.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl Token {
    /// Wraps a secret.
    pub fn new(secret: String) -> Self {
        Token(secret)
    }

    /// The secret itself, for the one place that must send it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(***)")
    }
}

impl FromStr for Token {
    type Err = EmptyToken;

    /// Accepts any non-blank string (lets clap parse the flag straight into a `Token`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.trim().is_empty() { Err(EmptyToken) } else { Ok(Token(s.to_string())) }
    }
}

/// A blank token was given.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the token must not be empty")]
pub struct EmptyToken;

/// How the agent retries: reconnecting to the cloud, and re-applying a command RouterOS
/// could not take yet (that retry is capped at [`ReconnectPolicy::apply_retry_max`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReconnectPolicy {
    /// The first delay after a failure.
    pub initial: Duration,
    /// The longest delay between attempts.
    pub max: Duration,
    /// A welcomed session (a successful hello) that stayed up this long starts the backoff
    /// again from `initial`, so a short cut after a healthy link costs well under a second.
    /// A shorter one (welcomed, then dropped at once: a flapping cloud) keeps it growing.
    pub stable_after: Duration,
}

impl ReconnectPolicy {
    /// The longest pause between two attempts to apply the same command.
    pub const APPLY_RETRY_CAP: Duration = Duration::from_secs(30);

    /// Delays small enough for tests to watch several reconnections in well under a second.
    pub fn fast_for_tests() -> Self {
        ReconnectPolicy { initial: Duration::from_millis(10), max: Duration::from_millis(200), stable_after: Duration::from_secs(1) }
    }

    /// The longest pause between attempts to apply a command: `max`, but never more than
    /// [`ReconnectPolicy::APPLY_RETRY_CAP`].
    pub fn apply_retry_max(&self) -> Duration {
        self.max.min(Self::APPLY_RETRY_CAP)
    }
}

impl Default for ReconnectPolicy {
    fn default() -> Self {
        ReconnectPolicy { initial: Duration::from_millis(250), max: Duration::from_secs(60), stable_after: Duration::from_secs(2) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_maps_schemes_and_appends_the_path() {
        assert_eq!(endpoint_url("ws://127.0.0.1:8080").unwrap(), "ws://127.0.0.1:8080/agent/v1/ws");
        assert_eq!(endpoint_url("https://cloud.example/").unwrap(), "wss://cloud.example/agent/v1/ws");
        assert_eq!(endpoint_url("HTTP://c.example:80").unwrap(), "ws://c.example:80/agent/v1/ws");
        assert_eq!(endpoint_url("wss://c.example/base").unwrap(), "wss://c.example/base/agent/v1/ws");
    }

    #[test]
    fn endpoint_refuses_other_schemes_and_missing_hosts() {
        assert!(matches!(endpoint_url("ftp://x"), Err(ConfigError::BadScheme(_))));
        assert!(matches!(endpoint_url("cloud.example"), Err(ConfigError::BadScheme(_))));
        assert!(matches!(endpoint_url("wss://"), Err(ConfigError::NoHost(_))));
        assert!(matches!(endpoint_url("wss:///path"), Err(ConfigError::NoHost(_))));
    }

    #[test]
    fn token_never_debug_printed() {
        let token = Token::new("s3cret".into());
        assert_eq!(format!("{token:?}"), "Token(***)");
        assert_eq!(token.expose(), "s3cret");
        assert!("  ".parse::<Token>().is_err());
    }

    #[test]
    fn apply_retry_is_capped() {
        assert_eq!(ReconnectPolicy::default().apply_retry_max(), Duration::from_secs(30));
        assert_eq!(ReconnectPolicy::fast_for_tests().apply_retry_max(), Duration::from_millis(200));
    }
}
