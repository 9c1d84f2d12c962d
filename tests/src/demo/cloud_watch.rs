//! The cloud's side of the live view, read from the tenant API (`/api/v1`) with an operator
//! token for the demo's tenant: each payment's timeline (initiated, prompt sent, callback,
//! paid, ...) and the router's commands (delivered to the agent, applied on the router).
//! The API has no event stream, so this asks a few times a second; it prints only what
//! is new, and only for payments and commands made after it started.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio_util::sync::CancellationToken;

use super::live::Printer;

/// How often the API is asked.
const EVERY: Duration = Duration::from_millis(200);
/// How long a payment's timeline is followed after it began.
const FOLLOW_MS: i64 = 15 * 60 * 1000;

/// Where and how to ask.
pub struct CloudWatch {
    /// The cloud's base URL (`http://127.0.0.1:8080`).
    pub base: String,
    /// An operator token scoped to the demo's tenant.
    pub token: String,
    /// The demo's router.
    pub router: String,
}

/// What has been printed so far.
#[derive(Default)]
struct Seen {
    /// Timeline entries printed, per payment.
    events: HashMap<String, usize>,
    /// Command steps printed (delivered, applied), per sequence number.
    commands: HashMap<u64, u8>,
    /// Commands at or below this sequence number were there before the demo started.
    first_seq: Option<u64>,
}

/// Prints the cloud's events until `stop`. Errors (the cloud not up yet, a restart) are
/// retried quietly.
pub async fn watch_cloud(watch: CloudWatch, printer: Arc<Printer>, stop: CancellationToken) {
    let http = reqwest::Client::builder().timeout(Duration::from_secs(5)).build().expect("http client");
    let started = jasiyo_cloud::store::now_ms();
    let mut seen = Seen::default();
    loop {
        if let Err(error) = step(&http, &watch, &printer, &mut seen, started).await {
            tracing::debug!(error = format!("{error:#}"), "live view: the cloud did not answer");
        }
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(EVERY) => {}
        }
    }
}

async fn get(http: &reqwest::Client, watch: &CloudWatch, path: &str) -> anyhow::Result<Value> {
    let url = format!("{}{path}", watch.base);
    Ok(http.get(url).bearer_auth(&watch.token).send().await?.error_for_status()?.json().await?)
}

async fn step(http: &reqwest::Client, watch: &CloudWatch, printer: &Printer, seen: &mut Seen, started: i64) -> anyhow::Result<()> {
    let list = get(http, watch, &format!("/api/v1/payments?router={}&limit=5", watch.router)).await?;
    let mut payments: Vec<&Value> = list["payments"].as_array().map(|p| p.iter().collect()).unwrap_or_default();
    payments.reverse();
    for payment in payments {
        let created = payment["created_at"].as_i64().unwrap_or(0);
        let id = payment["id"].as_str().unwrap_or_default();
        if created < started || created < jasiyo_cloud::store::now_ms() - FOLLOW_MS {
            continue;
        }
        printer.payment_started(created);
        let detail = get(http, watch, &format!("/api/v1/payments/{id}")).await?;
        let timeline = detail["timeline"].as_array().cloned().unwrap_or_default();
        let printed = seen.events.entry(id.to_string()).or_default();
        for event in timeline.iter().skip(*printed) {
            let at = event["at"].as_i64().unwrap_or(created);
            let short = id.get(..8).unwrap_or(id);
            printer.cloud_at(at, &describe_event(short, &detail, event));
        }
        *printed = (*printed).max(timeline.len());
    }
    let commands = get(http, watch, &format!("/api/v1/routers/{}/commands?limit=20", watch.router)).await?;
    let mut commands: Vec<&Value> = commands.as_array().map(|c| c.iter().collect()).unwrap_or_default();
    commands.sort_by_key(|c| c["seq"].as_u64().unwrap_or(0));
    let first = *seen.first_seq.get_or_insert_with(|| commands.last().and_then(|c| c["seq"].as_u64()).unwrap_or(0));
    for command in commands {
        let seq = command["seq"].as_u64().unwrap_or(0);
        if seq <= first {
            continue;
        }
        let steps = seen.commands.entry(seq).or_default();
        let what = command_name(&command["command"]);
        if *steps < 1
            && let Some(at) = command["delivered_at"].as_i64()
        {
            printer.cloud_at(at, &format!("command #{seq} delivered to the agent ({what})"));
            *steps = 1;
        }
        if *steps < 2
            && let Some(at) = command["finished_at"].as_i64()
        {
            let result = match command["outcome"].as_object().and_then(|o| o.iter().next()) {
                Some((kind, body)) if kind == "applied" => match body["note"].as_str() {
                    Some(note) => format!("applied on the router ({note})"),
                    None => "applied on the router".to_string(),
                },
                Some((_, body)) => format!("refused by the router: {}", body["message"].as_str().unwrap_or("?")),
                None => "failed".to_string(),
            };
            printer.cloud_at(at, &format!("command #{seq} {result}"));
            *steps = 2;
        }
    }
    Ok(())
}

/// One timeline entry in words.
fn describe_event(short_id: &str, detail: &Value, event: &Value) -> String {
    let kind = event["kind"].as_str().unwrap_or("?");
    let text = event["detail"].as_str().unwrap_or("");
    match kind {
        "initiated" => {
            let payment = &detail["payment"];
            format!(
                "payment {short_id}… initiated: {} KES for {:?} via {}",
                payment["amount_kes"],
                detail["plan_name"].as_str().unwrap_or("?"),
                payment["provider"].as_str().unwrap_or("?")
            )
        }
        "prompt_sent" => format!("prompt sent to the phone ({text})"),
        "callback" => format!("callback from the provider: {text}"),
        "paid" => format!("paid: {text}"),
        "entitlement_created" => format!("hotspot login made: {text}"),
        other => format!("{}: {text}", other.replace('_', " ")),
    }
}

/// What a command asks for, in words (its JSON is `{"<kind>": {...}}`).
fn command_name(command: &Value) -> String {
    let kind = command.as_object().and_then(|o| o.keys().next().cloned()).unwrap_or_default();
    match kind.as_str() {
        "upsert_hotspot_user" | "upsert_hotspot_user_in_profile" => "create the hotspot user".into(),
        "login_device" => "log the device in".into(),
        "remove_hotspot_user" => "remove the hotspot user".into(),
        other => other.replace('_', " "),
    }
}
