//! The payment emulator as a child process (`target/<profile>/payment-emulator`), so a
//! chaos run's providers are a real process like the cloud, the agents and the routers,
//! with their own sockets, scheduler and failures, not tasks inside the harness.
//!
//! The handle offers the names the chaos harness calls on the in-process
//! [`PaymentEmulator`](crate::payment_emulator::PaymentEmulator) (`base_url`, `accounts`,
//! `set_paystack_webhook`, `prompts`, `prompt`, `wait_for_prompt`, `resolve`, `fail_next`,
//! `failures_pending`, `callbacks`), async where the in-process one is not: each goes over
//! the process's control channel ([`control`](crate::payment_emulator::control)). The
//! differences: a control-channel failure panics (the emulator is never killed by a run,
//! so it is a broken harness), except in `resolve`, which returns it as an error;
//! `wait_for_prompt` long-polls the channel instead of watching a counter. The accounts are
//! the defaults ([`EmulatorAccounts::default`]), which the process starts with.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::process::Child;
use tokio::time::Instant;

use crate::payment_emulator::control::{Prompts, Resolve, Webhook};
use crate::payment_emulator::{CallbackRecord, Delivery, EmulatedProviders, EmulatorAccounts, InjectedFailure, Prompt, Resolution};
use crate::processes::spawn_emulator;

/// How long one long poll of the control channel may wait.
const POLL: Duration = Duration::from_secs(2);

/// A running `payment-emulator` process with a control channel. Dropping it kills it.
pub struct PaymentProcess {
    addr: SocketAddr,
    control: SocketAddr,
    accounts: EmulatorAccounts,
    http: reqwest::Client,
    child: Child,
}

impl PaymentProcess {
    /// Starts the emulator on free ports with the default accounts.
    pub async fn start() -> anyhow::Result<PaymentProcess> {
        let args = ["--listen", "127.0.0.1:0", "--control", "127.0.0.1:0"];
        let (child, [addr, control]) = spawn_emulator("payment-emulator", args, ["listening on ", "control on "]).await?;
        let http = reqwest::Client::new();
        Ok(PaymentProcess { addr, control, accounts: EmulatorAccounts::default(), http, child })
    }

