//! `provider set`: a tenant's payment provider and its credentials, sealed at rest.

use std::io::Write;
use std::path::Path;

use anyhow::Context;
use clap::Subcommand;
use serde_json::json;

use crate::payments::sealer::Sealer;
use crate::payments::set_provider;
use crate::providers::{DarajaAccount, PayHeroChannel, ProviderConfig, ProviderKind, Secret};
use crate::store::Store;

/// `provider ...`
#[derive(Debug, Subcommand)]
pub enum ProviderCommand {
    /// Set (or replace) the tenant's one active provider.
    Set {
        /// The tenant, by id or name.
        #[arg(long)]
        tenant: String,
        /// How providers reach this cloud (for the Paystack webhook URL printed).
        #[arg(long, env = "JASIYO_PUBLIC_URL", default_value = "http://127.0.0.1:8080")]
        public_url: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
        /// Make a new webhook URL (the old one stops working). Without it, setting a provider
        /// again keeps the webhook URL the tenant has for it. Accepted after the provider's
        /// name too.
        #[arg(long, global = true)]
        rotate_webhook: bool,
        /// Which provider, with its credentials.
        #[command(subcommand)]
        provider: ProviderArgs,
    },
}

/// Credentials per provider.
#[derive(Subcommand)] // Debug hides its secrets: crate::redact.
pub enum ProviderArgs {
    /// Safaricom Daraja on the owner's Paybill or Till.
    Daraja {
        /// App consumer key.
        #[arg(long, env = "JASIYO_DARAJA_CONSUMER_KEY", hide_env_values = true)]
        consumer_key: String,
        /// App consumer secret.
        #[arg(long, env = "JASIYO_DARAJA_CONSUMER_SECRET", hide_env_values = true)]
        consumer_secret: String,
        /// Business short code (the paybill, or the store number of a till).
        #[arg(long)]
        short_code: String,
        /// Lipa Na M-Pesa Online passkey.
        #[arg(long, env = "JASIYO_DARAJA_PASSKEY", hide_env_values = true)]
        passkey: String,
        /// Till number (Buy Goods); without it the short code is a paybill.
        #[arg(long)]
        till: Option<String>,
        /// API base URL (default: Safaricom production).
        #[arg(long)]
        base_url: Option<String>,
    },
    /// PayHero v2.
    Payhero {
        /// API username.
        #[arg(long, env = "JASIYO_PAYHERO_USERNAME", hide_env_values = true)]
        username: String,
        /// API password.
        #[arg(long, env = "JASIYO_PAYHERO_PASSWORD", hide_env_values = true)]
        password: String,
        /// Payment channel id.
        #[arg(long)]
        channel_id: u64,
        /// The channel is a PayHero wallet channel (pushes name `sasapay`, network code
        /// 63902), not an M-Pesa paybill or till channel (the default).
        #[arg(long)]
        wallet: bool,
        /// API base URL (default: PayHero production).
        #[arg(long)]
        base_url: Option<String>,
    },
    /// Paystack mobile money (M-Pesa).
    Paystack {
        /// Paystack secret key (`sk_live_...`); also signs webhooks. (Not the sealing key:
        /// that is the global `--sealing-key`.)
        #[arg(long, env = "JASIYO_PAYSTACK_SECRET_KEY", hide_env_values = true)]
        secret_key: String,
        /// API base URL (default: Paystack production).
        #[arg(long)]
        base_url: Option<String>,
    },
}

impl ProviderArgs {
    fn into_config(self) -> ProviderConfig {
        match self {
            ProviderArgs::Daraja { consumer_key, consumer_secret, short_code, passkey, till, base_url } => ProviderConfig::Daraja {
                consumer_key: Secret(consumer_key),
                consumer_secret: Secret(consumer_secret),
                short_code,
                passkey: Secret(passkey),
                account: match till {
                    Some(till_number) => DarajaAccount::Till { till_number },
                    None => DarajaAccount::Paybill,
                },
                base_url,
            },
            ProviderArgs::Payhero { username, password, channel_id, wallet, base_url } => ProviderConfig::Payhero {
                username: Secret(username),
                password: Secret(password),
                channel_id,
                channel: if wallet { PayHeroChannel::Wallet } else { PayHeroChannel::Mpesa },
                base_url,
            },
            ProviderArgs::Paystack { secret_key, base_url } => ProviderConfig::Paystack { secret_key: Secret(secret_key), base_url },
        }
    }
}

/// Runs `provider ...`, sealing credentials under the sealing key (`sealing_key_flag` as
/// [`super::sealing_key`] resolves it), or else the key in `key_file` (created on first use).
pub(super) async fn run(
    store: &dyn Store,
    command: ProviderCommand,
    sealing_key_flag: Option<&str>,
    key_file: &Path,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    let ProviderCommand::Set { tenant, public_url, json, rotate_webhook, provider } = command;
    let tenant = store.find_tenant(&tenant).await?.with_context(|| format!("no tenant {tenant:?}"))?;
    let key = super::sealing_key(sealing_key_flag)?;
    let sealer = Sealer::from_key_or_file(key.as_ref().map(|k| k.0.as_str()), key_file)?;
    let set = set_provider(store, &sealer, &public_url, tenant.id, &provider.into_config(), rotate_webhook).await?;
    for problem in crate::payments::public_url::problems(Some(&public_url)) {
        eprintln!("warning: {problem}; the provider's callbacks will not arrive until serve runs with a public https URL");
    }
    if json {
        writeln!(out, "{}", json!({ "tenant": set.tenant, "provider": set.kind.as_str(), "webhook_url": set.webhook_url }))?;
    } else {
        writeln!(out, "{} is now the payment provider of {} (credentials sealed at rest)", set.kind.as_str(), tenant.name)?;
        if set.kind == ProviderKind::Paystack {
            match &set.webhook_url {
                Some(url) => writeln!(out, "Set this webhook URL on the Paystack dashboard: {url}")?,
                None => writeln!(out, "The webhook URL on the Paystack dashboard stays as it was (--rotate-webhook makes a new one)")?,
            }
        }
    }
    Ok(())
}
