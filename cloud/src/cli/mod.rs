//! The operator's command line: `serve`, and the commands that manage tenants, routers,
//! outboxes, providers, plans, vouchers and payments directly in the database (each with `--json` for
//! scripts). One subcommand per file, each with its arguments and a short handler; this file
//! only parses the global flags and dispatches (`sealing.rs` resolves the global sealing key).

mod account;
mod backup;
mod operator;
mod outbox;
mod payment;
mod plan;
mod provider;
mod router;
mod sealing;
mod serve;
mod tenant;
mod voucher;
mod zones;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::bail;
use clap::{Parser, Subcommand};

use tokio_util::sync::CancellationToken;

use crate::hub::{Hub, HubConfig};
use crate::payments::sealer::Sealer;
use crate::payments::{Payments, PaymentsConfig};
use crate::store::{self, Store};
pub use account::AccountCommand;
pub use backup::{BackupArgs, RestoreArgs};
pub use operator::{OperatorCommand, TokenCommand};
pub use outbox::{CommandCommand, EnqueueKind};
pub use payment::PaymentCommand;
pub use plan::PlanCommand;
pub use provider::{ProviderArgs, ProviderCommand};
pub use router::RouterCommand;
pub use sealing::{DEPRECATED_SEALING_KEY_ENV, SEALING_KEY_ENV, sealing_key};
pub use serve::{HeartbeatArgs, ServeArgs};
pub use tenant::TenantCommand;
pub use voucher::VoucherCommand;

/// The Jasiyo cloud: hotspot payments and the hub routers phone home to.
// Debug hides its secrets: crate::redact.
#[derive(Parser)]
#[command(name = "jasiyo-cloud", version)]
pub struct Cli {
    /// Database URL: `sqlite://PATH` or `postgres://...`. Default: a SQLite file in the data directory.
    #[arg(long, env = "JASIYO_DATABASE_URL", global = true)]
    pub database_url: Option<String>,
    /// Directory for the embedded database.
    #[arg(long, env = "JASIYO_DATA_DIR", default_value = "jasiyo-data", global = true)]
    pub data_dir: PathBuf,
    /// Key sealing provider credentials at rest: base64 of 32 random bytes. Without it a key
    /// file `<data-dir>/secret.key` is used (created on first use). Every instance sharing a
    /// database needs the same key. Its old variable, JASIYO_SECRET_KEY, is still read from
    /// the environment (deprecated).
    #[arg(long, env = "JASIYO_SEALING_KEY", hide_env_values = true, global = true)]
    pub sealing_key: Option<String>,
    /// The log's format on standard error: `text` lines, or `json` (one object per line).
    #[arg(long, env = "JASIYO_LOG_FORMAT", value_enum, default_value_t, global = true)]
    pub log_format: crate::logging::LogFormat,
    /// What to do.
    #[command(subcommand)]
    pub command: CliCommand,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum CliCommand {
    /// Run the cloud service.
    Serve(ServeArgs),
    /// Manage tenants (router owners).
    #[command(subcommand)]
    Tenant(TenantCommand),
    /// Manage routers and their agent tokens.
    #[command(subcommand)]
    Router(RouterCommand),
    /// Put commands in a router's outbox and look at them.
    #[command(subcommand)]
    Command(CommandCommand),
    /// Manage access to the operator HTTP API.
    #[command(subcommand)]
    Operator(OperatorCommand),
    /// Set a tenant's payment provider.
    #[command(subcommand)]
    Provider(ProviderCommand),
    /// Manage a tenant's plans.
    #[command(subcommand)]
    Plan(PlanCommand),
    /// Look at payments.
    #[command(subcommand)]
    Payment(PaymentCommand),
    /// Dashboard accounts: operators, and password-reset links.
    #[command(subcommand)]
    Account(AccountCommand),
    /// Vouchers: printed codes sold for cash, loaded onto routers ahead of time.
    #[command(subcommand)]
    Voucher(VoucherCommand),
    /// Copy the SQLite database to a file, while the cloud runs.
    Backup(BackupArgs),
    /// Put a backup in place of the SQLite database (checked first; the cloud stopped).
    Restore(RestoreArgs),
}

/// The payments service over `store`, for the management commands that talk to providers
/// (its hub serves no agents: commands it enqueues reach routers through `serve`).
fn payments_service(store: Arc<dyn Store>, sealing_key_flag: Option<&str>, key_file: &Path) -> anyhow::Result<Arc<Payments>> {
    let key = sealing_key(sealing_key_flag)?;
    let sealer = Sealer::from_key_or_file(key.as_ref().map(|k| k.0.as_str()), key_file)?;
    let hub = Hub::start(store.clone(), HubConfig::default(), CancellationToken::new());
    Payments::new(store, hub, sealer, PaymentsConfig::new("http://127.0.0.1"))
}

/// Runs one management subcommand (not `serve`) against the configured database,
/// writing its output to `out`.
pub async fn run_admin(cli: Cli, out: &mut dyn Write) -> anyhow::Result<()> {
    // These two work on the database file itself, without opening (and migrating) it.
    match cli.command {
        CliCommand::Backup(args) => return backup::run_backup(cli.database_url.as_deref(), &cli.data_dir, args, out).await,
        CliCommand::Restore(args) => return backup::run_restore(cli.database_url.as_deref(), &cli.data_dir, args, out).await,
        _ => {}
    }
    let shared = store::connect(cli.database_url.as_deref(), &cli.data_dir).await?;
    let store = shared.as_ref();
    match cli.command {
        CliCommand::Serve(_) => bail!("serve is not a management command"),
        CliCommand::Backup(_) | CliCommand::Restore(_) => unreachable!("handled above"),
        CliCommand::Tenant(command) => tenant::run(store, command, out).await,
        CliCommand::Router(command) => router::run(store, command, out).await,
        CliCommand::Command(command) => outbox::run(store, command, out).await,
        CliCommand::Operator(command) => operator::run(store, command, out).await,
        CliCommand::Provider(command) => {
            let key_file = cli.data_dir.join("secret.key");
            provider::run(store, command, cli.sealing_key.as_deref(), &key_file, out).await
        }
        CliCommand::Plan(command) => plan::run(store, command, out).await,
        CliCommand::Voucher(command) => voucher::run(store, command, out).await,
        CliCommand::Account(command) => account::run(shared.clone(), command, out).await,
        CliCommand::Payment(command) => {
            let key_file = cli.data_dir.join("secret.key");
            let service = || payments_service(shared.clone(), cli.sealing_key.as_deref(), &key_file);
            payment::run(store, command, &service, out).await
        }
    }
}