    /// `http://127.0.0.1:port`: the base URL for every provider.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The providers' address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The accounts it accepts (the Paystack webhook is set with
    /// [`set_paystack_webhook`](Self::set_paystack_webhook), not here).
    pub fn accounts(&self) -> &EmulatorAccounts {
        &self.accounts
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.control)
    }

    async fn get<T: serde::de::DeserializeOwned>(&self, path: &str) -> anyhow::Result<T> {
        Ok(self.http.get(self.url(path)).send().await?.error_for_status()?.json().await?)
    }

    async fn post(&self, path: &str, body: &impl serde::Serialize) {
        let sent = async { self.http.post(self.url(path)).json(body).send().await?.error_for_status() }.await;
        if let Err(error) = sent {
            panic!("the payment emulator's control channel failed ({path}): {error:#}");
        }
    }

    /// Sets the Paystack dashboard webhook URL used for events sent from now on.
    pub async fn set_paystack_webhook(&self, url: &str) {
        self.post("/paystack-webhook", &Webhook { url: url.to_string() }).await;
    }

    /// The prompts and counters once the change counter differs from `after` (`None`: at
    /// once), or after `wait` if not; `query` filters (`msisdn=..&pending=true`).
    pub async fn prompts_after(&self, after: Option<u64>, wait: Duration, query: &str) -> anyhow::Result<Prompts> {
        let mut path = format!("/prompts?{query}");
        if let Some(after) = after {
            path.push_str(&format!("&after={after}&wait_ms={}", wait.as_millis()));
        }
        self.get(&path).await
    }

    /// Every prompt so far, oldest first.
    pub async fn prompts(&self) -> Vec<Prompt> {
        self.prompts_after(None, Duration::ZERO, "").await.expect("the payment emulator answers").prompts
    }

    /// The prompt with this provider reference.
    pub async fn prompt(&self, provider_ref: &str) -> Option<Prompt> {
        let response = self.http.get(self.url(&format!("/prompts/{provider_ref}"))).send().await;
        let response = response.expect("the payment emulator answers");
        if response.status() == reqwest::StatusCode::NOT_FOUND {
            return None;
        }
        Some(response.error_for_status().expect("a prompt").json().await.expect("a prompt's JSON"))
    }

    /// Waits for a pending prompt on `msisdn` (any common form) and returns the oldest
    /// one; `None` on timeout. A long poll: no fixed sleeps.
    pub async fn wait_for_prompt(&self, msisdn: &str, timeout: Duration) -> Option<Prompt> {
        let deadline = Instant::now() + timeout;
        let query = format!("msisdn={}&pending=true", urlencode(msisdn));
        let mut seen = None;
        loop {
            let wait = POLL.min(deadline.saturating_duration_since(Instant::now()));
            let answer = self.prompts_after(seen, wait, &query).await.expect("the payment emulator answers");
            if let Some(prompt) = answer.prompts.into_iter().next() {
                return Some(prompt);
            }
            if Instant::now() >= deadline {
                return None;
            }
            seen = Some(answer.changes);
        }
    }

    /// Resolves a pending prompt and delivers its callback as `delivery` says; errors as
    /// [`PaymentEmulator::resolve`](crate::payment_emulator::PaymentEmulator::resolve)
    /// does (with its text), or when the control channel fails.
    pub async fn resolve(&self, provider_ref: &str, resolution: Resolution, delivery: Delivery) -> anyhow::Result<()> {
        let body = Resolve { provider_ref: provider_ref.to_string(), resolution, delivery };
        let response = self.http.post(self.url("/resolve")).json(&body).send().await?;
        let status = response.status();
        anyhow::ensure!(status.is_success(), "{status}: {}", response.text().await.unwrap_or_default());
        Ok(())
    }

    /// Queues a fault for the next request it applies to.
    pub async fn fail_next(&self, failure: InjectedFailure) {
        self.post("/fail-next", &failure).await;
    }

    /// Faults queued and not yet taken by a request.
    pub async fn failures_pending(&self) -> usize {
        // Filtered on a number no prompt has: the counters without the prompts.
        self.prompts_after(None, Duration::ZERO, "pending=true&msisdn=none").await.expect("the payment emulator answers").failures_pending
    }

    /// Every callback POST attempted, in the order they finished.
    pub async fn callbacks(&self) -> Vec<CallbackRecord> {
        self.get("/callbacks").await.expect("the payment emulator answers")
    }

    /// Waits until `check` holds on the prompts (all of them), re-checking on every change;
    /// false on timeout.
    pub async fn wait_until(&self, limit: Duration, mut check: impl FnMut(&Prompts) -> bool) -> bool {
        let deadline = Instant::now() + limit;
        let mut seen = None;
        while Instant::now() < deadline {
            let wait = POLL.min(deadline.saturating_duration_since(Instant::now()));
            let answer = self.prompts_after(seen, wait, "").await.expect("the payment emulator answers");
            if check(&answer) {
                return true;
            }
            seen = Some(answer.changes);
        }
        false
    }

    /// SIGKILL (what dropping it does too), waiting for the process to end.
    pub async fn kill(mut self) {
        let _ = self.child.kill().await;
    }
}

impl EmulatedProviders for PaymentProcess {
    fn base_url(&self) -> String {
        PaymentProcess::base_url(self)
    }

    fn accounts(&self) -> &EmulatorAccounts {
        PaymentProcess::accounts(self)
    }
}

/// `text` safe in a query string (phone numbers carry `+` and spaces).
fn urlencode(text: &str) -> String {
    text.bytes().map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") }).collect()
}
