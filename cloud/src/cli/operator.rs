//! `operator ...`: access to the operator HTTP API.

use std::io::Write;

use clap::Subcommand;
use serde_json::json;

use crate::store::{Store, now_ms};
use crate::token::AgentToken;

/// `operator ...`
#[derive(Debug, Subcommand)]
pub enum OperatorCommand {
    /// Create an operator API token; prints it once.
    Token {
        /// What it is for (a label).
        #[arg(long)]
        name: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// Runs `operator ...`.
pub(super) async fn run(store: &dyn Store, command: OperatorCommand, out: &mut dyn Write) -> anyhow::Result<()> {
    let OperatorCommand::Token { name, json } = command;
    let token = AgentToken::generate();
    store.create_operator_token(&name, &token.hash(), now_ms()).await?;
    if json {
        writeln!(out, "{}", json!({ "name": name, "token": token.expose() }))?;
    } else {
        writeln!(out, "operator token {name}: {}", token.expose())?;
        writeln!(out, "It is shown only now; send it as `Authorization: Bearer <token>` to /api/v1.")?;
    }
    Ok(())
}
