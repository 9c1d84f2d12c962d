//! `account ...`: dashboard accounts the operator makes or helps: operator accounts, owners
//! for tenants made with `tenant create`, and password-reset links for someone locked out.
//! No password ever goes through the command line: each prints a one-time link the person
//! opens to choose theirs.

use std::io::Write;
use std::sync::Arc;

use anyhow::{Context, bail};
use clap::Subcommand;

use crate::accounts::{Accounts, AccountsConfig};
use crate::model::{Email, NewAccount, Role, TenantId};
use crate::notify::NoMailer;
use crate::store::Store;

/// `account ...`
#[derive(Debug, Subcommand)]
pub enum AccountCommand {
    /// Make a platform operator's account; prints the link to choose its password.
    CreateOperator {
        /// Their e-mail address (what they sign in with).
        #[arg(long)]
        email: String,
        /// Their name.
        #[arg(long)]
        name: String,
        /// The cloud's public address (the link starts with it).
        #[arg(long, env = "JASIYO_PUBLIC_URL")]
        public_url: String,
    },
    /// Give an existing tenant (one made with `tenant create`) an owner who signs in to
    /// the dashboard; prints the link to choose their password.
    InviteOwner {
        /// The tenant, by id or name.
        #[arg(long)]
        tenant: String,
        /// The owner's e-mail address.
        #[arg(long)]
        email: String,
        /// The owner's name.
        #[arg(long)]
        name: String,
        /// The cloud's public address (the link starts with it).
        #[arg(long, env = "JASIYO_PUBLIC_URL")]
        public_url: String,
    },
    /// Print a one-time password-reset link for an account (valid for an hour).
    ResetLink {
        /// The account's e-mail address.
        #[arg(long)]
        email: String,
        /// The cloud's public address (the link starts with it).
        #[arg(long, env = "JASIYO_PUBLIC_URL")]
        public_url: String,
    },
}

/// Runs `account ...`.
pub(super) async fn run(store: Arc<dyn Store>, command: AccountCommand, out: &mut dyn Write) -> anyhow::Result<()> {
    match command {
        AccountCommand::CreateOperator { email, name, public_url } => {
            let link = invite(store.clone(), None, Role::Operator, &email, &name, &public_url).await?;
            writeln!(out, "operator account created for {}", email.trim().to_lowercase())?;
            writeln!(out, "choose its password (link valid 7 days, once): {link}")?;
        }
        AccountCommand::InviteOwner { tenant, email, name, public_url } => {
            let Some(found) = store.find_tenant(&tenant).await? else { bail!("no tenant {tenant:?}") };
            let link = invite(store.clone(), Some(found.id), Role::Owner, &email, &name, &public_url).await?;
            writeln!(out, "owner account of {} created for {}", found.name, email.trim().to_lowercase())?;
            writeln!(out, "choose its password (link valid 7 days, once): {link}")?;
        }
        AccountCommand::ResetLink { email, public_url } => {
            let email = Email::parse(&email).with_context(|| format!("{email:?} is not an e-mail address"))?;
            let accounts = Accounts::new(store, AccountsConfig::new(public_url), Arc::new(NoMailer));
            match accounts.reset_link(&email).await.map_err(|e| anyhow::anyhow!("{e}"))? {
                Some(link) => writeln!(out, "reset link for {email} (valid 1 hour, once): {link}")?,
                None => bail!("no account has the e-mail address {email}"),
            }
        }
    }
    Ok(())
}

/// Makes an account without a password and returns the one-time link (valid 7 days) that
/// lets its person choose one.
async fn invite(
    store: Arc<dyn Store>,
    tenant: Option<TenantId>,
    role: Role,
    email: &str,
    name: &str,
    public_url: &str,
) -> anyhow::Result<String> {
    let email = Email::parse(email).with_context(|| format!("{email:?} is not an e-mail address"))?;
    let name = name.trim().to_string();
    if name.is_empty() {
        bail!("--name must not be empty");
    }
    let accounts = Accounts::new(store, AccountsConfig::new(public_url), Arc::new(NoMailer));
    let account = NewAccount { tenant_id: tenant, email, name, phone: None, role };
    let (_, link) = accounts.invite(&account).await.map_err(|e| anyhow::anyhow!("creating the account: {e}"))?;
    Ok(link)
}
