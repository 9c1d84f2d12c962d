//! `operator token ...`: access to the operator HTTP API. A token reaches the whole platform
//! or one tenant's routers (`--tenant`), expires (`--expires-in`, 90 days unless told), and
//! can be listed (by id, never the token) and revoked.

use std::io::Write;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Subcommand;
use serde_json::json;

use crate::store::{Store, now_ms};
use crate::time::{DEFAULT_TIME_ZONE, show_ms, with_rfc3339, zone_or_default};
use crate::token::{AgentToken, OperatorScope, OperatorToken, operator_token_id};

/// `operator ...`
#[derive(Debug, Subcommand)]
pub enum OperatorCommand {
    /// Operator API tokens.
    #[command(subcommand)]
    Token(TokenCommand),
}

/// `operator token ...`
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create an operator API token; prints it once.
    Create {
        /// What it is for (a label).
        #[arg(long)]
        name: String,
        /// Reach only this tenant's routers (id or name). Default: every tenant's.
        #[arg(long)]
        tenant: Option<String>,
        /// How long it works (e.g. `30d`, `12h`).
        #[arg(long, default_value = "90d", value_parser = humantime::parse_duration)]
        expires_in: Duration,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// List operator tokens (ids, scopes, expiries; never the tokens).
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Revoke an operator token by its id (as `operator token list` shows it).
    Revoke {
        /// The token's id.
        id: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// Runs `operator ...`.
pub(super) async fn run(store: &dyn Store, command: OperatorCommand, out: &mut dyn Write) -> anyhow::Result<()> {
    let OperatorCommand::Token(command) = command;
    match command {
        TokenCommand::Create { name, tenant, expires_in, json } => create(store, name, tenant, expires_in, json, out).await,
        TokenCommand::List { json } => list(store, json, out).await,
        TokenCommand::Revoke { id, json } => {
            let revoked = store.revoke_operator_token(id.trim(), now_ms()).await?;
            if !revoked && !store.list_operator_tokens().await?.iter().any(|t| t.id == id.trim()) {
                bail!("no operator token with id {id}");
            }
            tracing::info!(token = id.trim(), revoked, "operator token revoked");
            if json {
                writeln!(out, "{}", json!({ "id": id.trim(), "revoked": revoked }))?;
            } else if revoked {
                writeln!(out, "operator token {} revoked", id.trim())?;
            } else {
                writeln!(out, "operator token {} was already revoked", id.trim())?;
            }
            Ok(())
        }
    }
}

async fn create(
    store: &dyn Store,
    name: String,
    tenant: Option<String>,
    expires_in: Duration,
    json: bool,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    let scope = match tenant {
        None => OperatorScope::Platform,
        Some(tenant) => OperatorScope::Tenant(store.find_tenant(&tenant).await?.with_context(|| format!("no tenant {tenant:?}"))?.id),
    };
    let secret = AgentToken::generate();
    let hash = secret.hash();
    let now = now_ms();
    let expires_in = i64::try_from(expires_in.as_millis()).context("--expires-in is too long")?;
    let token = OperatorToken {
        id: operator_token_id(&hash),
        name,
        scope,
        created_at: now,
        expires_at: Some(now.saturating_add(expires_in)),
        revoked_at: None,
    };
    store.create_scoped_operator_token(&token, &hash).await?;
    tracing::info!(token = %token.id, scope = ?token.scope, "operator token created");
    if json {
        let mut value = json!(token);
        value["token"] = json!(secret.expose());
        writeln!(out, "{value}")?;
    } else {
        let tz = zone_or_default(DEFAULT_TIME_ZONE);
        let until = token.expires_at.map(|at| show_ms(at, &tz)).unwrap_or_default();
        writeln!(out, "operator token {} (id {}), {}, until {until}: {}", token.name, token.id, scope_text(token.scope), secret.expose())?;
        writeln!(out, "It is shown only now; send it as `Authorization: Bearer <token>` to /api/v1.")?;
    }
    Ok(())
}

async fn list(store: &dyn Store, json: bool, out: &mut dyn Write) -> anyhow::Result<()> {
    let tokens = store.list_operator_tokens().await?;
    let tz = zone_or_default(DEFAULT_TIME_ZONE);
    if json {
        let mut value = json!(tokens);
        with_rfc3339(&mut value, &tz);
        writeln!(out, "{value}")?;
        return Ok(());
    }
    let now = now_ms();
    writeln!(out, "{:<16}  {:<20}  {:<44}  {:<9}  EXPIRES", "ID", "NAME", "SCOPE", "STATE")?;
    for token in &tokens {
        let state = match (token.revoked_at, token.is_active(now)) {
            (Some(_), _) => "revoked",
            (None, true) => "active",
            (None, false) => "expired",
        };
        let expires = token.expires_at.map(|at| show_ms(at, &tz)).unwrap_or_else(|| "never".into());
        writeln!(out, "{:<16}  {:<20}  {:<44}  {:<9}  {expires}", token.id, token.name, scope_text(token.scope), state)?;
    }
    Ok(())
}

fn scope_text(scope: OperatorScope) -> String {
    match scope {
        OperatorScope::Platform => "every tenant".into(),
        OperatorScope::Tenant(tenant) => format!("tenant {tenant}"),
    }
}
