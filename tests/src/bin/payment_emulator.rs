//! `payment-emulator`: Daraja, PayHero and Paystack in one local HTTP server, for the demo.
//! Prints the base URL and the test credentials, runs until Ctrl-C. A person answers
//! prompts at `/phone`, or `--auto` answers them all. With `--control` it serves a test
//! harness's control channel (`jasiyo_tests::payment_emulator::control`), as in the chaos run.

use std::sync::Arc;

use clap::Parser;
use jasiyo_tests::payment_emulator::{Delivery, EmulatorAccounts, PaymentEmulator, Resolution, control};
use tokio_util::sync::CancellationToken;

/// Payment-provider emulator (Daraja, PayHero, Paystack) with a phone page at /phone.
#[derive(Parser, Debug)]
#[command(version)]
struct Flags {
    /// Address to listen on (port 0 picks a free one).
    #[arg(long, env = "JASIYO_PAYMENT_EMULATOR_LISTEN", default_value = "127.0.0.1:0")]
    listen: std::net::SocketAddr,
    /// Resolve every prompt at once this way: approve, cancel, timeout, wrong-pin,
    /// insufficient-funds.
    #[arg(long, value_name = "RESOLUTION")]
    auto: Option<Resolution>,
    /// Paystack dashboard webhook URL for `charge.success` events.
    #[arg(long, value_name = "URL")]
    paystack_webhook: Option<String>,
    /// Make the Daraja account a Till with this till number (the short code is then the
    /// store number); default is a Paybill.
    #[arg(long, value_name = "TILL")]
    daraja_till: Option<String>,
    /// Serve the control channel (prompts as JSON, resolving them, injected failures, the
    /// callbacks sent) here.
    #[arg(long, value_name = "ADDR")]
    control: Option<std::net::SocketAddr>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .with_writer(std::io::stderr)
        .init();
    let flags = Flags::parse();
    let mut accounts = EmulatorAccounts::default();
    accounts.daraja.till = flags.daraja_till;
    accounts.paystack.webhook_url = flags.paystack_webhook;
    let listener = tokio::net::TcpListener::bind(flags.listen).await?;
    let emulator = PaymentEmulator::start_on(listener, accounts);
    emulator.set_auto(flags.auto.map(|resolution| (resolution, Delivery::Normal)));
    print_banner(&emulator);
    let emulator = Arc::new(emulator);
    let stop = CancellationToken::new();
    let control = match flags.control {
        Some(addr) => {
            let listener = tokio::net::TcpListener::bind(addr).await?;
            println!("control on {}", listener.local_addr()?);
            Some(tokio::spawn(control::serve(listener, emulator.clone(), stop.clone())))
        }
        None => None,
    };
    tokio::signal::ctrl_c().await?;
    stop.cancel();
    if let Some(control) = control {
        control.await??;
    }
    // The control channel let go of its handle: stop waits for the server.
    if let Ok(emulator) = Arc::try_unwrap(emulator) {
        emulator.stop().await;
    }
    Ok(())
}

fn print_banner(emulator: &PaymentEmulator) {
    let accounts = emulator.accounts();
    let (daraja, payhero, paystack) = (&accounts.daraja, &accounts.payhero, &accounts.paystack);
    println!("listening on {}", emulator.base_url());
    println!("phone page: {}/phone", emulator.base_url());
    let kind = match &daraja.till {
        None => "paybill".to_string(),
        Some(till) => format!("till {till}"),
    };
    println!(
        "daraja: consumer_key={} consumer_secret={} short_code={} ({kind}) passkey={}",
        daraja.consumer_key, daraja.consumer_secret, daraja.short_code, daraja.passkey
    );
    println!("payhero: username={} password={} channel_id={}", payhero.username, payhero.password, payhero.channel_id);
    println!("paystack: secret_key={} webhook={}", paystack.secret_key, paystack.webhook_url.as_deref().unwrap_or("(none)"));
}
